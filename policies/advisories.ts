/**
 * Advisory rules: what is allowed but worth a second look (NodePort gateways in production, a mesh
 * deployed without its post-deploy verification).
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { COMMAND_TYPE, clusterLabel, knobSchema, knobs, toInput } from "./common";
import { buildMeshGraph, isEastWestGatewayRelease, toStackNodes } from "./graph";
import { HELM_RELEASE_TYPE, helmRelease, stringAt } from "./inspect";
// ---------------------------------------------------------------------------------------------
// 8. Advisories
// ---------------------------------------------------------------------------------------------

export const nodePortInProduction: ResourceValidationPolicy = {
    name: "nodeport-gateway-in-production",
    description:
        "Production stacks expose east-west gateways through a LoadBalancer: a NodePort gateway depends on node " +
        "addresses that change with the node pool.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: 'Use clusters[].eastWestGateway.serviceType "LoadBalancer" in production stacks.',
    configSchema: knobSchema("nodeport-gateway-in-production", {
        tagName: { description: "Stack tag that names the environment." },
        productionValues: { description: "Values of that tag that mean production." },
    }),
    validateResource: (args, report) => {
        if (args.type !== HELM_RELEASE_TYPE) return;
        const cfg = knobs("nodeport-gateway-in-production", args);
        const environment = args.stackTags?.get(cfg.tagName);
        if (environment === undefined || !cfg.productionValues.includes(environment)) return;
        const r = toInput(args);
        const release = helmRelease(r.props, r.name);
        if (!isEastWestGatewayRelease(release)) return;
        if (stringAt(release.values, "service", "type") === "NodePort") {
            report(
                `east-west gateway ${r.name} in ${clusterLabel(r)} is a NodePort Service in a ${environment} stack.`,
            );
        }
    },
};

/** Type token prefix of the program's verification components. */
export const VERIFY_COMPONENT_PREFIX = "istio-multicluster:verify:";
/** Pulumi name suffix of the verification's probe commands (`<cluster>-verify-probe`). */
export const VERIFY_PROBE_SUFFIX = "-verify-probe";

export const verificationEnabled: StackValidationPolicy = {
    name: "verification-enabled",
    description:
        "The stack runs the post-deploy cross-cluster check (config verify: true), so `pulumi up` fails when " +
        "traffic does not actually cross clusters.",
    enforcementLevel: "advisory",
    severity: "low",
    remediationSteps: "pulumi config set verify true",
    validateStack: (args, report) => {
        const nodes = toStackNodes(args.resources);
        const istiods = buildMeshGraph(nodes).istiods;
        if (istiods.length === 0) return;
        // Signal: the verification component, or one of its probe commands (matched by parentage, or by
        // the `<cluster>-verify-probe` name should the engine not list components). They exist only
        // when verify is on, whatever verification.namespace is set to.
        const verifies = args.resources.some(
            (r) =>
                r.type.startsWith(VERIFY_COMPONENT_PREFIX) ||
                (r.type === COMMAND_TYPE &&
                    (r.name.endsWith(VERIFY_PROBE_SUFFIX) ||
                        ancestorTypes(r.parent).some((t) => t.startsWith(VERIFY_COMPONENT_PREFIX)))),
        );
        if (!verifies) {
            report(
                `The stack deploys ${istiods.length} istiod release(s) but no cross-cluster verification ` +
                    "(no istio-multicluster:verify:* component).",
            );
        }
    },
};

function ancestorTypes(parent: { type: string; parent?: unknown } | undefined): string[] {
    const out: string[] = [];
    let p = parent as { type: string; parent?: unknown } | undefined;
    for (let depth = 0; p && depth < 64; depth++) {
        out.push(p.type);
        p = p.parent as { type: string; parent?: unknown } | undefined;
    }
    return out;
}
