/**
 * One benchmark scenario, run in its own process by bench/run.ts: builds a synthetic mesh of N
 * clusters, evaluates the real program under the offline mock engine and prints one JSON line.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { IstioMulticlusterMesh } from "../components/mesh/mesh";
import { validateMeshConfig } from "../components/mesh/validate-config";
import { FULL_STACK_TRACES_ENV, limitSdkStackTraces } from "../components/mesh/sdk-stack-traces";
import { RecordedResource, runUnderMocks } from "../test/harness";
import { meshArgsOf } from "../test/plan-diff";

export interface BenchScenario {
    model: "multi-primary" | "primary-remote";
    clusters: number;
    layout: "perSource" | "perHolder";
    /** Simulated provider latency per registration. */
    latencyMs?: { helmRelease: number; other: number };
    /**
     * `"full"`: run as with `ISTIO_MULTICLUSTER_STACK_TRACES=1`, keeping the SDK's per-promise stack
     * traces (what the program costs without its own {@link limitSdkStackTraces}).
     */
    stackTraces?: "full";
}

export interface ScenarioResult extends BenchScenario {
    resources: number;
    remoteSecrets: number;
    evalSeconds: number;
    peakRssMb: number;
    criticalPathDepth: number;
    /**
     * With `latencyMs`: the deployment time the recorded graph allows when the engine runs every
     * ready resource at once and the program costs nothing (heaviest path of simulated latencies).
     */
    graphSeconds?: number;
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
 * Heaviest chain of registrations, each weighing `weight(resource)`: a resource finishes its own
 * weight after the heaviest resource it depends on; a dependency on a component counts as a
 * dependency on everything inside it (as the engine treats it).
 */
export function heaviestPath(resources: readonly RecordedResource[], weight: (r: RecordedResource) => number): number {
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
    const finish = (r: RecordedResource): number => {
        const known = memo.get(r.urn);
        if (known !== undefined) return known;
        memo.set(r.urn, weight(r)); // cycles cannot happen in a registered graph; this only guards recursion
        const deps = new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
        let start = 0;
        for (const d of deps) for (const c of customDescendants(d)) start = Math.max(start, finish(c));
        memo.set(r.urn, start + weight(r));
        return start + weight(r);
    };
    return Math.max(0, ...resources.filter((r) => r.custom).map(finish));
}

/** Longest chain of registrations (every resource weighs 1). */
export function criticalPathDepth(resources: readonly RecordedResource[]): number {
    return heaviestPath(resources, () => 1);
}

function meshArgs(s: BenchScenario) {
    const { config, problems } = validateMeshConfig(syntheticStackConfig(s));
    if (!config) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    return meshArgsOf(config);
}

export async function runScenario(s: BenchScenario): Promise<ScenarioResult> {
    // One small run first: module loading and JIT warm-up are not the program's per-mesh cost.
    const warmUp = meshArgs({ ...s, clusters: 2, latencyMs: undefined });
    await runUnderMocks(() => new IstioMulticlusterMesh("mesh", warmUp));
    const args = meshArgs(s);
    const started = process.hrtime.bigint();
    const latency = s.latencyMs
        ? (type: string) => (type === "kubernetes:helm.sh/v3:Release" ? s.latencyMs!.helmRelease : s.latencyMs!.other)
        : undefined;
    const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", args), { latency });
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
        ...(latency ? { graphSeconds: heaviestPath(resources, (r) => latency(r.type)) / 1000 } : {}),
    };
}

/** The SDK's own floor: `bareSecrets` Secrets registered by a loop, with none of the program's logic. */
export interface BareSecretsScenario {
    bareSecrets: number;
}

export interface BareSecretsResult extends BareSecretsScenario {
    evalSeconds: number;
    peakRssMb: number;
}

/**
 * Registers `count` Secrets shaped like the program's per-source remote secrets (label,
 * annotation, one base64 kubeconfig key computed from a secret Output, one dependency) straight
 * from a loop: what the Pulumi SDK and the mock engine alone cost for that many resources.
 */
export async function runBareSecrets(s: BareSecretsScenario): Promise<BareSecretsResult> {
    const program = (count: number) => () => {
        const provider = new k8s.Provider("bare-k8s", { kubeconfig: pulumi.secret("# synthetic kubeconfig") });
        const token = new k8s.core.v1.Secret("bare-token", { metadata: { name: "token" } }, { provider });
        const kubeconfig = pulumi.secret(token.metadata.apply(() => "# kubeconfig\n".repeat(250)));
        for (let i = 0; i < count; i++) {
            const source = `cluster${i}`;
            new k8s.core.v1.Secret(
                `bare-remote-secret-${source}`,
                {
                    metadata: {
                        name: `istio-remote-secret-${source}`,
                        namespace: "istio-system",
                        labels: { "istio/multiCluster": "true" },
                        annotations: { "networking.istio.io/cluster": source },
                    },
                    type: "Opaque",
                    data: kubeconfig.apply((k) => ({ [source]: Buffer.from(k).toString("base64") })),
                },
                { provider, dependsOn: [token], additionalSecretOutputs: ["data", "stringData"] },
            );
        }
    };
    await runUnderMocks(program(100));
    const started = process.hrtime.bigint();
    await runUnderMocks(program(s.bareSecrets));
    return {
        ...s,
        evalSeconds: Number(process.hrtime.bigint() - started) / 1e9,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
}

if (require.main === module) {
    const scenario = JSON.parse(process.argv[2]) as BenchScenario | BareSecretsScenario;
    // As index.ts does before it builds the mesh.
    const full = "stackTraces" in scenario && scenario.stackTraces === "full";
    limitSdkStackTraces(full ? { [FULL_STACK_TRACES_ENV]: "1" } : process.env);
    ("bareSecrets" in scenario ? runBareSecrets(scenario) : runScenario(scenario)).then(
        (r) => console.log(JSON.stringify(r)),
        (e) => {
            console.error(e);
            process.exit(1);
        },
    );
}
