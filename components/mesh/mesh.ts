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
import { createMeshRemoteSecrets, MeshRemoteSecrets } from "../remote-secrets/remote-secrets";
import { ClusterProbeAccess, MeshVerification } from "../verification/verification";

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
        const child = { parent: this };
        const missing = plan.clusters.filter((c) => !access[c.name]).map((c) => c.name);
        if (missing.length > 0) throw new Error(`IstioMulticlusterMesh: no access given for ${missing.join(", ")}`);

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

        // ca.name (default mesh-root) is part of the root's URNs; a finished rotation hands it to the next root.
        this.roots = createMeshRoots(
            { config, importedKeyPem: args.importedRootKeyPem, importedNextKeyPem: args.importedNextRootKeyPem },
            child,
        );
        this.rootCa = this.roots.signing;

        const members: Record<string, MeshMember> = {};
        // Primaries first: each is self-contained up to its east-west gateway and exposure objects.
        for (const cluster of plan.clusters.filter((c) => c.runsIstiod)) {
            const provider = providers[cluster.name];
            const intermediateCa = new ClusterIntermediateCa(
                `${cluster.name}-intermediate-ca`,
                {
                    clusterName: cluster.name,
                    root: this.rootCa,
                    ca: this.rootCa.ca,
                    intermediate: config.intermediate,
                    trustBundlePem: this.roots.trustBundlePem,
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
            members[cluster.name] = { plan: cluster, provider, controlPlane, intermediateCa, eastWestGateway };
        }

        // Remotes: istiod's remote profile points at the serving primary's gateway, which must also
        // already expose istiod (its address output waits for the exposure objects).
        for (const cluster of plan.clusters.filter((c) => !c.runsIstiod)) {
            const primaryGateway = members[cluster.controlPlane]?.eastWestGateway;
            if (!primaryGateway) {
                throw new Error(`cluster ${cluster.controlPlane} serves ${cluster.name} but has no east-west gateway`);
            }
            const controlPlane = new IstioControlPlane(
                `${cluster.name}-control-plane`,
                {
                    cluster,
                    plan,
                    config,
                    provider: providers[cluster.name],
                    remotePilotAddress: primaryGateway.address,
                    dependsOn: [primaryGateway],
                },
                child,
            );
            members[cluster.name] = { plan: cluster, provider: providers[cluster.name], controlPlane };
        }

        this.remoteSecrets = createMeshRemoteSecrets(
            {
                plan,
                settings: config.remoteSecrets,
                clusters: Object.fromEntries(
                    plan.clusters.map((c) => [
                        c.name,
                        {
                            provider: providers[c.name],
                            apiServer: access[c.name].apiServer,
                            tlsServerName: c.config.apiServerTlsServerName,
                            istioReleases: [members[c.name].controlPlane.base, members[c.name].controlPlane.istiod],
                            namespace: members[c.name].controlPlane.namespace,
                        },
                    ]),
                ),
            },
            child,
        );

        // A remote's gateway pod is injected and configured by its primary's istiod, which can do that
        // only once it holds the remote secret about this cluster.
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
                    dependsOn: this.remoteSecrets.secretsAbout[cluster.name] ?? [],
                },
                child,
            );
        }
        this.members = members;

        if (config.verify) {
            this.verification = new MeshVerification(
                `${name}-verify`,
                {
                    plan,
                    config,
                    providers,
                    access: Object.fromEntries(plan.clusters.map((c) => [c.name, probeAccess(access[c.name])])),
                    dependsOn: [
                        ...Object.values(members).flatMap((m) => [
                            m.controlPlane,
                            ...(m.eastWestGateway ? [m.eastWestGateway] : []),
                        ]),
                        ...Object.values(this.remoteSecrets.holders),
                    ],
                    triggers: [
                        ...meshTriggers(plan, members, this.rootCa),
                        // Each rotation stage changes what the clusters trust: check traffic again.
                        ...(this.roots.next ? [this.roots.stage ?? "", this.roots.next.fingerprintSha256] : []),
                    ],
                },
                child,
            );
        }

        this.registerOutputs({
            rootFingerprintSha256: this.rootCa.fingerprintSha256,
            verification: this.verification?.results,
        });
    }
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
