/**
 * The newcomer docs stay in step with the code: architecture.md names every component and source
 * file, links between docs resolve (files and #anchors), and the commands the quickstart and the
 * troubleshooting guide tell people to run exist.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { anchorsOf } from "../markdown";

const repoRoot = path.resolve(__dirname, "..", "..");
const docsDir = path.join(repoRoot, "docs");
const read = (rel: string) => fs.readFileSync(path.join(repoRoot, rel), "utf8");
/** Every source file under components/, as paths relative to components/. */
const componentFiles = (fs.readdirSync(path.join(repoRoot, "components"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.split(path.sep).join("/"))
    .sort();

describe("docs/architecture.md", () => {
    const doc = read("docs/architecture.md");

    it("names every component type token registered in components/", () => {
        const tokens = componentFiles.flatMap((f) =>
            [...read(`components/${f}`).matchAll(/super\(\s*"(istio-multicluster:[a-z]+:[A-Za-z]+)"/g)].map(
                (m) => m[1],
            ),
        );
        assert.ok(tokens.length >= 5, `found only ${tokens.length} component tokens`);
        const missing = tokens.filter((t) => !doc.includes(t) && !doc.includes(t.split(":")[2]));
        assert.deepEqual(missing, [], "component types missing from docs/architecture.md");
    });

    it("lists every file of components/ in the folder layout", () => {
        const missing = componentFiles.filter((f) => !doc.includes(path.posix.basename(f)));
        assert.deepEqual(missing, [], "components/ files missing from docs/architecture.md");
    });

    it("has exactly one Mermaid dependency graph", () => {
        assert.equal([...doc.matchAll(/```mermaid\n/g)].length, 1);
        assert.match(doc, /```mermaid\nflowchart /);
    });
});

describe("docs: links", () => {
    for (const file of ["quickstart.md", "architecture.md", "troubleshooting.md"]) {
        it(`every relative link of ${file} resolves, including #anchors`, () => {
            const text = fs.readFileSync(path.join(docsDir, file), "utf8");
            const problems: string[] = [];
            for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                if (/^[a-z]+:/.test(target)) continue;
                const [rel, anchor] = target.split("#");
                const linked = rel ? path.join(docsDir, rel) : path.join(docsDir, file);
                if (!fs.existsSync(linked)) {
                    problems.push(`${target}: no such file`);
                    continue;
                }
                if (anchor && linked.endsWith(".md") && !anchorsOf(fs.readFileSync(linked, "utf8")).has(anchor)) {
                    problems.push(`${target}: no such heading`);
                }
            }
            assert.deepEqual(problems, []);
        });
    }
});

describe("docs: source paths", () => {
    const pages = [
        "README.md",
        ...fs
            .readdirSync(docsDir)
            .filter((f) => f.endsWith(".md"))
            .map((f) => `docs/${f}`),
    ];
    for (const page of pages) {
        it(`${page}: every components/, test/, policies/ and scripts/ file it names exists`, () => {
            const named = [
                ...read(page).matchAll(/\b((?:components|test|policies|scripts|bench)\/[\w./-]+\.(?:ts|sh))\b/g),
            ].map((m) => m[1]);
            assert.deepEqual(
                [...new Set(named)].filter((f) => !fs.existsSync(path.join(repoRoot, f))),
                [],
                "files named in the page that do not exist (moved or renamed?)",
            );
        });
    }
});

describe("docs: commands exist", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);

    for (const file of ["docs/quickstart.md", "docs/troubleshooting.md", "docs/architecture.md"]) {
        it(`${file}: every npm run script and scripts/ file it mentions exists`, () => {
            const text = read(file);
            const npmRuns = [...text.matchAll(/npm run ([\w-]+(?::[\w-]+)*)/g)].map((m) => m[1]);
            assert.deepEqual(
                npmRuns.filter((s) => !scripts.includes(s)),
                [],
                "npm scripts missing from package.json",
            );
            const files = [...text.matchAll(/scripts\/([\w.-]+\.(?:sh|ts))/g)].map((m) => m[1]);
            assert.deepEqual(
                files.filter((f) => !fs.existsSync(path.join(repoRoot, "scripts", f))),
                [],
                "scripts/ files that do not exist",
            );
        });
    }

    it("the quickstart lists the same kind-up.sh exit codes as the script", () => {
        const header = read("scripts/kind-up.sh").split("\nset -euo pipefail")[0];
        const scriptPart = header.slice(header.indexOf("Exit codes:")).replace(/\n#/g, " ");
        const scriptCodes = [...scriptPart.matchAll(/(?:Exit codes:|;)\s+(\d+)\s/g)].map((m) => m[1]);
        const quickstart = read("docs/quickstart.md").replace(/\n/g, " ");
        const sentence = quickstart.slice(quickstart.indexOf("exit codes:"), quickstart.indexOf("exit codes:") + 300);
        const docCodes = [...sentence.matchAll(/`(\d+)`/g)].map((m) => m[1]);
        assert.deepEqual(scriptCodes, ["0", "1", "2", "3", "64"]);
        assert.deepEqual(docCodes, scriptCodes);
    });
});
