/**
 * One benchmark scenario, run in its own process by bench/run.ts: builds a synthetic mesh of N
 * clusters, evaluates the real program under the offline mock engine and prints one JSON line.
 */
import { IstioMulticlusterMesh } from "../components/mesh";
import { validateMeshConfig } from "../components/config-validation";
import { buildMeshPlan } from "../components/mesh-plan";
import { RecordedResource, runUnderMocks } from "../test/harness";

export interface BenchScenario {
    model: "multi-primary" | "primary-remote";
    clusters: number;
    layout: "perSource" | "perHolder";
    /** Simulated provider latency per registration. */
    latencyMs?: { helmRelease: number; other: number };
    /** `false`: stack traces are not translated through source maps (as for a program compiled to JS). */
    sourceMaps?: boolean;
}

export interface ScenarioResult extends BenchScenario {
    resources: number;
    remoteSecrets: number;
    evalSeconds: number;
    peakRssMb: number;
    criticalPathDepth: number;
}

/**
 * Stack config of a synthetic mesh: every cluster on its own network, LoadBalancer gateways.
 * Keys are ECDSA: the mocks generate real keys, and 100 RSA-4096 keys would measure the mock's
 * key generation, not the program (which does the same work for either algorithm).
 */
export function syntheticStackConfig(s: BenchScenario): Record<string, unknown> {
    const names = Array.from({ length: s.clusters }, (_, i) => `cluster${String(i + 1).padStart(3, "0")}`);
    const primaries = s.model === "multi-primary" ? names : names.slice(0, 2);
    return {
        ca: { keyAlgorithm: "ECDSA" },
        remoteSecrets: { layout: s.layout },
        clusters: names.map((name, i) => ({
            name,
            network: `network${i + 1}`,
            role: primaries.includes(name) ? "primary" : "remote",
            ...(primaries.includes(name) ? {} : { controlPlane: primaries[i % primaries.length] }),
            apiServer: `https://10.${Math.floor(i / 250)}.${i % 250}.1:6443`,
        })),
    };
}

/**
 * Longest chain of registrations: a resource's depth is one more than the deepest resource it
 * depends on; a dependency on a component counts as a dependency on everything inside it.
 */
export function criticalPathDepth(resources: readonly RecordedResource[]): number {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, RecordedResource[]>();
    for (const r of resources) {
        if (!r.parent) continue;
        if (!children.has(r.parent)) children.set(r.parent, []);
        children.get(r.parent)!.push(r);
    }
    const customDescendants = (urn: string): RecordedResource[] => {
        const r = byUrn.get(urn);
        if (!r) return [];
        if (r.custom) return [r];
        return (children.get(urn) ?? []).flatMap((c) => customDescendants(c.urn));
    };
    const memo = new Map<string, number>();
    const depth = (r: RecordedResource): number => {
        const known = memo.get(r.urn);
        if (known !== undefined) return known;
        memo.set(r.urn, 1); // cycles cannot happen in a registered graph; this only guards recursion
        const deps = new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
        let max = 0;
        for (const d of deps) for (const c of customDescendants(d)) max = Math.max(max, depth(c));
        memo.set(r.urn, max + 1);
        return max + 1;
    };
    return Math.max(0, ...resources.filter((r) => r.custom).map(depth));
}

function meshArgs(s: BenchScenario) {
    const { config, problems } = validateMeshConfig(syntheticStackConfig(s));
    if (!config) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    const plan = buildMeshPlan(config);
    const access = Object.fromEntries(
        config.clusters.map((c) => [
            c.name,
            { kubeconfig: `# synthetic kubeconfig of ${c.name}`, apiServer: c.apiServer! },
        ]),
    );
    return { config, plan, access };
}

export async function runScenario(s: BenchScenario): Promise<ScenarioResult> {
    // One small run first: module loading and JIT warm-up are not the program's per-mesh cost.
    const warmUp = meshArgs({ ...s, clusters: 2, latencyMs: undefined });
    await runUnderMocks(() => new IstioMulticlusterMesh("mesh", warmUp));
    const args = meshArgs(s);
    const started = process.hrtime.bigint();
    const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", args), {
        latency: s.latencyMs
            ? (type: string) =>
                  type === "kubernetes:helm.sh/v3:Release" ? s.latencyMs!.helmRelease : s.latencyMs!.other
            : undefined,
    });
    const evalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
        ...s,
        resources: resources.filter((r) => r.custom).length,
        remoteSecrets: resources.filter(
            (r) =>
                r.type === "kubernetes:core/v1:Secret" && r.inputs?.metadata?.labels?.["istio/multiCluster"] === "true",
        ).length,
        evalSeconds,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        criticalPathDepth: criticalPathDepth(resources),
    };
}

if (require.main === module) {
    const scenario = JSON.parse(process.argv[2]) as BenchScenario;
    if (scenario.sourceMaps === false) process.setSourceMapsEnabled(false);
    runScenario(scenario).then(
        (r) => console.log(JSON.stringify(r)),
        (e) => {
            console.error(e);
            process.exit(1);
        },
    );
}
