/**
 * Control-plane revisions per cluster: a pure function from validated config to which istiod
 * revisions a cluster runs, at which chart versions, which revision owns each tag, and which one
 * is the default. Undefined for a stack without `revisions` (one unnamed istiod, as before).
 */
import { ClusterConfig, MeshConfig } from "../config/config";
import { parseVersion, versionLess } from "../config/config-validation";

/** The tag Istio's injector treats as the default revision (istio-discovery/templates/revision-tags-mwc.yaml). */
export const DEFAULT_TAG = "default";

/** One revision in one cluster. */
export interface RevisionPlan {
    /** Revision name: the istiod chart's `revision`, release `istiod-<name>`. */
    name: string;
    /** Chart version of this revision's istiod release. */
    version: string;
    /** Tags this revision's release owns (its chart `revisionTags`), sorted; `default` first when it is the default. */
    tags: string[];
    /** True for the cluster's default revision. */
    isDefault: boolean;
}

/** Every revision of one cluster. */
export interface ClusterRevisions {
    /** The revisions this cluster runs, in the order of `revisions` in config. */
    revisions: RevisionPlan[];
    /** The revision behind the `default` tag, the default injector and the east-west gateway. */
    defaultRevision: string;
    /** Chart version of `istio-base`: config `baseVersion`, else the newest revision's (CRDs only ever move forward). */
    baseVersion: string;
    /** Tag → revision, including `default`, sorted by tag. */
    tags: Record<string, string>;
}

/** The newest of some versions (semantic order; unparsable versions sort first). */
export function newestVersion(versions: readonly string[]): string {
    return versions.reduce((best, v) => {
        const a = parseVersion(best);
        const b = parseVersion(v);
        return a && b && versionLess(a, b) ? v : !a && b ? v : best;
    });
}

/**
 * The names of the revisions a cluster runs: its own `revisions` when given (staging), else every
 * mesh-wide revision.
 */
export function revisionNamesOf(config: Pick<MeshConfig, "revisions">, cluster: ClusterConfig): string[] {
    const all = (config.revisions ?? []).map((r) => r.name);
    return cluster.revisions ? all.filter((n) => cluster.revisions!.includes(n)) : all;
}

/** The tags of a cluster: the mesh-wide map with the cluster's entries over it, and `default`. */
export function revisionTagsOf(config: MeshConfig, cluster: ClusterConfig): Record<string, string> {
    const defaultRevision = cluster.defaultRevision ?? config.defaultRevision ?? "";
    const merged: Record<string, string> = {
        ...(config.revisionTags ?? {}),
        ...(cluster.revisionTags ?? {}),
        [DEFAULT_TAG]: defaultRevision,
    };
    return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What one cluster runs, for a validated config with `revisions`; undefined without. */
export function clusterRevisions(config: MeshConfig, cluster: ClusterConfig): ClusterRevisions | undefined {
    if (!config.revisions) return undefined;
    const names = revisionNamesOf(config, cluster);
    const tags = revisionTagsOf(config, cluster);
    const defaultRevision = tags[DEFAULT_TAG];
    const revisions = config.revisions
        .filter((r) => names.includes(r.name))
        .map((r) => ({
            name: r.name,
            version: r.version,
            tags: Object.keys(tags)
                .filter((t) => tags[t] === r.name)
                .sort((a, b) => (a === DEFAULT_TAG ? -1 : b === DEFAULT_TAG ? 1 : a < b ? -1 : a > b ? 1 : 0)),
            isDefault: r.name === defaultRevision,
        }));
    return {
        revisions,
        defaultRevision,
        baseVersion: config.baseVersion ?? newestVersion(revisions.map((r) => r.version)),
        tags,
    };
}
