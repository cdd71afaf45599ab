import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import { ClusterConfig } from "../components/config";
import {
    expandKubeconfigPath,
    firstKubeconfigEntry,
    kubeconfigForContext,
    parseKubeconfig,
    resolveClusterAccess,
} from "../components/kubeconfig";

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

    it("uses the first entry of $KUBECONFIG, then ~/.kube/config", () => {
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
        assert.equal(firstKubeconfigEntry("/a:/b", ":"), "/a");
        assert.equal(firstKubeconfigEntry(":/b", ":"), "/b");
        assert.equal(firstKubeconfigEntry("", ":"), undefined);
        assert.equal(expandKubeconfigPath("~/.kube/x", "/home/u", "/w"), "/home/u/.kube/x");
        assert.equal(expandKubeconfigPath("rel/x", "/home/u", "/w"), "/w/rel/x");
        assert.equal(expandKubeconfigPath("~/x", undefined, "/w"), undefined);
    });
});
