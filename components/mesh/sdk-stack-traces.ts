/**
 * Pulumi's Node SDK attaches a formatted stack trace to every promise it creates (four per
 * property of every resource, more for each `apply`), and reads it back only to explain leaked
 * promises when `PULUMI_DEBUG_PROMISE_LEAKS` is set. Formatting means mapping every frame through
 * source maps (ts-node and source-map-support under `pulumi up`), so in a mesh of 100 clusters
 * that unused work is most of the program's run and a third of its memory; see README,
 * "Performance".
 *
 * The program therefore runs with `Error.stackTraceLimit = 0`. What still works:
 * - Resource source positions: the SDK raises the limit itself while it captures them.
 * - Error messages: every error this program raises says what failed and how to fix it; an error
 *   shows its message without frames.
 * What is lost: the frames of an unexpected error. Set {@link FULL_STACK_TRACES_ENV}=1 (or the
 * SDK's own `PULUMI_DEBUG_PROMISE_LEAKS`) to get them back for a run.
 */

/** Environment variable that keeps full stack traces (any non-empty value other than `0`). */
export const FULL_STACK_TRACES_ENV = "ISTIO_MULTICLUSTER_STACK_TRACES";

/** True when the operator asked for full stack traces in this run. */
export function wantsFullStackTraces(env: Readonly<Record<string, string | undefined>>): boolean {
    const on = (v: string | undefined) => v !== undefined && v !== "" && v !== "0";
    return on(env[FULL_STACK_TRACES_ENV]) || on(env.PULUMI_DEBUG_PROMISE_LEAKS);
}

/**
 * Stops the SDK's per-promise stack traces for the rest of the process (registrations continue
 * after the program's synchronous part returns, so there is nothing to restore), unless
 * {@link wantsFullStackTraces}. Returns whether it did.
 */
export function limitSdkStackTraces(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
    if (wantsFullStackTraces(env)) {
        return false;
    }
    Error.stackTraceLimit = 0;
    return true;
}
