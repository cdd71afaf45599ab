/**
 * Plan diffs under the offline mock engine: run the program for config A and config B and report,
 * per URN, what `pulumi preview` would show when going from A to B: created, deleted, or inputs
 * changed. tls answers are kept stable across the two runs, as the engine keeps unchanged
 * resources, so a difference in inputs is a real difference.
 */
import assert from "node:assert/strict";

import { MeshConfig } from "../components/config/config";
import { validateMeshConfig } from "../components/mesh/validate-config";
import { IstioMulticlusterMesh, IstioMulticlusterMeshArgs } from "../components/mesh/mesh";
import { buildMeshPlan } from "../components/plan/mesh-plan";
import { MockOptions, RecordedResource, runUnderMocks } from "./harness";

/** A cluster entry of the stack config, as a test writes it. */
export type ClusterEntry = Record<string, unknown> & { name: string };

/**
 * A validated mesh config for plan-diff tests: each cluster gets an API server named after it,
 * and keys are ECDSA (fast real-crypto mocks; the graph is the same for RSA).
 */
export function meshOf(clusters: ClusterEntry[], overrides: Record<string, unknown> = {}): MeshConfig {
    const { config, problems } = validateMeshConfig({
        ca: { keyAlgorithm: "ECDSA" },
        clusters: clusters.map((c) => ({ apiServer: `https://api.${c.name}.example:6443`, ...c })),
        ...overrides,
    });
    assert.ok(config, JSON.stringify(problems, null, 2));
    return config;
}

export interface PlanDiff {
    /** Resource names (not URNs, for readable assertions) present only in B. */
    created: string[];
    /** Present only in A. */
    deleted: string[];
    /** Present in both with different inputs: name → top-level input keys that differ. */
    changed: Record<string, string[]>;
}

/**
 * Runs of earlier diffs in this process, by config and options: with stable tls answers a run is
 * a function of its inputs, and tests compare the same base config with many edits.
 */
const earlierRuns = new Map<string, Map<string, RecordedResource>>();

/** Registers the mesh for one config and returns its resources by URN. */
export async function meshResources(
    config: MeshConfig,
    options: MockOptions = {},
): Promise<Map<string, RecordedResource>> {
    const memoizable = Object.values(options).every((v) => typeof v !== "function");
    const key = memoizable ? canonical([config, options]) : undefined;
    const earlier = key !== undefined ? earlierRuns.get(key) : undefined;
    if (earlier) return earlier;
    const byUrn = await registerMesh(config, options);
    if (key !== undefined) earlierRuns.set(key, byUrn);
    return byUrn;
}

/**
 * What {@link IstioMulticlusterMesh} takes for a validated config: its plan, and per cluster a
 * placeholder kubeconfig and the configured API server (tests and plan diffs read no real files).
 */
export function meshArgsOf(config: MeshConfig): IstioMulticlusterMeshArgs {
    const access = Object.fromEntries(
        config.clusters.map((c) => [c.name, { kubeconfig: `kubeconfig of ${c.name}`, apiServer: c.apiServer! }]),
    );
    return { config, plan: buildMeshPlan(config), access };
}

async function registerMesh(config: MeshConfig, options: MockOptions): Promise<Map<string, RecordedResource>> {
    const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", meshArgsOf(config)), {
        ...options,
        stableTls: true,
    });
    return resourcesByUrn(resources);
}

/** Resources by URN (reads of existing objects apart from registrations), as {@link diffResources} takes them. */
export function resourcesByUrn(resources: RecordedResource[]): Map<string, RecordedResource> {
    return new Map(resources.map((r) => [`${r.urn}${r.readId !== undefined ? "#read" : ""}`, r]));
}

/** JSON with sorted keys, so key order never counts as a change. */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
            : v,
    );
}

/** What changes when the program's config goes from `a` to `b`. */
export async function planDiff(a: MeshConfig, b: MeshConfig, options: MockOptions = {}): Promise<PlanDiff> {
    return diffResources(await meshResources(a, options), await meshResources(b, options));
}

/** The diff between two runs' resources (from {@link meshResources}), for tests that reuse runs. */
export function diffResources(before: Map<string, RecordedResource>, after: Map<string, RecordedResource>): PlanDiff {
    const name = (r: RecordedResource) => r.name;
    const created = [...after.entries()].filter(([urn]) => !before.has(urn)).map(([, r]) => name(r));
    const deleted = [...before.entries()].filter(([urn]) => !after.has(urn)).map(([, r]) => name(r));
    const changed: Record<string, string[]> = {};
    for (const [urn, r] of after) {
        const old = before.get(urn);
        if (!old) continue;
        const keys = new Set([...Object.keys(old.inputs), ...Object.keys(r.inputs)]);
        const differing = [...keys].filter((k) => canonical(old.inputs[k]) !== canonical(r.inputs[k])).sort();
        const optionsDiffer = old.protect !== r.protect || old.provider !== r.provider;
        if (differing.length > 0 || optionsDiffer)
            changed[name(r)] = optionsDiffer ? [...differing, "(options)"] : differing;
    }
    return { created: created.sort(), deleted: deleted.sort(), changed };
}
