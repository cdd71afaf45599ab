/**
 * Hand-built stacks for the policy tests: a real two-level PKI (root + per-cluster intermediates,
 * ECDSA P-256 so generation is instant) and resource graphs shaped like the program's, for any
 * mix of primaries, remotes and networks.
 */
import "reflect-metadata";
import * as crypto from "node:crypto";
import * as x509 from "@peculiar/x509";
import * as yaml from "js-yaml";
import { FakeResource, k8sProvider, urnOf } from "./policy-driver";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

export interface Issued {
    certPem: string;
    keyPem: string;
}

export interface Pki {
    root: Issued;
    /** An intermediate CA for `cluster` signed by the root (`ca: false`: a leaf certificate instead). */
    intermediate(cluster: string, opts?: { ca?: boolean }): Promise<Issued>;
    /** A CA for `cluster` one level deeper: root → `middle` → `ca`. */
    deeperIntermediate(cluster: string): Promise<{ middle: Issued; ca: Issued }>;
}

async function keyPem(key: crypto.webcrypto.CryptoKey): Promise<string> {
    const der = Buffer.from(await crypto.webcrypto.subtle.exportKey("pkcs8", key));
    return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`;
}

/** A root CA and a factory of intermediates signed by it. */
export async function makePki(rootDays = 3650, intermediateDays = 730): Promise<Pki> {
    const rootKeys = (await crypto.webcrypto.subtle.generateKey(EC, true, [
        "sign",
        "verify",
    ])) as crypto.webcrypto.CryptoKeyPair;
    const now = Date.now();
    const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01",
        name: "O=Istio, CN=Root CA",
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + rootDays * DAY),
        keys: rootKeys,
        signingAlgorithm: EC,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ],
    });
    const root = { certPem: rootCert.toString("pem") + "\n", keyPem: await keyPem(rootKeys.privateKey) };
    let serial = 2;
    /** A certificate for `subject` signed by `issuer` (the root, or another CA of this PKI). */
    const issue = async (
        subject: string,
        issuer: { subject: string; key: crypto.webcrypto.CryptoKey },
        ca: boolean,
        pathLength?: number,
    ) => {
        const keys = (await crypto.webcrypto.subtle.generateKey(EC, true, [
            "sign",
            "verify",
        ])) as crypto.webcrypto.CryptoKeyPair;
        const cert = await x509.X509CertificateGenerator.create({
            serialNumber: (serial++).toString(16).padStart(2, "0"),
            subject,
            issuer: issuer.subject,
            notBefore: new Date(now - DAY),
            notAfter: new Date(now + intermediateDays * DAY),
            publicKey: keys.publicKey,
            signingKey: issuer.key,
            signingAlgorithm: EC,
            extensions: [
                new x509.BasicConstraintsExtension(ca, ca ? pathLength : undefined, true),
                new x509.KeyUsagesExtension(
                    ca
                        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
                        : x509.KeyUsageFlags.digitalSignature,
                    true,
                ),
            ],
        });
        const issued = { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) };
        return { issued, signer: { subject, key: keys.privateKey } };
    };
    const rootSigner = { subject: rootCert.subject, key: rootKeys.privateKey };
    return {
        root,
        intermediate: async (cluster: string, opts: { ca?: boolean } = {}) =>
            (await issue(`O=Istio, CN=Intermediate CA, L=${cluster}`, rootSigner, opts.ca ?? true, 0)).issued,
        deeperIntermediate: async (cluster: string) => {
            const middle = await issue(`O=Istio, CN=Regional CA, L=${cluster}`, rootSigner, true, 1);
            const ca = await issue(`O=Istio, CN=Intermediate CA, L=${cluster}`, middle.signer, true, 0);
            return { middle: middle.issued, ca: ca.issued };
        },
    };
}

/** `stringData` of a correct cacerts Secret. */
export function cacertsData(pki: Pki, intermediate: Issued): Record<string, string> {
    return {
        "ca-cert.pem": intermediate.certPem,
        "ca-key.pem": intermediate.keyPem,
        "root-cert.pem": pki.root.certPem,
        "cert-chain.pem": intermediate.certPem + pki.root.certPem,
    };
}

export function secret(
    cluster: string,
    name: string,
    stringData: Record<string, unknown>,
    extra: { labels?: Record<string, string>; pulumiName?: string } = {},
): FakeResource {
    return {
        type: "kubernetes:core/v1:Secret",
        name: extra.pulumiName ?? `${cluster}-${name}`,
        provider: k8sProvider(cluster),
        props: {
            metadata: { name, namespace: "istio-system", ...(extra.labels ? { labels: extra.labels } : {}) },
            type: "Opaque",
            stringData,
        },
        secretKeys: ["stringData"],
    };
}

/** A kubeconfig as the program renders it (js-yaml), with a bearer token unless `user` says otherwise. */
export function kubeconfig(
    source: string,
    opts: { server?: string; user?: Record<string, unknown>; cluster?: Record<string, unknown> } = {},
): string {
    return yaml.dump(
        {
            apiVersion: "v1",
            kind: "Config",
            clusters: [
                {
                    name: source,
                    cluster: {
                        server: opts.server ?? `https://${source}.example.test:6443`,
                        "certificate-authority-data": "Q0E=",
                        ...(opts.cluster ?? {}),
                    },
                },
            ],
            users: [{ name: source, user: opts.user ?? { token: `eyJ.${source}.sig` } }],
            contexts: [{ name: source, context: { cluster: source, user: source } }],
            "current-context": source,
        },
        { lineWidth: -1 },
    );
}

/** A remote secret in `holder` with one key per source (data base64, as the program writes it). */
export function remoteSecret(holder: string, sources: Record<string, string>, objectName?: string): FakeResource {
    const names = Object.keys(sources);
    const name = objectName ?? (names.length === 1 ? `istio-remote-secret-${names[0]}` : "istio-remote-secrets");
    return {
        type: "kubernetes:core/v1:Secret",
        name: `${holder}-remote-secret-${names.join("-")}`,
        provider: k8sProvider(holder),
        props: {
            metadata: { name, namespace: "istio-system", labels: { "istio/multiCluster": "true" } },
            type: "Opaque",
            data: Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
        },
        secretKeys: ["data"],
    };
}

export function providerResource(cluster: string, props: Record<string, unknown> = {}): FakeResource {
    return { type: "pulumi:providers:kubernetes", name: `${cluster}-k8s`, props };
}

export function release(
    cluster: string,
    chart: "base" | "istiod" | "gateway",
    values: Record<string, unknown>,
    opts: { version?: string; name?: string } = {},
): FakeResource {
    const releaseName = opts.name ?? { base: "istio-base", istiod: "istiod", gateway: "istio-eastwestgateway" }[chart];
    return {
        type: "kubernetes:helm.sh/v3:Release",
        name: `${cluster}-${releaseName}`,
        provider: k8sProvider(cluster),
        props: {
            name: releaseName,
            chart,
            version: "version" in opts ? opts.version : "1.30.3",
            namespace: "istio-system",
            repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
            values,
        },
    };
}

export function istioObject(cluster: string, kind: "Gateway" | "VirtualService", name: string): FakeResource {
    return {
        type: `kubernetes:networking.istio.io/v1:${kind}`,
        name: `${cluster}-${name}`,
        provider: k8sProvider(cluster),
        props: {
            apiVersion: "networking.istio.io/v1",
            kind,
            metadata: { name, namespace: "istio-system" },
            spec: {},
        },
    };
}

export function namespace(cluster: string, network: string, controlPlane?: string): FakeResource {
    return {
        type: "kubernetes:core/v1:Namespace",
        name: `${cluster}-istio-system`,
        provider: k8sProvider(cluster),
        props: {
            metadata: {
                name: "istio-system",
                labels: { "topology.istio.io/network": network },
                ...(controlPlane ? { annotations: { "topology.istio.io/controlPlaneClusters": controlPlane } } : {}),
            },
        },
    };
}

/** The east-west gateway Service as read back (`.get()`), with its load-balancer address. */
export function gatewayService(cluster: string, ip: string): FakeResource {
    return {
        type: "kubernetes:core/v1:Service",
        name: `${cluster}-eastwest-service`,
        provider: k8sProvider(cluster),
        props: {
            metadata: { name: "istio-eastwestgateway", namespace: "istio-system" },
            status: { loadBalancer: { ingress: [{ ip }] } },
        },
    };
}

export interface ClusterSpec {
    name: string;
    network: string;
    role: "primary" | "remote";
    /** For a remote: its primary (default: the only primary). */
    controlPlane?: string;
    serviceType?: "LoadBalancer" | "NodePort";
}

export function gatewayIp(cluster: string, clusters: readonly ClusterSpec[]): string {
    return `192.0.2.${clusters.findIndex((c) => c.name === cluster) + 10}`;
}

/**
 * A correct mesh in the program's shape (Istio's install guides): per cluster a provider,
 * istio-system namespace, cacerts (primaries), base + istiod, east-west gateway where needed,
 * exposure objects, remote secrets from every primary for every other cluster.
 */
let sharedPki: Promise<Pki> | undefined;

export async function meshStack(clusters: ClusterSpec[], pki?: Pki): Promise<FakeResource[]> {
    // One PKI for all stacks of a test file unless the test brings its own.
    const ca = pki ?? (await (sharedPki ??= makePki()));
    const primaries = clusters.filter((c) => c.role === "primary");
    const multiNetwork = new Set(clusters.map((c) => c.network)).size > 1;
    const servingPrimary = (c: ClusterSpec) => (c.role === "primary" ? c.name : (c.controlPlane ?? primaries[0].name));
    const out: FakeResource[] = [];
    for (const c of clusters) {
        const served = clusters.filter((r) => r.role === "remote" && servingPrimary(r) === c.name);
        const needsGateway = multiNetwork || served.length > 0;
        out.push(providerResource(c.name));
        out.push(namespace(c.name, c.network, c.role === "remote" ? servingPrimary(c) : undefined));
        if (c.role === "primary") {
            out.push(secret(c.name, "cacerts", cacertsData(ca, await ca.intermediate(c.name))));
        }
        out.push(release(c.name, "base", c.role === "remote" ? { profile: "remote" } : {}));
        const global: Record<string, unknown> = {
            meshID: "mesh1",
            multiCluster: { clusterName: c.name },
            network: c.network,
        };
        if (c.role === "primary") {
            if (served.length > 0) global.externalIstiod = true;
            out.push(release(c.name, "istiod", { global, meshConfig: { trustDomain: "cluster.local" } }));
        } else {
            global.configCluster = true;
            global.remotePilotAddress = gatewayIp(servingPrimary(c), clusters);
            out.push(
                release(c.name, "istiod", {
                    profile: "remote",
                    global,
                    istiodRemote: { injectionPath: `/inject/cluster/${c.name}/net/${c.network}` },
                }),
            );
        }
        if (needsGateway) {
            out.push(
                release(c.name, "gateway", {
                    name: "istio-eastwestgateway",
                    networkGateway: c.network,
                    service: { type: c.serviceType ?? "LoadBalancer" },
                }),
            );
            out.push(gatewayService(c.name, gatewayIp(c.name, clusters)));
        }
        if (c.role === "primary" && multiNetwork) out.push(istioObject(c.name, "Gateway", "cross-network-gateway"));
        if (served.length > 0) {
            out.push(istioObject(c.name, "Gateway", "istiod-gateway"));
            out.push(istioObject(c.name, "VirtualService", "istiod-vs"));
        }
        if (c.role === "primary") {
            for (const source of clusters) {
                if (source.name !== c.name) out.push(remoteSecret(c.name, { [source.name]: kubeconfig(source.name) }));
            }
        }
    }
    return out;
}

/** The resource with this Pulumi name (throws if absent). */
export function named(resources: FakeResource[], name: string): FakeResource {
    const r = resources.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}; have ${resources.map((x) => x.name).join(", ")}`);
    return r;
}

/** A copy of the stack without the resources whose Pulumi names are given. */
export function without(resources: FakeResource[], ...names: string[]): FakeResource[] {
    for (const n of names) named(resources, n);
    return resources.filter((r) => !names.includes(r.name));
}

/** Resource properties as tests edit them (free-form: a test reaches into any nested value). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EditableProps = Record<string, any>;

/** A deep copy of a resource with `edit` applied to its properties. */
export function edited(r: FakeResource, edit: (props: EditableProps) => void): FakeResource {
    const props = structuredClone(r.props);
    edit(props);
    return { ...r, props };
}

/** The stack with one resource replaced by an edited copy. */
export function withEdited(
    resources: FakeResource[],
    name: string,
    edit: (props: EditableProps) => void,
): FakeResource[] {
    named(resources, name);
    return resources.map((r) => (r.name === name ? edited(r, edit) : r));
}

export { urnOf };
