/**
 * Offline schema validation of recorded Kubernetes objects.
 */
import { RecordedResource } from "./types";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Groups whose kinds the model packages cover: a kind missing there is a mistake, not a CRD we can't check. */
const CORE_GROUPS = new Set([
    "core",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "certificates.k8s.io",
]);
const ISTIO_GROUPS = new Set([
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "extensions.istio.io",
    "install.istio.io",
]);

/** Top-level fields of the core kinds this project creates (beyond apiVersion, kind, metadata). */
const TOP_LEVEL_FIELDS: Record<string, string[]> = {
    Secret: ["data", "stringData", "type", "immutable"],
    ConfigMap: ["data", "binaryData", "immutable"],
    ServiceAccount: ["secrets", "imagePullSecrets", "automountServiceAccountToken"],
    Role: ["rules"],
    ClusterRole: ["rules", "aggregationRule"],
    RoleBinding: ["subjects", "roleRef"],
    ClusterRoleBinding: ["subjects", "roleRef"],
    MutatingWebhookConfiguration: ["webhooks"],
    ValidatingWebhookConfiguration: ["webhooks"],
};
const DEFAULT_TOP_LEVEL = ["spec", "status"];

const METADATA_FIELDS = new Set([
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
]);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Kinds whose names are only path segments (RBAC allows `system:...`). */
const PATH_SEGMENT_KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

function nameProblem(kind: string, name: string): string | undefined {
    if (PATH_SEGMENT_KINDS.has(kind)) {
        return name === "." || name === ".." || /[/%]/.test(name)
            ? "may not be '.', '..' or contain '/' or '%'"
            : undefined;
    }
    if (kind === "Namespace") {
        return DNS1123_LABEL.test(name) && name.length <= 63 ? undefined : "must be a DNS-1123 label (≤ 63 characters)";
    }
    if (kind === "Service") {
        return DNS1035_LABEL.test(name) && name.length <= 63 ? undefined : "must be a DNS-1035 label (≤ 63 characters)";
    }
    return DNS1123_SUBDOMAIN.test(name) && name.length <= 253 ? undefined : "must be a DNS-1123 subdomain";
}

function labelKeyProblem(key: string): string | undefined {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== undefined && !(DNS1123_SUBDOMAIN.test(prefix) && prefix.length <= 253)) {
        return `prefix ${JSON.stringify(prefix)} must be a DNS-1123 subdomain`;
    }
    return LABEL_NAME.test(name) && name.length <= 63
        ? undefined
        : "name part must be ≤ 63 alphanumerics, '-', '_', '.'";
}

/** Checks the schema models do not make: names, labels, unknown fields. */
function extraChecks(kind: string, obj: Record<string, Any>): string[] {
    const problems: string[] = [];
    const metadata = typeof obj.metadata === "object" && obj.metadata !== null ? obj.metadata : {};
    if (typeof metadata.name !== "string" || metadata.name === "") {
        problems.push(
            "metadata.name is missing (this project names every object explicitly instead of Pulumi auto-naming)",
        );
    } else {
        const p = nameProblem(kind, metadata.name);
        if (p) {
            problems.push(`metadata.name ${JSON.stringify(metadata.name)} ${p}`);
        }
    }
    if (
        metadata.namespace !== undefined &&
        !(DNS1123_LABEL.test(String(metadata.namespace)) && String(metadata.namespace).length <= 63)
    ) {
        problems.push(`metadata.namespace ${JSON.stringify(metadata.namespace)} must be a DNS-1123 label`);
    }
    for (const key of Object.keys(metadata)) {
        if (!METADATA_FIELDS.has(key)) {
            problems.push(`metadata.${key} is not a field of ObjectMeta`);
        }
    }
    for (const [key, value] of Object.entries((metadata.labels ?? {}) as Record<string, unknown>)) {
        const p = labelKeyProblem(key);
        if (p) {
            problems.push(`label key ${JSON.stringify(key)}: ${p}`);
        }
        if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) {
            problems.push(`label ${key}: value ${JSON.stringify(value)} is not a valid label value`);
        }
    }
    const allowed = new Set(["apiVersion", "kind", "metadata", ...(TOP_LEVEL_FIELDS[kind] ?? DEFAULT_TOP_LEVEL)]);
    for (const key of Object.keys(obj)) {
        if (!allowed.has(key)) {
            problems.push(`${key} is not a top-level field of ${kind}`);
        }
    }
    return problems;
}

type ModelClass = new (data: Any) => { validate(): void };
const modelCache = new Map<string, Promise<ModelClass | undefined>>();

/** The kubernetes-models (v4, CJS) or @kubernetes-models/istio (v3, ESM) class, if one exists. */
function loadModel(group: string, version: string, kind: string): Promise<ModelClass | undefined> {
    const key = `${group}/${version}/${kind}`;
    let model = modelCache.get(key);
    if (!model) {
        const spec = ISTIO_GROUPS.has(group)
            ? `@kubernetes-models/istio/${group}/${version}/${kind}`
            : `kubernetes-models/${group === "core" ? "" : `${group}/`}${version}/${kind}`;
        model = import(spec).then(
            (m: Any) => m[kind] ?? m.default?.[kind],
            () => undefined,
        );
        modelCache.set(key, model);
    }
    return model;
}

/** Tokens that are not plain Kubernetes objects and are skipped. */
function skipReason(type: string): string | undefined {
    if (!type.startsWith("kubernetes:")) {
        return "not kubernetes";
    }
    const [, groupVersion, kind] = type.split(":");
    if (
        groupVersion.startsWith("helm.sh/") ||
        groupVersion.startsWith("yaml/") ||
        groupVersion.startsWith("kustomize/")
    ) {
        return "helm/yaml/kustomize wrapper";
    }
    if (kind.endsWith("Patch")) {
        return "partial object (Patch resource)";
    }
    return undefined;
}

/**
 * Validates every recorded Kubernetes object created by the program (reads are skipped) and returns
 * one line per problem, `[]` when all are valid.
 *
 * Each `kubernetes:<group>/<version>:<Kind>` registration (typed resources and
 * `apiextensions.CustomResource` alike) is checked with the `validate()` of its `kubernetes-models`
 * or `@kubernetes-models/istio` class, plus what those schemas miss: `metadata.name` present and a
 * valid DNS-1123 name (DNS-1035 for Services, path segment for RBAC), namespace and label syntax,
 * unknown `metadata` fields and unknown top-level fields (e.g. `spec` on a Secret).
 *
 * Skipped, because they are not Kubernetes objects or only partial ones: helm Releases and Charts,
 * yaml/kustomize wrappers, `*Patch` resources, providers, and non-kubernetes resources (tls,
 * command). A kind of a built-in or Istio group that has no model (e.g. `networking.istio.io/v2`)
 * is reported; kinds of other groups (third-party CRDs) are skipped.
 */
export async function validateKubernetesObjects(resources: RecordedResource[]): Promise<string[]> {
    const problems: string[] = [];
    for (const r of resources) {
        if (r.readId !== undefined || skipReason(r.type) || !r.custom) {
            continue;
        }
        const [, groupVersion, kind] = r.type.split(":");
        // CustomResource registers core kinds as `kubernetes:v1:<Kind>`, typed resources as `kubernetes:core/v1:<Kind>`.
        const [group, version] = groupVersion.includes("/") ? groupVersion.split("/") : ["core", groupVersion];
        const where = `${r.type} ${r.name}${r.cluster ? ` (cluster ${r.cluster})` : ""}`;
        const obj = r.inputs;
        for (const p of extraChecks(kind, obj)) {
            problems.push(`${where}: ${p}`);
        }
        const known = CORE_GROUPS.has(group) || ISTIO_GROUPS.has(group);
        const model = await loadModel(group, version, kind);
        if (!model) {
            if (known) {
                problems.push(`${where}: ${group}/${version} has no kind ${kind}`);
            }
            continue;
        }
        try {
            new model(obj).validate();
        } catch (err) {
            problems.push(`${where}: ${(err as Error).message}`);
        }
    }
    return problems;
}
