/**
 * The program itself (index.ts) under the offline mock engine with the dev stack's configuration,
 * and the program's up-front input checks (config, kubeconfig files, imported root).
 */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";

import { ConfigValidationError } from "../../components/config/config";
import { loadProgramInputs, ProgramEnvironment } from "../../components/mesh/program-inputs";
import { FULL_STACK_TRACES_ENV } from "../../components/mesh/sdk-stack-traces";
import { readStackConfigFile } from "../../components/config/stack-config";
import {
    evaluateProgram,
    find,
    ofType,
    promiseOf,
    RecordedResource,
    runUnderMocks,
    validateKubernetesObjects,
} from "../harness";

/** A kubeconfig with one context per cluster, fake credentials, like the seed's "multiconf". */
function multiconf(contexts: Record<string, string>): string {
    const names = Object.keys(contexts);
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": names[0],
        clusters: names.map((n) => ({
            name: `cl-${n}`,
            cluster: {
                server: contexts[n],
                "certificate-authority-data": Buffer.from(`ca of ${n}`).toString("base64"),
            },
        })),
        users: names.map((n) => ({ name: `user-${n}`, user: { token: `admin-token-of-${n}` } })),
        contexts: names.map((n) => ({ name: n, context: { cluster: `cl-${n}`, user: `user-${n}` } })),
    });
}

describe("index.ts with Pulumi.dev.yaml", () => {
    let home: string;
    let saved: Record<string, string | undefined>;
    let resources: RecordedResource[];
    let program: Record<string, unknown>;
    let stackTraceLimitAfterProgram: number | undefined;

    before(async () => {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-home-"));
        fs.mkdirSync(path.join(home, ".kube"));
        fs.writeFileSync(
            path.join(home, ".kube", "multiconf"),
            multiconf({
                "kubernetes-admin82@kubernetes": "https://10.20.144.82:6443",
                "kubernetes-admin83@kubernetes": "https://10.20.144.83:6443",
            }),
        );
        saved = {
            HOME: process.env.HOME,
            KUBECONFIG: process.env.KUBECONFIG,
            [FULL_STACK_TRACES_ENV]: process.env[FULL_STACK_TRACES_ENV],
            PULUMI_DEBUG_PROMISE_LEAKS: process.env.PULUMI_DEBUG_PROMISE_LEAKS,
        };
        process.env.HOME = home;
        delete process.env.KUBECONFIG;
        delete process.env[FULL_STACK_TRACES_ENV];
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        const { raw } = readStackConfigFile(path.join(__dirname, "..", "..", "Pulumi.dev.yaml"));
        const run = await runUnderMocks(
            () => {
                // The harness may have set its own limit; start from Node's default to see the program's.
                Error.stackTraceLimit = 10;
                const exported = evaluateProgram();
                stackTraceLimitAfterProgram = Error.stackTraceLimit;
                return exported;
            },
            {
                // The dev stack as it is, but with 2048-bit keys: the mock makes real keys, and three
                // RSA-4096 keys were the slowest part of the suite. Key sizes are the PKI tests' job.
                config: { ...raw, ca: { rsaBits: 2048 } },
                stack: "dev",
            },
        );
        resources = run.resources;
        program = run.result;
    });
    after(() => {
        process.env.HOME = saved.HOME;
        for (const key of ["KUBECONFIG", FULL_STACK_TRACES_ENV, "PULUMI_DEBUG_PROMISE_LEAKS"]) {
            if (saved[key] !== undefined) process.env[key] = saved[key];
        }
        fs.rmSync(home, { recursive: true, force: true });
    });

    test("turns off the SDK's per-promise stack traces before it builds the mesh", () => {
        assert.equal(stackTraceLimitAfterProgram, 0);
    });

    test("every Kubernetes object goes to an explicit cluster provider and is schema-valid", async () => {
        const kube = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.readId);
        assert.ok(kube.length > 0);
        for (const r of kube) assert.ok(r.cluster === "cluster1" || r.cluster === "cluster2", r.name);
        assert.deepEqual(await validateKubernetesObjects(resources), []);
    });

    test("each provider gets only its own context, as a secret", () => {
        for (const [cluster, context] of [
            ["cluster1", "kubernetes-admin82@kubernetes"],
            ["cluster2", "kubernetes-admin83@kubernetes"],
        ]) {
            const provider = find(resources, "pulumi:providers:kubernetes", `${cluster}-k8s`);
            assert.ok(provider.secretPaths.includes("kubeconfig"));
            const kubeconfig = yaml.load(provider.inputs.kubeconfig) as { contexts: { name: string }[] };
            assert.deepEqual(
                kubeconfig.contexts.map((c) => c.name),
                [context],
            );
        }
    });

    test("the seed's meshNetworks: NodePort gateways at fixed node addresses, identical in both primaries", () => {
        const expected = {
            network1: {
                endpoints: [{ fromRegistry: "cluster1" }],
                gateways: [{ address: "10.20.144.83", port: 31674 }],
            },
            network2: {
                endpoints: [{ fromRegistry: "cluster2" }],
                gateways: [{ address: "10.20.144.165", port: 32361 }],
            },
        };
        for (const c of ["cluster1", "cluster2"]) {
            const istiod = find(resources, "kubernetes:helm.sh/v3:Release", `${c}-istiod`);
            assert.deepEqual(istiod.inputs.values.global.meshNetworks, expected);
            assert.equal(istiod.inputs.values.global.multiCluster.clusterName, c);
        }
    });

    test("remote secrets carry the reader token, never the admin credentials of the kubeconfig file", () => {
        for (const s of ofType(resources, "kubernetes:core/v1:Secret")) {
            assert.ok(!JSON.stringify(s.inputs).includes("admin-token-of"), s.name);
        }
    });

    test("stack outputs: root expiry, per-cluster gateway and intermediate expiry, troubleshooting", async () => {
        const rootCa = program.rootCa as { notAfter: pulumi.Output<string>; fingerprintSha256: pulumi.Output<string> };
        assert.match(await promiseOf(rootCa.notAfter), /^\d{4}-\d{2}-\d{2}T/);
        const clusters = program.clusters as Record<string, { istio: pulumi.Output<Record<string, unknown>> }>;
        const istio = await promiseOf(clusters.cluster1.istio);
        assert.deepEqual(istio.eastWestGateway, { address: "10.20.144.83", port: 31674, serviceType: "NodePort" });
        assert.ok((program.troubleshooting as Record<string, unknown>).cluster2);
        assert.equal(program.verification, undefined, "verify is off in the dev stack");
        const readers = program.readerCredentials as Record<
            string,
            Record<string, { account: string; expires: string }>
        >;
        assert.equal(readers.cluster1.cluster2.account, "istio-system/istio-reader-service-account");
        assert.equal(readers.cluster1.cluster2.expires, "never");
    });
});

describe("program inputs are checked before anything is registered", () => {
    const env = (files: Record<string, string>, now = new Date()): ProgramEnvironment => ({
        env: { HOME: "/home/me" },
        readFile: (file) => {
            if (file in files) return files[file];
            throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: "ENOENT" });
        },
        now,
    });
    const clusters = [
        { name: "cluster1", kubeconfig: "/home/me/mesh.yaml", context: "one" },
        { name: "cluster2", kubeconfig: "/home/me/mesh.yaml", context: "two" },
    ];

    test("config problems, kubeconfig problems and plain-text secrets are reported together", () => {
        const files = { "/home/me/mesh.yaml": multiconf({ one: "https://10.0.0.1:6443" }) };
        const raw = { clusters: [...clusters, { name: "Bad_Name" }], kubeconfigs: { cluster9: "x" } };
        assert.throws(
            () => loadProgramInputs({ raw, secretKeys: [] }, env(files)),
            (e: unknown) => {
                assert.ok(e instanceof ConfigValidationError);
                const paths = e.problems.map((p) => p.path);
                assert.ok(
                    paths.some((p) => p.startsWith("clusters[2].name")),
                    paths.join(),
                );
                assert.ok(
                    paths.some((p) => p.startsWith("kubeconfigs")),
                    paths.join(),
                );
                return true;
            },
        );
        // With the config fixed, the missing context of cluster2 is reported (and only that).
        assert.throws(
            () => loadProgramInputs({ raw: { clusters }, secretKeys: [] }, env(files)),
            (e: unknown) =>
                e instanceof ConfigValidationError && /clusters\[1\]/.test(e.message) && /two/.test(e.message),
        );
    });

    test("an imported root is checked against its key before anything is created", () => {
        const root = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        const other = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        const files = {
            "/home/me/mesh.yaml": multiconf({ one: "https://10.0.0.1:6443", two: "https://10.0.0.2:6443" }),
        };
        // A certificate that is not a CA at all: rejected with the config path.
        const raw = {
            clusters,
            ca: { mode: "import", certPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
            caKeyPem: other.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        };
        assert.throws(
            () => loadProgramInputs({ raw, secretKeys: ["caKeyPem"] }, env(files)),
            (e: unknown) => e instanceof ConfigValidationError && e.problems.some((p) => p.path === "ca.certPem"),
        );
        assert.ok(root.publicKey);
    });

    test("valid inputs: minimal kubeconfigs as secrets, apiServer from the context, plan built", async () => {
        const files = {
            "/home/me/mesh.yaml": multiconf({ one: "https://10.0.0.1:6443", two: "https://10.0.0.2:6443" }),
        };
        const inputs = loadProgramInputs({ raw: { clusters }, secretKeys: [] }, env(files));
        assert.equal(inputs.access.cluster2.apiServer, "https://10.0.0.2:6443");
        assert.equal(inputs.access.cluster2.kubeconfigPath, "/home/me/mesh.yaml");
        assert.ok(pulumi.isSecret(inputs.access.cluster1.kubeconfig as pulumi.Output<string>));
        assert.deepEqual(
            inputs.plan.remoteSecretPairs.map((p) => `${p.holder}<-${p.source}`),
            ["cluster1<-cluster2", "cluster2<-cluster1"],
        );
    });
});
