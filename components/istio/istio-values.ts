/**
 * Helm values for Istio's official charts (`base`, `istiod`, `gateway`), derived from the plan.
 *
 * Pure functions only: the components hand these objects to `helm.v3.Release`, tests compare them
 * key by key, and every key was checked against the 1.30.3 charts with `helm template` (see the
 * comments naming the chart file each key comes from). Chart paths below are relative to Istio's
 * `manifests/charts/` directory.
 */
import { isIP } from "node:net";
import { ChartValuesOverrides, ConfigProblem, ConfigValidationError, MeshConfig } from "../config/config";
import { classifyChartRepository, parseVersion, versionLess } from "../config/config-validation";
import {
    advertisedGatewayPort,
    advertisedOnlyInMeshNetworks,
    ClusterPlan,
    CROSS_NETWORK_PORT,
    MeshPlan,
} from "../plan/mesh-plan";
import { RevisionPlan } from "../plan/revision-plan";
import { ANNOTATION_NODE_SELECTOR, EAST_WEST_GATEWAY, ISTIO_NAMESPACE, LABEL_NETWORK } from "../plan/naming";

/** A Helm values object (what `helm install -f values.yaml` would read). */
export type HelmValues = Record<string, unknown>;

/** The three charts the program installs, by the key used in `values` overrides. */
export type ChartKey = keyof ChartValuesOverrides;

/** Chart names in Istio's Helm repository (the `istiod` chart's source dir is `istio-control/istio-discovery`). */
export const CHART_NAMES: Record<ChartKey, string> = { base: "base", istiod: "istiod", gateway: "gateway" };

/** Ports of the east-west gateway Service, as `networkGateway` renders them (gateway/templates/service.yaml). */
export const NETWORK_GATEWAY_PORTS: readonly { name: string; port: number }[] = [
    { name: "status-port", port: 15021 },
    { name: "tls", port: CROSS_NETWORK_PORT },
    { name: "tls-istiod", port: 15012 },
    { name: "tls-webhook", port: 15017 },
];

/** Label value the gateway chart derives from `name` (trimPrefix "istio-", gateway/templates/_helpers.tpl). */
export const EAST_WEST_GATEWAY_SELECTOR = { istio: "eastwestgateway" } as const;

// ---------------------------------------------------------------------------------------------
// Deep merge
// ---------------------------------------------------------------------------------------------

/** True for `{...}` objects (not arrays, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Merges `overrides` left to right over `base`, the way Helm merges values files: objects merge key
 * by key, everything else (arrays, scalars, null) replaces. Inputs are never mutated and the result
 * depends only on the inputs, so the same config always yields the same values.
 */
export function deepMerge(base: HelmValues, ...overrides: (HelmValues | undefined)[]): HelmValues {
    let result = clone(base) as HelmValues;
    for (const o of overrides) {
        if (o) result = mergeTwo(result, o);
    }
    return result;
}

function mergeTwo(a: HelmValues, b: HelmValues): HelmValues {
    const out: HelmValues = { ...a };
    for (const [k, v] of Object.entries(b)) {
        out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeTwo(out[k] as HelmValues, v) : clone(v);
    }
    return out;
}

function clone(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(clone);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
    return v;
}

// ---------------------------------------------------------------------------------------------
// Protected keys
// ---------------------------------------------------------------------------------------------

/** A value the program owns because the multicluster wiring depends on it. */
interface ProtectedKey {
    chart: ChartKey;
    /** Path inside the chart's values; array form because label/annotation keys contain dots. */
    path: readonly string[];
    /** The config key that controls it (shown to the user as the fix). */
    use: string;
    /** Only a conflict when the user value differs from this one (otherwise any user value is refused). */
    allowedValue?: (config: MeshConfig) => unknown;
    /** The program owns the key only when this holds (otherwise the user may set it freely). */
    ownedWhen?: (config: MeshConfig) => boolean;
}

const DNS_CAPTURE = "ISTIO_META_DNS_CAPTURE";
const DNS_AUTO_ALLOCATE = "ISTIO_META_DNS_AUTO_ALLOCATE";
/** istiod: accept a changed `root-cert.pem` whose certificates are a subset or superset of the old (pilot/pkg/features). */
const MULTIROOT_MESH = "ISTIO_MULTIROOT_MESH";
/** Sidecar agent: take trust bundle updates from istiod over xDS (PCDS) instead of only on restart. */
const PROXY_CONFIG_XDS_AGENT = "PROXY_CONFIG_XDS_AGENT";
const rotating = (c: MeshConfig) => c.rootRotation !== undefined;
const federated = (c: Pick<MeshConfig, "ca">) => c.ca.mode === "federated";
/** More than one root is in play: a root rotation, or a root per primary. */
const multiRoot = (c: MeshConfig) => rotating(c) || federated(c);

const PROTECTED: readonly ProtectedKey[] = [
    // base/templates/zzz_profile.yaml reads `profile` and `global.profile`.
    { chart: "base", path: ["profile"], use: "clusters[i].role" },
    { chart: "base", path: ["global", "profile"], use: "clusters[i].role" },
    // base/values.yaml: the reader ServiceAccount every remote secret is minted from.
    { chart: "base", path: ["global", "enableReaderRBAC"], use: "(not configurable: remote secrets need it)" },
    { chart: "base", path: ["global", "istioNamespace"], use: "(not configurable: the mesh lives in istio-system)" },
    { chart: "base", path: ["defaultRevision"], use: "revision" },

    { chart: "istiod", path: ["profile"], use: "clusters[i].role" },
    { chart: "istiod", path: ["global", "profile"], use: "clusters[i].role" },
    { chart: "istiod", path: ["global", "meshID"], use: "meshId" },
    { chart: "istiod", path: ["global", "multiCluster", "clusterName"], use: "clusters[i].name" },
    { chart: "istiod", path: ["global", "network"], use: "clusters[i].network" },
    {
        chart: "istiod",
        path: ["global", "remotePilotAddress"],
        use: "eastWestGateway.address of the serving primary (clusters[i].controlPlane)",
    },
    { chart: "istiod", path: ["global", "externalIstiod"], use: "clusters[i].role / clusters[i].controlPlane" },
    { chart: "istiod", path: ["env", "EXTERNAL_ISTIOD"], use: "clusters[i].role / clusters[i].controlPlane" },
    { chart: "istiod", path: ["global", "configCluster"], use: "clusters[i].role" },
    { chart: "istiod", path: ["istiodRemote", "enabled"], use: "clusters[i].role" },
    { chart: "istiod", path: ["istiodRemote", "injectionPath"], use: "clusters[i].name and clusters[i].network" },
    {
        chart: "istiod",
        path: ["global", "meshNetworks"],
        use: "clusters[i].eastWestGateway.address and clusters[i].eastWestGateway.nodePort",
    },
    { chart: "istiod", path: ["global", "enableReaderRBAC"], use: "(not configurable: remote secrets need it)" },
    { chart: "istiod", path: ["global", "istioNamespace"], use: "(not configurable: the mesh lives in istio-system)" },
    { chart: "istiod", path: ["revision"], use: "revision" },
    { chart: "istiod", path: ["meshConfig", "trustDomain"], use: "trustDomain", allowedValue: (c) => c.trustDomain },
    {
        chart: "istiod",
        path: ["meshConfig", "defaultConfig", "meshId"],
        use: "meshId",
        allowedValue: (c) => c.meshId,
    },
    {
        chart: "istiod",
        path: ["meshConfig", "defaultConfig", "proxyMetadata", DNS_CAPTURE],
        use: "dnsProxy.capture",
    },
    {
        chart: "istiod",
        path: ["meshConfig", "defaultConfig", "proxyMetadata", DNS_AUTO_ALLOCATE],
        use: "dnsProxy.autoAllocate",
    },
    // Owned only while several roots are in play; a user may set them for a multi-root mesh of their own.
    {
        chart: "istiod",
        path: ["env", MULTIROOT_MESH],
        use: '(the program sets it to "true" while rootRotation is set and in a federated mesh)',
        allowedValue: () => "true",
        ownedWhen: multiRoot,
    },
    {
        chart: "istiod",
        path: ["meshConfig", "defaultConfig", "proxyMetadata", PROXY_CONFIG_XDS_AGENT],
        use: '(the program sets it to "true" while rootRotation is set and in a federated mesh)',
        allowedValue: () => "true",
        ownedWhen: multiRoot,
    },
    {
        chart: "istiod",
        path: ["meshConfig", "caCertificates"],
        use: "clusters[i].ca (a federated mesh lists every other primary's root there)",
        ownedWhen: federated,
    },

    { chart: "gateway", path: ["name"], use: "(not configurable: the gateway is istio-eastwestgateway)" },
    { chart: "gateway", path: ["networkGateway"], use: "clusters[i].network" },
    { chart: "gateway", path: ["networkGatewayPorts"], use: "clusters[i].eastWestGateway.nodePort" },
    { chart: "gateway", path: ["service", "type"], use: "clusters[i].eastWestGateway.serviceType" },
    { chart: "gateway", path: ["service", "ports"], use: "clusters[i].eastWestGateway.nodePort" },
    { chart: "gateway", path: ["service", "loadBalancerIP"], use: "clusters[i].eastWestGateway.loadBalancerIP" },
    {
        chart: "gateway",
        path: ["service", "annotations", ANNOTATION_NODE_SELECTOR],
        use: "clusters[i].eastWestGateway.nodeSelector",
    },
    // The exposure Gateways select `istio: eastwestgateway`; the chart derives both selector labels.
    { chart: "gateway", path: ["labels", "app"], use: "(not configurable: the exposure Gateways select it)" },
    { chart: "gateway", path: ["labels", "istio"], use: "(not configurable: the exposure Gateways select it)" },
    { chart: "gateway", path: ["labels", LABEL_NETWORK], use: "clusters[i].network" },
    { chart: "gateway", path: ["env", "ISTIO_META_REQUESTED_NETWORK_VIEW"], use: "clusters[i].network" },
    { chart: "gateway", path: ["revision"], use: "revision" },
    // With revisions the program renders every tag into exactly one istiod release.
    {
        chart: "istiod",
        path: ["revisionTags"],
        use: "revisionTags / defaultRevision",
        ownedWhen: (c) => c.revisions !== undefined,
    },
];

/**
 * Where else a chart reads the same key: istiod copies `pilot.*` to the top level
 * (istio-control/istio-discovery/templates/zzy_descope_legacy.yaml); the gateway chart flattens
 * `global.*` into the top level (gateway/templates/zzz_profile.yaml, "Flatten globals").
 */
function aliases(key: ProtectedKey): (readonly string[])[] {
    if (key.chart === "istiod") return [key.path, ["pilot", ...key.path]];
    if (key.chart === "gateway" && key.path[0] !== "global") return [key.path, ["global", ...key.path]];
    return [key.path];
}

function formatPath(path: readonly string[]): string {
    return path.map((p, i) => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `["${p}"]`)).join("");
}

/** Finds where `values` touches `path`: the full path, or a prefix replaced by a non-object. */
function touches(values: unknown, path: readonly string[]): { depth: number; value: unknown } | undefined {
    let node: unknown = values;
    for (let i = 0; i < path.length; i++) {
        if (!isPlainObject(node) || !Object.prototype.hasOwnProperty.call(node, path[i])) return undefined;
        node = node[path[i]];
        if (i < path.length - 1 && !isPlainObject(node)) return { depth: i + 1, value: node };
    }
    return { depth: path.length, value: node };
}

function overrideProblems(
    overrides: ChartValuesOverrides | undefined,
    prefix: string,
    config: MeshConfig,
    clusterIndex?: number,
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!overrides) return problems;
    const seen = new Set<string>();
    for (const key of PROTECTED) {
        const values = overrides[key.chart];
        if (values === undefined) continue;
        if (key.ownedWhen && !key.ownedWhen(config)) continue;
        for (const path of aliases(key)) {
            const hit = touches(values, path);
            if (!hit) continue;
            const whole = hit.depth === path.length;
            // Env and proxy metadata values are strings in the end; `true` and "true" are the same setting.
            if (whole && key.allowedValue && String(hit.value) === String(key.allowedValue(config))) continue;
            const shown = `${prefix}.${key.chart}.${formatPath(path.slice(0, hit.depth))}`;
            if (seen.has(shown)) continue;
            seen.add(shown);
            const use =
                clusterIndex === undefined ? key.use : key.use.replaceAll("clusters[i]", `clusters[${clusterIndex}]`);
            problems.push(
                whole
                    ? {
                          path: shown,
                          message: `overrides ${formatPath(key.path)}, which the program sets for the multicluster wiring.`,
                          fix: use.startsWith("(")
                              ? `remove it ${use}.`
                              : `remove it and set ${use} instead${key.allowedValue ? " (or give the same value)" : ""}.`,
                      }
                    : {
                          path: shown,
                          message: `replaces the whole object holding ${formatPath(key.path)}, which the program sets for the multicluster wiring.`,
                          fix: "give an object with only the keys you want to change; it is merged key by key.",
                      },
            );
        }
    }
    return problems;
}

/**
 * Problems with the `values` escape hatches and the `meshConfig` passthrough: user values that
 * would override a key the mesh depends on (and the config key to use instead), and a
 * `meshConfig.trustDomain` that disagrees with `trustDomain`.
 */
export function valueOverrideProblems(config: MeshConfig): ConfigProblem[] {
    const problems = overrideProblems(config.values, "values", config);
    config.clusters.forEach((c, i) => {
        problems.push(...overrideProblems(c.values, `clusters[${i}].values`, config, i));
    });
    if (config.meshConfig !== undefined) {
        // The passthrough is merged into the istiod chart's `meshConfig`, so the same keys apply.
        const asIstiodValues: ChartValuesOverrides = { istiod: { meshConfig: config.meshConfig } };
        for (const p of overrideProblems(asIstiodValues, "values", config)) {
            problems.push({ ...p, path: p.path.replace(/^values\.istiod\.meshConfig/, "meshConfig") });
        }
    }
    return problems;
}

function assertNoOverrideProblems(config: MeshConfig, cluster: ClusterPlan, chart: ChartKey): void {
    const index = config.clusters.findIndex((c) => c.name === cluster.name);
    const relevant = [`values.${chart}.`, `clusters[${index}].values.${chart}.`];
    if (chart === "istiod") relevant.push("meshConfig.");
    const problems = valueOverrideProblems(config).filter((p) => relevant.some((r) => p.path.startsWith(r)));
    if (problems.length > 0) throw new ConfigValidationError(problems);
}

function userValues(config: MeshConfig, cluster: ClusterPlan, chart: ChartKey): (HelmValues | undefined)[] {
    return [config.values?.[chart], cluster.config.values?.[chart]];
}

// ---------------------------------------------------------------------------------------------
// Images, DNS proxying
// ---------------------------------------------------------------------------------------------

/** `global.imagePullSecrets` of base and istiod: a list of Secret names (base/templates/reader-serviceaccount.yaml). */
function globalPullSecrets(config: MeshConfig): HelmValues {
    const names = config.images?.imagePullSecrets;
    return names && names.length > 0 ? { imagePullSecrets: [...names] } : {};
}

/**
 * `meshConfig.defaultConfig.proxyMetadata` for DNS proxying, as strings (proxy env values).
 * Only the settings that are on: both default to off in Istio, so "off" needs no key.
 */
export function dnsProxyMetadata(config: MeshConfig): Record<string, string> {
    const md: Record<string, string> = {};
    if (config.dnsProxy.capture) md[DNS_CAPTURE] = "true";
    if (config.dnsProxy.autoAllocate) md[DNS_AUTO_ALLOCATE] = "true";
    return md;
}

/**
 * What several roots need from istiod and the proxies, during a root rotation and in a federated
 * mesh. A rotation uses the settings of Istio's own CA rotation test
 * (tests/integration/security/cacert_rotation): istiod accepts the changing `root-cert.pem`. In
 * both cases istiod, with `ISTIO_MULTIROOT_MESH`, merges its own root and the PEMs of
 * `meshConfig.caCertificates` into one trust bundle (pilot/pkg/trustbundle) and pushes it over
 * PCDS (pilot/pkg/xds/pcds.go) to the agents that ask for it, those started with
 * `PROXY_CONFIG_XDS_AGENT` (pilot/cmd/pilot-agent/options); the agent adds it to the roots its
 * proxy validates peers with (security/pkg/nodeagent/cache, UpdateConfigTrustBundle). Empty with
 * one root.
 */
export function multiRootSettings(config: Pick<MeshConfig, "rootRotation" | "ca">): {
    env: Record<string, string>;
    proxyMetadata: Record<string, string>;
} {
    return config.rootRotation || federated(config)
        ? { env: { [MULTIROOT_MESH]: "true" }, proxyMetadata: { [PROXY_CONFIG_XDS_AGENT]: "true" } }
        : { env: {}, proxyMetadata: {} };
}

/** `meshConfig.caCertificates` of a federated primary: the peer roots as inline PEMs. */
export function peerRootCaCertificates(peerRootPems: readonly string[]): { pem: string }[] {
    return peerRootPems.map((pem) => ({ pem }));
}

// ---------------------------------------------------------------------------------------------
// Chart values
// ---------------------------------------------------------------------------------------------

/**
 * Values of the `base` chart. Remotes use `profile=remote` (required since 1.24, when the
 * `istiod-remote` chart was removed). base renders no images, so only pull secrets apply.
 */
export function baseValues(cluster: ClusterPlan, config: MeshConfig): HelmValues {
    assertNoOverrideProblems(config, cluster, "base");
    const own: HelmValues = {};
    if (cluster.role === "remote") own.profile = "remote";
    const global = globalPullSecrets(config);
    if (Object.keys(global).length > 0) own.global = global;
    // base/templates/defaultrevision-validatingwebhookconfiguration.yaml: the default validator
    // targets `istiod-<defaultRevision>`; with only a revisioned istiod in the cluster it must point there.
    if (config.revision) own.defaultRevision = config.revision;
    if (cluster.revisions) own.defaultRevision = cluster.revisions.defaultRevision;
    return deepMerge(own, ...userValues(config, cluster, "base"));
}

/**
 * Values of the `istiod` chart (istio-control/istio-discovery/values.yaml).
 *
 * Primaries: identity (`global.meshID`, `global.multiCluster.clusterName`, `global.network`),
 * `global.externalIstiod` when serving remotes, `global.meshNetworks` when the plan needs it,
 * `meshConfig` (trust domain, passthrough, DNS proxying), during a root rotation and in a
 * federated mesh `env.ISTIO_MULTIROOT_MESH` plus the `PROXY_CONFIG_XDS_AGENT` proxy metadata, and
 * in a federated mesh the peer roots (`peerRootPems`) as `meshConfig.caCertificates`. Remotes: `profile=remote`,
 * `global.configCluster`, `global.remotePilotAddress` (must be an IP: `remotePilotAddressFor`),
 * `istiodRemote.injectionPath` carrying cluster and network to the primary's injector.
 */
export function istiodValues(
    cluster: ClusterPlan,
    plan: MeshPlan,
    config: MeshConfig,
    remotePilotAddress?: string,
    peerRootPems?: readonly string[],
): HelmValues {
    assertNoOverrideProblems(config, cluster, "istiod");
    const global: HelmValues = {
        meshID: config.meshId,
        multiCluster: { clusterName: cluster.name },
        network: cluster.network,
    };
    if (config.images?.hub) global.hub = config.images.hub;
    if (config.images?.tag) global.tag = config.images.tag;
    Object.assign(global, globalPullSecrets(config));

    const own: HelmValues = { global };
    if (config.revision) own.revision = config.revision;

    if (cluster.role === "primary") {
        if (cluster.externalIstiod) global.externalIstiod = true;
        // Rendered into ConfigMap `istio` (templates/configmap.yaml); identical in every primary.
        if (plan.meshNetworks) global.meshNetworks = clone(plan.meshNetworks);
        const rotation = multiRootSettings(config);
        const proxyMetadata = { ...dnsProxyMetadata(config), ...rotation.proxyMetadata };
        own.meshConfig = deepMerge(
            { trustDomain: config.trustDomain },
            config.meshConfig,
            Object.keys(proxyMetadata).length > 0 ? { defaultConfig: { proxyMetadata } } : undefined,
            federatedTrust(cluster, config, peerRootPems),
        );
        // templates/deployment.yaml renders every `env` entry into the discovery container.
        if (Object.keys(rotation.env).length > 0) own.env = rotation.env;
    } else {
        if (!remotePilotAddress) {
            throw new Error(
                `cluster ${cluster.name} is a remote: istiod values need the address of the east-west gateway ` +
                    `of its primary ${cluster.controlPlane} (remotePilotAddress).`,
            );
        }
        own.profile = "remote";
        global.configCluster = true;
        global.remotePilotAddress = remotePilotAddress;
        own.istiodRemote = { injectionPath: injectionPath(cluster) };
    }
    return deepMerge(own, ...userValues(config, cluster, "istiod"));
}

/** A federated primary's `meshConfig.caCertificates`; nothing with one root or no peers. */
function federatedTrust(
    cluster: ClusterPlan,
    config: MeshConfig,
    peerRootPems: readonly string[] | undefined,
): HelmValues | undefined {
    if (!federated(config)) return undefined;
    if (peerRootPems === undefined) {
        throw new Error(`cluster ${cluster.name} is a primary of a federated mesh: istiod values need its peer roots.`);
    }
    return peerRootPems.length > 0 ? { caCertificates: peerRootCaCertificates(peerRootPems) } : undefined;
}

/**
 * Values of one revision's `istiod` release (`istiod-<name>`): the cluster's istiod values with
 * the chart's `revision`, and the tags this revision owns as `revisionTags`. The chart renders a
 * `MutatingWebhookConfiguration istio-revision-tag-<tag>` per tag, and for the tag `default` also
 * the `istio-injection=enabled` selectors of the default injector
 * (istio-control/istio-discovery/templates/revision-tags-mwc.yaml), so each tag must come from
 * exactly one release, which `clusterRevisions` guarantees.
 */
export function revisionIstiodValues(
    cluster: ClusterPlan,
    plan: MeshPlan,
    config: MeshConfig,
    revision: RevisionPlan,
    remotePilotAddress?: string,
    peerRootPems?: readonly string[],
): HelmValues {
    const values = istiodValues(cluster, plan, config, remotePilotAddress, peerRootPems);
    values.revision = revision.name;
    if (revision.tags.length > 0) values.revisionTags = [...revision.tags];
    else delete values.revisionTags;
    return values;
}

/** The remote's injector path: the primary's istiod reads cluster and network from it (webhook.go parseInjectEnvs). */
export function injectionPath(cluster: Pick<ClusterPlan, "name" | "network">): string {
    return `/inject/cluster/${cluster.name}/net/${cluster.network}`;
}

/**
 * Values of the `gateway` chart for `istio-eastwestgateway` (gateway/values.yaml, validated by
 * gateway/values.schema.json, which rejects unknown top-level keys).
 *
 * The chart's `networkGateway` renders the Service ports from `networkGatewayPorts`, whose entries
 * only carry port/targetPort/protocol (gateway/templates/_helpers.tpl "gateway.networkGatewayPort";
 * a `nodePort` there is accepted by the schema but never rendered, istio/istio#61569). So a fixed
 * node port is expressed without `networkGateway`: the same four ports through `service.ports`
 * (rendered verbatim by gateway/templates/service.yaml), the `topology.istio.io/network` label
 * through `labels`, and `ISTIO_META_REQUESTED_NETWORK_VIEW` through `env` — what `networkGateway`
 * adds in service.yaml and deployment.yaml. `helm template` of both forms gives the same Service
 * and pod template apart from the node port; the label also lands on the chart's other objects.
 *
 * A gateway advertised by meshNetworks alone (`advertisedOnlyInMeshNetworks`: a LoadBalancer
 * with an explicit `address`) carries no network label at all: istiod discovers a gateway from
 * every Service with that label and prefers those of the endpoint's own cluster over meshNetworks
 * (pilot/pkg/xds/endpoints/ep_filters.go selectNetworkGateways), so the configured address (a NAT
 * in front) would be ignored. Its pods still ask for their network's view
 * (`ISTIO_META_REQUESTED_NETWORK_VIEW`); the injector gives them the network from the istiod's
 * `global.network` (a pod label would only override it).
 */
export function eastWestGatewayValues(cluster: ClusterPlan, plan: MeshPlan, config: MeshConfig): HelmValues {
    const gw = cluster.eastWestGateway;
    if (!gw) throw new Error(`cluster ${cluster.name} gets no east-west gateway in this mesh plan.`);
    assertNoOverrideProblems(config, cluster, "gateway");

    const annotations: Record<string, string> = { ...(gw.annotations ?? {}) };
    if (gw.serviceType === "NodePort" && gw.nodeSelector) {
        // istiod only advertises node addresses for NodePort Services carrying this annotation (conversion.go).
        annotations[ANNOTATION_NODE_SELECTOR] = JSON.stringify(sortedObject(gw.nodeSelector));
    }
    const service: HelmValues = { type: gw.serviceType };
    if (Object.keys(annotations).length > 0) service.annotations = sortedObject(annotations);
    if (gw.loadBalancerIP) service.loadBalancerIP = gw.loadBalancerIP;

    const own: HelmValues = { name: EAST_WEST_GATEWAY };
    const fixedNodePort = gw.serviceType === "NodePort" && gw.nodePort !== undefined;
    const advertisedByMeshNetworksOnly = advertisedOnlyInMeshNetworks(gw, plan);
    if (fixedNodePort || advertisedByMeshNetworksOnly) {
        service.ports = NETWORK_GATEWAY_PORTS.map((p) => ({
            name: p.name,
            port: p.port,
            targetPort: p.port,
            protocol: "TCP",
            ...(fixedNodePort && p.port === CROSS_NETWORK_PORT ? { nodePort: gw.nodePort } : {}),
        }));
        if (!advertisedByMeshNetworksOnly) own.labels = { [LABEL_NETWORK]: cluster.network };
        own.env = { ISTIO_META_REQUESTED_NETWORK_VIEW: cluster.network };
    } else {
        own.networkGateway = cluster.network;
    }
    own.service = service;
    if (config.revision) own.revision = config.revision;
    // With revisions the gateway pods carry istio.io/rev=<default revision> and are injected by it.
    if (cluster.revisions) own.revision = cluster.revisions.defaultRevision;
    // The pod image is `auto` (injected by istiod from its global.hub/tag); pull secrets use the
    // chart's own key, a list of {name} objects (gateway/values.schema.json "imagePullSecrets").
    const pullSecrets = config.images?.imagePullSecrets;
    if (pullSecrets && pullSecrets.length > 0) own.imagePullSecrets = pullSecrets.map((name) => ({ name }));
    return deepMerge(own, ...userValues(config, cluster, "gateway"));
}

function sortedObject(o: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The port other networks dial on this cluster's gateway, when known from config alone. */
export function configuredGatewayPort(cluster: ClusterPlan): number | undefined {
    const gw = cluster.eastWestGateway;
    if (!gw) return undefined;
    if (gw.serviceType === "NodePort" && gw.nodePort === undefined) return undefined;
    return advertisedGatewayPort(gw);
}

// ---------------------------------------------------------------------------------------------
// Chart source
// ---------------------------------------------------------------------------------------------

/** The chart-locating inputs of a `helm.v3.Release`. */
export interface ChartSource {
    chart: string;
    version?: string;
    repositoryOpts?: { repo: string };
}

/**
 * The chart-locating inputs for one chart, following the Release provider's resolution
 * (pulumi-kubernetes provider/pkg/provider/helm_release.go, `resolveChartName`/`locateChart`), for the
 * `chartRepository` forms config validation accepts (`classifyChartRepository`):
 * - `https://…`/`http://…` repository: `chart: "<name>"`, `repositoryOpts.repo`, `version`.
 * - `oci://host/path`: `chart: "oci://host/path/<name>"`, `version`, no repositoryOpts (an OCI
 *   chart reference bypasses the repository index).
 * - absolute local directory: `chart: "<dir>/<name>-<version>.tgz"`, the file
 *   `helm pull <repo>/<name> --version <version>` writes. Helm ignores `version` for local charts,
 *   so the version lives in the file name.
 */
export function chartSource(config: MeshConfig, chart: ChartKey, version: string = config.istioVersion): ChartSource {
    const repo = config.chartRepository.trim();
    const name = CHART_NAMES[chart];
    switch (classifyChartRepository(repo)) {
        case "https":
        case "http":
            return { chart: name, version, repositoryOpts: { repo } };
        case "oci":
            return { chart: `${repo.replace(/\/+$/, "")}/${name}`, version };
        case "local":
            return { chart: `${repo.replace(/\/+$/, "")}/${name}-${version}.tgz` };
        default:
            throw new ConfigValidationError([
                {
                    path: "chartRepository",
                    message: `'${config.chartRepository}' is neither an http(s) URL, an oci:// reference nor an absolute local directory.`,
                    fix: "use e.g. https://istio-release.storage.googleapis.com/charts, oci://registry.example.com/istio or /srv/istio-charts.",
                },
            ]);
    }
}

/** Kubernetes Service name of the istiod a remote's Service `istiod[-<rev>]` stands for. */
export function istiodServiceName(config: Pick<MeshConfig, "revision">): string {
    return config.revision ? `istiod-${config.revision}` : "istiod";
}

/** Namespace every chart is installed into. */
export const RELEASE_NAMESPACE = ISTIO_NAMESPACE;

/** The first istiod chart whose remote profile takes an IPv6 `remotePilotAddress` as an IP. */
export const IPV6_REMOTE_PILOT_ADDRESS_FROM = "1.30.0";

/**
 * Why the istiod charts of these versions would not take `address` as an IP for a remote's
 * `global.remotePilotAddress`, or undefined when they all do. Their remote profile tells an IP by
 * two patterns (remote-istiod-service.yaml, remote-istiod-endpoints.yaml, ...-endpointslices.yaml):
 * dotted IPv4 in every version, colon-separated hex (IPv6) only from 1.30.0; any other value
 * becomes an ExternalName Service, which admission webhooks cannot call. So an IPv6 address needs
 * 1.30 charts, and an IPv4-mapped (`::ffff:192.0.2.1`) or zoned IPv6 address never works.
 */
export function remotePilotAddressChartProblem(address: string, chartVersions: readonly string[]): string | undefined {
    if (/^([0-9]*\.){3}[0-9]*$/.test(address)) return undefined;
    if (!/^([0-9a-fA-F]*:)+[0-9a-fA-F]*$/.test(address)) {
        return (
            `'${address}' is an IP address the istiod chart does not recognise as one (it knows dotted IPv4 and plain ` +
            `IPv6): it would render Service istiod as type ExternalName`
        );
    }
    const ipv6From = parseVersion(IPV6_REMOTE_PILOT_ADDRESS_FROM)!;
    const older = [...new Set(chartVersions)].filter((v) => {
        const parsed = parseVersion(v);
        return parsed !== undefined && versionLess(parsed, ipv6From);
    });
    if (older.length === 0) return undefined;
    return (
        `'${address}' is an IPv6 address, which the istiod chart ${older.join(", ")} takes for a hostname (IPv6 is ` +
        `recognised from ${IPV6_REMOTE_PILOT_ADDRESS_FROM}): it would render Service istiod as type ExternalName`
    );
}

/**
 * The `global.remotePilotAddress` of a remote served by `primaryName`, from that primary's
 * advertised east-west gateway address. It must be an IP: istiod's remote profile turns any other
 * value into an `ExternalName` Service, which the API server cannot call for admission webhooks
 * (istio-control/istio-discovery/templates/remote-istiod-service.yaml; istio/istio#45014).
 * `chartVersions`: the remote's istiod charts, which decide whether an IPv6 address counts as one
 * ({@link remotePilotAddressChartProblem}).
 */
export function remotePilotAddressFor(address: string, primaryName: string, chartVersions: readonly string[]): string {
    const a = address.trim();
    if (a === "") {
        throw new Error(
            `The east-west gateway of primary ${primaryName} has no address yet, so its remotes cannot be pointed at ` +
                `its istiod. A LoadBalancer gateway gets one from the cloud; for a NodePort gateway set ` +
                `eastWestGateway.address of cluster ${primaryName} to an IP that forwards ports 15012 and 15017.`,
        );
    }
    if (isIP(a) === 0) {
        throw new Error(
            `The east-west gateway of primary ${primaryName} is advertised as '${a}', a hostname (an AWS ELB does this). ` +
                `A remote's global.remotePilotAddress must be an IP: with a hostname Istio renders Service istiod as ` +
                `type ExternalName, and the API server cannot call admission webhooks through it, so sidecar injection ` +
                `in the remotes would fail. Fix: set eastWestGateway.address of ${primaryName} to an IP of that load ` +
                `balancer (e.g. an NLB with static IPs), or make ${primaryName}'s remotes primaries (multi-primary).`,
        );
    }
    const chartProblem = remotePilotAddressChartProblem(a, chartVersions);
    if (chartProblem) {
        throw new Error(
            `The east-west gateway of primary ${primaryName} is advertised at ${chartProblem}, so admission webhooks in ` +
                `its remotes would fail. Fix: set eastWestGateway.address of ${primaryName} to an IPv4 address of that ` +
                `gateway, or install Istio ${IPV6_REMOTE_PILOT_ADDRESS_FROM} or newer in the remotes.`,
        );
    }
    return a;
}
