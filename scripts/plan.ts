/**
 * `npm run plan -- --stack <name> [--json]` or `npm run plan -- --file <path> [--json]`
 *
 * Prints the mesh plan of a stack file without any cluster, Pulumi CLI or kubeconfig: the same
 * validation as `pulumi up` (exit code 1 and every problem when the config is wrong), then the
 * plan as a table or as JSON. Secrets are never decrypted; `secure:` values stay opaque.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigProblem, formatConfigProblems } from "../components/config/config";
import { validateMeshConfig } from "../components/mesh/validate-config";
import { meshDiagram } from "../components/mesh/mesh-diagram";
import { buildMeshPlan } from "../components/plan/mesh-plan";
import { formatPlanReport, planToJson } from "../components/mesh/plan-report";
import { readStackConfigFile } from "../components/config/stack-config";

export interface PlanCliResult {
    exitCode: number;
    stdout: string;
    stderr: string;
}

const USAGE = `Usage: npm run plan -- (--stack <name> | --file <Pulumi.<stack>.yaml>) [--json | --format <f>]

  --stack <name>     read Pulumi.<name>.yaml in the current directory
  --file <path>      read this stack file (e.g. examples/Pulumi.mixed.yaml)
  --json             print the plan (or the problems) as JSON (same as --format json)
  --format <f>       text (default), json, or mermaid: a Mermaid flowchart of the mesh

No cluster, Pulumi CLI or kubeconfig is needed. Exit code 1 when the configuration has problems.
For clean JSON on stdout use: npm run --silent plan -- --stack dev --json`;

const FORMATS = ["text", "json", "mermaid"] as const;
type Format = (typeof FORMATS)[number];

interface Args {
    stack?: string;
    file?: string;
    format: Format;
    help: boolean;
}

function parseArgs(argv: readonly string[]): Args | string {
    const args: Args = { format: "text", help: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (): string | undefined => {
            const eq = a.indexOf("=");
            if (eq > 0) return a.slice(eq + 1);
            i++;
            return argv[i];
        };
        if (a === "--json") args.format = "json";
        else if (a === "--format" || a.startsWith("--format=")) {
            const format = value();
            if (!FORMATS.includes(format as Format)) {
                return `--format takes one of ${FORMATS.join(", ")}, not '${format ?? ""}'.`;
            }
            args.format = format as Format;
        } else if (a === "-h" || a === "--help") args.help = true;
        else if (a === "--stack" || a.startsWith("--stack=") || a === "-s") args.stack = value();
        else if (a === "--file" || a.startsWith("--file=") || a === "-f") args.file = value();
        else return `Unknown argument '${a}'.`;
    }
    if (args.help) return args;
    if (args.stack === undefined && args.file === undefined) return "Give --stack <name> or --file <path>.";
    if (args.stack !== undefined && args.file !== undefined) return "Give either --stack or --file, not both.";
    if (args.stack === "" || args.file === "") return "--stack and --file need a value.";
    return args;
}

function availableStacks(dir: string): string[] {
    try {
        return fs
            .readdirSync(dir)
            .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
            .filter((s): s is string => s !== undefined)
            .sort();
    } catch {
        return [];
    }
}

/** The CLI as a function of its arguments and working directory. */
export function runPlan(argv: readonly string[], cwd: string = process.cwd()): PlanCliResult {
    const parsed = parseArgs(argv);
    if (typeof parsed === "string") return { exitCode: 2, stdout: "", stderr: `${parsed}\n\n${USAGE}\n` };
    if (parsed.help) return { exitCode: 0, stdout: `${USAGE}\n`, stderr: "" };

    let file: string;
    if (parsed.stack !== undefined) {
        file = path.resolve(cwd, `Pulumi.${parsed.stack}.yaml`);
        if (!fs.existsSync(file) && fs.existsSync(path.resolve(cwd, `Pulumi.${parsed.stack}.yml`))) {
            file = path.resolve(cwd, `Pulumi.${parsed.stack}.yml`);
        }
    } else file = path.resolve(cwd, parsed.file!);
    const relative = path.relative(cwd, file);
    const shown = relative && !relative.startsWith("..") ? relative : file;
    if (!fs.existsSync(file)) {
        const stacks = availableStacks(cwd);
        return {
            exitCode: 2,
            stdout: "",
            stderr: `No stack file ${shown}.${stacks.length ? ` Stacks here: ${stacks.join(", ")}.` : ""}\n`,
        };
    }

    let stackFile;
    try {
        stackFile = readStackConfigFile(file);
    } catch (e) {
        return { exitCode: 1, stdout: "", stderr: `${(e as Error).message}\n` };
    }
    const result = validateMeshConfig(stackFile.raw, [], { secretKeys: stackFile.secretKeys });
    const problems: ConfigProblem[] = [...stackFile.problems, ...result.problems];
    if (problems.length > 0 || !result.config) {
        const text = `${shown}: ${formatConfigProblems(problems)}\n`;
        return parsed.format === "json"
            ? { exitCode: 1, stdout: `${JSON.stringify({ source: shown, problems }, null, 2)}\n`, stderr: text }
            : { exitCode: 1, stdout: "", stderr: text };
    }
    const plan = buildMeshPlan(result.config);
    const kubeconfigs = stackFile.raw.kubeconfigs;
    const options = {
        source: shown,
        environments: stackFile.environments,
        secretKubeconfigClusters:
            typeof kubeconfigs === "object" && kubeconfigs !== null ? Object.keys(kubeconfigs) : [],
    };
    if (parsed.format === "mermaid") return { exitCode: 0, stdout: meshDiagram(plan, result.config), stderr: "" };
    const stdout =
        parsed.format === "json"
            ? JSON.stringify(planToJson(plan, result.config, options), null, 2)
            : formatPlanReport(plan, result.config, options);
    return { exitCode: 0, stdout: `${stdout}\n`, stderr: "" };
}

if (require.main === module) {
    const r = runPlan(process.argv.slice(2));
    if (r.stdout) process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    process.exitCode = r.exitCode;
}
