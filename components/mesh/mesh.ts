/**
 * The whole mesh as one component: one Kubernetes provider per cluster, the PKI, every cluster's
 * control plane and east-west gateway, the remote secrets, and the optional verification.
 *
 * This file only wires components together in the order Istio requires (docs/architecture.md);
 * what each cluster gets is decided by the mesh plan, how it is built by the components.
 * Clusters never wait for each other except where Istio needs it (a remote waits for its primary's
 * gateway; remote secrets wait for the watched cluster's reader token), so the dependency graph
 * stays equally shallow however many clusters the mesh has.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { MeshConfig } from "../config/config";
import { EastWestGateway } from "../istio/east-west-gateway";
import { IstioControlPlane } from "../istio/istio-control-plane";
import { ClusterPlan, MeshPlan } from "../plan/mesh-plan";
import { providerResourceName } from "../plan/naming";
import { ClusterIntermediateCa, createMeshRoots, MeshRootCa, MeshRoots } from "../pki/pki";
import { createMeshRemoteSecrets, MeshRemoteSecrets, MeshRemoteSecretsArgs } from "../remote-secrets/remote-secrets";
import { ClusterProbeAccess, MeshVerification, MeshVerificationArgs } from "../verification/verification";

/** How the program reaches one cluster. */
export interface MeshClusterAccess {
    /** Kubeconfig content holding only this cluster's context, cluster and user. Kept secret. */
    kubeconfig: pulumi.Input<string>;
    /** Kube context inside `kubeconfig` (its current-context when undefined). */
    context?: string;
    /** URL at which the other clusters' istiod reach this API server. */
    apiServer: string;
    /**
     * Path of the one kubeconfig file that holds the context, its cluster and its user, when there
     * is such a file (the probe's kubectl uses it); undefined for secret content and for a context
     * merged from several `$KUBECONFIG` files.
     */
    kubeconfigPath?: string;
}

export interface IstioMulticlusterMeshArgs {
    /** Validated stack configuration. */
    config: MeshConfig;
    /** The mesh plan built from `config` (`buildMeshPlan`). */
    plan: MeshPlan;
    /** Access to every cluster of the plan, by cluster name. */
    access: Record<string, MeshClusterAccess>;
    /** Import mode (`ca.mode: import`): the root private key PEM (`caKeyPem`). Treated as a secret. */
    importedRootKeyPem?: pulumi.Input<string>;
    /** Root rotation importing the next root: its private key PEM (`nextCaKeyPem`). Treated as a secret. */
    importedNextRootKeyPem?: pulumi.Input<string>;
}

/** Everything the mesh built in one cluster. */
export interface MeshMember {
    plan: ClusterPlan;
    provider: k8s.Provider;
    controlPlane: IstioControlPlane;
    /** Primaries: the cluster's intermediate CA. */
    intermediateCa?: ClusterIntermediateCa;
    /** Clusters the plan gives an east-west gateway. */
    eastWestGateway?: EastWestGateway;
}

export class IstioMulticlusterMesh extends pulumi.ComponentResource {
    /** The root of trust shared by every cluster: the root that signs the intermediates. */
    public readonly rootCa: MeshRootCa;
    /** Both roots and the trust bundle while `rootRotation` is set; otherwise `rootCa` alone. */
    public readonly roots: MeshRoots;
    /** Per cluster, by name. */
    public readonly members: Record<string, MeshMember>;
    /** Reader tokens and remote secrets. */
    public readonly remoteSecrets: MeshRemoteSecrets;
    /** The post-deploy check, when `verify` is on. */
    public readonly verification?: MeshVerification;

    constructor(name: string, args: IstioMulticlusterMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:index:IstioMulticlusterMesh", name, {}, opts);
        const { config, plan, access } = args;
        const missing = plan.clusters.filter((c) => !access[c.name]).map((c) => c.name);
        if (missing.length > 0) throw new Error(`IstioMulticlusterMesh: no access given for ${missing.join(", ")}`);
        const build: MeshBuild = { config, plan, child: { parent: this } };

        const providers = createClusterProviders(build, access);
        // ca.name (default mesh-root) is part of the root's URNs; a finished rotation hands it to the next root.
        this.roots = createMeshRoots(
            { config, importedKeyPem: args.importedRootKeyPem, importedNextKeyPem: args.importedNextRootKeyPem },
            build.child,
        );
        this.rootCa = this.roots.signing;

        const members: Record<string, MeshMember> = {};
        // Primaries first: each is self-contained up to its east-west gateway and exposure objects.
        for (const cluster of plan.clusters.filter((c) => c.runsIstiod)) {
            members[cluster.name] = createPrimary(build, cluster, providers[cluster.name], this.roots);
        }
        for (const cluster of plan.clusters.filter((c) => !c.runsIstiod)) {
            members[cluster.name] = createRemote(build, cluster, providers[cluster.name], members);
        }
        this.remoteSecrets = createMeshRemoteSecrets(remoteSecretsArgs(build, access, members), build.child);
        addRemoteGateways(build, members, this.remoteSecrets);
        this.members = members;

        if (config.verify) {
            this.verification = new MeshVerification(
                `${name}-verify`,
                verificationArgs(build, access, providers, members, this.remoteSecrets, this.roots),
                build.child,
            );
        }

        this.registerOutputs({
            rootFingerprintSha256: this.rootCa.fingerprintSha256,
            verification: this.verification?.results,
        });
    }
}

/** What every step of the mesh's construction shares. */
interface MeshBuild {
    config: MeshConfig;
    plan: MeshPlan;
    /** Options that make a resource a child of the mesh component. */
    child: { parent: pulumi.Resource };
}

/** One explicit provider per cluster, so that no object can land in the wrong cluster. */
function createClusterProviders(
    { plan, child }: MeshBuild,
    access: Record<string, MeshClusterAccess>,
): Record<string, k8s.Provider> {
    const providers: Record<string, k8s.Provider> = {};
    for (const cluster of plan.clusters) {
        providers[cluster.name] = new k8s.Provider(
            providerResourceName(cluster.name),
            {
                kubeconfig: pulumi.secret(access[cluster.name].kubeconfig),
                context: access[cluster.name].context,
                // Rotating credentials or moving the kubeconfig must not replace every object in the cluster.
                clusterIdentifier: cluster.name,
            },
            child,
        );
    }
    return providers;
}

/** A primary: its intermediate CA, its control plane with that CA, and its east-west gateway. */
function createPrimary(
    { config, plan, child }: MeshBuild,
    cluster: ClusterPlan,
    provider: k8s.Provider,
    roots: MeshRoots,
): MeshMember {
    const intermediateCa = new ClusterIntermediateCa(
        `${cluster.name}-intermediate-ca`,
        {
            clusterName: cluster.name,
            root: roots.signing,
            ca: roots.signing.ca,
            intermediate: config.intermediate,
            trustBundlePem: roots.trustBundlePem,
        },
        child,
    );
    const controlPlane = new IstioControlPlane(
        `${cluster.name}-control-plane`,
        { cluster, plan, config, provider, cacerts: intermediateCa.cacertsData },
        child,
    );
    const eastWestGateway = cluster.eastWestGateway
        ? new EastWestGateway(
              `${cluster.name}-east-west-gateway`,
              { cluster, plan, config, provider, controlPlane },
              child,
          )
        : undefined;
    return { plan: cluster, provider, controlPlane, intermediateCa, eastWestGateway };
}

/**
 * A remote: istiod's remote profile points at the serving primary's gateway, which must also
 * already expose istiod (its address output waits for the exposure objects).
 */
function createRemote(
    { config, plan, child }: MeshBuild,
    cluster: ClusterPlan,
    provider: k8s.Provider,
    members: Record<string, MeshMember>,
): MeshMember {
    const primaryGateway = members[cluster.controlPlane]?.eastWestGateway;
    if (!primaryGateway) {
        throw new Error(`cluster ${cluster.controlPlane} serves ${cluster.name} but has no east-west gateway`);
    }
    const controlPlane = new IstioControlPlane(
        `${cluster.name}-control-plane`,
        { cluster, plan, config, provider, remotePilotAddress: primaryGateway.address, dependsOn: [primaryGateway] },
        child,
    );
    return { plan: cluster, provider, controlPlane };
}

/** Every cluster's provider, API server and Istio releases, which its reader token waits for. */
function remoteSecretsArgs(
    { config, plan }: MeshBuild,
    access: Record<string, MeshClusterAccess>,
    members: Record<string, MeshMember>,
): MeshRemoteSecretsArgs {
    return {
        plan,
        settings: config.remoteSecrets,
        revision: config.revision,
        clusters: Object.fromEntries(
            plan.clusters.map((c) => [
                c.name,
                {
                    provider: members[c.name].provider,
                    apiServer: access[c.name].apiServer,
                    tlsServerName: c.config.apiServerTlsServerName,
                    istioReleases: [members[c.name].controlPlane.base, members[c.name].controlPlane.istiod],
                    namespace: members[c.name].controlPlane.namespace,
                },
            ]),
        ),
    };
}

/**
 * A remote's gateway pod is injected and configured by its primary's istiod, which can do that
 * only once it holds the remote secret about this cluster.
 */
function addRemoteGateways(
    { config, plan, child }: MeshBuild,
    members: Record<string, MeshMember>,
    remoteSecrets: MeshRemoteSecrets,
): void {
    for (const cluster of plan.clusters.filter((c) => !c.runsIstiod && c.eastWestGateway)) {
        const member = members[cluster.name];
        member.eastWestGateway = new EastWestGateway(
            `${cluster.name}-east-west-gateway`,
            {
                cluster,
                plan,
                config,
                provider: member.provider,
                controlPlane: member.controlPlane,
                dependsOn: remoteSecrets.secretsAbout[cluster.name] ?? [],
            },
            child,
        );
    }
}

/** The probe runs after everything it crosses exists, and again whenever the mesh's shape or trust changes. */
function verificationArgs(
    { config, plan }: MeshBuild,
    access: Record<string, MeshClusterAccess>,
    providers: Record<string, k8s.Provider>,
    members: Record<string, MeshMember>,
    remoteSecrets: MeshRemoteSecrets,
    roots: MeshRoots,
): MeshVerificationArgs {
    return {
        plan,
        config,
        providers,
        access: Object.fromEntries(plan.clusters.map((c) => [c.name, probeAccess(access[c.name])])),
        dependsOn: [
            ...Object.values(members).flatMap((m) => [
                m.controlPlane,
                ...(m.eastWestGateway ? [m.eastWestGateway] : []),
            ]),
            ...Object.values(remoteSecrets.holders),
        ],
        triggers: [
            ...meshTriggers(plan, members, roots.signing),
            // Each rotation stage changes what the clusters trust: check traffic again.
            ...(roots.next ? [roots.stage ?? "", roots.next.fingerprintSha256] : []),
        ],
    };
}

/** The probe's kubectl uses the user's file when there is one, else the secret content. */
function probeAccess(a: MeshClusterAccess): ClusterProbeAccess {
    return a.kubeconfigPath
        ? { kubeconfigPath: a.kubeconfigPath, context: a.context }
        : { kubeconfig: pulumi.secret(pulumi.output(a.kubeconfig)), context: a.context };
}

/**
 * What, when changed, makes the verification run again: the clusters and their roles and networks,
 * the gateway addresses, and the certificates. Nothing that differs between two identical `up`s.
 */
export function meshTriggers(
    plan: MeshPlan,
    members: Record<string, MeshMember>,
    root: MeshRootCa,
): pulumi.Input<unknown>[] {
    return [
        JSON.stringify(plan.clusters.map((c) => [c.name, c.role, c.network, c.controlPlane])),
        root.fingerprintSha256,
        ...plan.clusters.map((c) => members[c.name].eastWestGateway?.address ?? ""),
        ...plan.clusters.map((c) => members[c.name].intermediateCa?.fingerprintSha256 ?? ""),
    ];
}
