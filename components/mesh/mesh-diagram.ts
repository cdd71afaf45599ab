/**
 * The mesh as a picture: a Mermaid flowchart of the plan.
 *
 * One subgraph per network holds a node per cluster (role, control plane, east-west gateway and
 * its address); edges say which primary serves a remote (through which gateway) and which primary
 * holds a remote secret about which cluster; a CA subgraph shows which root signs which
 * intermediate. `npm run plan -- --format mermaid`, the `meshDiagram` stack output and
 * docs/models.md all print this same function's text, so the three cannot disagree.
 */
import { MeshConfig } from "../config/config";
import { advertisedGatewayPort, ClusterPlan, MeshPlan } from "../plan/mesh-plan";
import { ROOT_SOURCE_TEXT } from "./plan-report";

/**
 * Above this many remote-secret pairs the watch edges are grouped: one node per distinct set of
 * watching primaries, with one edge to each cluster that set watches. A full multi-primary mesh
 * of N clusters then draws N edges instead of N × (N − 1), which stays readable at 20 clusters
 * and beyond. 12 pairs is a four-primary full mesh, the largest that still reads drawn out.
 */
export const MAX_DRAWN_WATCH_EDGES = 12;

/**
 * Above this many edges of one kind (signing, serving) their labels are left off and said once
 * in the nodes instead: rendered at 20 clusters, twenty copies of "signs intermediate" stacked
 * over each other were the hardest part of the picture to read.
 */
export const MAX_LABELLED_EDGES = 4;

/** Options of {@link meshDiagram}. */
export interface MeshDiagramOptions {
    /**
     * Gateway addresses known after deployment (cluster name → `address:port`), e.g. a
     * LoadBalancer's address read back from its Service. They replace what the config alone says.
     */
    liveGatewayAddresses?: Readonly<Record<string, string>>;
    /**
     * Marks per cluster for a change view (a pull request against its base): added, removed or
     * changed clusters get a class each, drawn in their own colour.
     */
    changes?: Readonly<Record<string, "added" | "removed" | "changed">>;
    /** Direction of the flowchart. Default `LR` (networks side by side). */
    direction?: "LR" | "TB";
}

/** A Mermaid node id from a name: ids allow letters, digits and underscores only. */
export function mermaidId(prefix: string, name: string): string {
    return `${prefix}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** Text inside a quoted Mermaid label: quotes and angle brackets would end or break it. */
function label(text: string): string {
    return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/** The gateway line of a cluster's node: type and where other networks reach it. */
function gatewayLine(cluster: ClusterPlan, live: string | undefined): string | undefined {
    const gw = cluster.eastWestGateway;
    if (!gw) return undefined;
    const port = advertisedGatewayPort(gw);
    let where: string;
    if (live) where = live;
    else if (gw.address) where = `${gw.address}:${port}`;
    else if (gw.serviceType === "LoadBalancer" && gw.loadBalancerIP) where = `${gw.loadBalancerIP}:${port}`;
    else if (gw.serviceType === "NodePort") where = `node ExternalIPs<br/>port ${gw.nodePort ?? "auto"}`;
    // Two short lines: Mermaid wraps one long line at a width that splits "port" from its number.
    else where = `address after up<br/>port ${port}`;
    return `east-west ${gw.serviceType}<br/>${where.split("<br/>").map(label).join("<br/>")}`;
}

/** Whether a remote reaches its istiod through the primary's east-west gateway (else directly). */
function servedThroughGateway(remote: ClusterPlan, byName: ReadonlyMap<string, ClusterPlan>): boolean {
    return !remote.runsIstiod && byName.get(remote.controlPlane)?.exposeIstiod === true;
}

/** With `revisions`: one line per revision the cluster runs, its version and the tags it serves (`default` first). */
function revisionLines(cluster: ClusterPlan): string[] {
    return (cluster.revisions?.revisions ?? []).map((r) =>
        label(`rev ${r.name} · ${r.version}${r.tags.length > 0 ? ` · ${r.tags.join(", ")}` : ""}`),
    );
}

function clusterNode(cluster: ClusterPlan, options: MeshDiagramOptions, serving: string | undefined): string {
    // Mermaid takes <br/> and <b> inside a quoted label; everything else is escaped.
    const lines = [`<b>${label(cluster.name)}</b>`];
    lines.push(cluster.runsIstiod ? "primary · istiod" : label(`remote · istiod of ${cluster.controlPlane}`));
    if (serving) lines.push(label(serving));
    lines.push(...revisionLines(cluster));
    const gw = gatewayLine(cluster, options.liveGatewayAddresses?.[cluster.name]);
    if (gw) lines.push(gw);
    return `    ${mermaidId("c", cluster.name)}["${lines.join("<br/>")}"]`;
}

/** Names in the order a reader counts: cluster2 before cluster10. */
const naturalOrder = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * Watch edges drawn out: two primaries that watch each other share one two-headed edge, which
 * halves the edges of a multi-primary mesh and keeps the pair visibly mutual.
 */
function drawnWatchEdges(pairs: MeshPlan["remoteSecretPairs"]): string[] {
    const held = new Set(pairs.map((p) => `${p.holder}\0${p.source}`));
    const lines: string[] = [];
    for (const p of pairs) {
        const mutual = held.has(`${p.source}\0${p.holder}`);
        if (mutual && naturalOrder(p.holder, p.source) > 0) continue;
        const [from, to] = [mermaidId("c", p.holder), mermaidId("c", p.source)];
        lines.push(mutual ? `  ${from} <-. "watch each other" .-> ${to}` : `  ${from} -. "watches" .-> ${to}`);
    }
    return lines;
}

/** Watch edges, drawn out or grouped by the set of primaries that watch a cluster. */
function watchEdges(plan: MeshPlan): string[] {
    const pairs = plan.remoteSecretPairs;
    if (pairs.length <= MAX_DRAWN_WATCH_EDGES) {
        return drawnWatchEdges(pairs);
    }
    const bySet = new Map<string, string[]>();
    for (const cluster of plan.clusters) {
        if (cluster.watchedBy.length === 0) continue;
        const key = cluster.watchedBy.join(",");
        bySet.set(key, [...(bySet.get(key) ?? []), cluster.name]);
    }
    // Clusters whose watchers differ only by the cluster itself (a primary never watches itself)
    // share one group: "every primary" is what a reader wants to see.
    const primaries = plan.clusters.filter((c) => c.runsIstiod).map((c) => c.name);
    const lines: string[] = [];
    let group = 0;
    const merged = new Map<string, { watchers: string[]; watched: string[] }>();
    for (const [key, watched] of bySet) {
        const watchers = key.split(",");
        const everyOther = watched.every((w) => {
            const others = primaries.filter((p) => p !== w);
            return others.length === watchers.length && others.every((p) => watchers.includes(p));
        });
        const mergedKey = everyOther ? "*" : key;
        const entry = merged.get(mergedKey) ?? { watchers: everyOther ? primaries : watchers, watched: [] };
        entry.watched.push(...watched);
        merged.set(mergedKey, entry);
    }
    for (const [key, { watchers, watched }] of merged) {
        group++;
        const id = `w_${group}`;
        const who =
            key === "*"
                ? `every primary (${watchers.length}) watches every other cluster`
                : `watched by ${summariseNames(watchers)}`;
        lines.push(`  ${id}{{"${label(`remote secrets: ${who}`)}"}}`);
        for (const w of watched.sort(naturalOrder)) lines.push(`  ${id} -.-> ${mermaidId("c", w)}`);
    }
    return lines;
}

/** `a, b, c` up to four names, then `a, b, … (n)`. */
function summariseNames(names: readonly string[]): string {
    if (names.length <= 4) return names.join(", ");
    return `${names.slice(0, 2).join(", ")}, … (${names.length} primaries)`;
}

/** The Mermaid flowchart of a plan. Deterministic: the same plan gives the same text. */
export function meshDiagram(plan: MeshPlan, config: MeshConfig, options: MeshDiagramOptions = {}): string {
    const out = [`flowchart ${options.direction ?? "LR"}`];
    const byName = new Map(plan.clusters.map((c) => [c.name, c]));
    const primaries = plan.clusters.filter((p) => p.runsIstiod);
    const remotes = plan.clusters.filter((p) => !p.runsIstiod);
    const labelServing = remotes.length <= MAX_LABELLED_EDGES;
    for (const network of Object.keys(plan.networks).sort(naturalOrder)) {
        out.push(`  subgraph ${mermaidId("net", network)}["network ${label(network)}"]`);
        for (const name of [...plan.networks[network]].sort(naturalOrder)) {
            const cluster = byName.get(name);
            if (!cluster) continue;
            // Unlabelled serving edges: the remote's node says how it reaches its istiod.
            const serving =
                !labelServing && servedThroughGateway(cluster, byName) ? "via east-west gateway" : undefined;
            out.push(clusterNode(cluster, options, serving));
        }
        out.push("  end");
    }

    if (plan.trustModel === "federated") {
        out.push(...federatedRootLines(primaries));
    } else {
        out.push(...sharedRootLines(config, primaries));
    }

    for (const c of remotes) {
        const via = servedThroughGateway(c, byName) ? "served via east-west gateway" : "served by";
        const arrow = labelServing ? `== "${via}" ==>` : "==>";
        out.push(`  ${mermaidId("c", c.name)} ${arrow} ${mermaidId("c", c.controlPlane)}`);
    }
    out.push(...watchEdges(plan));

    const changes = Object.entries(options.changes ?? {});
    if (changes.length > 0) {
        out.push("  classDef added fill:#d4f7d4,stroke:#2e7d32,stroke-width:2px");
        out.push("  classDef removed fill:#fbd5d5,stroke:#c62828,stroke-width:2px,stroke-dasharray:4 3");
        out.push("  classDef changed fill:#fff3c4,stroke:#b28704,stroke-width:2px");
        for (const kind of ["added", "removed", "changed"] as const) {
            const ids = changes.filter(([, k]) => k === kind).map(([n]) => mermaidId("c", n));
            if (ids.length > 0) out.push(`  class ${ids.sort().join(",")} ${kind}`);
        }
    }
    return `${out.join("\n")}\n`;
}

/** One shared root (and the next one during a rotation) signing every primary's intermediate. */
function sharedRootLines(config: MeshConfig, primaries: readonly ClusterPlan[]): string[] {
    const lines: string[] = [];
    const rootId = "ca_root";
    const rotation = config.rootRotation;
    lines.push(`  subgraph ca["CA"]`);
    const signer = rotation?.stage === "issueFromNext" ? "ca_next" : rootId;
    const labelSigning = primaries.length <= MAX_LABELLED_EDGES;
    const signs = labelSigning ? "" : `<br/>signs the intermediate of each primary (${primaries.length})`;
    const rootText = label(`root ${config.ca.name} (${config.ca.mode === "import" ? "imported" : "generated"})`);
    lines.push(`    ${rootId}(["${rootText}${signer === rootId ? signs : ""}"])`);
    if (rotation) {
        const nextText = label(`next root ${rotation.next.name}: ${rotation.stage}`);
        lines.push(`    ca_next(["${nextText}${signer === "ca_next" ? signs : ""}"])`);
    }
    lines.push("  end");
    for (const c of primaries) {
        lines.push(`  ${signer} ${labelSigning ? '-- "signs intermediate" -->' : "-->"} ${mermaidId("c", c.name)}`);
    }
    return lines;
}

/** A federated mesh: each primary's own root signs its intermediate; the primaries trust every root. */
function federatedRootLines(primaries: readonly ClusterPlan[]): string[] {
    const lines = [`  subgraph ca["CA: a root per primary, each trusted by every primary"]`];
    for (const c of primaries) {
        const source = ROOT_SOURCE_TEXT[c.root?.source ?? "generate"];
        lines.push(`    ${mermaidId("root", c.name)}(["${label(`root ${c.root?.name ?? c.name} (${source})`)}"])`);
    }
    lines.push("  end");
    const labelled = primaries.length <= MAX_LABELLED_EDGES;
    for (const c of primaries) {
        const verb = c.root?.source === "existing" ? "signs workloads" : "signs intermediate";
        lines.push(`  ${mermaidId("root", c.name)} ${labelled ? `-- "${verb}" -->` : "-->"} ${mermaidId("c", c.name)}`);
    }
    return lines;
}
