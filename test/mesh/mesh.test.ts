/**
 * The whole mesh under the offline mock engine, for every model: which object lands in which
 * cluster, in which order, with which Helm values, and what stays secret.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";

import { MeshConfig } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import { buildMeshPlan, MeshPlan } from "../../components/plan/mesh-plan";
import { readStackConfigFile } from "../../components/config/stack-config";
import {
    defaultGatewayAddress,
    dependsOn,
    find,
    MockOptions,
    ofType,
    RecordedResource,
    runUnderMocks,
    validateKubernetesObjects,
} from "../harness";
import { meshArgsOf } from "../plan-diff";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const GATEWAY = "kubernetes:networking.istio.io/v1:Gateway";
const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService";

/** Config from a stack file, with a small RSA key so real-crypto mocks stay fast. */
function configFrom(file: string, overrides: Record<string, unknown> = {}): MeshConfig {
    const { raw } = readStackConfigFile(file);
    const { config, problems } = validateMeshConfig({ ...raw, ca: { rsaBits: 2048 }, ...overrides });
    assert.ok(config, JSON.stringify(problems, null, 2));
    return config;
}

function configOf(clusters: Record<string, unknown>[], overrides: Record<string, unknown> = {}): MeshConfig {
    const withApi = clusters.map((c, i) => ({ apiServer: `https://10.0.${i}.1:6443`, ...c }));
    const { config, problems } = validateMeshConfig({ clusters: withApi, ca: { rsaBits: 2048 }, ...overrides });
    assert.ok(config, JSON.stringify(problems, null, 2));
    return config;
}

async function build(config: MeshConfig, options: MockOptions = {}) {
    const args = meshArgsOf(config);
    const run = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", args), options);
    return { plan: args.plan, mesh: run.result, resources: run.resources };
}

const releasesIn = (resources: RecordedResource[], cluster: string) =>
    ofType(resources, RELEASE)
        .filter((r) => r.cluster === cluster)
        .map((r) => r.inputs.name as string)
        .sort();

const objectsIn = (resources: RecordedResource[], type: string, cluster: string) =>
    ofType(resources, type)
        .filter((r) => r.cluster === cluster)
        .map((r) => r.inputs.metadata.name as string)
        .sort();

/** Invariants every model must satisfy. */
async function assertMeshInvariants(plan: MeshPlan, resources: RecordedResource[]) {
    const kube = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.readId);
    for (const r of kube) {
        assert.ok(r.cluster, `${r.type} ${r.name} has no explicit cluster provider`);
        assert.ok(r.name.startsWith(`${r.cluster}-`), `${r.name} is not named after its cluster ${r.cluster}`);
    }
    assert.deepEqual(await validateKubernetesObjects(resources), []);

    for (const c of plan.clusters) {
        const ns = find(resources, "kubernetes:core/v1:Namespace", `${c.name}-istio-system`);
        assert.equal(ns.inputs.metadata.labels["topology.istio.io/network"], c.network);
        const base = find(resources, RELEASE, `${c.name}-istio-base`);
        const istiod = find(resources, RELEASE, `${c.name}-istiod`);
        assert.ok(dependsOn(resources, base, ns), `${c.name}: base before namespace`);
        assert.ok(dependsOn(resources, istiod, base), `${c.name}: istiod before base`);
        if (c.runsIstiod) {
            const cacerts = find(resources, SECRET, `${c.name}-cacerts`);
            assert.equal(cacerts.cluster, c.name);
            assert.ok(dependsOn(resources, istiod, cacerts), `${c.name}: istiod must start after cacerts`);
            assert.deepEqual(Object.keys(cacerts.inputs.stringData).sort(), [
                "ca-cert.pem",
                "ca-key.pem",
                "cert-chain.pem",
                "root-cert.pem",
            ]);
            assert.ok(cacerts.secretPaths.includes("stringData"), `${c.name}: cacerts data must be secret`);
        } else {
            assert.equal(ns.inputs.metadata.annotations["topology.istio.io/controlPlaneClusters"], c.controlPlane);
            assert.equal(ofType(resources, SECRET).filter((s) => s.name === `${c.name}-cacerts`).length, 0);
        }
        const expectedReleases = ["istio-base", "istiod", ...(c.eastWestGateway ? ["istio-eastwestgateway"] : [])];
        assert.deepEqual(releasesIn(resources, c.name), expectedReleases.sort(), `${c.name} releases`);
        if (c.eastWestGateway) {
            const gw = find(resources, RELEASE, `${c.name}-istio-eastwestgateway`);
            assert.ok(dependsOn(resources, gw, istiod), `${c.name}: gateway after istiod`);
            assert.equal(gw.inputs.values.name ?? "istio-eastwestgateway", "istio-eastwestgateway");
        }
        const gateways = objectsIn(resources, GATEWAY, c.name);
        assert.equal(gateways.includes("cross-network-gateway"), c.crossNetworkGateway, `${c.name} cross-network`);
        assert.equal(gateways.includes("istiod-gateway"), c.exposeIstiod, `${c.name} istiod-gateway`);
        assert.equal(objectsIn(resources, VIRTUAL_SERVICE, c.name).includes("istiod-vs"), c.exposeIstiod);
    }

    // Exactly the planned remote secrets, each in its holder, after the watched cluster's token.
    const remoteSecrets = ofType(resources, SECRET).filter(
        (s) => s.inputs.metadata?.labels?.["istio/multiCluster"] === "true",
    );
    const pairs = remoteSecrets.flatMap((s) => Object.keys(s.inputs.data).map((source) => `${s.cluster} <- ${source}`));
    assert.deepEqual(pairs.sort(), plan.remoteSecretPairs.map((p) => `${p.holder} <- ${p.source}`).sort());
    for (const s of remoteSecrets) {
        assert.ok(s.secretPaths.includes("data"), `${s.name}: kubeconfigs must be secret`);
        for (const source of Object.keys(s.inputs.data)) {
            assert.notEqual(source, s.cluster, "no cluster holds a secret for itself");
            const token = find(resources, SECRET, `${source}-reader-token`);
            assert.equal(token.cluster, source);
            assert.ok(dependsOn(resources, s, token), `${s.name} after ${source}'s reader token`);
            assert.ok(dependsOn(resources, token, find(resources, RELEASE, `${source}-istiod`)));
        }
    }
    for (const provider of ofType(resources, "pulumi:providers:kubernetes")) {
        assert.ok(provider.secretPaths.includes("kubeconfig"), `${provider.name}: kubeconfig must be secret`);
    }
}

describe("every model builds its full graph", () => {
    const cases: [string, () => MeshConfig][] = [
        ["multi-primary, one network", () => configFrom("examples/Pulumi.multi-primary.yaml")],
        ["multi-primary, two networks, NodePort gateways (dev stack)", () => configFrom("Pulumi.dev.yaml")],
        ["primary-remote, one network", () => configFrom("examples/Pulumi.primary-remote.yaml")],
        ["primary-remote, two networks", () => configFrom("examples/Pulumi.primary-remote-multi-network.yaml")],
        ["mixed: two primaries each serving a remote", () => configFrom("examples/Pulumi.mixed.yaml")],
    ];
    for (const [title, makeConfig] of cases) {
        test(title, async () => {
            const { plan, resources } = await build(makeConfig());
            await assertMeshInvariants(plan, resources);
        });
    }
});

describe("primary-remote ordering and addresses", () => {
    const clusters = [
        { name: "cluster1", network: "network1" },
        { name: "cluster2", network: "network2", role: "remote", controlPlane: "cluster1" },
    ];

    test("the remote's istiod points at the primary's gateway IP, after the primary exposes istiod", async () => {
        const { resources } = await build(configOf(clusters));
        const remoteIstiod = find(resources, RELEASE, "cluster2-istiod");
        const values = remoteIstiod.inputs.values;
        assert.equal(values.profile, "remote");
        assert.equal(values.global.remotePilotAddress, defaultGatewayAddress("cluster1"));
        assert.equal(values.global.configCluster, true);
        assert.equal(values.istiodRemote.injectionPath, "/inject/cluster/cluster2/net/network2");
        assert.ok(dependsOn(resources, remoteIstiod, find(resources, RELEASE, "cluster1-istio-eastwestgateway")));
        assert.ok(dependsOn(resources, remoteIstiod, find(resources, GATEWAY, "cluster1-istiod-gateway")));
        assert.ok(dependsOn(resources, remoteIstiod, find(resources, VIRTUAL_SERVICE, "cluster1-istiod-vs")));
        assert.equal(find(resources, RELEASE, "cluster1-istiod").inputs.values.global.externalIstiod, true);
    });

    test("the remote's gateway waits for the primary's remote secret about it", async () => {
        const { resources } = await build(configOf(clusters));
        const remoteGateway = find(resources, RELEASE, "cluster2-istio-eastwestgateway");
        const secret = find(resources, SECRET, "cluster1-remote-secret-cluster2");
        assert.equal(secret.cluster, "cluster1");
        assert.ok(dependsOn(resources, remoteGateway, secret));
    });

    test("a multi-network mesh with a hostname load balancer is fine without remotes", async () => {
        const config = configOf([
            { name: "cluster1", network: "network1" },
            { name: "cluster2", network: "network2" },
        ]);
        const { resources } = await build(config, {
            gatewayAddresses: { cluster1: { hostname: "abc.elb.amazonaws.com" } },
        });
        assert.equal(ofType(resources, RELEASE).length, 6);
    });
});

describe("clusters do not wait for each other", () => {
    test("a primary's control plane never depends on another cluster", async () => {
        const config = configOf([
            { name: "cluster1", network: "network1" },
            { name: "cluster2", network: "network2" },
            { name: "cluster3", network: "network3" },
        ]);
        const { resources } = await build(config);
        for (const c of ["cluster1", "cluster2", "cluster3"]) {
            const gw = find(resources, RELEASE, `${c}-istio-eastwestgateway`);
            for (const other of resources.filter((r) => r.cluster && r.cluster !== c && r.custom)) {
                assert.ok(!dependsOn(resources, gw, other), `${c}'s gateway waits for ${other.name}`);
            }
        }
    });
});

describe("secrets stay secret", () => {
    test("root and intermediate keys are secret outputs and never reach a cluster as the root key", async () => {
        const { mesh, resources } = await build(
            configOf([
                { name: "cluster1", network: "network1" },
                { name: "cluster2", network: "network2" },
            ]),
        );
        assert.ok(pulumi.isSecret(mesh.rootCa!.privateKeyPem));
        assert.ok(pulumi.isSecret(mesh.members.cluster1.intermediateCa!.cacertsData));
        const rootKey = find(resources, "tls:index/privateKey:PrivateKey", "mesh-root-key");
        assert.equal(rootKey.protect, true);
        const rootKeyPem = await new Promise<string>((resolve) => mesh.rootCa!.privateKeyPem.apply(resolve));
        for (const s of ofType(resources, SECRET)) {
            assert.ok(
                !JSON.stringify(s.inputs).includes(rootKeyPem.trim().split("\n")[1]),
                `${s.name} carries the root key`,
            );
        }
    });

    test("verification's probe gets no secret kubeconfig when the kubeconfig is a file", async () => {
        const config = configOf([{ name: "cluster1" }, { name: "cluster2" }], { verify: true });
        const plan = buildMeshPlan(config);
        const access = Object.fromEntries(
            config.clusters.map((c) => [
                c.name,
                { kubeconfig: "k", apiServer: c.apiServer!, kubeconfigPath: "/home/me/.kube/config", context: c.name },
            ]),
        );
        const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", { config, plan, access }));
        const commands = ofType(resources, "command:local:Command");
        assert.equal(commands.length, 2);
        for (const c of commands) {
            assert.ok(!JSON.stringify(c.inputs).includes('"k"'), "the content must not reach the command");
            // The probe runs only once the mesh is complete.
            assert.ok(dependsOn(resources, c, find(resources, SECRET, `cluster1-remote-secret-cluster2`)));
        }
    });
});

describe("API server certificate name", () => {
    test("apiServerTlsServerName reaches the kubeconfig of every remote secret about that cluster, and only those", async () => {
        const config = configOf(
            [
                { name: "east", network: "net1", apiServer: "https://203.0.113.10:6443" },
                { name: "west", network: "net2", apiServerTlsServerName: "api.west.internal" },
            ],
            { ca: { keyAlgorithm: "ECDSA" } },
        );
        const { resources } = await build(config);
        /** The `cluster` entry of the kubeconfig that `holder` keeps about `source`. */
        const clusterEntryIn = (holder: string, source: string) => {
            const secret = find(resources, SECRET, `${holder}-remote-secret-${source}`);
            const kubeconfig = yaml.load(Buffer.from(secret.inputs.data[source] as string, "base64").toString("utf8"));
            return (kubeconfig as { clusters: { cluster: Record<string, string> }[] }).clusters[0].cluster;
        };
        assert.equal(clusterEntryIn("east", "west")["tls-server-name"], "api.west.internal");
        assert.equal(clusterEntryIn("east", "west").server, "https://10.0.1.1:6443");
        assert.equal(clusterEntryIn("west", "east")["tls-server-name"], undefined);
        assert.equal(clusterEntryIn("west", "east").server, "https://203.0.113.10:6443");
    });
});
