/**
 * Names of the Kubernetes objects Istio expects, and of the Pulumi resources the program makes.
 *
 * Object names are fixed by Istio; Pulumi resource names always derive from the cluster name
 * (never from its position in `clusters`), so reordering the config changes no URN.
 */

export const ISTIO_NAMESPACE = "istio-system";
export const CACERTS_SECRET = "cacerts";
export const EAST_WEST_GATEWAY = "istio-eastwestgateway";
export const CROSS_NETWORK_GATEWAY = "cross-network-gateway";
export const ISTIOD_GATEWAY = "istiod-gateway";
export const ISTIOD_VIRTUAL_SERVICE = "istiod-vs";
export const READER_SERVICE_ACCOUNT = "istio-reader-service-account";
export const READER_TOKEN_SECRET = "istio-reader-service-account-istio-remote-secret-token";
export const REMOTE_SECRET_PREFIX = "istio-remote-secret-";

/** Helm release names, as in Istio's install guides. */
export const RELEASE_BASE = "istio-base";
export const RELEASE_ISTIOD = "istiod";
export const RELEASE_EAST_WEST_GATEWAY = "istio-eastwestgateway";

export const LABEL_NETWORK = "topology.istio.io/network";
export const ANNOTATION_CONTROL_PLANE_CLUSTERS = "topology.istio.io/controlPlaneClusters";
export const LABEL_MULTICLUSTER_SECRET = "istio/multiCluster";
export const ANNOTATION_SECRET_CLUSTER = "networking.istio.io/cluster";
export const ANNOTATION_NODE_SELECTOR = "traffic.istio.io/nodeSelector";
/**
 * On a remote Secret whose tokens expire (`tokenMode: tokenRequest`): how many days before expiry
 * the program re-mints them (`remoteSecrets.renewBeforeDays`), the margin the policy pack holds
 * each token to.
 */
export const ANNOTATION_TOKEN_RENEW_BEFORE_DAYS = "istio-multicluster.io/token-renew-before-days";

/** Pulumi resource name of a per-cluster resource: `<cluster>-<what>`. */
export function resourceName(cluster: string, what: string): string {
    return `${cluster}-${what}`;
}

/** Pulumi resource name of a remote secret held by `holder` about `source`. */
export function remoteSecretResourceName(holder: string, source: string): string {
    return `${holder}-remote-secret-${source}`;
}

/** Kubernetes name of the remote secret about `source` (per-source layout, as istioctl). */
export function remoteSecretObjectName(source: string): string {
    return `${REMOTE_SECRET_PREFIX}${source}`;
}

/** Pulumi resource name of the Kubernetes provider of a cluster: `<cluster>-k8s`. */
export function providerResourceName(cluster: string): string {
    return `${cluster}-k8s`;
}

/**
 * Pulumi resource name of a primary's own root in a federated mesh (`clusters[].ca.name`, default
 * `<cluster>-root`); the stem of the root key's and certificate's names, so part of their URNs.
 */
export function clusterRootName(cluster: { name: string; ca?: { name?: string } }): string {
    return cluster.ca?.name ?? `${cluster.name}-root`;
}

/**
 * Reader ServiceAccount, in a watched cluster, of one primary (`remoteSecrets.readerAccounts:
 * perHolder`). The `for-` infix keeps it apart from the chart's `istio-reader-service-account`
 * whatever the primary is called.
 */
export function holderReaderAccountName(holder: string): string {
    return `istio-reader-for-${holder}`;
}

/** The legacy token Secret of {@link holderReaderAccountName}. */
export function holderReaderTokenSecretName(holder: string): string {
    return `${holderReaderAccountName(holder)}-token`;
}

/**
 * `tokenMode: tokenRequest`: the Secret a reader account's tokens are bound to (deleting it
 * revokes them), `<account>-token-anchor`.
 */
export function tokenAnchorSecretName(account: string): string {
    return `${account}-token-anchor`;
}

/**
 * The read-only ClusterRole the `istiod` chart renders for remote-secret readers:
 * `istio-reader-clusterrole[-<revision>]-<namespace>`; a per-holder account is bound to it.
 */
export function readerClusterRoleName(revision?: string): string {
    return `istio-reader-clusterrole${revision ? `-${revision}` : ""}-${ISTIO_NAMESPACE}`;
}

/** Pulumi resource name of a per-holder reader object in `source`: `<source>-reader-<what>-<holder>`. */
export function holderReaderResourceName(
    source: string,
    what: "account" | "binding" | "token" | "token-anchor" | "token-request",
    holder: string,
): string {
    return `${source}-reader-${what}-${holder}`;
}
