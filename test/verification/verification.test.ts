/**
 * The verification component under the shared mock harness (graph, providers, schema, secrets,
 * outputs), plus its pure manifests and the troubleshooting commands.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MeshConfig } from "../../components/config/config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { providerResourceName, resourceName } from "../../components/plan/naming";
import {
    ClusterProbeAccess,
    MeshVerification,
    PROBE_COMMAND,
    curlDeploymentManifest,
    helloworldDeploymentManifest,
    helloworldServiceManifest,
    probeKubeconfig,
    probeScriptFor,
    troubleshootingCommands,
    verificationNamespaceManifest,
} from "../../components/verification/verification";
import { KUBECONFIG_ENV_VAR } from "../../components/verification/verification-probe";
import { MESHES, MESH_NAMES, MeshName, cluster, meshConfig } from "../istio-fixtures";
import { dependsOn, find, ofType, promiseOf, runUnderMocks, validateKubernetesObjects } from "../harness";

const NS = "kubernetes:core/v1:Namespace";
const SVC = "kubernetes:core/v1:Service";
const SA = "kubernetes:core/v1:ServiceAccount";
const DEPLOY = "kubernetes:apps/v1:Deployment";
const CMD = "command:local:Command";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const SECRET_KUBECONFIG =
    "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: s3cr3t-t0ken-in-kubeconfig}\n";

/** The stdout a passing probe of `client` prints, answered by every cluster of the mesh. */
function passingStdout(client: string, clusters: readonly string[]): string {
    const lines = [`MESHPROBE start client=${client} namespace=mesh-verify requests=30 expected=${clusters.join(",")}`];
    let seq = 0;
    clusters.forEach((server, i) => {
        for (let n = 0; n <= i; n++) lines.push(`MESHPROBE answer seq=${++seq} server=${server}`);
    });
    lines.push("MESHPROBE verdict ok");
    return lines.join("\n");
}

interface Built {
    verification: MeshVerification;
    meshResources: string[];
    triggers: unknown[];
}

/**
 * The component as the lead wires it: one provider per cluster, a stand-in for the mesh (an istiod
 * release per cluster) as `dependsOn`, triggers from the cluster set and networks.
 */
function program(config: MeshConfig, access: (cluster: string) => ClusterProbeAccess): Built {
    const plan = buildMeshPlan(config);
    const providers: Record<string, k8s.Provider> = {};
    const mesh: pulumi.Resource[] = [];
    for (const c of plan.clusters) {
        providers[c.name] = new k8s.Provider(providerResourceName(c.name), { kubeconfig: "{}" });
        mesh.push(
            new k8s.helm.v3.Release(
                resourceName(c.name, "istiod"),
                { chart: "istiod", namespace: "istio-system" },
                { provider: providers[c.name] },
            ),
        );
    }
    const triggers = [plan.clusters.map((c) => c.name), plan.networks];
    const verification = new MeshVerification("verify", {
        plan,
        config,
        providers,
        access: Object.fromEntries(plan.clusters.map((c) => [c.name, access(c.name)])),
        dependsOn: mesh,
        triggers,
    });
    return { verification, meshResources: plan.clusters.map((c) => resourceName(c.name, "istiod")), triggers };
}

const fileAccess = (c: string): ClusterProbeAccess => ({
    kubeconfigPath: "/home/me/.kube/config",
    context: `kind-${c}`,
});

async function runMesh(mesh: MeshName, extra: Partial<MeshConfig> = {}) {
    const config = { ...MESHES[mesh](), verify: true, ...extra };
    const names = config.clusters.map((c) => c.name).sort();
    return runUnderMocks(() => program(config, fileAccess), {
        commandStdout: ({ name }) => passingStdout(name.replace(/-verify-probe$/, ""), names),
    }).then((r) => ({ ...r, config, names }));
}

// One mocked run per mesh, shared by the tests that only read it (runs cannot overlap anyway).
const runs = new Map<MeshName, ReturnType<typeof runMesh>>();
function run(mesh: MeshName): ReturnType<typeof runMesh> {
    if (!runs.has(mesh)) runs.set(mesh, runMesh(mesh));
    return runs.get(mesh)!;
}

describe("MeshVerification under mocks", () => {
    // The graph does not depend on the model beyond the cluster list; "mixed" has every role and network shape.
    for (const mesh of ["multiPrimary", "mixed", "nodePort"] as const) {
        it(`${mesh}: every cluster gets namespace, Service, both Deployments and the ServiceAccount on its own provider`, async () => {
            const { resources, names } = await run(mesh);
            for (const c of names) {
                const objects = [
                    find(resources, NS, `${c}-verify-namespace`),
                    find(resources, SVC, `${c}-verify-helloworld-service`),
                    find(resources, DEPLOY, `${c}-verify-helloworld`),
                    find(resources, SA, `${c}-verify-curl-serviceaccount`),
                    find(resources, DEPLOY, `${c}-verify-curl`),
                ];
                for (const o of objects) {
                    assert.equal(o.providerName, providerResourceName(c), `${o.name} is on ${o.providerName}`);
                    assert.equal(o.deleteBeforeReplace, true, `${o.name}: fixed names need delete-before-replace`);
                }
                const hello = find(resources, DEPLOY, `${c}-verify-helloworld`).inputs;
                assert.equal(hello.metadata.name, `helloworld-${c}`);
                assert.equal(hello.metadata.namespace, "mesh-verify");
                assert.deepEqual(hello.spec.template.spec.containers[0].env, [{ name: "SERVICE_VERSION", value: c }]);
            }
            // Nothing else in the workloads' namespace, and no Kubernetes object without an explicit provider.
            const k8sObjects = resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
            assert.ok(
                k8sObjects.every((r) => r.providerName),
                "a Kubernetes resource uses the default provider",
            );
            assert.equal(ofType(resources, DEPLOY).length, 2 * names.length);
        });

        it(`${mesh}: every object is schema-valid`, async () => {
            const { resources } = await run(mesh);
            assert.deepEqual(await validateKubernetesObjects(resources), []);
        });
    }

    it("orders each probe after every cluster's workloads, and every workload after the mesh", async () => {
        const { resources, names } = await run("mixed");
        const workloads = resources.filter((r) => [NS, SVC, SA, DEPLOY].includes(r.type));
        const meshReleases = ofType(resources, RELEASE);
        assert.equal(meshReleases.length, names.length);
        for (const w of workloads) {
            for (const m of meshReleases)
                assert.ok(dependsOn(resources, w, m), `${w.name} does not wait for ${m.name}`);
        }
        const probes = ofType(resources, CMD);
        assert.deepEqual(probes.map((p) => p.name).sort(), names.map((c) => `${c}-verify-probe`).sort());
        for (const p of probes) {
            for (const w of workloads) assert.ok(dependsOn(resources, p, w), `${p.name} does not wait for ${w.name}`);
        }
        // The client Deployment needs its ServiceAccount first.
        for (const c of names) {
            assert.ok(
                dependsOn(
                    resources,
                    find(resources, DEPLOY, `${c}-verify-curl`),
                    find(resources, SA, `${c}-verify-curl-serviceaccount`),
                ),
            );
        }
    });

    it("parents every child to the component, whose type token is istio-multicluster:verify:MeshVerification", async () => {
        const { resources } = await run("multiPrimary");
        const component = find(resources, "istio-multicluster:verify:MeshVerification", "verify");
        const children = resources.filter((r) => [NS, SVC, SA, DEPLOY, CMD].includes(r.type));
        assert.ok(children.length > 0);
        for (const r of children) assert.equal(r.parent, component.urn, r.name);
    });

    it("runs the probe with bash, the script in the environment, the given triggers, and a file kubeconfig", async () => {
        const { resources, config, result } = await run("multiPrimaryMultiNetwork");
        const plan = buildMeshPlan(config);
        const contexts = { cluster1: "kind-cluster1", cluster2: "kind-cluster2" };
        for (const c of ["cluster1", "cluster2"]) {
            const cmd = find(resources, CMD, `${c}-verify-probe`);
            assert.equal(cmd.inputs.create, PROBE_COMMAND);
            assert.deepEqual(cmd.inputs.interpreter, ["/bin/bash", "-c"]);
            assert.deepEqual(cmd.inputs.triggers, result.triggers);
            assert.deepEqual(cmd.secretPaths, [], "a file-based probe has nothing secret");
            assert.deepEqual(Object.keys(cmd.inputs.environment), ["MESH_VERIFY_PROBE"]);
            const script: string = cmd.inputs.environment.MESH_VERIFY_PROBE;
            assert.equal(script, probeScriptFor(plan, config, c, probeKubeconfig(fileAccess(c)), contexts));
            assert.match(
                script,
                new RegExp(
                    `k\\(\\) \\{ kubectl --kubeconfig '/home/me/\\.kube/config' --context 'kind-${c}' "\\$@"; \\}`,
                ),
            );
            assert.match(script, /^expected=\('cluster1' 'cluster2'\)$/m);
            assert.match(script, /^min_requests=30$/m);
            assert.match(script, /^budget=300$/m);
            // Multi-network hints are baked into the failure message.
            assert.match(script, /east-west gateway/);
        }
    });

    it("hands secret kubeconfig content through a secret environment, never in the script", async () => {
        const config = { ...MESHES.primaryRemote(), verify: true };
        const { resources } = await runUnderMocks(
            () =>
                program(config, (c) =>
                    c === "cluster2"
                        ? { kubeconfig: pulumi.output(SECRET_KUBECONFIG), context: "remote" }
                        : { kubeconfigPath: "/k/c1", context: "one" },
                ),
            {
                commandStdout: ({ name }) =>
                    passingStdout(name.replace(/-verify-probe$/, ""), ["cluster1", "cluster2"]),
            },
        );
        const secretProbe = find(resources, CMD, "cluster2-verify-probe");
        assert.deepEqual(secretProbe.secretPaths, ["environment"]);
        assert.equal(secretProbe.inputs.environment[KUBECONFIG_ENV_VAR], SECRET_KUBECONFIG);
        const script: string = secretProbe.inputs.environment.MESH_VERIFY_PROBE;
        assert.ok(!script.includes("s3cr3t"), "kubeconfig content leaked into the script");
        assert.ok(!secretProbe.inputs.create.includes("s3cr3t"));
        assert.match(script, /kubectl --kubeconfig <\(printf '%s' "\$MESH_VERIFY_KUBECONFIG"\) --context 'remote'/);
        // The file-based client next to it stays readable.
        assert.deepEqual(find(resources, CMD, "cluster1-verify-probe").secretPaths, []);
        // No other resource received the kubeconfig.
        const leaks = resources.filter((r) => r !== secretProbe && JSON.stringify(r.inputs).includes("s3cr3t"));
        assert.deepEqual(
            leaks.map((r) => r.name),
            [],
        );
    });

    it("labels the namespace for the configured revision instead of istio-injection", async () => {
        const { resources } = await runMesh("multiPrimary", { revision: "1-30-3" });
        for (const c of ["cluster1", "cluster2"]) {
            assert.deepEqual(find(resources, NS, `${c}-verify-namespace`).inputs.metadata.labels, {
                "istio.io/rev": "1-30-3",
            });
        }
        const { resources: plain } = await run("multiPrimary");
        assert.deepEqual(find(plain, NS, "cluster1-verify-namespace").inputs.metadata.labels, {
            "istio-injection": "enabled",
        });
    });

    it("turns the probes' stdout into the matrix and the per-client results", async () => {
        const { result, names } = await run("mixed");
        const matrix = await promiseOf(result.verification.matrix);
        assert.deepEqual(Object.keys(matrix).sort(), names);
        for (const client of names) {
            assert.deepEqual(matrix[client], Object.fromEntries(names.map((s, i) => [s, i + 1])));
        }
        const results = await promiseOf(result.verification.results);
        for (const client of names) {
            assert.equal(results[client].ok, true, results[client].message);
            assert.deepEqual(results[client].servers, names);
        }
    });

    it("reports a failed pair in the results when a probe's stdout lacks a cluster", async () => {
        const config = { ...MESHES.multiPrimary(), verify: true };
        const { result } = await runUnderMocks(() => program(config, fileAccess), {
            commandStdout: ({ name }) =>
                name === "cluster2-verify-probe"
                    ? passingStdout("cluster2", ["cluster2"]).replace("verdict ok", "verdict fail missing=cluster1")
                    : passingStdout("cluster1", ["cluster1", "cluster2"]),
        });
        const results = await promiseOf(result.verification.results);
        assert.equal(results.cluster1.ok, true);
        assert.equal(results.cluster2.ok, false);
        assert.match(results.cluster2.message, /Failed pairs: cluster2 → cluster1\./);
        assert.match(results.cluster2.message, /istioctl remote-clusters --context='kind-cluster2'/);
        assert.deepEqual(await promiseOf(result.verification.matrix), {
            cluster1: { cluster1: 1, cluster2: 2 },
            cluster2: { cluster2: 1 },
        });
    });

    it("names the cluster that has no provider or access", async () => {
        const config = { ...MESHES.multiPrimary(), verify: true };
        const plan = buildMeshPlan(config);
        await assert.rejects(
            runUnderMocks(() => {
                const p = new k8s.Provider(providerResourceName("cluster1"), { kubeconfig: "{}" });
                return new MeshVerification("verify", {
                    plan,
                    config,
                    providers: { cluster1: p },
                    access: { cluster1: {}, cluster2: {} },
                    dependsOn: [],
                    triggers: [],
                });
            }),
            /no provider or access for cluster\(s\) cluster2/,
        );
    });
});

describe("verification manifests", () => {
    const v = meshConfig([cluster("c1")]).verification;

    it("helloworld-<cluster> answers with its cluster name (SERVICE_VERSION) from the configured image", () => {
        const d = helloworldDeploymentManifest("eu-west", v) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.equal(d.metadata.name, "helloworld-eu-west");
        assert.deepEqual(d.metadata.labels, { app: "helloworld", version: "eu-west" });
        assert.deepEqual(d.spec.selector.matchLabels, { app: "helloworld", version: "eu-west" });
        const container = d.spec.template.spec.containers[0];
        assert.equal(container.image, v.serverImage);
        assert.deepEqual(container.env, [{ name: "SERVICE_VERSION", value: "eu-west" }]);
        assert.deepEqual(container.ports, [{ containerPort: 5000 }]);
    });

    it("the Service selects every helloworld version on port 5000 named http", () => {
        const s = helloworldServiceManifest("mesh-verify") as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.deepEqual(s.spec, { ports: [{ port: 5000, name: "http" }], selector: { app: "helloworld" } });
    });

    it("the curl client sleeps forever under its own ServiceAccount, with the configured image", () => {
        const d = curlDeploymentManifest({ ...v, clientImage: "registry.local/curl:8" }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const pod = d.spec.template.spec;
        assert.equal(pod.serviceAccountName, "curl");
        assert.deepEqual(pod.containers[0].command, ["/bin/sleep", "infinity"]);
        assert.equal(pod.containers[0].image, "registry.local/curl:8");
        assert.equal(pod.containers[0].name, "curl");
    });

    it("the namespace is labelled for injection", () => {
        assert.deepEqual(verificationNamespaceManifest(v).metadata, {
            name: "mesh-verify",
            labels: { "istio-injection": "enabled" },
        });
        assert.deepEqual(verificationNamespaceManifest(v, "canary").metadata, {
            name: "mesh-verify",
            labels: { "istio.io/rev": "canary" },
        });
    });

    it("chooses the kubeconfig file over content, and content only without a file", () => {
        assert.deepEqual(probeKubeconfig({ kubeconfigPath: "/k", kubeconfig: pulumi.output("x"), context: "c" }), {
            kind: "file",
            path: "/k",
            context: "c",
        });
        assert.deepEqual(probeKubeconfig({ kubeconfig: pulumi.output("x") }), {
            kind: "content",
            envVar: KUBECONFIG_ENV_VAR,
            context: undefined,
        });
        assert.deepEqual(probeKubeconfig({}), { kind: "file", path: undefined, context: undefined });
    });
});

describe("troubleshootingCommands", () => {
    const all = (t: ReturnType<typeof troubleshootingCommands>[string]) => [
        t.remoteClusters,
        t.curlPod,
        t.endpoints,
        t.request,
        ...t.rootFingerprint,
        ...t.networkLabels,
    ];

    it("gives every cluster ready-to-paste commands that are valid bash", () => {
        for (const mesh of MESH_NAMES) {
            const config = MESHES[mesh]();
            const plan = buildMeshPlan(config);
            const t = troubleshootingCommands(plan, config, {});
            assert.deepEqual(Object.keys(t).sort(), plan.clusters.map((c) => c.name).sort());
            // One command per line, checked in one bash run per mesh; the error names the line.
            const lines = Object.values(t).flatMap((cmds) => [cmds.setup!, ...all(cmds)]);
            const r = spawnSync("/bin/bash", ["-n"], { input: lines.join("\n") + "\n" });
            assert.equal(r.status, 0, `${mesh}: ${r.stderr}\n${lines.map((l, i) => `${i + 1}: ${l}`).join("\n")}`);
        }
    });

    it("uses known contexts literally and $CTX_<CLUSTER> (with a setup line) otherwise", () => {
        const config = MESHES.multiPrimary();
        const t = troubleshootingCommands(buildMeshPlan(config), config, { cluster1: "kind-cluster1" });
        assert.equal(t.cluster1.setup, undefined);
        assert.match(t.cluster1.remoteClusters, /^istioctl remote-clusters --context='kind-cluster1' /);
        assert.equal(
            t.cluster2.setup,
            "export CTX_CLUSTER2='<kube context of cluster2>'  # see: kubectl config get-contexts",
        );
        assert.match(t.cluster2.remoteClusters, /^istioctl remote-clusters --context="\$CTX_CLUSTER2" /);
        assert.equal(
            t.cluster1.endpoints,
            `istioctl proxy-config endpoint "$(kubectl --context='kind-cluster1' -n mesh-verify get pod -l app=curl ` +
                `-o jsonpath='{.items[0].metadata.name}')" -n mesh-verify --context='kind-cluster1' | grep helloworld`,
        );
        assert.equal(
            t.cluster1.request,
            "for i in $(seq 10); do kubectl --context='kind-cluster1' -n mesh-verify exec deploy/curl -c curl -- " +
                "curl -sS http://helloworld.mesh-verify:5000/hello; done",
        );
    });

    it("asks the serving primary's istiod about a remote cluster", () => {
        const config = MESHES.mixed();
        const t = troubleshootingCommands(buildMeshPlan(config), config, { east: "ctx-east", "east-remote": "ctx-er" });
        assert.match(
            t["east-remote"].remoteClusters,
            /^istioctl remote-clusters --context='ctx-east' {2}# istiod of east/,
        );
        assert.match(t["west-remote"].remoteClusters, /--context="\$CTX_WEST"/);
    });

    it("compares roots: cacerts on primaries, the workloads' root everywhere", () => {
        const config = MESHES.primaryRemote();
        const t = troubleshootingCommands(buildMeshPlan(config), config, { cluster1: "c1", cluster2: "c2" });
        assert.deepEqual(t.cluster1.rootFingerprint, [
            "kubectl --context='c1' -n istio-system get secret cacerts -o jsonpath='{.data.root-cert\\.pem}' | " +
                "base64 -d | openssl x509 -noout -fingerprint -sha256",
            "kubectl --context='c1' -n istio-system get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\\.pem}' | " +
                "openssl x509 -noout -fingerprint -sha256",
        ]);
        assert.equal(t.cluster2.rootFingerprint.length, 1);
        assert.match(t.cluster2.rootFingerprint[0], /istio-ca-root-cert/);
    });

    it("says which endpoints to expect: pod IPs on the same network, gateway address:port across networks", () => {
        const nodePort = MESHES.nodePort();
        const t = troubleshootingCommands(buildMeshPlan(nodePort), nodePort, {});
        assert.equal(
            t.lan1.expectedEndpoints,
            "a pod IP:5000 for each of lan1 (same network); the east-west gateway of network2 (192.168.20.11:32443) for lan2.",
        );
        assert.match(
            t.lan1.networkLabels.join("\n"),
            /istio-eastwestgateway -L topology\.istio\.io\/network {2}# expect network1/,
        );
        const single = MESHES.multiPrimary();
        const s = troubleshootingCommands(buildMeshPlan(single), single, {});
        assert.equal(s.cluster1.expectedEndpoints, "a pod IP:5000 for each of cluster1, cluster2 (same network).");
        const lb = MESHES.multiPrimaryMultiNetwork();
        const l = troubleshootingCommands(buildMeshPlan(lb), lb, {});
        assert.match(l.cluster1.expectedEndpoints, /<address of istio-eastwestgateway in cluster2>:15443/);
    });

    it("checks network labels of istio-system, the gateway and the client pods", () => {
        const config = MESHES.multiPrimaryMultiNetwork();
        const t = troubleshootingCommands(buildMeshPlan(config), config, { cluster2: "c2" });
        assert.deepEqual(t.cluster2.networkLabels, [
            "kubectl --context='c2' get namespace istio-system -L topology.istio.io/network  # expect network2",
            "kubectl --context='c2' -n istio-system get service istio-eastwestgateway -L topology.istio.io/network  " +
                "# expect network2 and an EXTERNAL-IP, not <pending>",
            "kubectl --context='c2' -n mesh-verify get pods -L topology.istio.io/network  # sidecars report network2",
        ]);
    });

    it("expects no network label on a LoadBalancer gateway behind a NAT: meshNetworks advertises its address", () => {
        const config = meshConfig([
            cluster("cluster1", { eastWestGateway: { serviceType: "LoadBalancer", address: "203.0.113.10" } }),
            cluster("cluster2", { network: "network2" }),
        ]);
        const t = troubleshootingCommands(buildMeshPlan(config), config, {});
        assert.match(
            t.cluster1.networkLabels[1],
            /get service istio-eastwestgateway -L topology\.istio\.io\/network {2}# expect no topology\.istio\.io\/network label: meshNetworks advertises 203\.0\.113\.10$/,
        );
        assert.match(t.cluster2.networkLabels[1], /# expect network2 and an EXTERNAL-IP, not <pending>$/);
    });
});
