/**
 * The config domain's own rules: how the program reaches each cluster (`kubeconfig`, `context`,
 * `apiServer`, `apiServerTlsServerName`, the `kubeconfigs` secret). The kubeconfigs themselves
 * are read and checked at `pulumi up` by `kubeconfig.ts`, with the same helpers.
 */
import { ClusterConfig, ConfigProblem } from "./config";
import { ConfigRuleContext, isObj, namedClusters, str } from "./rule-context";
import {
    checkApiServerUrl,
    checkTlsServerName,
    closest,
    clustersReachedByOthers,
    formatPath,
    isSecretPath,
} from "./config-validation";

/** Per cluster: the access keys are not empty, and API servers others must reach are reachable. */
export function clusterAccessRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const named = namedClusters(ctx);
    const reached = clustersReachedByOthers(
        named.filter((c) => c.role === "primary" || c.role === "remote") as Pick<ClusterConfig, "name" | "role">[],
    );
    const problems: ConfigProblem[] = [];
    for (const c of named) {
        for (const k of ["kubeconfig", "context"]) {
            if (str(c.raw, k) === "") {
                problems.push({
                    path: `${c.path}.${k}`,
                    message: "Must not be empty.",
                    fix: `Remove ${c.path}.${k} to use the default.`,
                });
            }
        }
        const api = str(c.raw, "apiServer");
        if (api !== undefined) problems.push(...checkApiServerUrl(api, `${c.path}.apiServer`, reached.has(c.name!)));
        const tlsServerName = str(c.raw, "apiServerTlsServerName");
        if (tlsServerName !== undefined) {
            problems.push(...checkTlsServerName(tlsServerName, `${c.path}.apiServerTlsServerName`, c.name!, reached));
        }
    }
    return problems;
}

/** `kubeconfigs.<cluster>`: secret kubeconfig content, for a cluster that exists and has no file. */
export function secretKubeconfigRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const kubeconfigs = isObj(ctx.data.kubeconfigs) ? ctx.data.kubeconfigs : {};
    const names = [...ctx.byName.keys()];
    for (const [name, content] of Object.entries(kubeconfigs)) {
        const p = formatPath(["kubeconfigs", name]);
        const cluster = ctx.byName.get(name);
        if (!cluster) {
            const guess = closest(name, names);
            problems.push({
                path: p,
                message: `'${name}' is not the name of any cluster.`,
                fix: guess ? `Did you mean '${guess}'?` : `Use a name from clusters: ${names.join(", ")}.`,
            });
        } else if (str(cluster.raw, "kubeconfig") !== undefined) {
            problems.push({
                path: `${cluster.path}.kubeconfig`,
                message: `${name} has both a kubeconfig file (${cluster.path}.kubeconfig) and secret content (${p}).`,
                fix: `Keep one: remove ${cluster.path}.kubeconfig to use the secret, or pulumi config rm --path '${p}'.`,
            });
        }
        if (typeof content === "string" && content.trim() === "") {
            problems.push({
                path: p,
                message: "The kubeconfig content is empty.",
                fix: `pulumi config set --secret --path '${p}' "$(cat <file>)".`,
            });
        }
        if (ctx.secretKeys && !isSecretPath(p, ctx.secretKeys)) {
            problems.push({
                path: p,
                message: "Kubeconfig content (cluster credentials) is stored in plain text.",
                fix: `pulumi config set --secret --path '${p}' "$(cat <file>)" (and rotate the credentials if this file was shared).`,
            });
        }
    }
    return problems;
}
