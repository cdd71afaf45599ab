/**
 * `remoteSecrets.readerAccounts: perHolder`: one reader account per (watched cluster, primary),
 * as pure manifests, in the mock graph, and as plan diffs of day-2 edits.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { IstioMulticlusterMesh } from "../../components/mesh/mesh";
import { countPlanResources } from "../../components/mesh/plan-report";
import { buildMeshPlan } from "../../components/plan/mesh-plan";
import { holderReaderManifests, readerCredentialSummaries } from "../../components/remote-secrets/reader-accounts";
import { RecordedResource, dependsOn, find, ofType, runUnderMocks, validateKubernetesObjects } from "../harness";
import { ClusterEntry, meshArgsOf, meshOf, planDiff } from "../plan-diff";

const c1: ClusterEntry = { name: "cluster1", network: "network1" };
const c2: ClusterEntry = { name: "cluster2", network: "network2" };
const c3: ClusterEntry = { name: "cluster3", network: "network3" };
const perHolder = { remoteSecrets: { readerAccounts: "perHolder" } };

/** Names that belong to `cluster` as watched cluster or as holder of a per-holder reader account. */
function notAbout(names: string[], cluster: string): string[] {
    return names.filter(
        (n) =>
            !n.startsWith(`${cluster}-`) &&
            !n.endsWith(`-remote-secret-${cluster}`) &&
            !n.endsWith(`-${cluster}`) /* <source>-reader-<what>-<cluster> and <source>-remote-reader-<cluster> */,
    );
}

/** The JWT subject of the token inside a kubeconfig (the harness's token controller names its account). */
function subjectOf(kubeconfig: string): string {
    const doc = yaml.load(kubeconfig) as { users: { user: { token: string } }[] };
    const payload = doc.users[0].user.token.split(".")[1];
    return (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub: string }).sub;
}

describe("holderReaderManifests", () => {
    it("is a ServiceAccount, a binding to the chart's reader ClusterRole, and a legacy token Secret", () => {
        const m = holderReaderManifests("cluster1", "1-30-3");
        assert.deepEqual(m.serviceAccount.metadata, {
            name: "istio-reader-for-cluster1",
            namespace: "istio-system",
            labels: { "istio-multicluster.pulumi.com/reader-holder": "cluster1" },
        });
        assert.equal(m.clusterRoleBinding.metadata.name, "istio-reader-for-cluster1-istio-system");
        assert.deepEqual(m.clusterRoleBinding.roleRef, {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "istio-reader-clusterrole-1-30-3-istio-system",
        });
        assert.deepEqual(m.clusterRoleBinding.subjects, [
            { kind: "ServiceAccount", name: "istio-reader-for-cluster1", namespace: "istio-system" },
        ]);
        assert.equal(m.tokenSecret.type, "kubernetes.io/service-account-token");
        assert.equal(
            m.tokenSecret.metadata.annotations["kubernetes.io/service-account.name"],
            "istio-reader-for-cluster1",
        );
    });
});

describe("readerCredentialSummaries", () => {
    const pairs = [
        { holder: "cluster1", source: "cluster2" },
        { holder: "cluster2", source: "cluster1" },
    ];
    it("names, per holder and watched cluster, the account, its token Secret, the kind and the expiry", () => {
        assert.deepEqual(
            readerCredentialSummaries(pairs, { readerAccounts: "perHolder", tokenMode: "serviceAccountTokenSecret" })
                .cluster1,
            {
                cluster2: {
                    kind: "serviceAccountTokenSecret",
                    account: "istio-system/istio-reader-for-cluster1",
                    tokenSecret: "istio-reader-for-cluster1-token",
                    expires: "never",
                },
            },
        );
        assert.deepEqual(
            readerCredentialSummaries(pairs, { readerAccounts: "shared", tokenMode: "serviceAccountTokenSecret" })
                .cluster2.cluster1,
            {
                kind: "serviceAccountTokenSecret",
                account: "istio-system/istio-reader-service-account",
                tokenSecret: "istio-reader-service-account-istio-remote-secret-token",
                expires: "never",
            },
        );
    });
});

describe("perHolder reader accounts in the mock graph", () => {
    let recorded: RecordedResource[] = [];
    let mesh: IstioMulticlusterMesh;

    it("creates one account, binding and token per (watched cluster, primary), in the watched cluster", async () => {
        const run = await runUnderMocks(
            () => new IstioMulticlusterMesh("mesh", meshArgsOf(meshOf([c1, c2, c3], perHolder))),
        );
        recorded = run.resources;
        mesh = run.result;
        assert.deepEqual(mesh.remoteSecrets.readers, {}, "no shared token in perHolder mode");
        assert.deepEqual(
            ofType(recorded, "kubernetes:core/v1:Secret").filter((r) => r.name.endsWith("-reader-token")),
            [],
        );
        for (const source of ["cluster1", "cluster2", "cluster3"]) {
            const holders = Object.keys(mesh.remoteSecrets.holderReaders[source]).sort();
            assert.deepEqual(
                holders,
                ["cluster1", "cluster2", "cluster3"].filter((h) => h !== source),
            );
            for (const holder of holders) {
                const component = find(
                    recorded,
                    "istio-multicluster:remote:HolderReaderToken",
                    `${source}-remote-reader-${holder}`,
                );
                for (const [type, what] of [
                    ["kubernetes:core/v1:ServiceAccount", "account"],
                    ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "binding"],
                    ["kubernetes:core/v1:Secret", "token"],
                ] as const) {
                    const r = find(recorded, type, `${source}-reader-${what}-${holder}`);
                    assert.equal(r.cluster, source, `${r.name} lives in the watched cluster`);
                    assert.equal(r.parent, component.urn);
                }
                const token = find(recorded, "kubernetes:core/v1:Secret", `${source}-reader-token-${holder}`);
                assert.ok(token.additionalSecretOutputs.includes("data"));
                assert.ok(
                    dependsOn(
                        recorded,
                        token,
                        find(recorded, "kubernetes:core/v1:ServiceAccount", `${source}-reader-account-${holder}`),
                    ),
                );
                assert.ok(token.deleteBeforeReplace);
            }
        }
    });

    it("registers objects that pass the Kubernetes schema, as many as the plan report counts", async () => {
        const ours = recorded.filter((r) => /-reader-(account|binding|token)-/.test(r.name));
        assert.equal(ours.length, 18);
        const config = meshOf([c1, c2, c3], perHolder);
        const counted = countPlanResources(buildMeshPlan(config), config).clusters.map((c) => c.readerToken);
        assert.deepEqual(counted, [6, 6, 6]);
        assert.deepEqual(await validateKubernetesObjects(ours), []);
    });

    it("gives each holder a kubeconfig with its own account's token, secret, and waits for the binding", async () => {
        for (const holder of ["cluster1", "cluster2", "cluster3"]) {
            for (const source of ["cluster1", "cluster2", "cluster3"].filter((s) => s !== holder)) {
                const secret = find(recorded, "kubernetes:core/v1:Secret", `${holder}-remote-secret-${source}`);
                assert.equal(secret.cluster, holder);
                assert.ok(secret.secretPaths.includes("data"));
                const kubeconfig = Buffer.from(secret.inputs.data[source] as string, "base64").toString("utf8");
                assert.equal(subjectOf(kubeconfig), `system:serviceaccount:istio-system:istio-reader-for-${holder}`);
                const binding = find(
                    recorded,
                    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                    `${source}-reader-binding-${holder}`,
                );
                assert.ok(dependsOn(recorded, secret, binding), `${secret.name} waits for ${binding.name}`);
                const token = find(recorded, "kubernetes:core/v1:Secret", `${source}-reader-token-${holder}`);
                assert.ok(dependsOn(recorded, secret, token));
                const reader = mesh.remoteSecrets.holderReaders[source][holder];
                assert.ok(await pulumi.isSecret(reader.token), "the token stays a Pulumi secret");
                assert.ok(await pulumi.isSecret(reader.caData));
                assert.ok(await pulumi.isSecret(mesh.remoteSecrets.holders[holder].kubeconfigs[source]));
            }
        }
    });
});

describe("perHolder reader accounts: plan diffs", () => {
    it("writing the defaults out changes nothing", async () => {
        const defaults = {
            remoteSecrets: {
                tokenMode: "serviceAccountTokenSecret",
                tokenTtlDays: 90,
                renewBeforeDays: 30,
                readerAccounts: "shared",
            },
        };
        assert.deepEqual(await planDiff(meshOf([c1, c2]), meshOf([c1, c2], defaults)), {
            created: [],
            deleted: [],
            changed: {},
        });
    });

    it("adding a primary creates only its accounts, its secrets and the secrets about it", async () => {
        const diff = await planDiff(meshOf([c1, c2], perHolder), meshOf([c1, c2, c3], perHolder));
        assert.deepEqual(notAbout(diff.created, "cluster3"), []);
        for (const source of ["cluster1", "cluster2"]) {
            for (const what of ["account", "binding", "token"])
                assert.ok(diff.created.includes(`${source}-reader-${what}-cluster3`));
        }
        assert.ok(diff.created.includes("cluster3-reader-account-cluster1"), "cluster3 is watched too");
        assert.deepEqual(diff.deleted, []);
        assert.deepEqual(diff.changed, {}, "no other holder's credential changes");
    });

    it("removing a primary deletes exactly its accounts in every cluster it watched, nothing else changes", async () => {
        const diff = await planDiff(meshOf([c1, c2, c3], perHolder), meshOf([c1, c3], perHolder));
        assert.deepEqual(notAbout(diff.deleted, "cluster2"), []);
        for (const source of ["cluster1", "cluster3"]) {
            for (const what of ["account", "binding", "token"])
                assert.ok(diff.deleted.includes(`${source}-reader-${what}-cluster2`));
            assert.ok(diff.deleted.includes(`${source}-remote-reader-cluster2`));
        }
        assert.ok(!diff.deleted.includes("cluster1-reader-account-cluster3"));
        assert.deepEqual(diff.created, []);
        assert.deepEqual(diff.changed, {});
    });

    it("switching shared -> perHolder creates the new accounts, rewrites each remote secret in place, deletes the shared tokens", async () => {
        const diff = await planDiff(meshOf([c1, c2, c3]), meshOf([c1, c2, c3], perHolder));
        const pairs = ["cluster1", "cluster2", "cluster3"].flatMap((h) =>
            ["cluster1", "cluster2", "cluster3"].filter((s) => s !== h).map((s) => ({ h, s })),
        );
        assert.deepEqual(
            diff.created,
            pairs
                .flatMap(({ h, s }) => [
                    `${s}-reader-account-${h}`,
                    `${s}-reader-binding-${h}`,
                    `${s}-reader-token-${h}`,
                    `${s}-remote-reader-${h}`,
                ])
                .sort(),
        );
        assert.deepEqual(
            diff.deleted,
            ["cluster1", "cluster2", "cluster3"].flatMap((c) => [`${c}-reader-token`, `${c}-remote-reader`]).sort(),
        );
        // Same Secret names, new kubeconfig: updated in place, never deleted, so no holder is left without one.
        assert.deepEqual(
            diff.changed,
            Object.fromEntries(pairs.map(({ h, s }) => [`${h}-remote-secret-${s}`, ["data"]])),
        );
    });
});

describe("perHolder accounts with revisions", () => {
    it("bind to the reader ClusterRole of the watched cluster's default revision (each istiod-<name> renders its own)", async () => {
        const config = meshOf([c1, c2], {
            ...perHolder,
            revisions: [
                { name: "1-29-2", version: "1.29.2" },
                { name: "1-30-3", version: "1.30.3" },
            ],
            defaultRevision: "1-29-2",
        });
        const { resources } = await runUnderMocks(() => new IstioMulticlusterMesh("mesh", meshArgsOf(config)));
        const bindings = resources.filter(
            (r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        );
        assert.equal(bindings.length, 2);
        for (const b of bindings) {
            assert.equal(
                (b.inputs.roleRef as { name: string }).name,
                "istio-reader-clusterrole-1-29-2-istio-system",
                b.name,
            );
        }
    });
});
