/**
 * A federated mesh (`ca.mode: federated`): every primary keeps its own root and trusts the roots
 * of all the others. The pure trust list, validation of the new keys, the graph under the mock
 * engine (who gets which root, cacerts, trust lists), the chains checked with openssl, plan diffs
 * for adding, removing and reordering primaries, the outputs, and the policy pack.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { ConfigValidationError, MeshConfig } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { loadProgramInputs } from "../../components/mesh/program-inputs";
import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import { meshStackOutputs } from "../../components/mesh/mesh-outputs";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { peerRootPems, federatedRootCaConfig } from "../../components/pki/federation";
import { certificateSummary, validateExistingRoot } from "../../components/pki/pki-spec";
import { istiodValues, valueOverrideProblems } from "../../components/istio/istio-values";
import { countPlanResources, federatedTrustLines, formatPlanReport } from "../../components/mesh/plan-report";
import { meshDiagram } from "../../components/mesh/mesh-diagram";
import { policies } from "../../policies/rules";
import { parseMermaid } from "../mermaid";
import { troubleshootingCommands } from "../../components/verification/verification";
import { failureHints } from "../../components/verification/verification-probe";
import { promiseOf, RecordedResource, runUnderMocks } from "../harness";
import { openssl, scratchDir, selfSignedByOpenssl } from "../openssl";
import { ClusterEntry, diffResources, meshArgsOf, meshOf, meshResources, planDiff, resourcesByUrn } from "../plan-diff";
import { analyzeStack, fromRecorded, of } from "../policy-driver";

const scratch = scratchDir("federated-test");

/** `openssl verify` of a leaf (or intermediate) against a bundle of trusted roots. */
function verifies(rootsPem: string, certPem: string): boolean {
    try {
        return /: OK$/.test(openssl(["verify", "-CAfile", scratch.write(rootsPem), scratch.write(certPem)]).trim());
    } catch {
        return false;
    }
}

const rootA = selfSignedByOpenssl(scratch, { ca: true, cn: "Root A", days: 3650 });
const rootB = selfSignedByOpenssl(scratch, { ca: true, cn: "Root B", days: 3650 });
const rootC = selfSignedByOpenssl(scratch, { ca: true, cn: "Root C", days: 3650 });

describe("peerRootPems: what a federated primary trusts besides its own root", () => {
    const roots = [
        { cluster: "c", certPem: rootC.certPem },
        { cluster: "a", certPem: rootA.certPem },
        { cluster: "b", certPem: rootB.certPem },
    ];
    test("every other primary's root, in the order of their names, never its own", () => {
        assert.deepEqual(peerRootPems("b", roots), [rootA.certPem, rootC.certPem]);
        assert.deepEqual(peerRootPems("a", roots), [rootB.certPem, rootC.certPem]);
    });
    test("the order of the clusters changes nothing", () => {
        assert.deepEqual(peerRootPems("a", [...roots].reverse()), peerRootPems("a", roots));
    });
    test("a root two primaries share is listed once, and not to a primary that owns it", () => {
        const shared = [...roots, { cluster: "d", certPem: rootA.certPem }];
        assert.deepEqual(peerRootPems("b", shared), [rootA.certPem, rootC.certPem]);
        assert.deepEqual(peerRootPems("d", shared), [rootB.certPem, rootC.certPem]);
    });
});

describe("federatedRootCaConfig", () => {
    const config = meshOf([{ name: "east" }], { ca: { mode: "federated", keyAlgorithm: "ECDSA", validityDays: 900 } });
    test("a generated root takes the settings of ca, its own name and a subject naming its cluster", () => {
        const root = federatedRootCaConfig(config, config.clusters[0]);
        assert.equal(root.name, "east-root");
        assert.equal(root.mode, "generate");
        assert.equal(root.commonName, "Root CA east");
        assert.equal(root.validityDays, 900);
        assert.equal(root.keyAlgorithm, "ECDSA");
    });
});

describe("validateExistingRoot", () => {
    test("a self-signed CA that is valid now passes", () => {
        assert.deepEqual(validateExistingRoot(rootA.certPem, { now: new Date(), certPath: "p" }), []);
    });
    test("a leaf, or two certificates, are refused with the path", () => {
        const leaf = selfSignedByOpenssl(scratch, { ca: false, cn: "leaf", days: 3650 });
        assert.match(
            validateExistingRoot(leaf.certPem, { now: new Date(), certPath: "p" })[0].message,
            /not a self-signed CA/,
        );
        const two = validateExistingRoot(rootA.certPem + rootB.certPem, { now: new Date(), certPath: "p" });
        assert.equal(two[0].path, "p");
    });
    test("a root past its end is refused", () => {
        const later = new Date(Date.now() + 400 * 86_400_000 * 30);
        assert.match(validateExistingRoot(rootA.certPem, { now: later, certPath: "p" })[0].message, /not valid now/);
    });
});

type Raw = Record<string, unknown>;
const problemsOf = (raw: Raw, secretKeys?: string[]) =>
    validateMeshConfig(raw, [valueOverrideProblems], { secretKeys }).problems;
const paths = (raw: Raw, secretKeys?: string[]) => problemsOf(raw, secretKeys).map((p) => p.path);

const federatedRaw = (clusters: Raw[], extra: Raw = {}): Raw => ({
    ca: { mode: "federated", keyAlgorithm: "ECDSA" },
    clusters: clusters.map((c) => ({ apiServer: `https://api.${String(c.name)}.example:6443`, ...c })),
    ...extra,
});

describe("federated config: every bad key has one clear error, all at once", () => {
    test("a valid federated mesh with every kind of root has no problems", () => {
        const raw = federatedRaw(
            [
                { name: "a" },
                { name: "b", ca: { mode: "import", certPem: rootB.certPem } },
                { name: "c", adopt: true, ca: { mode: "existing", rootCertPem: rootC.certPem } },
                { name: "r", role: "remote", controlPlane: "a" },
            ],
            { caKeyPems: { b: rootB.keyPem } },
        );
        assert.deepEqual(problemsOf(raw, ["caKeyPems.b"]), []);
    });
    test("clusters[].ca outside a federated mesh, and on a remote", () => {
        assert.deepEqual(paths({ clusters: [{ name: "a", apiServer: "https://a:6443", ca: { mode: "generate" } }] }), [
            "clusters[0].ca",
        ]);
        const onRemote = federatedRaw([{ name: "a" }, { name: "r", role: "remote", ca: { mode: "generate" } }]);
        const problems = problemsOf(onRemote);
        assert.deepEqual(
            problems.map((p) => p.path),
            ["clusters[1].ca"],
        );
        assert.match(problems[0].message, /remote/);
    });
    test("keys that name one root for all, a rotation, and caKeyPem are refused in federated mode", () => {
        const raw = federatedRaw([{ name: "a" }], {
            ca: { mode: "federated", certPem: rootA.certPem },
            caKeyPem: rootA.keyPem,
            rootRotation: { stage: "trustNext", next: { name: "next" } },
        });
        const found = paths(raw, ["caKeyPem"]);
        for (const p of ["ca.certPem", "caKeyPem", "rootRotation"]) assert.ok(found.includes(p), `${p} in ${found}`);
    });
    test("each mode's keys, its certificate and key, a unique name, and adopt for existing", () => {
        const raw = federatedRaw(
            [
                { name: "a", ca: { mode: "import", rootCertPem: rootA.certPem } },
                { name: "b", ca: { mode: "existing", certPem: rootB.certPem } },
                { name: "c", ca: { name: "a-root" } },
                { name: "d", ca: { mode: "import", certPem: "not a pem" } },
            ],
            { caKeyPems: { c: "k", zz: "k" } },
        );
        const found = paths(raw, ["caKeyPems"]);
        for (const p of [
            "clusters[0].ca.rootCertPem", // existing's key on an import root
            "clusters[0].ca.certPem", // import without a certificate
            "caKeyPems.a", // import without a key
            "clusters[1].ca.certPem", // import's key on an existing root
            "clusters[1].ca.rootCertPem", // existing without a certificate
            "clusters[1].adopt", // existing without adopt
            "clusters[2].ca.name", // the name of a's root
            "clusters[3].ca.certPem", // not a PEM
            "caKeyPems.c", // c's root is generated
            "caKeyPems.zz", // no such cluster
        ]) {
            assert.ok(found.includes(p), `${p} in ${JSON.stringify(found)}`);
        }
    });
    test("caKeyPems in plain text, and caKeyPems outside a federated mesh", () => {
        const raw = federatedRaw([{ name: "b", ca: { mode: "import", certPem: rootB.certPem } }], {
            caKeyPems: { b: rootB.keyPem },
        });
        assert.ok(problemsOf(raw, []).some((p) => p.path === "caKeyPems.b" && /plain text/.test(p.message)));
        const shared = { clusters: [{ name: "a", apiServer: "https://a:6443" }], caKeyPems: { a: "k" } };
        assert.deepEqual(paths(shared, ["caKeyPems"]), ["caKeyPems.a"]);
    });
    test("the program run checks an imported root with its own key and an existing root on its own", () => {
        const raw = federatedRaw(
            [
                { name: "a", kubeconfig: "/kc", ca: { mode: "import", certPem: rootA.certPem } },
                { name: "c", kubeconfig: "/kc", adopt: true, ca: { mode: "existing", rootCertFile: "/leaf.pem" } },
            ],
            { caKeyPems: { a: rootB.keyPem } },
        );
        const leaf = selfSignedByOpenssl(scratch, { ca: false, days: 3650 });
        const kubeconfig = [
            "apiVersion: v1",
            "kind: Config",
            "current-context: x",
            "contexts: [{name: x, context: {cluster: x, user: x}}]",
            "clusters: [{name: x, cluster: {server: 'https://x:6443'}}]",
            "users: [{name: x, user: {token: t}}]",
        ].join("\n");
        const files: Record<string, string> = { "/kc": kubeconfig, "/leaf.pem": leaf.certPem };
        assert.throws(
            () =>
                loadProgramInputs(
                    { raw, secretKeys: ["caKeyPems"] },
                    { env: {}, readFile: (f) => files[f] ?? fail(f), now: new Date() },
                ),
            (err: unknown) => {
                assert.ok(err instanceof ConfigValidationError);
                const found = err.problems.map((p) => p.path);
                assert.ok(found.includes("caKeyPems.a"), JSON.stringify(found)); // the key of another root
                assert.ok(found.includes("clusters[1].ca.rootCertFile"), JSON.stringify(found)); // a leaf
                return true;
            },
        );
    });
});

function fail(file: string): never {
    throw new Error(`ENOENT: ${file}`);
}

// ---------------------------------------------------------------------------------------------
// The graph under the mock engine
// ---------------------------------------------------------------------------------------------

const clustersOf = (): ClusterEntry[] => [
    { name: "a", network: "net-a" },
    { name: "b", network: "net-b", ca: { mode: "import", certPem: rootB.certPem } },
    { name: "c", network: "net-c", adopt: true, ca: { mode: "existing", rootCertPem: rootC.certPem } },
    { name: "r", network: "net-a", role: "remote", controlPlane: "a" },
];
const federated = (clusters = clustersOf()): MeshConfig =>
    meshOf(clusters, {
        ca: { mode: "federated", keyAlgorithm: "ECDSA" },
        ...(clusters.some((c) => c.name === "b" && c.ca) ? { caKeyPems: { b: rootB.keyPem } } : {}),
    });

function byName(resources: Map<string, RecordedResource>, type: string, name: string): RecordedResource {
    const found = [...resources.values()].find((r) => r.type === type && r.name === name);
    assert.ok(found, `${type} ${name}`);
    return found;
}
const names = (resources: Map<string, RecordedResource>, type: string) =>
    [...resources.values()]
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .sort();

interface IstiodView {
    meshConfig?: { caCertificates?: { pem: string }[]; defaultConfig?: { proxyMetadata?: Record<string, string> } };
    env?: Record<string, string>;
}
const istiodOf = (resources: Map<string, RecordedResource>, cluster: string) =>
    byName(resources, "kubernetes:helm.sh/v3:Release", `${cluster}-istiod`).inputs.values as IstiodView;
const cacertsOf = (resources: Map<string, RecordedResource>, cluster: string) =>
    byName(resources, "kubernetes:core/v1:Secret", `${cluster}-cacerts`).inputs.stringData as Record<string, string>;

/** Imported roots' keys go in as the program passes them: the secret `caKeyPems` map. */
async function federatedResources(config: MeshConfig, rootKeyPems: Record<string, string> = { b: rootB.keyPem }) {
    const { resources } = await runUnderMocks(
        () =>
            new IstioMulticlusterMesh("mesh", {
                ...meshArgsOf(config),
                importedClusterRootKeyPems: rootKeyPems,
            }),
        { stableTls: true },
    );
    return resourcesByUrn(resources);
}

describe("a federated mesh under the mock engine", () => {
    let resources: Map<string, RecordedResource>;
    before(async () => {
        resources = await federatedResources(federated());
    });

    test("a root of its own for each primary the program gives a CA, none for an existing CA or a remote", () => {
        assert.deepEqual(names(resources, "istio-multicluster:pki:MeshRootCa"), ["a-root", "b-root"]);
        assert.deepEqual(
            names(resources, "kubernetes:core/v1:Secret").filter((n) => n.endsWith("-cacerts")),
            ["a-cacerts", "b-cacerts"],
        );
        assert.deepEqual(names(resources, "istio-multicluster:pki:ClusterIntermediateCa"), [
            "a-intermediate-ca",
            "b-intermediate-ca",
        ]);
    });

    test("each cacerts holds its own chain: the intermediate verifies against its own root only", () => {
        const a = cacertsOf(resources, "a");
        const b = cacertsOf(resources, "b");
        assert.equal(b["root-cert.pem"].trim(), rootB.certPem.trim());
        assert.ok(verifies(b["root-cert.pem"], b["ca-cert.pem"]));
        assert.ok(verifies(a["root-cert.pem"], a["ca-cert.pem"]));
        assert.ok(!verifies(b["root-cert.pem"], a["ca-cert.pem"]));
        assert.notEqual(certificateSummary(a["root-cert.pem"]).subject, certificateSummary(b["root-cert.pem"]).subject);
    });

    test("every primary's istiod trusts every other primary's root, and runs multi-root with PCDS", () => {
        const rootOfA = cacertsOf(resources, "a")["root-cert.pem"];
        const expected: Record<string, string[]> = {
            a: [rootB.certPem, rootC.certPem],
            b: [rootOfA, rootC.certPem],
            c: [rootOfA, rootB.certPem],
        };
        for (const [cluster, peers] of Object.entries(expected)) {
            const values = istiodOf(resources, cluster);
            assert.deepEqual(
                values.meshConfig?.caCertificates?.map((c) => c.pem.trim()),
                peers.map((p) => p.trim()),
                cluster,
            );
            assert.equal(values.env?.ISTIO_MULTIROOT_MESH, "true", cluster);
            assert.equal(values.meshConfig?.defaultConfig?.proxyMetadata?.PROXY_CONFIG_XDS_AGENT, "true", cluster);
        }
        assert.equal(istiodOf(resources, "r").meshConfig, undefined);
    });

    test("with the trust list, a proxy of any primary verifies the intermediates of the others", () => {
        for (const [verifier, peer] of [
            ["b", "a"],
            ["a", "b"],
            ["c", "a"],
        ] as const) {
            const bundle = istiodOf(resources, verifier)
                .meshConfig!.caCertificates!.map((c) => c.pem)
                .join("");
            assert.ok(verifies(bundle, cacertsOf(resources, peer)["ca-cert.pem"]), `${verifier} trusts ${peer}`);
        }
    });

    test("the policy pack passes the federated graph", async () => {
        const recorded = [...resources.values()];
        const diags = await analyzeStack(fromRecorded(recorded), policies);
        assert.deepEqual(
            diags.filter((d) => d.enforcementLevel === "mandatory"),
            [],
        );
    });

    test("the policy pack flags a primary that does not trust a peer's root", async () => {
        const recorded = [...resources.values()].map((r) => {
            if (r.name !== "b-istiod") return r;
            const values = structuredClone(r.inputs.values) as IstiodView;
            values.meshConfig!.caCertificates = values.meshConfig!.caCertificates!.slice(1);
            return { ...r, inputs: { ...r.inputs, values } };
        });
        const diags = of(await analyzeStack(fromRecorded(recorded), policies), "federated-roots-trusted");
        assert.equal(diags.length, 1, JSON.stringify(diags));
        assert.match(diags[0].message, /b-istiod/);
    });
});

describe("federated outputs", () => {
    test("meshSummary names the trust model; each primary shows its root and the peer roots it trusts", async () => {
        const config = federated();
        const { result } = await runUnderMocks(
            async () => {
                const args = { ...meshArgsOf(config), importedClusterRootKeyPems: { b: rootB.keyPem } };
                const outputs = meshStackOutputs(new IstioMulticlusterMesh("mesh", args), args);
                return {
                    rootCa: outputs.rootCa,
                    trustModel: outputs.mesh.trustModel,
                    b: await promiseOf(outputs.clusters.b.root!),
                    c: await promiseOf(outputs.clusters.c.root!),
                    r: outputs.clusters.r.root,
                };
            },
            { stableTls: true },
        );
        assert.equal(result.rootCa, undefined);
        assert.equal(result.trustModel, "federated");
        assert.equal(result.b.source, "import");
        assert.equal(result.b.fingerprintSha256, certificateSummary(rootB.certPem).fingerprintSha256);
        assert.equal(result.c.source, "existing");
        assert.equal(result.c.trustsPeerRoots.length, 2);
        assert.ok(result.c.trustsPeerRoots.includes(result.b.fingerprintSha256));
        assert.equal(result.r, undefined);
    });
});

describe("federated lifecycle: plan diffs", () => {
    test("reordering the clusters changes nothing", async () => {
        const diff = await planDiff(federated(withoutImport()), federated([...withoutImport()].reverse()));
        assert.deepEqual(diff, { created: [], deleted: [], changed: {} });
    });

    test("adding a primary: its own resources, the remote secrets about it and held by it, one new trust entry each", async () => {
        const diff = await planDiff(
            federated(withoutImport()),
            federated([...withoutImport(), { name: "d", network: "net-d" }]),
        );
        const ownOrSecret = (n: string) => n.startsWith("d-") || /remote-secret/.test(n);
        assert.deepEqual(
            diff.created.filter((n) => !ownOrSecret(n)),
            [],
            JSON.stringify(diff.created),
        );
        assert.ok(diff.created.includes("d-root"));
        assert.ok(diff.created.includes("d-cacerts"));
        assert.deepEqual(diff.deleted, []);
        // The other primaries' istiod values gain d's root (and the new remote secrets exist beside them).
        assert.deepEqual(Object.keys(diff.changed).sort(), ["a-istiod", "b-istiod", "c-istiod"]);
        assert.deepEqual(diff.changed["a-istiod"], ["values"]);
        const before = await meshResources(federated(withoutImport()));
        const after = await meshResources(federated([...withoutImport(), { name: "d", network: "net-d" }]));
        for (const cluster of ["a", "b", "c"]) {
            const was = istiodOf(before, cluster).meshConfig!.caCertificates!.length;
            assert.equal(istiodOf(after, cluster).meshConfig!.caCertificates!.length, was + 1, cluster);
        }
    });

    test("removing a primary takes its root out of every trust list", async () => {
        const diff = await planDiff(
            federated([...withoutImport(), { name: "d", network: "net-d" }]),
            federated(withoutImport()),
        );
        assert.ok(diff.deleted.includes("d-root"));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(Object.keys(diff.changed).sort(), ["a-istiod", "b-istiod", "c-istiod"]);
    });
});

/** The mesh of {@link clustersOf} with b's root generated: plan diffs run without the import key. */
function withoutImport(): ClusterEntry[] {
    return clustersOf().map((c) => (c.name === "b" ? { name: "b", network: "net-b" } : c));
}

describe("the plan", () => {
    test("knows the trust model, each primary's root and whose roots it trusts", () => {
        const plan = buildMeshPlan(federated());
        assert.equal(plan.trustModel, "federated");
        const a = plan.clusters.find((c) => c.name === "a")!;
        assert.deepEqual(a.root, { source: "generate", name: "a-root", trustsRootsOf: ["b", "c"] });
        assert.equal(plan.clusters.find((c) => c.name === "c")!.root!.source, "existing");
        assert.equal(plan.clusters.find((c) => c.name === "r")!.root, undefined);
        assert.equal(buildMeshPlan(meshOf([{ name: "x" }])).trustModel, "shared");
    });
    test("istiod values refuse a federated primary without its peer roots", () => {
        const config = federated(withoutImport());
        const plan = buildMeshPlan(config);
        assert.throws(() => istiodValues(plan.clusters[0], plan, config), /peer roots/);
    });
});

describe("npm run plan and the diagram show each primary's root", () => {
    test("the plan report names each primary's root and whose roots it trusts; counts no PKI for an existing CA", () => {
        const config = federated();
        const plan = buildMeshPlan(config);
        assert.deepEqual(federatedTrustLines(plan), [
            "  a: root a-root (generated); trusts the roots of b, c",
            "  b: root b-root (imported); trusts the roots of a, c",
            "  c: root c-root (existing CA, left alone); trusts the roots of a, b",
        ]);
        assert.match(formatPlanReport(plan, config), /Root CA: +federated, a root per primary/);
        const counts = countPlanResources(plan, config);
        assert.deepEqual(counts.pki, { root: 2, intermediates: 6, total: 8 });
        assert.equal(counts.clusters.find((c) => c.cluster === "c")!.cacerts, 0);
        assert.deepEqual(federatedTrustLines(buildMeshPlan(meshOf([{ name: "x" }]))), []);
    });
    test("the diagram draws a root per primary, and Mermaid parses it", async () => {
        const config = federated();
        const text = meshDiagram(buildMeshPlan(config), config);
        for (const c of ["a", "b", "c"]) assert.match(text, new RegExp(`root_${c}\\(\\["root ${c}-root`));
        assert.match(text, /root_c -- "signs workloads" --> c_c/);
        assert.doesNotMatch(text, /ca_root/);
        await parseMermaid(text);
    });
});

describe("troubleshooting compares each cluster's trusted roots with its peers' roots", () => {
    test("federated: istiod's added roots and the proxy's roots, by subject; none with one root", () => {
        const config = federated();
        const commands = troubleshootingCommands(buildMeshPlan(config), config, { a: "ctx-a", r: "ctx-r" });
        const [istiod, proxy] = commands.r.trustedRoots!;
        assert.match(istiod, /--context='ctx-a' .*configmap istio .*adds the roots of b, c/);
        assert.match(proxy, /proxy-config secret .*--context='ctx-r' .*ROOTCA.*expect the root of each of a, b, c/);
        assert.equal(commands.c.rootFingerprint.length, 1); // an existing CA: no cacerts of the program's
        const shared = meshOf([{ name: "x" }]);
        assert.equal(troubleshootingCommands(buildMeshPlan(shared), shared, {}).x.trustedRoots, undefined);
    });
});

describe("federated roots with revisions", () => {
    test("every revision's istiod of a primary trusts the peer roots", async () => {
        const config = meshOf([{ name: "a" }, { name: "b" }], {
            ca: { mode: "federated", keyAlgorithm: "ECDSA" },
            revisions: [
                { name: "1-29-6", version: "1.29.6" },
                { name: "1-30-3", version: "1.30.3" },
            ],
            defaultRevision: "1-29-6",
        });
        const resources = await meshResources(config);
        const rootOfB = cacertsOf(resources, "b")["root-cert.pem"];
        for (const revision of ["1-29-6", "1-30-3"]) {
            const values = byName(resources, "kubernetes:helm.sh/v3:Release", `a-istiod-${revision}`).inputs
                .values as IstiodView;
            assert.deepEqual(
                values.meshConfig?.caCertificates?.map((c) => c.pem.trim()),
                [rootOfB.trim()],
                revision,
            );
            assert.equal(values.env?.ISTIO_MULTIROOT_MESH, "true");
        }
    });
});

describe("the verification's hint for a TLS failure in a federated mesh", () => {
    test("points at the peer-root lists and the pods that lack PROXY_CONFIG_XDS_AGENT", () => {
        const federatedHint = failureHints({ client: "b", expectedClusters: ["a", "b"], federated: true }).tls;
        assert.match(federatedHint, /trustedRoots/);
        assert.match(federatedHint, /PROXY_CONFIG_XDS_AGENT/);
        assert.match(failureHints({ client: "b", expectedClusters: ["a", "b"] }).tls, /do not trust one root CA/);
    });
});

describe("from federated roots to one root (docs/pki.md): the plan diff of each step", () => {
    const importR = { mode: "import", certPem: rootA.certPem };
    const stage = (bRoot?: Record<string, unknown>): MeshConfig =>
        meshOf(
            [
                { name: "a", network: "net-a", ca: importR },
                { name: "b", network: "net-b", ...(bRoot ? { ca: bRoot } : {}) },
            ],
            {
                ca: { mode: "federated", keyAlgorithm: "ECDSA" },
                caKeyPems: { a: rootA.keyPem, ...(bRoot ? { b: rootA.keyPem } : {}) },
            },
        );
    const run = (config: MeshConfig) => federatedResources(config, { a: rootA.keyPem, b: rootA.keyPem });

    test("step 1: b imports the future shared root; only b's root, chain and cacerts and the two trust lists change", async () => {
        const before = await run(stage());
        const after = await run(stage(importR));
        const diff = diffResources(before, after);
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.deleted, ["b-root-cert", "b-root-key"]);
        assert.deepEqual(Object.keys(diff.changed).sort(), [
            "a-istiod",
            "b-cacerts",
            "b-intermediate-cert",
            "b-istiod",
        ]);
        // Step 2's state: one root, so no primary lists a peer root any more.
        for (const cluster of ["a", "b"]) assert.equal(istiodOf(after, cluster).meshConfig?.caCertificates, undefined);
        assert.ok(verifies(rootA.certPem, cacertsOf(after, "b")["ca-cert.pem"]));
    });
});
