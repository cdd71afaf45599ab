/**
 * IstioControlPlane and EastWestGateway under the shared mock harness, for the six meshes: which
 * objects land on which cluster's provider, in which order, with which Helm inputs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as debuggable from "@pulumi/pulumi/runtime/debuggable";
import { MeshConfig } from "../../components/config/config";
import { advertisedAddress, EastWestGateway, remotePilotAddressFor } from "../../components/istio/east-west-gateway";
import { IstioControlPlane } from "../../components/istio/istio-control-plane";
import { clusterIstioOutputs } from "../../components/istio/istio-outputs";
import {
    baseValues,
    eastWestGatewayValues,
    istiodValues,
    remotePilotAddressChartProblem,
} from "../../components/istio/istio-values";
import { buildMeshPlan, ClusterPlan } from "../../components/plan/mesh-plan";
import { providerResourceName } from "../../components/plan/naming";
import {
    defaultGatewayAddress,
    dependsOn,
    find,
    MockOptions,
    promiseOf,
    RecordedResource,
    runUnderMocks,
    validateKubernetesObjects,
} from "../harness";
import { cluster, MESH_NAMES, MESHES, meshConfig, MeshName } from "../istio-fixtures";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const SECRET = "kubernetes:core/v1:Secret";
const SERVICE = "kubernetes:core/v1:Service";
const GATEWAY = "kubernetes:networking.istio.io/v1:Gateway";
const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService";

const CACERTS = { "ca-cert.pem": "CA", "ca-key.pem": "KEY", "root-cert.pem": "ROOT", "cert-chain.pem": "CHAIN" };

interface Built {
    plan: ReturnType<typeof buildMeshPlan>;
    controlPlanes: Record<string, IstioControlPlane>;
    gateways: Record<string, EastWestGateway>;
}

/**
 * Wires the components the way the program does: primaries first, each remote's control plane
 * fed by its primary's gateway address, each remote's gateway after (a stand-in for) the remote
 * secret about it in its primary.
 */
function build(config: MeshConfig): Built {
    const plan = buildMeshPlan(config);
    const providers = Object.fromEntries(
        plan.clusters.map((c) => [c.name, new k8s.Provider(providerResourceName(c.name), { context: c.name })]),
    );
    const controlPlanes: Record<string, IstioControlPlane> = {};
    const gateways: Record<string, EastWestGateway> = {};
    const common = (c: ClusterPlan) => ({ cluster: c, plan, config, provider: providers[c.name] });
    for (const c of plan.clusters.filter((p) => p.role === "primary")) {
        controlPlanes[c.name] = new IstioControlPlane(`${c.name}-istio`, {
            ...common(c),
            cacerts: pulumi.secret(CACERTS),
        });
        if (c.eastWestGateway) {
            gateways[c.name] = new EastWestGateway(`${c.name}-eastwest`, {
                ...common(c),
                controlPlane: controlPlanes[c.name],
            });
        }
    }
    for (const c of plan.clusters.filter((p) => p.role === "remote")) {
        const primaryGateway = gateways[c.controlPlane];
        controlPlanes[c.name] = new IstioControlPlane(`${c.name}-istio`, {
            ...common(c),
            remotePilotAddress: primaryGateway.address,
            dependsOn: [primaryGateway],
        });
        if (c.eastWestGateway) {
            const remoteSecret = new k8s.core.v1.Secret(
                `${c.controlPlane}-remote-secret-${c.name}`,
                { metadata: { name: `istio-remote-secret-${c.name}`, namespace: "istio-system" } },
                { provider: providers[c.controlPlane] },
            );
            gateways[c.name] = new EastWestGateway(`${c.name}-eastwest`, {
                ...common(c),
                controlPlane: controlPlanes[c.name],
                dependsOn: [remoteSecret],
            });
        }
    }
    return { plan, controlPlanes, gateways };
}

async function run(config: MeshConfig, options: MockOptions = {}) {
    const { result, resources } = await runUnderMocks(() => build(config), options);
    return { ...result, resources };
}

/** One mocked run per mesh, shared by the tests that only read its graph (runs are ~0.5 s each). */
const meshRuns = new Map<MeshName, ReturnType<typeof run>>();
function runMesh(mesh: MeshName): ReturnType<typeof run> {
    if (!meshRuns.has(mesh)) meshRuns.set(mesh, run(MESHES[mesh]()));
    return meshRuns.get(mesh)!;
}

/** `<type> <name>` of every Kubernetes object (not provider, not component) on each cluster. */
function objectsByCluster(resources: RecordedResource[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const r of resources) {
        if (!r.custom || !r.type.startsWith("kubernetes:") || r.name.includes("-remote-secret-")) continue;
        assert.ok(r.cluster, `${r.type} ${r.name} has an explicit cluster provider`);
        (out[r.cluster] ??= []).push(`${r.type.split(":").pop()}${r.readId ? " (read)" : ""} ${r.name}`);
    }
    for (const k of Object.keys(out)) out[k].sort();
    return out;
}

function expectedObjects(c: ClusterPlan, config: MeshConfig): string[] {
    const n = c.name;
    const objects = [`Namespace ${n}-istio-system`, `Release ${n}-istio-base`, `Release ${n}-istiod`];
    if (c.role === "primary") objects.push(`Secret ${n}-cacerts`);
    if (c.eastWestGateway) {
        objects.push(`Release ${n}-istio-eastwestgateway`);
        const gw = c.eastWestGateway;
        const read = gw.serviceType === "NodePort" ? gw.nodePort === undefined : gw.address === undefined;
        if (read) objects.push(`Service (read) ${n}-istio-eastwestgateway-service`);
    }
    if (c.crossNetworkGateway) objects.push(`Gateway ${n}-cross-network-gateway`);
    if (c.exposeIstiod) objects.push(`Gateway ${n}-istiod-gateway`, `VirtualService ${n}-istiod-vs`);
    void config;
    return objects.sort();
}

describe("Istio components under mocks, for the six meshes", () => {
    for (const mesh of MESH_NAMES) {
        it(`${mesh}: exactly the planned objects, each on its own cluster's provider`, async () => {
            const config = MESHES[mesh]();
            const { plan, resources } = await runMesh(mesh);
            const expected = Object.fromEntries(plan.clusters.map((c) => [c.name, expectedObjects(c, config)]));
            assert.deepEqual(objectsByCluster(resources), expected);
            for (const r of resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
                assert.ok(
                    r.name.startsWith(`${r.cluster}-`),
                    `${r.name} is named after the cluster of its provider (${r.cluster})`,
                );
            }
        });

        it(`${mesh}: Kubernetes and Istio objects are schema-valid`, async () => {
            const { resources } = await runMesh(mesh);
            assert.deepEqual(await validateKubernetesObjects(resources), []);
        });

        it(`${mesh}: order — namespace, cacerts → base → istiod → gateway → exposure objects`, async () => {
            const { plan, resources } = await runMesh(mesh);
            const get = (type: string, name: string) => find(resources, type, name);
            for (const c of plan.clusters) {
                const n = c.name;
                const ns = get(NAMESPACE, `${n}-istio-system`);
                const base = get(RELEASE, `${n}-istio-base`);
                const istiod = get(RELEASE, `${n}-istiod`);
                assert.ok(dependsOn(resources, base, ns), `${n}: base after namespace`);
                assert.ok(dependsOn(resources, istiod, base), `${n}: istiod after base`);
                assert.ok(dependsOn(resources, istiod, ns), `${n}: istiod after namespace`);
                if (c.role === "primary") {
                    const cacerts = get(SECRET, `${n}-cacerts`);
                    assert.ok(dependsOn(resources, istiod, cacerts), `${n}: istiod after cacerts`);
                    assert.ok(dependsOn(resources, cacerts, ns), `${n}: cacerts after namespace`);
                } else {
                    const primaryGateway = get(RELEASE, `${c.controlPlane}-istio-eastwestgateway`);
                    assert.ok(
                        dependsOn(resources, istiod, primaryGateway),
                        `${n}: remote istiod after primary gateway`,
                    );
                    const vs = get(VIRTUAL_SERVICE, `${c.controlPlane}-istiod-vs`);
                    assert.ok(dependsOn(resources, istiod, vs), `${n}: remote istiod after istiod-vs in the primary`);
                }
                if (!c.eastWestGateway) continue;
                const gw = get(RELEASE, `${n}-istio-eastwestgateway`);
                assert.ok(dependsOn(resources, gw, istiod), `${n}: gateway after istiod`);
                if (c.role === "remote") {
                    const secret = get(SECRET, `${c.controlPlane}-remote-secret-${n}`);
                    assert.ok(dependsOn(resources, gw, secret), `${n}: remote gateway after its remote secret`);
                }
                const exposure = resources.filter(
                    (r) => (r.type === GATEWAY || r.type === VIRTUAL_SERVICE) && r.cluster === n,
                );
                for (const e of exposure) assert.ok(dependsOn(resources, e, gw), `${e.name} after the gateway`);
            }
        });

        it(`${mesh}: Helm release inputs (chart, version, repo, atomic, namespace, values)`, async () => {
            const config = MESHES[mesh]();
            const { plan, resources } = await runMesh(mesh);
            for (const c of plan.clusters) {
                const primaryIp = defaultGatewayAddress(c.controlPlane);
                const expectations: [string, string, object][] = [
                    ["istio-base", "base", baseValues(c, config)],
                    ["istiod", "istiod", istiodValues(c, plan, config, c.role === "remote" ? primaryIp : undefined)],
                ];
                if (c.eastWestGateway) {
                    expectations.push(["istio-eastwestgateway", "gateway", eastWestGatewayValues(c, plan, config)]);
                }
                for (const [release, chart, values] of expectations) {
                    const r = find(resources, RELEASE, `${c.name}-${release}`);
                    assert.equal(r.cluster, c.name);
                    assert.deepEqual(
                        { ...r.inputs, values: undefined, compat: undefined },
                        {
                            name: release,
                            chart,
                            version: "1.30.3",
                            repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
                            namespace: "istio-system",
                            atomic: true,
                            values: undefined,
                            compat: undefined,
                        },
                        `${c.name} ${release}`,
                    );
                    assert.deepEqual(r.inputs.values, values, `${c.name} ${release} values`);
                }
            }
        });
    }

    it("cacerts: Opaque, exactly the four keys, secret in and out", async () => {
        const { resources } = await runMesh("primaryRemote");
        const s = find(resources, SECRET, "cluster1-cacerts");
        assert.equal(s.type, SECRET);
        assert.equal(s.inputs.type, "Opaque");
        assert.deepEqual(s.inputs.metadata, { name: "cacerts", namespace: "istio-system" });
        assert.deepEqual(Object.keys(s.inputs.stringData).sort(), ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]);
        assert.deepEqual(s.secretPaths, ["stringData"]);
        assert.deepEqual([...new Set(s.additionalSecretOutputs)].sort(), ["data", "stringData"]);
        assert.equal(resources.filter((r) => r.type === SECRET && r.name === "cluster2-cacerts").length, 0, "no cacerts on a remote");
    }); // prettier-ignore

    it("istio-system: network label everywhere, controlPlaneClusters on remotes", async () => {
        const { resources } = await runMesh("primaryRemoteMultiNetwork");
        assert.deepEqual(find(resources, NAMESPACE, "cluster1-istio-system").inputs.metadata, {
            name: "istio-system",
            labels: { "topology.istio.io/network": "network1" },
        });
        assert.deepEqual(find(resources, NAMESPACE, "cluster2-istio-system").inputs.metadata, {
            name: "istio-system",
            labels: { "topology.istio.io/network": "network2" },
            annotations: { "topology.istio.io/controlPlaneClusters": "cluster1" },
        });
    });

    it("adopt, an OCI chart source and a hostname load balancer, in one mesh", async () => {
        const host = "a1b2.elb.us-east-1.amazonaws.com";
        const config = meshConfig([cluster("cluster1", { adopt: true }), cluster("cluster2", { network: "network2" })], {
            chartRepository: "oci://registry.corp.example/istio",
        });
        const { gateways, resources } = await run(config, { gatewayAddresses: { cluster2: { hostname: host } } });

        const patch = find(resources, "kubernetes:core/v1:NamespacePatch", "cluster1-istio-system");
        assert.deepEqual(patch.inputs.metadata, { name: "istio-system", labels: { "topology.istio.io/network": "network1" } });
        assert.ok(dependsOn(resources, find(resources, RELEASE, "cluster1-istiod"), patch));
        find(resources, NAMESPACE, "cluster2-istio-system");

        for (const [release, chart] of [["istio-base", "base"], ["istiod", "istiod"], ["istio-eastwestgateway", "gateway"]]) {
            const r = find(resources, RELEASE, `cluster1-${release}`);
            assert.equal(r.inputs.chart, `oci://registry.corp.example/istio/${chart}`);
            assert.equal(r.inputs.version, "1.30.3");
            assert.equal(r.inputs.repositoryOpts, undefined);
        }

        // No remote needs cluster2's address, so a hostname is a valid advertised address.
        assert.equal(await promiseOf(gateways.cluster2.address), host);
        assert.equal(await promiseOf(gateways.cluster1.address), defaultGatewayAddress("cluster1"));
        assert.equal(await promiseOf(gateways.cluster1.port), 15443);
    }); // prettier-ignore

    it("the gateway Service is read with an id taken from the release status", async () => {
        const { resources } = await runMesh("multiPrimaryMultiNetwork");
        const read = find(resources, SERVICE, "cluster1-istio-eastwestgateway-service");
        assert.equal(read.readId, "istio-system/istio-eastwestgateway");
        assert.equal(read.cluster, "cluster1");
        assert.ok(dependsOn(resources, read, find(resources, RELEASE, "cluster1-istio-eastwestgateway")));
    });

    it("address and port: NodePort gateways advertise the configured address and node port", async () => {
        const { gateways, resources } = await runMesh("nodePort");
        assert.equal(await promiseOf(gateways.lan1.address), "192.168.10.11");
        assert.equal(await promiseOf(gateways.lan1.port), 31443);
        assert.equal(await promiseOf(gateways.lan2.port), 32443);
        assert.equal(resources.filter((r) => r.readId !== undefined).length, 0, "nothing to read back");
    });

    it("a primary without cacerts or a remote without remotePilotAddress is refused up front", async () => {
        const config = MESHES.primaryRemote();
        const plan = buildMeshPlan(config);
        await assert.rejects(
            runUnderMocks(() => {
                const provider = new k8s.Provider("cluster1-k8s", {});
                new IstioControlPlane("cluster1-istio", { cluster: plan.clusters[0], plan, config, provider });
            }),
            /cluster1 is a primary: its control plane needs the cacerts/,
        );
        await assert.rejects(
            runUnderMocks(() => {
                const provider = new k8s.Provider("cluster2-k8s", {});
                new IstioControlPlane("cluster2-istio", { cluster: plan.clusters[1], plan, config, provider });
            }),
            /cluster2 is a remote: its control plane needs remotePilotAddress/,
        );
    });
});

describe("per-cluster outputs", () => {
    it("primary with a gateway: releases, address, and the check commands with its context", () => {
        const config = meshConfig([
            cluster("cluster1", { context: "kind-cluster1" }),
            cluster("cluster2", { role: "remote", kubeconfig: "/home/me/.kube/c2" }),
        ]);
        const plan = buildMeshPlan(config);
        assert.deepEqual(clusterIstioOutputs(plan.clusters[0], config, { address: "192.0.2.1", port: 15443 }), {
            role: "primary",
            network: "network1",
            controlPlane: "cluster1",
            istioVersion: "1.30.3",
            releases: { base: "istio-base", istiod: "istiod", eastWestGateway: "istio-eastwestgateway" },
            eastWestGateway: { address: "192.0.2.1", port: 15443, serviceType: "LoadBalancer" },
            checks: [
                "helm --kube-context=kind-cluster1 -n istio-system ls",
                "kubectl --context=kind-cluster1 get namespace istio-system -L topology.istio.io/network",
                "kubectl --context=kind-cluster1 -n istio-system rollout status deployment/istiod",
                "istioctl remote-clusters --context=kind-cluster1",
                "kubectl --context=kind-cluster1 -n istio-system get svc istio-eastwestgateway",
                "kubectl --context=kind-cluster1 -n istio-system get gateway.networking.istio.io/istiod-gateway virtualservice.networking.istio.io/istiod-vs",
            ],
        });
        assert.deepEqual(clusterIstioOutputs(plan.clusters[1], config), {
            role: "remote",
            network: "network1",
            controlPlane: "cluster1",
            istioVersion: "1.30.3",
            releases: { base: "istio-base", istiod: "istiod" },
            checks: [
                "helm --kubeconfig=/home/me/.kube/c2 -n istio-system ls",
                "kubectl --kubeconfig=/home/me/.kube/c2 get namespace istio-system -L topology.istio.io/network",
                "kubectl --kubeconfig=/home/me/.kube/c2 -n istio-system get service,endpointslice istiod",
            ],
        });
    });

    it("revision: revisioned istiod names in the checks", () => {
        const config = { ...MESHES.primaryRemote(), revision: "1-30" };
        const out = clusterIstioOutputs(buildMeshPlan(config).clusters[0], config);
        assert.equal(out.revision, "1-30");
        assert.ok(out.checks.includes("kubectl -n istio-system rollout status deployment/istiod-1-30"));
        assert.ok(out.checks.some((c) => c.endsWith("virtualservice.networking.istio.io/istiod-vs-1-30")));
    });
});

describe("remotePilotAddressFor", () => {
    it("accepts IPv4 and IPv6, refuses hostnames and empty addresses with the fix", () => {
        assert.equal(remotePilotAddressFor("203.0.113.9", "p", ["1.24.0"]), "203.0.113.9");
        assert.equal(remotePilotAddressFor("2001:db8::1", "p", ["1.30.3"]), "2001:db8::1");
        assert.throws(() => remotePilotAddressFor("x.elb.amazonaws.com", "east", ["1.30.3"]), /hostname.*eastWestGateway\.address of east/s);
        assert.throws(() => remotePilotAddressFor("", "east", ["1.30.3"]), /no address yet/);
    }); // prettier-ignore

    it("refuses an IPv6 address (a discovered load balancer's too) where a remote's istiod chart is older than 1.30", () => {
        // remote-istiod-service.yaml tells an IP by ^([0-9]*\.){3}[0-9]*$ up to 1.29, and also by
        // ^([0-9a-fA-F]*:)+[0-9a-fA-F]*$ from 1.30.0; anything else becomes an ExternalName Service.
        assert.throws(
            () => remotePilotAddressFor("2001:db8::1", "east", ["1.30.3", "1.29.2"]),
            /IPv6 address, which the istiod chart 1\.29\.2 takes for a hostname.*ExternalName.*Fix: set eastWestGateway\.address of east to an IPv4 address.*1\.30\.0 or newer/s,
        );
        assert.equal(remotePilotAddressChartProblem("2001:db8::1", ["1.30.0", "1.31.0-rc.0"]), undefined);
        assert.equal(remotePilotAddressChartProblem("198.51.100.7", ["1.24.0"]), undefined);
    });

    it("refuses IPv6 forms no chart version recognises: IPv4-mapped and zoned", () => {
        for (const address of ["::ffff:192.0.2.1", "fe80::1%eth0"]) {
            assert.match(remotePilotAddressChartProblem(address, ["1.30.3"]) ?? "", /does not recognise as one/);
        }
    });

    it("advertisedAddress prefers the configured address over the load balancer", () => {
        const plan = buildMeshPlan(meshConfig([cluster("a", { eastWestGateway: { address: "198.51.100.1" } }), cluster("b", { network: "n2" })]));
        const svc = { status: { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } } };
        assert.equal(advertisedAddress(plan.clusters[0], svc), "198.51.100.1");
        assert.equal(advertisedAddress(plan.clusters[1], svc), "10.0.0.1");
    }); // prettier-ignore
});

/**
 * The error a program raises outside any registration (as a bad input value does when it is
 * serialised), which the Pulumi runtime turns into the failure of `pulumi up`. The shared harness
 * does not surface these, so this runs under minimal mocks of its own, with the test runner's
 * unhandled-rejection hook set aside while it waits.
 */
async function programError(program: () => void, hostname: string, expected: RegExp): Promise<Error> {
    const saved = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    const errors: unknown[] = [];
    const matches = (e: unknown) => e instanceof Error && expected.test(e.message);
    const onRejection = (reason: unknown) => errors.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    if (args.type === RELEASE) {
                        return {
                            id: `${args.name}-id`,
                            state: { ...args.inputs, status: { namespace: "istio-system" } },
                        };
                    }
                    if (args.type === SERVICE && args.id) {
                        return { id: args.id, state: { status: { loadBalancer: { ingress: [{ hostname }] } } } };
                    }
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: () => ({}),
            },
            "istio-multicluster",
            "test",
        );
        program();
        for (let waited = 0; !errors.some(matches) && waited < 5000; waited += 20) {
            await new Promise((r) => setTimeout(r, 20));
        }
    } finally {
        process.removeListener("unhandledRejection", onRejection);
        for (const l of saved) process.on("unhandledRejection", l);
        // The failed program's registrations never finish, as in a failed `pulumi up`; forget them so the
        // runtime's exit-time leak check does not fail this file.
        (debuggable as unknown as { leakedPromises(): unknown }).leakedPromises();
    }
    const found = errors.find(matches);
    assert.ok(found, `the program failed with ${expected}; errors seen: ${errors.map(String).join("; ")}`);
    return found as Error;
}

describe("hostname gateway addresses and remotes", () => {
    it("a hostname-only primary gateway is refused for a remote's control plane, with the fix", async () => {
        const host = "a1b2.elb.us-east-1.amazonaws.com";
        const err = await programError(() => build(MESHES.primaryRemote()), host, /serializing property "values"/);
        assert.match(err.message, new RegExp(host.replaceAll(".", "\\.")));
        assert.match(err.message, /ExternalName/);
        assert.match(err.message, /eastWestGateway\.address of cluster1 to an IP/);
    });
});
