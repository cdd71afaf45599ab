/**
 * `npm run --silent diagram:diff -- --stack <name> --base <file> --head <file>`: the pull-request
 * comment that shows what a change does to the mesh as a picture. The base branch's stack file
 * and the pull request's are planned offline (no cluster, no secret decrypted) and drawn with the
 * diagram of `npm run plan -- --format mermaid`: the base with the clusters the change removes
 * marked, the pull request with the clusters it adds or changes marked. A missing base file (a new
 * stack) shows the pull request's diagram alone.
 */
import * as fs from "node:fs";
import { validateMeshConfig } from "../components/mesh/validate-config";
import { MeshConfig } from "../components/config/config";
import { meshDiagram } from "../components/mesh/mesh-diagram";
import { buildMeshPlan, ClusterPlan, MeshPlan } from "../components/plan/mesh-plan";
import { readStackConfigFile } from "../components/config/stack-config";

type Planned = { plan: MeshPlan; config: MeshConfig } | { problems: string };

function planOf(file: string): Planned {
    const stack = readStackConfigFile(file);
    const { config, problems } = validateMeshConfig(stack.raw, [], { secretKeys: stack.secretKeys });
    const all = [...stack.problems, ...problems];
    if (!config || all.length > 0) return { problems: all.map((p) => `${p.path}: ${p.message}`).join("\n") };
    return { plan: buildMeshPlan(config), config };
}

/** What the diagram shows of a cluster: a change to any of it marks the cluster changed. */
function drawnFacts(c: ClusterPlan): string {
    const { role, network, controlPlane, eastWestGateway, watchedBy, remoteSecretSources, exposeIstiod } = c;
    return JSON.stringify({
        role,
        network,
        controlPlane,
        eastWestGateway,
        watchedBy,
        remoteSecretSources,
        exposeIstiod,
    });
}

/** Per cluster: added, removed or changed between two plans (unchanged clusters are absent). */
export function clusterChanges(base: MeshPlan, head: MeshPlan): Record<string, "added" | "removed" | "changed"> {
    const before = new Map(base.clusters.map((c) => [c.name, drawnFacts(c)]));
    const after = new Map(head.clusters.map((c) => [c.name, drawnFacts(c)]));
    const changes: Record<string, "added" | "removed" | "changed"> = {};
    for (const [name, facts] of after) {
        if (!before.has(name)) changes[name] = "added";
        else if (before.get(name) !== facts) changes[name] = "changed";
    }
    for (const name of before.keys()) if (!after.has(name)) changes[name] = "removed";
    return changes;
}

const fence = (text: string) => `\`\`\`mermaid\n${text}\`\`\``;

/** The Markdown comment for one stack. `baseFile` undefined: the stack is new in this change. */
export function diagramChangeComment(stack: string, baseFile: string | undefined, headFile: string): string {
    const head = planOf(headFile);
    const title = `### Mesh diagram of stack \`${stack}\``;
    if ("problems" in head)
        return `${title}\n\nThe pull request's stack config has problems:\n\n\`\`\`\n${head.problems}\n\`\`\`\n`;
    const base = baseFile && fs.existsSync(baseFile) ? planOf(baseFile) : undefined;
    if (!base || "problems" in base) {
        const why = base ? "the base branch's stack config does not validate" : "the stack is new";
        return `${title}\n\nAfter this change (${why}):\n\n${fence(meshDiagram(head.plan, head.config))}\n`;
    }
    const changes = clusterChanges(base.plan, head.plan);
    const names = Object.entries(changes);
    if (names.length === 0) {
        return `${title}\n\nThe change leaves the mesh's topology as it is.\n\n${fence(meshDiagram(head.plan, head.config))}\n`;
    }
    const summary = (["added", "removed", "changed"] as const)
        .map((kind) => {
            const these = names.filter(([, k]) => k === kind).map(([n]) => `\`${n}\``);
            return these.length ? `${kind}: ${these.sort().join(", ")}` : undefined;
        })
        .filter((s) => s !== undefined)
        .join("; ");
    const removed = Object.fromEntries(names.filter(([, k]) => k === "removed"));
    const addedOrChanged = Object.fromEntries(names.filter(([, k]) => k !== "removed"));
    return [
        title,
        "",
        `Clusters ${summary} (green: added, yellow: changed, red dashed: removed).`,
        "",
        "<details><summary>Before (base branch)</summary>",
        "",
        fence(meshDiagram(base.plan, base.config, { changes: removed })),
        "",
        "</details>",
        "",
        "After (this pull request):",
        "",
        fence(meshDiagram(head.plan, head.config, { changes: addedOrChanged })),
        "",
    ].join("\n");
}

function option(argv: readonly string[], name: string): string | undefined {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    const stack = option(argv, "--stack");
    const head = option(argv, "--head");
    if (!stack || !head) {
        process.stderr.write("Usage: npm run --silent diagram:diff -- --stack <name> [--base <file>] --head <file>\n");
        process.exitCode = 2;
    } else process.stdout.write(diagramChangeComment(stack, option(argv, "--base"), head));
}
