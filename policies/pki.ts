/**
 * Rules of the mesh PKI: what `cacerts` holds, that no root private key reaches a cluster, key
 * strength and uses of every certificate, and intermediates that live within their root.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { KeyObject, X509Certificate } from "node:crypto";
import {
    TLS_KEY_USAGES,
    TLS_LOCALLY_SIGNED_CERT_TYPE,
    TLS_PRIVATE_KEY_TYPE,
    TLS_SELF_SIGNED_CERT_TYPE,
    knobSchema,
    knobs,
    secretLabel,
    toInput,
} from "./common";
import { CACERTS_KEYS, CACERTS_SECRET, StackNode, toStackNodes, where } from "./graph";
import {
    SECRET_TYPE,
    UNKNOWN,
    Unknown,
    at,
    certificatesIn,
    hasPrivateKeyBlock,
    isTrue,
    isUnknown,
    objectName,
    plainProps,
    publicKeysOfPrivateKeysIn,
    samePublicKey,
    secretEntries,
} from "./inspect";
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
    const extra = keys.filter(
        (k) => !(CACERTS_KEYS as readonly string[]).includes(k) && !OPTIONAL_CACERTS_KEYS.includes(k),
    );
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
        // Signed by the root, directly or through the next certificates of the chain when the CA
        // sits deeper (root → intermediate → ca-cert.pem): each one signed by the next.
        const chainText = entries.get("cert-chain.pem");
        const above = typeof chainText === "string" ? certificatesIn(chainText).slice(1) : [];
        const reachesRoot = (cert: X509Certificate, rest: X509Certificate[]): boolean =>
            roots.some((root) => safeVerify(cert, root.publicKey)) ||
            (rest.length > 0 && safeVerify(cert, rest[0].publicKey) && reachesRoot(rest[0], rest.slice(1)));
        if (roots.length > 0 && !reachesRoot(caCert, above)) {
            problems.push(
                "ca-cert.pem is not signed by (a certificate in) root-cert.pem, directly or through cert-chain.pem",
            );
        }
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

/**
 * Keys Istio's plug-in CA also reads when present: the CA's certificate revocation list
 * (`ca-crl.pem`, security/pkg/pki/ca/ca.go `CACRLFile`, published by istiod 1.30).
 */
const OPTIONAL_CACERTS_KEYS: readonly string[] = ["ca-crl.pem"];

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
        "cert-chain.pem (and optionally ca-crl.pem), and they fit together: the key belongs to the CA certificate, " +
        "which the root signed (directly or through the chain) and which heads the chain.",
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
    configSchema: knobSchema("no-root-ca-private-key", {
        forbiddenKeyNames: {
            description: "Secret keys that must never appear (the root key file of Istio's tools/certs).",
        },
    }),
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
    configSchema: knobSchema("tls-key-strength", {
        allowedAlgorithms: { description: "Accepted key algorithms.", items: { enum: ["RSA", "ECDSA", "ED25519"] } },
        minRsaBits: { description: "Smallest accepted RSA key size.", minimum: 2048 },
        allowedEcdsaCurves: { description: "Accepted ECDSA curves.", items: { enum: ["P256", "P384", "P521"] } },
    }),
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
    configSchema: knobSchema("tls-intermediate-lifetime", {
        maxIntermediateValidityDays: {
            description: "Longest accepted validity of an intermediate CA, in days.",
            minimum: 1,
        },
    }),
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
