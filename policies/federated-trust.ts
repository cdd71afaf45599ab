/**
 * Trust across several roots: in a federated mesh (a root per primary) and during a root
 * rotation, every primary's istiod must trust every root of the mesh, either as its own
 * (`cacerts` root-cert.pem) or through `meshConfig.caCertificates`, and the latter only counts
 * when istiod runs multi-root and its proxies take the trust bundle over xDS.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { X509Certificate } from "node:crypto";
import { CACERTS_SECRET, IstiodRelease, MeshGraph, buildMeshGraph, onSameProvider, toStackNodes, where } from "./graph";
import { SECRET_TYPE, at, certificatesIn, isTrue, isUnknown, objectName, secretEntries } from "./inspect";

/** The roots a primary's istiod trusts: its own (`cacerts`, unless it keeps its CA) and its peer list. */
interface PrimaryTrust {
    istiod: IstiodRelease;
    /** Fingerprints of its `cacerts` root-cert.pem; undefined when it has no `cacerts` in the stack. */
    own?: Set<string>;
    /** Fingerprints of `meshConfig.caCertificates[].pem`. */
    peers: Set<string>;
    /** `ISTIO_MULTIROOT_MESH` and `PROXY_CONFIG_XDS_AGENT` are on, without which the peer list is ignored. */
    multiRoot: boolean;
}

const fingerprints = (pem: string): string[] => certificatesIn(pem).map((c: X509Certificate) => c.fingerprint256);

function ownRoots(graph: MeshGraph, istiod: IstiodRelease): Set<string> | undefined | "unknown" {
    const cacerts = onSameProvider(graph, istiod.node).find(
        (n) => n.type === SECRET_TYPE && objectName(n.props) === CACERTS_SECRET,
    );
    if (!cacerts) return undefined;
    const entries = secretEntries(cacerts.props);
    if (isUnknown(entries)) return "unknown";
    const root = entries.get("root-cert.pem");
    return typeof root === "string" ? new Set(fingerprints(root)) : "unknown";
}

/** Each primary's trust, or undefined when preview does not know enough to judge. */
function primaryTrusts(graph: MeshGraph): PrimaryTrust[] | undefined {
    const result: PrimaryTrust[] = [];
    for (const istiod of graph.istiods.filter((i) => i.remote === false)) {
        const own = ownRoots(graph, istiod);
        const list = at(istiod.release.values, "meshConfig", "caCertificates");
        if (own === "unknown" || isUnknown(list)) return undefined;
        const peers = new Set<string>();
        for (const entry of Array.isArray(list) ? list : []) {
            const pem = at(entry, "pem");
            if (isUnknown(pem)) return undefined;
            if (typeof pem === "string") for (const f of fingerprints(pem)) peers.add(f);
        }
        const values = istiod.release.values;
        const multiRoot =
            (isTrue(at(values, "env", "ISTIO_MULTIROOT_MESH")) ||
                isTrue(at(values, "pilot", "env", "ISTIO_MULTIROOT_MESH"))) &&
            isTrue(at(values, "meshConfig", "defaultConfig", "proxyMetadata", "PROXY_CONFIG_XDS_AGENT"));
        result.push({ istiod, own, peers, multiRoot });
    }
    return result;
}

export const federatedRootsTrusted: StackValidationPolicy = {
    name: "federated-roots-trusted",
    description:
        "When the mesh has more than one root (a root per primary, or a rotation), every primary's istiod trusts " +
        "every root of the mesh: its own cacerts root-cert.pem plus meshConfig.caCertificates, the latter with " +
        "ISTIO_MULTIROOT_MESH and PROXY_CONFIG_XDS_AGENT on (without them Istio ignores the list).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Let the program write the trust (ca.mode: federated lists every other primary's root); never override " +
        "meshConfig.caCertificates or the multi-root settings through values.",
    validateStack: (args, report) => {
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const trusts = primaryTrusts(graph);
        if (!trusts) return;
        const all = new Set<string>();
        for (const t of trusts) for (const f of [...(t.own ?? []), ...t.peers]) all.add(f);
        if (all.size <= 1) return;
        for (const t of trusts) {
            const label = `istiod release ${t.istiod.node.name} in ${where(t.istiod.node)}`;
            if (t.peers.size > 0 && !t.multiRoot) {
                report(
                    `${label} lists peer roots in meshConfig.caCertificates without ISTIO_MULTIROOT_MESH and ` +
                        `PROXY_CONFIG_XDS_AGENT, so its proxies never receive them.`,
                    t.istiod.node.urn,
                );
            }
            const trusted = new Set([...(t.own ?? []), ...t.peers]);
            const missing = [...all].filter((f) => !trusted.has(f));
            // A primary that keeps its own CA has no cacerts here: its own root is one of the others' peers.
            const allowed = t.own === undefined ? 1 : 0;
            if (missing.length > allowed) {
                report(
                    `${label} does not trust ${missing.length - allowed > 1 ? "roots" : "a root"} of the mesh ` +
                        `(${missing.join(", ")}); its workloads would refuse the peers signed by ${missing.length > 1 ? "them" : "it"}.`,
                    t.istiod.node.urn,
                );
            }
        }
    },
};
