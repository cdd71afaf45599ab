/**
 * `remoteSecrets.tokenMode: tokenRequest` as plain data: what a reader token request asks the
 * API server for, when a run re-mints it, and how the answer is read. Pure; the dynamic provider
 * in `token-request-provider.ts` runs `kubectl` with these arguments, and tests call them directly.
 *
 * The renewal decision runs in the provider's `check`, which sees the inputs recorded by the last
 * run: it keeps the recorded issue time while the token is outside its renewal window and moves
 * it to now inside it. A moved issue time is an input change, so `pulumi preview` shows the
 * re-mint as an update of that one token with the reason next to it, and the program warns from it.
 */
import { TokenLifetime, describeReaderToken, tokenRenewalDecision } from "./token-renewal";

export const SECONDS_PER_DAY = 86_400;

/** The TokenRequest API's own bounds on `spec.expirationSeconds` (10 minutes to 2^32 seconds). */
export const TOKEN_REQUEST_MIN_SECONDS = 600;
export const TOKEN_REQUEST_MAX_SECONDS = 2 ** 32;

/**
 * When an answer lacks `spec.expirationSeconds`, the granted lifetime is estimated from the expiry
 * and the local request time; this much less than asked means the API server capped it. The
 * estimate moves by the call's duration and by the expiry's truncation to whole seconds.
 */
const CAP_TOLERANCE_SECONDS = 300;

/** What one reader token request is for. Everything but `kubeconfig` and `context` is part of the token's identity. */
export interface ReaderTokenRequestInputs {
    /** Watched cluster whose API server issues and checks the token. */
    cluster: string;
    /** Primary that holds the token (`readerAccounts: perHolder`); absent when every holder shares it. */
    holder?: string;
    /** Namespace of the reader service account (`istio-system`). */
    namespace: string;
    /** The reader service account. */
    serviceAccount: string;
    /** Secret the token is bound to: deleting it (or replacing it) revokes every token bound to it. */
    boundSecretName: string;
    /** UID of that Secret; a new Secret of the same name does not revive old tokens. */
    boundSecretUid: string;
    /** Requested lifetime, in seconds (`remoteSecrets.tokenTtlDays`). */
    ttlSeconds: number;
    /** From this many seconds before expiry a run re-mints (`remoteSecrets.renewBeforeDays`). */
    renewBeforeSeconds: number;
    /** Kubeconfig content of the watched cluster, as the cluster's provider uses it. Secret. */
    kubeconfig: string;
    /** Context inside `kubeconfig`; its current-context when absent. */
    context?: string;
    /** Set by the provider's check: when the token in use was (or is about to be) minted, RFC 3339. */
    issuedAt?: string;
    /** Set by the provider's check when this run re-mints: why, in the words the preview and the warning use. */
    renewalReason?: string;
}

/** What a minted token records (besides its inputs). */
export interface ReaderTokenRequestOutputs extends ReaderTokenRequestInputs {
    /** The bearer token. Secret. */
    token: string;
    /** Expiry the API server granted, RFC 3339. */
    expiresAt: string;
    /** Base64 PEM of the cluster's root CA (`kube-root-ca.crt`), as a kubeconfig's `certificate-authority-data`. */
    caData: string;
}

/** The properties whose change means a different token: any of them re-mints. */
const IDENTITY_KEYS = [
    "cluster",
    "holder",
    "namespace",
    "serviceAccount",
    "boundSecretName",
    "boundSecretUid",
    "ttlSeconds",
] as const satisfies readonly (keyof ReaderTokenRequestInputs)[];

/** `remoteSecrets.tokenTtlDays`/`renewBeforeDays` as the seconds a request carries. */
export function tokenRequestSeconds(lifetime: TokenLifetime): { ttlSeconds: number; renewBeforeSeconds: number } {
    return {
        ttlSeconds: lifetime.ttlDays * SECONDS_PER_DAY,
        renewBeforeSeconds: lifetime.renewBeforeDays * SECONDS_PER_DAY,
    };
}

/** The `remoteSecrets.tokenTtlDays` values the TokenRequest API accepts at all. */
export function tokenTtlDaysProblem(ttlDays: number): string | undefined {
    const seconds = ttlDays * SECONDS_PER_DAY;
    if (seconds < TOKEN_REQUEST_MIN_SECONDS || seconds > TOKEN_REQUEST_MAX_SECONDS) {
        return (
            `${ttlDays} days is outside what the TokenRequest API accepts ` +
            `(spec.expirationSeconds from ${TOKEN_REQUEST_MIN_SECONDS} to ${TOKEN_REQUEST_MAX_SECONDS}, ` +
            `so at most ${Math.floor(TOKEN_REQUEST_MAX_SECONDS / SECONDS_PER_DAY)} days)`
        );
    }
    return undefined;
}

/** The identity properties in which `news` differs from what was recorded: each one means another token. */
function changedIdentity(olds: Partial<ReaderTokenRequestInputs>, news: ReaderTokenRequestInputs): string[] {
    return IDENTITY_KEYS.filter((key) => olds[key] !== news[key]);
}

/**
 * The provider's check: `news` with the issue time the token in use was minted at, kept while it
 * is outside its renewal window, moved to `now` (with the reason) when this run re-mints. A new
 * identity (another account, bound Secret or lifetime) is a new token and needs no reason.
 */
export function checkReaderTokenRequest(
    olds: Partial<ReaderTokenRequestInputs> | undefined,
    news: ReaderTokenRequestInputs,
    now: Date,
): ReaderTokenRequestInputs {
    const { issuedAt: _issued, renewalReason: _reason, ...wanted } = news;
    const issuedBefore = olds?.issuedAt === undefined ? NaN : Date.parse(olds.issuedAt);
    if (!olds || Number.isNaN(issuedBefore) || changedIdentity(olds, news).length > 0) {
        return { ...wanted, issuedAt: now.toISOString() };
    }
    const lifetime: TokenLifetime = {
        ttlDays: news.ttlSeconds / SECONDS_PER_DAY,
        renewBeforeDays: news.renewBeforeSeconds / SECONDS_PER_DAY,
    };
    const expiresAt = new Date(issuedBefore + news.ttlSeconds * 1000).toISOString();
    const decision = tokenRenewalDecision({ source: news.cluster, holder: news.holder, expiresAt }, lifetime, now);
    if (decision.action === "keep") {
        return { ...wanted, issuedAt: new Date(issuedBefore).toISOString() };
    }
    return { ...wanted, issuedAt: now.toISOString(), renewalReason: decision.reason };
}

/**
 * The provider's diff. Another identity (account, anchor, lifetime) is another token: a
 * replacement. A renewal (the check moved the issue time) is an update that mints, not a
 * replacement: the engine runs `check` a second time, without the recorded inputs, for a resource
 * it replaces (to recompute defaults), and that check cannot know the reason; an update is checked
 * once, so the reason reaches the preview and the update. The old token is not lost either way: a
 * bound token cannot be deleted, it lasts to its expiry. The connection (`kubeconfig`, `context`)
 * and `renewBeforeSeconds` are updates that keep the token: new credentials for the same cluster
 * must not re-mint every token.
 */
export function diffReaderTokenRequest(
    olds: Partial<ReaderTokenRequestOutputs>,
    news: ReaderTokenRequestInputs,
): { changes: boolean; replaces: string[] } {
    const replaces = changedIdentity(olds, news);
    const updates = (["issuedAt", "kubeconfig", "context", "renewBeforeSeconds"] as const).some(
        (key) => olds[key] !== news[key],
    );
    return { changes: replaces.length > 0 || updates, replaces };
}

/** Whether the provider's update mints a new token: the check moved the issue time (a renewal). */
export function updateMintsToken(olds: Partial<ReaderTokenRequestOutputs>, news: ReaderTokenRequestInputs): boolean {
    return olds.issuedAt !== news.issuedAt;
}

/**
 * What an update that keeps the token in use records: the new inputs with the old token, expiry
 * and CA. Nothing else of the old outputs is carried, so a renewal reason recorded by an earlier
 * run goes with this update.
 */
export function keptTokenOutputs(
    olds: ReaderTokenRequestOutputs,
    news: ReaderTokenRequestInputs,
): ReaderTokenRequestOutputs {
    return { ...news, token: olds.token, expiresAt: olds.expiresAt, caData: olds.caData };
}

/**
 * Why this run re-mints the token, read from the outputs its registration was answered with;
 * `undefined` when it does not. For a token the run leaves alone the engine answers with the
 * outputs recorded by the run that minted it, reason included, so a reason counts only beside an
 * issue time from this run: not before `registeredAt`, when the program registered the token
 * (the provider's check, which sets the issue time, runs after that, on the same machine's clock).
 */
export function renewalOfThisRun(
    outputs: Pick<ReaderTokenRequestInputs, "issuedAt" | "renewalReason">,
    registeredAt: Date,
): string | undefined {
    if (!outputs.renewalReason || outputs.issuedAt === undefined) return undefined;
    const issued = Date.parse(outputs.issuedAt);
    return issued >= registeredAt.getTime() ? outputs.renewalReason : undefined;
}

/**
 * How to start `kubectl` so that `--kubeconfig=/dev/stdin` can be opened: Node connects a
 * child's stdin through a socket, which `open("/dev/stdin")` refuses on Linux (ENXIO), so a shell
 * puts a pipe in between. The arguments stay positional parameters, never shell text.
 */
export function kubectlCommand(kubectl: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: "/bin/sh", args: ["-c", 'cat | exec "$0" "$@"', kubectl, ...args] };
}

/** What to do when the operator's kubectl cannot be started. */
export const KUBECTL_MISSING_FIX = "install it, or set ISTIO_MULTICLUSTER_KUBECTL";

/** {@link kubectlCommand} for the operator's kubectl: `$ISTIO_MULTICLUSTER_KUBECTL`, else `kubectl` on PATH. */
export function operatorKubectlCommand(args: readonly string[]): { file: string; args: string[] } {
    return kubectlCommand(process.env.ISTIO_MULTICLUSTER_KUBECTL ?? "kubectl", args);
}

/** Arguments shared by every kubectl call: the kubeconfig comes on stdin, never from a file. */
function connectionArgs(inputs: Pick<ReaderTokenRequestInputs, "context" | "namespace">): string[] {
    return [
        "--kubeconfig=/dev/stdin",
        ...(inputs.context ? [`--context=${inputs.context}`] : []),
        `--namespace=${inputs.namespace}`,
        "--request-timeout=30s",
    ];
}

/** `kubectl create token` for one reader token, bound to its Secret, answered as a TokenRequest in JSON. */
export function createTokenArgs(inputs: ReaderTokenRequestInputs): string[] {
    return [
        ...connectionArgs(inputs),
        "create",
        "token",
        inputs.serviceAccount,
        `--duration=${inputs.ttlSeconds}s`,
        "--bound-object-kind=Secret",
        `--bound-object-name=${inputs.boundSecretName}`,
        `--bound-object-uid=${inputs.boundSecretUid}`,
        "--output=json",
    ];
}

/** `kubectl get configmap kube-root-ca.crt`: the CA every pod of the cluster trusts its API server with. */
export function rootCaArgs(inputs: Pick<ReaderTokenRequestInputs, "context" | "namespace">): string[] {
    return [...connectionArgs(inputs), "get", "configmap", "kube-root-ca.crt", "--output=json"];
}

/** What `kubectl create token --output=json` prints: a TokenRequest with its answer. */
interface TokenRequestAnswer {
    spec?: { expirationSeconds?: unknown };
    status?: { token?: unknown; expirationTimestamp?: unknown };
}

/** The answer as JSON, or `undefined`: a caller names the failure, never quoting stdout (it may hold a token). */
function tokenRequestAnswer(stdout: string): TokenRequestAnswer | undefined {
    try {
        const parsed: unknown = JSON.parse(stdout);
        return parsed !== null && typeof parsed === "object" ? (parsed as TokenRequestAnswer) : undefined;
    } catch {
        return undefined;
    }
}

/** The answer's `status.expirationTimestamp` in epoch milliseconds; NaN when it has none. */
function answeredExpiryMs(answer: TokenRequestAnswer | undefined): number {
    const expiry = answer?.status?.expirationTimestamp;
    return typeof expiry === "string" ? Date.parse(expiry) : NaN;
}

/**
 * The lifetime an answer granted and, when it is less than asked, the whole days a request may
 * ask for. A capping API server writes the lifetime it granted into the answer's spec; that number
 * is exact, where one read off the clock is a second or so short, depending on the call's timing.
 */
function grantedLifetime(
    answer: TokenRequestAnswer,
    expiresAtMs: number,
    askedSeconds: number,
    requestedAt: Date,
): { grantedSeconds: number; cappedToDays?: number } {
    const answered = answer.spec?.expirationSeconds;
    const exact = typeof answered === "number" && Number.isInteger(answered) && answered > 0;
    const tolerance = exact ? 0 : CAP_TOLERANCE_SECONDS;
    const grantedSeconds = exact ? answered : Math.floor((expiresAtMs - requestedAt.getTime()) / 1000);
    if (grantedSeconds >= askedSeconds - tolerance) return { grantedSeconds };
    return { grantedSeconds, cappedToDays: Math.max(Math.floor((grantedSeconds + tolerance) / SECONDS_PER_DAY), 1) };
}

/** The sentence both the lifetime probe and the mint say when an API server caps lifetimes. */
function capFix(days: number): string {
    return `set remoteSecrets.tokenTtlDays to at most ${days} (and renewBeforeDays below it)`;
}

/**
 * The token and its granted expiry from `kubectl create token --output=json`. Throws, naming the
 * fix, when the API server granted less than was asked (it caps lifetimes with
 * `--service-account-max-token-expiration`): the renewal schedule is planned on the asked one.
 */
export function parseTokenRequest(
    stdout: string,
    inputs: Pick<ReaderTokenRequestInputs, "cluster" | "holder" | "ttlSeconds">,
    requestedAt: Date,
): { token: string; expiresAt: string } {
    const name = describeReaderToken({ source: inputs.cluster, holder: inputs.holder });
    const answer = tokenRequestAnswer(stdout);
    if (!answer) throw new Error(`${name}: kubectl create token did not answer with a TokenRequest in JSON.`);
    const token = answer.status?.token;
    const end = answeredExpiryMs(answer);
    if (typeof token !== "string" || token === "" || Number.isNaN(end)) {
        throw new Error(`${name}: the TokenRequest answer has no status.token or status.expirationTimestamp.`);
    }
    const { grantedSeconds, cappedToDays } = grantedLifetime(answer, end, inputs.ttlSeconds, requestedAt);
    if (cappedToDays !== undefined) {
        throw new Error(
            `${name}: the API server of ${inputs.cluster} granted ${grantedSeconds} s instead of the ${inputs.ttlSeconds} s asked ` +
                `(it caps lifetimes with --service-account-max-token-expiration). Fix: ${capFix(cappedToDays)}.`,
        );
    }
    return { token, expiresAt: new Date(end).toISOString() };
}

/**
 * Audience of the lifetime probe's token. No API server or token reviewer accepts it (an API
 * server accepts its own `--api-audiences` only), so the probe's token authenticates nowhere.
 */
export const LIFETIME_PROBE_AUDIENCE = "lifetime-probe.istio-multicluster.invalid";

/**
 * `kubectl create token` for the lifetime probe: the lifetime the mesh's tokens will ask for, for
 * the `default` account of the `default` namespace (which every cluster has before the mesh does),
 * for an audience nothing accepts. Its answer shows the API server's cap before any resource.
 */
export function lifetimeProbeArgs(context: string | undefined, ttlSeconds: number): string[] {
    return [
        ...connectionArgs({ context, namespace: "default" }),
        "create",
        "token",
        "default",
        `--duration=${ttlSeconds}s`,
        `--audience=${LIFETIME_PROBE_AUDIENCE}`,
        "--output=json",
    ];
}

/** What the lifetime probe's answer says about the API server's cap. */
export type LifetimeProbeAnswer =
    | { kind: "granted" }
    | { kind: "capped"; grantedSeconds: number; maxTtlDays: number; fix: string }
    | { kind: "unreadable" };

/** Reads the lifetime probe's answer; its token is read for nothing else and dropped. */
export function parseLifetimeProbe(stdout: string, ttlSeconds: number, requestedAt: Date): LifetimeProbeAnswer {
    const answer = tokenRequestAnswer(stdout);
    const end = answeredExpiryMs(answer);
    if (!answer || Number.isNaN(end)) return { kind: "unreadable" };
    const { grantedSeconds, cappedToDays } = grantedLifetime(answer, end, ttlSeconds, requestedAt);
    if (cappedToDays === undefined) return { kind: "granted" };
    return { kind: "capped", grantedSeconds, maxTtlDays: cappedToDays, fix: capFix(cappedToDays) };
}

/** `certificate-authority-data` from `kubectl get configmap kube-root-ca.crt --output=json`. */
export function parseRootCa(stdout: string, cluster: string): string {
    const parsed = JSON.parse(stdout) as { data?: Record<string, unknown> };
    const pem = parsed.data?.["ca.crt"];
    if (typeof pem !== "string" || !pem.includes("BEGIN CERTIFICATE")) {
        throw new Error(`${cluster}: ConfigMap kube-root-ca.crt has no ca.crt certificate.`);
    }
    return Buffer.from(pem, "utf8").toString("base64");
}
