/**
 * What every domain's config rules see: the schema-defaulted config as plain data (rules run even
 * when the schema found problems, so that a stack file is fixed in one round), and the clusters
 * read once. Each domain owns the rules of its own keys (`components/<domain>/config-rules.ts`);
 * the program's input step runs them all and reports every problem at once.
 */
import { ConfigProblem } from "./config";

/** A config object as parsed, before it is typed. */
export type Obj = Record<string, unknown>;

/** True for a plain object (not an array, not null). */
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** `o[k]` when it is a string. */
export const str = (o: Obj | undefined, k: string): string | undefined =>
    o && typeof o[k] === "string" ? (o[k] as string) : undefined;

/** `o[k]` when it is a number. */
export const int = (o: Obj | undefined, k: string): number | undefined =>
    o && typeof o[k] === "number" ? (o[k] as number) : undefined;

/** One entry of `clusters` that is an object, with the keys most rules need. */
export interface ClusterView {
    /** Position in `clusters`. */
    index: number;
    /** `clusters[<index>]`, the prefix of every problem path about this cluster. */
    path: string;
    /** The entry itself. */
    raw: Obj;
    /** `name`, when it is a string. */
    name?: string;
    /** `role` after defaults (`primary` or `remote`). */
    role?: string;
    /** `network`, when it is a string. */
    network?: string;
    /** `controlPlane`, when it is a string. */
    controlPlane?: string;
    /** `eastWestGateway`, when it is an object. */
    gw?: Obj;
}

/** The input of every rule. */
export interface ConfigRuleContext {
    /** The config after null-dropping and schema defaults, still untyped. */
    readonly data: Obj;
    /** The config as given (to tell, e.g., an unquoted YAML number from a string). */
    readonly raw: Readonly<Record<string, unknown>>;
    /** Paths that hold Pulumi secrets, when known (see `ValidateOptions.secretKeys`). */
    readonly secretKeys: readonly string[] | undefined;
    /** Every object entry of `clusters`, in order. */
    readonly clusters: readonly ClusterView[];
    /** Whether `clusters` is a list, and how many entries it has (objects or not). */
    readonly clusterCount: number | undefined;
    /** The first cluster of each name. */
    readonly byName: ReadonlyMap<string, ClusterView>;
    /** Remote → the primary that serves it, as far as the topology could tell. */
    readonly servingPrimary: ReadonlyMap<string, string>;
}

/** A rule of one domain: the problems it finds, in the order a reader expects them. */
export type ConfigRule = (ctx: ConfigRuleContext) => ConfigProblem[];

/** What the topology rules decide besides their problems. */
export interface TopologyVerdict {
    problems: ConfigProblem[];
    /** False when the clusters cannot be planned (a typed config would be meaningless). */
    topologyOk: boolean;
    /** Remote → serving primary, for the rules that depend on who serves whom. */
    servingPrimary: Map<string, string>;
}

/** Every domain's rules, as the program assembles them. */
export interface ConfigRuleSet {
    /** Roles and control planes: runs first, because other rules need who serves whom. */
    topology: (ctx: Omit<ConfigRuleContext, "servingPrimary">) => TopologyVerdict;
    /** The rules of every other domain, in the order their problems read best. */
    rules: readonly ConfigRule[];
}

/** The clusters of the defaulted config, read once for every rule. */
export function readClusters(data: Obj): Pick<ConfigRuleContext, "clusters" | "clusterCount" | "byName"> {
    const list = Array.isArray(data.clusters) ? data.clusters : undefined;
    const clusters: ClusterView[] = (list ?? []).flatMap((c, index) =>
        isObj(c)
            ? [
                  {
                      index,
                      path: `clusters[${index}]`,
                      raw: c,
                      name: str(c, "name"),
                      role: str(c, "role"),
                      network: str(c, "network"),
                      controlPlane: str(c, "controlPlane"),
                      gw: isObj(c.eastWestGateway) ? c.eastWestGateway : undefined,
                  },
              ]
            : [],
    );
    const byName = new Map<string, ClusterView>();
    for (const c of clusters) if (c.name !== undefined && !byName.has(c.name)) byName.set(c.name, c);
    return { clusters, clusterCount: list?.length, byName };
}

/** The clusters that have a name, the ones every cross-cluster rule is about. */
export function namedClusters(ctx: Pick<ConfigRuleContext, "clusters">): ClusterView[] {
    return ctx.clusters.filter((c) => c.name !== undefined);
}
