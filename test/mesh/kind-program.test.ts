/**
 * The program (index.ts) on the kind bed, offline: Pulumi.kind.yaml after scripts/kind-up.sh has
 * written the control-plane addresses into it, and a kubeconfig shaped like the one kind writes
 * (servers on 127.0.0.1). The point of the bed's design shows here: Pulumi talks to the clusters
 * through 127.0.0.1, while the remote secrets carry the addresses the other cluster's pods reach.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

import * as yaml from "js-yaml";

import { readStackConfigFile } from "../../components/config/stack-config";
import { evaluateProgram, find, ofType, RecordedResource, runUnderMocks, validateKubernetesObjects } from "../harness";

const repoRoot = path.resolve(__dirname, "..", "..");
const apiServers = { cluster1: "https://172.18.0.3:6443", cluster2: "https://172.18.0.2:6443" };
const localServers = { cluster1: "https://127.0.0.1:41001", cluster2: "https://127.0.0.1:41002" };

/** The kubeconfig `kind create cluster --kubeconfig` writes for two clusters (fake credentials). */
function kindKubeconfig(): string {
    const names = ["cluster1", "cluster2"] as const;
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "kind-cluster2",
        clusters: names.map((n) => ({
            name: `kind-${n}`,
            cluster: {
                server: localServers[n],
                "certificate-authority-data": Buffer.from(`ca of ${n}`).toString("base64"),
            },
        })),
        users: names.map((n) => ({
            name: `kind-${n}`,
            user: {
                "client-certificate-data": Buffer.from(`cert of ${n}`).toString("base64"),
                "client-key-data": Buffer.from(`key of ${n}`).toString("base64"),
            },
        })),
        contexts: names.map((n) => ({ name: `kind-${n}`, context: { cluster: `kind-${n}`, user: `kind-${n}` } })),
    });
}

type KubeconfigDoc = { clusters: { cluster: { server: string } }[]; contexts: { name: string }[] };

describe("index.ts with Pulumi.kind.yaml as kind-up.sh leaves it", () => {
    let bed: string;
    let savedCwd: string;
    let savedKubeconfig: string | undefined;
    let resources: RecordedResource[];

    before(async () => {
        bed = fs.mkdtempSync(path.join(os.tmpdir(), "kind-bed-"));
        const stackFile = path.join(bed, "Pulumi.kind.yaml");
        fs.copyFileSync(path.join(repoRoot, "Pulumi.kind.yaml"), stackFile);
        // The same edit kind-up.sh makes, through the same function.
        for (const [cluster, url] of Object.entries(apiServers)) {
            const r = spawnSync(
                "bash",
                ["-c", 'source "$1" && set_stack_api_server "$2" "$3" "$4"', "x"].concat([
                    path.join(repoRoot, "scripts", "kind-lib.sh"),
                    stackFile,
                    cluster,
                    url,
                ]),
                { encoding: "utf8" },
            );
            assert.equal(r.status, 0, r.stderr);
        }
        fs.writeFileSync(path.join(bed, "kind-kubeconfig"), kindKubeconfig());

        // Pulumi runs the program in the project directory; `./kind-kubeconfig` resolves there.
        savedCwd = process.cwd();
        savedKubeconfig = process.env.KUBECONFIG;
        delete process.env.KUBECONFIG;
        process.chdir(bed);
        // Small RSA keys keep the real-crypto mocks fast; nothing here depends on the key size.
        const { raw } = readStackConfigFile(stackFile);
        const run = await runUnderMocks(evaluateProgram, {
            config: { ...raw, ca: { rsaBits: 2048 } },
            stack: "kind",
        });
        resources = run.resources;
    });
    after(() => {
        process.chdir(savedCwd);
        if (savedKubeconfig !== undefined) process.env.KUBECONFIG = savedKubeconfig;
        fs.rmSync(bed, { recursive: true, force: true });
    });

    test("builds a schema-valid mesh in exactly the two kind clusters", async () => {
        const kube = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.readId);
        assert.ok(kube.length > 20);
        for (const r of kube) assert.ok(r.cluster === "cluster1" || r.cluster === "cluster2", r.name);
        assert.deepEqual(await validateKubernetesObjects(resources), []);
    });

    test("each provider uses its kind context and the 127.0.0.1 address of this machine", () => {
        for (const cluster of ["cluster1", "cluster2"] as const) {
            const provider = find(resources, "pulumi:providers:kubernetes", `${cluster}-k8s`);
            assert.ok(provider.secretPaths.includes("kubeconfig"), "the provider's kubeconfig is secret");
            const kc = yaml.load(provider.inputs.kubeconfig) as KubeconfigDoc;
            assert.deepEqual(
                kc.contexts.map((c) => c.name),
                [`kind-${cluster}`],
            );
            assert.equal(kc.clusters[0].cluster.server, localServers[cluster]);
        }
    });

    test("the remote secrets point each istiod at the other control-plane container, never 127.0.0.1", () => {
        for (const [holder, source] of [
            ["cluster1", "cluster2"],
            ["cluster2", "cluster1"],
        ] as const) {
            const secret = find(resources, "kubernetes:core/v1:Secret", `${holder}-remote-secret-${source}`);
            assert.equal(secret.cluster, holder);
            assert.ok(secret.secretPaths.includes("data"), "the remote secret's data is secret");
            const kc = yaml.load(Buffer.from(secret.inputs.data[source], "base64").toString("utf8")) as KubeconfigDoc;
            assert.equal(kc.clusters[0].cluster.server, apiServers[source]);
        }
    });

    test("both clusters get a LoadBalancer east-west gateway for their own network", () => {
        for (const [cluster, network] of [
            ["cluster1", "network1"],
            ["cluster2", "network2"],
        ]) {
            const release = find(resources, "kubernetes:helm.sh/v3:Release", `${cluster}-istio-eastwestgateway`);
            assert.equal(release.inputs.values.networkGateway, network);
            assert.equal(release.inputs.values.service?.type ?? "LoadBalancer", "LoadBalancer");
        }
    });

    test("the verification probes run kubectl against ./kind-kubeconfig with the client's kind context", () => {
        const probes = ofType(resources, "command:local:Command");
        assert.deepEqual(probes.map((p) => p.name).sort(), ["cluster1-verify-probe", "cluster2-verify-probe"]);
        const kubeconfigPaths = [path.join(bed, "kind-kubeconfig"), path.join(fs.realpathSync(bed), "kind-kubeconfig")];
        for (const probe of probes) {
            const client = probe.name.replace(/-verify-probe$/, "");
            const script = Object.values(probe.inputs.environment as Record<string, string>).join("\n");
            assert.ok(
                kubeconfigPaths.some((p) => script.includes(p)),
                `${probe.name} uses the bed's kubeconfig file`,
            );
            assert.match(script, new RegExp(`--context[= ]'?kind-${client}\\b`), `${probe.name} uses kind-${client}`);
        }
    });
});
