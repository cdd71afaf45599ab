/**
 * The stack configuration of the program: its TypeScript shape and its defaults.
 *
 * Everything here is plain data (and the error that reports bad config). `config-validation.ts` turns raw, untrusted stack config
 * into a {@link MeshConfig}; `mesh-plan.ts` turns that into a plan; components only ever
 * see validated config and the plan.
 */
import { RunError } from "@pulumi/pulumi/errors";

/** The Pulumi project name, and therefore the namespace of every config key. */
export const PROJECT_NAME = "istio-multicluster";

/** Oldest Istio minor this program supports: `base` in remotes and the istiod `profile=remote` start at 1.24. */
export const MINIMUM_ISTIO_VERSION = "1.24.0";

export const DEFAULT_ISTIO_VERSION = "1.30.3";
export const DEFAULT_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";
export const DEFAULT_NETWORK = "network1";
export const DEFAULT_MESH_ID = "mesh1";
export const DEFAULT_TRUST_DOMAIN = "cluster.local";
/** Pulumi resource name of the signing root's component (`ca.name`); part of the root's URNs. */
export const DEFAULT_ROOT_CA_NAME = "mesh-root";

export type ClusterRole = "primary" | "remote";
export type GatewayServiceType = "LoadBalancer" | "NodePort";
export type KeyAlgorithm = "RSA" | "ECDSA";
export type EcdsaCurve = "P256" | "P384";

/** How one cluster's east-west gateway is exposed to the other networks. */
export interface EastWestGatewayConfig {
    /** Kubernetes Service type of the gateway. Default `LoadBalancer`. */
    serviceType: GatewayServiceType;
    /** Fixed node port for the `tls` port 15443 (NodePort only). Default: assigned by Kubernetes. */
    nodePort?: number;
    /**
     * The address other networks use to reach the gateway (IP or hostname). Required for NodePort
     * unless `nodeSelector` is given; optional for LoadBalancer behind NAT. When set it is written
     * into `global.meshNetworks` of every primary.
     */
    address?: string;
    /**
     * Node labels for Istio's `traffic.istio.io/nodeSelector` annotation (NodePort only). istiod then
     * advertises the ExternalIP addresses of matching nodes. `{}` selects all nodes.
     */
    nodeSelector?: Record<string, string>;
    /** Extra annotations on the gateway Service (cloud load-balancer settings). */
    annotations?: Record<string, string>;
    /** Requested `spec.loadBalancerIP` (LoadBalancer only, where the cloud supports it). */
    loadBalancerIP?: string;
}

/** User Helm values merged over the program's own values, per chart. */
export interface ChartValuesOverrides {
    /** Values for the `base` chart. */
    base?: Record<string, unknown>;
    /** Values for the `istiod` chart. */
    istiod?: Record<string, unknown>;
    /** Values for the `gateway` chart (the east-west gateway). */
    gateway?: Record<string, unknown>;
}

/** One Kubernetes cluster of the mesh, as configured. */
export interface ClusterConfig {
    /** DNS-1123 label; `global.multiCluster.clusterName`, remote-secret key and resource-name stem. */
    name: string;
    /** Network name; clusters whose pods reach each other directly share one. Default `network1`. */
    network: string;
    /** `primary` runs istiod; `remote` is served by a primary. Default `primary`. */
    role: ClusterRole;
    /** For a remote: the primary serving it. Defaults to the only primary. */
    controlPlane?: string;
    /** Path of the kubeconfig file (`~` expanded). Default `$KUBECONFIG`, else `~/.kube/config`. */
    kubeconfig?: string;
    /** Kube context of this cluster. Default: the file's current-context. */
    context?: string;
    /** URL at which the other clusters' istiod reach this API server. Default: the context's server. */
    apiServer?: string;
    /**
     * Name the other clusters' istiod verify this API server's certificate against (kubeconfig
     * `tls-server-name`), for an `apiServer` host the certificate does not cover, such as a NAT or
     * load-balancer address. Default: the host of `apiServer`.
     */
    apiServerTlsServerName?: string;
    /** Exposure of this cluster's east-west gateway. */
    eastWestGateway: EastWestGatewayConfig;
    /** Per-cluster Helm value overrides, merged over the mesh-wide `values`. */
    values?: ChartValuesOverrides;
    /** Take over an existing `istio-system` namespace instead of failing with AlreadyExists. */
    adopt: boolean;
    /** Federated mode (`ca.mode: federated`), primaries only: where this primary's root comes from. */
    ca?: ClusterCaConfig;
    /**
     * Staging: the names of the mesh-wide `revisions` this cluster runs (a remote: a subset of its
     * primary's). Default: every revision.
     */
    revisions?: string[];
    /** Staging: this cluster's default revision. Default: the mesh-wide `defaultRevision`. */
    defaultRevision?: string;
    /** Staging: tag → revision entries merged over the mesh-wide `revisionTags`. */
    revisionTags?: Record<string, string>;
}

/** One control-plane revision (`revisions[]`): an istiod release `istiod-<name>` per primary. */
export interface RevisionConfig {
    /** DNS-1123 label, e.g. `1-30-3`; the istiod chart's `revision`. */
    name: string;
    /** Chart version of this revision's istiod (and remote-profile) releases. */
    version: string;
}

/**
 * Where a primary's root comes from in a federated mesh (`clusters[].ca`):
 * - `generate` (default): a root of its own, made like `ca` describes;
 * - `import`: the user's root, its key in the secret `caKeyPems.<cluster>`;
 * - `existing`: the CA of an Istio that already runs there; the program only learns its public
 *   root, to trust it in the other primaries, and creates no `cacerts` in that cluster.
 */
export type ClusterRootMode = "generate" | "import" | "existing";

/** One primary's root in a federated mesh. */
export interface ClusterCaConfig {
    /** Where the root comes from. Default `generate`. */
    mode: ClusterRootMode;
    /** Pulumi resource name of the root's component (DNS-1123 label). Default `<cluster>-root`. */
    name?: string;
    /** Generate mode: subject CN. Default `<ca.commonName> <cluster>`, so that no two roots share a subject. */
    commonName?: string;
    /** Import mode: the root certificate PEM. */
    certPem?: string;
    /** Import mode: path of the root certificate PEM file (instead of `certPem`). */
    certFile?: string;
    /** Existing mode: the public root certificate the cluster's istiod signs with. */
    rootCertPem?: string;
    /** Existing mode: path of that root certificate PEM file (instead of `rootCertPem`). */
    rootCertFile?: string;
}

/** The root of trust. */
export interface CaConfig {
    /**
     * Pulumi resource name of this root's component (DNS-1123 label), the stem of its key and
     * certificate resource names. Default `mesh-root`. Changing it means a different root: only
     * through a root rotation (`rootRotation`).
     */
    name: string;
    /**
     * `generate` (default): a root made by @pulumi/tls; `import`: the user's own root. Only `ca`
     * may be `federated`: every primary then has its own root (`clusters[].ca`), and the other keys
     * of `ca` are the settings of the roots the program generates.
     */
    mode: "generate" | "import" | "federated";
    /** Key algorithm of generated keys (root in generate mode, every intermediate). Default RSA. */
    keyAlgorithm: KeyAlgorithm;
    /** RSA key size. Default 4096, as Istio's tools/certs. */
    rsaBits: 2048 | 3072 | 4096;
    /** ECDSA curve. Default P256 (never the provider's default P224). */
    ecdsaCurve: EcdsaCurve;
    /** Root validity in days (generate mode). Default 3650. */
    validityDays: number;
    /** Subject O of the root. Default `Istio`. */
    organization: string;
    /** Subject CN of the root. Default `Root CA`. */
    commonName: string;
    /** Import mode: the root certificate PEM. */
    certPem?: string;
    /** Import mode: path of the root certificate PEM file (instead of `certPem`). */
    certFile?: string;
}

/**
 * Stages of a root replacement (docs/pki.md, "Replacing the root"):
 * - `trustNext`: the next root exists and every cluster trusts both roots; the current root still signs.
 * - `issueFromNext`: the next root signs every intermediate; both roots are still trusted.
 * Finishing means `ca` becomes what `rootRotation.next` was and `rootRotation` goes away.
 */
export type RootRotationStage = "trustNext" | "issueFromNext";

/** A root replacement in progress. */
export interface RootRotationConfig {
    /** How far the replacement has got. */
    stage: RootRotationStage;
    /** The root that replaces `ca`: same settings as `ca`, with its own `name`. */
    next: CaConfig;
}

/** The per-cluster intermediate CAs. */
export interface IntermediateConfig {
    /** Validity of each intermediate in days. Default 730. */
    validityDays: number;
    /** Days before expiry at which the next `pulumi up` re-issues an intermediate. Default 60. */
    earlyRenewalDays: number;
}

/** Remote-secret settings. */
export interface RemoteSecretsConfig {
    /**
     * How the reader credential is minted. `serviceAccountTokenSecret` (default, what istioctl
     * does): a legacy token that never expires. `tokenRequest`: a token with an expiry from the
     * TokenRequest API, bound to an anchor Secret, re-minted by the first run inside its window.
     */
    tokenMode: "serviceAccountTokenSecret" | "tokenRequest";
    /** Lifetime of a `tokenRequest` token, in days. Default 90. */
    tokenTtlDays: number;
    /** Days before expiry from which `pulumi up` re-mints a `tokenRequest` token. Default 30. */
    renewBeforeDays: number;
    /**
     * With `tokenRequest`: before any resource, ask each watched cluster's API server for a token
     * of `tokenTtlDays` (for an audience nothing accepts) to see whether it caps lifetimes.
     * Default true.
     */
    probeTokenLifetime: boolean;
    /**
     * `shared` (default): one reader account per watched cluster, used by every primary that
     * watches it. `perHolder`: one account per (watched cluster, primary), so one primary's
     * access can be revoked alone.
     */
    readerAccounts: "shared" | "perHolder";
    /**
     * `perSource` (default, like istioctl): one Secret per (holder, source) pair, N×(N−1) in all.
     * `perHolder`: one Secret per holder with one data key per source cluster, N in all.
     */
    layout: "perSource" | "perHolder";
}

/** The post-deploy cross-cluster check. */
export interface VerificationConfig {
    /** Namespace of the check's workloads. Default `mesh-verify`. */
    namespace: string;
    /** Requests each client sends. Default 30. */
    requests: number;
    /** Seconds to wait for workloads and answers. Default 300. */
    timeoutSeconds: number;
    /** Image of the helloworld server. */
    serverImage: string;
    /** Image of the curl client. */
    clientImage: string;
}

/** Mesh-wide image settings. */
export interface ImagesConfig {
    /** `global.hub` (a private registry). */
    hub?: string;
    /** `global.tag`. */
    tag?: string;
    /** Names of image pull secrets in `istio-system`. */
    imagePullSecrets?: string[];
}

/** DNS proxying in the sidecars (`meshConfig.defaultConfig.proxyMetadata`). */
export interface DnsProxyConfig {
    /** `ISTIO_META_DNS_CAPTURE`. Default false. */
    capture: boolean;
    /** `ISTIO_META_DNS_AUTO_ALLOCATE`. Default false. */
    autoAllocate: boolean;
}

/** The validated, defaulted stack configuration. */
export interface MeshConfig {
    meshId: string;
    trustDomain: string;
    istioVersion: string;
    chartRepository: string;
    ca: CaConfig;
    /** Set while the root is being replaced; undefined otherwise. */
    rootRotation?: RootRotationConfig;
    intermediate: IntermediateConfig;
    clusters: ClusterConfig[];
    verify: boolean;
    verification: VerificationConfig;
    remoteSecrets: RemoteSecretsConfig;
    images?: ImagesConfig;
    dnsProxy: DnsProxyConfig;
    values?: ChartValuesOverrides;
    meshConfig?: Record<string, unknown>;
    /** Istio revision for canary upgrades; empty for the default revision. */
    revision?: string;
    /** Revisions side by side (canary upgrades); undefined: one unnamed istiod as before. */
    revisions?: RevisionConfig[];
    /** Revision tag → revision name. */
    revisionTags?: Record<string, string>;
    /** The revision behind the `default` tag and the east-west gateways (required with `revisions`). */
    defaultRevision?: string;
    /**
     * Chart version of `istio-base` with `revisions`. Default: the newest revision's. Set it to
     * keep the CRDs where they are when the newest revision is removed (rolling a canary back).
     */
    baseVersion?: string;
}

/** One problem found in the stack configuration. */
export interface ConfigProblem {
    /** Config path, e.g. `clusters[1].eastWestGateway.address` (without the project namespace). */
    path: string;
    /** What is wrong. */
    message: string;
    /** How to fix it. */
    fix?: string;
}

/**
 * Thrown before any resource is registered; lists every problem at once. A Pulumi `RunError`, so
 * `pulumi preview` and `pulumi up` print its lines alone, as an error of the run, where any other
 * error is reported as the program failing "with an unhandled exception", stack frames included.
 */
export class ConfigValidationError extends RunError {
    constructor(public readonly problems: ConfigProblem[]) {
        super(formatConfigProblems(problems));
        this.name = "ConfigValidationError";
    }
}

/** One line per problem: `istio-multicluster:<path>: <message> (fix: <fix>)`. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p) => `  - ${PROJECT_NAME}:${p.path}: ${p.message}${p.fix ? ` Fix: ${p.fix}` : ""}`);
    const noun = problems.length === 1 ? "problem" : "problems";
    return `The stack configuration has ${problems.length} ${noun}:\n${lines.join("\n")}`;
}
