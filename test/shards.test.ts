/** The suite's sharding (test/shards/loader.ts): every test file runs, exactly once. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";

import { shardFiles, TEST_ROOT, testFiles } from "./shards/loader";

describe("test shards", () => {
    test("find every *.test.ts, this file and the e2e test included, the real-API-server bed left to npm run test:bed", () => {
        const files = testFiles().map((f) => path.relative(TEST_ROOT, f));
        assert.ok(files.includes("shards.test.ts"));
        assert.ok(files.includes(path.join("e2e", "kind.e2e.test.ts")));
        assert.ok(files.every((f) => f.endsWith(".test.ts")));
        assert.ok(fs.existsSync(path.join(TEST_ROOT, "bed", "token-request.bed.test.ts")));
        assert.deepEqual(
            files.filter((f) => f.startsWith(`bed${path.sep}`)),
            [],
        );
    });

    test("the shards together hold every file exactly once", () => {
        const files = testFiles();
        for (const of of [1, 2, 3]) {
            const dealt = Array.from({ length: of }, (_, i) => shardFiles(files, i + 1, of)).flat();
            assert.deepEqual([...dealt].sort(), files);
        }
        assert.throws(() => shardFiles(files, 3, 2), /shard 3 of 2/);
    });

    test("a file that fails to load fails as one named test, and the shard's other files still run", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-shard-"));
        try {
            fs.writeFileSync(path.join(dir, "a-broken.test.ts"), 'throw new Error("broken on import");\n');
            fs.writeFileSync(
                path.join(dir, "b-fine.test.ts"),
                'import { test } from "node:test";\ntest("fine", () => {});\n',
            );
            const shard = path.join(dir, "shard.ts");
            const loader = path.join(__dirname, "shards", "loader");
            fs.writeFileSync(shard, `require(${JSON.stringify(loader)}).loadShard(1, 1, ${JSON.stringify(dir)});\n`);
            const run = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", shard], {
                encoding: "utf8",
                // Without NODE_TEST_CONTEXT the child is a test run of its own, not part of this one.
                env: { ...process.env, NODE_OPTIONS: "", NODE_TEST_CONTEXT: undefined },
            });
            assert.equal(run.status, 1, run.stdout + run.stderr);
            assert.match(run.stdout, /✖ a-broken\.test\.ts loads/);
            assert.match(run.stdout, /broken on import/);
            assert.match(run.stdout, /✔ fine/);
            assert.match(run.stdout, /ℹ pass 1\n/);
            assert.match(run.stdout, /ℹ fail 1\n/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
