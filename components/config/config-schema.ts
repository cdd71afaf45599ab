/**
 * The JSON schema of the stack configuration: the ONE place that knows which keys exist, their
 * types and their defaults.
 *
 * `config-validation.ts` validates against it (with Ajv), `docs/configuration.md` and the
 * `config:` block of `Pulumi.yaml` are tested against it. Free-form maps (Helm values, mesh
 * config, annotations, node selectors, kubeconfigs) are the only objects that accept keys the
 * schema does not list.
 */
import {
    DEFAULT_CHART_REPOSITORY,
    DEFAULT_ISTIO_VERSION,
    DEFAULT_MESH_ID,
    DEFAULT_NETWORK,
    DEFAULT_ROOT_CA_NAME,
    DEFAULT_TRUST_DOMAIN,
} from "./config";

/** Pinned image of the verification server: Istio's helloworld sample as published for current releases. */
export const DEFAULT_VERIFICATION_SERVER_IMAGE = "registry.istio.io/release/examples-helloworld-v1:1.0";
/** Pinned image of the verification client (Istio's `curl` sample uses `curlimages/curl`). */
export const DEFAULT_VERIFICATION_CLIENT_IMAGE = "curlimages/curl:8.12.1";

/** The subset of JSON schema this project uses, plus `x-secret` (value must be set with `--secret`). */
export interface ConfigSchema {
    type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
    description?: string;
    default?: unknown;
    enum?: readonly (string | number)[];
    minimum?: number;
    properties?: Record<string, ConfigSchema>;
    required?: readonly string[];
    additionalProperties?: boolean | ConfigSchema;
    items?: ConfigSchema;
    /** Marks a key whose value must be a Pulumi secret (`pulumi config set --secret`). */
    "x-secret"?: boolean;
}

const stringMap = (description: string): ConfigSchema => ({
    type: "object",
    description,
    additionalProperties: { type: "string" },
});

const freeForm = (description: string): ConfigSchema => ({ type: "object", description, additionalProperties: true });

const chartValues = (scope: string): ConfigSchema => ({
    type: "object",
    description: `Helm values merged over the program's own values, per chart (${scope}).`,
    additionalProperties: false,
    properties: {
        base: freeForm("Values for the `base` chart."),
        istiod: freeForm("Values for the `istiod` chart."),
        gateway: freeForm("Values for the `gateway` chart (the east-west gateway)."),
    },
});

/**
 * The keys of a root CA: `ca`, and `rootRotation.next` (whose name has no default: it must differ
 * from `ca.name`).
 */
function rootCaProperties(defaultName?: string, federated = false): Record<string, ConfigSchema> {
    return {
        mode: {
            type: "string",
            enum: federated ? ["generate", "import", "federated"] : ["generate", "import"],
            default: "generate",
            description: federated
                ? "`generate` a root, `import` your own, or `federated`: every primary has its own root (`clusters[].ca`)."
                : "`generate` a root, or `import` your own.",
        },
        keyAlgorithm: {
            type: "string",
            enum: ["RSA", "ECDSA"],
            default: "RSA",
            description: "Algorithm of generated keys.",
        },
        rsaBits: { type: "integer", enum: [2048, 3072, 4096], default: 4096, description: "RSA key size." },
        ecdsaCurve: { type: "string", enum: ["P256", "P384"], default: "P256", description: "ECDSA curve." },
        validityDays: { type: "integer", minimum: 1, default: 3650, description: "Root validity in days." },
        organization: { type: "string", default: "Istio", description: "Subject O of the root." },
        commonName: { type: "string", default: "Root CA", description: "Subject CN of the root." },
        certPem: { type: "string", description: "Import mode: the root certificate PEM." },
        certFile: { type: "string", description: "Import mode: path of the root certificate PEM file." },
        name: {
            type: "string",
            ...(defaultName !== undefined ? { default: defaultName } : {}),
            description: "Pulumi resource name of the root (DNS-1123 label); part of its URNs.",
        },
    };
}

const clusterSchema: ConfigSchema = {
    type: "object",
    description: "One Kubernetes cluster of the mesh.",
    additionalProperties: false,
    required: ["name"],
    properties: {
        name: {
            type: "string",
            description: "DNS-1123 label, unique: cluster ID, remote-secret key and resource-name stem.",
        },
        network: {
            type: "string",
            default: DEFAULT_NETWORK,
            description: "Network name; clusters whose pods reach each other directly share one.",
        },
        role: {
            type: "string",
            enum: ["primary", "remote"],
            default: "primary",
            description: "`primary` runs istiod; `remote` is served by a primary.",
        },
        controlPlane: { type: "string", description: "For a remote: the primary serving it." },
        kubeconfig: {
            type: "string",
            description: "Path of the kubeconfig file (`~` expanded). Default `$KUBECONFIG`, else `~/.kube/config`.",
        },
        context: { type: "string", description: "Kube context of this cluster. Default: the current-context." },
        apiServer: {
            type: "string",
            description: "https URL at which the other clusters' istiod reach this API server.",
        },
        apiServerTlsServerName: {
            type: "string",
            description:
                "Name the other clusters' istiod check this API server's certificate against, when the host of " +
                "`apiServer` is not in it (kubeconfig `tls-server-name`).",
        },
        eastWestGateway: {
            type: "object",
            description: "Exposure of this cluster's east-west gateway.",
            default: {},
            additionalProperties: false,
            properties: {
                serviceType: {
                    type: "string",
                    enum: ["LoadBalancer", "NodePort"],
                    default: "LoadBalancer",
                    description: "Kubernetes Service type of the gateway.",
                },
                nodePort: { type: "integer", description: "Fixed node port for port 15443 (NodePort only)." },
                address: { type: "string", description: "Address other networks use to reach the gateway." },
                nodeSelector: stringMap("Node labels for `traffic.istio.io/nodeSelector` (NodePort only)."),
                annotations: stringMap("Extra annotations on the gateway Service."),
                loadBalancerIP: { type: "string", description: "Requested `spec.loadBalancerIP` (LoadBalancer only)." },
            },
        },
        ca: {
            type: "object",
            description: "Federated mode (`ca.mode: federated`), primaries only: this primary's own root.",
            additionalProperties: false,
            properties: {
                mode: {
                    type: "string",
                    enum: ["generate", "import", "existing"],
                    default: "generate",
                    description:
                        "`generate` a root for this cluster, `import` your own (key in `caKeyPems.<cluster>`), or " +
                        "trust the `existing` CA of an Istio already running there without touching it.",
                },
                name: {
                    type: "string",
                    description: "Pulumi resource name of this root (DNS-1123 label). Default `<cluster>-root`.",
                },
                commonName: {
                    type: "string",
                    description: "Generate mode: subject CN of this root. Default `<ca.commonName> <cluster>`.",
                },
                certPem: { type: "string", description: "Import mode: the root certificate PEM." },
                certFile: { type: "string", description: "Import mode: path of the root certificate PEM file." },
                rootCertPem: {
                    type: "string",
                    description: "Existing mode: the public root the cluster's istiod already signs with.",
                },
                rootCertFile: { type: "string", description: "Existing mode: path of that root certificate PEM." },
            },
        },
        values: chartValues("this cluster"),
        adopt: {
            type: "boolean",
            default: false,
            description: "Take over an existing `istio-system` namespace instead of failing.",
        },
        revisions: {
            type: "array",
            items: { type: "string" },
            description: "Names of the mesh-wide `revisions` this cluster runs (staging); default: all of them.",
        },
        defaultRevision: {
            type: "string",
            description: "This cluster's default revision (staging); default: the mesh-wide `defaultRevision`.",
        },
        revisionTags: stringMap("Tag → revision entries of this cluster, merged over the mesh-wide `revisionTags`."),
    },
};

/** The schema of all keys of the `istio-multicluster:` namespace (prefix stripped). */
export const MESH_CONFIG_SCHEMA: ConfigSchema = {
    type: "object",
    additionalProperties: false,
    required: ["clusters"],
    properties: {
        meshId: { type: "string", default: DEFAULT_MESH_ID, description: "`global.meshID` of every cluster." },
        trustDomain: { type: "string", default: DEFAULT_TRUST_DOMAIN, description: "Mesh trust domain." },
        istioVersion: {
            type: "string",
            default: DEFAULT_ISTIO_VERSION,
            description: "Chart version of every Istio release (1.24.0 or newer).",
        },
        chartRepository: {
            type: "string",
            default: DEFAULT_CHART_REPOSITORY,
            description: "Helm repository: https/http URL, `oci://` reference or absolute local directory.",
        },
        ca: {
            type: "object",
            description: "The root CA.",
            default: {},
            additionalProperties: false,
            properties: rootCaProperties(DEFAULT_ROOT_CA_NAME, true),
        },
        caKeyPem: {
            type: "string",
            default: "",
            "x-secret": true,
            description: "Import mode: the root private key PEM (set with --secret).",
        },
        caKeyPems: {
            type: "object",
            default: {},
            "x-secret": true,
            description: "Federated mode: cluster name → private key PEM of its imported root (set with --secret).",
            additionalProperties: { type: "string" },
        },
        rootRotation: {
            type: "object",
            description: "A root replacement in progress (docs/pki.md); `{}` when none.",
            default: {},
            additionalProperties: false,
            properties: {
                stage: {
                    type: "string",
                    enum: ["trustNext", "issueFromNext"],
                    description: "`trustNext`: trust both roots; `issueFromNext`: the next root signs.",
                },
                next: {
                    type: "object",
                    description: "The root that replaces `ca`: the same keys as `ca`, with its own name.",
                    additionalProperties: false,
                    required: ["name"],
                    properties: rootCaProperties(),
                },
            },
        },
        nextCaKeyPem: {
            type: "string",
            default: "",
            "x-secret": true,
            description: "Import mode of rootRotation.next: the next root's private key PEM (set with --secret).",
        },
        intermediate: {
            type: "object",
            description: "Per-cluster intermediate CAs.",
            default: {},
            additionalProperties: false,
            properties: {
                validityDays: { type: "integer", minimum: 1, default: 730, description: "Intermediate validity." },
                earlyRenewalDays: {
                    type: "integer",
                    minimum: 0,
                    default: 60,
                    description: "Days before expiry at which `pulumi up` re-issues.",
                },
            },
        },
        clusters: { type: "array", description: "The clusters of the mesh.", items: clusterSchema },
        kubeconfigs: {
            type: "object",
            default: {},
            "x-secret": true,
            description: "Cluster name → kubeconfig content (set with --secret), instead of a kubeconfig file.",
            additionalProperties: { type: "string" },
        },
        verify: { type: "boolean", default: false, description: "Run the post-deploy cross-cluster check." },
        verification: {
            type: "object",
            description: "Settings of the post-deploy check.",
            default: {},
            additionalProperties: false,
            properties: {
                namespace: { type: "string", default: "mesh-verify", description: "Namespace of the check." },
                requests: { type: "integer", minimum: 1, default: 30, description: "Requests each client sends." },
                timeoutSeconds: { type: "integer", minimum: 1, default: 300, description: "Seconds to wait." },
                serverImage: {
                    type: "string",
                    default: DEFAULT_VERIFICATION_SERVER_IMAGE,
                    description: "Image of the helloworld server.",
                },
                clientImage: {
                    type: "string",
                    default: DEFAULT_VERIFICATION_CLIENT_IMAGE,
                    description: "Image of the curl client.",
                },
            },
        },
        remoteSecrets: {
            type: "object",
            description: "Remote-secret settings.",
            default: {},
            additionalProperties: false,
            properties: {
                tokenMode: {
                    type: "string",
                    enum: ["serviceAccountTokenSecret", "tokenRequest"],
                    default: "serviceAccountTokenSecret",
                    description: "How the reader credential is minted.",
                },
                tokenTtlDays: {
                    type: "integer",
                    minimum: 1,
                    default: 90,
                    description: "Lifetime of a reader token minted with tokenRequest, in days.",
                },
                renewBeforeDays: {
                    type: "integer",
                    minimum: 1,
                    default: 30,
                    description: "Days before a tokenRequest token expires from which pulumi up re-mints it.",
                },
                probeTokenLifetime: {
                    type: "boolean",
                    default: true,
                    description:
                        "With tokenRequest: before any resource, ask each watched cluster whether its API server caps token lifetimes.",
                },
                readerAccounts: {
                    type: "string",
                    enum: ["shared", "perHolder"],
                    default: "shared",
                    description: "One reader account per watched cluster, or one per (watched cluster, primary).",
                },
                layout: {
                    type: "string",
                    enum: ["perSource", "perHolder"],
                    default: "perSource",
                    description: "One Secret per (holder, source) pair, or one per holder.",
                },
            },
        },
        images: {
            type: "object",
            description: "Mesh-wide image settings (private registry).",
            default: {},
            additionalProperties: false,
            properties: {
                hub: { type: "string", description: "`global.hub`." },
                tag: { type: "string", description: "`global.tag`." },
                imagePullSecrets: {
                    type: "array",
                    items: { type: "string" },
                    description: "Names of image pull secrets in `istio-system`.",
                },
            },
        },
        dnsProxy: {
            type: "object",
            description: "DNS proxying in the sidecars.",
            default: {},
            additionalProperties: false,
            properties: {
                capture: { type: "boolean", default: false, description: "`ISTIO_META_DNS_CAPTURE`." },
                autoAllocate: { type: "boolean", default: false, description: "`ISTIO_META_DNS_AUTO_ALLOCATE`." },
            },
        },
        values: { ...chartValues("every cluster"), default: {} },
        meshConfig: { ...freeForm("Extra `meshConfig` merged into istiod's values."), default: {} },
        revision: { type: "string", default: "", description: "Istio revision; empty for the default revision." },
        revisions: {
            type: "array",
            description: "Control-plane revisions side by side (canary upgrades); absent: one unnamed istiod.",
            items: {
                type: "object",
                additionalProperties: false,
                required: ["name", "version"],
                properties: {
                    name: { type: "string", description: "Revision name, a DNS-1123 label such as `1-30-3`." },
                    version: { type: "string", description: "Chart version of this revision's istiod." },
                },
            },
        },
        revisionTags: stringMap("Revision tag → revision name (e.g. `prod-stable: 1-29-2`)."),
        defaultRevision: {
            type: "string",
            description: "Revision behind the `default` tag, the default injector and the east-west gateways.",
        },
        baseVersion: {
            type: "string",
            description:
                "Chart version of `istio-base` with `revisions`; default the newest revision's. Pins the CRDs when a canary is rolled back.",
        },
    },
};

/** Top-level keys whose values must be Pulumi secrets. */
export const SECRET_TOP_LEVEL_KEYS: readonly string[] = Object.entries(MESH_CONFIG_SCHEMA.properties ?? {})
    .filter(([, s]) => s["x-secret"])
    .map(([k]) => k);

/** One documented key: its path (`clusters[].eastWestGateway.nodePort`) and schema. */
export interface SchemaKey {
    path: string;
    schema: ConfigSchema;
}

/**
 * Every key the schema declares, depth first, with array items written as `[]`. Free-form maps
 * are listed but not descended into.
 */
export function listSchemaKeys(schema: ConfigSchema = MESH_CONFIG_SCHEMA, prefix = ""): SchemaKey[] {
    const result: SchemaKey[] = [];
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
        const path = prefix ? `${prefix}.${key}` : key;
        result.push({ path, schema: child });
        result.push(...listSchemaKeys(child, path));
        if (child.type === "array" && child.items?.properties) {
            result.push(...listSchemaKeys(child.items, `${path}[]`));
        }
    }
    return result;
}

/** The schema node at a path as returned by {@link listSchemaKeys}, or undefined. */
export function schemaAt(path: string, schema: ConfigSchema = MESH_CONFIG_SCHEMA): ConfigSchema | undefined {
    return listSchemaKeys(schema).find((k) => k.path === path)?.schema;
}

/**
 * The value a missing key gets, with nested defaults filled in (what validation of `{}` yields for
 * that key). Undefined when the key has no default.
 */
export function effectiveDefault(node: ConfigSchema): unknown {
    if (node.default === undefined) return undefined;
    if (node.type !== "object" || !node.properties || typeof node.default !== "object" || node.default === null) {
        return structuredClone(node.default);
    }
    const result: Record<string, unknown> = structuredClone(node.default as Record<string, unknown>);
    for (const [key, child] of Object.entries(node.properties)) {
        if (result[key] === undefined) {
            const d = effectiveDefault(child);
            if (d !== undefined) result[key] = d;
        }
    }
    return result;
}

/**
 * Stands in for a `secure:` value read from a stack file without decrypting it. Offline tools
 * (the plan CLI) see this string instead of the secret.
 */
export const SECRET_PLACEHOLDER = "[secret]";
