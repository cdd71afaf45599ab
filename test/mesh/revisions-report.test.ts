/**
 * `npm run plan` and the stack outputs with revisions: per cluster its revisions and versions,
 * the default, tag → revision and the base version; counts that match what is registered.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clusterIstioOutputs } from "../../components/istio/istio-outputs";
import { countPlanResources, formatPlanReport, planToJson } from "../../components/mesh/plan-report";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { meshOf, meshResources } from "../plan-diff";

const config = meshOf(
    [
        { name: "cluster1", network: "network1", eastWestGateway: { address: "10.0.0.1" } },
        { name: "cluster2", network: "network1", role: "remote", revisions: ["1-29-2"] },
    ],
    {
        revisions: [
            { name: "1-29-2", version: "1.29.2" },
            { name: "1-30-3", version: "1.30.3" },
        ],
        revisionTags: { "prod-stable": "1-29-2" },
        defaultRevision: "1-29-2",
    },
);
const plan = buildMeshPlan(config);

describe("revisions in the plan report and outputs", () => {
    test("the text report has one row per cluster with revisions, default, tags and base", () => {
        const report = formatPlanReport(plan, config);
        assert.match(
            report,
            /cluster1 +1-29-2 \(1\.29\.2\), 1-30-3 \(1\.30\.3\) +1-29-2 +prod-stable=1-29-2 +1\.30\.3/,
        );
        assert.match(report, /cluster2 +1-29-2 \(1\.29\.2\) +1-29-2 +prod-stable=1-29-2 +1\.29\.2/);
    });

    test("the JSON report carries each cluster's revisions; without revisions the key is absent", () => {
        const json = planToJson(plan, config) as { clusters: { revisions?: { defaultRevision: string } }[] };
        assert.equal(json.clusters[0].revisions?.defaultRevision, "1-29-2");
        const plain = meshOf([{ name: "cluster1" }]);
        const plainJson = planToJson(buildMeshPlan(plain), plain) as { clusters: object[] };
        assert.ok(!("revisions" in plainJson.clusters[0]));
        assert.doesNotMatch(formatPlanReport(buildMeshPlan(plain), plain), /Revisions/);
    });

    test("the release and object counts match what the program registers", async () => {
        const resources = [...(await meshResources(config)).values()];
        const counts = countPlanResources(plan, config);
        for (const c of counts.clusters) {
            const of = (type: string) => resources.filter((r) => r.type === type && r.name.startsWith(`${c.cluster}-`));
            assert.equal(of("kubernetes:helm.sh/v3:Release").length, c.helmReleases, `${c.cluster} releases`);
            const istio = [
                ...of("kubernetes:networking.istio.io/v1:Gateway"),
                ...of("kubernetes:networking.istio.io/v1:VirtualService"),
            ];
            assert.equal(istio.length, c.istioConfigObjects, `${c.cluster} istio objects`);
        }
    });

    test("outputs name the default revision's release and list every revision with its tags", () => {
        const out = clusterIstioOutputs(plan.clusters[0], config);
        assert.equal(out.releases.istiod, "istiod-1-29-2");
        assert.equal(out.istioVersion, "1.29.2");
        assert.deepEqual(out.revisions, {
            revisions: [
                { name: "1-29-2", version: "1.29.2", tags: ["default", "prod-stable"] },
                { name: "1-30-3", version: "1.30.3", tags: [] },
            ],
            defaultRevision: "1-29-2",
            tags: { default: "1-29-2", "prod-stable": "1-29-2" },
        });
        assert.ok(out.checks.includes("kubectl -n istio-system rollout status deployment/istiod-1-29-2"));
        assert.ok(out.checks.some((c) => c.includes("virtualservice.networking.istio.io/istiod-vs-1-29-2")));
    });
});
