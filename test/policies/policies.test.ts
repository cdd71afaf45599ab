/**
 * The policy pack without the Pulumi CLI: every policy runs through @pulumi/policy's own analyzer
 * handlers (test/policy-driver.ts) on hand-built stacks shaped like the program's. Each policy
 * passes on a correct stack of every model and fails on a deliberately broken one; knobs and stack
 * tags (which only the CLI can hand to the server) are exercised by calling the policy directly.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import * as naming from "../../components/plan/naming";
import * as graph from "../../policies/graph";
import { kubeconfigProblems, parseBlockYaml } from "../../policies/inspect";
import * as rules from "../../policies/rules";
import {
    Diagnostic,
    FakeResource,
    UNKNOWN_STRING,
    analyzeEach,
    analyzeResource,
    analyzeStack,
    k8sProvider,
    of,
} from "../policy-driver";
import {
    ClusterSpec,
    EditableProps,
    Pki,
    cacertsData,
    edited,
    kubeconfig,
    makePki,
    meshStack,
    release,
    remoteSecret,
    secret,
    withEdited,
    without,
} from "../policy-fixtures";

const { policies } = rules;

/** Policy names that some test saw fail; checked against the pack at the end. */
const failedPolicies = new Set<string>();

function mandatory(diags: Diagnostic[]): Diagnostic[] {
    return diags.filter((d) => d.enforcementLevel === "mandatory");
}

/** Asserts that `policyName` reported a violation whose message matches `pattern`. */
function expectViolation(diags: Diagnostic[], policyName: string, pattern: RegExp): void {
    const mine = of(diags, policyName);
    assert.ok(
        mine.some((d) => pattern.test(d.message)),
        `expected ${policyName} to report ${pattern}; got:\n${diags.map((d) => `  ${d.policyName}: ${d.message}`).join("\n")}`,
    );
    failedPolicies.add(policyName);
}

function expectClean(diags: Diagnostic[], policyName?: string): void {
    const relevant = policyName ? of(diags, policyName) : mandatory(diags);
    assert.deepEqual(
        relevant.map((d) => `${d.policyName}: ${d.message}`),
        [],
    );
}

/** Resource-level and stack-level analysis of a whole stack, as a preview does. */
async function analyzeAll(stack: FakeResource[]): Promise<Diagnostic[]> {
    return [...(await analyzeEach(stack, policies)), ...(await analyzeStack(stack, policies))];
}

/** A direct call with knobs and stack tags (the CLI hands those over; the bare handlers cannot). */
async function direct(
    policy: ResourceValidationPolicy,
    r: FakeResource,
    opts: { config?: object; stackTags?: Record<string, string> } = {},
): Promise<string[]> {
    const messages: string[] = [];
    const report: ReportViolation = (m) => {
        messages.push(m);
    };
    const args: ResourceValidationArgs = {
        type: r.type,
        name: r.name,
        urn: `urn:pulumi:test::istio-multicluster::${r.type}::${r.name}`,
        props: r.props,
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        provider: r.provider
            ? {
                  type: "pulumi:providers:kubernetes",
                  name: r.provider.name,
                  urn: `urn:x::${r.provider.name}`,
                  props: {},
              }
            : undefined,
        stackTags: new Map(Object.entries(opts.stackTags ?? {})),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => (opts.config ?? {}) as T,
        notApplicable: (reason?: string) => {
            throw new Error(`not applicable: ${reason}`);
        },
    };
    const validations = policy.validateResource;
    for (const v of Array.isArray(validations) ? validations : validations ? [validations] : []) {
        await v(args, report);
    }
    return messages;
}

const MODELS: Record<string, ClusterSpec[]> = {
    "multi-primary, single network": [
        { name: "east", network: "network1", role: "primary" },
        { name: "west", network: "network1", role: "primary" },
    ],
    "multi-primary, multi-network": [
        { name: "east", network: "network1", role: "primary" },
        { name: "west", network: "network2", role: "primary" },
    ],
    "primary-remote, single network": [
        { name: "east", network: "network1", role: "primary" },
        { name: "west", network: "network1", role: "remote" },
    ],
    "primary-remote, multi-network": [
        { name: "east", network: "network1", role: "primary" },
        { name: "west", network: "network2", role: "remote" },
    ],
};

let pki: Pki;
async function getPki(): Promise<Pki> {
    pki ??= await makePki();
    return pki;
}

describe("policy pack: correct stacks pass", () => {
    for (const [model, clusters] of Object.entries(MODELS)) {
        it(`${model}: no mandatory violation`, async () => {
            const diags = await analyzeAll(await meshStack(clusters, await getPki()));
            expectClean(diags);
            // Without verification the advisory speaks up, and only it.
            assert.deepEqual(
                diags.map((d) => `${d.policyName}/${d.enforcementLevel}`),
                ["verification-enabled/advisory"],
            );
        });
    }

    it("three clusters, two primaries serving one remote each on its own network", async () => {
        const stack = await meshStack(
            [
                { name: "a", network: "n1", role: "primary" },
                { name: "b", network: "n2", role: "primary" },
                { name: "c", network: "n1", role: "remote", controlPlane: "a" },
                { name: "d", network: "n3", role: "remote", controlPlane: "b" },
            ],
            await getPki(),
        );
        expectClean(await analyzeAll(stack));
    });
});

describe("kubernetes-explicit-provider", () => {
    const cm = (provider?: FakeResource["provider"]): FakeResource => ({
        type: "kubernetes:core/v1:ConfigMap",
        name: "east-cm",
        props: { metadata: { name: "x" } },
        provider,
    });

    it("passes a resource on its cluster's provider", async () => {
        expectClean(await analyzeResource(cm(k8sProvider("east")), policies), "kubernetes-explicit-provider");
    });

    it("fails a resource on the default provider", async () => {
        const d = await analyzeResource(
            cm({
                name: "default_4_34_2",
                urn: "urn:pulumi:test::istio-multicluster::pulumi:providers:kubernetes::default_4_34_2",
            }),
            policies,
        );
        expectViolation(d, "kubernetes-explicit-provider", /uses the default Kubernetes provider/);
    });

    it("fails a custom resource without any provider reference, not a Kubernetes component", async () => {
        expectViolation(await analyzeResource(cm(), policies), "kubernetes-explicit-provider", /no provider reference/);
        const chart: FakeResource = { type: "kubernetes:helm.sh/v4:Chart", name: "c", props: {} };
        expectClean(await analyzeResource(chart, policies), "kubernetes-explicit-provider");
    });

    it("fails a provider not named <cluster>-k8s; the knob can relax the pattern", async () => {
        const r = cm({ name: "eastprovider" });
        expectViolation(await analyzeResource(r, policies), "kubernetes-explicit-provider", /does not match/);
        assert.deepEqual(await direct(rules.explicitProvider, r, { config: { providerNamePattern: "" } }), []);
    });

    it("ignores non-Kubernetes resources", async () => {
        const key: FakeResource = { type: rules.TLS_PRIVATE_KEY_TYPE, name: "k", props: { algorithm: "RSA" } };
        expectClean(await analyzeResource(key, policies), "kubernetes-explicit-provider");
    });
});

describe("kubernetes-provider-no-yaml-render", () => {
    it("fails a provider that renders YAML (Secrets in plain text on disk)", async () => {
        const p: FakeResource = {
            type: "pulumi:providers:kubernetes",
            name: "east-k8s",
            props: { renderYamlToDirectory: "out/" },
        };
        expectViolation(await analyzeResource(p, policies), "kubernetes-provider-no-yaml-render", /renders YAML/);
        expectClean(await analyzeResource({ ...p, props: {} }, policies), "kubernetes-provider-no-yaml-render");
    });
});

describe("cacerts-secret-keys and no-root-ca-private-key", () => {
    it("pass a correct cacerts (stringData or base64 data)", async () => {
        const ca = await getPki();
        const data = cacertsData(ca, await ca.intermediate("east"));
        expectClean(await analyzeResource(secret("east", "cacerts", data), policies));
        const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
        const viaData: FakeResource = {
            ...secret("east", "cacerts", {}),
            props: { metadata: { name: "cacerts", namespace: "istio-system" }, data: b64 },
            secretKeys: ["data"],
        };
        expectClean(await analyzeResource(viaData, policies));
    });

    it("pass what Istio's plug-in CA also reads: a CRL (ca-crl.pem), and a CA one level deeper with its chain", async () => {
        const ca = await getPki();
        const withCrl = { ...cacertsData(ca, await ca.intermediate("east")), "ca-crl.pem": "(a PEM CRL)" };
        expectClean(await analyzeResource(secret("east", "cacerts", withCrl), policies), "cacerts-secret-keys");
        const { middle, ca: deep } = await ca.deeperIntermediate("east");
        const deeper = {
            ...cacertsData(ca, deep),
            "cert-chain.pem": deep.certPem + middle.certPem + ca.root.certPem,
        };
        expectClean(await analyzeResource(secret("east", "cacerts", deeper), policies), "cacerts-secret-keys");
        // The same CA without the certificate in the middle does not reach the root.
        const gap = { ...deeper, "cert-chain.pem": deep.certPem + ca.root.certPem };
        expectViolation(
            await analyzeResource(secret("east", "cacerts", gap), policies),
            "cacerts-secret-keys",
            /not signed by .*root-cert\.pem, directly or through cert-chain\.pem/,
        );
    });

    it("fail missing and extra keys", async () => {
        const ca = await getPki();
        const data: Record<string, string> = cacertsData(ca, await ca.intermediate("east"));
        delete data["cert-chain.pem"];
        data["root-key.pem"] = ca.root.keyPem;
        const d = await analyzeResource(secret("east", "cacerts", data), policies);
        expectViolation(d, "cacerts-secret-keys", /lacks cert-chain\.pem/);
        expectViolation(d, "cacerts-secret-keys", /unexpected key\(s\) root-key\.pem/);
        expectViolation(d, "no-root-ca-private-key", /carries root-key\.pem/);
    });

    it("fail the root key used as ca-key.pem", async () => {
        const ca = await getPki();
        const data = { ...cacertsData(ca, await ca.intermediate("east")), "ca-key.pem": ca.root.keyPem };
        const d = await analyzeResource(secret("east", "cacerts", data), policies);
        expectViolation(d, "no-root-ca-private-key", /root CA's private key in ca-key\.pem/);
        expectViolation(d, "cacerts-secret-keys", /ca-key\.pem is not the private key of ca-cert\.pem/);
    });

    it("fail an intermediate of another root, a chain in the wrong order, a non-CA certificate", async () => {
        const ca = await getPki();
        const other = await makePki();
        const foreign = cacertsData(ca, await other.intermediate("east"));
        foreign["cert-chain.pem"] = foreign["ca-cert.pem"] + ca.root.certPem;
        expectViolation(
            await analyzeResource(secret("east", "cacerts", foreign), policies),
            "cacerts-secret-keys",
            /not signed by/,
        );
        const i = await ca.intermediate("east");
        const reversed = { ...cacertsData(ca, i), "cert-chain.pem": ca.root.certPem + i.certPem };
        expectViolation(
            await analyzeResource(secret("east", "cacerts", reversed), policies),
            "cacerts-secret-keys",
            /does not start with ca-cert\.pem/,
        );
        const leaf = await ca.intermediate("east", { ca: false });
        expectViolation(
            await analyzeResource(secret("east", "cacerts", cacertsData(ca, leaf)), policies),
            "cacerts-secret-keys",
            /ca-cert\.pem is not a CA certificate/,
        );
        const garbage = { ...cacertsData(ca, i), "ca-cert.pem": "not a pem" };
        expectViolation(
            await analyzeResource(secret("east", "cacerts", garbage), policies),
            "cacerts-secret-keys",
            /ca-cert\.pem holds no readable certificate/,
        );
    });

    it("any Secret carrying root-key.pem fails, whatever its name; the key list is a knob", async () => {
        const ca = await getPki();
        const s = secret("west", "backup", { "root-key.pem": ca.root.keyPem });
        expectViolation(await analyzeResource(s, policies), "no-root-ca-private-key", /carries root-key\.pem/);
        assert.deepEqual(await direct(rules.noRootKey, s, { config: { forbiddenKeyNames: [] } }), []);
    });

    it("skip what is unknown during preview instead of failing", async () => {
        const ca = await getPki();
        const data: Record<string, string> = cacertsData(ca, await ca.intermediate("east"));
        data["ca-key.pem"] = UNKNOWN_STRING;
        data["ca-cert.pem"] = UNKNOWN_STRING;
        expectClean(await analyzeResource(secret("east", "cacerts", data), policies));
        const whole: FakeResource = {
            ...secret("east", "cacerts", {}),
            props: { metadata: { name: "cacerts" }, stringData: UNKNOWN_STRING },
        };
        const d = await analyzeResource(whole, policies);
        assert.deepEqual(d, [], "no 'can't run during preview' advisories either");
    });
});

describe("root-ca-private-key-not-deployed (stack)", () => {
    it("fails a root key hidden in any Secret of any cluster", async () => {
        const ca = await getPki();
        const stack = await meshStack(MODELS["multi-primary, single network"], ca);
        const leaked = [...stack, secret("west", "backup", { "tls.key": ca.root.keyPem })];
        expectViolation(
            await analyzeStack(leaked, policies),
            "root-ca-private-key-not-deployed",
            /private key of root CA/,
        );
        expectClean(await analyzeStack(stack, policies), "root-ca-private-key-not-deployed");
    });

    it("recognises the root from a self-signed CA certificate resource too", async () => {
        const ca = await getPki();
        const stack: FakeResource[] = [
            {
                type: rules.TLS_SELF_SIGNED_CERT_TYPE,
                name: "root",
                props: { isCaCertificate: true, certPem: ca.root.certPem },
            },
            secret("east", "my-ca", { key: ca.root.keyPem }),
        ];
        expectViolation(
            await analyzeStack(stack, policies),
            "root-ca-private-key-not-deployed",
            /my-ca in cluster east/,
        );
    });
});

describe("istiod-releases-consistent (stack)", () => {
    const base = () => meshStack(MODELS["multi-primary, multi-network"]);

    it("fails different chart versions and an unpinned chart", async () => {
        const stack = withEdited(await base(), "west-istiod", (p) => (p.version = "1.29.0"));
        expectViolation(await analyzeStack(stack, policies), "istiod-releases-consistent", /different versions/);
        const floating = withEdited(await base(), "east-istio-base", (p) => delete p.version);
        expectViolation(await analyzeStack(floating, policies), "istiod-releases-consistent", /does not pin/);
        const range = withEdited(await base(), "east-istiod", (p) => (p.version = "^1.30"));
        expectViolation(await analyzeStack(range, policies), "istiod-releases-consistent", /not one exact version/);
    });

    it("reads the version of a local .tgz chart from its file name", async () => {
        const stack = withEdited(await base(), "west-istiod", (p) => {
            p.chart = "/opt/charts/istiod-1.30.3.tgz";
            delete p.version;
        });
        expectClean(await analyzeStack(stack, policies), "istiod-releases-consistent");
    });

    it("fails different mesh IDs, trust domains and a missing mesh ID", async () => {
        const stack = withEdited(await base(), "west-istiod", (p) => {
            p.values.global.meshID = "mesh2";
            p.values.meshConfig.trustDomain = "west.local";
        });
        const d = await analyzeStack(stack, policies);
        expectViolation(d, "istiod-releases-consistent", /different global\.meshID values: east=mesh1, west=mesh2/);
        expectViolation(d, "istiod-releases-consistent", /different meshConfig\.trustDomain/);
        const none = withEdited(await base(), "east-istiod", (p) => delete p.values.global.meshID);
        expectViolation(await analyzeStack(none, policies), "istiod-releases-consistent", /sets no global\.meshID/);
    });

    it("fails duplicate, missing and provider-mismatched cluster names", async () => {
        const dup = withEdited(await base(), "west-istiod", (p) => (p.values.global.multiCluster.clusterName = "east"));
        const d = await analyzeStack(dup, policies);
        expectViolation(d, "istiod-releases-consistent", /clusterName east is used by 2 istiod releases/);
        expectViolation(
            d,
            "istiod-releases-consistent",
            /names itself east, but its provider west-k8s is cluster west/,
        );
        const missing = withEdited(await base(), "west-istiod", (p) => delete p.values.global.multiCluster);
        expectViolation(await analyzeStack(missing, policies), "istiod-releases-consistent", /"Kubernetes"/);
    });
});

describe("remote-secret-credentials", () => {
    it("passes a token kubeconfig for another cluster", async () => {
        expectClean(
            await analyzeResource(remoteSecret("east", { west: kubeconfig("west") }), policies),
            "remote-secret-credentials",
        );
    });

    it("fails a remote secret for the holding cluster itself", async () => {
        const d = await analyzeResource(remoteSecret("east", { east: kubeconfig("east") }), policies);
        expectViolation(d, "remote-secret-credentials", /for east, the holding cluster itself/);
    });

    it("fails client certificates, exec plugins and auth providers", async () => {
        for (const user of [
            { "client-certificate-data": "Y2VydA==", "client-key-data": "a2V5" },
            { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws" } },
            { "auth-provider": { name: "oidc" } },
        ]) {
            const d = await analyzeResource(remoteSecret("east", { west: kubeconfig("west", { user }) }), policies);
            expectViolation(
                d,
                "remote-secret-credentials",
                /authenticates with .*only the reader service account's bearer token/,
            );
        }
    });

    it("fails loopback servers and disabled TLS verification; knobs relax both", async () => {
        const s = remoteSecret("east", {
            west: kubeconfig("west", {
                server: "https://127.0.0.1:6443",
                cluster: { "insecure-skip-tls-verify": true },
            }),
        });
        const d = await analyzeResource(s, policies);
        expectViolation(d, "remote-secret-credentials", /loopback address/);
        expectViolation(d, "remote-secret-credentials", /disables TLS verification/);
        const relaxed = { allowLoopbackServer: true, allowInsecureSkipTlsVerify: true };
        assert.deepEqual(await direct(rules.remoteSecretCredentials, s, { config: relaxed }), []);
    });

    it("fails an unreadable kubeconfig; skips unknown data during preview", async () => {
        const d = await analyzeResource(remoteSecret("east", { west: "users: [unclosed" }), policies);
        expectViolation(d, "remote-secret-credentials", /not a readable kubeconfig/);
        const preview = edited(remoteSecret("east", { west: "x" }), (p) => (p.data = UNKNOWN_STRING));
        assert.deepEqual(await analyzeResource(preview, policies), []);
    });
});

describe("remote-secrets-match-clusters (stack)", () => {
    it("fails a key that is no cluster of the stack; the knob allows external clusters", async () => {
        const stack = [
            ...(await meshStack(MODELS["multi-primary, single network"])),
            remoteSecret("east", { norht: kubeconfig("norht") }),
        ];
        const d = await analyzeStack(stack, policies);
        expectViolation(d, "remote-secrets-match-clusters", /names cluster norht, which no istiod release/);
    });

    it("fails the same cluster twice in one holder", async () => {
        const stack = [
            ...(await meshStack(MODELS["multi-primary, single network"])),
            remoteSecret("east", { west: kubeconfig("west") }, "istio-remote-secrets"),
        ];
        expectViolation(await analyzeStack(stack, policies), "remote-secrets-match-clusters", /repeats cluster west/);
    });

    it("fails a primary that does not watch another cluster", async () => {
        const stack = without(await meshStack(MODELS["multi-primary, multi-network"]), "west-remote-secret-east");
        expectViolation(
            await analyzeStack(stack, policies),
            "remote-secrets-match-clusters",
            /primary west holds no remote secret for east/,
        );
    });

    it("fails a key equal to the holder's istiod cluster ID when the provider is named otherwise", async () => {
        // With <cluster>-k8s providers the resource policy reports it; this is the other way to know the holder.
        const renamed = (await meshStack(MODELS["multi-primary, single network"])).map((r) =>
            r.provider?.name === "east-k8s" ? { ...r, provider: { name: "prod-east-k8s" } } : r,
        );
        const self = { ...remoteSecret("east", { east: kubeconfig("east") }), provider: { name: "prod-east-k8s" } };
        expectViolation(
            await analyzeStack([...renamed, self], policies),
            "remote-secrets-match-clusters",
            /holds a kubeconfig for east, the holder's own cluster ID/,
        );
    });
});

describe("tls-key-strength", () => {
    const key = (props: Record<string, unknown>): FakeResource => ({
        type: rules.TLS_PRIVATE_KEY_TYPE,
        name: "root-key",
        props,
    });

    it("passes RSA 2048+ (and the provider default), ECDSA P256/P384", async () => {
        for (const props of [
            { algorithm: "RSA", rsaBits: 4096 },
            { algorithm: "RSA" },
            { algorithm: "ECDSA", ecdsaCurve: "P384" },
        ]) {
            expectClean(await analyzeResource(key(props), policies), "tls-key-strength");
        }
    });

    it("fails small RSA keys, P224 (explicit or by default) and other algorithms", async () => {
        expectViolation(
            await analyzeResource(key({ algorithm: "RSA", rsaBits: 1024 }), policies),
            "tls-key-strength",
            /1024 RSA bits/,
        );
        expectViolation(await analyzeResource(key({ algorithm: "ECDSA" }), policies), "tls-key-strength", /uses P224/);
        expectViolation(
            await analyzeResource(key({ algorithm: "ECDSA", ecdsaCurve: "P224" }), policies),
            "tls-key-strength",
            /curve P224/,
        );
        const ed = key({ algorithm: "ED25519" });
        expectViolation(await analyzeResource(ed, policies), "tls-key-strength", /uses ED25519/);
        assert.deepEqual(await direct(rules.keyStrength, ed, { config: { allowedAlgorithms: ["ED25519"] } }), []);
        assert.equal(
            (await direct(rules.keyStrength, key({ algorithm: "RSA" }), { config: { minRsaBits: 4096 } })).length,
            1,
        );
    });
});

describe("tls-allowed-uses", () => {
    const cert = (allowedUses: unknown[], isCaCertificate = true): FakeResource => ({
        type: rules.TLS_LOCALLY_SIGNED_CERT_TYPE,
        name: "east-intermediate",
        props: { allowedUses, isCaCertificate, validityPeriodHours: 24 },
    });

    it("passes snake_case uses with cert_signing on a CA", async () => {
        expectClean(
            await analyzeResource(cert(["cert_signing", "crl_signing", "digital_signature"]), policies),
            "tls-allowed-uses",
        );
    });

    it("fails camelCase (silently dropped by the provider) and names the fix", async () => {
        const d = await analyzeResource(cert(["cert_signing", "digitalSignature"]), policies);
        expectViolation(d, "tls-allowed-uses", /"digitalSignature" .* silently dropped \(write "digital_signature"\)/);
    });

    it("fails a CA without cert_signing; a leaf does not need it", async () => {
        expectViolation(
            await analyzeResource(cert(["digital_signature"]), policies),
            "tls-allowed-uses",
            /without "cert_signing"/,
        );
        expectClean(await analyzeResource(cert(["server_auth"], false), policies), "tls-allowed-uses");
    });
});

describe("tls-intermediate-lifetime", () => {
    const intermediate = (days: number): FakeResource => ({
        type: rules.TLS_LOCALLY_SIGNED_CERT_TYPE,
        name: "east-intermediate",
        props: { isCaCertificate: true, validityPeriodHours: days * 24, allowedUses: ["cert_signing"] },
    });

    it("passes 3650 days, fails 3651; the maximum is a knob", async () => {
        expectClean(await analyzeResource(intermediate(3650), policies), "tls-intermediate-lifetime");
        expectViolation(
            await analyzeResource(intermediate(3651), policies),
            "tls-intermediate-lifetime",
            /maximum 3650 days/,
        );
        const d = await direct(rules.intermediateLifetime, intermediate(730), {
            config: { maxIntermediateValidityDays: 365 },
        });
        assert.match(d.join("\n"), /maximum 365 days/);
    });
});

describe("tls-intermediate-within-root (stack)", () => {
    const root = (hours: number, extra: Record<string, unknown> = {}): FakeResource => ({
        type: rules.TLS_SELF_SIGNED_CERT_TYPE,
        name: "mesh-root",
        urn: "urn:pulumi:test::istio-multicluster::tls:index/selfSignedCert:SelfSignedCert::mesh-root",
        props: { isCaCertificate: true, validityPeriodHours: hours, allowedUses: ["cert_signing"], ...extra },
    });
    const intermediate = (hours: number, extra: Record<string, unknown> = {}): FakeResource => ({
        type: rules.TLS_LOCALLY_SIGNED_CERT_TYPE,
        name: "east-intermediate",
        props: { isCaCertificate: true, validityPeriodHours: hours, allowedUses: ["cert_signing"], ...extra },
        propertyDependencies: { caCertPem: [root(1).urn!] },
    });

    it("passes an intermediate shorter than its root", async () => {
        expectClean(await analyzeStack([root(87600), intermediate(17520)], policies), "tls-intermediate-within-root");
    });

    it("fails an intermediate valid longer than its root", async () => {
        const d = await analyzeStack([root(8760), intermediate(17520)], policies);
        expectViolation(d, "tls-intermediate-within-root", /longer than root mesh-root/);
    });

    it("fails an intermediate that would outlive an imported root certificate", async () => {
        const shortRoot = await makePki(30);
        const imported = { ...intermediate(24 * 365, { caCertPem: shortRoot.root.certPem }), propertyDependencies: {} };
        const d = await analyzeStack([imported], policies);
        expectViolation(d, "tls-intermediate-within-root", /after its root expires/);
    });
});

describe("advisories", () => {
    const nodePortGateway = release("east", "gateway", {
        name: "istio-eastwestgateway",
        networkGateway: "network1",
        service: { type: "NodePort" },
    });

    it("nodeport-gateway-in-production: only in stacks tagged production (tag and values are knobs)", async () => {
        const prod = { environment: "production" };
        const d = await direct(rules.nodePortInProduction, nodePortGateway, { stackTags: prod });
        assert.match(d.join("\n"), /NodePort Service in a production stack/);
        failedPolicies.add("nodeport-gateway-in-production");
        assert.deepEqual(
            await direct(rules.nodePortInProduction, nodePortGateway, { stackTags: { environment: "dev" } }),
            [],
        );
        const lb = edited(nodePortGateway, (p) => (p.values.service.type = "LoadBalancer"));
        assert.deepEqual(await direct(rules.nodePortInProduction, lb, { stackTags: prod }), []);
        const custom = { config: { tagName: "tier", productionValues: ["prd"] }, stackTags: { tier: "prd" } };
        assert.equal((await direct(rules.nodePortInProduction, nodePortGateway, custom)).length, 1);
        assert.equal(rules.nodePortInProduction.enforcementLevel, "advisory");
    });

    it("verification-enabled: advisory without the verification component, quiet with it", async () => {
        const stack = await meshStack(MODELS["multi-primary, single network"]);
        const d = await analyzeStack(stack, policies);
        expectViolation(d, "verification-enabled", /no cross-cluster verification/);
        assert.equal(of(d, "verification-enabled")[0].enforcementLevel, "advisory");
        const component: FakeResource = {
            type: "istio-multicluster:verify:MeshVerification",
            name: "verify",
            props: {},
        };
        expectClean(await analyzeStack([...stack, component], policies), "verification-enabled");
        const probe: FakeResource = { type: rules.COMMAND_TYPE, name: "east-verify-probe", props: {} };
        expectClean(await analyzeStack([...stack, probe], policies), "verification-enabled");
    });
});

describe("multi-network-gateways (stack)", () => {
    const base = () => meshStack(MODELS["multi-primary, multi-network"]);

    it("fails a primary without cross-network-gateway", async () => {
        const stack = without(await base(), "west-cross-network-gateway");
        expectViolation(
            await analyzeStack(stack, policies),
            "multi-network-gateways",
            /west .*no cross-network-gateway/,
        );
    });

    it("fails a primary without an east-west gateway, and its network left without one", async () => {
        const stack = without(await base(), "west-istio-eastwestgateway");
        const d = await analyzeStack(stack, policies);
        expectViolation(d, "multi-network-gateways", /west .*no east-west gateway release/);
        expectViolation(d, "multi-network-gateways", /network network2 has no east-west gateway/);
    });

    it("fails a gateway serving another network than its cluster's", async () => {
        const stack = withEdited(
            await base(),
            "west-istio-eastwestgateway",
            (p) => (p.values.networkGateway = "network1"),
        );
        expectViolation(
            await analyzeStack(stack, policies),
            "multi-network-gateways",
            /on network network2, but its east-west gateway serves network1/,
        );
    });

    it("reads the network of a gateway advertised by meshNetworks alone from the view its pods request", async () => {
        const unlabelled = (network: string) => (p: EditableProps) => {
            delete p.values.networkGateway;
            p.values.env = { ISTIO_META_REQUESTED_NETWORK_VIEW: network };
        };
        const clean = withEdited(await base(), "west-istio-eastwestgateway", unlabelled("network2"));
        expectClean(await analyzeStack(clean, policies), "multi-network-gateways");
        const wrong = withEdited(await base(), "west-istio-eastwestgateway", unlabelled("network1"));
        expectViolation(
            await analyzeStack(wrong, policies),
            "multi-network-gateways",
            /on network network2, but its east-west gateway serves network1/,
        );
    });

    it("fails a remote-only network without a gateway; single-network meshes need none", async () => {
        const stack = without(await meshStack(MODELS["primary-remote, multi-network"]), "west-istio-eastwestgateway");
        expectViolation(
            await analyzeStack(stack, policies),
            "multi-network-gateways",
            /network network2 has no east-west gateway/,
        );
        const single = await meshStack(MODELS["multi-primary, single network"]);
        expectClean(await analyzeStack(single, policies), "multi-network-gateways");
    });
});

describe("remotes-have-serving-primary (stack)", () => {
    const base = () => meshStack(MODELS["primary-remote, single network"]);

    it("fails a primary that does not expose istiod", async () => {
        const d = await analyzeStack(without(await base(), "east-istiod-gateway", "east-istiod-vs"), policies);
        expectViolation(d, "remotes-have-serving-primary", /no istiod-gateway Gateway/);
        expectViolation(d, "remotes-have-serving-primary", /no istiod-vs VirtualService/);
    });

    it("fails a primary without externalIstiod or without the remote's secret", async () => {
        const noExternal = withEdited(await base(), "east-istiod", (p) => delete p.values.global.externalIstiod);
        expectViolation(await analyzeStack(noExternal, policies), "remotes-have-serving-primary", /externalIstiod/);
        const noSecret = without(await base(), "east-remote-secret-west");
        expectViolation(
            await analyzeStack(noSecret, policies),
            "remotes-have-serving-primary",
            /holds no remote secret for remote west/,
        );
    });

    it("fails a remotePilotAddress that is not the primary's gateway address (knob for NAT)", async () => {
        const stack = withEdited(
            await base(),
            "west-istiod",
            (p) => (p.values.global.remotePilotAddress = "198.51.100.7"),
        );
        const d = await analyzeStack(stack, policies);
        expectViolation(
            d,
            "remotes-have-serving-primary",
            /198\.51\.100\.7, but primary east's east-west gateway is at 192\.0\.2\.10/,
        );
    });

    it("fails a remote without remotePilotAddress or without any primary", async () => {
        const noAddress = withEdited(await base(), "west-istiod", (p) => delete p.values.global.remotePilotAddress);
        expectViolation(
            await analyzeStack(noAddress, policies),
            "remotes-have-serving-primary",
            /sets no global\.remotePilotAddress/,
        );
        const orphan = (await base()).filter((r) => !r.name.startsWith("east-"));
        expectViolation(await analyzeStack(orphan, policies), "remotes-have-serving-primary", /has no serving primary/);
    });

    it("follows the remote's controlPlaneClusters annotation to its primary", async () => {
        const stack = await meshStack([
            { name: "a", network: "n1", role: "primary" },
            { name: "b", network: "n1", role: "primary" },
            { name: "c", network: "n1", role: "remote", controlPlane: "b" },
        ]);
        expectClean(await analyzeStack(stack, policies), "remotes-have-serving-primary");
        const moved = withEdited(
            stack,
            "c-istio-system",
            (p) => (p.metadata.annotations["topology.istio.io/controlPlaneClusters"] = "a"),
        );
        expectViolation(
            await analyzeStack(moved, policies),
            "remotes-have-serving-primary",
            /primary a serves remote c .* no istiod-gateway/,
        );
    });
});

describe("preview: unknown values never fail a mandatory policy", () => {
    it("a primary-remote multi-network stack with unknown addresses, secret data and chart values", async () => {
        let stack = await meshStack(MODELS["primary-remote, multi-network"]);
        stack = withEdited(stack, "west-istiod", (p) => (p.values.global.remotePilotAddress = UNKNOWN_STRING));
        stack = withEdited(stack, "east-eastwest-service", (p) => (p.status = UNKNOWN_STRING));
        stack = withEdited(stack, "east-remote-secret-west", (p) => (p.data = UNKNOWN_STRING));
        stack = withEdited(stack, "east-istiod", (p) => (p.values.global.network = UNKNOWN_STRING));
        stack = stack.map((r) =>
            r.name === "east-cacerts" ? edited(r, (p) => (p.stringData["ca-key.pem"] = UNKNOWN_STRING)) : r,
        );
        const d = await analyzeAll(stack);
        assert.deepEqual(
            d.map((x) => x.policyName),
            ["verification-enabled"],
            d.map((x) => x.message).join("\n"),
        );
    });
});

describe("pure helpers", () => {
    it("parseBlockYaml reads what js-yaml and kubectl write", () => {
        const text = [
            "apiVersion: v1",
            "clusters:",
            "- cluster:",
            "    certificate-authority-data: QUJD",
            "    server: https://10.0.0.1:6443 # api",
            "  name: 'c2'",
            "users:",
            '- name: "c2"',
            "  user:",
            "    token: >-",
            "      abc",
            "      def",
            "current-context: c2",
        ].join("\n");
        assert.deepEqual(parseBlockYaml(text), {
            apiVersion: "v1",
            clusters: [
                { cluster: { "certificate-authority-data": "QUJD", server: "https://10.0.0.1:6443" }, name: "c2" },
            ],
            users: [{ name: "c2", user: { token: "abc def" } }],
            "current-context": "c2",
        });
        assert.deepEqual(kubeconfigProblems(text), []);
    });

    it("kubeconfigProblems reads JSON kubeconfigs too", () => {
        const json = JSON.stringify({ users: [{ name: "x", user: { "client-key-data": "k", token: "t" } }] });
        assert.match(kubeconfigProblems(json).join(), /client-key-data/);
    });

    it("the pack's copies of the program's names stay equal to components/naming.ts", () => {
        assert.equal(graph.ISTIO_NAMESPACE, naming.ISTIO_NAMESPACE);
        assert.equal(graph.CACERTS_SECRET, naming.CACERTS_SECRET);
        assert.equal(graph.EAST_WEST_GATEWAY, naming.EAST_WEST_GATEWAY);
        assert.equal(graph.CROSS_NETWORK_GATEWAY, naming.CROSS_NETWORK_GATEWAY);
        assert.equal(graph.ISTIOD_GATEWAY, naming.ISTIOD_GATEWAY);
        assert.equal(graph.ISTIOD_VIRTUAL_SERVICE, naming.ISTIOD_VIRTUAL_SERVICE);
        assert.equal(graph.LABEL_NETWORK, naming.LABEL_NETWORK);
        assert.equal(graph.LABEL_MULTICLUSTER_SECRET, naming.LABEL_MULTICLUSTER_SECRET);
        assert.equal(graph.ANNOTATION_CONTROL_PLANE_CLUSTERS, naming.ANNOTATION_CONTROL_PLANE_CLUSTERS);
        assert.equal(`x${graph.PROVIDER_SUFFIX}`, naming.providerResourceName("x"));
        assert.equal(`east${rules.VERIFY_PROBE_SUFFIX}`, naming.resourceName("east", "verify-probe"));
    });

    it("every configSchema default equals the code default, and no knob is named enforcementLevel", () => {
        for (const p of policies) {
            const props = p.configSchema?.properties ?? {};
            assert.ok(!("enforcementLevel" in props), p.name);
            const defaults = (rules.DEFAULTS as Record<string, Record<string, unknown>>)[p.name] ?? {};
            assert.deepEqual(Object.keys(props).sort(), Object.keys(defaults).sort(), p.name);
            for (const [k, schema] of Object.entries(props)) {
                assert.deepEqual((schema as { default?: unknown }).default, defaults[k], `${p.name}.${k}`);
            }
        }
    });
});

describe("federated-roots-trusted (stack)", () => {
    /** Two primaries with roots of their own, east trusting west's root and west east's, unless told otherwise. */
    async function federatedStack(opts: { westTrusts?: "east" | "nobody"; multiRoot?: boolean } = {}) {
        const [east, west] = [await makePki(), await makePki()];
        const multiRoot = opts.multiRoot ?? true;
        const istiod = (cluster: string, peers: string[]) =>
            release(cluster, "istiod", {
                global: { meshID: "mesh1", multiCluster: { clusterName: cluster }, network: cluster },
                meshConfig: {
                    trustDomain: "cluster.local",
                    caCertificates: peers.map((pem) => ({ pem })),
                    ...(multiRoot ? { defaultConfig: { proxyMetadata: { PROXY_CONFIG_XDS_AGENT: "true" } } } : {}),
                },
                ...(multiRoot ? { env: { ISTIO_MULTIROOT_MESH: "true" } } : {}),
            });
        return [
            secret("east", "cacerts", cacertsData(east, await east.intermediate("east"))),
            secret("west", "cacerts", cacertsData(west, await west.intermediate("west"))),
            istiod("east", [west.root.certPem]),
            istiod("west", opts.westTrusts === "nobody" ? [] : [east.root.certPem]),
        ];
    }

    it("passes primaries that trust each other's roots", async () => {
        expectClean(await analyzeStack(await federatedStack(), policies), "federated-roots-trusted");
    });
    it("fails a primary that does not trust a peer's root", async () => {
        const d = await analyzeStack(await federatedStack({ westTrusts: "nobody" }), policies);
        expectViolation(d, "federated-roots-trusted", /west-istiod .* does not trust a root of the mesh/);
    });
    it("fails peer roots listed without the multi-root settings that deliver them", async () => {
        const d = await analyzeStack(await federatedStack({ multiRoot: false }), policies);
        expectViolation(d, "federated-roots-trusted", /without ISTIO_MULTIROOT_MESH and PROXY_CONFIG_XDS_AGENT/);
    });
});

describe("istio-revisions (stack)", () => {
    const base = () => meshStack(MODELS["multi-primary, multi-network"]);
    /** east runs a second istiod, `istiod-<second>`, next to its first (whose revision is `first`). */
    async function twoInEast(
        first: { revision: string; tags?: string[]; version?: string },
        second: { revision: string; tags?: string[]; version?: string },
    ): Promise<FakeResource[]> {
        const stack = withEdited(await base(), "east-istiod", (p) => {
            p.values.revision = first.revision;
            if (first.tags) p.values.revisionTags = first.tags;
            if (first.version) p.version = first.version;
        });
        const original = stack.find((r) => r.name === "east-istiod")!;
        const copy = edited(original, (p) => {
            p.name = `istiod-${second.revision}`;
            p.values.revision = second.revision;
            if (second.tags) p.values.revisionTags = second.tags;
            else delete p.values.revisionTags;
            if (second.version) p.version = second.version;
        });
        const urn = original.urn?.replace(/east-istiod$/, `east-istiod-${second.revision}`);
        return [...stack, { ...copy, name: `east-istiod-${second.revision}`, ...(urn ? { urn } : {}) }];
    }

    it("passes two revisions side by side, each tag with one owner, within two minor versions", async () => {
        const stack = await twoInEast(
            { revision: "1-30-3", tags: ["default", "prod"] },
            { revision: "1-29-2", tags: ["canary"], version: "1.29.2" },
        );
        const d = await analyzeStack(stack, policies);
        expectClean(d, "istio-revisions");
        expectClean(d, "istiod-releases-consistent");
    });

    it("fails two istiods of one revision in one cluster", async () => {
        const stack = await twoInEast({ revision: "1-30-3" }, { revision: "1-30-3" });
        expectViolation(
            await analyzeStack(stack, policies),
            "istio-revisions",
            /2 istiod releases of revision "1-30-3"/,
        );
    });

    it("fails a tag rendered by two releases", async () => {
        const stack = await twoInEast({ revision: "a", tags: ["prod"] }, { revision: "b", tags: ["prod"] });
        expectViolation(await analyzeStack(stack, policies), "istio-revisions", /revision tag prod in cluster east/);
    });

    it("fails istio-base older than an istiod beside it", async () => {
        const stack = withEdited(
            await twoInEast({ revision: "a", version: "1.30.3" }, { revision: "b", version: "1.29.2" }),
            "east-istio-base",
            (p) => (p.version = "1.29.2"),
        );
        expectViolation(await analyzeStack(stack, policies), "istio-revisions", /istio-base 1\.29\.2 .* is older/);
    });

    it("fails revisions more than two minor versions apart", async () => {
        const stack = await twoInEast({ revision: "a" }, { revision: "b", version: "1.27.0" });
        expectViolation(await analyzeStack(stack, policies), "istiod-releases-consistent", /span 3 minor versions/);
    });
});

describe("reader token lifetimes (remote-secret-token-expiry, long-lived-reader-token)", () => {
    const DAY = 86_400;
    const now = Math.floor(Date.now() / 1000);
    /** A JWT-shaped bearer token with the given claims (the policies read claims, never signatures). */
    const jwt = (claims: Record<string, unknown>) =>
        [{ alg: "RS256" }, { sub: "system:serviceaccount:istio-system:istio-reader-for-east", ...claims }]
            .map((p) => Buffer.from(JSON.stringify(p)).toString("base64url"))
            .concat("sig")
            .join(".");
    const holding = (token: string) => remoteSecret("east", { west: kubeconfig("west", { user: { token } }) });

    it("remote-secret-token-expiry fails an expired token and one expiring inside the window, naming the date", async () => {
        const expired = await analyzeResource(holding(jwt({ iat: now - 100 * DAY, exp: now - DAY })), policies);
        expectViolation(expired, "remote-secret-token-expiry", /key west: the token of user west expired on \d{4}-/);
        const soon = await analyzeResource(holding(jwt({ iat: now - 80 * DAY, exp: now + 10 * DAY })), policies);
        expectViolation(soon, "remote-secret-token-expiry", /expires on .*, in less than 30 days/);
        assert.equal(mandatory(soon).length, 1);
    });

    it("remote-secret-token-expiry passes a fresh token, a legacy token without exp and an opaque token", async () => {
        for (const token of [jwt({ iat: now, exp: now + 60 * DAY }), jwt({}), "opaque-token"]) {
            expectClean(await analyzeResource(holding(token), policies), "remote-secret-token-expiry");
        }
        const knob = { minRemainingDays: 5 };
        const tenDays = holding(jwt({ iat: now, exp: now + 10 * DAY }));
        assert.deepEqual(await direct(rules.remoteSecretTokenExpiry, tenDays, { config: knob }), []);
    });

    it("remote-secret-token-expiry: the program's renewal margin on the Secret loosens the knob, never below 1 day", async () => {
        const withMargin = (token: string, days: string) =>
            edited(holding(token), (p) => {
                p.metadata.annotations = {
                    ...p.metadata.annotations,
                    "istio-multicluster.io/token-renew-before-days": days,
                };
            });
        const twentyDays = jwt({ iat: now - 10 * DAY, exp: now + 20 * DAY });
        assert.deepEqual(await direct(rules.remoteSecretTokenExpiry, withMargin(twentyDays, "10"), {}), []);
        const nineDays = jwt({ iat: now - 21 * DAY, exp: now + 9 * DAY });
        assert.match(
            (await direct(rules.remoteSecretTokenExpiry, withMargin(nineDays, "10"), {})).join("\n"),
            /in less than 10 days \(the renewal margin of this Secret\)/,
        );
        // A looser knob still applies, and an annotation of 0 (or garbage) is ignored.
        const looser = { config: { minRemainingDays: 5 } };
        assert.deepEqual(await direct(rules.remoteSecretTokenExpiry, withMargin(nineDays, "10"), looser), []);
        for (const bogus of ["0", "-3", "ten"]) {
            assert.match(
                (await direct(rules.remoteSecretTokenExpiry, withMargin(twentyDays, bogus), {})).join("\n"),
                /in less than 30 days\.$/,
            );
        }
    });

    it("long-lived-reader-token: in production stacks, a token without exp or living longer than the knob", async () => {
        const prod = { stackTags: { environment: "production" } };
        const legacy = await direct(rules.longLivedReaderToken, holding(jwt({})), prod);
        assert.match(legacy.join("\n"), /key west: the token of user west never expires \(no exp claim\)/);
        failedPolicies.add("long-lived-reader-token");
        const year = await direct(rules.longLivedReaderToken, holding(jwt({ iat: now, exp: now + 365 * DAY })), prod);
        assert.match(year.join("\n"), /lives 365 days, more than 90/);
        const ok = holding(jwt({ iat: now, exp: now + 90 * DAY }));
        assert.deepEqual(await direct(rules.longLivedReaderToken, ok, prod), []);
        const dev = { stackTags: { environment: "dev" } };
        assert.deepEqual(await direct(rules.longLivedReaderToken, holding(jwt({})), dev), []);
    });

    it("both skip unknown data during preview", async () => {
        const preview = edited(holding(jwt({ exp: now - DAY })), (p) => (p.data = UNKNOWN_STRING));
        assert.deepEqual(await analyzeResource(preview, policies), []);
    });
});

// Runs last (node:test runs top-level suites in order).
describe("coverage", () => {
    it("every policy of the pack failed on some broken resource or stack above", () => {
        const neverFailed = policies.map((p) => p.name).filter((n) => !failedPolicies.has(n));
        assert.deepEqual(neverFailed, []);
    });
});
