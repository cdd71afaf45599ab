/**
 * Rules of the remote secrets: token credentials only (never a client key or the holder's own
 * cluster), and every primary watching exactly the clusters of the mesh.
 */
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { knobSchema, knobs, secretLabel, toInput } from "./common";
import { LABEL_MULTICLUSTER_SECRET, StackNode, buildMeshGraph, remoteSecretKeysOn, toStackNodes, where } from "./graph";
import {
    SECRET_TYPE,
    isPlainRecord,
    isUnknown,
    kubeconfigProblems,
    objectName,
    parseKubeconfig,
    recordAt,
    secretEntries,
    stringAt,
} from "./inspect";
// ---------------------------------------------------------------------------------------------
// 6. Remote secrets: token credentials, never the holder itself
// ---------------------------------------------------------------------------------------------

function isRemoteSecretProps(props: Record<string, unknown>): boolean {
    const labels = recordAt(props, "metadata", "labels");
    return !isUnknown(labels) && labels !== undefined && labels[LABEL_MULTICLUSTER_SECRET] === "true";
}

export const remoteSecretCredentials: ResourceValidationPolicy = {
    name: "remote-secret-credentials",
    description:
        'Remote secrets (label istio/multiCluster: "true") never describe the cluster that holds them, and each ' +
        "kubeconfig authenticates with the reader service account's bearer token only (no client certificate, " +
        "exec or auth-provider credentials of an operator), against a reachable server with TLS verified.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Let the program build remote secrets from each source cluster's istio-reader-service-account token; " +
        "set clusters[].apiServer to an address reachable from the other clusters.",
    configSchema: knobSchema("remote-secret-credentials", {
        forbiddenUserFields: { description: "kubeconfig user fields that must not appear." },
        allowLoopbackServer: {
            description: "Accept server URLs on 127.0.0.1/localhost (never reachable from another cluster).",
        },
        allowInsecureSkipTlsVerify: { description: "Accept insecure-skip-tls-verify: true." },
    }),
    validateResource: (args, report) => {
        if (args.type !== SECRET_TYPE) return;
        const r = toInput(args);
        if (!isRemoteSecretProps(r.props)) return;
        const cfg = knobs("remote-secret-credentials", args);
        const entries = secretEntries(r.props);
        if (isUnknown(entries)) return;
        for (const [key, value] of entries) {
            if (r.cluster !== undefined && key === r.cluster) {
                report(
                    `${secretLabel(r)} holds a kubeconfig for ${key}, the holding cluster itself (istiod ignores it; ` +
                        "it is a copy of that cluster's credentials for nothing).",
                );
            }
            if (isUnknown(value)) continue;
            for (const p of kubeconfigProblems(value, cfg)) report(`${secretLabel(r)}, key ${key}: kubeconfig ${p}.`);
        }
    },
};

export const remoteSecretsMatchClusters: StackValidationPolicy = {
    name: "remote-secrets-match-clusters",
    description:
        "Every remote-secret key is the global.multiCluster.clusterName of an istiod release of the stack, appears " +
        "once per holder, is never the holder's own cluster ID, and every primary watches every other cluster.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Key remote secrets by cluster name (clusters[].name), one per source and holder; let every primary hold " +
        "one for each other cluster.",
    configSchema: knobSchema("remote-secrets-match-clusters", {
        externalClusters: { description: "Cluster IDs outside this stack that remote secrets may name." },
        requireEveryPrimaryWatchesAll: {
            description: "Every primary must hold a remote secret for every other istiod cluster of the stack.",
        },
    }),
    validateStack: (args, report) => {
        const cfg = knobs("remote-secrets-match-clusters", args);
        const graph = buildMeshGraph(toStackNodes(args.resources));
        const clusterNames = new Set<string>();
        let namesComplete = true;
        for (const i of graph.istiods) {
            if (typeof i.clusterName === "string") clusterNames.add(i.clusterName);
            else namesComplete = false;
        }
        const seenPerHolder = new Map<string, Map<string, StackNode>>();
        for (const s of graph.remoteSecrets) {
            const entries = secretEntries(s.props);
            if (isUnknown(entries)) continue;
            const holderKey = s.providerUrn ?? "";
            const holderIstiod = graph.istiods.find((i) => i.node.providerUrn && i.node.providerUrn === s.providerUrn);
            const seen = seenPerHolder.get(holderKey) ?? new Map<string, StackNode>();
            seenPerHolder.set(holderKey, seen);
            const name = objectName(s.props);
            const label = `remote secret ${typeof name === "string" ? name : s.name} in ${where(s)}`;
            for (const key of entries.keys()) {
                if (namesComplete && !clusterNames.has(key) && !cfg.externalClusters.includes(key)) {
                    report(
                        `${label} names cluster ${key}, which no istiod release of the stack uses as ` +
                            `global.multiCluster.clusterName (known: ${[...clusterNames].sort().join(", ") || "none"}).`,
                        s.urn,
                    );
                }
                if (
                    holderIstiod &&
                    typeof holderIstiod.clusterName === "string" &&
                    key === holderIstiod.clusterName &&
                    key !== s.cluster
                ) {
                    report(`${label} holds a kubeconfig for ${key}, the holder's own cluster ID.`, s.urn);
                }
                const first = seen.get(key);
                if (first) {
                    const firstName = objectName(first.props);
                    report(
                        `${label} repeats cluster ${key}, already in ${typeof firstName === "string" ? firstName : first.name}; ` +
                            "istiod ignores the second one.",
                        s.urn,
                    );
                } else {
                    seen.set(key, s);
                }
            }
        }
        if (!cfg.requireEveryPrimaryWatchesAll || !namesComplete) return;
        for (const p of graph.istiods) {
            if (p.remote !== false || typeof p.clusterName !== "string") continue;
            const keys = remoteSecretKeysOn(graph, p.node.providerUrn);
            if (isUnknown(keys)) continue;
            const missing = [...clusterNames].filter((c) => c !== p.clusterName && !keys.has(c)).sort();
            if (missing.length > 0) {
                report(
                    `primary ${p.clusterName} holds no remote secret for ${missing.join(", ")}: its istiod cannot see ` +
                        "their services and endpoints.",
                    p.node.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 6b. Remote secrets: token lifetimes (remoteSecrets.tokenMode, docs/security.md)
// ---------------------------------------------------------------------------------------------

/** What a kubeconfig user's bearer token says about its lifetime. */
export interface TokenLifetimeClaims {
    /** kubeconfig user name. */
    user: string;
    /** `exp` in seconds since the epoch; `null` when the token is a JWT without `exp` (a legacy token). */
    exp: number | null;
    /** `iat` in seconds since the epoch, when present. */
    iat?: number;
}

/** The claims of a JWT, or undefined when `token` is not one (an opaque token tells nothing). */
function jwtClaims(token: string): Record<string, unknown> | undefined {
    const parts = token.trim().split(".");
    if (parts.length !== 3) return undefined;
    try {
        const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        return isPlainRecord(claims) ? claims : undefined;
    } catch {
        return undefined;
    }
}

/** Per user of a kubeconfig whose token is a JWT: its `exp` and `iat`. Unreadable kubeconfigs give []. */
export function kubeconfigTokenLifetimes(text: string): TokenLifetimeClaims[] {
    let doc: unknown;
    try {
        doc = parseKubeconfig(text);
    } catch {
        return []; // remote-secret-credentials reports an unreadable kubeconfig
    }
    const users = isPlainRecord(doc) && Array.isArray(doc["users"]) ? doc["users"] : [];
    return users.flatMap((entry: unknown) => {
        const user = isPlainRecord(entry) && isPlainRecord(entry["user"]) ? entry["user"] : undefined;
        const token = user?.["token"];
        const claims = typeof token === "string" ? jwtClaims(token) : undefined;
        if (!claims) return [];
        const name = isPlainRecord(entry) && typeof entry["name"] === "string" ? entry["name"] : "(unnamed)";
        const exp = typeof claims["exp"] === "number" ? claims["exp"] : null;
        const iat = typeof claims["iat"] === "number" ? claims["iat"] : undefined;
        return [{ user: name, exp, iat }];
    });
}

/** Each (key, kubeconfig) of a remote secret with known values (none during preview); [] for other resources. */
function remoteSecretKubeconfigs(args: ResourceValidationArgs): [string, string][] {
    if (args.type !== SECRET_TYPE) return [];
    const props = toInput(args).props;
    if (!isRemoteSecretProps(props)) return [];
    const entries = secretEntries(props);
    if (isUnknown(entries)) return [];
    return [...entries].filter((e): e is [string, string] => !isUnknown(e[1]));
}

const DAY_SECONDS = 86_400;

/**
 * The program writes on a Secret of expiring tokens how many days before expiry it re-mints them
 * (`remoteSecrets.renewBeforeDays`). A token deployed with less left than that should have been
 * re-minted by this run, so such a Secret's tokens are held to that margin where it is below the
 * knob: a 30-day token renewed 10 days ahead is healthy with 29 days left. Only whole days from 1
 * count, so an annotation cannot turn the rule into "expired only".
 */
const ANNOTATION_TOKEN_RENEW_BEFORE_DAYS = "istio-multicluster.io/token-renew-before-days";

function renewalMarginDays(props: Record<string, unknown>): number | undefined {
    const value = stringAt(props, "metadata", "annotations", ANNOTATION_TOKEN_RENEW_BEFORE_DAYS);
    if (typeof value !== "string" || !/^[1-9]\d*$/.test(value)) return undefined;
    return Number(value);
}

export const remoteSecretTokenExpiry: ResourceValidationPolicy = {
    name: "remote-secret-token-expiry",
    description:
        "No remote-secret kubeconfig carries a bearer token that has expired or expires within minRemainingDays: " +
        "istiod keeps an expired token until the Secret changes, and loses the cluster silently.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Re-mint the reader token (pulumi up inside the renewal window, or pulumi up --replace on its token " +
        "resource) so that every holder's Secret gets a fresh one (docs/security.md).",
    configSchema: knobSchema("remote-secret-token-expiry", {
        minRemainingDays: { description: "Days a token must still be valid for when it is deployed.", minimum: 0 },
    }),
    validateResource: (args, report) => {
        const cfg = knobs("remote-secret-token-expiry", args);
        const now = Date.now() / 1000;
        const r = toInput(args);
        const margin = renewalMarginDays(r.props);
        // The knob can only be loosened by the program's margin, never made stricter than it.
        const minDays = margin !== undefined ? Math.min(margin, cfg.minRemainingDays) : cfg.minRemainingDays;
        const why = margin !== undefined && margin < cfg.minRemainingDays ? " (the renewal margin of this Secret)" : "";
        for (const [key, text] of remoteSecretKubeconfigs(args)) {
            for (const t of kubeconfigTokenLifetimes(text)) {
                if (t.exp === null) continue;
                const left = (t.exp - now) / DAY_SECONDS;
                if (left >= minDays) continue;
                const when = new Date(t.exp * 1000).toISOString();
                report(
                    left <= 0
                        ? `${secretLabel(r)}, key ${key}: the token of user ${t.user} expired on ${when}.`
                        : `${secretLabel(r)}, key ${key}: the token of user ${t.user} expires on ${when}, ` +
                              `in less than ${minDays} days${why}.`,
                );
            }
        }
    },
};

export const longLivedReaderToken: ResourceValidationPolicy = {
    name: "long-lived-reader-token",
    description:
        "In a production stack, remote-secret kubeconfigs carry tokens that expire within maxLifetimeDays of being " +
        "issued; a legacy service-account token (no exp claim) stays valid until its Secret is deleted.",
    enforcementLevel: "advisory",
    severity: "low",
    remediationSteps:
        "Prefer short-lived reader tokens (remoteSecrets.tokenMode tokenRequest, once available) and revocable ones " +
        "(remoteSecrets.readerAccounts perHolder); see docs/security.md.",
    configSchema: knobSchema("long-lived-reader-token", {
        maxLifetimeDays: { description: "Longest acceptable token lifetime (exp - iat), in days.", minimum: 1 },
        tagName: { description: "Stack tag that names the environment." },
        productionValues: { description: "Values of that tag that mean production." },
    }),
    validateResource: (args, report) => {
        const cfg = knobs("long-lived-reader-token", args);
        // Legacy tokens are the default (what istioctl makes): worth a nudge in production only.
        const environment = args.stackTags?.get(cfg.tagName);
        if (environment === undefined || !cfg.productionValues.includes(environment)) return;
        for (const [key, text] of remoteSecretKubeconfigs(args)) {
            for (const t of kubeconfigTokenLifetimes(text)) {
                const r = toInput(args);
                if (t.exp === null) {
                    report(`${secretLabel(r)}, key ${key}: the token of user ${t.user} never expires (no exp claim).`);
                } else if (t.iat !== undefined && (t.exp - t.iat) / DAY_SECONDS > cfg.maxLifetimeDays) {
                    const days = Math.round((t.exp - t.iat) / DAY_SECONDS);
                    report(
                        `${secretLabel(r)}, key ${key}: the token of user ${t.user} lives ${days} days, ` +
                            `more than ${cfg.maxLifetimeDays}.`,
                    );
                }
            }
        }
    },
};
