/**
 * The benchmark's graph measures (bench/scenario.ts): they are what README reports as critical
 * path and graph-only deployment time, so they are checked on small graphs with known answers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { criticalPathDepth, heaviestPath } from "../../bench/scenario";
import { RecordedResource } from "../harness";

function resource(urn: string, fields: Partial<RecordedResource> = {}): RecordedResource {
    return {
        type: fields.custom === false ? "istio-multicluster:test:Group" : "kubernetes:helm.sh/v3:Release",
        name: urn,
        urn,
        parent: "",
        custom: true,
        remote: false,
        provider: "",
        dependencies: [],
        propertyDependencies: {},
        inputs: {},
        secretPaths: [],
        protect: false,
        additionalSecretOutputs: [],
        ignoreChanges: [],
        deleteBeforeReplace: false,
        retainOnDelete: false,
        ...fields,
    };
}

describe("benchmark graph measures", () => {
    // a → b (by dependsOn) → c (by a property); d waits for the component g, i.e. for e and f inside it.
    const graph = [
        resource("a"),
        resource("b", { dependencies: ["a"] }),
        resource("c", { propertyDependencies: { values: ["b"] } }),
        resource("g", { custom: false }),
        resource("e", { parent: "g" }),
        resource("f", { parent: "g", dependencies: ["c"] }),
        resource("d", { dependencies: ["g"] }),
    ];

    test("critical path: the longest chain, through a component's children", () => {
        assert.equal(criticalPathDepth(graph), 5); // a, b, c, f, d
        assert.equal(criticalPathDepth(graph.slice(0, 1)), 1);
        assert.equal(criticalPathDepth([]), 0);
    });

    test("graph time: the heaviest chain, not the sum of all weights", () => {
        const weight = (r: RecordedResource) => ({ a: 1, b: 10, c: 1, e: 100, f: 1, d: 1 })[r.urn] ?? 0;
        // e (100) → d (1) outweighs a → b → c → f → d (14); the components weigh nothing.
        assert.equal(heaviestPath(graph, weight), 101);
        assert.equal(
            heaviestPath(graph, (r) => (r.urn === "e" ? 0 : 1)),
            5,
        );
    });
});
