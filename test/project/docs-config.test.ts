import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { effectiveDefault, listSchemaKeys, MESH_CONFIG_SCHEMA } from "../../components/config/config-schema";
import { validateMeshConfig } from "../../components/mesh/validate-config";

const ROOT = path.resolve(__dirname, "..", "..");
const docs = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");

interface Declaration {
    type?: string;
    description?: string;
    default?: unknown;
    value?: unknown;
    secret?: boolean;
    items?: unknown;
}
const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, Declaration>;
};
const declared = project.config;
const projectKeys = Object.keys(declared).filter((k) => !k.includes(":"));
const schemaTopLevel = Object.keys(MESH_CONFIG_SCHEMA.properties ?? {});

/** The markdown table row documenting `key` (first cell is the key in backticks), if any. */
function row(key: string): string | undefined {
    return docs.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
}

describe("docs/configuration.md", () => {
    it("documents every key of the JSON schema in its own table row", () => {
        const missing = listSchemaKeys()
            .map((k) => k.path)
            .filter((p) => !row(p));
        assert.deepEqual(missing, []);
    });

    it("documents every key declared in Pulumi.yaml", () => {
        const missing = Object.keys(declared).filter((k) => !docs.includes(`\`${k}\``));
        assert.deepEqual(missing, []);
    });

    it("states each scalar default in the key's row", () => {
        const wrong = listSchemaKeys()
            .filter(
                (k) => ["string", "integer", "boolean"].includes(k.schema.type ?? "") && k.schema.default !== undefined,
            )
            .filter((k) => {
                const d = k.schema.default === "" ? '`""`' : `\`${String(k.schema.default)}\``;
                return !row(k.path)?.includes(d);
            })
            .map((k) => `${k.path} (default ${JSON.stringify(k.schema.default)})`);
        assert.deepEqual(wrong, []);
    });

    it("lists the allowed values of every enum", () => {
        for (const k of listSchemaKeys().filter((x) => x.schema.enum)) {
            for (const v of k.schema.enum!) assert.ok(row(k.path)?.includes(String(v)), `${k.path}: ${v}`);
        }
    });

    it("marks the secret keys as secret", () => {
        for (const [k, s] of Object.entries(MESH_CONFIG_SCHEMA.properties ?? {})) {
            if (s["x-secret"]) assert.match(row(k) ?? "", /\*\*secret\*\*/, k);
        }
    });
});

describe("Pulumi.yaml config block", () => {
    it("is the project istio-multicluster", () => {
        assert.equal(project.name, "istio-multicluster");
    });

    it("declares exactly the top-level keys of the schema", () => {
        assert.deepEqual([...projectKeys].sort(), [...schemaTopLevel].sort());
    });

    it("gives every key the schema's default, and none to the required clusters", () => {
        for (const key of schemaTopLevel) {
            const expected = effectiveDefault(MESH_CONFIG_SCHEMA.properties![key]);
            if (expected === undefined) assert.ok(!("default" in declared[key]), `${key} must stay required`);
            else assert.deepEqual(declared[key].default, expected, key);
        }
        assert.ok(!("default" in declared.clusters));
    });

    it("uses only types the Pulumi CLI accepts, and none on object or list-of-object keys", () => {
        for (const key of projectKeys) {
            const decl = declared[key];
            const schemaType = MESH_CONFIG_SCHEMA.properties![key].type;
            if (decl.type === undefined) {
                continue;
            }
            assert.ok(["string", "integer", "boolean"].includes(decl.type), `${key}: ${decl.type}`);
            assert.equal(decl.type, schemaType, key);
        }
        for (const key of ["clusters", "ca", "intermediate", "kubeconfigs", "verification", "values", "meshConfig"]) {
            assert.equal(declared[key].type, undefined, `${key} must not be typed`);
        }
    });

    it("never combines secret with a default, and describes every key", () => {
        for (const key of projectKeys) {
            assert.ok(!(declared[key].secret && "default" in declared[key]), key);
            assert.ok((declared[key].description ?? "").length > 10, `${key} needs a description`);
        }
        for (const key of ["caKeyPem", "kubeconfigs"]) assert.match(declared[key].description ?? "", /--secret/);
    });

    it("names every per-cluster key of the schema in the clusters description", () => {
        const clusterKeys = Object.keys(MESH_CONFIG_SCHEMA.properties!.clusters.items!.properties!);
        assert.ok(clusterKeys.includes("apiServerTlsServerName"));
        const description = declared.clusters.description ?? "";
        for (const key of clusterKeys) assert.match(description, new RegExp(`\\b${key}\\b`), key);
    });

    it("disables the default kubernetes provider with a value, not a default", () => {
        assert.deepEqual(declared["pulumi:disable-default-providers"], { value: ["kubernetes"] });
    });

    it("has defaults that pass validation together with a minimal cluster list", () => {
        const raw: Record<string, unknown> = { clusters: [{ name: "cluster1" }] };
        for (const key of projectKeys) if ("default" in declared[key]) raw[key] = declared[key].default;
        const result = validateMeshConfig(raw, [], { secretKeys: [] });
        assert.deepEqual(result.problems, []);
        assert.deepEqual(result.config, validateMeshConfig({ clusters: [{ name: "cluster1" }] }).config);
    });
});
