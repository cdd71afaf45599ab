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
import {
    CaConfig,
    ClusterConfig,
    ConfigProblem,
    ConfigValidationError,
    MeshConfig,
    MINIMUM_ISTIO_VERSION,
    RootRotationStage,
} from "./config";
import { ConfigSchema, MESH_CONFIG_SCHEMA, SECRET_PLACEHOLDER } from "./config-schema";

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

type Obj = Record<string, unknown>;
type Segment = string | number;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (o: Obj | undefined, k: string): string | undefined =>
    o && typeof o[k] === "string" ? (o[k] as string) : undefined;
const int = (o: Obj | undefined, k: string): number | undefined =>
    o && typeof o[k] === "number" ? (o[k] as number) : undefined;

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

function parseVersion(v: string): [number, number, number] | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function versionLess(a: [number, number, number], b: [number, number, number]): boolean {
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
            fix: `Only caKeyPem, nextCaKeyPem and kubeconfigs hold secrets; store ${p} in plain text (pulumi config set --path '${p}' <value>).`,
        });
        return undefined;
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

function isSecretSubtree(segments: readonly Segment[]): boolean {
    const top = segments[0];
    return typeof top === "string" && MESH_CONFIG_SCHEMA.properties?.[top]?.["x-secret"] === true;
}

// ---------------------------------------------------------------------------------------------
// Semantic rules
// ---------------------------------------------------------------------------------------------

interface ClusterView {
    index: number;
    path: string;
    raw: Obj;
    name?: string;
    role?: string;
    network?: string;
    controlPlane?: string;
    gw?: Obj;
}

function checkEastWestGateway(
    c: ClusterView,
    servesRemotes: boolean,
    multiNetwork: boolean,
    problems: ConfigProblem[],
): void {
    const gw = c.gw;
    if (!gw) return;
    const p = `${c.path}.eastWestGateway`;
    const type = str(gw, "serviceType");
    const address = str(gw, "address");
    const nodePort = int(gw, "nodePort");
    const hasSelector = isObj(gw.nodeSelector);

    if (type === "NodePort") {
        if (!address && !hasSelector) {
            problems.push({
                path: `${p}.address`,
                message:
                    "A NodePort gateway needs either an address (advertised in meshNetworks) or a nodeSelector " +
                    "(istiod then advertises the ExternalIP of matching nodes); with neither, no other network can find it.",
                fix: `Set ${p}.address to a node IP reachable from the other networks (and ${p}.nodePort), or set ${p}.nodeSelector (e.g. {}) on nodes that have an ExternalIP.`,
            });
        }
        if (nodePort !== undefined && (nodePort < 30000 || nodePort > 32767)) {
            problems.push({
                path: `${p}.nodePort`,
                message: `${nodePort} is outside the default Kubernetes node port range 30000-32767.`,
                fix: "Pick a free port between 30000 and 32767 (or widen --service-node-port-range on the API server and keep the port inside it).",
            });
        }
        if (address && nodePort === undefined && multiNetwork) {
            problems.push({
                path: `${p}.nodePort`,
                message:
                    "With an address on a NodePort gateway, meshNetworks must advertise the node port, but Kubernetes would pick a random one.",
                fix: `Set ${p}.nodePort to a fixed port between 30000 and 32767.`,
            });
        }
        if (gw.loadBalancerIP !== undefined) {
            problems.push({
                path: `${p}.loadBalancerIP`,
                message: "loadBalancerIP only applies to a LoadBalancer Service.",
                fix: `Remove it, or set ${p}.serviceType to LoadBalancer.`,
            });
        }
    } else if (type === "LoadBalancer") {
        if (nodePort !== undefined) {
            problems.push({
                path: `${p}.nodePort`,
                message: "nodePort only applies to serviceType NodePort.",
                fix: `Remove it, or set ${p}.serviceType to NodePort.`,
            });
        }
        if (gw.nodeSelector !== undefined) {
            problems.push({
                path: `${p}.nodeSelector`,
                message:
                    "nodeSelector (the traffic.istio.io/nodeSelector annotation) only applies to serviceType NodePort.",
                fix: `Remove it, or set ${p}.serviceType to NodePort.`,
            });
        }
    }
    const lbIp = str(gw, "loadBalancerIP");
    if (lbIp !== undefined && isIP(lbIp) === 0) {
        problems.push({
            path: `${p}.loadBalancerIP`,
            message: `'${lbIp}' is not an IP address.`,
            fix: "Use the IPv4 or IPv6 address the load balancer should get.",
        });
    }
    if (address !== undefined) {
        const ipKind = isIP(address);
        if (ipKind === 0 && /:\d+$/.test(address)) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' contains a port; the address is a bare IP or hostname.`,
                fix: `Put the port in ${p}.nodePort (NodePort) and keep only the host in ${p}.address.`,
            });
        } else if (ipKind === 0 && !isDns1123Subdomain(address.toLowerCase())) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' is neither an IP address nor a DNS hostname.`,
                fix: "Use the IP (or DNS name) at which the other networks reach this gateway.",
            });
        } else if (isLoopbackHost(address) || isUnspecifiedHost(address)) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' is a loopback or unspecified address; other networks cannot reach the gateway there.`,
                fix: "Use a node or load-balancer IP reachable from the other clusters.",
            });
        } else if (servesRemotes && ipKind === 0) {
            problems.push({
                path: `${p}.address`,
                message:
                    `'${address}' is a hostname, but this primary serves remote clusters: their global.remotePilotAddress ` +
                    "would become an ExternalName Service, which admission webhooks cannot call.",
                fix: `Set ${p}.address to an IP address of the gateway (resolve the hostname to a stable IP).`,
            });
        }
    }
    if (servesRemotes && type === "NodePort" && !address) {
        problems.push({
            path: `${p}.address`,
            message:
                "This primary serves remote clusters through its east-west gateway: their global.remotePilotAddress needs an " +
                "IP that forwards ports 15012 and 15017 to the gateway, which a NodePort Service alone does not provide.",
            fix: `Set ${p}.address to the IP of a load balancer or NAT that forwards 15012 and 15017 to the gateway, or use serviceType LoadBalancer.`,
        });
    }
    const annotations = gw.annotations;
    if (isObj(annotations) && annotations["traffic.istio.io/nodeSelector"] !== undefined) {
        problems.push({
            path: `${p}.annotations["traffic.istio.io/nodeSelector"]`,
            message: "The program writes this annotation from nodeSelector.",
            fix: `Remove the annotation and set ${p}.nodeSelector (with serviceType NodePort).`,
        });
    }
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

function semanticChecks(
    data: Obj,
    raw: Record<string, unknown>,
    secretKeys: readonly string[] | undefined,
    problems: ConfigProblem[],
): { topologyOk: boolean } {
    let topologyOk = true;
    const push = (p: ConfigProblem) => problems.push(p);

    const meshId = str(data, "meshId");
    if (meshId !== undefined && !isDns1123Label(meshId)) {
        push({
            path: "meshId",
            message: `'${meshId}' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters).`,
            fix: `Use e.g. '${suggestDns1123Label(meshId)}'.`,
        });
    }
    const trustDomain = str(data, "trustDomain");
    if (trustDomain !== undefined && !isDns1123Subdomain(trustDomain)) {
        push({
            path: "trustDomain",
            message: `'${trustDomain}' is not a DNS name (e.g. cluster.local); it becomes spiffe://<trustDomain>/… in every workload identity.`,
            fix: trustDomain.startsWith("spiffe://")
                ? `Drop the scheme: '${trustDomain.slice("spiffe://".length)}'.`
                : "Use lowercase DNS labels separated by dots, the same in every cluster.",
        });
    }

    const version = str(data, "istioVersion");
    if (version !== undefined) {
        const parsed = parseVersion(version);
        if (!parsed) {
            const quoted = typeof raw.istioVersion === "number";
            push({
                path: "istioVersion",
                message: `'${version}' is not a semantic version like ${MINIMUM_ISTIO_VERSION}${quoted ? " (YAML read an unquoted number)" : ""}.`,
                fix: version.startsWith("v")
                    ? `Drop the 'v': '${version.slice(1)}'.`
                    : `Use a full version in quotes, e.g. istioVersion: "1.30.3".`,
            });
        } else if (versionLess(parsed, parseVersion(MINIMUM_ISTIO_VERSION)!)) {
            push({
                path: "istioVersion",
                message:
                    `${version} is older than ${MINIMUM_ISTIO_VERSION}: this program installs remotes the 1.24+ way ` +
                    "(the base chart in every remote and istiod with profile=remote); before 1.24 remotes used the " +
                    "istiod-remote chart, which 1.24 removed.",
                fix: `Use ${MINIMUM_ISTIO_VERSION} or newer (default 1.30.3).`,
            });
        }
    }

    const repo = str(data, "chartRepository");
    if (repo !== undefined && !classifyChartRepository(repo)) {
        push({
            path: "chartRepository",
            message: `'${repo}' is neither an https/http URL, an oci:// reference nor an absolute local directory path.`,
            fix: /^[.~]/.test(repo)
                ? "Use an absolute directory path (relative paths depend on where pulumi runs)."
                : "Use e.g. https://istio-release.storage.googleapis.com/charts, oci://registry.example.com/istio or /srv/charts.",
        });
    }

    // CA, root rotation and intermediates
    const ca = isObj(data.ca) ? data.ca : undefined;
    const caKey = str(data, "caKeyPem") ?? "";
    if (ca) checkRootCa(ca, { path: "ca", keyPath: "caKeyPem", key: caKey }, problems);
    if (caKey && secretKeys && !isSecretPath("caKeyPem", secretKeys)) {
        push({
            path: "caKeyPem",
            message: "The root private key is stored in plain text.",
            fix: `pulumi config set --secret caKeyPem "$(cat root-key.pem)" (and rotate the key if this file was shared).`,
        });
    }
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
        const caName = str(ca, "name");
        if (caName !== undefined && str(next, "name") === caName) {
            push({
                path: "rootRotation.next.name",
                message: `'${caName}' is already ca.name, the current root; the next root needs its own resources.`,
                fix: `Give the next root another name, e.g. '${caName}-2'; ca.name stays until the rotation is finished.`,
            });
        }
        const certPem = str(next, "certPem");
        if (certPem && str(ca, "mode") === "import" && certPem.trim() === (str(ca, "certPem") ?? "").trim()) {
            push({
                path: "rootRotation.next.certPem",
                message: "The next root is the certificate the mesh already uses (ca.certPem).",
                fix: "Import the new root certificate as rootRotation.next.certPem.",
            });
        }
    } else if (nextKey) {
        push({
            path: "nextCaKeyPem",
            message:
                "nextCaKeyPem is only used while a root rotation imports the next root (rootRotation.next.mode import).",
            fix: "pulumi config rm nextCaKeyPem, or set up the rotation (docs/pki.md).",
        });
    }
    if (nextKey && secretKeys && !isSecretPath("nextCaKeyPem", secretKeys)) {
        push({
            path: "nextCaKeyPem",
            message: "The next root's private key is stored in plain text.",
            fix: `pulumi config set --secret nextCaKeyPem "$(cat root-key.pem)" (and make a new root if this file was shared).`,
        });
    }
    const inter = isObj(data.intermediate) ? data.intermediate : undefined;
    const iv = int(inter, "validityDays");
    const ie = int(inter, "earlyRenewalDays");
    if (iv !== undefined && ie !== undefined && ie >= iv) {
        push({
            path: "intermediate.earlyRenewalDays",
            message: `${ie} days is not shorter than the intermediate validity of ${iv} days; every pulumi up would re-issue.`,
            fix: "Make intermediate.earlyRenewalDays smaller than intermediate.validityDays.",
        });
    }
    for (const [root, p] of [
        [ca, "ca"],
        [next, "rootRotation.next"],
    ] as const) {
        const rv = int(root, "validityDays");
        if (str(root, "mode") === "generate" && iv !== undefined && rv !== undefined && iv > rv) {
            push({
                path: "intermediate.validityDays",
                message: `${iv} days is longer than the root's validity (${p}.validityDays ${rv}); the intermediates would outlive their root.`,
                fix: `Lower intermediate.validityDays or raise ${p}.validityDays.`,
            });
        }
    }

    // Clusters
    const list = Array.isArray(data.clusters) ? data.clusters : undefined;
    if (list && list.length === 0) {
        push({
            path: "clusters",
            message: "The cluster list is empty.",
            fix: "Add at least one cluster, e.g. pulumi config set --path 'clusters[0].name' cluster1.",
        });
        topologyOk = false;
    }
    const views: ClusterView[] = (list ?? []).flatMap((c, index) =>
        isObj(c)
            ? [
                  {
                      index,
                      path: `clusters[${index}]`,
                      raw: c,
                      name: str(c, "name"),
                      role: str(c, "role"),
                      network: str(c, "network"),
                      controlPlane: str(c, "controlPlane"),
                      gw: isObj(c.eastWestGateway) ? c.eastWestGateway : undefined,
                  },
              ]
            : [],
    );
    if (list && views.length !== list.length) topologyOk = false;

    const firstByName = new Map<string, ClusterView>();
    for (const c of views) {
        if (c.name === undefined) {
            topologyOk = false;
            continue;
        }
        if (!isDns1123Label(c.name)) {
            push({
                path: `${c.path}.name`,
                message:
                    `'${c.name}' is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a ` +
                    "letter or digit, at most 63 characters); it becomes the cluster ID and part of object names.",
                fix: `Use e.g. '${suggestDns1123Label(c.name)}'.`,
            });
        }
        const first = firstByName.get(c.name);
        if (first) {
            push({
                path: `${c.path}.name`,
                message: `'${c.name}' is already the name of ${first.path}; cluster names must be unique.`,
                fix: "Give every cluster its own name.",
            });
            topologyOk = false;
        } else firstByName.set(c.name, c);
        if (c.network !== undefined && !isDns1123Label(c.network)) {
            push({
                path: `${c.path}.network`,
                message: `'${c.network}' is not a DNS-1123 label; it becomes the topology.istio.io/network label value.`,
                fix: `Use e.g. '${suggestDns1123Label(c.network)}'.`,
            });
        }
        for (const k of ["kubeconfig", "context"]) {
            if (str(c.raw, k) === "") {
                push({
                    path: `${c.path}.${k}`,
                    message: "Must not be empty.",
                    fix: `Remove ${c.path}.${k} to use the default.`,
                });
            }
        }
    }

    const named = views.filter((c) => c.name !== undefined);
    const primaries = named.filter((c) => c.role === "primary");
    const primaryNames = primaries.map((c) => c.name!);
    const remotes = named.filter((c) => c.role === "remote");
    if (named.length > 0 && primaries.length === 0) {
        push({
            path: "clusters",
            message: `No cluster has role primary, so nothing runs istiod${remotes.length ? ` for ${remotes.map((r) => r.name).join(", ")}` : ""}.`,
            fix: "Set role: primary on at least one cluster (primary is the default role).",
        });
        topologyOk = false;
    }
    const servingOf = new Map<string, string>();
    for (const c of named) {
        if (c.role === "primary" && c.controlPlane !== undefined) {
            push({
                path: `${c.path}.controlPlane`,
                message: `${c.name} is a primary and runs its own istiod; controlPlane only applies to remotes.`,
                fix: `Remove ${c.path}.controlPlane, or set ${c.path}.role to remote.`,
            });
        }
        if (c.role !== "remote") continue;
        if (c.controlPlane === undefined) {
            if (primaries.length === 1) servingOf.set(c.name!, primaryNames[0]);
            else if (primaries.length > 1) {
                push({
                    path: `${c.path}.controlPlane`,
                    message: `${c.name} is a remote and there are several primaries (${primaryNames.join(", ")}); which one serves it is not said.`,
                    fix: `Set ${c.path}.controlPlane to one of ${primaryNames.join(", ")}.`,
                });
                topologyOk = false;
            }
            continue;
        }
        const target = firstByName.get(c.controlPlane);
        if (c.controlPlane === c.name) {
            push({
                path: `${c.path}.controlPlane`,
                message: `${c.name} names itself as its control plane, but a remote runs no istiod.`,
                fix: primaryNames.length
                    ? `Set it to one of ${primaryNames.join(", ")}.`
                    : `Make ${c.name} a primary (role: primary).`,
            });
            topologyOk = false;
        } else if (!target) {
            const guess = closest(c.controlPlane, primaryNames) ?? closest(c.controlPlane, [...firstByName.keys()]);
            push({
                path: `${c.path}.controlPlane`,
                message: `'${c.controlPlane}' is not the name of any cluster.`,
                fix: guess
                    ? `Did you mean '${guess}'?`
                    : primaryNames.length
                      ? `Use one of the primaries: ${primaryNames.join(", ")}.`
                      : "Add the primary cluster to clusters.",
            });
            topologyOk = false;
        } else if (target.role !== "primary") {
            push({
                path: `${c.path}.controlPlane`,
                message: `'${c.controlPlane}' is a remote itself; a remote must be served by a primary.`,
                fix: primaryNames.length
                    ? `Use one of the primaries: ${primaryNames.join(", ")}.`
                    : `Make ${c.controlPlane} a primary (role: primary).`,
            });
            topologyOk = false;
        } else servingOf.set(c.name!, c.controlPlane);
    }

    // API servers, gateways
    const reached = clustersReachedByOthers(
        named.filter((c) => c.role === "primary" || c.role === "remote") as Pick<ClusterConfig, "name" | "role">[],
    );
    const networks = new Set(named.map((c) => c.network).filter((n) => n !== undefined));
    const multiNetwork = networks.size > 1;
    const servingPrimaries = new Set(servingOf.values());
    for (const c of named) {
        const api = str(c.raw, "apiServer");
        if (api !== undefined) {
            problems.push(...checkApiServerUrl(api, `${c.path}.apiServer`, reached.has(c.name!)));
        }
        const tlsServerName = str(c.raw, "apiServerTlsServerName");
        if (tlsServerName !== undefined) {
            problems.push(...checkTlsServerName(tlsServerName, `${c.path}.apiServerTlsServerName`, c.name!, reached));
        }
        checkEastWestGateway(c, c.role === "primary" && servingPrimaries.has(c.name!), multiNetwork, problems);
    }

    // Secret kubeconfigs
    const kubeconfigs = isObj(data.kubeconfigs) ? data.kubeconfigs : {};
    for (const [name, content] of Object.entries(kubeconfigs)) {
        const p = formatPath(["kubeconfigs", name]);
        const cluster = firstByName.get(name);
        if (!cluster) {
            const guess = closest(name, [...firstByName.keys()]);
            push({
                path: p,
                message: `'${name}' is not the name of any cluster.`,
                fix: guess
                    ? `Did you mean '${guess}'?`
                    : `Use a name from clusters: ${[...firstByName.keys()].join(", ")}.`,
            });
        } else if (str(cluster.raw, "kubeconfig") !== undefined) {
            push({
                path: `${cluster.path}.kubeconfig`,
                message: `${name} has both a kubeconfig file (${cluster.path}.kubeconfig) and secret content (${p}).`,
                fix: `Keep one: remove ${cluster.path}.kubeconfig to use the secret, or pulumi config rm --path '${p}'.`,
            });
        }
        if (typeof content === "string" && content.trim() === "") {
            push({
                path: p,
                message: "The kubeconfig content is empty.",
                fix: `pulumi config set --secret --path '${p}' "$(cat <file>)".`,
            });
        }
        if (secretKeys && !isSecretPath(p, secretKeys)) {
            push({
                path: p,
                message: "Kubeconfig content (cluster credentials) is stored in plain text.",
                fix: `pulumi config set --secret --path '${p}' "$(cat <file>)" (and rotate the credentials if this file was shared).`,
            });
        }
    }

    // Verification and images
    const ver = isObj(data.verification) ? data.verification : undefined;
    const ns = str(ver, "namespace");
    if (ns !== undefined && (!isDns1123Label(ns) || ns === "istio-system" || ns === "kube-system")) {
        push({
            path: "verification.namespace",
            message: `'${ns}' cannot hold the check's workloads (needs its own DNS-1123 label namespace).`,
            fix: "Use e.g. mesh-verify.",
        });
    }
    for (const k of ["serverImage", "clientImage"]) {
        if (str(ver, k) === "")
            push({ path: `verification.${k}`, message: "Must not be empty.", fix: `Remove it to use the default.` });
    }
    const images = isObj(data.images) ? data.images : undefined;
    const pullSecrets = images && Array.isArray(images.imagePullSecrets) ? images.imagePullSecrets : [];
    pullSecrets.forEach((s, i) => {
        if (typeof s === "string" && !isDns1123Subdomain(s)) {
            push({
                path: `images.imagePullSecrets[${i}]`,
                message: `'${s}' is not a valid Secret name.`,
                fix: "Use the name of a docker-registry Secret in istio-system.",
            });
        }
    });
    const revision = str(data, "revision");
    if (revision && !isDns1123Label(revision)) {
        push({
            path: "revision",
            message: `'${revision}' is not a DNS-1123 label; it becomes part of istiod-<revision> object names.`,
            fix: `Use e.g. '${suggestDns1123Label(revision).replace(/\./g, "-")}' (1-30-3 style), or "" for the default revision.`,
        });
    }
    return { topologyOk };
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
        },
        images: d.images as MeshConfig["images"],
        dnsProxy: { capture: dns.capture as boolean, autoAllocate: dns.autoAllocate as boolean },
        values: d.values as MeshConfig["values"],
        meshConfig: d.meshConfig as MeshConfig["meshConfig"],
        revision: (d.revision as string) || undefined,
    });
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * Validates the raw config of the `istio-multicluster:` namespace (prefix stripped; values parsed,
 * numbers and booleans also accepted as strings) and applies the defaults.
 *
 * @param raw The stack config, e.g. from `readStackConfigFile` or `readPulumiConfig`.
 * @param checks Extra checks run on the defaulted config once the built-in rules found the
 *   structure sound (types right, every remote served by an existing primary).
 * @param options See {@link ValidateOptions}.
 * @returns The config when there are no problems, and every problem found.
 */
export function validateMeshConfig(
    raw: Record<string, unknown>,
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
    const { topologyOk } = semanticChecks(data, raw, options.secretKeys, problems);
    if (schemaOk && topologyOk) {
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

/**
 * Like {@link validateMeshConfig}, but returns the config or throws a {@link ConfigValidationError}
 * listing every problem.
 */
export function parseMeshConfig(
    raw: Record<string, unknown>,
    checks: MeshConfigChecks = [],
    options: ValidateOptions = {},
): MeshConfig {
    const result = validateMeshConfig(raw, checks, options);
    if (!result.config) throw new ConfigValidationError(result.problems);
    return result.config;
}
