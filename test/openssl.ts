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

export type Scratch = ReturnType<typeof scratchDir>;

export interface SelfSignedOptions {
    /** A CA certificate (critical CA:TRUE, certificate and CRL signing) or a leaf. */
    ca: boolean;
    days: number;
    /** Subject CN (O is always Example Corp). Default `Example Root`. */
    cn?: string;
    /** RSA-2048 instead of EC P-256 (RSA key generation is slow; use it only where it matters). */
    rsa?: boolean;
}

/** A self-signed certificate and its key made by openssl, independent of the mocks. */
export function selfSignedByOpenssl(scratch: Scratch, opts: SelfSignedOptions): { certPem: string; keyPem: string } {
    const cnf = scratch.write(
        [
            "[req]",
            "distinguished_name = dn",
            "x509_extensions = ext",
            "prompt = no",
            "[dn]",
            "O = Example Corp",
            `CN = ${opts.cn ?? "Example Root"}`,
            "[ext]",
            `basicConstraints = critical,CA:${opts.ca ? "TRUE" : "FALSE"}`,
            `keyUsage = critical,${opts.ca ? "keyCertSign,cRLSign," : ""}digitalSignature`,
            "subjectKeyIdentifier = hash",
        ].join("\n"),
    );
    const keyFile = scratch.freshPath("k");
    const certFile = scratch.freshPath("c");
    openssl([
        "req",
        "-x509",
        ...(opts.rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        String(opts.days),
        "-config",
        cnf,
    ]);
    return { certPem: fs.readFileSync(certFile, "utf8"), keyPem: fs.readFileSync(keyFile, "utf8") };
}
