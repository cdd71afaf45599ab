/**
 * `openssl` and a per-file scratch directory for the tests that check real certificates. The
 * directory holds only material the tests generate themselves, and is removed after the file's
 * tests.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";

/** Runs `openssl` and returns its stdout; throws (with stderr) when it exits non-zero. */
export function openssl(args: string[], input?: string): string {
    return execFileSync("openssl", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

/** A scratch directory for this test file, removed after its tests. */
export function scratchDir(prefix: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    let counter = 0;
    /** A fresh path in the directory (`<kind><n>.pem`), not yet written. */
    const freshPath = (kind = "f"): string => path.join(dir, `${kind}${counter++}.pem`);
    return {
        dir,
        freshPath,
        /** Writes `content` to a fresh file (or to `name` in the directory) and returns its path. */
        write(content: string, name?: string): string {
            const file = name ? path.join(dir, name) : freshPath();
            fs.writeFileSync(file, content);
            return file;
        },
    };
}
