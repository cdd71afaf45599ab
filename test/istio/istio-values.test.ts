import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigValidationError, MeshConfig } from "../../components/config/config";
import {
    baseValues,
    chartSource,
    deepMerge,
    dnsProxyMetadata,
    eastWestGatewayValues,
    HelmValues,
    injectionPath,
    isPlainObject,
    istiodValues,
    valueOverrideProblems,
} from "../../components/istio/istio-values";
import { buildMeshPlan, ClusterPlan, MeshPlan } from "../../components/plan/mesh-plan";
import { cluster, MESH_NAMES, MESHES, meshConfig } from "../istio-fixtures";

// Top-level keys each chart accepts, read from Istio 1.30.3's charts (manifests/charts/…):
// base/values.yaml (`_internal_defaults_do_not_set` keys) plus `profile`/`compatibilityVersion`/
// `platform`, which base/templates/zzz_profile.yaml reads.
const BASE_KEYS = ["global", "base", "defaultRevision", "experimental", "profile", "compatibilityVersion", "platform"];
// istio-control/istio-discovery/values.yaml (`_internal_defaults_do_not_set` keys) plus the same
// profile keys and `pilot` (templates/zzy_descope_legacy.yaml copies pilot.* to the top level).
const ISTIOD_KEYS = [
    "autoscaleEnabled", "autoscaleMin", "autoscaleMax", "autoscaleBehavior", "replicaCount", "rollingMaxSurge",
    "rollingMaxUnavailable", "hub", "tag", "variant", "image", "traceSampling", "resources", "seccompProfile", "cni",
    "extraContainerArgs", "env", "envVarFrom", "taint", "affinity", "tolerations", "cpu", "memory", "volumeMounts",
    "volumes", "initContainers", "nodeSelector", "podAnnotations", "serviceAnnotations", "serviceAccountAnnotations",
    "sidecarInjectorWebhookAnnotations", "topologySpreadConstraints", "jwksResolverExtraRootCA",
    "keepaliveMaxServerConnectionAge", "deploymentLabels", "deploymentAnnotations", "configMap", "podLabels",
    "ipFamilyPolicy", "ipFamilies", "trustedZtunnelNamespace", "trustedZtunnelName", "sidecarInjectorWebhook",
    "istiodRemote", "telemetry", "revision", "revisionTags", "ownerName", "meshConfig", "experimental", "global",
    "base", "gateways", "gatewayClasses", "pdb", "profile", "compatibilityVersion", "platform", "pilot",
]; // prettier-ignore
// `global.*` keys of istio-control/istio-discovery/values.yaml the program sets.
const ISTIOD_GLOBAL_KEYS = [
    "meshID", "multiCluster", "network", "externalIstiod", "meshNetworks", "configCluster", "remotePilotAddress",
    "hub", "tag", "imagePullSecrets",
]; // prettier-ignore
// `istiodRemote.*` keys of istio-control/istio-discovery/values.yaml.
const ISTIOD_REMOTE_KEYS = [
    "enabled",
    "enabledLocalInjectorIstiod",
    "injectionURL",
    "injectionPath",
    "injectionCABundle",
];
// gateway/values.schema.json `$defs.values.properties` (additionalProperties: false at the top level).
const GATEWAY_KEYS = [
    "_internal_defaults_do_not_set", "global", "enabled", "affinity", "securityContext", "containerSecurityContext",
    "kind", "annotations", "autoscaling", "env", "envVarFrom", "strategy", "minReadySeconds", "readinessProbe",
    "labels", "name", "nodeSelector", "podAnnotations", "replicaCount", "resources", "revision", "defaultRevision",
    "compatibilityVersion", "profile", "platform", "pilot", "runAsRoot", "unprivilegedPort", "service",
    "serviceAccount", "rbac", "tolerations", "topologySpreadConstraints", "networkGateway", "networkGatewayPorts",
    "imagePullPolicy", "imagePullSecrets", "podDisruptionBudget", "terminationGracePeriodSeconds", "volumes",
    "volumeMounts", "initContainers", "additionalContainers", "priorityClassName", "lifecycle",
]; // prettier-ignore
// gateway/values.schema.json `service.properties`; port entries are rendered verbatim by
// gateway/templates/service.yaml, and the schema's port item has no additionalProperties: false,
// so `nodePort` passes (checked with `helm template`).
const GATEWAY_SERVICE_KEYS = [
    "annotations", "selectorLabels", "externalTrafficPolicy", "loadBalancerIP", "loadBalancerSourceRanges",
    "ipFamilies", "ipFamilyPolicy", "ports", "type",
]; // prettier-ignore
const GATEWAY_PORT_KEYS = ["name", "port", "protocol", "targetPort", "nodePort"];

function assertKeysIn(values: unknown, allowed: string[], where: string): void {
    assert.ok(isPlainObject(values), `${where} is an object`);
    for (const k of Object.keys(values)) assert.ok(allowed.includes(k), `${where}: key "${k}" is not a chart value`);
}

function planOf(config: MeshConfig): MeshPlan {
    return buildMeshPlan(config);
}

function byName(plan: MeshPlan, name: string): ClusterPlan {
    const c = plan.clusters.find((p) => p.name === name);
    assert.ok(c, `cluster ${name} in plan`);
    return c;
}

const PILOT = "192.0.2.10";
function istiodFor(c: ClusterPlan, plan: MeshPlan, config: MeshConfig): HelmValues {
    return istiodValues(c, plan, config, c.role === "remote" ? PILOT : undefined);
}

function primaryIstiod(name: string, network: string, extra: { global?: HelmValues } = {}): HelmValues {
    return {
        global: { meshID: "mesh1", multiCluster: { clusterName: name }, network, ...(extra.global ?? {}) },
        meshConfig: { trustDomain: "cluster.local" },
    };
}

function remoteIstiod(name: string, network: string): HelmValues {
    return {
        profile: "remote",
        global: {
            meshID: "mesh1",
            multiCluster: { clusterName: name },
            network,
            configCluster: true,
            remotePilotAddress: PILOT,
        },
        istiodRemote: { injectionPath: `/inject/cluster/${name}/net/${network}` },
    };
}

function lbGateway(network: string): HelmValues {
    return { name: "istio-eastwestgateway", networkGateway: network, service: { type: "LoadBalancer" } };
}

describe("chart values for the six meshes", () => {
    it("multi-primary, one network: base and istiod per primary, no gateway, no meshNetworks", () => {
        const config = MESHES.multiPrimary();
        const plan = planOf(config);
        for (const name of ["cluster1", "cluster2"]) {
            const c = byName(plan, name);
            assert.deepEqual(baseValues(c, config), {});
            assert.deepEqual(istiodFor(c, plan, config), primaryIstiod(name, "network1"));
            assert.throws(() => eastWestGatewayValues(c, plan, config), /gets no east-west gateway/);
        }
    });

    it("multi-primary, two networks: a networkGateway gateway in each cluster", () => {
        const config = MESHES.multiPrimaryMultiNetwork();
        const plan = planOf(config);
        for (const [name, net] of [
            ["cluster1", "network1"],
            ["cluster2", "network2"],
        ]) {
            const c = byName(plan, name);
            assert.deepEqual(baseValues(c, config), {});
            assert.deepEqual(istiodFor(c, plan, config), primaryIstiod(name, net));
            assert.deepEqual(eastWestGatewayValues(c, plan, config), lbGateway(net));
        }
    });

    it("primary-remote, one network: externalIstiod on the primary, remote profile on the remote", () => {
        const config = MESHES.primaryRemote();
        const plan = planOf(config);
        const p = byName(plan, "cluster1");
        const r = byName(plan, "cluster2");
        assert.deepEqual(baseValues(p, config), {});
        assert.deepEqual(
            istiodFor(p, plan, config),
            primaryIstiod("cluster1", "network1", { global: { externalIstiod: true } }),
        );
        assert.deepEqual(eastWestGatewayValues(p, plan, config), lbGateway("network1"));
        assert.deepEqual(baseValues(r, config), { profile: "remote" });
        assert.deepEqual(istiodFor(r, plan, config), remoteIstiod("cluster2", "network1"));
        assert.throws(() => eastWestGatewayValues(r, plan, config), /gets no east-west gateway/);
    });

    it("primary-remote, two networks: the remote also gets a gateway for its own network", () => {
        const config = MESHES.primaryRemoteMultiNetwork();
        const plan = planOf(config);
        const p = byName(plan, "cluster1");
        const r = byName(plan, "cluster2");
        assert.deepEqual(
            istiodFor(p, plan, config),
            primaryIstiod("cluster1", "network1", { global: { externalIstiod: true } }),
        );
        assert.deepEqual(eastWestGatewayValues(p, plan, config), lbGateway("network1"));
        assert.deepEqual(baseValues(r, config), { profile: "remote" });
        assert.deepEqual(istiodFor(r, plan, config), remoteIstiod("cluster2", "network2"));
        assert.deepEqual(eastWestGatewayValues(r, plan, config), lbGateway("network2"));
    });

    it("mixed: each remote names its own primary's network in the injection path", () => {
        const config = MESHES.mixed();
        const plan = planOf(config);
        assert.deepEqual(istiodFor(byName(plan, "east"), plan, config), primaryIstiod("east", "network1", { global: { externalIstiod: true } }));
        assert.deepEqual(istiodFor(byName(plan, "west"), plan, config), primaryIstiod("west", "network2", { global: { externalIstiod: true } }));
        assert.deepEqual(istiodFor(byName(plan, "east-remote"), plan, config), remoteIstiod("east-remote", "network3"));
        assert.deepEqual(istiodFor(byName(plan, "west-remote"), plan, config), remoteIstiod("west-remote", "network2"));
        for (const [name, net] of [
            ["east", "network1"],
            ["west", "network2"],
            ["east-remote", "network3"],
            ["west-remote", "network2"],
        ]) {
            assert.deepEqual(eastWestGatewayValues(byName(plan, name), plan, config), lbGateway(net));
        }
    }); // prettier-ignore

    it("NodePort: meshNetworks in every primary, fixed node port through service.ports", () => {
        const config = MESHES.nodePort();
        const plan = planOf(config);
        const meshNetworks = {
            network1: { endpoints: [{ fromRegistry: "lan1" }], gateways: [{ address: "192.168.10.11", port: 31443 }] },
            network2: { endpoints: [{ fromRegistry: "lan2" }], gateways: [{ address: "192.168.20.11", port: 32443 }] },
        };
        for (const [name, net, nodePort] of [
            ["lan1", "network1", 31443],
            ["lan2", "network2", 32443],
        ] as const) {
            const c = byName(plan, name);
            assert.deepEqual(istiodFor(c, plan, config), primaryIstiod(name, net, { global: { meshNetworks } }));
            assert.deepEqual(eastWestGatewayValues(c, plan, config), {
                name: "istio-eastwestgateway",
                labels: { "topology.istio.io/network": net },
                env: { ISTIO_META_REQUESTED_NETWORK_VIEW: net },
                service: {
                    type: "NodePort",
                    ports: [
                        { name: "status-port", port: 15021, targetPort: 15021, protocol: "TCP" },
                        { name: "tls", port: 15443, targetPort: 15443, protocol: "TCP", nodePort },
                        { name: "tls-istiod", port: 15012, targetPort: 15012, protocol: "TCP" },
                        { name: "tls-webhook", port: 15017, targetPort: 15017, protocol: "TCP" },
                    ],
                },
            });
        }
    });

    it("a LoadBalancer behind a NAT (address set, two networks): no network label, so meshNetworks alone advertises it", () => {
        // istiod prefers gateways it discovers from labelled Services of the endpoint's own cluster over
        // meshNetworks (ep_filters.go selectNetworkGateways): a labelled Service would be advertised at
        // its load balancer's own ingress and the address ignored.
        const config = meshConfig([
            cluster("eu", { eastWestGateway: { serviceType: "LoadBalancer", address: "203.0.113.10" } }),
            cluster("us", { network: "network2" }),
        ]);
        const plan = planOf(config);
        assert.deepEqual(plan.meshNetworks?.network1.gateways, [{ address: "203.0.113.10", port: 15443 }]);
        const eu = eastWestGatewayValues(byName(plan, "eu"), plan, config);
        assert.deepEqual(eu, {
            name: "istio-eastwestgateway",
            env: { ISTIO_META_REQUESTED_NETWORK_VIEW: "network1" },
            service: {
                type: "LoadBalancer",
                ports: [
                    { name: "status-port", port: 15021, targetPort: 15021, protocol: "TCP" },
                    { name: "tls", port: 15443, targetPort: 15443, protocol: "TCP" },
                    { name: "tls-istiod", port: 15012, targetPort: 15012, protocol: "TCP" },
                    { name: "tls-webhook", port: 15017, targetPort: 15017, protocol: "TCP" },
                ],
            },
        });
        // The other network's gateway has no address: istiod discovers it from its labelled Service.
        assert.deepEqual(eastWestGatewayValues(byName(plan, "us"), plan, config), lbGateway("network2"));
    });

    it("a LoadBalancer with an address on one network (primary-remote) keeps networkGateway: nothing crosses networks", () => {
        const config = meshConfig([
            cluster("cluster1", { eastWestGateway: { serviceType: "LoadBalancer", address: "198.51.100.7" } }),
            cluster("cluster2", { role: "remote" }),
        ]);
        const plan = planOf(config);
        assert.equal(plan.meshNetworks, undefined);
        assert.deepEqual(eastWestGatewayValues(byName(plan, "cluster1"), plan, config), lbGateway("network1"));
    });

    it("every values object holds only keys the chart has", () => {
        for (const mesh of MESH_NAMES) {
            const config = MESHES[mesh]();
            const plan = planOf(config);
            for (const c of plan.clusters) {
                const where = `${mesh}/${c.name}`;
                assertKeysIn(baseValues(c, config), BASE_KEYS, `${where} base`);
                const istiod = istiodFor(c, plan, config);
                assertKeysIn(istiod, ISTIOD_KEYS, `${where} istiod`);
                assertKeysIn(istiod.global, ISTIOD_GLOBAL_KEYS, `${where} istiod.global`);
                if (istiod.istiodRemote) assertKeysIn(istiod.istiodRemote, ISTIOD_REMOTE_KEYS, `${where} istiodRemote`);
                if (!c.eastWestGateway) continue;
                const gw = eastWestGatewayValues(c, plan, config);
                assertKeysIn(gw, GATEWAY_KEYS, `${where} gateway`);
                assertKeysIn(gw.service, GATEWAY_SERVICE_KEYS, `${where} gateway.service`);
                for (const p of ((gw.service as HelmValues).ports as unknown[] | undefined) ?? []) {
                    assertKeysIn(p, GATEWAY_PORT_KEYS, `${where} gateway.service.ports[]`);
                }
            }
        }
    });

    it("a remote's istiod cannot be built without its primary's gateway address", () => {
        const config = MESHES.primaryRemote();
        const plan = planOf(config);
        assert.throws(
            () => istiodValues(byName(plan, "cluster2"), plan, config),
            /primary cluster1.*remotePilotAddress/,
        );
    });

    it("injection path carries cluster and network", () => {
        assert.equal(injectionPath({ name: "c9", network: "n9" }), "/inject/cluster/c9/net/n9");
    });
});

describe("gateway exposure options", () => {
    it("NodePort with a node selector: the nodeSelector annotation as JSON, networkGateway kept", () => {
        const config = meshConfig([
            cluster("a", {
                eastWestGateway: { serviceType: "NodePort", nodeSelector: { zone: "z1", "node-role": "gw" } },
            }),
            cluster("b", { network: "network2" }),
        ]);
        const plan = planOf(config);
        assert.deepEqual(eastWestGatewayValues(byName(plan, "a"), plan, config), {
            name: "istio-eastwestgateway",
            networkGateway: "network1",
            service: {
                type: "NodePort",
                annotations: { "traffic.istio.io/nodeSelector": '{"node-role":"gw","zone":"z1"}' },
            },
        });
        assert.equal(plan.meshNetworks, undefined, "istiod discovers node ExternalIPs itself");
    });

    it("LoadBalancer with annotations and loadBalancerIP, and the revision", () => {
        const config = meshConfig(
            [
                cluster("a", {
                    eastWestGateway: {
                        annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
                        loadBalancerIP: "203.0.113.7",
                    },
                }),
                cluster("b", { network: "network2" }),
            ],
            { revision: "1-30" },
        );
        const plan = planOf(config);
        const a = byName(plan, "a");
        assert.deepEqual(eastWestGatewayValues(a, plan, config), {
            name: "istio-eastwestgateway",
            networkGateway: "network1",
            revision: "1-30",
            service: {
                type: "LoadBalancer",
                annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
                loadBalancerIP: "203.0.113.7",
            },
        });
        assert.equal(istiodFor(a, plan, config).revision, "1-30");
        assert.deepEqual(baseValues(a, config), { defaultRevision: "1-30" });
    });
});

describe("images (issue 11)", () => {
    const images = {
        hub: "registry.corp.example/istio",
        tag: "1.30.3-distroless",
        imagePullSecrets: ["corp-pull", "backup-pull"],
    };

    it("each chart gets the images settings in its own form, and only what it reads", () => {
        for (const mesh of MESH_NAMES) {
            const config = { ...MESHES[mesh](), images };
            const plan = planOf(config);
            for (const c of plan.clusters) {
                const expectedBase: HelmValues = { global: { imagePullSecrets: ["corp-pull", "backup-pull"] } };
                if (c.role === "remote") expectedBase.profile = "remote";
                assert.deepEqual(baseValues(c, config), expectedBase, `${mesh}/${c.name} base`);
                const g = istiodFor(c, plan, config).global as HelmValues;
                assert.equal(g.hub, images.hub);
                assert.equal(g.tag, images.tag);
                assert.deepEqual(g.imagePullSecrets, ["corp-pull", "backup-pull"]);
                if (!c.eastWestGateway) continue;
                const gw = eastWestGatewayValues(c, plan, config);
                // gateway/values.schema.json: imagePullSecrets items are objects with `name`.
                assert.deepEqual(gw.imagePullSecrets, [{ name: "corp-pull" }, { name: "backup-pull" }]);
                assert.equal(gw.global, undefined, "no hub/tag: the gateway image is injected by istiod");
                assert.equal(gw.hub, undefined);
            }
        }
    });

    it("changing images.tag changes only the istiod values, and only global.tag", () => {
        for (const mesh of MESH_NAMES) {
            const before = { ...MESHES[mesh](), images };
            const after = { ...before, images: { ...images, tag: "1.30.4" } };
            const pb = planOf(before);
            const pa = planOf(after);
            assert.deepEqual(pa, pb, "the plan does not depend on images");
            for (const c of pb.clusters) {
                assert.deepEqual(baseValues(c, after), baseValues(c, before));
                if (c.eastWestGateway) assert.deepEqual(eastWestGatewayValues(c, pa, after), eastWestGatewayValues(c, pb, before));
                const ib = istiodFor(c, pb, before);
                const ia = istiodFor(c, pa, after);
                assert.equal((ia.global as HelmValues).tag, "1.30.4");
                assert.deepEqual({ ...ia, global: { ...(ia.global as HelmValues), tag: "x" } }, { ...ib, global: { ...(ib.global as HelmValues), tag: "x" } });
            }
        }
    }); // prettier-ignore
});

describe("DNS proxying (issue 11)", () => {
    it("off by default: no proxyMetadata anywhere", () => {
        assert.deepEqual(dnsProxyMetadata(MESHES.mixed()), {});
    });

    it("lands in meshConfig.defaultConfig.proxyMetadata of every primary and nowhere else", () => {
        for (const mesh of MESH_NAMES) {
            const config = { ...MESHES[mesh](), dnsProxy: { capture: true, autoAllocate: true } };
            const plan = planOf(config);
            for (const c of plan.clusters) {
                const istiod = istiodFor(c, plan, config);
                if (c.role === "primary") {
                    assert.deepEqual(istiod.meshConfig, {
                        trustDomain: "cluster.local",
                        defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", ISTIO_META_DNS_AUTO_ALLOCATE: "true" } },
                    });
                } else {
                    // A remote's proxies take mesh config from their primary; its istiod renders no ConfigMap istio.
                    assert.equal(istiod.meshConfig, undefined);
                }
                assert.ok(!JSON.stringify(baseValues(c, config)).includes("DNS"));
                if (c.eastWestGateway) assert.ok(!JSON.stringify(eastWestGatewayValues(c, plan, config)).includes("DNS"));
            }
        }
    }); // prettier-ignore

    it("capture alone sets only ISTIO_META_DNS_CAPTURE", () => {
        const config = { ...MESHES.multiPrimary(), dnsProxy: { capture: true, autoAllocate: false } };
        assert.deepEqual(dnsProxyMetadata(config), { ISTIO_META_DNS_CAPTURE: "true" });
    });
});

describe("values escape hatches and meshConfig passthrough (issue 11)", () => {
    function withOverrides(): MeshConfig {
        const config = MESHES.primaryRemoteMultiNetwork();
        config.values = {
            istiod: { replicaCount: 2, resources: { requests: { cpu: "1", memory: "2Gi" } }, env: { PILOT_X: "1" } },
            gateway: { autoscaling: { minReplicas: 2, maxReplicas: 4 }, service: { annotations: { a: "mesh" } } },
            base: { base: { validationCABundle: "abc" } },
        };
        config.clusters[0].values = {
            istiod: { resources: { requests: { cpu: "2" } }, env: { PILOT_Y: "2" } },
            gateway: { autoscaling: { maxReplicas: 8 }, service: { annotations: { b: "cluster1" } } },
        };
        return config;
    }

    it("merges deep: per cluster over mesh-wide over the program's values", () => {
        const config = withOverrides();
        const plan = planOf(config);
        const c1 = byName(plan, "cluster1");
        const istiod = istiodFor(c1, plan, config);
        assert.equal(istiod.replicaCount, 2);
        assert.deepEqual(istiod.resources, { requests: { cpu: "2", memory: "2Gi" } });
        assert.deepEqual(istiod.env, { PILOT_X: "1", PILOT_Y: "2" });
        assert.equal((istiod.global as HelmValues).meshID, "mesh1", "program values survive the merge");
        const gw = eastWestGatewayValues(c1, plan, config);
        assert.deepEqual(gw.autoscaling, { minReplicas: 2, maxReplicas: 8 });
        assert.deepEqual(gw.service, { type: "LoadBalancer", annotations: { a: "mesh", b: "cluster1" } });
        assert.deepEqual(baseValues(c1, config), { base: { validationCABundle: "abc" } });
    });

    it("per-cluster values land only in that cluster's releases", () => {
        const config = withOverrides();
        const plan = planOf(config);
        const c2 = byName(plan, "cluster2");
        const istiod = istiodFor(c2, plan, config);
        assert.deepEqual(istiod.resources, { requests: { cpu: "1", memory: "2Gi" } });
        assert.deepEqual(istiod.env, { PILOT_X: "1" });
        assert.deepEqual(eastWestGatewayValues(c2, plan, config).autoscaling, { minReplicas: 2, maxReplicas: 4 });
        assert.deepEqual(baseValues(c2, config), { profile: "remote", base: { validationCABundle: "abc" } });
    });

    it("is deterministic and never mutates the config", () => {
        const config = withOverrides();
        const snapshot = JSON.stringify(config);
        const plan = planOf(config);
        const first = plan.clusters.map((c) => JSON.stringify(istiodFor(c, plan, config)));
        const second = plan.clusters.map((c) => JSON.stringify(istiodFor(c, plan, config)));
        assert.deepEqual(first, second);
        assert.equal(JSON.stringify(config), snapshot);
    });

    it("deepMerge: objects merge, arrays and scalars replace, null replaces", () => {
        const merged = deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } }, { a: { e: null }, d: 2 });
        assert.deepEqual(merged, { a: { b: 1, c: [3], e: null }, d: 2 });
    });

    it("meshConfig passthrough merges into every primary's meshConfig, trust domain kept", () => {
        const config = { ...MESHES.primaryRemote(), meshConfig: { accessLogFile: "/dev/stdout", defaultConfig: { holdApplicationUntilProxyStarts: true } } };
        config.dnsProxy = { capture: true, autoAllocate: false };
        const plan = planOf(config);
        assert.deepEqual(istiodFor(byName(plan, "cluster1"), plan, config).meshConfig, {
            trustDomain: "cluster.local",
            accessLogFile: "/dev/stdout",
            defaultConfig: { holdApplicationUntilProxyStarts: true, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } },
        });
        assert.deepEqual(valueOverrideProblems(config), []);
    }); // prettier-ignore

    it("meshConfig.trustDomain equal to trustDomain is fine; a different one is a problem", () => {
        const same = { ...MESHES.multiPrimary(), meshConfig: { trustDomain: "cluster.local" } };
        assert.deepEqual(valueOverrideProblems(same), []);
        const other = { ...MESHES.multiPrimary(), meshConfig: { trustDomain: "corp.example" } };
        const problems = valueOverrideProblems(other);
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "meshConfig.trustDomain");
        assert.match(problems[0].fix ?? "", /set trustDomain instead/);
        const plan = planOf(other);
        assert.throws(() => istiodFor(plan.clusters[0], plan, other), ConfigValidationError);
    });

    const refused: [string, (c: MeshConfig) => void, string, RegExp][] = [
        ["values.istiod.global.meshID", (c) => (c.values = { istiod: { global: { meshID: "m2" } } }), "values.istiod.global.meshID", /meshId/],
        ["clusterName", (c) => (c.clusters[1].values = { istiod: { global: { multiCluster: { clusterName: "x" } } } }), "clusters[1].values.istiod.global.multiCluster.clusterName", /clusters\[1\]\.name/],
        ["network", (c) => (c.values = { istiod: { global: { network: "n" } } }), "values.istiod.global.network", /clusters\[i\]\.network/],
        ["remotePilotAddress", (c) => (c.clusters[1].values = { istiod: { global: { remotePilotAddress: "10.0.0.1" } } }), "clusters[1].values.istiod.global.remotePilotAddress", /eastWestGateway\.address/],
        ["istiod profile", (c) => (c.values = { istiod: { profile: "demo" } }), "values.istiod.profile", /role/],
        ["base profile", (c) => (c.clusters[0].values = { base: { profile: "remote" } }), "clusters[0].values.base.profile", /clusters\[0\]\.role/],
        ["profile via global", (c) => (c.values = { base: { global: { profile: "remote" } } }), "values.base.global.profile", /role/],
        ["pilot. prefix", (c) => (c.values = { istiod: { pilot: { global: { meshID: "m2" } } } }), "values.istiod.pilot.global.meshID", /meshId/],
        ["externalIstiod", (c) => (c.values = { istiod: { env: { EXTERNAL_ISTIOD: "false" } } }), "values.istiod.env.EXTERNAL_ISTIOD", /controlPlane/],
        ["configCluster", (c) => (c.values = { istiod: { global: { configCluster: false } } }), "values.istiod.global.configCluster", /role/],
        ["injectionPath", (c) => (c.values = { istiod: { istiodRemote: { injectionPath: "/inject" } } }), "values.istiod.istiodRemote.injectionPath", /name and clusters\[i\]\.network/],
        ["meshNetworks", (c) => (c.values = { istiod: { global: { meshNetworks: {} } } }), "values.istiod.global.meshNetworks", /eastWestGateway\.address/],
        ["whole global replaced", (c) => (c.values = { istiod: { global: null } as never }), "values.istiod.global", /merged key by key/],
        ["networkGateway", (c) => (c.clusters[1].values = { gateway: { networkGateway: "other" } }), "clusters[1].values.gateway.networkGateway", /clusters\[1\]\.network/],
        ["networkGateway via global", (c) => (c.values = { gateway: { global: { networkGateway: "other" } } }), "values.gateway.global.networkGateway", /network/],
        ["gateway service.type", (c) => (c.values = { gateway: { service: { type: "ClusterIP" } } }), "values.gateway.service.type", /serviceType/],
        ["gateway nodeSelector annotation", (c) => (c.values = { gateway: { service: { annotations: { "traffic.istio.io/nodeSelector": "{}" } } } }), 'values.gateway.service.annotations["traffic.istio.io/nodeSelector"]', /nodeSelector/],
        ["gateway selector label", (c) => (c.values = { gateway: { labels: { istio: "x" } } }), "values.gateway.labels.istio", /exposure Gateways/],
        ["revision", (c) => (c.values = { gateway: { revision: "x" } }), "values.gateway.revision", /set revision/],
        ["dns via meshConfig", (c) => (c.meshConfig = { defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } } }), "meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE", /dnsProxy\.capture/],
        ["trustDomain via values", (c) => (c.values = { istiod: { meshConfig: { trustDomain: "x" } } }), "values.istiod.meshConfig.trustDomain", /trustDomain/],
    ]; // prettier-ignore

    for (const [what, mutate, path, fix] of refused) {
        it(`refuses ${what}`, () => {
            const config = MESHES.primaryRemoteMultiNetwork();
            mutate(config);
            const problems = valueOverrideProblems(config);
            assert.deepEqual(
                problems.map((p) => p.path),
                [path],
            );
            assert.match(problems[0].fix ?? "", fix);
            // The values builders refuse too, so a caller that skipped validation cannot deploy it.
            const plan = planOf(config);
            assert.throws(() => {
                for (const c of plan.clusters) {
                    baseValues(c, config);
                    istiodFor(c, plan, config);
                    if (c.eastWestGateway) eastWestGatewayValues(c, plan, config);
                }
            }, ConfigValidationError);
        });
    }

    it("unprotected tuning keys are accepted", () => {
        const config = MESHES.mixed();
        config.values = { istiod: { autoscaleMin: 2, pilot: { env: { PILOT_X: "1" } } }, gateway: { autoscaling: { enabled: false }, replicaCount: 3 } };
        config.clusters[2].values = { gateway: { resources: { limits: { cpu: "4" } } } };
        assert.deepEqual(valueOverrideProblems(config), []);
    }); // prettier-ignore
});

describe("chart source (issue 11)", () => {
    const withRepo = (chartRepository: string) => ({ ...MESHES.multiPrimary(), chartRepository });

    it("HTTP(S) repository: chart name + repositoryOpts.repo + version", () => {
        assert.deepEqual(chartSource(withRepo("https://istio-release.storage.googleapis.com/charts"), "istiod"), {
            chart: "istiod",
            version: "1.30.3",
            repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
        });
    });

    it("OCI registry: full oci:// chart reference + version, no repositoryOpts", () => {
        assert.deepEqual(chartSource(withRepo("oci://registry.corp.example/istio/"), "gateway"), {
            chart: "oci://registry.corp.example/istio/gateway",
            version: "1.30.3",
        });
    });

    it("local directory: the archive helm pull writes, version in the file name", () => {
        assert.deepEqual(chartSource(withRepo("/opt/istio-charts"), "base"), {
            chart: "/opt/istio-charts/base-1.30.3.tgz",
        });
        assert.deepEqual(chartSource(withRepo("/opt/istio-charts/"), "istiod"), {
            chart: "/opt/istio-charts/istiod-1.30.3.tgz",
        });
    });

    it("anything else is refused naming chartRepository", () => {
        assert.throws(
            () => chartSource(withRepo("istio-release.storage.googleapis.com/charts"), "base"),
            /chartRepository/,
        );
        assert.throws(() => chartSource(withRepo("./charts"), "base"), /chartRepository/);
    });
});
