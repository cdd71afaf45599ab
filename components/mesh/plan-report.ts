/**
 * The mesh plan as people and machines read it: resource counts, the `npm run plan` text report
 * and its JSON form. Pure functions of the plan and the validated config.
 */
import { EastWestGatewayConfig, MeshConfig } from "../config/config";
import { advertisedGatewayPort, ClusterPlan, MeshPlan, PlannedRoot } from "../plan/mesh-plan";
import { remoteSecretLayoutAdvice } from "../remote-secrets/remote-secrets-manifest";

/** Estimated Pulumi resources the program registers for one cluster (components not counted). */
export interface ClusterResourceCounts {
    cluster: string;
    /** The cluster's Kubernetes provider (`<cluster>-k8s`). */
    provider: number;
    /** `istio-system` namespace. */
    namespace: number;
    /** `cacerts` Secret (clusters running istiod). */
    cacerts: number;
    /** Helm releases: istio-base, istiod, and istio-eastwestgateway where planned. */
    helmReleases: number;
    /** Istio config objects: cross-network-gateway; istiod-gateway and istiod-vs. */
    istioConfigObjects: number;
    /**
     * Reader credential objects (clusters some primary watches): the shared token Secret, or with
     * `remoteSecrets.readerAccounts: perHolder` an account, a binding and a token Secret per
     * primary watching the cluster. With `tokenMode: tokenRequest` each token is two: the anchor
     * Secret and the minted token bound to it.
     */
    readerToken: number;
    /** Remote secrets held (per source or one per holder, by `remoteSecrets.layout`). */
    remoteSecrets: number;
    total: number;
}

export interface PlanResourceCounts {
    clusters: ClusterResourceCounts[];
    /** `tls:` resources: root key + self-signed cert (generate mode), 3 per intermediate. */
    pki: { root: number; intermediates: number; total: number };
    total: number;
}

/** ServiceAccount and ClusterRoleBinding of one per-holder reader account (its token comes on top). */
const ACCOUNT_OBJECTS_PER_HOLDER = 2;

/** A legacy token is one Secret; a `tokenRequest` token is its anchor Secret and the minted token. */
function readerCredentialObjects(
    c: ClusterPlan,
    settings: Partial<Pick<MeshConfig["remoteSecrets"], "readerAccounts" | "tokenMode">>,
): number {
    if (!c.readerTokenSecret) return 0;
    const perToken = settings.tokenMode === "tokenRequest" ? 2 : 1;
    return settings.readerAccounts === "perHolder"
        ? (ACCOUNT_OBJECTS_PER_HOLDER + perToken) * c.watchedBy.length
        : perToken;
}

/** Counts what the plan makes, per cluster and for the PKI. An estimate of `pulumi up`'s resources. */
export function countPlanResources(
    plan: MeshPlan,
    config: {
        ca: Pick<MeshConfig["ca"], "mode">;
        remoteSecrets: Pick<MeshConfig["remoteSecrets"], "layout"> &
            Partial<Pick<MeshConfig["remoteSecrets"], "readerAccounts" | "tokenMode">>;
    },
): PlanResourceCounts {
    const clusters = plan.clusters.map((c): ClusterResourceCounts => {
        const counts = {
            provider: 1,
            namespace: 1,
            cacerts: c.runsIstiod && c.root?.source !== "existing" ? 1 : 0,
            // With revisions: istio-base plus one istiod release and (exposed) one istiod-vs per revision.
            helmReleases: 1 + (c.revisions?.revisions.length ?? 1) + (c.eastWestGateway ? 1 : 0),
            istioConfigObjects:
                (c.crossNetworkGateway ? 1 : 0) + (c.exposeIstiod ? 1 + (c.revisions?.revisions.length ?? 1) : 0),
            readerToken: readerCredentialObjects(c, config.remoteSecrets),
            remoteSecrets:
                config.remoteSecrets.layout === "perHolder"
                    ? Math.min(1, c.remoteSecretSources.length)
                    : c.remoteSecretSources.length,
        };
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        return { cluster: c.name, ...counts, total };
    });
    const primaries = plan.clusters.filter((c) => c.runsIstiod);
    // A federated mesh generates a root per primary that asks for one; an existing CA gets nothing.
    const root =
        plan.trustModel === "federated"
            ? 2 * primaries.filter((c) => c.root?.source === "generate").length
            : config.ca.mode === "generate"
              ? 2
              : 0;
    const intermediates = 3 * primaries.filter((c) => c.root?.source !== "existing").length;
    const pki = { root, intermediates, total: root + intermediates };
    return { clusters, pki, total: pki.total + clusters.reduce((a, c) => a + c.total, 0) };
}

/** The `Root CA:` line: how the root is made, or that every primary has its own. */
function rootCaSummary(config: MeshConfig): string {
    const key = config.ca.keyAlgorithm === "RSA" ? `RSA ${config.ca.rsaBits}` : `ECDSA ${config.ca.ecdsaCurve}`;
    if (config.ca.mode === "federated")
        return `federated, a root per primary (generated ones ${key}, ${config.ca.validityDays} days)`;
    return config.ca.mode === "generate" ? `generated (${key}, ${config.ca.validityDays} days)` : "imported";
}

/** How `npm run plan` and the diagram name where a primary's root comes from. */
export const ROOT_SOURCE_TEXT: Record<PlannedRoot["source"], string> = {
    shared: "shared",
    generate: "generated",
    import: "imported",
    existing: "existing CA, left alone",
};

/** In a federated mesh: which root each primary uses and whose roots it trusts. */
export function federatedTrustLines(plan: MeshPlan): string[] {
    if (plan.trustModel !== "federated") return [];
    return plan.clusters.flatMap((c) =>
        c.root
            ? [
                  `  ${c.name}: root ${c.root.name} (${ROOT_SOURCE_TEXT[c.root.source]}); trusts ` +
                      (c.root.trustsRootsOf.length
                          ? `the roots of ${c.root.trustsRootsOf.join(", ")}`
                          : "no other root"),
              ]
            : [],
    );
}

/** How the east-west gateway of a cluster is exposed, in one line (`-` when it has none). */
export function describeGatewayExposure(c: Pick<ClusterPlan, "eastWestGateway">): string {
    const gw = c.eastWestGateway;
    if (!gw) return "-";
    return `${describeExposure(gw)} (${gw.purposes.join(", ")})`;
}

function describeExposure(gw: EastWestGatewayConfig): string {
    if (gw.serviceType === "NodePort") {
        const port = gw.nodePort ?? "auto";
        if (gw.address) return `NodePort ${gw.address}:${advertisedGatewayPort(gw)}`;
        const selector = Object.entries(gw.nodeSelector ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
        return `NodePort ExternalIPs of ${selector ? `nodes ${selector}` : "all nodes"}, port ${port}`;
    }
    if (gw.address) return `LoadBalancer, advertised ${gw.address}`;
    if (gw.loadBalancerIP) return `LoadBalancer ${gw.loadBalancerIP}`;
    return "LoadBalancer, address from the Service";
}

/** Where the program will take each cluster's credentials from, without reading anything. */
export interface AccessSummary {
    kubeconfig: string;
    context: string;
    apiServer: string;
}

/**
 * Access as configured. `secretKubeconfigClusters` are the clusters with content in the
 * `kubeconfigs` secret config (their file settings do not apply).
 */
export function describeAccess(c: ClusterPlan, secretKubeconfigClusters: readonly string[] = []): AccessSummary {
    const cfg = c.config;
    return {
        kubeconfig: secretKubeconfigClusters.includes(c.name)
            ? `(secret kubeconfigs.${c.name})`
            : (cfg.kubeconfig ?? "($KUBECONFIG or ~/.kube/config)"),
        context: cfg.context ?? "(current-context)",
        apiServer: cfg.apiServer ?? "(from kubeconfig)",
    };
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: readonly string[]) =>
        cells
            .map((cell, i) => cell.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export interface ReportOptions {
    /** Where the config came from (file path), shown in the header. */
    source?: string;
    /** Clusters whose kubeconfig comes from the `kubeconfigs` secret. */
    secretKubeconfigClusters?: readonly string[];
    /** ESC environments the stack imports (their values are not part of this plan). */
    environments?: readonly string[];
}

/** The human-readable plan printed by `npm run plan`. */
export function formatPlanReport(plan: MeshPlan, config: MeshConfig, options: ReportOptions = {}): string {
    const counts = countPlanResources(plan, config);
    const networkCount = Object.keys(plan.networks).length;
    const out: string[] = [];
    if (options.source) out.push(`Plan for ${options.source}`);
    if (options.environments?.length) {
        out.push(`Note: values from ESC environments (${options.environments.join(", ")}) are not included.`);
    }
    out.push(
        `Model:        ${plan.controlPlaneModel}, ${plan.networkModel} (${plan.clusters.length} cluster${plan.clusters.length === 1 ? "" : "s"}, ${networkCount} network${networkCount === 1 ? "" : "s"})`,
        `Mesh:         meshId ${config.meshId}, trust domain ${config.trustDomain}`,
        `Istio:        ${config.revisions ? "per revision (see Revisions)" : config.istioVersion} from ${config.chartRepository}${config.revision ? `, revision ${config.revision}` : ""}`,
        `Root CA:      ${rootCaSummary(config)}; intermediates ${config.intermediate.validityDays} days`,
        ...federatedTrustLines(plan),
        "",
        table(
            ["CLUSTER", "ROLE", "NETWORK", "CONTROL PLANE", "EAST-WEST GATEWAY", "REMOTE SECRETS HELD"],
            plan.clusters.map((c) => [
                c.name,
                c.role,
                c.network,
                c.runsIstiod ? "own istiod" : c.controlPlane,
                describeGatewayExposure(c),
                c.remoteSecretSources.length ? c.remoteSecretSources.join(", ") : "-",
            ]),
        ),
        "",
        "Networks:",
        ...Object.entries(plan.networks).map(([n, cs]) => `  ${n}: ${cs.join(", ")}`),
        "",
        table(
            ["CLUSTER", "KUBECONFIG", "CONTEXT", "API SERVER (as seen by other clusters)"],
            plan.clusters.map((c) => {
                const a = describeAccess(c, options.secretKubeconfigClusters);
                return [c.name, a.kubeconfig, a.context, a.apiServer];
            }),
        ),
        "",
        "Deployment waves:",
        ...plan.waves.map((w) => `  ${w.wave}. ${w.description}: ${w.clusters.join(", ")}`),
    );
    out.push(...revisionLines(plan));
    if (plan.meshNetworks) {
        out.push("", "meshNetworks (set identically on every primary):");
        for (const [network, entry] of Object.entries(plan.meshNetworks)) {
            const endpoints = entry.endpoints.map((e) => e.fromRegistry).join(", ");
            const gateways = entry.gateways.map((g) => `${g.address}:${g.port}`).join(", ") || "(discovered)";
            out.push(`  ${network}: endpoints from ${endpoints}; gateways ${gateways}`);
        }
    }
    out.push(
        "",
        "Resources (estimate; Pulumi components not counted):",
        table(
            [
                "CLUSTER",
                "PROVIDER",
                "NAMESPACE",
                "CACERTS",
                "RELEASES",
                "ISTIO OBJECTS",
                "READER TOKEN",
                "REMOTE SECRETS",
                "TOTAL",
            ],
            counts.clusters.map((c) =>
                [
                    c.cluster,
                    c.provider,
                    c.namespace,
                    c.cacerts,
                    c.helmReleases,
                    c.istioConfigObjects,
                    c.readerToken,
                    c.remoteSecrets,
                    c.total,
                ].map(String),
            ),
        ),
        `  PKI (tls): ${counts.pki.root} root + ${counts.pki.intermediates} intermediate = ${counts.pki.total}`,
        `  Total: ${counts.total}${config.verify ? " (plus the verification workloads: verify is on)" : ""}`,
    );
    out.push(...tokenRequestLines(config.remoteSecrets));
    const advice = remoteSecretLayoutAdvice(plan.remoteSecretPairs, config.remoteSecrets.layout);
    if (advice) out.push("", `Advice: ${advice}`);
    return out.join("\n");
}

/** With `tokenMode: tokenRequest`: how long the reader tokens live and when `pulumi up` re-mints them. */
function tokenRequestLines(settings: MeshConfig["remoteSecrets"]): string[] {
    if (settings.tokenMode !== "tokenRequest") return [];
    const accounts =
        settings.readerAccounts === "perHolder" ? "one per (watched cluster, primary)" : "one per watched cluster";
    return [
        "",
        `Reader tokens (tokenRequest, ${accounts}): valid ${settings.tokenTtlDays} days, re-minted by the first pulumi up ` +
            `from ${settings.renewBeforeDays} days before expiry; minted with kubectl on this machine.`,
    ];
}

/** With revisions: per cluster its revisions and versions, the default, tag → revision, base version. */
function revisionLines(plan: MeshPlan): string[] {
    if (!plan.clusters.some((c) => c.revisions)) return [];
    return [
        "",
        "Revisions (istiod-<name> per revision; istio-base at the newest version):",
        table(
            ["CLUSTER", "REVISIONS", "DEFAULT", "TAGS", "BASE"],
            plan.clusters.map((c) => {
                const r = c.revisions!;
                const tags = Object.entries(r.tags)
                    .filter(([t]) => t !== "default")
                    .map(([t, n]) => `${t}=${n}`);
                return [
                    c.name,
                    r.revisions.map((x) => `${x.name} (${x.version})`).join(", "),
                    r.defaultRevision,
                    tags.join(", ") || "-",
                    r.baseVersion,
                ];
            }),
        ),
    ];
}

/** The machine-readable plan printed by `npm run plan -- --json`. Contains no secret values. */
export function planToJson(plan: MeshPlan, config: MeshConfig, options: ReportOptions = {}): Record<string, unknown> {
    return {
        source: options.source,
        environments: options.environments ?? [],
        meshId: plan.meshId,
        trustDomain: config.trustDomain,
        istioVersion: config.istioVersion,
        chartRepository: config.chartRepository,
        revision: config.revision ?? "",
        model: { controlPlane: plan.controlPlaneModel, network: plan.networkModel },
        networks: plan.networks,
        clusters: plan.clusters.map((c) => ({
            name: c.name,
            role: c.role,
            network: c.network,
            controlPlane: c.controlPlane,
            runsIstiod: c.runsIstiod,
            servedRemotes: c.servedRemotes,
            eastWestGateway: c.eastWestGateway ?? null,
            eastWestGatewayExposure: describeGatewayExposure(c),
            crossNetworkGateway: c.crossNetworkGateway,
            exposeIstiod: c.exposeIstiod,
            externalIstiod: c.externalIstiod,
            readerTokenSecret: c.readerTokenSecret,
            remoteSecretSources: c.remoteSecretSources,
            watchedBy: c.watchedBy,
            access: describeAccess(c, options.secretKubeconfigClusters),
            ...(c.revisions ? { revisions: c.revisions } : {}),
        })),
        meshNetworks: plan.meshNetworks ?? null,
        remoteSecretPairs: plan.remoteSecretPairs,
        waves: plan.waves,
        resourceCounts: countPlanResources(plan, config),
        advice: [remoteSecretLayoutAdvice(plan.remoteSecretPairs, config.remoteSecrets.layout)].filter(Boolean),
    };
}
