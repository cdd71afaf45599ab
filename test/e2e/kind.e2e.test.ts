/**
 * End to end on the local kind bed: scripts/kind-up.sh, then the "kind" stack through the Pulumi
 * Automation API: preview, up, the verification outputs, a second up that must change nothing,
 * and destroy. Needs Docker, kind, kubectl and the Pulumi CLI; it runs only with E2E=1
 * (`npm run test:e2e`) and otherwise reports itself as skipped, with the reason.
 *
 * State goes to a throw-away local backend (PULUMI_BACKEND_URL=file://<tmp>), so the run never
 * touches the user's own stacks. Pulumi.kind.yaml is restored afterwards (kind-up.sh writes the API
 * server addresses into it and `pulumi stack init` adds an encryption salt). Clusters the test had
 * to create are deleted at the end unless E2E_KEEP_CLUSTERS=1; clusters that already existed are
 * kept (they must not already hold an Istio installation).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it, TestContext } from "node:test";
import * as assert from "node:assert/strict";
import type { OutputMap, Stack } from "@pulumi/pulumi/automation";

const repoRoot = path.resolve(__dirname, "..", "..");
const stackFile = path.join(repoRoot, "Pulumi.kind.yaml");
const clusterNames = [process.env.CLUSTER1_NAME ?? "cluster1", process.env.CLUSTER2_NAME ?? "cluster2"];
const MINUTE = 60_000;

function onPath(name: string): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
        if (!dir) return false;
        try {
            fs.accessSync(path.join(dir, name), fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

/** Why the test cannot run here, or undefined when it can. */
function skipReason(): string | undefined {
    if (process.env.E2E !== "1") {
        return "E2E=1 is not set (run `npm run test:e2e` on a machine with Docker, kind, kubectl and the Pulumi CLI)";
    }
    const missing = ["docker", "kind", "kubectl", "pulumi"].filter((tool) => !onPath(tool));
    if (missing.length > 0) return `not on PATH: ${missing.join(", ")}`;
    const info = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 30_000 });
    if (info.status !== 0) return "the Docker daemon does not answer (`docker info` failed)";
    return undefined;
}

function existingKindClusters(): string[] {
    const r = spawnSync("kind", ["get", "clusters"], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.split("\n").filter(Boolean) : [];
}

/** Runs a repository script, echoing its output as test diagnostics; throws on failure. */
function runScript(t: TestContext, script: string, timeoutMs: number): void {
    const r = spawnSync("bash", [path.join(repoRoot, "scripts", script)], {
        cwd: repoRoot,
        encoding: "utf8",
        timeout: timeoutMs,
    });
    for (const line of `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")) if (line) t.diagnostic(`${script}: ${line}`);
    if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status ?? r.signal})`);
}

/**
 * The verification outputs: one entry per client cluster, each `ok` with every cluster answering.
 * Throws with the probe's own explanation otherwise.
 */
function assertMeshVerified(outputs: OutputMap, clusters: readonly string[]): void {
    const verification = outputs.verification?.value as
        Record<string, { ok: boolean; servers?: string[]; message?: string }> | undefined;
    assert.ok(verification, `no "verification" stack output; outputs: ${Object.keys(outputs).join(", ")}`);
    for (const client of clusters) {
        const result: { ok: boolean; servers?: string[]; message?: string } | undefined = verification[client];
        assert.ok(result, `no verification result for client cluster ${client}`);
        assert.equal(result.ok, true, `verification from ${client} failed: ${result.message ?? "(no message)"}`);
        for (const server of clusters) {
            assert.ok(result.servers?.includes(server), `${client} never got an answer from ${server}`);
        }
    }
}

const reason = skipReason();

describe("e2e: Istio multicluster mesh on two kind clusters", () => {
    it(
        "kind-up, preview, up, verification, no-op second up, destroy",
        { skip: reason ?? false, timeout: 90 * MINUTE },
        async (t) => {
            const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
            const originalStackFile = fs.readFileSync(stackFile, "utf8");
            const preexisting = clusterNames.every((c) => existingKindClusters().includes(c));
            const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-e2e-backend-"));
            const log = (line: string) => {
                const trimmed = line.trimEnd();
                if (trimmed) t.diagnostic(trimmed);
            };
            let stack: Stack | undefined;
            try {
                runScript(t, "kind-up.sh", 30 * MINUTE);

                stack = await LocalWorkspace.createOrSelectStack(
                    { stackName: "kind", workDir: repoRoot },
                    {
                        envVars: {
                            PULUMI_BACKEND_URL: `file://${backendDir}`,
                            // Protects only the throw-away state above.
                            PULUMI_CONFIG_PASSPHRASE: "e2e-kind-throwaway",
                            PULUMI_SKIP_UPDATE_CHECK: "true",
                        },
                    },
                );

                const preview = await stack.preview({ onOutput: log, color: "never" });
                assert.ok((preview.changeSummary.create ?? 0) > 0, "the first preview plans to create resources");

                const up = await stack.up({ onOutput: log, color: "never" });
                assert.equal(up.summary.result, "succeeded");
                assertMeshVerified(up.outputs, clusterNames);

                // Everything must be stable: a second up with no code or config change changes nothing.
                const again = await stack.up({ onOutput: log, color: "never", expectNoChanges: true });
                const changed = Object.entries(again.summary.resourceChanges ?? {}).filter(
                    ([op, n]) => op !== "same" && (n ?? 0) > 0,
                );
                assert.deepEqual(changed, [], "the second up changed resources");
            } finally {
                try {
                    if (stack) {
                        await stack.destroy({ onOutput: log, color: "never" });
                        await stack.workspace.removeStack("kind");
                    }
                } finally {
                    fs.writeFileSync(stackFile, originalStackFile);
                    fs.rmSync(backendDir, { recursive: true, force: true });
                    if (!preexisting && process.env.E2E_KEEP_CLUSTERS !== "1")
                        runScript(t, "kind-down.sh", 10 * MINUTE);
                }
            }
        },
    );
});
