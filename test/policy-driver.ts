/**
 * Runs the policy pack's policies through @pulumi/policy's own analyzer handlers (the functions
 * its gRPC server serves to the CLI), without the CLI: resources become the same protobuf
 * requests the engine sends, so type filtering, enforcement levels, secret unwrapping and the
 * preview-time unknown-value proxy behave as in `pulumi preview --policy-pack policies`.
 *
 * The handlers, the protobuf classes and `Struct` are all loaded from the copy of @pulumi/policy
 * the pack itself resolves (policies/node_modules when installed, else the root's), so request
 * classes and handler always match.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { Policies } from "@pulumi/policy";
import { RecordedResource } from "./harness";

export const POLICIES_DIR = path.join(__dirname, "..", "policies");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const requireHere = createRequire(__filename);

function load(moduleId: string, fromDir: string): Any {
    return requireHere(requireHere.resolve(moduleId, { paths: [fromDir] }));
}

const policyPkgDir = path.dirname(require.resolve("@pulumi/policy/package.json", { paths: [POLICIES_DIR] }));
const pulumiPkgDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [policyPkgDir] }));
const server: Any = load("./server", policyPkgDir);
const analyzerPb: Any = load("./proto/analyzer_pb", pulumiPkgDir);
const structPb: Any = load("google-protobuf/google/protobuf/struct_pb", pulumiPkgDir);

/** The wire sentinel the engine sends for a string that is unknown during preview. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const STACK = "test";
const PROJECT = "istio-multicluster";

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`;
}

/** A provider reference as the engine attaches it to a request. */
export interface FakeProvider {
    name: string;
    urn?: string;
    type?: string;
    props?: Record<string, unknown>;
}

/** One resource as a policy sees it. */
export interface FakeResource {
    type: string;
    name: string;
    props: Record<string, unknown>;
    urn?: string;
    provider?: FakeProvider;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    /** Top-level property keys to send secret-wrapped, as the engine does for secrets. */
    secretKeys?: string[];
}

/** A k8s provider reference for a cluster, named as the program names it. */
export function k8sProvider(cluster: string): FakeProvider {
    return { name: `${cluster}-k8s` };
}

export interface Diagnostic {
    policyName: string;
    enforcementLevel: "advisory" | "mandatory" | "disabled" | "remediate";
    message: string;
    urn?: string;
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

/** Drops `undefined` (protobuf Struct cannot carry it; the engine omits such keys too). */
function toWire(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v)));
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, toWire(v)]),
        );
    }
    return value;
}

function struct(props: Record<string, unknown>, secretKeys: string[] = []): Any {
    const wire = toWire(props) as Record<string, unknown>;
    for (const key of secretKeys) {
        if (key in wire) wire[key] = { [SECRET_SIG_KEY]: SECRET_SIG, value: wire[key] };
    }
    return structPb.Struct.fromJavaScript(wire);
}

function providerMessage(p: FakeProvider): Any {
    const msg = new analyzerPb.AnalyzerProviderResource();
    msg.setType(p.type ?? "pulumi:providers:kubernetes");
    msg.setName(p.name);
    msg.setUrn(p.urn ?? urnOf(p.type ?? "pulumi:providers:kubernetes", p.name));
    msg.setProperties(struct(p.props ?? {}));
    return msg;
}

function fill(msg: Any, r: FakeResource): Any {
    msg.setType(r.type);
    msg.setName(r.name);
    msg.setUrn(r.urn ?? urnOf(r.type, r.name));
    msg.setProperties(struct(r.props, r.secretKeys));
    msg.setOptions(new analyzerPb.AnalyzerResourceOptions());
    if (r.provider) msg.setProvider(providerMessage(r.provider));
    return msg;
}

function call(fn: Any, request: Any): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) => {
        fn({ request }, (err: unknown, response: Any) => {
            if (err) return reject(err);
            resolve(
                response.getDiagnosticsList().map((d: Any) => ({
                    policyName: d.getPolicyname(),
                    enforcementLevel: LEVELS[d.getEnforcementlevel()],
                    message: d.getMessage(),
                    urn: d.getUrn() || undefined,
                })),
            );
        });
    });
}

/** `Analyze` (one resource's inputs, before it is created or updated). */
export function analyzeResource(r: FakeResource, policies: Policies): Promise<Diagnostic[]> {
    const fn = server.makeAnalyzeRpcFun("istio-multicluster-guardrails", "0.1.0", "mandatory", policies);
    return call(fn, fill(new analyzerPb.AnalyzeRequest(), r));
}

/** Every resource through `Analyze`, diagnostics concatenated. */
export async function analyzeEach(resources: FakeResource[], policies: Policies): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    for (const r of resources) out.push(...(await analyzeResource(r, policies)));
    return out;
}

/** `AnalyzeStack` (the whole stack after preview or update). */
export function analyzeStack(resources: FakeResource[], policies: Policies): Promise<Diagnostic[]> {
    const fn = server.makeAnalyzeStackRpcFun("istio-multicluster-guardrails", "0.1.0", "mandatory", policies);
    const request = new analyzerPb.AnalyzeStackRequest();
    request.setResourcesList(
        resources.map((r) => {
            const msg = fill(new analyzerPb.AnalyzerResource(), r);
            if (r.parent) msg.setParent(r.parent);
            msg.setDependenciesList(r.dependencies ?? []);
            const map = msg.getPropertydependenciesMap();
            for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
                const deps = new analyzerPb.AnalyzerPropertyDependencies();
                deps.setUrnsList(urns);
                map.set(k, deps);
            }
            return msg;
        }),
    );
    return call(fn, request);
}

/**
 * The harness's recorded registrations as policy resources: inputs as properties (secrets sent
 * wrapped, as the engine does), provider reference resolved to the recorded provider resource.
 * A resource on the default provider keeps no provider, as the harness records it.
 */
export function fromRecorded(recorded: RecordedResource[]): FakeResource[] {
    const byUrn = new Map(recorded.map((r) => [r.urn, r]));
    return recorded.map((r) => {
        let provider: FakeProvider | undefined;
        if (r.provider) {
            const providerUrn = r.provider.replace(/::[^:]*$/, "");
            const p = byUrn.get(providerUrn);
            provider = {
                name: r.providerName ?? providerUrn.split("::").pop()!,
                urn: providerUrn,
                type: p?.type ?? "pulumi:providers:kubernetes",
                props: p?.inputs ?? {},
            };
        }
        return {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.inputs,
            provider,
            parent: r.parent || undefined,
            dependencies: r.dependencies,
            propertyDependencies: r.propertyDependencies,
            secretKeys: r.secretPaths,
        };
    });
}

/** Diagnostics of one policy. */
export function of(diags: Diagnostic[], policyName: string): Diagnostic[] {
    return diags.filter((d) => d.policyName === policyName);
}
