/**
 * The guardrail policies of the istio-multicluster program, as plain policy objects.
 *
 * `index.ts` only hands {@link policies} to `new PolicyPack(...)` (whose constructor starts a gRPC
 * server), so tests import this module and drive the policies through @pulumi/policy's own request
 * handlers. Imports: only `@pulumi/policy` and node built-ins, so the pack installs on its own.
 *
 * Unknown values (preview): every rule reads properties through `plain()`, which turns a value the
 * engine does not know yet into UNKNOWN, and a check whose input is UNKNOWN is skipped. The same
 * check runs with real values during `pulumi up`: resource policies before the resource is
 * created, stack policies at the end of the update.
 */
import {
    EnforcementLevel,
    Policies,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import { KeyObject, X509Certificate } from "node:crypto";
import {
    CACERTS_KEYS,
    CACERTS_SECRET,
    IstiodRelease,
    LABEL_MULTICLUSTER_SECRET,
    MeshGraph,
    PROVIDER_TYPE_K8S,
    StackNode,
    buildMeshGraph,
    clusterOfProviderName,
    controlPlaneClustersOn,
    crossNetworkGatewayOn,
    gatewayAddresses,
    isEastWestGatewayRelease,
    istiodGatewayOn,
    istiodVirtualServiceOn,
    remoteSecretKeysOn,
    toStackNodes,
    where,
} from "./graph";
import {
    HELM_RELEASE_TYPE,
    NON_TOKEN_USER_FIELDS,
    SECRET_TYPE,
    UNKNOWN,
    Unknown,
    at,
    certificatesIn,
    hasPrivateKeyBlock,
    helmRelease,
    isTrue,
    isUnknown,
    kubeconfigProblems,
    objectName,
    plainProps,
    publicKeysOfPrivateKeysIn,
    recordAt,
    samePublicKey,
    secretEntries,
    stringAt,
} from "./inspect";

export const PACK_NAME = "istio-multicluster-guardrails";

export const TLS_PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey";
export const TLS_SELF_SIGNED_CERT_TYPE = "tls:index/selfSignedCert:SelfSignedCert";
export const TLS_LOCALLY_SIGNED_CERT_TYPE = "tls:index/locallySignedCert:LocallySignedCert";
export const COMMAND_TYPE = "command:local:Command";

/**
 * Kubernetes component types (rendered inside the provider): the engine gives components no
 * provider reference, so a missing one is not a finding for them. Any custom `kubernetes:`
 * resource always has one (explicit or default).
 */
export const KUBERNETES_COMPONENT_TYPES: readonly string[] = [
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:kustomize:Directory",
    "kubernetes:kustomize/v2:Directory",
];

/** `allowedUses` values terraform-provider-tls understands (it ignores anything else, with a warning). */
export const TLS_KEY_USAGES: readonly string[] = [
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "cert_signing",
    "crl_signing",
    "encipher_only",
    "decipher_only",
    "any_extended",
    "server_auth",
    "client_auth",
    "code_signing",
    "email_protection",
    "ipsec_end_system",
    "ipsec_tunnel",
    "ipsec_user",
    "timestamping",
    "ocsp_signing",
    "microsoft_server_gated_crypto",
    "netscape_server_gated_crypto",
    "microsoft_commercial_code_signing",
    "microsoft_kernel_code_signing",
];

/** Default value of every configuration knob, per policy (also the `default` in each configSchema). */
export const DEFAULTS = {
    "kubernetes-explicit-provider": { providerNamePattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?-k8s$" },
    "no-root-ca-private-key": { forbiddenKeyNames: ["root-key.pem"] },
    "istiod-releases-consistent": {
        chartsWithSameVersion: ["base", "istiod", "gateway"],
        requireClusterNameMatchesProvider: true,
    },
    "remote-secret-credentials": {
        forbiddenUserFields: [...NON_TOKEN_USER_FIELDS],
        allowLoopbackServer: false,
        allowInsecureSkipTlsVerify: false,
    },
    "remote-secrets-match-clusters": { externalClusters: [] as string[], requireEveryPrimaryWatchesAll: true },
    "tls-key-strength": {
        allowedAlgorithms: ["RSA", "ECDSA"],
        minRsaBits: 2048,
        allowedEcdsaCurves: ["P256", "P384", "P521"],
    },
    "tls-intermediate-lifetime": { maxIntermediateValidityDays: 3650 },
    "nodeport-gateway-in-production": { tagName: "environment", productionValues: ["production"] },
    "remotes-have-serving-primary": { requireAddressMatch: true },
};

type Knobs<P extends keyof typeof DEFAULTS> = (typeof DEFAULTS)[P];

function knobs<P extends keyof typeof DEFAULTS>(policy: P, args: { getConfig<T extends object>(): T }): Knobs<P> {
    // The CLI fills schema defaults; the pack's own handlers (and tests) may hand over nothing.
    return { ...DEFAULTS[policy], ...args.getConfig<Partial<Knobs<P>>>() } as Knobs<P>;
}

const stringList = (description: string, items?: object) => ({
    type: "array" as const,
    items: { type: "string" as const, ...(items ?? {}) },
    description,
});

// ---------------------------------------------------------------------------------------------
// Resource policy plumbing
// ---------------------------------------------------------------------------------------------

/** A resource as the resource rules see it. */
interface ResourceInput {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    providerName?: string;
    providerUrn?: string;
    providerType?: string;
    providerProps?: Record<string, unknown>;
    /** The cluster from the provider name (`<cluster>-k8s`). */
    cluster?: string;
    stackTags: ReadonlyMap<string, string>;
}

function toInput(args: ResourceValidationArgs): ResourceInput {
    return {
        type: args.type,
        name: args.name,
        urn: args.urn,
        props: plainProps(args.props),
        providerName: args.provider?.name,
        providerUrn: args.provider?.urn,
        providerType: args.provider?.type,
        providerProps: args.provider ? plainProps(args.provider.props) : undefined,
        cluster: clusterOfProviderName(args.provider?.name),
        stackTags: args.stackTags ?? new Map(),
    };
}

function clusterLabel(r: ResourceInput): string {
    return r.cluster ? `cluster ${r.cluster}` : r.providerName ? `provider ${r.providerName}` : "an unnamed provider";
}

function secretLabel(r: ResourceInput): string {
    const name = objectName(r.props);
    const shown = typeof name === "string" ? name : r.name;
    return `Secret ${shown} (${r.name}) in ${clusterLabel(r)}`;
}

// ---------------------------------------------------------------------------------------------
// 1. Explicit, non-default Kubernetes provider
// ---------------------------------------------------------------------------------------------

/** True for the engine's default provider (`default` or `default_<version>`). */
export function isDefaultProvider(name: string | undefined, urn: string | undefined): boolean {
    if (name !== undefined && (name === "default" || name.startsWith("default_"))) return true;
    return urn !== undefined && /::pulumi:providers:kubernetes::default(_[^:]*)?$/.test(urn);
}

export const explicitProvider: ResourceValidationPolicy = {
    name: "kubernetes-explicit-provider",
    description:
        "Every Kubernetes resource names its cluster's provider explicitly; the default provider would act on " +
        "whatever cluster the ambient kubeconfig points at.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Pass `provider: <cluster provider>` to the resource (or `parent` a component that has it) and set " +
        '`pulumi:disable-default-providers: ["kubernetes"]` in the stack config.',
    configSchema: {
        properties: {
            providerNamePattern: {
                type: "string",
                default: DEFAULTS["kubernetes-explicit-provider"].providerNamePattern,
                description:
                    "Regular expression the provider's Pulumi name must match (the program names them <cluster>-k8s). Empty: any name.",
            },
        },
    },
    validateResource: (args, report) => {
        if (!args.type.startsWith("kubernetes:")) return;
        const cfg = knobs("kubernetes-explicit-provider", args);
        const provider = args.provider;
        if (!provider) {
            if (KUBERNETES_COMPONENT_TYPES.includes(args.type)) return;
            report(`${args.type} ${args.name} has no provider reference.`);
            return;
        }
        if (isDefaultProvider(provider.name, provider.urn)) {
            report(
                `${args.type} ${args.name} uses the default Kubernetes provider (${provider.urn}), i.e. the ambient ` +
                    "kubeconfig's current context, not a cluster of the mesh.",
            );
            return;
        }
        if (cfg.providerNamePattern && !new RegExp(cfg.providerNamePattern).test(provider.name)) {
            report(
                `${args.type} ${args.name} uses provider ${provider.name}, whose name does not match ` +
                    `${cfg.providerNamePattern}; the stack policies derive the cluster from <cluster>-k8s.`,
            );
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 2. No plaintext rendering of manifests
// ---------------------------------------------------------------------------------------------

export const providerNoRenderToDisk: ResourceValidationPolicy = {
    name: "kubernetes-provider-no-yaml-render",
    description:
        "No Kubernetes provider renders manifests to a directory: that mode writes every Secret (cacerts keys, " +
        "remote-secret tokens) to disk in plain text and deploys nothing.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Remove `renderYamlToDirectory` from the provider arguments.",
    validateResource: (args, report) => {
        if (args.type !== PROVIDER_TYPE_K8S) return;
        const dir = stringAt(plainProps(args.props), "renderYamlToDirectory");
        if (typeof dir === "string" && dir !== "") {
            report(`provider ${args.name} renders YAML to ${dir}.`);
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 3. cacerts: exactly the four keys, consistent material
// ---------------------------------------------------------------------------------------------

function firstCertificate(text: string | Unknown | undefined): X509Certificate | undefined | Unknown {
    if (isUnknown(text)) return UNKNOWN;
    if (text === undefined) return undefined;
    return certificatesIn(text)[0];
}

/** Problems of a `cacerts` Secret's entries (key set and, when known, the PEM material). */
export function cacertsProblems(entries: Map<string, string | Unknown>): string[] {
    const problems: string[] = [];
    const keys = [...entries.keys()];
    const missing = CACERTS_KEYS.filter((k) => !entries.has(k));
    const extra = keys.filter((k) => !(CACERTS_KEYS as readonly string[]).includes(k));
    if (missing.length > 0) problems.push(`lacks ${missing.join(", ")}`);
    if (extra.length > 0) problems.push(`has unexpected key(s) ${extra.join(", ")}`);

    const caText = entries.get("ca-cert.pem");
    const caCert = firstCertificate(caText);
    if (typeof caText === "string" && caCert === undefined) problems.push("ca-cert.pem holds no readable certificate");
    const rootText = entries.get("root-cert.pem");
    const roots = typeof rootText === "string" ? certificatesIn(rootText) : [];
    if (typeof rootText === "string" && roots.length === 0) {
        problems.push("root-cert.pem holds no readable certificate");
    }
    if (caCert instanceof X509Certificate) {
        if (!caCert.ca) problems.push("ca-cert.pem is not a CA certificate (basicConstraints CA:false)");
        const keyText = entries.get("ca-key.pem");
        if (typeof keyText === "string") {
            const keys = publicKeysOfPrivateKeysIn(keyText);
            if (keys.length === 0) problems.push("ca-key.pem holds no readable unencrypted private key");
            else if (!keys.some((k) => samePublicKey(k, caCert.publicKey))) {
                problems.push("ca-key.pem is not the private key of ca-cert.pem");
            }
        }
        if (roots.length > 0 && !roots.some((root) => safeVerify(caCert, root.publicKey))) {
            problems.push("ca-cert.pem is not signed by (a certificate in) root-cert.pem");
        }
        const chainText = entries.get("cert-chain.pem");
        if (typeof chainText === "string") {
            const chain = certificatesIn(chainText);
            if (chain.length === 0) problems.push("cert-chain.pem holds no readable certificate");
            else if (chain[0].fingerprint256 !== caCert.fingerprint256) {
                problems.push("cert-chain.pem does not start with ca-cert.pem");
            }
        }
    }
    return problems;
}

function safeVerify(cert: X509Certificate, key: KeyObject): boolean {
    try {
        return cert.verify(key);
    } catch {
        return false;
    }
}

export const cacertsKeys: ResourceValidationPolicy = {
    name: "cacerts-secret-keys",
    description:
        "Every `cacerts` Secret (Istio's plug-in CA) carries exactly ca-cert.pem, ca-key.pem, root-cert.pem and " +
        "cert-chain.pem, and they fit together: the key belongs to the CA certificate, which the root signed and " +
        "which heads the chain.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Build the Secret from one intermediate per cluster: ca-cert.pem = intermediate, ca-key.pem = its key, " +
        "root-cert.pem = root, cert-chain.pem = intermediate + root.",
    validateResource: (args, report) => {
        if (args.type !== SECRET_TYPE) return;
        const r = toInput(args);
        if (objectName(r.props) !== CACERTS_SECRET) return;
        const entries = secretEntries(r.props);
        if (isUnknown(entries)) return;
        for (const p of cacertsProblems(entries)) report(`${secretLabel(r)} ${p}.`);
    },
};

// ---------------------------------------------------------------------------------------------
// 4. Never a root private key in a cluster
// ---------------------------------------------------------------------------------------------

/**
 * Problems of one Secret with respect to root keys: forbidden key names, and any private key in
 * the Secret whose public half is that of a certificate in its own `root-cert.pem`.
 */
export function rootKeyProblems(
    entries: Map<string, string | Unknown>,
    forbiddenKeyNames: readonly string[],
): string[] {
    const problems: string[] = [];
    for (const key of entries.keys()) {
        if (forbiddenKeyNames.includes(key)) problems.push(`carries ${key}`);
    }
    const rootText = entries.get("root-cert.pem");
    if (typeof rootText !== "string") return problems;
    const rootKeys = certificatesIn(rootText).map((c) => c.publicKey);
    for (const [key, value] of entries) {
        if (typeof value !== "string" || !hasPrivateKeyBlock(value)) continue;
        if (publicKeysOfPrivateKeysIn(value).some((pub) => rootKeys.some((root) => samePublicKey(pub, root)))) {
            problems.push(`carries the root CA's private key in ${key}`);
        }
    }
    return problems;
}

export const noRootKey: ResourceValidationPolicy = {
    name: "no-root-ca-private-key",
    description:
        "No Secret in any cluster carries the mesh root CA's private key: a cluster admin of any one cluster could " +
        "then mint identities for every cluster. Each cluster gets only its own intermediate key.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Put the per-cluster intermediate key into ca-key.pem and keep the root key in Pulumi state (secret) or " +
        "offline only.",
    configSchema: {
        properties: {
            forbiddenKeyNames: {
                ...stringList("Secret keys that must never appear (the root key file of Istio's tools/certs)."),
                default: DEFAULTS["no-root-ca-private-key"].forbiddenKeyNames,
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== SECRET_TYPE) return;
        const cfg = knobs("no-root-ca-private-key", args);
        const r = toInput(args);
        const entries = secretEntries(r.props);
        if (isUnknown(entries)) return;
        for (const p of rootKeyProblems(entries, cfg.forbiddenKeyNames)) report(`${secretLabel(r)} ${p}.`);
    },
};

/** Public keys of every root the stack knows: `root-cert.pem` of each `cacerts`, every self-signed CA. */
function rootPublicKeys(nodes: StackNode[]): { key: KeyObject; subject: string }[] {
    const out: { key: KeyObject; subject: string }[] = [];
    for (const n of nodes) {
        let pem: unknown;
        if (n.type === SECRET_TYPE && objectName(n.props) === CACERTS_SECRET) {
            const entries = secretEntries(n.props);
            pem = isUnknown(entries) ? undefined : entries.get("root-cert.pem");
        } else if (n.type === TLS_SELF_SIGNED_CERT_TYPE && isTrue(at(n.props, "isCaCertificate"))) {
            pem = at(n.props, "certPem");
        }
        if (typeof pem !== "string") continue;
        for (const c of certificatesIn(pem)) {
            if (!out.some((o) => samePublicKey(o.key, c.publicKey))) out.push({ key: c.publicKey, subject: c.subject });
        }
    }
    return out;
}

export const rootKeyNotDeployed: StackValidationPolicy = {
    name: "root-ca-private-key-not-deployed",
    description:
        "Across the whole stack, no Kubernetes Secret holds a private key whose public key is that of a root CA " +
        "certificate of the mesh (any cacerts root-cert.pem, any self-signed CA certificate).",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Remove the root key from the Secret; clusters only need their intermediate key.",
    validateStack: (args, report) => {
        const nodes = toStackNodes(args.resources);
        const roots = rootPublicKeys(nodes);
        if (roots.length === 0) return;
        for (const n of nodes) {
            if (n.type !== SECRET_TYPE) continue;
            const entries = secretEntries(n.props);
            if (isUnknown(entries)) continue;
            for (const [key, value] of entries) {
                if (typeof value !== "string" || !hasPrivateKeyBlock(value)) continue;
                for (const pub of publicKeysOfPrivateKeysIn(value)) {
                    const root = roots.find((r) => samePublicKey(r.key, pub));
                    if (root) {
                        const name = objectName(n.props);
                        report(
                            `Secret ${typeof name === "string" ? name : n.name} in ${where(n)} holds in ${key} the ` +
                                `private key of root CA "${root.subject.replace(/\n/g, ", ")}".`,
                            n.urn,
                        );
                    }
                }
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 5. istiod releases agree
// ---------------------------------------------------------------------------------------------

/** A pinned chart version: `1.30.3`, `v1.30.3`, `1.31.0-rc.0`; not a range, not empty. */
export function isPinnedVersion(v: string): boolean {
    return /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v.trim());
}

function listed(pairs: { cluster: string; value: string }[]): string {
    return pairs.map((p) => `${p.cluster}=${p.value}`).join(", ");
}

function nodeCluster(n: StackNode): string {
    return n.cluster ?? n.providerName ?? n.name;
}

export const istiodConsistent: StackValidationPolicy = {
    name: "istiod-releases-consistent",
    description:
        "The Istio Helm releases of the stack agree: one pinned chart version, one global.meshID and one trust " +
        "domain, and a unique global.multiCluster.clusterName per istiod (it is the cluster ID in remote secrets).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set istioVersion, meshId and trustDomain once for the stack; never override them per cluster through values.",
    configSchema: {
        properties: {
            chartsWithSameVersion: {
                ...stringList("Charts whose releases must all use one version (and pin it)."),
                default: DEFAULTS["istiod-releases-consistent"].chartsWithSameVersion,
            },
            requireClusterNameMatchesProvider: {
                type: "boolean",
                default: DEFAULTS["istiod-releases-consistent"].requireClusterNameMatchesProvider,
                description: "global.multiCluster.clusterName must equal the cluster of the provider (<cluster>-k8s).",
            },
        },
    },
    validateStack: (args, report) => {
        const cfg = knobs("istiod-releases-consistent", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));

        const versioned = graph.releases.filter(
            (r) => typeof r.release.chart === "string" && cfg.chartsWithSameVersion.includes(r.release.chart),
        );
        const versions: { cluster: string; value: string }[] = [];
        for (const r of versioned) {
            const v = r.release.version;
            if (isUnknown(v)) continue;
            const chart = String(r.release.chart);
            const label = `${chart} release ${r.node.name} in ${where(r.node)}`;
            if (v === undefined || v.trim() === "") {
                report(`${label} does not pin a chart version (it would install whatever is newest).`, r.node.urn);
            } else if (!isPinnedVersion(v)) {
                report(`${label} uses version "${v}", which is not one exact version.`, r.node.urn);
            } else {
                versions.push({ cluster: `${nodeCluster(r.node)}/${chart}`, value: v.replace(/^v/, "") });
            }
        }
        if (new Set(versions.map((v) => v.value)).size > 1) {
            report(`Istio charts use different versions: ${listed(versions)}.`);
        }

        const meshIds: { cluster: string; value: string }[] = [];
        const trustDomains: { cluster: string; value: string }[] = [];
        const names = new Map<string, IstiodRelease[]>();
        for (const i of graph.istiods) {
            const label = `istiod release ${i.node.name} in ${where(i.node)}`;
            if (i.remote === false && (i.meshID === undefined || i.meshID === "")) {
                report(`${label} sets no global.meshID.`, i.node.urn);
            }
            if (typeof i.meshID === "string" && i.meshID !== "") {
                meshIds.push({ cluster: nodeCluster(i.node), value: i.meshID });
            }
            if (typeof i.trustDomain === "string" && i.trustDomain !== "") {
                trustDomains.push({ cluster: nodeCluster(i.node), value: i.trustDomain });
            }
            if (isUnknown(i.clusterName)) continue;
            if (i.clusterName === undefined || i.clusterName === "") {
                report(
                    `${label} sets no global.multiCluster.clusterName (istiod would call itself "Kubernetes").`,
                    i.node.urn,
                );
                continue;
            }
            names.set(i.clusterName, [...(names.get(i.clusterName) ?? []), i]);
            if (cfg.requireClusterNameMatchesProvider && i.node.cluster && i.node.cluster !== i.clusterName) {
                report(
                    `${label} names itself ${i.clusterName}, but its provider ${i.node.providerName} is cluster ` +
                        `${i.node.cluster}.`,
                    i.node.urn,
                );
            }
        }
        if (new Set(meshIds.map((m) => m.value)).size > 1) {
            report(`istiod releases use different global.meshID values: ${listed(meshIds)}.`);
        }
        if (new Set(trustDomains.map((m) => m.value)).size > 1) {
            report(`istiod releases use different meshConfig.trustDomain values: ${listed(trustDomains)}.`);
        }
        for (const [name, releases] of names) {
            if (releases.length > 1) {
                report(
                    `global.multiCluster.clusterName ${name} is used by ${releases.length} istiod releases ` +
                        `(${releases.map((r) => `${r.node.name} in ${where(r.node)}`).join("; ")}).`,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 6. Remote secrets: token credentials, never the holder itself
// ---------------------------------------------------------------------------------------------

function isRemoteSecretProps(props: Record<string, unknown>): boolean {
    const labels = recordAt(props, "metadata", "labels");
    return !isUnknown(labels) && labels !== undefined && labels[LABEL_MULTICLUSTER_SECRET] === "true";
}

export const remoteSecretCredentials: ResourceValidationPolicy = {
    name: "remote-secret-credentials",
    description:
        'Remote secrets (label istio/multiCluster: "true") never describe the cluster that holds them, and each ' +
        "kubeconfig authenticates with the reader service account's bearer token only (no client certificate, " +
        "exec or auth-provider credentials of an operator), against a reachable server with TLS verified.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Let the program build remote secrets from each source cluster's istio-reader-service-account token; " +
        "set clusters[].apiServer to an address reachable from the other clusters.",
    configSchema: {
        properties: {
            forbiddenUserFields: {
                ...stringList("kubeconfig user fields that must not appear."),
                default: DEFAULTS["remote-secret-credentials"].forbiddenUserFields,
            },
            allowLoopbackServer: {
                type: "boolean",
                default: DEFAULTS["remote-secret-credentials"].allowLoopbackServer,
                description: "Accept server URLs on 127.0.0.1/localhost (never reachable from another cluster).",
            },
            allowInsecureSkipTlsVerify: {
                type: "boolean",
                default: DEFAULTS["remote-secret-credentials"].allowInsecureSkipTlsVerify,
                description: "Accept insecure-skip-tls-verify: true.",
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== SECRET_TYPE) return;
        const r = toInput(args);
        if (!isRemoteSecretProps(r.props)) return;
        const cfg = knobs("remote-secret-credentials", args);
        const entries = secretEntries(r.props);
        if (isUnknown(entries)) return;
        for (const [key, value] of entries) {
            if (r.cluster !== undefined && key === r.cluster) {
                report(
                    `${secretLabel(r)} holds a kubeconfig for ${key}, the holding cluster itself (istiod ignores it; ` +
                        "it is a copy of that cluster's credentials for nothing).",
                );
            }
            if (isUnknown(value)) continue;
            for (const p of kubeconfigProblems(value, cfg)) report(`${secretLabel(r)}, key ${key}: kubeconfig ${p}.`);
        }
    },
};

export const remoteSecretsMatchClusters: StackValidationPolicy = {
    name: "remote-secrets-match-clusters",
    description:
        "Every remote-secret key is the global.multiCluster.clusterName of an istiod release of the stack, appears " +
        "once per holder, is never the holder's own cluster ID, and every primary watches every other cluster.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Key remote secrets by cluster name (clusters[].name), one per source and holder; let every primary hold " +
        "one for each other cluster.",
    configSchema: {
        properties: {
            externalClusters: {
                ...stringList("Cluster IDs outside this stack that remote secrets may name."),
                default: DEFAULTS["remote-secrets-match-clusters"].externalClusters,
            },
            requireEveryPrimaryWatchesAll: {
                type: "boolean",
                default: DEFAULTS["remote-secrets-match-clusters"].requireEveryPrimaryWatchesAll,
                description: "Every primary must hold a remote secret for every other istiod cluster of the stack.",
            },
        },
    },
    validateStack: (args, report) => {
        const cfg = knobs("remote-secrets-match-clusters", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const clusterNames = new Set<string>();
        let namesComplete = true;
        for (const i of graph.istiods) {
            if (typeof i.clusterName === "string") clusterNames.add(i.clusterName);
            else namesComplete = false;
        }
        const seenPerHolder = new Map<string, Map<string, StackNode>>();
        for (const s of graph.remoteSecrets) {
            const entries = secretEntries(s.props);
            if (isUnknown(entries)) continue;
            const holderKey = s.providerUrn ?? "";
            const holderIstiod = graph.istiods.find((i) => i.node.providerUrn && i.node.providerUrn === s.providerUrn);
            const seen = seenPerHolder.get(holderKey) ?? new Map<string, StackNode>();
            seenPerHolder.set(holderKey, seen);
            const name = objectName(s.props);
            const label = `remote secret ${typeof name === "string" ? name : s.name} in ${where(s)}`;
            for (const key of entries.keys()) {
                if (namesComplete && !clusterNames.has(key) && !cfg.externalClusters.includes(key)) {
                    report(
                        `${label} names cluster ${key}, which no istiod release of the stack uses as ` +
                            `global.multiCluster.clusterName (known: ${[...clusterNames].sort().join(", ") || "none"}).`,
                        s.urn,
                    );
                }
                if (
                    holderIstiod &&
                    typeof holderIstiod.clusterName === "string" &&
                    key === holderIstiod.clusterName &&
                    key !== s.cluster
                ) {
                    report(`${label} holds a kubeconfig for ${key}, the holder's own cluster ID.`, s.urn);
                }
                const first = seen.get(key);
                if (first) {
                    const firstName = objectName(first.props);
                    report(
                        `${label} repeats cluster ${key}, already in ${typeof firstName === "string" ? firstName : first.name}; ` +
                            "istiod ignores the second one.",
                        s.urn,
                    );
                } else {
                    seen.set(key, s);
                }
            }
        }
        if (!cfg.requireEveryPrimaryWatchesAll || !namesComplete) return;
        for (const p of graph.istiods) {
            if (p.remote !== false || typeof p.clusterName !== "string") continue;
            const keys = remoteSecretKeysOn(graph, p.node.providerUrn);
            if (isUnknown(keys)) continue;
            const missing = [...clusterNames].filter((c) => c !== p.clusterName && !keys.has(c)).sort();
            if (missing.length > 0) {
                report(
                    `primary ${p.clusterName} holds no remote secret for ${missing.join(", ")}: its istiod cannot see ` +
                        "their services and endpoints.",
                    p.node.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 7. Certificates
// ---------------------------------------------------------------------------------------------

export const keyStrength: ResourceValidationPolicy = {
    name: "tls-key-strength",
    description:
        "CA private keys are strong: RSA with at least 2048 bits or ECDSA on P256 or larger (never the provider's " +
        "default curve P224).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: 'Set ca.keyAlgorithm with ca.rsaBits >= 2048 or ca.ecdsaCurve "P256"/"P384".',
    configSchema: {
        properties: {
            allowedAlgorithms: {
                ...stringList("Accepted key algorithms.", { enum: ["RSA", "ECDSA", "ED25519"] }),
                default: DEFAULTS["tls-key-strength"].allowedAlgorithms,
            },
            minRsaBits: {
                type: "integer",
                minimum: 2048,
                default: DEFAULTS["tls-key-strength"].minRsaBits,
                description: "Smallest accepted RSA key size.",
            },
            allowedEcdsaCurves: {
                ...stringList("Accepted ECDSA curves.", { enum: ["P256", "P384", "P521"] }),
                default: DEFAULTS["tls-key-strength"].allowedEcdsaCurves,
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== TLS_PRIVATE_KEY_TYPE) return;
        const cfg = knobs("tls-key-strength", args);
        const props = plainProps(args.props);
        const algorithm = at(props, "algorithm");
        if (isUnknown(algorithm) || typeof algorithm !== "string") return;
        if (!cfg.allowedAlgorithms.includes(algorithm)) {
            report(`private key ${args.name} uses ${algorithm}; allowed: ${cfg.allowedAlgorithms.join(", ")}.`);
            return;
        }
        if (algorithm === "RSA") {
            const bits = at(props, "rsaBits");
            if (isUnknown(bits)) return;
            // The provider's default is 2048 bits.
            const size = typeof bits === "number" ? bits : 2048;
            if (size < cfg.minRsaBits)
                report(`private key ${args.name} has ${size} RSA bits; minimum ${cfg.minRsaBits}.`);
        } else if (algorithm === "ECDSA") {
            const curve = at(props, "ecdsaCurve");
            if (isUnknown(curve)) return;
            const name = typeof curve === "string" ? curve : undefined;
            if (name === undefined) {
                report(`private key ${args.name} sets no ecdsaCurve, so the provider uses P224.`);
            } else if (!cfg.allowedEcdsaCurves.includes(name)) {
                report(`private key ${args.name} uses curve ${name}; allowed: ${cfg.allowedEcdsaCurves.join(", ")}.`);
            }
        }
    },
};

function snakeCase(s: string): string {
    return s
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .replace(/[\s-]+/g, "_")
        .toLowerCase();
}

/** Problems of an `allowedUses` list: unknown (silently dropped) values, and CA certs without cert_signing. */
export function allowedUsesProblems(uses: unknown, isCa: boolean): string[] {
    if (isUnknown(uses) || !Array.isArray(uses)) return [];
    const problems: string[] = [];
    for (const u of uses) {
        if (isUnknown(u) || typeof u !== "string") continue;
        if (TLS_KEY_USAGES.includes(u)) continue;
        const guess = snakeCase(u);
        problems.push(
            `allowedUses value "${u}" is not one the provider knows, so it is silently dropped` +
                (TLS_KEY_USAGES.includes(guess) ? ` (write "${guess}")` : ""),
        );
    }
    if (isCa && !uses.some((u) => u === "cert_signing") && !uses.some(isUnknown)) {
        problems.push('a CA certificate without "cert_signing" cannot sign workload certificates');
    }
    return problems;
}

export const allowedUses: ResourceValidationPolicy = {
    name: "tls-allowed-uses",
    description:
        "Certificate allowedUses are snake_case values the TLS provider knows (an unknown value, e.g. camelCase " +
        '"certSigning", is dropped without error), and CA certificates include "cert_signing".',
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Use cert_signing, crl_signing, digital_signature, key_encipherment, server_auth, client_auth, …",
    validateResource: (args, report) => {
        if (args.type !== TLS_SELF_SIGNED_CERT_TYPE && args.type !== TLS_LOCALLY_SIGNED_CERT_TYPE) return;
        const props = plainProps(args.props);
        const isCa = isTrue(at(props, "isCaCertificate"));
        for (const p of allowedUsesProblems(at(props, "allowedUses"), isCa)) report(`certificate ${args.name}: ${p}.`);
    },
};

export const intermediateLifetime: ResourceValidationPolicy = {
    name: "tls-intermediate-lifetime",
    description:
        "Intermediate CA certificates (LocallySignedCert with isCaCertificate) live at most a set number of days.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Lower intermediate.validityDays (and rotate with `pulumi up` before expiry).",
    configSchema: {
        properties: {
            maxIntermediateValidityDays: {
                type: "integer",
                minimum: 1,
                default: DEFAULTS["tls-intermediate-lifetime"].maxIntermediateValidityDays,
                description: "Longest accepted validity of an intermediate CA, in days.",
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== TLS_LOCALLY_SIGNED_CERT_TYPE) return;
        const cfg = knobs("tls-intermediate-lifetime", args);
        const props = plainProps(args.props);
        if (!isTrue(at(props, "isCaCertificate"))) return;
        const hours = at(props, "validityPeriodHours");
        if (typeof hours !== "number") return;
        if (hours > cfg.maxIntermediateValidityDays * 24) {
            report(
                `intermediate ${args.name} is valid for ${hours} hours (${(hours / 24).toFixed(1)} days); ` +
                    `maximum ${cfg.maxIntermediateValidityDays} days.`,
            );
        }
    },
};

/** The root certificate resource an intermediate was signed with, by dependency or by PEM. */
function issuerOf(nodes: StackNode[], cert: StackNode): StackNode | undefined {
    const roots = nodes.filter((n) => n.type === TLS_SELF_SIGNED_CERT_TYPE);
    const byUrn = new Map(roots.map((r) => [r.urn, r]));
    for (const key of ["caCertPem", "caPrivateKeyPem"]) {
        for (const urn of cert.propertyDependencies[key] ?? []) {
            const root = byUrn.get(urn);
            if (root) return root;
        }
    }
    const caPem = at(cert.props, "caCertPem");
    if (typeof caPem === "string") {
        const same = roots.find((r) => at(r.props, "certPem") === caPem);
        if (same) return same;
    }
    for (const urn of cert.dependencies) {
        const root = byUrn.get(urn);
        if (root) return root;
    }
    return roots.length === 1 ? roots[0] : undefined;
}

function timeOf(v: unknown): number | undefined {
    if (typeof v !== "string") return undefined;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
}

export const intermediateWithinRoot: StackValidationPolicy = {
    name: "tls-intermediate-within-root",
    description:
        "No intermediate CA outlives its root: its validity period is at most the root's, and it ends before the " +
        "root certificate expires.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Shorten intermediate.validityDays, or renew the root first (see docs on rotation).",
    validateStack: (args, report) => {
        const nodes = toStackNodes(args.resources);
        for (const cert of nodes) {
            if (cert.type !== TLS_LOCALLY_SIGNED_CERT_TYPE || !isTrue(at(cert.props, "isCaCertificate"))) continue;
            const hours = at(cert.props, "validityPeriodHours");
            const root = issuerOf(nodes, cert);
            if (root) {
                const rootHours = at(root.props, "validityPeriodHours");
                if (typeof hours === "number" && typeof rootHours === "number" && hours > rootHours) {
                    report(
                        `intermediate ${cert.name} is valid for ${hours} hours, longer than root ${root.name} ` +
                            `(${rootHours} hours).`,
                        cert.urn,
                    );
                    continue;
                }
            }
            // End dates: the issued certificate's, or now + validity while it is not issued yet.
            let end = timeOf(at(cert.props, "validityEndTime"));
            if (end === undefined && typeof hours === "number") end = Date.now() + hours * 3600_000;
            let rootEnd = root ? timeOf(at(root.props, "validityEndTime")) : undefined;
            const caPem = at(cert.props, "caCertPem");
            if (rootEnd === undefined && typeof caPem === "string") {
                const ca = certificatesIn(caPem)[0];
                if (ca) rootEnd = Date.parse(ca.validTo);
            }
            if (end !== undefined && rootEnd !== undefined && end > rootEnd) {
                report(
                    `intermediate ${cert.name} would be valid until ${new Date(end).toISOString()}, after its root ` +
                        `expires (${new Date(rootEnd).toISOString()}).`,
                    cert.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 8. Advisories
// ---------------------------------------------------------------------------------------------

export const nodePortInProduction: ResourceValidationPolicy = {
    name: "nodeport-gateway-in-production",
    description:
        "Production stacks expose east-west gateways through a LoadBalancer: a NodePort gateway depends on node " +
        "addresses that change with the node pool.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: 'Use clusters[].eastWestGateway.serviceType "LoadBalancer" in production stacks.',
    configSchema: {
        properties: {
            tagName: {
                type: "string",
                default: DEFAULTS["nodeport-gateway-in-production"].tagName,
                description: "Stack tag that names the environment.",
            },
            productionValues: {
                ...stringList("Values of that tag that mean production."),
                default: DEFAULTS["nodeport-gateway-in-production"].productionValues,
            },
        },
    },
    validateResource: (args, report) => {
        if (args.type !== HELM_RELEASE_TYPE) return;
        const cfg = knobs("nodeport-gateway-in-production", args);
        const environment = args.stackTags?.get(cfg.tagName);
        if (environment === undefined || !cfg.productionValues.includes(environment)) return;
        const r = toInput(args);
        const release = helmRelease(r.props, r.name);
        if (!isEastWestGatewayRelease(release)) return;
        if (stringAt(release.values, "service", "type") === "NodePort") {
            report(
                `east-west gateway ${r.name} in ${clusterLabel(r)} is a NodePort Service in a ${environment} stack.`,
            );
        }
    },
};

/** Type token prefix of the program's verification components. */
export const VERIFY_COMPONENT_PREFIX = "istio-multicluster:verify:";
/** Pulumi name suffix of the verification's probe commands (`<cluster>-verify-probe`). */
export const VERIFY_PROBE_SUFFIX = "-verify-probe";

export const verificationEnabled: StackValidationPolicy = {
    name: "verification-enabled",
    description:
        "The stack runs the post-deploy cross-cluster check (config verify: true), so `pulumi up` fails when " +
        "traffic does not actually cross clusters.",
    enforcementLevel: "advisory",
    severity: "low",
    remediationSteps: "pulumi config set verify true",
    validateStack: (args, report) => {
        const nodes = toStackNodes(args.resources);
        const istiods = buildMeshGraph(nodes).istiods;
        if (istiods.length === 0) return;
        // Signal: the verification component, or one of its probe commands (matched by parentage, or by
        // the `<cluster>-verify-probe` name should the engine not list components). They exist only
        // when verify is on, whatever verification.namespace is set to.
        const verifies = args.resources.some(
            (r) =>
                r.type.startsWith(VERIFY_COMPONENT_PREFIX) ||
                (r.type === COMMAND_TYPE &&
                    (r.name.endsWith(VERIFY_PROBE_SUFFIX) ||
                        ancestorTypes(r.parent).some((t) => t.startsWith(VERIFY_COMPONENT_PREFIX)))),
        );
        if (!verifies) {
            report(
                `The stack deploys ${istiods.length} istiod release(s) but no cross-cluster verification ` +
                    "(no istio-multicluster:verify:* component).",
            );
        }
    },
};

function ancestorTypes(parent: { type: string; parent?: unknown } | undefined): string[] {
    const out: string[] = [];
    let p = parent as { type: string; parent?: unknown } | undefined;
    for (let depth = 0; p && depth < 64; depth++) {
        out.push(p.type);
        p = p.parent as { type: string; parent?: unknown } | undefined;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// 9. Mesh topology
// ---------------------------------------------------------------------------------------------

export const multiNetworkGateways: StackValidationPolicy = {
    name: "multi-network-gateways",
    description:
        "In a multi-network mesh every primary has an east-west gateway for its network and the " +
        "cross-network-gateway Gateway, and every network has an east-west gateway; otherwise traffic to its pods " +
        "has no way in.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Keep the program's defaults: every cluster of a multi-network mesh gets istio-eastwestgateway and every " +
        "primary cross-network-gateway.",
    validateStack: (args, report) => {
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const networks = new Set<string>();
        for (const i of graph.istiods) if (typeof i.network === "string" && i.network !== "") networks.add(i.network);
        if (networks.size < 2) return;
        const shown = [...networks].sort().join(", ");
        for (const i of graph.istiods) {
            const label = `istiod ${i.node.name} in ${where(i.node)}`;
            if (i.network === undefined || i.network === "") {
                report(`${label} sets no global.network in a multi-network mesh (${shown}).`, i.node.urn);
            }
            if (i.remote !== false) continue;
            const gws = graph.gateways.filter((g) => g.node.providerUrn && g.node.providerUrn === i.node.providerUrn);
            if (gws.length === 0) {
                report(
                    `primary ${label} has no east-west gateway release in a multi-network mesh (${shown}).`,
                    i.node.urn,
                );
            } else if (
                typeof i.network === "string" &&
                !gws.some((g) => isUnknown(g.network) || g.network === i.network)
            ) {
                report(
                    `primary ${label} is on network ${i.network}, but its east-west gateway serves ` +
                        `${gws.map((g) => String(g.network ?? "no network")).join(", ")}.`,
                    i.node.urn,
                );
            }
            const cng = crossNetworkGatewayOn(graph, i.node.providerUrn);
            if (cng === undefined) {
                report(`primary ${label} has no cross-network-gateway Gateway (expose-services).`, i.node.urn);
            }
        }
        if (graph.gateways.some((g) => isUnknown(g.network))) return;
        for (const net of networks) {
            if (!graph.gateways.some((g) => g.network === net)) {
                report(`network ${net} has no east-west gateway: no other network can reach its pods.`);
            }
        }
    },
};

function servingPrimaries(graph: MeshGraph, remote: IstiodRelease): IstiodRelease[] | Unknown {
    const primaries = graph.istiods.filter((i) => i.remote === false);
    const named = controlPlaneClustersOn(graph, remote.node.providerUrn);
    if (isUnknown(named)) return UNKNOWN;
    if (named && named.length > 0 && !named.includes("*")) {
        return primaries.filter((p) => typeof p.clusterName === "string" && named.includes(p.clusterName));
    }
    const address = remote.remotePilotAddress;
    if (typeof address === "string" && address !== "") {
        const matching = primaries.filter((p) => gatewayAddresses(graph, p).known.has(address));
        if (matching.length > 0) return matching;
    }
    if (primaries.length === 1) return primaries;
    return isUnknown(address) ? UNKNOWN : [];
}

export const remotesHaveServingPrimary: StackValidationPolicy = {
    name: "remotes-have-serving-primary",
    description:
        "Every remote cluster (istiod profile remote) has a serving primary in the stack that exposes istiod " +
        "(istiod-gateway Gateway and istiod-vs VirtualService behind an east-west gateway), runs with " +
        "externalIstiod, holds the remote's secret, and whose gateway address is the remote's remotePilotAddress.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Give the remote a primary (clusters[].controlPlane); keep the program's exposure objects; point " +
        "remotePilotAddress at the primary's east-west gateway address.",
    configSchema: {
        properties: {
            requireAddressMatch: {
                type: "boolean",
                default: DEFAULTS["remotes-have-serving-primary"].requireAddressMatch,
                description:
                    "remotePilotAddress must be one of the primary's known gateway addresses (when any is known). " +
                    "Turn off when a NAT address fronts the gateway.",
            },
        },
    },
    validateStack: (args, report) => {
        const cfg = knobs("remotes-have-serving-primary", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));
        for (const remote of graph.istiods) {
            if (remote.remote !== true) continue;
            const name = typeof remote.clusterName === "string" ? remote.clusterName : nodeCluster(remote.node);
            const label = `remote ${name} (istiod ${remote.node.name})`;
            if (remote.remotePilotAddress === undefined || remote.remotePilotAddress === "") {
                report(
                    `${label} sets no global.remotePilotAddress: its proxies have no control plane.`,
                    remote.node.urn,
                );
            }
            const serving = servingPrimaries(graph, remote);
            if (isUnknown(serving)) continue;
            if (serving.length === 0) {
                report(`${label} has no serving primary in this stack.`, remote.node.urn);
                continue;
            }
            for (const p of serving) {
                const pLabel = `primary ${typeof p.clusterName === "string" ? p.clusterName : nodeCluster(p.node)}`;
                if (istiodGatewayOn(graph, p.node.providerUrn) === undefined) {
                    report(`${pLabel} serves ${label} but has no istiod-gateway Gateway (expose-istiod).`, p.node.urn);
                }
                if (istiodVirtualServiceOn(graph, p.node.providerUrn) === undefined) {
                    report(
                        `${pLabel} serves ${label} but has no istiod-vs VirtualService (expose-istiod).`,
                        p.node.urn,
                    );
                }
                if (!graph.gateways.some((g) => g.node.providerUrn && g.node.providerUrn === p.node.providerUrn)) {
                    report(`${pLabel} serves ${label} but has no east-west gateway to expose istiod.`, p.node.urn);
                }
                if (p.externalIstiod === false) {
                    report(
                        `${pLabel} serves ${label} but its istiod does not set global.externalIstiod, so it never ` +
                            "patches the remote's webhooks or writes its istio-ca-root-cert ConfigMaps.",
                        p.node.urn,
                    );
                }
                const keys = remoteSecretKeysOn(graph, p.node.providerUrn);
                if (!isUnknown(keys) && typeof remote.clusterName === "string" && !keys.has(remote.clusterName)) {
                    report(`${pLabel} holds no remote secret for ${label}.`, p.node.urn);
                }
                const address = remote.remotePilotAddress;
                if (cfg.requireAddressMatch && typeof address === "string" && address !== "") {
                    const addresses = gatewayAddresses(graph, p);
                    if (addresses.known.size > 0 && !addresses.known.has(address) && !addresses.unknown) {
                        report(
                            `${label} points remotePilotAddress at ${address}, but ${pLabel}'s east-west gateway is ` +
                                `at ${[...addresses.known].join(", ")}.`,
                            remote.node.urn,
                        );
                    }
                }
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// The pack
// ---------------------------------------------------------------------------------------------

/** Every policy of the pack, in the order the CLI lists them. */
export const policies: Policies = [
    explicitProvider,
    providerNoRenderToDisk,
    cacertsKeys,
    noRootKey,
    rootKeyNotDeployed,
    istiodConsistent,
    remoteSecretCredentials,
    remoteSecretsMatchClusters,
    keyStrength,
    allowedUses,
    intermediateLifetime,
    intermediateWithinRoot,
    nodePortInProduction,
    verificationEnabled,
    multiNetworkGateways,
    remotesHaveServingPrimary,
];

/** The pack's default enforcement level (each policy sets its own; advisories are marked). */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";
