/**
 * The tree shows the architecture: components/ has one folder per concern, in the order the data
 * flows (config, plan, then the domains, then the mesh that wires them), and no import runs back up
 * that order. A domain may use what sits beside it in its own folder and anything of a lower layer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";

const ROOT = path.join(__dirname, "..", "..");
const COMPONENTS = path.join(ROOT, "components");

/** Layer of each folder: a file may import only from its own folder or from a lower layer. */
const LAYERS: Readonly<Record<string, number>> = {
    config: 0,
    plan: 1,
    pki: 2,
    "remote-secrets": 2,
    verification: 2,
    istio: 3,
    mesh: 4,
};

function sourceFiles(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith(".ts"))
        .map((f) => f.split(path.sep).join("/"))
        .sort();
}

/** The relative module specifiers a file imports or re-exports. */
export function relativeImports(text: string): string[] {
    const specs: string[] = [];
    for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)"(\.{1,2}\/[^"]*)"/g)) specs.push(m[1]);
    return specs;
}

/** The components/ folder a specifier resolves to from `file` (both relative to components/). */
function folderOf(file: string, spec: string): string {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return target.split("/")[0];
}

describe("components/ layout", () => {
    const files = sourceFiles(COMPONENTS);

    it("has exactly the folders of the data flow, and no file at its top level", () => {
        const entries = fs.readdirSync(COMPONENTS, { withFileTypes: true });
        assert.deepEqual(
            entries.filter((e) => !e.isDirectory()).map((e) => e.name),
            [],
            "every source file lives in a concern's folder",
        );
        assert.deepEqual(entries.map((e) => e.name).sort(), Object.keys(LAYERS).sort());
    });

    it("gives every folder an index.ts that says, in TSDoc, what the domain owns", () => {
        for (const folder of Object.keys(LAYERS)) {
            const index = path.join(COMPONENTS, folder, "index.ts");
            assert.ok(fs.existsSync(index), `components/${folder}/index.ts is missing`);
            const text = fs.readFileSync(index, "utf8");
            assert.match(text, /^\/\*\*\n \* \S/, `components/${folder}/index.ts starts without a TSDoc paragraph`);
            const siblings = fs.readdirSync(path.join(COMPONENTS, folder)).filter((f) => f.endsWith(".ts"));
            assert.ok(siblings.length > 1, `components/${folder} holds only its index`);
        }
    });

    it("has no import that runs back up the data flow", () => {
        const upward: string[] = [];
        for (const file of files) {
            const own = file.split("/")[0];
            for (const spec of relativeImports(fs.readFileSync(path.join(COMPONENTS, file), "utf8"))) {
                const target = folderOf(file, spec);
                if (target === own) continue;
                if (!(target in LAYERS)) {
                    upward.push(`${file} imports ${spec}, outside components/`);
                } else if (LAYERS[target] >= LAYERS[own]) {
                    upward.push(`${file} (layer ${LAYERS[own]}) imports ${spec} (${target}, layer ${LAYERS[target]})`);
                }
            }
        }
        assert.deepEqual(upward, []);
    });

    it("keeps config/ free of every domain, and only mesh/ imports the istio layer", () => {
        const importers = (folder: string) =>
            files.filter((file) =>
                relativeImports(fs.readFileSync(path.join(COMPONENTS, file), "utf8")).some(
                    (spec) => folderOf(file, spec) === folder && file.split("/")[0] !== folder,
                ),
            );
        assert.deepEqual(
            importers("istio")
                .map((f) => f.split("/")[0])
                .filter((f) => f !== "mesh"),
            [],
        );
        for (const file of files.filter((f) => f.startsWith("config/"))) {
            const foreign = relativeImports(fs.readFileSync(path.join(COMPONENTS, file), "utf8")).filter(
                (spec) => folderOf(file, spec) !== "config",
            );
            assert.deepEqual(foreign, [], `${file} imports outside config/`);
        }
    });

    it("tells a detector of upward imports from a clean tree (the check can fail)", () => {
        assert.deepEqual(relativeImports('import { x } from "../mesh/mesh";\nexport * from "./a";'), [
            "../mesh/mesh",
            "./a",
        ]);
        assert.equal(folderOf("config/config.ts", "../mesh/mesh"), "mesh");
        assert.equal(folderOf("istio/istio-values.ts", "./naming"), "istio");
    });

    it("has the tests mirror the folders", () => {
        const testDirs = fs
            .readdirSync(path.join(ROOT, "test"), { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name);
        for (const folder of Object.keys(LAYERS)) assert.ok(testDirs.includes(folder), `test/${folder}/ is missing`);
    });
});
