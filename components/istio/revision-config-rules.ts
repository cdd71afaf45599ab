/**
 * Config rules of control-plane revisions (`revisions`, `revisionTags`, `defaultRevision` and
 * their per-cluster staging keys): every rule Istio has about revisions side by side, checked
 * before any resource so that a canary upgrade never starts from a config Istio cannot run.
 */
import { ConfigProblem, MINIMUM_ISTIO_VERSION } from "../config/config";
import { isDns1123Label, parseVersion, versionLess } from "../config/config-validation";
import { ClusterView, ConfigRuleContext, isObj, namedClusters, Obj, str } from "../config/rule-context";
import { DEFAULT_TAG } from "../plan/revision-plan";

/**
 * Revisions side by side may span at most two minor versions: Istio's canary upgrade guide
 * (istio.io docs/setup/upgrade/canary, "jumping across two minor versions is supported" for
 * revision-based upgrades). The `base` chart runs at the newest revision's version, so the same
 * bound holds between `base` and every istiod.
 */
export const MAX_REVISION_MINOR_SKEW = 2;

const STAGING_KEYS = ["revisions", "defaultRevision", "revisionTags"] as const;

/** The `revisions` entries that are objects, with their path. */
interface RevisionEntry {
    path: string;
    name?: string;
    version?: string;
}

function revisionEntries(data: Obj): RevisionEntry[] | undefined {
    if (!Array.isArray(data.revisions)) return undefined;
    return data.revisions.flatMap((r, i) =>
        isObj(r) ? [{ path: `revisions[${i}]`, name: str(r, "name"), version: str(r, "version") }] : [],
    );
}

/** `revisions`, `revisionTags` and `defaultRevision`, and the per-cluster staging keys. */
export function revisionRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const entries = revisionEntries(ctx.data);
    if (!entries) return keysWithoutRevisions(ctx);
    const problems = [
        ...legacyRevisionProblems(ctx),
        ...entryProblems(entries),
        ...skewProblems(entries),
        ...baseVersionProblems(ctx, entries),
    ];
    const names = new Set(entries.map((e) => e.name).filter((n): n is string => n !== undefined));
    const defaultRevision = str(ctx.data, "defaultRevision");
    if (defaultRevision === undefined) {
        problems.push({
            path: "defaultRevision",
            message:
                "With revisions, one of them must be the default (the default tag, injector and east-west gateways).",
            fix: `Set defaultRevision to one of: ${[...names].join(", ") || "(a revision name)"}.`,
        });
    } else if (!names.has(defaultRevision)) {
        problems.push(unknownRevision("defaultRevision", defaultRevision, names));
    }
    problems.push(...tagProblems("revisionTags", ctx.data.revisionTags, names));
    for (const c of namedClusters(ctx)) problems.push(...clusterStagingProblems(ctx, c, names));
    return problems;
}

/** Staging keys without `revisions` have nothing to refer to. */
function keysWithoutRevisions(ctx: ConfigRuleContext): ConfigProblem[] {
    const given = [
        ...(["revisionTags", "defaultRevision", "baseVersion"] as const).filter((k) => ctx.data[k] !== undefined),
        ...ctx.clusters.flatMap((c) => STAGING_KEYS.filter((k) => c.raw[k] !== undefined).map((k) => `${c.path}.${k}`)),
    ];
    return given.map((path) => ({
        path,
        message: "only applies together with revisions (the list of control-plane revisions).",
        fix: "Add revisions: [{ name, version }, …] or remove this key.",
    }));
}

/** `revision` (one revisioned istiod) and `istioVersion`/`images.tag` do not combine with `revisions`. */
function legacyRevisionProblems(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const revision = str(ctx.data, "revision");
    if (revision) {
        problems.push({
            path: "revision",
            message: "cannot be combined with revisions: revisions replaces the single revision.",
            fix:
                `Remove revision and istioVersion and write revisions: [{ name: ${revision}, version: <istioVersion> }] ` +
                `with defaultRevision: ${revision}. The release istiod becomes istiod-${revision} (docs/operations.md, ` +
                '"Canary upgrades with revisions").',
        });
    }
    if (ctx.raw.istioVersion !== undefined) {
        problems.push({
            path: "istioVersion",
            message: "is not used with revisions: each revision has its own version, and istio-base takes the newest.",
            fix: "Remove istioVersion and give each entry of revisions its version.",
        });
    }
    const images = isObj(ctx.data.images) ? ctx.data.images : undefined;
    if (str(images, "tag") !== undefined) {
        problems.push({
            path: "images.tag",
            message: "would give every revision the same istiod and proxy image, whatever its version.",
            fix: "Remove images.tag with revisions (each revision's chart version picks its images; images.hub still applies).",
        });
    }
    return problems;
}

function entryProblems(entries: RevisionEntry[]): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (entries.length === 0) {
        problems.push({
            path: "revisions",
            message: "is empty: a mesh with revisions needs at least one.",
            fix: "List at least one { name, version }, or remove revisions.",
        });
    }
    const seen = new Set<string>();
    for (const e of entries) {
        if (e.name !== undefined) {
            if (!isDns1123Label(e.name) || e.name === DEFAULT_TAG) {
                problems.push({
                    path: `${e.path}.name`,
                    message:
                        e.name === DEFAULT_TAG
                            ? "'default' is the name Istio gives the unnamed revision and the default tag."
                            : `'${e.name}' is not a DNS-1123 label; it becomes part of istiod-<name> object names.`,
                    fix: `Use the version with dashes, e.g. '${(e.version ?? "1.30.3").replace(/\./g, "-")}'.`,
                });
            }
            if (seen.has(e.name)) {
                problems.push({
                    path: `${e.path}.name`,
                    message: `'${e.name}' is listed twice; each revision is one istiod release per primary.`,
                    fix: "Give every revision a distinct name.",
                });
            }
            seen.add(e.name);
        }
        const parsed = e.version !== undefined ? parseVersion(e.version) : undefined;
        if (e.version !== undefined && !parsed) {
            problems.push({
                path: `${e.path}.version`,
                message: `'${e.version}' is not a chart version like 1.30.3.`,
                fix: 'Use a full version in quotes, e.g. version: "1.30.3".',
            });
        } else if (parsed && versionLess(parsed, parseVersion(MINIMUM_ISTIO_VERSION)!)) {
            problems.push({
                path: `${e.path}.version`,
                message: `${e.version} is older than ${MINIMUM_ISTIO_VERSION}, the oldest version this program installs.`,
                fix: `Use ${MINIMUM_ISTIO_VERSION} or newer.`,
            });
        }
    }
    return problems;
}

/** The entries whose version parses, with it (the others get their own problem). */
function versionedEntries(entries: RevisionEntry[]) {
    return entries.flatMap((e) => {
        const v = e.version !== undefined ? parseVersion(e.version) : undefined;
        return v ? [{ e, v }] : [];
    });
}

/** Istio supports revisions (and base against istiod) at most two minor versions apart. */
function skewProblems(entries: RevisionEntry[]): ConfigProblem[] {
    const parsed = versionedEntries(entries);
    if (parsed.length < 2) return [];
    const oldest = parsed.reduce((a, b) => (versionLess(b.v, a.v) ? b : a));
    const newest = parsed.reduce((a, b) => (versionLess(a.v, b.v) ? b : a));
    const tooFar = newest.v[0] !== oldest.v[0] || newest.v[1] - oldest.v[1] > MAX_REVISION_MINOR_SKEW;
    if (!tooFar) return [];
    return [
        {
            path: `${newest.e.path}.version`,
            message:
                `${newest.e.version} is more than ${MAX_REVISION_MINOR_SKEW} minor versions ahead of ${oldest.e.version} ` +
                `(${oldest.e.path}): Istio supports revision-based upgrades across at most two minor versions, and ` +
                "istio-base runs at the newest revision's version.",
            fix: `Upgrade in steps of at most ${MAX_REVISION_MINOR_SKEW} minor versions: remove ${oldest.e.path} first, or pick an intermediate version.`,
        },
    ];
}

/**
 * `baseVersion`: the CRDs every istiod reads must be at least as new as the newest istiod, and
 * Istio supports `base` at most two minor versions ahead of an istiod, as between revisions.
 */
function baseVersionProblems(ctx: ConfigRuleContext, entries: RevisionEntry[]): ConfigProblem[] {
    const base = str(ctx.data, "baseVersion");
    if (base === undefined) return [];
    const b = parseVersion(base);
    if (!b) {
        return [
            {
                path: "baseVersion",
                message: `${JSON.stringify(base)} is not a chart version.`,
                fix: "Use a version such as 1.30.3.",
            },
        ];
    }
    const problems: ConfigProblem[] = [];
    for (const { e, v } of versionedEntries(entries)) {
        if (versionLess(b, v)) {
            problems.push({
                path: "baseVersion",
                message: `${base} is older than ${e.path}.version ${e.version}: an istiod would run on older CRDs than its own.`,
                fix: `Set baseVersion to ${e.version} or newer (CRDs only move forward), or remove it to follow the newest revision.`,
            });
        } else if (b[0] !== v[0] || b[1] - v[1] > MAX_REVISION_MINOR_SKEW) {
            problems.push({
                path: "baseVersion",
                message:
                    `${base} is more than ${MAX_REVISION_MINOR_SKEW} minor versions ahead of ${e.path}.version ${e.version}: ` +
                    "Istio supports the base chart at most two minor versions ahead of an istiod.",
                fix: `Remove ${e.path} first, or keep baseVersion within two minor versions of it.`,
            });
        }
    }
    return problems;
}

function unknownRevision(path: string, name: string, names: ReadonlySet<string>, what = "revisions"): ConfigProblem {
    return {
        path,
        message: `'${name}' is not one of ${what} (${[...names].join(", ") || "none"}).`,
        fix: `Use one of ${[...names].join(", ") || "the revision names"}, or add a revision named '${name}'.`,
    };
}

/** A tag map: tag names are labels and never `default` or a revision name; values name a revision. */
function tagProblems(path: string, tags: unknown, names: ReadonlySet<string>, what?: string): ConfigProblem[] {
    if (!isObj(tags)) return [];
    return Object.entries(tags).flatMap(([tag, rev]): ConfigProblem[] => {
        const p = `${path}.${tag}`;
        if (tag === DEFAULT_TAG) {
            return [
                { path: p, message: "the default tag follows defaultRevision.", fix: "Set defaultRevision instead." },
            ];
        }
        if (!isDns1123Label(tag) || names.has(tag)) {
            return [
                {
                    path: p,
                    message: names.has(tag)
                        ? `'${tag}' is also a revision name: istio.io/rev=${tag} would match both injectors.`
                        : `'${tag}' is not a DNS-1123 label (it becomes istio-revision-tag-${tag}).`,
                    fix: "Use a distinct label such as prod-stable.",
                },
            ];
        }
        return typeof rev === "string" && !names.has(rev) ? [unknownRevision(p, rev, names, what)] : [];
    });
}

/** `clusters[i].revisions`, `.defaultRevision`, `.revisionTags`: a consistent subset per cluster. */
function clusterStagingProblems(ctx: ConfigRuleContext, c: ClusterView, all: ReadonlySet<string>): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const own = clusterRevisionNames(c, all);
    const list = Array.isArray(c.raw.revisions) ? c.raw.revisions : undefined;
    list?.forEach((n, i) => {
        if (typeof n !== "string") return;
        if (!all.has(n)) problems.push(unknownRevision(`${c.path}.revisions[${i}]`, n, all));
        else if (list.indexOf(n) !== i) {
            problems.push({
                path: `${c.path}.revisions[${i}]`,
                message: `'${n}' is listed twice.`,
                fix: "List it once.",
            });
        }
    });
    if (list && list.length === 0) {
        problems.push({
            path: `${c.path}.revisions`,
            message: "is empty: the cluster would run no control plane.",
            fix: "List at least the cluster's default revision, or remove the key (all revisions).",
        });
    }
    const clusterDefault = str(c.raw, "defaultRevision");
    if (clusterDefault !== undefined && !all.has(clusterDefault)) {
        problems.push(unknownRevision(`${c.path}.defaultRevision`, clusterDefault, all));
    }
    const effectiveDefault = clusterDefault ?? str(ctx.data, "defaultRevision");
    if (effectiveDefault !== undefined && all.has(effectiveDefault) && !own.has(effectiveDefault)) {
        problems.push({
            path: clusterDefault !== undefined ? `${c.path}.defaultRevision` : `${c.path}.revisions`,
            message: `the cluster's default revision '${effectiveDefault}' is not among the revisions it runs.`,
            fix: `Add ${effectiveDefault} to ${c.path}.revisions, or set ${c.path}.defaultRevision to one it runs.`,
        });
    }
    problems.push(...tagProblems(`${c.path}.revisionTags`, c.raw.revisionTags, all));
    problems.push(...tagsThisClusterCannotServe(ctx, c, own, all));
    if (c.role === "remote") problems.push(...remoteSubsetProblems(ctx, c, own, all));
    return problems;
}

function clusterRevisionNames(c: ClusterView, all: ReadonlySet<string>): Set<string> {
    const list = Array.isArray(c.raw.revisions) ? c.raw.revisions : undefined;
    return new Set(list ? list.filter((n): n is string => typeof n === "string" && all.has(n)) : all);
}

/** A tag (mesh-wide or the cluster's) must point at a revision this cluster runs. */
function tagsThisClusterCannotServe(
    ctx: ConfigRuleContext,
    c: ClusterView,
    own: ReadonlySet<string>,
    all: ReadonlySet<string>,
): ConfigProblem[] {
    const merged: Record<string, unknown> = {
        ...(isObj(ctx.data.revisionTags) ? ctx.data.revisionTags : {}),
        ...(isObj(c.raw.revisionTags) ? c.raw.revisionTags : {}),
    };
    return Object.entries(merged).flatMap(([tag, rev]) =>
        typeof rev === "string" && all.has(rev) && !own.has(rev) && tag !== DEFAULT_TAG
            ? [
                  {
                      path: `${c.path}.revisions`,
                      message: `tag '${tag}' points at revision '${rev}', which this cluster does not run.`,
                      fix: `Add ${rev} to ${c.path}.revisions, or set ${c.path}.revisionTags.${tag} to a revision it runs.`,
                  },
              ]
            : [],
    );
}

/** A remote's revisions are served by its primary's istiods: it can only run revisions the primary runs. */
function remoteSubsetProblems(
    ctx: ConfigRuleContext,
    c: ClusterView,
    own: ReadonlySet<string>,
    all: ReadonlySet<string>,
): ConfigProblem[] {
    const primaryName = ctx.servingPrimary.get(c.name!);
    const primary = primaryName !== undefined ? ctx.byName.get(primaryName) : undefined;
    if (!primary) return [];
    const primaryRuns = clusterRevisionNames(primary, all);
    const missing = [...own].filter((n) => !primaryRuns.has(n));
    if (missing.length === 0) return [];
    return [
        {
            path: `${c.path}.revisions`,
            message:
                `runs ${missing.join(", ")}, which its primary ${primaryName} does not run: a remote's revision is ` +
                "served by the primary's istiod of that revision.",
            fix: `Add ${missing.join(", ")} to ${primary.path}.revisions first, or list only ${[...primaryRuns].join(", ")} in ${c.path}.revisions.`,
        },
    ];
}
