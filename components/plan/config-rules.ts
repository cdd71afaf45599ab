/**
 * The plan's own config rules: the mesh's identity (`meshId`, `trustDomain`) and its topology,
 * which clusters exist, under which names and networks, and which primary serves each remote.
 * Nothing can be planned until the topology holds, so its verdict also gates the typed config.
 */
import { ConfigProblem } from "../config/config";
import { ClusterView, ConfigRuleContext, namedClusters, str, TopologyVerdict } from "../config/rule-context";
import { closest, isDns1123Label, isDns1123Subdomain, suggestDns1123Label } from "../config/config-validation";

/** `meshId` and `trustDomain`: the names every workload identity and cluster ID derive from. */
export function meshIdentityRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const meshId = str(ctx.data, "meshId");
    if (meshId !== undefined && !isDns1123Label(meshId)) {
        problems.push({
            path: "meshId",
            message: `'${meshId}' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters).`,
            fix: `Use e.g. '${suggestDns1123Label(meshId)}'.`,
        });
    }
    const trustDomain = str(ctx.data, "trustDomain");
    if (trustDomain !== undefined && !isDns1123Subdomain(trustDomain)) {
        problems.push({
            path: "trustDomain",
            message: `'${trustDomain}' is not a DNS name (e.g. cluster.local); it becomes spiffe://<trustDomain>/… in every workload identity.`,
            fix: trustDomain.startsWith("spiffe://")
                ? `Drop the scheme: '${trustDomain.slice("spiffe://".length)}'.`
                : "Use lowercase DNS labels separated by dots, the same in every cluster.",
        });
    }
    return problems;
}

/** Roles, names, networks and control planes; see {@link TopologyVerdict}. */
export function topologyRules(ctx: Omit<ConfigRuleContext, "servingPrimary">): TopologyVerdict {
    const list = clusterListProblems(ctx);
    const identity = clusterIdentityProblems(ctx);
    const serving = controlPlaneProblems(ctx);
    return {
        problems: [...list.problems, ...identity.problems, ...serving.problems],
        topologyOk: list.ok && identity.ok && serving.ok,
        servingPrimary: serving.servingPrimary,
    };
}

type Part = { problems: ConfigProblem[]; ok: boolean };

function clusterListProblems(ctx: Omit<ConfigRuleContext, "servingPrimary">): Part {
    if (ctx.clusterCount === 0) {
        return {
            problems: [
                {
                    path: "clusters",
                    message: "The cluster list is empty.",
                    fix: "Add at least one cluster, e.g. pulumi config set --path 'clusters[0].name' cluster1.",
                },
            ],
            ok: false,
        };
    }
    // An entry that is not an object was reported by the schema; the mesh cannot be planned.
    return { problems: [], ok: ctx.clusterCount === undefined || ctx.clusters.length === ctx.clusterCount };
}

function clusterIdentityProblems(ctx: Omit<ConfigRuleContext, "servingPrimary">): Part {
    const problems: ConfigProblem[] = [];
    let ok = true;
    for (const c of ctx.clusters) {
        if (c.name === undefined) {
            ok = false;
            continue;
        }
        if (!isDns1123Label(c.name)) {
            problems.push({
                path: `${c.path}.name`,
                message:
                    `'${c.name}' is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a ` +
                    "letter or digit, at most 63 characters); it becomes the cluster ID and part of object names.",
                fix: `Use e.g. '${suggestDns1123Label(c.name)}'.`,
            });
        }
        const first = ctx.byName.get(c.name);
        if (first && first !== c) {
            problems.push({
                path: `${c.path}.name`,
                message: `'${c.name}' is already the name of ${first.path}; cluster names must be unique.`,
                fix: "Give every cluster its own name.",
            });
            ok = false;
        }
        if (c.network !== undefined && !isDns1123Label(c.network)) {
            problems.push({
                path: `${c.path}.network`,
                message: `'${c.network}' is not a DNS-1123 label; it becomes the topology.istio.io/network label value.`,
                fix: `Use e.g. '${suggestDns1123Label(c.network)}'.`,
            });
        }
    }
    return { problems, ok };
}

function controlPlaneProblems(
    ctx: Omit<ConfigRuleContext, "servingPrimary">,
): Part & { servingPrimary: Map<string, string> } {
    const named = namedClusters(ctx);
    const primaryNames = named.filter((c) => c.role === "primary").map((c) => c.name!);
    const remotes = named.filter((c) => c.role === "remote");
    const problems: ConfigProblem[] = [];
    let ok = true;
    if (named.length > 0 && primaryNames.length === 0) {
        problems.push({
            path: "clusters",
            message: `No cluster has role primary, so nothing runs istiod${remotes.length ? ` for ${remotes.map((r) => r.name).join(", ")}` : ""}.`,
            fix: "Set role: primary on at least one cluster (primary is the default role).",
        });
        ok = false;
    }
    const servingPrimary = new Map<string, string>();
    for (const c of named) {
        if (c.role === "primary" && c.controlPlane !== undefined) {
            problems.push({
                path: `${c.path}.controlPlane`,
                message: `${c.name} is a primary and runs its own istiod; controlPlane only applies to remotes.`,
                fix: `Remove ${c.path}.controlPlane, or set ${c.path}.role to remote.`,
            });
        }
        if (c.role !== "remote") continue;
        const verdict = servingPrimaryOf(c, primaryNames, ctx.byName);
        if (verdict.problem) problems.push(verdict.problem);
        if (verdict.serving) servingPrimary.set(c.name!, verdict.serving);
        else if (verdict.problem) ok = false;
    }
    return { problems, ok, servingPrimary };
}

/** Which primary serves remote `c`: its `controlPlane`, or the only primary there is. */
function servingPrimaryOf(
    c: ClusterView,
    primaryNames: readonly string[],
    byName: ReadonlyMap<string, ClusterView>,
): { serving?: string; problem?: ConfigProblem } {
    const path = `${c.path}.controlPlane`;
    const usePrimaries = (otherwise: string) =>
        primaryNames.length ? `Use one of the primaries: ${primaryNames.join(", ")}.` : otherwise;
    if (c.controlPlane === undefined) {
        if (primaryNames.length === 1) return { serving: primaryNames[0] };
        if (primaryNames.length === 0) return {};
        return {
            problem: {
                path,
                message: `${c.name} is a remote and there are several primaries (${primaryNames.join(", ")}); which one serves it is not said.`,
                fix: `Set ${path} to one of ${primaryNames.join(", ")}.`,
            },
        };
    }
    const target = byName.get(c.controlPlane);
    if (c.controlPlane === c.name) {
        return {
            problem: {
                path,
                message: `${c.name} names itself as its control plane, but a remote runs no istiod.`,
                fix: primaryNames.length
                    ? `Set it to one of ${primaryNames.join(", ")}.`
                    : `Make ${c.name} a primary (role: primary).`,
            },
        };
    }
    if (!target) {
        const guess = closest(c.controlPlane, primaryNames) ?? closest(c.controlPlane, [...byName.keys()]);
        return {
            problem: {
                path,
                message: `'${c.controlPlane}' is not the name of any cluster.`,
                fix: guess ? `Did you mean '${guess}'?` : usePrimaries("Add the primary cluster to clusters."),
            },
        };
    }
    if (target.role !== "primary") {
        return {
            problem: {
                path,
                message: `'${c.controlPlane}' is a remote itself; a remote must be served by a primary.`,
                fix: usePrimaries(`Make ${c.controlPlane} a primary (role: primary).`),
            },
        };
    }
    return { serving: c.controlPlane };
}
