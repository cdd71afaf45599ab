/**
 * The policy pack started as a process, the way `pulumi preview --policy-pack policies` starts it:
 * `index.ts` must construct the pack, print the analyzer's port and answer the CLI's gRPC calls
 * (GetAnalyzerInfo, ConfigureStack with stack tags, Configure with policy config, Analyze).
 *
 * The CLI itself runs the pack through `@pulumi/pulumi/cmd/run-policy-pack`, which type-checks it
 * with ts-node under the pack's tsconfig; that variant runs when the pack's own dependencies are
 * installed (`npm ci --prefix policies`) and is skipped otherwise.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { policies } from "../../policies/rules";
import { POLICIES_DIR } from "../policy-driver";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const requireHere = createRequire(__filename);
const pulumiDir = path.dirname(requireHere.resolve("@pulumi/pulumi/package.json"));
const load = (id: string): Any => requireHere(requireHere.resolve(id, { paths: [pulumiDir] }));
const grpc: Any = load("@grpc/grpc-js");
const analyzerPb: Any = load("./proto/analyzer_pb");
const analyzerGrpc: Any = load("./proto/analyzer_grpc_pb");
const structPb: Any = load("google-protobuf/google/protobuf/struct_pb");
const emptyPb: Any = load("google-protobuf/google/protobuf/empty_pb");

const STARTUP_TIMEOUT_MS = 60_000;
const children: ChildProcess[] = [];

after(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts the pack and resolves with the port it prints (rejects with its stderr if it exits). */
function startPack(args: string[]): Promise<{ port: number; child: ChildProcess }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, args, { cwd: POLICIES_DIR, stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`no port within ${STARTUP_TIMEOUT_MS} ms; stderr:\n${stderr}`));
        }, STARTUP_TIMEOUT_MS);
        child.stdout!.on("data", (d) => {
            stdout += d;
            const m = /^(\d+)\s*$/m.exec(stdout);
            if (m) {
                clearTimeout(timer);
                resolve({ port: Number(m[1]), child });
            }
        });
        child.stderr!.on("data", (d) => (stderr += d));
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the pack exited with ${code} before printing a port; stderr:\n${stderr}`));
        });
    });
}

function unary(client: Any, method: string, request: Any): Promise<Any> {
    return new Promise((resolve, reject) => {
        client[method](request, (err: unknown, response: Any) => (err ? reject(err) : resolve(response)));
    });
}

function stop(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
    });
}

// Both processes start at once: the ts-node type check dominates, the gRPC round trips hide behind it.
describe("policy pack process", { concurrency: true }, () => {
    it("starts from index.ts, describes its policies and applies stack tags and policy config", async () => {
        const { port, child } = await startPack(["--import", "tsx", "index.ts"]);
        const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            const info = await unary(client, "getAnalyzerInfo", new emptyPb.Empty());
            assert.equal(info.getName(), "istio-multicluster-guardrails");
            const version = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")).version;
            assert.equal(info.getVersion(), version);
            assert.deepEqual(
                info.getPoliciesList().map((p: Any) => p.getName()),
                policies.map((p) => p.name),
            );
            const byName = new Map(info.getPoliciesList().map((p: Any) => [p.getName(), p]));
            const schema = (byName.get("tls-intermediate-lifetime") as Any).getConfigschema().getProperties();
            assert.equal(schema.toJavaScript().maxIntermediateValidityDays.default, 3650);

            // What the CLI sends before analysing: the stack's tags, then the policy config.
            const stackReq = new analyzerPb.AnalyzerStackConfigureRequest();
            stackReq.setStack("prod");
            stackReq.setProject("istio-multicluster");
            stackReq.getTagsMap().set("environment", "production");
            await unary(client, "configureStack", stackReq);
            const configReq = new analyzerPb.ConfigureAnalyzerRequest();
            const lifetime = new analyzerPb.PolicyConfig();
            lifetime.setEnforcementlevel(analyzerPb.EnforcementLevel.MANDATORY);
            lifetime.setProperties(structPb.Struct.fromJavaScript({ maxIntermediateValidityDays: 365 }));
            configReq.getPolicyconfigMap().set("tls-intermediate-lifetime", lifetime);
            await unary(client, "configure", configReq);

            const analyze = async (type: string, name: string, props: object, provider?: string) => {
                const req = new analyzerPb.AnalyzeRequest();
                req.setType(type);
                req.setName(name);
                req.setUrn(`urn:pulumi:prod::istio-multicluster::${type}::${name}`);
                req.setProperties(structPb.Struct.fromJavaScript(props));
                req.setOptions(new analyzerPb.AnalyzerResourceOptions());
                if (provider) {
                    const p = new analyzerPb.AnalyzerProviderResource();
                    p.setType("pulumi:providers:kubernetes");
                    p.setName(provider);
                    p.setUrn(`urn:pulumi:prod::istio-multicluster::pulumi:providers:kubernetes::${provider}`);
                    p.setProperties(structPb.Struct.fromJavaScript({}));
                    req.setProvider(p);
                }
                const res = await unary(client, "analyze", req);
                return res.getDiagnosticsList().map((d: Any) => ({
                    policy: d.getPolicyname(),
                    level: d.getEnforcementlevel(),
                    message: d.getMessage(),
                }));
            };

            const gateway = await analyze(
                "kubernetes:helm.sh/v3:Release",
                "east-istio-eastwestgateway",
                {
                    name: "istio-eastwestgateway",
                    chart: "gateway",
                    version: "1.30.3",
                    values: { name: "istio-eastwestgateway", networkGateway: "n1", service: { type: "NodePort" } },
                },
                "east-k8s",
            );
            assert.deepEqual(
                gateway.map((d: Any) => [d.policy, d.level]),
                [["nodeport-gateway-in-production", analyzerPb.EnforcementLevel.ADVISORY]],
            );

            const intermediate = await analyze("tls:index/locallySignedCert:LocallySignedCert", "east-intermediate", {
                isCaCertificate: true,
                validityPeriodHours: 730 * 24,
                allowedUses: ["cert_signing", "crl_signing"],
            });
            assert.equal(intermediate.length, 1, JSON.stringify(intermediate));
            assert.equal(intermediate[0].policy, "tls-intermediate-lifetime");
            assert.match(intermediate[0].message, /maximum 365 days/);
        } finally {
            client.close();
            await stop(child);
        }
    });

    const runPolicyPack = path.join(POLICIES_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
    const packInstalled = ["ts-node", "typescript"].every((m) =>
        fs.existsSync(path.join(POLICIES_DIR, "node_modules", m)),
    );
    it(
        "starts through the CLI's run-policy-pack, type-checking with ts-node under the pack's tsconfig",
        { skip: fs.existsSync(runPolicyPack) && packInstalled ? false : "run `npm ci --prefix policies` first" },
        async () => {
            // Arguments as the CLI's policy analyzer plugin passes them: engine address, pack directory.
            const { port, child } = await startPack([runPolicyPack, "127.0.0.1:0", "."]);
            assert.ok(port > 0);
            await stop(child);
        },
    );
});
