import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runPlan } from "../../scripts/plan";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs the CLI as `npm run plan` does: node --import tsx scripts/plan.ts, in the project root. */
function spawnPlan(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "scripts/plan.ts", ...args], {
            cwd: ROOT,
            // Kubeconfig reading must never be needed: point everything at nothing.
            env: { ...process.env, HOME: "/nonexistent-home", KUBECONFIG: "/nonexistent/kubeconfig" },
            timeout: 60_000,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

const stackFiles = [
    ...fs
        .readdirSync(ROOT)
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
        .map((f) => f),
    ...fs.readdirSync(path.join(ROOT, "examples")).map((f) => path.join("examples", f)),
];

let tmp: string;
before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-test-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The spawned runs are independent; running them side by side keeps this file fast.
describe("npm run plan (spawned)", { concurrency: true }, () => {
    it("prints the seed setup's plan for --stack dev", async () => {
        const r = await spawnPlan(["--stack", "dev"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Model: +multi-primary, multi-network \(2 clusters, 2 networks\)/);
        assert.match(r.stdout, /cluster1 +primary +network1 +own istiod +NodePort 10\.20\.144\.83:31674/);
        assert.match(r.stdout, /cluster2 +primary +network2 +own istiod +NodePort 10\.20\.144\.165:32361/);
        assert.match(r.stdout, /~\/\.kube\/multiconf +kubernetes-admin82@kubernetes +https:\/\/10\.20\.144\.82:6443/);
        assert.match(r.stdout, /network1: endpoints from cluster1; gateways 10\.20\.144\.83:31674/);
        assert.match(r.stdout, /Total: \d+/);
    });

    it("prints machine-readable JSON with --json", async () => {
        const r = await spawnPlan(["--stack", "dev", "--json"]);
        assert.equal(r.code, 0, r.stderr);
        const plan = JSON.parse(r.stdout);
        assert.deepEqual(plan.model, { controlPlane: "multi-primary", network: "multi-network" });
        assert.deepEqual(
            plan.clusters.map((c: { name: string; remoteSecretSources: string[] }) => [c.name, c.remoteSecretSources]),
            [
                ["cluster1", ["cluster2"]],
                ["cluster2", ["cluster1"]],
            ],
        );
        assert.equal(plan.clusters[0].access.kubeconfig, "~/.kube/multiconf");
        assert.deepEqual(plan.meshNetworks.network2.gateways, [{ address: "10.20.144.165", port: 32361 }]);
        assert.ok(plan.resourceCounts.total > 0);
        assert.ok(Array.isArray(plan.waves) && plan.waves.length >= 3);
    });

    it("exits 1 and lists every problem of a bad stack file", async () => {
        const file = path.join(tmp, "Pulumi.bad.yaml");
        fs.writeFileSync(
            file,
            [
                "config:",
                "  istio-multicluster:istioVersion: 1.22.1",
                "  istio-multicluster:clusters:",
                "    - name: cluster1",
                "      netwrok: network1",
                "    - name: cluster2",
                "      role: remote",
                "      controlPlane: cluster3",
                "      apiServer: https://127.0.0.1:6443",
                "",
            ].join("\n"),
        );
        const r = await spawnPlan(["--file", file]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /has 4 problems/);
        assert.match(r.stderr, /istio-multicluster:istioVersion: 1\.22\.1 is older than 1\.24\.0/);
        assert.match(r.stderr, /istio-multicluster:clusters\[0\]\.netwrok: Unknown key.*Did you mean 'network'/);
        assert.match(r.stderr, /istio-multicluster:clusters\[1\]\.apiServer: .*loopback/);
        assert.match(r.stderr, /istio-multicluster:clusters\[1\]\.controlPlane: 'cluster3' is not the name/);

        const json = runPlan(["--file", file, "--json"], ROOT);
        assert.equal(json.exitCode, 1);
        assert.equal(JSON.parse(json.stdout).problems.length, 4);
    });
});

describe("runPlan", () => {
    for (const file of stackFiles) {
        it(`plans ${file}`, () => {
            const r = runPlan(["--file", file], ROOT);
            assert.equal(r.exitCode, 0, r.stderr);
            assert.match(r.stdout, /^Plan for /);
            const json = JSON.parse(runPlan(["--file", file, "--json"], ROOT).stdout);
            assert.ok(json.clusters.length >= 1);
        });
    }

    it("has an example for every model and a mixed mesh", () => {
        const models = stackFiles.map((f) => {
            const json = JSON.parse(runPlan(["--file", f, "--json"], ROOT).stdout);
            return `${json.model.controlPlane}/${json.model.network}`;
        });
        for (const m of [
            "multi-primary/single-network",
            "multi-primary/multi-network",
            "primary-remote/single-network",
            "primary-remote/multi-network",
        ]) {
            assert.ok(models.includes(m), `${m} in ${models.join(", ")}`);
        }
        assert.ok(models.some((m) => m.startsWith("mixed/")));
    });

    it("keeps secure values opaque and shows secret kubeconfigs as such", () => {
        const file = path.join(tmp, "Pulumi.ci.yaml");
        fs.writeFileSync(
            file,
            [
                "config:",
                "  istio-multicluster:clusters:",
                "    - name: a",
                "  istio-multicluster:kubeconfigs:",
                "    a:",
                "      secure: v1:ZmFrZWNpcGhlcnRleHQ=",
                "",
            ].join("\n"),
        );
        const r = runPlan(["--stack", "ci"], tmp);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stdout, /\(secret kubeconfigs\.a\)/);
        assert.doesNotMatch(r.stdout, /ZmFrZWNpcGhlcnRleHQ/);
    });

    it("rejects kubeconfig content in plain text", () => {
        const file = path.join(tmp, "Pulumi.plain.yaml");
        fs.writeFileSync(
            file,
            "config:\n  istio-multicluster:clusters:\n    - name: a\n  istio-multicluster:kubeconfigs:\n    a: 'apiVersion: v1'\n",
        );
        const r = runPlan(["--file", file], ROOT);
        assert.equal(r.exitCode, 1);
        assert.match(r.stderr, /kubeconfigs\.a: Kubeconfig content .* plain text/);
    });

    it("explains usage errors and missing stacks", () => {
        assert.equal(runPlan([], ROOT).exitCode, 2);
        assert.match(runPlan(["--bogus"], ROOT).stderr, /Unknown argument '--bogus'/);
        const missing = runPlan(["--stack", "nope"], ROOT);
        assert.equal(missing.exitCode, 2);
        assert.match(missing.stderr, /No stack file Pulumi\.nope\.yaml\. Stacks here: .*dev/);
        assert.equal(runPlan(["--help"], ROOT).exitCode, 0);
    });
});
