/**
 * The GitHub workflows: valid YAML, the pull-request preview wired to the policy pack with every
 * dependency installed first, and CI running exactly the repository's own `.ci/run`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as yaml from "js-yaml";

const ROOT = path.join(__dirname, "..", "..");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    needs?: string | string[];
    steps: Step[];
    strategy?: { matrix?: { include?: Record<string, string>[] } };
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    env?: Record<string, string>;
    jobs: Record<string, Job>;
}

function load(file: string): Workflow {
    return yaml.load(fs.readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8")) as Workflow;
}

function indexOf(steps: Step[], match: (s: Step) => boolean, what: string): number {
    const i = steps.findIndex(match);
    assert.ok(i >= 0, `no step ${what}`);
    return i;
}

describe("ci.yml", () => {
    it("parses and runs .ci/run on pushes and pull requests", () => {
        const wf = load("ci.yml");
        assert.ok("push" in wf.on && "pull_request" in wf.on);
        const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run).filter(Boolean));
        assert.deepEqual(runs, ["bash .ci/run"]);
        assert.ok(fs.existsSync(path.join(ROOT, ".ci", "run")));
    });

    it("uses a Node version the package accepts", () => {
        const engines = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).engines.node as string;
        const minimum = Number(/>=\s*(\d+)/.exec(engines)![1]);
        for (const file of ["ci.yml", "preview.yml"]) {
            for (const job of Object.values(load(file).jobs)) {
                for (const s of job.steps.filter((x) => x.uses?.startsWith("actions/setup-node"))) {
                    assert.ok(Number(s.with!["node-version"]) >= minimum, `${file}: node-version`);
                }
            }
        }
    });
});

describe("preview.yml", () => {
    const wf = load("preview.yml");
    const preview = wf.jobs["preview"];
    const steps = preview.steps;

    it("previews on pull requests and may comment on them", () => {
        assert.ok("pull_request" in wf.on);
        assert.equal(wf.permissions?.["pull-requests"], "write");
    });

    it("runs pulumi/actions v7 preview with the policy pack, a PR comment and the matrix stack", () => {
        const action = steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command);
        assert.ok(action, "no pulumi/actions step with a command");
        assert.equal(action.uses, "pulumi/actions@v7");
        assert.equal(action.with!.command, "preview");
        assert.equal(action.with!["comment-on-pr"], true);
        assert.equal(action.with!.policyPacks, "policies");
        assert.equal(action.with!["stack-name"], "${{ matrix.stack }}");
        assert.ok(fs.existsSync(path.join(ROOT, "policies", "PulumiPolicy.yaml")));
    });

    it("installs program and pack dependencies, and runs the tests, before previewing", () => {
        const previewAt = indexOf(steps, (s) => s.with?.command === "preview", "preview");
        assert.ok(indexOf(steps, (s) => s.run === "npm ci", "npm ci") < previewAt);
        assert.ok(indexOf(steps, (s) => s.run === "npm ci --prefix policies", "npm ci --prefix policies") < previewAt);
        assert.ok(indexOf(steps, (s) => !!s.uses?.startsWith("actions/setup-node"), "setup-node") < previewAt);
        const test = wf.jobs["test"];
        assert.equal(preview.needs, "test");
        assert.ok(test.steps.some((s) => s.run === "npm test"));
        assert.ok(
            test.steps.findIndex((s) => s.run === "npm ci --prefix policies") <
                test.steps.findIndex((s) => s.run === "npm test"),
        );
    });

    it("hands kubeconfigs to Pulumi as secret config through a pipe, never a file", () => {
        const step = steps.find((s) => s.env?.KUBECONFIGS);
        assert.ok(step, "no kubeconfig step");
        assert.equal(step.env!.KUBECONFIGS, "${{ secrets[matrix.kubeconfigs] }}");
        const script = step.run!;
        assert.match(script, /\|\s*pulumi config set --secret --path "kubeconfigs\.\$\{cluster\}"/);
        assert.doesNotMatch(script, /(^|[^2])>\s*[^&]/m, "no redirection into a file");
        assert.doesNotMatch(script, /<<</, "no here-string (bash may back it with a temporary file)");
        // A cluster with both a file and secret content is refused by config validation.
        assert.match(script, /pulumi config rm --path "clusters\[\$\{index\}\]\.kubeconfig"/);
        for (const entry of preview.strategy!.matrix!.include!) {
            assert.ok(fs.existsSync(path.join(ROOT, `Pulumi.${entry.stack}.yaml`)), `stack file for ${entry.stack}`);
            assert.match(entry.kubeconfigs, /^[A-Z0-9_]+$/, "a valid GitHub secret name");
        }
    });

    it("names the backend credentials in the environment", () => {
        for (const key of ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) {
            assert.ok(wf.env && key in wf.env, key);
        }
    });

    const hasJq = spawnSync("jq", ["--version"]).status === 0;
    it(
        "its kubeconfig script sets one secret per cluster and drops the file paths of those clusters",
        { skip: hasJq ? false : "needs jq (present on GitHub's runners)" },
        () => {
            const script = steps.find((s) => s.env?.KUBECONFIGS)!.run!;
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-step-"));
            try {
                // A stand-in for the Pulumi CLI: answers `config get clusters`, logs every call and
                // what arrived on stdin.
                const log = path.join(dir, "calls.log");
                const clusters = [
                    { name: "cluster1", kubeconfig: "~/.kube/multiconf", context: "a" },
                    { name: "cluster2", kubeconfig: "~/.kube/multiconf", context: "b" },
                    { name: "cluster3" },
                ];
                const stub = [
                    "#!/usr/bin/env bash",
                    `echo "ARGS $*" >> ${JSON.stringify(log)}`,
                    'if [ "$1 $2" = "config get" ]; then',
                    `  printf '%s' ${JSON.stringify(JSON.stringify({ value: JSON.stringify(clusters), secret: false }))}`,
                    'elif [ "$1 $2" = "config set" ]; then',
                    `  echo "STDIN $(cat)" >> ${JSON.stringify(log)}`,
                    "fi",
                ].join("\n");
                fs.writeFileSync(path.join(dir, "pulumi"), stub, { mode: 0o755 });
                const kubeconfigs = {
                    cluster1: "apiVersion: v1\nkind: Config\n# one",
                    cluster3: "kind: Config # three",
                };
                // cwd and TMPDIR in the scratch directory: any file the script (or bash) wrote would show up there.
                const run = spawnSync("bash", ["-c", script], {
                    cwd: dir,
                    env: {
                        TMPDIR: dir,
                        PATH: `${dir}:${process.env.PATH}`,
                        KUBECONFIGS: JSON.stringify(kubeconfigs),
                        STACK: "dev",
                        SECRET_NAME: "KUBECONFIGS_DEV",
                    },
                    encoding: "utf8",
                });
                assert.equal(run.status, 0, run.stderr);
                const calls = fs.readFileSync(log, "utf8");
                assert.equal(
                    calls,
                    [
                        "ARGS config get clusters --json --stack dev",
                        "ARGS config rm --path clusters[0].kubeconfig --stack dev",
                        "ARGS config set --secret --path kubeconfigs.cluster1 --stack dev",
                        "STDIN apiVersion: v1",
                        "kind: Config",
                        "# one",
                        "ARGS config set --secret --path kubeconfigs.cluster3 --stack dev",
                        "STDIN kind: Config # three",
                        "",
                    ].join("\n"),
                );
                assert.deepEqual(
                    fs.readdirSync(dir).sort(),
                    ["calls.log", "pulumi"],
                    "the script wrote no file of its own",
                );
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    );

    it("fails clearly when the stack's kubeconfig secret is missing", { skip: !hasJq }, () => {
        const script = steps.find((s) => s.env?.KUBECONFIGS)!.run!;
        const run = spawnSync("bash", ["-c", script], {
            env: { PATH: process.env.PATH, KUBECONFIGS: "", STACK: "dev", SECRET_NAME: "KUBECONFIGS_DEV" },
            encoding: "utf8",
        });
        assert.equal(run.status, 1);
        assert.match(run.stdout, /::error::secret KUBECONFIGS_DEV is empty or missing/);
    });
});

describe("preview.yml mesh diagram step", () => {
    const steps = load("preview.yml").jobs.preview.steps;
    const script = steps.find((s) => s.name === "Mesh diagram of the change")?.run;

    it("runs before the preview, with the pull request's number, base branch and a token", () => {
        const diagram = indexOf(steps, (s) => s.name === "Mesh diagram of the change", "drawing the diagram");
        const preview = indexOf(steps, (s) => s.with?.command === "preview", "previewing");
        assert.ok(diagram < preview);
        const env = steps[diagram].env!;
        assert.equal(env.BASE_REF, "${{ github.base_ref }}");
        assert.equal(env.PR_NUMBER, "${{ github.event.pull_request.number }}");
        assert.equal(env.GH_TOKEN, "${{ secrets.GITHUB_TOKEN }}");
    });

    const git = (cwd: string, ...args: string[]) => {
        const r = spawnSync("git", args, { cwd, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    };

    it("comments the diagram of the base branch's stack file against the pull request's", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-step-"));
        try {
            // The base branch in an "origin" repository, the pull request in a clone of it.
            const origin = path.join(dir, "origin");
            const work = path.join(dir, "work");
            fs.mkdirSync(origin);
            git(origin, "init", "-q", "-b", "main");
            fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(origin, "Pulumi.dev.yaml"));
            git(origin, "add", ".");
            git(origin, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base");
            git(dir, "clone", "-q", origin, work);
            const stack = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
            fs.writeFileSync(path.join(work, "Pulumi.dev.yaml"), stack.replace(/\bcluster2\b/g, "cluster3"));
            // Stand-ins: npm runs the repository's own diagram script; gh records the comment.
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            const tsx = require.resolve("tsx");
            const npm = [
                "#!/usr/bin/env bash",
                'shift 3; [ "$1" = "--" ] && shift',
                `exec node --import ${JSON.stringify(tsx)} ${JSON.stringify(path.join(ROOT, "scripts", "diagram-diff.ts"))} "$@"`,
            ].join("\n");
            fs.writeFileSync(path.join(bin, "npm"), npm, { mode: 0o755 });
            const comment = path.join(dir, "comment.md");
            fs.writeFileSync(
                path.join(bin, "gh"),
                `#!/usr/bin/env bash\necho "$*" > ${JSON.stringify(`${comment}.args`)}\ncp "$5" ${JSON.stringify(comment)}\n`,
                { mode: 0o755 },
            );
            const run = spawnSync("bash", ["-c", script!], {
                cwd: work,
                env: { PATH: `${bin}:${process.env.PATH}`, STACK: "dev", BASE_REF: "main", PR_NUMBER: "7", HOME: dir },
                encoding: "utf8",
            });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(fs.readFileSync(`${comment}.args`, "utf8").trim(), "pr comment 7 --body-file diagram.md");
            const body = fs.readFileSync(comment, "utf8");
            assert.match(body, /### Mesh diagram of stack `dev`/);
            assert.match(body, /Clusters added: `cluster3`; removed: `cluster2`; changed: `cluster1`/);
            assert.match(body, /class c_cluster2 removed/);
            assert.match(body, /class c_cluster3 added/);
            assert.ok(!fs.existsSync(path.join(work, "diagram.md")), "the comment file is removed");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
