/**
 * The revision rules: every problem with `revisions`, tags, defaults and per-cluster staging is
 * found at once, before any resource, each with its path and a fix.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { validateMeshConfig } from "../../components/mesh/validate-config";

const primary = { name: "cluster1", network: "network1", apiServer: "https://10.0.0.1:6443" };
const remote = { name: "cluster2", role: "remote", network: "network1", apiServer: "https://10.0.0.2:6443" };
const r129 = { name: "1-29-2", version: "1.29.2" };
const r130 = { name: "1-30-3", version: "1.30.3" };

function problemsOf(raw: Record<string, unknown>): { path: string; message: string; fix?: string }[] {
    return validateMeshConfig({ clusters: [primary], ...raw }).problems;
}
const paths = (raw: Record<string, unknown>) => problemsOf(raw).map((p) => p.path);

describe("revision config rules", () => {
    test("a valid two-revision config with tags passes and is typed", () => {
        const { config, problems } = validateMeshConfig({
            clusters: [primary, { ...remote, revisions: ["1-30-3", "1-29-2"] }],
            revisions: [r129, r130],
            revisionTags: { "prod-stable": "1-29-2", "prod-canary": "1-30-3" },
            defaultRevision: "1-29-2",
        });
        assert.deepEqual(problems, []);
        assert.deepEqual(config?.revisions, [r129, r130]);
        assert.equal(config?.defaultRevision, "1-29-2");
        assert.deepEqual(config?.clusters[1].revisions, ["1-30-3", "1-29-2"]);
        assert.equal(config?.clusters[0].revisions, undefined);
    });

    test("an IPv6 gateway address for remotes: refused while a remote runs a revision older than 1.30, not with 1.30 alone", () => {
        const gateway = { ...primary, eastWestGateway: { address: "2001:db8::15" } };
        const withRemote = (remoteRevisions: string[]) =>
            validateMeshConfig({
                clusters: [gateway, { ...remote, revisions: remoteRevisions }],
                revisions: [r129, r130],
                defaultRevision: remoteRevisions[0],
            }).problems.filter((p) => p.path === "clusters[0].eastWestGateway.address");
        assert.match(withRemote(["1-30-3", "1-29-2"])[0]?.message ?? "", /istiod chart 1\.29\.2 takes for a hostname/);
        assert.deepEqual(withRemote(["1-30-3"]), []);
        // Without revisions, istioVersion (default 1.30.3) decides.
        assert.deepEqual(validateMeshConfig({ clusters: [gateway, remote] }).problems, []);
    });

    test("without revisions the typed config has none of the new keys", () => {
        const { config } = validateMeshConfig({ clusters: [primary] });
        assert.ok(config);
        for (const k of ["revisions", "revisionTags", "defaultRevision", "baseVersion"]) assert.ok(!(k in config), k);
        assert.ok(!("revisions" in config.clusters[0]));
    });

    test("revision together with revisions is refused with the migration in the fix", () => {
        const [p] = problemsOf({ revision: "1-29-2", revisions: [r129], defaultRevision: "1-29-2" });
        assert.equal(p.path, "revision");
        assert.match(p.fix!, /revisions: \[\{ name: 1-29-2, version: <istioVersion> \}\]/);
        assert.match(p.fix!, /defaultRevision: 1-29-2/);
    });

    test("istioVersion and images.tag are refused with revisions", () => {
        assert.deepEqual(
            paths({ istioVersion: "1.29.2", images: { tag: "x" }, revisions: [r129], defaultRevision: "1-29-2" }),
            ["images.tag", "istioVersion"],
        );
    });

    test("unknown and duplicate names, bad names, bad versions, all at once", () => {
        assert.deepEqual(
            paths({
                revisions: [r129, { name: "1-29-2", version: "1.29.3" }, { name: "1.30.3", version: "1.30" }],
                revisionTags: { stable: "nowhere" },
                defaultRevision: "gone",
            }),
            [
                "defaultRevision",
                "revisions[1].name",
                "revisions[2].name",
                "revisions[2].version",
                "revisionTags.stable",
            ],
        );
    });

    test("the default name, a default tag, and a tag named like a revision are refused", () => {
        assert.deepEqual(
            paths({
                revisions: [{ name: "default", version: "1.30.3" }, r130],
                revisionTags: { default: "1-30-3", "1-30-3": "1-30-3" },
                defaultRevision: "1-30-3",
            }),
            ["revisions[0].name", "revisionTags.1-30-3", "revisionTags.default"],
        );
    });

    test("defaultRevision is required with revisions", () => {
        const [p] = problemsOf({ revisions: [r129] });
        assert.equal(p.path, "defaultRevision");
        assert.match(p.fix!, /1-29-2/);
    });

    test("revisions more than two minor versions apart are refused, two apart pass", () => {
        const ok = problemsOf({ revisions: [{ name: "1-28-1", version: "1.28.1" }, r130], defaultRevision: "1-30-3" });
        assert.deepEqual(ok, []);
        const [p] = problemsOf({
            revisions: [{ name: "1-27-0", version: "1.27.0" }, r130],
            defaultRevision: "1-30-3",
        });
        assert.equal(p.path, "revisions[1].version");
        assert.match(p.message, /at most two minor versions/);
    });

    test("staging keys without revisions are refused", () => {
        assert.deepEqual(
            paths({
                clusters: [{ ...primary, revisions: ["a"], defaultRevision: "a" }],
                revisionTags: { stable: "a" },
                defaultRevision: "a",
            }),
            ["clusters[0].defaultRevision", "clusters[0].revisions", "defaultRevision", "revisionTags"],
        );
    });

    test("a cluster must run its default and its tags' revisions, and only known ones", () => {
        const problems = problemsOf({
            clusters: [{ ...primary, revisions: ["1-30-3", "x", "1-30-3"] }],
            revisions: [r129, r130],
            revisionTags: { stable: "1-29-2" },
            defaultRevision: "1-29-2",
        });
        assert.deepEqual(
            problems.map((p) => p.path),
            ["clusters[0].revisions", "clusters[0].revisions", "clusters[0].revisions[1]", "clusters[0].revisions[2]"],
        );
        assert.ok(problems.some((p) => /default revision '1-29-2'/.test(p.message)));
        assert.ok(problems.some((p) => /tag 'stable'/.test(p.message)));
    });

    test("a remote cannot run a revision its primary does not run", () => {
        const problems = problemsOf({
            clusters: [{ ...primary, revisions: ["1-29-2"] }, remote],
            revisions: [r129, r130],
            defaultRevision: "1-29-2",
        });
        assert.deepEqual(
            problems.map((p) => p.path),
            ["clusters[1].revisions"],
        );
        assert.match(problems[0].message, /1-30-3, which its primary cluster1 does not run/);
    });

    test("per-cluster default and tags stage a move in one cluster", () => {
        const { problems } = validateMeshConfig({
            clusters: [{ ...primary, defaultRevision: "1-30-3", revisionTags: { stable: "1-30-3" } }],
            revisions: [r129, r130],
            revisionTags: { stable: "1-29-2" },
            defaultRevision: "1-29-2",
        });
        assert.deepEqual(problems, []);
    });

    test("baseVersion pins istio-base: never older than a revision, at most two minors ahead of the oldest, only with revisions", () => {
        const withRevs = { revisions: [r129, r130], defaultRevision: "1-29-2" };
        assert.deepEqual(problemsOf({ ...withRevs, baseVersion: "1.30.3" }), []);
        const older = problemsOf({ ...withRevs, baseVersion: "1.29.6" });
        assert.deepEqual(
            older.map((p) => p.path),
            ["baseVersion"],
        );
        assert.match(
            older[0].message,
            /1\.29\.6 is older than revisions\[1\]\.version 1\.30\.3: an istiod would run on older CRDs/,
        );
        assert.match(older[0].fix ?? "", /1\.30\.3 or newer/);
        const ahead = problemsOf({ ...withRevs, baseVersion: "1.32.0" });
        assert.deepEqual(
            ahead.map((p) => p.path),
            ["baseVersion"],
        );
        assert.match(ahead[0].message, /more than 2 minor versions ahead of revisions\[0\]\.version 1\.29\.2/);
        assert.match(problemsOf({ ...withRevs, baseVersion: "latest" })[0].message, /not a chart version/);
        const alone = problemsOf({ baseVersion: "1.30.3" });
        assert.deepEqual(
            alone.map((p) => p.path),
            ["baseVersion"],
        );
        assert.match(alone[0].message, /only applies together with revisions/);
    });
});
