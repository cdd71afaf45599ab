/**
 * Rules about how the program talks to clusters: every Kubernetes resource goes through an
 * explicit per-cluster provider (never the default one), and no provider renders manifests to disk.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { KUBERNETES_COMPONENT_TYPES, knobSchema, knobs } from "./common";
import { PROVIDER_TYPE_K8S } from "./graph";
import { plainProps, stringAt } from "./inspect";
// ---------------------------------------------------------------------------------------------
// 1. Explicit, non-default Kubernetes provider
// ---------------------------------------------------------------------------------------------

/** True for the engine's default provider (`default` or `default_<version>`). */
export function isDefaultProvider(name: string | undefined, urn: string | undefined): boolean {
    if (name !== undefined && (name === "default" || name.startsWith("default_"))) return true;
    return urn !== undefined && /::pulumi:providers:kubernetes::default(_[^:]*)?$/.test(urn);
}

export const explicitProvider: ResourceValidationPolicy = {
    name: "kubernetes-explicit-provider",
    description:
        "Every Kubernetes resource names its cluster's provider explicitly; the default provider would act on " +
        "whatever cluster the ambient kubeconfig points at.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Pass `provider: <cluster provider>` to the resource (or `parent` a component that has it) and set " +
        '`pulumi:disable-default-providers: ["kubernetes"]` in the stack config.',
    configSchema: knobSchema("kubernetes-explicit-provider", {
        providerNamePattern: {
            description:
                "Regular expression the provider's Pulumi name must match (the program names them <cluster>-k8s). Empty: any name.",
        },
    }),
    validateResource: (args, report) => {
        if (!args.type.startsWith("kubernetes:")) return;
        const cfg = knobs("kubernetes-explicit-provider", args);
        const provider = args.provider;
        if (!provider) {
            if (KUBERNETES_COMPONENT_TYPES.includes(args.type)) return;
            report(`${args.type} ${args.name} has no provider reference.`);
            return;
        }
        if (isDefaultProvider(provider.name, provider.urn)) {
            report(
                `${args.type} ${args.name} uses the default Kubernetes provider (${provider.urn}), i.e. the ambient ` +
                    "kubeconfig's current context, not a cluster of the mesh.",
            );
            return;
        }
        if (cfg.providerNamePattern && !new RegExp(cfg.providerNamePattern).test(provider.name)) {
            report(
                `${args.type} ${args.name} uses provider ${provider.name}, whose name does not match ` +
                    `${cfg.providerNamePattern}; the stack policies derive the cluster from <cluster>-k8s.`,
            );
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 2. No plaintext rendering of manifests
// ---------------------------------------------------------------------------------------------

export const providerNoRenderToDisk: ResourceValidationPolicy = {
    name: "kubernetes-provider-no-yaml-render",
    description:
        "No Kubernetes provider renders manifests to a directory: that mode writes every Secret (cacerts keys, " +
        "remote-secret tokens) to disk in plain text and deploys nothing.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Remove `renderYamlToDirectory` from the provider arguments.",
    validateResource: (args, report) => {
        if (args.type !== PROVIDER_TYPE_K8S) return;
        const dir = stringAt(plainProps(args.props), "renderYamlToDirectory");
        if (typeof dir === "string" && dir !== "") {
            report(`provider ${args.name} renders YAML to ${dir}.`);
        }
    },
};
