/**
 * docs/operations.md against the program: the day-2 edits it describes change exactly what it says
 * (plan diffs for the flows test/lifecycle.test.ts does not cover), and the resource names, URNs,
 * import file, error messages and links it quotes match what the program registers and reports.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

import { formatConfigProblems, MeshConfig } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { MockOptions, RecordedResource } from "../harness";
import { ClusterEntry, diffResources, meshOf, meshResources, PlanDiff } from "../plan-diff";
import { anchorsOf } from "../markdown";

type Cluster = ClusterEntry;

const repoRoot = path.resolve(__dirname, "..", "..");
const docsDir = path.join(repoRoot, "docs");
const doc = fs.readFileSync(path.join(docsDir, "operations.md"), "utf8");

const mesh = meshOf;

// Each configuration is run under the mocks once per file: several flows share their "before".
const runs = new Map<string, Promise<Map<string, RecordedResource>>>();
function resourcesOf(config: MeshConfig, options: MockOptions = {}): Promise<Map<string, RecordedResource>> {
    const key = JSON.stringify([config, options]);
    if (!runs.has(key)) runs.set(key, meshResources(config, options));
    return runs.get(key)!;
}

/** Like planDiff, on runs that may be shared between tests. */
async function diff(a: MeshConfig, b: MeshConfig, optionsA: MockOptions = {}, optionsB = optionsA): Promise<PlanDiff> {
    return diffResources(await resourcesOf(a, optionsA), await resourcesOf(b, optionsB));
}

const p1: Cluster = { name: "cluster1", network: "network1" };
const p2: Cluster = { name: "cluster2", network: "network2" };
const remoteOf = (primary: string, network: string, name = "cluster3"): Cluster => ({
    name,
    network,
    role: "remote",
    controlPlane: primary,
});
const nodePort = (c: Cluster, address: string, port: number): Cluster => ({
    ...c,
    eastWestGateway: { serviceType: "NodePort", address, nodePort: port },
});

// Meshes several flows (and the checks of the page itself) start from.
const twoPrimariesTwoNetworks = () => mesh([p1, p2]);
/** cluster1 serves the remote cluster3; cluster2 is another primary; three networks. */
const mixedMesh = () => mesh([p1, p2, remoteOf("cluster1", "network3")]);
const oneRemote = () => mesh([p1, { name: "cluster2", network: "network1", role: "remote" }]);

describe("docs/operations.md: what each edit changes", () => {
    test("adding a remote: its own resources, its primary's istiod exposure, a secret about it in every primary", async () => {
        const d = await diff(twoPrimariesTwoNetworks(), mixedMesh());
        assert.deepEqual(d.created, [
            "cluster1-istiod-gateway",
            "cluster1-istiod-vs",
            "cluster1-remote-secret-cluster3",
            "cluster2-remote-secret-cluster3",
            "cluster3-control-plane",
            "cluster3-east-west-gateway",
            "cluster3-istio-base",
            "cluster3-istio-eastwestgateway",
            "cluster3-istio-eastwestgateway-service",
            "cluster3-istio-system",
            "cluster3-istiod",
            "cluster3-k8s",
            "cluster3-reader-token",
            "cluster3-remote-reader",
        ]);
        assert.deepEqual(d.deleted, []);
        assert.deepEqual(d.changed, { "cluster1-istiod": ["values"] });
    });

    test("removing a primary's last remote also removes the primary's istiod exposure", async () => {
        const d = await diff(oneRemote(), mesh([p1]));
        assert.deepEqual(d.deleted, [
            "cluster1-east-west-gateway",
            "cluster1-istio-eastwestgateway",
            "cluster1-istio-eastwestgateway-service",
            "cluster1-istiod-gateway",
            "cluster1-istiod-vs",
            "cluster1-remote-secret-cluster2",
            "cluster1-remote-secret-holder",
            "cluster2-control-plane",
            "cluster2-istio-base",
            "cluster2-istio-system",
            "cluster2-istiod",
            "cluster2-k8s",
            "cluster2-reader-token",
            "cluster2-remote-reader",
        ]);
        assert.deepEqual(d.created, []);
        assert.deepEqual(d.changed, { "cluster1-istiod": ["values"] });
    });

    test("re-pointing a remote moves the istiod exposure and rewrites the remote secrets about it, so each primary re-reads who leads it", async () => {
        const d = await diff(mixedMesh(), mesh([p1, p2, remoteOf("cluster2", "network3")]));
        assert.deepEqual(d.created, ["cluster2-istiod-gateway", "cluster2-istiod-vs"]);
        assert.deepEqual(d.deleted, ["cluster1-istiod-gateway", "cluster1-istiod-vs"]);
        assert.deepEqual(d.changed, {
            "cluster1-istiod": ["values"],
            "cluster1-remote-secret-cluster3": ["data"],
            "cluster2-istiod": ["values"],
            "cluster2-remote-secret-cluster3": ["data"],
            "cluster3-istio-system": ["metadata"],
            "cluster3-istiod": ["values"],
        });
    });

    test("LoadBalancer to NodePort with address and nodePort, and back", async () => {
        const lb = twoPrimariesTwoNetworks();
        const np = mesh([p1, nodePort(p2, "10.0.0.2", 31002)]);
        const changed = {
            "cluster1-istiod": ["values"],
            "cluster2-istio-eastwestgateway": ["values"],
            "cluster2-istiod": ["values"],
        };
        assert.deepEqual(await diff(lb, np), {
            created: [],
            deleted: ["cluster2-istio-eastwestgateway-service"],
            changed,
        });
        assert.deepEqual(await diff(np, lb), {
            created: ["cluster2-istio-eastwestgateway-service"],
            deleted: [],
            changed,
        });
    });

    test("an address on a LoadBalancer gateway puts meshNetworks into every primary, takes the network label off its Service; the Service read goes", async () => {
        const d = await diff(
            twoPrimariesTwoNetworks(),
            mesh([p1, { ...p2, eastWestGateway: { address: "203.0.113.7" } }]),
        );
        assert.deepEqual(d, {
            created: [],
            deleted: ["cluster2-istio-eastwestgateway-service"],
            changed: {
                "cluster1-istiod": ["values"],
                "cluster2-istiod": ["values"],
                "cluster2-istio-eastwestgateway": ["values"],
            },
        });
    });

    test("LoadBalancer to NodePort with a node selector changes only the gateway release", async () => {
        const d = await diff(
            twoPrimariesTwoNetworks(),
            mesh([p1, { ...p2, eastWestGateway: { serviceType: "NodePort", nodeSelector: {} } }]),
        );
        assert.deepEqual(d, { created: [], deleted: [], changed: { "cluster2-istio-eastwestgateway": ["values"] } });
    });

    test("a new load-balancer IP re-points a primary's remotes on the next up, and changes nothing between primaries", async () => {
        // Before: the harness's default address for cluster1; after: another one.
        const moved = { gatewayAddresses: { cluster1: { ip: "198.51.100.2" } } };
        const remote = await diff(oneRemote(), oneRemote(), {}, moved);
        assert.deepEqual(remote, { created: [], deleted: [], changed: { "cluster2-istiod": ["values"] } });
        const primaries = await diff(twoPrimariesTwoNetworks(), twoPrimariesTwoNetworks(), {}, moved);
        assert.deepEqual(primaries, { created: [], deleted: [], changed: {} });
    });

    test("flipping adopt on a managed cluster deletes and creates the namespace resource", async () => {
        const d = await diff(mesh([p1]), mesh([{ ...p1, adopt: true }]));
        assert.deepEqual(d, { created: ["cluster1-istio-system"], deleted: ["cluster1-istio-system"], changed: {} });
    });

    test("a cluster on a new network gives the existing clusters east-west gateways", async () => {
        // From one cluster to two, so cluster1 also gets its first reader token and remote secret.
        const d = await diff(mesh([p1]), twoPrimariesTwoNetworks());
        assert.deepEqual(
            d.created.filter((n) => n.startsWith("cluster1-") && /gateway/.test(n)),
            [
                "cluster1-cross-network-gateway",
                "cluster1-east-west-gateway",
                "cluster1-istio-eastwestgateway",
                "cluster1-istio-eastwestgateway-service",
            ],
        );
        assert.deepEqual(d.deleted, []);
        assert.deepEqual(d.changed, {});
    });

    test("adding a primary under perHolder updates each existing holder's Secret", async () => {
        const layout = { remoteSecrets: { layout: "perHolder" } };
        const d = await diff(
            mesh([p1, p2], layout),
            mesh([p1, p2, { ...p2, name: "cluster3", network: "network3" }], layout),
        );
        assert.deepEqual(
            d.created.filter((n) => !n.startsWith("cluster3-")),
            [],
        );
        assert.ok(d.created.includes("cluster3-remote-secrets"));
        assert.deepEqual(d.deleted, []);
        assert.deepEqual(d.changed, { "cluster1-remote-secrets": ["data"], "cluster2-remote-secrets": ["data"] });
    });

    test("setting revision changes the releases' values and renames the istiod VirtualService", async () => {
        const after = mesh([p1, { name: "cluster2", network: "network1", role: "remote" }], { revision: "1-31-0" });
        const d = await diff(oneRemote(), after);
        assert.deepEqual(d.created, ["cluster1-istiod-vs-1-31-0"]);
        assert.deepEqual(d.deleted, ["cluster1-istiod-vs"]);
        assert.deepEqual(Object.keys(d.changed).sort(), [
            "cluster1-istio-base",
            "cluster1-istio-eastwestgateway",
            "cluster1-istiod",
            "cluster2-istio-base",
            "cluster2-istiod",
        ]);
        for (const keys of Object.values(d.changed)) assert.deepEqual(keys, ["values"]);
    });
});

/** The URN the Pulumi engine gives a resource: every parent's type (the stack left out), then its own. */
function engineUrns(resources: Map<string, RecordedResource>): Map<string, RecordedResource> {
    const byUrn = new Map([...resources.values()].map((r) => [r.urn, r]));
    const out = new Map<string, RecordedResource>();
    for (const r of resources.values()) {
        const types = [r.type];
        for (let p = byUrn.get(r.parent); p && p.type !== "pulumi:pulumi:Stack"; p = byUrn.get(p.parent)) {
            types.unshift(p.type);
        }
        out.set(`urn:pulumi:test::istio-multicluster::${types.join("$")}::${r.name}`, r);
    }
    return out;
}

/** Placeholders of the page, filled for the reference meshes (cluster1 serves cluster3, cluster2 is a primary). */
function fill(text: string): string {
    return text.replaceAll("<stack>", "test").replaceAll("<cluster>", "cluster1").replaceAll("<other>", "cluster2");
}

describe("docs/operations.md: quoted names, URNs, import file, errors and links", () => {
    const reference = async () => [
        await resourcesOf(mixedMesh()),
        await resourcesOf(mesh([p1, p2], { remoteSecrets: { layout: "perHolder" } })),
        // The canary upgrade section names the releases of two revisions side by side.
        await resourcesOf(
            mesh([p1, p2, remoteOf("cluster1", "network3")], {
                revisions: [
                    { name: "1-29-2", version: "1.29.2" },
                    { name: "1-30-3", version: "1.30.3" },
                ],
                defaultRevision: "1-29-2",
            }),
        ),
        await resourcesOf(mesh([p1, p2], { remoteSecrets: { readerAccounts: "perHolder" } })),
    ];

    test("every <cluster>-… resource name it mentions is one the program registers", async () => {
        const names = new Set((await reference()).flatMap((rs) => [...rs.values()].map((r) => r.name)));
        const quoted = [...new Set([...doc.matchAll(/`(<[a-z]+>-[a-z0-9<>-]+)`/g)].map((m) => m[1]))];
        assert.ok(quoted.length > 20, `only ${quoted.length} names found`);
        const unknown = quoted.filter((q) => {
            const pattern = new RegExp(`^${q.replace(/<[a-z]+>/g, "[a-z0-9]+")}$`);
            return ![...names].some((n) => pattern.test(n));
        });
        assert.deepEqual(unknown, []);
    });

    test("every URN it quotes is the engine's URN of a resource the program registers", async () => {
        const urns = engineUrns(await resourcesOf(mixedMesh()));
        // The general form in the conventions keeps its <type chain> placeholder; every concrete URN is checked.
        const quoted = [...doc.matchAll(/urn:pulumi:<stack>::istio-multicluster::[^'"\s`]+/g)]
            .map((m) => fill(m[0]))
            .filter((u) => !u.includes("<"));
        assert.ok(quoted.length >= 5, `only ${quoted.length} URNs found`);
        assert.deepEqual(
            quoted.filter((u) => !urns.has(u)),
            [],
        );
    });

    test("import.json imports the releases under the program's types, names, parents and provider", async () => {
        const resources = await resourcesOf(mixedMesh());
        const urns = engineUrns(resources);
        const byName = new Map([...resources.values()].filter((r) => r.readId === undefined).map((r) => [r.name, r]));
        const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
        assert.equal(blocks.length, 1);
        const file = JSON.parse(fill(blocks[0])) as {
            nameTable: Record<string, string>;
            resources: {
                type: string;
                name: string;
                id?: string;
                parent?: string;
                provider?: string;
                component?: boolean;
            }[];
        };
        for (const urn of Object.values(file.nameTable)) assert.ok(urns.has(urn), urn);
        const urnOfName = (n: string) =>
            file.nameTable[n] ?? [...urns.entries()].find(([, r]) => r.name === n && r.readId === undefined)?.[0];
        assert.deepEqual(file.resources.filter((e) => e.type === "kubernetes:helm.sh/v3:Release").length, 3);
        for (const entry of file.resources) {
            const r = byName.get(entry.name);
            assert.ok(r, `${entry.name} is not registered`);
            assert.equal(entry.type, r.type, entry.name);
            assert.equal(entry.component === true, !r.custom, `${entry.name}: component`);
            assert.ok(entry.parent, `${entry.name}: parent`);
            assert.equal(urnOfName(entry.parent), [...urns.entries()].find(([, x]) => x.urn === r.parent)?.[0]);
            if (r.custom) {
                assert.equal(entry.provider, r.providerName, `${entry.name}: provider`);
                assert.equal(entry.id, `istio-system/${r.inputs.name as string}`, `${entry.name}: id`);
            }
        }
    });

    test("the table of other existing objects names the program's types, names, parents and ids", async () => {
        const all = [...(await resourcesOf(mixedMesh())).values()];
        const byName = new Map(all.filter((r) => r.readId === undefined).map((r) => [r.name, r]));
        const byUrn = new Map(all.map((r) => [r.urn, r]));
        const rows = doc
            .split("\n")
            .filter((l) => l.trimStart().startsWith("| ") && l.includes("`kubernetes:") && l.includes("`istio-system/"))
            .map((l) =>
                fill(l)
                    .split("|")
                    .slice(1, -1)
                    .map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])),
            );
        assert.equal(rows.length, 6);
        for (const [[objectName], [type], [name], [parent, parentType], [id]] of rows) {
            const r = byName.get(name);
            assert.ok(r, `${name} is not registered`);
            assert.equal(r.type, type, name);
            const p = byUrn.get(r.parent);
            assert.equal(p?.name, parent, `${name}: parent`);
            if (parentType !== undefined) assert.equal(p?.type, parentType, `${name}: parent type`);
            const metadata = r.inputs.metadata as { name: string; namespace: string };
            assert.equal(id, `${metadata.namespace}/${metadata.name}`, `${name}: id`);
            assert.equal(objectName, metadata.name, `${name}: object name`);
        }
    });

    test("the refusals it quotes are what validation reports", () => {
        const named = validateMeshConfig({
            clusters: [
                { name: "cluster2", role: "remote", controlPlane: "cluster1", apiServer: "https://10.0.0.2:6443" },
                { name: "cluster3", apiServer: "https://10.0.0.3:6443" },
            ],
        });
        const onlyPrimary = validateMeshConfig({
            clusters: [{ name: "cluster2", role: "remote", apiServer: "https://10.0.0.2:6443" }],
        });
        assert.ok(doc.includes(formatConfigProblems(named.problems)), formatConfigProblems(named.problems));
        const line = formatConfigProblems(onlyPrimary.problems).split("\n")[1];
        assert.ok(doc.includes(line), line);
    });

    test("every relative link resolves, including #anchors", () => {
        const problems: string[] = [];
        for (const [, target] of doc.matchAll(/\]\(([^)\s]+)\)/g)) {
            if (/^[a-z]+:/.test(target)) continue;
            const [rel, anchor] = target.split("#");
            const linked = rel ? path.join(docsDir, rel) : path.join(docsDir, "operations.md");
            if (!fs.existsSync(linked)) {
                problems.push(`${target}: no such file`);
                continue;
            }
            if (anchor && !anchorsOf(fs.readFileSync(linked, "utf8")).has(anchor)) {
                problems.push(`${target}: no such heading`);
            }
        }
        assert.deepEqual(problems, []);
    });
});
