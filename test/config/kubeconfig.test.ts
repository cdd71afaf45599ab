import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { ClusterConfig } from "../../components/config/config";
import {
    expandKubeconfigPath,
    kubeconfigForContext,
    kubeconfigListEntries,
    mergeKubeconfigs,
    parseKubeconfig,
    resolveClusterAccess,
} from "../../components/config/kubeconfig";

/** Fake credentials only: base64 of obviously fake text. */
const FAKE = (what: string) => Buffer.from(`FAKE ${what} FOR TESTS`).toString("base64");

/** The seed documents' "multiconf": two clusters as two contexts of one file, no current-context. */
const MULTICONF = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${FAKE("ca82")}
    server: https://10.20.144.82:6443
  name: cluster82
- cluster:
    certificate-authority-data: ${FAKE("ca83")}
    server: https://10.20.144.83:6443
  name: cluster83
contexts:
- context:
    cluster: cluster82
    user: kubernetes-admin82
  name: kubernetes-admin82@kubernetes
- context:
    cluster: cluster83
    user: kubernetes-admin83
  name: kubernetes-admin83@kubernetes
current-context: ""
preferences: {}
users:
- name: kubernetes-admin82
  user:
    client-certificate-data: ${FAKE("cert82")}
    client-key-data: ${FAKE("key82")}
- name: kubernetes-admin83
  user:
    client-certificate-data: ${FAKE("cert83")}
    client-key-data: ${FAKE("key83")}
`;

/** A kind-style kubeconfig: loopback server, current-context set, file references relative. */
const KIND = `apiVersion: v1
kind: Config
current-context: kind-one
clusters:
- name: kind-one
  cluster:
    server: https://127.0.0.1:41234
    certificate-authority: certs/ca.crt
contexts:
- name: kind-one
  context: {cluster: kind-one, user: kind-one}
users:
- name: kind-one
  user:
    client-certificate: certs/client.crt
    client-key: /abs/client.key
`;

type Cluster = Pick<ClusterConfig, "name" | "role" | "kubeconfig" | "context" | "apiServer">;

let dir: string;
let multiconf: string;
let kindFile: string;

before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-test-"));
    fs.mkdirSync(path.join(dir, ".kube"));
    multiconf = path.join(dir, ".kube", "multiconf");
    fs.writeFileSync(multiconf, MULTICONF);
    kindFile = path.join(dir, "kind-kubeconfig");
    fs.writeFileSync(kindFile, KIND);
    fs.writeFileSync(path.join(dir, "broken.yaml"), "clusters: [\n  - name: x\n   bad-indent: true\n");
    fs.writeFileSync(path.join(dir, "pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n");
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const readFile = (file: string) => fs.readFileSync(file, "utf8");
const env = () => ({ HOME: dir });

const seedClusters = (): Cluster[] => [
    { name: "cluster1", role: "primary", kubeconfig: "~/.kube/multiconf", context: "kubernetes-admin82@kubernetes" },
    { name: "cluster2", role: "primary", kubeconfig: "~/.kube/multiconf", context: "kubernetes-admin83@kubernetes" },
];

describe("resolveClusterAccess", () => {
    it("resolves both seed clusters from one kubeconfig with two contexts", () => {
        const reads: string[] = [];
        const { access, problems } = resolveClusterAccess(seedClusters(), {
            env: env(),
            readFile: (f) => {
                reads.push(f);
                return readFile(f);
            },
        });
        assert.deepEqual(problems, []);
        assert.deepEqual(reads, [multiconf], "the shared file is read once");
        assert.equal(access.cluster1.apiServer, "https://10.20.144.82:6443");
        assert.equal(access.cluster2.apiServer, "https://10.20.144.83:6443");
        assert.equal(access.cluster1.source, "file");
        assert.equal(access.cluster1.path, multiconf);
        assert.equal(access.cluster1.context, "kubernetes-admin82@kubernetes");
    });

    it("gives each provider only its own cluster's credentials", () => {
        const { access } = resolveClusterAccess(seedClusters(), { env: env(), readFile });
        const one = yaml.load(access.cluster1.kubeconfig) as Record<string, unknown[]>;
        assert.equal(one["current-context"], "kubernetes-admin82@kubernetes");
        assert.equal(one.clusters.length, 1);
        assert.equal(one.users.length, 1);
        assert.equal(one.contexts.length, 1);
        assert.ok(access.cluster1.kubeconfig.includes(FAKE("key82")));
        assert.ok(!access.cluster1.kubeconfig.includes(FAKE("key83")));
        assert.ok(!access.cluster1.kubeconfig.includes("10.20.144.83"));
    });

    it("keeps an explicit apiServer over the kubeconfig's server", () => {
        const clusters = seedClusters();
        clusters[0].apiServer = "https://api.cluster1.example:6443";
        const { access } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(access.cluster1.apiServer, "https://api.cluster1.example:6443");
    });

    it("uses the files of $KUBECONFIG, then ~/.kube/config", () => {
        const clusters: Cluster[] = [{ name: "c", role: "primary", context: "kubernetes-admin83@kubernetes" }];
        const viaEnv = resolveClusterAccess(clusters, {
            env: { HOME: "/nonexistent-home", KUBECONFIG: `${multiconf}${path.delimiter}/other/file` },
            readFile,
        });
        assert.deepEqual(viaEnv.problems, []);
        assert.equal(viaEnv.access.c.path, multiconf);

        fs.copyFileSync(multiconf, path.join(dir, ".kube", "config"));
        const viaHome = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.deepEqual(viaHome.problems, []);
        assert.equal(viaHome.access.c.path, path.join(dir, ".kube", "config"));
    });

    it("resolves relative kubeconfig paths against cwd and makes file references absolute", () => {
        const clusters: Cluster[] = [{ name: "kind1", role: "primary", kubeconfig: "./kind-kubeconfig" }];
        const { access, problems } = resolveClusterAccess(clusters, { env: env(), readFile, cwd: dir });
        assert.deepEqual(problems, []);
        assert.equal(access.kind1.context, "kind-one", "current-context is the default");
        const doc = yaml.load(access.kind1.kubeconfig) as {
            clusters: { cluster: Record<string, string> }[];
            users: { user: Record<string, string> }[];
        };
        assert.equal(doc.clusters[0].cluster["certificate-authority"], path.join(dir, "certs", "ca.crt"));
        assert.equal(doc.users[0].user["client-certificate"], path.join(dir, "certs", "client.crt"));
        assert.equal(doc.users[0].user["client-key"], "/abs/client.key");
    });

    it("accepts a loopback server for a cluster nobody else must reach", () => {
        const clusters: Cluster[] = [{ name: "kind1", role: "primary", kubeconfig: kindFile }];
        assert.deepEqual(resolveClusterAccess(clusters, { env: env(), readFile }).problems, []);
    });

    it("rejects a loopback server from the kubeconfig when another primary watches the cluster", () => {
        const clusters: Cluster[] = [
            { name: "kind1", role: "primary", kubeconfig: kindFile },
            { name: "cluster2", role: "primary", kubeconfig: multiconf, context: "kubernetes-admin83@kubernetes" },
        ];
        const { access, problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "clusters[0].apiServer");
        assert.match(problems[0].message, /127\.0\.0\.1:41234.*server of context 'kind-one'.*loopback/);
        assert.match(problems[0].fix!, /Set clusters\[0\]\.apiServer.*https:\/\/<container-ip>:6443/);
        assert.equal(access.kind1, undefined);
        assert.ok(access.cluster2);
    });

    it("takes content from the kubeconfigs secret before any file", () => {
        const clusters: Cluster[] = [{ name: "cluster1", role: "primary", context: "kubernetes-admin82@kubernetes" }];
        const { access, problems } = resolveClusterAccess(clusters, {
            env: { HOME: "/nonexistent-home" },
            readFile: () => assert.fail("no file may be read"),
            secretKubeconfigs: { cluster1: MULTICONF },
        });
        assert.deepEqual(problems, []);
        assert.equal(access.cluster1.source, "secret");
        assert.equal(access.cluster1.path, undefined);
        assert.equal(access.cluster1.apiServer, "https://10.20.144.82:6443");
    });

    it("reports a missing file with the CI alternative", () => {
        const clusters: Cluster[] = [{ name: "c1", role: "primary", kubeconfig: "~/.kube/nope" }];
        const { problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "clusters[0].kubeconfig");
        assert.match(problems[0].message, /nope \(from clusters\[0\]\.kubeconfig\) does not exist/);
        assert.match(problems[0].fix!, /pulumi config set --secret --path 'kubeconfigs\.c1'/);
    });

    it("says where a default path came from", () => {
        const clusters: Cluster[] = [{ name: "c1", role: "primary" }];
        const fromEnv = resolveClusterAccess(clusters, { env: { KUBECONFIG: "/no/such/kc" }, readFile });
        assert.match(fromEnv.problems[0].message, /\/no\/such\/kc \(from \$KUBECONFIG/);
        const fromHome = resolveClusterAccess(clusters, { env: { HOME: "/no/home" }, readFile });
        assert.match(fromHome.problems[0].message, /\/no\/home\/\.kube\/config \(from the default ~\/\.kube\/config\)/);
        const noHome = resolveClusterAccess(clusters, { env: {}, readFile });
        assert.match(noHome.problems[0].message, /HOME is not set/);
    });

    it("reports unparsable YAML without quoting the file", () => {
        const clusters: Cluster[] = [{ name: "c1", role: "primary", kubeconfig: path.join(dir, "broken.yaml") }];
        const { problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /is not valid YAML at line \d+/);
        assert.doesNotMatch(problems[0].message, /bad-indent/);
    });

    it("reports a file that is not a kubeconfig", () => {
        const clusters: Cluster[] = [{ name: "c1", role: "primary", kubeconfig: path.join(dir, "pod.yaml") }];
        const { problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.match(problems[0].message, /not a kubeconfig: its kind is 'Pod'/);
    });

    it("reports a missing context with the closest name", () => {
        const clusters = seedClusters();
        clusters[1].context = "kubernetes-admn83@kubernetes";
        const { problems, access } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "clusters[1].context");
        assert.match(problems[0].message, /'kubernetes-admn83@kubernetes' is not in the kubeconfig file/);
        assert.match(problems[0].fix!, /Did you mean 'kubernetes-admin83@kubernetes'/);
        assert.ok(access.cluster1, "the other cluster still resolves");
    });

    it("asks for a context when the file has no current-context", () => {
        const clusters: Cluster[] = [{ name: "c1", role: "primary", kubeconfig: multiconf }];
        const { problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.equal(problems[0].path, "clusters[0].context");
        assert.match(problems[0].message, /no current-context/);
        assert.match(problems[0].fix!, /kubernetes-admin82@kubernetes, kubernetes-admin83@kubernetes/);
    });

    it("reports a context whose cluster or server is missing", () => {
        const noCluster = MULTICONF.replace("cluster: cluster83\n", "cluster: cluster99\n");
        const noServer = MULTICONF.replace("    server: https://10.20.144.83:6443\n", "");
        const clusters: Cluster[] = [{ name: "c2", role: "primary", context: "kubernetes-admin83@kubernetes" }];
        const a = resolveClusterAccess(clusters, { env: {}, readFile, secretKubeconfigs: { c2: noCluster } });
        assert.equal(a.problems[0].path, "kubeconfigs.c2");
        assert.match(a.problems[0].message, /refers to cluster 'cluster99', which is not in its clusters list/);
        const b = resolveClusterAccess(clusters, { env: {}, readFile, secretKubeconfigs: { c2: noServer } });
        assert.match(b.problems[0].message, /has no server URL/);
        assert.match(b.problems[0].fix!, /clusters\[0\]\.apiServer/);
        clusters[0].apiServer = "https://10.0.0.83:6443";
        const c = resolveClusterAccess(clusters, { env: {}, readFile, secretKubeconfigs: { c2: noServer } });
        assert.deepEqual(c.problems, [], "an explicit apiServer makes a missing server fine");
    });

    it("reports every cluster's problem at once", () => {
        const clusters: Cluster[] = [
            { name: "a", role: "primary", kubeconfig: "/missing/one" },
            { name: "b", role: "primary", kubeconfig: multiconf, context: "nope" },
            { name: "c", role: "primary", kubeconfig: kindFile },
        ];
        const { problems } = resolveClusterAccess(clusters, { env: env(), readFile });
        assert.deepEqual(
            problems.map((p) => p.path),
            ["clusters[0].kubeconfig", "clusters[1].context", "clusters[2].apiServer"],
        );
    });
});

describe("kubeconfig helpers", () => {
    it("kubeconfigForContext keeps only the context's cluster and user", () => {
        const out = yaml.load(kubeconfigForContext(MULTICONF, "kubernetes-admin83@kubernetes")) as Record<
            string,
            { name: string }[]
        >;
        assert.deepEqual(
            out.clusters.map((c) => c.name),
            ["cluster83"],
        );
        assert.deepEqual(
            out.users.map((u) => u.name),
            ["kubernetes-admin83"],
        );
        assert.equal(parseKubeconfig(yaml.dump(out)).currentContext, "kubernetes-admin83@kubernetes");
        assert.throws(() => kubeconfigForContext(MULTICONF, "missing"), /context 'missing' not found/);
    });

    it("parses KUBECONFIG lists and expands ~", () => {
        assert.equal(kubeconfigListEntries("/a:/b", ":")[0], "/a");
        assert.equal(kubeconfigListEntries(":/b", ":")[0], "/b");
        assert.equal(kubeconfigListEntries("", ":")[0], undefined);
        assert.equal(expandKubeconfigPath("~/.kube/x", "/home/u", "/w"), "/home/u/.kube/x");
        assert.equal(expandKubeconfigPath("rel/x", "/home/u", "/w"), "/w/rel/x");
        assert.equal(expandKubeconfigPath("~/x", undefined, "/w"), undefined);
    });
});

/** A kubeconfig document from compact parts; servers are https URLs on private addresses. */
function kubeconfigYaml(parts: {
    current?: string;
    clusters?: [name: string, cluster: Record<string, unknown>][];
    contexts?: [name: string, cluster: string, user: string][];
    users?: [name: string, user: Record<string, unknown>][];
}): string {
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        ...(parts.current !== undefined ? { "current-context": parts.current } : {}),
        clusters: (parts.clusters ?? []).map(([name, cluster]) => ({ name, cluster })),
        contexts: (parts.contexts ?? []).map(([name, cluster, user]) => ({ name, context: { cluster, user } })),
        users: (parts.users ?? []).map(([name, user]) => ({ name, user })),
    });
}

/** An in-memory file system for `readFile`: unknown paths throw ENOENT, `denied` ones EACCES. */
function fakeReader(files: Record<string, string>, denied: readonly string[] = []) {
    const reads: string[] = [];
    const readFile = (file: string): string => {
        reads.push(file);
        if (denied.includes(file)) throw Object.assign(new Error("EACCES"), { code: "EACCES" });
        if (!(file in files)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
        return files[file];
    };
    return { readFile, reads };
}

const list = (...files: string[]) => files.join(path.delimiter);

/** /kc/a holds context ctx-a; /kc/b holds ctx-b. Each has its own cluster and user. */
const FILE_A = kubeconfigYaml({
    clusters: [["cl-a", { server: "https://10.1.0.1:6443", "certificate-authority-data": FAKE("ca-a") }]],
    contexts: [["ctx-a", "cl-a", "user-a"]],
    users: [["user-a", { token: FAKE("token-a") }]],
});
const FILE_B = kubeconfigYaml({
    clusters: [["cl-b", { server: "https://10.2.0.1:6443", "certificate-authority-data": FAKE("ca-b") }]],
    contexts: [["ctx-b", "cl-b", "user-b"]],
    users: [["user-b", { token: FAKE("token-b") }]],
});

describe("resolveClusterAccess with several $KUBECONFIG files", () => {
    const one = (context?: string): Cluster[] => [{ name: "c1", role: "primary", ...(context ? { context } : {}) }];

    it("finds a context defined only in the second file and hands over only its entries", () => {
        const fake = fakeReader({ "/kc/a": FILE_A, "/kc/b": FILE_B });
        const { access, problems } = resolveClusterAccess(one("ctx-b"), {
            env: { KUBECONFIG: list("/kc/a", "/kc/b") },
            readFile: fake.readFile,
        });
        assert.deepEqual(problems, []);
        assert.equal(access.c1.apiServer, "https://10.2.0.1:6443");
        assert.equal(access.c1.context, "ctx-b");
        assert.equal(access.c1.source, "file");
        assert.equal(access.c1.path, "/kc/b", "the one file holding the context, its cluster and its user");
        const doc = yaml.load(access.c1.kubeconfig) as Record<string, { name: string }[]>;
        assert.deepEqual(
            [doc.contexts, doc.clusters, doc.users].map((l) => l.map((e) => e.name)),
            [["ctx-b"], ["cl-b"], ["user-b"]],
        );
        assert.equal(doc["current-context"] as unknown, "ctx-b");
        assert.ok(!access.c1.kubeconfig.includes(FAKE("token-a")), "no credentials of the other file");
        assert.deepEqual(fake.reads, ["/kc/a", "/kc/b"]);
    });

    it("reads and merges the list once for every cluster", () => {
        const fake = fakeReader({ "/kc/a": FILE_A, "/kc/b": FILE_B });
        const clusters: Cluster[] = [
            { name: "c1", role: "primary", context: "ctx-a" },
            { name: "c2", role: "primary", context: "ctx-b" },
        ];
        const { access, problems } = resolveClusterAccess(clusters, {
            env: { KUBECONFIG: list("/kc/a", "/kc/b") },
            readFile: fake.readFile,
        });
        assert.deepEqual(problems, []);
        assert.equal(access.c1.apiServer, "https://10.1.0.1:6443");
        assert.equal(access.c2.apiServer, "https://10.2.0.1:6443");
        assert.deepEqual(fake.reads, ["/kc/a", "/kc/b"]);
    });

    it("keeps the first file's definition of a cluster name, whole", () => {
        const a = kubeconfigYaml({
            clusters: [["shared", { server: "https://10.1.0.1:6443" }]],
        });
        const b = kubeconfigYaml({
            clusters: [["shared", { server: "https://10.2.0.1:6443", "tls-server-name": "only-in-b" }]],
            contexts: [["ctx-b", "shared", "user-b"]],
            users: [["user-b", { token: FAKE("token-b") }]],
        });
        const { access, problems } = resolveClusterAccess(one("ctx-b"), {
            env: { KUBECONFIG: list("/kc/a", "/kc/b") },
            readFile: fakeReader({ "/kc/a": a, "/kc/b": b }).readFile,
        });
        assert.deepEqual(problems, []);
        assert.equal(access.c1.apiServer, "https://10.1.0.1:6443");
        const doc = yaml.load(access.c1.kubeconfig) as { clusters: { cluster: Record<string, string> }[] };
        assert.deepEqual(doc.clusters[0].cluster, { server: "https://10.1.0.1:6443" }, "b's fields are discarded");
        assert.equal(access.c1.path, undefined, "the context and its cluster come from different files");
    });

    it("takes current-context from the first file that sets it", () => {
        const a = kubeconfigYaml({ current: "" });
        const b = kubeconfigYaml({ ...parseParts(FILE_B), current: "ctx-b" });
        const c = kubeconfigYaml({ ...parseParts(FILE_A), current: "ctx-a" });
        const { access, problems } = resolveClusterAccess(one(), {
            env: { KUBECONFIG: list("/kc/a", "/kc/b", "/kc/c") },
            readFile: fakeReader({ "/kc/a": a, "/kc/b": b, "/kc/c": c }).readFile,
        });
        assert.deepEqual(problems, []);
        assert.equal(access.c1.context, "ctx-b");
        assert.equal(access.c1.apiServer, "https://10.2.0.1:6443");
    });

    it("skips listed files that do not exist, and says so when the context is missing", () => {
        const fake = fakeReader({ "/kc/b": FILE_B });
        const env = { KUBECONFIG: list("/kc/missing", "/kc/b") };
        const ok = resolveClusterAccess(one("ctx-b"), { env, readFile: fake.readFile });
        assert.deepEqual(ok.problems, []);
        assert.equal(ok.access.c1.path, "/kc/b");
        const bad = resolveClusterAccess(one("ctx-z"), { env, readFile: fake.readFile });
        assert.equal(bad.problems.length, 1);
        assert.equal(bad.problems[0].path, "clusters[0].context");
        assert.equal(
            bad.problems[0].message,
            "Context 'ctx-z' is not in the kubeconfig file /kc/b (from $KUBECONFIG; /kc/missing does not exist).",
        );
    });

    it("reports one problem naming every file when none of them exists", () => {
        const { access, problems } = resolveClusterAccess(one("ctx-a"), {
            env: { KUBECONFIG: list("/kc/x", "/kc/y") },
            readFile: fakeReader({}).readFile,
        });
        assert.deepEqual(access, {});
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "clusters[0].kubeconfig");
        assert.equal(problems[0].message, "None of the kubeconfig files listed in $KUBECONFIG exists: /kc/x, /kc/y.");
        assert.match(problems[0].fix!, /Set KUBECONFIG to existing kubeconfig files/);
        assert.match(problems[0].fix!, /clusters\[0\]\.kubeconfig/);
        assert.match(problems[0].fix!, /pulumi config set --secret --path 'kubeconfigs\.c1'/);
    });

    it("reports an unparsable listed file by name, without quoting it", () => {
        const broken = `clusters: [\n  - name: x\n   token: ${FAKE("leak")}\n`;
        const { access, problems } = resolveClusterAccess(one("ctx-a"), {
            env: { KUBECONFIG: list("/kc/a", "/kc/broken") },
            readFile: fakeReader({ "/kc/a": FILE_A, "/kc/broken": broken }).readFile,
        });
        assert.deepEqual(access, {}, "kubectl fails on such a list too");
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "clusters[0].kubeconfig");
        assert.match(
            problems[0].message,
            /^The kubeconfig file \/kc\/broken \(from \$KUBECONFIG\) is not valid YAML at line \d+/,
        );
        assert.doesNotMatch(problems[0].message, new RegExp(FAKE("leak")));
        assert.match(problems[0].fix!, /remove \/kc\/broken from \$KUBECONFIG/);
    });

    it("reports a listed file that exists but cannot be read", () => {
        const { problems } = resolveClusterAccess(one("ctx-a"), {
            env: { KUBECONFIG: list("/kc/a", "/kc/locked") },
            readFile: fakeReader({ "/kc/a": FILE_A }, ["/kc/locked"]).readFile,
        });
        assert.equal(problems.length, 1);
        assert.equal(
            problems[0].message,
            "The kubeconfig file /kc/locked (from $KUBECONFIG) is not readable (permission denied).",
        );
    });

    it("names the merged files in problems about the merged view", () => {
        const { problems } = resolveClusterAccess(one("ctx-z"), {
            env: { KUBECONFIG: list("/kc/a", "/kc/b") },
            readFile: fakeReader({ "/kc/a": FILE_A, "/kc/b": FILE_B }).readFile,
        });
        assert.equal(problems.length, 1);
        assert.equal(
            problems[0].message,
            "Context 'ctx-z' is not in the kubeconfig files /kc/a, /kc/b merged from $KUBECONFIG.",
        );
        const noCurrent = resolveClusterAccess(one(), {
            env: { KUBECONFIG: list("/kc/a", "/kc/b") },
            readFile: fakeReader({ "/kc/a": FILE_A, "/kc/b": FILE_B }).readFile,
        });
        assert.match(
            noCurrent.problems[0].message,
            /files \/kc\/a, \/kc\/b merged from \$KUBECONFIG has no current-context/,
        );
        assert.match(noCurrent.problems[0].fix!, /one of: ctx-a, ctx-b\.$/);
    });

    it("resolves relative file references against the directory of the file that defined them", () => {
        const a = kubeconfigYaml({
            clusters: [["cl", { server: "https://10.1.0.1:6443", "certificate-authority": "certs/ca.crt" }]],
        });
        const b = kubeconfigYaml({
            current: "ctx",
            clusters: [["cl", { server: "https://10.9.9.9:6443", "certificate-authority": "other.crt" }]],
            contexts: [["ctx", "cl", "u"]],
            users: [["u", { "client-certificate": "u.crt", "client-key": "/abs/u.key", tokenFile: "../tok" }]],
        });
        const { access, problems } = resolveClusterAccess(one(), {
            env: { KUBECONFIG: list("one/config", "/y/two/config"), HOME: "/home/me" },
            readFile: fakeReader({ "/x/one/config": a, "/y/two/config": b }).readFile,
            cwd: "/x",
        });
        assert.deepEqual(problems, []);
        const doc = yaml.load(access.c1.kubeconfig) as {
            clusters: { cluster: Record<string, string> }[];
            users: { user: Record<string, string> }[];
        };
        assert.equal(doc.clusters[0].cluster["certificate-authority"], "/x/one/certs/ca.crt");
        assert.deepEqual(doc.users[0].user, {
            "client-certificate": "/y/two/u.crt",
            "client-key": "/abs/u.key",
            tokenFile: "/y/tok",
        });
        assert.equal(access.c1.path, undefined);
    });

    it("reports a ~ entry when HOME is not set", () => {
        const { problems } = resolveClusterAccess(one("ctx-a"), {
            env: { KUBECONFIG: list("/kc/a", "~/.kube/b") },
            readFile: fakeReader({ "/kc/a": FILE_A }).readFile,
        });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].message, "'~/.kube/b' (from $KUBECONFIG) starts with ~, but HOME is not set.");
    });

    it("ignores the list for clusters with their own kubeconfig or secret content", () => {
        const fake = fakeReader({ "/kc/b": FILE_B });
        const clusters: Cluster[] = [
            { name: "c1", role: "primary", kubeconfig: "/kc/b", context: "ctx-b" },
            { name: "c2", role: "primary", context: "ctx-a" },
        ];
        const { access, problems } = resolveClusterAccess(clusters, {
            env: { KUBECONFIG: list("/kc/broken", "/kc/other") },
            readFile: fake.readFile,
            secretKubeconfigs: { c2: FILE_A },
        });
        assert.deepEqual(problems, []);
        assert.equal(access.c1.path, "/kc/b");
        assert.equal(access.c2.source, "secret");
        assert.deepEqual(fake.reads, ["/kc/b"]);
    });

    it("reads a single entry as that one file, exactly as before", () => {
        for (const value of ["/kc/a", `${path.delimiter}/kc/a${path.delimiter}`]) {
            const fake = fakeReader({ "/kc/a": FILE_A });
            const ok = resolveClusterAccess(one("ctx-a"), { env: { KUBECONFIG: value }, readFile: fake.readFile });
            assert.deepEqual(ok.problems, []);
            assert.equal(ok.access.c1.path, "/kc/a");
            assert.deepEqual(fake.reads, ["/kc/a"]);
            const bad = resolveClusterAccess(one("ctx-z"), { env: { KUBECONFIG: value }, readFile: fake.readFile });
            assert.equal(bad.problems[0].message, "Context 'ctx-z' is not in the kubeconfig file /kc/a.");
        }
        const missing = resolveClusterAccess(one("ctx-a"), {
            env: { KUBECONFIG: "/kc/gone" },
            readFile: fakeReader({}).readFile,
        });
        assert.equal(missing.problems.length, 1);
        assert.equal(missing.problems[0].message, "The kubeconfig file /kc/gone (from $KUBECONFIG) does not exist.");
        assert.match(
            missing.problems[0].fix!,
            /^Point clusters\[0\]\.kubeconfig at the kubeconfig that holds c1's context/,
        );
    });
});

/** The compact parts of a kubeconfig built by {@link kubeconfigYaml}, for reuse with another current-context. */
function parseParts(content: string): Parameters<typeof kubeconfigYaml>[0] {
    const kc = parseKubeconfig(content);
    return {
        clusters: kc.clusters.map((c) => [c.name, c.body]),
        contexts: kc.contexts.map((c) => [c.name, String(c.body.cluster), String(c.body.user)]),
        users: kc.users.map((u) => [u.name, u.body]),
    };
}

describe("KUBECONFIG list helpers", () => {
    it("kubeconfigListEntries keeps the order and drops empty entries", () => {
        assert.deepEqual(kubeconfigListEntries("/a::/b: ", ":"), ["/a", "/b"]);
        assert.deepEqual(kubeconfigListEntries("C:\\a;;C:\\b", ";"), ["C:\\a", "C:\\b"]);
        assert.deepEqual(kubeconfigListEntries("", ":"), []);
        assert.deepEqual(kubeconfigListEntries(undefined, ":"), []);
    });

    it("mergeKubeconfigs: first definition of each name wins and remembers its file", () => {
        const merged = mergeKubeconfigs([
            { file: "/kc/a", kubeconfig: parseKubeconfig(FILE_A) },
            { file: "/kc/b", kubeconfig: parseKubeconfig(kubeconfigYaml({ ...parseParts(FILE_B), current: "ctx-b" })) },
            { file: "/kc/c", kubeconfig: parseKubeconfig(kubeconfigYaml({ ...parseParts(FILE_A), current: "ctx-a" })) },
        ]);
        assert.equal(merged.currentContext, "ctx-b");
        assert.deepEqual(
            merged.contexts.map((c) => `${c.name}@${c.file}`),
            ["ctx-a@/kc/a", "ctx-b@/kc/b"],
        );
        assert.deepEqual(
            merged.users.map((u) => `${u.name}@${u.file}`),
            ["user-a@/kc/a", "user-b@/kc/b"],
        );
        assert.equal(merged.doc["current-context"], "ctx-b");
        assert.equal(mergeKubeconfigs([]).currentContext, undefined);
    });
});
