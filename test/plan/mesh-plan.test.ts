import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MeshConfig } from "../../components/config/config";
import { parseMeshConfig, validateMeshConfig } from "../../components/mesh/validate-config";
import { buildMeshPlan, ClusterPlan, MeshPlan } from "../../components/plan/mesh-plan";
import {
    countPlanResources,
    describeGatewayExposure,
    formatPlanReport,
    planToJson,
} from "../../components/mesh/plan-report";

type Raw = Record<string, unknown>;

const plan = (raw: Raw): MeshPlan => buildMeshPlan(parseMeshConfig(raw));
const cluster = (p: MeshPlan, name: string): ClusterPlan => {
    const c = p.clusters.find((x) => x.name === name);
    assert.ok(c, `cluster ${name} in plan`);
    return c;
};

/** The seed documents' setup: two primaries on two networks, NodePort gateways at fixed node addresses. */
const seedSetup = (): Raw => ({
    clusters: [
        {
            name: "cluster1",
            network: "network1",
            eastWestGateway: { serviceType: "NodePort", address: "10.20.144.83", nodePort: 31674 },
        },
        {
            name: "cluster2",
            network: "network2",
            eastWestGateway: { serviceType: "NodePort", address: "10.20.144.165", nodePort: 32361 },
        },
    ],
});

describe("mesh plan: the four models and mixed meshes", () => {
    it("multi-primary, single network: no gateways, remote secrets both ways", () => {
        const p = plan({ clusters: [{ name: "cluster1" }, { name: "cluster2" }] });
        assert.equal(p.controlPlaneModel, "multi-primary");
        assert.equal(p.networkModel, "single-network");
        assert.deepEqual(p.networks, { network1: ["cluster1", "cluster2"] });
        for (const c of p.clusters) {
            assert.equal(c.eastWestGateway, undefined);
            assert.equal(c.crossNetworkGateway, false);
            assert.equal(c.exposeIstiod, false);
            assert.equal(c.runsIstiod, true);
            assert.equal(c.readerTokenSecret, true);
        }
        assert.deepEqual(p.remoteSecretPairs, [
            { holder: "cluster1", source: "cluster2" },
            { holder: "cluster2", source: "cluster1" },
        ]);
        assert.equal(p.meshNetworks, undefined);
        assert.deepEqual(
            p.waves.map((w) => w.clusters),
            [
                ["cluster1", "cluster2"],
                ["cluster1", "cluster2"],
                ["cluster1", "cluster2"],
            ],
        );
    });

    it("multi-primary, multi-network (the seed setup): NodePort gateways advertised in meshNetworks", () => {
        const p = plan(seedSetup());
        assert.equal(p.controlPlaneModel, "multi-primary");
        assert.equal(p.networkModel, "multi-network");
        for (const c of p.clusters) {
            assert.deepEqual(c.eastWestGateway?.purposes, ["cross-network"]);
            assert.equal(c.crossNetworkGateway, true);
            assert.equal(c.exposeIstiod, false);
            assert.equal(c.externalIstiod, false);
        }
        assert.deepEqual(p.meshNetworks, {
            network1: {
                endpoints: [{ fromRegistry: "cluster1" }],
                gateways: [{ address: "10.20.144.83", port: 31674 }],
            },
            network2: {
                endpoints: [{ fromRegistry: "cluster2" }],
                gateways: [{ address: "10.20.144.165", port: 32361 }],
            },
        });
        assert.equal(describeGatewayExposure(cluster(p, "cluster1")), "NodePort 10.20.144.83:31674 (cross-network)");
    });

    it("primary-remote, single network: the primary's gateway only exposes istiod", () => {
        const p = plan({ clusters: [{ name: "cluster1" }, { name: "cluster2", role: "remote" }] });
        assert.equal(p.controlPlaneModel, "primary-remote");
        assert.equal(p.networkModel, "single-network");
        const primary = cluster(p, "cluster1");
        const remote = cluster(p, "cluster2");
        assert.deepEqual(primary.servedRemotes, ["cluster2"]);
        assert.deepEqual(primary.eastWestGateway?.purposes, ["expose-istiod"]);
        assert.equal(primary.exposeIstiod, true);
        assert.equal(primary.externalIstiod, true);
        assert.equal(primary.crossNetworkGateway, false);
        assert.deepEqual(primary.remoteSecretSources, ["cluster2"]);
        assert.equal(primary.readerTokenSecret, false, "nobody watches the only primary");
        assert.equal(remote.runsIstiod, false);
        assert.equal(remote.controlPlane, "cluster1");
        assert.equal(remote.eastWestGateway, undefined);
        assert.deepEqual(remote.remoteSecretSources, []);
        assert.deepEqual(remote.watchedBy, ["cluster1"]);
        assert.ok(
            p.waves.some((w) => w.clusters.includes("cluster2") && /remote clusters' istiod/.test(w.description)),
        );
    });

    it("primary-remote, multi-network: the remote gets its own gateway, the Gateway object lives in the primary", () => {
        const p = plan({
            clusters: [
                { name: "cluster1", network: "network1" },
                { name: "cluster2", network: "network2", role: "remote" },
            ],
        });
        assert.equal(p.networkModel, "multi-network");
        const primary = cluster(p, "cluster1");
        const remote = cluster(p, "cluster2");
        assert.deepEqual(primary.eastWestGateway?.purposes, ["cross-network", "expose-istiod"]);
        assert.equal(primary.crossNetworkGateway, true);
        assert.deepEqual(remote.eastWestGateway?.purposes, ["cross-network"]);
        assert.equal(remote.crossNetworkGateway, false);
        const lastWave = p.waves[p.waves.length - 1];
        assert.deepEqual(lastWave.clusters, ["cluster2"], "the remote's gateway comes after its remote secret");
    });

    it("mixed: two primaries each serving remotes", () => {
        const p = plan({
            clusters: [
                { name: "us-remote", role: "remote", controlPlane: "us-primary", network: "us" },
                { name: "eu-primary", network: "eu" },
                { name: "us-primary", network: "us" },
                { name: "eu-remote", role: "remote", controlPlane: "eu-primary", network: "eu" },
            ],
        });
        assert.equal(p.controlPlaneModel, "mixed");
        assert.equal(p.networkModel, "multi-network");
        assert.deepEqual(
            p.clusters.map((c) => c.name),
            ["eu-primary", "eu-remote", "us-primary", "us-remote"],
        );
        assert.deepEqual(cluster(p, "eu-primary").servedRemotes, ["eu-remote"]);
        assert.deepEqual(cluster(p, "us-primary").servedRemotes, ["us-remote"]);
        assert.deepEqual(cluster(p, "eu-primary").remoteSecretSources, ["eu-remote", "us-primary", "us-remote"]);
        assert.deepEqual(cluster(p, "us-primary").remoteSecretSources, ["eu-primary", "eu-remote", "us-remote"]);
        assert.deepEqual(cluster(p, "eu-remote").watchedBy, ["eu-primary", "us-primary"]);
        assert.equal(cluster(p, "us-remote").controlPlane, "us-primary");
        assert.equal(p.remoteSecretPairs.length, 6);
    });

    it("mixed on one network: both primaries expose istiod, nothing is cross-network", () => {
        const p = plan({
            clusters: [
                { name: "a" },
                { name: "b" },
                { name: "ra", role: "remote", controlPlane: "a" },
                { name: "rb", role: "remote", controlPlane: "b" },
            ],
        });
        assert.equal(p.controlPlaneModel, "mixed");
        assert.deepEqual(cluster(p, "a").eastWestGateway?.purposes, ["expose-istiod"]);
        assert.deepEqual(cluster(p, "b").eastWestGateway?.purposes, ["expose-istiod"]);
        assert.equal(cluster(p, "ra").eastWestGateway, undefined);
    });

    it("NodePort gateways with and without address: meshNetworks lists every network", () => {
        const p = plan({
            clusters: [
                {
                    name: "a",
                    network: "n1",
                    eastWestGateway: { serviceType: "NodePort", address: "10.0.0.1", nodePort: 31000 },
                },
                { name: "b", network: "n2", eastWestGateway: { serviceType: "NodePort", nodeSelector: {} } },
                { name: "c", network: "n2", role: "remote", controlPlane: "a" },
            ],
        });
        assert.deepEqual(p.meshNetworks, {
            n1: { endpoints: [{ fromRegistry: "a" }], gateways: [{ address: "10.0.0.1", port: 31000 }] },
            n2: { endpoints: [{ fromRegistry: "b" }, { fromRegistry: "c" }], gateways: [] },
        });
    });

    it("LoadBalancer gateways without explicit addresses need no meshNetworks", () => {
        const p = plan({
            clusters: [
                { name: "a", network: "n1" },
                { name: "b", network: "n2" },
            ],
        });
        assert.equal(p.meshNetworks, undefined);
    });
});

describe("resource counts", () => {
    it("counts the seed setup", () => {
        const config = parseMeshConfig(seedSetup());
        const counts = countPlanResources(buildMeshPlan(config), config);
        assert.deepEqual(counts.clusters[0], {
            cluster: "cluster1",
            provider: 1,
            namespace: 1,
            cacerts: 1,
            helmReleases: 3,
            istioConfigObjects: 1,
            readerToken: 1,
            remoteSecrets: 1,
            total: 9,
        });
        assert.deepEqual(counts.pki, { root: 2, intermediates: 6, total: 8 });
        assert.equal(counts.total, 26);
    });

    it("counts a primary-remote mesh, per-holder layout and an imported root", () => {
        const config = parseMeshConfig({
            clusters: [{ name: "p" }, { name: "r1", role: "remote" }, { name: "r2", role: "remote" }],
            remoteSecrets: { layout: "perHolder" },
            ca: { mode: "import", certFile: "/etc/root.pem" },
            caKeyPem: "x",
        });
        const counts = countPlanResources(buildMeshPlan(config), config);
        const p = counts.clusters.find((c) => c.cluster === "p")!;
        const r1 = counts.clusters.find((c) => c.cluster === "r1")!;
        assert.equal(p.remoteSecrets, 1, "one Secret with a key per source");
        assert.equal(p.istioConfigObjects, 2, "istiod-gateway + istiod-vs");
        assert.equal(p.readerToken, 0);
        assert.equal(r1.cacerts, 0);
        assert.equal(r1.helmReleases, 2);
        assert.equal(r1.readerToken, 1);
        assert.deepEqual(counts.pki, { root: 0, intermediates: 3, total: 3 });
    });

    it("prints the table, waves and meshNetworks", () => {
        const config = parseMeshConfig(seedSetup());
        const text = formatPlanReport(buildMeshPlan(config), config, { source: "Pulumi.dev.yaml" });
        assert.match(text, /Model: +multi-primary, multi-network \(2 clusters, 2 networks\)/);
        assert.match(
            text,
            /cluster1 +primary +network1 +own istiod +NodePort 10\.20\.144\.83:31674 \(cross-network\) +cluster2/,
        );
        assert.match(text, /network2: endpoints from cluster2; gateways 10\.20\.144\.165:32361/);
        assert.match(text, /Deployment waves:\n {2}1\. /);
        assert.match(text, /Total: 26/);
        assert.match(text, /\(from kubeconfig\)/);
    });

    it("advises perHolder once the per-source remote Secrets reach the threshold, in text and JSON", () => {
        const mesh = (n: number, layout: string) =>
            parseMeshConfig({
                remoteSecrets: { layout },
                clusters: Array.from({ length: n }, (_, i) => ({
                    name: `c${i + 1}`,
                    network: `n${i + 1}`,
                    apiServer: `https://10.0.0.${i + 1}:6443`,
                })),
            });
        const report = (config: MeshConfig) => {
            const plan = buildMeshPlan(config);
            return { text: formatPlanReport(plan, config), json: planToJson(plan, config) };
        };
        const big = report(mesh(15, "perSource"));
        assert.match(big.text, /\nAdvice: remoteSecrets\.layout is perSource: 210 remote Secrets/);
        assert.equal((big.json.advice as string[]).length, 1);
        for (const quiet of [report(mesh(14, "perSource")), report(mesh(15, "perHolder"))]) {
            assert.doesNotMatch(quiet.text, /Advice:/);
            assert.deepEqual(quiet.json.advice, []);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// Property tests over generated valid configs
// ---------------------------------------------------------------------------------------------

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);

/** Valid raw configs: 1–12 clusters, random roles, networks, serving primaries and gateway types. */
const validRawConfig = fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc
        .record({
            names: fc.uniqueArray(label, { minLength: n, maxLength: n }),
            primary: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
            forcedPrimary: fc.nat({ max: n - 1 }),
            network: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
            servedBy: fc.array(fc.nat(), { minLength: n, maxLength: n }),
            nodePort: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
            layout: fc.constantFrom("perSource", "perHolder"),
        })
        .map((g) => {
            const isPrimary = g.primary.map((p, i) => p || i === g.forcedPrimary);
            const primaries = g.names.filter((_, i) => isPrimary[i]);
            const clusters = g.names.map((name, i) => {
                const c: Raw = { name, network: `net${g.network[i]}` };
                if (!isPrimary[i]) {
                    c.role = "remote";
                    c.controlPlane = primaries[g.servedBy[i] % primaries.length];
                }
                // NodePort with a fixed address and port is valid in every position.
                if (g.nodePort[i]) {
                    c.eastWestGateway = { serviceType: "NodePort", address: `10.${i}.0.1`, nodePort: 30000 + i };
                }
                c.apiServer = `https://10.${i}.0.10:6443`;
                return c;
            });
            return { clusters, remoteSecrets: { layout: g.layout } } as Raw;
        }),
);

function validConfig(raw: Raw): MeshConfig {
    const result = validateMeshConfig(raw);
    assert.deepEqual(result.problems, [], "generated configs are valid");
    return result.config!;
}

describe("mesh plan properties (fast-check)", () => {
    it("every primary holds a secret for every other cluster and none for itself; remotes hold none", () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const p = buildMeshPlan(validConfig(raw));
                const all = p.clusters.map((c) => c.name);
                for (const c of p.clusters) {
                    if (c.role === "primary") {
                        assert.deepEqual(
                            c.remoteSecretSources,
                            all.filter((n) => n !== c.name),
                        );
                    } else {
                        assert.deepEqual(c.remoteSecretSources, []);
                    }
                    assert.ok(!c.remoteSecretSources.includes(c.name));
                    assert.deepEqual(
                        c.watchedBy,
                        p.clusters.filter((h) => h.remoteSecretSources.includes(c.name)).map((h) => h.name),
                    );
                }
            }),
            { numRuns: 100 },
        );
    });

    it("every cluster of a multi-network mesh has a cross-network gateway; single-network only to expose istiod", () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const p = buildMeshPlan(validConfig(raw));
                const multi = Object.keys(p.networks).length > 1;
                assert.equal(p.networkModel, multi ? "multi-network" : "single-network");
                for (const c of p.clusters) {
                    if (multi) assert.ok(c.eastWestGateway?.purposes.includes("cross-network"), c.name);
                    else assert.equal(c.eastWestGateway !== undefined, c.servedRemotes.length > 0, c.name);
                    assert.equal(c.crossNetworkGateway, multi && c.role === "primary");
                }
                // Each network lists each of its clusters once, and meshNetworks (when needed) agrees.
                const listed = Object.values(p.networks).flat().sort();
                assert.deepEqual(listed, p.clusters.map((c) => c.name).sort());
                if (p.meshNetworks) {
                    for (const [net, entry] of Object.entries(p.meshNetworks)) {
                        assert.deepEqual(
                            entry.endpoints.map((e) => e.fromRegistry),
                            p.networks[net],
                        );
                    }
                }
            }),
            { numRuns: 100 },
        );
    });

    it("every remote's control plane is a primary that lists it as served", () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const p = buildMeshPlan(validConfig(raw));
                for (const c of p.clusters.filter((x) => x.role === "remote")) {
                    const cp = p.clusters.find((x) => x.name === c.controlPlane);
                    assert.ok(cp && cp.role === "primary", `${c.name} → ${c.controlPlane}`);
                    assert.ok(cp.servedRemotes.includes(c.name));
                    assert.ok(cp.exposeIstiod && cp.externalIstiod);
                }
                const model = p.controlPlaneModel;
                const primaries = p.clusters.filter((c) => c.role === "primary").length;
                const remotes = p.clusters.length - primaries;
                assert.equal(model, remotes === 0 ? "multi-primary" : primaries === 1 ? "primary-remote" : "mixed");
            }),
            { numRuns: 100 },
        );
    });

    it("the plan does not depend on the order of clusters", () => {
        fc.assert(
            fc.property(
                validRawConfig.chain((raw) =>
                    fc.tuple(
                        fc.constant(raw),
                        fc.shuffledSubarray(raw.clusters as Raw[], {
                            minLength: (raw.clusters as Raw[]).length,
                            maxLength: (raw.clusters as Raw[]).length,
                        }),
                    ),
                ),
                ([raw, shuffled]) => {
                    const a = buildMeshPlan(validConfig(raw));
                    const b = buildMeshPlan(validConfig({ ...raw, clusters: shuffled }));
                    assert.deepEqual(b, a);
                },
            ),
            { numRuns: 60 },
        );
    });

    it("counts one remote secret per (holder, source) pair, or one per holder", () => {
        fc.assert(
            fc.property(validRawConfig, (raw) => {
                const config = validConfig(raw);
                const p = buildMeshPlan(config);
                const counts = countPlanResources(p, config);
                const secrets = counts.clusters.reduce((s, c) => s + c.remoteSecrets, 0);
                const primaries = p.clusters.filter((c) => c.role === "primary").length;
                const n = p.clusters.length;
                const holders = n > 1 ? primaries : 0;
                assert.equal(secrets, config.remoteSecrets.layout === "perSource" ? primaries * (n - 1) : holders);
                assert.equal(
                    counts.clusters.reduce((s, c) => s + c.cacerts, 0),
                    primaries,
                );
                assert.equal(counts.total, counts.pki.total + counts.clusters.reduce((s, c) => s + c.total, 0));
            }),
            { numRuns: 100 },
        );
    });
});
