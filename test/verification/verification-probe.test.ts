/**
 * The probe of the post-deploy verification: parsing, verdict, classification, and the generated
 * bash script itself, run against a stand-in kubectl that replays recorded responses.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
    PROBE_ERROR_CLASSES,
    ProbeErrorClass,
    ProbeScriptOptions,
    buildProbeScript,
    classifyProbeResponse,
    contextFlag,
    failureHints,
    helloworldUrl,
    kubectlCommand,
    parseProbeOutput,
    shellQuote,
    verdict,
} from "../../components/verification/verification-probe";

// ---------------------------------------------------------------------------------------------
// Recorded raw outputs of `kubectl exec deployment/curl -- curl -sS -w <marker> ...` (stdout+stderr).
// Envoy texts as its 503 bodies read; curl and kubectl messages as those tools print them.
const marker = (code: string) => `\n@@meshprobe http_code=${code}@@\n`;
const RAW: Record<string, { out: string; rc: number; expect: "answer" | ProbeErrorClass; server?: string }> = {
    answer1: {
        out: `Hello version: cluster1, instance: helloworld-cluster1-6d4d8b9c5-7xk2p\n${marker("200")}`,
        rc: 0,
        expect: "answer",
        server: "cluster1",
    },
    answer2: {
        out: `Hello version: cluster2, instance: helloworld-cluster2-5c8f7d6b4-q9wzt\n${marker("200")}`,
        rc: 0,
        expect: "answer",
        server: "cluster2",
    },
    tlsVerify: {
        out:
            "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote " +
            "connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:" +
            `CERTIFICATE_VERIFY_FAILED:TLS_error_end${marker("503")}`,
        rc: 0,
        expect: "tls",
    },
    tlsUnknownCa: {
        out:
            "upstream connect error or disconnect/reset before headers. reset reason: connection termination, " +
            "transport failure reason: TLS_error:|268436502:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA:" +
            `TLS_error_end${marker("503")}`,
        rc: 0,
        expect: "tls",
    },
    noHealthyUpstream: { out: `no healthy upstream${marker("503")}`, rc: 0, expect: "no-healthy-upstream" },
    envoyConnectTimeout: {
        out: `upstream connect error or disconnect/reset before headers. reset reason: connection timeout${marker("503")}`,
        rc: 0,
        expect: "timeout",
    },
    curlTimeout: {
        out:
            `${marker("000")}curl: (28) Operation timed out after 15002 milliseconds with 0 bytes received\n` +
            "command terminated with exit code 28\n",
        rc: 28,
        expect: "timeout",
    },
    curlDns: {
        out: `${marker("000")}curl: (6) Could not resolve host: helloworld.mesh-verify\ncommand terminated with exit code 6\n`,
        rc: 6,
        expect: "dns",
    },
    curlRefused: {
        out:
            `${marker("000")}curl: (7) Failed to connect to helloworld.mesh-verify port 5000 after 3 ms: ` +
            "Could not connect to server\ncommand terminated with exit code 7\n",
        rc: 7,
        expect: "connection",
    },
    envoyRefused: {
        out:
            "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, " +
            `transport failure reason: delayed connect error: 111${marker("503")}`,
        rc: 0,
        expect: "connection",
    },
    curlReset: {
        out: `${marker("000")}curl: (56) Recv failure: Connection reset by peer\ncommand terminated with exit code 56\n`,
        rc: 56,
        expect: "connection",
    },
    kubectlNoContainer: {
        out: 'error: unable to upgrade connection: container not found ("curl")\n',
        rc: 1,
        expect: "exec",
    },
    kubectlUnreachable: {
        out:
            'E1122 00:40:01.814784   14167 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API ' +
            'group list: Get \\"https://192.0.2.10:6443/api?timeout=5s\\": dial tcp 192.0.2.10:6443: i/o timeout"\n' +
            "Unable to connect to the server: dial tcp 192.0.2.10:6443: i/o timeout\n",
        rc: 1,
        expect: "exec",
    },
    notFound: { out: `Not Found${marker("404")}`, rc: 0, expect: "other" },
    unexpectedBody: { out: `<html>hello</html>${marker("200")}`, rc: 0, expect: "other" },
};

// ---------------------------------------------------------------------------------------------
// Recorded probe stdouts (what the script prints), one per situation the verdict must judge.
const START = "MESHPROBE start client=cluster1 namespace=mesh-verify requests=6 expected=cluster1,cluster2";
const OUT = {
    allAnswered: [
        START,
        "MESHPROBE answer seq=1 server=cluster1",
        "MESHPROBE answer seq=2 server=cluster2",
        "MESHPROBE answer seq=3 server=cluster2",
        "MESHPROBE answer seq=4 server=cluster1",
        "MESHPROBE answer seq=5 server=cluster2",
        "MESHPROBE answer seq=6 server=cluster1",
        "MESHPROBE summary requests=6 answers=cluster1=3,cluster2=3 errors=",
        "MESHPROBE verdict ok",
    ].join("\n"),
    oneMissing: [
        START,
        "MESHPROBE answer seq=1 server=cluster1",
        "MESHPROBE answer seq=2 server=cluster1",
        "MESHPROBE answer seq=3 server=cluster1",
        "MESHPROBE summary requests=3 answers=cluster1=3,cluster2=0 errors=",
        "MESHPROBE verdict fail missing=cluster2",
    ].join("\n"),
    timeouts: [
        START,
        "MESHPROBE answer seq=1 server=cluster1",
        "MESHPROBE error seq=2 class=timeout http=000 detail=curl: (28) Operation timed out after 15002 milliseconds with 0 bytes received",
        "MESHPROBE error seq=3 class=timeout http=503 detail=HTTP 503: upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
        "MESHPROBE summary requests=3 answers=cluster1=1,cluster2=0 errors=timeout:2",
        "MESHPROBE verdict fail missing=cluster2",
    ].join("\n"),
    tls: [
        START,
        "MESHPROBE answer seq=1 server=cluster1",
        "MESHPROBE error seq=2 class=tls http=503 detail=HTTP 503: upstream connect error or disconnect/reset before headers. reset reason: connection termination, transport failure reason: TLS_error:|268436502:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA:TLS_error_end",
        "MESHPROBE answer seq=3 server=cluster1",
        "MESHPROBE error seq=4 class=tls http=503 detail=HTTP 503: upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end",
        "MESHPROBE summary requests=4 answers=cluster1=2,cluster2=0 errors=tls:2",
        "MESHPROBE verdict fail missing=cluster2",
    ].join("\n"),
    mixed: [
        "Warning: some unrelated line a tool printed",
        START,
        "MESHPROBE answer seq=1 server=cluster2",
        "MESHPROBE error seq=2 class=no-healthy-upstream http=503 detail=HTTP 503: no healthy upstream",
        "MESHPROBE error seq=3 class=dns http=000 detail=curl: (6) Could not resolve host: helloworld.mesh-verify",
        "MESHPROBE answer seq=4 server=old-cluster",
        "MESHPROBE error seq=5 class=connection http=000 detail=curl: (56) Recv failure: Connection reset by peer",
        "MESHPROBE error seq=6 class=bogus http=- detail=whatever",
        "MESHPROBE summary requests=6 answers=cluster1=0,cluster2=1,old-cluster=1 errors=no-healthy-upstream:1,dns:1,connection:1,other:1",
        "MESHPROBE verdict fail missing=cluster1",
    ].join("\r\n"),
    empty: "",
};

const OPTS = { client: "cluster1", expectedClusters: ["cluster1", "cluster2"] };

describe("parseProbeOutput", () => {
    it("counts every answer per answering cluster", () => {
        const r = parseProbeOutput(OUT.allAnswered);
        assert.equal(r.started, true);
        assert.equal(r.client, "cluster1");
        assert.deepEqual(r.expected, ["cluster1", "cluster2"]);
        assert.equal(r.requests, 6);
        assert.deepEqual(r.answers, { cluster1: 3, cluster2: 3 });
        assert.deepEqual(r.errors, {});
        assert.equal(r.scriptVerdict, "ok");
    });

    it("sees a cluster that never answered as absent", () => {
        const r = parseProbeOutput(OUT.oneMissing);
        assert.deepEqual(r.answers, { cluster1: 3 });
        assert.equal(r.requests, 3);
        assert.equal(r.scriptVerdict, "fail");
    });

    it("classifies timeouts and keeps the first detail", () => {
        const r = parseProbeOutput(OUT.timeouts);
        assert.deepEqual(r.errors, { timeout: 2 });
        assert.equal(
            r.firstError.timeout,
            "curl: (28) Operation timed out after 15002 milliseconds with 0 bytes received",
        );
        assert.equal(r.requests, 3);
    });

    it("classifies TLS errors", () => {
        const r = parseProbeOutput(OUT.tls);
        assert.deepEqual(r.errors, { tls: 2 });
        assert.match(r.firstError.tls ?? "", /TLSV1_ALERT_UNKNOWN_CA/);
    });

    it("reads mixed output with CRLF, stray lines, unknown classes and unexpected answerers", () => {
        const r = parseProbeOutput(OUT.mixed);
        assert.equal(r.requests, 6);
        assert.deepEqual(r.answers, { cluster2: 1, "old-cluster": 1 });
        assert.deepEqual(r.servers, ["cluster2", "old-cluster"]);
        assert.deepEqual(r.errors, { "no-healthy-upstream": 1, dns: 1, connection: 1, other: 1 });
        assert.equal(r.firstError.connection, "curl: (56) Recv failure: Connection reset by peer");
    });

    it("returns an empty, not-started result for empty output", () => {
        const r = parseProbeOutput(OUT.empty);
        assert.equal(r.started, false);
        assert.equal(r.requests, 0);
        assert.deepEqual(r.answers, {});
    });

    it("does not count the preflight and rollout lines (seq=0) as requests", () => {
        const r = parseProbeOutput(`${START}\nMESHPROBE error seq=0 class=exec http=- detail=error: timed out waiting`);
        assert.equal(r.requests, 0);
        assert.deepEqual(r.errors, { exec: 1 });
        assert.equal(r.firstError.exec, "error: timed out waiting");
    });
});

describe("verdict", () => {
    it("passes when every expected cluster answered", () => {
        const v = verdict(parseProbeOutput(OUT.allAnswered), OPTS);
        assert.equal(v.ok, true);
        assert.deepEqual(v.missing, []);
        assert.equal(
            v.message,
            'Mesh verification passed for client cluster "cluster1": cluster1=3 cluster2=3 in 6 requests.',
        );
    });

    it("names the failed pair and, with no errors, points at endpoint discovery (remote secret sync)", () => {
        const v = verdict(parseProbeOutput(OUT.oneMissing), { ...OPTS, contexts: { cluster1: "kind-cluster1" } });
        assert.equal(v.ok, false);
        assert.deepEqual(v.missing, ["cluster2"]);
        assert.match(v.message, /no answer from cluster2 after 3 requests/);
        assert.match(v.message, /Failed pairs: cluster1 → cluster2\./);
        assert.match(v.message, /Answers: cluster1=3 cluster2=0\./);
        assert.match(v.message, /Errors: none\./);
        assert.match(v.message, /istioctl remote-clusters --context='kind-cluster1'/);
        assert.match(v.message, /istioctl proxy-config endpoint/);
    });

    it("asks for the serving primary's remote-clusters when the client is a remote cluster", () => {
        const v = verdict(parseProbeOutput(OUT.oneMissing), {
            ...OPTS,
            client: "remote1",
            expectedClusters: ["cluster1", "cluster2"],
            controlPlane: "primary1",
        });
        assert.match(v.message, /istioctl remote-clusters --context="\$CTX_PRIMARY1"/);
    });

    it("on timeouts, multi-network: checks the east-west gateway address first", () => {
        const v = verdict(parseProbeOutput(OUT.timeouts), { ...OPTS, multiNetwork: true });
        assert.equal(v.ok, false);
        assert.match(v.message, /Errors: timeout=2 \(first: curl: \(28\) Operation timed out/);
        assert.match(v.message, /- timeout: .*east-west gateway address.*15443/);
        assert.doesNotMatch(v.message, /- tls:/);
    });

    it("on timeouts, single network: points at pod-to-pod reachability", () => {
        const v = verdict(parseProbeOutput(OUT.timeouts), OPTS);
        assert.match(v.message, /- timeout: pod IPs of the other clusters are not reachable/);
    });

    it("on TLS errors: checks for a root mismatch across the clusters' cacerts", () => {
        const v = verdict(parseProbeOutput(OUT.tls), OPTS);
        assert.equal(v.ok, false);
        assert.match(v.message, /- tls: .*root CA.*cacerts root-cert\.pem/);
        assert.match(v.message, /restart istiod/);
    });

    it("on mixed errors: one hint per class seen, in a fixed order, and unexpected answerers listed", () => {
        const v = verdict(parseProbeOutput(OUT.mixed), { ...OPTS, multiNetwork: true });
        assert.deepEqual(v.missing, ["cluster1"]);
        assert.match(v.message, /Answers: cluster1=0 cluster2=1 old-cluster=1\./);
        const order = ["no-healthy-upstream", "dns", "connection", "other"].map((c) => v.message.indexOf(`  - ${c}: `));
        assert.ok(order.every((i) => i > 0));
        assert.deepEqual(
            [...order].sort((a, b) => a - b),
            order,
        );
        assert.match(v.message, /- dns: the helloworld Service cannot be resolved in cluster1/);
        assert.match(v.message, /- connection: .*topology\.istio\.io\/network/);
    });

    it("fails on empty output, naming every expected cluster", () => {
        const v = verdict(parseProbeOutput(OUT.empty), OPTS);
        assert.equal(v.ok, false);
        assert.deepEqual(v.missing, ["cluster1", "cluster2"]);
        assert.match(v.message, /printed nothing/);
    });

    it("fails when no request was sent even though nothing is expected to be missing", () => {
        const v = verdict(parseProbeOutput(START), { client: "cluster1", expectedClusters: [] });
        assert.equal(v.ok, false);
    });
});

describe("classifyProbeResponse", () => {
    for (const [name, raw] of Object.entries(RAW)) {
        it(`${name} → ${raw.expect}`, () => {
            const r = classifyProbeResponse(raw.out);
            if (raw.expect === "answer") {
                assert.deepEqual(r, { kind: "answer", server: raw.server });
            } else {
                assert.equal(r.kind, "error");
                assert.equal(r.kind === "error" && r.errorClass, raw.expect);
            }
        });
    }

    it("explains with kubectl's summary line, not its klog noise", () => {
        const r = classifyProbeResponse(RAW.kubectlUnreachable.out);
        assert.equal(
            r.kind === "error" && r.detail,
            "Unable to connect to the server: dial tcp 192.0.2.10:6443: i/o timeout",
        );
    });

    it("prefixes non-200 statuses and skips kubectl's exit-code trailer", () => {
        const nf = classifyProbeResponse(RAW.notFound.out);
        assert.equal(nf.kind === "error" && nf.detail, "HTTP 404: Not Found");
        const dns = classifyProbeResponse(RAW.curlDns.out);
        assert.equal(dns.kind === "error" && dns.detail, "curl: (6) Could not resolve host: helloworld.mesh-verify");
    });
});

describe("helpers", () => {
    it("quotes for bash", () => {
        assert.equal(shellQuote("a'b"), `'a'\\''b'`);
        const r = spawnSync("/bin/bash", ["-c", `printf '%s' ${shellQuote("it's $HOME `x` \\n")}`]);
        assert.equal(r.stdout.toString(), "it's $HOME `x` \\n");
    });

    it("pastes a literal context, or $CTX_<CLUSTER> when unknown", () => {
        assert.equal(contextFlag("c1", { c1: "kind-c1" }), "--context='kind-c1'");
        assert.equal(contextFlag("eu-west-1"), '--context="$CTX_EU_WEST_1"');
    });

    it("builds kubectl invocations for file and content kubeconfigs", () => {
        assert.equal(kubectlCommand({ kind: "file" }), "kubectl");
        assert.equal(
            kubectlCommand({ kind: "file", path: "/k/config", context: "ctx" }),
            "kubectl --kubeconfig '/k/config' --context 'ctx'",
        );
        assert.equal(kubectlCommand({ kind: "file", path: "~/.kube/c" }), `kubectl --kubeconfig "$HOME"/'.kube/c'`);
        assert.equal(
            kubectlCommand({ kind: "content", envVar: "KC", context: "ctx" }),
            `kubectl --kubeconfig <(printf '%s' "$KC") --context 'ctx'`,
        );
    });

    it("calls the Service in the workloads' own namespace", () => {
        assert.equal(helloworldUrl("mesh-verify"), "http://helloworld.mesh-verify:5000/hello");
    });

    it("has a one-line hint for every error class", () => {
        const hints = failureHints(OPTS);
        for (const c of [...PROBE_ERROR_CLASSES, "undiscovered" as const]) {
            assert.ok(hints[c].length > 20, c);
            assert.ok(!hints[c].includes("\n"), c);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// The generated script.

const BASE: ProbeScriptOptions = {
    client: "cluster1",
    expectedClusters: ["cluster1", "cluster2"],
    namespace: "mesh-verify",
    requests: 4,
    // Passing runs end after `requests`; the budget only bounds a broken run (a loaded CI machine is slow).
    timeoutSeconds: 60,
    requestTimeoutSeconds: 2,
    kubeconfig: { kind: "file", path: "/nonexistent/kubeconfig", context: "kind-cluster1" },
};

// Stand-in for kubectl: `config view` proves it could read --kubeconfig (and records what it read),
// `rollout status` succeeds unless told otherwise, `exec` replays the recorded responses in turn.
const FAKE_KUBECTL = String.raw`#!/bin/bash
all=" $* "; kc=''
while (( $# )); do case $1 in --kubeconfig) kc=$2; shift 2;; *) shift;; esac; done
if [[ $all == *" config view "* ]]; then
    [[ -n ${"$"}{FAKE_CONFIG_FAIL:-} ]] && { echo "error: current-context must exist in order to minify" >&2; exit 1; }
    if [[ -n $kc ]]; then
        printf '%s' "$kc" > "$FAKE_DIR/kubeconfig-path"
        cat "$kc" > "$FAKE_DIR/kubeconfig-content" 2>/dev/null
    fi
    printf 'https://192.0.2.1:6443'; exit 0
fi
if [[ $all == *" rollout status "* ]]; then
    [[ -n ${"$"}{FAKE_ROLLOUT_FAIL:-} ]] && { echo 'error: timed out waiting for the condition' >&2; exit 1; }
    echo 'deployment "curl" successfully rolled out'; exit 0
fi
if [[ $all == *" exec "* ]]; then
    [[ -f $FAKE_DIR/exec-args ]] || printf '%s' "$all" > "$FAKE_DIR/exec-args"
    n=$(( $(cat "$FAKE_DIR/n" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$FAKE_DIR/n"
    count=$(cat "$FAKE_DIR/count"); i=$(( (n - 1) % count + 1 ))
    cat "$FAKE_DIR/resp.$i"; exit "$(cat "$FAKE_DIR/rc.$i")"
fi
echo "unexpected kubectl call: $all" >&2; exit 99
`;

const workDirs: string[] = [];
after(() => workDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface ProbeRun {
    stdout: string;
    stderr: string;
    status: number;
    dir: string;
}

/** Runs the script the way the Command does: bash -c 'eval "$MESH_VERIFY_PROBE"'. */
function runProbe(
    options: ProbeScriptOptions,
    responses: readonly { out: string; rc: number }[],
    env: Record<string, string> = {},
): Promise<ProbeRun> {
    const dir = mkdtempSync(join(tmpdir(), "meshprobe-"));
    workDirs.push(dir);
    writeFileSync(join(dir, "kubectl"), FAKE_KUBECTL);
    chmodSync(join(dir, "kubectl"), 0o755);
    writeFileSync(join(dir, "count"), String(responses.length));
    responses.forEach((r, i) => {
        writeFileSync(join(dir, `resp.${i + 1}`), r.out);
        writeFileSync(join(dir, `rc.${i + 1}`), String(r.rc));
    });
    const script = buildProbeScript(options);
    return new Promise((resolve) => {
        // stdin must not be a socket (node's default): bash would then take itself for an sshd child
        // and source ~/.bashrc. The Command provider starts bash with plain pipes.
        const child = spawn("/bin/bash", ["-c", 'eval "$MESH_VERIFY_PROBE"'], {
            env: { PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, MESH_VERIFY_PROBE: script, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ stdout, stderr, status: code ?? -1, dir }));
    });
}

describe("buildProbeScript", () => {
    it("is valid bash", () => {
        for (const kubeconfig of [
            BASE.kubeconfig,
            { kind: "content" as const, envVar: "MESH_VERIFY_KUBECONFIG" },
            { kind: "file" as const },
        ]) {
            const r = spawnSync("/bin/bash", ["-n"], { input: buildProbeScript({ ...BASE, kubeconfig }) });
            assert.equal(r.status, 0, r.stderr.toString());
        }
    });

    const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
    it("passes shellcheck (warnings and errors)", { skip: !shellcheck && "shellcheck not installed" }, () => {
        const script = buildProbeScript({ ...BASE, kubeconfig: { kind: "content", envVar: "MESH_VERIFY_KUBECONFIG" } });
        const r = spawnSync("shellcheck", ["-s", "bash", "-S", "warning", "-"], { input: script });
        assert.equal(r.status, 0, r.stdout.toString());
    });

    it("rejects bad options with the config path to fix", () => {
        assert.throws(
            () => buildProbeScript({ ...BASE, requests: 0 }),
            /verification\.requests must be a positive integer/,
        );
        assert.throws(() => buildProbeScript({ ...BASE, timeoutSeconds: 1.5 }), /verification\.timeoutSeconds/);
        assert.throws(() => buildProbeScript({ ...BASE, namespace: "Bad_NS" }), /verification\.namespace "Bad_NS"/);
        assert.throws(() => buildProbeScript({ ...BASE, expectedClusters: [] }), /expectedClusters is empty/);
        assert.throws(
            () => buildProbeScript({ ...BASE, kubeconfig: { kind: "content", envVar: "1; rm -rf /" } }),
            /not a valid environment variable name/,
        );
    });

    it("refers to kubeconfig content only through the environment variable", () => {
        const script = buildProbeScript({ ...BASE, kubeconfig: { kind: "content", envVar: "MESH_VERIFY_KUBECONFIG" } });
        assert.match(script, /k\(\) \{ kubectl --kubeconfig <\(printf '%s' "\$MESH_VERIFY_KUBECONFIG"\) "\$@"; \}/);
    });
});

describe("the generated script, run against recorded responses", () => {
    // The corpus ends with cluster3's answer, so the run stops right after the last recorded response.
    const answer3 = { out: RAW.answer1.out.replace(/cluster1/g, "cluster3"), rc: 0 };
    const corpus = [...Object.values(RAW), answer3];
    const expectedOf = (seq: number) => corpus[(seq - 1) % corpus.length];
    // The probes run in parallel. Failing ones retry until their budget is spent, so their budget is
    // short and the assertions compare with what they actually printed, whatever the machine's speed.
    const runs = {
        corpus: runProbe(
            { ...BASE, expectedClusters: ["cluster1", "cluster2", "cluster3"], requests: corpus.length },
            corpus,
        ),
        mixedFailure: runProbe({ ...BASE, timeoutSeconds: 2 }, [RAW.answer1, RAW.tlsUnknownCa, RAW.curlTimeout]),
        allAnswered: runProbe(BASE, [RAW.answer1, RAW.answer2]),
        undiscovered: runProbe({ ...BASE, timeoutSeconds: 2, multiNetwork: true }, [RAW.answer1]),
        content: runProbe(
            { ...BASE, kubeconfig: { kind: "content", envVar: "MESH_VERIFY_KUBECONFIG" } },
            [RAW.answer2, RAW.answer1],
            { MESH_VERIFY_KUBECONFIG: "apiVersion: v1\nkind: Config\n# secret-marker-7f3a\n" },
        ),
        dispatcher: runProbe(
            { ...BASE, kubeconfig: { kind: "content", envVar: "MESH_VERIFY_KUBECONFIG" } },
            [RAW.answer1],
            { MESH_VERIFY_KUBECONFIG: "x", FAKE_CONFIG_FAIL: "1" },
        ),
        rollout: runProbe(BASE, [RAW.answer1], { FAKE_ROLLOUT_FAIL: "1" }),
    };

    it("classifies every recorded response exactly as classifyProbeResponse does", async () => {
        const run = await runs.corpus;
        assert.equal(run.status, 0, run.stderr);
        const lines = run.stdout.split("\n").filter((l) => /^MESHPROBE (answer|error) /.test(l));
        assert.equal(lines.length, corpus.length, run.stderr);
        for (const line of lines) {
            const seq = Number(/seq=(\d+)/.exec(line)![1]);
            const ts = classifyProbeResponse(expectedOf(seq).out);
            if (ts.kind === "answer") {
                assert.equal(line, `MESHPROBE answer seq=${seq} server=${ts.server}`);
            } else {
                assert.equal(
                    line,
                    `MESHPROBE error seq=${seq} class=${ts.errorClass} http=${ts.httpCode} detail=${ts.detail}`,
                );
            }
        }
        // Every class a response can produce has its hint when judged against a cluster that never answered.
        const v = verdict(parseProbeOutput(run.stdout), {
            client: "cluster1",
            expectedClusters: ["cluster1", "cluster2", "cluster3", "cluster4"],
        });
        assert.deepEqual(v.missing, ["cluster4"]);
        for (const c of ["exec", "tls", "no-healthy-upstream", "dns", "timeout", "connection", "other"]) {
            assert.match(v.message, new RegExp(`^  - ${c}: `, "m"));
        }
    });

    it("exits 1 and prints the same verdict message as verdict() when a cluster never answered", async () => {
        const run = await runs.mixedFailure;
        assert.equal(run.status, 1);
        const r = parseProbeOutput(run.stdout);
        assert.ok(r.requests >= 1);
        const v = verdict(r, OPTS);
        assert.equal(v.ok, false);
        assert.deepEqual(v.missing, ["cluster2"]);
        assert.ok(run.stderr.includes(v.message), `stderr:\n${run.stderr}\n---\nexpected:\n${v.message}`);
        assert.match(run.stdout, /^MESHPROBE verdict fail missing=cluster2$/m);
        assert.match(run.stderr, /time budget of 2 s spent/);
    });

    it("sends the documented request through kubectl exec in the client's curl container", async () => {
        const run = await runs.corpus;
        const args = readFileSync(join(run.dir, "exec-args"), "utf8");
        assert.match(args, /--kubeconfig \/nonexistent\/kubeconfig --context kind-cluster1 /);
        assert.match(args, / -n mesh-verify exec deployment\/curl -c curl /);
        assert.match(args, / -- curl -sS --max-time 2 -w .* http:\/\/helloworld\.mesh-verify:5000\/hello /);
    });

    it("exits 0 after the minimum number of requests once every cluster answered", async () => {
        const run = await runs.allAnswered;
        assert.equal(run.status, 0, run.stderr);
        const r = parseProbeOutput(run.stdout);
        assert.deepEqual(r.answers, { cluster1: 2, cluster2: 2 });
        assert.equal(r.requests, 4);
        assert.equal(r.scriptVerdict, "ok");
        assert.ok(run.stderr.includes(verdict(r, OPTS).message));
    });

    it("keeps retrying until the budget, then explains a cluster whose endpoints never arrived", async () => {
        const run = await runs.undiscovered;
        assert.equal(run.status, 1);
        const r = parseProbeOutput(run.stdout);
        assert.ok(r.requests >= 1);
        assert.match(run.stderr, /time budget of 2 s spent/);
        const v = verdict(r, { ...OPTS, multiNetwork: true });
        assert.ok(run.stderr.includes(v.message), run.stderr);
        assert.match(run.stderr, /Errors: none\.\nCheck first:\n {2}- cluster1's istiod does not give cluster1/);
    });

    it("hands secret kubeconfig content to kubectl through a pipe, never a file", async () => {
        const run = await runs.content;
        assert.equal(run.status, 0, run.stderr);
        assert.match(readFileSync(join(run.dir, "kubeconfig-path"), "utf8"), /^\/(dev\/fd|proc\/self\/fd)\/\d+$/);
        assert.equal(
            readFileSync(join(run.dir, "kubeconfig-content"), "utf8"),
            "apiVersion: v1\nkind: Config\n# secret-marker-7f3a\n",
        );
        assert.ok(!run.stdout.includes("secret-marker") && !run.stderr.includes("secret-marker"));
    });

    it("fails fast with the kubeconfig hint when kubectl cannot read the kubeconfig", async () => {
        const run = await runs.dispatcher;
        assert.equal(run.status, 1);
        const r = parseProbeOutput(run.stdout);
        assert.equal(r.requests, 0);
        assert.deepEqual(r.errors, { kubeconfig: 1 });
        assert.match(run.stderr, /- kubeconfig: .*Google Cloud SDK kubectl dispatcher/);
        assert.ok(run.stderr.includes(verdict(r, OPTS).message));
    });

    it("fails fast with the exec hint when the curl client never becomes ready", async () => {
        const run = await runs.rollout;
        assert.equal(run.status, 1);
        const r = parseProbeOutput(run.stdout);
        assert.deepEqual(r.errors, { exec: 1 });
        assert.equal(r.firstError.exec, "error: timed out waiting for the condition");
        assert.match(run.stderr, /- exec: kubectl could not run curl in cluster1/);
    });
});
