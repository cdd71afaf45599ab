/**
 * The stack outputs: what `pulumi stack output` shows after an update. Expiry dates and
 * fingerprints are plain strings so they read well; private keys never appear here.
 */
import * as pulumi from "@pulumi/pulumi";

import { clusterIstioOutputs } from "./istio-outputs";
import { IstioMulticlusterMesh, IstioMulticlusterMeshArgs } from "./mesh";
import { troubleshootingCommands } from "./verification";

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
            remoteSecretLayout: config.remoteSecrets.layout,
            remoteSecretPairs: plan.remoteSecretPairs.map((p) => `${p.holder} <- ${p.source}`),
        },
        rootCa: {
            certPem: mesh.rootCa.certPem,
            fingerprintSha256: mesh.rootCa.fingerprintSha256,
            notAfter: mesh.rootCa.notAfter,
        },
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
                        ...{ role: cluster.role, network: cluster.network, controlPlane: cluster.controlPlane },
                        istio,
                        apiServer: access[cluster.name].apiServer,
                        remoteSecretsHeld: cluster.remoteSecretSources,
                        watchedBy: cluster.watchedBy,
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
        troubleshooting: troubleshootingCommands(plan, config, contexts),
        verification: mesh.verification?.results,
        verificationMatrix: mesh.verification?.matrix,
    };
}
