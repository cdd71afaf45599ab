/**
 * Per-cluster stack outputs of the Istio layer: what was installed where, and the exact commands
 * to check it by hand.
 */
import { ClusterRole, MeshConfig } from "../config/config";
import { istiodVirtualServiceName } from "./istio-manifests";
import { istiodServiceName } from "./istio-values";
import { ClusterPlan } from "../plan/mesh-plan";
import {
    EAST_WEST_GATEWAY,
    ISTIO_NAMESPACE,
    LABEL_NETWORK,
    RELEASE_BASE,
    RELEASE_EAST_WEST_GATEWAY,
    RELEASE_ISTIOD,
} from "../plan/naming";

/** What one cluster reports after `pulumi up`. */
export interface ClusterIstioOutputs {
    role: ClusterRole;
    network: string;
    /** The primary whose istiod serves the cluster (itself for a primary). */
    controlPlane: string;
    istioVersion: string;
    revision?: string;
    /**
     * With `revisions`: every revision this cluster runs (name, chart version, the tags it owns),
     * the default one, and tag → revision.
     */
    revisions?: {
        revisions: { name: string; version: string; tags: string[] }[];
        defaultRevision: string;
        tags: Record<string, string>;
    };
    /** Helm release names in `istio-system`. */
    releases: { base: string; istiod: string; eastWestGateway?: string };
    /** The east-west gateway, when the cluster has one. */
    eastWestGateway?: { address: string; port: number; serviceType: string };
    /** Commands that check this cluster's part of the mesh (kubectl, helm, istioctl). */
    checks: string[];
}

/**
 * How to address the cluster on a command line: its configured kube context, else its kubeconfig
 * file, else nothing (the current context of the default kubeconfig, as the provider uses it).
 */
function target(cluster: ClusterPlan): { kubectl: string; helm: string } {
    const { context, kubeconfig } = cluster.config;
    if (context) return { kubectl: ` --context=${context}`, helm: ` --kube-context=${context}` };
    if (kubeconfig) return { kubectl: ` --kubeconfig=${kubeconfig}`, helm: ` --kubeconfig=${kubeconfig}` };
    return { kubectl: "", helm: "" };
}

/** Outputs of one cluster; `gateway` is the resolved address/port of its east-west gateway, if any. */
export function clusterIstioOutputs(
    cluster: ClusterPlan,
    config: MeshConfig,
    gateway?: { address: string; port: number },
): ClusterIstioOutputs {
    const t = target(cluster);
    const ns = `-n ${ISTIO_NAMESPACE}`;
    // With revisions the checks look at the default revision, which the verification also crosses.
    const scope = cluster.revisions ? { revision: cluster.revisions.defaultRevision } : config;
    const istiod = istiodServiceName(scope);
    const checks = [
        `helm${t.helm} ${ns} ls`,
        `kubectl${t.kubectl} get namespace ${ISTIO_NAMESPACE} -L ${LABEL_NETWORK}`,
    ];
    if (cluster.role === "primary") {
        checks.push(`kubectl${t.kubectl} ${ns} rollout status deployment/${istiod}`);
        // Lists every cluster this istiod watches through a remote secret: all should be `synced`.
        checks.push(`istioctl remote-clusters${t.kubectl}`);
    } else {
        // The remote profile renders Service istiod backed by an EndpointSlice holding the primary's gateway IP.
        checks.push(`kubectl${t.kubectl} ${ns} get service,endpointslice ${istiod}`);
    }
    if (cluster.eastWestGateway) {
        checks.push(`kubectl${t.kubectl} ${ns} get svc ${EAST_WEST_GATEWAY}`);
    }
    const exposure = [
        ...(cluster.crossNetworkGateway ? ["gateway.networking.istio.io/cross-network-gateway"] : []),
        ...(cluster.exposeIstiod
            ? ["gateway.networking.istio.io/istiod-gateway", `virtualservice.networking.istio.io/${istiodVirtualServiceName(scope)}`]
            : []),
    ]; // prettier-ignore
    if (exposure.length > 0) checks.push(`kubectl${t.kubectl} ${ns} get ${exposure.join(" ")}`);

    const out: ClusterIstioOutputs = {
        role: cluster.role,
        network: cluster.network,
        controlPlane: cluster.controlPlane,
        istioVersion: config.istioVersion,
        releases: { base: RELEASE_BASE, istiod: RELEASE_ISTIOD },
        checks,
    };
    if (config.revision) out.revision = config.revision;
    if (cluster.revisions) {
        const r = cluster.revisions;
        out.istioVersion = r.revisions.find((x) => x.isDefault)?.version ?? r.baseVersion;
        out.releases.istiod = `${RELEASE_ISTIOD}-${r.defaultRevision}`;
        out.revisions = {
            revisions: r.revisions.map((x) => ({ name: x.name, version: x.version, tags: [...x.tags] })),
            defaultRevision: r.defaultRevision,
            tags: { ...r.tags },
        };
    }
    if (cluster.eastWestGateway) {
        out.releases.eastWestGateway = RELEASE_EAST_WEST_GATEWAY;
        if (gateway) {
            out.eastWestGateway = { ...gateway, serviceType: cluster.eastWestGateway.serviceType };
        }
    }
    return out;
}
