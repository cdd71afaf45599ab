/**
 * The stack outputs: what `pulumi stack output` shows after an update. Expiry dates and
 * fingerprints are plain strings so they read well; private keys never appear here.
 */
import * as pulumi from "@pulumi/pulumi";

import { MeshConfig } from "../config/config";
import { clusterIstioOutputs } from "../istio/istio-outputs";
import { IstioMulticlusterMesh, IstioMulticlusterMeshArgs } from "./mesh";
import { meshDiagram } from "./mesh-diagram";
import { RootRotationSummary, rootRotationSummary } from "../pki/pki-spec";
import { FederatedRootSummary, federatedRootSummary } from "../pki/federation";
import { ClusterPlan } from "../plan/mesh-plan";
import { troubleshootingCommands } from "../verification/verification";
import { ReaderCredentialSummary, readerCredentialSummaries } from "../remote-secrets/reader-accounts";

/**
 * During a root rotation: its stage, which root signs, both roots' fingerprints and expiries, and
 * the fingerprints in `root-cert.pem` (docs/pki.md). Undefined otherwise.
 */
function rotationOutput(
    mesh: IstioMulticlusterMesh,
    config: MeshConfig,
): pulumi.Output<RootRotationSummary> | undefined {
    if (!mesh.roots) return undefined;
    const { current, next, stage } = mesh.roots;
    const rotation = config.rootRotation;
    if (!next || !stage || !rotation) return undefined;
    return pulumi
        .all([current.certPem, next.certPem])
        .apply(([c, n]) =>
            rootRotationSummary(stage, { name: config.ca.name, certPem: c }, { name: rotation.next.name, certPem: n }),
        );
}

/**
 * A primary's own root in a federated mesh: where it comes from, its fingerprint and expiry, and
 * the fingerprints of the peer roots its istiod trusts. Undefined with one shared root (see `rootCa`).
 */
function federatedRootOutput(
    mesh: IstioMulticlusterMesh,
    cluster: ClusterPlan,
): pulumi.Output<FederatedRootSummary> | undefined {
    const root = mesh.federatedRoots?.[cluster.name];
    if (!root) return undefined;
    return pulumi
        .all([root.certPem, root.peerRootPems])
        .apply(([own, peers]) => federatedRootSummary(root.source, own, peers));
}

/** The Mermaid diagram of the mesh with the gateway addresses the clusters report after `up`. */
/**
 * Per holder and watched cluster, the credential its remote secret carries; a minted token's
 * expiry comes from the token itself, since only the API server's answer knows it.
 */
function readerCredentialsOutput(
    mesh: IstioMulticlusterMesh,
    pairs: readonly { holder: string; source: string }[],
    config: MeshConfig,
): Record<string, Record<string, pulumi.Input<ReaderCredentialSummary>>> {
    const summaries = readerCredentialSummaries(pairs, config.remoteSecrets);
    const { readers, holderReaders } = mesh.remoteSecrets;
    return Object.fromEntries(
        Object.entries(summaries).map(([holder, bySource]) => [
            holder,
            Object.fromEntries(
                Object.entries(bySource).map(([source, summary]) => {
                    const expiresAt = (holderReaders[source]?.[holder] ?? readers[source])?.expiresAt;
                    return [source, expiresAt ? expiresAt.apply((expires) => ({ ...summary, expires })) : summary];
                }),
            ),
        ]),
    );
}

function meshDiagramOutput(mesh: IstioMulticlusterMesh, args: IstioMulticlusterMeshArgs): pulumi.Output<string> {
    const gateways = args.plan.clusters.flatMap((c) => {
        const gw = mesh.members[c.name].eastWestGateway;
        return gw ? [pulumi.all([c.name, gw.address, gw.port])] : [];
    });
    return pulumi.all(gateways).apply((known) => {
        const liveGatewayAddresses = Object.fromEntries(
            known.filter(([, address]) => address).map(([name, address, port]) => [name, `${address}:${port}`]),
        );
        return meshDiagram(args.plan, args.config, { liveGatewayAddresses });
    });
}

/** Builds every stack output of the program from the mesh and its inputs. */
export function meshStackOutputs(mesh: IstioMulticlusterMesh, args: IstioMulticlusterMeshArgs) {
    const { config, plan, access } = args;
    const contexts = Object.fromEntries(plan.clusters.map((c) => [c.name, access[c.name]?.context]));
    return {
        mesh: {
            meshId: config.meshId,
            trustDomain: config.trustDomain,
            istioVersion: config.istioVersion,
            controlPlaneModel: plan.controlPlaneModel,
            networkModel: plan.networkModel,
            networks: plan.networks,
            trustModel: plan.trustModel,
            remoteSecretLayout: config.remoteSecrets.layout,
            remoteSecretPairs: plan.remoteSecretPairs.map((p) => `${p.holder} <- ${p.source}`),
        },
        rootCa: mesh.rootCa
            ? {
                  certPem: mesh.rootCa.certPem,
                  fingerprintSha256: mesh.rootCa.fingerprintSha256,
                  notAfter: mesh.rootCa.notAfter,
                  rotation: rotationOutput(mesh, config),
              }
            : undefined,
        clusters: Object.fromEntries(
            plan.clusters.map((cluster) => {
                const member = mesh.members[cluster.name];
                const gateway = member.eastWestGateway;
                const istio = gateway
                    ? pulumi
                          .all([gateway.address, gateway.port])
                          .apply(([address, port]) => clusterIstioOutputs(cluster, config, { address, port }))
                    : pulumi.output(clusterIstioOutputs(cluster, config));
                const ica = member.intermediateCa;
                return [
                    cluster.name,
                    {
                        role: cluster.role,
                        network: cluster.network,
                        controlPlane: cluster.controlPlane,
                        istio,
                        apiServer: access[cluster.name].apiServer,
                        remoteSecretsHeld: cluster.remoteSecretSources,
                        watchedBy: cluster.watchedBy,
                        root: federatedRootOutput(mesh, cluster),
                        intermediateCa: ica
                            ? {
                                  certPem: ica.certPem,
                                  fingerprintSha256: ica.fingerprintSha256,
                                  notAfter: ica.notAfter,
                                  renewalDue: ica.readyForRenewal,
                              }
                            : undefined,
                    },
                ];
            }),
        ),
        meshDiagram: meshDiagramOutput(mesh, args),
        troubleshooting: troubleshootingCommands(plan, config, contexts),
        verification: mesh.verification?.results,
        verificationMatrix: mesh.verification?.matrix,
        readerCredentials: readerCredentialsOutput(mesh, plan.remoteSecretPairs, config),
    };
}
