/**
 * Pure parts of the cross-cluster remote secrets: which Secrets each primary holds, their
 * metadata, the kubeconfig inside them, and how the reader token Secret is declared and read back.
 *
 * Nothing here touches Pulumi, so all of it is tested without mocks; `remote-secrets.ts` only wires
 * these values into resources.
 */
import * as yaml from "js-yaml";
import { RemoteSecretsConfig } from "../config/config";
import {
    ANNOTATION_CONTROL_PLANE_CLUSTERS,
    ANNOTATION_SECRET_CLUSTER,
    ANNOTATION_TOKEN_RENEW_BEFORE_DAYS,
    ISTIO_NAMESPACE,
    LABEL_MULTICLUSTER_SECRET,
    READER_SERVICE_ACCOUNT,
    READER_TOKEN_SECRET,
    remoteSecretObjectName,
    remoteSecretResourceName,
    resourceName,
} from "../plan/naming";

export type RemoteSecretLayout = RemoteSecretsConfig["layout"];
export type ReaderTokenMode = RemoteSecretsConfig["tokenMode"];

/** Secret type the token controller fills with `token`, `ca.crt` and `namespace`. */
export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
/** Annotation that binds a token Secret to its service account. */
export const ANNOTATION_SERVICE_ACCOUNT_NAME = "kubernetes.io/service-account.name";
/** pulumi-kubernetes await override (JSONPath conditions, all of which must hold). */
export const ANNOTATION_PULUMI_WAIT_FOR = "pulumi.com/waitFor";

/**
 * Object name of the single Secret a holder gets in the `perHolder` layout.
 *
 * Deliberately outside istioctl's `istio-remote-secret-<cluster>` namespace: no cluster name can
 * make a per-source name equal to it, so both layouts can coexist in one cluster during a switch
 * and an istioctl-made secret is never overwritten.
 */
export const PER_HOLDER_SECRET_NAME = "istio-remote-secrets";

/** How long the provider waits for the token controller before failing the update. */
export const READER_TOKEN_WAIT_TIMEOUT = "3m";

/** Input of {@link renderRemoteKubeconfig}. */
export interface RemoteKubeconfigInput {
    /** The source cluster's name: cluster, user and context of the kubeconfig are named after it. */
    clusterName: string;
    /** URL of the source API server, reachable from the holder's istiod pods. */
    server: string;
    /** Base64 PEM bundle of the source API server CA, exactly as in the token Secret's `ca.crt`. */
    caData: string;
    /** The reader service account's bearer token (decoded). */
    token: string;
    /** SNI / certificate name to expect when it differs from the host of `server`. */
    tlsServerName?: string;
    /**
     * When the source is a remote: the primary that leads it (its `istio-system` annotation
     * `topology.istio.io/controlPlaneClusters`). Written as a comment line, see
     * {@link renderRemoteKubeconfig}.
     */
    controlPlane?: string;
}

/**
 * Renders the kubeconfig istiod uses to watch a source cluster: one cluster, user and context,
 * all named after the source, authenticating with the reader token only.
 *
 * A remote source's kubeconfig starts with a comment naming the primary that leads it. istiod
 * decides whether it leads a remote (patches its webhooks, writes its `istio-ca-root-cert`
 * ConfigMaps) once, when it starts watching it (`checkShouldLead` in
 * pilot/pkg/serviceregistry/kube/controller/multicluster.go), and starts watching anew only when
 * the kubeconfig's bytes change (pkg/kube/multicluster/secretcontroller.go). Moving a remote to
 * another primary changes the comment, so every primary re-reads the remote's annotation.
 */
export function renderRemoteKubeconfig(input: RemoteKubeconfigInput): string {
    const { clusterName, server, caData, token, tlsServerName, controlPlane } = input;
    if (!clusterName) throw new Error("renderRemoteKubeconfig: clusterName is empty");
    if (!token) throw new Error(`remote kubeconfig for cluster ${clusterName}: the reader token is empty`);
    if (!caData) throw new Error(`remote kubeconfig for cluster ${clusterName}: the API server CA data is empty`);
    assertHttpsUrl(clusterName, server);
    const cluster: Record<string, string> = { server, "certificate-authority-data": caData };
    if (tlsServerName) cluster["tls-server-name"] = tlsServerName;
    const kubeconfig = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster }],
        users: [{ name: clusterName, user: { token } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
    };
    // lineWidth -1: a JWT or a long URL must never be folded across lines.
    const body = yaml.dump(kubeconfig, { lineWidth: -1, noRefs: true });
    return controlPlane ? `# ${ANNOTATION_CONTROL_PLANE_CLUSTERS}: ${controlPlane}\n${body}` : body;
}

function assertHttpsUrl(clusterName: string, server: string): void {
    let url: URL;
    try {
        url = new URL(server);
    } catch {
        throw new Error(
            `remote kubeconfig for cluster ${clusterName}: apiServer ${JSON.stringify(server)} is not a URL`,
        );
    }
    if (url.protocol !== "https:") {
        throw new Error(
            `remote kubeconfig for cluster ${clusterName}: apiServer ${JSON.stringify(server)} must use https ` +
                "(the bearer token would otherwise cross the network in clear text)",
        );
    }
}

/** A Kubernetes Secret as this module declares it (plain data, no Pulumi types). */
export interface SecretManifest {
    apiVersion: "v1";
    kind: "Secret";
    metadata: {
        name: string;
        namespace: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    type: string;
    data?: Record<string, string>;
}

/**
 * The reader token Secret created in every watched cluster. `data` is left to the token
 * controller; the wait annotation makes the provider return only once both keys are filled.
 */
export function readerTokenSecretManifest(): SecretManifest {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            name: READER_TOKEN_SECRET,
            namespace: ISTIO_NAMESPACE,
            annotations: {
                [ANNOTATION_SERVICE_ACCOUNT_NAME]: READER_SERVICE_ACCOUNT,
                [ANNOTATION_PULUMI_WAIT_FOR]: JSON.stringify(["jsonpath={.data.token}", "jsonpath={.data['ca.crt']}"]),
            },
        },
        type: SERVICE_ACCOUNT_TOKEN_TYPE,
    };
}

/** The reader credential read back from a filled token Secret. */
export interface ReaderTokenData {
    /** Decoded bearer token. */
    token: string;
    /** `ca.crt` as stored (base64), ready for `certificate-authority-data`. */
    caData: string;
}

/**
 * Reads `token` and `ca.crt` from the token Secret's `data`. Throws a message that names the
 * cluster and the usual cause instead of writing an empty credential into every primary.
 */
export function parseReaderTokenData(
    cluster: string,
    data: Record<string, string> | undefined,
    names: { secret: string; account: string; owner: string } = {
        secret: READER_TOKEN_SECRET,
        account: READER_SERVICE_ACCOUNT,
        owner: "istio-base release, global.enableReaderRBAC not false",
    },
): ReaderTokenData {
    const where = `${ISTIO_NAMESPACE}/${names.secret} in cluster ${cluster}`;
    const fix =
        `check that ${ISTIO_NAMESPACE}/${names.account} exists (${names.owner}) ` +
        "and that kube-controller-manager runs its token controller";
    const rawToken = data?.["token"];
    const caData = data?.["ca.crt"];
    if (!rawToken) throw new Error(`${where} has no data.token: the token controller did not fill it; ${fix}.`);
    if (!caData) throw new Error(`${where} has no data["ca.crt"]; ${fix}.`);
    const token = Buffer.from(rawToken, "base64").toString("utf8").trim();
    if (!token) throw new Error(`${where}: data.token decodes to an empty string; ${fix}.`);
    return { token, caData };
}

/** One Secret a holder gets: its names and the source clusters (data keys) it carries. */
export interface PlannedRemoteSecret {
    /** Cluster whose istiod reads the Secret. */
    holder: string;
    /** Pulumi resource name (stable: derived from cluster names only). */
    resourceName: string;
    /** Kubernetes object name in `istio-system`. */
    objectName: string;
    /** Source clusters, one data key each (sorted). */
    sources: string[];
}

/**
 * The Secrets `holder` gets for `sources` in the given layout.
 *
 * istiod treats every data key of every labelled Secret as a cluster ID, silently ignores a key
 * equal to its own cluster ID and ignores an ID that another Secret already registered, so a
 * source appearing twice or the holder appearing at all is a bug: both are rejected here.
 */
export function planRemoteSecrets(
    holder: string,
    sources: readonly string[],
    layout: RemoteSecretLayout,
): PlannedRemoteSecret[] {
    const seen = new Set<string>();
    for (const source of sources) {
        if (source === holder) throw new Error(`remote secrets of ${holder}: a cluster never holds one for itself`);
        if (seen.has(source)) throw new Error(`remote secrets of ${holder}: source ${source} is listed twice`);
        seen.add(source);
    }
    const sorted = [...seen].sort();
    if (sorted.length === 0) return [];
    switch (layout) {
        case "perSource":
            return sorted.map((source) => ({
                holder,
                resourceName: remoteSecretResourceName(holder, source),
                objectName: remoteSecretObjectName(source),
                sources: [source],
            }));
        case "perHolder":
            return [
                {
                    holder,
                    resourceName: resourceName(holder, "remote-secrets"),
                    objectName: PER_HOLDER_SECRET_NAME,
                    sources: sorted,
                },
            ];
        default:
            throw new Error(`unknown remote secret layout ${JSON.stringify(layout satisfies never)}`);
    }
}

/**
 * From how many per-source Secrets {@link remoteSecretLayoutAdvice} suggests `perHolder`: about a
 * 15-cluster multi-primary mesh (210), where the Secrets start to outnumber every other resource
 * and cost the program more than the rest of the mesh (README, "Performance").
 */
export const PER_SOURCE_ADVICE_THRESHOLD = 200;

/**
 * A suggestion to switch to `perHolder` when `perSource` makes {@link PER_SOURCE_ADVICE_THRESHOLD}
 * Secrets or more; `undefined` otherwise. Shown by `npm run plan` and warned on every run.
 */
export function remoteSecretLayoutAdvice(
    pairs: readonly { holder: string; source: string }[],
    layout: RemoteSecretLayout,
): string | undefined {
    if (layout !== "perSource" || pairs.length < PER_SOURCE_ADVICE_THRESHOLD) return undefined;
    const holders = new Set(pairs.map((p) => p.holder)).size;
    return (
        `remoteSecrets.layout is perSource: ${pairs.length} remote Secrets, one per watched cluster in each ` +
        `primary, each a resource that every preview registers and diffs (their number grows with the square ` +
        `of the mesh). remoteSecrets.layout: perHolder carries the same kubeconfigs in ${holders} ` +
        `Secret${holders === 1 ? "" : "s"}, one per primary (README, "Which remote-secret layout"). ` +
        `Switching replaces the Secrets; restart istiod afterwards (docs/security.md).`
    );
}

/** Holder → its source clusters, from the plan's `remoteSecretPairs` (holders without sources absent). */
export function remoteSecretSourcesByHolder(
    pairs: readonly { holder: string; source: string }[],
): Map<string, string[]> {
    const byHolder = new Map<string, string[]>();
    for (const { holder, source } of pairs) {
        const list = byHolder.get(holder) ?? [];
        list.push(source);
        byHolder.set(holder, list);
    }
    for (const list of byHolder.values()) list.sort();
    return byHolder;
}

/**
 * Metadata of a remote Secret. The per-source shape is istioctl's (tools such as Kiali read the
 * cluster name from the annotation); a per-holder Secret names several clusters, so it carries no
 * cluster annotation: istiod itself only needs the label and the data keys. With expiring tokens
 * (`tokenRenewBeforeDays`, `tokenMode: tokenRequest`) it says how early they are re-minted.
 */
export function remoteSecretMetadata(
    planned: PlannedRemoteSecret,
    tokenRenewBeforeDays?: number,
): SecretManifest["metadata"] {
    const perSource = planned.objectName !== PER_HOLDER_SECRET_NAME;
    const annotations: Record<string, string> = {
        ...(perSource ? { [ANNOTATION_SECRET_CLUSTER]: planned.sources[0] } : {}),
        ...(tokenRenewBeforeDays !== undefined
            ? { [ANNOTATION_TOKEN_RENEW_BEFORE_DAYS]: String(tokenRenewBeforeDays) }
            : {}),
    };
    return {
        name: planned.objectName,
        namespace: ISTIO_NAMESPACE,
        labels: { [LABEL_MULTICLUSTER_SECRET]: "true" },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    };
}

/**
 * `data` of a remote Secret: key = source cluster name, value = base64 kubeconfig.
 *
 * `data` rather than istioctl's `stringData`: under server-side apply Pulumi then owns each key,
 * so a source dropped from a per-holder Secret is removed from the live object; `stringData` is
 * write-only and converted by the API server, which makes key removal unreliable.
 */
export function remoteSecretData(
    planned: PlannedRemoteSecret,
    kubeconfigs: Record<string, string>,
): Record<string, string> {
    const data: Record<string, string> = {};
    for (const source of planned.sources) {
        const kubeconfig = kubeconfigs[source];
        if (!kubeconfig)
            throw new Error(`remote secret ${planned.objectName} in ${planned.holder}: no kubeconfig for ${source}`);
        data[source] = Buffer.from(kubeconfig, "utf8").toString("base64");
    }
    return data;
}

/** The whole remote Secret manifest (what the component declares, with plain values). */
export function remoteSecretManifest(
    planned: PlannedRemoteSecret,
    kubeconfigs: Record<string, string>,
    tokenRenewBeforeDays?: number,
): SecretManifest {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: remoteSecretMetadata(planned, tokenRenewBeforeDays),
        type: "Opaque",
        data: remoteSecretData(planned, kubeconfigs),
    };
}
