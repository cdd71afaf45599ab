/**
 * Helm values and exposure objects of revisions, as pure functions: what each release renders was
 * checked with `helm template` against the real 1.29.2 and 1.30.3 charts (docs/operations.md).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { exposureObjects } from "../../components/istio/istio-manifests";
import {
    baseValues,
    eastWestGatewayValues,
    revisionIstiodValues,
    valueOverrideProblems,
} from "../../components/istio/istio-values";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";

const clusters = [
    {
        name: "cluster1",
        network: "network1",
        apiServer: "https://10.0.0.1:6443",
        eastWestGateway: { address: "10.0.0.1" },
    },
    { name: "cluster2", network: "network1", role: "remote", apiServer: "https://10.0.0.2:6443" },
];

function setup(extra: Record<string, unknown> = {}) {
    const { config, problems } = validateMeshConfig({
        clusters,
        revisions: [
            { name: "1-29-2", version: "1.29.2" },
            { name: "1-30-3", version: "1.30.3" },
        ],
        revisionTags: { "prod-stable": "1-29-2", "prod-canary": "1-30-3" },
        defaultRevision: "1-29-2",
        ...extra,
    });
    assert.ok(config, JSON.stringify(problems));
    const plan = buildMeshPlan(config);
    return { config, plan, primary: plan.clusters[0], remote: plan.clusters[1] };
}

describe("revision values", () => {
    test("each istiod release gets its revision and exactly the tags it owns; default goes with defaultRevision", () => {
        const { config, plan, primary } = setup();
        const [old, canary] = primary.revisions!.revisions;
        assert.deepEqual(revisionIstiodValues(primary, plan, config, old).revisionTags, ["default", "prod-stable"]);
        assert.deepEqual(revisionIstiodValues(primary, plan, config, canary).revisionTags, ["prod-canary"]);
        assert.equal(revisionIstiodValues(primary, plan, config, canary).revision, "1-30-3");
    });

    test("a remote's release per revision keeps the remote profile and its pilot address", () => {
        const { config, plan, remote } = setup();
        const v = revisionIstiodValues(remote, plan, config, remote.revisions!.revisions[1], "10.0.0.1");
        assert.equal(v.profile, "remote");
        assert.equal(v.revision, "1-30-3");
        assert.equal((v.global as Record<string, unknown>).remotePilotAddress, "10.0.0.1");
    });

    test("base validates through the default revision; base runs at the newest version", () => {
        const { config, primary } = setup();
        assert.equal(baseValues(primary, config).defaultRevision, "1-29-2");
        assert.equal(primary.revisions!.baseVersion, "1.30.3");
    });

    test("the east-west gateway is injected by the cluster's default revision", () => {
        const { config, plan, primary } = setup({
            clusters: [{ ...clusters[0], defaultRevision: "1-30-3" }, clusters[1]],
        });
        assert.equal(eastWestGatewayValues(primary, plan, config).revision, "1-30-3");
    });

    test("the primary exposes one istiod-gateway and one istiod-vs-<name> per revision, SNI-routed", () => {
        const { config, primary } = setup();
        const objects = exposureObjects(primary, config);
        assert.deepEqual(
            objects.map((o) => o.metadata.name),
            ["istiod-gateway", "istiod-vs-1-29-2", "istiod-vs-1-30-3"],
        );
        const tls = objects[2].spec.tls as { match: { sniHosts: string[] }[] }[];
        assert.deepEqual(tls[0].match[0].sniHosts, [
            "istiod-1-30-3.istio-system.svc",
            "istiod-1-30-3.istio-system.svc.cluster.local",
        ]);
    });

    test("revisionTags in values is refused with revisions, free without", () => {
        const { config } = setup({ values: { istiod: { revisionTags: ["x"] } } });
        assert.deepEqual(
            valueOverrideProblems(config).map((p) => p.path),
            ["values.istiod.revisionTags"],
        );
        const plain = validateMeshConfig({ clusters: [clusters[0]], values: { istiod: { revisionTags: ["x"] } } });
        assert.ok(plain.config);
        assert.deepEqual(valueOverrideProblems(plain.config), []);
    });
});
