/**
 * The mesh PKI as plain data: what the root and each cluster's intermediate look like, what goes
 * into `istio-system/cacerts`, and the checks on an imported root. `pki.ts` turns this into
 * `@pulumi/tls` resources; everything here is testable without Pulumi.
 *
 * Defaults follow Istio's `tools/certs` Makefiles (root: O=Istio, CN=Root CA; intermediate:
 * O=Istio, CN=Intermediate CA, L=<cluster>, SAN istiod.istio-system.svc, CA with path length 0).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { CaConfig, ConfigProblem, IntermediateConfig, RootRotationStage } from "../config/config";

/** Istio's subject organization for the generated intermediates. */
export const INTERMEDIATE_ORGANIZATION = "Istio";
export const INTERMEDIATE_COMMON_NAME = "Intermediate CA";
/** DNS SAN of every intermediate (`INTERMEDIATE_SAN_DNS` in Istio's tools/certs). */
export const INTERMEDIATE_SAN_DNS = "istiod.istio-system.svc";

/**
 * Key usages in the snake_case the provider understands; camelCase values are silently ignored
 * by the provider, which would yield a CA certificate that cannot sign.
 */
export const ROOT_ALLOWED_USES = ["cert_signing", "crl_signing", "digital_signature"] as const;
export const INTERMEDIATE_ALLOWED_USES = [
    "cert_signing",
    "crl_signing",
    "digital_signature",
    "key_encipherment",
] as const;

/** Data keys of the `cacerts` Secret istiod reads at /etc/cacerts. */
export const CACERTS_KEYS = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"] as const;

const HOURS_PER_DAY = 24;
const MS_PER_DAY = 86_400_000;

/** Inputs of a `tls.PrivateKey` for the configured algorithm. */
export interface PrivateKeySpec {
    algorithm: "RSA" | "ECDSA";
    rsaBits?: number;
    ecdsaCurve?: "P256" | "P384";
}

/**
 * Key inputs for the root (generate mode) and every intermediate. An ECDSA key always names its
 * curve, because the provider's default (P224) is unusable for TLS in most stacks.
 */
export function privateKeySpec(ca: Pick<CaConfig, "keyAlgorithm" | "rsaBits" | "ecdsaCurve">): PrivateKeySpec {
    return ca.keyAlgorithm === "ECDSA"
        ? { algorithm: "ECDSA", ecdsaCurve: ca.ecdsaCurve }
        : { algorithm: "RSA", rsaBits: ca.rsaBits };
}

/** Inputs of the root's `tls.SelfSignedCert` (without the key). */
export interface RootCertSpec {
    subject: { organization: string; commonName: string };
    isCaCertificate: true;
    allowedUses: string[];
    validityPeriodHours: number;
    setSubjectKeyId: true;
}

export function rootCertSpec(ca: Pick<CaConfig, "organization" | "commonName" | "validityDays">): RootCertSpec {
    return {
        subject: { organization: ca.organization, commonName: ca.commonName },
        isCaCertificate: true,
        allowedUses: [...ROOT_ALLOWED_USES],
        validityPeriodHours: ca.validityDays * HOURS_PER_DAY,
        setSubjectKeyId: true,
    };
}

/** Inputs of a cluster's `tls.CertRequest` (without the key). */
export interface IntermediateCsrSpec {
    subject: { organization: string; commonName: string; locality: string };
    dnsNames: string[];
}

export function intermediateCsrSpec(cluster: string): IntermediateCsrSpec {
    return {
        subject: { organization: INTERMEDIATE_ORGANIZATION, commonName: INTERMEDIATE_COMMON_NAME, locality: cluster },
        dnsNames: [INTERMEDIATE_SAN_DNS],
    };
}

/** Inputs of a cluster's `tls.LocallySignedCert` (without CSR, CA cert and CA key). */
export interface IntermediateCertSpec {
    isCaCertificate: true;
    /**
     * Requested, but the provider drops a zero path length (it never sets Go's MaxPathLenZero),
     * so today's intermediates carry no path length constraint; see docs/pki.md.
     */
    maxPathLength: 0;
    allowedUses: string[];
    validityPeriodHours: number;
    earlyRenewalHours: number;
    setSubjectKeyId: true;
}

export function intermediateCertSpec(intermediate: IntermediateConfig): IntermediateCertSpec {
    return {
        isCaCertificate: true,
        maxPathLength: 0,
        allowedUses: [...INTERMEDIATE_ALLOWED_USES],
        validityPeriodHours: intermediate.validityDays * HOURS_PER_DAY,
        earlyRenewalHours: intermediate.earlyRenewalDays * HOURS_PER_DAY,
        setSubjectKeyId: true,
    };
}

/** `pem` ending in exactly the newline PEM readers expect between concatenated blocks. */
export function withTrailingNewline(pem: string): string {
    return pem.endsWith("\n") ? pem : `${pem}\n`;
}

/**
 * True when a certificate ending at `notAfter` is inside its early-renewal window. The provider
 * only notices this on a refresh, so the program checks it itself and tells the operator.
 */
export function isRenewalDue(notAfter: string, earlyRenewalDays: number, now: Date): boolean {
    return now.getTime() >= Date.parse(notAfter) - earlyRenewalDays * MS_PER_DAY;
}

/** `cert-chain.pem`: the intermediate, then the root (what istiod serves to workloads). */
export function certChain(intermediateCertPem: string, rootCertPem: string): string {
    return withTrailingNewline(intermediateCertPem) + withTrailingNewline(rootCertPem);
}

/**
 * The data of the `cacerts` Secret: exactly the four keys istiod's plugged-in CA reads.
 * `rootCertPem` is the root that signed the intermediate (it ends `cert-chain.pem`);
 * `trustBundlePem`, when given, is what `root-cert.pem` holds instead of that root alone (both
 * roots during a root rotation, see {@link rootRotationPems}).
 */
export function cacertsData(pems: {
    intermediateCertPem: string;
    intermediateKeyPem: string;
    rootCertPem: string;
    trustBundlePem?: string;
}): Record<(typeof CACERTS_KEYS)[number], string> {
    return {
        "ca-cert.pem": withTrailingNewline(pems.intermediateCertPem),
        "ca-key.pem": withTrailingNewline(pems.intermediateKeyPem),
        "root-cert.pem": withTrailingNewline(pems.trustBundlePem ?? pems.rootCertPem),
        "cert-chain.pem": certChain(pems.intermediateCertPem, pems.rootCertPem),
    };
}

/** Which root signs the intermediates: the current one, until the rotation reaches `issueFromNext`. */
export function signingRoot(stage: RootRotationStage | undefined): "current" | "next" {
    return stage === "issueFromNext" ? "next" : "current";
}

/**
 * The roots of one stage of a root replacement: the root that signs the intermediates, and the
 * trust bundle for `root-cert.pem`.
 *
 * istiod reads every certificate of `root-cert.pem` into its trust pool and hands the whole file
 * to workloads as their trust bundle, so several roots are simply concatenated PEMs. The bundle
 * is the current root followed by the next one in both stages, byte for byte: from
 * `issueFromNext` on istiod must take the new signing certificate without a restart, which it
 * does when `root-cert.pem` is unchanged. When it does change (adding the next root, dropping the
 * current one), istiod with `ISTIO_MULTIROOT_MESH=true` accepts it only if one file contains the
 * other: as bytes up to Istio 1.29, as sets of certificates from 1.30
 * (pilot/pkg/bootstrap/istio_ca.go). current → current+next → next satisfies both; a reordered
 * bundle would satisfy only the latter.
 */
export function rootRotationPems(
    currentRootPem: string,
    rotation?: { stage: RootRotationStage; nextRootPem: string },
): { signingRootPem: string; trustBundlePem: string } {
    const current = withTrailingNewline(currentRootPem);
    if (!rotation) return { signingRootPem: current, trustBundlePem: current };
    const next = withTrailingNewline(rotation.nextRootPem);
    return { signingRootPem: signingRoot(rotation.stage) === "next" ? next : current, trustBundlePem: current + next };
}

/** What `pulumi stack output` shows about a root replacement in progress. */
export interface RootRotationSummary {
    stage: RootRotationStage;
    /** Which root signs the intermediates in this stage. */
    signingRoot: "current" | "next";
    /** The root being replaced (`ca`). */
    current: { name: string; fingerprintSha256: string; notAfter: string };
    /** The root replacing it (`rootRotation.next`). */
    next: { name: string; fingerprintSha256: string; notAfter: string };
    /** SHA-256 fingerprints of the certificates in every cluster's `root-cert.pem`, in order. */
    trustBundle: string[];
}

export function rootRotationSummary(
    stage: RootRotationStage,
    current: { name: string; certPem: string },
    next: { name: string; certPem: string },
): RootRotationSummary {
    const describe = (root: { name: string; certPem: string }) => {
        const { fingerprintSha256, notAfter } = certificateSummary(root.certPem);
        return { name: root.name, fingerprintSha256, notAfter };
    };
    const { trustBundlePem } = rootRotationPems(current.certPem, { stage, nextRootPem: next.certPem });
    return {
        stage,
        signingRoot: signingRoot(stage),
        current: describe(current),
        next: describe(next),
        trustBundle: pemCertificates(trustBundlePem).map((pem) => certificateSummary(pem).fingerprintSha256),
    };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificate PEM blocks in a text. */
export function pemCertificates(text: string): string[] {
    return (text.match(PEM_CERT) ?? []).map((block) => `${block}\n`);
}

/** What `pulumi stack output` shows about a certificate. */
export interface CertificateSummary {
    /** SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256`). */
    fingerprintSha256: string;
    /** Expiry, ISO 8601 UTC. */
    notAfter: string;
    /** Start of validity, ISO 8601 UTC. */
    notBefore: string;
    /** Subject, one `KEY=value` per RDN joined with ", ". */
    subject: string;
    /** Issuer, same format. */
    issuer: string;
    /** basicConstraints CA flag. */
    isCa: boolean;
}

function oneLineName(name: string): string {
    return name.split("\n").filter(Boolean).join(", ");
}

/** Fingerprint, validity and names of the first certificate in `pem`. */
export function certificateSummary(pem: string): CertificateSummary {
    const cert = new crypto.X509Certificate(pem);
    return {
        fingerprintSha256: cert.fingerprint256,
        notAfter: new Date(cert.validTo).toISOString(),
        notBefore: new Date(cert.validFrom).toISOString(),
        subject: oneLineName(cert.subject),
        issuer: oneLineName(cert.issuer),
        isCa: cert.ca,
    };
}

/**
 * The imported root certificate PEM from `ca.certPem` or the file `ca.certFile`.
 * Throws with the config path when the file cannot be read.
 */
export function importedRootCertPem(
    ca: Pick<CaConfig, "certPem" | "certFile">,
    readFile: (file: string) => string = (f) => fs.readFileSync(f, "utf8"),
    configPath = "ca",
): { pem: string; path: string } {
    if (ca.certPem) {
        return { pem: ca.certPem, path: `${configPath}.certPem` };
    }
    if (ca.certFile) {
        try {
            return { pem: readFile(ca.certFile), path: `${configPath}.certFile` };
        } catch (err) {
            throw new Error(
                `istio-multicluster:${configPath}.certFile: cannot read ${ca.certFile} (${(err as Error).message}). ` +
                    `Fix: point ${configPath}.certFile at the root certificate PEM, or paste it into ${configPath}.certPem.`,
                { cause: err },
            );
        }
    }
    throw new Error(
        `istio-multicluster:${configPath}.certPem: ${configPath}.mode is import, but no root certificate is given. ` +
            `Fix: set ${configPath}.certPem to the root certificate PEM or ${configPath}.certFile to its path.`,
    );
}

/** Key types the tls provider can sign intermediates with. */
function keyProblem(key: crypto.KeyObject): string | undefined {
    if (key.asymmetricKeyType === "rsa") {
        return undefined;
    }
    if (key.asymmetricKeyType === "ec") {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        return curve === "prime256v1" || curve === "secp384r1" || curve === "secp521r1"
            ? undefined
            : `its EC curve ${curve} is not supported (use P-256, P-384 or P-521)`;
    }
    if (key.asymmetricKeyType === "ed25519") {
        return "Ed25519 CA keys are not supported by Istio's CA";
    }
    return `its type ${key.asymmetricKeyType} is not supported`;
}

/**
 * Checks an imported root before anything is created: the certificate parses and is a
 * self-signed CA, the key parses and matches it, it is valid now, and it stays valid longer
 * than a freshly issued intermediate (which would otherwise outlive its root).
 *
 * `certPath` names the config key the certificate came from (`ca.certPem` or `ca.certFile`),
 * `keyPath` the one of the key (`caKeyPem`, or `nextCaKeyPem` for the next root of a rotation).
 * Messages never contain key material.
 */
export function validateImportedRoot(
    certPem: string,
    keyPem: string,
    options: { intermediateValidityDays: number; now: Date; certPath?: string; keyPath?: string },
): ConfigProblem[] {
    const certPath = options.certPath ?? "ca.certPem";
    const keyPath = options.keyPath ?? "caKeyPem";
    const cert = parseRootCertificate(certPem, certPath);
    const key = parseRootKey(keyPem, keyPath);
    const problems = [...cert.problems, ...key.problems];
    if (!cert.cert) return problems;
    return [
        ...problems,
        ...rootShapeProblems(cert.cert, key.key, certPath, keyPath),
        ...rootValidityProblems(cert.cert, certPath, options),
    ];
}

/** Exactly one certificate, and it parses. */
function parseRootCertificate(
    certPem: string,
    certPath: string,
): { cert?: crypto.X509Certificate; problems: ConfigProblem[] } {
    const blocks = pemCertificates(certPem);
    if (blocks.length !== 1) {
        return {
            problems: [
                {
                    path: certPath,
                    message:
                        blocks.length === 0
                            ? "No PEM certificate found (expected -----BEGIN CERTIFICATE-----)."
                            : `Contains ${blocks.length} certificates; the mesh root must be exactly one.`,
                    fix: "Give only the root certificate (root-cert.pem), not a bundle or chain.",
                },
            ],
        };
    }
    try {
        return { cert: new crypto.X509Certificate(blocks[0]), problems: [] };
    } catch (err) {
        return {
            problems: [
                {
                    path: certPath,
                    message: `The certificate does not parse: ${(err as Error).message}.`,
                    fix: "Check the PEM with `openssl x509 -in root-cert.pem -noout -text`.",
                },
            ],
        };
    }
}

/** An unencrypted private key of a kind Istio's CA can sign with. Never echoes key material. */
function parseRootKey(keyPem: string, keyPath: string): { key?: crypto.KeyObject; problems: ConfigProblem[] } {
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey(keyPem);
    } catch (err) {
        const encrypted = /ENCRYPTED|passphrase/i.test(keyPem) || /passphrase/i.test((err as Error).message);
        return {
            problems: [
                {
                    path: keyPath,
                    message: encrypted
                        ? "The root private key is encrypted; Pulumi needs it unencrypted (it is kept secret in the state)."
                        : "The root private key does not parse as a PEM private key.",
                    fix: encrypted
                        ? `Decrypt it: openssl pkey -in root-key.pem -out - | pulumi config set --secret ${keyPath} "$(cat -)".`
                        : `pulumi config set --secret ${keyPath} "$(cat root-key.pem)" with the key of the root certificate.`,
                },
            ],
        };
    }
    const problem = keyProblem(key);
    return {
        key,
        problems: problem ? [{ path: keyPath, message: `The root private key cannot sign: ${problem}.` }] : [],
    };
}

/** A self-signed CA whose key is the one given. */
function rootShapeProblems(
    cert: crypto.X509Certificate,
    key: crypto.KeyObject | undefined,
    certPath: string,
    keyPath: string,
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!cert.ca) {
        problems.push({
            path: certPath,
            message: `${oneLineName(cert.subject)} is not a CA certificate (basicConstraints CA:TRUE is missing).`,
            fix: "Import the root CA certificate, not a leaf or server certificate.",
        });
    }
    // Only meaningful for a CA: OpenSSL's issuer check also requires the keyCertSign usage.
    if (cert.ca && (!cert.checkIssued(cert) || !cert.verify(cert.publicKey))) {
        problems.push({
            path: certPath,
            message: `The certificate is not self-signed (issuer: ${oneLineName(cert.issuer)}).`,
            fix: "Import the self-signed root of trust; every cluster's root-cert.pem must be that root.",
        });
    }
    if (key && cert.ca && !cert.checkPrivateKey(key)) {
        problems.push({
            path: keyPath,
            message: `The private key does not belong to the root certificate ${oneLineName(cert.subject)}.`,
            fix: `Set ${keyPath} to the key the root was made with (root-key.pem next to root-cert.pem).`,
        });
    }
    return problems;
}

/** Valid now, and for longer than a freshly issued intermediate. */
function rootValidityProblems(
    cert: crypto.X509Certificate,
    certPath: string,
    options: { intermediateValidityDays: number; now: Date },
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const now = options.now.getTime();
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    if (now < notBefore) {
        problems.push({
            path: certPath,
            message: `The root is not valid yet (valid from ${new Date(notBefore).toISOString()}).`,
            fix: "Check the clock of the machine that made it, or wait until it becomes valid.",
        });
    }
    if (now >= notAfter) {
        problems.push({
            path: certPath,
            message: `The root expired on ${new Date(notAfter).toISOString()}.`,
            fix: "Import a root that is still valid; a new root means a mesh-wide root rotation (docs/pki.md).",
        });
        return problems;
    }
    const remainingDays = Math.floor((notAfter - now) / MS_PER_DAY);
    if (remainingDays <= options.intermediateValidityDays) {
        problems.push({
            path: "intermediate.validityDays",
            message:
                `The imported root expires on ${new Date(notAfter).toISOString()}, in ${remainingDays} days, ` +
                `before intermediates valid for ${options.intermediateValidityDays} days would.`,
            fix: `Set intermediate.validityDays below ${remainingDays}, or import a root that is valid for longer.`,
        });
    }
    return problems;
}

/**
 * Checks the public root of a cluster whose Istio keeps its own CA (`clusters[].ca.mode: existing`):
 * exactly one certificate, a self-signed CA, valid now. There is no key to check: the program
 * never holds it, it only makes the other primaries trust this root.
 */
export function validateExistingRoot(certPem: string, options: { now: Date; certPath: string }): ConfigProblem[] {
    const { cert, problems } = parseRootCertificate(certPem, options.certPath);
    if (!cert) return problems;
    if (!cert.ca || !cert.checkIssued(cert) || !cert.verify(cert.publicKey)) {
        return [
            {
                path: options.certPath,
                message: `${oneLineName(cert.subject)} is not a self-signed CA certificate; the other primaries must trust the root itself.`,
                fix:
                    "Give the cluster's root: the last certificate of `kubectl -n istio-system get cm istio-ca-root-cert " +
                    "-o jsonpath='{.data.root-cert\\.pem}'`.",
            },
        ];
    }
    const now = options.now.getTime();
    if (now < Date.parse(cert.validFrom) || now >= Date.parse(cert.validTo)) {
        return [
            {
                path: options.certPath,
                message: `The root is not valid now (valid ${new Date(cert.validFrom).toISOString()} to ${new Date(cert.validTo).toISOString()}).`,
                fix: "Give the root the cluster's istiod signs with today.",
            },
        ];
    }
    return [];
}
