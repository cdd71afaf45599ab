/**
 * `npm test` runs the suite in two long-lived processes instead of one per file. Every test
 * process first loads the Pulumi SDK, about a second of CPU (its automation API and TypeScript
 * shim load eagerly), and with one process per file that start-up was half of the suite's time.
 *
 * Files are dealt to the shards round-robin in sorted order, so a new `*.test.ts` file is picked
 * up without being listed anywhere. Within a shard, files run one after the other (node:test runs
 * a process's top-level tests in order), which the harness needs anyway: Pulumi's runtime state
 * is process-global. A single file still runs on its own: `node --import tsx --test <file>`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

/** The directory that holds the test files. */
export const TEST_ROOT = path.join(__dirname, "..");

/** Folders `npm test` leaves out: the real-API-server bed runs on its own (`npm run test:bed`). */
const NOT_IN_FAST_SUITE = new Set([path.join(TEST_ROOT, "bed")]);

/** Every `*.test.ts` under `root` (but the bed's), as absolute paths, sorted. */
export function testFiles(root: string = TEST_ROOT): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory() && NOT_IN_FAST_SUITE.has(full)) continue;
            if (entry.isDirectory()) walk(full);
            else if (entry.name.endsWith(".test.ts")) found.push(full);
        }
    };
    walk(root);
    return found.sort();
}

/** The files of shard `shard` (1-based) of `of`. */
export function shardFiles(files: readonly string[], shard: number, of: number): string[] {
    if (!Number.isInteger(of) || of < 1 || !Number.isInteger(shard) || shard < 1 || shard > of) {
        throw new Error(`shard ${shard} of ${of}: expected 1 ≤ shard ≤ of`);
    }
    return files.filter((_, i) => i % of === shard - 1);
}

/**
 * Loads (and so registers the tests of) every file of one shard. A file that fails to load
 * becomes one failing test named after it, and the shard's other files still run.
 */
export function loadShard(shard: number, of: number, root: string = TEST_ROOT): void {
    for (const file of shardFiles(testFiles(root), shard, of)) {
        try {
            require(file); // eslint-disable-line @typescript-eslint/no-require-imports
        } catch (err) {
            test(`${path.relative(root, file)} loads`, () => {
                throw err;
            });
        }
    }
}
