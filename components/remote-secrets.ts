/**
 * Cross-cluster remote secrets: the reader token in every watched cluster and, in every primary,
 * the labelled Secrets whose kubeconfigs let its istiod watch the other clusters.
 *
 * The values (kubeconfig, metadata, which Secrets a holder gets) live in
 * `remote-secrets-manifest.ts`; these components only turn them into resources.
 *
 * Token modes: today only `serviceAccountTokenSecret` ({@link ClusterReaderToken}, what istioctl
 * does: a long-lived legacy token). A TokenRequest mode with an expiry can be added later as a
 * separate component type that also implements {@link RemoteReaderCredential}, whose resources
 * get different names (e.g. `<cluster>-reader-token-request`). Switching modes then creates the
 * new credential, updates every holder's Secret in place (same names, new kubeconfig) and deletes
 * the old token Secret, which revokes the legacy token; no state surgery or alias is needed.
 * See docs/security.md.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    PlannedRemoteSecret,
    READER_TOKEN_WAIT_TIMEOUT,
    RemoteSecretLayout,
    parseReaderTokenData,
    planRemoteSecrets,
    readerTokenSecretManifest,
    remoteSecretData,
    remoteSecretMetadata,
    renderRemoteKubeconfig,
} from "./remote-secrets-manifest";
import { resourceName } from "./naming";

export * from "./remote-secrets-manifest";

/** What a holder needs from a source cluster to build its kubeconfig (any token mode). */
export interface RemoteReaderCredential {
    /** The reader service account's bearer token, decoded. Always a Pulumi secret. */
    readonly token: pulumi.Output<string>;
    /** Base64 PEM bundle of the source API server CA (`certificate-authority-data`). A Pulumi secret. */
    readonly caData: pulumi.Output<string>;
    /** Resources that must exist before a holder's Secret refers to this credential. */
    readonly dependencies: pulumi.Resource[];
}

export interface ClusterReaderTokenArgs {
    /** Name of the source cluster (config `clusters[].name`); Pulumi names derive from it. */
    clusterName: string;
    /** Kubernetes provider of the source cluster. */
    provider: k8s.Provider;
    /**
     * The source cluster's `istio-base` and `istiod` releases: they create
     * `istio-reader-service-account` and its ClusterRole. Without the account the token controller
     * never fills the Secret (and deletes it).
     */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * `istio-system/istio-reader-service-account-istio-remote-secret-token` in one source cluster: a
 * legacy service-account token Secret, as `istioctl create-remote-secret` creates on Kubernetes
 * 1.24+. Outputs the token and CA data, both secret.
 */
export class ClusterReaderToken extends pulumi.ComponentResource implements RemoteReaderCredential {
    /** The token Secret (its `data` is filled by the token controller and is a secret output). */
    public readonly secret: k8s.core.v1.Secret;
    /** The decoded bearer token of `istio-reader-service-account`. Secret. */
    public readonly token: pulumi.Output<string>;
    /** `ca.crt` of the token Secret, base64 as stored. Secret. */
    public readonly caData: pulumi.Output<string>;
    public readonly dependencies: pulumi.Resource[];

    constructor(name: string, args: ClusterReaderTokenArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:remote:ClusterReaderToken", name, {}, opts);
        const manifest = readerTokenSecretManifest();
        this.secret = new k8s.core.v1.Secret(
            resourceName(args.clusterName, "reader-token"),
            { metadata: manifest.metadata, type: manifest.type },
            {
                parent: this,
                provider: args.provider,
                dependsOn: args.dependsOn,
                additionalSecretOutputs: ["data", "stringData"],
                // Fixed object name: a replacement (`pulumi up --replace` to rotate) must delete the
                // old Secret, which also invalidates the old token, before creating the new one.
                deleteBeforeReplace: true,
                // The wait annotation replaces the provider's built-in 5 s wait for this type; bound it.
                customTimeouts: { create: READER_TOKEN_WAIT_TIMEOUT, update: READER_TOKEN_WAIT_TIMEOUT },
            },
        );
        const parsed = this.secret.data.apply((data) => parseReaderTokenData(args.clusterName, data));
        this.token = pulumi.secret(parsed.apply((p) => p.token));
        this.caData = pulumi.secret(parsed.apply((p) => p.caData));
        this.dependencies = [this.secret];
        this.registerOutputs({ token: this.token, caData: this.caData });
    }
}

/** One source cluster a holder watches. */
export interface RemoteSecretSource {
    /** Source cluster name: data key and kubeconfig cluster/user/context name. */
    name: string;
    /** API server URL of the source as reachable from the holder's pods (config `apiServer`). */
    apiServer: pulumi.Input<string>;
    /** Optional TLS server name when the certificate does not cover the host of `apiServer`. */
    tlsServerName?: pulumi.Input<string>;
    /** The source's reader credential (a {@link ClusterReaderToken} today). */
    reader: RemoteReaderCredential;
}

export interface RemoteSecretsArgs {
    /** Cluster that holds the Secrets (a primary; its istiod reads them). */
    holder: string;
    /** Clusters the holder watches: `plan.clusters[].remoteSecretSources`. Never the holder itself. */
    sources: RemoteSecretSource[];
    /** `remoteSecrets.layout`: one Secret per source (istioctl's shape) or one per holder. */
    layout: RemoteSecretLayout;
    /** Kubernetes provider of the holder cluster. */
    provider: k8s.Provider;
    /** The holder's `istio-system` namespace (and anything else the Secrets must follow). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The remote secrets one holder gets. Kubeconfigs carry only each source's reader token, never
 * the credentials of the user's own kubeconfig.
 */
export class RemoteSecrets extends pulumi.ComponentResource {
    /** Every Secret created in the holder. */
    public readonly secrets: k8s.core.v1.Secret[];
    /** Source cluster → the Secret that carries its kubeconfig (one shared Secret in `perHolder`). */
    public readonly secretsBySource: Record<string, k8s.core.v1.Secret>;
    /** Source cluster → rendered kubeconfig. Secret. */
    public readonly kubeconfigs: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: RemoteSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:remote:RemoteSecrets", name, {}, opts);
        const planned = planRemoteSecrets(
            args.holder,
            args.sources.map((s) => s.name),
            args.layout,
        );
        const byName = new Map(args.sources.map((s) => [s.name, s]));

        this.kubeconfigs = {};
        for (const source of args.sources) {
            this.kubeconfigs[source.name] = pulumi.secret(
                pulumi
                    .all([source.apiServer, source.tlsServerName, source.reader.token, source.reader.caData])
                    .apply(([server, tlsServerName, token, caData]) =>
                        renderRemoteKubeconfig({ clusterName: source.name, server, caData, token, tlsServerName }),
                    ),
            );
        }

        this.secrets = [];
        this.secretsBySource = {};
        for (const p of planned) {
            const secret = this.secretFor(p, args, byName);
            this.secrets.push(secret);
            for (const source of p.sources) this.secretsBySource[source] = secret;
        }
        this.registerOutputs({ secrets: this.secrets });
    }

    private secretFor(
        planned: PlannedRemoteSecret,
        args: RemoteSecretsArgs,
        byName: Map<string, RemoteSecretSource>,
    ): k8s.core.v1.Secret {
        const sources = planned.sources.map((s) => byName.get(s)!);
        const kubeconfigs = pulumi.all(Object.fromEntries(sources.map((s) => [s.name, this.kubeconfigs[s.name]])));
        return new k8s.core.v1.Secret(
            planned.resourceName,
            {
                metadata: remoteSecretMetadata(planned),
                type: "Opaque",
                data: pulumi.secret(kubeconfigs.apply((k) => remoteSecretData(planned, k))),
            },
            {
                parent: this,
                provider: args.provider,
                dependsOn: [...(args.dependsOn ?? []), ...sources.flatMap((s) => s.reader.dependencies)],
                additionalSecretOutputs: ["data", "stringData"],
                deleteBeforeReplace: true,
            },
        );
    }
}
