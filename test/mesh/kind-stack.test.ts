/**
 * Pulumi.kind.yaml, the stack of the local kind bed: it validates as it is and with its commented
 * primary-remote variant swapped in, it describes the bed scripts/kind-up.sh builds, and every
 * apiServer line carries the marker the script rewrites.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as yaml from "js-yaml";
import { PROJECT_NAME } from "../../components/config/config";
import { validateMeshConfig } from "../../components/mesh/validate-config";
import { buildMeshPlan } from "../../components/plan/mesh-plan";

const stackText = fs.readFileSync(path.resolve(__dirname, "..", "..", "Pulumi.kind.yaml"), "utf8");

/** The `istio-multicluster:` keys of a stack file's text, prefix stripped. */
function projectConfig(text: string): Record<string, unknown> {
    const doc = yaml.load(text) as { config: Record<string, unknown> };
    const prefix = `${PROJECT_NAME}:`;
    return Object.fromEntries(
        Object.entries(doc.config)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), v]),
    );
}

/** The stack file with its clusters list replaced by the commented primary-remote variant. */
function primaryRemoteVariant(text: string): string {
    const lines = text.split("\n");
    const begin = lines.findIndex((l) => l.includes("primary-remote variant (begin)"));
    const end = lines.findIndex((l) => l.includes("primary-remote variant (end)"));
    assert.ok(begin >= 0 && end > begin, "the variant block is delimited by its begin/end markers");
    const variant = lines.slice(begin + 1, end).filter((l) => l.startsWith("#   "));
    const active = lines.slice(0, begin);
    const clustersAt = active.findIndex((l) => l.startsWith(`  ${PROJECT_NAME}:clusters:`));
    // The active clusters list runs to the end of the `config:` block.
    let next = clustersAt + 1;
    while (next < active.length && /^\s{4,}\S/.test(active[next])) next++;
    return [...active.slice(0, clustersAt), ...variant.map((l) => l.slice(2)), ...active.slice(next)].join("\n");
}

function validated(text: string) {
    const result = validateMeshConfig(projectConfig(text));
    assert.deepEqual(result.problems, [], "no config problems");
    assert.ok(result.config);
    return result.config;
}

describe("Pulumi.kind.yaml", () => {
    it("validates and plans a multi-primary, multi-network mesh with LoadBalancer gateways and verify on", () => {
        const config = validated(stackText);
        assert.equal(config.verify, true);
        const plan = buildMeshPlan(config);
        assert.equal(plan.controlPlaneModel, "multi-primary");
        assert.equal(plan.networkModel, "multi-network");
        assert.deepEqual(plan.networks, { network1: ["cluster1"], network2: ["cluster2"] });
        for (const c of plan.clusters) {
            assert.equal(c.eastWestGateway?.serviceType, "LoadBalancer");
            assert.equal(c.config.kubeconfig, "./kind-kubeconfig");
            assert.equal(c.config.context, `kind-${c.name}`);
        }
        // MetalLB gives the gateways addresses istiod discovers from the Service: no meshNetworks needed.
        assert.equal(plan.meshNetworks, undefined);
    });

    it("has a commented primary-remote variant that validates and plans cluster2 as cluster1's remote", () => {
        const variant = primaryRemoteVariant(stackText);
        const config = validated(variant);
        const plan = buildMeshPlan(config);
        assert.equal(plan.controlPlaneModel, "primary-remote");
        assert.equal(plan.networkModel, "multi-network");
        const [c1, c2] = plan.clusters;
        assert.deepEqual([c1.name, c1.role, c1.exposeIstiod], ["cluster1", "primary", true]);
        assert.deepEqual([c2.name, c2.role, c2.controlPlane], ["cluster2", "remote", "cluster1"]);
        assert.deepEqual(
            Object.keys(projectConfig(variant)).sort(),
            Object.keys(projectConfig(stackText)).sort(),
            "only the clusters list is swapped",
        );
    });

    it("marks every apiServer line for scripts/kind-up.sh, with a placeholder that is not loopback", () => {
        const apiLines = stackText.split("\n").filter((l) => /^[\s#]*apiServer:/.test(l));
        assert.equal(apiLines.length, 4, "two clusters, active list and variant");
        for (const line of apiLines) {
            const m = /apiServer: (\S+) # kind-up: (cluster[12])$/.exec(line);
            assert.ok(m, `marker missing on: ${line}`);
            const url = new URL(m[1]);
            assert.equal(url.protocol, "https:");
            assert.notEqual(url.hostname, "127.0.0.1");
        }
    });
});
