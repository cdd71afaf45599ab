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

/** What a holder's kubeconfig about a source authenticates with, for stack outputs and policies. */
export interface ReaderCredentialSummary {
    /**
     * How the token was made. Only legacy token Secrets exist today (`tokenMode: tokenRequest` is
     * refused by validation), so this is always `serviceAccountTokenSecret` and `expires` `never`.
     */
    kind: "serviceAccountTokenSecret";
    /** `istio-system/<account>` in the watched cluster that the token authenticates as. */
    account: string;
    /** Token Secret in the watched cluster that carries it. */
    tokenSecret: string;
    /** Expiry (RFC 3339), or `never` for a legacy token. */
    expires: string;
}

/**
 * Per holder and watched cluster, the credential the holder's remote secret carries. Pure: it
 * follows from the plan's pairs and the settings (a legacy token never expires).
 */
export function readerCredentialSummaries(
    pairs: readonly { holder: string; source: string }[],
    settings: Pick<RemoteSecretsConfig, "readerAccounts">,
): Record<string, Record<string, ReaderCredentialSummary>> {
    const out: Record<string, Record<string, ReaderCredentialSummary>> = {};
    for (const { holder, source } of pairs) {
        const perHolder = settings.readerAccounts === "perHolder";
        (out[holder] ??= {})[source] = {
            kind: "serviceAccountTokenSecret",
            account: `${ISTIO_NAMESPACE}/${perHolder ? holderReaderAccountName(holder) : READER_SERVICE_ACCOUNT}`,
            tokenSecret: perHolder ? holderReaderTokenSecretName(holder) : READER_TOKEN_SECRET,
            expires: "never",
        };
    }
    return out;
}
