/**
 * Canary upgrades with revisions, as docs/operations.md documents them: each step's plan diff is
 * exactly what the documentation says it is (add the canary; move the default and tags; remove the
 * old revision), its rollback too, and the same steps staged cluster by cluster. Without
 * `revisions` nothing of this exists.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { readStackConfigFile } from "../../components/config/stack-config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { RecordedResource } from "../harness";
import { ClusterEntry, meshOf, meshResources, planDiff } from "../plan-diff";

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** A primary serving a remote on a second network, and a second primary (a mixed mesh in small). */
const c1: ClusterEntry = { name: "cluster1", network: "network1", eastWestGateway: { address: "10.0.0.1" } };
const c2: ClusterEntry = { name: "cluster2", network: "network2", role: "remote", controlPlane: "cluster1" };
const c3: ClusterEntry = { name: "cluster3", network: "network3", eastWestGateway: { address: "10.0.0.3" } };
const OLD = { name: "1-29-2", version: "1.29.2" };
const NEW = { name: "1-30-3", version: "1.30.3" };
const tags = (stable: string) => ({ revisionTags: { "prod-stable": stable, "prod-canary": NEW.name } });

const before = (clusters = [c1, c2, c3]) =>
    meshOf(clusters, { revisions: [OLD], revisionTags: { "prod-stable": OLD.name }, defaultRevision: OLD.name });
const withCanary = (clusters = [c1, c2, c3]) =>
    meshOf(clusters, { revisions: [OLD, NEW], ...tags(OLD.name), defaultRevision: OLD.name });
const moved = (clusters = [c1, c2, c3]) =>
    meshOf(clusters, { revisions: [OLD, NEW], ...tags(NEW.name), defaultRevision: NEW.name });
const after = (clusters = [c1, c2, c3]) =>
    meshOf(clusters, { revisions: [NEW], ...tags(NEW.name), defaultRevision: NEW.name });

async function release(config: ReturnType<typeof meshOf>, name: string): Promise<RecordedResource> {
    const r = [...(await meshResources(config)).values()].find((x) => x.type === RELEASE && x.name === name);
    assert.ok(r, `no release ${name}`);
    return r;
}

describe("the three upgrade steps (docs/operations.md)", () => {
    test("step 1, add the canary: only its releases and istiod-vs are created; base moves to 1.30.3", async () => {
        const diff = await planDiff(before(), withCanary());
        assert.deepEqual(diff, {
            created: [
                "cluster1-istiod-1-30-3",
                "cluster1-istiod-vs-1-30-3",
                "cluster2-istiod-1-30-3",
                "cluster3-istiod-1-30-3",
            ],
            deleted: [],
            changed: {
                "cluster1-istio-base": ["version"],
                "cluster2-istio-base": ["version"],
                "cluster3-istio-base": ["version"],
            },
        });
        const canary = await release(withCanary(), "cluster1-istiod-1-30-3");
        assert.equal(canary.inputs.version, "1.30.3");
        assert.equal(canary.inputs.name, "istiod-1-30-3");
        assert.equal(canary.inputs.values.revision, "1-30-3");
        assert.deepEqual(canary.inputs.values.revisionTags, ["prod-canary"]);
        assert.equal((await release(withCanary(), "cluster1-istio-base")).inputs.version, "1.30.3");
    });

    test("step 2, move default and prod-stable: tags, the validator and the gateways change, nothing else", async () => {
        const diff = await planDiff(withCanary(), moved());
        assert.deepEqual(diff, {
            created: [],
            deleted: [],
            changed: {
                "cluster1-istio-base": ["values"],
                "cluster1-istio-eastwestgateway": ["values", "version"],
                "cluster1-istiod-1-29-2": ["values"],
                "cluster1-istiod-1-30-3": ["values"],
                "cluster2-istio-base": ["values"],
                "cluster2-istio-eastwestgateway": ["values", "version"],
                "cluster2-istiod-1-29-2": ["values"],
                "cluster2-istiod-1-30-3": ["values"],
                "cluster3-istio-base": ["values"],
                "cluster3-istio-eastwestgateway": ["values", "version"],
                "cluster3-istiod-1-29-2": ["values"],
                "cluster3-istiod-1-30-3": ["values"],
            },
        });
        for (const cluster of ["cluster1", "cluster2"]) {
            const oldR = await release(moved(), `${cluster}-istiod-1-29-2`);
            const newR = await release(moved(), `${cluster}-istiod-1-30-3`);
            assert.equal(oldR.inputs.values.revisionTags, undefined, `${cluster}: the old revision owns no tag`);
            assert.deepEqual(newR.inputs.values.revisionTags, ["default", "prod-canary", "prod-stable"]);
            assert.equal((await release(moved(), `${cluster}-istio-base`)).inputs.values.defaultRevision, "1-30-3");
        }
        const gw = await release(moved(), "cluster1-istio-eastwestgateway");
        assert.equal(gw.inputs.values.revision, "1-30-3");
        assert.equal(gw.inputs.version, "1.30.3");
    });

    test("the release taking the default tag waits for the one giving it up, in the move and its rollback", async () => {
        const needs = async (config: ReturnType<typeof meshOf>, a: string, b: string) => {
            const res = [...(await meshResources(config)).values()];
            const ra = res.find((r) => r.name === a)!;
            const rb = res.find((r) => r.name === b)!;
            return ra.dependencies.includes(rb.urn);
        };
        assert.ok(await needs(moved(), "cluster1-istiod-1-30-3", "cluster1-istiod-1-29-2"));
        assert.ok(!(await needs(moved(), "cluster1-istiod-1-29-2", "cluster1-istiod-1-30-3")));
        assert.ok(await needs(withCanary(), "cluster1-istiod-1-29-2", "cluster1-istiod-1-30-3"));
    });

    test("step 3, remove the old revision: deletes only its releases and istiod-vs", async () => {
        const diff = await planDiff(moved(), after());
        assert.deepEqual(diff, {
            created: [],
            deleted: [
                "cluster1-istiod-1-29-2",
                "cluster1-istiod-vs-1-29-2",
                "cluster2-istiod-1-29-2",
                "cluster3-istiod-1-29-2",
            ],
            changed: {},
        });
    });

    test("rollback of each step is the reverse diff", async () => {
        const back1 = await planDiff(withCanary(), before());
        assert.deepEqual(back1.created, []);
        assert.deepEqual(back1.deleted, [
            "cluster1-istiod-1-30-3",
            "cluster1-istiod-vs-1-30-3",
            "cluster2-istiod-1-30-3",
            "cluster3-istiod-1-30-3",
        ]);
        // istio-base follows the newest listed revision, so removing the canary takes its version back too.
        assert.deepEqual(Object.keys(back1.changed).sort(), [
            "cluster1-istio-base",
            "cluster2-istio-base",
            "cluster3-istio-base",
        ]);
        // With baseVersion pinned at the canary's version first, the rollback deletes only the canary.
        const pinned = (config: ReturnType<typeof meshOf>) => ({ ...config, baseVersion: NEW.version });
        assert.deepEqual(await planDiff(withCanary(), pinned(withCanary())), { created: [], deleted: [], changed: {} });
        const back1Pinned = await planDiff(pinned(withCanary()), pinned(before()));
        assert.deepEqual(back1Pinned, { created: [], deleted: back1.deleted, changed: {} });
        const back2 = await planDiff(moved(), withCanary());
        assert.deepEqual(
            Object.keys(back2.changed).sort(),
            Object.keys((await planDiff(withCanary(), moved())).changed).sort(),
        );
        assert.deepEqual([back2.created, back2.deleted], [[], []]);
    });
});

describe("staged cluster by cluster", () => {
    // cluster3 runs the canary first; cluster1 (and its remote cluster2) stay on the old revision.
    const only = (c: ClusterEntry, revisions: string[], extra: Record<string, unknown> = {}) => ({
        ...c,
        revisions,
        ...extra,
    });
    const stable = { revisionTags: { "prod-stable": OLD.name } };
    const stage1 = () =>
        meshOf([only(c1, [OLD.name]), only(c2, [OLD.name]), { ...c3, revisionTags: { "prod-canary": NEW.name } }], {
            revisions: [OLD, NEW],
            ...stable,
            defaultRevision: OLD.name,
        });
    const stage2 = () =>
        meshOf(
            [
                only(c1, [OLD.name]),
                only(c2, [OLD.name]),
                {
                    ...c3,
                    defaultRevision: NEW.name,
                    revisionTags: { "prod-canary": NEW.name, "prod-stable": NEW.name },
                },
            ],
            { revisions: [OLD, NEW], ...stable, defaultRevision: OLD.name },
        );

    test("adding the canary in cluster3 only touches cluster3", async () => {
        const diff = await planDiff(before(), stage1());
        assert.deepEqual(diff.created, ["cluster3-istiod-1-30-3"]);
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(Object.keys(diff.changed), ["cluster3-istio-base"]);
        assert.equal((await release(stage1(), "cluster1-istio-base")).inputs.version, "1.29.2");
    });

    test("moving the default in cluster3 only touches cluster3", async () => {
        const diff = await planDiff(stage1(), stage2());
        assert.deepEqual([diff.created, diff.deleted], [[], []]);
        assert.deepEqual(Object.keys(diff.changed).sort(), [
            "cluster3-istio-base",
            "cluster3-istio-eastwestgateway",
            "cluster3-istiod-1-29-2",
            "cluster3-istiod-1-30-3",
        ]);
    });

    test("a remote follows its primary: the canary in cluster1 reaches cluster2 only when cluster2 lists it", async () => {
        const primaryOnly = meshOf([c1, only(c2, [OLD.name]), c3], {
            revisions: [OLD, NEW],
            ...stable,
            defaultRevision: OLD.name,
        });
        const both = meshOf([c1, c2, c3], { revisions: [OLD, NEW], ...stable, defaultRevision: OLD.name });
        const diff = await planDiff(primaryOnly, both);
        assert.deepEqual(diff, {
            created: ["cluster2-istiod-1-30-3"],
            deleted: [],
            changed: { "cluster2-istio-base": ["version"] },
        });
    });
});

describe("without revisions nothing changes", () => {
    const stacks = [
        "Pulumi.dev.yaml",
        "examples/Pulumi.multi-primary.yaml",
        "examples/Pulumi.primary-remote.yaml",
        "examples/Pulumi.primary-remote-multi-network.yaml",
        "examples/Pulumi.mixed.yaml",
    ];
    for (const file of stacks) {
        test(`${file}: one istiod per cluster at istioVersion, no revision values, no revision in the plan`, async () => {
            const { raw } = readStackConfigFile(file);
            const { config, problems } = validateMeshConfig({ ...raw, ca: { keyAlgorithm: "ECDSA" } });
            assert.ok(config, JSON.stringify(problems));
            assert.ok(buildMeshPlan(config).clusters.every((c) => !("revisions" in c)));
            const releases = [...(await meshResources(config)).values()].filter((r) => r.type === RELEASE);
            assert.ok(releases.every((r) => r.inputs.version === config.istioVersion));
            assert.ok(releases.every((r) => !/^istiod-/.test(r.inputs.name as string)));
            for (const r of releases) {
                for (const k of ["revision", "revisionTags", "defaultRevision"]) {
                    assert.equal(r.inputs.values?.[k], undefined, `${r.name}: ${k}`);
                }
            }
        });
    }
});
