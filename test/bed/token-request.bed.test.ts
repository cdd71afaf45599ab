/**
 * `remoteSecrets.tokenMode: tokenRequest` against a real kube-apiserver: the token request
 * provider as the Pulumi engine runs it (serialized by the SDK, loaded from that text by a plain
 * `node`, no TypeScript), calling the real `kubectl`. What a holder's istiod would do with the
 * kubeconfig is done here with kubectl: authenticate, read, be refused.
 *
 * Run with `npm run test:bed` after `scripts/bed-build.sh`; skipped when the binaries are missing.
 * `BED_EXPIRY=1` adds the expiry scenario, which waits out a 10-minute token (the API's minimum).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { holderReaderManifests, tokenAnchorManifest } from "../../components/remote-secrets/reader-accounts";
import { renderRemoteKubeconfig } from "../../components/remote-secrets/remote-secrets-manifest";
import {
    LIFETIME_PROBE_AUDIENCE,
    ReaderTokenRequestInputs,
    ReaderTokenRequestOutputs,
    lifetimeProbeArgs,
} from "../../components/remote-secrets/token-request";
import {
    LifetimeProbeResult,
    probeTokenLifetimes,
    runKubectlSync,
} from "../../components/remote-secrets/token-lifetime-probe";
import { readerTokenRequestProvider } from "../../components/remote-secrets/token-request-provider";
import { BedCluster, bedBinDir, bedUnavailable, startBedCluster } from "./api-server";

const unavailable = bedUnavailable();
const REPO = path.resolve(__dirname, "../..");

/** What the engine's dynamic-provider host does with a resource's `__provider`, in a plain node. */
const HOST = `
const requireFromString = require("require-from-string");
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", async () => {
    const { provider, method, args } = JSON.parse(input);
    try {
        const result = await requireFromString(provider).handler()[method](...args);
        process.stdout.write(JSON.stringify({ result }));
    } catch (e) {
        process.stdout.write(JSON.stringify({ error: e.message }));
    }
});`;

let serialized = "";
/** The kubectl the provider runs: the bed's, as the operator's PATH would give it. */
let kubectlForProvider = path.join(bedBinDir(), "kubectl");

async function callProvider<T>(method: string, ...args: unknown[]): Promise<T> {
    serialized ||= (await pulumi.runtime.serializeFunction(() => readerTokenRequestProvider, { allowSecrets: false }))
        .text;
    const out = execFileSync(process.execPath, ["-e", HOST], {
        cwd: REPO,
        input: JSON.stringify({ provider: serialized, method, args }),
        encoding: "utf8",
        env: { ...process.env, ISTIO_MULTICLUSTER_KUBECTL: kubectlForProvider },
    });
    const answer = JSON.parse(out) as { result?: T; error?: string };
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.result as T;
}

/** The istio-reader ClusterRole of the chart, cut down to what these checks read. */
const readerRole = (name: string) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    rules: [
        {
            apiGroups: [""],
            resources: ["namespaces", "pods", "services", "endpoints"],
            verbs: ["get", "list", "watch"],
        },
    ],
});

function apply(bed: BedCluster, objects: object[]): void {
    const r = bed.applyObjects(objects);
    assert.equal(r.code, 0, r.stderr);
}

const uidOf = (bed: BedCluster, secret: string) =>
    bed.kubectl(["-n", "istio-system", "get", "secret", secret, "-o", "jsonpath={.metadata.uid}"]).stdout;

async function mint(bed: BedCluster, inputs: ReaderTokenRequestInputs, olds?: Partial<ReaderTokenRequestInputs>) {
    const checked = await callProvider<{ inputs: ReaderTokenRequestInputs }>("check", olds ?? {}, inputs);
    const created = await callProvider<{ id: string; outs: ReaderTokenRequestOutputs }>("create", checked.inputs);
    const kubeconfig = renderRemoteKubeconfig({
        clusterName: "bed",
        server: bed.server,
        caData: created.outs.caData,
        token: created.outs.token,
    });
    return { checked: checked.inputs, outs: created.outs, kubeconfig };
}

/**
 * A later run on a recorded token, as the engine drives it: check against the recorded inputs,
 * diff against the recorded outputs, and the update a diff without replacements leads to.
 */
async function rerun(bed: BedCluster, inputs: ReaderTokenRequestInputs, recorded: Awaited<ReturnType<typeof mint>>) {
    const checked = await callProvider<{ inputs: ReaderTokenRequestInputs }>("check", recorded.checked, inputs);
    const diff = await callProvider<{ changes: boolean; replaces: string[] }>(
        "diff",
        "id",
        recorded.outs,
        checked.inputs,
    );
    assert.deepEqual(diff.replaces, [], "a renewal is an update, never a replacement");
    const updated = await callProvider<{ outs: ReaderTokenRequestOutputs }>(
        "update",
        "id",
        recorded.outs,
        checked.inputs,
    );
    const kubeconfig = renderRemoteKubeconfig({
        clusterName: "bed",
        server: bed.server,
        caData: updated.outs.caData,
        token: updated.outs.token,
    });
    return { checked: checked.inputs, changes: diff.changes, outs: updated.outs, kubeconfig };
}

function requestFor(
    bed: BedCluster,
    account: string,
    anchor: string,
    ttlSeconds: number,
    holder?: string,
): ReaderTokenRequestInputs {
    return {
        cluster: "bed",
        ...(holder ? { holder } : {}),
        namespace: "istio-system",
        serviceAccount: account,
        boundSecretName: anchor,
        boundSecretUid: uidOf(bed, anchor),
        ttlSeconds,
        renewBeforeSeconds: Math.floor(ttlSeconds / 2),
        kubeconfig: bed.adminKubeconfig,
    };
}

const whoami = (bed: BedCluster, kubeconfig: string) =>
    bed.kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], kubeconfig);

describe("tokenRequest on a real API server", { skip: unavailable }, () => {
    let bed: BedCluster;
    before(async () => {
        bed = await startBedCluster();
        const shared = tokenAnchorManifest();
        apply(bed, [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
            readerRole("istio-reader-clusterrole-istio-system"),
            {
                apiVersion: "v1",
                kind: "ServiceAccount",
                metadata: { name: "istio-reader-service-account", namespace: "istio-system" },
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "istio-reader-clusterrole-istio-system" },
                roleRef: {
                    apiGroup: "rbac.authorization.k8s.io",
                    kind: "ClusterRole",
                    name: "istio-reader-clusterrole-istio-system",
                },
                subjects: [{ kind: "ServiceAccount", name: "istio-reader-service-account", namespace: "istio-system" }],
            },
            shared,
            ...["h1", "h2"].flatMap((h) => {
                const m = holderReaderManifests(h);
                return [m.serviceAccount, m.clusterRoleBinding, tokenAnchorManifest(h)];
            }),
        ]);
    });
    after(async () => bed?.stop());

    it("mints a bound token whose remote-secret kubeconfig reads the cluster as the reader account, and nothing more", async () => {
        const anchor = tokenAnchorManifest().metadata.name;
        const { outs, kubeconfig } = await mint(
            bed,
            requestFor(bed, "istio-reader-service-account", anchor, 2 * 86_400),
        );
        const granted = Date.parse(outs.expiresAt) - Date.now();
        assert.ok(granted > 2 * 86_400_000 - 600_000 && granted <= 2 * 86_400_000, `granted ${granted} ms`);
        assert.equal(whoami(bed, kubeconfig).stdout, "system:serviceaccount:istio-system:istio-reader-service-account");
        assert.equal(bed.kubectl(["get", "pods", "-A"], kubeconfig).code, 0);
        const secrets = bed.kubectl(["-n", "istio-system", "get", "secrets"], kubeconfig);
        assert.notEqual(secrets.code, 0);
        assert.match(secrets.stderr, /forbidden/);
        // A remote's kubeconfig opens with a comment naming its primary; client-go (kubectl's
        // loader, and istiod's) reads it the same.
        const aboutRemote = renderRemoteKubeconfig({
            clusterName: "bed",
            server: bed.server,
            caData: outs.caData,
            token: outs.token,
            controlPlane: "cluster1",
        });
        assert.match(aboutRemote, /^# topology\.istio\.io\/controlPlaneClusters: cluster1\n/);
        assert.equal(
            whoami(bed, aboutRemote).stdout,
            "system:serviceaccount:istio-system:istio-reader-service-account",
        );
    });

    it("perHolder: deleting one holder's anchor revokes exactly its token; the other holder still reads", async () => {
        const tokens = await Promise.all(
            ["h1", "h2"].map(async (h) => {
                const m = holderReaderManifests(h);
                const anchor = tokenAnchorManifest(h).metadata.name;
                return (await mint(bed, requestFor(bed, m.serviceAccount.metadata.name, anchor, 86_400, h))).kubeconfig;
            }),
        );
        for (const k of tokens) assert.equal(bed.kubectl(["get", "pods", "-A"], k).code, 0);
        assert.equal(
            bed.kubectl(["-n", "istio-system", "delete", "secret", tokenAnchorManifest("h1").metadata.name]).code,
            0,
        );
        // The API server caches a successful token check for about 10 seconds, and reads the bound
        // Secret through its informers: the cut comes within seconds, not at once.
        const deleted = Date.now();
        let revoked = bed.kubectl(["get", "pods", "-A"], tokens[0]);
        while (revoked.code === 0 && Date.now() - deleted < 30_000) {
            await new Promise((r) => setTimeout(r, 1_000));
            revoked = bed.kubectl(["get", "pods", "-A"], tokens[0]);
        }
        assert.notEqual(revoked.code, 0, "h1 is cut within 30 s");
        assert.match(revoked.stderr, /Unauthorized|must be logged in/i);
        process.stdout.write(`# h1 cut ${Date.now() - deleted} ms after its anchor was deleted\n`);
        assert.equal(bed.kubectl(["get", "pods", "-A"], tokens[1]).code, 0, "h2 keeps reading");
    });

    it("a second run inside the window renews: an update that mints, the new token works, the old one still does until it ends", async () => {
        const anchor = tokenAnchorManifest().metadata.name;
        const first = await mint(bed, requestFor(bed, "istio-reader-service-account", anchor, 600));
        // renewBeforeSeconds is half the lifetime: not due yet.
        const kept = await callProvider<{ inputs: ReaderTokenRequestInputs }>(
            "check",
            first.checked,
            requestFor(bed, "istio-reader-service-account", anchor, 600),
        );
        assert.equal(kept.inputs.issuedAt, first.checked.issuedAt);
        const noChange = await callProvider<{ changes: boolean }>("diff", "id", first.outs, kept.inputs);
        assert.equal(noChange.changes, false);
        // A window of the whole lifetime is always due: what a run inside the window sees.
        const due = { ...requestFor(bed, "istio-reader-service-account", anchor, 600), renewBeforeSeconds: 600 };
        const renewed = await rerun(bed, due, first);
        assert.equal(renewed.changes, true);
        assert.match(renewed.checked.renewalReason ?? "", /the reader token of bed expires on .*renewal window/);
        assert.equal(renewed.outs.renewalReason, renewed.checked.renewalReason, "the reason reaches the outputs");
        assert.notEqual(renewed.outs.token, first.outs.token);
        assert.equal(whoami(bed, renewed.kubeconfig).code, 0);
        assert.equal(whoami(bed, first.kubeconfig).code, 0, "a renewed-away token ends at its own expiry");
    });

    it("a rotated kubeconfig is an update that keeps the token, and forgets an earlier run's reason", async () => {
        const anchor = tokenAnchorManifest().metadata.name;
        const first = await mint(bed, requestFor(bed, "istio-reader-service-account", anchor, 600));
        const due = { ...requestFor(bed, "istio-reader-service-account", anchor, 600), renewBeforeSeconds: 600 };
        const renewed = await rerun(bed, due, first);
        const rotated = await rerun(
            bed,
            { ...due, renewBeforeSeconds: 60, kubeconfig: `# rotated\n${bed.adminKubeconfig}` },
            renewed,
        );
        assert.equal(rotated.changes, true);
        assert.equal(rotated.outs.token, renewed.outs.token, "same token");
        assert.equal(rotated.outs.renewalReason, undefined);
        assert.equal(whoami(bed, rotated.kubeconfig).code, 0);
    });

    it("fails at once, saying why, without kubectl or with credentials the API server refuses", async () => {
        const anchor = tokenAnchorManifest().metadata.name;
        const inputs = requestFor(bed, "istio-reader-service-account", anchor, 600);
        const started = Date.now();
        kubectlForProvider = "/nonexistent/kubectl";
        try {
            await assert.rejects(
                mint(bed, inputs),
                /cannot run kubectl .*install it, or set ISTIO_MULTICLUSTER_KUBECTL/,
            );
        } finally {
            kubectlForProvider = path.join(bedBinDir(), "kubectl");
        }
        const stranger = bed.adminKubeconfig.replace(/client-key-data: [^,}]+/, "client-key-data: bm90LWEta2V5");
        await assert.rejects(
            mint(bed, { ...inputs, kubeconfig: stranger }),
            /kubectl get configmap kube-root-ca.crt failed/,
        );
        assert.ok(Date.now() - started < 30_000, "no waiting for a ConfigMap that is not the problem");
    });

    it(
        "expires: fails after its expiry and works again after the renewing run",
        { skip: process.env.BED_EXPIRY !== "1" && "set BED_EXPIRY=1 (waits about 11 minutes)", timeout: 15 * 60_000 },
        async () => {
            const anchor = tokenAnchorManifest().metadata.name;
            const first = await mint(bed, requestFor(bed, "istio-reader-service-account", anchor, 600));
            assert.equal(whoami(bed, first.kubeconfig).code, 0);
            // The API server's token check allows a minute of clock skew past exp.
            await new Promise((r) => setTimeout(r, Date.parse(first.outs.expiresAt) - Date.now() + 75_000));
            const expired = whoami(bed, first.kubeconfig);
            assert.notEqual(expired.code, 0);
            assert.match(expired.stderr, /Unauthorized|must be logged in/i);
            const again = await rerun(bed, requestFor(bed, "istio-reader-service-account", anchor, 600), first);
            assert.match(again.checked.renewalReason ?? "", /expired on/);
            assert.equal(whoami(bed, again.kubeconfig).code, 0);
        },
    );
});

/** The program run's kubectl (`runKubectlSync`), pointed at the bed's. */
function withBedKubectl<T>(run: () => T): T {
    const saved = process.env.ISTIO_MULTICLUSTER_KUBECTL;
    process.env.ISTIO_MULTICLUSTER_KUBECTL = kubectlForProvider;
    try {
        return run();
    } finally {
        if (saved === undefined) delete process.env.ISTIO_MULTICLUSTER_KUBECTL;
        else process.env.ISTIO_MULTICLUSTER_KUBECTL = saved;
    }
}

describe("tokenRequest on an API server that caps token lifetimes", { skip: unavailable }, () => {
    let bed: BedCluster;
    let probedBeforeTheMesh: LifetimeProbeResult;
    before(async () => {
        bed = await startBedCluster(["--service-account-max-token-expiration=48h"]);
        // The probe needs nothing of the mesh: only the default account the controller manager
        // gives every namespace, which any cluster has before the program first runs.
        const deadline = Date.now() + 60_000;
        while (bed.kubectl(["-n", "default", "get", "serviceaccount", "default"]).code !== 0) {
            assert.ok(Date.now() < deadline, "the default service account appears");
            await new Promise((r) => setTimeout(r, 500));
        }
        probedBeforeTheMesh = withBedKubectl(() =>
            probeTokenLifetimes([{ name: "bed", kubeconfig: bed.adminKubeconfig, context: "bed" }], 90, runKubectlSync),
        );
        apply(bed, [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
            {
                apiVersion: "v1",
                kind: "ServiceAccount",
                metadata: { name: "istio-reader-service-account", namespace: "istio-system" },
            },
            tokenAnchorManifest(),
        ]);
    });
    after(async () => bed?.stop());

    it("the program run's lifetime probe finds the cap before any resource, with the exact granted lifetime", () => {
        assert.deepEqual(probedBeforeTheMesh.unchecked, []);
        assert.equal(probedBeforeTheMesh.problems.length, 1);
        const [capped] = probedBeforeTheMesh.problems;
        assert.equal(capped.path, "remoteSecrets.tokenTtlDays");
        assert.match(capped.message, /API server of bed grants .* at most 172800 s .*less than the 90 days asked/);
        assert.match(capped.fix ?? "", /^Set remoteSecrets.tokenTtlDays to at most 2 /);
        const within = withBedKubectl(() =>
            probeTokenLifetimes([{ name: "bed", kubeconfig: bed.adminKubeconfig }], 2, runKubectlSync),
        );
        assert.deepEqual(within, { problems: [], unchecked: [] });
    });

    it("the probe's token authenticates nowhere: the API server refuses its audience", () => {
        const caData = bed.kubectl([
            "config",
            "view",
            "--raw",
            "--output=jsonpath={.clusters[0].cluster.certificate-authority-data}",
        ]).stdout;
        const tokenFrom = (args: string[]) => {
            const run = withBedKubectl(() => runKubectlSync(args, bed.adminKubeconfig));
            assert.equal(run.status, 0, run.stderr);
            const answer = JSON.parse(run.stdout) as { spec: { audiences: string[] }; status: { token: string } };
            const kubeconfig = renderRemoteKubeconfig({
                clusterName: "bed",
                server: bed.server,
                caData,
                token: answer.status.token,
            });
            return { audiences: answer.spec.audiences, kubeconfig };
        };
        const probe = tokenFrom(lifetimeProbeArgs("bed", 2 * 86_400));
        assert.deepEqual(probe.audiences, [LIFETIME_PROBE_AUDIENCE]);
        const refused = whoami(bed, probe.kubeconfig);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /Unauthorized|must be logged in/i);
        // The same request without the audience authenticates: the audience alone makes it useless.
        const control = tokenFrom(lifetimeProbeArgs("bed", 2 * 86_400).filter((a) => !a.startsWith("--audience")));
        assert.equal(whoami(bed, control.kubeconfig).stdout, "system:serviceaccount:default:default");
    });

    it("refuses the capped token, naming the granted lifetime and the fix", async () => {
        const anchor = tokenAnchorManifest().metadata.name;
        await assert.rejects(
            mint(bed, requestFor(bed, "istio-reader-service-account", anchor, 90 * 86_400)),
            /granted 172800 s instead of the 7776000 s asked.*tokenTtlDays to at most 2 /,
        );
        const { outs } = await mint(bed, requestFor(bed, "istio-reader-service-account", anchor, 86_400));
        assert.ok(Date.parse(outs.expiresAt) > Date.now());
    });
});
