/** The suite's sharding (test/shards/loader.ts): every test file runs, exactly once. */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";

import { shardFiles, TEST_ROOT, testFiles } from "./shards/loader";

describe("test shards", () => {
    test("find every *.test.ts, this file and the e2e test included", () => {
        const files = testFiles().map((f) => path.relative(TEST_ROOT, f));
        assert.ok(files.includes("shards.test.ts"));
        assert.ok(files.includes(path.join("e2e", "kind.e2e.test.ts")));
        assert.ok(files.every((f) => f.endsWith(".test.ts")));
    });

    test("the shards together hold every file exactly once", () => {
        const files = testFiles();
        for (const of of [1, 2, 3]) {
            const dealt = Array.from({ length: of }, (_, i) => shardFiles(files, i + 1, of)).flat();
            assert.deepEqual([...dealt].sort(), files);
        }
        assert.throws(() => shardFiles(files, 3, 2), /shard 3 of 2/);
    });
});
