/**
 * The mesh plan: a pure function from validated config to what every cluster gets.
 *
 * Components are built from the plan, `npm run plan` prints it, and policies and tests reason
 * about it. Rules follow Istio's multicluster install guides (see docs/models.md).
 */
import { ClusterConfig, ClusterRole, EastWestGatewayConfig, MeshConfig } from "../config/config";
import { clusterRootName } from "./naming";
import { ClusterRevisions, clusterRevisions } from "./revision-plan";

export type ControlPlaneModel = "multi-primary" | "primary-remote" | "mixed";
export type NetworkModel = "single-network" | "multi-network";

/** Why a cluster gets an east-west gateway. */
export type GatewayPurpose = "cross-network" | "expose-istiod";

/** A step of the deployment, in the order the dependency graph enforces. */
export interface DeploymentWave {
    /** 1-based position. */
    wave: number;
    /** What happens in this wave. */
    description: string;
    /** Clusters that act in this wave. */
    clusters: string[];
}

/** `shared`: one root signs every primary's intermediate; `federated`: every primary has its own root. */
export type TrustModel = "shared" | "federated";

/** Where a primary's root comes from, and whose roots it trusts besides its own. */
export interface PlannedRoot {
    /** `shared` (the mesh root of `ca`), or in a federated mesh `generate`, `import` or `existing`. */
    source: "shared" | "generate" | "import" | "existing";
    /** Pulumi resource name of the root (`ca.name`, or `clusters[].ca.name`). */
    name: string;
    /** Federated: the other primaries, whose roots this istiod trusts (sorted); empty with one shared root. */
    trustsRootsOf: string[];
}

/** What one cluster gets. */
export interface ClusterPlan {
    name: string;
    role: ClusterRole;
    network: string;
    /** The primary whose istiod serves this cluster (itself for a primary). */
    controlPlane: string;
    /** True for primaries: runs istiod and needs a `cacerts` intermediate. */
    runsIstiod: boolean;
    /** Remotes this primary serves (empty for remotes). */
    servedRemotes: string[];
    /** Set when the cluster gets the `istio-eastwestgateway` release. */
    eastWestGateway?: EastWestGatewayConfig & { purposes: GatewayPurpose[] };
    /** `Gateway cross-network-gateway` (expose-services) in this cluster. */
    crossNetworkGateway: boolean;
    /** `Gateway istiod-gateway` + `VirtualService istiod-vs` (expose-istiod) in this cluster. */
    exposeIstiod: boolean;
    /** `global.externalIstiod=true` on this primary's istiod. */
    externalIstiod: boolean;
    /** Some primary watches this cluster, so it gets the reader token Secret. */
    readerTokenSecret: boolean;
    /** Source clusters whose remote secret this cluster holds (sorted). */
    remoteSecretSources: string[];
    /** Primaries that hold a remote secret for this cluster (sorted). */
    watchedBy: string[];
    /** Primaries: their root of trust. Remotes use their primary's. */
    root?: PlannedRoot;
    /** Config as given, for what the plan does not restate (kubeconfig, apiServer, values…). */
    config: ClusterConfig;
    /** With `revisions` in config: the revisions this cluster runs, its tags and default; else absent. */
    revisions?: ClusterRevisions;
}

/** One `networks.<name>` entry of `global.meshNetworks`. */
export interface MeshNetworkEntry {
    endpoints: { fromRegistry: string }[];
    gateways: { address: string; port: number }[];
}

export interface MeshPlan {
    meshId: string;
    /** One root for the whole mesh, or a root per primary (`ca.mode: federated`). */
    trustModel: TrustModel;
    controlPlaneModel: ControlPlaneModel;
    networkModel: NetworkModel;
    /** Network name → clusters on it (sorted). */
    networks: Record<string, string[]>;
    /** Clusters sorted by name: plan order never depends on the order of `clusters` in config. */
    clusters: ClusterPlan[];
    /**
     * `global.meshNetworks` for every primary, or undefined when istiod can discover every gateway
     * from its labelled Service. Only gateways with an explicit `address` can be listed here.
     */
    meshNetworks?: Record<string, MeshNetworkEntry>;
    /** The (holder, source) pairs of remote secrets, sorted by holder then source. */
    remoteSecretPairs: { holder: string; source: string }[];
    waves: DeploymentWave[];
}

/** Port of the east-west gateway's `tls` listener for cross-network mTLS. */
export const CROSS_NETWORK_PORT = 15443;

/** The primary serving a remote: explicit `controlPlane`, else the only primary. */
export function servingPrimaryOf(cluster: ClusterConfig, clusters: readonly ClusterConfig[]): string | undefined {
    if (cluster.role === "primary") return cluster.name;
    if (cluster.controlPlane) return cluster.controlPlane;
    const primaries = clusters.filter((c) => c.role === "primary");
    return primaries.length === 1 ? primaries[0].name : undefined;
}

function byName<T extends { name: string }>(a: T, b: T): number {
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Builds the plan. Expects config that passed validation (every remote has a serving primary).
 */
export function buildMeshPlan(config: MeshConfig): MeshPlan {
    const clusters = [...config.clusters].sort(byName);
    const primaries = clusters.filter((c) => c.role === "primary");
    const remotes = clusters.filter((c) => c.role === "remote");

    const networks: Record<string, string[]> = {};
    for (const c of clusters) (networks[c.network] ??= []).push(c.name);
    const multiNetwork = Object.keys(networks).length > 1;

    const servingPrimary = new Map<string, string>();
    for (const c of clusters) {
        const p = servingPrimaryOf(c, clusters);
        if (!p) throw new Error(`cluster ${c.name}: no serving primary (config was not validated)`);
        servingPrimary.set(c.name, p);
    }

    const controlPlaneModel: ControlPlaneModel =
        remotes.length === 0 ? "multi-primary" : primaries.length === 1 ? "primary-remote" : "mixed";

    // Every primary's istiod watches every other cluster of the mesh: Istio's guides install a
    // remote secret for each one (multi-primary: both ways; primary-remote: the remote in its primary).
    const remoteSecretPairs: { holder: string; source: string }[] = [];
    for (const holder of primaries) {
        for (const source of clusters) {
            if (source.name !== holder.name) remoteSecretPairs.push({ holder: holder.name, source: source.name });
        }
    }

    const plans: ClusterPlan[] = clusters.map((c) => {
        const isPrimary = c.role === "primary";
        const servedRemotes = isPrimary
            ? remotes.filter((r) => servingPrimary.get(r.name) === c.name).map((r) => r.name)
            : [];
        const purposes: GatewayPurpose[] = [];
        if (multiNetwork) purposes.push("cross-network");
        if (servedRemotes.length > 0) purposes.push("expose-istiod");
        return {
            name: c.name,
            role: c.role,
            network: c.network,
            controlPlane: servingPrimary.get(c.name)!,
            runsIstiod: isPrimary,
            servedRemotes,
            eastWestGateway: purposes.length > 0 ? { ...c.eastWestGateway, purposes } : undefined,
            // The Gateway object lives in the config cluster; a remote's gateway reads it from its primary.
            crossNetworkGateway: multiNetwork && isPrimary,
            exposeIstiod: servedRemotes.length > 0,
            externalIstiod: servedRemotes.length > 0,
            readerTokenSecret: remoteSecretPairs.some((p) => p.source === c.name),
            remoteSecretSources: remoteSecretPairs.filter((p) => p.holder === c.name).map((p) => p.source),
            watchedBy: remoteSecretPairs.filter((p) => p.source === c.name).map((p) => p.holder),
            root: isPrimary ? plannedRoot(config, c, primaries) : undefined,
            config: c,
            ...(config.revisions ? { revisions: clusterRevisions(config, c) } : {}),
        };
    });

    return {
        meshId: config.meshId,
        trustModel: config.ca.mode === "federated" ? "federated" : "shared",
        controlPlaneModel,
        networkModel: multiNetwork ? "multi-network" : "single-network",
        networks,
        clusters: plans,
        meshNetworks: buildMeshNetworks(plans, multiNetwork),
        remoteSecretPairs,
        waves: buildWaves(plans),
    };
}

/** A primary's root: the mesh root, or in a federated mesh its own, trusting every other primary's. */
function plannedRoot(config: MeshConfig, cluster: ClusterConfig, primaries: readonly ClusterConfig[]): PlannedRoot {
    if (config.ca.mode !== "federated") return { source: "shared", name: config.ca.name, trustsRootsOf: [] };
    return {
        source: cluster.ca?.mode ?? "generate",
        name: clusterRootName(cluster),
        trustsRootsOf: primaries.filter((p) => p.name !== cluster.name).map((p) => p.name),
    };
}

/**
 * `global.meshNetworks` is only needed where istiod cannot discover a gateway address from the
 * labelled gateway Service: a NodePort gateway without a node selector, or an address the Service
 * does not carry (NAT). Whenever one gateway needs it, every network is listed so that each
 * primary's view is complete and identical.
 */
export function buildMeshNetworks(
    plans: readonly ClusterPlan[],
    multiNetwork: boolean,
): Record<string, MeshNetworkEntry> | undefined {
    if (!multiNetwork) return undefined;
    const explicit = plans.filter((p) => p.eastWestGateway?.address);
    if (explicit.length === 0) return undefined;
    const result: Record<string, MeshNetworkEntry> = {};
    for (const p of plans) {
        const entry = (result[p.network] ??= { endpoints: [], gateways: [] });
        entry.endpoints.push({ fromRegistry: p.name });
        const gw = p.eastWestGateway;
        if (gw?.address) {
            entry.gateways.push({ address: gw.address, port: advertisedGatewayPort(gw) });
        }
    }
    return result;
}

/**
 * Whether a gateway is advertised by meshNetworks alone, its Service carrying no
 * `topology.istio.io/network` label: a LoadBalancer with an explicit `address` on a mesh with
 * meshNetworks. istiod prefers a gateway it discovers from a labelled Service in the endpoint's own
 * cluster (the load balancer's ingress) over the meshNetworks entries, so the label would make it
 * ignore the configured address. A NodePort Service without a node selector yields no address to
 * discover, so it keeps the label.
 */
export function advertisedOnlyInMeshNetworks(
    gw: EastWestGatewayConfig | undefined,
    plan: Pick<MeshPlan, "meshNetworks">,
): boolean {
    return gw?.serviceType === "LoadBalancer" && !!gw.address && plan.meshNetworks !== undefined;
}

/** The port other networks dial: the node port for NodePort gateways, else 15443. */
export function advertisedGatewayPort(gw: EastWestGatewayConfig): number {
    return gw.serviceType === "NodePort" && gw.nodePort ? gw.nodePort : CROSS_NETWORK_PORT;
}

function buildWaves(plans: readonly ClusterPlan[]): DeploymentWave[] {
    const names = (f: (p: ClusterPlan) => boolean) => plans.filter(f).map((p) => p.name);
    const waves: Omit<DeploymentWave, "wave">[] = [
        {
            description: "istio-system namespace (network label), cacerts, istio-base",
            clusters: names(() => true),
        },
        { description: "istiod control planes of the primaries", clusters: names((p) => p.runsIstiod) },
        {
            description: "east-west gateways of the primaries, then cross-network and istiod exposure Gateways",
            clusters: names((p) => p.runsIstiod && p.eastWestGateway !== undefined),
        },
        {
            description: "remote clusters' istiod (remote profile) pointing at their primary's gateway address",
            clusters: names((p) => p.role === "remote"),
        },
        {
            description: "reader tokens in watched clusters, remote secrets in the primaries",
            clusters: names((p) => p.readerTokenSecret || p.remoteSecretSources.length > 0),
        },
        {
            description: "east-west gateways of remote clusters (injected from their primary)",
            clusters: names((p) => p.role === "remote" && p.eastWestGateway !== undefined),
        },
    ];
    return waves.filter((w) => w.clusters.length > 0).map((w, i) => ({ wave: i + 1, ...w }));
}
