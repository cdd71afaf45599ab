/**
 * `remoteSecrets.tokenMode: tokenRequest`: the pure parts of a token request (check, diff, kubectl
 * arguments, reading the answer), the mock graph (anchor Secret, minted token, secrecy, outputs)
 * and plan diffs of switching modes. The mint itself against real API servers: test/bed/.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import { meshStackOutputs } from "../../components/mesh/mesh-outputs";
import { countPlanResources, formatPlanReport } from "../../components/mesh/plan-report";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import {
    ReaderTokenRequestInputs,
    checkReaderTokenRequest,
    createTokenArgs,
    diffReaderTokenRequest,
    keptTokenOutputs,
    kubectlCommand,
    parseRootCa,
    parseTokenRequest,
    renewalOfThisRun,
    rootCaArgs,
    updateMintsToken,
} from "../../components/remote-secrets/token-request";
import {
    RecordedResource,
    dependsOn,
    find,
    ofType,
    promiseOf,
    runUnderMocks,
    validateKubernetesObjects,
} from "../harness";
import { ClusterEntry, diffResources, meshArgsOf, meshOf, meshResources, planDiff } from "../plan-diff";
import { tokenRequestState } from "../harness/kubernetes";
import { diagnose, recordProgram } from "../policy-program";

const DAY_S = 86_400;
const T0 = new Date("2026-12-04T12:00:00.000Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY_S * 1000);
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: admin-token-of-cluster2\n";

const wanted: ReaderTokenRequestInputs = {
    cluster: "cluster2",
    holder: "cluster1",
    namespace: "istio-system",
    serviceAccount: "istio-reader-for-cluster1",
    boundSecretName: "istio-reader-for-cluster1-token-anchor",
    boundSecretUid: "0c1c3b8e-0000-4000-8000-000000000001",
    ttlSeconds: 90 * DAY_S,
    renewBeforeSeconds: 30 * DAY_S,
    kubeconfig: KUBECONFIG,
    context: "two",
};

describe("checkReaderTokenRequest: the renewal decision on the recorded inputs", () => {
    const first = checkReaderTokenRequest(undefined, wanted, T0);

    it("records the issue time of a first token", () => {
        assert.equal(first.issuedAt, T0.toISOString());
        assert.equal(first.renewalReason, undefined);
    });

    it("keeps the recorded issue time outside the renewal window, so nothing changes", () => {
        for (const day of [1, 59.99]) {
            const next = checkReaderTokenRequest(first, wanted, at(day));
            assert.equal(next.issuedAt, first.issuedAt, `day ${day}`);
            assert.equal(next.renewalReason, undefined);
            assert.deepEqual(diffReaderTokenRequest({ ...first, token: "t", expiresAt: "", caData: "" }, next), {
                changes: false,
                replaces: [],
            });
        }
    });

    it("moves it to now inside the window (and after expiry), with the reason naming both clusters and the date", () => {
        for (const [day, words] of [
            [60, /expires on 2027-03-04T12:00:00.000Z, inside its 30-day renewal window/],
            [91, /expired on 2027-03-04T12:00:00.000Z/],
        ] as const) {
            const next = checkReaderTokenRequest(first, wanted, at(day));
            assert.equal(next.issuedAt, at(day).toISOString());
            assert.match(next.renewalReason ?? "", /the reader token of cluster2 held by cluster1/);
            assert.match(next.renewalReason ?? "", words);
            const recorded = { ...first, token: "t", expiresAt: "", caData: "" };
            assert.deepEqual(diffReaderTokenRequest(recorded, next), { changes: true, replaces: [] }, "an update");
            assert.equal(updateMintsToken(recorded, next), true, "that mints");
        }
    });

    it("renews in place, because the engine checks a replacement again without the recorded inputs, which loses the reason", () => {
        // What Pulumi 3.248 does before it creates a replacement (step_generator.go): check(nil, news).
        const recheckedForReplacement = checkReaderTokenRequest(undefined, wanted, at(61));
        assert.equal(recheckedForReplacement.renewalReason, undefined);
        // So a renewal must not be a replacement: an update is checked once, with the recorded inputs.
        const renewed = checkReaderTokenRequest(first, wanted, at(61));
        assert.match(renewed.renewalReason ?? "", /inside its 30-day renewal window/);
        assert.deepEqual(
            diffReaderTokenRequest({ ...first, token: "t", expiresAt: "", caData: "" }, renewed).replaces,
            [],
        );
    });

    it("forgets a reason recorded by the run that renewed, so the next run is quiet", () => {
        const renewed = checkReaderTokenRequest(first, wanted, at(61));
        const after = checkReaderTokenRequest(renewed, { ...wanted, ...renewed }, at(62));
        assert.equal(after.issuedAt, renewed.issuedAt);
        assert.equal(after.renewalReason, undefined);
    });

    it("mints anew, without a renewal reason, for another account, anchor or lifetime", () => {
        for (const change of [
            { serviceAccount: "istio-reader-service-account" },
            { boundSecretUid: "0c1c3b8e-0000-4000-8000-000000000002" },
            { ttlSeconds: 30 * DAY_S },
        ]) {
            const next = checkReaderTokenRequest(first, { ...wanted, ...change }, at(1));
            assert.equal(next.issuedAt, at(1).toISOString());
            assert.equal(next.renewalReason, undefined);
            const diff = diffReaderTokenRequest({ ...first, token: "t", expiresAt: "", caData: "" }, next);
            assert.deepEqual(diff.replaces, Object.keys(change));
        }
    });

    it("updates in place, keeping the token, when only the connection or the margin changes", () => {
        for (const change of [
            { kubeconfig: `${KUBECONFIG}# rotated\n` },
            { context: "other" },
            { renewBeforeSeconds: DAY_S },
        ]) {
            const next = checkReaderTokenRequest(first, { ...wanted, ...change }, at(1));
            assert.equal(next.issuedAt, first.issuedAt);
            const recorded = { ...first, token: "t", expiresAt: "e", caData: "c" };
            assert.deepEqual(diffReaderTokenRequest(recorded, next), { changes: true, replaces: [] });
            assert.equal(updateMintsToken(recorded, next), false);
            assert.deepEqual(keptTokenOutputs(recorded, next), { ...next, token: "t", expiresAt: "e", caData: "c" });
        }
    });

    it("an update that keeps the token drops the reason an earlier renewal recorded", () => {
        const renewed = checkReaderTokenRequest(first, wanted, at(61));
        const recorded = { ...renewed, token: "t", expiresAt: "e", caData: "c" };
        const rotated = checkReaderTokenRequest(renewed, { ...wanted, kubeconfig: `${KUBECONFIG}# rotated\n` }, at(62));
        assert.equal(keptTokenOutputs(recorded, rotated).renewalReason, undefined);
    });

    it("only the tokens inside their window re-mint in a run (a renewal's plan diff)", () => {
        const tokens = [0, 20, 45].map((issuedDay) =>
            checkReaderTokenRequest(undefined, { ...wanted, holder: `h${issuedDay}` }, at(issuedDay)),
        );
        const replaced = tokens
            .map((old) => ({ old, next: checkReaderTokenRequest(old, { ...wanted, holder: old.holder }, at(70)) }))
            .filter(({ old, next }) => updateMintsToken({ ...old, token: "", expiresAt: "", caData: "" }, next))
            .map(({ old }) => old.holder);
        assert.deepEqual(replaced, ["h0"], "issued on day 0: inside its window on day 70; days 20 and 45: not yet");
    });
});

describe("renewalOfThisRun: the reason the program warns with", () => {
    const registeredAt = at(61);
    it("is the reason beside an issue time from this run", () => {
        assert.equal(renewalOfThisRun({ issuedAt: at(61).toISOString(), renewalReason: "why" }, registeredAt), "why");
        assert.equal(
            renewalOfThisRun(
                { issuedAt: new Date(at(61).getTime() + 5).toISOString(), renewalReason: "why" },
                registeredAt,
            ),
            "why",
        );
    });
    it("ignores a reason recorded by an earlier run, which an unchanged token's outputs still carry", () => {
        assert.equal(
            renewalOfThisRun({ issuedAt: at(60).toISOString(), renewalReason: "why" }, registeredAt),
            undefined,
        );
    });
    it("is nothing for a kept or first token, and while the issue time is not known (a preview of a create)", () => {
        assert.equal(renewalOfThisRun({ issuedAt: at(61).toISOString() }, registeredAt), undefined);
        assert.equal(renewalOfThisRun({ renewalReason: "why" }, registeredAt), undefined);
    });
});

describe("kubectl arguments", () => {
    it("take the kubeconfig from stdin and put nothing secret on the command line", () => {
        const args = createTokenArgs({ ...wanted, issuedAt: T0.toISOString() });
        assert.deepEqual(args, [
            "--kubeconfig=/dev/stdin",
            "--context=two",
            "--namespace=istio-system",
            "--request-timeout=30s",
            "create",
            "token",
            "istio-reader-for-cluster1",
            "--duration=7776000s",
            "--bound-object-kind=Secret",
            "--bound-object-name=istio-reader-for-cluster1-token-anchor",
            "--bound-object-uid=0c1c3b8e-0000-4000-8000-000000000001",
            "--output=json",
        ]);
        assert.ok(!args.join(" ").includes("admin-token-of"));
        assert.deepEqual(rootCaArgs({ namespace: "istio-system" }).slice(-4), [
            "get",
            "configmap",
            "kube-root-ca.crt",
            "--output=json",
        ]);
    });
});

describe("kubectlCommand: the kubeconfig reaches /dev/stdin through a pipe", () => {
    const viaNode = (file: string, args: string[]) =>
        spawnSync(file, args, { input: "kubeconfig on stdin", encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });

    it(
        "is needed: a child of Node cannot open /dev/stdin (its stdin is a socket, ENXIO on Linux)",
        { skip: process.platform !== "linux" && "Linux only" },
        () => {
            const direct = viaNode("cat", ["/dev/stdin"]);
            assert.notEqual(direct.status, 0);
            assert.match(direct.stderr, /No such device or address/);
        },
    );

    it("works: the same read through the shell pipe gets the kubeconfig, and the arguments stay arguments", () => {
        const command = kubectlCommand("cat", ["/dev/stdin"]);
        assert.deepEqual(command, { file: "/bin/sh", args: ["-c", 'cat | exec "$0" "$@"', "cat", "/dev/stdin"] });
        const piped = viaNode(command.file, command.args);
        assert.equal(piped.status, 0, piped.stderr);
        assert.equal(piped.stdout, "kubeconfig on stdin");
        const echo = kubectlCommand("echo", ["$(id)", "a b"]);
        const quoted = viaNode(echo.file, echo.args);
        assert.equal(quoted.stdout, "$(id) a b\n", "no shell expansion of the arguments");
    });
});

describe("reading the API server's answer", () => {
    const answer = (expirationTimestamp: string, token = "eyJ.secret-token.sig") =>
        JSON.stringify({ kind: "TokenRequest", status: { token, expirationTimestamp } });

    it("takes the token and the granted expiry", () => {
        assert.deepEqual(parseTokenRequest(answer("2027-03-04T12:00:05Z"), wanted, T0), {
            token: "eyJ.secret-token.sig",
            expiresAt: "2027-03-04T12:00:05.000Z",
        });
    });

    it("refuses a lifetime the API server capped, naming the granted one and the fix", () => {
        assert.throws(
            () => parseTokenRequest(answer("2026-12-05T12:00:00Z"), wanted, T0),
            /cluster2 granted 86400 s instead of the 7776000 s asked.*--service-account-max-token-expiration.*tokenTtlDays to at most 1/,
        );
    });

    it("takes the granted lifetime from the answer's spec, exact whatever the clock says", () => {
        // The expiry is truncated to the second and the call takes time: read off the clock, a
        // 48 h cap looks like 172799 s or 172800 s from one call to the next.
        const capped = (expirationTimestamp: string) =>
            JSON.stringify({
                kind: "TokenRequest",
                spec: { expirationSeconds: 172_800 },
                status: { token: "eyJ.secret-token.sig", expirationTimestamp },
            });
        for (const expiry of ["2026-12-06T11:59:59Z", "2026-12-06T12:00:00Z", "2026-12-06T12:00:01Z"]) {
            assert.throws(
                () => parseTokenRequest(capped(expiry), wanted, T0),
                /granted 172800 s instead of the 7776000 s asked.*tokenTtlDays to at most 2 /,
            );
        }
        const granted = JSON.stringify({
            spec: { expirationSeconds: wanted.ttlSeconds },
            status: { token: "eyJ.secret-token.sig", expirationTimestamp: "2027-03-04T11:59:58Z" },
        });
        assert.equal(parseTokenRequest(granted, wanted, T0).expiresAt, "2027-03-04T11:59:58.000Z");
    });

    it("never quotes what kubectl printed (it may hold the token)", () => {
        for (const bad of ["not json secret-token", JSON.stringify({ status: { token: "secret-token" } })]) {
            assert.throws(
                () => parseTokenRequest(bad, wanted, T0),
                (e: Error) => !e.message.includes("secret-token"),
            );
        }
    });

    it("reads the cluster CA from kube-root-ca.crt as certificate-authority-data", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert.equal(
            parseRootCa(JSON.stringify({ data: { "ca.crt": pem } }), "cluster2"),
            Buffer.from(pem).toString("base64"),
        );
        assert.throws(() => parseRootCa(JSON.stringify({ data: {} }), "cluster2"), /kube-root-ca.crt has no ca.crt/);
    });
});

const c1: ClusterEntry = { name: "cluster1", network: "network1" };
const c2: ClusterEntry = { name: "cluster2", network: "network2" };
const c3: ClusterEntry = { name: "cluster3", network: "network3" };
const requested = (readerAccounts = "shared") => ({ remoteSecrets: { tokenMode: "tokenRequest", readerAccounts } });

const subjectAndBinding = (kubeconfig: string) => {
    const doc = yaml.load(kubeconfig) as { users: { user: { token: string } }[] };
    const claims = JSON.parse(Buffer.from(doc.users[0].user.token.split(".")[1], "base64url").toString("utf8")) as {
        sub: string;
        exp: number;
        "kubernetes.io": { secret: { name: string } };
    };
    return { sub: claims.sub, secret: claims["kubernetes.io"].secret.name, exp: claims.exp };
};

describe("tokenRequest in the mock graph", () => {
    for (const accounts of ["shared", "perHolder"] as const) {
        it(`${accounts}: an anchor Secret and a minted token per credential, secret end to end, and no legacy token`, async () => {
            const config = meshOf([c1, c2, c3], requested(accounts));
            const { resources, result: mesh } = await runUnderMocks(
                () => new IstioMulticlusterMesh("mesh", meshArgsOf(config)),
            );
            assert.deepEqual(
                ofType(resources, "kubernetes:core/v1:Secret").filter(
                    (r) => r.inputs.type === "kubernetes.io/service-account-token",
                ),
                [],
            );
            const requests = ofType(resources, "pulumi-nodejs:dynamic:Resource");
            assert.equal(requests.length, accounts === "shared" ? 3 : 6);
            for (const r of requests) {
                assert.ok(r.secretPaths.includes("kubeconfig"), `${r.name}: the kubeconfig input is secret`);
                for (const out of ["token", "caData", "kubeconfig"]) assert.ok(r.additionalSecretOutputs.includes(out));
                const anchor = find(
                    resources,
                    "kubernetes:core/v1:Secret",
                    r.name.replace("-token-request", "-token-anchor"),
                );
                assert.equal(anchor.cluster, r.inputs.cluster, "the anchor lives in the watched cluster");
                assert.ok(anchor.deleteBeforeReplace, "replacing the anchor revokes before it re-mints");
                assert.ok(dependsOn(resources, r, anchor));
                assert.equal(r.inputs.ttlSeconds, 90 * DAY_S);
            }
            assert.deepEqual(await validateKubernetesObjects(resources.filter((r) => /-anchor/.test(r.name))), []);
            const counted = countPlanResources(buildMeshPlan(config), config).clusters.map((c) => c.readerToken);
            const ours = resources.filter((r) => /-reader-(account|binding|token)/.test(r.name));
            assert.equal(
                ours.length,
                counted.reduce((a, b) => a + b, 0),
                "the plan report counts what is made",
            );

            for (const holder of ["cluster1", "cluster2", "cluster3"]) {
                for (const source of ["cluster1", "cluster2", "cluster3"].filter((s) => s !== holder)) {
                    const secret = find(resources, "kubernetes:core/v1:Secret", `${holder}-remote-secret-${source}`);
                    const kubeconfig = Buffer.from(secret.inputs.data[source] as string, "base64").toString("utf8");
                    const account =
                        accounts === "shared" ? "istio-reader-service-account" : `istio-reader-for-${holder}`;
                    assert.deepEqual(subjectAndBinding(kubeconfig), {
                        sub: `system:serviceaccount:istio-system:${account}`,
                        secret: `${account}-token-anchor`,
                        exp: Date.parse("2026-01-01T00:00:00Z") / 1000 + 90 * DAY_S,
                    });
                    assert.ok(!kubeconfig.includes("admin-token-of"));
                    const reader =
                        accounts === "shared"
                            ? mesh.remoteSecrets.readers[source]
                            : mesh.remoteSecrets.holderReaders[source][holder];
                    assert.ok(await pulumi.isSecret(reader.token));
                    assert.ok(await pulumi.isSecret(reader.caData));
                    const request = requests.find(
                        (r) => r.inputs.cluster === source && (accounts === "shared" || r.inputs.holder === holder),
                    );
                    assert.ok(request && dependsOn(resources, secret, request), `${secret.name} waits for its token`);
                }
            }
        });
    }

    it("stack output readerCredentials: per holder and watched cluster the kind, the anchor and the granted expiry", async () => {
        const config = meshOf([c1, c2], requested("perHolder"));
        const { result } = await runUnderMocks(() => {
            const args = meshArgsOf(config);
            return meshStackOutputs(new IstioMulticlusterMesh("mesh", args), args);
        });
        const credential = await promiseOf(pulumi.output(result.readerCredentials.cluster1.cluster2));
        assert.deepEqual(credential, {
            kind: "tokenRequest",
            account: "istio-system/istio-reader-for-cluster1",
            tokenSecret: "istio-reader-for-cluster1-token-anchor",
            expires: new Date(Date.parse("2026-01-01T00:00:00Z") + 90 * DAY_S * 1000).toISOString(),
        });
    });
});

describe("tokenRequest: plan diffs", () => {
    const created = (diff: { created: string[] }, pattern: RegExp) => diff.created.filter((n) => pattern.test(n));

    it("switching serviceAccountTokenSecret -> tokenRequest creates the tokens, rewrites each remote secret in place, deletes the legacy ones", async () => {
        const diff = await planDiff(meshOf([c1, c2, c3]), meshOf([c1, c2, c3], requested()));
        assert.deepEqual(
            diff.created,
            ["cluster1", "cluster2", "cluster3"]
                .flatMap((c) => [`${c}-reader-token-anchor`, `${c}-reader-token-request`, `${c}-remote-reader`])
                .sort(),
        );
        assert.deepEqual(
            diff.deleted,
            ["cluster1", "cluster2", "cluster3"].flatMap((c) => [`${c}-reader-token`, `${c}-remote-reader`]).sort(),
        );
        const pairs = ["cluster1", "cluster2", "cluster3"].flatMap((h) =>
            ["cluster1", "cluster2", "cluster3"].filter((s) => s !== h).map((s) => `${h}-remote-secret-${s}`),
        );
        assert.deepEqual(diff.changed, Object.fromEntries(pairs.map((n) => [n, ["data", "metadata"]])));
    });

    it("and back: the same three steps the other way", async () => {
        const diff = await planDiff(meshOf([c1, c2], requested()), meshOf([c1, c2]));
        assert.deepEqual(diff.created, [
            "cluster1-reader-token",
            "cluster1-remote-reader",
            "cluster2-reader-token",
            "cluster2-remote-reader",
        ]);
        assert.ok(diff.deleted.includes("cluster1-reader-token-request"));
        assert.deepEqual(Object.keys(diff.changed).sort(), [
            "cluster1-remote-secret-cluster2",
            "cluster2-remote-secret-cluster1",
        ]);
    });

    it("perHolder: adding a primary mints only its tokens and those about it; removing it deletes only them", async () => {
        const grow = await planDiff(
            meshOf([c1, c2], requested("perHolder")),
            meshOf([c1, c2, c3], requested("perHolder")),
        );
        assert.deepEqual(created(grow, /-reader-token-(request|anchor)/), [
            "cluster1-reader-token-anchor-cluster3",
            "cluster1-reader-token-request-cluster3",
            "cluster2-reader-token-anchor-cluster3",
            "cluster2-reader-token-request-cluster3",
            "cluster3-reader-token-anchor-cluster1",
            "cluster3-reader-token-anchor-cluster2",
            "cluster3-reader-token-request-cluster1",
            "cluster3-reader-token-request-cluster2",
        ]);
        assert.deepEqual(grow.deleted, []);
        assert.deepEqual(grow.changed, {}, "no other holder's token is re-minted");
        const shrink = await planDiff(
            meshOf([c1, c2, c3], requested("perHolder")),
            meshOf([c1, c2], requested("perHolder")),
        );
        assert.deepEqual(shrink.deleted, [...grow.created].sort());
        assert.deepEqual(shrink.changed, {});
    });

    it("changing the lifetime re-mints every token (a new identity) and rewrites the remote secrets", async () => {
        const longer = { remoteSecrets: { tokenMode: "tokenRequest", tokenTtlDays: 120 } };
        const diff = await planDiff(meshOf([c1, c2], requested()), meshOf([c1, c2], longer));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(diff.changed["cluster1-reader-token-request"], ["ttlSeconds"]);
        assert.deepEqual(diff.changed["cluster2-remote-secret-cluster1"], ["data"]);
    });
});

describe("tokenRequest under the policy pack", () => {
    const config = meshOf([c1, c2], requested("perHolder"));
    const expiryFindings = async (now: Date) =>
        (await diagnose(await recordProgram(config, false, { now }))).filter(
            (d) => d.policyName === "remote-secret-token-expiry",
        );

    it("passes tokens minted now, and fails the same tokens once they have expired (the mandatory rule reads exp)", async () => {
        assert.deepEqual(await expiryFindings(new Date()), []);
        const stale = await expiryFindings(new Date(Date.now() - 100 * DAY_S * 1000));
        assert.equal(stale.length, 2, "one per holder's remote secret");
        assert.ok(stale.every((d) => d.enforcementLevel === "mandatory" && /expired on/.test(d.message)));
    });

    it("holds a token to its own renewal margin: 30-day tokens renewed 10 days ahead pass fresh, fail once inside the margin", async () => {
        // examples/Pulumi.expiring-tokens.yaml: a fresh token has under 30 days left, less than the
        // knob's default, yet is healthy; the Secret says how early the program renews it.
        const short = meshOf([c1, c2], {
            remoteSecrets: {
                tokenMode: "tokenRequest",
                readerAccounts: "perHolder",
                tokenTtlDays: 30,
                renewBeforeDays: 10,
            },
        });
        const findings = async (mintedDaysAgo: number) =>
            (
                await diagnose(
                    await recordProgram(short, false, { now: new Date(Date.now() - mintedDaysAgo * DAY_S * 1000) }),
                )
            ).filter((d) => d.policyName === "remote-secret-token-expiry");
        assert.deepEqual(await findings(0), []);
        assert.deepEqual(await findings(19), [], "11 days left: not yet inside the 10-day margin");
        const due = await findings(21);
        assert.equal(due.length, 2);
        assert.match(due[0].message, /expires on .*, in less than 10 days \(the renewal margin of this Secret\)/);
    });
});

describe("tokenRequest in npm run plan", () => {
    it("says how long the tokens live, when pulumi up re-mints them and that kubectl mints them; nothing without tokenRequest", () => {
        const config = meshOf([c1, c2], {
            remoteSecrets: {
                tokenMode: "tokenRequest",
                readerAccounts: "perHolder",
                tokenTtlDays: 60,
                renewBeforeDays: 20,
            },
        });
        assert.match(
            formatPlanReport(buildMeshPlan(config), config),
            /Reader tokens \(tokenRequest, one per \(watched cluster, primary\)\): valid 60 days, re-minted by the first pulumi up from 20 days before expiry; minted with kubectl/,
        );
        const legacy = meshOf([c1, c2]);
        assert.doesNotMatch(formatPlanReport(buildMeshPlan(legacy), legacy), /Reader tokens/);
    });
});

describe("tokenRequest renewal in the mock graph (runs with recorded state, through the engine's steps)", () => {
    const config = meshOf([c1, c2], requested("perHolder"));
    const day = (n: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + n * DAY_S * 1000);
    type TokenStates = Record<string, Record<string, unknown>>;
    /** The state each token of `run` records, by resource name. */
    async function statesOf(
        run: Map<string, RecordedResource>,
        state: (r: RecordedResource) => Promise<Record<string, unknown>>,
    ): Promise<TokenStates> {
        const tokens = [...run.values()].filter((r) => r.type === "pulumi-nodejs:dynamic:Resource");
        return Object.fromEntries(await Promise.all(tokens.map(async (r) => [r.name, await state(r)] as const)));
    }
    /** The recorded state of each token after an up on `issued[name]`. */
    const recorded = async (issued: Record<string, Date>) =>
        statesOf(await meshResources(config), (r) => tokenRequestState(r.inputs, issued[r.name]));
    /** The state each token records after `run`, an up at `now` on `previous`. */
    const recordedAfter = (run: Map<string, RecordedResource>, now: Date, previous: TokenStates) =>
        statesOf(run, (r) => tokenRequestState(r.inputs, now, previous[r.name]));
    const reMintingWarnings = (warn: { mock: { calls: { arguments: unknown[] }[] } }) =>
        warn.mock.calls.map((c) => String(c.arguments[0])).filter((m) => m.startsWith("Re-minting"));
    const DUE =
        "Re-minting: the reader token of cluster1 held by cluster2 expires on 2026-04-01T00:00:00.000Z, inside its " +
        "30-day renewal window; minting a new one valid for 90 days.";
    // cluster1's token held by cluster2 was minted on day 0, the other on day 40; 90-day tokens, 30-day window.
    const issued = {
        "cluster1-reader-token-request-cluster2": day(0),
        "cluster2-reader-token-request-cluster1": day(40),
    };

    it("re-mints only the token inside its window: its holder's remote secret changes, nothing else, and the run warns once, naming it", async (t) => {
        const previous = await recorded(issued);
        const quiet = await meshResources(config, { now: day(50), previousTokenRequests: previous });
        const warn = t.mock.method(pulumi.log, "warn");
        const due = await meshResources(config, { now: day(65), previousTokenRequests: previous });
        assert.deepEqual(diffResources(quiet, due), {
            created: [],
            deleted: [],
            changed: { "cluster2-remote-secret-cluster1": ["data"] },
        });
        assert.deepEqual(reMintingWarnings(warn), [DUE]);
    });

    it("the preview inside the window warns the same, and its holder's remote secret waits for the new token", async (t) => {
        const previous = await recorded(issued);
        const quiet = await meshResources(config, { now: day(50), previousTokenRequests: previous, preview: true });
        const warn = t.mock.method(pulumi.log, "warn");
        const due = await meshResources(config, { now: day(65), previousTokenRequests: previous, preview: true });
        assert.deepEqual(reMintingWarnings(warn), [DUE]);
        assert.deepEqual(diffResources(quiet, due), {
            created: [],
            deleted: [],
            changed: { "cluster2-remote-secret-cluster1": ["data"] },
        });
        const secret = [...due.values()].find((r) => r.name === "cluster2-remote-secret-cluster1")!;
        assert.ok(pulumi.containsUnknowns(secret.inputs.data), "the token is unknown until the up mints it");
        const other = [...due.values()].find((r) => r.name === "cluster1-remote-secret-cluster2")!;
        assert.ok(!pulumi.containsUnknowns(other.inputs.data), "the kept token is known");
    });

    it("the up after a renewal is quiet: the token's recorded outputs still carry the reason, and nothing changes or warns", async (t) => {
        const previous = await recorded(issued);
        const due = await meshResources(config, { now: day(65), previousTokenRequests: previous });
        const afterRenewal = await recordedAfter(due, day(65), previous);
        assert.match(
            String(afterRenewal["cluster1-reader-token-request-cluster2"].renewalReason),
            /inside its 30-day renewal window/,
        );
        const warn = t.mock.method(pulumi.log, "warn");
        const next = await meshResources(config, { now: day(66), previousTokenRequests: afterRenewal });
        assert.deepEqual(reMintingWarnings(warn), []);
        assert.deepEqual(diffResources(due, next), { created: [], deleted: [], changed: {} });
    });

    it("a new anchor inside the window is a replacement: a new token without a renewal warning (nothing is renewed)", async (t) => {
        const previous = await recorded(issued);
        const name = "cluster1-reader-token-request-cluster2";
        const moved = { ...previous, [name]: { ...previous[name], boundSecretUid: "an-older-anchor" } };
        const warn = t.mock.method(pulumi.log, "warn");
        const run = await meshResources(config, { now: day(65), previousTokenRequests: moved });
        assert.deepEqual(reMintingWarnings(warn), []);
        const state = (await recordedAfter(run, day(65), moved))[name];
        assert.equal(state.issuedAt, day(65).toISOString());
        assert.notEqual(state.token, previous[name].token);
    });
});
