/**
 * One cluster's Istio control plane: `istio-system`, `cacerts` (primaries), and the `istio-base`
 * and `istiod` Helm releases of Istio's official charts, in the order Istio needs them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MeshConfig } from "../config/config";
import { namespaceMetadata } from "./istio-manifests";
import {
    baseValues,
    chartSource,
    ChartKey,
    HelmValues,
    istiodValues,
    remotePilotAddressFor,
    revisionIstiodValues,
} from "./istio-values";
import { ClusterPlan, MeshPlan } from "../plan/mesh-plan";
import { newCacertsSecret } from "../pki/pki";
import { ISTIO_NAMESPACE, RELEASE_BASE, RELEASE_ISTIOD, resourceName } from "../plan/naming";

export interface IstioControlPlaneArgs {
    /** This cluster's plan (role, network, serving primary, …). */
    cluster: ClusterPlan;
    /** The whole mesh plan (`global.meshNetworks` is mesh-wide). */
    plan: MeshPlan;
    /** Validated stack config (versions, chart repository, values overrides). */
    config: MeshConfig;
    /** Kubernetes provider of this cluster (`<cluster>-k8s`). */
    provider: k8s.Provider;
    /**
     * Primaries: the intermediate CA for the `cacerts` Secret, exactly the keys `ca-cert.pem`,
     * `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`. Kept secret end to end. Required for primaries,
     * except one whose federated root is `existing` (its Istio keeps its own CA; no `cacerts` is made).
     */
    cacerts?: pulumi.Input<Record<string, string>>;
    /**
     * Primaries of a federated mesh: the other primaries' roots, which this istiod trusts through
     * `meshConfig.caCertificates` (`FederatedRoot.peerRootPems`). Public certificates only.
     */
    peerRootPems?: pulumi.Input<string[]>;
    /**
     * Remotes: the advertised address of the serving primary's east-west gateway (its
     * `EastWestGateway.address`). Must resolve to an IP; a hostname is refused with the fix.
     */
    remotePilotAddress?: pulumi.Input<string>;
    /**
     * Remotes: resources that must be in place before this cluster's istiod release, typically the
     * serving primary's `EastWestGateway` (its istiod-gateway/istiod-vs carry the remote's webhook and
     * xDS traffic).
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The `helm.v3.Release` inputs shared by every Istio release of the program. */
export function releaseArgs(
    config: MeshConfig,
    chart: ChartKey,
    name: string,
    values: pulumi.Input<HelmValues>,
    version?: string,
) {
    return {
        name,
        ...chartSource(config, chart, version),
        namespace: ISTIO_NAMESPACE,
        // Roll back a failed upgrade (or remove a failed install) instead of leaving a half-applied chart.
        atomic: true,
        values,
    };
}

export class IstioControlPlane extends pulumi.ComponentResource {
    /** `istio-system`: a Namespace, or a NamespacePatch when the cluster config sets `adopt`. */
    public readonly namespace: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;
    /** The `istio-base` release (CRDs, reader ServiceAccount, default validator). */
    public readonly base: k8s.helm.v3.Release;
    /**
     * The `istiod` release (control plane, or the remote profile's webhooks and Service); with
     * `revisions`, the default revision's `istiod-<name>` release.
     */
    public readonly istiod: k8s.helm.v3.Release;
    /** With `revisions`: every revision's `istiod-<name>` release, by revision name; else empty. */
    public readonly istiods: Record<string, k8s.helm.v3.Release>;
    /** The `cacerts` Secret (primaries only). */
    public readonly cacertsSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: IstioControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:istio:IstioControlPlane", name, {}, opts);
        const { cluster, plan, config, provider } = args;
        const keepsOwnCa = cluster.root?.source === "existing";
        if (cluster.role === "primary" && args.cacerts === undefined && !keepsOwnCa) {
            throw new Error(
                `cluster ${cluster.name} is a primary: its control plane needs the cacerts intermediate CA.`,
            );
        }
        if (cluster.role === "remote" && args.remotePilotAddress === undefined) {
            throw new Error(
                `cluster ${cluster.name} is a remote: its control plane needs remotePilotAddress, the east-west ` +
                    `gateway address of its primary ${cluster.controlPlane}.`,
            );
        }
        const child = { parent: this, provider };
        const md = namespaceMetadata(cluster);

        // `adopt`: a NamespacePatch applies only our label/annotation with server-side apply (creating the
        // namespace if missing) and, on destroy, gives up those fields instead of deleting the namespace
        // and everything in it. A provider-wide `upsertExistingObjects` would adopt every object in the
        // cluster silently; the patch limits adoption to this one object. Without `adopt`, a plain
        // Namespace fails on AlreadyExists rather than taking over someone else's istio-system.
        this.namespace = cluster.config.adopt
            ? new k8s.core.v1.NamespacePatch(resourceName(cluster.name, ISTIO_NAMESPACE), { metadata: md }, child)
            : new k8s.core.v1.Namespace(resourceName(cluster.name, ISTIO_NAMESPACE), { metadata: md }, child);

        if (cluster.role === "primary" && args.cacerts !== undefined) {
            this.cacertsSecret = newCacertsSecret(cluster.name, args.cacerts, {
                provider,
                parent: this,
                dependsOn: [this.namespace],
            });
        }

        // With revisions, base runs at the newest revision's version: its CRDs only ever move forward.
        this.base = new k8s.helm.v3.Release(
            resourceName(cluster.name, RELEASE_BASE),
            releaseArgs(config, "base", RELEASE_BASE, baseValues(cluster, config), cluster.revisions?.baseVersion),
            { ...child, dependsOn: [this.namespace] },
        );

        const after: pulumi.Input<pulumi.Resource>[] = [this.namespace, this.base];
        if (this.cacertsSecret) after.push(this.cacertsSecret);
        // istiod mounts cacerts only at start: created before it, istiod never self-signs a root.
        const istiodOpts = { ...child, dependsOn: [...after, ...(args.dependsOn ?? [])] };
        if (cluster.revisions) {
            this.istiods = revisionReleases(args, istiodOpts);
            this.istiod = this.istiods[cluster.revisions.defaultRevision];
        } else {
            this.istiods = {};
            const values = istiodValuesInput(args, (address, peers) =>
                istiodValues(cluster, plan, config, address, peers),
            );
            this.istiod = new k8s.helm.v3.Release(
                resourceName(cluster.name, RELEASE_ISTIOD),
                releaseArgs(config, "istiod", RELEASE_ISTIOD, values),
                istiodOpts,
            );
        }

        this.registerOutputs({
            namespace: this.namespace,
            base: this.base,
            istiod: this.istiod,
            istiods: this.istiods,
            cacertsSecret: this.cacertsSecret,
        });
    }
}

/**
 * An istiod release's values: computed at once on a primary (in a federated mesh once the peer
 * roots are known); on a remote once the serving primary's gateway address is known (it becomes
 * `global.remotePilotAddress`).
 */
function istiodValuesInput(
    args: IstioControlPlaneArgs,
    values: (remotePilotAddress?: string, peerRootPems?: string[]) => HelmValues,
): pulumi.Input<HelmValues> {
    const { cluster } = args;
    if (cluster.role === "primary") {
        // A federated primary's values wait for its peers' roots (generated roots are outputs).
        return args.peerRootPems === undefined
            ? values()
            : pulumi.output(args.peerRootPems).apply((peers) => values(undefined, peers));
    }
    return pulumi
        .output(args.remotePilotAddress!)
        .apply((address) => values(remotePilotAddressFor(address, cluster.controlPlane, istiodChartVersions(args))));
}

/** The chart versions of the cluster's istiod releases: one per revision, else `istioVersion`. */
function istiodChartVersions(args: IstioControlPlaneArgs): string[] {
    const revisions = args.cluster.revisions?.revisions;
    return revisions ? revisions.map((r) => r.version) : [args.config.istioVersion];
}

/**
 * One `istiod-<name>` release per revision of the cluster, at the revision's chart version.
 * A tag's webhook belongs to one Helm release at a time: the release taking the default tag (and
 * the tags moving with it) is updated only after every other revision's release has let go of
 * them, in a move and in its rollback alike.
 */
function revisionReleases(
    args: IstioControlPlaneArgs,
    opts: pulumi.CustomResourceOptions & { dependsOn: pulumi.Input<pulumi.Resource>[] },
): Record<string, k8s.helm.v3.Release> {
    const { cluster, plan, config } = args;
    const releases: Record<string, k8s.helm.v3.Release> = {};
    const ordered = [...cluster.revisions!.revisions].sort((a, b) => Number(a.isDefault) - Number(b.isDefault));
    for (const revision of ordered) {
        const release = `${RELEASE_ISTIOD}-${revision.name}`;
        const values = istiodValuesInput(args, (address, peers) =>
            revisionIstiodValues(cluster, plan, config, revision, address, peers),
        );
        const others = revision.isDefault ? Object.values(releases) : [];
        releases[revision.name] = new k8s.helm.v3.Release(
            resourceName(cluster.name, release),
            releaseArgs(config, "istiod", release, values, revision.version),
            { ...opts, dependsOn: [...opts.dependsOn, ...others] },
        );
    }
    return releases;
}
