/**
 * A stack as the stack policies see it: every resource with plain (unknown-safe) properties and
 * its cluster, plus views of the Istio pieces (istiod and east-west gateway releases, exposure
 * Gateways, remote secrets) grouped by Kubernetes provider, i.e. by cluster.
 *
 * Imports only `@pulumi/policy` and node built-ins (see inspect.ts).
 */
import { PolicyResource } from "@pulumi/policy";
import {
    HELM_RELEASE_TYPE,
    HelmReleaseView,
    ISTIO_GATEWAY_TYPE,
    ISTIO_VIRTUAL_SERVICE_TYPE,
    Maybe,
    NAMESPACE_TYPE,
    SECRET_TYPE,
    SERVICE_TYPE,
    UNKNOWN,
    Unknown,
    at,
    helmRelease,
    isRemoteProfile,
    isTrue,
    isUnknown,
    objectName,
    plainProps,
    recordAt,
    secretEntries,
    stringAt,
} from "./inspect";

/*
 * Names and labels below repeat components/plan/naming.ts on purpose: the pack is installed and run on
 * its own (`npm ci --prefix policies`, `pulumi preview --policy-pack policies`), so it cannot
 * import the program. test/policies.test.ts fails if the two copies drift apart.
 */
/** Suffix of the Pulumi name of a cluster's Kubernetes provider (`<cluster>-k8s`). */
export const PROVIDER_SUFFIX = "-k8s";
export const ISTIO_NAMESPACE = "istio-system";
export const CACERTS_SECRET = "cacerts";
export const EAST_WEST_GATEWAY = "istio-eastwestgateway";
export const CROSS_NETWORK_GATEWAY = "cross-network-gateway";
export const ISTIOD_GATEWAY = "istiod-gateway";
export const ISTIOD_VIRTUAL_SERVICE = "istiod-vs";
export const LABEL_NETWORK = "topology.istio.io/network";
export const LABEL_MULTICLUSTER_SECRET = "istio/multiCluster";
export const ANNOTATION_CONTROL_PLANE_CLUSTERS = "topology.istio.io/controlPlaneClusters";
/** The four keys of Istio's plug-in CA Secret. */
export const CACERTS_KEYS = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"] as const;

export const PROVIDER_TYPE_K8S = "pulumi:providers:kubernetes";
export const NAMESPACE_PATCH_TYPE = "kubernetes:core/v1:NamespacePatch";

/** Cluster name from a provider's Pulumi name (`<cluster>-k8s`), or undefined for other names. */
export function clusterOfProviderName(providerName: string | undefined): string | undefined {
    if (!providerName || !providerName.endsWith(PROVIDER_SUFFIX)) return undefined;
    const cluster = providerName.slice(0, -PROVIDER_SUFFIX.length);
    return cluster === "" ? undefined : cluster;
}

/** What every resource, of a resource rule or a stack rule, says about itself and its provider. */
export interface ResourceIdentity {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    /** URN of its provider, the grouping key for "same cluster". */
    providerUrn?: string;
    providerName?: string;
    /** Cluster from the provider name (`<cluster>-k8s`). */
    cluster?: string;
}

/** One resource of the stack with plain properties. */
export interface StackNode extends ResourceIdentity {
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
}

/** The identity of a resource as the engine hands it to a policy, with plain properties. */
export function resourceIdentity(r: {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    provider?: { urn: string; name: string };
}): ResourceIdentity {
    return {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: plainProps(r.props),
        providerUrn: r.provider?.urn,
        providerName: r.provider?.name,
        cluster: clusterOfProviderName(r.provider?.name),
    };
}

export function toStackNodes(resources: readonly PolicyResource[]): StackNode[] {
    return resources.map((r) => ({
        ...resourceIdentity(r),
        dependencies: (r.dependencies ?? []).map((d) => d.urn),
        propertyDependencies: Object.fromEntries(
            Object.entries(r.propertyDependencies ?? {}).map(([k, v]) => [k, v.map((d) => d.urn)]),
        ),
    }));
}

/** How a cluster is named in messages: its cluster name, else its provider, else its resource. */
export function where(node: StackNode): string {
    if (node.cluster) return `cluster ${node.cluster}`;
    if (node.providerName) return `provider ${node.providerName}`;
    return `resource ${node.name} (no provider)`;
}

/** An istiod Helm release. */
export interface IstiodRelease {
    node: StackNode;
    release: HelmReleaseView;
    remote: boolean | Unknown;
    clusterName: Maybe<string>;
    network: Maybe<string>;
    meshID: Maybe<string>;
    trustDomain: Maybe<string>;
    remotePilotAddress: Maybe<string>;
    externalIstiod: boolean | Unknown;
}

/** An east-west gateway Helm release (chart `gateway`). */
export interface EastWestGateway {
    node: StackNode;
    release: HelmReleaseView;
    /**
     * `networkGateway`; else the network label (the program sets the ports itself for a fixed node
     * port); else the network view its pods request (`env.ISTIO_META_REQUESTED_NETWORK_VIEW`: a
     * gateway advertised by meshNetworks alone carries no label).
     */
    network: Maybe<string>;
    serviceType: Maybe<string>;
}

/** The Istio-relevant view of a stack. */
export interface MeshGraph {
    nodes: StackNode[];
    releases: { node: StackNode; release: HelmReleaseView }[];
    istiods: IstiodRelease[];
    gateways: EastWestGateway[];
    /** Secrets labelled `istio/multiCluster: "true"`. */
    remoteSecrets: StackNode[];
}

function externalIstiodOf(values: Record<string, unknown> | Unknown): boolean | Unknown {
    if (isUnknown(values)) return UNKNOWN;
    const candidates = [
        at(values, "global", "externalIstiod"),
        at(values, "env", "EXTERNAL_ISTIOD"),
        at(values, "pilot", "env", "EXTERNAL_ISTIOD"),
    ];
    if (candidates.some(isTrue)) return true;
    if (candidates.some(isUnknown)) return UNKNOWN;
    return false;
}

/** True for a `gateway` chart release that is the east-west gateway (by name or network role). */
export function isEastWestGatewayRelease(release: HelmReleaseView): boolean {
    if (release.chart !== "gateway") return false;
    const gatewayName = stringAt(release.values, "name");
    if (gatewayName === EAST_WEST_GATEWAY) return true;
    if (gatewayName === undefined && release.releaseName === EAST_WEST_GATEWAY) return true;
    return isSet(stringAt(release.values, "networkGateway"));
}

/** A set value: unknown (preview) or a non-empty string. */
function isSet(value: unknown): value is string | Unknown {
    return isUnknown(value) || (typeof value === "string" && value !== "");
}

function gatewayNetwork(values: Record<string, unknown> | Unknown): Maybe<string> {
    const networkGateway = stringAt(values, "networkGateway");
    if (isSet(networkGateway)) return networkGateway;
    const labels = recordAt(values, "labels");
    if (isUnknown(labels)) return UNKNOWN;
    const label = labels?.[LABEL_NETWORK];
    if (isSet(label)) return label;
    const view = stringAt(values, "env", "ISTIO_META_REQUESTED_NETWORK_VIEW");
    return isSet(view) ? view : undefined;
}

function hasMultiClusterLabel(node: StackNode): boolean {
    const labels = recordAt(node.props, "metadata", "labels");
    if (isUnknown(labels) || !labels) return false;
    return labels[LABEL_MULTICLUSTER_SECRET] === "true";
}

export function buildMeshGraph(nodes: StackNode[]): MeshGraph {
    const releases = nodes
        .filter((n) => n.type === HELM_RELEASE_TYPE)
        .map((node) => ({ node, release: helmRelease(node.props, node.name) }));
    const istiods: IstiodRelease[] = releases
        .filter((r) => r.release.chart === "istiod")
        .map(({ node, release }) => ({
            node,
            release,
            remote: isRemoteProfile(release.values),
            clusterName: stringAt(release.values, "global", "multiCluster", "clusterName"),
            network: stringAt(release.values, "global", "network"),
            meshID: stringAt(release.values, "global", "meshID"),
            trustDomain: stringAt(release.values, "meshConfig", "trustDomain"),
            remotePilotAddress: stringAt(release.values, "global", "remotePilotAddress"),
            externalIstiod: externalIstiodOf(release.values),
        }));
    const gateways: EastWestGateway[] = releases
        .filter((r) => isEastWestGatewayRelease(r.release))
        .map(({ node, release }) => ({
            node,
            release,
            network: gatewayNetwork(release.values),
            serviceType: stringAt(release.values, "service", "type"),
        }));
    const remoteSecrets = nodes.filter((n) => n.type === SECRET_TYPE && hasMultiClusterLabel(n));
    return { nodes, releases, istiods, gateways, remoteSecrets };
}

/** Resources on the same provider (same cluster) as `node`. */
export function onSameProvider(graph: MeshGraph, node: StackNode): StackNode[] {
    if (!node.providerUrn) return [];
    return graph.nodes.filter((n) => n.providerUrn === node.providerUrn);
}

/** Istio objects of a kind and name on a provider: known names only (an unknown name yields UNKNOWN). */
export function findIstioObject(
    graph: MeshGraph,
    providerUrn: string | undefined,
    type: RegExp,
    name: (n: string) => boolean,
): StackNode | Unknown | undefined {
    if (!providerUrn) return undefined;
    let sawUnknown = false;
    for (const n of graph.nodes) {
        if (n.providerUrn !== providerUrn || !type.test(n.type)) continue;
        const objName = objectName(n.props);
        if (isUnknown(objName)) sawUnknown = true;
        else if (objName !== undefined && name(objName)) return n;
    }
    return sawUnknown ? UNKNOWN : undefined;
}

export function crossNetworkGatewayOn(graph: MeshGraph, providerUrn?: string): StackNode | Unknown | undefined {
    return findIstioObject(graph, providerUrn, ISTIO_GATEWAY_TYPE, (n) => n === CROSS_NETWORK_GATEWAY);
}

export function istiodGatewayOn(graph: MeshGraph, providerUrn?: string): StackNode | Unknown | undefined {
    return findIstioObject(graph, providerUrn, ISTIO_GATEWAY_TYPE, (n) => n === ISTIOD_GATEWAY);
}

/** `istiod-vs`, or `istiod-vs-<revision>` (Istio's expose-istiod-rev template). */
export function istiodVirtualServiceOn(graph: MeshGraph, providerUrn?: string): StackNode | Unknown | undefined {
    return findIstioObject(
        graph,
        providerUrn,
        ISTIO_VIRTUAL_SERVICE_TYPE,
        (n) => n === ISTIOD_VIRTUAL_SERVICE || n.startsWith(`${ISTIOD_VIRTUAL_SERVICE}-`),
    );
}

/**
 * Addresses at which a cluster's east-west gateway is known to be reachable: the load-balancer
 * ingress and external IPs of the `istio-eastwestgateway` Service (created or read), the
 * release's requested `loadBalancerIP`/`externalIPs`, and the `global.meshNetworks` gateway
 * addresses its istiod lists for its own network.
 */
export function gatewayAddresses(graph: MeshGraph, istiod: IstiodRelease): { known: Set<string>; unknown: boolean } {
    const known = new Set<string>();
    let unknown = false;
    const add = (v: unknown) => {
        if (isUnknown(v)) unknown = true;
        else if (typeof v === "string" && v !== "") known.add(v);
    };
    const addList = (v: unknown) => {
        if (isUnknown(v)) unknown = true;
        else if (Array.isArray(v)) v.forEach(add);
    };
    const providerUrn = istiod.node.providerUrn;
    for (const n of graph.nodes) {
        if (!providerUrn || n.providerUrn !== providerUrn || n.type !== SERVICE_TYPE) continue;
        const name = objectName(n.props);
        if (isUnknown(name)) {
            unknown = true;
            continue;
        }
        if (name !== EAST_WEST_GATEWAY) continue;
        const ingress = at(n.props, "status", "loadBalancer", "ingress");
        if (isUnknown(ingress)) unknown = true;
        else if (Array.isArray(ingress)) {
            for (const i of ingress) {
                add(at(i, "ip"));
                add(at(i, "hostname"));
            }
        }
        addList(at(n.props, "spec", "externalIPs"));
    }
    for (const gw of graph.gateways) {
        if (gw.node.providerUrn !== providerUrn) continue;
        add(at(gw.release.values, "service", "loadBalancerIP"));
        addList(at(gw.release.values, "service", "externalIPs"));
    }
    const network = istiod.network;
    if (typeof network === "string") {
        const gws = at(istiod.release.values, "global", "meshNetworks", network, "gateways");
        if (isUnknown(gws)) unknown = true;
        else if (Array.isArray(gws)) gws.forEach((g) => add(at(g, "address")));
    }
    return { known, unknown };
}

/** The `topology.istio.io/controlPlaneClusters` annotation of `istio-system` on a provider. */
export function controlPlaneClustersOn(graph: MeshGraph, providerUrn?: string): string[] | Unknown | undefined {
    if (!providerUrn) return undefined;
    for (const n of graph.nodes) {
        if (n.providerUrn !== providerUrn) continue;
        if (n.type !== NAMESPACE_TYPE && n.type !== NAMESPACE_PATCH_TYPE) continue;
        const name = objectName(n.props);
        if (isUnknown(name)) return UNKNOWN;
        if (name !== ISTIO_NAMESPACE) continue;
        const value = stringAt(n.props, "metadata", "annotations", ANNOTATION_CONTROL_PLANE_CLUSTERS);
        if (isUnknown(value)) return UNKNOWN;
        if (value === undefined) return undefined;
        return value
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "");
    }
    return undefined;
}

/** Data keys (cluster IDs) of the remote secrets held on a provider; UNKNOWN if any is not known yet. */
export function remoteSecretKeysOn(graph: MeshGraph, providerUrn?: string): Set<string> | Unknown {
    const keys = new Set<string>();
    for (const s of graph.remoteSecrets) {
        if (s.providerUrn !== providerUrn) continue;
        const entries = secretEntries(s.props);
        if (isUnknown(entries)) return UNKNOWN;
        for (const k of entries.keys()) keys.add(k);
    }
    return keys;
}
