/**
 * Mock answers for the Kubernetes objects whose provider output the program reads: what the API
 * server and its controllers would have filled in.
 */
import * as crypto from "node:crypto";
import { clusterCaPem } from "./tls";
import {
    ReaderTokenRequestInputs,
    ReaderTokenRequestOutputs,
    checkReaderTokenRequest,
    diffReaderTokenRequest,
    keptTokenOutputs,
    updateMintsToken,
} from "../../components/remote-secrets/token-request";
import { MockOptions } from "./types";

type State = Record<string, unknown>;
type Meta = { name?: string; namespace?: string };

/**
 * The default load-balancer address of a cluster's east-west gateway: an address from TEST-NET-1
 * (192.0.2.0/24, RFC 5737). A trailing number in the cluster name is used as the last octet
 * (`cluster2` → 192.0.2.2) so tests read naturally; other names get a stable hash.
 */
export function defaultGatewayAddress(cluster: string): string {
    const trailing = /(\d+)$/.exec(cluster);
    if (trailing && Number(trailing[1]) >= 1 && Number(trailing[1]) <= 254) {
        return `192.0.2.${Number(trailing[1])}`;
    }
    const hash = crypto.createHash("sha256").update(cluster).digest();
    return `192.0.2.${1 + (hash.readUInt16BE(0) % 254)}`;
}

/** `status.loadBalancer` of the east-west gateway Service in `cluster`. */
export function gatewayLoadBalancer(cluster: string, options: MockOptions): State {
    const configured = options.gatewayAddresses?.[cluster];
    const address = configured ?? { ip: defaultGatewayAddress(cluster) };
    const ingress = [address].filter((a) => a.ip || a.hostname).map((a) => ({ ...a }));
    return ingress.length > 0 ? { ingress } : {};
}

function b64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}

/**
 * A token issued by `cluster`'s API server with these claims. It is shaped like a JWT so that code
 * splitting it or reading its claims does not break, but its signature is not valid.
 */
function mockJwt(cluster: string, claims: object): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const signature = Buffer.from(`mock-signature-${cluster}`).toString("base64url");
    return `${part({ alg: "RS256", kid: `mock-${cluster}` })}.${part(claims)}.${signature}`;
}

/** A token as the token controller would put it into a service-account-token Secret. */
function serviceAccountToken(cluster: string, namespace: string, secretName: string, serviceAccount: string): string {
    return mockJwt(cluster, {
        iss: "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secretName,
        "kubernetes.io/serviceaccount/service-account.name": serviceAccount,
        sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    });
}

/** `metadata.uid` as the API server assigns it: stable per cluster and object, so runs compare. */
export function withUid(cluster: string, id: string, state: State): State {
    const metadata = (state.metadata ?? {}) as Meta;
    const hex = crypto.createHash("sha256").update(`${cluster}/${id}`).digest("hex");
    const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    return { ...state, metadata: { ...metadata, uid } };
}

/**
 * What the engine answers a reader token's registration with, step by step as Pulumi 3.248 drives
 * a dynamic provider (`pkg/resource/deploy/step_generator.go`, `step.go`): the provider's check of
 * the inputs against the recorded ones, then
 * - no recorded state: create, which mints;
 * - a replacement: the engine checks the inputs again without the recorded ones, then creates;
 * - an update: the provider's update;
 * - no change: the recorded outputs, exactly as an earlier run left them.
 * A dynamic provider has no preview of its own: in a preview the engine answers a create or an
 * update with the checked inputs, so the token, its expiry and CA are unknown to the program.
 * A mint is the TokenRequest answer an API server would give: a JWT-shaped token bound to the
 * anchor Secret, expiring `ttlSeconds` after `now`, and the cluster's CA from `kube-root-ca.crt`.
 */
export async function tokenRequestState(inputs: State, now: Date, previous?: State, preview = false): Promise<State> {
    const news = inputs as unknown as ReaderTokenRequestInputs;
    const olds = previous as unknown as ReaderTokenRequestOutputs | undefined;
    const checked = checkReaderTokenRequest(olds, news, now);
    const created = (planned: ReaderTokenRequestInputs) => (preview ? { ...planned } : mintedState(planned, now));
    if (!olds) return created(checked);
    const diff = diffReaderTokenRequest(olds, checked);
    if (diff.replaces.length > 0) return created(checkReaderTokenRequest(undefined, news, now));
    if (!diff.changes) return previous!;
    if (preview) return { ...checked };
    return updateMintsToken(olds, checked) ? mintedState(checked, now) : { ...keptTokenOutputs(olds, checked) };
}

async function mintedState(checked: ReaderTokenRequestInputs, now: Date): Promise<State> {
    const exp = Math.floor(now.getTime() / 1000) + checked.ttlSeconds;
    const token = mockJwt(checked.cluster, {
        iss: "https://kubernetes.default.svc",
        exp,
        iat: Math.floor(now.getTime() / 1000),
        sub: `system:serviceaccount:${checked.namespace}:${checked.serviceAccount}`,
        "kubernetes.io": {
            namespace: checked.namespace,
            serviceaccount: { name: checked.serviceAccount },
            secret: { name: checked.boundSecretName, uid: checked.boundSecretUid },
        },
    });
    return {
        ...checked,
        token,
        expiresAt: new Date(exp * 1000).toISOString(),
        caData: b64(await clusterCaPem(checked.cluster)),
    };
}

/** Fills `data.token`, `data["ca.crt"]` and `data.namespace` of a service-account-token Secret. */
export async function withServiceAccountToken(cluster: string, state: State): Promise<State> {
    const metadata = (state.metadata ?? {}) as Meta & { annotations?: Record<string, string> };
    const namespace = metadata.namespace ?? "default";
    const name = metadata.name ?? "";
    const serviceAccount =
        metadata.annotations?.["kubernetes.io/service-account.name"] ?? name.replace(/-token.*$/, "");
    return {
        ...state,
        type: "kubernetes.io/service-account-token",
        data: {
            ...((state.data as State | undefined) ?? {}),
            token: b64(serviceAccountToken(cluster, namespace, name, serviceAccount)),
            "ca.crt": b64(await clusterCaPem(cluster)),
            namespace: b64(namespace),
        },
    };
}

/** Splits a Kubernetes read id (`namespace/name` or `name`). */
export function parseReadId(id: string): Meta {
    const slash = id.indexOf("/");
    return slash < 0 ? { name: id } : { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** The provider's id of a Kubernetes object: `namespace/name`, or `name` when cluster-scoped. */
export function kubernetesId(name: string, inputs: State): string {
    const metadata = (inputs.metadata ?? {}) as Meta;
    const objectName = metadata.name ?? name;
    return metadata.namespace ? `${metadata.namespace}/${objectName}` : objectName;
}

/** The `status` the helm provider reports for a deployed `helm.v3.Release`. */
export function helmReleaseState(name: string, inputs: State): State {
    return {
        ...inputs,
        status: {
            name: inputs.name ?? name,
            namespace: inputs.namespace ?? "default",
            chart: inputs.chart,
            version: inputs.version,
            status: "deployed",
            revision: 1,
        },
    };
}
