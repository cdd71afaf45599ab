/**
 * Rules of the remote secrets: token credentials only (never a client key or the holder's own
 * cluster), and every primary watching exactly the clusters of the mesh.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { knobSchema, knobs, secretLabel, toInput } from "./common";
import { LABEL_MULTICLUSTER_SECRET, StackNode, buildMeshGraph, remoteSecretKeysOn, toStackNodes, where } from "./graph";
import { SECRET_TYPE, isUnknown, kubeconfigProblems, objectName, recordAt, secretEntries } from "./inspect";
// ---------------------------------------------------------------------------------------------
// 6. Remote secrets: token credentials, never the holder itself
// ---------------------------------------------------------------------------------------------

function isRemoteSecretProps(props: Record<string, unknown>): boolean {
    const labels = recordAt(props, "metadata", "labels");
    return !isUnknown(labels) && labels !== undefined && labels[LABEL_MULTICLUSTER_SECRET] === "true";
}

export const remoteSecretCredentials: ResourceValidationPolicy = {
    name: "remote-secret-credentials",
    description:
        'Remote secrets (label istio/multiCluster: "true") never describe the cluster that holds them, and each ' +
        "kubeconfig authenticates with the reader service account's bearer token only (no client certificate, " +
        "exec or auth-provider credentials of an operator), against a reachable server with TLS verified.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Let the program build remote secrets from each source cluster's istio-reader-service-account token; " +
        "set clusters[].apiServer to an address reachable from the other clusters.",
    configSchema: knobSchema("remote-secret-credentials", {
        forbiddenUserFields: { description: "kubeconfig user fields that must not appear." },
        allowLoopbackServer: {
            description: "Accept server URLs on 127.0.0.1/localhost (never reachable from another cluster).",
        },
        allowInsecureSkipTlsVerify: { description: "Accept insecure-skip-tls-verify: true." },
    }),
    validateResource: (args, report) => {
        if (args.type !== SECRET_TYPE) return;
        const r = toInput(args);
        if (!isRemoteSecretProps(r.props)) return;
        const cfg = knobs("remote-secret-credentials", args);
        const entries = secretEntries(r.props);
        if (isUnknown(entries)) return;
        for (const [key, value] of entries) {
            if (r.cluster !== undefined && key === r.cluster) {
                report(
                    `${secretLabel(r)} holds a kubeconfig for ${key}, the holding cluster itself (istiod ignores it; ` +
                        "it is a copy of that cluster's credentials for nothing).",
                );
            }
            if (isUnknown(value)) continue;
            for (const p of kubeconfigProblems(value, cfg)) report(`${secretLabel(r)}, key ${key}: kubeconfig ${p}.`);
        }
    },
};

export const remoteSecretsMatchClusters: StackValidationPolicy = {
    name: "remote-secrets-match-clusters",
    description:
        "Every remote-secret key is the global.multiCluster.clusterName of an istiod release of the stack, appears " +
        "once per holder, is never the holder's own cluster ID, and every primary watches every other cluster.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Key remote secrets by cluster name (clusters[].name), one per source and holder; let every primary hold " +
        "one for each other cluster.",
    configSchema: knobSchema("remote-secrets-match-clusters", {
        externalClusters: { description: "Cluster IDs outside this stack that remote secrets may name." },
        requireEveryPrimaryWatchesAll: {
            description: "Every primary must hold a remote secret for every other istiod cluster of the stack.",
        },
    }),
    validateStack: (args, report) => {
        const cfg = knobs("remote-secrets-match-clusters", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const clusterNames = new Set<string>();
        let namesComplete = true;
        for (const i of graph.istiods) {
            if (typeof i.clusterName === "string") clusterNames.add(i.clusterName);
            else namesComplete = false;
        }
        const seenPerHolder = new Map<string, Map<string, StackNode>>();
        for (const s of graph.remoteSecrets) {
            const entries = secretEntries(s.props);
            if (isUnknown(entries)) continue;
            const holderKey = s.providerUrn ?? "";
            const holderIstiod = graph.istiods.find((i) => i.node.providerUrn && i.node.providerUrn === s.providerUrn);
            const seen = seenPerHolder.get(holderKey) ?? new Map<string, StackNode>();
            seenPerHolder.set(holderKey, seen);
            const name = objectName(s.props);
            const label = `remote secret ${typeof name === "string" ? name : s.name} in ${where(s)}`;
            for (const key of entries.keys()) {
                if (namesComplete && !clusterNames.has(key) && !cfg.externalClusters.includes(key)) {
                    report(
                        `${label} names cluster ${key}, which no istiod release of the stack uses as ` +
                            `global.multiCluster.clusterName (known: ${[...clusterNames].sort().join(", ") || "none"}).`,
                        s.urn,
                    );
                }
                if (
                    holderIstiod &&
                    typeof holderIstiod.clusterName === "string" &&
                    key === holderIstiod.clusterName &&
                    key !== s.cluster
                ) {
                    report(`${label} holds a kubeconfig for ${key}, the holder's own cluster ID.`, s.urn);
                }
                const first = seen.get(key);
                if (first) {
                    const firstName = objectName(first.props);
                    report(
                        `${label} repeats cluster ${key}, already in ${typeof firstName === "string" ? firstName : first.name}; ` +
                            "istiod ignores the second one.",
                        s.urn,
                    );
                } else {
                    seen.set(key, s);
                }
            }
        }
        if (!cfg.requireEveryPrimaryWatchesAll || !namesComplete) return;
        for (const p of graph.istiods) {
            if (p.remote !== false || typeof p.clusterName !== "string") continue;
            const keys = remoteSecretKeysOn(graph, p.node.providerUrn);
            if (isUnknown(keys)) continue;
            const missing = [...clusterNames].filter((c) => c !== p.clusterName && !keys.has(c)).sort();
            if (missing.length > 0) {
                report(
                    `primary ${p.clusterName} holds no remote secret for ${missing.join(", ")}: its istiod cannot see ` +
                        "their services and endpoints.",
                    p.node.urn,
                );
            }
        }
    },
};
