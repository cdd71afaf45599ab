/**
 * The program's stack configuration under the real Pulumi engine: the config a user sets with
 * `pulumi config set` (namespaced keys, `--path` objects, `--secret` values) reaches the program
 * the way the CLI hands it over, and bad input stops the run with one error listing every problem
 * before any resource is registered. The program is the real `index.ts`, run inline (the
 * automation API serves the language runtime; `pulumi-language-nodejs` cannot be built here).
 * No Kubernetes provider is needed: every config here is refused before the first resource.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";

import { Stack } from "@pulumi/pulumi/automation";

import { engineStack, engineUnavailable } from "./engine";

const DRIVER = path.join(__dirname, "engine-program.ts");
const KUBECONFIG = [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{name: c1, cluster: {server: 'https://192.0.2.10:6443'}}]",
    "users: [{name: admin, user: {token: not-a-real-token}}]",
    "contexts: [{name: c1, context: {cluster: c1, user: admin}}]",
    "current-context: c1",
].join("\n");

/** What a preview of the real program reported, in a process of its own. */
function previewFailure(workDir: string): string {
    const run = spawnSync(process.execPath, ["--import", "tsx", DRIVER, workDir, "preview"], {
        encoding: "utf8",
        timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const outcome = JSON.parse(run.stdout.trim().split("\n").pop()!) as { ok: boolean; error?: string };
    assert.equal(outcome.ok, false, "the preview succeeded");
    return outcome.error!;
}

describe("the stack config under the real Pulumi engine", { skip: engineUnavailable() }, () => {
    let stack: Stack;
    let workDir: string;

    before(async () => {
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-config-"));
        // Config is set here; the runs happen in engine-program.ts, on the same project and state.
        stack = await engineStack({ workDir, projectName: "istio-multicluster", program: async () => ({}) });
    });
    after(() => fs.rmSync(workDir, { recursive: true, force: true }));

    it("bad input: one error listing every problem with its config path and fix, and nothing registered", async () => {
        await stack.setAllConfig({
            "istio-multicluster:meshId": { value: "Mesh 1" },
            "istio-multicluster:clusters": {
                value: JSON.stringify([
                    { name: "c1", apiServer: "https://192.0.2.10:6443" },
                    { name: "c1", apiServer: "https://192.0.2.11:6443", network: "network2" },
                ]),
            },
            // Credentials in plain text: the program refuses them.
            "istio-multicluster:kubeconfigs": { value: JSON.stringify({ c1: KUBECONFIG }) },
        });
        const error = previewFailure(workDir);
        assert.match(error, /The stack configuration has \d+ problems:/);
        assert.match(error, /istio-multicluster:meshId: 'Mesh 1' is not a DNS-1123 label.* Fix: /);
        assert.match(error, /istio-multicluster:clusters\[1\]\.name: .*c1.* Fix: /);
        assert.match(
            error,
            /istio-multicluster:kubeconfigs\.c1: Kubeconfig content \(cluster credentials\) is stored in plain text/,
        );
        assert.doesNotMatch(error, /not-a-real-token/, "the credentials are not echoed");
        assert.doesNotMatch(error, /Unhandled exception|\n\s+at /, "a config error, not a crash with a stack");
        // The engine's plan holds the stack alone: not one provider or resource of the mesh.
        assert.match(error, /\+ 1 to create/);
        assert.doesNotMatch(error, /pulumi:providers:|kubernetes:|tls:|command:/);
        const state = (await stack.exportStack()).deployment as { resources?: unknown[] };
        assert.equal(state.resources?.length ?? 0, 0, "nothing in the state");
    });

    it("the same kubeconfig set with --secret --path reaches the program as a secret", async () => {
        await stack.removeConfig("istio-multicluster:kubeconfigs");
        await stack.setConfig("istio-multicluster:kubeconfigs.c1", { value: KUBECONFIG, secret: true }, true);
        const error = previewFailure(workDir);
        assert.doesNotMatch(error, /kubeconfigs\.c1/);
        assert.match(error, /istio-multicluster:meshId/, "the other problems stay");
    });
});
