/**
 * The real Pulumi engine for the bed tests: the CLI that `scripts/bed-build.sh` builds from
 * `github.com/pulumi/pulumi/pkg/v3` (`bed/engine/go.mod`, the lockfile's `@pulumi/pulumi`
 * version), driving an inline program through the automation API with a file-backend state in a
 * scratch directory. Nothing is downloaded: automatic plugin acquisition is off, and the one
 * plugin these programs need, the dynamic-provider host, ships with `@pulumi/pulumi`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";

import { bedBinDir, bedUnavailable } from "./api-server";

const REPO = path.resolve(__dirname, "../..");

/** Why the engine tests cannot run here, or undefined when they can. */
export function engineUnavailable(): string | undefined {
    const pulumi = path.join(bedBinDir(), "pulumi");
    return (
        bedUnavailable() ??
        (fs.existsSync(pulumi) ? undefined : `no pulumi in ${bedBinDir()} (run scripts/bed-build.sh)`)
    );
}

/** A stack of `projectName` running `program` under the real engine, its state under `workDir`. */
export async function engineStack(options: {
    workDir: string;
    projectName: string;
    program: PulumiFn;
    envVars?: Record<string, string>;
}): Promise<Stack> {
    const { workDir, projectName, program } = options;
    fs.mkdirSync(path.join(workDir, "state"), { recursive: true });
    // The engine starts the dynamic-provider plugin (pulumi-resource-pulumi-nodejs, shipped with
    // @pulumi/pulumi) in the project directory, and it resolves the SDK from there.
    const modules = path.join(workDir, "node_modules");
    if (!fs.existsSync(modules)) fs.symlinkSync(path.join(REPO, "node_modules"), modules);
    return LocalWorkspace.createOrSelectStack(
        { stackName: "bed", projectName, program },
        {
            workDir,
            pulumiCommand: await PulumiCommand.get({ root: path.dirname(bedBinDir()) }),
            projectSettings: {
                name: projectName,
                runtime: "nodejs",
                backend: { url: `file://${path.join(workDir, "state")}` },
            },
            envVars: {
                PULUMI_HOME: path.join(workDir, "home"),
                PULUMI_CONFIG_PASSPHRASE: "bed",
                PULUMI_SKIP_UPDATE_CHECK: "1",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PATH: [path.join(REPO, "node_modules", "@pulumi", "pulumi"), bedBinDir(), process.env.PATH].join(":"),
                ...options.envVars,
            },
        },
    );
}
