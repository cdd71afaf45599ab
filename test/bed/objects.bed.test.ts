/**
 * Every Kubernetes object the program registers outside its Helm releases (namespaces, cacerts,
 * reader accounts, bindings, token and anchor Secrets, remote secrets, Istio Gateways), for each
 * cluster of several meshes, sent to a real kube-apiserver as a server-side dry run: the API
 * server's own validation and defaulting, not a schema copy. With `ISTIO_CHARTS` the base chart's
 * CRDs are installed first, so the Istio objects are checked too; otherwise they are left out.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { MeshConfig } from "../../components/config/config";
import { RecordedResource } from "../harness";
import { ClusterEntry, meshOf, meshResources } from "../plan-diff";
import { BedCluster, bedBinDir, bedUnavailable, startBedCluster } from "./api-server";

const chartsRoot = process.env.ISTIO_CHARTS;
const baseChart = chartsRoot ? path.join(chartsRoot, "1.30.3", "manifests", "charts", "base") : undefined;
const withIstioCrds = baseChart !== undefined && fs.existsSync(path.join(baseChart, "Chart.yaml"));

const east: ClusterEntry = { name: "east", network: "network1", eastWestGateway: { address: "10.0.0.1" } };
const west: ClusterEntry = { name: "west", network: "network2" };
const remote: ClusterEntry = { name: "edge", network: "network2", role: "remote", controlPlane: "east" };
const meshes: Record<string, MeshConfig> = {
    "multi-primary, legacy shared tokens": meshOf([east, west]),
    "multi-primary, tokenRequest per holder, one Secret per holder": meshOf([east, west], {
        remoteSecrets: { tokenMode: "tokenRequest", readerAccounts: "perHolder", layout: "perHolder" },
    }),
    "primary-remote with revisions": meshOf([east, remote], {
        revisions: [
            { name: "1-29-2", version: "1.29.2" },
            { name: "1-30-3", version: "1.30.3" },
        ],
        defaultRevision: "1-29-2",
    }),
};

/** `kubernetes:<group>/<version>:<Kind>` → apiVersion and kind. */
function typeOf(type: string): { apiVersion: string; kind: string } {
    const [, groupVersion, kind] = type.split(":");
    return { apiVersion: groupVersion.replace(/^core\//, ""), kind };
}

/** The objects of one cluster the program creates itself (no Helm releases, no reads). */
function objectsOf(resources: RecordedResource[], cluster: string): object[] {
    return resources
        .filter((r) => r.cluster === cluster && r.type.startsWith("kubernetes:") && r.custom && r.readId === undefined)
        .filter((r) => r.type !== "kubernetes:helm.sh/v3:Release")
        .filter((r) => withIstioCrds || !r.type.includes(".istio.io/"))
        .map((r) => ({ ...typeOf(r.type), ...r.inputs }));
}

describe("the program's own objects on a real API server (server-side dry run)", { skip: bedUnavailable() }, () => {
    let bed: BedCluster;
    before(async () => {
        bed = await startBedCluster();
        assert.equal(bed.kubectl(["create", "namespace", "istio-system"]).code, 0);
        if (withIstioCrds) {
            execFileSync(
                path.join(bedBinDir(), "helm"),
                ["install", "istio-base", baseChart!, "-n", "istio-system", "--kubeconfig", bed.adminKubeconfigPath],
                { stdio: "ignore" },
            );
        }
    });
    after(async () => bed?.stop());

    for (const [mesh, config] of Object.entries(meshes)) {
        it(`${mesh}: every cluster's objects pass the API server's validation`, async () => {
            const resources = [...(await meshResources(config)).values()];
            for (const cluster of config.clusters.map((c) => c.name)) {
                const objects = objectsOf(resources, cluster);
                assert.ok(objects.length > 0, cluster);
                const r = bed.applyObjects(objects, ["--dry-run=server"]);
                assert.equal(r.code, 0, `${mesh}, ${cluster}: ${r.stderr}`);
                assert.equal(r.stdout.trim().split("\n").length, objects.length, r.stdout);
            }
        });
    }
});
