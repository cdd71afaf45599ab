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
import {
    ClusterIntermediateCa,
    createFederatedRoots,
    createMeshRoots,
    FederatedRoot,
    MeshRootCa,
    MeshRoots,
} from "../pki/pki";
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
    /** Federated mesh: primary → private key PEM of its imported root (`caKeyPems`). Treated as secrets. */
    importedClusterRootKeyPems?: Record<string, pulumi.Input<string>>;
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
    /** One shared root (`ca.mode` generate or import): the root that signs the intermediates. */
    public readonly rootCa?: MeshRootCa;
    /** One shared root: both roots and the trust bundle while `rootRotation` is set; otherwise `rootCa` alone. */
    public readonly roots?: MeshRoots;
    /** A federated mesh (`ca.mode: federated`): each primary's own root, by primary. */
    public readonly federatedRoots?: Record<string, FederatedRoot>;
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
        if (plan.trustModel === "federated") {
            this.federatedRoots = createFederatedRoots(
                { config, importedKeyPems: args.importedClusterRootKeyPems },
                build.child,
            );
        } else {
            // ca.name (default mesh-root) is part of the root's URNs; a finished rotation hands it to the next root.
            this.roots = createMeshRoots(
                { config, importedKeyPem: args.importedRootKeyPem, importedNextKeyPem: args.importedNextRootKeyPem },
                build.child,
            );
            this.rootCa = this.roots.signing;
        }
        const trust = primaryTrust(this.roots, this.federatedRoots);

        const members: Record<string, MeshMember> = {};
        // Primaries first: each is self-contained up to its east-west gateway and exposure objects.
        for (const cluster of plan.clusters.filter((c) => c.runsIstiod)) {
            members[cluster.name] = createPrimary(build, cluster, providers[cluster.name], trust(cluster.name));
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
                verificationArgs(build, access, providers, members, this.remoteSecrets, this),
                build.child,
            );
        }

        this.registerOutputs({
            rootFingerprintSha256: this.rootCa?.fingerprintSha256,
            federatedRootFingerprints: this.federatedRoots
                ? Object.fromEntries(Object.entries(this.federatedRoots).map(([c, r]) => [c, r.fingerprintSha256]))
                : undefined,
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

/** What one primary's CA and istiod trust are made of. */
interface PrimaryTrust {
    /** The root that signs its intermediate; undefined when its Istio keeps an existing CA. */
    signing?: MeshRootCa;
    /** Its `root-cert.pem` (both roots during a rotation); default the signing root. */
    trustBundlePem?: pulumi.Output<string>;
    /** Federated: the peer roots its istiod trusts. */
    peerRootPems?: pulumi.Output<string[]>;
}

/** Each primary's trust: the shared roots, or in a federated mesh its own root and its peers'. */
function primaryTrust(
    roots: MeshRoots | undefined,
    federatedRoots: Record<string, FederatedRoot> | undefined,
): (cluster: string) => PrimaryTrust {
    return (cluster) => {
        if (roots) return { signing: roots.signing, trustBundlePem: roots.trustBundlePem };
        const own = federatedRoots?.[cluster];
        if (!own) throw new Error(`primary ${cluster} has no root in this federated mesh`);
        return { signing: own.ca, peerRootPems: own.peerRootPems };
    };
}

/** A primary: its intermediate CA, its control plane with that CA, and its east-west gateway. */
function createPrimary(
    { config, plan, child }: MeshBuild,
    cluster: ClusterPlan,
    provider: k8s.Provider,
    trust: PrimaryTrust,
): MeshMember {
    // A primary whose Istio keeps its existing CA gets no intermediate and no cacerts.
    const intermediateCa = trust.signing
        ? new ClusterIntermediateCa(
              `${cluster.name}-intermediate-ca`,
              {
                  clusterName: cluster.name,
                  root: trust.signing,
                  ca: trust.signing.ca,
                  intermediate: config.intermediate,
                  trustBundlePem: trust.trustBundlePem,
              },
              child,
          )
        : undefined;
    const controlPlane = new IstioControlPlane(
        `${cluster.name}-control-plane`,
        {
            cluster,
            plan,
            config,
            provider,
            cacerts: intermediateCa?.cacertsData,
            peerRootPems: trust.peerRootPems,
        },
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
                    istioReleases: [members[c.name].controlPlane.base, ...istiodReleases(members[c.name])],
                    namespace: members[c.name].controlPlane.namespace,
                    access: { kubeconfig: pulumi.secret(access[c.name].kubeconfig), context: access[c.name].context },
                },
            ]),
        ),
    };
}

/**
 * Every istiod release of a member: with revisions all of them, so that moving the default
 * revision changes nothing that waits for "the" istiod.
 */
function istiodReleases(member: MeshMember): k8s.helm.v3.Release[] {
    const all = Object.values(member.controlPlane.istiods);
    return all.length > 0 ? all : [member.controlPlane.istiod];
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
    mesh: Pick<IstioMulticlusterMesh, "roots" | "federatedRoots">,
): MeshVerificationArgs {
    const roots = mesh.roots;
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
            ...meshTriggers(plan, members, rootFingerprints(mesh)),
            // Each rotation stage changes what the clusters trust: check traffic again.
            ...(roots?.next ? [roots.stage ?? "", roots.next.fingerprintSha256] : []),
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
    rootFingerprints: pulumi.Input<string>[],
): pulumi.Input<unknown>[] {
    return [
        JSON.stringify(plan.clusters.map((c) => [c.name, c.role, c.network, c.controlPlane])),
        ...rootFingerprints,
        ...plan.clusters.map((c) => members[c.name].eastWestGateway?.address ?? ""),
        ...plan.clusters.map((c) => members[c.name].intermediateCa?.fingerprintSha256 ?? ""),
        // With revisions, a moved default or tag changes the data path the probe crosses.
        ...(plan.clusters.some((c) => c.revisions)
            ? [JSON.stringify(plan.clusters.map((c) => [c.name, c.revisions?.tags ?? {}]))]
            : []),
    ];
}

/** The signing root's fingerprint, or in a federated mesh every primary's, in the plan's order. */
function rootFingerprints(mesh: Pick<IstioMulticlusterMesh, "roots" | "federatedRoots">): pulumi.Output<string>[] {
    if (mesh.roots) return [mesh.roots.signing.fingerprintSha256];
    return Object.keys(mesh.federatedRoots ?? {})
        .sort()
        .map((cluster) => mesh.federatedRoots![cluster].fingerprintSha256);
}
