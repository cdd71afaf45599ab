/**
 * Cross-cluster remote secrets: the reader token in every watched cluster and, in every primary,
 * the labelled Secrets whose kubeconfigs let its istiod watch the other clusters.
 *
 * The values (kubeconfig, metadata, which Secrets a holder gets) live in
 * `remote-secrets-manifest.ts`; these components only turn them into resources.
 *
 * Token modes: `serviceAccountTokenSecret` ({@link ClusterReaderToken}, what istioctl does: a
 * long-lived legacy token) and `tokenRequest` ({@link ClusterReaderTokenRequest}: a token with an
 * expiry, bound to a Secret, re-minted by the first run inside its renewal window). Both implement
 * {@link RemoteReaderCredential} and their resources have different names, so switching modes
 * creates the new credential, updates every holder's Secret in place (same names, new kubeconfig)
 * and deletes the old one afterwards; no state surgery or alias is needed. See docs/security.md.
 *
 * Reader accounts: `remoteSecrets.readerAccounts: shared` uses the chart's one account per
 * watched cluster ({@link ClusterReaderToken}); `perHolder` gives every primary its own account in
 * each cluster it watches ({@link HolderReaderToken}), so revoking one primary cuts only its access.
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
    SecretManifest,
    remoteSecretData,
    remoteSecretLayoutAdvice,
    remoteSecretMetadata,
    renderRemoteKubeconfig,
} from "./remote-secrets-manifest";
import { holderReaderManifests, tokenAnchorManifest } from "./reader-accounts";
import { ReaderTokenRequest } from "./token-request-provider";
import { tokenRequestSeconds } from "./token-request";
import { RemoteSecretsConfig } from "../config/config";
import { MeshPlan } from "../plan/mesh-plan";
import { READER_SERVICE_ACCOUNT, holderReaderResourceName, resourceName } from "../plan/naming";

export * from "./remote-secrets-manifest";

/** What a holder needs from a source cluster to build its kubeconfig (any token mode). */
export interface RemoteReaderCredential {
    /** The reader service account's bearer token, decoded. Always a Pulumi secret. */
    readonly token: pulumi.Output<string>;
    /** Base64 PEM bundle of the source API server CA (`certificate-authority-data`). A Pulumi secret. */
    readonly caData: pulumi.Output<string>;
    /** Resources that must exist before a holder's Secret refers to this credential. */
    readonly dependencies: pulumi.Resource[];
    /** Expiry of the token (RFC 3339); absent for a legacy token, which never expires. */
    readonly expiresAt?: pulumi.Output<string>;
}

/** How a watched cluster's reader tokens are minted with `tokenMode: tokenRequest`. */
export interface TokenRequestSettings {
    /** The watched cluster's kubeconfig content, as its provider uses it. Secret. */
    kubeconfig: pulumi.Input<string>;
    /** Context inside `kubeconfig`. */
    context?: string;
    /** `remoteSecrets.tokenTtlDays` and `renewBeforeDays`. */
    ttlDays: number;
    renewBeforeDays: number;
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
        const reader = newReaderTokenSecret(
            resourceName(args.clusterName, "reader-token"),
            readerTokenSecretManifest(),
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
            (data) => parseReaderTokenData(args.clusterName, data),
        );
        this.secret = reader.secret;
        this.token = reader.token;
        this.caData = reader.caData;
        this.dependencies = [this.secret];
        this.registerOutputs({ token: this.token, caData: this.caData });
    }
}

export interface ClusterReaderTokenRequestArgs extends ClusterReaderTokenArgs {
    /** Kubeconfig, context and lifetime the token is minted with. */
    request: TokenRequestSettings;
}

/**
 * `tokenMode: tokenRequest`, `readerAccounts: shared`: a token of `istio-reader-service-account`
 * from the TokenRequest API, bound to the Secret `istio-reader-service-account-token-anchor`.
 * Deleting (or replacing) that Secret revokes the token within seconds (the API server caches a
 * successful token check for 10 s); otherwise it ends at its expiry.
 */
export class ClusterReaderTokenRequest extends pulumi.ComponentResource implements RemoteReaderCredential {
    /** The Secret the token is bound to. */
    public readonly anchor: k8s.core.v1.Secret;
    /** The minted token. */
    public readonly request: ReaderTokenRequest;
    public readonly token: pulumi.Output<string>;
    public readonly caData: pulumi.Output<string>;
    public readonly expiresAt: pulumi.Output<string>;
    public readonly dependencies: pulumi.Resource[];

    constructor(name: string, args: ClusterReaderTokenRequestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:remote:ClusterReaderTokenRequest", name, {}, opts);
        const minted = newBoundReaderToken(
            {
                anchor: resourceName(args.clusterName, "reader-token-anchor"),
                request: resourceName(args.clusterName, "reader-token-request"),
            },
            { cluster: args.clusterName, serviceAccount: READER_SERVICE_ACCOUNT, anchor: tokenAnchorManifest() },
            args.request,
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
        );
        this.anchor = minted.anchor;
        this.request = minted.request;
        this.token = minted.token;
        this.caData = minted.caData;
        this.expiresAt = minted.expiresAt;
        this.dependencies = [this.request];
        this.registerOutputs({ token: this.token, caData: this.caData, expiresAt: this.expiresAt });
    }
}

/**
 * The anchor Secret and the token bound to it. The anchor has a fixed object name, so replacing
 * it deletes it first, which revokes every token bound to it.
 */
function newBoundReaderToken(
    names: { anchor: string; request: string },
    who: { cluster: string; holder?: string; serviceAccount: string; anchor: ReturnType<typeof tokenAnchorManifest> },
    request: TokenRequestSettings,
    opts: { parent: pulumi.Resource; provider: k8s.Provider; dependsOn: pulumi.Input<pulumi.Resource>[] },
): {
    anchor: k8s.core.v1.Secret;
    request: ReaderTokenRequest;
    token: pulumi.Output<string>;
    caData: pulumi.Output<string>;
    expiresAt: pulumi.Output<string>;
} {
    const anchor = new k8s.core.v1.Secret(
        names.anchor,
        { metadata: who.anchor.metadata, type: who.anchor.type },
        { ...opts, deleteBeforeReplace: true },
    );
    const minted = new ReaderTokenRequest(
        names.request,
        {
            cluster: who.cluster,
            ...(who.holder ? { holder: who.holder } : {}),
            namespace: who.anchor.metadata.namespace,
            serviceAccount: who.serviceAccount,
            boundSecretName: anchor.metadata.name,
            boundSecretUid: anchor.metadata.uid,
            ...tokenRequestSeconds({ ttlDays: request.ttlDays, renewBeforeDays: request.renewBeforeDays }),
            kubeconfig: request.kubeconfig,
            ...(request.context ? { context: request.context } : {}),
        },
        { parent: opts.parent, dependsOn: [...opts.dependsOn, anchor] },
    );
    return {
        anchor,
        request: minted,
        token: pulumi.secret(minted.token),
        caData: pulumi.secret(minted.caData),
        expiresAt: minted.expiresAt,
    };
}

/**
 * A legacy service-account token Secret that the token controller fills, and its token and CA
 * data, both secret: the one way every reader account of the program gets its credential.
 */
function newReaderTokenSecret(
    name: string,
    manifest: Pick<SecretManifest, "metadata" | "type">,
    opts: { parent: pulumi.Resource; provider: k8s.Provider; dependsOn: pulumi.Input<pulumi.Resource>[] },
    parse: (data: Record<string, string> | undefined) => { token: string; caData: string },
): { secret: k8s.core.v1.Secret; token: pulumi.Output<string>; caData: pulumi.Output<string> } {
    const secret = new k8s.core.v1.Secret(
        name,
        { metadata: manifest.metadata, type: manifest.type },
        {
            ...opts,
            additionalSecretOutputs: ["data", "stringData"],
            // Fixed object name: a replacement (`pulumi up --replace` to rotate) must delete the
            // old Secret, which also invalidates the old token, before creating the new one.
            deleteBeforeReplace: true,
            // The wait annotation replaces the provider's built-in 5 s wait for this type; bound it.
            customTimeouts: { create: READER_TOKEN_WAIT_TIMEOUT, update: READER_TOKEN_WAIT_TIMEOUT },
        },
    );
    const parsed = secret.data.apply(parse);
    return {
        secret,
        token: pulumi.secret(parsed.apply((p) => p.token)),
        caData: pulumi.secret(parsed.apply((p) => p.caData)),
    };
}

export interface HolderReaderTokenArgs {
    /** Watched cluster the account lives in (config `clusters[].name`). */
    source: string;
    /** Primary whose remote secret about `source` carries this account's token. */
    holder: string;
    /** Kubernetes provider of `source`. */
    provider: k8s.Provider;
    /** Config `revision`: picks the chart's reader ClusterRole the account is bound to. */
    revision?: string;
    /**
     * The source's `istio-base` and `istiod` releases: `istiod` renders the ClusterRole the
     * binding refers to and `istio-base` the namespace's reader RBAC.
     */
    dependsOn: pulumi.Input<pulumi.Resource>[];
    /** `tokenMode: tokenRequest`: mint the account's token with these; a legacy token Secret otherwise. */
    request?: TokenRequestSettings;
}

/**
 * `remoteSecrets.readerAccounts: perHolder`: in one watched cluster, the reader account of one
 * primary (`istio-reader-for-<holder>`), bound to the chart's read-only ClusterRole, and its
 * legacy token Secret. Removing the holder from the mesh deletes exactly these three objects.
 */
export class HolderReaderToken extends pulumi.ComponentResource implements RemoteReaderCredential {
    /** The legacy token Secret (`tokenMode: serviceAccountTokenSecret`; its `data` is a secret output). */
    public readonly secret?: k8s.core.v1.Secret;
    /** The minted token (`tokenMode: tokenRequest`). */
    public readonly request?: ReaderTokenRequest;
    /** The decoded bearer token of the holder's account. Secret. */
    public readonly token: pulumi.Output<string>;
    /** Base64 PEM of the watched cluster's CA, as a kubeconfig carries it. Secret. */
    public readonly caData: pulumi.Output<string>;
    public readonly expiresAt?: pulumi.Output<string>;
    public readonly dependencies: pulumi.Resource[];

    constructor(name: string, args: HolderReaderTokenArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:remote:HolderReaderToken", name, {}, opts);
        const m = holderReaderManifests(args.holder, args.revision);
        const child = (what: "account" | "binding" | "token" | "token-anchor" | "token-request") =>
            holderReaderResourceName(args.source, what, args.holder);
        const account = new k8s.core.v1.ServiceAccount(
            child("account"),
            { metadata: m.serviceAccount.metadata },
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
        );
        const binding = new k8s.rbac.v1.ClusterRoleBinding(
            child("binding"),
            {
                metadata: m.clusterRoleBinding.metadata,
                roleRef: m.clusterRoleBinding.roleRef,
                subjects: m.clusterRoleBinding.subjects,
            },
            { parent: this, provider: args.provider, dependsOn: [...args.dependsOn, account] },
        );
        const childOpts = { parent: this, provider: args.provider, dependsOn: [account] };
        if (args.request) {
            const minted = newBoundReaderToken(
                { anchor: child("token-anchor"), request: child("token-request") },
                {
                    cluster: args.source,
                    holder: args.holder,
                    serviceAccount: m.serviceAccount.metadata.name,
                    anchor: tokenAnchorManifest(args.holder),
                },
                args.request,
                childOpts,
            );
            this.request = minted.request;
            this.token = minted.token;
            this.caData = minted.caData;
            this.expiresAt = minted.expiresAt;
            this.dependencies = [minted.request, binding];
        } else {
            const reader = newReaderTokenSecret(child("token"), m.tokenSecret, childOpts, (data) =>
                parseReaderTokenData(args.source, data, {
                    secret: m.tokenSecret.metadata.name,
                    account: m.serviceAccount.metadata.name,
                    owner: `created by this program for ${args.holder}`,
                }),
            );
            this.secret = reader.secret;
            this.token = reader.token;
            this.caData = reader.caData;
            // A holder's Secret must wait for the binding too, or its istiod starts without RBAC.
            this.dependencies = [reader.secret, binding];
        }
        this.registerOutputs({ token: this.token, caData: this.caData, expiresAt: this.expiresAt });
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
    /** When the source is a remote: the primary that leads it (see `renderRemoteKubeconfig`). */
    controlPlane?: string;
    /** The source's reader credential (a {@link ClusterReaderToken} today). */
    reader: RemoteReaderCredential;
    /**
     * The source's kubeconfig ({@link remoteKubeconfig}), when the caller renders it once for every
     * holder: it is the same in each, and a mesh of N clusters otherwise renders it N−1 times.
     */
    kubeconfig?: pulumi.Output<string>;
}

/** The kubeconfig a holder gets for `source`: its reader token, CA and API server. Secret. */
export function remoteKubeconfig(source: Omit<RemoteSecretSource, "kubeconfig">): pulumi.Output<string> {
    return pulumi.secret(
        pulumi
            .all([source.apiServer, source.tlsServerName, source.reader.token, source.reader.caData])
            .apply(([server, tlsServerName, token, caData]) =>
                renderRemoteKubeconfig({
                    clusterName: source.name,
                    server,
                    caData,
                    token,
                    tlsServerName,
                    controlPlane: source.controlPlane,
                }),
            ),
    );
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
    /**
     * `tokenMode: tokenRequest`: `remoteSecrets.renewBeforeDays`, written on each Secret so that
     * the policy pack holds its tokens to that margin; absent for tokens that do not expire.
     */
    tokenRenewBeforeDays?: number;
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
            this.kubeconfigs[source.name] = source.kubeconfig ?? remoteKubeconfig(source);
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

    /**
     * The Secret's data from the sources' kubeconfigs. A per-source Secret (N × (N − 1) of them in
     * a full mesh) maps its one kubeconfig directly: an `all` over a single Output would create
     * two more Outputs per Secret, which at 9,900 Secrets was a measurable part of an evaluation.
     */
    private secretData(
        planned: PlannedRemoteSecret,
        sources: RemoteSecretSource[],
    ): pulumi.Output<Record<string, string>> {
        if (sources.length === 1) {
            const [only] = sources;
            return this.kubeconfigs[only.name].apply((k) => remoteSecretData(planned, { [only.name]: k }));
        }
        const kubeconfigs = pulumi.all(Object.fromEntries(sources.map((s) => [s.name, this.kubeconfigs[s.name]])));
        return kubeconfigs.apply((k) => remoteSecretData(planned, k));
    }

    private secretFor(
        planned: PlannedRemoteSecret,
        args: RemoteSecretsArgs,
        byName: Map<string, RemoteSecretSource>,
    ): k8s.core.v1.Secret {
        const sources = planned.sources.map((s) => byName.get(s)!);
        return new k8s.core.v1.Secret(
            planned.resourceName,
            {
                metadata: remoteSecretMetadata(planned, args.tokenRenewBeforeDays),
                type: "Opaque",
                data: pulumi.secret(this.secretData(planned, sources)),
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

/** Per cluster, what {@link createMeshRemoteSecrets} needs. */
export interface MeshRemoteSecretsCluster {
    /** The cluster's Kubernetes provider (`<cluster>-k8s`). */
    provider: k8s.Provider;
    /** The cluster's API server URL as the other clusters' istiod reach it (config `apiServer`, resolved). */
    apiServer: pulumi.Input<string>;
    /** Config `apiServerTlsServerName`: the name its certificate is checked against, when not the URL's host. */
    tlsServerName?: pulumi.Input<string>;
    /** The cluster's `istio-base` and `istiod` releases (they create the reader account and its role). */
    istioReleases: pulumi.Input<pulumi.Resource>[];
    /** The cluster's `istio-system` namespace, when the program manages it. */
    namespace?: pulumi.Input<pulumi.Resource>;
    /** Kubeconfig content and context of the cluster's provider: `tokenMode: tokenRequest` mints with them. Secret. */
    access?: { kubeconfig: pulumi.Input<string>; context?: string };
}

export interface MeshRemoteSecretsArgs {
    /** The mesh plan: `clusters[].readerTokenSecret` and `clusters[].remoteSecretSources` decide everything. */
    plan: MeshPlan;
    /** `remoteSecrets` of the validated config. */
    settings: RemoteSecretsConfig;
    /** Every cluster of the plan, by name. */
    clusters: Record<string, MeshRemoteSecretsCluster>;
    /** Config `revision`: names the reader ClusterRole per-holder accounts are bound to. */
    revision?: string;
}

/** The remote-secret resources of a whole mesh. */
export interface MeshRemoteSecrets {
    /** Watched cluster → its shared reader token (`readerAccounts: shared`; empty otherwise). */
    readers: Record<string, ClusterReaderToken | ClusterReaderTokenRequest>;
    /** Watched cluster → holder → that holder's own reader account (`readerAccounts: perHolder`; empty otherwise). */
    holderReaders: Record<string, Record<string, HolderReaderToken>>;
    /** Holder (primary) → its remote secrets. */
    holders: Record<string, RemoteSecrets>;
    /** Source cluster → every Secret, in any holder, that lets an istiod watch it. */
    secretsAbout: Record<string, k8s.core.v1.Secret[]>;
}

type ClusterOf = (name: string) => MeshRemoteSecretsCluster;

/** `tokenMode: tokenRequest`: how the tokens of `cluster` are minted; undefined for legacy tokens. */
function tokenRequestFor(args: MeshRemoteSecretsArgs, c: MeshRemoteSecretsCluster, cluster: string) {
    if (args.settings.tokenMode !== "tokenRequest") return undefined;
    if (!c.access) throw new Error(`createMeshRemoteSecrets: tokenRequest needs the kubeconfig of cluster ${cluster}`);
    return {
        kubeconfig: c.access.kubeconfig,
        context: c.access.context,
        ttlDays: args.settings.tokenTtlDays,
        renewBeforeDays: args.settings.renewBeforeDays,
    };
}

/** `readerAccounts: shared`: one reader token per watched cluster, `<cluster>-remote-reader`. */
function createSharedReaders(
    args: MeshRemoteSecretsArgs,
    clusterOf: ClusterOf,
    opts?: pulumi.ComponentResourceOptions,
): Record<string, ClusterReaderToken | ClusterReaderTokenRequest> {
    const readers: Record<string, ClusterReaderToken | ClusterReaderTokenRequest> = {};
    for (const p of args.plan.clusters.filter((c) => c.readerTokenSecret)) {
        const c = clusterOf(p.name);
        const base = { clusterName: p.name, provider: c.provider, dependsOn: c.istioReleases };
        const request = tokenRequestFor(args, c, p.name);
        readers[p.name] = request
            ? new ClusterReaderTokenRequest(resourceName(p.name, "remote-reader"), { ...base, request }, opts)
            : new ClusterReaderToken(resourceName(p.name, "remote-reader"), base, opts);
    }
    return readers;
}

/**
 * `readerAccounts: perHolder`: in every watched cluster, one reader account per primary that
 * watches it (`plan.clusters[].watchedBy`), component `<source>-remote-reader-<holder>`.
 */
function createHolderReaders(
    args: MeshRemoteSecretsArgs,
    clusterOf: ClusterOf,
    opts?: pulumi.ComponentResourceOptions,
): Record<string, Record<string, HolderReaderToken>> {
    const readers: Record<string, Record<string, HolderReaderToken>> = {};
    for (const p of args.plan.clusters.filter((c) => c.readerTokenSecret)) {
        const c = clusterOf(p.name);
        for (const holder of p.watchedBy) {
            (readers[p.name] ??= {})[holder] = new HolderReaderToken(
                `${resourceName(p.name, "remote-reader")}-${holder}`,
                {
                    source: p.name,
                    holder,
                    provider: c.provider,
                    // With revisions every istiod-<name> renders its own reader ClusterRole; bind to the default's.
                    revision: p.revisions?.defaultRevision ?? args.revision,
                    dependsOn: c.istioReleases,
                    request: tokenRequestFor(args, c, p.name),
                },
                opts,
            );
        }
    }
    return readers;
}

/**
 * Creates the reader credentials in every watched cluster (one shared token, or one account per
 * holder, by `readerAccounts`) and the remote secrets in every holder, as the plan says. Component
 * names: `<cluster>-remote-reader[-<holder>]` and `<holder>-remote-secret-holder`.
 */
export function createMeshRemoteSecrets(
    args: MeshRemoteSecretsArgs,
    opts?: pulumi.ComponentResourceOptions,
): MeshRemoteSecrets {
    const advice = remoteSecretLayoutAdvice(args.plan.remoteSecretPairs, args.settings.layout);
    if (advice) pulumi.log.warn(advice, opts?.parent);
    const clusterOf: ClusterOf = (name) => {
        const c = args.clusters[name];
        if (!c) throw new Error(`createMeshRemoteSecrets: no provider/apiServer given for cluster ${name}`);
        return c;
    };
    const perHolder = args.settings.readerAccounts === "perHolder";
    const readers = perHolder ? {} : createSharedReaders(args, clusterOf, opts);
    const holderReaders = perHolder ? createHolderReaders(args, clusterOf, opts) : {};

    // A shared token gives one kubeconfig per watched cluster, rendered once for every holder.
    // A remote's primary, written into the kubeconfigs about it (see renderRemoteKubeconfig).
    const leadingPrimary = new Map(
        args.plan.clusters.filter((c) => c.role === "remote").map((c) => [c.name, c.controlPlane] as const),
    );
    const controlPlaneOf = (name: string) => leadingPrimary.get(name);
    const kubeconfigs: Record<string, pulumi.Output<string>> = {};
    for (const [name, reader] of Object.entries(readers)) {
        const { apiServer, tlsServerName } = clusterOf(name);
        kubeconfigs[name] = remoteKubeconfig({
            name,
            apiServer,
            tlsServerName,
            controlPlane: controlPlaneOf(name),
            reader,
        });
    }
    const sourceFor = (holder: string, source: string): RemoteSecretSource => {
        const { apiServer, tlsServerName } = clusterOf(source);
        const reader = perHolder ? holderReaders[source]?.[holder] : readers[source];
        if (!reader) throw new Error(`plan: ${holder} watches ${source}, which has no reader token for it`);
        return {
            name: source,
            apiServer,
            tlsServerName,
            controlPlane: controlPlaneOf(source),
            reader,
            kubeconfig: perHolder ? undefined : kubeconfigs[source],
        };
    };

    const holders: Record<string, RemoteSecrets> = {};
    const secretsAbout: Record<string, k8s.core.v1.Secret[]> = {};
    for (const p of args.plan.clusters.filter((c) => c.remoteSecretSources.length > 0)) {
        const holder = clusterOf(p.name);
        const component = new RemoteSecrets(
            resourceName(p.name, "remote-secret-holder"),
            {
                holder: p.name,
                sources: p.remoteSecretSources.map((source) => sourceFor(p.name, source)),
                layout: args.settings.layout,
                provider: holder.provider,
                dependsOn: holder.namespace ? [holder.namespace] : undefined,
                ...(args.settings.tokenMode === "tokenRequest"
                    ? { tokenRenewBeforeDays: args.settings.renewBeforeDays }
                    : {}),
            },
            opts,
        );
        holders[p.name] = component;
        for (const [source, secret] of Object.entries(component.secretsBySource)) {
            (secretsAbout[source] ??= []).push(secret);
        }
    }
    return { readers, holderReaders, holders, secretsAbout };
}
