/**
 * One cluster's east-west gateway: the `istio-eastwestgateway` release of Istio's `gateway` chart,
 * the exposure objects (cross-network-gateway, istiod-gateway + istiod-vs) and the address the
 * other clusters dial.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MeshConfig } from "../config/config";
import { releaseArgs, IstioControlPlane } from "./istio-control-plane";
import { exposureObjects, IstioObject } from "./istio-manifests";
import { eastWestGatewayValues } from "./istio-values";
import { ClusterPlan, CROSS_NETWORK_PORT, MeshPlan } from "../plan/mesh-plan";
import { EAST_WEST_GATEWAY, RELEASE_EAST_WEST_GATEWAY, resourceName } from "../plan/naming";

export { remotePilotAddressFor } from "./istio-values";

export interface EastWestGatewayArgs {
    /** This cluster's plan; it must have an `eastWestGateway`. */
    cluster: ClusterPlan;
    /** The whole mesh plan. */
    plan: MeshPlan;
    /** Validated stack config. */
    config: MeshConfig;
    /** Kubernetes provider of this cluster (`<cluster>-k8s`). */
    provider: k8s.Provider;
    /** This cluster's control plane: the gateway pod is injected by istiod, so the release waits for it. */
    controlPlane: IstioControlPlane;
    /**
     * Extra prerequisites of the gateway release. For a remote: the remote secrets about this cluster
     * in its primary (its gateway pod is injected and configured by the primary's istiod, which must
     * already watch this cluster).
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The Service as read back from the cluster: only what the address logic needs. */
export interface GatewayServiceView {
    spec?: { ports?: { name?: string; nodePort?: number }[] };
    status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** The address the gateway advertises: the configured one, else its load balancer's IP or hostname. */
export function advertisedAddress(cluster: ClusterPlan, service?: GatewayServiceView): string {
    const gw = cluster.eastWestGateway;
    if (gw?.address) return gw.address;
    const ingress = service?.status?.loadBalancer?.ingress?.[0];
    return ingress?.ip ?? ingress?.hostname ?? "";
}

/**
 * The port other networks dial: the fixed node port or 15443, else (NodePort without a fixed port)
 * the node port Kubernetes assigned to `tls`, 0 while the Service does not report one.
 */
export function advertisedPort(cluster: ClusterPlan, service?: GatewayServiceView): number {
    const gw = cluster.eastWestGateway;
    if (gw?.serviceType !== "NodePort") return CROSS_NETWORK_PORT;
    if (gw.nodePort !== undefined) return gw.nodePort;
    return service?.spec?.ports?.find((p) => p.name === "tls")?.nodePort ?? 0;
}

/** Whether the address/port can only be learned by reading the Service back. */
export function needsServiceRead(cluster: ClusterPlan): boolean {
    const gw = cluster.eastWestGateway;
    if (!gw) return false;
    return gw.serviceType === "NodePort" ? gw.nodePort === undefined : gw.address === undefined;
}

export class EastWestGateway extends pulumi.ComponentResource {
    /** The `istio-eastwestgateway` release. */
    public readonly release: k8s.helm.v3.Release;
    /** `cross-network-gateway`, `istiod-gateway`, `istiod-vs[-<rev>]` as this cluster needs them. */
    public readonly exposure: k8s.apiextensions.CustomResource[];
    /** Address other clusters dial ("" for a NodePort gateway whose nodes istiod discovers itself). */
    public readonly address: pulumi.Output<string>;
    /** Port other networks dial for cross-network mTLS. */
    public readonly port: pulumi.Output<number>;

    constructor(name: string, args: EastWestGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:istio:EastWestGateway", name, {}, opts);
        const { cluster, plan, config, provider, controlPlane } = args;
        if (!cluster.eastWestGateway) {
            throw new Error(`cluster ${cluster.name} gets no east-west gateway in this mesh plan.`);
        }
        const child = { parent: this, provider };

        this.release = new k8s.helm.v3.Release(
            resourceName(cluster.name, RELEASE_EAST_WEST_GATEWAY),
            releaseArgs(
                config,
                "gateway",
                RELEASE_EAST_WEST_GATEWAY,
                eastWestGatewayValues(cluster, plan, config),
                defaultRevisionVersion(cluster),
            ),
            { ...child, dependsOn: [controlPlane.istiod, ...(args.dependsOn ?? [])] },
        );

        // Typed custom resources (not a YAML component) so each object is a resource of its own:
        // visible in previews, to policies and to tests, on this cluster's provider.
        this.exposure = exposureObjects(cluster, config).map(
            (obj: IstioObject) =>
                new k8s.apiextensions.CustomResource(resourceName(cluster.name, obj.metadata.name), obj, {
                    ...child,
                    dependsOn: [this.release],
                }),
        );

        let address: pulumi.Output<string>;
        if (needsServiceRead(cluster)) {
            // The id comes from the release's status, so a preview of a release that does not exist
            // yet reads nothing (unknown id) instead of failing on a missing Service.
            const service = k8s.core.v1.Service.get(
                resourceName(cluster.name, `${EAST_WEST_GATEWAY}-service`),
                this.release.status.apply((s) => `${s.namespace}/${EAST_WEST_GATEWAY}`),
                { ...child, dependsOn: [this.release] },
            );
            const view = pulumi
                .all([service.spec, service.status])
                .apply(([spec, status]) => ({ spec, status }) as GatewayServiceView);
            address = view.apply((v) => advertisedAddress(cluster, v));
            this.port = view.apply((v) => advertisedPort(cluster, v));
        } else {
            address = pulumi.output(advertisedAddress(cluster));
            this.port = pulumi.output(advertisedPort(cluster));
        }
        // Whoever consumes the address (a remote's remotePilotAddress) also waits for the gateway and
        // its exposure objects, even when the address comes straight from config.
        const ready: pulumi.Output<unknown>[] = [this.release.status, ...this.exposure.map((e) => e.id)];
        this.address = pulumi.all([address, pulumi.all(ready)]).apply(([a]) => a);

        this.registerOutputs({
            release: this.release,
            exposure: this.exposure,
            address: this.address,
            port: this.port,
        });
    }
}

/** With revisions, the gateway chart runs at the version of the revision that injects its pods. */
export function defaultRevisionVersion(cluster: ClusterPlan): string | undefined {
    const r = cluster.revisions;
    return r?.revisions.find((x) => x.name === r.defaultRevision)?.version;
}
