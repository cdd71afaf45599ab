/**
 * Day-2 edits touch only what they must: every resource name derives from cluster names, so
 * reordering, adding, removing or re-addressing a cluster changes exactly the expected resources.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { validateMeshConfig } from "../../components/mesh/validate-config";
import { ClusterEntry, meshOf, planDiff } from "../plan-diff";

type Cluster = ClusterEntry;

const mesh = meshOf;

const c1: Cluster = { name: "cluster1", network: "network1" };
const c2: Cluster = { name: "cluster2", network: "network2" };
const c3: Cluster = { name: "cluster3", network: "network3" };
const nodePort = (c: Cluster, address: string, port: number): Cluster => ({
    ...c,
    eastWestGateway: { serviceType: "NodePort", address, nodePort: port },
});

/** Every name belongs to `cluster` (its own resources) or is a remote secret about it. */
function onlyAbout(names: string[], cluster: string): string[] {
    return names.filter((n) => !n.startsWith(`${cluster}-`) && !n.endsWith(`-remote-secret-${cluster}`));
}

describe("stable names", () => {
    test("reordering clusters changes nothing", async () => {
        const diff = await planDiff(mesh([c1, c2, c3]), mesh([c3, c1, c2]));
        assert.deepEqual(diff, { created: [], deleted: [], changed: {} });
    });

    test("adding cluster3 creates only its resources and one remote secret about it per primary", async () => {
        const diff = await planDiff(mesh([c1, c2]), mesh([c1, c2, c3]));
        assert.deepEqual(onlyAbout(diff.created, "cluster3"), []);
        assert.ok(diff.created.includes("cluster1-remote-secret-cluster3"));
        assert.ok(diff.created.includes("cluster2-remote-secret-cluster3"));
        assert.ok(diff.created.includes("cluster3-istiod"));
        assert.ok(diff.created.includes("cluster3-remote-secret-cluster1"), "cluster3 watches the others");
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(diff.changed, {});
    });

    test("adding a cluster with NodePort gateways also updates meshNetworks in every existing primary", async () => {
        const before = [nodePort(c1, "10.0.0.1", 31001), nodePort(c2, "10.0.0.2", 31002)];
        const diff = await planDiff(mesh(before), mesh([...before, nodePort(c3, "10.0.0.3", 31003)]));
        assert.deepEqual(onlyAbout(diff.created, "cluster3"), []);
        assert.deepEqual(diff.changed, { "cluster1-istiod": ["values"], "cluster2-istiod": ["values"] });
    });

    test("removing cluster2 deletes only its resources and the secrets about it", async () => {
        const diff = await planDiff(mesh([c1, c2, c3]), mesh([c1, c3]));
        assert.deepEqual(onlyAbout(diff.deleted, "cluster2"), []);
        assert.ok(diff.deleted.includes("cluster1-remote-secret-cluster2"));
        assert.ok(diff.deleted.includes("cluster3-remote-secret-cluster2"));
        assert.ok(diff.deleted.includes("cluster2-reader-token"));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.changed, {});
    });

    test("the per-holder layout updates each holder's one Secret instead", async () => {
        const layout = { remoteSecrets: { layout: "perHolder" } };
        const diff = await planDiff(mesh([c1, c2, c3], layout), mesh([c1, c3], layout));
        assert.deepEqual(onlyAbout(diff.deleted, "cluster2"), []);
        assert.deepEqual(diff.changed, { "cluster1-remote-secrets": ["data"], "cluster3-remote-secrets": ["data"] });
    });

    test("changing one gateway address changes only what advertises it", async () => {
        const a = mesh([
            nodePort(c1, "10.0.0.1", 31001),
            nodePort(c2, "10.0.0.2", 31002),
            nodePort(c3, "10.0.0.3", 31003),
        ]);
        const b = mesh([
            nodePort(c1, "10.0.0.1", 31001),
            nodePort(c2, "10.9.9.9", 31002),
            nodePort(c3, "10.0.0.3", 31003),
        ]);
        const diff = await planDiff(a, b);
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(diff.changed, {
            "cluster1-istiod": ["values"],
            "cluster2-istiod": ["values"],
            "cluster3-istiod": ["values"],
        });
    });

    test("a primary's new gateway address re-points only its remote", async () => {
        const remote: Cluster = { name: "cluster2", network: "network1", role: "remote", controlPlane: "cluster1" };
        const primary = (address: string): Cluster => ({ ...c1, eastWestGateway: { address } });
        const diff = await planDiff(mesh([primary("203.0.113.1"), remote]), mesh([primary("203.0.113.2"), remote]));
        assert.deepEqual(diff.changed, { "cluster2-istiod": ["values"] });
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
    });

    test("a new image tag changes only the Helm releases' values", async () => {
        const diff = await planDiff(mesh([c1, c2]), mesh([c1, c2], { images: { tag: "1.30.3-distroless" } }));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
        for (const [name, keys] of Object.entries(diff.changed)) {
            assert.match(name, /-(istio-base|istiod|istio-eastwestgateway)$/, name);
            assert.deepEqual(keys, ["values"]);
        }
        assert.ok(diff.changed["cluster1-istiod"]);
    });

    test("upgrading Istio changes only the releases' chart version", async () => {
        const diff = await planDiff(mesh([c1, c2]), mesh([c1, c2], { istioVersion: "1.31.0" }));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
        for (const [name, keys] of Object.entries(diff.changed)) {
            assert.match(name, /-(istio-base|istiod|istio-eastwestgateway)$/, name);
            assert.deepEqual(keys, ["version"]);
        }
        assert.equal(Object.keys(diff.changed).length, 6);
    });
});

describe("refusals", () => {
    test("removing a primary while remotes still point at it is refused with the fix", () => {
        const { problems } = validateMeshConfig({
            clusters: [
                { name: "cluster2", role: "remote", controlPlane: "cluster1", apiServer: "https://10.0.0.2:6443" },
                { name: "cluster3", apiServer: "https://10.0.0.3:6443" },
            ],
        });
        const problem = problems.find((p) => p.path === "clusters[0].controlPlane");
        assert.ok(problem, JSON.stringify(problems));
        assert.match(problem.message, /cluster1/);
        assert.ok(problem.fix, "the problem says how to fix it");
    });
});
