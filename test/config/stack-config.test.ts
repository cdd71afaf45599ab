import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_PLACEHOLDER } from "../../components/config/config-schema";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import {
    parseConfigValue,
    parseStackConfig,
    readPulumiConfig,
    readStackConfigFile,
    secretKubeconfigsOf,
} from "../../components/config/stack-config";

const STACK = `secretsprovider: passphrase
encryptionsalt: v1:ZmFrZQ==:v1:ZmFrZQ==:ZmFrZQ==
config:
  pulumi:disable-default-providers:
    - kubernetes
  kubernetes:context: ignored
  istio-multicluster:meshId: mesh1
  istio-multicluster:verify: "true"
  istio-multicluster:caKeyPem:
    secure: v1:AAAAfakeciphertext
  istio-multicluster:ca:
    mode: import
    certFile: /etc/istio/root-cert.pem
  istio-multicluster:kubeconfigs:
    cluster1:
      secure: v1:BBBBfakeciphertext
  istio-multicluster:clusters:
    - name: cluster1
    - name: cluster2
      eastWestGateway:
        annotations:
          note:
            secure: v1:CCCCfakeciphertext
`;

describe("parseStackConfig", () => {
    it("strips our namespace, ignores other namespaces and never decrypts", () => {
        const { raw, secretKeys, problems, environments } = parseStackConfig(STACK);
        assert.deepEqual(Object.keys(raw).sort(), ["ca", "caKeyPem", "clusters", "kubeconfigs", "meshId", "verify"]);
        assert.equal(raw.caKeyPem, SECRET_PLACEHOLDER);
        assert.deepEqual(raw.kubeconfigs, { cluster1: SECRET_PLACEHOLDER });
        assert.deepEqual(secretKeys, [
            "caKeyPem",
            "kubeconfigs.cluster1",
            "clusters[1].eastWestGateway.annotations.note",
        ]);
        assert.deepEqual(problems, []);
        assert.deepEqual(environments, []);
        assert.doesNotMatch(JSON.stringify(raw), /fakeciphertext/);
    });

    it("feeds validation: secrets stay opaque and the config is valid", () => {
        const { raw, secretKeys } = parseStackConfig(STACK);
        const result = validateMeshConfig(raw, [], { secretKeys });
        // The only problem: an encrypted annotation cannot be checked offline.
        assert.deepEqual(
            result.problems.map((p) => p.path),
            ["clusters[1].eastWestGateway.annotations.note"],
        );
    });

    it("reports keys without namespace and misspelt namespaces", () => {
        const { raw, problems } = parseStackConfig(
            "config:\n  meshId: mesh1\n  istio-multicluter:verify: true\n  aws:region: us-east-1\n",
            "Pulumi.x.yaml",
        );
        assert.deepEqual(raw, {});
        assert.deepEqual(
            problems.map((p) => p.path),
            ["meshId", "istio-multicluter:verify"],
        );
        assert.match(problems[0].fix!, /istio-multicluster:meshId/);
        assert.match(problems[1].fix!, /Did you mean istio-multicluster:verify/);
    });

    it("accepts the old <project>:config:<key> form", () => {
        assert.deepEqual(parseStackConfig("config:\n  istio-multicluster:config:meshId: m\n").raw, { meshId: "m" });
    });

    it("lists ESC environments, whose values it cannot see", () => {
        assert.deepEqual(parseStackConfig("environment:\n  - team/mesh\nconfig: {}\n").environments, ["team/mesh"]);
        assert.deepEqual(parseStackConfig("environment:\n  imports: [a/b]\n").environments, ["a/b"]);
    });

    it("handles empty files and rejects malformed ones", () => {
        assert.deepEqual(parseStackConfig("").raw, {});
        assert.throws(() => parseStackConfig("config: [1, 2]\n"), /'config' must be a mapping/);
        assert.throws(
            () => parseStackConfig("config:\n  a: [\n", "Pulumi.bad.yaml"),
            /Pulumi.bad.yaml is not valid YAML/,
        );
    });

    it("reads a stack file from disk", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-config-test-"));
        try {
            const file = path.join(dir, "Pulumi.t.yaml");
            fs.writeFileSync(file, STACK);
            assert.deepEqual(readStackConfigFile(file).raw.meshId, "mesh1");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("readPulumiConfig", () => {
    it("reads every key of our namespace with JSON objects parsed and secret keys detected", () => {
        pulumi.runtime.setAllConfig(
            {
                "istio-multicluster:meshId": "mesh1",
                "istio-multicluster:verify": "true",
                "istio-multicluster:clusters": JSON.stringify([{ name: "cluster1" }, { name: "cluster2" }]),
                "istio-multicluster:kubeconfigs": JSON.stringify({ cluster1: "apiVersion: v1\nkind: Config\n" }),
                "istio-multicluster:caKeyPem": "",
                "kubernetes:context": "other",
            },
            ["istio-multicluster:kubeconfigs"],
        );
        const { raw, secretKeys } = readPulumiConfig();
        assert.deepEqual(raw, {
            meshId: "mesh1",
            verify: "true",
            clusters: [{ name: "cluster1" }, { name: "cluster2" }],
            kubeconfigs: { cluster1: "apiVersion: v1\nkind: Config\n" },
            caKeyPem: "",
        });
        assert.deepEqual(secretKeys, ["kubeconfigs"]);
        const result = validateMeshConfig(raw, [], { secretKeys });
        assert.deepEqual(result.problems, []);
        assert.equal(result.config?.verify, true);
    });

    it("lets validation reject plain-text kubeconfig content", () => {
        pulumi.runtime.setAllConfig({
            "istio-multicluster:clusters": JSON.stringify([{ name: "cluster1" }]),
            "istio-multicluster:kubeconfigs": JSON.stringify({ cluster1: "apiVersion: v1\n" }),
        });
        const { raw, secretKeys } = readPulumiConfig();
        const problems = validateMeshConfig(raw, [], { secretKeys }).problems;
        assert.deepEqual(
            problems.map((p) => p.path),
            ["kubeconfigs.cluster1"],
        );
    });

    it("parses only JSON-looking values", () => {
        assert.deepEqual(parseConfigValue('{"a":1}'), { a: 1 });
        assert.equal(parseConfigValue("30"), "30");
        assert.equal(parseConfigValue("{not json"), "{not json");
    });
});

describe("secretKubeconfigsOf", () => {
    it("keeps non-empty string entries only", () => {
        assert.deepEqual(secretKubeconfigsOf({ kubeconfigs: { a: "x", b: "", c: 3 } }), { a: "x" });
        assert.deepEqual(secretKubeconfigsOf({}), {});
    });
});
