/**
 * A federated mesh as plain data (`ca.mode: federated`): every primary keeps a root of its own,
 * and every primary's istiod trusts the roots of all the others through `meshConfig.caCertificates`.
 * Nothing here needs Pulumi; `pki.ts` makes the roots and `istio-values.ts` writes the trust.
 */
import { CaConfig, ClusterConfig, MeshConfig } from "../config/config";
import { clusterRootName } from "../plan/naming";
import { certificateSummary, withTrailingNewline } from "./pki-spec";

/** The settings of a root the program makes or imports for one primary of a federated mesh. */
export function federatedRootCaConfig(config: Pick<MeshConfig, "ca">, cluster: ClusterConfig): CaConfig {
    const own = cluster.ca ?? { mode: "generate" as const };
    if (own.mode === "existing") {
        throw new Error(`cluster ${cluster.name} keeps its existing CA: the program makes no root for it.`);
    }
    return {
        ...config.ca,
        name: clusterRootName(cluster),
        mode: own.mode,
        // One subject per root: chain builders look issuers up by subject first.
        commonName: own.commonName ?? `${config.ca.commonName} ${cluster.name}`,
        certPem: own.mode === "import" ? own.certPem : undefined,
        certFile: own.mode === "import" ? own.certFile : undefined,
    };
}

/** One primary's root, as its PEM. */
export interface PrimaryRootPem {
    /** The primary. */
    cluster: string;
    /** Its root certificate PEM. */
    certPem: string;
}

/**
 * The roots `cluster`'s istiod must trust besides its own: every other primary's root, in the
 * order of the primaries' names (so the order of `clusters` never changes a value), each root
 * once, and never its own (a primary that shares a root with a peer trusts it already).
 */
export function peerRootPems(cluster: string, roots: readonly PrimaryRootPem[]): string[] {
    const own = roots.find((r) => r.cluster === cluster);
    const seen = new Set<string>(own ? [certificateSummary(own.certPem).fingerprintSha256] : []);
    const result: string[] = [];
    for (const root of [...roots].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0))) {
        if (root.cluster === cluster) continue;
        const fingerprint = certificateSummary(root.certPem).fingerprintSha256;
        if (seen.has(fingerprint)) continue;
        seen.add(fingerprint);
        result.push(withTrailingNewline(root.certPem));
    }
    return result;
}

/** What `pulumi stack output` shows about one primary's root in a federated mesh. */
export interface FederatedRootSummary {
    /** Where the root comes from: `generate`, `import` or `existing`. */
    source: "generate" | "import" | "existing";
    /** SHA-256 fingerprint, colon-separated hex. */
    fingerprintSha256: string;
    /** Expiry, ISO 8601 UTC. */
    notAfter: string;
    /** Subject of the root. */
    subject: string;
    /** Fingerprints of the peer roots this primary's istiod trusts (`meshConfig.caCertificates`), in order. */
    trustsPeerRoots: string[];
}

export function federatedRootSummary(
    source: FederatedRootSummary["source"],
    ownPem: string,
    peerPems: readonly string[],
): FederatedRootSummary {
    const own = certificateSummary(ownPem);
    return {
        source,
        fingerprintSha256: own.fingerprintSha256,
        notAfter: own.notAfter,
        subject: own.subject,
        trustsPeerRoots: peerPems.map((pem) => certificateSummary(pem).fingerprintSha256),
    };
}
