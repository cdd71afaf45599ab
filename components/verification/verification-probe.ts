/**
 * The cross-cluster probe of the post-deploy verification: the bash script one client cluster runs,
 * the parser of its output, and the verdict.
 *
 * Why the verdict exists twice (here and inside the generated script): the probe runs as a
 * `command.local.Command`, and only a non-zero exit of that command fails `pulumi up` in a way that
 * makes the next `up` run it again (a failed create is not stored in state). So the script must judge
 * its own result and print the explanation; the TypeScript side reads the same lines for the stack
 * outputs. Everything the two sides share (classification patterns, hint texts, message layout) is
 * defined once here and embedded into the script; the tests run the real script against recorded
 * responses and compare both verdicts.
 */

/** Name of the Service, Deployments' `app` label and container of the server side. */
export const HELLOWORLD = "helloworld";
/** Port of Istio's helloworld sample. */
export const HELLOWORLD_PORT = 5000;
/** Name of the client Deployment, its ServiceAccount, `app` label and container. */
export const CLIENT = "curl";
/** Per-request `curl --max-time`: above Envoy's 10 s connect timeout, so its 503 explanation arrives first. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 15;
/** Environment variable that carries kubeconfig content (secret config) into the probe. */
export const KUBECONFIG_ENV_VAR = "MESH_VERIFY_KUBECONFIG";
/** Prefix of every machine-readable line the probe prints on stdout. */
export const LINE_PREFIX = "MESHPROBE";

/**
 * Why a request did not produce an answer. Order = classification order (first match wins) and the
 * order of the failure message.
 */
export const PROBE_ERROR_CLASSES = [
    "kubeconfig",
    "exec",
    "tls",
    "no-healthy-upstream",
    "dns",
    "timeout",
    "connection",
    "other",
] as const;
export type ProbeErrorClass = (typeof PROBE_ERROR_CLASSES)[number];

/**
 * Text patterns (POSIX ERE, also valid JavaScript) of the classes recognised from a response.
 * `kubeconfig` (preflight), `exec` (kubectl never reached curl) and `other` are structural.
 * Envoy explains its 503s in the body, e.g. `reset reason: connection failure, transport failure
 * reason: TLS_error:...:CERTIFICATE_VERIFY_FAILED`; curl reports `curl: (N) ...` with its exit code.
 */
export const ERROR_PATTERNS: Readonly<Partial<Record<ProbeErrorClass, string>>> = {
    tls: "TLSV1_ALERT|CERTIFICATE_VERIFY_FAILED|TLS_error|SSL routines|SSL_ERROR|certificate verify failed",
    "no-healthy-upstream": "no healthy upstream",
    dns: "Could not resolve host|curl: \\(6\\)",
    timeout: "curl: \\(28\\)|[Tt]imed out|[Tt]imeout",
    connection:
        "curl: \\((7|52|55|56)\\)|[Cc]onnection refused|[Cc]onnection reset|reset by peer|connection failure|" +
        "upstream connect error|Failed to connect|[Cc]ouldn.t connect|[Cc]ould not connect|[Ee]mpty reply",
};

/** The write-out curl appends so that the HTTP status survives a body of any shape. */
const WRITE_OUT = "\\n@@meshprobe http_code=%{http_code}@@\\n";
const MARKER_PATTERN = "@@meshprobe http_code=([0-9]{3})@@";
const ANSWER_PATTERN = "Hello version: ([A-Za-z0-9._-]+),";
const CURL_ERROR_PATTERN = "curl: \\([0-9]+\\)";
const KLOG_PATTERN = "^[IWEF][0-9]{4} [0-9:.]+ ";
const MAX_DETAIL = 300;

/** The probe's kubectl reads a kubeconfig file. */
export interface ProbeKubeconfigFile {
    kind: "file";
    /** Path of the file (`~/` allowed); undefined: kubectl's own default (`$KUBECONFIG`, `~/.kube/config`). */
    path?: string;
    /** Kube context; undefined: the file's current-context. */
    context?: string;
}

/** The probe's kubectl reads kubeconfig content from an environment variable, through a pipe (never on disk). */
export interface ProbeKubeconfigContent {
    kind: "content";
    /** Name of the environment variable that holds the content. */
    envVar: string;
    /** Kube context; undefined: the content's current-context. */
    context?: string;
}

/** How the probe's kubectl reaches the client cluster. */
export type ProbeKubeconfig = ProbeKubeconfigFile | ProbeKubeconfigContent;

/** Context for the failure hints: names the commands to run first. */
export interface VerdictOptions {
    /** The client cluster whose probe is judged. */
    client: string;
    /** Clusters that must answer (every cluster running a helloworld server). */
    expectedClusters: readonly string[];
    /** The primary whose istiod serves the client (its own name for a primary). Default: the client. */
    controlPlane?: string;
    /** Kube contexts by cluster, for ready-to-paste commands; unknown ones become `$CTX_<CLUSTER>`. */
    contexts?: Readonly<Record<string, string | undefined>>;
    /** The mesh spans several networks (east-west gateways carry cross-network traffic). */
    multiNetwork?: boolean;
    /** Every primary has its own root (`ca.mode: federated`): trust comes from the peer-root lists. */
    federated?: boolean;
    /** Namespace of the verification workloads. Default `mesh-verify`. */
    namespace?: string;
}

/** Everything the script needs for one client cluster. */
export interface ProbeScriptOptions extends VerdictOptions {
    /** Namespace of the verification workloads. */
    namespace: string;
    /** Minimum number of requests; more are sent (until the deadline) while a cluster has not answered. */
    requests: number;
    /** Budget in seconds for the whole probe: waiting for the client pod plus all requests. */
    timeoutSeconds: number;
    /** `curl --max-time` of one request. Default {@link DEFAULT_REQUEST_TIMEOUT_SECONDS}. */
    requestTimeoutSeconds?: number;
    /** How kubectl reaches the client cluster. */
    kubeconfig: ProbeKubeconfig;
}

/** What the probe printed, parsed. */
export interface ProbeResult {
    /** A `start` line was seen (the script ran at all). */
    started: boolean;
    /** Client cluster named by the `start` line. */
    client?: string;
    /** Expected clusters named by the `start` line. */
    expected: string[];
    /** Requests sent (answer and error lines with a sequence number above 0). */
    requests: number;
    /** Answers per answering cluster. */
    answers: Record<string, number>;
    /** Answering clusters in the order they first answered. */
    servers: string[];
    /** Errors per class. */
    errors: Partial<Record<ProbeErrorClass, number>>;
    /** First detail seen per error class. */
    firstError: Partial<Record<ProbeErrorClass, string>>;
    /** The script's own verdict line, when it got that far. */
    scriptVerdict?: "ok" | "fail";
}

/** The judgement of one client's probe. */
export interface Verdict {
    /** Every expected cluster answered at least once. */
    ok: boolean;
    /** Expected clusters that never answered. */
    missing: string[];
    /** One line when ok; otherwise the failed pairs, what was seen and what to check first. */
    message: string;
}

/** One classified response. */
export type ProbeResponse =
    | { kind: "answer"; server: string }
    | { kind: "error"; errorClass: ProbeErrorClass; httpCode: string; detail: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Single-quotes a string for bash. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The shell variable a user exports for a cluster's context when it is not known: `CTX_<CLUSTER>`. */
export function contextVariable(cluster: string): string {
    return `CTX_${cluster.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** `--context=<ctx>` ready to paste: the literal context, or `"$CTX_<CLUSTER>"` when unknown. */
export function contextFlag(cluster: string, contexts?: Readonly<Record<string, string | undefined>>): string {
    const ctx = contexts?.[cluster];
    return ctx ? `--context=${shellQuote(ctx)}` : `--context="$${contextVariable(cluster)}"`;
}

/** The URL the clients call: the Service in their own namespace, as in Istio's verification guide. */
export function helloworldUrl(namespace: string): string {
    return `http://${HELLOWORLD}.${namespace}:${HELLOWORLD_PORT}/hello`;
}

/**
 * What to check first, per error class, plus `undiscovered` for a cluster that never answered while
 * no request failed (the client's proxy simply does not know its endpoints). Each hint is one line.
 */
export function failureHints(options: VerdictOptions): Record<ProbeErrorClass | "undiscovered", string> {
    const client = options.client;
    const cp = options.controlPlane ?? client;
    const ns = options.namespace ?? "mesh-verify";
    const ctx = (c: string) => contextFlag(c, options.contexts);
    const endpoints =
        `istioctl proxy-config endpoint "$(kubectl ${ctx(client)} -n ${ns} get pod -l app=${CLIENT} ` +
        `-o jsonpath='{.items[0].metadata.name}')" -n ${ns} ${ctx(client)} | grep ${HELLOWORLD}`;
    const remoteClusters =
        `run "istioctl remote-clusters ${ctx(cp)}": every other cluster must be "synced" ` +
        `(remote secret sync; "timeout" means istiod in ${cp} cannot reach that API server, e.g. a kubeconfig ` +
        `server of 127.0.0.1)`;
    const networks = options.multiNetwork
        ? `; across networks endpoints are only reachable through the east-west gateway: check each gateway's ` +
          `address (not <pending>) and the topology.istio.io/network labels on istio-system and the gateway Service`
        : "";
    return {
        undiscovered: `${cp}'s istiod does not give ${client} the missing clusters' endpoints: ${remoteClusters}; then ${endpoints}${networks}`,
        "no-healthy-upstream": `${client}'s sidecar has no endpoint for ${HELLOWORLD}: ${remoteClusters}; then ${endpoints}${networks}`,
        tls: options.federated
            ? `${client}'s proxy or the answering one does not trust the other's root (TLSV1_ALERT_UNKNOWN_CA / ` +
              `CERTIFICATE_VERIFY_FAILED): compare, with the troubleshooting outputs' trustedRoots, the roots ` +
              `${cp}'s istiod adds with the roots ${client}'s proxy holds; a pod injected before its istiod got ` +
              `PROXY_CONFIG_XDS_AGENT never receives the peer roots: restart it (kubectl rollout restart)`
            : `the clusters do not trust one root CA (TLSV1_ALERT_UNKNOWN_CA / CERTIFICATE_VERIFY_FAILED): compare the ` +
              `root fingerprints of all clusters (cacerts root-cert.pem and istio-ca-root-cert in istio-system, see the ` +
              `troubleshooting outputs); if cacerts was created after istiod started, istiod still signs with its ` +
              `self-signed root: restart istiod, then the workloads`,
        timeout: options.multiNetwork
            ? `requests to another network time out: check that the east-west gateway address of that network is ` +
              `reachable from ${client} on port 15443 (or its NodePort) and not <pending>, and that the network ` +
              `labels are right (the same label on two networks sends traffic to unroutable pod IPs)`
            : `pod IPs of the other clusters are not reachable from ${client}: a single network needs one flat pod ` +
              `network; otherwise give the clusters different networks so traffic goes through east-west gateways`,
        connection: options.multiNetwork
            ? `connections were refused or reset: check the east-west gateway address and port advertised for the ` +
              `failing network (meshNetworks or the gateway Service) and its topology.istio.io/network label`
            : `connections were refused or reset: check that the pods of the other clusters are reachable from ` +
              `${client} and that both clusters' istio-system carry the same topology.istio.io/network label`,
        dns:
            `the ${HELLOWORLD} Service cannot be resolved in ${client}: every calling cluster needs the Service ` +
            `object ("kubectl ${ctx(client)} -n ${ns} get svc ${HELLOWORLD}")`,
        exec:
            `kubectl could not run curl in ${client}: check the cluster's kubeconfig and context, and ` +
            `"kubectl ${ctx(client)} -n ${ns} get pods -l app=${CLIENT}" (2/2 ready means the sidecar was injected)`,
        kubeconfig:
            `kubectl could not read the kubeconfig of ${client}: check its path and context; a kubeconfig from ` +
            `secret config is read once from a pipe, which the Google Cloud SDK kubectl dispatcher cannot do ` +
            `(put an upstream kubectl binary first on PATH)`,
        other: `unexpected responses from ${HELLOWORLD}: see the first error above and the server image configured in verification.serverImage`,
    };
}

/**
 * The line that explains a failure: the first one that is not our marker, not kubectl's "command
 * terminated" trailer and not a klog line (kubectl repeats those before its own one-line summary).
 */
function firstLine(output: string): string {
    let fallback = "";
    for (const raw of output.split("\n")) {
        const line = raw.replace(/\r/g, "");
        if (line === "" || line.includes("@@meshprobe") || line.startsWith("command terminated with exit code")) {
            continue;
        }
        if (new RegExp(KLOG_PATTERN).test(line)) {
            if (fallback === "") fallback = line;
            continue;
        }
        return line.slice(0, MAX_DETAIL);
    }
    return fallback.slice(0, MAX_DETAIL);
}

/**
 * Classifies the combined output of one `kubectl exec ... curl` (the TypeScript twin of the
 * script's `classify`; the tests hold both to the same recorded responses).
 */
export function classifyProbeResponse(output: string): ProbeResponse {
    const marker = new RegExp(MARKER_PATTERN).exec(output);
    const httpCode = marker ? marker[1] : "-";
    const answer = new RegExp(ANSWER_PATTERN).exec(output);
    if (httpCode === "200" && answer) return { kind: "answer", server: answer[1] };
    let detail = firstLine(output);
    if (/^[0-9]{3}$/.test(httpCode) && httpCode !== "000") detail = `HTTP ${httpCode}: ${detail}`;
    if (detail === "") detail = "(no output)";
    if (httpCode === "-" && !new RegExp(CURL_ERROR_PATTERN).test(output)) {
        return { kind: "error", errorClass: "exec", httpCode, detail };
    }
    for (const errorClass of PROBE_ERROR_CLASSES) {
        const pattern = ERROR_PATTERNS[errorClass];
        if (pattern && new RegExp(pattern).test(output)) return { kind: "error", errorClass, httpCode, detail };
    }
    return { kind: "error", errorClass: "other", httpCode, detail };
}

function fields(rest: string): Record<string, string> {
    const out: Record<string, string> = {};
    let head = rest;
    // The detail is free text and always last; everything before it is `key=value` tokens.
    const detail = /(^| )detail=/.exec(rest);
    if (detail) {
        out.detail = rest.slice(detail.index + detail[0].length);
        head = rest.slice(0, detail.index);
    }
    for (const token of head.split(" ")) {
        const eq = token.indexOf("=");
        if (eq > 0) out[token.slice(0, eq)] = token.slice(eq + 1);
    }
    return out;
}

function isErrorClass(value: string | undefined): value is ProbeErrorClass {
    return (PROBE_ERROR_CLASSES as readonly string[]).includes(value ?? "");
}

/**
 * Parses the probe's stdout. Only `MESHPROBE` lines count (anything else is ignored); per-request
 * lines are authoritative, so a probe cut short still yields its counts.
 */
export function parseProbeOutput(stdout: string): ProbeResult {
    const result: ProbeResult = {
        started: false,
        expected: [],
        requests: 0,
        answers: {},
        servers: [],
        errors: {},
        firstError: {},
    };
    for (const raw of stdout.split("\n")) {
        const line = raw.replace(/\r$/, "");
        if (!line.startsWith(`${LINE_PREFIX} `)) continue;
        const body = line.slice(LINE_PREFIX.length + 1);
        const space = body.indexOf(" ");
        const kind = space >= 0 ? body.slice(0, space) : body;
        const f = fields(space >= 0 ? body.slice(space + 1) : "");
        const seq = Number(f.seq ?? "0");
        if (kind === "start") {
            result.started = true;
            result.client = f.client;
            result.expected = f.expected ? f.expected.split(",").filter((c) => c !== "") : [];
        } else if (kind === "answer" && f.server) {
            if (seq > 0) result.requests++;
            if (!(f.server in result.answers)) {
                result.answers[f.server] = 0;
                result.servers.push(f.server);
            }
            result.answers[f.server]++;
        } else if (kind === "error") {
            if (seq > 0) result.requests++;
            const errorClass: ProbeErrorClass = isErrorClass(f.class) ? f.class : "other";
            result.errors[errorClass] = (result.errors[errorClass] ?? 0) + 1;
            if (result.firstError[errorClass] === undefined) result.firstError[errorClass] = f.detail ?? "";
        } else if (kind === "verdict") {
            const v = body.slice("verdict ".length).split(" ")[0];
            if (v === "ok" || v === "fail") result.scriptVerdict = v;
        }
    }
    return result;
}

/** Judges a parsed probe: every expected cluster must have answered at least once. */
export function verdict(result: ProbeResult, options: VerdictOptions): Verdict {
    const { client, expectedClusters } = options;
    const missing = expectedClusters.filter((c) => !(result.answers[c] > 0));
    if (!result.started) {
        return {
            ok: false,
            missing: [...expectedClusters],
            message:
                `Mesh verification failed for client cluster "${client}": the probe printed nothing. ` +
                `Check that bash and kubectl are installed where pulumi runs, and the command's stderr.`,
        };
    }
    if (missing.length === 0 && result.requests > 0) {
        return {
            ok: true,
            missing: [],
            message: `Mesh verification passed for client cluster "${client}": ${answerList(result, expectedClusters)} in ${result.requests} requests.`,
        };
    }
    return { ok: false, missing, message: failureMessage(result, options, missing) };
}

/** One client's probe as a stack output: the verdict plus the counts behind it. */
export interface ProbeSummary {
    /** Every expected cluster answered. */
    ok: boolean;
    /** Clusters that answered, in the order of their first answer. */
    servers: string[];
    /** Answers per answering cluster. */
    answers: Record<string, number>;
    /** Failed requests per error class. */
    errors: Partial<Record<ProbeErrorClass, number>>;
    /** Requests sent. */
    requests: number;
    /** The verdict message. */
    message: string;
}

/** Parses and judges one probe's stdout. */
export function summarizeProbe(stdout: string, options: VerdictOptions): ProbeSummary {
    const result = parseProbeOutput(stdout);
    const v = verdict(result, options);
    return {
        ok: v.ok,
        servers: result.servers,
        answers: result.answers,
        errors: result.errors,
        requests: result.requests,
        message: v.message,
    };
}

/** `c1=15 c2=15`: expected clusters in order, then unexpected answerers in order of first answer. */
function answerList(result: ProbeResult, expectedClusters: readonly string[]): string {
    const extras = result.servers.filter((s) => !expectedClusters.includes(s));
    return [...expectedClusters, ...extras].map((c) => `${c}=${result.answers[c] ?? 0}`).join(" ");
}

function failureMessage(result: ProbeResult, options: VerdictOptions, missing: readonly string[]): string {
    const { client, expectedClusters } = options;
    const hints = failureHints(options);
    const answers = answerList(result, expectedClusters);
    const seen = PROBE_ERROR_CLASSES.filter((c) => (result.errors[c] ?? 0) > 0);
    const errors =
        seen.length === 0
            ? "none"
            : seen.map((c) => `${c}=${result.errors[c]} (first: ${result.firstError[c] ?? ""})`).join(", ");
    const checks = seen.length === 0 ? [`  - ${hints.undiscovered}`] : seen.map((c) => `  - ${c}: ${hints[c]}`);
    return [
        `Mesh verification failed for client cluster "${client}": no answer from ${missing.join(", ")} after ${result.requests} requests.`,
        `Failed pairs: ${missing.map((m) => `${client} → ${m}`).join(", ")}.`,
        `Answers: ${answers}.`,
        `Errors: ${errors}.`,
        `Check first:`,
        ...checks,
    ].join("\n");
}

function validateScriptOptions(o: ProbeScriptOptions): void {
    const problems: string[] = [];
    if (!DNS_LABEL.test(o.client)) problems.push(`client "${o.client}" is not a DNS-1123 label`);
    for (const c of o.expectedClusters) {
        if (!DNS_LABEL.test(c)) problems.push(`expected cluster "${c}" is not a DNS-1123 label`);
    }
    if (o.expectedClusters.length === 0) problems.push("expectedClusters is empty");
    if (!DNS_LABEL.test(o.namespace)) problems.push(`verification.namespace "${o.namespace}" is not a DNS-1123 label`);
    if (!Number.isInteger(o.requests) || o.requests < 1) {
        problems.push(`verification.requests must be a positive integer (got ${o.requests})`);
    }
    if (!Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 1) {
        problems.push(`verification.timeoutSeconds must be a positive integer (got ${o.timeoutSeconds})`);
    }
    const rt = o.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
    if (!Number.isInteger(rt) || rt < 1) problems.push(`requestTimeoutSeconds must be a positive integer (got ${rt})`);
    if (o.kubeconfig.kind === "content" && !ENV_VAR.test(o.kubeconfig.envVar)) {
        problems.push(`kubeconfig.envVar "${o.kubeconfig.envVar}" is not a valid environment variable name`);
    }
    if (problems.length > 0) throw new Error(`cannot build the verification probe: ${problems.join("; ")}`);
}

/** The path as a bash word: `~/x` keeps working (quoted `~` would not expand). */
function quotePath(path: string): string {
    if (path === "~") return `"$HOME"`;
    if (path.startsWith("~/")) return `"$HOME"/${shellQuote(path.slice(2))}`;
    return shellQuote(path);
}

/** The kubectl invocation (without arguments) for the client cluster. */
export function kubectlCommand(kubeconfig: ProbeKubeconfig): string {
    const parts = ["kubectl"];
    if (kubeconfig.kind === "file") {
        if (kubeconfig.path) parts.push("--kubeconfig", quotePath(kubeconfig.path));
    } else {
        // A pipe, not a file: the content never touches the disk. kubectl reads --kubeconfig once.
        parts.push("--kubeconfig", `<(printf '%s' "$${kubeconfig.envVar}")`);
    }
    if (kubeconfig.context) parts.push("--context", shellQuote(kubeconfig.context));
    return parts.join(" ");
}

function bashArray(values: readonly string[]): string {
    return `(${values.map(shellQuote).join(" ")})`;
}

/**
 * The bash script (bash 3.2 compatible, for macOS) that probes from one client cluster: checks that
 * kubectl can read the kubeconfig, waits for the `curl` client (rollout status), then sends at least
 * `requests` requests through `kubectl exec` and keeps going until every expected cluster answered or
 * the budget is spent. Stdout: one `MESHPROBE` line per request, a summary and a verdict line.
 * Stderr: progress and, on failure, the verdict message. Exit 1 when an expected cluster never answered.
 */
export function buildProbeScript(options: ProbeScriptOptions): string {
    validateScriptOptions(options);
    const hints = failureHints(options);
    const maxTime = options.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS;
    const q = shellQuote;
    const lines = [
        `# Mesh verification probe from client cluster ${options.client} (generated by components/verification-probe.ts).`,
        `# No "set -e": a failed request is a result to record, not a reason to stop.`,
        `client=${q(options.client)}`,
        `namespace=${q(options.namespace)}`,
        `url=${q(helloworldUrl(options.namespace))}`,
        `min_requests=${options.requests}`,
        `budget=${options.timeoutSeconds}`,
        `max_time=${maxTime}`,
        `expected=${bashArray(options.expectedClusters)}`,
        `classes=${bashArray(PROBE_ERROR_CLASSES)}`,
        `patterns=${bashArray(PROBE_ERROR_CLASSES.map((c) => ERROR_PATTERNS[c] ?? ""))}`,
        `hints=${bashArray(PROBE_ERROR_CLASSES.map((c) => hints[c]))}`,
        `hint_undiscovered=${q(hints.undiscovered)}`,
        `write_out=${q(WRITE_OUT)}`,
        `marker_re=${q(MARKER_PATTERN)}`,
        `answer_re=${q(ANSWER_PATTERN)}`,
        `curl_error_re=${q(CURL_ERROR_PATTERN)}`,
        `klog_re=${q(KLOG_PATTERN)}`,
        `k() { ${kubectlCommand(options.kubeconfig)} "$@"; }`,
        SCRIPT_BODY,
    ];
    return lines.join("\n") + "\n";
}

// The static part of the probe. Plain bash 3.2: no associative arrays, no mapfile, no ${x,,}.
const SCRIPT_BODY = String.raw`
emit() { printf 'MESHPROBE %s\n' "$*"; }
note() { printf '%s\n' "$*" >&2; }

counts=(); for ((j = 0; j < ${"$"}{#expected[@]}; j++)); do counts[j]=0; done
err_counts=(); err_first=(); for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do err_counts[j]=0; err_first[j]=''; done
extra_names=(); extra_counts=()
sent=0

first_line() {
    local rest=$1 line fallback=''
    while [[ -n $rest ]]; do
        line=${"$"}{rest%%$'\n'*}
        if [[ $rest == *$'\n'* ]]; then rest=${"$"}{rest#*$'\n'}; else rest=''; fi
        line=${"$"}{line//$'\r'/}
        [[ -z $line || $line == *@@meshprobe* || $line == 'command terminated with exit code'* ]] && continue
        if [[ $line =~ $klog_re ]]; then
            [[ -z $fallback ]] && fallback=$line
            continue
        fi
        printf '%s' "${"$"}{line:0:${MAX_DETAIL}}"
        return
    done
    printf '%s' "${"$"}{fallback:0:${MAX_DETAIL}}"
}

classify() {
    local out=$1 j
    kind='error'; server=''; cls='other'; http='-'
    if [[ $out =~ $marker_re ]]; then http=${"$"}{BASH_REMATCH[1]}; fi
    if [[ $http == 200 && $out =~ $answer_re ]]; then kind='answer'; server=${"$"}{BASH_REMATCH[1]}; return; fi
    detail=$(first_line "$out")
    if [[ $http =~ ^[0-9]{3}$ && $http != 000 ]]; then detail="HTTP $http: $detail"; fi
    [[ -z $detail ]] && detail='(no output)'
    if [[ $http == - ]] && ! [[ $out =~ $curl_error_re ]]; then cls='exec'; return; fi
    for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do
        if [[ -n ${"$"}{patterns[j]} && $out =~ ${"$"}{patterns[j]} ]]; then cls=${"$"}{classes[j]}; return; fi
    done
}

record_answer() {
    local j
    for ((j = 0; j < ${"$"}{#expected[@]}; j++)); do
        if [[ ${"$"}{expected[j]} == "$1" ]]; then counts[j]=$((counts[j] + 1)); return; fi
    done
    for ((j = 0; j < ${"$"}{#extra_names[@]}; j++)); do
        if [[ ${"$"}{extra_names[j]} == "$1" ]]; then extra_counts[j]=$((extra_counts[j] + 1)); return; fi
    done
    extra_names[${"$"}{#extra_names[@]}]=$1
    extra_counts[${"$"}{#extra_counts[@]}]=1
}

record_error() {
    local j
    for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do
        if [[ ${"$"}{classes[j]} == "$1" ]]; then
            err_counts[j]=$((err_counts[j] + 1))
            [[ -z ${"$"}{err_first[j]} ]] && err_first[j]=$2
            return
        fi
    done
}

all_answered() {
    local j
    for ((j = 0; j < ${"$"}{#expected[@]}; j++)); do (( counts[j] > 0 )) || return 1; done
    return 0
}

finish() {
    local j answers='' errors='' missing='' pairs='' sep
    for ((j = 0; j < ${"$"}{#expected[@]}; j++)); do
        answers="$answers${"$"}{answers:+ }${"$"}{expected[j]}=${"$"}{counts[j]}"
        if (( counts[j] == 0 )); then
            missing="$missing${"$"}{missing:+, }${"$"}{expected[j]}"
            pairs="$pairs${"$"}{pairs:+, }$client → ${"$"}{expected[j]}"
        fi
    done
    for ((j = 0; j < ${"$"}{#extra_names[@]}; j++)); do
        answers="$answers${"$"}{answers:+ }${"$"}{extra_names[j]}=${"$"}{extra_counts[j]}"
    done
    for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do
        if (( err_counts[j] > 0 )); then
            errors="$errors${"$"}{errors:+,}${"$"}{classes[j]}:${"$"}{err_counts[j]}"
        fi
    done
    emit "summary requests=$sent answers=${"$"}{answers// /,} errors=$errors"
    if [[ -z $missing && $sent -gt 0 ]]; then
        emit 'verdict ok'
        note "Mesh verification passed for client cluster \"$client\": $answers in $sent requests."
        exit 0
    fi
    emit "verdict fail missing=${"$"}{missing//, /,}"
    {
        printf 'Mesh verification failed for client cluster "%s": no answer from %s after %s requests.\n' \
            "$client" "$missing" "$sent"
        printf 'Failed pairs: %s.\n' "$pairs"
        printf 'Answers: %s.\n' "$answers"
        sep=''
        printf 'Errors: '
        for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do
            if (( err_counts[j] > 0 )); then
                printf '%s%s=%s (first: %s)' "$sep" "${"$"}{classes[j]}" "${"$"}{err_counts[j]}" "${"$"}{err_first[j]}"
                sep=', '
            fi
        done
        [[ -z $sep ]] && printf 'none'
        printf '.\nCheck first:\n'
        for ((j = 0; j < ${"$"}{#classes[@]}; j++)); do
            if (( err_counts[j] > 0 )); then printf '  - %s: %s\n' "${"$"}{classes[j]}" "${"$"}{hints[j]}"; fi
        done
        [[ -z $sep ]] && printf '  - %s\n' "$hint_undiscovered"
    } >&2
    exit 1
}

emit "start client=$client namespace=$namespace requests=$min_requests expected=$(IFS=,; printf '%s' "${"$"}{expected[*]}")"
note "Mesh verification from $client: waiting for deployment/curl in $namespace, then at least $min_requests requests to $url"

if ! out=$(k config view --minify -o 'jsonpath={.clusters[0].cluster.server}' 2>&1) || [[ -z $out ]]; then
    detail=$(first_line "$out"); [[ -z $detail ]] && detail='kubectl printed no server for the current context'
    record_error kubeconfig "$detail"
    emit "error seq=0 class=kubeconfig http=- detail=$detail"
    finish
fi

remaining=$((budget - SECONDS)); (( remaining < 1 )) && remaining=1
if ! out=$(k -n "$namespace" rollout status deployment/curl --timeout="${"$"}{remaining}s" 2>&1); then
    detail=$(first_line "$out"); [[ -z $detail ]] && detail='(no output)'
    record_error exec "$detail"
    emit "error seq=0 class=exec http=- detail=$detail"
    finish
fi

while :; do
    if (( sent >= min_requests )) && all_answered; then break; fi
    if (( SECONDS >= budget )); then note "Mesh verification from $client: time budget of $budget s spent"; break; fi
    # Beyond the minimum we only wait for endpoints to propagate: pace the retries.
    (( sent >= min_requests )) && sleep 1
    sent=$((sent + 1))
    out=$(k -n "$namespace" exec deployment/curl -c curl --request-timeout="$((max_time + 30))s" -- \
        curl -sS --max-time "$max_time" -w "$write_out" "$url" 2>&1)
    classify "$out"
    if [[ $kind == answer ]]; then
        record_answer "$server"
        emit "answer seq=$sent server=$server"
    else
        record_error "$cls" "$detail"
        emit "error seq=$sent class=$cls http=$http detail=$detail"
    fi
done
finish
`;
