import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    crossNetworkGateway,
    exposureObjects,
    istiodGateway,
    istiodVirtualService,
    namespaceMetadata,
} from "../../components/istio/istio-manifests";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { MESH_NAMES, MESHES } from "../istio-fixtures";

/** Validates an Istio object with @kubernetes-models/istio (ESM only, hence the dynamic import). */
async function istioProblems(obj: { kind: string; apiVersion: string }): Promise<string | undefined> {
    const mod = await import(`@kubernetes-models/istio/networking.istio.io/v1/${obj.kind}`);
    try {
        new mod[obj.kind](obj).validate();
        return undefined;
    } catch (e) {
        return String(e);
    }
}

describe("istio-system namespace metadata", () => {
    it("every cluster carries its network label; remotes also name their primary", () => {
        const plan = buildMeshPlan(MESHES.mixed());
        const md = Object.fromEntries(plan.clusters.map((c) => [c.name, namespaceMetadata(c)]));
        assert.deepEqual(md.east, { name: "istio-system", labels: { "topology.istio.io/network": "network1" } });
        assert.deepEqual(md.west, { name: "istio-system", labels: { "topology.istio.io/network": "network2" } });
        assert.deepEqual(md["east-remote"], {
            name: "istio-system",
            labels: { "topology.istio.io/network": "network3" },
            annotations: { "topology.istio.io/controlPlaneClusters": "east" },
        });
        assert.deepEqual(md["west-remote"], {
            name: "istio-system",
            labels: { "topology.istio.io/network": "network2" },
            annotations: { "topology.istio.io/controlPlaneClusters": "west" },
        });
    });

    it("a single-network remote keeps the label too", () => {
        const plan = buildMeshPlan(MESHES.primaryRemote());
        assert.deepEqual(namespaceMetadata(plan.clusters[1]).labels, { "topology.istio.io/network": "network1" });
    });
});

describe("exposure objects (samples/multicluster)", () => {
    it("cross-network-gateway as expose-services.yaml", () => {
        assert.deepEqual(crossNetworkGateway(), {
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: "cross-network-gateway", namespace: "istio-system" },
            spec: {
                selector: { istio: "eastwestgateway" },
                servers: [
                    {
                        port: { number: 15443, name: "tls", protocol: "TLS" },
                        tls: { mode: "AUTO_PASSTHROUGH" },
                        hosts: ["*.local"],
                    },
                ],
            },
        });
    });

    it("istiod-gateway and istiod-vs as expose-istiod.yaml", () => {
        assert.deepEqual(istiodGateway(), {
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: "istiod-gateway", namespace: "istio-system" },
            spec: {
                selector: { istio: "eastwestgateway" },
                servers: [
                    { port: { name: "tls-istiod", number: 15012, protocol: "tls" }, tls: { mode: "PASSTHROUGH" }, hosts: ["*"] },
                    { port: { name: "tls-istiodwebhook", number: 15017, protocol: "tls" }, tls: { mode: "PASSTHROUGH" }, hosts: ["*"] },
                ],
            },
        });
        const host = "istiod.istio-system.svc.cluster.local";
        assert.deepEqual(istiodVirtualService({}), {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "istiod-vs", namespace: "istio-system" },
            spec: {
                hosts: ["*"],
                gateways: ["istiod-gateway"],
                tls: [
                    { match: [{ port: 15012, sniHosts: ["*"] }], route: [{ destination: { host, port: { number: 15012 } } }] },
                    { match: [{ port: 15017, sniHosts: ["*"] }], route: [{ destination: { host, port: { number: 443 } } }] },
                ],
            },
        });
    }); // prettier-ignore

    it("with a revision: istiod-vs-<rev> routing the revisioned istiod by SNI (expose-istiod-rev)", () => {
        const host = "istiod-1-30.istio-system.svc.cluster.local";
        const sniHosts = ["istiod-1-30.istio-system.svc", host];
        assert.deepEqual(istiodVirtualService({ revision: "1-30" }), {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "istiod-vs-1-30", namespace: "istio-system" },
            spec: {
                hosts: ["*"],
                gateways: ["istiod-gateway"],
                tls: [
                    { match: [{ port: 15012, sniHosts }], route: [{ destination: { host, port: { number: 15012 } } }] },
                    { match: [{ port: 15017, sniHosts }], route: [{ destination: { host, port: { number: 443 } } }] },
                ],
            },
        });
    }); // prettier-ignore

    it("each cluster gets exactly the objects its role and the network model call for", () => {
        const expected: Record<string, Record<string, string[]>> = {
            multiPrimary: { cluster1: [], cluster2: [] },
            multiPrimaryMultiNetwork: { cluster1: ["cross-network-gateway"], cluster2: ["cross-network-gateway"] },
            primaryRemote: { cluster1: ["istiod-gateway", "istiod-vs"], cluster2: [] },
            primaryRemoteMultiNetwork: { cluster1: ["cross-network-gateway", "istiod-gateway", "istiod-vs"], cluster2: [] },
            mixed: {
                east: ["cross-network-gateway", "istiod-gateway", "istiod-vs"],
                "east-remote": [],
                west: ["cross-network-gateway", "istiod-gateway", "istiod-vs"],
                "west-remote": [],
            },
            nodePort: { lan1: ["cross-network-gateway"], lan2: ["cross-network-gateway"] },
        };
        for (const mesh of MESH_NAMES) {
            const config = MESHES[mesh]();
            const plan = buildMeshPlan(config);
            const got = Object.fromEntries(plan.clusters.map((c) => [c.name, exposureObjects(c, config).map((o) => o.metadata.name)]));
            assert.deepEqual(got, expected[mesh], mesh);
        }
    }); // prettier-ignore

    it("every exposure object is schema-valid for networking.istio.io/v1", async () => {
        for (const obj of [crossNetworkGateway(), istiodGateway(), istiodVirtualService({}), istiodVirtualService({ revision: "r1" })]) {
            assert.equal(await istioProblems(obj), undefined, `${obj.kind} ${obj.metadata.name}`);
        }
        const broken = crossNetworkGateway();
        (broken.spec.servers as { port: { number: unknown } }[])[0].port.number = "15443";
        assert.notEqual(await istioProblems(broken), undefined, "the validator does reject a bad object");
    }); // prettier-ignore
});
