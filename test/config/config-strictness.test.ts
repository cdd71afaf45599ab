/**
 * No silent coercion of a wrong scalar: a number or boolean where the schema says string is refused
 * with "quote it" (YAML reads `tag: 1.30` as 1.3), and a YAML 1.1 yes/no where it says boolean is
 * refused too, for every such key of the schema. What `pulumi config set` stores as text (digits
 * for numbers, "true"/"false" for booleans) stays accepted.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigSchema, MESH_CONFIG_SCHEMA } from "../../components/config/config-schema";
import { wrongScalarProblem } from "../../components/config/config-validation";
import { validateMeshConfig } from "../../components/mesh/validate-config";

type Raw = Record<string, unknown>;
type Segment = string | number;

function base(): Raw {
    return {
        clusters: [
            { name: "east", network: "n1", apiServer: "https://10.0.0.1:6443" },
            { name: "west", network: "n2", apiServer: "https://10.0.0.2:6443" },
        ],
    };
}

/** Every leaf of the schema of `type`, without enums, as a settable path (lists at [0], maps at key k). */
function leaves(type: "string" | "boolean"): { segments: Segment[]; secret: boolean }[] {
    const found: { segments: Segment[]; secret: boolean }[] = [];
    const walk = (node: ConfigSchema, segments: Segment[], secret: boolean) => {
        const isSecret = secret || node["x-secret"] === true;
        if (node.type === type && !node.enum) found.push({ segments, secret: isSecret });
        for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, [...segments, k], isSecret);
        if (node.items) walk(node.items, [...segments, 0], isSecret);
        if (typeof node.additionalProperties === "object")
            walk(node.additionalProperties, [...segments, "k"], isSecret);
    };
    walk(MESH_CONFIG_SCHEMA, [], false);
    return found;
}

function setAt(raw: Raw, segments: readonly Segment[], value: unknown): Raw {
    let cur = raw as Record<string | number, unknown>;
    segments.forEach((s, i) => {
        if (i === segments.length - 1) {
            cur[s] = value;
            return;
        }
        const nextIsIndex = typeof segments[i + 1] === "number";
        if (cur[s] === undefined || typeof cur[s] !== "object") cur[s] = nextIsIndex ? [{}] : {};
        cur = cur[s] as Record<string | number, unknown>;
    });
    return raw;
}

const display = (segments: readonly Segment[]) =>
    segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");

describe("config strictness: a number or boolean where a string belongs", () => {
    const stringLeaves = leaves("string").filter((l) => display(l.segments) !== "istioVersion");

    it("covers the keys that matter (images, networks, addresses, names)", () => {
        const paths = stringLeaves.map((l) => display(l.segments));
        for (const p of [
            "images.hub",
            "images.tag",
            "clusters[0].network",
            "clusters[0].eastWestGateway.address",
            "meshId",
        ]) {
            assert.ok(paths.includes(p), `${p} is not a string key of the schema any more`);
        }
        assert.ok(stringLeaves.length >= 20, `only ${stringLeaves.length} string keys found`);
    });

    for (const { segments, secret } of stringLeaves) {
        const p = display(segments);
        it(`${p}: the number 7.25 is refused with "quote it", at that path${secret ? ", without echoing it" : ""}`, () => {
            const { config, problems } = validateMeshConfig(setAt(base(), segments, 7.25));
            assert.equal(config, undefined);
            const mine = problems.filter((x) => x.path === p && x.message.startsWith("Expected a string"));
            assert.equal(mine.length, 1, JSON.stringify(problems, null, 1));
            assert.match(mine[0].fix ?? "", /Quote it/);
            if (secret) assert.ok(!JSON.stringify(mine).includes("7.25"), "a secret's value appears in the problem");
            else assert.match(mine[0].message, /the number 7\.25/);
        });
    }

    it("refuses a boolean in a string key too, and says so", () => {
        const { problems } = validateMeshConfig({ ...base(), meshId: true });
        assert.deepEqual(
            problems.map((x) => [x.path, x.message.split(":")[0]]),
            [["meshId", "Expected a string, got the boolean true"]],
        );
    });

    it("keeps istioVersion's own message, once", () => {
        const { problems } = validateMeshConfig({ ...base(), istioVersion: 1.3 });
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /YAML read an unquoted number/);
    });

    it("gives a top-level key the plain pulumi config set form, a nested one --path with --type string", () => {
        const top = wrongScalarProblem(7, ["meshId"], { type: "string" }, false);
        assert.match(top?.fix ?? "", /pulumi config set meshId '<value>'/);
        const nested = wrongScalarProblem(7, ["images", "tag"], { type: "string" }, false);
        assert.match(nested?.fix ?? "", /--path 'images\.tag' '<value>' --type string/);
        assert.equal(wrongScalarProblem("7", ["images", "tag"], { type: "string" }, false), undefined);
        assert.equal(wrongScalarProblem(7, ["x"], { type: "string", enum: ["a"] }, false), undefined);
    });

    it("accepts the same value quoted", () => {
        const { config, problems } = validateMeshConfig({ ...base(), images: { hub: "42", tag: "1.30" } });
        assert.deepEqual(problems, []);
        assert.equal(config?.images?.tag, "1.30");
    });
});

describe("config strictness: yes/no where a boolean belongs", () => {
    const booleanLeaves = leaves("boolean");

    it("finds the boolean keys", () => {
        assert.ok(booleanLeaves.some((l) => display(l.segments) === "verify"));
    });

    for (const { segments } of booleanLeaves) {
        const p = display(segments);
        for (const word of ["yes", "no", "on", "Off"]) {
            it(`${p}: '${word}' is refused, with the boolean it means`, () => {
                const { config, problems } = validateMeshConfig(setAt(base(), segments, word));
                assert.equal(config, undefined);
                const mine = problems.filter((x) => x.path === p);
                assert.equal(mine.length, 1, JSON.stringify(problems, null, 1));
                assert.match(mine[0].message, new RegExp(`Expected true or false, got the string '${word}'`));
                assert.equal(mine[0].fix, `Write ${p}: ${/^(yes|on)$/i.test(word) ? "true" : "false"}.`);
            });
        }
    }

    it("accepts true/false as pulumi config set stores them (text) and as YAML booleans", () => {
        for (const v of ["true", "false", true, false]) {
            assert.deepEqual(validateMeshConfig({ ...base(), verify: v }).problems, [], String(v));
        }
    });

    it("accepts digits as text where a number belongs (pulumi config set stores text)", () => {
        const raw = base();
        (raw.clusters as Raw[])[0].eastWestGateway = {
            serviceType: "NodePort",
            address: "10.0.0.11",
            nodePort: "31674",
        };
        (raw.clusters as Raw[])[1].eastWestGateway = { serviceType: "NodePort", address: "10.0.0.12", nodePort: 32361 };
        const { config, problems } = validateMeshConfig(raw);
        assert.deepEqual(problems, []);
        assert.equal(config?.clusters[0].eastWestGateway?.nodePort, 31674);
    });
});
