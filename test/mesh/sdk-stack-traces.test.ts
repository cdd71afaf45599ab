/**
 * The program turns off the SDK's per-promise stack traces (components/sdk-stack-traces.ts). What
 * must survive that: resource source positions and error messages; and the operator's way back.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import {
    FULL_STACK_TRACES_ENV,
    limitSdkStackTraces,
    wantsFullStackTraces,
} from "../../components/mesh/sdk-stack-traces";
import { runUnderMocks } from "../harness";
import { meshArgsOf, meshOf } from "../plan-diff";

describe("wantsFullStackTraces", () => {
    test("is off by default and when the variables are empty or 0", () => {
        assert.equal(wantsFullStackTraces({}), false);
        assert.equal(wantsFullStackTraces({ [FULL_STACK_TRACES_ENV]: "", PULUMI_DEBUG_PROMISE_LEAKS: "" }), false);
        assert.equal(wantsFullStackTraces({ [FULL_STACK_TRACES_ENV]: "0" }), false);
    });
    test(`is on with ${FULL_STACK_TRACES_ENV} or the SDK's PULUMI_DEBUG_PROMISE_LEAKS (which prints the traces)`, () => {
        assert.equal(wantsFullStackTraces({ [FULL_STACK_TRACES_ENV]: "1" }), true);
        assert.equal(wantsFullStackTraces({ PULUMI_DEBUG_PROMISE_LEAKS: "true" }), true);
    });
});

describe("limitSdkStackTraces", () => {
    let saved: number;
    let savedTestStacks: string | undefined;
    beforeEach(() => {
        saved = Error.stackTraceLimit;
        // The harness leaves stack traces alone with this set, so the program's own setting is what runs.
        savedTestStacks = process.env.MESH_TEST_STACKS;
        process.env.MESH_TEST_STACKS = "1";
    });
    afterEach(() => {
        Error.stackTraceLimit = saved;
        if (savedTestStacks === undefined) delete process.env.MESH_TEST_STACKS;
        else process.env.MESH_TEST_STACKS = savedTestStacks;
    });

    test("sets Error.stackTraceLimit to 0, or leaves it when full traces are wanted", () => {
        Error.stackTraceLimit = 10;
        assert.equal(limitSdkStackTraces({ [FULL_STACK_TRACES_ENV]: "1" }), false);
        assert.equal(Error.stackTraceLimit, 10);
        assert.equal(limitSdkStackTraces({}), true);
        assert.equal(Error.stackTraceLimit, 0);
        assert.equal(new Error("x").stack, "Error: x");
    });

    test("every registration carries the same source position as with full stack traces", async () => {
        const config = meshOf([
            { name: "east", network: "net1" },
            { name: "west", network: "net2" },
        ]);
        const args = meshArgsOf(config);
        const positions = async (limit: boolean) => {
            const { resources } = await runUnderMocks(() => {
                Error.stackTraceLimit = 10;
                if (limit) limitSdkStackTraces({});
                return new IstioMulticlusterMesh("mesh", args);
            });
            return new Map(resources.map((r) => [`${r.type} ${r.name}`, r.sourcePosition]));
        };
        const full = await positions(false);
        const limited = await positions(true);
        assert.ok(limited.size > 20);
        assert.deepEqual(limited, full);
        for (const [resource, position] of limited) assert.ok(position && position.line > 0, resource);

        const remoteSecret = limited.get("kubernetes:core/v1:Secret east-remote-secret-west");
        assert.ok(remoteSecret);
        assert.equal(
            new URL(remoteSecret.uri).pathname,
            require.resolve("../../components/remote-secrets/remote-secrets"),
        );
    });
});
