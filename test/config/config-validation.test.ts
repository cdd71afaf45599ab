import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblem, ConfigValidationError, MeshConfig } from "../../components/config/config";
import { SECRET_PLACEHOLDER } from "../../components/config/config-schema";
import {
    classifyChartRepository,
    closest,
    formatPath,
    isLoopbackHost,
    MeshConfigCheck,
} from "../../components/config/config-validation";
import { parseMeshConfig, validateMeshConfig } from "../../components/mesh/validate-config";

type Raw = Record<string, unknown>;

/** A valid two-cluster multi-primary, multi-network mesh with NodePort gateways (the seed's shape). */
function base(): Raw {
    return {
        clusters: [
            {
                name: "cluster1",
                network: "network1",
                apiServer: "https://10.0.0.1:6443",
                eastWestGateway: { serviceType: "NodePort", address: "10.0.0.11", nodePort: 31674 },
            },
            {
                name: "cluster2",
                network: "network2",
                apiServer: "https://10.0.0.2:6443",
                eastWestGateway: { serviceType: "NodePort", address: "10.0.0.12", nodePort: 32361 },
            },
        ],
    };
}

/** A valid primary-remote mesh. */
function primaryRemote(): Raw {
    return {
        clusters: [
            { name: "cluster1", apiServer: "https://10.0.0.1:6443" },
            { name: "cluster2", role: "remote", controlPlane: "cluster1", apiServer: "https://10.0.0.2:6443" },
        ],
    };
}

function withCluster(raw: Raw, index: number, patch: Raw): Raw {
    const clusters = structuredClone(raw.clusters) as Raw[];
    clusters[index] = { ...clusters[index], ...patch };
    return { ...raw, clusters };
}

function withGateway(raw: Raw, index: number, gw: Raw): Raw {
    return withCluster(raw, index, { eastWestGateway: gw });
}

function problemsOf(raw: Raw, secretKeys?: string[]): ConfigProblem[] {
    const result = validateMeshConfig(raw, [], secretKeys ? { secretKeys } : {});
    if (result.problems.length > 0) assert.equal(result.config, undefined, "no config when there are problems");
    return result.problems;
}

function expectProblem(raw: Raw, path: string, message: RegExp, fix?: RegExp, secretKeys?: string[]): ConfigProblem {
    const problems = problemsOf(raw, secretKeys);
    const match = problems.find((p) => p.path === path && message.test(p.message));
    assert.ok(
        match,
        `expected a problem at ${path} matching ${message}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`,
    );
    if (fix) assert.match(match.fix ?? "", fix);
    return match;
}

describe("validateMeshConfig: valid configs", () => {
    it("accepts the base config and applies every default", () => {
        const { config, problems } = validateMeshConfig(base());
        assert.deepEqual(problems, []);
        assert.ok(config);
        assert.equal(config.meshId, "mesh1");
        assert.equal(config.trustDomain, "cluster.local");
        assert.equal(config.istioVersion, "1.30.3");
        assert.equal(config.chartRepository, "https://istio-release.storage.googleapis.com/charts");
        assert.deepEqual(config.ca, {
            name: "mesh-root",
            mode: "generate",
            keyAlgorithm: "RSA",
            rsaBits: 4096,
            ecdsaCurve: "P256",
            validityDays: 3650,
            organization: "Istio",
            commonName: "Root CA",
        });
        assert.deepEqual(config.intermediate, { validityDays: 730, earlyRenewalDays: 60 });
        assert.equal(config.verify, false);
        assert.equal(config.verification.namespace, "mesh-verify");
        assert.equal(config.verification.requests, 30);
        assert.equal(config.verification.timeoutSeconds, 300);
        assert.match(config.verification.serverImage, /helloworld/);
        assert.match(config.verification.clientImage, /^curlimages\/curl:\d/);
        assert.deepEqual(config.remoteSecrets, {
            tokenMode: "serviceAccountTokenSecret",
            layout: "perSource",
            tokenTtlDays: 90,
            renewBeforeDays: 30,
            probeTokenLifetime: true,
            readerAccounts: "shared",
        });
        assert.deepEqual(config.dnsProxy, { capture: false, autoAllocate: false });
        assert.equal(config.revision, undefined);
        assert.equal(config.clusters[0].role, "primary");
        assert.equal(config.clusters[0].adopt, false);
    });

    it("defaults network, role and a LoadBalancer gateway for a bare cluster", () => {
        const config = parseMeshConfig({ clusters: [{ name: "solo" }] });
        assert.deepEqual(config.clusters, [
            {
                name: "solo",
                network: "network1",
                role: "primary",
                eastWestGateway: { serviceType: "LoadBalancer" },
                adopt: false,
            },
        ]);
    });

    it("fills in the only primary as a remote's controlPlane", () => {
        const config = parseMeshConfig({ clusters: [{ name: "a" }, { name: "b", role: "remote" }] });
        assert.equal(config.clusters[1].controlPlane, "a");
    });

    it("accepts numbers and booleans as strings, as Pulumi stores them", () => {
        const config = parseMeshConfig({
            ...withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11", nodePort: "31674" }),
            verify: "true",
            verification: { requests: "30", timeoutSeconds: "120" },
            ca: { rsaBits: "2048", validityDays: "4000" },
            dnsProxy: { capture: "true", autoAllocate: "false" },
        });
        assert.equal(config.verify, true);
        assert.equal(config.verification.requests, 30);
        assert.equal(config.verification.timeoutSeconds, 120);
        assert.equal(config.ca.rsaBits, 2048);
        assert.equal(config.clusters[0].eastWestGateway.nodePort, 31674);
        assert.deepEqual(config.dnsProxy, { capture: true, autoAllocate: false });
    });

    it("treats null values (YAML `key:` with nothing after it) as unset", () => {
        const config = parseMeshConfig({ meshId: null, clusters: [{ name: "a", context: null, network: null }] });
        assert.equal(config.meshId, "mesh1");
        assert.equal(config.clusters[0].context, undefined);
        assert.equal(config.clusters[0].network, "network1");
    });

    it("accepts apiServerTlsServerName as a host name or an IP address and keeps it", () => {
        for (const name of ["kubernetes.default.svc", "api.cluster2.example", "10.0.0.2", "fd00::2"]) {
            const raw = withCluster(primaryRemote(), 1, { apiServerTlsServerName: name });
            assert.deepEqual(problemsOf(raw), [], name);
            assert.equal(parseMeshConfig(raw).clusters[1].apiServerTlsServerName, name);
        }
    });

    it("allows a loopback apiServer when no other cluster must reach it", () => {
        // A single cluster, and the only primary of a primary-remote mesh, are watched by nobody.
        assert.deepEqual(problemsOf({ clusters: [{ name: "a", apiServer: "https://127.0.0.1:6443" }] }), []);
        const raw = withCluster(primaryRemote(), 0, { apiServer: "https://127.0.0.1:6443" });
        assert.deepEqual(problemsOf(raw), []);
    });

    it("accepts all three chart repository forms and says which one it is", () => {
        for (const [repo, kind] of [
            ["https://charts.example.com/istio", "https"],
            ["http://mirror.internal:8080/charts", "http"],
            ["oci://registry.example.com/istio-charts", "oci"],
            ["/srv/helm/istio", "local"],
        ] as const) {
            assert.equal(classifyChartRepository(repo), kind);
            assert.deepEqual(problemsOf({ ...base(), chartRepository: repo }), [], repo);
        }
    });

    it("accepts import mode with a certificate and a secret key", () => {
        const raw = {
            ...base(),
            ca: { mode: "import", certPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
            caKeyPem: SECRET_PLACEHOLDER,
        };
        assert.deepEqual(problemsOf(raw, ["caKeyPem"]), []);
    });

    it("accepts kubeconfigs held as secrets and keeps them out of the MeshConfig", () => {
        const raw = { ...base(), kubeconfigs: { cluster1: SECRET_PLACEHOLDER, cluster2: SECRET_PLACEHOLDER } };
        const result = validateMeshConfig(raw, [], { secretKeys: ["kubeconfigs.cluster1", "kubeconfigs.cluster2"] });
        assert.deepEqual(result.problems, []);
        assert.ok(!("kubeconfigs" in result.config!));
        assert.ok(!("caKeyPem" in result.config!));
    });

    it("accepts a primary serving remotes with a LoadBalancer gateway and an IP address", () => {
        const raw = withGateway(primaryRemote(), 0, { serviceType: "LoadBalancer", address: "203.0.113.5" });
        assert.deepEqual(problemsOf(raw), []);
    });
});

describe("validateMeshConfig: bad configs, one problem each", () => {
    const cases: {
        name: string;
        raw: () => Raw;
        path: string;
        message: RegExp;
        fix?: RegExp;
        secretKeys?: string[];
    }[] = [
        {
            name: "unknown top-level key suggests the closest known key",
            raw: () => ({ ...base(), meshID: "mesh1" }),
            path: "meshID",
            message: /Unknown key 'meshID'/,
            fix: /did you mean 'meshId'/i,
        },
        {
            name: "misspelt cluster key",
            raw: () => withCluster(base(), 1, { netwrok: "network2" }),
            path: "clusters[1].netwrok",
            message: /Unknown key 'netwrok'/,
            fix: /did you mean 'network'/i,
        },
        {
            name: "misspelt gateway key",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11", nodeport: 31674 }),
            path: "clusters[0].eastWestGateway.nodeport",
            message: /Unknown key/,
            fix: /nodePort/,
        },
        {
            name: "cluster key at the top level is pointed to its place",
            raw: () => ({ ...base(), network: "network1" }),
            path: "network",
            message: /Unknown key 'network'/,
            fix: /clusters\[\]\.network/,
        },
        {
            name: "unknown key in a nested object lists the known keys",
            raw: () => ({ ...base(), ca: { flavour: "spicy" } }),
            path: "ca.flavour",
            message: /Unknown key/,
            fix: /Known keys here: mode, keyAlgorithm/,
        },
        {
            name: "clusters is not a list",
            raw: () => ({ clusters: "cluster1,cluster2" }),
            path: "clusters",
            message: /Must be an array, not a string/,
        },
        {
            name: "a cluster entry is not an object",
            raw: () => ({ clusters: ["cluster1"] }),
            path: "clusters[0]",
            message: /Must be an object, not a string/,
        },
        {
            name: "verify is not a boolean",
            raw: () => ({ ...base(), verify: "maybe" }),
            path: "verify",
            message: /Must be a boolean, not a string \('maybe'\)/,
            fix: /true or false/,
        },
        {
            name: "verify is a YAML 1.1 yes, which YAML 1.2 keeps a string",
            raw: () => ({ ...base(), verify: "yes" }),
            path: "verify",
            message: /Expected true or false, got the string 'yes'/,
            fix: /Write verify: true\./,
        },
        {
            name: "nodePort is not a number",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11", nodePort: "high" }),
            path: "clusters[0].eastWestGateway.nodePort",
            message: /Must be an integer/,
        },
        {
            name: "clusters missing",
            raw: () => ({ meshId: "mesh1" }),
            path: "clusters",
            message: /Required key 'clusters' is missing/,
        },
        {
            name: "empty cluster list",
            raw: () => ({ clusters: [] }),
            path: "clusters",
            message: /empty/,
            fix: /clusters\[0\]\.name/,
        },
        {
            name: "cluster without a name",
            raw: () => ({ clusters: [{ network: "network1" }] }),
            path: "clusters[0].name",
            message: /Required key 'name'/,
        },
        {
            name: "duplicate cluster names",
            raw: () => withCluster(base(), 1, { name: "cluster1" }),
            path: "clusters[1].name",
            message: /already the name of clusters\[0\]/,
        },
        {
            name: "cluster name not DNS-1123",
            raw: () => withCluster(base(), 0, { name: "Cluster_1" }),
            path: "clusters[0].name",
            message: /not a DNS-1123 label/,
            fix: /'cluster-1'/,
        },
        {
            name: "network name not DNS-1123",
            raw: () => withCluster(base(), 0, { network: "Net 1" }),
            path: "clusters[0].network",
            message: /not a DNS-1123 label/,
            fix: /'net-1'/,
        },
        {
            name: "meshId not DNS-1123",
            raw: () => ({ ...base(), meshId: "Mesh.One" }),
            path: "meshId",
            message: /not a DNS-1123 label/,
        },
        {
            name: "trustDomain written as a SPIFFE URI",
            raw: () => ({ ...base(), trustDomain: "spiffe://cluster.local" }),
            path: "trustDomain",
            message: /not a DNS name/,
            fix: /Drop the scheme: 'cluster.local'/,
        },
        {
            name: "misspelt role",
            raw: () => withCluster(base(), 0, { role: "primay" }),
            path: "clusters[0].role",
            message: /'primay' is not one of primary, remote/,
            fix: /Did you mean 'primary'/,
        },
        {
            name: "no primary at all",
            raw: () => ({
                clusters: [
                    { name: "a", role: "remote" },
                    { name: "b", role: "remote" },
                ],
            }),
            path: "clusters",
            message: /No cluster has role primary.*for a, b/,
        },
        {
            name: "remote pointing at another remote",
            raw: () => ({
                clusters: [
                    { name: "p" },
                    { name: "r1", role: "remote" },
                    { name: "r2", role: "remote", controlPlane: "r1" },
                ],
            }),
            path: "clusters[2].controlPlane",
            message: /'r1' is a remote itself/,
            fix: /primaries: p/,
        },
        {
            name: "controlPlane naming an unknown cluster",
            raw: () => withCluster(primaryRemote(), 1, { controlPlane: "clustr1" }),
            path: "clusters[1].controlPlane",
            message: /'clustr1' is not the name of any cluster/,
            fix: /Did you mean 'cluster1'/,
        },
        {
            name: "controlPlane set on a primary",
            raw: () => withCluster(base(), 0, { controlPlane: "cluster2" }),
            path: "clusters[0].controlPlane",
            message: /is a primary/,
        },
        {
            name: "several primaries and a remote without controlPlane",
            raw: () => ({
                clusters: [{ name: "p1" }, { name: "p2" }, { name: "r", role: "remote" }],
            }),
            path: "clusters[2].controlPlane",
            message: /several primaries \(p1, p2\)/,
            fix: /one of p1, p2/,
        },
        {
            name: "remote naming itself",
            raw: () => withCluster(primaryRemote(), 1, { controlPlane: "cluster2" }),
            path: "clusters[1].controlPlane",
            message: /names itself/,
        },
        {
            name: "apiServer on 127.0.0.1 for a cluster others reach, with the kind fix",
            raw: () => withCluster(base(), 1, { apiServer: "https://127.0.0.1:41234" }),
            path: "clusters[1].apiServer",
            message: /loopback/,
            fix: /kind.*https:\/\/<container-ip>:6443/,
        },
        {
            name: "apiServerTlsServerName with a scheme and port",
            raw: () => withCluster(base(), 1, { apiServerTlsServerName: "https://api.example.com:6443" }),
            path: "clusters[1].apiServerTlsServerName",
            message: /neither a host name nor an IP address/,
            fix: /subject alternative names/,
        },
        {
            name: "apiServerTlsServerName on a cluster no other primary watches",
            raw: () => withCluster(primaryRemote(), 0, { apiServerTlsServerName: "api.cluster1.example" }),
            path: "clusters[0].apiServerTlsServerName",
            message: /No other primary watches cluster1/,
            fix: /Remove clusters\[0\]\.apiServerTlsServerName/,
        },
        {
            name: "apiServer on localhost",
            raw: () => withCluster(base(), 0, { apiServer: "https://localhost:6443" }),
            path: "clusters[0].apiServer",
            message: /loopback/,
        },
        {
            name: "apiServer on ::1",
            raw: () => withCluster(base(), 0, { apiServer: "https://[::1]:6443" }),
            path: "clusters[0].apiServer",
            message: /loopback/,
        },
        {
            name: "apiServer anywhere in 127.0.0.0/8",
            raw: () => withCluster(primaryRemote(), 1, { apiServer: "https://127.1.2.3:6443" }),
            path: "clusters[1].apiServer",
            message: /loopback/,
        },
        {
            name: "apiServer not https",
            raw: () => withCluster(base(), 0, { apiServer: "http://10.0.0.1:6443" }),
            path: "clusters[0].apiServer",
            message: /must be an https URL/,
        },
        {
            name: "apiServer not a URL",
            raw: () => withCluster(base(), 0, { apiServer: "10.0.0.1:6443" }),
            path: "clusters[0].apiServer",
            message: /not a valid URL|must be an https URL/,
        },
        {
            name: "istioVersion below 1.24 says why",
            raw: () => ({ ...base(), istioVersion: "1.23.4" }),
            path: "istioVersion",
            message: /older than 1\.24\.0.*profile=remote.*istiod-remote/,
        },
        {
            name: "istioVersion not semver",
            raw: () => ({ ...base(), istioVersion: "latest" }),
            path: "istioVersion",
            message: /not a semantic version/,
        },
        {
            name: "istioVersion read by YAML as a number",
            raw: () => ({ ...base(), istioVersion: 1.3 }),
            path: "istioVersion",
            message: /unquoted number/,
            fix: /in quotes/,
        },
        {
            name: "NodePort without address or nodeSelector",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", nodePort: 31674 }),
            path: "clusters[0].eastWestGateway.address",
            message: /needs either an address.*or a nodeSelector/,
        },
        {
            name: "NodePort with both address and nodeSelector on two networks (istiod would use the nodes' ExternalIPs)",
            raw: () =>
                withGateway(base(), 0, {
                    serviceType: "NodePort",
                    address: "10.0.0.11",
                    nodePort: 31674,
                    nodeSelector: {},
                }),
            path: "clusters[0].eastWestGateway.nodeSelector",
            message: /ignores the address/,
            fix: /Keep one/,
        },
        {
            name: "nodePort outside 30000-32767",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11", nodePort: 15443 }),
            path: "clusters[0].eastWestGateway.nodePort",
            message: /outside .*30000-32767/,
        },
        {
            name: "nodePort on a LoadBalancer gateway",
            raw: () => withGateway(base(), 0, { serviceType: "LoadBalancer", nodePort: 31000 }),
            path: "clusters[0].eastWestGateway.nodePort",
            message: /only applies to serviceType NodePort/,
        },
        {
            name: "nodeSelector on a LoadBalancer gateway",
            raw: () => withGateway(base(), 0, { nodeSelector: { edge: "true" } }),
            path: "clusters[0].eastWestGateway.nodeSelector",
            message: /only applies to serviceType NodePort/,
        },
        {
            name: "loadBalancerIP on a NodePort gateway",
            raw: () =>
                withGateway(base(), 0, {
                    serviceType: "NodePort",
                    address: "10.0.0.11",
                    nodePort: 31674,
                    loadBalancerIP: "10.0.0.99",
                }),
            path: "clusters[0].eastWestGateway.loadBalancerIP",
            message: /only applies to a LoadBalancer/,
        },
        {
            name: "NodePort address with a port in it",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11:31674" }),
            path: "clusters[0].eastWestGateway.address",
            message: /contains a port/,
            fix: /nodePort/,
        },
        {
            name: "NodePort address without a fixed nodePort on a multi-network mesh",
            raw: () => withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11" }),
            path: "clusters[0].eastWestGateway.nodePort",
            message: /random one/,
        },
        {
            name: "primary serving remotes behind a NodePort gateway without address",
            raw: () => withGateway(primaryRemote(), 0, { serviceType: "NodePort", nodeSelector: {} }),
            path: "clusters[0].eastWestGateway.address",
            message: /remotePilotAddress needs an IP.*15012 and 15017/,
        },
        {
            name: "primary serving remotes with a hostname address",
            raw: () => withGateway(primaryRemote(), 0, { address: "istiod.example.com" }),
            path: "clusters[0].eastWestGateway.address",
            message: /hostname.*ExternalName/,
            fix: /IP address/,
        },
        {
            name: "primary serving 1.29 remotes at an IPv6 address (their chart takes it for a hostname)",
            raw: () => ({ ...withGateway(primaryRemote(), 0, { address: "2001:db8::15" }), istioVersion: "1.29.2" }),
            path: "clusters[0].eastWestGateway.address",
            message:
                /serves remote clusters at this IP, and '2001:db8::15' is an IPv6 address, which the istiod chart 1\.29\.2 takes for a hostname/,
            fix: /IPv4 address in clusters\[0\]\.eastWestGateway\.address.*1\.30\.0 or newer/,
        },
        {
            name: "primary serving 1.29 remotes through an IPv6 loadBalancerIP (no address)",
            raw: () => ({
                ...withGateway(primaryRemote(), 0, { serviceType: "LoadBalancer", loadBalancerIP: "2001:db8::16" }),
                istioVersion: "1.29.2",
            }),
            path: "clusters[0].eastWestGateway.loadBalancerIP",
            message: /at this IP, and '2001:db8::16' is an IPv6 address/,
            fix: /IPv4 address in clusters\[0\]\.eastWestGateway\.loadBalancerIP/,
        },
        {
            name: "primary serving remotes at an IPv4-mapped IPv6 address",
            raw: () => withGateway(primaryRemote(), 0, { address: "::ffff:192.0.2.15" }),
            path: "clusters[0].eastWestGateway.address",
            message: /does not recognise as one/,
        },
        {
            name: "gateway address on loopback",
            raw: () => withGateway(base(), 0, { address: "127.0.0.1" }),
            path: "clusters[0].eastWestGateway.address",
            message: /loopback/,
        },
        {
            name: "ca import without a certificate",
            raw: () => ({ ...base(), ca: { mode: "import" }, caKeyPem: SECRET_PLACEHOLDER }),
            path: "ca.certPem",
            message: /no root certificate/,
            secretKeys: ["caKeyPem"],
        },
        {
            name: "ca import with both certPem and certFile",
            raw: () => ({
                ...base(),
                ca: { mode: "import", certPem: "-----BEGIN CERTIFICATE-----\n", certFile: "/etc/root.pem" },
                caKeyPem: SECRET_PLACEHOLDER,
            }),
            path: "ca.certFile",
            message: /Both ca.certPem and ca.certFile/,
            secretKeys: ["caKeyPem"],
        },
        {
            name: "ca import without the root key",
            raw: () => ({ ...base(), ca: { mode: "import", certFile: "/etc/root.pem" } }),
            path: "caKeyPem",
            message: /root private key is missing/,
            fix: /--secret caKeyPem/,
        },
        {
            name: "caKeyPem in plain text",
            raw: () => ({
                ...base(),
                ca: { mode: "import", certFile: "/etc/root.pem" },
                caKeyPem: "-----BEGIN PRIVATE KEY-----",
            }),
            path: "caKeyPem",
            message: /plain text/,
            secretKeys: [],
        },
        {
            name: "rsaBits not allowed",
            raw: () => ({ ...base(), ca: { rsaBits: 1024 } }),
            path: "ca.rsaBits",
            message: /'1024' is not one of 2048, 3072, 4096/,
        },
        {
            name: "ecdsaCurve not allowed",
            raw: () => ({ ...base(), ca: { keyAlgorithm: "ECDSA", ecdsaCurve: "P224" } }),
            path: "ca.ecdsaCurve",
            message: /not one of P256, P384/,
        },
        {
            name: "keyAlgorithm not allowed",
            raw: () => ({ ...base(), ca: { keyAlgorithm: "ED25519" } }),
            path: "ca.keyAlgorithm",
            message: /not one of RSA, ECDSA/,
        },
        {
            name: "intermediate early renewal not shorter than validity",
            raw: () => ({ ...base(), intermediate: { validityDays: 60, earlyRenewalDays: 60 } }),
            path: "intermediate.earlyRenewalDays",
            message: /not shorter than the intermediate validity/,
        },
        {
            name: "intermediate outliving the generated root",
            raw: () => ({ ...base(), ca: { validityDays: 365 }, intermediate: { validityDays: 730 } }),
            path: "intermediate.validityDays",
            message: /longer than the root's validity/,
        },
        {
            name: "chartRepository of an unknown form",
            raw: () => ({ ...base(), chartRepository: "ftp://charts.example.com" }),
            path: "chartRepository",
            message: /neither an https\/http URL, an oci:\/\/ reference nor an absolute local directory/,
        },
        {
            name: "chartRepository as a relative path",
            raw: () => ({ ...base(), chartRepository: "./charts" }),
            path: "chartRepository",
            message: /neither/,
            fix: /absolute directory path/,
        },
        {
            name: "kubeconfigs entry for an unknown cluster",
            raw: () => ({ ...base(), kubeconfigs: { clustr2: SECRET_PLACEHOLDER } }),
            path: "kubeconfigs.clustr2",
            message: /not the name of any cluster/,
            fix: /Did you mean 'cluster2'/,
            secretKeys: ["kubeconfigs.clustr2"],
        },
        {
            name: "kubeconfigs content in plain text",
            raw: () => ({ ...base(), kubeconfigs: { cluster1: "apiVersion: v1\nkind: Config\n" } }),
            path: "kubeconfigs.cluster1",
            message: /plain text/,
            fix: /--secret --path 'kubeconfigs.cluster1'/,
            secretKeys: [],
        },
        {
            name: "both a kubeconfig file and secret content for one cluster",
            raw: () => ({
                ...withCluster(base(), 0, { kubeconfig: "~/.kube/config" }),
                kubeconfigs: { cluster1: SECRET_PLACEHOLDER },
            }),
            path: "clusters[0].kubeconfig",
            message: /both a kubeconfig file/,
            secretKeys: ["kubeconfigs"],
        },
        {
            name: "revision with dots",
            raw: () => ({ ...base(), revision: "1.30.3" }),
            path: "revision",
            message: /not a DNS-1123 label/,
        },
        {
            name: "verification namespace istio-system",
            raw: () => ({ ...base(), verification: { namespace: "istio-system" } }),
            path: "verification.namespace",
            message: /cannot hold the check's workloads/,
        },
        {
            name: "requests below 1",
            raw: () => ({ ...base(), verification: { requests: 0 } }),
            path: "verification.requests",
            message: /at least 1/,
        },
        {
            name: "bad image pull secret name",
            raw: () => ({ ...base(), images: { imagePullSecrets: ["My_Secret"] } }),
            path: "images.imagePullSecrets[0]",
            message: /not a valid Secret name/,
        },
        {
            name: "encrypted value on a key that is not a secret",
            raw: () => withCluster(base(), 0, { apiServer: SECRET_PLACEHOLDER }),
            path: "clusters[0].apiServer",
            message: /encrypted/,
            fix: /plain text/,
        },
        {
            name: "nodeSelector annotation set by hand",
            raw: () =>
                withGateway(base(), 0, {
                    serviceType: "NodePort",
                    address: "10.0.0.11",
                    nodePort: 31674,
                    annotations: { "traffic.istio.io/nodeSelector": "{}" },
                }),
            path: 'clusters[0].eastWestGateway.annotations["traffic.istio.io/nodeSelector"]',
            message: /writes this annotation/,
        },
    ];

    for (const c of cases) {
        it(c.name, () => {
            expectProblem(c.raw(), c.path, c.message, c.fix, c.secretKeys);
        });
    }

    it("covers at least 30 distinct bad configs", () => {
        assert.ok(cases.length >= 30, `${cases.length} cases`);
        assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
    });

    it("gives a fix for every problem of every case", () => {
        for (const c of cases) {
            for (const p of problemsOf(c.raw(), c.secretKeys)) {
                assert.ok(p.fix && p.fix.length > 5, `${c.name}: ${p.path} has no fix`);
            }
        }
    });
});

describe("validateMeshConfig: reporting", () => {
    it("reports every problem of one bad config at once", () => {
        const raw: Raw = {
            meshID: "mesh1",
            istioVersion: "1.22.0",
            verify: "maybe",
            chartRepository: "charts",
            intermediate: { validityDays: 30, earlyRenewalDays: 45 },
            clusters: [
                { name: "Cluster1", netwrok: "n1", apiServer: "https://127.0.0.1:6443" },
                { name: "cluster2", role: "remote", controlPlane: "cluster9" },
                { name: "cluster3", eastWestGateway: { serviceType: "NodePort", nodePort: 80 } },
            ],
        };
        const problems = problemsOf(raw);
        const paths = problems.map((p) => p.path);
        for (const expected of [
            "meshID",
            "istioVersion",
            "verify",
            "chartRepository",
            "intermediate.earlyRenewalDays",
            "clusters[0].name",
            "clusters[0].netwrok",
            "clusters[0].apiServer",
            "clusters[1].controlPlane",
            "clusters[2].eastWestGateway.address",
            "clusters[2].eastWestGateway.nodePort",
        ]) {
            assert.ok(paths.includes(expected), `missing ${expected} in ${paths.join(", ")}`);
        }
        assert.ok(problems.length >= 11);
    });

    it("parseMeshConfig throws a ConfigValidationError listing every problem with the namespace", () => {
        const raw = { clusters: [{ name: "A" }, { name: "b", role: "remote", controlPlane: "x" }] };
        assert.throws(
            () => parseMeshConfig(raw),
            (e: unknown) => {
                assert.ok(e instanceof ConfigValidationError);
                assert.equal(e.problems.length, 2);
                assert.match(e.message, /istio-multicluster:clusters\[0\]\.name/);
                assert.match(e.message, /istio-multicluster:clusters\[1\]\.controlPlane/);
                return true;
            },
        );
    });

    it("is a Pulumi RunError, which pulumi up prints as its message alone, not as an unhandled exception with a stack", () => {
        const e = new ConfigValidationError([{ path: "meshId", message: "'Mesh 1' is not a DNS-1123 label." }]);
        assert.ok(pulumi.RunError.isInstance(e));
        assert.equal(e.name, "ConfigValidationError");
        assert.equal(
            e.message,
            "The stack configuration has 1 problem:\n  - istio-multicluster:meshId: 'Mesh 1' is not a DNS-1123 label.",
        );
    });

    it("orders problems by path, clusters[2] before clusters[10]", () => {
        const clusters = Array.from({ length: 11 }, (_, i) => ({ name: `c${i}` }));
        clusters[2] = { name: "C2" };
        clusters[10] = { name: "C10" };
        const paths = problemsOf({ clusters }).map((p) => p.path);
        assert.deepEqual(paths, ["clusters[2].name", "clusters[10].name"]);
    });

    it("never shows a secret value in a message", () => {
        const raw = { ...base(), kubeconfigs: { cluster1: { token: "TOPSECRET-TOKEN" } }, caKeyPem: 12345 };
        const problems = problemsOf(raw, ["kubeconfigs", "caKeyPem"]);
        assert.ok(problems.length > 0);
        const text = JSON.stringify(problems);
        assert.doesNotMatch(text, /TOPSECRET/);
    });

    it("runs extra checks on the defaulted config and returns their problems", () => {
        const seen: MeshConfig[] = [];
        const check: MeshConfigCheck = (config) => {
            seen.push(config);
            return config.clusters.length > 1 ? [{ path: "clusters", message: "too many", fix: "fewer" }] : [];
        };
        const result = validateMeshConfig(base(), [check]);
        assert.equal(seen.length, 1);
        assert.equal(seen[0].clusters[0].network, "network1");
        assert.deepEqual(result.problems, [{ path: "clusters", message: "too many", fix: "fewer" }]);
        assert.equal(result.config, undefined);
        assert.ok(validateMeshConfig({ clusters: [{ name: "a" }] }, [check]).config);
    });

    it("does not run extra checks when the topology is broken", () => {
        let calls = 0;
        const check: MeshConfigCheck = () => {
            calls++;
            return [];
        };
        validateMeshConfig({ clusters: [{ name: "a", role: "remote" }] }, [check]);
        validateMeshConfig({ clusters: "nope" }, [check]);
        assert.equal(calls, 0);
    });

    it("does not mutate its input", () => {
        const raw = withGateway(base(), 0, { serviceType: "NodePort", address: "10.0.0.11", nodePort: "31674" });
        const copy = structuredClone(raw);
        validateMeshConfig(raw);
        assert.deepEqual(raw, copy);
    });
});

describe("helpers", () => {
    it("formats paths the way pulumi config --path reads them", () => {
        assert.equal(formatPath(["clusters", 1, "eastWestGateway", "address"]), "clusters[1].eastWestGateway.address");
        assert.equal(formatPath(["kubeconfigs", "eu-west"]), "kubeconfigs.eu-west");
        assert.equal(formatPath(["a", "x.io/y"]), 'a["x.io/y"]');
    });

    it("finds likely typos only", () => {
        assert.equal(closest("netwrok", ["name", "network", "role"]), "network");
        assert.equal(closest("zzzzzz", ["name", "network", "role"]), undefined);
    });

    it("knows loopback hosts", () => {
        for (const h of [
            "127.0.0.1",
            "127.255.0.9",
            "localhost",
            "api.localhost",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ]) {
            assert.ok(isLoopbackHost(h), h);
        }
        for (const h of ["10.0.0.1", "128.0.0.1", "example.com", "::2", "localhost.example.com"]) {
            assert.ok(!isLoopbackHost(h), h);
        }
    });
});
