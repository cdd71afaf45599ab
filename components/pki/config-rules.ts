/**
 * The PKI's own config rules: the root (`ca`, `caKeyPem`), a root rotation in progress
 * (`rootRotation`, `nextCaKeyPem`) and the intermediates' lifetimes. The checks of an imported
 * root's certificate itself (chain, key match, expiry) run later, on the typed config, in
 * `pki-spec.ts`.
 */
import { ConfigProblem } from "../config/config";
import { ConfigRuleContext, int, isObj, Obj, str } from "../config/rule-context";
import { isDns1123Label, isSecretPath, suggestDns1123Label } from "../config/config-validation";

/** `ca` and `caKeyPem`: one root of trust, generated or imported, its key a secret. */
export function rootCaRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const ca = isObj(ctx.data.ca) ? ctx.data.ca : undefined;
    const caKey = str(ctx.data, "caKeyPem") ?? "";
    if (ca) checkRootCa(ca, { path: "ca", keyPath: "caKeyPem", key: caKey }, problems);
    if (caKey && ctx.secretKeys && !isSecretPath("caKeyPem", ctx.secretKeys)) {
        problems.push({
            path: "caKeyPem",
            message: "The root private key is stored in plain text.",
            fix: `pulumi config set --secret caKeyPem "$(cat root-key.pem)" (and rotate the key if this file was shared).`,
        });
    }
    return problems;
}

/** `rootRotation` and `nextCaKeyPem`: the next root, next to the current one (docs/pki.md). */
export function rootRotationRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const push = (p: ConfigProblem) => problems.push(p);
    const data = ctx.data;
    const ca = isObj(data.ca) ? data.ca : undefined;
    const rotation = isObj(data.rootRotation) ? data.rootRotation : undefined;
    const next = rotation && isObj(rotation.next) ? rotation.next : undefined;
    const nextKey = str(data, "nextCaKeyPem") ?? "";
    if (rotation && Object.keys(rotation).length > 0) {
        if (rotation.stage === undefined) {
            push({
                path: "rootRotation.stage",
                message: "A root rotation needs a stage.",
                fix: "Set rootRotation.stage to trustNext for the first pulumi up, then to issueFromNext (docs/pki.md).",
            });
        }
        if (rotation.next === undefined) {
            push({
                path: "rootRotation.next",
                message: "A root rotation needs the next root.",
                fix: "Set rootRotation.next.name (e.g. mesh-root-2) and, if they differ from the defaults, its other settings as under ca.",
            });
        }
    }
    if (next) {
        checkRootCa(next, { path: "rootRotation.next", keyPath: "nextCaKeyPem", key: nextKey }, problems);
        problems.push(...nextRootReusesCurrent(ca, next));
    } else if (nextKey) {
        push({
            path: "nextCaKeyPem",
            message:
                "nextCaKeyPem is only used while a root rotation imports the next root (rootRotation.next.mode import).",
            fix: "pulumi config rm nextCaKeyPem, or set up the rotation (docs/pki.md).",
        });
    }
    if (nextKey && ctx.secretKeys && !isSecretPath("nextCaKeyPem", ctx.secretKeys)) {
        push({
            path: "nextCaKeyPem",
            message: "The next root's private key is stored in plain text.",
            fix: `pulumi config set --secret nextCaKeyPem "$(cat root-key.pem)" (and make a new root if this file was shared).`,
        });
    }
    return problems;
}

/** The next root must be a new root: its own resource names and its own certificate. */
function nextRootReusesCurrent(ca: Obj | undefined, next: Obj): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const caName = str(ca, "name");
    if (caName !== undefined && str(next, "name") === caName) {
        problems.push({
            path: "rootRotation.next.name",
            message: `'${caName}' is already ca.name, the current root; the next root needs its own resources.`,
            fix: `Give the next root another name, e.g. '${caName}-2'; ca.name stays until the rotation is finished.`,
        });
    }
    const certPem = str(next, "certPem");
    if (certPem && str(ca, "mode") === "import" && certPem.trim() === (str(ca, "certPem") ?? "").trim()) {
        problems.push({
            path: "rootRotation.next.certPem",
            message: "The next root is the certificate the mesh already uses (ca.certPem).",
            fix: "Import the new root certificate as rootRotation.next.certPem.",
        });
    }
    return problems;
}

/** `intermediate`: renewed before it expires, and never outliving a generated root. */
export function intermediateRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const data = ctx.data;
    const inter = isObj(data.intermediate) ? data.intermediate : undefined;
    const iv = int(inter, "validityDays");
    const ie = int(inter, "earlyRenewalDays");
    if (iv !== undefined && ie !== undefined && ie >= iv) {
        problems.push({
            path: "intermediate.earlyRenewalDays",
            message: `${ie} days is not shorter than the intermediate validity of ${iv} days; every pulumi up would re-issue.`,
            fix: "Make intermediate.earlyRenewalDays smaller than intermediate.validityDays.",
        });
    }
    const ca = isObj(data.ca) ? data.ca : undefined;
    const rotation = isObj(data.rootRotation) ? data.rootRotation : undefined;
    const next = rotation && isObj(rotation.next) ? rotation.next : undefined;
    for (const [root, p] of [
        [ca, "ca"],
        [next, "rootRotation.next"],
    ] as const) {
        const rv = int(root, "validityDays");
        // A federated mesh generates its roots with the settings of `ca`.
        const generated = str(root, "mode") === "generate" || (p === "ca" && str(root, "mode") === "federated");
        if (generated && iv !== undefined && rv !== undefined && iv > rv) {
            problems.push({
                path: "intermediate.validityDays",
                message: `${iv} days is longer than the root's validity (${p}.validityDays ${rv}); the intermediates would outlive their root.`,
                fix: `Lower intermediate.validityDays or raise ${p}.validityDays.`,
            });
        }
    }
    return problems;
}

/**
 * The rules of one root CA's keys: `ca` with `caKeyPem`, or `rootRotation.next` with
 * `nextCaKeyPem`. `where.key` is the key's value ("" when unset).
 */
function checkRootCa(
    root: Obj,
    where: { path: string; keyPath: string; key: string },
    problems: ConfigProblem[],
): void {
    const { path: p, keyPath, key } = where;
    const push = (problem: ConfigProblem) => problems.push(problem);
    const name = str(root, "name");
    if (name !== undefined && !isDns1123Label(name)) {
        push({
            path: `${p}.name`,
            message: `'${name}' is not a DNS-1123 label; it becomes the stem of the root's Pulumi resource names.`,
            fix: `Use e.g. '${suggestDns1123Label(name)}'.`,
        });
    }
    const mode = str(root, "mode");
    const certPem = str(root, "certPem");
    const certFile = str(root, "certFile");
    if (mode === "import") {
        if (!certPem && !certFile) {
            push({
                path: `${p}.certPem`,
                message: `${p}.mode is import, but no root certificate is given.`,
                fix: `Set ${p}.certPem to the root certificate PEM or ${p}.certFile to its path.`,
            });
        } else if (certPem && certFile) {
            push({
                path: `${p}.certFile`,
                message: `Both ${p}.certPem and ${p}.certFile are set; it is unclear which root to use.`,
                fix: "Keep one of them.",
            });
        }
        if (certPem && !certPem.includes("-----BEGIN CERTIFICATE-----")) {
            push({
                path: `${p}.certPem`,
                message: "Does not contain a PEM certificate (-----BEGIN CERTIFICATE-----).",
                fix: `Paste the whole PEM file, e.g. pulumi config set --path ${p}.certPem "$(cat root-cert.pem)".`,
            });
        }
        if (!key) {
            push({
                path: keyPath,
                message: `${p}.mode is import, but the root private key is missing; it signs every cluster's intermediate.`,
                fix: `pulumi config set --secret ${keyPath} "$(cat root-key.pem)".`,
            });
        }
    } else if (mode === "generate") {
        for (const k of ["certPem", "certFile"]) {
            if (root[k] !== undefined) {
                push({
                    path: `${p}.${k}`,
                    message: `${p}.${k} is only used with ${p}.mode import; the root is generated.`,
                    fix: `Remove ${p}.${k}, or set ${p}.mode to import.`,
                });
            }
        }
        if (key) {
            push({
                path: keyPath,
                message: `${keyPath} is only used with ${p}.mode import; the root key is generated.`,
                fix: `pulumi config rm ${keyPath}, or set ${p}.mode to import.`,
            });
        }
    }
    for (const k of ["organization", "commonName"]) {
        if (str(root, k) === "") {
            push({ path: `${p}.${k}`, message: "Must not be empty.", fix: `Remove ${p}.${k} to use the default.` });
        }
    }
}
