/**
 * `remoteSecrets.tokenMode: tokenRequest`, before any resource: does every watched cluster's API
 * server grant the lifetime `remoteSecrets.tokenTtlDays` asks for? `kube-apiserver
 * --service-account-max-token-expiration` caps lifetimes, and no API shows the flag; only a
 * TokenRequest's answer does (a dry run mints too). So the program run asks each watched cluster
 * once for a token of that lifetime, for an audience nothing accepts, reads the granted lifetime
 * from the answer and drops the token. A cap becomes a config problem next to all the others.
 *
 * A probe that cannot run (no kubectl, an unreachable cluster, credentials that may not create
 * tokens, as in a read-only pull-request preview) checks nothing and says so: the mint compares
 * the granted lifetime again and stops there.
 */
import { spawnSync } from "node:child_process";

import { ConfigProblem } from "../config/config";
import {
    KUBECTL_MISSING_FIX,
    SECONDS_PER_DAY,
    lifetimeProbeArgs,
    operatorKubectlCommand,
    parseLifetimeProbe,
} from "./token-request";

/** One finished `kubectl` run. */
export interface KubectlRun {
    /** Exit status; `null` when kubectl did not finish (killed, timed out). */
    status: number | null;
    stdout: string;
    stderr: string;
    /** Why it could not be started or finished, when it could not. */
    error?: string;
}

/** Runs `kubectl` with `args`, the kubeconfig on stdin. */
export type RunKubectl = (args: string[], kubeconfig: string) => KubectlRun;

/** The operator's `kubectl` (or `ISTIO_MULTICLUSTER_KUBECTL`), run to the end before the program goes on. */
export const runKubectlSync: RunKubectl = (args, kubeconfig) => {
    const command = operatorKubectlCommand(args);
    const run = spawnSync(command.file, command.args, { input: kubeconfig, encoding: "utf8", timeout: 60_000 });
    return {
        status: run.status,
        stdout: run.stdout ?? "",
        stderr: (run.stderr ?? "").trim(),
        error: run.error?.message,
    };
};

/** A watched cluster the probe asks: its name and how to reach it. */
export interface ProbedCluster {
    name: string;
    /** Kubeconfig content. Secret: it only ever goes to kubectl's stdin. */
    kubeconfig: string;
    context?: string;
}

/** What the probe found: caps as config problems, and the clusters it could not ask, with why. */
export interface LifetimeProbeResult {
    problems: ConfigProblem[];
    unchecked: { cluster: string; why: string }[];
}

/** Why a probe's kubectl run gave no answer, from its error or stderr (never stdout, which may hold a token). */
function whyNoAnswer(run: KubectlRun): string {
    if (run.error) return run.error;
    // 127: the shell found no kubectl to exec.
    if (run.status === 127) return `kubectl was not found (${KUBECTL_MISSING_FIX})`;
    const lines = run.stderr.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("Warning:"));
    return lines[lines.length - 1] ?? `kubectl exited with ${String(run.status)}`;
}

/** Asks every cluster in `clusters`, one after the other, for a token of `ttlDays`. */
export function probeTokenLifetimes(
    clusters: readonly ProbedCluster[],
    ttlDays: number,
    run: RunKubectl,
    now: () => Date = () => new Date(),
): LifetimeProbeResult {
    const ttlSeconds = ttlDays * SECONDS_PER_DAY;
    const result: LifetimeProbeResult = { problems: [], unchecked: [] };
    for (const cluster of clusters) {
        const requestedAt = now();
        const answer = run(lifetimeProbeArgs(cluster.context, ttlSeconds), cluster.kubeconfig);
        if (answer.status !== 0) {
            result.unchecked.push({ cluster: cluster.name, why: whyNoAnswer(answer) });
            continue;
        }
        const read = parseLifetimeProbe(answer.stdout, ttlSeconds, requestedAt);
        if (read.kind === "unreadable") {
            result.unchecked.push({
                cluster: cluster.name,
                why: "kubectl create token did not answer with a TokenRequest",
            });
        } else if (read.kind === "capped") {
            result.problems.push({
                path: "remoteSecrets.tokenTtlDays",
                message:
                    `the API server of ${cluster.name} grants service-account tokens at most ${read.grantedSeconds} s ` +
                    `(--service-account-max-token-expiration), less than the ${ttlDays} days asked.`,
                fix: `${read.fix.charAt(0).toUpperCase()}${read.fix.slice(1)}, or raise the cap of that API server.`,
            });
        }
    }
    return result;
}

/** The warning for clusters the probe could not ask. */
export function uncheckedLifetimesWarning(unchecked: LifetimeProbeResult["unchecked"]): string | undefined {
    if (unchecked.length === 0) return undefined;
    const clusters = unchecked.map((u) => `${u.cluster} (${u.why})`).join("; ");
    return (
        `Could not ask ${clusters} whether its API server caps token lifetimes; ` +
        `the first mint checks it instead (remoteSecrets.probeTokenLifetime: false skips the probe).`
    );
}
