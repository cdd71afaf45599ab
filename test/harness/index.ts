/**
 * The shared offline test harness: runs a Pulumi program under `pulumi.runtime.setMocks` and
 * records every registration with what the engine would see (parent, provider, dependencies,
 * options, inputs with secrets unwrapped).
 *
 * Mock answers, in short (details in tls.ts and kubernetes.ts):
 * - `tls:` resources: real keys and certificates (node:crypto + @peculiar/x509).
 * - `kubernetes:helm.sh/v3:Release`: inputs plus a `deployed` status.
 * - `kubernetes:core/v1:Service` `istio-system/istio-eastwestgateway` (read or created):
 *   `status.loadBalancer.ingress` from `gatewayAddresses[cluster]`, default {@link defaultGatewayAddress}.
 * - `kubernetes:core/v1:Secret` of type `kubernetes.io/service-account-token` (created, or read
 *   back): `data.token`, `data["ca.crt"]`, `data.namespace` as the token controller fills them.
 * - `command:local:Command`: `stdout` from `commandStdout` (never executed).
 * - remote components (helm v4 Chart, yaml v2): no children (`resources: []`).
 * - everything else echoes its inputs.
 * - Outputs named in `additionalSecretOutputs` come back secret, as the engine makes them.
 * - Invokes: `kubernetes:yaml:decode` (js-yaml), `tls:index/getPublicKey:getPublicKey`; any
 *   other invoke fails with its token named (there is no helm binary for `kubernetes:helm:template`).
 */
import * as path from "node:path";
import { mock } from "node:test";

import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import * as k8s from "./kubernetes";
import * as tls from "./tls";
import { MockOptions, RecordedResource } from "./types";

export { MockOptions, RecordedResource } from "./types";
export { validateKubernetesObjects } from "./schema";
export { defaultGatewayAddress } from "./kubernetes";

/** The Pulumi project every mocked run uses (and therefore the config namespace). */
export const MOCK_PROJECT = "istio-multicluster";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const SECRET_SIG_KEY: string = pulumi.runtime.specialSigKey;
const SECRET_SIG: string = pulumi.runtime.specialSecretSig;

function secretWrap(value: unknown): Record<string, unknown> {
    return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

function isSecretWrapped(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Any)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Removes every secret sentinel, at any depth. */
function unwrapDeep(value: unknown): unknown {
    if (isSecretWrapped(value)) {
        return unwrapDeep(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapDeep);
    }
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapDeep(v)]));
    }
    return value;
}

function unwrapInputs(raw: Record<string, unknown>): { inputs: Record<string, Any>; secretPaths: string[] } {
    const inputs: Record<string, Any> = {};
    const secretPaths: string[] = [];
    for (const [key, value] of Object.entries(raw)) {
        if (isSecretWrapped(value)) {
            secretPaths.push(key);
        }
        inputs[key] = unwrapDeep(value);
    }
    return { inputs, secretPaths: secretPaths.sort() };
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` → name. */
function urnName(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

function providerInfo(type: string, provider: string): Pick<RecordedResource, "providerName" | "cluster"> {
    if (!provider) {
        return {};
    }
    // "<urn>::<id>": the URN itself contains "::", the id is the last part.
    const urn = provider.slice(0, provider.lastIndexOf("::"));
    const providerName = urnName(urn);
    const isK8s = type.startsWith("kubernetes:") && urn.includes("pulumi:providers:kubernetes::");
    return isK8s && providerName.endsWith("-k8s")
        ? { providerName, cluster: providerName.slice(0, -"-k8s".length) }
        : { providerName };
}

function sourcePositionOf(req: Any): RecordedResource["sourcePosition"] {
    const pos = req.getSourceposition();
    return pos ? { uri: pos.getUri(), line: pos.getLine() } : undefined;
}

/* Run state. One run at a time: Pulumi's runtime state is process-global. */
let records: RecordedResource[] = [];
let options: MockOptions = {};
let current: RecordedResource | undefined;
let outstanding = 0;
let mockErrors: Error[] = [];
let running = false;

const EAST_WEST = { namespace: "istio-system", name: "istio-eastwestgateway" };

function isEastWestService(type: string, meta: { name?: string; namespace?: string }): boolean {
    return (
        type === "kubernetes:core/v1:Service" && meta.name === EAST_WEST.name && meta.namespace === EAST_WEST.namespace
    );
}

/** The mocked state of a Kubernetes object that is read with `.get()`. */
async function readKubernetesState(rec: RecordedResource): Promise<Record<string, unknown>> {
    const meta = k8s.parseReadId(rec.readId ?? "");
    const [, groupVersion, kind] = rec.type.split(":");
    const [group, version] = groupVersion.split("/");
    const base = {
        ...rec.inputs,
        apiVersion: group === "core" ? version : `${group}/${version}`,
        kind,
        metadata: { ...(rec.inputs.metadata ?? {}), ...meta },
    };
    const cluster = rec.cluster ?? "";
    if (isEastWestService(rec.type, meta)) {
        return {
            ...base,
            spec: { type: "LoadBalancer" },
            status: { loadBalancer: k8s.gatewayLoadBalancer(cluster, options) },
        };
    }
    if (rec.type === "kubernetes:core/v1:Secret") {
        // Reading back a Secret the program created in the same cluster returns what the cluster holds.
        const created = records.find(
            (r) =>
                r.type === rec.type &&
                !r.readId &&
                r.cluster === rec.cluster &&
                r.inputs.metadata?.name === meta.name &&
                (r.inputs.metadata?.namespace ?? "default") === (meta.namespace ?? "default"),
        );
        const live = created
            ? { ...created.inputs, ...base, metadata: { ...created.inputs.metadata, ...base.metadata } }
            : base;
        const createdIsToken = created?.inputs.type === "kubernetes.io/service-account-token";
        if (createdIsToken || (!created && /-token(-|$)/.test(meta.name ?? ""))) {
            return k8s.withServiceAccountToken(cluster, live);
        }
        return live;
    }
    return base;
}

/** tls answers of earlier runs, for {@link MockOptions.stableTls}: type, name, inputs → state. */
const stableTlsAnswers = new Map<string, Promise<Record<string, unknown>>>();

/** What the mocked provider returns for one registration or read. */
async function answer(rec: RecordedResource): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
    const { type, name, inputs } = rec;
    if (!rec.custom) {
        return { id: undefined, state: rec.remote ? { ...inputs, resources: [] } : {} };
    }
    if (type.startsWith("pulumi:providers:")) {
        return { id: `${name}-id`, state: inputs };
    }
    if (options.stableTls && type.startsWith("tls:")) {
        const key = JSON.stringify([type, name, inputs]);
        if (!stableTlsAnswers.has(key)) stableTlsAnswers.set(key, answerTls(type, name, inputs));
        return { id: `${name}-id`, state: await stableTlsAnswers.get(key)! };
    }
    if (type.startsWith("tls:")) {
        return { id: `${name}-id`, state: await answerTls(type, name, inputs) };
    }
    switch (type) {
        case "command:local:Command":
            return {
                id: `${name}-id`,
                state: { ...inputs, stdout: options.commandStdout?.({ name, inputs }) ?? "", stderr: "" },
            };
        case "kubernetes:helm.sh/v3:Release":
            return { id: `${name}-id`, state: k8s.helmReleaseState(name, inputs) };
    }
    if (type.startsWith("kubernetes:")) {
        if (rec.readId !== undefined) {
            return { id: rec.readId, state: await readKubernetesState(rec) };
        }
        const id = k8s.kubernetesId(name, inputs);
        const cluster = rec.cluster ?? "";
        if (type === "kubernetes:core/v1:Secret" && inputs.type === "kubernetes.io/service-account-token") {
            return { id, state: k8s.withUid(cluster, id, await k8s.withServiceAccountToken(cluster, inputs)) };
        }
        if (type === "kubernetes:core/v1:Secret") {
            return { id, state: k8s.withUid(cluster, id, inputs) };
        }
        if (isEastWestService(type, inputs.metadata ?? {}) && (inputs.spec?.type ?? "ClusterIP") === "LoadBalancer") {
            return { id, state: { ...inputs, status: { loadBalancer: k8s.gatewayLoadBalancer(cluster, options) } } };
        }
        return { id, state: inputs };
    }
    if (type === "pulumi-nodejs:dynamic:Resource" && typeof inputs.boundSecretName === "string") {
        return {
            id: `${name}-id`,
            state: await k8s.tokenRequestState(
                inputs,
                options.now ?? MOCK_EPOCH,
                options.previousTokenRequests?.[name],
                options.preview ?? false,
            ),
        };
    }
    return { id: rec.readId ?? `${name}-id`, state: inputs };
}

/** Default {@link MockOptions.now}. */
const MOCK_EPOCH = new Date("2026-01-01T00:00:00Z");

async function answerTls(type: string, name: string, inputs: Record<string, Any>): Promise<Record<string, unknown>> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return tls.privateKeyState(name, inputs);
        case "tls:index/selfSignedCert:SelfSignedCert":
            return tls.selfSignedCertState(name, inputs);
        case "tls:index/certRequest:CertRequest":
            return tls.certRequestState(name, inputs);
        case "tls:index/locallySignedCert:LocallySignedCert":
            return tls.locallySignedCertState(name, inputs);
    }
    return inputs;
}

const mocks: pulumi.runtime.Mocks = {
    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        // The monitor wrapper sets `current` right before the mock monitor calls this synchronously.
        const rec = current;
        current = undefined;
        if (!rec || rec.type !== args.type || rec.name !== args.name) {
            throw new Error(`harness: registration of ${args.type} ${args.name} was not recorded`);
        }
        try {
            const delay = options.latency?.(rec.type) ?? 0;
            if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
            const { id, state } = await answer(rec);
            const secretOutputs = new Set(rec.additionalSecretOutputs);
            if (rec.type === "kubernetes:core/v1:Secret") {
                secretOutputs.add("data").add("stringData");
            }
            const wrapped = Object.fromEntries(
                Object.entries(state).map(([k, v]) => [k, secretOutputs.has(k) && v !== undefined ? secretWrap(v) : v]),
            );
            return { id, state: wrapped };
        } catch (err) {
            // Recorded and rethrown by runUnderMocks. Failing the registration itself would only
            // surface as an unhandled rejection inside the SDK, detached from the test.
            mockErrors.push(new Error(`mock ${rec.type} ${rec.name}: ${(err as Error).message}`));
            return { id: `${rec.name}-failed`, state: {} };
        }
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const inputs = unwrapDeep(args.inputs) as Record<string, Any>;
        switch (args.token) {
            case "kubernetes:yaml:decode":
                return { result: yaml.loadAll(String(inputs.text ?? "")) };
            case "tls:index/getPublicKey:getPublicKey":
                return tls.getPublicKeyResult(inputs);
        }
        mockErrors.push(new Error(`harness: no mock for invoke ${args.token}`));
        return {};
    },
};

function record(rec: RecordedResource): void {
    records.push(rec);
    current = rec;
    outstanding++;
}

function instrumentMonitor(): void {
    const monitor = pulumi.runtime.getMonitor() as Any;
    const register = monitor.registerResource.bind(monitor);
    const read = monitor.readResource.bind(monitor);

    monitor.registerResource = (req: Any, callback: Any) => {
        const type: string = req.getType();
        const provider: string = req.getProvider();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((v: Any, k: string) => {
            propertyDependencies[k] = v.getUrnsList();
        });
        const rec: RecordedResource = {
            type,
            name: req.getName(),
            urn: "",
            parent: req.getParent(),
            custom: req.getCustom(),
            remote: req.getRemote(),
            provider,
            ...providerInfo(type, provider),
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            ...unwrapInputs(pulumi.runtime.deserializeProperties(req.getObject())),
            protect: req.getProtect() === true,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            ignoreChanges: req.getIgnorechangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace() === true,
            retainOnDelete: req.getRetainondelete() === true,
            sourcePosition: sourcePositionOf(req),
        };
        record(rec);
        return register(req, (err: Any, resp: Any) => {
            outstanding--;
            if (resp) {
                rec.urn = resp.getUrn();
            }
            callback(err, resp);
        });
    };

    monitor.readResource = (req: Any, callback: Any) => {
        const type: string = req.getType();
        const provider: string = req.getProvider();
        const rec: RecordedResource = {
            type,
            name: req.getName(),
            urn: "",
            parent: req.getParent(),
            custom: true,
            remote: false,
            provider,
            ...providerInfo(type, provider),
            dependencies: req.getDependenciesList(),
            propertyDependencies: {},
            ...unwrapInputs(pulumi.runtime.deserializeProperties(req.getProperties())),
            protect: false,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            ignoreChanges: [],
            deleteBeforeReplace: false,
            retainOnDelete: false,
            readId: req.getId(),
            sourcePosition: sourcePositionOf(req),
        };
        record(rec);
        return read(req, (err: Any, resp: Any) => {
            outstanding--;
            if (resp) {
                rec.urn = resp.getUrn();
            }
            callback(err, resp);
        });
    };
}

function setConfig(opts: MockOptions): void {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        if (value !== undefined) {
            config[`${MOCK_PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    pulumi.runtime.setAllConfig(
        config,
        (opts.secretConfigKeys ?? []).map((k) => `${MOCK_PROJECT}:${k}`),
    );
}

const SETTLE_TIMEOUT_MS = 120_000;

/** Waits until no registration is in flight and none was started by the last round of callbacks. */
async function settle(): Promise<void> {
    const waitForRPCs: () => Promise<void> = (pulumi.runtime as Any).waitForRPCs;
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let stableRounds = 0;
    while (stableRounds < 3) {
        if (Date.now() > deadline) {
            throw new Error(`runUnderMocks: registrations did not finish within ${SETTLE_TIMEOUT_MS} ms`);
        }
        const before = records.length;
        await waitForRPCs();
        await new Promise((resolve) => setImmediate(resolve));
        stableRounds = records.length === before && outstanding === 0 ? stableRounds + 1 : 0;
    }
}

/**
 * Runs `program` under mocks and returns its result and every recorded registration, after all
 * registrations (including those made inside `apply`) have completed. Callable several times in
 * one test file (not concurrently): each call resets the recorder, the mocks and the config.
 * Rejects with the mock's message if any registration or invoke failed.
 */
export async function runUnderMocks<T>(
    program: () => T | Promise<T>,
    opts: MockOptions = {},
): Promise<{ result: T; resources: RecordedResource[] }> {
    if (running) {
        throw new Error("runUnderMocks: another run is in progress (Pulumi's runtime state is global)");
    }
    running = true;
    // The SDK captures a stack trace for every promise it makes, for leak diagnostics that tests
    // never read; formatting them (through source maps, as tsx enables them) was a third of a
    // run's time. So errors raised during a run carry their message but no frames; set
    // MESH_TEST_STACKS=1 to keep full, source-mapped stacks while debugging a test.
    const keepStacks = process.env.MESH_TEST_STACKS === "1";
    const sourceMaps = process.sourceMapsEnabled;
    const stackTraceLimit = Error.stackTraceLimit;
    if (!keepStacks) {
        process.setSourceMapsEnabled(false);
        Error.stackTraceLimit = 0;
    }
    try {
        records = [];
        options = opts;
        current = undefined;
        outstanding = 0;
        mockErrors = [];
        tls.resetKeyAssignments(opts.stableTls ?? false);
        // One clock for the program and the mocked providers, as on one machine: the program's own
        // reading of the time (a token's registration) must agree with the provider's check.
        if (opts.previousTokenRequests && !opts.now) {
            // Without it the mocked check would stamp the mock epoch and the program read the real
            // clock, and no renewal could ever count as this run's.
            throw new Error("runUnderMocks: previousTokenRequests needs now (the run's clock)");
        }
        if (opts.now) mock.timers.enable({ apis: ["Date"], now: opts.now });
        setConfig(opts);
        await pulumi.runtime.setMocks(mocks, MOCK_PROJECT, opts.stack ?? "test", opts.preview ?? false);
        instrumentMonitor();
        let result: T;
        try {
            result = await program();
            await settle();
        } catch (err) {
            // A mock failure is the root cause of whatever the program tripped over afterwards.
            throw mockErrors[0] ?? err;
        }
        if (mockErrors.length > 0) {
            throw mockErrors[0];
        }
        return { result, resources: [...records] };
    } finally {
        if (opts.now) mock.timers.reset();
        process.setSourceMapsEnabled(sourceMaps);
        Error.stackTraceLimit = stackTraceLimit;
        running = false;
    }
}

/** All recorded resources of one type token. */
export function ofType(resources: RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

/** The recorded resource with this type and Pulumi name; throws (listing what exists) if absent. */
export function find(resources: RecordedResource[], type: string, name: string): RecordedResource {
    const matches = resources.filter((r) => r.type === type && r.name === name);
    if (matches.length === 0) {
        const names = ofType(resources, type).map((r) => r.name);
        throw new Error(`no ${type} named ${name}; recorded: ${names.length ? names.join(", ") : "none of that type"}`);
    }
    return matches[0];
}

/**
 * True when `a` waits for `b` during deployment: a path over `dependencies` and
 * `propertyDependencies`, where a dependency on a component counts as a dependency on all its
 * descendants (as the engine treats it). Reads count as resources too.
 */
export function dependsOn(resources: RecordedResource[], a: RecordedResource, b: RecordedResource): boolean {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, RecordedResource[]>();
    for (const r of resources) {
        if (r.parent) {
            children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
        }
    }
    const edges = (r: RecordedResource): string[] => {
        const direct = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
        return [...new Set(direct)];
    };
    const visited = new Set<string>();
    const queue: string[] = [...edges(a)];
    while (queue.length > 0) {
        const urn = queue.shift()!;
        if (visited.has(urn)) {
            continue;
        }
        visited.add(urn);
        if (urn === b.urn) {
            return true;
        }
        const r = byUrn.get(urn);
        if (!r) {
            continue;
        }
        queue.push(...edges(r));
        if (!r.custom) {
            queue.push(...(children.get(urn) ?? []).map((c) => c.urn));
        }
    }
    return false;
}

/** Resolves an Output; rejects (instead of hanging) when its value is unknown, e.g. in a preview. */
export async function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    // No pulumi.output() copy for an Output: the copy's own promises would reject unobserved.
    const out = (pulumi.Output.isInstance(o) ? o : pulumi.output(o)) as unknown as {
        isKnown: Promise<boolean>;
        promise(): Promise<T>;
    };
    const [known, value] = await Promise.all([out.isKnown, out.promise()]);
    if (!known) {
        throw new Error("promiseOf: the output is unknown (a preview, or a value the mocks did not provide)");
    }
    return value;
}

/**
 * Evaluates the program (index.ts) and returns its exports; call it as `runUnderMocks`'s program.
 * Always a fresh evaluation: `npm test` runs many test files in one process, and another may
 * already have loaded the program, whose registrations happen only while its module first runs.
 */
export function evaluateProgram(): Record<string, unknown> {
    const entry = require.resolve(path.join(__dirname, "..", "..", "index"));
    delete require.cache[entry];
    return require(entry) as Record<string, unknown>; // eslint-disable-line @typescript-eslint/no-require-imports
}
