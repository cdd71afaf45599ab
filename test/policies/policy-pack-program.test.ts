/**
 * The program's own resource graphs against the policy pack: `IstioMulticlusterMesh` for the four
 * models (plus a mixed mesh and a NodePort mesh) runs under the shared mock harness (real keys and
 * certificates from the tls mocks, reader tokens filled as the token controller would), and every
 * recorded registration goes through the pack's resource and stack policies, as in a
 * `pulumi preview --policy-pack policies`. Also in preview mode, where gateway addresses, tokens and
 * certificates are unknown.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { MeshConfig } from "../../components/config/config";
import { diagnose, recordProgram as record } from "../policy-program";
import { MESHES, MeshName } from "../istio-fixtures";
import { Diagnostic, FakeResource, of } from "../policy-driver";

/** ECDSA keys: the tls mocks make real keys, and RSA-4096 (the default) costs seconds each; RSA is judged in policies.test.ts. */
function fastKeys(config: MeshConfig): MeshConfig {
    return { ...config, ca: { ...config.ca, keyAlgorithm: "ECDSA", ecdsaCurve: "P256" } };
}

function show(diags: Diagnostic[]): string {
    return diags.map((d) => `${d.policyName} [${d.enforcementLevel}]: ${d.message}`).join("\n");
}

const MODELS: MeshName[] = [
    "multiPrimary",
    "multiPrimaryMultiNetwork",
    "primaryRemote",
    "primaryRemoteMultiNetwork",
    "mixed",
    "nodePort",
];

describe("the program's graphs pass the policy pack", () => {
    for (const model of MODELS) {
        for (const preview of [false, true]) {
            it(`${model}${preview ? " (preview)" : ""}: only the verification advisory`, async () => {
                const stack = await record(fastKeys(MESHES[model]()), preview);
                assert.ok(stack.length > 10, "the mesh registered its resources");
                const diags = await diagnose(stack);
                // verify is off in these configs, which is exactly what the advisory is for.
                assert.deepEqual(
                    diags.map((d) => `${d.policyName}/${d.enforcementLevel}`),
                    ["verification-enabled/advisory"],
                    show(diags),
                );
            });
        }
    }
});

describe("the program's graphs, broken on purpose", () => {
    it("with verify on, the verification component silences the advisory (preview: probes unknown)", async () => {
        const config = { ...fastKeys(MESHES.primaryRemote()), verify: true };
        const diags = await diagnose(await record(config, true));
        assert.deepEqual(diags, [], show(diags));
    });

    it("a Kubernetes object without its provider, a dropped Gateway and remote secret, a leaked root key", async () => {
        const stack = await record(fastKeys(MESHES.multiPrimaryMultiNetwork()), false);
        const on = (cluster: string, match: (r: FakeResource) => boolean) => {
            const r = stack.find((x) => x.provider?.name === `${cluster}-k8s` && match(x));
            assert.ok(r, `no such resource on ${cluster}`);
            return r;
        };
        const gateway = on("cluster2", (r) => r.type === "kubernetes:networking.istio.io/v1:Gateway");
        const remoteSecret = on(
            "cluster2",
            (r) =>
                (r.props.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[
                    "istio/multiCluster"
                ] === "true",
        );
        const istiod = on("cluster1", (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.props.chart === "istiod");
        // The root certificate's inputs carry the root key PEM (unwrapped by the harness).
        const root = stack.find((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert");
        assert.ok(typeof root?.props.privateKeyPem === "string", "the root key PEM");
        const leak: FakeResource = {
            type: "kubernetes:core/v1:Secret",
            name: "cluster2-backup",
            provider: { name: "cluster2-k8s", urn: remoteSecret.provider!.urn },
            props: {
                metadata: { name: "backup", namespace: "default" },
                stringData: { "tls.key": root.props.privateKeyPem },
            },
        };
        const broken = [
            ...stack
                .filter((r) => r !== gateway && r !== remoteSecret)
                .map((r) => (r === istiod ? { ...r, provider: undefined } : r)),
            leak,
        ];
        const diags = await diagnose(broken);
        for (const policy of [
            "kubernetes-explicit-provider",
            "multi-network-gateways",
            "remote-secrets-match-clusters",
            "root-ca-private-key-not-deployed",
        ]) {
            assert.ok(of(diags, policy).length > 0, `${policy} silent:\n${show(diags)}`);
        }
    });
});
