import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import * as yaml from "js-yaml";
import { Secret as SecretModel } from "kubernetes-models/v1/Secret";
import { ClusterConfig, MeshConfig } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { ISTIO_NAMESPACE, providerResourceName, resourceName } from "../../components/plan/naming";
import { MeshRemoteSecrets, createMeshRemoteSecrets } from "../../components/remote-secrets/remote-secrets";
import {
    PER_HOLDER_SECRET_NAME,
    PER_SOURCE_ADVICE_THRESHOLD,
    RemoteSecretLayout,
    parseReaderTokenData,
    planRemoteSecrets,
    readerTokenSecretManifest,
    remoteSecretLayoutAdvice,
    remoteSecretManifest,
    remoteSecretSourcesByHolder,
    renderRemoteKubeconfig,
} from "../../components/remote-secrets/remote-secrets-manifest";
import {
    RecordedResource,
    dependsOn,
    find,
    ofType,
    promiseOf,
    runUnderMocks,
    validateKubernetesObjects,
} from "../harness";
import { meshConfig } from "../istio-fixtures";
import { meshOf, meshResources } from "../plan-diff";
import { analyzeEach, analyzeStack, fromRecorded } from "../policy-driver";
import { explicitProvider, remoteSecretCredentials, remoteSecretsMatchClusters } from "../../policies/rules";

// Deterministic runs (the suite must give the same verdict every time); change the seed to explore.
fc.configureGlobal({ seed: 5 });

const CA_DATA = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");

// A realistic JWT shape: three base64url segments, long, no spaces.
const TOKEN = ["eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ", "x".repeat(600), "sig-_0123456789"].join(".");

interface KubeconfigShape {
    apiVersion: string;
    kind: string;
    clusters: { name: string; cluster: Record<string, string> }[];
    users: { name: string; user: Record<string, string> }[];
    contexts: { name: string; context: { cluster: string; user: string } }[];
    "current-context": string;
}

function parseKubeconfig(text: string): KubeconfigShape {
    return yaml.load(text) as KubeconfigShape;
}

/** Asserts the kubeconfig shape istioctl produces, for cluster `name`. */
function assertRemoteKubeconfig(text: string, name: string, server: string, caData: string, token: string): void {
    const kc = parseKubeconfig(text);
    assert.equal(kc.apiVersion, "v1");
    assert.equal(kc.kind, "Config");
    assert.deepEqual(
        kc.clusters.map((c) => c.name),
        [name],
    );
    assert.equal(kc.clusters[0].cluster.server, server);
    assert.equal(kc.clusters[0].cluster["certificate-authority-data"], caData);
    assert.deepEqual(kc.users, [{ name, user: { token } }]);
    assert.deepEqual(kc.contexts, [{ name, context: { cluster: name, user: name } }]);
    assert.equal(kc["current-context"], name);
}

describe("renderRemoteKubeconfig", () => {
    it("renders one cluster, user and context named after the source, with the bearer token", () => {
        const text = renderRemoteKubeconfig({
            clusterName: "cluster2",
            server: "https://172.18.0.3:6443",
            caData: CA_DATA,
            token: TOKEN,
        });
        assertRemoteKubeconfig(text, "cluster2", "https://172.18.0.3:6443", CA_DATA, TOKEN);
        assert.equal(parseKubeconfig(text).clusters[0].cluster["tls-server-name"], undefined);
        // A folded token would be a different credential.
        assert.ok(text.split("\n").some((line) => line.trim() === `token: ${TOKEN}`));
    });

    it("adds tls-server-name only when given", () => {
        const text = renderRemoteKubeconfig({
            clusterName: "east",
            server: "https://api.east.example:443",
            caData: CA_DATA,
            token: TOKEN,
            tlsServerName: "kubernetes.default.svc",
        });
        assert.equal(parseKubeconfig(text).clusters[0].cluster["tls-server-name"], "kubernetes.default.svc");
    });

    it("keeps YAML-special names and servers as strings", () => {
        for (const clusterName of ["true", "null", "0123", "1e3", "on"]) {
            const text = renderRemoteKubeconfig({
                clusterName,
                server: "https://[fd00::1]:6443",
                caData: CA_DATA,
                token: TOKEN,
            });
            assertRemoteKubeconfig(text, clusterName, "https://[fd00::1]:6443", CA_DATA, TOKEN);
        }
    });

    it("rejects an empty token or CA, a non-URL and a plain-http server", () => {
        const base = { clusterName: "c1", server: "https://10.0.0.1:6443", caData: CA_DATA, token: TOKEN };
        assert.throws(() => renderRemoteKubeconfig({ ...base, token: "" }), /c1: the reader token is empty/);
        assert.throws(() => renderRemoteKubeconfig({ ...base, caData: "" }), /c1: the API server CA data is empty/);
        assert.throws(
            () => renderRemoteKubeconfig({ ...base, server: "10.0.0.1:6443" }),
            /c1: apiServer .* (is not a URL|must use https)/,
        );
        assert.throws(() => renderRemoteKubeconfig({ ...base, server: "not a url" }), /is not a URL/);
        assert.throws(() => renderRemoteKubeconfig({ ...base, server: "http://10.0.0.1:8080" }), /must use https/);
    });
});

describe("reader token Secret", () => {
    it("is the service-account-token Secret istioctl creates, with no data of its own", () => {
        const m = readerTokenSecretManifest();
        assert.equal(m.metadata.name, "istio-reader-service-account-istio-remote-secret-token");
        assert.equal(m.metadata.namespace, "istio-system");
        assert.equal(m.type, "kubernetes.io/service-account-token");
        assert.equal(m.metadata.annotations?.["kubernetes.io/service-account.name"], "istio-reader-service-account");
        assert.equal(m.data, undefined);
        assert.equal(m.metadata.labels, undefined);
        new SecretModel(m).validate();
    });

    it("asks the provider to wait for both token and ca.crt", () => {
        const waitFor = JSON.parse(readerTokenSecretManifest().metadata.annotations!["pulumi.com/waitFor"]) as string[];
        assert.deepEqual(waitFor, ["jsonpath={.data.token}", "jsonpath={.data['ca.crt']}"]);
    });

    it("reads the decoded token and the CA as stored", () => {
        const data = { token: Buffer.from(TOKEN).toString("base64"), "ca.crt": CA_DATA, namespace: "aXN0aW8tc3lzdGVt" };
        assert.deepEqual(parseReaderTokenData("west", data), { token: TOKEN, caData: CA_DATA });
    });

    it("names the cluster and the likely cause when the controller did not fill the Secret", () => {
        assert.throws(() => parseReaderTokenData("west", undefined), /cluster west has no data\.token.*istio-base/);
        assert.throws(() => parseReaderTokenData("west", { token: "eA==" }), /cluster west has no data\["ca\.crt"\]/);
        assert.throws(
            () => parseReaderTokenData("west", { token: Buffer.from(" \n").toString("base64"), "ca.crt": CA_DATA }),
            /decodes to an empty string/,
        );
    });
});

describe("planRemoteSecrets", () => {
    it("perSource: one istioctl-shaped Secret per source, names from cluster names only", () => {
        const planned = planRemoteSecrets("cluster1", ["cluster3", "cluster2"], "perSource");
        assert.deepEqual(planned, [
            {
                holder: "cluster1",
                resourceName: "cluster1-remote-secret-cluster2",
                objectName: "istio-remote-secret-cluster2",
                sources: ["cluster2"],
            },
            {
                holder: "cluster1",
                resourceName: "cluster1-remote-secret-cluster3",
                objectName: "istio-remote-secret-cluster3",
                sources: ["cluster3"],
            },
        ]);
    });

    it("perHolder: one Secret with every source as a key", () => {
        assert.deepEqual(planRemoteSecrets("cluster1", ["cluster3", "cluster2"], "perHolder"), [
            {
                holder: "cluster1",
                resourceName: "cluster1-remote-secrets",
                objectName: PER_HOLDER_SECRET_NAME,
                sources: ["cluster2", "cluster3"],
            },
        ]);
    });

    it("rejects the holder as its own source and duplicate sources; no sources → no Secret", () => {
        for (const layout of ["perSource", "perHolder"] as const) {
            assert.throws(() => planRemoteSecrets("a", ["b", "a"], layout), /never holds one for itself/);
            assert.throws(() => planRemoteSecrets("a", ["b", "b"], layout), /source b is listed twice/);
            assert.deepEqual(planRemoteSecrets("a", [], layout), []);
        }
    });

    it("the per-holder object name can never equal a per-source one", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/), (name) => {
                assert.notEqual(
                    planRemoteSecrets("holder.x", [name], "perSource")[0].objectName,
                    PER_HOLDER_SECRET_NAME,
                );
            }),
        );
    });
});

describe("remote Secret manifests", () => {
    const kubeconfigs = {
        c2: renderRemoteKubeconfig({
            clusterName: "c2",
            server: "https://10.0.0.2:6443",
            caData: CA_DATA,
            token: TOKEN,
        }),
        c3: renderRemoteKubeconfig({
            clusterName: "c3",
            server: "https://10.0.0.3:6443",
            caData: CA_DATA,
            token: TOKEN,
        }),
    };

    it("perSource: istioctl's label, annotation and single key", () => {
        const [planned] = planRemoteSecrets("c1", ["c2"], "perSource");
        const m = remoteSecretManifest(planned, kubeconfigs);
        assert.deepEqual(m.metadata, {
            name: "istio-remote-secret-c2",
            namespace: "istio-system",
            labels: { "istio/multiCluster": "true" },
            annotations: { "networking.istio.io/cluster": "c2" },
        });
        assert.equal(m.type, "Opaque");
        assert.deepEqual(Object.keys(m.data!), ["c2"]);
        assert.equal(Buffer.from(m.data!.c2, "base64").toString("utf8"), kubeconfigs.c2);
        new SecretModel(m).validate();
    });

    it("perHolder: the label, one key per source, no single-cluster annotation", () => {
        const [planned] = planRemoteSecrets("c1", ["c3", "c2"], "perHolder");
        const m = remoteSecretManifest(planned, kubeconfigs);
        assert.equal(m.metadata.name, PER_HOLDER_SECRET_NAME);
        assert.deepEqual(m.metadata.labels, { "istio/multiCluster": "true" });
        assert.equal(m.metadata.annotations, undefined);
        assert.deepEqual(Object.keys(m.data!).sort(), ["c2", "c3"]);
        for (const key of ["c2", "c3"] as const) {
            assert.equal(Buffer.from(m.data![key], "base64").toString("utf8"), kubeconfigs[key]);
        }
        new SecretModel(m).validate();
    });

    it("fails loudly when a source's kubeconfig is missing", () => {
        const [planned] = planRemoteSecrets("c1", ["c4"], "perSource");
        assert.throws(() => remoteSecretManifest(planned, kubeconfigs), /in c1: no kubeconfig for c4/);
    });
});

// ---- Property tests over generated meshes -------------------------------------------------

const NETWORKS = ["network1", "network2", "network3"];

function clusterConfig(name: string, role: "primary" | "remote", network: string, apiServer: string): ClusterConfig {
    return { name, role, network, apiServer, eastWestGateway: { serviceType: "LoadBalancer" }, adopt: false };
}

const apiServerArb = fc
    .tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 1, max: 65535 }))
    .map(([host, port]) => `https://${host}:${port}`);

const randomNamesArb = fc.uniqueArray(fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/), {
    minLength: 1,
    maxLength: 12,
});

/**
 * Names from a fixed pool of 12: the mocked token controller mints one CA per cluster name, so
 * mocked runs stay fast; arbitrary names are covered by the pure properties.
 */
const pooledNamesArb = fc.shuffledSubarray(
    Array.from({ length: 12 }, (_, i) => `cluster${i + 1}`),
    { minLength: 1, maxLength: 12 },
);

/** 1–12 clusters with the given names, random roles (at least one primary), networks and API servers. */
const meshArbOf = (namesArb: fc.Arbitrary<string[]>) =>
    // noBias: sizes spread over 1–12 instead of favouring tiny meshes.
    fc.noBias(namesArb).chain((names) =>
        fc
            .tuple(
                fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }),
                fc.array(fc.constantFrom(...NETWORKS), { minLength: names.length, maxLength: names.length }),
                fc.array(apiServerArb, { minLength: names.length, maxLength: names.length }),
                fc.array(fc.nat(), { minLength: names.length, maxLength: names.length }),
            )
            .map(([isPrimary, networks, servers, picks]) => {
                if (!isPrimary.some(Boolean)) isPrimary[0] = true;
                const primaries = names.filter((_, i) => isPrimary[i]);
                const clusters = names.map((name, i) => {
                    const c = clusterConfig(name, isPrimary[i] ? "primary" : "remote", networks[i], servers[i]);
                    if (!isPrimary[i] && primaries.length > 1) c.controlPlane = primaries[picks[i] % primaries.length];
                    return c;
                });
                return meshConfig(clusters);
            }),
    );

const meshArb = meshArbOf(randomNamesArb);

/** What Istio's guides install, computed independently of the plan: each primary watches every other cluster. */
function expectedPairs(config: MeshConfig): Set<string> {
    const pairs = new Set<string>();
    for (const holder of config.clusters.filter((c) => c.role === "primary")) {
        for (const source of config.clusters)
            if (source.name !== holder.name) pairs.add(`${holder.name}<-${source.name}`);
    }
    return pairs;
}

describe("remote secrets over generated meshes", () => {
    for (const layout of ["perSource", "perHolder"] as RemoteSecretLayout[]) {
        it(`${layout}: the (holder, source) pairs are exactly the expected ones, each once per holder`, () => {
            fc.assert(
                fc.property(meshArb, (config) => {
                    const plan = buildMeshPlan(config);
                    const created = new Set<string>();
                    const secretCount = new Map<string, number>();
                    for (const [holder, sources] of remoteSecretSourcesByHolder(plan.remoteSecretPairs)) {
                        const perHolder = new Set<string>();
                        for (const p of planRemoteSecrets(holder, sources, layout)) {
                            assert.equal(p.holder, holder);
                            secretCount.set(holder, (secretCount.get(holder) ?? 0) + 1);
                            for (const s of p.sources) {
                                assert.ok(!perHolder.has(s), `${s} twice in ${holder}`);
                                perHolder.add(s);
                                created.add(`${holder}<-${s}`);
                            }
                        }
                    }
                    assert.deepEqual([...created].sort(), [...expectedPairs(config)].sort());
                    for (const c of plan.clusters) {
                        const n = secretCount.get(c.name) ?? 0;
                        if (c.role === "remote") assert.equal(n, 0, `remote ${c.name} holds a secret`);
                        else if (config.clusters.length > 1) {
                            assert.equal(n, layout === "perHolder" ? 1 : config.clusters.length - 1);
                        }
                    }
                }),
                { numRuns: 50 },
            );
        });
    }

    it("every kubeconfig parses, is named after its source and points at the configured apiServer", () => {
        fc.assert(
            fc.property(meshArb, fc.constantFrom<RemoteSecretLayout>("perSource", "perHolder"), (config, layout) => {
                const plan = buildMeshPlan(config);
                const apiServer = new Map(config.clusters.map((c) => [c.name, c.apiServer!]));
                const kubeconfigs: Record<string, string> = {};
                for (const c of config.clusters) {
                    kubeconfigs[c.name] = renderRemoteKubeconfig({
                        clusterName: c.name,
                        server: c.apiServer!,
                        caData: CA_DATA,
                        token: `${TOKEN}-${c.name}`,
                    });
                }
                for (const [holder, sources] of remoteSecretSourcesByHolder(plan.remoteSecretPairs)) {
                    for (const p of planRemoteSecrets(holder, sources, layout)) {
                        const m = remoteSecretManifest(p, kubeconfigs);
                        assert.deepEqual(Object.keys(m.data!).sort(), p.sources);
                        for (const [source, b64] of Object.entries(m.data!)) {
                            const text = Buffer.from(b64, "base64").toString("utf8");
                            assertRemoteKubeconfig(text, source, apiServer.get(source)!, CA_DATA, `${TOKEN}-${source}`);
                        }
                    }
                }
            }),
            { numRuns: 30 },
        );
    });
});

// ---- Components under the shared mock harness ---------------------------------------------

const SECRET = "kubernetes:core/v1:Secret";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const READER_TYPE = "istio-multicluster:remote:ClusterReaderToken";
const HOLDER_TYPE = "istio-multicluster:remote:RemoteSecrets";

/** A stand-in for the user's admin credential: it must never reach a remote secret. */
const adminToken = (cluster: string) => `ADMIN-TOKEN-OF-${cluster}`;

interface ProgramOptions {
    /** Also create namespace and istio-base/istiod releases per cluster (the wiring the lead does). */
    scaffold?: boolean;
}

/** Wires the remote secrets of `config` the way the program does: one provider per cluster. */
function meshProgram(config: MeshConfig, opts: ProgramOptions = { scaffold: true }) {
    return () => {
        const plan = buildMeshPlan(config);
        const clusters: Parameters<typeof createMeshRemoteSecrets>[0]["clusters"] = {};
        for (const c of plan.clusters) {
            const provider = new k8s.Provider(providerResourceName(c.name), {
                kubeconfig: pulumi.secret(
                    yaml.dump({
                        apiVersion: "v1",
                        kind: "Config",
                        clusters: [{ name: c.name, cluster: { server: c.config.apiServer } }],
                        users: [{ name: "admin", user: { token: adminToken(c.name) } }],
                        contexts: [{ name: c.name, context: { cluster: c.name, user: "admin" } }],
                        "current-context": c.name,
                    }),
                ),
            });
            let istioReleases: pulumi.Resource[] = [];
            let namespace: pulumi.Resource | undefined;
            if (opts.scaffold) {
                namespace = new k8s.core.v1.Namespace(
                    resourceName(c.name, "istio-system"),
                    { metadata: { name: ISTIO_NAMESPACE } },
                    { provider },
                );
                const base = new k8s.helm.v3.Release(
                    resourceName(c.name, "istio-base"),
                    { name: "istio-base", chart: "base", namespace: ISTIO_NAMESPACE },
                    { provider, dependsOn: [namespace] },
                );
                const istiod = new k8s.helm.v3.Release(
                    resourceName(c.name, "istiod"),
                    {
                        name: "istiod",
                        chart: "istiod",
                        namespace: ISTIO_NAMESPACE,
                        values: {
                            ...(c.role === "remote" ? { profile: "remote" } : {}),
                            global: {
                                meshID: config.meshId,
                                network: c.network,
                                multiCluster: { clusterName: c.name },
                            },
                        },
                    },
                    { provider, dependsOn: [base] },
                );
                istioReleases = [base, istiod];
            }
            clusters[c.name] = { provider, apiServer: c.config.apiServer!, istioReleases, namespace };
        }
        return createMeshRemoteSecrets({ plan, settings: config.remoteSecrets, clusters });
    };
}

function withLayout(config: MeshConfig, layout: RemoteSecretLayout): MeshConfig {
    return { ...config, remoteSecrets: { ...config.remoteSecrets, layout } };
}

/** cluster1 and cluster2 primaries on two networks, cluster3 a remote of cluster1. */
function threeClusterMesh(layout: RemoteSecretLayout): MeshConfig {
    return withLayout(
        meshConfig([
            clusterConfig("cluster1", "primary", "network1", "https://172.18.0.2:6443"),
            clusterConfig("cluster2", "primary", "network2", "https://api.cluster2.example:443"),
            { ...clusterConfig("cluster3", "remote", "network1", "https://172.18.0.4:6443"), controlPlane: "cluster1" },
        ]),
        layout,
    );
}

/** Remote Secrets recorded in the holders: (holder cluster, data key) pairs. */
function recordedPairs(resources: RecordedResource[]): string[] {
    return ofType(resources, SECRET)
        .filter((r) => r.inputs.metadata?.labels?.["istio/multiCluster"] === "true")
        .flatMap((r) => Object.keys(r.inputs.data ?? {}).map((source) => `${r.cluster}<-${source}`))
        .sort();
}

function decodeKubeconfig(b64: string): KubeconfigShape {
    return parseKubeconfig(Buffer.from(b64, "base64").toString("utf8"));
}

function tokenSecretOf(resources: RecordedResource[], cluster: string): RecordedResource {
    return find(resources, SECRET, resourceName(cluster, "reader-token"));
}

for (const layout of ["perSource", "perHolder"] as RemoteSecretLayout[]) {
    describe(`remote secret components (${layout})`, () => {
        let resources: RecordedResource[];
        let result: MeshRemoteSecrets;

        before(async () => {
            ({ result, resources } = await runUnderMocks(meshProgram(threeClusterMesh(layout))));
        });

        it("yields valid Kubernetes objects", async () => {
            assert.deepEqual(await validateKubernetesObjects(resources), []);
        });

        it("creates a reader token Secret in every watched cluster, on its provider, after its releases", () => {
            assert.deepEqual(Object.keys(result.readers).sort(), ["cluster1", "cluster2", "cluster3"]);
            for (const cluster of ["cluster1", "cluster2", "cluster3"]) {
                const token = tokenSecretOf(resources, cluster);
                assert.equal(token.cluster, cluster);
                assert.equal(token.inputs.type, "kubernetes.io/service-account-token");
                assert.equal(token.inputs.metadata.name, "istio-reader-service-account-istio-remote-secret-token");
                assert.equal(token.inputs.metadata.namespace, "istio-system");
                assert.equal(
                    token.inputs.metadata.annotations["kubernetes.io/service-account.name"],
                    "istio-reader-service-account",
                );
                assert.equal(token.deleteBeforeReplace, true);
                assert.ok(token.additionalSecretOutputs.includes("data"));
                for (const release of ["istio-base", "istiod"]) {
                    assert.ok(
                        dependsOn(resources, token, find(resources, RELEASE, resourceName(cluster, release))),
                        `${cluster} token Secret does not wait for ${release}`,
                    );
                }
                const parent = resources.find((r) => r.urn === token.parent);
                assert.equal(parent?.type, READER_TYPE);
            }
        });

        it("puts each primary's secrets on its own provider, after the source's token Secret and its namespace", () => {
            const expected = ["cluster1<-cluster2", "cluster1<-cluster3", "cluster2<-cluster1", "cluster2<-cluster3"];
            assert.deepEqual(recordedPairs(resources), expected);
            const remoteSecrets = ofType(resources, SECRET).filter((r) => r.inputs.metadata?.labels);
            assert.equal(remoteSecrets.length, layout === "perSource" ? 4 : 2);
            for (const secret of remoteSecrets) {
                const holder = secret.cluster!;
                assert.ok(["cluster1", "cluster2"].includes(holder), `secret on ${secret.providerName}`);
                assert.equal(resources.find((r) => r.urn === secret.parent)?.type, HOLDER_TYPE);
                assert.ok(
                    dependsOn(
                        resources,
                        secret,
                        find(resources, "kubernetes:core/v1:Namespace", `${holder}-istio-system`),
                    ),
                );
                for (const source of Object.keys(secret.inputs.data)) {
                    assert.notEqual(source, holder, "a cluster holds a secret for itself");
                    assert.ok(
                        dependsOn(resources, secret, tokenSecretOf(resources, source)),
                        `${secret.name} does not wait for ${source}'s token Secret`,
                    );
                }
                if (layout === "perSource") {
                    const source = Object.keys(secret.inputs.data)[0];
                    assert.equal(secret.name, `${holder}-remote-secret-${source}`);
                    assert.equal(secret.inputs.metadata.name, `istio-remote-secret-${source}`);
                    assert.equal(secret.inputs.metadata.annotations["networking.istio.io/cluster"], source);
                } else {
                    assert.equal(secret.name, `${holder}-remote-secrets`);
                    assert.equal(secret.inputs.metadata.name, PER_HOLDER_SECRET_NAME);
                }
            }
            assert.equal(recordedPairs(resources).filter((p) => p.startsWith("cluster3<-")).length, 0);
        });

        it("builds each kubeconfig from the source's reader token, CA and apiServer only", async () => {
            const apiServer = new Map(threeClusterMesh(layout).clusters.map((c) => [c.name, c.apiServer!]));
            for (const secret of ofType(resources, SECRET).filter((r) => r.inputs.metadata?.labels)) {
                for (const [source, b64] of Object.entries(secret.inputs.data as Record<string, string>)) {
                    const token = await promiseOf(result.readers[source].token);
                    const caData = await promiseOf(result.readers[source].caData);
                    assert.ok(token.split(".").length === 3, "the token is the decoded JWT");
                    assertRemoteKubeconfig(
                        Buffer.from(b64, "base64").toString("utf8"),
                        source,
                        apiServer.get(source)!,
                        caData,
                        token,
                    );
                    const text = Buffer.from(b64, "base64").toString("utf8");
                    for (const c of apiServer.keys())
                        assert.ok(!text.includes(adminToken(c)), "admin credential leaked");
                }
            }
        });

        it("keeps token, CA data, kubeconfigs and Secret data secret", async () => {
            for (const reader of Object.values(result.readers)) {
                assert.equal(await pulumi.isSecret(reader.token), true);
                assert.equal(await pulumi.isSecret(reader.caData), true);
            }
            for (const holder of Object.values(result.holders)) {
                for (const kubeconfig of Object.values(holder.kubeconfigs)) {
                    assert.equal(await pulumi.isSecret(kubeconfig), true);
                }
            }
            for (const secret of ofType(resources, SECRET).filter((r) => r.inputs.metadata?.labels)) {
                assert.deepEqual(secret.secretPaths, ["data"]);
                assert.ok(secret.additionalSecretOutputs.includes("data"));
                assert.equal(secret.deleteBeforeReplace, true);
            }
        });

        it("passes the policy pack's remote-secret and explicit-provider policies", async () => {
            const fake = fromRecorded(resources);
            assert.deepEqual(await analyzeEach(fake, [remoteSecretCredentials, explicitProvider]), []);
            assert.deepEqual(await analyzeStack(fake, [remoteSecretsMatchClusters]), []);
        });

        it("maps every source to the Secrets about it (for the remote's gateway dependency)", () => {
            assert.deepEqual(Object.keys(result.secretsAbout).sort(), ["cluster1", "cluster2", "cluster3"]);
            assert.equal(result.secretsAbout.cluster3.length, 2);
            assert.equal(result.secretsAbout.cluster1.length, 1);
            assert.equal(result.holders.cluster1.secretsBySource.cluster3, result.secretsAbout.cluster3[0]);
        });
    });
}

describe("removing a cluster from the config", () => {
    const remoteSecretResources = (resources: RecordedResource[]) =>
        resources.filter((r) => r.type === READER_TYPE || r.type === HOLDER_TYPE || r.type === SECRET);

    for (const layout of ["perSource", "perHolder"] as RemoteSecretLayout[]) {
        it(`${layout}: drops its token Secret and its secrets in every holder; other URNs stay`, async () => {
            const full = threeClusterMesh(layout);
            const reduced = withLayout(meshConfig(full.clusters.filter((c) => c.name !== "cluster3")), layout);
            const before = remoteSecretResources((await runUnderMocks(meshProgram(full))).resources);
            const after = remoteSecretResources((await runUnderMocks(meshProgram(reduced))).resources);
            const beforeUrns = new Set(before.map((r) => r.urn));
            const afterUrns = new Set(after.map((r) => r.urn));
            assert.deepEqual(
                after.filter((r) => !beforeUrns.has(r.urn)).map((r) => r.name),
                [],
                "new URNs would mean replacements",
            );
            const removed = before
                .filter((r) => !afterUrns.has(r.urn))
                .map((r) => r.name)
                .sort();
            const expected =
                layout === "perSource"
                    ? [
                          "cluster1-remote-secret-cluster3",
                          "cluster2-remote-secret-cluster3",
                          "cluster3-reader-token",
                          "cluster3-remote-reader",
                      ]
                    : ["cluster3-reader-token", "cluster3-remote-reader"];
            assert.deepEqual(removed, expected);
            assert.deepEqual(recordedPairs(after), ["cluster1<-cluster2", "cluster2<-cluster1"]);
        });
    }
});

describe("remote secret components over generated meshes", () => {
    it("create exactly the expected (holder, source) pairs with parseable kubeconfigs, in both layouts", async () => {
        await fc.assert(
            fc.asyncProperty(
                meshArbOf(pooledNamesArb),
                fc.constantFrom<RemoteSecretLayout>("perSource", "perHolder"),
                async (c, layout) => {
                    const config = withLayout(c, layout);
                    const { resources } = await runUnderMocks(meshProgram(config, { scaffold: false }));
                    assert.deepEqual(recordedPairs(resources), [...expectedPairs(config)].sort());
                    const apiServer = new Map(config.clusters.map((x) => [x.name, x.apiServer!]));
                    for (const secret of ofType(resources, SECRET).filter((r) => r.inputs.metadata?.labels)) {
                        for (const [source, b64] of Object.entries(secret.inputs.data as Record<string, string>)) {
                            const kc = decodeKubeconfig(b64);
                            assert.equal(kc.clusters[0].name, source);
                            assert.equal(kc.clusters[0].cluster.server, apiServer.get(source));
                            assert.equal(kc["current-context"], source);
                        }
                    }
                },
            ),
            { numRuns: 6 },
        );
    });
});

describe("loopback API servers at validation time", () => {
    const raw = (config: MeshConfig) => ({
        clusters: config.clusters.map((c) => ({
            name: c.name,
            role: c.role,
            network: c.network,
            apiServer: c.apiServer,
            ...(c.controlPlane ? { controlPlane: c.controlPlane } : {}),
        })),
    });

    it("reject a watched cluster's loopback apiServer with the kind fix, and only a watched one's", () => {
        fc.assert(
            fc.property(
                meshArb,
                fc.nat(),
                fc.constantFrom("https://127.0.0.1:41234", "https://localhost:6443", "https://[::1]:6443"),
                (config, pick, loopback) => {
                    const index = pick % config.clusters.length;
                    config.clusters[index].apiServer = loopback;
                    const watched = buildMeshPlan(config).clusters.find(
                        (p) => p.name === config.clusters[index].name,
                    )!.readerTokenSecret;
                    const problems = validateMeshConfig(raw(config)).problems.filter(
                        (p) => p.path === `clusters[${index}].apiServer`,
                    );
                    if (watched) {
                        assert.equal(problems.length, 1, `${loopback} accepted for a watched cluster`);
                        assert.match(problems[0].message, /loopback/);
                        assert.match(problems[0].fix ?? "", /control-plane container address/);
                    } else {
                        assert.deepEqual(problems, []);
                    }
                },
            ),
            { numRuns: 40 },
        );
    });
});

describe("remoteSecretLayoutAdvice", () => {
    /** Every ordered pair of n primaries: a multi-primary mesh. */
    const multiPrimaryPairs = (n: number) => {
        const names = Array.from({ length: n }, (_, i) => `c${i + 1}`);
        return names.flatMap((holder) => names.filter((s) => s !== holder).map((source) => ({ holder, source })));
    };

    it(`suggests perHolder from ${PER_SOURCE_ADVICE_THRESHOLD} per-source Secrets (a 15-primary mesh), never below`, () => {
        assert.equal(remoteSecretLayoutAdvice(multiPrimaryPairs(14), "perSource"), undefined); // 182
        const advice = remoteSecretLayoutAdvice(multiPrimaryPairs(15), "perSource");
        assert.ok(advice);
        assert.match(advice, /^remoteSecrets\.layout is perSource: 210 remote Secrets/);
        assert.match(advice, /remoteSecrets\.layout: perHolder carries the same kubeconfigs in 15 Secrets/);
        assert.match(advice, /restart istiod/);
    });

    it("is silent with perHolder, and for primary-remote meshes whose Secrets grow linearly", () => {
        assert.equal(remoteSecretLayoutAdvice(multiPrimaryPairs(100), "perHolder"), undefined);
        // 2 primaries watching each other and 98 remotes: 2 × 99 = 198 per-source Secrets.
        const primaries = ["p1", "p2"];
        const remotes = Array.from({ length: 98 }, (_, i) => `r${i + 1}`);
        const pairs = primaries.flatMap((holder) =>
            [...primaries, ...remotes].filter((s) => s !== holder).map((source) => ({ holder, source })),
        );
        assert.equal(pairs.length, 198);
        assert.equal(remoteSecretLayoutAdvice(pairs, "perSource"), undefined);
    });

    it("is warned once on the run that builds such a mesh", async (t) => {
        const config = withLayout(
            meshConfig(
                Array.from({ length: 15 }, (_, i) =>
                    clusterConfig(`cluster${i + 1}`, "primary", `network${i + 1}`, `https://10.0.0.${i + 1}:6443`),
                ),
            ),
            "perSource",
        );
        const warn = t.mock.method(console, "warn", () => undefined);
        await runUnderMocks(meshProgram(config, { scaffold: false }));
        const messages = warn.mock.calls.map((c) => String(c.arguments[0]));
        assert.deepEqual(
            messages.filter((m) => m.includes("remoteSecrets.layout")),
            [`warning: [runtime] ${remoteSecretLayoutAdvice(buildMeshPlan(config).remoteSecretPairs, "perSource")}`],
        );
    });
});

describe("a remote's kubeconfig names the primary that leads it", () => {
    const input = { clusterName: "cluster3", server: "https://172.18.0.4:6443", caData: CA_DATA, token: TOKEN };

    it("as a comment line, which changes the bytes istiod compares and nothing that is parsed", () => {
        const led = renderRemoteKubeconfig({ ...input, controlPlane: "cluster1" });
        assert.equal(led.split("\n")[0], "# topology.istio.io/controlPlaneClusters: cluster1");
        assert.deepEqual(yaml.load(led), yaml.load(renderRemoteKubeconfig(input)));
        assert.notEqual(led, renderRemoteKubeconfig({ ...input, controlPlane: "cluster2" }));
    });

    it("in every primary, written after the remote's namespace annotation; a primary's kubeconfig has no such line", async () => {
        const config = meshOf([
            { name: "cluster1", network: "network1" },
            { name: "cluster2", network: "network2" },
            { name: "cluster3", network: "network3", role: "remote", controlPlane: "cluster1" },
        ]);
        const resources = [...(await meshResources(config)).values()];
        const namespace = find(resources, "kubernetes:core/v1:Namespace", "cluster3-istio-system");
        for (const holder of ["cluster1", "cluster2"]) {
            const aboutRemote = find(resources, "kubernetes:core/v1:Secret", `${holder}-remote-secret-cluster3`);
            const text = Buffer.from(aboutRemote.inputs.data.cluster3 as string, "base64").toString("utf8");
            assert.match(text, /^# topology\.istio\.io\/controlPlaneClusters: cluster1\n/);
            assert.ok(dependsOn(resources, aboutRemote, namespace), `${holder}: after the annotation`);
        }
        const aboutPrimary = find(resources, "kubernetes:core/v1:Secret", "cluster1-remote-secret-cluster2");
        assert.doesNotMatch(Buffer.from(aboutPrimary.inputs.data.cluster2 as string, "base64").toString("utf8"), /^#/);
    });
});
