/**
 * Rules of the Istio installs as a whole: istiod releases that agree across clusters, east-west
 * gateways where networks meet, and a serving primary, reachable at its gateway, for every remote.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { knobSchema, knobs } from "./common";
import {
    IstiodRelease,
    MeshGraph,
    StackNode,
    buildMeshGraph,
    controlPlaneClustersOn,
    crossNetworkGatewayOn,
    gatewayAddresses,
    istiodGatewayOn,
    istiodVirtualServiceOn,
    remoteSecretKeysOn,
    toStackNodes,
    where,
} from "./graph";
import { UNKNOWN, Unknown, at, isUnknown } from "./inspect";
// ---------------------------------------------------------------------------------------------
// 5. istiod releases agree
// ---------------------------------------------------------------------------------------------

/** A pinned chart version: `1.30.3`, `v1.30.3`, `1.31.0-rc.0`; not a range, not empty. */
export function isPinnedVersion(v: string): boolean {
    return /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v.trim());
}

function listed(pairs: { cluster: string; value: string }[]): string {
    return pairs.map((p) => `${p.cluster}=${p.value}`).join(", ");
}

function nodeCluster(n: StackNode): string {
    return n.cluster ?? n.providerName ?? n.name;
}

export const istiodConsistent: StackValidationPolicy = {
    name: "istiod-releases-consistent",
    description:
        "The Istio Helm releases of the stack agree: one pinned chart version, one global.meshID and one trust " +
        "domain, and a unique global.multiCluster.clusterName per istiod (it is the cluster ID in remote secrets).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set istioVersion, meshId and trustDomain once for the stack; never override them per cluster through values.",
    configSchema: knobSchema("istiod-releases-consistent", {
        chartsWithSameVersion: { description: "Charts whose releases must all use one version (and pin it)." },
        requireClusterNameMatchesProvider: {
            description: "global.multiCluster.clusterName must equal the cluster of the provider (<cluster>-k8s).",
        },
    }),
    validateStack: (args, report) => {
        const cfg = knobs("istiod-releases-consistent", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));

        const versioned = graph.releases.filter(
            (r) => typeof r.release.chart === "string" && cfg.chartsWithSameVersion.includes(r.release.chart),
        );
        const versions: { cluster: string; value: string }[] = [];
        for (const r of versioned) {
            const v = r.release.version;
            if (isUnknown(v)) continue;
            const chart = String(r.release.chart);
            const label = `${chart} release ${r.node.name} in ${where(r.node)}`;
            if (v === undefined || v.trim() === "") {
                report(`${label} does not pin a chart version (it would install whatever is newest).`, r.node.urn);
            } else if (!isPinnedVersion(v)) {
                report(`${label} uses version "${v}", which is not one exact version.`, r.node.urn);
            } else {
                versions.push({ cluster: `${nodeCluster(r.node)}/${chart}`, value: v.replace(/^v/, "") });
            }
        }
        if (new Set(versions.map((v) => v.value)).size > 1) {
            // Revisions side by side run different versions on purpose; then only their skew is bounded.
            const spread = revisionedMesh(graph) ? minorSpread(versions.map((v) => v.value)) : undefined;
            if (spread === undefined) report(`Istio charts use different versions: ${listed(versions)}.`);
            else if (spread > MAX_REVISION_MINOR_SKEW) {
                report(
                    `Istio charts span ${spread} minor versions (${listed(versions)}); revisions side by side are ` +
                        `supported at most ${MAX_REVISION_MINOR_SKEW} minor versions apart.`,
                );
            }
        }

        const meshIds: { cluster: string; value: string }[] = [];
        const trustDomains: { cluster: string; value: string }[] = [];
        const names = new Map<string, IstiodRelease[]>();
        for (const i of graph.istiods) {
            const label = `istiod release ${i.node.name} in ${where(i.node)}`;
            if (i.remote === false && (i.meshID === undefined || i.meshID === "")) {
                report(`${label} sets no global.meshID.`, i.node.urn);
            }
            if (typeof i.meshID === "string" && i.meshID !== "") {
                meshIds.push({ cluster: nodeCluster(i.node), value: i.meshID });
            }
            if (typeof i.trustDomain === "string" && i.trustDomain !== "") {
                trustDomains.push({ cluster: nodeCluster(i.node), value: i.trustDomain });
            }
            if (isUnknown(i.clusterName)) continue;
            if (i.clusterName === undefined || i.clusterName === "") {
                report(
                    `${label} sets no global.multiCluster.clusterName (istiod would call itself "Kubernetes").`,
                    i.node.urn,
                );
                continue;
            }
            names.set(i.clusterName, [...(names.get(i.clusterName) ?? []), i]);
            if (cfg.requireClusterNameMatchesProvider && i.node.cluster && i.node.cluster !== i.clusterName) {
                report(
                    `${label} names itself ${i.clusterName}, but its provider ${i.node.providerName} is cluster ` +
                        `${i.node.cluster}.`,
                    i.node.urn,
                );
            }
        }
        if (new Set(meshIds.map((m) => m.value)).size > 1) {
            report(`istiod releases use different global.meshID values: ${listed(meshIds)}.`);
        }
        if (new Set(trustDomains.map((m) => m.value)).size > 1) {
            report(`istiod releases use different meshConfig.trustDomain values: ${listed(trustDomains)}.`);
        }
        for (const [name, releases] of names) {
            if (releases.length > 1 && !distinctRevisionsInOneCluster(releases)) {
                report(
                    `global.multiCluster.clusterName ${name} is used by ${releases.length} istiod releases ` +
                        `(${releases.map((r) => `${r.node.name} in ${where(r.node)}`).join("; ")}).`,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 5b. Revisions side by side
// ---------------------------------------------------------------------------------------------

/**
 * Revisions may be at most two minor versions apart: Istio's canary upgrade guide (istio.io
 * docs/setup/upgrade/canary) supports revision-based upgrades across two minor versions.
 */
export const MAX_REVISION_MINOR_SKEW = 2;

/** The istiod chart's `revision` (or `pilot.revision`); "" for the unnamed revision. */
export function revisionOf(values: Record<string, unknown> | Unknown): string | Unknown {
    if (isUnknown(values)) return UNKNOWN;
    for (const v of [at(values, "revision"), at(values, "pilot", "revision")]) {
        if (isUnknown(v)) return UNKNOWN;
        if (typeof v === "string" && v !== "") return v;
    }
    return "";
}

/** The tags whose webhooks a release renders: its `revisionTags`, and `default` for the unnamed revision. */
export function tagsOf(values: Record<string, unknown> | Unknown): string[] | Unknown {
    const revision = revisionOf(values);
    if (isUnknown(values) || isUnknown(revision)) return UNKNOWN;
    const raw = at(values, "revisionTags") ?? at(values, "pilot", "revisionTags");
    if (isUnknown(raw)) return UNKNOWN;
    const tags = Array.isArray(raw) ? raw.filter((t): t is string => typeof t === "string") : [];
    return revision === "" ? ["default", ...tags] : tags;
}

function revisionedMesh(graph: MeshGraph): boolean {
    return graph.istiods.some((i) => {
        const r = revisionOf(i.release.values);
        return typeof r === "string" && r !== "";
    });
}

/** Minor versions between the oldest and the newest (undefined across majors: never allowed). */
function minorSpread(versions: string[]): number | undefined {
    const parsed = versions.map((v) => v.split(".").map(Number));
    if (new Set(parsed.map((p) => p[0])).size > 1) return Number.POSITIVE_INFINITY;
    const minors = parsed.map((p) => p[1]);
    return Math.max(...minors) - Math.min(...minors);
}

/** Several istiods of one cluster name are fine when they are different revisions in one cluster. */
function distinctRevisionsInOneCluster(releases: IstiodRelease[]): boolean {
    const providers = new Set(releases.map((r) => r.node.providerUrn ?? r.node.urn));
    const revisions = releases.map((r) => revisionOf(r.release.values));
    return providers.size === 1 && !revisions.some(isUnknown) && new Set(revisions).size === releases.length;
}

export const revisionsPerCluster: StackValidationPolicy = {
    name: "istio-revisions",
    description:
        "Per cluster one istiod release per revision, every revision tag (and the default injector) rendered by " +
        "exactly one release, and istio-base at least as new as every istiod beside it (its CRDs only move forward).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Configure revisions, revisionTags and defaultRevision in the stack config instead of setting revision or " +
        "revisionTags through values; the program gives each tag to one release and base the newest version.",
    validateStack: (args, report) => {
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const byProvider = new Map<string, IstiodRelease[]>();
        for (const i of graph.istiods) {
            const key = i.node.providerUrn ?? i.node.urn;
            byProvider.set(key, [...(byProvider.get(key) ?? []), i]);
        }
        for (const [provider, istiods] of byProvider) {
            const label = where(istiods[0].node);
            const owners = new Map<string, string[]>();
            const revisions = new Map<string, string[]>();
            for (const i of istiods) {
                const revision = revisionOf(i.release.values);
                const tags = tagsOf(i.release.values);
                if (!isUnknown(revision)) revisions.set(revision, [...(revisions.get(revision) ?? []), i.node.name]);
                if (!isUnknown(tags)) for (const t of tags) owners.set(t, [...(owners.get(t) ?? []), i.node.name]);
            }
            for (const [revision, names] of revisions) {
                if (names.length > 1 && revisionedMesh(graph)) {
                    report(
                        `${label} has ${names.length} istiod releases of revision "${revision || "default"}" (${names.join(", ")}).`,
                    );
                }
            }
            for (const [tag, names] of owners) {
                if (names.length > 1) report(`revision tag ${tag} in ${label} is rendered by ${names.join(" and ")}.`);
            }
            baseVersionProblems(graph, provider, istiods, label).forEach((m) => report(m));
        }
    },
};

/** istio-base must not be older than an istiod of the same cluster. */
function baseVersionProblems(graph: MeshGraph, provider: string, istiods: IstiodRelease[], label: string): string[] {
    const base = graph.releases.find(
        (r) => r.release.chart === "base" && (r.node.providerUrn ?? r.node.urn) === provider,
    );
    const baseVersion = base?.release.version;
    if (typeof baseVersion !== "string" || !isPinnedVersion(baseVersion)) return [];
    const older = (a: string, b: string) => {
        const [x, y] = [a, b].map((v) => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map(Number));
        return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    };
    return istiods.flatMap((i) => {
        const v = i.release.version;
        return typeof v === "string" && isPinnedVersion(v) && older(baseVersion, v) < 0
            ? [`istio-base ${baseVersion} in ${label} is older than istiod release ${i.node.name} (${v}).`]
            : [];
    });
}

// ---------------------------------------------------------------------------------------------
// 9. Mesh topology
// ---------------------------------------------------------------------------------------------

export const multiNetworkGateways: StackValidationPolicy = {
    name: "multi-network-gateways",
    description:
        "In a multi-network mesh every primary has an east-west gateway for its network and the " +
        "cross-network-gateway Gateway, and every network has an east-west gateway; otherwise traffic to its pods " +
        "has no way in.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Keep the program's defaults: every cluster of a multi-network mesh gets istio-eastwestgateway and every " +
        "primary cross-network-gateway.",
    validateStack: (args, report) => {
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const networks = new Set<string>();
        for (const i of graph.istiods) if (typeof i.network === "string" && i.network !== "") networks.add(i.network);
        if (networks.size < 2) return;
        const shown = [...networks].sort().join(", ");
        for (const i of graph.istiods) {
            const label = `istiod ${i.node.name} in ${where(i.node)}`;
            if (i.network === undefined || i.network === "") {
                report(`${label} sets no global.network in a multi-network mesh (${shown}).`, i.node.urn);
            }
            if (i.remote !== false) continue;
            const gws = graph.gateways.filter((g) => g.node.providerUrn && g.node.providerUrn === i.node.providerUrn);
            if (gws.length === 0) {
                report(
                    `primary ${label} has no east-west gateway release in a multi-network mesh (${shown}).`,
                    i.node.urn,
                );
            } else if (
                typeof i.network === "string" &&
                !gws.some((g) => isUnknown(g.network) || g.network === i.network)
            ) {
                report(
                    `primary ${label} is on network ${i.network}, but its east-west gateway serves ` +
                        `${gws.map((g) => String(g.network ?? "no network")).join(", ")}.`,
                    i.node.urn,
                );
            }
            const cng = crossNetworkGatewayOn(graph, i.node.providerUrn);
            if (cng === undefined) {
                report(`primary ${label} has no cross-network-gateway Gateway (expose-services).`, i.node.urn);
            }
        }
        if (graph.gateways.some((g) => isUnknown(g.network))) return;
        for (const net of networks) {
            if (!graph.gateways.some((g) => g.network === net)) {
                report(`network ${net} has no east-west gateway: no other network can reach its pods.`);
            }
        }
    },
};

function servingPrimaries(graph: MeshGraph, remote: IstiodRelease): IstiodRelease[] | Unknown {
    const primaries = graph.istiods.filter((i) => i.remote === false);
    const named = controlPlaneClustersOn(graph, remote.node.providerUrn);
    if (isUnknown(named)) return UNKNOWN;
    if (named && named.length > 0 && !named.includes("*")) {
        return primaries.filter((p) => typeof p.clusterName === "string" && named.includes(p.clusterName));
    }
    const address = remote.remotePilotAddress;
    if (typeof address === "string" && address !== "") {
        const matching = primaries.filter((p) => gatewayAddresses(graph, p).known.has(address));
        if (matching.length > 0) return matching;
    }
    if (primaries.length === 1) return primaries;
    return isUnknown(address) ? UNKNOWN : [];
}

export const remotesHaveServingPrimary: StackValidationPolicy = {
    name: "remotes-have-serving-primary",
    description:
        "Every remote cluster (istiod profile remote) has a serving primary in the stack that exposes istiod " +
        "(istiod-gateway Gateway and istiod-vs VirtualService behind an east-west gateway), runs with " +
        "externalIstiod, holds the remote's secret, and whose gateway address is the remote's remotePilotAddress.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Give the remote a primary (clusters[].controlPlane); keep the program's exposure objects; point " +
        "remotePilotAddress at the primary's east-west gateway address.",
    configSchema: knobSchema("remotes-have-serving-primary", {
        requireAddressMatch: {
            description:
                "remotePilotAddress must be one of the primary's known gateway addresses (when any is known). " +
                "Turn off when a NAT address fronts the gateway.",
        },
    }),
    validateStack: (args, report) => {
        const cfg = knobs("remotes-have-serving-primary", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));
        for (const remote of graph.istiods) {
            if (remote.remote !== true) continue;
            const name = typeof remote.clusterName === "string" ? remote.clusterName : nodeCluster(remote.node);
            const label = `remote ${name} (istiod ${remote.node.name})`;
            if (remote.remotePilotAddress === undefined || remote.remotePilotAddress === "") {
                report(
                    `${label} sets no global.remotePilotAddress: its proxies have no control plane.`,
                    remote.node.urn,
                );
            }
            const serving = servingPrimaries(graph, remote);
            if (isUnknown(serving)) continue;
            if (serving.length === 0) {
                report(`${label} has no serving primary in this stack.`, remote.node.urn);
                continue;
            }
            for (const p of serving) {
                const pLabel = `primary ${typeof p.clusterName === "string" ? p.clusterName : nodeCluster(p.node)}`;
                if (istiodGatewayOn(graph, p.node.providerUrn) === undefined) {
                    report(`${pLabel} serves ${label} but has no istiod-gateway Gateway (expose-istiod).`, p.node.urn);
                }
                if (istiodVirtualServiceOn(graph, p.node.providerUrn) === undefined) {
                    report(
                        `${pLabel} serves ${label} but has no istiod-vs VirtualService (expose-istiod).`,
                        p.node.urn,
                    );
                }
                if (!graph.gateways.some((g) => g.node.providerUrn && g.node.providerUrn === p.node.providerUrn)) {
                    report(`${pLabel} serves ${label} but has no east-west gateway to expose istiod.`, p.node.urn);
                }
                if (p.externalIstiod === false) {
                    report(
                        `${pLabel} serves ${label} but its istiod does not set global.externalIstiod, so it never ` +
                            "patches the remote's webhooks or writes its istio-ca-root-cert ConfigMaps.",
                        p.node.urn,
                    );
                }
                const keys = remoteSecretKeysOn(graph, p.node.providerUrn);
                if (!isUnknown(keys) && typeof remote.clusterName === "string" && !keys.has(remote.clusterName)) {
                    report(`${pLabel} holds no remote secret for ${label}.`, p.node.urn);
                }
                const address = remote.remotePilotAddress;
                if (cfg.requireAddressMatch && typeof address === "string" && address !== "") {
                    const addresses = gatewayAddresses(graph, p);
                    if (addresses.known.size > 0 && !addresses.known.has(address) && !addresses.unknown) {
                        report(
                            `${label} points remotePilotAddress at ${address}, but ${pLabel}'s east-west gateway is ` +
                                `at ${[...addresses.known].join(", ")}.`,
                            remote.node.urn,
                        );
                    }
                }
            }
        }
    },
};
