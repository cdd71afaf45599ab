import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import { validateMeshConfig } from "../../components/mesh/validate-config";
import { MAX_DRAWN_WATCH_EDGES, MAX_LABELLED_EDGES, meshDiagram, mermaidId } from "../../components/mesh/mesh-diagram";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { readStackConfigFile } from "../../components/config/stack-config";
import { syntheticStackConfig } from "../../bench/scenario";
import { diagramChangeComment } from "../../scripts/diagram-diff";
import { exampleStackFiles, withExampleDiagrams } from "../../scripts/docs-diagrams";
import { parseMermaid } from "../mermaid";
import { meshOf } from "../plan-diff";

const ROOT = path.join(__dirname, "..", "..");

function diagramOfStackFile(file: string): string {
    const stack = readStackConfigFile(path.join(ROOT, file));
    const { config, problems } = validateMeshConfig(stack.raw, [], { secretKeys: stack.secretKeys });
    assert.ok(config, JSON.stringify(problems));
    return meshDiagram(buildMeshPlan(config), config);
}

const edgeCount = (text: string, arrow: string) => text.split("\n").filter((l) => l.includes(arrow)).length;
/** Remote-secret pairs a drawn-out diagram shows: a two-headed edge stands for both directions. */
const drawnWatchPairs = (text: string) => edgeCount(text, '-. "watches" .->') + 2 * edgeCount(text, "<-.");

describe("mesh diagram", () => {
    it("shows, per cluster, the revisions it runs with their versions and tags, staging included (examples/Pulumi.revisions.yaml)", () => {
        const text = diagramOfStackFile("examples/Pulumi.revisions.yaml");
        const node = (c: string) => text.split("\n").find((l) => l.trim().startsWith(`c_${c}[`)) ?? "";
        assert.match(
            node("cluster1"),
            /rev 1-29-2 · 1\.29\.2 · default, prod-stable<br\/>rev 1-30-3 · 1\.30\.3 · prod-canary/,
        );
        assert.match(
            node("cluster2"),
            /rev 1-30-3 · 1\.30\.3 · prod-canary/,
            "the remote runs its primary's revisions",
        );
        assert.doesNotMatch(node("cluster3"), /1-30-3/, "cluster3 is staged on the old revision only");
        assert.doesNotMatch(diagramOfStackFile("Pulumi.dev.yaml"), /rev /, "without revisions no revision line");
    });

    for (const file of exampleStackFiles(ROOT)) {
        it(`${file}: Mermaid's parser accepts the diagram`, async () => {
            await parseMermaid(diagramOfStackFile(file));
        });
    }

    // Every model: multi-primary and primary-remote, on one network or one network per cluster;
    // primary-remote meshes of 3 clusters and more have two primaries, each with remotes: mixed.
    const generated = (model: "multi-primary" | "primary-remote", clusters: number, oneNetwork: boolean) => {
        const raw = syntheticStackConfig({ model, clusters, layout: "perSource" });
        if (oneNetwork) {
            raw.clusters = (raw.clusters as Record<string, unknown>[]).map((c) => ({ ...c, network: "network1" }));
        }
        const { config, problems } = validateMeshConfig(raw);
        assert.ok(config, JSON.stringify(problems));
        return config;
    };
    for (const model of ["multi-primary", "primary-remote"] as const) {
        for (const oneNetwork of [false, true]) {
            for (const clusters of [2, 3, 5, 10, 20, 50]) {
                const name = `${model}, ${oneNetwork ? "one network" : "several networks"}, ${clusters} clusters`;
                it(`${name}: parses, one node per cluster, watch edges bounded`, async () => {
                    const config = generated(model, clusters, oneNetwork);
                    const plan = buildMeshPlan(config);
                    if (oneNetwork) assert.equal(plan.networkModel, "single-network");
                    const text = meshDiagram(plan, config);
                    await parseMermaid(text);
                    for (const c of plan.clusters) {
                        assert.match(text, new RegExp(`^ {4}${mermaidId("c", c.name)}\\[`, "m"));
                    }
                    // Drawn out up to the bound, grouped above it: never more watch edges than clusters.
                    const watch = edgeCount(text, "-.");
                    if (plan.remoteSecretPairs.length <= MAX_DRAWN_WATCH_EDGES) {
                        assert.equal(drawnWatchPairs(text), plan.remoteSecretPairs.length);
                    } else assert.ok(watch <= plan.clusters.length, `${watch} watch edges for ${clusters} clusters`);
                });
            }
        }
    }

    it("a full multi-primary mesh above the bound is one group: every primary watches every other cluster", () => {
        const { config } = validateMeshConfig(
            syntheticStackConfig({ model: "multi-primary", clusters: 20, layout: "perSource" }),
        );
        assert.ok(config);
        const text = meshDiagram(buildMeshPlan(config), config);
        assert.equal(text.match(/\{\{"/g)?.length, 1);
        assert.match(text, /every primary \(20\) watches every other cluster/);
        assert.equal(edgeCount(text, "-.->"), 20);
    });

    it("shows roles, serving primaries, the CA tree and live gateway addresses", () => {
        const config = meshOf([
            { name: "east", network: "n1" },
            { name: "west", network: "n2", role: "remote", controlPlane: "east" },
        ]);
        const plan = buildMeshPlan(config);
        const text = meshDiagram(plan, config, { liveGatewayAddresses: { east: "198.51.100.7:15443" } });
        assert.match(
            text,
            /subgraph net_n1\["network n1"\]\n {4}c_east\["<b>east<\/b><br\/>primary · istiod<br\/>east-west LoadBalancer<br\/>198\.51\.100\.7:15443"\]/,
        );
        assert.match(text, /c_west\["<b>west<\/b><br\/>remote · istiod of east/);
        assert.match(text, /c_west == "served via east-west gateway" ==> c_east/);
        assert.match(text, /ca_root -- "signs intermediate" --> c_east/);
        assert.doesNotMatch(text, /--> c_west/, "a remote has no intermediate of its own");
        assert.match(text, /c_east -. "watches" .-> c_west/);
    });

    it("two primaries that watch each other share one two-headed edge; one-way watches keep their arrow", async () => {
        const config = meshOf([
            { name: "a", network: "n1" },
            { name: "b", network: "n2" },
            { name: "r", network: "n2", role: "remote", controlPlane: "b" },
        ]);
        const text = meshDiagram(buildMeshPlan(config), config);
        assert.match(text, /^ {2}c_a <-\. "watch each other" \.-> c_b$/m);
        assert.doesNotMatch(text, /c_b -\. "watches" \.-> c_a/);
        assert.match(text, /^ {2}c_a -\. "watches" \.-> c_r$/m);
        await parseMermaid(text);
    });

    it(`above ${MAX_LABELLED_EDGES} edges of a kind, the nodes say what the unlabelled edges mean`, async () => {
        const small = meshOf([
            { name: "p", network: "n1" },
            ...[1, 2, 3, 4].map((i) => ({ name: `r${i}`, network: "n1", role: "remote", controlPlane: "p" })),
        ]);
        const smallText = meshDiagram(buildMeshPlan(small), small);
        assert.equal(edgeCount(smallText, '== "served'), 4);
        assert.doesNotMatch(smallText, /<br\/>served/);

        const { config } = validateMeshConfig(
            syntheticStackConfig({ model: "primary-remote", clusters: 20, layout: "perSource" }),
        );
        assert.ok(config);
        const text = meshDiagram(buildMeshPlan(config), config);
        assert.equal(edgeCount(text, '== "'), 0, "serving edges unlabelled");
        assert.equal(edgeCount(text, " ==> "), 18);
        assert.match(
            text,
            /c_cluster003\["<b>cluster003<\/b><br\/>remote · istiod of cluster001<br\/>via east-west gateway<br\/>east-west/,
        );
        assert.equal(edgeCount(text, '"signs intermediate"'), 2, "two primaries: the signing edges keep their labels");
        await parseMermaid(text);
    });

    it("networks and clusters in counting order: network2 before network10", () => {
        const { config } = validateMeshConfig(
            syntheticStackConfig({ model: "multi-primary", clusters: 12, layout: "perSource" }),
        );
        assert.ok(config);
        const text = meshDiagram(buildMeshPlan(config), config);
        const networks = [...text.matchAll(/subgraph net_(\w+)\[/g)].map((m) => m[1]);
        assert.deepEqual(networks.slice(0, 3), ["network1", "network2", "network3"]);
        assert.equal(networks.at(-1), "network12");
        assert.match(
            text,
            /ca_root\(\["root mesh-root \(generated\)<br\/>signs the intermediate of each primary \(12\)"\]\)/,
        );
        assert.equal(edgeCount(text, "ca_root --> "), 12);
    });

    it("a root rotation shows the next root, and which root signs at issueFromNext", () => {
        const base = { name: "a", network: "n1" };
        const next = { name: "next-root" };
        const trust = meshOf([base], { rootRotation: { stage: "trustNext", next } });
        assert.match(meshDiagram(buildMeshPlan(trust), trust), /ca_root -- "signs intermediate" --> c_a/);
        const issue = meshOf([base], { rootRotation: { stage: "issueFromNext", next } });
        const text = meshDiagram(buildMeshPlan(issue), issue);
        assert.match(text, /ca_next\(\["next root next-root: issueFromNext"\]\)/);
        assert.match(text, /ca_next -- "signs intermediate" --> c_a/);
    });

    it("marks added, removed and changed clusters for a change view, and still parses", async () => {
        const config = meshOf([
            { name: "a", network: "n1" },
            { name: "b", network: "n2" },
        ]);
        const text = meshDiagram(buildMeshPlan(config), config, { changes: { b: "added", a: "changed" } });
        assert.match(text, /class c_b added/);
        assert.match(text, /class c_a changed/);
        await parseMermaid(text);
    });

    it("is deterministic and independent of the order of clusters", () => {
        const a = meshOf([
            { name: "x", network: "n1" },
            { name: "y", network: "n2" },
        ]);
        const b = meshOf([
            { name: "y", network: "n2" },
            { name: "x", network: "n1" },
        ]);
        assert.equal(meshDiagram(buildMeshPlan(a), a), meshDiagram(buildMeshPlan(b), b));
    });

    it("Mermaid's parser rejects a broken diagram (the check is real)", async () => {
        await assert.rejects(parseMermaid("flowchart LR\n  a -->"));
    });
});

describe("docs/models.md example diagrams", () => {
    it("are exactly what npm run plan -- --format mermaid prints for each example stack", () => {
        const markdown = fs.readFileSync(path.join(ROOT, "docs", "models.md"), "utf8");
        assert.equal(markdown, withExampleDiagrams(markdown, ROOT), "run npm run docs:diagrams");
        for (const file of exampleStackFiles(ROOT)) assert.ok(markdown.includes(`### \`${file}\``), file);
    });
});

describe("diagram of a change (pull-request comment)", () => {
    const dev = path.join(ROOT, "Pulumi.dev.yaml");
    it("a new stack shows the pull request's diagram alone", () => {
        const body = diagramChangeComment("dev", undefined, dev);
        assert.match(body, /After this change \(the stack is new\)/);
        assert.equal(body.match(/```mermaid/g)?.length, 1);
    });
    it("an unchanged topology says so and marks nothing", () => {
        const body = diagramChangeComment("dev", dev, dev);
        assert.match(body, /leaves the mesh's topology as it is/);
        assert.doesNotMatch(body, /classDef/);
    });
    it("a pull request whose stack config is wrong shows its problems instead of a picture", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-"));
        try {
            const bad = path.join(dir, "Pulumi.bad.yaml");
            fs.writeFileSync(bad, "config:\n  istio-multicluster:clusters: 42\n");
            const body = diagramChangeComment("bad", dev, bad);
            assert.match(body, /has problems/);
            assert.match(body, /clusters/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
