/**
 * The real Pulumi engine: the CLI built from `github.com/pulumi/pulumi/pkg/v3` at the version of
 * `@pulumi/pulumi` in the lockfile (`bed/engine/go.mod`), driven through the automation API,
 * running the program's one resource that needs no other provider, the reader token request of
 * `tokenMode: tokenRequest`, against a real API server. The engine checks, diffs, creates,
 * updates (a renewal mints in place) and deletes it and keeps its secrets in a real (file-backend) state.
 *
 * What stands in: the anchor Secret the program makes with the Kubernetes provider comes from a
 * small dynamic resource of this file (the provider plugins the program pins, kubernetes 4.34.2,
 * tls 5.6.1 and command 4.5.0, cannot be built from the Go module proxy here), and the program
 * runs inline in this process instead of under `pulumi-language-nodejs` (not served either): the
 * automation API then serves the language runtime itself, the SDK and the engine are the same.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";

import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";

import { renderRemoteKubeconfig } from "../../components/remote-secrets/remote-secrets-manifest";
import { kubectlCommand } from "../../components/remote-secrets/token-request";
import { ReaderTokenRequest } from "../../components/remote-secrets/token-request-provider";
import { BedCluster, bedBinDir, startBedCluster } from "./api-server";
import { engineStack, engineUnavailable } from "./engine";

const unavailable = engineUnavailable();

const NAMESPACE = "istio-system";
const ACCOUNT = "istio-reader-service-account";
const ANCHOR = "istio-reader-service-account-token-anchor";

/** Test scaffolding only: the anchor Secret (the program makes it with the Kubernetes provider). */
interface AnchorInputs {
    kubectl: string;
    kubeconfig: string;
    name: string;
}
const anchorProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: AnchorInputs) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
        const run = (args: string[]) => {
            const command = kubectlCommand(inputs.kubectl, ["--kubeconfig=/dev/stdin", ...args]);
            return execFileSync(command.file, command.args, { input: inputs.kubeconfig, encoding: "utf8" });
        };
        run(["-n", "istio-system", "create", "secret", "generic", inputs.name]);
        const uid = run(["-n", "istio-system", "get", "secret", inputs.name, "-o", "jsonpath={.metadata.uid}"]);
        return { id: inputs.name, outs: { ...inputs, uid } };
    },
    async delete(_id: string, olds: AnchorInputs) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
        const command = kubectlCommand(olds.kubectl, [
            "--kubeconfig=/dev/stdin",
            "-n",
            "istio-system",
            "delete",
            "secret",
            olds.name,
            "--ignore-not-found",
        ]);
        execFileSync(command.file, command.args, { input: olds.kubeconfig });
    },
};
class AnchorSecret extends pulumi.dynamic.Resource {
    declare public readonly uid: pulumi.Output<string>;
    constructor(name: string, args: AnchorInputs) {
        super(
            anchorProvider,
            name,
            { ...args, kubeconfig: pulumi.secret(args.kubeconfig), uid: undefined },
            {
                additionalSecretOutputs: ["kubeconfig"],
            },
        );
    }
}

/** What one run of the program asks for. */
interface ProgramSettings {
    ttlSeconds: number;
    renewBeforeSeconds: number;
    /** The watched cluster's kubeconfig as the program would pass it. */
    kubeconfig: string;
}

/** Engine events of one operation, by kind. */
function recorder() {
    const events: EngineEvent[] = [];
    return {
        onEvent: (e: EngineEvent) => events.push(e),
        /** The ops the engine planned or ran for the token request (resourcePreEvent). */
        tokenOps: () =>
            events
                .filter((e) => e.resourcePreEvent?.metadata.type === "pulumi-nodejs:dynamic:Resource")
                .filter((e) => e.resourcePreEvent?.metadata.urn.endsWith("bed-reader-token-request"))
                .map((e) => ({
                    op: e.resourcePreEvent!.metadata.op,
                    diffs: e.resourcePreEvent!.metadata.diffs ?? [],
                })),
        /** The warnings the program's token request printed (not the engine's own, about plugins). */
        warnings: () =>
            events
                .filter((e) => e.diagnosticEvent?.severity === "warning")
                .filter((e) => e.diagnosticEvent?.urn?.endsWith("bed-reader-token-request"))
                .map((e) => e.diagnosticEvent!.message.trim()),
    };
}

describe("the real Pulumi engine with the reader token request, on a real API server", { skip: unavailable }, () => {
    let bed: BedCluster;
    let stack: Stack;
    let settings: ProgramSettings;
    let workDir: string;

    before(async () => {
        bed = await startBedCluster();
        const applied = bed.applyObjects([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: ACCOUNT, namespace: NAMESPACE } },
        ]);
        assert.equal(applied.code, 0, applied.stderr);
        // The renewal window opens 20 s after a mint: room for the runs between two mints.
        settings = { ttlSeconds: 600, renewBeforeSeconds: 580, kubeconfig: bed.adminKubeconfig };

        workDir = path.join(bed.scratchDir, "engine");
        const kubectl = path.join(bedBinDir(), "kubectl");
        const program = async () => {
            const anchor = new AnchorSecret("bed-anchor", { kubectl, kubeconfig: bed.adminKubeconfig, name: ANCHOR });
            const request = new ReaderTokenRequest("bed-reader-token-request", {
                cluster: "bed",
                namespace: NAMESPACE,
                serviceAccount: ACCOUNT,
                boundSecretName: ANCHOR,
                boundSecretUid: anchor.uid,
                ttlSeconds: settings.ttlSeconds,
                renewBeforeSeconds: settings.renewBeforeSeconds,
                kubeconfig: settings.kubeconfig,
                context: "bed",
            });
            return {
                token: request.token,
                caData: request.caData,
                expiresAt: request.expiresAt,
                issuedAt: request.issuedAt,
                renewalReason: request.renewalReason,
            };
        };
        stack = await engineStack({
            workDir,
            projectName: "istio-multicluster-bed",
            program,
            envVars: { ISTIO_MULTICLUSTER_KUBECTL: kubectl },
        });
    });
    after(async () => bed?.stop());

    const outputsOf = async () => stack.outputs();
    const kubeconfigOf = async () => {
        const outs = await outputsOf();
        return renderRemoteKubeconfig({
            clusterName: "bed",
            server: bed.server,
            caData: outs.caData.value as string,
            token: outs.token.value as string,
        });
    };
    const whoami = (kubeconfig: string) =>
        bed.kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], kubeconfig).stdout;

    it("previews a fresh stack with the anchor's UID unknown, then mints a token that reads as the reader account", async () => {
        const preview = recorder();
        const planned = await stack.preview({ onEvent: preview.onEvent });
        assert.equal(planned.changeSummary.create, 3, JSON.stringify(planned.changeSummary));
        assert.deepEqual(preview.tokenOps(), [{ op: "create", diffs: [] }]);

        const up = await stack.up({ onEvent: recorder().onEvent });
        assert.equal(up.summary.result, "succeeded");
        const outs = await outputsOf();
        assert.equal(outs.token.secret, true, "the token is a secret output");
        assert.equal(outs.caData.secret, true);
        const granted = Date.parse(outs.expiresAt.value as string) - Date.now();
        assert.ok(granted > 500_000 && granted <= 600_000, `granted ${granted} ms`);
        assert.equal(whoami(await kubeconfigOf()), `system:serviceaccount:${NAMESPACE}:${ACCOUNT}`);
    });

    it("keeps the token and the watched cluster's admin credentials out of the state in plain text", async () => {
        // What the backend wrote (the checkpoint, its backups and history), not `stack export`,
        // which the automation API runs with --show-secrets.
        const files = (fs.readdirSync(path.join(workDir, "state"), { recursive: true }) as string[])
            .map((f) => path.join(workDir, "state", f))
            .filter((f) => fs.statSync(f).isFile());
        const written = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
        assert.ok(
            files.some((f) => f.endsWith(path.join("stacks", "istio-multicluster-bed", "bed.json"))),
            files.join(),
        );
        const token = (await outputsOf()).token.value as string;
        assert.ok(token.length > 100);
        assert.ok(!written.includes(token), "no token in the state");
        const adminKey = /client-key-data: (\S+)\}/.exec(bed.adminKubeconfig)?.[1] ?? "";
        assert.ok(adminKey.length > 100);
        assert.ok(!written.includes(adminKey), "no admin key in the state");
        const checkpoint = JSON.parse(
            fs.readFileSync(
                files.find((f) => f.endsWith("bed.json"))!,
                "utf8",
            ),
        ) as { checkpoint: { latest: { resources: { urn: string; outputs?: Record<string, unknown> }[] } } };
        const request = checkpoint.checkpoint.latest.resources.find((r) => r.urn.endsWith("bed-reader-token-request"));
        for (const key of ["token", "caData", "kubeconfig"]) {
            assert.ok(
                JSON.stringify(request?.outputs?.[key]).includes("ciphertext"),
                `${key} is stored encrypted, not dropped`,
            );
        }
    });

    it("a second preview outside the renewal window changes nothing (expect-no-changes)", async () => {
        // The window opens 20 s after the mint (600 s lifetime, renew 580 s before expiry).
        const preview = await stack.preview({ expectNoChanges: true });
        assert.deepEqual(preview.changeSummary, { same: 3 });
    });

    it("new credentials for the same cluster update the recorded inputs and keep the token", async () => {
        const before = (await outputsOf()).token.value as string;
        // The same admin, written differently: a rotated kubeconfig must not re-mint every token.
        settings.kubeconfig = `# rotated\n${bed.adminKubeconfig}`;
        const preview = recorder();
        await stack.preview({ onEvent: preview.onEvent });
        // A dynamic provider's diff names no properties; the engine shows the step alone.
        assert.deepEqual(
            preview.tokenOps().map((o) => o.op),
            ["update"],
        );
        await stack.up();
        assert.equal((await outputsOf()).token.value, before, "same token");
    });

    /** The one warning a renewing run prints, as the engine reports it. */
    const assertReMintingWarning = (warnings: string[]) => {
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(
            warnings[0].trim(),
            /^Re-minting: the reader token of bed expires on \S+, inside its [\d.]+-day renewal window; minting a new one valid for [\d.]+ days\.$/,
        );
    };

    it("inside the renewal window the preview shows an update of the token and warns why; the up re-mints it and warns the same", async () => {
        const issued = Date.parse((await outputsOf()).issuedAt.value as string);
        const windowOpens = issued + (settings.ttlSeconds - settings.renewBeforeSeconds) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(0, windowOpens - Date.now()) + 1_000));
        const before = await kubeconfigOf();

        const preview = recorder();
        await stack.preview({ onEvent: preview.onEvent });
        // An update, not a replacement: the engine checks a replacement again without the recorded
        // inputs (step_generator.go), which would lose the reason.
        assert.deepEqual(
            preview.tokenOps().map((o) => o.op),
            ["update"],
        );
        assertReMintingWarning(preview.warnings());

        const up = recorder();
        const result = await stack.up({ onEvent: up.onEvent });
        assert.equal(result.summary.result, "succeeded");
        assert.deepEqual(
            up.tokenOps().map((o) => o.op),
            ["update"],
        );
        assertReMintingWarning(up.warnings());
        const outs = await outputsOf();
        assert.ok(Date.parse(outs.issuedAt.value as string) >= windowOpens);
        assert.match(String(outs.renewalReason?.value), /inside its .*-day renewal window/);
        const after = await kubeconfigOf();
        assert.notEqual(after, before, "a new token");
        assert.equal(whoami(after), `system:serviceaccount:${NAMESPACE}:${ACCOUNT}`);
        assert.equal(
            whoami(before),
            `system:serviceaccount:${NAMESPACE}:${ACCOUNT}`,
            "the old one lasts to its expiry",
        );
    });

    it("the run after the renewal is quiet: no change and no warning, though the state still records the reason", async () => {
        const preview = recorder();
        const planned = await stack.preview({ expectNoChanges: true, onEvent: preview.onEvent });
        assert.deepEqual(planned.changeSummary, { same: 3 });
        assert.deepEqual(preview.warnings(), []);
        assert.match(String((await outputsOf()).renewalReason?.value), /renewal window/);
    });

    it(
        "after its expiry the token is refused, and the next up re-mints it with the warning and a working token",
        { skip: process.env.BED_EXPIRY !== "1" && "set BED_EXPIRY=1 (waits about 11 minutes)", timeout: 15 * 60_000 },
        async () => {
            const outs = await outputsOf();
            const expired = await kubeconfigOf();
            // The API server's token check allows a minute of clock skew past exp.
            await new Promise((r) => setTimeout(r, Date.parse(outs.expiresAt.value as string) - Date.now() + 75_000));
            assert.equal(whoami(expired), "", "refused after its expiry");
            const up = recorder();
            assert.equal((await stack.up({ onEvent: up.onEvent })).summary.result, "succeeded");
            assert.deepEqual(
                up.tokenOps().map((o) => o.op),
                ["update"],
            );
            assert.equal(up.warnings().length, 1);
            assert.match(up.warnings()[0], /^Re-minting: the reader token of bed expired on \S+; minting a new one/);
            assert.equal(whoami(await kubeconfigOf()), `system:serviceaccount:${NAMESPACE}:${ACCOUNT}`);
        },
    );

    it("destroy removes the anchor, which revokes the token", async () => {
        const kubeconfig = await kubeconfigOf();
        const destroyed = await stack.destroy();
        assert.equal(destroyed.summary.result, "succeeded");
        assert.equal(
            bed.kubectl(["-n", NAMESPACE, "get", "secret", ANCHOR]).code !== 0,
            true,
            "the anchor Secret is gone",
        );
        const deadline = Date.now() + 30_000;
        let who = whoami(kubeconfig);
        while (who !== "" && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1_000));
            who = whoami(kubeconfig);
        }
        assert.equal(who, "", "the token no longer authenticates");
    });
});
