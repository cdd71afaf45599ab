import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as yaml from "js-yaml";
import { Secret as SecretModel } from "kubernetes-models/v1/Secret";
import {
    ClusterConfig,
    DEFAULT_CHART_REPOSITORY,
    DEFAULT_ISTIO_VERSION,
    DEFAULT_MESH_ID,
    DEFAULT_TRUST_DOMAIN,
    MeshConfig,
} from "../components/config";
import { buildMeshPlan } from "../components/mesh-plan";
import {
    PER_HOLDER_SECRET_NAME,
    RemoteSecretLayout,
    parseReaderTokenData,
    planRemoteSecrets,
    readerTokenSecretManifest,
    remoteSecretManifest,
    remoteSecretSourcesByHolder,
    renderRemoteKubeconfig,
} from "../components/remote-secrets-manifest";

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

function meshConfig(clusters: ClusterConfig[]): MeshConfig {
    return {
        meshId: DEFAULT_MESH_ID,
        trustDomain: DEFAULT_TRUST_DOMAIN,
        istioVersion: DEFAULT_ISTIO_VERSION,
        chartRepository: DEFAULT_CHART_REPOSITORY,
        ca: {
            mode: "generate",
            keyAlgorithm: "RSA",
            rsaBits: 4096,
            ecdsaCurve: "P256",
            validityDays: 3650,
            organization: "Istio",
            commonName: "Root CA",
        },
        intermediate: { validityDays: 730, earlyRenewalDays: 60 },
        clusters,
        verify: false,
        verification: {
            namespace: "mesh-verify",
            requests: 30,
            timeoutSeconds: 300,
            serverImage: "docker.io/istio/examples-helloworld-v1:1.0",
            clientImage: "docker.io/curlimages/curl:8.8.0",
        },
        remoteSecrets: { tokenMode: "serviceAccountTokenSecret", layout: "perSource" },
        dnsProxy: { capture: false, autoAllocate: false },
    };
}

const apiServerArb = fc
    .tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 1, max: 65535 }))
    .map(([host, port]) => `https://${host}:${port}`);

/** 1–12 clusters with random names, roles (at least one primary), networks and API servers. */
const meshArb = fc
    .uniqueArray(fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 12 })
    .chain((names) =>
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
                { numRuns: 200 },
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
            { numRuns: 100 },
        );
    });
});
