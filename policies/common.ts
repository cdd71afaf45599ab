/**
 * What every rule of the pack shares: its name, the resource types it knows, each policy's
 * configuration knobs with their defaults, and how a resource reaches a resource rule.
 */
import { ResourceValidationArgs } from "@pulumi/policy";
import { resourceIdentity } from "./graph";
import { NON_TOKEN_USER_FIELDS, objectName, plainProps } from "./inspect";

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
    "remote-secret-token-expiry": { minRemainingDays: 30 },
    "long-lived-reader-token": { maxLifetimeDays: 90, tagName: "environment", productionValues: ["production"] },
};

export type Knobs<P extends keyof typeof DEFAULTS> = (typeof DEFAULTS)[P];

export function knobs<P extends keyof typeof DEFAULTS>(
    policy: P,
    args: { getConfig<T extends object>(): T },
): Knobs<P> {
    // The CLI fills schema defaults; the pack's own handlers (and tests) may hand over nothing.
    return { ...DEFAULTS[policy], ...args.getConfig<Partial<Knobs<P>>>() } as Knobs<P>;
}

/** How one knob of a policy is described; its type and default come from {@link DEFAULTS}. */
export interface KnobSpec {
    /** What the knob does, shown by `pulumi policy` tooling. */
    description: string;
    /** For a list knob: a schema for its items beyond `type: string` (e.g. an `enum`). */
    items?: object;
    /** For a number knob: the smallest value accepted. */
    minimum?: number;
}

/**
 * The `configSchema` of a policy: one property per knob, typed after its default in
 * {@link DEFAULTS} (a list of strings, a boolean, an integer or a string), so that the schema
 * and the defaults the rules fall back to cannot disagree.
 */
export function knobSchema<P extends keyof typeof DEFAULTS>(
    policy: P,
    specs: { [K in keyof Knobs<P>]: KnobSpec },
): { properties: Record<string, object> } {
    const properties: Record<string, object> = {};
    for (const [key, spec] of Object.entries(specs) as [string, KnobSpec][]) {
        const value: unknown = (DEFAULTS[policy] as Record<string, unknown>)[key];
        const { description, items, minimum } = spec;
        if (Array.isArray(value)) {
            properties[key] = {
                type: "array",
                items: { type: "string", ...(items ?? {}) },
                description,
                default: value,
            };
        } else {
            const type = typeof value === "number" ? "integer" : typeof value;
            properties[key] = { type, ...(minimum !== undefined ? { minimum } : {}), default: value, description };
        }
    }
    return { properties };
}

// ---------------------------------------------------------------------------------------------
// Resource policy plumbing
// ---------------------------------------------------------------------------------------------

/** A resource as the resource rules see it. */
export interface ResourceInput {
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

export function toInput(args: ResourceValidationArgs): ResourceInput {
    return {
        ...resourceIdentity(args),
        providerType: args.provider?.type,
        providerProps: args.provider ? plainProps(args.provider.props) : undefined,
        stackTags: args.stackTags ?? new Map(),
    };
}

export function clusterLabel(r: ResourceInput): string {
    return r.cluster ? `cluster ${r.cluster}` : r.providerName ? `provider ${r.providerName}` : "an unnamed provider";
}

export function secretLabel(r: ResourceInput): string {
    const name = objectName(r.props);
    const shown = typeof name === "string" ? name : r.name;
    return `Secret ${shown} (${r.name}) in ${clusterLabel(r)}`;
}
