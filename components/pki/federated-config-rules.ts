/**
 * Config rules of a federated mesh (`ca.mode: federated`): every primary's own root
 * (`clusters[].ca`) and the secret keys of the imported ones (`caKeyPems.<cluster>`). The checks
 * of each certificate itself run later, on the typed config (`pki-spec.ts`), where files are read.
 */
import { ConfigProblem } from "../config/config";
import { ClusterView, ConfigRuleContext, isObj, Obj, str } from "../config/rule-context";
import { isDns1123Label, isSecretPath, suggestDns1123Label } from "../config/config-validation";
import { clusterRootName } from "../plan/naming";

/** Keys of `clusters[].ca` and the one mode each belongs to. */
const MODE_OF_KEY: Record<string, "generate" | "import" | "existing"> = {
    commonName: "generate",
    certPem: "import",
    certFile: "import",
    rootCertPem: "existing",
    rootCertFile: "existing",
};

const keyPathOf = (cluster: string) => `caKeyPems.${cluster}`;

/** `clusters[].ca` exists only in a federated mesh, and only on primaries. */
export function clusterRootPlacementRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const federated = isObj(ctx.data.ca) && ctx.data.ca.mode === "federated";
    const problems: ConfigProblem[] = [];
    for (const c of ctx.clusters) {
        if (c.raw.ca === undefined) continue;
        if (!federated) {
            problems.push({
                path: `${c.path}.ca`,
                message: "A root of its own per cluster only exists in a federated mesh; this mesh has one root (ca).",
                fix: `Remove ${c.path}.ca, or set ca.mode: federated to give every primary its own root (docs/pki.md).`,
            });
        } else if (c.role === "remote") {
            problems.push({
                path: `${c.path}.ca`,
                message: `${c.name ?? "This cluster"} is a remote: it runs no istiod and uses its primary's CA.`,
                fix: `Remove ${c.path}.ca; set the root on its primary${c.controlPlane ? ` (${c.controlPlane})` : ""}.`,
            });
        }
    }
    return problems;
}

/** `ca` in a federated mesh: settings for the generated roots, nothing that names one root. */
export function federatedMeshRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const ca = isObj(ctx.data.ca) ? ctx.data.ca : undefined;
    if (ca?.mode !== "federated") return [];
    const problems: ConfigProblem[] = [];
    for (const k of ["certPem", "certFile"]) {
        if (ca[k] !== undefined) {
            problems.push({
                path: `ca.${k}`,
                message: `In a federated mesh every primary has its own root; ca.${k} names one root for all.`,
                fix: `Move it to the primary that owns it: clusters[i].ca: {mode: import, ${k}: …}.`,
            });
        }
    }
    if (str(ctx.data, "caKeyPem")) {
        problems.push({
            path: "caKeyPem",
            message: "In a federated mesh each imported root has its own key, in caKeyPems.<cluster>.",
            fix: `pulumi config rm caKeyPem; pulumi config set --secret --path 'caKeyPems.<cluster>' "$(cat root-key.pem)".`,
        });
    }
    const rotation = isObj(ctx.data.rootRotation) ? ctx.data.rootRotation : undefined;
    if (rotation && Object.keys(rotation).length > 0) {
        problems.push({
            path: "rootRotation",
            message: "rootRotation replaces the one shared root; a federated mesh has none.",
            fix: "Remove rootRotation. To move a federated mesh to one shared root, follow docs/pki.md, 'From federated roots to one root'.",
        });
    }
    return problems;
}

/** Each primary's root in a federated mesh: its mode's keys, a unique name, the key where one is needed. */
export function clusterRootRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const ca = isObj(ctx.data.ca) ? ctx.data.ca : undefined;
    if (ca?.mode !== "federated") return [];
    const keys = isObj(ctx.data.caKeyPems) ? ctx.data.caKeyPems : {};
    const problems: ConfigProblem[] = [];
    const owners = new Map<string, string>();
    for (const c of ctx.clusters.filter((v) => v.role !== "remote" && v.name !== undefined)) {
        const own = isObj(c.raw.ca) ? c.raw.ca : {};
        problems.push(...clusterRootKeyProblems(c, own, typeof keys[c.name!] === "string"));
        const name = clusterRootName({ name: c.name!, ca: { name: str(own, "name") } });
        const other = owners.get(name);
        if (other !== undefined) {
            problems.push({
                path: `${c.path}.ca.name`,
                message: `The root name '${name}' is already the root of ${other}; each root needs its own resources.`,
                fix: `Give ${c.path}.ca.name another DNS-1123 label, e.g. '${c.name}-root'.`,
            });
        }
        owners.set(name, c.name!);
    }
    return problems;
}

/** The keys of one `clusters[].ca` against its mode. */
function clusterRootKeyProblems(c: ClusterView, own: Obj, hasKey: boolean): ConfigProblem[] {
    const p = `${c.path}.ca`;
    const mode = str(own, "mode") ?? "generate";
    const problems: ConfigProblem[] = [];
    const name = str(own, "name");
    if (name !== undefined && !isDns1123Label(name)) {
        problems.push({
            path: `${p}.name`,
            message: `'${name}' is not a DNS-1123 label; it becomes the stem of the root's Pulumi resource names.`,
            fix: `Use e.g. '${suggestDns1123Label(name)}'.`,
        });
    }
    for (const [k, keyMode] of Object.entries(MODE_OF_KEY)) {
        if (own[k] !== undefined && keyMode !== mode) {
            problems.push({
                path: `${p}.${k}`,
                message: `${p}.${k} is only used with ${p}.mode ${keyMode}; this root's mode is ${mode}.`,
                fix: `Remove ${p}.${k}, or set ${p}.mode to ${keyMode}.`,
            });
        }
    }
    if (str(own, "commonName") === "") {
        problems.push({ path: `${p}.commonName`, message: "Must not be empty.", fix: `Remove it to use the default.` });
    }
    if (mode === "import") problems.push(...pemSourceProblems(own, p, "certPem", "certFile"));
    if (mode === "existing") problems.push(...pemSourceProblems(own, p, "rootCertPem", "rootCertFile"));
    if (mode === "import" && !hasKey) {
        problems.push({
            path: keyPathOf(c.name!),
            message: `${p}.mode is import, but the root private key is missing; it signs ${c.name}'s intermediate.`,
            fix: `pulumi config set --secret --path '${keyPathOf(c.name!)}' "$(cat root-key.pem)".`,
        });
    }
    if (mode === "existing" && c.raw.adopt !== true) {
        problems.push({
            path: `${c.path}.adopt`,
            message: `${c.name} keeps the CA of the Istio already running there, so istio-system exists already.`,
            fix: `Set ${c.path}.adopt: true and import the running releases first (docs/operations.md, "Joining meshes that already run").`,
        });
    }
    return problems;
}

/** Exactly one of a PEM and a file, and the PEM looks like a certificate. */
function pemSourceProblems(own: Obj, p: string, pemKey: string, fileKey: string): ConfigProblem[] {
    const pem = str(own, pemKey);
    const file = str(own, fileKey);
    const mode = str(own, "mode");
    if (!pem && !file) {
        return [
            {
                path: `${p}.${pemKey}`,
                message: `${p}.mode is ${mode}, but no root certificate is given.`,
                fix: `Set ${p}.${pemKey} to the root certificate PEM or ${p}.${fileKey} to its path.`,
            },
        ];
    }
    if (pem && file) {
        return [
            {
                path: `${p}.${fileKey}`,
                message: `Both ${p}.${pemKey} and ${p}.${fileKey} are set; it is unclear which root to use.`,
                fix: "Keep one of them.",
            },
        ];
    }
    if (pem && !pem.includes("-----BEGIN CERTIFICATE-----")) {
        return [
            {
                path: `${p}.${pemKey}`,
                message: "Does not contain a PEM certificate (-----BEGIN CERTIFICATE-----).",
                fix: `Paste the whole PEM file, e.g. pulumi config set --path '${p}.${pemKey}' "$(cat root-cert.pem)".`,
            },
        ];
    }
    return [];
}

/** `caKeyPems.<cluster>`: a secret, for a primary of a federated mesh whose root is imported. */
export function clusterRootKeyRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const keys = isObj(ctx.data.caKeyPems) ? ctx.data.caKeyPems : {};
    const federated = isObj(ctx.data.ca) && ctx.data.ca.mode === "federated";
    const problems: ConfigProblem[] = [];
    for (const name of Object.keys(keys)) {
        const p = keyPathOf(name);
        const cluster = ctx.byName.get(name);
        const mode = cluster && isObj(cluster.raw.ca) ? (str(cluster.raw.ca, "mode") ?? "generate") : "generate";
        if (!federated) {
            problems.push({
                path: p,
                message: "caKeyPems holds the keys of per-cluster roots, which only a federated mesh has.",
                fix: `pulumi config rm --path '${p}'; an imported shared root's key is caKeyPem.`,
            });
        } else if (!cluster) {
            problems.push({
                path: p,
                message: `'${name}' is not the name of any cluster.`,
                fix: `Use the name of the primary whose root is imported (clusters[i].name).`,
            });
        } else if (cluster.role === "remote" || mode !== "import") {
            problems.push({
                path: p,
                message: `${name}'s root is not imported (${cluster.role === "remote" ? "it is a remote" : `mode ${mode}`}); the key is unused.`,
                fix: `pulumi config rm --path '${p}', or set ${cluster.path}.ca.mode: import.`,
            });
        }
        if (ctx.secretKeys && !isSecretPath(p, ctx.secretKeys)) {
            problems.push({
                path: p,
                message: "A root private key is stored in plain text.",
                fix: `pulumi config set --secret --path '${p}' "$(cat root-key.pem)" (and make a new root if this file was shared).`,
            });
        }
    }
    return problems;
}
