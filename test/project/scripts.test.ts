/**
 * The kind test-bed scripts: shellcheck (when installed), their prerequisite checks without Docker,
 * and the pure helpers of scripts/kind-lib.sh (address-pool carving, stack-file update).
 */
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as yaml from "js-yaml";

const repoRoot = path.resolve(__dirname, "..", "..");
const scriptsDir = path.join(repoRoot, "scripts");
const kindUp = path.join(scriptsDir, "kind-up.sh");
const kindDown = path.join(scriptsDir, "kind-down.sh");
const kindLib = path.join(scriptsDir, "kind-lib.sh");

/** Absolute path of an executable on the current PATH, or undefined. */
function which(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

const bash = which("bash");

function run(file: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
    assert.ok(bash, "bash is needed to run the scripts");
    return spawnSync(bash, [file, ...args], { env, encoding: "utf8", timeout: 20_000 });
}

/** Runs `source kind-lib.sh; <snippet>` with the normal PATH. */
function lib(snippet: string): SpawnSyncReturns<string> {
    assert.ok(bash, "bash is needed to run the scripts");
    return spawnSync(bash, ["-c", `set -euo pipefail; source "$1"; ${snippet}`, "lib", kindLib], {
        encoding: "utf8",
        timeout: 20_000,
    });
}

function tmpDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "kind-scripts-"));
}

/** A directory of stand-in commands, each a `/bin/sh` script with the given body. */
function stubBin(stubs: Record<string, string>): string {
    const dir = tmpDir();
    for (const [name, body] of Object.entries(stubs)) {
        fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    }
    return dir;
}

describe("scripts: shellcheck", () => {
    it("kind-up.sh, kind-down.sh, kind-lib.sh, bed-build.sh and .ci/run pass shellcheck", (t) => {
        const shellcheck = which("shellcheck");
        if (!shellcheck) {
            t.skip("shellcheck is not installed (Debian: apt-get install -y shellcheck)");
            return;
        }
        const bedBuild = path.join(repoRoot, "scripts", "bed-build.sh");
        const ciRun = path.join(repoRoot, ".ci", "run");
        const r = spawnSync(shellcheck, ["-x", kindUp, kindDown, kindLib, bedBuild, ciRun], {
            cwd: repoRoot,
            encoding: "utf8",
        });
        assert.equal(r.status, 0, `shellcheck found problems:\n${r.stdout}${r.stderr}`);
    });
});

describe("kind scripts: prerequisites", { skip: bash ? false : "bash is not installed" }, () => {
    it("kind-up.sh names every missing tool and exits 2 when docker, kind and kubectl are absent", () => {
        const emptyBin = tmpDir();
        const r = run(kindUp, [], { PATH: emptyBin, HOME: emptyBin });
        assert.equal(r.status, 2, `exit code; stderr:\n${r.stderr}`);
        assert.match(r.stderr, /required tool\(s\) not found on PATH: docker kind kubectl/);
        assert.match(r.stderr, /install Docker Engine or Docker Desktop/);
        assert.match(r.stderr, /install kind: https:\/\/kind\.sigs\.k8s\.io/);
        assert.equal(r.stdout, "");
    });

    it("kind-up.sh reports only what is missing (kind) when docker and kubectl are there", () => {
        const bin = stubBin({ docker: "exit 0", kubectl: "exit 0" });
        const r = run(kindUp, [], { PATH: bin, HOME: bin });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /not found on PATH: kind\n/);
        assert.doesNotMatch(r.stderr, /install kubectl/);
    });

    it("kind-up.sh exits 3 with advice when the Docker daemon does not answer", () => {
        const calls = path.join(tmpDir(), "calls");
        const bin = stubBin({
            docker: `echo "docker $*" >> "${calls}"; echo "Cannot connect to the Docker daemon" >&2; exit 1`,
            kind: `echo "kind $*" >> "${calls}"; exit 0`,
            kubectl: `echo "kubectl $*" >> "${calls}"; exit 0`,
        });
        const r = run(kindUp, [], { PATH: bin, HOME: bin });
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stderr, /Docker daemon is not running or not reachable/);
        assert.match(r.stderr, /systemctl start docker/);
        // Nothing was attempted after the failed check.
        assert.equal(fs.readFileSync(calls, "utf8"), "docker info\n");
    });

    it("kind-down.sh exits 2 naming docker and kind when they are absent", () => {
        const emptyBin = tmpDir();
        const r = run(kindDown, [], { PATH: emptyBin, HOME: emptyBin });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /not found on PATH: docker kind\n/);
    });

    it("kind-up.sh rejects a cluster name that is not a DNS-1123 label, and equal names (exit 64)", () => {
        const emptyBin = tmpDir();
        const bad = run(kindUp, [], { PATH: emptyBin, CLUSTER2_NAME: "Cluster_2" });
        assert.equal(bad.status, 64, bad.stderr);
        assert.match(bad.stderr, /cluster name 'Cluster_2' is not a DNS-1123 label/);
        const same = run(kindUp, [], { PATH: emptyBin, CLUSTER1_NAME: "a", CLUSTER2_NAME: "a" });
        assert.equal(same.status, 64, same.stderr);
        assert.match(same.stderr, /must differ/);
    });

    it("both scripts print their usage for --help and refuse unknown arguments", () => {
        for (const script of [kindUp, kindDown]) {
            const help = run(script, ["--help"], { PATH: process.env.PATH });
            assert.equal(help.status, 0, help.stderr);
            assert.match(help.stdout, /Exit codes: 0 done/);
            const unknown = run(script, ["--bogus"], { PATH: process.env.PATH });
            assert.equal(unknown.status, 64);
            assert.match(unknown.stderr, /unknown argument '--bogus'/);
        }
    });
});

describe("kind-lib.sh: carve_lb_ranges", { skip: bash ? false : "bash is not installed" }, () => {
    const carve = (args: string) => lib(`carve_lb_ranges ${args}`);

    it("uses the top /24 of the default kind subnet: .1-.50 and .51-.100", () => {
        const r = carve("172.18.0.0/16");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "172.18.255.1-172.18.255.50\n172.18.255.51-172.18.255.100\n");
    });

    it("normalises a host address to its subnet and handles other sizes", () => {
        assert.equal(carve("172.18.3.7/16").stdout, "172.18.255.1-172.18.255.50\n172.18.255.51-172.18.255.100\n");
        assert.equal(carve("10.96.0.0/12").stdout, "10.111.255.1-10.111.255.50\n10.111.255.51-10.111.255.100\n");
        // A /24 keeps the bottom half for Docker's containers.
        assert.equal(carve("192.168.80.0/24").stdout, "192.168.80.129-192.168.80.178\n192.168.80.179-192.168.80.228\n");
        assert.equal(
            carve("192.168.50.128/25").stdout,
            "192.168.50.193-192.168.50.223\n192.168.50.224-192.168.50.254\n",
        );
    });

    it("gives disjoint ranges inside the subnet, never its broadcast address, for many counts", () => {
        const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
        for (const [cidr, count] of [
            ["172.18.0.0/16", 5],
            ["172.18.0.0/16", 7],
            ["10.0.0.0/8", 3],
            ["192.168.1.0/24", 4],
            ["192.168.1.0/28", 2],
        ] as const) {
            const r = carve(`${cidr} ${count}`);
            assert.equal(r.status, 0, r.stderr);
            const [base, prefix] = cidr.split("/");
            const lo = toInt(base);
            const hi = lo + 2 ** (32 - Number(prefix)) - 1;
            const ranges = r.stdout
                .trim()
                .split("\n")
                .map((l) => l.split("-").map(toInt));
            assert.equal(ranges.length, count);
            let previousEnd = lo;
            for (const [first, last] of ranges) {
                assert.ok(first > previousEnd && first <= last && last < hi, `${cidr}: ${r.stdout}`);
                previousEnd = last;
            }
        }
    });

    it("fails clearly on IPv6, malformed input and subnets too small", () => {
        for (const bad of ["fd00::/64", "300.1.1.1/16", "172.18.0.0", "172.18.0.0/33"]) {
            const r = carve(bad);
            assert.notEqual(r.status, 0, bad);
            assert.match(r.stderr, /not an IPv4 subnet in CIDR notation/);
        }
        const small = carve("10.0.0.0/30");
        assert.notEqual(small.status, 0);
        assert.match(small.stderr, /too small/);
    });

    it("picks the IPv4 subnet of a dual-stack kind network", () => {
        const r = lib(`first_ipv4_subnet "fc00:f853:ccd:e793::/64 172.18.0.0/16 "`);
        assert.equal(r.stdout, "172.18.0.0/16\n");
        assert.notEqual(lib(`first_ipv4_subnet "fc00::/64"`).status, 0);
    });
});

describe(
    "kind-lib.sh: set_stack_api_server on Pulumi.kind.yaml",
    { skip: bash ? false : "bash is not installed" },
    () => {
        function copyOfStack(): string {
            const file = path.join(tmpDir(), "Pulumi.kind.yaml");
            fs.copyFileSync(path.join(repoRoot, "Pulumi.kind.yaml"), file);
            return file;
        }
        type Cluster = { name: string; apiServer?: string };
        const clustersOf = (text: string): Cluster[] =>
            (yaml.load(text) as { config: Record<string, Cluster[]> }).config["istio-multicluster:clusters"];
        /** The commented primary-remote variant, uncommented. */
        const variantOf = (text: string): Cluster[] => {
            const lines = text.split("\n");
            const begin = lines.findIndex((l) => l.includes("primary-remote variant (begin)"));
            const end = lines.findIndex((l) => l.includes("primary-remote variant (end)"));
            const body = lines.slice(begin + 1, end).filter((l) => l.startsWith("#   "));
            return clustersOf(`config:\n${body.map((l) => l.slice(2)).join("\n")}`);
        };

        it("writes each cluster's URL into the active list and the commented variant, and nothing else", () => {
            const file = copyOfStack();
            const before = fs.readFileSync(file, "utf8");
            fs.chmodSync(file, 0o640);
            const r = lib(
                `set_stack_api_server "${file}" cluster1 https://172.18.0.3:6443 && ` +
                    `set_stack_api_server "${file}" cluster2 https://172.18.0.2:6443`,
            );
            assert.equal(r.status, 0, r.stderr);
            const after = fs.readFileSync(file, "utf8");
            for (const clusters of [clustersOf(after), variantOf(after)]) {
                assert.deepEqual(
                    clusters.map((c) => [c.name, c.apiServer]),
                    [
                        ["cluster1", "https://172.18.0.3:6443"],
                        ["cluster2", "https://172.18.0.2:6443"],
                    ],
                );
            }
            const changed = after.split("\n").filter((l, i) => l !== before.split("\n")[i]);
            assert.equal(changed.length, 4, changed.join("\n"));
            assert.ok(
                changed.every((l) => /apiServer: https:\/\/172\.18\.0\.[23]:6443 # kind-up: cluster[12]$/.test(l)),
            );
            assert.equal(fs.statSync(file).mode & 0o777, 0o640);
            // Running again with a new address replaces the old one (idempotent re-runs of kind-up.sh).
            assert.equal(lib(`set_stack_api_server "${file}" cluster1 https://172.18.0.9:6443`).status, 0);
            assert.equal(clustersOf(fs.readFileSync(file, "utf8"))[0].apiServer, "https://172.18.0.9:6443");
        });

        it("returns non-zero and leaves the file alone for an unknown cluster or a bad URL", () => {
            const file = copyOfStack();
            const before = fs.readFileSync(file, "utf8");
            assert.notEqual(lib(`set_stack_api_server "${file}" cluster3 https://172.18.0.4:6443`).status, 0);
            assert.notEqual(lib(`set_stack_api_server "${file}" cluster1 'https://x|y:6443'`).status, 0);
            assert.notEqual(lib(`set_stack_api_server "${file}" cluster1 http://172.18.0.4:6443`).status, 0);
            assert.equal(fs.readFileSync(file, "utf8"), before);
            assert.deepEqual(
                fs.readdirSync(path.dirname(file)),
                ["Pulumi.kind.yaml"],
                "no temporary file is left behind",
            );
        });
    },
);
