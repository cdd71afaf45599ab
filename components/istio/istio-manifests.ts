/**
 * The Kubernetes objects the program writes itself around Istio's charts: the `istio-system`
 * namespace metadata and the exposure objects of Istio's `samples/multicluster` (expose-services.yaml,
 * expose-istiod.yaml, expose-istiod-rev.yaml.tmpl), as plain data for typed custom resources.
 */
import { MeshConfig } from "../config/config";
import { ClusterPlan, CROSS_NETWORK_PORT } from "../plan/mesh-plan";
import {
    ANNOTATION_CONTROL_PLANE_CLUSTERS,
    CROSS_NETWORK_GATEWAY,
    ISTIO_NAMESPACE,
    ISTIOD_GATEWAY,
    ISTIOD_VIRTUAL_SERVICE,
    LABEL_NETWORK,
} from "../plan/naming";
import { EAST_WEST_GATEWAY_SELECTOR, istiodServiceName } from "./istio-values";

/** apiVersion of the exposure objects (the 1.30 samples use v1; v1 is served since Istio 1.22). */
export const ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1";

/** Metadata of `istio-system` in one cluster. */
export interface NamespaceMetadata {
    name: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
}

/**
 * Every cluster's `istio-system` carries its network label (the default network of unlabelled
 * endpoints; istiod's `setNetworkFromNamespace`). A remote also names the primary that leads it,
 * which that primary's istiod (running with EXTERNAL_ISTIOD) checks before patching the remote's
 * webhooks and writing its `istio-ca-root-cert` ConfigMaps.
 */
export function namespaceMetadata(cluster: ClusterPlan): NamespaceMetadata {
    const md: NamespaceMetadata = { name: ISTIO_NAMESPACE, labels: { [LABEL_NETWORK]: cluster.network } };
    if (cluster.role === "remote") md.annotations = { [ANNOTATION_CONTROL_PLANE_CLUSTERS]: cluster.controlPlane };
    return md;
}

/** A namespaced Istio object as plain data. */
export interface IstioObject {
    apiVersion: typeof ISTIO_NETWORKING_API_VERSION;
    kind: "Gateway" | "VirtualService";
    metadata: { name: string; namespace: string };
    spec: Record<string, unknown>;
}

/** `Gateway cross-network-gateway` (expose-services.yaml): mTLS from other networks, SNI-routed. */
export function crossNetworkGateway(): IstioObject {
    return {
        apiVersion: ISTIO_NETWORKING_API_VERSION,
        kind: "Gateway",
        metadata: { name: CROSS_NETWORK_GATEWAY, namespace: ISTIO_NAMESPACE },
        spec: {
            selector: { ...EAST_WEST_GATEWAY_SELECTOR },
            servers: [
                {
                    port: { number: CROSS_NETWORK_PORT, name: "tls", protocol: "TLS" },
                    tls: { mode: "AUTO_PASSTHROUGH" },
                    hosts: ["*.local"],
                },
            ],
        },
    };
}

/** `Gateway istiod-gateway` (expose-istiod.yaml; the revision template uses the same Gateway). */
export function istiodGateway(): IstioObject {
    const server = (name: string, number: number) => ({
        port: { name, number, protocol: "tls" },
        tls: { mode: "PASSTHROUGH" },
        hosts: ["*"],
    });
    return {
        apiVersion: ISTIO_NETWORKING_API_VERSION,
        kind: "Gateway",
        metadata: { name: ISTIOD_GATEWAY, namespace: ISTIO_NAMESPACE },
        spec: {
            selector: { ...EAST_WEST_GATEWAY_SELECTOR },
            servers: [server("tls-istiod", 15012), server("tls-istiodwebhook", 15017)],
        },
    };
}

/** Kubernetes name of the istiod VirtualService: `istiod-vs`, or `istiod-vs-<rev>` (expose-istiod-rev). */
export function istiodVirtualServiceName(config: Pick<MeshConfig, "revision">): string {
    return config.revision ? `${ISTIOD_VIRTUAL_SERVICE}-${config.revision}` : ISTIOD_VIRTUAL_SERVICE;
}

/**
 * `VirtualService istiod-vs` (expose-istiod.yaml): xDS 15012 and the webhook port 15017 (istiod
 * Service port 443) passed through to istiod. With a revision (expose-istiod-rev.yaml.tmpl) the SNI
 * must name the revisioned istiod, so several revisions can share the gateway.
 */
export function istiodVirtualService(config: Pick<MeshConfig, "revision">): IstioObject {
    const service = istiodServiceName(config);
    const host = `${service}.${ISTIO_NAMESPACE}.svc.cluster.local`;
    const sniHosts = config.revision ? [`${service}.${ISTIO_NAMESPACE}.svc`, host] : ["*"];
    const route = (port: number, targetPort: number) => ({
        match: [{ port, sniHosts: [...sniHosts] }],
        route: [{ destination: { host, port: { number: targetPort } } }],
    });
    return {
        apiVersion: ISTIO_NETWORKING_API_VERSION,
        kind: "VirtualService",
        metadata: { name: istiodVirtualServiceName(config), namespace: ISTIO_NAMESPACE },
        spec: {
            hosts: ["*"],
            gateways: [ISTIOD_GATEWAY],
            tls: [route(15012, 15012), route(15017, 443)],
        },
    };
}

/** The exposure objects one cluster gets, per the plan. */
export function exposureObjects(cluster: ClusterPlan, config: Pick<MeshConfig, "revision">): IstioObject[] {
    const objects: IstioObject[] = [];
    if (cluster.crossNetworkGateway) objects.push(crossNetworkGateway());
    if (cluster.exposeIstiod && cluster.revisions) {
        // One istiod-gateway; per revision an istiod-vs-<name> routing SNI istiod-<name>.istio-system.svc
        // (samples/multicluster/expose-istiod-rev.yaml.tmpl), so each remote reaches its revision's istiod.
        objects.push(istiodGateway());
        for (const r of cluster.revisions.revisions) objects.push(istiodVirtualService({ revision: r.name }));
    } else if (cluster.exposeIstiod) objects.push(istiodGateway(), istiodVirtualService(config));
    return objects;
}
