/**
 * Runs the real program (`index.ts`) under the bed's Pulumi engine in a process of its own and
 * prints the outcome as one JSON line: `{ "ok": true }` or `{ "ok": false, "error": "..." }`.
 * Usage: node --import tsx test/bed/engine-program.ts <workDir> preview
 *
 * A process of its own because it stands where the language host would: when an inline program
 * fails, the SDK's inline runner reports the error and leaves the failed run's promises rejected
 * after it has stopped listening, which a test process would count against whatever test runs
 * next. The language host of `pulumi up` handles those itself.
 */
import * as path from "node:path";

import { engineStack } from "./engine";

const INDEX = path.resolve(__dirname, "../../index.ts");

async function main(): Promise<void> {
    const [workDir, operation] = process.argv.slice(2);
    if (!workDir || operation !== "preview") throw new Error("usage: engine-program.ts <workDir> preview");
    // The failed run's leftover rejections: its error is what the preview below reports.
    process.on("unhandledRejection", () => undefined);
    const program = async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(INDEX) as Record<string, unknown>;
    };
    const stack = await engineStack({ workDir, projectName: "istio-multicluster", program });
    try {
        await stack.preview();
        process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    } catch (e) {
        process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message })}\n`);
    }
}

main().then(
    () => process.exit(0),
    (e: unknown) => {
        process.stderr.write(`${String(e)}\n`);
        process.exit(2);
    },
);
