/**
 * Real-crypto answers for the `@pulumi/tls` resources under mocks.
 *
 * The point is that PKI tests can run `openssl verify` on what the program would get from the
 * real provider, so every mapping below mirrors terraform-provider-tls (which `@pulumi/tls`
 * wraps) and Go's `crypto/x509`, including their quirks:
 *
 * - `maxPathLength: 0` yields NO path length constraint (the provider never sets Go's
 *   `MaxPathLenZero`), so a CA certificate carries `pathlen` only for values > 0.
 * - Basic constraints are always present and critical (`CA:FALSE` on leaf certificates).
 * - CA certificates always get a subject key identifier; others only with `setSubjectKeyId`.
 * - A signed certificate's authority key identifier is the issuer's subject key identifier;
 *   a self-signed one gets it only with `setAuthorityKeyId`.
 * - Unknown `allowedUses` values (e.g. camelCase) are ignored, as the provider does after a warning.
 * - `LocallySignedCert` copies subject and SANs from the CSR.
 * - `privateKeyPem` is PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519.
 *
 * Not implemented: `privateKeyOpenssh` (the openssh-key-v1 container), which no part of this
 * project reads. ECDSA P224 (the provider's default curve) is rejected with an explanation,
 * because WebCrypto cannot sign with it.
 */
import "reflect-metadata";
import * as crypto from "node:crypto";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";

const subtle = crypto.webcrypto.subtle;
x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const generateKeyPair = promisify(crypto.generateKeyPair);

type Inputs = Record<string, unknown>;

/** The key families the tls provider supports, with their WebCrypto parameters. */
interface KeySpec {
    algorithm: "RSA" | "ECDSA" | "ED25519";
    rsaBits?: number;
    curve?: "P256" | "P384" | "P521";
}

const CURVES: Record<string, { node: string; webcrypto: string; hash: string }> = {
    P256: { node: "prime256v1", webcrypto: "P-256", hash: "SHA-256" },
    P384: { node: "secp384r1", webcrypto: "P-384", hash: "SHA-384" },
    P521: { node: "secp521r1", webcrypto: "P-521", hash: "SHA-512" },
};

function keySpecOf(inputs: Inputs, resourceName: string): KeySpec {
    const algorithm = String(inputs.algorithm ?? "");
    if (algorithm === "RSA") {
        return { algorithm, rsaBits: Number(inputs.rsaBits ?? 2048) };
    }
    if (algorithm === "ECDSA") {
        const curve = String(inputs.ecdsaCurve ?? "P224");
        if (curve === "P224") {
            throw new Error(
                `tls PrivateKey ${resourceName}: ECDSA curve P224 (the provider's default when ecdsaCurve is unset) ` +
                    `cannot be used here: WebCrypto has no P-224, and neither do many TLS stacks. ` +
                    `Set ecdsaCurve to "P256" or "P384".`,
            );
        }
        if (!CURVES[curve]) {
            throw new Error(`tls PrivateKey ${resourceName}: unknown ecdsaCurve ${curve}`);
        }
        return { algorithm, curve: curve as KeySpec["curve"] };
    }
    if (algorithm === "ED25519") {
        return { algorithm };
    }
    throw new Error(`tls PrivateKey ${resourceName}: unknown algorithm ${JSON.stringify(inputs.algorithm)}`);
}

function specId(spec: KeySpec): string {
    return [spec.algorithm, spec.rsaBits ?? spec.curve ?? ""].join("-");
}

async function generate(spec: KeySpec): Promise<crypto.KeyObject> {
    if (spec.algorithm === "RSA") {
        return (await generateKeyPair("rsa", { modulusLength: spec.rsaBits!, publicExponent: 0x10001 })).privateKey;
    }
    if (spec.algorithm === "ECDSA") {
        return (await generateKeyPair("ec", { namedCurve: CURVES[spec.curve!].node })).privateKey;
    }
    return (await generateKeyPair("ed25519")).privateKey;
}

/*
 * Key pool. RSA-4096 generation costs seconds, so keys are reused across runs within one process;
 * within one run every PrivateKey still gets a DISTINCT key (the n-th key of a given spec in a
 * run is pool[n]), because a root and an intermediate that shared a key would hide key mix-ups.
 */
const pool = new Map<string, Promise<crypto.KeyObject>[]>();
let taken = new Map<string, number>();
/** Assignments of the runs with stable tls answers, which never restart (see below). */
const stableTaken = new Map<string, number>();

/**
 * Starts a new run: key assignment restarts at the front of each pool. Runs with stable tls
 * answers continue where the previous such run stopped instead: their unchanged resources keep
 * the keys of earlier runs, so a key new in this run must be one none of those answers holds
 * (otherwise a root added in the second run of a plan diff would get the first run's root key).
 */
export function resetKeyAssignments(stable = false): void {
    taken = stable ? stableTaken : new Map();
}

function takeKey(spec: KeySpec): Promise<crypto.KeyObject> {
    const id = specId(spec);
    const index = taken.get(id) ?? 0;
    taken.set(id, index + 1);
    const keys = pool.get(id) ?? [];
    pool.set(id, keys);
    while (keys.length <= index) {
        keys.push(generate(spec));
    }
    return keys[index];
}

function privateKeyPemOf(key: crypto.KeyObject): string {
    switch (key.asymmetricKeyType) {
        case "rsa":
            return key.export({ type: "pkcs1", format: "pem" }) as string;
        case "ec":
            return key.export({ type: "sec1", format: "pem" }) as string;
        default:
            return key.export({ type: "pkcs8", format: "pem" }) as string;
    }
}

function sshString(data: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, data]);
}

function sshMpint(data: Buffer): Buffer {
    let trimmed = data;
    while (trimmed.length > 1 && trimmed[0] === 0 && (trimmed[1] & 0x80) === 0) {
        trimmed = trimmed.subarray(1);
    }
    return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** The OpenSSH public key blob (RFC 4253 / RFC 5656 / RFC 8709 encodings). */
function opensshPublicBlob(key: crypto.KeyObject): { type: string; blob: Buffer } {
    const jwk = crypto.createPublicKey(key).export({ format: "jwk" });
    const b = (v: string | undefined) => Buffer.from(v ?? "", "base64url");
    if (jwk.kty === "RSA") {
        const type = "ssh-rsa";
        return { type, blob: Buffer.concat([sshString(Buffer.from(type)), sshMpint(b(jwk.e)), sshMpint(b(jwk.n))]) };
    }
    if (jwk.kty === "EC") {
        const id = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" }[jwk.crv as string]!;
        const type = `ecdsa-sha2-${id}`;
        const point = Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
        return {
            type,
            blob: Buffer.concat([sshString(Buffer.from(type)), sshString(Buffer.from(id)), sshString(point)]),
        };
    }
    const type = "ssh-ed25519";
    return { type, blob: Buffer.concat([sshString(Buffer.from(type)), sshString(b(jwk.x))]) };
}

function publicKeyOutputs(key: crypto.KeyObject): Inputs {
    const { type, blob } = opensshPublicBlob(key);
    const md5 = crypto.createHash("md5").update(blob).digest("hex");
    return {
        publicKeyPem: crypto.createPublicKey(key).export({ type: "spki", format: "pem" }),
        publicKeyOpenssh: `${type} ${blob.toString("base64")}\n`,
        publicKeyFingerprintMd5: md5.match(/../g)!.join(":"),
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
    };
}

/** The algorithm name the provider reports in `keyAlgorithm` / `caKeyAlgorithm`. */
function keyAlgorithmOf(key: crypto.KeyObject): string {
    return { rsa: "RSA", ec: "ECDSA", ed25519: "ED25519" }[key.asymmetricKeyType as string] ?? "UNKNOWN";
}

/**
 * Parsed private keys by PEM: the same root key signs every intermediate, and parsing a PEM costs
 * more than the signature (it dominated large benchmark meshes).
 */
const privateKeyObjects = new Map<string, crypto.KeyObject>();
function privateKeyObject(pem: string): crypto.KeyObject {
    let key = privateKeyObjects.get(pem);
    if (!key) {
        key = crypto.createPrivateKey(pem);
        privateKeyObjects.set(pem, key);
    }
    return key;
}

type SigningKeys = { keys: crypto.webcrypto.CryptoKeyPair; signingAlgorithm: crypto.webcrypto.Algorithm };
const signingKeyCache = new Map<string, Promise<SigningKeys>>();

/** WebCrypto keys for signing with a PEM private key, and the signature algorithm Go would choose. */
function signingKeys(pem: string): Promise<SigningKeys> {
    let keys = signingKeyCache.get(pem);
    if (!keys) {
        keys = importSigningKeys(pem);
        signingKeyCache.set(pem, keys);
    }
    return keys;
}

async function importSigningKeys(pem: string): Promise<SigningKeys> {
    const key = privateKeyObject(pem);
    let params:
        crypto.webcrypto.RsaHashedImportParams | crypto.webcrypto.EcKeyImportParams | crypto.webcrypto.Algorithm;
    let signingAlgorithm: crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams;
    if (key.asymmetricKeyType === "rsa") {
        params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        signingAlgorithm = { name: "RSASSA-PKCS1-v1_5" };
    } else if (key.asymmetricKeyType === "ec") {
        const curve = Object.values(CURVES).find((c) => c.node === key.asymmetricKeyDetails?.namedCurve);
        if (!curve) {
            throw new Error(
                `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve} (P224 has no WebCrypto support)`,
            );
        }
        params = { name: "ECDSA", namedCurve: curve.webcrypto };
        signingAlgorithm = { name: "ECDSA", hash: curve.hash } as crypto.webcrypto.EcdsaParams;
    } else if (key.asymmetricKeyType === "ed25519") {
        params = { name: "Ed25519" };
        signingAlgorithm = { name: "Ed25519" };
    } else {
        throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
    }
    const pkcs8 = key.export({ type: "pkcs8", format: "der" });
    const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
    const privateKey = await subtle.importKey("pkcs8", pkcs8, params, true, ["sign"]);
    const publicKey = await subtle.importKey("spki", spki, params, true, ["verify"]);
    return { keys: { privateKey, publicKey }, signingAlgorithm };
}

type Subject = Record<string, unknown> | undefined;

/** One RDN value, string-typed the way Go does (PrintableString when possible, else UTF8String). */
function rdnValue(value: string): x509.JsonAttributeObject {
    return x509.Name.isPrintableString(value) ? { printableString: value } : { utf8String: value };
}

/** Subject fields in the order Go's `pkix.Name.ToRDNSequence` emits them. */
function subjectName(subject: Subject): x509.Name {
    const s = subject ?? {};
    const rdns: x509.JsonAttributeAndObjectValue[] = [];
    const add = (oid: string, value: unknown) => {
        const values = (Array.isArray(value) ? value : value === undefined || value === "" ? [] : [value]).map(String);
        if (values.length > 0) {
            rdns.push({ [oid]: values.map(rdnValue) });
        }
    };
    add("2.5.4.6", s.country);
    add("2.5.4.8", s.province);
    add("2.5.4.7", s.locality);
    add("2.5.4.9", s.streetAddresses);
    add("2.5.4.17", s.postalCode);
    add("2.5.4.10", s.organization);
    add("2.5.4.11", s.organizationalUnit);
    add("2.5.4.3", s.commonName);
    add("2.5.4.5", s.serialNumber);
    if (s.emailAddress) {
        rdns.push({ "1.2.840.113549.1.9.1": [{ ia5String: String(s.emailAddress) }] });
    }
    return new x509.Name(rdns);
}

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

function sanNames(inputs: Inputs): x509.JsonGeneralName[] {
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    return [
        ...list(inputs.dnsNames).map((value) => ({ type: "dns" as const, value })),
        ...list(inputs.ipAddresses).map((value) => ({ type: "ip" as const, value })),
        ...list(inputs.uris).map((value) => ({ type: "url" as const, value })),
    ];
}

function randomSerial(): string {
    const bytes = crypto.randomBytes(16);
    // Positive and without a leading zero byte, like Go's 128-bit random serials in practice.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    return bytes.toString("hex");
}

function rfc3339(date: Date): string {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

interface CertTemplate {
    inputs: Inputs;
    subject: x509.Name;
    publicKey: x509.PublicKeyType;
    san: x509.JsonGeneralName[];
    issuer?: x509.X509Certificate;
}

/** Builds, signs and describes a certificate as the provider's `createCertificate` would. */
async function createCertificate(template: CertTemplate, signerPem: string): Promise<Inputs> {
    const { inputs } = template;
    const hours = Number(inputs.validityPeriodHours);
    if (!Number.isFinite(hours) || hours <= 0) {
        throw new Error(
            `validityPeriodHours must be a positive number, got ${JSON.stringify(inputs.validityPeriodHours)}`,
        );
    }
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + hours * 3_600_000);
    const { keys, signingAlgorithm } = await signingKeys(signerPem);
    const isCa = inputs.isCaCertificate === true;

    const uses = Array.isArray(inputs.allowedUses) ? inputs.allowedUses.map(String) : [];
    let keyUsage = 0;
    const eku: string[] = [];
    for (const use of uses) {
        if (use in KEY_USAGES) {
            keyUsage |= KEY_USAGES[use];
        } else if (use in EXTENDED_KEY_USAGES) {
            eku.push(EXTENDED_KEY_USAGES[use]);
        }
    }

    const extensions: x509.Extension[] = [];
    if (keyUsage !== 0) {
        extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
    }
    if (eku.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
    }
    const maxPathLength = Number(inputs.maxPathLength ?? 0);
    extensions.push(
        new x509.BasicConstraintsExtension(isCa, isCa && maxPathLength > 0 ? maxPathLength : undefined, true),
    );
    let ski: x509.SubjectKeyIdentifierExtension | undefined;
    if (isCa || inputs.setSubjectKeyId === true) {
        ski = await x509.SubjectKeyIdentifierExtension.create(template.publicKey);
        extensions.push(ski);
    }
    if (template.issuer) {
        const issuerSki = template.issuer.getExtension(x509.SubjectKeyIdentifierExtension);
        if (issuerSki) {
            extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId));
        }
    } else if (inputs.setAuthorityKeyId === true && ski) {
        extensions.push(new x509.AuthorityKeyIdentifierExtension(ski.keyId));
    }
    if (template.san.length > 0) {
        extensions.push(new x509.SubjectAlternativeNameExtension(template.san, false));
    }

    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: template.subject,
        issuer: template.issuer ? template.issuer.subjectName : template.subject,
        notBefore,
        notAfter,
        publicKey: template.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm,
        extensions,
    });

    const earlyRenewalHours = Number(inputs.earlyRenewalHours ?? 0);
    return {
        certPem: cert.toString("pem") + "\n",
        validityStartTime: rfc3339(notBefore),
        validityEndTime: rfc3339(notAfter),
        readyForRenewal: Date.now() >= notAfter.getTime() - earlyRenewalHours * 3_600_000,
    };
}

function pemInput(inputs: Inputs, field: string, resource: string): string {
    const value = inputs[field] ?? inputs[`${field}Wo`];
    if (typeof value !== "string" || value.length === 0) {
        throw new Error(`${resource}: input ${field} is missing`);
    }
    return value;
}

/** Answers `tls:index/privateKey:PrivateKey`. */
export async function privateKeyState(name: string, inputs: Inputs): Promise<Inputs> {
    const key = await takeKey(keySpecOf(inputs, name));
    return {
        ...inputs,
        privateKeyPem: privateKeyPemOf(key),
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
        ...publicKeyOutputs(key),
    };
}

/** Answers `tls:index/selfSignedCert:SelfSignedCert`. */
export async function selfSignedCertState(name: string, inputs: Inputs): Promise<Inputs> {
    const keyPem = pemInput(inputs, "privateKeyPem", `tls SelfSignedCert ${name}`);
    const key = privateKeyObject(keyPem);
    const { keys } = await signingKeys(keyPem);
    const cert = await createCertificate(
        { inputs, subject: subjectName(inputs.subject as Subject), publicKey: keys.publicKey, san: sanNames(inputs) },
        keyPem,
    );
    return { ...inputs, keyAlgorithm: keyAlgorithmOf(key), ...cert };
}

/** Answers `tls:index/certRequest:CertRequest`. */
export async function certRequestState(name: string, inputs: Inputs): Promise<Inputs> {
    const keyPem = pemInput(inputs, "privateKeyPem", `tls CertRequest ${name}`);
    const { keys, signingAlgorithm } = await signingKeys(keyPem);
    const san = sanNames(inputs);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject as Subject),
        keys,
        signingAlgorithm,
        extensions: san.length > 0 ? [new x509.SubjectAlternativeNameExtension(san, false)] : [],
    });
    return {
        ...inputs,
        keyAlgorithm: keyAlgorithmOf(privateKeyObject(keyPem)),
        certRequestPem: csr.toString("pem") + "\n",
    };
}

/** Answers `tls:index/locallySignedCert:LocallySignedCert`. */
export async function locallySignedCertState(name: string, inputs: Inputs): Promise<Inputs> {
    const what = `tls LocallySignedCert ${name}`;
    const csr = new x509.Pkcs10CertificateRequest(pemInput(inputs, "certRequestPem", what));
    if (!(await csr.verify())) {
        throw new Error(`${what}: the CSR signature does not verify`);
    }
    const caPem = pemInput(inputs, "caCertPem", what);
    const caKeyPem = pemInput(inputs, "caPrivateKeyPem", what);
    const caCert = new x509.X509Certificate(caPem);
    const caPublic = crypto.createPublicKey(caPem).export({ type: "spki", format: "der" });
    const keyPublic = crypto.createPublicKey(privateKeyObject(caKeyPem)).export({ type: "spki", format: "der" });
    if (!caPublic.equals(keyPublic)) {
        // The real provider fails here too: Go's CreateCertificate checks the signer against the parent.
        throw new Error(`${what}: caPrivateKeyPem does not match the public key of caCertPem`);
    }
    const sanExt = csr.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension | null;
    const san = sanExt ? new x509.SubjectAlternativeNameExtension(sanExt.rawData).names.toJSON() : [];
    const cert = await createCertificate(
        { inputs, subject: csr.subjectName, publicKey: csr.publicKey, san, issuer: caCert },
        caKeyPem,
    );
    return { ...inputs, caKeyAlgorithm: keyAlgorithmOf(privateKeyObject(caKeyPem)), ...cert };
}

/** Answers the `tls:index/getPublicKey:getPublicKey` invoke. */
export function getPublicKeyResult(inputs: Inputs): Inputs {
    const pem = inputs.privateKeyPem ?? inputs.privateKeyOpenssh;
    if (typeof pem !== "string") {
        throw new Error("tls getPublicKey: privateKeyPem is required");
    }
    const key = crypto.createPrivateKey(pem);
    return { ...inputs, algorithm: keyAlgorithmOf(key), ...publicKeyOutputs(key) };
}

/*
 * Per-cluster API-server CA, used as `ca.crt` of service-account token Secrets. Real crypto so that
 * code parsing a kubeconfig's certificate-authority-data gets a certificate.
 */
const clusterCas = new Map<string, Promise<string>>();

/** A self-signed P-256 CA certificate (CN=kubernetes, as kubeadm names it) for `cluster`, cached. */
export function clusterCaPem(cluster: string): Promise<string> {
    let pem = clusterCas.get(cluster);
    if (!pem) {
        pem = (async () => {
            const key = (await generateKeyPair("ec", { namedCurve: "prime256v1" })).privateKey;
            const keyPem = privateKeyPemOf(key);
            const { keys } = await signingKeys(keyPem);
            const state = await createCertificate(
                {
                    inputs: {
                        validityPeriodHours: 87600,
                        isCaCertificate: true,
                        allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
                    },
                    subject: subjectName({ commonName: "kubernetes", organizationalUnit: cluster }),
                    publicKey: keys.publicKey,
                    san: [],
                },
                keyPem,
            );
            return state.certPem as string;
        })();
        clusterCas.set(cluster, pem);
    }
    return pem;
}
