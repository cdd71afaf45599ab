/**
 * The mesh PKI: one root of trust and an intermediate CA per cluster that runs istiod, delivered
 * to istiod as the `istio-system/cacerts` Secret. Values come from `pki-spec.ts`.
 *
 * The root private key stays in Pulumi state (encrypted, as a secret) and never goes into any
 * cluster; each cluster only gets its own intermediate key.
 */
import * as fs from "node:fs";

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
    CaConfig,
    ClusterConfig,
    ConfigValidationError,
    IntermediateConfig,
    MeshConfig,
    RootRotationStage,
} from "../config/config";
import { CACERTS_SECRET, ISTIO_NAMESPACE, resourceName } from "../plan/naming";
import {
    cacertsData,
    certChain,
    certificateSummary,
    importedRootCertPem,
    intermediateCertSpec,
    intermediateCsrSpec,
    isRenewalDue,
    privateKeySpec,
    rootCertSpec,
    rootRotationPems,
    signingRoot,
    validateImportedRoot,
} from "./pki-spec";
import { federatedRootCaConfig, peerRootPems } from "./federation";

export interface MeshRootCaArgs {
    /** Root CA settings (`ca` stack config): generate a root, or import the user's own. */
    ca: CaConfig;
    /**
     * Import mode only: the root private key PEM (`caKeyPem`, a secret config value). Treated as a
     * secret whatever is passed. A plain string is checked at construction time, an Output when
     * it resolves.
     */
    importedKeyPem?: pulumi.Input<string>;
    /** Intermediate settings: an imported root must outlive an intermediate issued today. */
    intermediate: IntermediateConfig;
    /**
     * Generate mode: whether the root's key and certificate are `protect`ed. Default true; false
     * only for a root that a rotation is retiring, so that finishing the rotation can delete it.
     */
    protect?: boolean;
    /**
     * Config keys named in import-mode errors: the root's settings (`ca`, or `rootRotation.next`)
     * and its private key (`caKeyPem`, or `nextCaKeyPem`). Default `ca` and `caKeyPem`.
     */
    configPaths?: { ca: string; key: string };
}

/**
 * The mesh-wide root CA. In generate mode its key and certificate are `protect`ed: removing them
 * from the program, `pulumi destroy`, or switching to import mode fails until someone runs
 * `pulumi state unprotect` on purpose (docs/pki.md), because a new root breaks trust between
 * every workload of the mesh.
 */
export class MeshRootCa extends pulumi.ComponentResource {
    /** Root certificate PEM (public). */
    public readonly certPem: pulumi.Output<string>;
    /** Root private key PEM (secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** SHA-256 fingerprint of the root, colon-separated hex. */
    public readonly fingerprintSha256: pulumi.Output<string>;
    /** Expiry of the root, ISO 8601 UTC. */
    public readonly notAfter: pulumi.Output<string>;
    /** Key settings the intermediates use (same algorithm family as the root in generate mode). */
    public readonly ca: CaConfig;

    constructor(name: string, args: MeshRootCaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:pki:MeshRootCa", name, {}, opts);
        this.ca = args.ca;

        const paths = args.configPaths ?? { ca: "ca", key: "caKeyPem" };
        if (args.ca.mode === "federated") {
            throw new Error("A federated mesh has no one root: each primary's root is made by createFederatedRoots.");
        }
        if (args.ca.mode === "import") {
            const { pem, path } = importedRootCertPem(args.ca, undefined, paths.ca);
            if (args.importedKeyPem === undefined) {
                throw new ConfigValidationError([
                    {
                        path: paths.key,
                        message: `${paths.ca}.mode is import, but the root private key is missing.`,
                        fix: `pulumi config set --secret ${paths.key} "$(cat root-key.pem)".`,
                    },
                ]);
            }
            const check = (keyPem: string): string => {
                const problems = validateImportedRoot(pem, keyPem, {
                    intermediateValidityDays: args.intermediate.validityDays,
                    now: new Date(),
                    certPath: path,
                    keyPath: paths.key,
                });
                if (problems.length > 0) {
                    throw new ConfigValidationError(problems);
                }
                return keyPem;
            };
            if (typeof args.importedKeyPem === "string") {
                check(args.importedKeyPem);
            }
            this.certPem = pulumi.output(pem);
            // An unresolved key is checked when it resolves; a mismatch then fails every signing that uses it.
            this.privateKeyPem =
                typeof args.importedKeyPem === "string"
                    ? pulumi.secret(args.importedKeyPem)
                    : pulumi.secret(args.importedKeyPem).apply(check);
        } else {
            // protect: a replaced root would silently split the mesh into two trust domains.
            const protect = args.protect ?? true;
            const key = new tls.PrivateKey(`${name}-key`, privateKeySpec(args.ca), { parent: this, protect });
            const cert = new tls.SelfSignedCert(
                `${name}-cert`,
                { ...rootCertSpec(args.ca), privateKeyPem: key.privateKeyPem },
                { parent: this, protect },
            );
            this.certPem = cert.certPem;
            this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        }

        const summary = this.certPem.apply(certificateSummary);
        this.fingerprintSha256 = summary.fingerprintSha256;
        this.notAfter = summary.notAfter;
        // Key material stays out of the component's outputs: one (secret) copy in state is enough.
        this.registerOutputs({
            certPem: this.certPem,
            fingerprintSha256: this.fingerprintSha256,
            notAfter: this.notAfter,
        });
    }
}

export interface ClusterIntermediateCaArgs {
    /** Cluster name: the intermediate's subject L= and the stem of every child resource name. */
    clusterName: string;
    /** The mesh root that signs this intermediate. */
    root: MeshRootCa;
    /**
     * What `root-cert.pem` holds: the roots the mesh trusts (both roots during a root rotation,
     * {@link MeshRoots.trustBundlePem}). Default: `root` alone.
     */
    trustBundlePem?: pulumi.Input<string>;
    /** Root CA settings: the intermediate key uses the same algorithm family and size. */
    ca: CaConfig;
    /** Validity and early-renewal window of the intermediate. */
    intermediate: IntermediateConfig;
}

/**
 * One cluster's intermediate CA: key, CSR and certificate signed by the mesh root, plus the
 * `cacerts` data for that cluster's istiod. When the certificate enters its renewal window the
 * next `pulumi up --refresh` re-issues it with the same key (docs/pki.md).
 */
export class ClusterIntermediateCa extends pulumi.ComponentResource {
    /** Intermediate certificate PEM. */
    public readonly certPem: pulumi.Output<string>;
    /** Intermediate private key PEM (secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** Intermediate then root: `cert-chain.pem`. */
    public readonly certChainPem: pulumi.Output<string>;
    /** The trust bundle (`root-cert.pem`): the signing root, or both roots during a root rotation. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** SHA-256 fingerprint of the intermediate, colon-separated hex. */
    public readonly fingerprintSha256: pulumi.Output<string>;
    /** Expiry of the intermediate, ISO 8601 UTC. */
    public readonly notAfter: pulumi.Output<string>;
    /** True once the intermediate is inside its early-renewal window (as last read by the provider). */
    public readonly readyForRenewal: pulumi.Output<boolean>;
    /** Secret data of `istio-system/cacerts`: `ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`. */
    public readonly cacertsData: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ClusterIntermediateCaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:pki:ClusterIntermediateCa", name, {}, opts);
        const cluster = args.clusterName;

        const key = new tls.PrivateKey(resourceName(cluster, "intermediate-key"), privateKeySpec(args.ca), {
            parent: this,
        });
        const csr = new tls.CertRequest(
            resourceName(cluster, "intermediate-csr"),
            { ...intermediateCsrSpec(cluster), privateKeyPem: key.privateKeyPem },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            resourceName(cluster, "intermediate-cert"),
            {
                ...intermediateCertSpec(args.intermediate),
                certRequestPem: csr.certRequestPem,
                caCertPem: args.root.certPem,
                caPrivateKeyPem: args.root.privateKeyPem,
            },
            { parent: this },
        );

        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        const trustBundle = pulumi.output(args.trustBundlePem ?? args.root.certPem);
        this.rootCertPem = trustBundle;
        this.certChainPem = pulumi.all([cert.certPem, args.root.certPem]).apply(([c, r]) => certChain(c, r));
        const summary = cert.certPem.apply(certificateSummary);
        this.fingerprintSha256 = summary.fingerprintSha256;
        this.notAfter = summary.notAfter;
        this.readyForRenewal = cert.readyForRenewal;
        this.cacertsData = pulumi.secret(
            pulumi
                .all([cert.certPem, key.privateKeyPem, args.root.certPem, trustBundle])
                .apply(([certPem, keyPem, rootPem, bundlePem]): Record<string, string> =>
                    cacertsData({
                        intermediateCertPem: certPem,
                        intermediateKeyPem: keyPem,
                        rootCertPem: rootPem,
                        trustBundlePem: bundlePem,
                    }),
                ),
        );

        // The provider only flags renewal on refresh (pulumi-tls#39), so name the fix on every run.
        pulumi.all([this.notAfter, cert.urn]).apply(([end, urn]) => {
            if (isRenewalDue(end, args.intermediate.earlyRenewalDays, new Date())) {
                pulumi.log.warn(
                    `The intermediate CA of ${cluster} expires on ${end} and is inside its ` +
                        `${args.intermediate.earlyRenewalDays}-day renewal window. Re-issue it with ` +
                        `\`pulumi up --refresh\`, or if that plans no replacement: pulumi up --replace '${urn}' (docs/pki.md).`,
                    this,
                );
            }
        });

        // A root nearing its end keeps signing intermediates that outlive it; say so on every up.
        pulumi.all([args.root.notAfter, this.notAfter]).apply(([rootEnd, intermediateEnd]) => {
            if (Date.parse(intermediateEnd) > Date.parse(rootEnd)) {
                pulumi.log.warn(
                    `The intermediate CA of ${cluster} (valid until ${intermediateEnd}) outlives the mesh root ` +
                        `(valid until ${rootEnd}); workloads will fail to verify after the root expires. ` +
                        `Plan a root rotation (docs/pki.md).`,
                    this,
                );
            }
        });

        // Key material (the key, cacertsData) stays out of the component's outputs: one secret copy in state is enough.
        this.registerOutputs({
            certPem: this.certPem,
            certChainPem: this.certChainPem,
            rootCertPem: this.rootCertPem,
            fingerprintSha256: this.fingerprintSha256,
            notAfter: this.notAfter,
            readyForRenewal: this.readyForRenewal,
        });
    }
}

/** The mesh's roots: the one that signs, and during a root rotation both of them. */
export interface MeshRoots {
    /** The root that signs every intermediate in this stage (`ca`, or the next root from `issueFromNext`). */
    signing: MeshRootCa;
    /** The root of `ca`. */
    current: MeshRootCa;
    /** During a rotation: the root of `rootRotation.next`. */
    next?: MeshRootCa;
    /** During a rotation: its stage. */
    stage?: RootRotationStage;
    /** `root-cert.pem` of every cluster: the signing root, or both roots during a rotation. */
    trustBundlePem: pulumi.Output<string>;
}

/**
 * Creates the root of `ca` and, while `rootRotation` is set, the next root (docs/pki.md,
 * "Replacing the root"). Both are children of `opts.parent`, named by `ca.name` and
 * `rootRotation.next.name`: when the rotation is finished the next root's name becomes
 * `ca.name`, so it keeps its resources and only the old root's go.
 *
 * `protect` follows the signing: the root that signs the intermediates is protected, the other
 * is not. So an aborted `trustNext` can delete the next root, finishing after `issueFromNext` can
 * delete the old one, and the engine refuses to delete the root in use (finishing straight from
 * `trustNext`, or dropping the rotation during `issueFromNext`).
 */
export function createMeshRoots(
    args: {
        config: Pick<MeshConfig, "ca" | "rootRotation" | "intermediate">;
        /** `caKeyPem`, for an imported `ca`. */
        importedKeyPem?: pulumi.Input<string>;
        /** `nextCaKeyPem`, for an imported next root. */
        importedNextKeyPem?: pulumi.Input<string>;
    },
    opts: { parent: pulumi.Resource },
): MeshRoots {
    const { ca, rootRotation: rotation, intermediate } = args.config;
    const retiring = rotation !== undefined && signingRoot(rotation.stage) === "next";
    const current = new MeshRootCa(
        ca.name,
        { ca, intermediate, importedKeyPem: args.importedKeyPem, protect: !retiring },
        { parent: opts.parent },
    );
    if (!rotation) {
        return { signing: current, current, trustBundlePem: current.certPem };
    }
    const next = new MeshRootCa(
        rotation.next.name,
        {
            ca: rotation.next,
            intermediate,
            importedKeyPem: args.importedNextKeyPem,
            // Protected once it signs; until then an aborted rotation may delete it.
            protect: retiring,
            configPaths: { ca: "rootRotation.next", key: "nextCaKeyPem" },
        },
        { parent: opts.parent },
    );
    const trustBundlePem = pulumi
        .all([current.certPem, next.certPem])
        .apply(([c, n]) => rootRotationPems(c, { stage: rotation.stage, nextRootPem: n }).trustBundlePem);
    return { signing: retiring ? next : current, current, next, stage: rotation.stage, trustBundlePem };
}

/** One primary's root in a federated mesh (`ca.mode: federated`). */
export interface FederatedRoot {
    /** Where it comes from (`clusters[].ca.mode`). */
    source: "generate" | "import" | "existing";
    /** The root that signs this primary's intermediate; undefined for an `existing` CA the program leaves alone. */
    ca?: MeshRootCa;
    /** Root certificate PEM (public). */
    certPem: pulumi.Output<string>;
    /** SHA-256 fingerprint, colon-separated hex. */
    fingerprintSha256: pulumi.Output<string>;
    /** Expiry, ISO 8601 UTC. */
    notAfter: pulumi.Output<string>;
    /** The other primaries' roots this primary's istiod trusts (`meshConfig.caCertificates`), in a stable order. */
    peerRootPems: pulumi.Output<string[]>;
}

/**
 * The roots of a federated mesh, by primary: a generated or imported root for each primary that
 * gets its CA from the program (named `clusters[].ca.name`, default `<cluster>-root`, and
 * `protect`ed like the shared root), and for an `existing` CA only its public certificate. Every
 * primary trusts every other primary's root.
 */
export function createFederatedRoots(
    args: {
        config: Pick<MeshConfig, "ca" | "intermediate" | "clusters">;
        /** Primary → key of its imported root (`caKeyPems.<cluster>`). */
        importedKeyPems?: Record<string, pulumi.Input<string>>;
    },
    opts: { parent: pulumi.Resource },
): Record<string, FederatedRoot> {
    const { config } = args;
    const primaries = config.clusters.filter((c) => c.role === "primary");
    const own: Record<string, Omit<FederatedRoot, "peerRootPems">> = {};
    for (const cluster of primaries) {
        own[cluster.name] = createFederatedRoot(config, cluster, args.importedKeyPems?.[cluster.name], opts);
    }
    const all = pulumi.all(primaries.map((c) => pulumi.all([c.name, own[c.name].certPem])));
    return Object.fromEntries(
        primaries.map((c) => [
            c.name,
            {
                ...own[c.name],
                peerRootPems: all.apply((roots) =>
                    peerRootPems(
                        c.name,
                        roots.map(([cluster, certPem]) => ({ cluster, certPem })),
                    ),
                ),
            },
        ]),
    );
}

function createFederatedRoot(
    config: Pick<MeshConfig, "ca" | "intermediate" | "clusters">,
    cluster: ClusterConfig,
    importedKeyPem: pulumi.Input<string> | undefined,
    opts: { parent: pulumi.Resource },
): Omit<FederatedRoot, "peerRootPems"> {
    const index = config.clusters.indexOf(cluster);
    const own = cluster.ca ?? { mode: "generate" as const };
    if (own.mode === "existing") {
        const certPem = pulumi.output(own.rootCertPem ?? fs.readFileSync(own.rootCertFile ?? "", "utf8"));
        const summary = certPem.apply(certificateSummary);
        return {
            source: "existing",
            certPem,
            fingerprintSha256: summary.fingerprintSha256,
            notAfter: summary.notAfter,
        };
    }
    const caConfig = federatedRootCaConfig(config, cluster);
    const ca = new MeshRootCa(
        caConfig.name,
        {
            ca: caConfig,
            intermediate: config.intermediate,
            importedKeyPem,
            configPaths: { ca: `clusters[${index}].ca`, key: `caKeyPems.${cluster.name}` },
        },
        { parent: opts.parent },
    );
    return {
        source: own.mode,
        ca,
        certPem: ca.certPem,
        fingerprintSha256: ca.fingerprintSha256,
        notAfter: ca.notAfter,
    };
}

/**
 * The `istio-system/cacerts` Secret of one cluster. istiod only picks up a plugged-in CA that
 * exists when it starts (otherwise it makes its own self-signed root), so the caller must make
 * the istiod release depend on the returned Secret.
 */
export function newCacertsSecret(
    cluster: string,
    data: pulumi.Input<Record<string, string>>,
    opts: { provider: k8s.Provider; parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] },
): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(
        resourceName(cluster, CACERTS_SECRET),
        {
            metadata: { name: CACERTS_SECRET, namespace: ISTIO_NAMESPACE },
            type: "Opaque",
            stringData: pulumi.secret(data),
        },
        {
            provider: opts.provider,
            parent: opts.parent,
            dependsOn: opts.dependsOn,
            // The object name is fixed, so a replacement must delete the old Secret first.
            deleteBeforeReplace: true,
        },
    );
}
