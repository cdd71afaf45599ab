/**
 * The token-lifetime probe of `tokenMode: tokenRequest`: what it asks kubectl, how it reads the
 * answer, and what the program run makes of it before any resource. kubectl is a recording stub
 * here; `test/bed/token-request.bed.test.ts` runs the probe against real API servers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as yaml from "js-yaml";

import { ConfigValidationError } from "../../components/config/config";
import { loadProgramInputs, ProgramEnvironment } from "../../components/mesh/program-inputs";
import {
    KubectlRun,
    RunKubectl,
    probeTokenLifetimes,
    uncheckedLifetimesWarning,
} from "../../components/remote-secrets/token-lifetime-probe";
import {
    LIFETIME_PROBE_AUDIENCE,
    lifetimeProbeArgs,
    parseLifetimeProbe,
} from "../../components/remote-secrets/token-request";

const T0 = new Date("2026-12-04T12:00:00.000Z");
const NINETY_DAYS = 90 * 86_400;

/** The JSON `kubectl create token --output=json` prints, granting `grantedSeconds` from T0. */
function answer(grantedSeconds: number): string {
    return JSON.stringify({
        kind: "TokenRequest",
        spec: { audiences: [LIFETIME_PROBE_AUDIENCE], expirationSeconds: grantedSeconds },
        status: {
            token: "eyJ.probe-token.sig",
            expirationTimestamp: new Date(T0.getTime() + grantedSeconds * 1000).toISOString().replace(".000", ""),
        },
    });
}

/** A kubectl stub answering per kubeconfig, recording every call. */
function stubKubectl(byKubeconfig: Record<string, KubectlRun>): {
    run: RunKubectl;
    calls: { args: string[]; kubeconfig: string }[];
} {
    const calls: { args: string[]; kubeconfig: string }[] = [];
    return {
        calls,
        run: (args, kubeconfig) => {
            calls.push({ args, kubeconfig });
            return byKubeconfig[kubeconfig] ?? { status: 1, stdout: "", stderr: "no such cluster" };
        },
    };
}

const ok = (stdout: string): KubectlRun => ({ status: 0, stdout, stderr: "" });

describe("the token-lifetime probe's request", () => {
    it("asks for the mesh's lifetime, for the default account, for an audience nothing accepts, kubeconfig on stdin", () => {
        assert.deepEqual(lifetimeProbeArgs("two", NINETY_DAYS), [
            "--kubeconfig=/dev/stdin",
            "--context=two",
            "--namespace=default",
            "--request-timeout=30s",
            "create",
            "token",
            "default",
            "--duration=7776000s",
            "--audience=lifetime-probe.istio-multicluster.invalid",
            "--output=json",
        ]);
        assert.ok(!lifetimeProbeArgs(undefined, NINETY_DAYS).some((a) => a.startsWith("--context")));
        // No bound object: the probe needs nothing the mesh creates, so it runs before any resource.
        assert.ok(!lifetimeProbeArgs(undefined, NINETY_DAYS).some((a) => a.startsWith("--bound-object")));
    });
});

describe("reading the probe's answer", () => {
    it("granted in full, capped (with the days to set), or unreadable", () => {
        assert.deepEqual(parseLifetimeProbe(answer(NINETY_DAYS), NINETY_DAYS, T0), { kind: "granted" });
        assert.deepEqual(parseLifetimeProbe(answer(172_800), NINETY_DAYS, T0), {
            kind: "capped",
            grantedSeconds: 172_800,
            maxTtlDays: 2,
            fix: "set remoteSecrets.tokenTtlDays to at most 2 (and renewBeforeDays below it)",
        });
        // A cap under a day still names a lifetime the config can hold.
        const hour = parseLifetimeProbe(answer(3_600), NINETY_DAYS, T0);
        assert.equal(hour.kind === "capped" && hour.maxTtlDays, 1);
        assert.deepEqual(parseLifetimeProbe("Error from server", NINETY_DAYS, T0), { kind: "unreadable" });
        assert.deepEqual(parseLifetimeProbe("null", NINETY_DAYS, T0), { kind: "unreadable" });
    });
});

describe("probing the watched clusters", () => {
    it("turns a cap into a problem at remoteSecrets.tokenTtlDays naming the cluster, the granted lifetime and the fix", () => {
        const kubectl = stubKubectl({ "kc-2": ok(answer(172_800)), "kc-3": ok(answer(NINETY_DAYS)) });
        const result = probeTokenLifetimes(
            [
                { name: "cluster2", kubeconfig: "kc-2", context: "two" },
                { name: "cluster3", kubeconfig: "kc-3" },
            ],
            90,
            kubectl.run,
            () => T0,
        );
        assert.deepEqual(result.unchecked, []);
        assert.equal(result.problems.length, 1);
        assert.equal(result.problems[0].path, "remoteSecrets.tokenTtlDays");
        assert.match(
            result.problems[0].message,
            /API server of cluster2 grants .* at most 172800 s .*less than the 90 days asked/,
        );
        assert.match(result.problems[0].fix ?? "", /^Set remoteSecrets.tokenTtlDays to at most 2 .*raise the cap/);
        assert.deepEqual(
            kubectl.calls.map((c) => [c.kubeconfig, c.args.find((a) => a.startsWith("--context"))]),
            [
                ["kc-2", "--context=two"],
                ["kc-3", undefined],
            ],
        );
    });

    it("names the clusters it could not ask and why, from stderr, never from stdout", () => {
        const kubectl = stubKubectl({
            "kc-2": {
                status: 1,
                stdout: "eyJ.secret.sig",
                stderr: 'Warning: something\nerror: failed to create token: serviceaccounts "default" is forbidden',
            },
            "kc-3": { status: 127, stdout: "", stderr: "sh: 1: exec: kubectl: not found" },
            "kc-4": { status: null, stdout: "", stderr: "", error: "spawnSync /bin/sh ETIMEDOUT" },
            "kc-5": ok("not json, eyJ.secret.sig"),
        });
        const result = probeTokenLifetimes(
            ["kc-2", "kc-3", "kc-4", "kc-5"].map((kubeconfig) => ({
                name: kubeconfig.replace("kc-", "c"),
                kubeconfig,
            })),
            90,
            kubectl.run,
            () => T0,
        );
        assert.deepEqual(result.problems, []);
        assert.deepEqual(result.unchecked, [
            { cluster: "c2", why: 'error: failed to create token: serviceaccounts "default" is forbidden' },
            { cluster: "c3", why: "kubectl was not found (install it, or set ISTIO_MULTICLUSTER_KUBECTL)" },
            { cluster: "c4", why: "spawnSync /bin/sh ETIMEDOUT" },
            { cluster: "c5", why: "kubectl create token did not answer with a TokenRequest" },
        ]);
        const warning = uncheckedLifetimesWarning(result.unchecked) ?? "";
        assert.match(warning, /c2 \(error: failed .*forbidden\).*first mint checks it.*probeTokenLifetime: false/);
        assert.ok(!warning.includes("secret"), warning);
        assert.equal(uncheckedLifetimesWarning([]), undefined);
    });
});

describe("the program run probes before anything is registered", () => {
    /** One kubeconfig file with a context per cluster; each context's server names its cluster. */
    const kubeconfigFile = yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "c1",
        clusters: ["c1", "c2", "c3"].map((n) => ({ name: n, cluster: { server: `https://${n}.example:6443` } })),
        users: [{ name: "admin", user: { token: "admin-token" } }],
        contexts: ["c1", "c2", "c3"].map((n) => ({ name: n, context: { cluster: n, user: "admin" } })),
    });
    const clusters = [
        { name: "cluster1", kubeconfig: "/home/me/mesh.yaml", context: "c1" },
        { name: "cluster2", kubeconfig: "/home/me/mesh.yaml", context: "c2" },
        { name: "cluster3", kubeconfig: "/home/me/mesh.yaml", context: "c3", role: "remote", controlPlane: "cluster1" },
    ];
    /** A kubectl stub answering by context: c2's API server caps lifetimes at 2 days. */
    function environment(): { env: ProgramEnvironment; contexts: string[]; warnings: string[] } {
        const contexts: string[] = [];
        const warnings: string[] = [];
        const env: ProgramEnvironment = {
            env: { HOME: "/home/me" },
            readFile: () => kubeconfigFile,
            now: T0,
            kubectl: (args) => {
                const context = args.find((a) => a.startsWith("--context="))?.slice("--context=".length) ?? "";
                contexts.push(context);
                const asked = Number(args.find((a) => a.startsWith("--duration="))?.slice(11, -1));
                if (context === "c3") return { status: 1, stdout: "", stderr: "Unable to connect to the server" };
                return ok(answer(context === "c2" ? 172_800 : asked));
            },
            warn: (message) => warnings.push(message),
        };
        return { env, contexts, warnings };
    }

    it("refuses a lifetime a watched cluster caps, with the other problems, and warns about the unreachable one", () => {
        const { env, contexts, warnings } = environment();
        // cluster4's context is missing from the file: a problem of the same stage, reported with the cap.
        const cluster4 = {
            name: "cluster4",
            kubeconfig: "/home/me/mesh.yaml",
            context: "c9",
            role: "remote",
            controlPlane: "cluster2",
        };
        const raw = { clusters: [...clusters, cluster4], remoteSecrets: { tokenMode: "tokenRequest" } };
        assert.throws(
            () => loadProgramInputs({ raw, secretKeys: [] }, env),
            (e: unknown) => {
                assert.ok(e instanceof ConfigValidationError);
                const capped = e.problems.find((p) => p.path === "remoteSecrets.tokenTtlDays");
                assert.match(capped?.message ?? "", /cluster2 grants .*172800 s/);
                assert.ok(
                    e.problems.some((p) => p.path.startsWith("clusters[3]")),
                    "reported together",
                );
                return true;
            },
        );
        // Every watched cluster once, by name: the primaries watch each other and cluster3; cluster4 has no access.
        assert.deepEqual(contexts, ["c1", "c2", "c3"]);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /cluster3 \(Unable to connect to the server\)/);
    });

    it("asks nobody with the legacy tokens, with probeTokenLifetime false, or where no kubectl may run", () => {
        for (const remoteSecrets of [{}, { tokenMode: "tokenRequest", probeTokenLifetime: false }]) {
            const { env, contexts } = environment();
            loadProgramInputs({ raw: { clusters, remoteSecrets }, secretKeys: [] }, env);
            assert.deepEqual(contexts, [], JSON.stringify(remoteSecrets));
        }
        const { env } = environment();
        const withoutKubectl = { ...env, kubectl: undefined };
        const inputs = loadProgramInputs(
            { raw: { clusters, remoteSecrets: { tokenMode: "tokenRequest" } }, secretKeys: [] },
            withoutKubectl,
        );
        assert.equal(inputs.config.remoteSecrets.probeTokenLifetime, true);
    });

    it("a lifetime every watched cluster grants passes, and the probe's answer goes nowhere", () => {
        const { env, warnings } = environment();
        const granting: ProgramEnvironment = {
            ...env,
            kubectl: (args) => ok(answer(Number(args.find((a) => a.startsWith("--duration="))?.slice(11, -1)))),
        };
        const inputs = loadProgramInputs(
            {
                raw: { clusters, remoteSecrets: { tokenMode: "tokenRequest", tokenTtlDays: 30, renewBeforeDays: 10 } },
                secretKeys: [],
            },
            granting,
        );
        assert.deepEqual(warnings, []);
        assert.ok(!JSON.stringify(inputs.config).includes("probe-token"));
    });

    it("refuses probeTokenLifetime false with the legacy tokens, which have no lifetime to probe", () => {
        const { env } = environment();
        assert.throws(
            () =>
                loadProgramInputs(
                    { raw: { clusters, remoteSecrets: { probeTokenLifetime: false } }, secretKeys: [] },
                    env,
                ),
            (e: unknown) =>
                e instanceof ConfigValidationError &&
                e.problems.some(
                    (p) => p.path === "remoteSecrets.probeTokenLifetime" && /serviceAccountTokenSecret/.test(p.message),
                ),
        );
    });
});
