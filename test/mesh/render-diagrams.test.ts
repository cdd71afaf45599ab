/**
 * `npm run render:diagrams`: the pages it hands to Chromium, what it reads back, and (where
 * Debian's chromium is installed) one real rendering of the dev stack's diagram.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
    chromiumArgs,
    diagramFileStem,
    diagramSources,
    layoutPage,
    photoPage,
    renderedSvg,
    svgSize,
} from "../../scripts/render-diagrams";
import { exampleStackFiles } from "../../scripts/docs-diagrams";

const ROOT = path.join(__dirname, "..", "..");
const chromium = process.env.CHROMIUM ?? "chromium";
const hasChromium = spawnSync(chromium, ["--version"], { encoding: "utf8" }).status === 0;

describe("render:diagrams", () => {
    it("names each picture after its stack file", () => {
        assert.equal(diagramFileStem("Pulumi.dev.yaml"), "dev");
        assert.equal(diagramFileStem("examples/Pulumi.mixed.yaml"), "examples-mixed");
        assert.equal(diagramFileStem("examples/Pulumi.primary-remote.yml"), "examples-primary-remote");
    });

    it("draws every example stack and the generated 20-cluster meshes, each under its own name", () => {
        const sources = diagramSources(ROOT);
        const names = sources.map((s) => s.name);
        assert.deepEqual(names.slice(0, -2), exampleStackFiles(ROOT).map(diagramFileStem));
        assert.deepEqual(names.slice(-2), ["generated-multi-primary-20", "generated-primary-remote-20"]);
        assert.equal(new Set(names).size, names.length);
        for (const s of sources) assert.match(s.mermaid, /^flowchart LR\n/);
    });

    it("hands Mermaid the diagram as text, at its natural size", () => {
        const page = layoutPage('flowchart LR\n  a["<b>a</b> & b"] --> c', "file:///m/mermaid.min.js");
        assert.match(
            page,
            /<pre class="mermaid">flowchart LR\n {2}a\["&lt;b&gt;a&lt;\/b&gt; &amp; b"\] --&gt; c<\/pre>/,
        );
        assert.match(page, /<script src="file:\/\/\/m\/mermaid\.min\.js"><\/script>/);
        assert.match(page, /useMaxWidth: false/);
        assert.match(page, /securityLevel: 'strict'/);
    });

    it("reads the SVG back from the DOM and sizes the photograph from its viewBox", () => {
        const svg = '<svg id="m" viewBox="-8 -8 1190.5 291.25" style="max-width: 1190.5px;"><g></g></svg>';
        assert.equal(renderedSvg(`<html><body><pre>x</pre>${svg}\n</body></html>`), svg);
        assert.equal(renderedSvg("<html><body><pre>Syntax error</pre></body></html>"), undefined);
        assert.deepEqual(svgSize(svg), { width: 1191, height: 292 });
        assert.throws(() => svgSize("<svg></svg>"), /no viewBox/);
        assert.match(photoPage(svg), /<body style="margin:16px;background:#fff"><svg id="m"/);
    });

    it("runs Chromium headless on local files only", () => {
        const dump = chromiumArgs("file:///d/a.layout.html", { dumpDom: true });
        assert.ok(dump.includes("--headless") && dump.includes("--dump-dom"));
        assert.equal(dump.at(-1), "file:///d/a.layout.html");
        const shot = chromiumArgs("file:///d/a.photo.html", { screenshot: "/d/a.png", width: 900, height: 300 });
        assert.ok(shot.includes("--window-size=900,300") && shot.includes("--screenshot=/d/a.png"));
        for (const arg of [...dump, ...shot]) assert.doesNotMatch(arg, /https?:/);
    });

    it(
        "renders the dev stack's diagram to an SVG and a PNG of that size",
        { skip: !hasChromium && "no chromium" },
        () => {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "diagrams-"));
            try {
                const r = spawnSync(
                    process.execPath,
                    [
                        "--import",
                        "tsx",
                        path.join(ROOT, "scripts", "render-diagrams.ts"),
                        "--out",
                        out,
                        "--only",
                        "dev",
                    ],
                    {
                        cwd: ROOT,
                        encoding: "utf8",
                        timeout: 120_000,
                    },
                );
                assert.equal(r.status, 0, r.stderr);
                const svg = fs.readFileSync(path.join(out, "dev.svg"), "utf8");
                assert.match(svg, /cluster1/);
                assert.match(svg, /cluster2/);
                const png = fs.readFileSync(path.join(out, "dev.png"));
                assert.equal(png.subarray(1, 4).toString(), "PNG");
                // The PNG header's width and height: the SVG's size plus the margin on each side.
                const { width, height } = svgSize(svg);
                assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [width + 32, height + 32]);
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        },
    );
});
