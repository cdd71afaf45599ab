/**
 * Pure helpers the rules use to read resource properties: unknown-safe copies, Secret data,
 * Helm release views, PEM material and remote-secret kubeconfigs.
 *
 * Imports only `@pulumi/policy` and node built-ins: the pack is installed on its own
 * (`npm ci --prefix policies`) and must not depend on the program's modules or dependencies.
 */
import * as policySdk from "@pulumi/policy";
import { KeyObject, X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";

/** Marks a value the engine does not know yet (during `pulumi preview`). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;
/** A value read from resource properties: known, missing (`undefined`) or {@link UNKNOWN}. */
export type Maybe<T> = T | Unknown | undefined;

export function isUnknown(v: unknown): v is Unknown {
    return v === UNKNOWN;
}

// @pulumi/policy 1.21 exports the class at runtime, but its typings omit it (marked @internal).
const UnknownValueErrorClass = (policySdk as unknown as { UnknownValueError?: abstract new () => Error })
    .UnknownValueError;

/**
 * True for the error the engine's property proxy throws when a policy touches a value that is
 * unknown during preview. Duck-typed as well, because the root project and the pack may each
 * load their own copy of @pulumi/policy.
 */
export function isUnknownValueError(e: unknown): boolean {
    if (UnknownValueErrorClass && e instanceof UnknownValueErrorClass) return true;
    return e instanceof Error && "unknownTypeSentinel" in e && Array.isArray((e as { props?: unknown }).props);
}

/** A plain object: not an array, not null, not a class instance. */
export function isPlainRecord(v: unknown): v is Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
}

/**
 * Deep copy of resource properties in which every value the engine does not know yet is replaced
 * by {@link UNKNOWN}. The engine hands policies a proxy that throws on such values; reading
 * everything once, up front, lets each rule decide what an unknown means for it (usually: skip
 * the check now, it runs again with real values during `pulumi up`) instead of the whole policy
 * being reported as "can't run during preview".
 */
export function plain(value: unknown): unknown {
    if (typeof value !== "object" || value === null) return value;
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) out.push(readSafely(() => value[i]));
        return out;
    }
    // Assets and archives stay as they are: no rule looks inside them.
    if (!isPlainRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = readSafely(() => value[key]);
    return out;
}

function readSafely(get: () => unknown): unknown {
    try {
        return plain(get());
    } catch (e) {
        if (isUnknownValueError(e)) return UNKNOWN;
        throw e;
    }
}

/** Top-level properties of a resource as a plain record (see {@link plain}). */
export function plainProps(props: unknown): Record<string, unknown> {
    const p = plain(props);
    return isPlainRecord(p) ? p : {};
}

/** Value at `path` below `obj`: `undefined` when absent, {@link UNKNOWN} when any step is unknown. */
export function at(obj: unknown, ...path: string[]): unknown {
    let node: unknown = obj;
    for (const key of path) {
        if (isUnknown(node)) return UNKNOWN;
        if (!isPlainRecord(node)) return undefined;
        node = node[key];
    }
    return node;
}

/** A string at `path`; non-strings count as absent. */
export function stringAt(obj: unknown, ...path: string[]): Maybe<string> {
    const v = at(obj, ...path);
    if (isUnknown(v)) return UNKNOWN;
    return typeof v === "string" ? v : undefined;
}

/** A record at `path`; non-records count as absent. */
export function recordAt(obj: unknown, ...path: string[]): Maybe<Record<string, unknown>> {
    const v = at(obj, ...path);
    if (isUnknown(v)) return UNKNOWN;
    return isPlainRecord(v) ? v : undefined;
}

/** True when `v` is `true` or the string `"true"` (Helm values and env vars use both). */
export function isTrue(v: unknown): boolean {
    return v === true || v === "true";
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects
// ---------------------------------------------------------------------------------------------

export const SECRET_TYPE = "kubernetes:core/v1:Secret";
export const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";
export const SERVICE_TYPE = "kubernetes:core/v1:Service";
export const HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** Istio custom resources keep their version in the type token; accept every served version. */
export const ISTIO_GATEWAY_TYPE = /^kubernetes:networking\.istio\.io\/v[0-9a-z]+:Gateway$/;
export const ISTIO_VIRTUAL_SERVICE_TYPE = /^kubernetes:networking\.istio\.io\/v[0-9a-z]+:VirtualService$/;

/** `metadata.name` of a Kubernetes object's properties. */
export function objectName(props: Record<string, unknown>): Maybe<string> {
    return stringAt(props, "metadata", "name");
}

/**
 * The entries of a Secret: `data` (base64, decoded here) overlaid by `stringData`, as the API
 * server merges them. {@link UNKNOWN} when the set of keys is not known yet.
 */
export function secretEntries(props: Record<string, unknown>): Map<string, string | Unknown> | Unknown {
    const entries = new Map<string, string | Unknown>();
    const data = props["data"];
    const stringData = props["stringData"];
    if (isUnknown(data) || isUnknown(stringData)) return UNKNOWN;
    if (isPlainRecord(data)) {
        for (const [k, v] of Object.entries(data)) {
            if (isUnknown(v)) entries.set(k, UNKNOWN);
            else if (typeof v === "string") entries.set(k, Buffer.from(v, "base64").toString("utf8"));
        }
    }
    if (isPlainRecord(stringData)) {
        for (const [k, v] of Object.entries(stringData)) {
            if (isUnknown(v)) entries.set(k, UNKNOWN);
            else if (typeof v === "string") entries.set(k, v);
        }
    }
    return entries;
}

// ---------------------------------------------------------------------------------------------
// Helm releases
// ---------------------------------------------------------------------------------------------

/** What the rules read from a `kubernetes:helm.sh/v3:Release`. */
export interface HelmReleaseView {
    /** Chart name without repository, OCI prefix or `-<version>.tgz` suffix. */
    chart: Maybe<string>;
    /** Chart version; a local `.tgz` chart carries it in its file name. */
    version: Maybe<string>;
    /** Helm release name (`name` input), else the resource name. */
    releaseName: Maybe<string>;
    values: Record<string, unknown> | Unknown;
}

/** Chart name from any form the Release accepts: `istiod`, `istio/istiod`, `oci://…/istiod`, `…/istiod-1.30.3.tgz`. */
export function chartBaseName(chart: string): { name: string; versionFromFile?: string } {
    const last = chart.replace(/\/+$/, "").split("/").pop() ?? chart;
    const tgz = /^(.*?)-(\d+\.\d+\.\d+[^/]*)\.tgz$/.exec(last);
    if (tgz) return { name: tgz[1], versionFromFile: tgz[2] };
    return { name: last.replace(/\.tgz$/, "") };
}

export function helmRelease(props: Record<string, unknown>, resourceName: string): HelmReleaseView {
    const chartRaw = stringAt(props, "chart");
    let chart: Maybe<string> = chartRaw;
    let version = stringAt(props, "version");
    if (typeof chartRaw === "string") {
        const base = chartBaseName(chartRaw);
        chart = base.name;
        if ((version === undefined || version === "") && base.versionFromFile) version = base.versionFromFile;
    }
    const name = stringAt(props, "name");
    const values = props["values"];
    return {
        chart,
        version,
        releaseName: name === undefined || name === "" ? resourceName : name,
        values: isUnknown(values) ? UNKNOWN : isPlainRecord(values) ? values : {},
    };
}

/** istiod of a remote cluster: `profile=remote` (1.24+) or the chart's `istiodRemote.enabled`. */
export function isRemoteProfile(values: Record<string, unknown> | Unknown): boolean | Unknown {
    if (isUnknown(values)) return UNKNOWN;
    const profile = at(values, "profile");
    const globalProfile = at(values, "global", "profile");
    const enabled = at(values, "istiodRemote", "enabled");
    if (profile === "remote" || globalProfile === "remote" || isTrue(enabled)) return true;
    if (isUnknown(profile) || isUnknown(globalProfile) || isUnknown(enabled)) return UNKNOWN;
    return false;
}

// ---------------------------------------------------------------------------------------------
// PEM material
// ---------------------------------------------------------------------------------------------

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** PEM blocks of `text` whose label satisfies `label` (e.g. `CERTIFICATE`, `RSA PRIVATE KEY`). */
export function pemBlocks(text: string, label: (l: string) => boolean): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(PEM_BLOCK)) if (label(m[1])) out.push(m[0]);
    return out;
}

/** Every certificate in `text` that node:crypto can parse. */
export function certificatesIn(text: string): X509Certificate[] {
    const out: X509Certificate[] = [];
    for (const block of pemBlocks(text, (l) => l === "CERTIFICATE")) {
        try {
            out.push(new X509Certificate(block));
        } catch {
            // Not a certificate node:crypto can read; other rules judge the content.
        }
    }
    return out;
}

/** True when `text` holds at least one PEM private key block (readable or not). */
export function hasPrivateKeyBlock(text: string): boolean {
    return pemBlocks(text, (l) => l.endsWith("PRIVATE KEY")).length > 0;
}

/** Public halves of the unencrypted private keys in `text` (PKCS#1, SEC1 or PKCS#8). */
export function publicKeysOfPrivateKeysIn(text: string): KeyObject[] {
    const out: KeyObject[] = [];
    for (const block of pemBlocks(text, (l) => l.endsWith("PRIVATE KEY") && !l.startsWith("ENCRYPTED"))) {
        try {
            out.push(createPublicKey(createPrivateKey(block)));
        } catch {
            // Unreadable key material; the key-name checks still apply.
        }
    }
    return out;
}

/** Compares two public keys by their SubjectPublicKeyInfo encoding. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
    const da = a.export({ type: "spki", format: "der" });
    const db = b.export({ type: "spki", format: "der" });
    return da.equals(db);
}

// ---------------------------------------------------------------------------------------------
// Kubeconfig (remote secrets)
// ---------------------------------------------------------------------------------------------

/**
 * Reads a kubeconfig: JSON, or the block-style YAML that istioctl and YAML libraries emit
 * (mappings, sequences, plain/quoted scalars, block scalars, empty and JSON-compatible flow
 * collections). Throws on anything else; a reviewer should look at such a kubeconfig anyway.
 */
export function parseKubeconfig(text: string): unknown {
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) return JSON.parse(trimmed);
    return parseBlockYaml(text);
}

interface YamlLine {
    indent: number;
    text: string;
    /** Index in the raw line array (block scalars read raw lines). */
    raw: number;
}

/** Minimal block-YAML reader: enough for kubeconfigs, strict about what it does not understand. */
export function parseBlockYaml(text: string): unknown {
    const rawLines = text.replace(/\r\n?/g, "\n").split("\n");
    const lines: YamlLine[] = [];
    rawLines.forEach((line, raw) => {
        const body = line.replace(/\s+$/, "");
        const trimmed = body.trimStart();
        if (trimmed === "" || trimmed.startsWith("#") || trimmed === "---" || trimmed === "...") return;
        if (trimmed.startsWith("%")) return;
        if (/\t/.test(body.slice(0, body.length - trimmed.length))) throw new Error("tabs in indentation");
        lines.push({ indent: body.length - trimmed.length, text: trimmed, raw });
    });
    if (lines.length === 0) return null;
    const [value, next] = parseNode(lines, 0, lines[0].indent, rawLines);
    if (next < lines.length) throw new Error(`unexpected content at line ${lines[next].raw + 1}`);
    return value;
}

const KEY_LINE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#&*!|>%@`{[\]}?:,-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s+(.*))?$/;

function isSeqItem(t: string): boolean {
    return t === "-" || t.startsWith("- ");
}

function parseNode(lines: YamlLine[], i: number, indent: number, raw: string[]): [unknown, number] {
    const line = lines[i];
    if (isSeqItem(line.text)) return parseSeq(lines, i, indent, raw);
    if (KEY_LINE.test(line.text)) return parseMap(lines, i, indent, raw);
    return [parseScalar(line.text), i + 1];
}

function parseMap(lines: YamlLine[], i: number, indent: number, raw: string[]): [Record<string, unknown>, number] {
    const out: Record<string, unknown> = {};
    while (i < lines.length && lines[i].indent === indent && !isSeqItem(lines[i].text)) {
        const m = KEY_LINE.exec(lines[i].text);
        if (!m) throw new Error(`expected "key: value" at line ${lines[i].raw + 1}`);
        const key = String(parseScalar(m[1]));
        const rest = m[2] ?? "";
        const startRaw = lines[i].raw;
        i++;
        if (/^[|>][-+0-9]*$/.test(rest)) {
            const [value, next] = blockScalar(lines, i, indent, raw, startRaw, rest);
            out[key] = value;
            i = next;
        } else if (rest !== "") {
            out[key] = parseScalar(rest);
        } else if (i < lines.length && lines[i].indent > indent) {
            const [value, next] = parseNode(lines, i, lines[i].indent, raw);
            out[key] = value;
            i = next;
        } else if (i < lines.length && lines[i].indent === indent && isSeqItem(lines[i].text)) {
            const [value, next] = parseSeq(lines, i, indent, raw);
            out[key] = value;
            i = next;
        } else {
            out[key] = null;
        }
    }
    if (i < lines.length && lines[i].indent > indent) {
        throw new Error(`unexpected indentation at line ${lines[i].raw + 1}`);
    }
    return [out, i];
}

function parseSeq(lines: YamlLine[], i: number, indent: number, raw: string[]): [unknown[], number] {
    const out: unknown[] = [];
    while (i < lines.length && lines[i].indent === indent && isSeqItem(lines[i].text)) {
        const item = lines[i].text === "-" ? "" : lines[i].text.slice(2);
        const content = item.trimStart();
        if (content === "") {
            i++;
            if (i < lines.length && lines[i].indent > indent) {
                const [value, next] = parseNode(lines, i, lines[i].indent, raw);
                out.push(value);
                i = next;
            } else {
                out.push(null);
            }
            continue;
        }
        // "- key: v" opens a mapping whose further keys sit at the column of "key".
        const column = indent + 2 + (item.length - content.length);
        lines[i] = { indent: column, text: content, raw: lines[i].raw };
        const [value, next] = parseNode(lines, i, column, raw);
        out.push(value);
        i = next;
    }
    return [out, i];
}

function blockScalar(
    lines: YamlLine[],
    i: number,
    indent: number,
    raw: string[],
    startRaw: number,
    header: string,
): [string, number] {
    let end = i;
    while (end < lines.length && lines[end].indent > indent) end++;
    const lastRaw = end < lines.length ? lines[end].raw : raw.length;
    const body = raw.slice(startRaw + 1, lastRaw);
    const filled = body.filter((l) => l.trim() !== "");
    if (filled.length === 0) return ["", end];
    const contentIndent = Math.min(...filled.map((l) => l.length - l.trimStart().length));
    const stripped = body.map((l) => (l.trim() === "" ? "" : l.slice(contentIndent).replace(/\s+$/, "")));
    while (stripped.length > 0 && stripped[stripped.length - 1] === "") stripped.pop();
    let joined: string;
    if (header.startsWith(">")) {
        // Folded: a line break between two text lines becomes a space, an empty line a newline.
        joined = "";
        for (const l of stripped) {
            if (l === "") joined += "\n";
            else joined += (joined === "" || joined.endsWith("\n") ? "" : " ") + l;
        }
    } else {
        joined = stripped.join("\n");
    }
    const chomp = header.includes("-") ? "" : "\n";
    return [joined + chomp, end];
}

function parseScalar(text: string): unknown {
    const t = text.trim();
    if (t.startsWith('"')) return JSON.parse(t);
    if (t.startsWith("'")) {
        if (!t.endsWith("'") || t.length < 2) throw new Error(`unterminated string ${t}`);
        return t.slice(1, -1).replace(/''/g, "'");
    }
    if (t === "{}") return {};
    if (t === "[]") return [];
    if (t.startsWith("{") || t.startsWith("[")) return JSON.parse(t);
    if (/^[&*!|>]/.test(t)) throw new Error(`unsupported YAML construct ${t.slice(0, 20)}`);
    const value = t.replace(/\s+#.*$/, "");
    if (value === "null" || value === "~") return null;
    if (value === "true") return true;
    if (value === "false") return false;
    return value;
}

/** Credential fields of a kubeconfig user that are not a bearer token. */
export const NON_TOKEN_USER_FIELDS = [
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "exec",
    "auth-provider",
    "username",
    "password",
    "tokenFile",
    "as",
    "as-uid",
    "as-groups",
    "as-user-extra",
] as const;

export interface KubeconfigCheckOptions {
    /** User fields that must not appear (default {@link NON_TOKEN_USER_FIELDS}). */
    forbiddenUserFields?: readonly string[];
    /** Allow `server` URLs on 127.0.0.1 / localhost / ::1. */
    allowLoopbackServer?: boolean;
    /** Allow `insecure-skip-tls-verify: true`. */
    allowInsecureSkipTlsVerify?: boolean;
}

function isLoopbackHost(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "").toLowerCase();
    return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\./.test(h) || h === "0.0.0.0";
}

/**
 * What is wrong with the kubeconfig istiod would use to watch another cluster: every user must
 * authenticate with a bearer `token` and nothing else (a client certificate or exec plugin is the
 * operator's own identity, usually cluster-admin, copied into another cluster), every server must
 * be reachable from another cluster (not loopback) and TLS must be verified.
 */
export function kubeconfigProblems(text: string, options: KubeconfigCheckOptions = {}): string[] {
    let doc: unknown;
    try {
        doc = parseKubeconfig(text);
    } catch (e) {
        return [`is not a readable kubeconfig (${e instanceof Error ? e.message : String(e)})`];
    }
    if (!isPlainRecord(doc)) return ["is not a kubeconfig (expected a mapping with clusters, users, contexts)"];
    const problems: string[] = [];
    const forbidden = options.forbiddenUserFields ?? NON_TOKEN_USER_FIELDS;
    const users = Array.isArray(doc["users"]) ? doc["users"] : [];
    if (users.length === 0) problems.push("has no users: istiod needs the reader service account's token");
    for (const entry of users) {
        const name = isPlainRecord(entry) && typeof entry["name"] === "string" ? entry["name"] : "(unnamed)";
        const user = isPlainRecord(entry) ? entry["user"] : undefined;
        if (!isPlainRecord(user)) {
            problems.push(`user ${name} has no credentials`);
            continue;
        }
        const bad = Object.keys(user).filter((k) => forbidden.includes(k));
        if (bad.length > 0) {
            problems.push(
                `user ${name} authenticates with ${bad.join(", ")}: only the reader service account's bearer token is allowed`,
            );
        }
        if (typeof user["token"] !== "string" || user["token"].trim() === "") {
            problems.push(`user ${name} has no bearer token`);
        }
    }
    const clusters = Array.isArray(doc["clusters"]) ? doc["clusters"] : [];
    for (const entry of clusters) {
        const name = isPlainRecord(entry) && typeof entry["name"] === "string" ? entry["name"] : "(unnamed)";
        const cluster = isPlainRecord(entry) ? entry["cluster"] : undefined;
        if (!isPlainRecord(cluster)) continue;
        const server = cluster["server"];
        if (typeof server === "string" && !options.allowLoopbackServer) {
            let host: string | undefined;
            try {
                host = new URL(server).hostname;
            } catch {
                host = undefined;
            }
            if (host !== undefined && isLoopbackHost(host)) {
                problems.push(
                    `cluster ${name} points at ${server}, a loopback address other clusters cannot reach (set the cluster's apiServer)`,
                );
            }
        }
        if (isTrue(cluster["insecure-skip-tls-verify"]) && !options.allowInsecureSkipTlsVerify) {
            problems.push(`cluster ${name} disables TLS verification (insecure-skip-tls-verify)`);
        }
    }
    return problems;
}
