/**
 * `npm run bench`: how much the program costs as the mesh grows, measured under the offline mock
 * engine (no Pulumi CLI, no cluster). Not a test: it prints numbers, it does not judge them.
 *
 * Each scenario runs in a fresh child process so wall time and peak RSS belong to that scenario
 * alone. Usage: `npm run bench [-- --quick] [-- --json]`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

import {
    BareSecretsResult,
    BareSecretsScenario,
    BenchScenario,
    ScenarioResult,
    syntheticStackConfig,
} from "./scenario";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const asJson = args.includes("--json");
const root = path.join(__dirname, "..");

function runScenario(s: BenchScenario): ScenarioResult;
function runScenario(s: BareSecretsScenario): BareSecretsResult;
function runScenario(s: BenchScenario | BareSecretsScenario): ScenarioResult | BareSecretsResult {
    // Loaded as `pulumi up` loads a TypeScript program: ts-node with source maps, whose stack
    // formatting maps every frame (type checking is left out: it happens once, before any
    // resource). MESH_TEST_STACKS=1: the harness leaves stack traces as the program sets them.
    const out = execFileSync(
        process.execPath,
        ["-r", "ts-node/register", path.join(__dirname, "scenario.ts"), JSON.stringify(s)],
        {
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            // The program's own warnings (the layout advice) would bury the table; a failing
            // scenario's stderr is part of the error execFileSync throws.
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, NODE_OPTIONS: "", MESH_TEST_STACKS: "1", TS_NODE_TRANSPILE_ONLY: "1" },
        },
    );
    return JSON.parse(out.trim().split("\n").pop()!) as ScenarioResult | BareSecretsResult;
}

/** Wall time of `npm run plan -- --file <stack file>` for a synthetic mesh of `clusters` clusters. */
function timePlanCli(clusters: number): number {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-bench-"));
    try {
        const file = path.join(dir, `Pulumi.bench${clusters}.yaml`);
        const config = syntheticStackConfig({ model: "multi-primary", clusters, layout: "perSource" });
        const namespaced = Object.fromEntries(Object.entries(config).map(([k, v]) => [`istio-multicluster:${k}`, v]));
        fs.writeFileSync(file, yaml.dump({ config: namespaced }));
        const started = process.hrtime.bigint();
        execFileSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "plan.ts"), "--file", file], {
            cwd: root,
            stdio: "ignore",
        });
        return Number(process.hrtime.bigint() - started) / 1e9;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const sizes = quick ? [2, 10] : [2, 10, 50, 100];
const largest = sizes[sizes.length - 1];
const scenarios: BenchScenario[] = [];
for (const n of sizes) {
    scenarios.push({ model: "multi-primary", clusters: n, layout: "perSource" });
    scenarios.push({ model: "multi-primary", clusters: n, layout: "perHolder" });
    scenarios.push({ model: "primary-remote", clusters: n, layout: "perSource" });
}
// What the SDK's per-promise stack traces would cost if the program kept them.
for (const layout of ["perSource", "perHolder"] as const) {
    scenarios.push({ model: "multi-primary", clusters: largest, layout, stackTraces: "full" });
}

const latencySettings = [
    { label: "Helm release 200 ms, other resources 5 ms", helmRelease: 200, other: 5 },
    { label: "Helm release 5 s, other resources 100 ms (closer to real installs)", helmRelease: 5000, other: 100 },
];
const latencyRuns = latencySettings.flatMap((l) =>
    (["perSource", "perHolder"] as const).map((layout) => ({
        ...l,
        layout,
        results: [2, 20].map((n) =>
            runScenario({
                model: "multi-primary",
                clusters: n,
                layout,
                latencyMs: { helmRelease: l.helmRelease, other: l.other },
            }),
        ),
    })),
);
const results = scenarios.map((s) => runScenario(s));
// The SDK's floor for the remote secrets of the largest per-source mesh, N × (N − 1).
const bare = runScenario({ bareSecrets: largest * (largest - 1) });
const planSeconds = timePlanCli(largest);

if (asJson) {
    console.log(JSON.stringify({ machine: machine(), results, bare, latency: latencyRuns, planSeconds }, null, 2));
} else {
    console.log(`machine: ${machine()}`);
    console.log("");
    console.log(
        table(
            ["model", "N", "layout", "resources", "remote secrets", "eval s", "peak RSS MB", "critical path", "note"],
            results.map((r) => [
                r.model,
                String(r.clusters),
                r.layout,
                String(r.resources),
                String(r.remoteSecrets),
                r.evalSeconds.toFixed(2),
                String(Math.round(r.peakRssMb)),
                String(r.criticalPathDepth),
                r.stackTraces === "full" ? "SDK stack traces kept" : "",
            ]),
        ),
    );
    console.log("");
    console.log(
        `SDK floor: ${bare.bareSecrets} Secrets of the per-source shape registered by a bare loop: ` +
            `${bare.evalSeconds.toFixed(2)} s, peak RSS ${Math.round(bare.peakRssMb)} MB`,
    );
    for (const l of latencyRuns) {
        const [small, large] = l.results;
        const ratio = (pick: (r: ScenarioResult) => number) => (pick(large) / pick(small)).toFixed(2);
        console.log("");
        console.log(`simulated latency (${l.label}), ${l.layout}:`);
        console.log(
            table(
                ["N", "resources", "total s", "graph s", "critical path"],
                l.results.map((r) => [
                    String(r.clusters),
                    String(r.resources),
                    r.evalSeconds.toFixed(2),
                    (r.graphSeconds ?? 0).toFixed(2),
                    String(r.criticalPathDepth),
                ]),
            ),
        );
        console.log(
            `ratio N=${large.clusters} / N=${small.clusters}: ${ratio((r) => r.evalSeconds)} measured, ` +
                `${ratio((r) => r.graphSeconds ?? 0)} for the graph alone`,
        );
    }
    console.log("");
    console.log(`npm run plan for N=${largest}: ${planSeconds.toFixed(2)} s (whole command, including Node start-up)`);
}

function machine(): string {
    const cpus = os.cpus();
    return `${cpus.length} × ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

function table(header: string[], rows: string[][]): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
