/**
 * `npm run render:diagrams [-- --out <dir>] [--chromium <binary>] [--only <name>]`: draws the mesh diagram of
 * every example stack, and of generated meshes of 20 clusters, as SVG and PNG files (default
 * `build/diagrams/`, ignored by git), so that a person can look at what GitHub will show.
 *
 * The pictures come from Mermaid's own renderer (node_modules/mermaid) inside headless Chromium
 * (Debian's `chromium`, or `--chromium`/`$CHROMIUM`); nothing is downloaded and no page leaves the
 * machine. Two passes per diagram: the first lets Mermaid lay the flowchart out and returns the
 * SVG, the second photographs that SVG in a window of exactly its size, so that large meshes are
 * never cut off. Not part of `npm test`: the tests check the diagrams with Mermaid's parser.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { syntheticStackConfig } from "../bench/scenario";
import { meshDiagram } from "../components/mesh/mesh-diagram";
import { validateMeshConfig } from "../components/mesh/validate-config";
import { buildMeshPlan } from "../components/plan/mesh-plan";
import { exampleStackFiles } from "./docs-diagrams";
import { runPlan } from "./plan";

/** One picture to draw: a file-name stem and the Mermaid text. */
export interface DiagramSource {
    name: string;
    mermaid: string;
}

/** `examples/Pulumi.mixed.yaml` → `examples-mixed`: a file name that says which stack it shows. */
export function diagramFileStem(stackFile: string): string {
    const dir = path.posix.dirname(stackFile);
    const stack = path.posix
        .basename(stackFile)
        .replace(/^Pulumi\./, "")
        .replace(/\.ya?ml$/, "");
    return dir === "." ? stack : `${dir.replace(/\//g, "-")}-${stack}`;
}

/** The diagrams to draw: every example stack file, then the large generated meshes. */
export function diagramSources(root: string): DiagramSource[] {
    const examples = exampleStackFiles(root).map((file) => {
        const r = runPlan(["--file", file, "--format", "mermaid"], root);
        if (r.exitCode !== 0) throw new Error(`${file}: ${r.stderr}`);
        return { name: diagramFileStem(file), mermaid: r.stdout };
    });
    // The size at which the diagram's grouping of watch edges has to keep it readable.
    const generated = (["multi-primary", "primary-remote"] as const).map((model) => {
        const { config, problems } = validateMeshConfig(
            syntheticStackConfig({ model, clusters: 20, layout: "perSource" }),
        );
        if (!config) throw new Error(`generated ${model} mesh: ${JSON.stringify(problems)}`);
        return { name: `generated-${model}-20`, mermaid: meshDiagram(buildMeshPlan(config), config) };
    });
    return [...examples, ...generated];
}

/** Text as HTML character data: Mermaid reads the diagram back from the element's text. */
function htmlText(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The first pass's page: Mermaid renders the diagram at its natural size (no scaling to the
 * window, which would shrink a 20-cluster mesh to unreadable text).
 */
export function layoutPage(mermaidText: string, mermaidScriptUrl: string): string {
    return [
        "<!doctype html>",
        '<html><head><meta charset="utf-8"></head><body>',
        `<pre class="mermaid">${htmlText(mermaidText)}</pre>`,
        `<script src="${mermaidScriptUrl}"></script>`,
        "<script>mermaid.initialize({ startOnLoad: true, securityLevel: 'strict', flowchart: { useMaxWidth: false } });</script>",
        "</body></html>",
    ].join("\n");
}

/** The rendered SVG in the first pass's DOM, or undefined when Mermaid drew nothing. */
export function renderedSvg(dom: string): string | undefined {
    const start = dom.search(/<svg[\s>]/);
    const end = dom.lastIndexOf("</svg>");
    return start < 0 || end < start ? undefined : dom.slice(start, end + "</svg>".length);
}

/** Width and height of an SVG from its viewBox, rounded up to whole pixels. */
export function svgSize(svg: string): { width: number; height: number } {
    const viewBox = /viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)\s*"/.exec(svg);
    if (!viewBox) throw new Error("the rendered SVG has no viewBox");
    return { width: Math.ceil(Number(viewBox[1])), height: Math.ceil(Number(viewBox[2])) };
}

/** Margin around the picture, in pixels, so that no edge of the drawing touches the frame. */
const MARGIN = 16;

/** The second pass's page: the finished SVG on white, nothing else. */
export function photoPage(svg: string): string {
    return `<!doctype html>\n<html><body style="margin:${MARGIN}px;background:#fff">${svg}</body></html>`;
}

/** Chromium's arguments: headless, no GPU, local files only, and time for Mermaid's scripts. */
export function chromiumArgs(
    pageUrl: string,
    mode: { dumpDom: true } | { screenshot: string; width: number; height: number },
): string[] {
    const common = [
        "--headless",
        // Running as root (containers, CI) needs it; the pages are our own local files.
        "--no-sandbox",
        "--disable-gpu",
        "--allow-file-access-from-files",
        "--hide-scrollbars",
        "--virtual-time-budget=15000",
    ];
    if ("dumpDom" in mode) return [...common, "--dump-dom", pageUrl];
    return [...common, `--window-size=${mode.width},${mode.height}`, `--screenshot=${mode.screenshot}`, pageUrl];
}

const USAGE = "usage: npm run render:diagrams -- [--out <dir>] [--chromium <binary>] [--only <name>]";

function parseArgs(argv: string[], root: string): { out: string; chromium: string; only: string[] } {
    let out = path.join(root, "build", "diagrams");
    let chromium = process.env.CHROMIUM ?? "chromium";
    const only: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--out" && argv[i + 1]) out = path.resolve(argv[++i]);
        else if (argv[i] === "--chromium" && argv[i + 1]) chromium = argv[++i];
        else if (argv[i] === "--only" && argv[i + 1]) only.push(argv[++i]);
        else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
    }
    return { out, chromium, only };
}

/** Draws one diagram: `<name>.mmd`, `<name>.svg` and `<name>.png` in `out`. */
function render(source: DiagramSource, out: string, chromium: string, mermaidScriptUrl: string): string {
    const run = (args: string[]) =>
        execFileSync(chromium, args, {
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            stdio: ["ignore", "pipe", "ignore"],
        });
    fs.writeFileSync(path.join(out, `${source.name}.mmd`), source.mermaid);
    const layout = path.join(out, `${source.name}.layout.html`);
    fs.writeFileSync(layout, layoutPage(source.mermaid, mermaidScriptUrl));
    const svg = renderedSvg(run(chromiumArgs(pathToFileURL(layout).href, { dumpDom: true })));
    if (!svg) throw new Error(`${source.name}: Mermaid rendered no SVG (see ${layout} in a browser)`);
    fs.writeFileSync(path.join(out, `${source.name}.svg`), svg);
    const photo = path.join(out, `${source.name}.photo.html`);
    fs.writeFileSync(photo, photoPage(svg));
    const { width, height } = svgSize(svg);
    const png = path.join(out, `${source.name}.png`);
    run(
        chromiumArgs(pathToFileURL(photo).href, {
            screenshot: png,
            width: width + 2 * MARGIN,
            height: height + 2 * MARGIN,
        }),
    );
    return `${png} (${width}×${height})`;
}

if (require.main === module) {
    const root = path.join(__dirname, "..");
    const { out, chromium, only } = parseArgs(process.argv.slice(2), root);
    const sources = diagramSources(root).filter((s) => only.length === 0 || only.includes(s.name));
    if (sources.length === 0) throw new Error(`no diagram named ${only.join(", ")}; ${USAGE}`);
    fs.mkdirSync(out, { recursive: true });
    const mermaidScriptUrl = pathToFileURL(require.resolve("mermaid/dist/mermaid.min.js")).href;
    for (const source of sources) console.log(render(source, out, chromium, mermaidScriptUrl));
}
