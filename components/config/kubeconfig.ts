/**
 * Cluster access for the program run: which kubeconfig, which context, which API server address.
 *
 * This module READS kubeconfig files (through an injected `readFile`), so only the program run
 * uses it; the plan CLI and offline tests never point it at a real home directory. Parsing and
 * trimming of kubeconfig content are pure.
 *
 * Secrets: the resolver returns kubeconfig content as plain strings because it is pure. The
 * caller must wrap every `ClusterAccess.kubeconfig` with `pulumi.secret(...)` before it reaches a
 * provider or any other resource input, and must never log it. Messages produced here never
 * contain kubeconfig content (YAML errors report only the reason and line).
 */
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ClusterConfig, ConfigProblem } from "./config";
import { checkApiServerUrl, closest, clustersReachedByOthers, formatPath } from "./config-validation";

/** How one cluster is reached. */
export interface ClusterAccess {
    /**
     * Kubeconfig content holding ONLY this cluster's context, cluster and user (see
     * {@link kubeconfigForContext}). Credentials: wrap with `pulumi.secret` before use.
     */
    kubeconfig: string;
    /** The context within {@link kubeconfig} (also its current-context). */
    context?: string;
    /** URL at which other clusters' istiod reach this API server (`apiServer` or the context's server). */
    apiServer: string;
    /** `file`: read from a kubeconfig file; `secret`: from the `kubeconfigs` secret config. */
    source: "file" | "secret";
    /**
     * Source `file`: absolute path of ONE file that holds the context, its cluster and its user, so
     * that `kubectl --kubeconfig <path> --context <context>` reaches the same cluster (the
     * verification probe does this). Undefined when those entries came from different files of a
     * merged `$KUBECONFIG` list: consumers then use {@link kubeconfig}, which is self-contained.
     */
    path?: string;
}

/** What the resolver may read. */
export interface ResolveAccessOptions {
    /** Environment (`KUBECONFIG`, `HOME`); usually `process.env`. */
    env: Record<string, string | undefined>;
    /** Reads a file as UTF-8; throws like `fs.readFileSync` (ENOENT, EACCES, EISDIR). */
    readFile: (file: string) => string;
    /**
     * Cluster name → kubeconfig content from the `kubeconfigs` secret config. Takes precedence over
     * files. Plain strings here; the caller keeps them secret (see module docs).
     */
    secretKubeconfigs?: Record<string, string>;
    /** Directory against which relative kubeconfig paths resolve. Default `process.cwd()`. */
    cwd?: string;
}

export interface ResolveAccessResult {
    /** Cluster name → access; only clusters without problems appear. */
    access: Record<string, ClusterAccess>;
    problems: ConfigProblem[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface NamedEntry {
    name: string;
    body: Obj;
    raw: Obj;
    /** Absolute path of the file that defined the entry (set by {@link mergeKubeconfigs}). */
    file?: string;
}

/** A parsed kubeconfig, reduced to what access needs. */
export interface ParsedKubeconfig {
    currentContext?: string;
    contexts: NamedEntry[];
    clusters: NamedEntry[];
    users: NamedEntry[];
    /** The whole document, for {@link kubeconfigForContext}. */
    doc: Obj;
}

/** Thrown by {@link parseKubeconfig}; the message never contains file content. */
export class KubeconfigParseError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "KubeconfigParseError";
    }
}

function entries(doc: Obj, key: "contexts" | "clusters" | "users", bodyKey: "context" | "cluster" | "user") {
    const list = doc[key];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new KubeconfigParseError(`not a kubeconfig: '${key}' is not a list.`);
    return list.flatMap((e): NamedEntry[] =>
        isObj(e) && typeof e.name === "string"
            ? [{ name: e.name, body: isObj(e[bodyKey]) ? e[bodyKey] : {}, raw: e }]
            : [],
    );
}

/** Parses kubeconfig YAML. Throws {@link KubeconfigParseError} with the reason and line only. */
export function parseKubeconfig(content: string): ParsedKubeconfig {
    let doc: unknown;
    try {
        doc = yaml.load(content);
    } catch (e) {
        // YAMLException.message includes a snippet of the source: it may hold credentials.
        const ex = e as { reason?: string; mark?: { line?: number } };
        const line = ex.mark?.line !== undefined ? ` at line ${ex.mark.line + 1}` : "";
        throw new KubeconfigParseError(`not valid YAML${line}: ${ex.reason ?? "parse error"}.`);
    }
    if (!isObj(doc)) throw new KubeconfigParseError("not a kubeconfig (expected a YAML mapping with contexts).");
    if (doc.kind !== undefined && doc.kind !== "Config") {
        throw new KubeconfigParseError(`not a kubeconfig: its kind is '${String(doc.kind)}', not Config.`);
    }
    const current = doc["current-context"];
    return {
        currentContext: typeof current === "string" && current !== "" ? current : undefined,
        contexts: entries(doc, "contexts", "context"),
        clusters: entries(doc, "clusters", "cluster"),
        users: entries(doc, "users", "user"),
        doc,
    };
}

/** Kubeconfig fields that name files; relative ones resolve against the kubeconfig's directory. */
const CLUSTER_FILE_FIELDS = ["certificate-authority"];
const USER_FILE_FIELDS = ["client-certificate", "client-key", "tokenFile"];

function absolutize(entry: NamedEntry, fields: readonly string[], fallbackDir: string | undefined): Obj {
    const body = entry.body;
    const baseDir = entry.file ? path.dirname(entry.file) : fallbackDir;
    if (!baseDir) return body;
    const out: Obj = { ...body };
    for (const f of fields) {
        const v = out[f];
        if (typeof v === "string" && v !== "" && !path.isAbsolute(v)) out[f] = path.resolve(baseDir, v);
    }
    return out;
}

/**
 * A kubeconfig holding only `context`, its cluster and its user, with `current-context` set, so a
 * provider never receives other clusters' credentials. Relative file references
 * (certificate-authority, client-certificate, client-key, tokenFile) are made absolute because the
 * content no longer lives next to those files: against the directory of the file that defined the
 * entry (entries of a {@link mergeKubeconfigs} result), else against `baseDir`. Takes content or an
 * already parsed (or merged) kubeconfig. Throws when the context, its cluster or its user is missing.
 */
export function kubeconfigForContext(
    content: string | ParsedKubeconfig,
    context: string,
    options: { baseDir?: string } = {},
): string {
    const kc = typeof content === "string" ? parseKubeconfig(content) : content;
    const ctx = kc.contexts.find((c) => c.name === context);
    if (!ctx) throw new KubeconfigParseError(`context '${context}' not found.`);
    const clusterName = ctx.body.cluster;
    const userName = ctx.body.user;
    const cluster = kc.clusters.find((c) => c.name === clusterName);
    if (!cluster) throw new KubeconfigParseError(`cluster '${String(clusterName)}' of context '${context}' not found.`);
    const user = kc.users.find((u) => u.name === userName);
    if (userName !== undefined && !user) {
        throw new KubeconfigParseError(`user '${String(userName)}' of context '${context}' not found.`);
    }
    const minimal: Obj = {
        apiVersion: typeof kc.doc.apiVersion === "string" ? kc.doc.apiVersion : "v1",
        kind: "Config",
        clusters: [{ name: cluster.name, cluster: absolutize(cluster, CLUSTER_FILE_FIELDS, options.baseDir) }],
        contexts: [{ name: ctx.name, context: ctx.body }],
        users: user ? [{ name: user.name, user: absolutize(user, USER_FILE_FIELDS, options.baseDir) }] : [],
        "current-context": ctx.name,
    };
    return yaml.dump(minimal, { lineWidth: -1, noRefs: true });
}

/** The entries of a `KUBECONFIG` list (`:`-separated; `;` on Windows), in order, empty ones dropped. */
export function kubeconfigListEntries(value: string | undefined, delimiter = path.delimiter): string[] {
    return (value ?? "")
        .split(delimiter)
        .map((s) => s.trim())
        .filter((s) => s !== "");
}

/** One parsed file of a `KUBECONFIG` list. */
export interface KubeconfigSource {
    /** Absolute path of the file. */
    file: string;
    kubeconfig: ParsedKubeconfig;
}

/**
 * Merges kubeconfig files as kubectl merges a `KUBECONFIG` list: the first file to define a named
 * cluster, context or user wins (later definitions of that name are dropped whole, not combined),
 * and `current-context` comes from the first file that sets a non-empty one. Every entry remembers
 * the file that defined it, so relative file references resolve against that file's directory
 * (see {@link kubeconfigForContext}). Sources are in list order; missing files must already be left out.
 */
export function mergeKubeconfigs(sources: readonly KubeconfigSource[]): ParsedKubeconfig {
    const merge = (key: "contexts" | "clusters" | "users"): NamedEntry[] => {
        const seen = new Set<string>();
        const out: NamedEntry[] = [];
        for (const source of sources) {
            for (const entry of source.kubeconfig[key]) {
                if (seen.has(entry.name)) continue;
                seen.add(entry.name);
                out.push({ ...entry, file: source.file });
            }
        }
        return out;
    };
    const currentContext = sources.find((s) => s.kubeconfig.currentContext !== undefined)?.kubeconfig.currentContext;
    const apiVersion = sources.map((s) => s.kubeconfig.doc.apiVersion).find((v) => typeof v === "string") ?? "v1";
    const contexts = merge("contexts");
    const clusters = merge("clusters");
    const users = merge("users");
    return {
        currentContext,
        contexts,
        clusters,
        users,
        doc: {
            apiVersion,
            kind: "Config",
            clusters: clusters.map((e) => e.raw),
            contexts: contexts.map((e) => e.raw),
            users: users.map((e) => e.raw),
            ...(currentContext !== undefined ? { "current-context": currentContext } : {}),
        },
    };
}

/** Expands a leading `~` with the home directory and resolves relative paths against `cwd`. */
export function expandKubeconfigPath(file: string, home: string | undefined, cwd: string): string | undefined {
    let p = file;
    if (p === "~" || p.startsWith("~/")) {
        if (!home) return undefined;
        p = path.join(home, p.slice(1));
    }
    return path.resolve(cwd, p);
}

type Loaded = { content: string } | { error: string; missing: boolean };

function readErrorText(e: unknown): string {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return "does not exist";
    if (code === "EACCES" || code === "EPERM") return "is not readable (permission denied)";
    if (code === "EISDIR") return "is a directory, not a file";
    return `cannot be read (${code ?? (e as Error).message})`;
}

/** The merged view of a `KUBECONFIG` list with several entries, or why there is none. */
type ListSource =
    { kubeconfig: ParsedKubeconfig; where: string } | { problem: (cp: string, clusterName: string) => ConfigProblem };

const secretFix = (clusterName: string) =>
    `pulumi config set --secret --path 'kubeconfigs.${clusterName}' "$(cat <file>)"`;

const capitalize = (text: string) => `${text[0].toUpperCase()}${text.slice(1)}`;

/** `a`, `a and b`, `a, b and c`. */
function listText(items: readonly string[]): string {
    return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Reads each kubeconfig file at most once per run, remembering why it could not be read. */
function cachedReader(readFile: ResolveAccessOptions["readFile"]): (file: string) => Loaded {
    const files = new Map<string, Loaded>();
    return (file) => {
        let entry = files.get(file);
        if (!entry) {
            try {
                entry = { content: readFile(file) };
            } catch (e) {
                entry = { error: readErrorText(e), missing: (e as { code?: string }).code === "ENOENT" };
            }
            files.set(file, entry);
        }
        return entry;
    };
}

/** What a run of the resolver shares between clusters. */
interface ResolveRun {
    cwd: string;
    home: string | undefined;
    envEntries: string[];
    load: (file: string) => Loaded;
    /** The merged `$KUBECONFIG` list, read on first use (only when it has several entries). */
    listSource: () => ListSource;
}

/** The kubeconfig one cluster is read from, and how to name it in messages. */
interface LoadedKubeconfig {
    kc: ParsedKubeconfig;
    source: ClusterAccess["source"];
    /** The one file read (secret config and merged lists: none). */
    file?: string;
    /** "the kubeconfig file /x", "the secret kubeconfigs.c1", … */
    where: string;
    /** The config path that problems about this kubeconfig point at. */
    wherePath: string;
}

type Cluster = Pick<ClusterConfig, "name" | "role" | "kubeconfig" | "context" | "apiServer">;

/**
 * Resolves how to reach every cluster: kubeconfig content (secret config first, else the file
 * from `kubeconfig`, else every file listed in `$KUBECONFIG` merged as kubectl does (see
 * {@link mergeKubeconfigs}; a single entry is read as that one file), else `~/.kube/config`),
 * context (explicit, else the current-context) and API server (explicit `apiServer`, else the
 * context's server, which must pass the same loopback rule as an explicit one). Every problem is
 * reported, with a fix.
 *
 * @param clusters Validated clusters, in config order (problem paths use their index).
 * @param options What the resolver may read; see {@link ResolveAccessOptions}.
 */
export function resolveClusterAccess(clusters: readonly Cluster[], options: ResolveAccessOptions): ResolveAccessResult {
    const problems: ConfigProblem[] = [];
    const access: Record<string, ClusterAccess> = {};
    const cwd = options.cwd ?? process.cwd();
    const home = options.env.HOME ?? options.env.USERPROFILE;
    const envEntries = kubeconfigListEntries(options.env.KUBECONFIG);
    const load = cachedReader(options.readFile);
    let listSource: ListSource | undefined;
    const run: ResolveRun = {
        cwd,
        home,
        envEntries,
        load,
        listSource: () => (listSource ??= mergedEnvKubeconfig(envEntries, home, cwd, load)),
    };
    const reached = clustersReachedByOthers(clusters);
    clusters.forEach((cluster, index) => {
        const cp = `clusters[${index}]`;
        const loaded = loadClusterKubeconfig(cluster, cp, options.secretKubeconfigs?.[cluster.name], run);
        if ("problem" in loaded) {
            problems.push(loaded.problem);
            return;
        }
        const resolved = accessInKubeconfig(cluster, cp, loaded, reached.has(cluster.name));
        if ("problems" in resolved) problems.push(...resolved.problems);
        else access[cluster.name] = resolved.access;
    });
    return { access, problems };
}

/** The kubeconfig of one cluster: its secret, the merged `$KUBECONFIG` list, or one file. */
function loadClusterKubeconfig(
    cluster: Cluster,
    cp: string,
    secret: string | undefined,
    run: ResolveRun,
): LoadedKubeconfig | { problem: ConfigProblem } {
    if (secret !== undefined) {
        const wherePath = formatPath(["kubeconfigs", cluster.name]);
        const where = `the secret ${wherePath}`;
        return parsedOrProblem(secret, { source: "secret", where, wherePath });
    }
    if (cluster.kubeconfig === undefined && run.envEntries.length > 1) {
        const list = run.listSource();
        if ("problem" in list) return { problem: list.problem(cp, cluster.name) };
        return { kc: list.kubeconfig, source: "file", where: list.where, wherePath: `${cp}.kubeconfig` };
    }
    const fromEnv = run.envEntries[0];
    const given = cluster.kubeconfig ?? fromEnv ?? "~/.kube/config";
    const origin = cluster.kubeconfig ? `${cp}.kubeconfig` : fromEnv ? "$KUBECONFIG" : "the default ~/.kube/config";
    const wherePath = `${cp}.kubeconfig`;
    const file = expandKubeconfigPath(given, run.home, run.cwd);
    if (!file) {
        return {
            problem: {
                path: wherePath,
                message: `'${given}' (from ${origin}) starts with ~, but HOME is not set.`,
                fix: `Set ${cp}.kubeconfig to an absolute path.`,
            },
        };
    }
    const loaded = run.load(file);
    if ("error" in loaded) {
        return {
            problem: {
                path: wherePath,
                message: `The kubeconfig file ${file} (from ${origin}) ${loaded.error}.`,
                fix:
                    `Point ${cp}.kubeconfig at the kubeconfig that holds ${cluster.name}'s context, or supply ` +
                    `the content as a secret: ${secretFix(cluster.name)}.`,
            },
        };
    }
    return parsedOrProblem(loaded.content, { source: "file", file, where: `the kubeconfig file ${file}`, wherePath });
}

function parsedOrProblem(
    content: string,
    origin: Omit<LoadedKubeconfig, "kc">,
): LoadedKubeconfig | { problem: ConfigProblem } {
    try {
        return { ...origin, kc: parseKubeconfig(content) };
    } catch (e) {
        return {
            problem: {
                path: origin.wherePath,
                message: `${capitalize(origin.where)} is ${(e as Error).message}`,
                fix: "Use a kubeconfig as written by kubectl (kind: Config with clusters, contexts and users).",
            },
        };
    }
}

/** Several `$KUBECONFIG` entries, read and merged as kubectl does; missing files are skipped. */
function mergedEnvKubeconfig(
    envEntries: readonly string[],
    home: string | undefined,
    cwd: string,
    load: (file: string) => Loaded,
): ListSource {
    const listed: string[] = [];
    for (const entry of envEntries) {
        const file = expandKubeconfigPath(entry, home, cwd);
        if (!file) {
            return {
                problem: (cp) => ({
                    path: `${cp}.kubeconfig`,
                    message: `'${entry}' (from $KUBECONFIG) starts with ~, but HOME is not set.`,
                    fix: `Set ${cp}.kubeconfig to an absolute path.`,
                }),
            };
        }
        if (!listed.includes(file)) listed.push(file);
    }
    const sources: KubeconfigSource[] = [];
    const skipped: string[] = [];
    for (const file of listed) {
        const read = readListedFile(file, load);
        if (read === "missing") skipped.push(file);
        else if ("problem" in read) return read;
        else sources.push(read);
    }
    if (sources.length === 0) {
        return {
            problem: (cp, clusterName) => ({
                path: `${cp}.kubeconfig`,
                message: `None of the kubeconfig files listed in $KUBECONFIG exists: ${skipped.join(", ")}.`,
                fix:
                    `Set KUBECONFIG to existing kubeconfig files, point ${cp}.kubeconfig at the kubeconfig ` +
                    `that holds ${clusterName}'s context, or supply the content as a secret: ${secretFix(clusterName)}.`,
            }),
        };
    }
    const names = sources.map((s) => s.file);
    const missingNote = skipped.length
        ? `${listText(skipped)} ${skipped.length === 1 ? "does" : "do"} not exist`
        : undefined;
    const where =
        names.length === 1
            ? `the kubeconfig file ${names[0]} (from $KUBECONFIG${missingNote ? `; ${missingNote}` : ""})`
            : `the kubeconfig files ${names.join(", ")} merged from $KUBECONFIG${missingNote ? ` (${missingNote})` : ""}`;
    return { kubeconfig: mergeKubeconfigs(sources), where };
}

/** One file of a `$KUBECONFIG` list: parsed, missing (kubectl skips it), or a problem for everyone. */
function readListedFile(
    file: string,
    load: (file: string) => Loaded,
): KubeconfigSource | "missing" | Extract<ListSource, { problem: unknown }> {
    const loaded = load(file);
    if ("error" in loaded) {
        if (loaded.missing) return "missing";
        return {
            problem: (cp, clusterName) => ({
                path: `${cp}.kubeconfig`,
                message: `The kubeconfig file ${file} (from $KUBECONFIG) ${loaded.error}.`,
                fix:
                    `Make ${file} readable or remove it from $KUBECONFIG (kubectl fails on it as well), ` +
                    `point ${cp}.kubeconfig at the kubeconfig that holds ${clusterName}'s context, or ` +
                    `supply the content as a secret: ${secretFix(clusterName)}.`,
            }),
        };
    }
    try {
        return { file, kubeconfig: parseKubeconfig(loaded.content) };
    } catch (e) {
        return {
            problem: (cp) => ({
                path: `${cp}.kubeconfig`,
                message: `The kubeconfig file ${file} (from $KUBECONFIG) is ${(e as Error).message}`,
                fix:
                    "Use a kubeconfig as written by kubectl (kind: Config with clusters, contexts and " +
                    `users), or remove ${file} from $KUBECONFIG (kubectl fails on it as well).`,
            }),
        };
    }
}

/** The context, its cluster and user, and the API server of one cluster in its kubeconfig. */
function accessInKubeconfig(
    cluster: Cluster,
    cp: string,
    loaded: LoadedKubeconfig,
    reachedByOthers: boolean,
): { access: ClusterAccess } | { problems: ConfigProblem[] } {
    const { kc, where, wherePath, file } = loaded;
    const found = contextIn(cluster, cp, loaded);
    if ("problem" in found) return { problems: [found.problem] };
    const { contextName, ctx, kubeCluster } = found;
    const userRef = ctx.body.user;
    const server = kubeCluster.body.server;
    if ((typeof server !== "string" || server === "") && !cluster.apiServer) {
        return {
            problems: [
                {
                    path: wherePath,
                    message: `Cluster '${kubeCluster.name}' of context '${contextName}' in ${where} has no server URL.`,
                    fix: `Add its server to the kubeconfig, or set ${cp}.apiServer.`,
                },
            ],
        };
    }
    let apiServer = cluster.apiServer;
    if (!apiServer) {
        apiServer = server as string;
        const urlProblems = checkApiServerUrl(
            apiServer,
            `${cp}.apiServer`,
            reachedByOthers,
            ` (the server of context '${contextName}' in ${where})`,
        );
        if (urlProblems.length > 0) return { problems: urlProblems };
    }
    // A merged list: one file only if it alone defined the context, its cluster and its user.
    const definedIn = new Set([ctx.file, kubeCluster.file, kc.users.find((u) => u.name === userRef)?.file]);
    definedIn.delete(undefined);
    const accessPath = file ?? (definedIn.size === 1 ? [...definedIn][0] : undefined);
    return {
        access: {
            kubeconfig: kubeconfigForContext(kc, contextName, { baseDir: file ? path.dirname(file) : undefined }),
            context: contextName,
            apiServer,
            source: loaded.source,
            ...(accessPath ? { path: accessPath } : {}),
        },
    };
}

/** The cluster's context (given, else current) and the cluster and user entries it names. */
function contextIn(
    cluster: Cluster,
    cp: string,
    { kc, where, wherePath }: LoadedKubeconfig,
): { contextName: string; ctx: NamedEntry; kubeCluster: NamedEntry } | { problem: ConfigProblem } {
    const contextNames = kc.contexts.map((c) => c.name);
    const contextName = cluster.context ?? kc.currentContext;
    if (!contextName) {
        return {
            problem: {
                path: `${cp}.context`,
                message: `No context given for ${cluster.name} and ${where} has no current-context.`,
                fix: contextNames.length
                    ? `Set ${cp}.context to one of: ${contextNames.join(", ")}.`
                    : `${where} has no contexts at all; use the kubeconfig of ${cluster.name}.`,
            },
        };
    }
    const ctx = kc.contexts.find((c) => c.name === contextName);
    if (!ctx) {
        const guess = closest(contextName, contextNames);
        return {
            problem: {
                path: cluster.context ? `${cp}.context` : wherePath,
                message: `Context '${contextName}'${cluster.context ? "" : " (the current-context)"} is not in ${where}.`,
                fix: guess
                    ? `Did you mean '${guess}'?`
                    : contextNames.length
                      ? `Use one of: ${contextNames.join(", ")}.`
                      : `${where} has no contexts; use the kubeconfig of ${cluster.name}.`,
            },
        };
    }
    const clusterRef = ctx.body.cluster;
    const kubeCluster = kc.clusters.find((c) => c.name === clusterRef);
    if (typeof clusterRef !== "string" || !kubeCluster) {
        return {
            problem: {
                path: wherePath,
                message: `Context '${contextName}' in ${where} refers to cluster '${String(clusterRef ?? "")}', which is not in its clusters list.`,
                fix: "Repair the kubeconfig: every context must name an entry of clusters (kubectl config view shows them).",
            },
        };
    }
    const userRef = ctx.body.user;
    if (typeof userRef === "string" && !kc.users.some((u) => u.name === userRef)) {
        return {
            problem: {
                path: wherePath,
                message: `Context '${contextName}' in ${where} refers to user '${userRef}', which is not in its users list.`,
                fix: "Repair the kubeconfig: every context must name an entry of users.",
            },
        };
    }
    return { contextName, ctx, kubeCluster };
}
