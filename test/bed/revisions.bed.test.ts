/**
 * The canary upgrade of docs/operations.md on a real kube-apiserver with the real Istio charts:
 * the releases the program registers for one primary at each step (their chart, version and
 * values, taken from its graph under the mock engine) are installed, upgraded and uninstalled by
 * the real helm, in the order of the program's dependencies, as the Pulumi helm provider would
 * (without `atomic`: it waits for pods, and no pod runs here). What the API server then holds
 * shows whether the steps work: both revisions side by side, the tag webhooks changing owner,
 * the old revision gone.
 *
 * Needs the bed (scripts/bed-build.sh) and the charts of Istio 1.29.2 and 1.30.3, which this
 * repository does not contain: `ISTIO_CHARTS=<dir>` with `<dir>/<version>/manifests/charts`
 * (the layout of Istio's release archives and of its source tree). Skipped otherwise.
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

const VERSIONS = ["1.29.2", "1.30.3"];
const CHART_DIRS: Record<string, string> = {
    base: "base",
    istiod: path.join("istio-control", "istio-discovery"),
    gateway: "gateway",
};
const chartsRoot = process.env.ISTIO_CHARTS;
const helmBin = path.join(bedBinDir(), "helm");
const unavailable =
    bedUnavailable() ??
    (!fs.existsSync(helmBin) ? `helm not in ${bedBinDir()} (run scripts/bed-build.sh)` : undefined) ??
    (!chartsRoot ||
    !VERSIONS.every((v) => fs.existsSync(path.join(chartsRoot, v, "manifests", "charts", "base", "Chart.yaml")))
        ? `set ISTIO_CHARTS to a directory with ${VERSIONS.map((v) => `${v}/manifests/charts`).join(" and ")}`
        : undefined);

// The mesh of test/mesh/revisions-upgrade.test.ts; cluster1 (a primary serving a remote) is the bed.
const c1: ClusterEntry = { name: "cluster1", network: "network1", eastWestGateway: { address: "10.0.0.1" } };
const c2: ClusterEntry = { name: "cluster2", network: "network2", role: "remote", controlPlane: "cluster1" };
const OLD = { name: "1-29-2", version: "1.29.2" };
const NEW = { name: "1-30-3", version: "1.30.3" };
const tags = (stable: string) => ({ revisionTags: { "prod-stable": stable, "prod-canary": NEW.name } });
const steps: Record<string, MeshConfig> = {
    before: meshOf([c1, c2], {
        revisions: [OLD],
        revisionTags: { "prod-stable": OLD.name },
        defaultRevision: OLD.name,
    }),
    "1, add the canary": meshOf([c1, c2], { revisions: [OLD, NEW], ...tags(OLD.name), defaultRevision: OLD.name }),
    "2, move the default and prod-stable": meshOf([c1, c2], {
        revisions: [OLD, NEW],
        ...tags(NEW.name),
        defaultRevision: NEW.name,
    }),
    "3, remove the old revision": meshOf([c1, c2], { revisions: [NEW], ...tags(NEW.name), defaultRevision: NEW.name }),
};

interface PlannedRelease {
    name: string;
    chart: string;
    version: string;
    values: unknown;
}

/** cluster1's releases, each after everything it depends on (transitively, through any resource). */
async function releasesOf(config: MeshConfig): Promise<PlannedRelease[]> {
    const byUrn = await meshResources(config);
    const all = [...byUrn.values()];
    const releases = all.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.cluster === "cluster1");
    const reaches = (from: RecordedResource, to: RecordedResource, seen = new Set<string>()): boolean =>
        from.dependencies.some((urn) => {
            if (urn === to.urn) return true;
            if (seen.has(urn)) return false;
            seen.add(urn);
            const next = byUrn.get(urn);
            return next !== undefined && reaches(next, to, seen);
        });
    const ordered: RecordedResource[] = [];
    const pending = [...releases];
    while (pending.length > 0) {
        const i = pending.findIndex((r) => !pending.some((o) => o !== r && reaches(r, o)));
        assert.ok(i >= 0, "the releases' dependencies have a cycle");
        ordered.push(...pending.splice(i, 1));
    }
    return ordered.map((r) => ({
        name: r.inputs.name as string,
        chart: r.inputs.chart as string,
        version: r.inputs.version as string,
        values: r.inputs.values,
    }));
}

/** A bed cluster with `istio-system`, started before the suite's tests and stopped after them. */
function bedWithIstioSystem(): () => BedCluster {
    let bed: BedCluster | undefined;
    before(async () => {
        bed = await startBedCluster();
        assert.equal(bed.kubectl(["create", "namespace", "istio-system"]).code, 0);
    });
    after(async () => bed?.stop());
    return () => bed!;
}

/** helm against one bed cluster, in istio-system, with values files in the bed's scratch directory. */
function helmOn(bed: () => BedCluster, planned = new Map<string, string>()) {
    const helm = (args: string[]) =>
        execFileSync(helmBin, [...args, "--kubeconfig", bed().adminKubeconfigPath, "--namespace", "istio-system"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    const upgrade = (r: PlannedRelease) => {
        const values = path.join(bed().scratchDir, `${r.name}.json`);
        fs.writeFileSync(values, JSON.stringify(r.values ?? {}));
        const chart = path.join(chartsRoot!, r.version, "manifests", "charts", CHART_DIRS[r.chart]);
        planned.set(r.name, r.version);
        return helm(["upgrade", "--install", r.name, chart, "--values", values]);
    };
    return { helm, upgrade, planned };
}

describe(
    "canary upgrade with revisions on a real API server, with the real charts and helm",
    { skip: unavailable },
    () => {
        const bed = bedWithIstioSystem();
        const { helm, upgrade, planned } = helmOn(bed);
        // Release names from helm with the chart version the program gave each (charts from Istio's
        // source tree all say 1.0.0; release archives carry the real version), and helm's status.
        const installed = () =>
            (JSON.parse(helm(["list", "--output", "json"])) as { name: string; status: string }[])
                .map((r) => `${r.name} ${planned.get(r.name)} ${r.status}`)
                .sort();
        const webhookOwners = () =>
            Object.fromEntries(
                (
                    JSON.parse(bed().kubectl(["get", "mutatingwebhookconfigurations", "-o", "json"]).stdout) as {
                        items: { metadata: { name: string; annotations?: Record<string, string> } }[];
                    }
                ).items.map((w) => [w.metadata.name, w.metadata.annotations?.["meta.helm.sh/release-name"] ?? ""]),
            );
        async function apply(step: string, previous?: string): Promise<void> {
            const wanted = await releasesOf(steps[step]);
            for (const r of wanted) upgrade(r);
            const gone = previous
                ? (await releasesOf(steps[previous])).filter((p) => !wanted.some((w) => w.name === p.name))
                : [];
            for (const r of gone) helm(["uninstall", r.name]);
        }

        before(async () => apply("before"));

        it("before: one revision, its injector and both tags owned by istiod-1-29-2", () => {
            assert.deepEqual(installed(), [
                "istio-base 1.29.2 deployed",
                "istio-eastwestgateway 1.29.2 deployed",
                "istiod-1-29-2 1.29.2 deployed",
            ]);
            const owners = webhookOwners();
            assert.equal(owners["istio-revision-tag-default"], "istiod-1-29-2");
            assert.equal(owners["istio-revision-tag-prod-stable"], "istiod-1-29-2");
            assert.equal(owners["istio-sidecar-injector-1-29-2"], "istiod-1-29-2");
        });

        it("step 1: the canary's istiod runs beside the old one, base (the CRDs) at 1.30.3, the canary tag on it", async () => {
            await apply("1, add the canary", "before");
            assert.deepEqual(installed(), [
                "istio-base 1.30.3 deployed",
                "istio-eastwestgateway 1.29.2 deployed",
                "istiod-1-29-2 1.29.2 deployed",
                "istiod-1-30-3 1.30.3 deployed",
            ]);
            for (const d of ["istiod-1-29-2", "istiod-1-30-3"]) {
                assert.equal(bed().kubectl(["-n", "istio-system", "get", "deployment", d]).code, 0, d);
            }
            const owners = webhookOwners();
            assert.equal(owners["istio-revision-tag-prod-canary"], "istiod-1-30-3");
            assert.equal(owners["istio-revision-tag-default"], "istiod-1-29-2");
            assert.equal(owners["istio-sidecar-injector-1-30-3"], "istiod-1-30-3");
        });

        it("step 2: taking the tags before they are given up is what helm refuses; in the program's order they move", async () => {
            const moved = await releasesOf(steps["2, move the default and prod-stable"]);
            const taker = moved.find((r) => r.name === "istiod-1-30-3")!;
            const giver = moved.find((r) => r.name === "istiod-1-29-2")!;
            assert.ok(moved.indexOf(giver) < moved.indexOf(taker), "the program orders the giver first");
            assert.throws(
                () => upgrade(taker),
                /cannot be imported into the current release|invalid ownership metadata/,
            );
            await apply("2, move the default and prod-stable", "1, add the canary");
            const owners = webhookOwners();
            assert.equal(owners["istio-revision-tag-default"], "istiod-1-30-3");
            assert.equal(owners["istio-revision-tag-prod-stable"], "istiod-1-30-3");
            assert.equal(
                owners["istio-sidecar-injector-1-29-2"],
                "istiod-1-29-2",
                "the old injector stays for its proxies",
            );
            assert.match(installed().join("\n"), /istio-eastwestgateway 1\.30\.3 deployed/);
        });

        it("step 3: removing the old revision deletes its istiod and injector; the tags stay on 1-30-3", async () => {
            await apply("3, remove the old revision", "2, move the default and prod-stable");
            assert.deepEqual(installed(), [
                "istio-base 1.30.3 deployed",
                "istio-eastwestgateway 1.30.3 deployed",
                "istiod-1-30-3 1.30.3 deployed",
            ]);
            assert.notEqual(bed().kubectl(["-n", "istio-system", "get", "deployment", "istiod-1-29-2"]).code, 0);
            const owners = webhookOwners();
            assert.equal(owners["istio-sidecar-injector-1-29-2"], undefined);
            assert.equal(owners["istio-revision-tag-default"], "istiod-1-30-3");
            assert.equal(owners["istio-revision-tag-prod-stable"], "istiod-1-30-3");
        });
    },
);

describe("rolling the canary back on a real API server: with baseVersion the CRDs stay", { skip: unavailable }, () => {
    const bed = bedWithIstioSystem();
    const { helm, upgrade } = helmOn(bed);
    const run = async (config: MeshConfig) => {
        for (const r of await releasesOf(config)) upgrade(r);
    };
    const baseRevisions = () => (JSON.parse(helm(["history", "istio-base", "--output", "json"])) as unknown[]).length;

    it("pinning baseVersion, then removing the canary, leaves istio-base's values and chart as they were", async () => {
        const pinned = (c: MeshConfig): MeshConfig => ({ ...c, baseVersion: NEW.version });
        await run(steps.before);
        await run(steps["1, add the canary"]);
        const base = (await releasesOf(steps["1, add the canary"])).find((r) => r.name === "istio-base")!;
        const pinnedBack = (await releasesOf(pinned(steps.before))).find((r) => r.name === "istio-base")!;
        assert.deepEqual([pinnedBack.version, pinnedBack.values], [base.version, base.values]);
        const before = baseRevisions();
        await run(pinned(steps["1, add the canary"]));
        await run(pinned(steps.before));
        helm(["uninstall", "istiod-1-30-3"]);
        // helm upgrade records a revision even when nothing changes; the chart and values are the step-1 ones.
        assert.equal(baseRevisions(), before + 2);
        const crd = bed().kubectl([
            "get",
            "crd",
            "gateways.networking.istio.io",
            "-o",
            "jsonpath={.metadata.annotations.meta\\.helm\\.sh/release-name}",
        ]);
        assert.equal(crd.stdout, "istio-base", "the CRDs stay with the release, at the step-1 chart");
        assert.notEqual(bed().kubectl(["-n", "istio-system", "get", "deployment", "istiod-1-30-3"]).code, 0);
        assert.equal(bed().kubectl(["-n", "istio-system", "get", "deployment", "istiod-1-29-2"]).code, 0);
    });
});
