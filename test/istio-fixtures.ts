/**
 * Hand-built, defaulted mesh configs for the Istio tests: the four models, a mixed mesh and a
 * NodePort mesh (the seed's LAN without a load balancer). Built without the config loader so
 * these tests only depend on the config types.
 */
import {
    ClusterConfig,
    DEFAULT_CHART_REPOSITORY,
    DEFAULT_ISTIO_VERSION,
    DEFAULT_MESH_ID,
    DEFAULT_TRUST_DOMAIN,
    EastWestGatewayConfig,
    MeshConfig,
} from "../components/config/config";

export function cluster(
    name: string,
    extra: Partial<Omit<ClusterConfig, "eastWestGateway">> & { eastWestGateway?: Partial<EastWestGatewayConfig> } = {},
): ClusterConfig {
    const { eastWestGateway, ...rest } = extra;
    return {
        name,
        network: "network1",
        role: "primary",
        adopt: false,
        ...rest,
        eastWestGateway: { serviceType: "LoadBalancer", ...(eastWestGateway ?? {}) },
    };
}

export function meshConfig(clusters: ClusterConfig[], extra: Partial<MeshConfig> = {}): MeshConfig {
    return {
        meshId: DEFAULT_MESH_ID,
        trustDomain: DEFAULT_TRUST_DOMAIN,
        istioVersion: DEFAULT_ISTIO_VERSION,
        chartRepository: DEFAULT_CHART_REPOSITORY,
        ca: {
            name: "mesh-root",
            mode: "generate",
            keyAlgorithm: "RSA",
            rsaBits: 4096,
            ecdsaCurve: "P256",
            validityDays: 3650,
            organization: "Istio",
            commonName: "Root CA",
        },
        intermediate: { validityDays: 730, earlyRenewalDays: 60 },
        clusters,
        verify: false,
        verification: {
            namespace: "mesh-verify",
            requests: 30,
            timeoutSeconds: 300,
            serverImage: "registry.istio.io/release/examples-helloworld-v1:1.0",
            clientImage: "curlimages/curl",
        },
        remoteSecrets: {
            tokenMode: "serviceAccountTokenSecret",
            layout: "perSource",
            tokenTtlDays: 90,
            renewBeforeDays: 30,
            probeTokenLifetime: true,
            readerAccounts: "shared",
        },
        dnsProxy: { capture: false, autoAllocate: false },
        ...extra,
    };
}

/** The six meshes every Istio test runs over. */
export const MESHES = {
    /** 1.1: two primaries on one network. */
    multiPrimary: () => meshConfig([cluster("cluster1"), cluster("cluster2")]),
    /** 1.2: two primaries on two networks. */
    multiPrimaryMultiNetwork: () => meshConfig([cluster("cluster1"), cluster("cluster2", { network: "network2" })]),
    /** 1.3: a primary and a remote on one network. */
    primaryRemote: () => meshConfig([cluster("cluster1"), cluster("cluster2", { role: "remote" })]),
    /** 1.4: a primary and a remote on two networks. */
    primaryRemoteMultiNetwork: () =>
        meshConfig([cluster("cluster1"), cluster("cluster2", { role: "remote", network: "network2" })]),
    /** Two primaries on two networks, each serving one remote on its own network. */
    mixed: () =>
        meshConfig([
            cluster("east"),
            cluster("west", { network: "network2" }),
            cluster("east-remote", { role: "remote", controlPlane: "east", network: "network3" }),
            cluster("west-remote", { role: "remote", controlPlane: "west", network: "network2" }),
        ]),
    /** Seed 003: two primaries on two networks behind NodePort gateways with fixed addresses. */
    nodePort: () =>
        meshConfig([
            cluster("lan1", {
                eastWestGateway: { serviceType: "NodePort", nodePort: 31443, address: "192.168.10.11" },
            }),
            cluster("lan2", {
                network: "network2",
                eastWestGateway: { serviceType: "NodePort", nodePort: 32443, address: "192.168.20.11" },
            }),
        ]),
} satisfies Record<string, () => MeshConfig>;

export type MeshName = keyof typeof MESHES;
export const MESH_NAMES = Object.keys(MESHES) as MeshName[];
