/**
 * Tests of the shared mock harness itself: if these fail, every other mocked test is suspect.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import * as command from "@pulumi/command";
import {
    defaultGatewayAddress,
    dependsOn,
    find,
    ofType,
    promiseOf,
    RecordedResource,
    runUnderMocks,
    validateKubernetesObjects,
} from "./harness";
import { openssl, scratchDir } from "./openssl";

const scratch = scratchDir("harness-test");
const writeTmp = (name: string, content: string): string => scratch.write(content, name);

/** A root and an intermediate made the way a program would make them. */
function smallPki(algorithm: "RSA" | "ECDSA", maxPathLength: number) {
    const keyArgs: tls.PrivateKeyArgs =
        algorithm === "RSA" ? { algorithm, rsaBits: 2048 } : { algorithm, ecdsaCurve: "P256" };
    const rootKey = new tls.PrivateKey("root-key", keyArgs);
    const root = new tls.SelfSignedCert("root-cert", {
        privateKeyPem: rootKey.privateKeyPem,
        subject: { organization: "Istio", commonName: "Root CA" },
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        validityPeriodHours: 24 * 3650,
    });
    const icaKey = new tls.PrivateKey("ica-key", keyArgs);
    const csr = new tls.CertRequest("ica-csr", {
        privateKeyPem: icaKey.privateKeyPem,
        subject: { organization: "Istio", commonName: "Intermediate CA", locality: "cluster1" },
        dnsNames: ["istiod.istio-system.svc"],
    });
    const ica = new tls.LocallySignedCert("ica-cert", {
        certRequestPem: csr.certRequestPem,
        caCertPem: root.certPem,
        caPrivateKeyPem: rootKey.privateKeyPem,
        isCaCertificate: true,
        maxPathLength,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
        validityPeriodHours: 24 * 730,
        earlyRenewalHours: 24 * 60,
        setSubjectKeyId: true,
    });
    return { rootKey, root, icaKey, csr, ica };
}

describe("tls answers use real cryptography", () => {
    it("an RSA root and intermediate verify with openssl and carry the requested extensions", async () => {
        const { result } = await runUnderMocks(() => {
            const pki = smallPki("RSA", 0);
            return {
                root: pki.root.certPem,
                ica: pki.ica.certPem,
                icaKey: pki.icaKey.privateKeyPem,
                end: pki.ica.validityEndTime,
                renew: pki.ica.readyForRenewal,
            };
        });
        const rootFile = writeTmp("rsa-root.pem", await promiseOf(result.root));
        const icaPem = await promiseOf(result.ica);
        const icaFile = writeTmp("rsa-ica.pem", icaPem);
        assert.match(openssl(["verify", "-CAfile", rootFile, icaFile]), /: OK/);

        const rootText = openssl(["x509", "-in", rootFile, "-noout", "-text"]);
        assert.match(rootText, /Basic Constraints: critical\s+CA:TRUE\n/);
        assert.match(rootText, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
        assert.match(rootText, /Subject: O\s?=\s?Istio, CN\s?=\s?Root CA/);
        assert.match(rootText, /Public-Key: \(2048 bit\)/);
        assert.doesNotMatch(rootText, /Authority Key Identifier/, "self-signed: no AKI unless setAuthorityKeyId");

        const icaText = openssl(["x509", "-in", icaFile, "-noout", "-text"]);
        // maxPathLength 0 is dropped by the real provider: no pathlen constraint.
        assert.match(icaText, /Basic Constraints: critical\s+CA:TRUE\n/);
        assert.match(icaText, /DNS:istiod\.istio-system\.svc/);
        assert.match(icaText, /Subject: L\s?=\s?cluster1, O\s?=\s?Istio, CN\s?=\s?Intermediate CA/);
        assert.match(icaText, /Key Usage: critical\s+Digital Signature, Key Encipherment, Certificate Sign, CRL Sign/);
        const rootSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(rootText)![1];
        const icaAki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(icaText)![1];
        assert.equal(icaAki, rootSki);

        const x = new crypto.X509Certificate(icaPem);
        const icaKeyPem = await promiseOf(result.icaKey);
        assert.match(icaKeyPem, /^-----BEGIN RSA PRIVATE KEY-----/, "PKCS#1 like the real provider");
        assert.ok(x.checkPrivateKey(crypto.createPrivateKey(icaKeyPem)));
        const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
        assert.equal(days, 730);
        assert.equal(new Date(await promiseOf(result.end)).getTime(), Date.parse(x.validTo));
        assert.equal(await promiseOf(result.renew), false);
    });

    it("maxPathLength > 0 is encoded, and ECDSA P-256 keys are SEC1 and sign with ecdsa-with-SHA256", async () => {
        const { result } = await runUnderMocks(() => {
            const pki = smallPki("ECDSA", 2);
            return { root: pki.root.certPem, ica: pki.ica.certPem, key: pki.rootKey.privateKeyPem };
        });
        const rootFile = writeTmp("ec-root.pem", await promiseOf(result.root));
        const icaFile = writeTmp("ec-ica.pem", await promiseOf(result.ica));
        assert.match(openssl(["verify", "-CAfile", rootFile, icaFile]), /: OK/);
        const icaText = openssl(["x509", "-in", icaFile, "-noout", "-text"]);
        assert.match(icaText, /CA:TRUE, pathlen:2/);
        assert.match(icaText, /ecdsa-with-SHA256/);
        assert.match(icaText, /prime256v1/);
        assert.match(await promiseOf(result.key), /^-----BEGIN EC PRIVATE KEY-----/);
    });

    it("every PrivateKey in a run gets a distinct key, and keys are reused across runs", async () => {
        const program = () => {
            const a = new tls.PrivateKey("a", { algorithm: "ECDSA", ecdsaCurve: "P384" });
            const b = new tls.PrivateKey("b", { algorithm: "ECDSA", ecdsaCurve: "P384" });
            return { a: a.publicKeyPem, b: b.publicKeyPem };
        };
        const first = await runUnderMocks(program);
        const second = await runUnderMocks(program);
        const [a1, b1, a2] = await Promise.all([
            promiseOf(first.result.a),
            promiseOf(first.result.b),
            promiseOf(second.result.a),
        ]);
        assert.notEqual(a1, b1);
        assert.equal(a1, a2);
    });

    it("rejects ECDSA P224 with an explanation", async () => {
        await assert.rejects(
            runUnderMocks(() => new tls.PrivateKey("old", { algorithm: "ECDSA" }).privateKeyPem),
            /P224.*Set ecdsaCurve to "P256" or "P384"/s,
        );
    });

    it("unknown allowedUses (camelCase) are ignored, as the provider does", async () => {
        const { result } = await runUnderMocks(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            return new tls.SelfSignedCert("c", {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: "x" },
                isCaCertificate: true,
                allowedUses: ["certSigning", "digital_signature"],
                validityPeriodHours: 1,
            }).certPem;
        });
        const text = openssl(["x509", "-in", writeTmp("camel.pem", await promiseOf(result)), "-noout", "-text"]);
        assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
    });
});

describe("recording", () => {
    it("unwraps secrets, records which inputs were secret, and makes additionalSecretOutputs secret", async () => {
        const { result, resources } = await runUnderMocks(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const provider = new k8s.Provider("cluster1-k8s", { kubeconfig: pulumi.secret("kubeconfig-content") });
            const secret = new k8s.core.v1.Secret(
                "cluster1-s",
                { metadata: { name: "s", namespace: "istio-system" }, stringData: { "ca-key.pem": key.privateKeyPem } },
                { provider },
            );
            return { pem: key.privateKeyPem, pub: key.publicKeyPem, data: secret.stringData };
        });
        assert.equal(await pulumi.isSecret(result.pem), true);
        assert.equal(await pulumi.isSecret(result.pub), false);
        assert.equal(await pulumi.isSecret(result.data), true);
        const secret = find(resources, "kubernetes:core/v1:Secret", "cluster1-s");
        assert.deepEqual(secret.secretPaths, ["stringData"]);
        assert.match(secret.inputs.stringData["ca-key.pem"], /BEGIN EC PRIVATE KEY/);
        const provider = find(resources, "pulumi:providers:kubernetes", "cluster1-k8s");
        assert.deepEqual(provider.secretPaths, ["kubeconfig"]);
        assert.equal(provider.inputs.kubeconfig, "kubeconfig-content");
    });

    it("maps each Kubernetes resource to its provider's cluster and records options", async () => {
        const { resources } = await runUnderMocks(() => {
            for (const cluster of ["cluster1", "cluster2"]) {
                const provider = new k8s.Provider(`${cluster}-k8s`, { kubeconfig: "x" });
                new k8s.core.v1.Namespace(
                    `${cluster}-istio-system`,
                    { metadata: { name: "istio-system" } },
                    { provider, protect: true, retainOnDelete: true, ignoreChanges: ["metadata.labels"] },
                );
            }
        });
        const ns = ofType(resources, "kubernetes:core/v1:Namespace");
        assert.deepEqual(
            ns.map((r) => [r.name, r.cluster, r.providerName]),
            [
                ["cluster1-istio-system", "cluster1", "cluster1-k8s"],
                ["cluster2-istio-system", "cluster2", "cluster2-k8s"],
            ],
        );
        assert.equal(ns[0].protect, true);
        assert.equal(ns[0].retainOnDelete, true);
        assert.deepEqual(ns[0].ignoreChanges, ["metadata.labels"]);
        assert.match(
            ns[0].urn,
            /^urn:pulumi:test::istio-multicluster::kubernetes:core\/v1:Namespace::cluster1-istio-system$/,
        );
    });

    it("passes config (secret keys secret) and can run several times in one file", async () => {
        const clusters = [{ name: "a" }, { name: "b" }];
        const { result } = await runUnderMocks(
            () => {
                const config = new pulumi.Config();
                return {
                    clusters: config.requireObject<{ name: string }[]>("clusters"),
                    meshId: config.require("meshId"),
                    key: config.requireSecret("caKeyPem"),
                    project: pulumi.getProject(),
                    stack: pulumi.getStack(),
                };
            },
            { config: { clusters, meshId: "mesh7", caKeyPem: "PEM" }, secretConfigKeys: ["caKeyPem"], stack: "dev" },
        );
        assert.deepEqual(result.clusters, clusters);
        assert.equal(result.meshId, "mesh7");
        assert.equal(result.project, "istio-multicluster");
        assert.equal(result.stack, "dev");
        assert.equal(await pulumi.isSecret(result.key), true);
        assert.equal(await promiseOf(result.key), "PEM");
        const second = await runUnderMocks(() => new pulumi.Config().get("meshId"));
        assert.equal(second.result, undefined, "config of the previous run is gone");
    });

    it("records resources created inside apply", async () => {
        const { resources } = await runUnderMocks(() => {
            const key = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            key.publicKeyPem.apply(
                (pem) => new tls.PrivateKey(`k-${pem.length > 0 ? "late" : "never"}`, { algorithm: "ED25519" }),
            );
        });
        assert.ok(find(resources, "tls:index/privateKey:PrivateKey", "k-late"));
    });
});

describe("dependsOn", () => {
    class Box extends pulumi.ComponentResource {
        public readonly inner: k8s.core.v1.ConfigMap;
        constructor(name: string, provider: k8s.Provider, opts?: pulumi.ComponentResourceOptions) {
            super("test:index:Box", name, {}, opts);
            this.inner = new k8s.core.v1.ConfigMap(`${name}-cm`, { metadata: { name } }, { parent: this, provider });
            this.registerOutputs({});
        }
    }

    it("follows explicit, input and component dependencies transitively", async () => {
        const { resources } = await runUnderMocks(() => {
            const provider = new k8s.Provider("c1-k8s", { kubeconfig: "x" });
            const box = new Box("box", provider);
            const viaComponent = new k8s.core.v1.ConfigMap(
                "after-box",
                { metadata: { name: "a" } },
                { provider, dependsOn: [box] },
            );
            const viaInput = new k8s.core.v1.ConfigMap(
                "uses-name",
                { metadata: { name: "b" }, data: { x: viaComponent.metadata.name } },
                { provider },
            );
            new k8s.core.v1.ConfigMap("unrelated", { metadata: { name: "c" } }, { provider });
            return viaInput;
        });
        const get = (name: string): RecordedResource => find(resources, "kubernetes:core/v1:ConfigMap", name);
        assert.equal(dependsOn(resources, get("after-box"), get("box-cm")), true);
        assert.equal(dependsOn(resources, get("uses-name"), get("box-cm")), true, "transitive");
        assert.equal(dependsOn(resources, get("unrelated"), get("box-cm")), false);
        assert.equal(dependsOn(resources, get("box-cm"), get("after-box")), false);
    });
});

describe("Kubernetes answers", () => {
    it("reads of the east-west gateway Service return LB addresses per cluster", async () => {
        const program = () =>
            ["cluster1", "west"].map((cluster) => {
                const provider = new k8s.Provider(`${cluster}-k8s`, { kubeconfig: "x" });
                return k8s.core.v1.Service.get(`${cluster}-ewgw`, "istio-system/istio-eastwestgateway", { provider })
                    .status.loadBalancer.ingress;
            });
        const defaults = await runUnderMocks(program);
        assert.deepEqual(await promiseOf(defaults.result[0]), [{ ip: "192.0.2.1" }]);
        assert.deepEqual(await promiseOf(defaults.result[1]), [{ ip: defaultGatewayAddress("west") }]);
        const read = find(defaults.resources, "kubernetes:core/v1:Service", "cluster1-ewgw");
        assert.equal(read.readId, "istio-system/istio-eastwestgateway");
        assert.equal(read.cluster, "cluster1");

        const custom = await runUnderMocks(program, { gatewayAddresses: { west: { hostname: "lb.example.com" } } });
        assert.deepEqual(await promiseOf(custom.result[1]), [{ hostname: "lb.example.com" }]);
    });

    it("service-account-token Secrets get a token and ca.crt, secret-wrapped", async () => {
        const { result } = await runUnderMocks(() => {
            const provider = new k8s.Provider("cluster2-k8s", { kubeconfig: "x" });
            const s = new k8s.core.v1.Secret(
                "cluster2-reader-token",
                {
                    metadata: {
                        name: "istio-reader-service-account-istio-remote-secret-token",
                        namespace: "istio-system",
                        annotations: { "kubernetes.io/service-account.name": "istio-reader-service-account" },
                    },
                    type: "kubernetes.io/service-account-token",
                },
                { provider },
            );
            const read = k8s.core.v1.Secret.get(
                "cluster2-reader-token-read",
                "istio-system/istio-reader-service-account-istio-remote-secret-token",
                { provider, dependsOn: [s] },
            );
            return { created: s.data, read: read.data };
        });
        for (const data of [result.created, result.read]) {
            assert.equal(await pulumi.isSecret(data), true);
            const d = await promiseOf(data);
            const token = Buffer.from(d.token, "base64").toString();
            const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
            assert.equal(payload.sub, "system:serviceaccount:istio-system:istio-reader-service-account");
            const ca = new crypto.X509Certificate(Buffer.from(d["ca.crt"], "base64"));
            assert.equal(ca.ca, true);
        }
    });

    it("helm Releases report a deployed status and commands return the given stdout", async () => {
        const { result, resources } = await runUnderMocks(
            () => {
                const provider = new k8s.Provider("c-k8s", { kubeconfig: "x" });
                const release = new k8s.helm.v3.Release(
                    "c-istiod",
                    { name: "istiod", chart: "istiod", version: "1.30.3", namespace: "istio-system" },
                    { provider },
                );
                const cmd = new command.local.Command("c-check", { create: "true" });
                return { status: release.status, stdout: cmd.stdout };
            },
            { commandStdout: ({ name }) => `ran ${name}` },
        );
        const status = await promiseOf(result.status);
        assert.equal(status.status, "deployed");
        assert.equal(status.name, "istiod");
        assert.equal(status.revision, 1);
        assert.equal(await promiseOf(result.stdout), "ran c-check");
        assert.equal(find(resources, "kubernetes:helm.sh/v3:Release", "c-istiod").cluster, "c");
    });
});

describe("validateKubernetesObjects", () => {
    it("accepts valid objects and reports broken ones with their paths", async () => {
        const { resources } = await runUnderMocks(() => {
            const provider = new k8s.Provider("cluster1-k8s", { kubeconfig: "x" });
            new k8s.apps.v1.Deployment(
                "good",
                {
                    metadata: { name: "good", namespace: "default", labels: { app: "good" } },
                    spec: {
                        selector: { matchLabels: { app: "good" } },
                        template: {
                            metadata: { labels: { app: "good" } },
                            spec: { containers: [{ name: "c", image: "i" }] },
                        },
                    },
                },
                { provider },
            );
            new k8s.apps.v1.Deployment(
                "broken",
                {
                    metadata: { name: "Broken_Name", namespace: "default" },
                    spec: { template: { spec: { containers: [{ image: "i" } as k8s.types.input.core.v1.Container] } } },
                } as k8s.apps.v1.DeploymentArgs,
                { provider },
            );
            const gateway = (name: string, mode: string) =>
                new k8s.apiextensions.CustomResource(
                    name,
                    {
                        apiVersion: "networking.istio.io/v1",
                        kind: "Gateway",
                        metadata: { name, namespace: "istio-system" },
                        spec: {
                            selector: { istio: "eastwestgateway" },
                            servers: [
                                {
                                    port: { number: 15443, name: "tls", protocol: "TLS" },
                                    tls: { mode },
                                    hosts: ["*.local"],
                                },
                            ],
                        },
                    },
                    { provider },
                );
            gateway("good-gateway", "AUTO_PASSTHROUGH");
            gateway("bad-gateway", "AUTO_PASSTHRU");
            new k8s.apiextensions.CustomResource(
                "extra-field",
                { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { a: "b" }, spec: {} },
                { provider },
            );
            new k8s.helm.v3.Release("skipped", { chart: "x" }, { provider });
        });
        const problems = await validateKubernetesObjects(resources);
        const about = (name: string) => problems.filter((p) => p.includes(` ${name} `));
        assert.deepEqual(about("good"), []);
        assert.deepEqual(about("good-gateway"), []);
        assert.ok(about("broken").some((p) => /must have required property selector/.test(p)));
        assert.ok(about("broken").some((p) => /containers\/0 must have required property name/.test(p)));
        assert.ok(about("broken").some((p) => /metadata.name "Broken_Name" must be a DNS-1123 subdomain/.test(p)));
        assert.ok(about("bad-gateway").some((p) => /tls\/mode must be equal to one of the allowed values/.test(p)));
        assert.ok(about("extra-field").some((p) => /spec is not a top-level field of ConfigMap/.test(p)));
        assert.deepEqual(about("skipped"), []);
        assert.ok(problems.every((p) => p.includes("(cluster cluster1)")));
    });

    it("reports a missing name and an Istio kind with no such version", async () => {
        const { resources } = await runUnderMocks(() => {
            const provider = new k8s.Provider("c-k8s", { kubeconfig: "x" });
            new k8s.core.v1.ConfigMap("unnamed", { data: { a: "b" } }, { provider });
            new k8s.apiextensions.CustomResource(
                "future",
                { apiVersion: "networking.istio.io/v9", kind: "Gateway", metadata: { name: "g" }, spec: {} },
                { provider },
            );
        });
        const problems = await validateKubernetesObjects(resources);
        assert.ok(problems.some((p) => /unnamed.*metadata.name is missing/.test(p)));
        assert.ok(problems.some((p) => /future.*networking.istio.io\/v9 has no kind Gateway/.test(p)));
    });
});
