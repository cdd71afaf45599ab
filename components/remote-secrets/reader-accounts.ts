/**
 * Pure parts of `remoteSecrets.readerAccounts: perHolder`: in a watched cluster, one reader
 * ServiceAccount per primary that watches it, bound to the chart's read-only ClusterRole, with
 * its own legacy token Secret. Deleting one holder's account (or its binding, or its token
 * Secret) cuts exactly that primary's access; the others keep reading.
 */
import {
    holderReaderAccountName,
    holderReaderTokenSecretName,
    ISTIO_NAMESPACE,
    READER_SERVICE_ACCOUNT,
    READER_TOKEN_SECRET,
    readerClusterRoleName,
    tokenAnchorSecretName,
} from "../plan/naming";
import { RemoteSecretsConfig } from "../config/config";
import {
    ANNOTATION_PULUMI_WAIT_FOR,
    ANNOTATION_SERVICE_ACCOUNT_NAME,
    SERVICE_ACCOUNT_TOKEN_TYPE,
} from "./remote-secrets-manifest";

export type ReaderAccounts = RemoteSecretsConfig["readerAccounts"];

/** Label on every per-holder reader object: which primary it serves (for `kubectl get -l`). */
export const LABEL_READER_HOLDER = "istio-multicluster.pulumi.com/reader-holder";

/** The three objects of one holder's reader account in a watched cluster. */
export interface HolderReaderManifests {
    serviceAccount: {
        apiVersion: "v1";
        kind: "ServiceAccount";
        metadata: { name: string; namespace: string; labels: Record<string, string> };
    };
    clusterRoleBinding: {
        apiVersion: "rbac.authorization.k8s.io/v1";
        kind: "ClusterRoleBinding";
        metadata: { name: string; labels: Record<string, string> };
        roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "ClusterRole"; name: string };
        subjects: { kind: "ServiceAccount"; name: string; namespace: string }[];
    };
    tokenSecret: {
        apiVersion: "v1";
        kind: "Secret";
        metadata: {
            name: string;
            namespace: string;
            labels: Record<string, string>;
            annotations: Record<string, string>;
        };
        type: typeof SERVICE_ACCOUNT_TOKEN_TYPE;
    };
}

/**
 * The reader account of `holder` in a watched cluster. The binding grants exactly the chart's
 * `istio-reader-clusterrole[-<revision>]-istio-system`, so a per-holder account can read what
 * the shared one can, and nothing more. The ClusterRoleBinding is cluster-scoped; its name
 * carries the namespace as the chart's own binding does.
 */
export function holderReaderManifests(holder: string, revision?: string): HolderReaderManifests {
    const name = holderReaderAccountName(holder);
    const labels = { [LABEL_READER_HOLDER]: holder };
    return {
        serviceAccount: {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name, namespace: ISTIO_NAMESPACE, labels },
        },
        clusterRoleBinding: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: `${name}-${ISTIO_NAMESPACE}`, labels },
            roleRef: {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "ClusterRole",
                name: readerClusterRoleName(revision),
            },
            subjects: [{ kind: "ServiceAccount", name, namespace: ISTIO_NAMESPACE }],
        },
        tokenSecret: {
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
                name: holderReaderTokenSecretName(holder),
                namespace: ISTIO_NAMESPACE,
                labels,
                annotations: {
                    [ANNOTATION_SERVICE_ACCOUNT_NAME]: name,
                    [ANNOTATION_PULUMI_WAIT_FOR]: JSON.stringify([
                        "jsonpath={.data.token}",
                        "jsonpath={.data['ca.crt']}",
                    ]),
                },
            },
            type: SERVICE_ACCOUNT_TOKEN_TYPE,
        },
    };
}

/** The Secret a `tokenRequest` token is bound to: no data, it only has to exist. */
export interface TokenAnchorManifest {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "Opaque";
}

/**
 * The anchor of the shared reader account's tokens (`holder` absent) or of one holder's. A
 * TokenRequest token bound to it stops authenticating within seconds of its deletion.
 */
export function tokenAnchorManifest(holder?: string): TokenAnchorManifest {
    const account = holder ? holderReaderAccountName(holder) : READER_SERVICE_ACCOUNT;
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            name: tokenAnchorSecretName(account),
            namespace: ISTIO_NAMESPACE,
            labels: holder ? { [LABEL_READER_HOLDER]: holder } : {},
        },
        type: "Opaque",
    };
}

/** What a holder's kubeconfig about a source authenticates with, for stack outputs and policies. */
export interface ReaderCredentialSummary {
    /** How the token was made (`remoteSecrets.tokenMode`). */
    kind: RemoteSecretsConfig["tokenMode"];
    /** `istio-system/<account>` in the watched cluster that the token authenticates as. */
    account: string;
    /** Secret in the watched cluster that carries the token (legacy) or that it is bound to (tokenRequest). */
    tokenSecret: string;
    /**
     * Expiry (RFC 3339), or `never` for a legacy token. For a `tokenRequest` token the plan does
     * not know it; the stack output takes it from the minted token.
     */
    expires: string;
}

/**
 * Per holder and watched cluster, the credential the holder's remote secret carries. Pure: it
 * follows from the plan's pairs and the settings (a legacy token never expires).
 */
export function readerCredentialSummaries(
    pairs: readonly { holder: string; source: string }[],
    settings: Pick<RemoteSecretsConfig, "readerAccounts" | "tokenMode">,
): Record<string, Record<string, ReaderCredentialSummary>> {
    const out: Record<string, Record<string, ReaderCredentialSummary>> = {};
    const requested = settings.tokenMode === "tokenRequest";
    for (const { holder, source } of pairs) {
        const perHolder = settings.readerAccounts === "perHolder";
        const account = perHolder ? holderReaderAccountName(holder) : READER_SERVICE_ACCOUNT;
        const legacySecret = perHolder ? holderReaderTokenSecretName(holder) : READER_TOKEN_SECRET;
        (out[holder] ??= {})[source] = {
            kind: settings.tokenMode,
            account: `${ISTIO_NAMESPACE}/${account}`,
            tokenSecret: requested ? tokenAnchorSecretName(account) : legacySecret,
            expires: requested ? "set when minted" : "never",
        };
    }
    return out;
}
