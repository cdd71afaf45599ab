/**
 * Reading the raw stack configuration of the `istio-multicluster:` namespace, either from a stack
 * file (`Pulumi.<stack>.yaml`, for the offline plan CLI) or from the running program's config.
 *
 * Nothing here decrypts: a `secure:` value in a stack file becomes {@link SECRET_PLACEHOLDER}
 * and its path is recorded, so offline tools can check the shape of the config without secrets.
 */
import * as fs from "node:fs";
import type * as Pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { ConfigProblem, PROJECT_NAME } from "./config";
import { SECRET_PLACEHOLDER } from "./config-schema";
import { editDistance, formatPath } from "./config-validation";

/** Raw config of our namespace (prefix stripped) and which paths hold secrets. */
export interface RawStackConfig {
    /** Key (without `istio-multicluster:`) → value as parsed. */
    raw: Record<string, unknown>;
    /**
     * Paths of secret values: `caKeyPem`, `kubeconfigs.cluster1` (stack file: each `secure:`
     * leaf), or top-level keys only (running program: Pulumi marks whole keys secret).
     */
    secretKeys: string[];
}

/** A stack file's config, with what could not be taken from it. */
export interface StackFileConfig extends RawStackConfig {
    /** Keys that are probably meant for our namespace but are not (missing or misspelt prefix). */
    problems: ConfigProblem[];
    /** ESC environments the stack imports; their values are not visible offline. */
    environments: string[];
}

/** Namespaces of other packages that legitimately appear in our stack files. */
const OTHER_NAMESPACES = new Set(["pulumi", "kubernetes", "tls", "command"]);

function isObj(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `{ secure: "v1:…" }`, Pulumi's form of an encrypted value in a stack file. */
function isSecure(v: unknown): boolean {
    return isObj(v) && Object.keys(v).length === 1 && typeof v.secure === "string";
}

function replaceSecure(value: unknown, segments: (string | number)[], secretKeys: string[]): unknown {
    if (isSecure(value)) {
        secretKeys.push(formatPath(segments));
        return SECRET_PLACEHOLDER;
    }
    if (Array.isArray(value)) return value.map((v, i) => replaceSecure(v, [...segments, i], secretKeys));
    if (isObj(value)) {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, replaceSecure(v, [...segments, k], secretKeys)]),
        );
    }
    return value;
}

/** `ns:config:key` (old form) → `ns:key`. */
function cleanKey(key: string): string {
    const i = key.indexOf(":");
    return i > 0 && key.startsWith("config:", i + 1) ? key.slice(0, i + 1) + key.slice(i + 1 + "config:".length) : key;
}

/**
 * Parses the text of a stack file. Pure.
 *
 * @param text YAML of `Pulumi.<stack>.yaml`.
 * @param fileName Used in problem messages only.
 */
export function parseStackConfig(text: string, fileName = "the stack file"): StackFileConfig {
    let doc: unknown = {};
    // js-yaml rejects an input without a document; a stack file with only comments has no config.
    const hasDocument = text.split("\n").some((l) => l.trim() !== "" && !l.trim().startsWith("#"));
    try {
        if (hasDocument) doc = yaml.load(text);
    } catch (e) {
        const ex = e as { reason?: string; mark?: { line?: number } };
        const line = ex.mark?.line !== undefined ? ` at line ${ex.mark.line + 1}` : "";
        throw new Error(`${fileName} is not valid YAML${line}: ${ex.reason ?? String(e)}`, { cause: e });
    }
    if (doc === undefined || doc === null) doc = {};
    if (!isObj(doc)) throw new Error(`${fileName} is not a Pulumi stack file (expected a YAML mapping).`);
    const config = doc.config ?? {};
    if (!isObj(config)) throw new Error(`${fileName}: 'config' must be a mapping of keys to values.`);

    const raw: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    const problems: ConfigProblem[] = [];
    const prefix = `${PROJECT_NAME}:`;
    for (const [rawKey, value] of Object.entries(config)) {
        const key = cleanKey(rawKey);
        if (key.startsWith(prefix)) {
            const name = key.slice(prefix.length);
            raw[name] = replaceSecure(value, [name], secretKeys);
            continue;
        }
        const colon = key.indexOf(":");
        if (colon < 0) {
            problems.push({
                path: key,
                message: `'${key}' in ${fileName} has no namespace, so Pulumi does not pass it to this program.`,
                fix: `Write it as ${prefix}${key} (pulumi config set ${key} … adds the prefix for you).`,
            });
            continue;
        }
        const ns = key.slice(0, colon);
        if (!OTHER_NAMESPACES.has(ns) && editDistance(ns, PROJECT_NAME) <= 3) {
            problems.push({
                path: key,
                message: `'${key}' in ${fileName} is in namespace '${ns}', not '${PROJECT_NAME}'.`,
                fix: `Did you mean ${prefix}${key.slice(colon + 1)}?`,
            });
        }
    }
    const env = doc.environment;
    const environments = Array.isArray(env)
        ? env.filter((e): e is string => typeof e === "string")
        : isObj(env) && Array.isArray(env.imports)
          ? env.imports.filter((e): e is string => typeof e === "string")
          : [];
    return { raw, secretKeys, problems, environments };
}

/** Reads and parses a stack file (see {@link parseStackConfig}); never decrypts. */
export function readStackConfigFile(file: string): StackFileConfig {
    return parseStackConfig(fs.readFileSync(file, "utf8"), file);
}

/**
 * Parses one config value as the running program receives it: Pulumi passes objects and arrays
 * as JSON text and everything else as plain strings ("true", "30"), which validation coerces.
 */
export function parseConfigValue(value: string): unknown {
    if (/^\s*[[{]/.test(value)) {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

/**
 * Reads every key of our namespace from the running program's config. Secret values arrive
 * DECRYPTED in `raw` (that is how Pulumi hands config to a program): the caller must wrap them
 * with `pulumi.secret(...)` before any resource input and must never log them.
 */
export function readPulumiConfig(): RawStackConfig {
    // Loaded on use: the offline plan CLI imports this module and should not pay for the Pulumi SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof Pulumi;
    const runtime = pulumi.runtime as unknown as {
        allConfig(): Record<string, string>;
        isConfigSecret?: (key: string) => boolean;
    };
    if (typeof runtime.isConfigSecret !== "function") {
        throw new Error("@pulumi/pulumi does not expose runtime.isConfigSecret; use the SDK version in package.json.");
    }
    const prefix = `${PROJECT_NAME}:`;
    const raw: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = parseConfigValue(value);
        if (runtime.isConfigSecret!(key)) secretKeys.push(name);
    }
    return { raw, secretKeys };
}

/**
 * The `kubeconfigs` map (cluster name → kubeconfig content) of a raw config, string values only,
 * for `resolveClusterAccess`'s `secretKubeconfigs`. The content is credentials: wrap what is
 * derived from it with `pulumi.secret(...)`.
 */
export function secretKubeconfigsOf(raw: Record<string, unknown>): Record<string, string> {
    const map = raw.kubeconfigs;
    if (!isObj(map)) return {};
    return Object.fromEntries(
        Object.entries(map).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""),
    );
}
