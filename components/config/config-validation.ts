/**
 * Validation of the raw stack configuration: schema (Ajv over {@link MESH_CONFIG_SCHEMA}) plus the
 * semantic rules of an Istio multicluster mesh. Pure: no file, network or Pulumi access.
 *
 * Every problem is reported at once, each with its config path and a fix, so a user fixes a
 * stack file in one round instead of one error per `pulumi up`.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { CaConfig, ClusterCaConfig, ClusterConfig, ConfigProblem, MeshConfig, RootRotationStage } from "./config";
import { ConfigSchema, MESH_CONFIG_SCHEMA, SECRET_PLACEHOLDER } from "./config-schema";
import { ConfigRuleSet, isObj, Obj, readClusters } from "./rule-context";

/** A check contributed by another module; runs on the defaulted config after the built-in rules. */
export type MeshConfigCheck = (config: MeshConfig) => ConfigProblem[];

/** Extra checks, run in order; exported so the program can assemble its list in one place. */
export type MeshConfigChecks = readonly MeshConfigCheck[];

export interface ValidateOptions {
    /**
     * Config paths whose values are Pulumi secrets (`caKeyPem`, `kubeconfigs` or
     * `kubeconfigs.cluster1`). When given, secret-only keys set in plain text are reported.
     * Values at these paths never appear in messages.
     */
    secretKeys?: readonly string[];
}

export interface ValidationResult {
    /** The defaulted config; set only when there are no problems. */
    config?: MeshConfig;
    problems: ConfigProblem[];
}

type Segment = string | number;

let compiled: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
    if (!compiled) {
        const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true });
        ajv.addKeyword({ keyword: "x-secret", schemaType: "boolean" });
        compiled = ajv.compile(MESH_CONFIG_SCHEMA);
    }
    return compiled;
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers, exported for kubeconfig.ts, the plan CLI and tests.
// ---------------------------------------------------------------------------------------------

/** `clusters[1].eastWestGateway.address`; keys that are not plain identifiers as `["a.b/c"]`. */
export function formatPath(segments: readonly Segment[]): string {
    let out = "";
    for (const s of segments) {
        if (typeof s === "number") out += `[${s}]`;
        else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
        else out += `[${JSON.stringify(s)}]`;
    }
    return out;
}

/** Levenshtein distance, case-insensitive. */
export function editDistance(a: string, b: string): number {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    const row = Array.from({ length: y.length + 1 }, (_, i) => i);
    for (let i = 1; i <= x.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= y.length; j++) {
            const cur = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
            prev = cur;
        }
    }
    return row[y.length];
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word, c);
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    const limit = Math.max(2, Math.floor(word.length / 3));
    return bestDistance <= limit ? best : undefined;
}

/** Kubernetes DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, ≤ 63. */
export function isDns1123Label(s: string): boolean {
    return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

/** Kubernetes DNS-1123 subdomain: dot-separated labels, ≤ 253. */
export function isDns1123Subdomain(s: string): boolean {
    return s.length <= 253 && s.split(".").every(isDns1123Label);
}

/** A DNS-1123 label derived from `s`, to suggest as a fix. */
export function suggestDns1123Label(s: string): string {
    const cleaned = s
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 63)
        .replace(/-+$/g, "");
    return cleaned || "cluster1";
}

/** True for 127.0.0.0/8, ::1, `localhost` and `*.localhost` (brackets around IPv6 allowed). */
export function isLoopbackHost(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "").toLowerCase();
    if (h === "localhost" || h.endsWith(".localhost")) return true;
    if (isIP(h) === 4) return h.startsWith("127.");
    if (isIP(h) === 6) {
        if (h === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(h)) return true;
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
        return mapped !== null && mapped[1].startsWith("127.");
    }
    return false;
}

/** True for 0.0.0.0 and `::`: a listening address, never one to dial. */
export function isUnspecifiedHost(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "");
    return h === "0.0.0.0" || h === "::";
}

export type ChartRepositoryKind = "https" | "http" | "oci" | "local";

/** Which of the accepted forms a chart repository is, or undefined when it is none of them. */
export function classifyChartRepository(repo: string): ChartRepositoryKind | undefined {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(repo)?.[1]?.toLowerCase();
    if (scheme === "https" || scheme === "http" || scheme === "oci") {
        try {
            const url = new URL(repo);
            return url.hostname ? (scheme as ChartRepositoryKind) : undefined;
        } catch {
            return undefined;
        }
    }
    if (scheme === undefined && path.posix.isAbsolute(repo)) return "local";
    return undefined;
}

/** `[major, minor, patch]` of a semantic version (pre-release and build allowed), or undefined. */
export function parseVersion(v: string): [number, number, number] | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether version `a` sorts before `b`. */
export function versionLess(a: [number, number, number], b: [number, number, number]): boolean {
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
}

/** Whether a config path is covered by one of the secret paths (itself or a parent). */
export function isSecretPath(p: string, secretKeys: readonly string[]): boolean {
    return secretKeys.some((s) => p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`));
}

/**
 * Clusters whose API server some OTHER cluster's istiod must reach: every cluster for which a
 * primary other than itself exists (each primary watches every other cluster of the mesh).
 */
export function clustersReachedByOthers(clusters: readonly Pick<ClusterConfig, "name" | "role">[]): Set<string> {
    const primaries = clusters.filter((c) => c.role === "primary").map((c) => c.name);
    return new Set(clusters.filter((c) => primaries.some((p) => p !== c.name)).map((c) => c.name));
}

/**
 * `apiServerTlsServerName`: a host name or IP address a certificate can carry, on a cluster whose
 * API server some other primary's istiod actually dials (elsewhere it would silently do nothing).
 */
export function checkTlsServerName(
    name: string,
    problemPath: string,
    cluster: string,
    reachedByOthers: ReadonlySet<string>,
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!isDns1123Subdomain(name) && isIP(name) === 0) {
        problems.push({
            path: problemPath,
            message: `'${name}' is neither a host name nor an IP address.`,
            fix: "Use a name from the API server certificate's subject alternative names (e.g. kubernetes.default.svc or the API server's DNS name), without scheme or port.",
        });
    }
    if (!reachedByOthers.has(cluster)) {
        problems.push({
            path: problemPath,
            message: `No other primary watches ${cluster}, so no remote secret would carry this name.`,
            fix: `Remove ${problemPath}.`,
        });
    }
    return problems;
}

const KIND_HINT =
    "for kind use the control-plane container address https://<container-ip>:6443 " +
    "(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' <kind-cluster>-control-plane)";

/**
 * Checks an API server URL: https, parseable, and (when other clusters must reach it) not on
 * loopback or an unspecified address. `where` names the source when the URL came from a kubeconfig.
 */
export function checkApiServerUrl(
    url: string,
    problemPath: string,
    mustBeReachable: boolean,
    where = "",
): ConfigProblem[] {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return [
            {
                path: problemPath,
                message: `'${url}'${where} is not a valid URL.`,
                fix: "Use the form https://<host>:<port>, e.g. https://10.0.0.10:6443.",
            },
        ];
    }
    if (parsed.protocol !== "https:" || !parsed.hostname) {
        return [
            {
                path: problemPath,
                message: `'${url}'${where} must be an https URL with a host (Kubernetes API servers serve TLS).`,
                fix: `Use https://${parsed.host || "<host>"}${parsed.port ? "" : ":6443"} or the server URL from the cluster's kubeconfig.`,
            },
        ];
    }
    if (mustBeReachable && (isLoopbackHost(parsed.hostname) || isUnspecifiedHost(parsed.hostname))) {
        return [
            {
                path: problemPath,
                message:
                    `'${url}'${where} is a loopback or unspecified address, but the other clusters' istiod must ` +
                    "reach this API server through the remote secret; from their pods this address is themselves.",
                fix:
                    `Set ${problemPath.endsWith(".apiServer") ? problemPath : `${problemPath.replace(/\.(kubeconfig|context)$/, "")}.apiServer`} ` +
                    `to an address reachable from the other clusters' pods; ${KIND_HINT}.`,
            },
        ];
    }
    return [];
}

// ---------------------------------------------------------------------------------------------
// Schema errors → problems
// ---------------------------------------------------------------------------------------------

function pointerToSegments(pointer: string, data: unknown): Segment[] {
    if (!pointer) return [];
    const out: Segment[] = [];
    let cur: unknown = data;
    for (const raw of pointer.slice(1).split("/")) {
        const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        if (Array.isArray(cur) && /^\d+$/.test(key)) {
            out.push(Number(key));
            cur = cur[Number(key)];
        } else {
            out.push(key);
            cur = isObj(cur) ? cur[key] : undefined;
        }
    }
    return out;
}

function describeType(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "a list";
    if (typeof v === "object") return "an object";
    return `a ${typeof v}`;
}

const TYPE_EXAMPLES: Record<string, string> = {
    string: 'a quoted string, e.g. "network1"',
    integer: "a whole number, e.g. 30",
    number: "a number",
    boolean: "true or false",
    object: "a mapping of keys to values (YAML `key: value` lines)",
    array: "a list (YAML lines starting with `- `)",
};

/** Every property name in the schema with the paths where it lives, for "wrong level" hints. */
function keyIndex(): Map<string, string[]> {
    const index = new Map<string, string[]>();
    const walk = (s: ConfigSchema, prefix: string) => {
        for (const [k, child] of Object.entries(s.properties ?? {})) {
            const p = prefix ? `${prefix}.${k}` : k;
            index.set(k, [...(index.get(k) ?? []), p]);
            walk(child, p);
            if (child.items) walk(child.items, `${p}[]`);
        }
    };
    walk(MESH_CONFIG_SCHEMA, "");
    return index;
}

function schemaErrorToProblem(e: ErrorObject, data: unknown, secretKeys: readonly string[]): ConfigProblem | undefined {
    const segments = pointerToSegments(e.instancePath, data);
    const here = formatPath(segments);
    const secret = isSecretPath(here, secretKeys);
    const parent = e.parentSchema as ConfigSchema | undefined;
    switch (e.keyword) {
        case "additionalProperties": {
            const key = String((e.params as { additionalProperty: string }).additionalProperty);
            const p = formatPath([...segments, key]);
            const known = Object.keys(parent?.properties ?? {});
            const guess = closest(key, known);
            const elsewhere = keyIndex()
                .get(key)
                ?.filter((loc) => loc !== p.replace(/\[\d+\]/g, "[]"));
            let fix: string;
            if (guess) fix = `Did you mean '${guess}'? Rename it to ${formatPath([...segments, guess])}.`;
            else if (elsewhere && elsewhere.length > 0)
                fix = `'${key}' belongs under ${elsewhere.join(" or ")}; move it there.`;
            else fix = `Remove it. Known keys here: ${known.join(", ")}.`;
            return { path: p, message: `Unknown key '${key}'.`, fix };
        }
        case "required": {
            const key = String((e.params as { missingProperty: string }).missingProperty);
            const p = formatPath([...segments, key]);
            const fix =
                key === "clusters"
                    ? `Add the clusters, e.g. pulumi config set --path 'clusters[0].name' cluster1 (see docs/configuration.md).`
                    : `Set ${p}, e.g. pulumi config set --path '${p}' <value>.`;
            return { path: p, message: `Required key '${key}' is missing.`, fix };
        }
        case "type": {
            const expected = String((e.params as { type: string }).type);
            return {
                path: here,
                message: `Must be ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}, not ${describeType(e.data)}${
                    !secret && typeof e.data === "string" ? ` ('${e.data}')` : ""
                }.`,
                fix: `Set ${here} to ${TYPE_EXAMPLES[expected] ?? expected}.`,
            };
        }
        case "enum": {
            const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
            const given = String(e.data);
            const guess = typeof e.data === "string" ? closest(given, allowed) : undefined;
            return {
                path: here,
                message: `${secret ? "The value" : `'${given}'`} is not one of ${allowed.join(", ")}.`,
                fix: guess ? `Did you mean '${guess}'?` : `Use one of ${allowed.join(", ")}.`,
            };
        }
        case "minimum":
            return {
                path: here,
                message: `Must be at least ${(e.params as { limit: number }).limit}${secret ? "" : `, got ${String(e.data)}`}.`,
                fix: `Set ${here} to ${(e.params as { limit: number }).limit} or more.`,
            };
        default:
            return { path: here, message: e.message ?? `Invalid (${e.keyword}).` };
    }
}

// ---------------------------------------------------------------------------------------------
// Pre-processing of raw input
// ---------------------------------------------------------------------------------------------

/**
 * Drops keys whose value is null (YAML `key:` with nothing after it means "unset"), and reports
 * encrypted placeholders on keys that are not meant to be secrets (they cannot be checked offline).
 */
function preprocess(value: unknown, segments: Segment[], problems: ConfigProblem[], node?: ConfigSchema): unknown {
    if (value === SECRET_PLACEHOLDER && !node?.["x-secret"] && !isSecretSubtree(segments)) {
        const p = formatPath(segments);
        problems.push({
            path: p,
            message: "The value is encrypted (secure:), so it cannot be read without the stack's secrets provider.",
            fix: `Only caKeyPem, caKeyPems, nextCaKeyPem and kubeconfigs hold secrets; store ${p} in plain text (pulumi config set --path '${p}' <value>).`,
        });
        return undefined;
    }
    const wrongScalar = wrongScalarProblem(value, segments, node, !!node?.["x-secret"] || isSecretSubtree(segments));
    if (wrongScalar) {
        problems.push(wrongScalar);
        // A boolean key's value is dropped so that the schema does not report it a second time;
        // a string key keeps its value, so that a required key is not also reported missing.
        if (node?.type === "boolean") return undefined;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => preprocess(v, [...segments, i], problems, node?.items));
    }
    if (isObj(value)) {
        const out: Obj = {};
        for (const [k, v] of Object.entries(value)) {
            if (v === null || v === undefined) continue;
            const child =
                node?.properties?.[k] ?? (isObj(node?.additionalProperties) ? node.additionalProperties : undefined);
            const pv = preprocess(v, [...segments, k], problems, child);
            if (pv !== undefined) out[k] = pv;
        }
        return out;
    }
    return value;
}

/** Words YAML 1.1 read as booleans; YAML 1.2 (Pulumi's stack files) keeps them strings. */
const YAML11_BOOLEAN_WORDS = /^(yes|no|y|n|on|off)$/i;

/**
 * A scalar of the wrong kind that the schema's type coercion would silently accept: a number or a
 * boolean where the schema says string (YAML reads `tag: 1.30` as the number 1.3, and
 * `pulumi config set --path` stores integers as numbers, so coercing back would install something
 * else than was meant), or a YAML 1.1 yes/no word where it says boolean. Strings of digits and
 * "true"/"false" stay accepted for numbers and booleans: that is how `pulumi config set` stores
 * them. `istioVersion` and enums have messages of their own.
 */
export function wrongScalarProblem(
    value: unknown,
    segments: readonly Segment[],
    node: ConfigSchema | undefined,
    secret: boolean,
): ConfigProblem | undefined {
    if (!node || node.enum) return undefined;
    const p = formatPath(segments);
    if (node.type === "string" && (typeof value === "number" || typeof value === "boolean")) {
        if (p === "istioVersion") return undefined;
        const kind = typeof value;
        const key = String(segments[segments.length - 1]);
        const example = secret ? "<value>" : String(value);
        const cli =
            segments.length === 1
                ? `pulumi config set ${p} '<value>' (top-level values are always stored as text)`
                : `pulumi config set --path '${p}' '<value>' --type string`;
        return {
            path: p,
            message:
                `Expected a string, got ${secret ? `a ${kind}` : `the ${kind} ${String(value)}`}: YAML (or pulumi config set --path) read the unquoted ` +
                (kind === "number"
                    ? "value as a number, and a number turned back into text can differ from what was written (1.30 becomes 1.3)."
                    : "word as a boolean."),
            fix: `Quote it in the stack file, e.g. ${key}: "${example}" if that is what you meant, or set it with ${cli}.`,
        };
    }
    if (node.type === "boolean" && typeof value === "string" && YAML11_BOOLEAN_WORDS.test(value.trim())) {
        return {
            path: p,
            message: `Expected true or false, got the string '${value}' (only true and false are booleans in YAML 1.2).`,
            fix: `Write ${p}: ${/^(yes|y|on)$/i.test(value.trim()) ? "true" : "false"}.`,
        };
    }
    return undefined;
}

function isSecretSubtree(segments: readonly Segment[]): boolean {
    const top = segments[0];
    return typeof top === "string" && MESH_CONFIG_SCHEMA.properties?.[top]?.["x-secret"] === true;
}

// ---------------------------------------------------------------------------------------------
// Defaulted data → MeshConfig
// ---------------------------------------------------------------------------------------------

function omitUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function toCaConfig(ca: Obj): CaConfig {
    return omitUndefined<CaConfig>({
        name: ca.name as string,
        mode: ca.mode as CaConfig["mode"],
        keyAlgorithm: ca.keyAlgorithm as CaConfig["keyAlgorithm"],
        rsaBits: ca.rsaBits as CaConfig["rsaBits"],
        ecdsaCurve: ca.ecdsaCurve as CaConfig["ecdsaCurve"],
        validityDays: ca.validityDays as number,
        organization: ca.organization as string,
        commonName: ca.commonName as string,
        certPem: ca.certPem as string | undefined,
        certFile: ca.certFile as string | undefined,
    });
}

function toClusterCaConfig(ca: Obj): ClusterCaConfig {
    return omitUndefined<ClusterCaConfig>({
        mode: ca.mode as ClusterCaConfig["mode"],
        name: ca.name as string | undefined,
        commonName: ca.commonName as string | undefined,
        certPem: ca.certPem as string | undefined,
        certFile: ca.certFile as string | undefined,
        rootCertPem: ca.rootCertPem as string | undefined,
        rootCertFile: ca.rootCertFile as string | undefined,
    });
}

function toMeshConfig(d: Obj): MeshConfig {
    const ca = d.ca as Obj;
    const rotation = d.rootRotation as Obj;
    const inter = d.intermediate as Obj;
    const ver = d.verification as Obj;
    const rs = d.remoteSecrets as Obj;
    const dns = d.dnsProxy as Obj;
    const rawClusters = d.clusters as Obj[];
    const primaries = rawClusters.filter((c) => c.role === "primary");
    const clusters: ClusterConfig[] = rawClusters.map((c) => {
        const gw = c.eastWestGateway as Obj;
        return omitUndefined<ClusterConfig>({
            name: c.name as string,
            network: c.network as string,
            role: c.role as ClusterConfig["role"],
            controlPlane:
                c.role === "remote"
                    ? ((c.controlPlane as string | undefined) ?? (primaries[0]?.name as string))
                    : undefined,
            kubeconfig: c.kubeconfig as string | undefined,
            context: c.context as string | undefined,
            apiServer: c.apiServer as string | undefined,
            apiServerTlsServerName: c.apiServerTlsServerName as string | undefined,
            eastWestGateway: omitUndefined({
                serviceType: gw.serviceType as ClusterConfig["eastWestGateway"]["serviceType"],
                nodePort: gw.nodePort as number | undefined,
                address: gw.address as string | undefined,
                nodeSelector: gw.nodeSelector as Record<string, string> | undefined,
                annotations: gw.annotations as Record<string, string> | undefined,
                loadBalancerIP: gw.loadBalancerIP as string | undefined,
            }),
            values: c.values as ClusterConfig["values"],
            adopt: c.adopt as boolean,
            ca: isObj(c.ca) ? toClusterCaConfig(c.ca) : undefined,
            revisions: c.revisions as string[] | undefined,
            defaultRevision: c.defaultRevision as string | undefined,
            revisionTags: c.revisionTags as Record<string, string> | undefined,
        });
    });
    return omitUndefined<MeshConfig>({
        meshId: d.meshId as string,
        trustDomain: d.trustDomain as string,
        istioVersion: d.istioVersion as string,
        chartRepository: d.chartRepository as string,
        ca: toCaConfig(ca),
        rootRotation:
            rotation.stage !== undefined && isObj(rotation.next)
                ? { stage: rotation.stage as RootRotationStage, next: toCaConfig(rotation.next) }
                : undefined,
        intermediate: {
            validityDays: inter.validityDays as number,
            earlyRenewalDays: inter.earlyRenewalDays as number,
        },
        clusters,
        verify: d.verify as boolean,
        verification: {
            namespace: ver.namespace as string,
            requests: ver.requests as number,
            timeoutSeconds: ver.timeoutSeconds as number,
            serverImage: ver.serverImage as string,
            clientImage: ver.clientImage as string,
        },
        remoteSecrets: {
            tokenMode: rs.tokenMode as MeshConfig["remoteSecrets"]["tokenMode"],
            layout: rs.layout as MeshConfig["remoteSecrets"]["layout"],
            tokenTtlDays: rs.tokenTtlDays as number,
            renewBeforeDays: rs.renewBeforeDays as number,
            probeTokenLifetime: rs.probeTokenLifetime as boolean,
            readerAccounts: rs.readerAccounts as MeshConfig["remoteSecrets"]["readerAccounts"],
        },
        images: d.images as MeshConfig["images"],
        dnsProxy: { capture: dns.capture as boolean, autoAllocate: dns.autoAllocate as boolean },
        values: d.values as MeshConfig["values"],
        meshConfig: d.meshConfig as MeshConfig["meshConfig"],
        revision: (d.revision as string) || undefined,
        revisions: d.revisions as MeshConfig["revisions"],
        revisionTags: d.revisionTags as MeshConfig["revisionTags"],
        defaultRevision: d.defaultRevision as string | undefined,
        baseVersion: d.baseVersion as string | undefined,
    });
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * Validates the raw config of the `istio-multicluster:` namespace (prefix stripped; values parsed,
 * numbers and booleans also accepted as strings, as `pulumi config set` stores them) against the
 * schema, applies the defaults, and runs every domain's rules on the result. The program's rule
 * set is assembled in `components/mesh/validate-config.ts` (config/ knows no domain).
 *
 * @param raw The stack config, e.g. from `readStackConfigFile` or `readPulumiConfig`.
 * @param rules The rules of every domain, run even when the schema found problems.
 * @param checks Extra checks run on the defaulted config once the rules found the structure
 *   sound (types right, every remote served by an existing primary).
 * @param options See {@link ValidateOptions}.
 * @returns The config when there are no problems, and every problem found.
 */
export function validateConfigWith(
    raw: Record<string, unknown>,
    rules: ConfigRuleSet,
    checks: MeshConfigChecks = [],
    options: ValidateOptions = {},
): ValidationResult {
    const problems: ConfigProblem[] = [];
    const data = preprocess(raw, [], problems, MESH_CONFIG_SCHEMA) as Obj;
    const validate = schemaValidator();
    const schemaOk = validate(data) as boolean;
    const secretKeys = options.secretKeys ?? [];
    for (const e of validate.errors ?? []) {
        const p = schemaErrorToProblem(e, data, secretKeys);
        if (p) problems.push(p);
    }
    const base = { data, raw, secretKeys: options.secretKeys, ...readClusters(data) };
    const topology = rules.topology(base);
    problems.push(...topology.problems);
    const context = { ...base, servingPrimary: topology.servingPrimary };
    for (const rule of rules.rules) problems.push(...rule(context));
    if (schemaOk && topology.topologyOk) {
        const config = toMeshConfig(data);
        for (const check of checks) problems.push(...check(config));
        if (problems.length === 0) return { config, problems };
    }
    return { problems: sortProblems(dedupe(problems)) };
}

/** Natural order of paths (clusters[2] before clusters[10]), so related problems stay together. */
function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
    const collator = new Intl.Collator("en", { numeric: true });
    return [...problems].sort((a, b) => collator.compare(a.path, b.path));
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
    const seen = new Set<string>();
    return problems.filter((p) => {
        const key = `${p.path}\u0000${p.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}
