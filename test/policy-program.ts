/**
 * The program's own graph for the policy pack: run `IstioMulticlusterMesh` for a config under the
 * mock harness and put every registration through the pack's resource and stack policies.
 */
import { MeshConfig } from "../components/config/config";
import { IstioMulticlusterMesh, MeshClusterAccess } from "../components/mesh/mesh";
import { buildMeshPlan } from "../components/plan/mesh-plan";
import { policies } from "../policies/rules";
import { MockOptions, runUnderMocks } from "./harness";
import { Diagnostic, FakeResource, analyzeEach, analyzeStack, fromRecorded } from "./policy-driver";

/** A placeholder kubeconfig and API server per cluster (nothing is read or dialled under mocks). */
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

/** Every resource the program registers for `config`, as the policy driver takes them. */
export async function recordProgram(
    config: MeshConfig,
    preview: boolean,
    options: Omit<MockOptions, "preview"> = {},
): Promise<FakeResource[]> {
    const { resources } = await runUnderMocks(
        () => new IstioMulticlusterMesh("mesh", { config, plan: buildMeshPlan(config), access: access(config) }),
        { ...options, preview },
    );
    return fromRecorded(resources);
}

/** The pack's resource and stack diagnostics for a stack. */
export async function diagnose(stack: FakeResource[]): Promise<Diagnostic[]> {
    return [...(await analyzeEach(stack, policies)), ...(await analyzeStack(stack, policies))];
}
