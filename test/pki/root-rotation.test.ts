/**
 * Replacing the mesh root as a config switch (`rootRotation`, docs/pki.md "Replacing the root"):
 * the pure trust-bundle and values logic, validation of the new keys, what each stage changes
 * (plan diffs, and what the engine's `protect` check would refuse), and the certificates of each
 * stage checked with openssl, including the workload certificates that keep traffic up.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { before, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";

import { ConfigValidationError, MeshConfig } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { istiodValues, multiRootSettings, valueOverrideProblems } from "../../components/istio/istio-values";
import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import { meshStackOutputs } from "../../components/mesh/mesh-outputs";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import {
    cacertsData,
    certificateSummary,
    pemCertificates,
    RootRotationSummary,
    rootRotationPems,
    rootRotationSummary,
    signingRoot,
} from "../../components/pki/pki-spec";
import { loadProgramInputs } from "../../components/mesh/program-inputs";
import { policies } from "../../policies/rules";
import { promiseOf, RecordedResource, runUnderMocks } from "../harness";
import { openssl, scratchDir, selfSignedByOpenssl } from "../openssl";
import { diffResources, resourcesByUrn } from "../plan-diff";
import { analyzeEach, analyzeStack, fromRecorded } from "../policy-driver";

type Raw = Record<string, unknown>;

const scratch = scratchDir("root-rotation-test");
const writeTmp = scratch.write;

/** `openssl verify` of `certPem` against the roots in `caFile`, with optional untrusted intermediates. */
function verifies(rootsPem: string, certPem: string, untrustedPem?: string): boolean {
    const args = ["verify", "-CAfile", writeTmp(rootsPem)];
    if (untrustedPem) args.push("-untrusted", writeTmp(untrustedPem));
    try {
        return /: OK$/.test(openssl([...args, writeTmp(certPem)]).trim());
    } catch {
        return false;
    }
}

/** Subject of every certificate in a PEM bundle, in order, as openssl prints it. */
function subjects(bundle: string): string[] {
    return pemCertificates(bundle).map((pem) =>
        openssl(["x509", "-noout", "-subject", "-nameopt", "oneline", "-in", writeTmp(pem)])
            .trim()
            .replace(/^subject=\s*/, ""),
    );
}

/** A self-signed EC root made by openssl, independent of the mocks. */
const opensslRoot = (cn: string) => selfSignedByOpenssl(scratch, { ca: true, days: 3650, cn });

let workloadSerial = 0;

/** A workload certificate (as istiod issues them: SPIFFE URI, one day) signed by an intermediate. */
function workloadCert(intermediate: { certPem: string; keyPem: string }, sa: string): string {
    const keyFile = scratch.freshPath("k");
    const csrFile = scratch.freshPath("r");
    const certFile = scratch.freshPath("c");
    const ext = writeTmp(
        [
            "[ext]",
            "basicConstraints = critical,CA:FALSE",
            "keyUsage = critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage = serverAuth,clientAuth",
            `subjectAltName = URI:spiffe://cluster.local/ns/default/sa/${sa}`,
        ].join("\n"),
    );
    openssl(
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
            "-keyout",
            keyFile,
            "-subj",
            "/O=cluster.local",
            "-out",
            csrFile,
        ]),
    );
    openssl([
        "x509",
        "-req",
        "-in",
        csrFile,
        "-CA",
        writeTmp(intermediate.certPem),
        "-CAkey",
        writeTmp(intermediate.keyPem),
        "-set_serial",
        String(++workloadSerial),
        "-days",
        "1",
        "-extfile",
        ext,
        "-extensions",
        "ext",
        "-out",
        certFile,
    ]);
    return fs.readFileSync(certFile, "utf8");
}

// ---------------------------------------------------------------------------------------------
// Configs of the four steps: before, trustNext, issueFromNext, finished
// ---------------------------------------------------------------------------------------------

const CLUSTERS = [
    { name: "cluster1", network: "network1", apiServer: "https://10.0.0.1:6443" },
    { name: "cluster2", network: "network1", apiServer: "https://10.0.0.2:6443" },
    {
        name: "cluster3",
        network: "network1",
        role: "remote",
        controlPlane: "cluster1",
        apiServer: "https://10.0.0.3:6443",
    },
];
const PRIMARIES = ["cluster1", "cluster2"];
// ECDSA keeps the real-crypto mocks fast; the graph is the same for RSA.
const CURRENT = { keyAlgorithm: "ECDSA" };
const NEXT = { name: "mesh-root-2", keyAlgorithm: "ECDSA", commonName: "Root CA 2" };

function configOf(raw: Raw, secretKeys: string[] = []): MeshConfig {
    const { config, problems } = validateMeshConfig({ clusters: CLUSTERS, ...raw }, [], { secretKeys });
    assert.ok(config, JSON.stringify(problems, null, 2));
    return config;
}

const steps = {
    before: configOf({ ca: CURRENT }),
    trustNext: configOf({ ca: CURRENT, rootRotation: { stage: "trustNext", next: NEXT } }),
    issueFromNext: configOf({ ca: CURRENT, rootRotation: { stage: "issueFromNext", next: NEXT } }),
    finished: configOf({ ca: NEXT }),
};
type Step = keyof typeof steps;

/** Deleted resources that were protected before: `pulumi up` refuses such a step. */
function refusedDeletes(before: Map<string, RecordedResource>, after: Map<string, RecordedResource>): string[] {
    return [...before.entries()]
        .filter(([urn, r]) => !after.has(urn) && r.protect)
        .map(([, r]) => r.name)
        .sort();
}

function cacerts(resources: Map<string, RecordedResource>, cluster: string): Record<string, string> {
    const secret = [...resources.values()].find(
        (r) => r.type === "kubernetes:core/v1:Secret" && r.name === `${cluster}-cacerts`,
    );
    assert.ok(secret, `${cluster}-cacerts`);
    return secret.inputs.stringData as Record<string, string>;
}

function byName(resources: Map<string, RecordedResource>, type: string, name: string): RecordedResource {
    const r = [...resources.values()].find((x) => x.type === type && x.name === name);
    assert.ok(r, `${type} ${name}`);
    return r;
}

const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const RELEASE = "kubernetes:helm.sh/v3:Release";

// ---------------------------------------------------------------------------------------------
// Pure logic
// ---------------------------------------------------------------------------------------------

describe("trust bundle and cacerts per stage (pure)", () => {
    const current = "-----BEGIN CERTIFICATE-----\nCURRENT\n-----END CERTIFICATE-----";
    const next = "-----BEGIN CERTIFICATE-----\nNEXT\n-----END CERTIFICATE-----\n";

    test("no rotation: the current root signs and is the whole bundle", () => {
        assert.deepEqual(rootRotationPems(current), { signingRootPem: `${current}\n`, trustBundlePem: `${current}\n` });
        assert.equal(signingRoot(undefined), "current");
    });

    test("trustNext: the current root signs; the bundle is current then next", () => {
        const pems = rootRotationPems(current, { stage: "trustNext", nextRootPem: next });
        assert.deepEqual(pems, { signingRootPem: `${current}\n`, trustBundlePem: `${current}\n${next}` });
        assert.equal(signingRoot("trustNext"), "current");
    });

    test("issueFromNext: the next root signs; the bundle stays current then next, byte for byte", () => {
        const pems = rootRotationPems(current, { stage: "issueFromNext", nextRootPem: next });
        assert.deepEqual(pems, { signingRootPem: next, trustBundlePem: `${current}\n${next}` });
        assert.equal(signingRoot("issueFromNext"), "next");
    });

    test("cacerts: root-cert.pem is the bundle, cert-chain.pem ends with the signing root only", () => {
        const data = cacertsData({
            intermediateCertPem: "ICA\n",
            intermediateKeyPem: "KEY\n",
            rootCertPem: "NEXT\n",
            trustBundlePem: "NEXT\nCURRENT\n",
        });
        assert.deepEqual(data, {
            "ca-cert.pem": "ICA\n",
            "ca-key.pem": "KEY\n",
            "root-cert.pem": "NEXT\nCURRENT\n",
            "cert-chain.pem": "ICA\nNEXT\n",
        });
    });

    test("rootRotationSummary reads the certificates themselves", () => {
        const a = opensslRoot("A");
        const b = opensslRoot("B");
        const summary = rootRotationSummary(
            "issueFromNext",
            { name: "a", certPem: a.certPem },
            { name: "b", certPem: b.certPem },
        );
        assert.equal(summary.current.fingerprintSha256, certificateSummary(a.certPem).fingerprintSha256);
        assert.deepEqual(summary.trustBundle, [
            certificateSummary(a.certPem).fingerprintSha256,
            certificateSummary(b.certPem).fingerprintSha256,
        ]);
    });

    test("istiod and proxy settings only while a rotation is set", () => {
        assert.deepEqual(multiRootSettings(steps.before), { env: {}, proxyMetadata: {} });
        for (const step of ["trustNext", "issueFromNext"] as const) {
            assert.deepEqual(multiRootSettings(steps[step]), {
                env: { ISTIO_MULTIROOT_MESH: "true" },
                proxyMetadata: { PROXY_CONFIG_XDS_AGENT: "true" },
            });
        }
    });

    test("istiod values: primaries get the env and the proxy metadata, merged with DNS proxying; remotes nothing", () => {
        const config = configOf({
            ca: CURRENT,
            rootRotation: { stage: "trustNext", next: NEXT },
            dnsProxy: { capture: true },
            meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } },
        });
        const plan = buildMeshPlan(config);
        const primary = istiodValues(
            plan.clusters.find((c) => c.name === "cluster1")!,
            plan,
            config,
        );
        assert.deepEqual(primary.env, { ISTIO_MULTIROOT_MESH: "true" });
        assert.deepEqual(primary.meshConfig, {
            trustDomain: "cluster.local",
            defaultConfig: {
                holdApplicationUntilProxyStarts: true,
                proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true", PROXY_CONFIG_XDS_AGENT: "true" },
            },
        });
        const remote = istiodValues(
            plan.clusters.find((c) => c.name === "cluster3")!,
            plan,
            config,
            "192.0.2.1",
        );
        assert.equal(remote.env, undefined);
        assert.equal(remote.meshConfig, undefined);
        const without = istiodValues(plan.clusters[0], plan, steps.before);
        assert.equal(without.env, undefined);
        assert.equal(without.meshConfig && "defaultConfig" in (without.meshConfig as Raw), false);
    });

    test("user values may repeat the rotation settings but not contradict them; outside a rotation they are free", () => {
        const rotation = { rootRotation: { stage: "trustNext", next: NEXT } };
        const contradicting = configOf({
            ...rotation,
            values: { istiod: { env: { ISTIO_MULTIROOT_MESH: "false" } } },
            meshConfig: { defaultConfig: { proxyMetadata: { PROXY_CONFIG_XDS_AGENT: "false" } } },
        });
        assert.deepEqual(
            valueOverrideProblems(contradicting)
                .map((p) => p.path)
                .sort(),
            ["meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT", "values.istiod.env.ISTIO_MULTIROOT_MESH"],
        );
        assert.match(valueOverrideProblems(contradicting)[0].fix ?? "", /rootRotation/);
        const repeating = configOf({
            ...rotation,
            values: { istiod: { pilot: { env: { ISTIO_MULTIROOT_MESH: true } } } },
        });
        assert.deepEqual(valueOverrideProblems(repeating), []);
        const ownMultiRoot = configOf({ values: { istiod: { env: { ISTIO_MULTIROOT_MESH: "true" } } } });
        assert.deepEqual(valueOverrideProblems(ownMultiRoot), []);
    });
});

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

describe("validation of rootRotation and nextCaKeyPem", () => {
    const problemsOf = (raw: Raw, secretKeys: string[] = []) =>
        validateMeshConfig({ clusters: CLUSTERS, ...raw }, [], { secretKeys }).problems;
    const one = (raw: Raw, pathWanted: string, message: RegExp, secretKeys: string[] = []) => {
        const problems = problemsOf(raw, secretKeys);
        const p = problems.find((x) => x.path === pathWanted);
        assert.ok(p, `${pathWanted} in ${JSON.stringify(problems)}`);
        assert.match(p.message, message);
        assert.ok(p.fix, "names a fix");
        return p;
    };
    const imported = opensslRoot("Corp Root 2");

    test("defaults: ca.name is mesh-root, no rotation", () => {
        assert.equal(steps.before.ca.name, "mesh-root");
        assert.equal(steps.before.rootRotation, undefined);
        assert.equal(configOf({ rootRotation: {} }).rootRotation, undefined, "{} is no rotation");
        assert.deepEqual(steps.trustNext.rootRotation?.next, {
            name: "mesh-root-2",
            mode: "generate",
            keyAlgorithm: "ECDSA",
            rsaBits: 4096,
            ecdsaCurve: "P256",
            validityDays: 3650,
            organization: "Istio",
            commonName: "Root CA 2",
        });
    });

    test("a bad stage", () => {
        const p = one({ rootRotation: { stage: "issueFromNew", next: NEXT } }, "rootRotation.stage", /not one of/);
        assert.match(p.fix!, /issueFromNext/);
    });

    test("a rotation without stage, or without next root", () => {
        one({ rootRotation: { next: NEXT } }, "rootRotation.stage", /needs a stage/);
        one({ rootRotation: { stage: "trustNext" } }, "rootRotation.next", /needs the next root/);
        one({ rootRotation: { stage: "trustNext", next: {} } }, "rootRotation.next.name", /missing/);
    });

    test("the next root named like the current one", () => {
        one(
            { rootRotation: { stage: "trustNext", next: { name: "mesh-root" } } },
            "rootRotation.next.name",
            /ca\.name/,
        );
        const p = one(
            { ca: { name: "corp-root" }, rootRotation: { stage: "trustNext", next: { name: "corp-root" } } },
            "rootRotation.next.name",
            /already ca\.name/,
        );
        assert.match(p.fix!, /corp-root-2/);
    });

    test("root names must be DNS-1123 labels", () => {
        one({ ca: { name: "Mesh_Root" } }, "ca.name", /DNS-1123/);
        one({ rootRotation: { stage: "trustNext", next: { name: "Root 2" } } }, "rootRotation.next.name", /DNS-1123/);
    });

    test("an imported next root without nextCaKeyPem", () => {
        const p = one(
            {
                rootRotation: {
                    stage: "trustNext",
                    next: { name: "corp-root-2", mode: "import", certPem: imported.certPem },
                },
            },
            "nextCaKeyPem",
            /rootRotation\.next\.mode is import, but the root private key is missing/,
        );
        assert.match(p.fix!, /--secret nextCaKeyPem/);
    });

    test("an imported next root without certificate, or with both forms", () => {
        const next = { name: "corp-root-2", mode: "import" };
        one(
            { rootRotation: { stage: "trustNext", next }, nextCaKeyPem: "k" },
            "rootRotation.next.certPem",
            /no root certificate/,
            ["nextCaKeyPem"],
        );
        one(
            {
                rootRotation: { stage: "trustNext", next: { ...next, certPem: imported.certPem, certFile: "/r.pem" } },
                nextCaKeyPem: "k",
            },
            "rootRotation.next.certFile",
            /Both/,
            ["nextCaKeyPem"],
        );
    });

    test("nextCaKeyPem in plain text is refused and never echoed", () => {
        const raw = {
            rootRotation: {
                stage: "trustNext",
                next: { name: "corp-root-2", mode: "import", certPem: imported.certPem },
            },
            nextCaKeyPem: imported.keyPem,
        };
        const p = one(raw, "nextCaKeyPem", /plain text/, []);
        assert.match(p.fix!, /--secret nextCaKeyPem/);
        assert.ok(!JSON.stringify(problemsOf(raw, [])).includes("PRIVATE KEY"));
        assert.deepEqual(problemsOf(raw, ["nextCaKeyPem"]), [], "accepted when it is a secret");
    });

    test("nextCaKeyPem without an imported next root", () => {
        one({ nextCaKeyPem: "k" }, "nextCaKeyPem", /only used while a root rotation imports/, ["nextCaKeyPem"]);
        one(
            { rootRotation: { stage: "trustNext", next: NEXT }, nextCaKeyPem: "k" },
            "nextCaKeyPem",
            /only used with rootRotation\.next\.mode import/,
            ["nextCaKeyPem"],
        );
    });

    test("certificate settings on a generated next root, and the same imported root twice", () => {
        one(
            { rootRotation: { stage: "trustNext", next: { ...NEXT, certPem: imported.certPem } } },
            "rootRotation.next.certPem",
            /only used with rootRotation\.next\.mode import/,
        );
        one(
            {
                ca: { mode: "import", certPem: imported.certPem },
                caKeyPem: "k",
                rootRotation: { stage: "trustNext", next: { name: "r2", mode: "import", certPem: imported.certPem } },
                nextCaKeyPem: "k",
            },
            "rootRotation.next.certPem",
            /already uses/,
            ["caKeyPem", "nextCaKeyPem"],
        );
    });

    test("intermediates must not outlive a generated next root", () => {
        one(
            { rootRotation: { stage: "trustNext", next: { ...NEXT, validityDays: 365 } } },
            "intermediate.validityDays",
            /rootRotation\.next\.validityDays 365/,
        );
    });
});

// ---------------------------------------------------------------------------------------------
// What each `pulumi up` changes
// ---------------------------------------------------------------------------------------------

function access(config: MeshConfig) {
    return Object.fromEntries(
        config.clusters.map((c) => [c.name, { kubeconfig: `kc ${c.name}`, apiServer: c.apiServer! }]),
    );
}

interface StepRun {
    resources: Map<string, RecordedResource>;
    /** `rootCa.fingerprintSha256` and `rootCa.rotation` of the stack outputs. */
    fingerprint: string;
    rotation?: RootRotationSummary;
}

/** The mesh and its stack outputs for one step, with tls answers stable across steps (as the engine keeps them). */
async function runStep(config: MeshConfig): Promise<StepRun> {
    const args = { config, plan: buildMeshPlan(config), access: access(config) };
    const { result, resources } = await runUnderMocks(
        () => meshStackOutputs(new IstioMulticlusterMesh("mesh", args), args),
        { stableTls: true },
    );
    return {
        resources: resourcesByUrn(resources),
        fingerprint: await promiseOf(result.rootCa!.fingerprintSha256),
        rotation: result.rootCa!.rotation ? await promiseOf(result.rootCa!.rotation) : undefined,
    };
}

describe("stage transitions (plan diffs under mocks, stable tls answers)", () => {
    const runs = {} as Record<Step, Map<string, RecordedResource>>;
    const stepRuns = {} as Record<Step, StepRun>;
    before(async () => {
        for (const step of Object.keys(steps) as Step[]) {
            stepRuns[step] = await runStep(steps[step]);
            runs[step] = stepRuns[step].resources;
        }
    });
    const cacertsChanged = Object.fromEntries(PRIMARIES.map((c) => [`${c}-cacerts`, ["stringData"]]));
    const istiodChanged = Object.fromEntries(PRIMARIES.map((c) => [`${c}-istiod`, ["values"]]));

    test("none → trustNext: the next root is created; cacerts and istiod values change; no intermediate is touched", () => {
        const diff = diffResources(runs.before, runs.trustNext);
        assert.deepEqual(diff.created, ["mesh-root-2", "mesh-root-2-cert", "mesh-root-2-key"]);
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(diff.changed, { ...cacertsChanged, ...istiodChanged });
        for (const c of PRIMARIES) {
            const values = byName(runs.trustNext, RELEASE, `${c}-istiod`).inputs.values;
            assert.equal(values.env.ISTIO_MULTIROOT_MESH, "true");
            assert.equal(values.meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT, "true");
        }
        assert.equal(byName(runs.trustNext, RELEASE, "cluster3-istiod").inputs.values.env, undefined, "remote");
    });

    test("the next root is unprotected while it signs nothing; the current root stays protected", () => {
        for (const suffix of ["key", "cert"]) {
            const type =
                suffix === "key" ? "tls:index/privateKey:PrivateKey" : "tls:index/selfSignedCert:SelfSignedCert";
            assert.equal(byName(runs.trustNext, type, `mesh-root-2-${suffix}`).protect, false);
            assert.equal(byName(runs.trustNext, type, `mesh-root-${suffix}`).protect, true);
            assert.equal(byName(runs.issueFromNext, type, `mesh-root-2-${suffix}`).protect, true);
            assert.equal(byName(runs.issueFromNext, type, `mesh-root-${suffix}`).protect, false);
        }
    });

    test("trustNext → issueFromNext: every intermediate is re-issued by the next root, protect flips, nothing created or deleted", () => {
        const diff = diffResources(runs.trustNext, runs.issueFromNext);
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, []);
        const intermediates = Object.fromEntries(
            PRIMARIES.map((c) => [`${c}-intermediate-cert`, ["caCertPem", "caPrivateKeyPem"]]),
        );
        const flipped = Object.fromEntries(
            ["mesh-root-key", "mesh-root-cert", "mesh-root-2-key", "mesh-root-2-cert"].map((n) => [n, ["(options)"]]),
        );
        assert.deepEqual(diff.changed, { ...intermediates, ...cacertsChanged, ...flipped });
        for (const c of PRIMARIES) {
            const nextRoot = byName(runs.issueFromNext, LOCALLY_SIGNED, `${c}-intermediate-cert`).inputs.caCertPem;
            assert.equal(certificateSummary(nextRoot).subject, "O=Istio, CN=Root CA 2");
        }
    });

    test("issueFromNext → finished (ca = next): only the old root goes; cacerts and istiod values change back", () => {
        const diff = diffResources(runs.issueFromNext, runs.finished);
        assert.deepEqual(diff.deleted, ["mesh-root", "mesh-root-cert", "mesh-root-key"]);
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.changed, { ...cacertsChanged, ...istiodChanged });
        for (const c of PRIMARIES) {
            assert.equal(byName(runs.finished, RELEASE, `${c}-istiod`).inputs.values.env, undefined);
            assert.deepEqual(
                byName(runs.finished, RELEASE, `${c}-istiod`).inputs.values,
                byName(runs.before, RELEASE, `${c}-istiod`).inputs.values,
                "the same istiod values as before the rotation",
            );
        }
        assert.equal(byName(runs.finished, "tls:index/privateKey:PrivateKey", "mesh-root-2-key").protect, true);
    });

    test("the engine accepts every forward step: no protected resource is deleted", () => {
        assert.deepEqual(refusedDeletes(runs.before, runs.trustNext), []);
        assert.deepEqual(refusedDeletes(runs.trustNext, runs.issueFromNext), []);
        assert.deepEqual(refusedDeletes(runs.issueFromNext, runs.finished), []);
    });

    test("abort: dropping rootRotation during trustNext deletes only the unused next root", () => {
        const diff = diffResources(runs.trustNext, runs.before);
        assert.deepEqual(diff.deleted, ["mesh-root-2", "mesh-root-2-cert", "mesh-root-2-key"]);
        assert.deepEqual(refusedDeletes(runs.trustNext, runs.before), []);
        assert.deepEqual(diff.changed, { ...cacertsChanged, ...istiodChanged });
    });

    test("abort from issueFromNext goes back through trustNext: intermediates re-issued by the current root", () => {
        const diff = diffResources(runs.issueFromNext, runs.trustNext);
        assert.deepEqual([...diff.created, ...diff.deleted], []);
        for (const c of PRIMARIES)
            assert.deepEqual(diff.changed[`${c}-intermediate-cert`], ["caCertPem", "caPrivateKeyPem"]);
    });

    test("the engine refuses to delete the root in use: finishing from trustNext, dropping the rotation in issueFromNext", () => {
        assert.deepEqual(refusedDeletes(runs.trustNext, runs.finished), ["mesh-root-cert", "mesh-root-key"]);
        assert.deepEqual(refusedDeletes(runs.issueFromNext, runs.before), ["mesh-root-2-cert", "mesh-root-2-key"]);
    });

    test("without a rotation the root keeps its URNs under the default name", () => {
        const urns = [...runs.before.keys()].filter((u) => /MeshRootCa/.test(u));
        assert.ok(urns.some((u) => u.endsWith("tls:index/selfSignedCert:SelfSignedCert::mesh-root-cert")));
        assert.ok(urns.every((u) => !/mesh-root-2/.test(u)));
    });

    test("stack outputs: rootCa is the signing root; rootCa.rotation shows stage, both roots, the bundle order", () => {
        assert.equal(stepRuns.before.rotation, undefined);
        const t = stepRuns.trustNext.rotation!;
        const i = stepRuns.issueFromNext.rotation!;
        assert.equal(t.stage, "trustNext");
        assert.equal(t.signingRoot, "current");
        assert.equal(t.current.name, "mesh-root");
        assert.equal(t.next.name, "mesh-root-2");
        assert.equal(stepRuns.trustNext.fingerprint, t.current.fingerprintSha256);
        assert.equal(stepRuns.before.fingerprint, t.current.fingerprintSha256);
        assert.deepEqual(t.trustBundle, [t.current.fingerprintSha256, t.next.fingerprintSha256]);
        assert.match(t.next.notAfter, /^\d{4}-\d{2}-\d{2}T/);
        assert.equal(i.stage, "issueFromNext");
        assert.equal(i.signingRoot, "next");
        assert.equal(stepRuns.issueFromNext.fingerprint, i.next.fingerprintSha256);
        assert.deepEqual(i.trustBundle, [i.current.fingerprintSha256, i.next.fingerprintSha256]);
        assert.deepEqual([i.current, i.next], [t.current, t.next]);
        assert.equal(stepRuns.finished.rotation, undefined);
        assert.equal(stepRuns.finished.fingerprint, i.next.fingerprintSha256, "the new root is kept, not replaced");
    });

    test("istiod can take every root-cert.pem change without a restart of its own (Istio 1.24 to 1.30 rules)", () => {
        // With ISTIO_MULTIROOT_MESH, istiod accepts a changed root-cert.pem only when one file contains
        // the other: as bytes up to 1.29, as certificate sets from 1.30. Unchanged is always fine.
        const order: Step[] = ["before", "trustNext", "issueFromNext", "finished"];
        for (const c of PRIMARIES) {
            for (let k = 1; k < order.length; k++) {
                const a = cacerts(runs[order[k - 1]], c)["root-cert.pem"];
                const b = cacerts(runs[order[k]], c)["root-cert.pem"];
                assert.ok(a.includes(b) || b.includes(a), `${c}: ${order[k - 1]} → ${order[k]}`);
            }
            const trust = cacerts(runs.trustNext, c)["root-cert.pem"];
            assert.equal(cacerts(runs.issueFromNext, c)["root-cert.pem"], trust, "issueFromNext changes no root");
        }
    });

    test("the graphs of both stages pass the policy pack (cacerts consistency, intermediates within their root)", async () => {
        for (const step of ["trustNext", "issueFromNext"] as const) {
            const stack = fromRecorded([...runs[step].values()]);
            const diags = [...(await analyzeEach(stack, policies)), ...(await analyzeStack(stack, policies))];
            assert.deepEqual(
                diags.map((d) => `${d.policyName}/${d.enforcementLevel}`),
                ["verification-enabled/advisory"],
                `${step}: ${diags.map((d) => d.message).join("\n")}`,
            );
        }
    });

    // -----------------------------------------------------------------------------------------
    // Real crypto, stage by stage
    // -----------------------------------------------------------------------------------------

    const rootsOf = () => ({
        current: byName(runs.trustNext, LOCALLY_SIGNED, "cluster1-intermediate-cert").inputs.caCertPem as string,
        next: byName(runs.issueFromNext, LOCALLY_SIGNED, "cluster1-intermediate-cert").inputs.caCertPem as string,
    });

    test("trustNext: root-cert.pem holds the current root then the next one, identical in every primary", () => {
        const { current, next } = rootsOf();
        const bundle = cacerts(runs.trustNext, "cluster1")["root-cert.pem"];
        assert.deepEqual(subjects(bundle), ["O = Istio, CN = Root CA", "O = Istio, CN = Root CA 2"]);
        assert.deepEqual(
            pemCertificates(bundle),
            [current, next].map((p) => pemCertificates(p)[0]),
        );
        for (const c of PRIMARIES) assert.equal(cacerts(runs.trustNext, c)["root-cert.pem"], bundle);
        // The intermediates are the ones from before the rotation, still chained to the current root.
        for (const c of PRIMARIES) {
            const data = cacerts(runs.trustNext, c);
            assert.equal(data["ca-cert.pem"], cacerts(runs.before, c)["ca-cert.pem"]);
            assert.deepEqual(subjects(data["cert-chain.pem"]).slice(1), ["O = Istio, CN = Root CA"]);
            assert.ok(verifies(current, data["ca-cert.pem"]), "verifies against the current root");
            assert.ok(!verifies(next, data["ca-cert.pem"]), "not against the next root");
        }
    });

    test("issueFromNext: each intermediate verifies against the next root and not the old one; both roots trusted", () => {
        const { current, next } = rootsOf();
        for (const c of PRIMARIES) {
            const data = cacerts(runs.issueFromNext, c);
            assert.equal(
                data["root-cert.pem"],
                cacerts(runs.trustNext, c)["root-cert.pem"],
                "unchanged since trustNext",
            );
            assert.deepEqual(subjects(data["root-cert.pem"]), ["O = Istio, CN = Root CA", "O = Istio, CN = Root CA 2"]);
            assert.deepEqual(subjects(data["cert-chain.pem"]), [
                `L = ${c}, O = Istio, CN = Intermediate CA`,
                "O = Istio, CN = Root CA 2",
            ]);
            assert.ok(verifies(next, data["ca-cert.pem"]), `${c} verifies against the next root`);
            assert.ok(!verifies(current, data["ca-cert.pem"]), `${c} does not verify against the old root`);
            assert.ok(verifies(data["root-cert.pem"], data["ca-cert.pem"]), "and against its own bundle");
        }
    });

    test("finished: root-cert.pem is the new root alone; the intermediates are unchanged", () => {
        const { next } = rootsOf();
        for (const c of PRIMARIES) {
            const data = cacerts(runs.finished, c);
            assert.deepEqual(pemCertificates(data["root-cert.pem"]), pemCertificates(next));
            assert.equal(data["ca-cert.pem"], cacerts(runs.issueFromNext, c)["ca-cert.pem"]);
            assert.equal(data["cert-chain.pem"], cacerts(runs.issueFromNext, c)["cert-chain.pem"]);
        }
    });

    test("workload certificates from either stage verify against the other stage's bundle (traffic stays up)", () => {
        const oldIca = cacerts(runs.trustNext, "cluster1");
        const newIca = cacerts(runs.issueFromNext, "cluster2");
        const oldLeaf = workloadCert({ certPem: oldIca["ca-cert.pem"], keyPem: oldIca["ca-key.pem"] }, "client");
        const newLeaf = workloadCert({ certPem: newIca["ca-cert.pem"], keyPem: newIca["ca-key.pem"] }, "server");
        // A proxy with a trustNext certificate talks to one whose cluster is already at issueFromNext, both ways.
        assert.ok(verifies(newIca["root-cert.pem"], oldLeaf, oldIca["cert-chain.pem"]));
        assert.ok(verifies(oldIca["root-cert.pem"], newLeaf, newIca["cert-chain.pem"]));
        // Before the rotation only the old certificate was trusted; after finishing only the new one.
        const beforeBundle = cacerts(runs.before, "cluster2")["root-cert.pem"];
        assert.ok(verifies(beforeBundle, oldLeaf, oldIca["cert-chain.pem"]));
        assert.ok(!verifies(beforeBundle, newLeaf, newIca["cert-chain.pem"]), "why trustNext comes first");
        const finishedBundle = cacerts(runs.finished, "cluster1")["root-cert.pem"];
        assert.ok(verifies(finishedBundle, newLeaf, newIca["cert-chain.pem"]));
        assert.ok(!verifies(finishedBundle, oldLeaf, oldIca["cert-chain.pem"]), "why workloads renew before finishing");
    });
});

// ---------------------------------------------------------------------------------------------
// An imported next root
// ---------------------------------------------------------------------------------------------

describe("an imported next root", () => {
    const imported = opensslRoot("Corp Root 2");
    // keyAlgorithm: the intermediates the next root signs get keys of its settings (ECDSA keeps the mocks fast).
    const next = { name: "corp-root-2", mode: "import", keyAlgorithm: "ECDSA", certPem: imported.certPem };

    test("signs the intermediates in issueFromNext without any tls resource of its own; its key stays secret", async () => {
        const config = configOf(
            { ca: CURRENT, rootRotation: { stage: "issueFromNext", next }, nextCaKeyPem: imported.keyPem },
            ["nextCaKeyPem"],
        );
        const args = {
            config,
            plan: buildMeshPlan(config),
            access: access(config),
            importedNextRootKeyPem: pulumi.secret(imported.keyPem),
        };
        const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", args));
        assert.deepEqual(
            resources.filter((r) => r.type.startsWith("tls:") && r.name.startsWith("corp-root-2")),
            [],
        );
        assert.ok(resources.some((r) => r.type === "istio-multicluster:pki:MeshRootCa" && r.name === "corp-root-2"));
        for (const c of PRIMARIES) {
            const cert = resources.find((r) => r.type === LOCALLY_SIGNED && r.name === `${c}-intermediate-cert`)!;
            assert.equal(cert.inputs.caCertPem, imported.certPem);
            assert.ok(cert.secretPaths.includes("caPrivateKeyPem"));
            const secret = resources.find((r) => r.name === `${c}-cacerts`)!;
            const data = secret.inputs.stringData as Record<string, string>;
            assert.deepEqual(subjects(data["root-cert.pem"]), [
                "O = Istio, CN = Root CA",
                "O = Example Corp, CN = Corp Root 2",
            ]);
            assert.ok(verifies(imported.certPem, data["ca-cert.pem"]), "the intermediate chains to the imported root");
            assert.ok(!Object.values(data).join("").includes(imported.keyPem.trim()), "the root key is in no cluster");
        }
    });

    test("the program checks nextCaKeyPem against the next root before anything is created", () => {
        const kubeconfig = (server: string) =>
            yaml.dump({
                apiVersion: "v1",
                kind: "Config",
                "current-context": "ctx",
                clusters: [{ name: "c", cluster: { server } }],
                users: [{ name: "u", user: { token: "t" } }],
                contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
            });
        const other = opensslRoot("Other");
        const raw = {
            clusters: CLUSTERS,
            kubeconfigs: Object.fromEntries(CLUSTERS.map((c) => [c.name, kubeconfig(c.apiServer)])),
            rootRotation: { stage: "trustNext", next },
            nextCaKeyPem: other.keyPem,
        };
        const env = { env: {}, readFile: () => "", now: new Date() };
        assert.throws(
            () => loadProgramInputs({ raw, secretKeys: ["kubeconfigs", "nextCaKeyPem"] }, env),
            (e: unknown) =>
                e instanceof ConfigValidationError &&
                e.problems.some((p) => p.path === "nextCaKeyPem" && /does not belong/.test(p.message)) &&
                !e.message.includes("PRIVATE KEY"),
        );
        const file = writeTmp(imported.certPem);
        const ok = loadProgramInputs(
            {
                raw: {
                    ...raw,
                    rootRotation: { stage: "trustNext", next: { name: "corp-root-2", mode: "import", certFile: file } },
                    nextCaKeyPem: imported.keyPem,
                },
                secretKeys: ["kubeconfigs", "nextCaKeyPem"],
            },
            { ...env, readFile: (f) => fs.readFileSync(f, "utf8") },
        );
        assert.equal(ok.config.rootRotation?.next.certPem, imported.certPem, "the file is read once, up front");
        assert.ok(pulumi.isSecret(ok.importedNextRootKeyPem as pulumi.Output<string>));
    });
});
