/**
 * The post-deploy verification (`verify: true`): Istio's helloworld/curl check, built into `pulumi up`.
 *
 * Every cluster gets the namespace (sidecar injection on), the `helloworld` Service, its own
 * `helloworld-<cluster>` Deployment answering with the cluster's name, and a `curl` client. Then a
 * local command per client cluster runs the probe of `verification-probe.ts`, which fails the update
 * when some cluster never answered. Without `verify`, {@link troubleshootingCommands} still gives the
 * manual checks.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MeshConfig, VerificationConfig } from "../config/config";
import { ClusterPlan, MeshPlan, advertisedGatewayPort, advertisedOnlyInMeshNetworks } from "../plan/mesh-plan";
import { EAST_WEST_GATEWAY, ISTIO_NAMESPACE, LABEL_NETWORK, resourceName } from "../plan/naming";
import {
    CLIENT,
    HELLOWORLD,
    HELLOWORLD_PORT,
    KUBECONFIG_ENV_VAR,
    ProbeKubeconfig,
    ProbeSummary,
    VerdictOptions,
    buildProbeScript,
    contextFlag,
    contextVariable,
    helloworldUrl,
    summarizeProbe,
} from "./verification-probe";

/** Environment variable that carries the probe script into the command. */
export const PROBE_SCRIPT_ENV_VAR = "MESH_VERIFY_PROBE";
/**
 * The command line the Command runs. The script travels in the environment so that a failure
 * reads `running "eval \"$MESH_VERIFY_PROBE\""` followed by the verdict, instead of the whole script.
 */
export const PROBE_COMMAND = `eval "$${PROBE_SCRIPT_ENV_VAR}"`;

/** The injection label: `istio.io/rev=<revision>` with a revision, else `istio-injection=enabled`. */
export function injectionLabels(revision?: string): Record<string, string> {
    return revision ? { "istio.io/rev": revision } : { "istio-injection": "enabled" };
}

/** The verification namespace, labelled for sidecar injection. */
export function verificationNamespaceManifest(
    verification: VerificationConfig,
    revision?: string,
): k8s.types.input.core.v1.Namespace {
    return {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: verification.namespace, labels: injectionLabels(revision) },
    };
}

/** `Service helloworld`, as Istio's sample: port 5000 named `http` (so Istio treats it as HTTP). */
export function helloworldServiceManifest(namespace: pulumi.Input<string>): k8s.types.input.core.v1.Service {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: HELLOWORLD, namespace, labels: { app: HELLOWORLD, service: HELLOWORLD } },
        spec: { ports: [{ port: HELLOWORLD_PORT, name: "http" }], selector: { app: HELLOWORLD } },
    };
}

/**
 * `Deployment helloworld-<cluster>`. Istio's helloworld image answers `Hello version:
 * $SERVICE_VERSION, instance: <pod>`; setting SERVICE_VERSION to the cluster name makes every
 * answer name the cluster it came from.
 */
export function helloworldDeploymentManifest(
    cluster: string,
    verification: VerificationConfig,
    namespace: pulumi.Input<string> = verification.namespace,
): k8s.types.input.apps.v1.Deployment {
    const labels = { app: HELLOWORLD, version: cluster };
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${HELLOWORLD}-${cluster}`, namespace, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    containers: [
                        {
                            name: HELLOWORLD,
                            image: verification.serverImage,
                            imagePullPolicy: "IfNotPresent",
                            env: [{ name: "SERVICE_VERSION", value: cluster }],
                            ports: [{ containerPort: HELLOWORLD_PORT }],
                            resources: { requests: { cpu: "100m" } },
                        },
                    ],
                },
            },
        },
    };
}

/** `ServiceAccount curl`: the client's workload identity. */
export function curlServiceAccountManifest(namespace: pulumi.Input<string>): k8s.types.input.core.v1.ServiceAccount {
    return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: CLIENT, namespace } };
}

/** `Deployment curl`: a client that only sleeps; the probe runs curl in it through `kubectl exec`. */
export function curlDeploymentManifest(
    verification: VerificationConfig,
    namespace: pulumi.Input<string> = verification.namespace,
): k8s.types.input.apps.v1.Deployment {
    const labels = { app: CLIENT };
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: CLIENT, namespace, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: CLIENT,
                    terminationGracePeriodSeconds: 0,
                    containers: [
                        {
                            name: CLIENT,
                            image: verification.clientImage,
                            imagePullPolicy: "IfNotPresent",
                            command: ["/bin/sleep", "infinity"],
                        },
                    ],
                },
            },
        },
    };
}

/** How the probe reaches one cluster. */
export interface ClusterProbeAccess {
    /** Kubeconfig file (the cluster's kubeconfig came from a file). Takes precedence over `kubeconfig`. */
    kubeconfigPath?: string;
    /** Kubeconfig content (it came from secret config); handed to kubectl without touching the disk. */
    kubeconfig?: pulumi.Output<string>;
    /** Kube context; default: the kubeconfig's current-context. */
    context?: string;
}

/** The probe's kubectl access for a cluster: a file, or content in {@link KUBECONFIG_ENV_VAR}. */
export function probeKubeconfig(access: ClusterProbeAccess): ProbeKubeconfig {
    if (access.kubeconfigPath || access.kubeconfig === undefined) {
        return { kind: "file", path: access.kubeconfigPath, context: access.context };
    }
    return { kind: "content", envVar: KUBECONFIG_ENV_VAR, context: access.context };
}

/** Verdict context of one client: who serves it, which contexts, which network model. */
export function probeVerdictOptions(
    plan: MeshPlan,
    config: MeshConfig,
    client: string,
    contexts: Record<string, string | undefined>,
): VerdictOptions {
    const cluster = plan.clusters.find((c) => c.name === client);
    if (!cluster) throw new Error(`verification: cluster "${client}" is not in the mesh plan`);
    return {
        client,
        // Every cluster runs a helloworld server, so every cluster must answer every client.
        expectedClusters: plan.clusters.map((c) => c.name),
        controlPlane: cluster.controlPlane,
        contexts,
        multiNetwork: plan.networkModel === "multi-network",
        federated: plan.trustModel === "federated",
        namespace: config.verification.namespace,
    };
}

/** The probe script of one client cluster. */
export function probeScriptFor(
    plan: MeshPlan,
    config: MeshConfig,
    client: string,
    kubeconfig: ProbeKubeconfig,
    contexts: Record<string, string | undefined>,
): string {
    return buildProbeScript({
        ...probeVerdictOptions(plan, config, client, contexts),
        namespace: config.verification.namespace,
        requests: config.verification.requests,
        timeoutSeconds: config.verification.timeoutSeconds,
        kubeconfig,
    });
}

export interface MeshVerificationArgs {
    /** The mesh plan: every cluster gets the workloads and a probe. */
    plan: MeshPlan;
    /** Validated config: `verification` (namespace, requests, timeout, images) and `revision`. */
    config: MeshConfig;
    /** Kubernetes provider per cluster name (`<cluster>-k8s`). */
    providers: Record<string, k8s.Provider>;
    /** How the probe's kubectl reaches each cluster (file path or secret content, and context). */
    access: Record<string, ClusterProbeAccess>;
    /**
     * The whole mesh: control planes, gateways and remote secrets. Nothing is deployed before it,
     * so injection works everywhere and remote clusters' workloads start only once the primaries'
     * istiod watch them (their sidecars authenticate through the remote secrets).
     */
    dependsOn: pulumi.Input<pulumi.Resource>[];
    /**
     * What makes the probes run again: the cluster set, networks, gateway addresses, certificate
     * fingerprints. Anything else leaves a passed probe alone on later `up`s.
     */
    triggers: pulumi.Input<unknown>[];
}

/**
 * `verify: true`: the helloworld/curl workloads in every cluster and one probe per client cluster.
 * `pulumi up` fails, with the verdict message, when a client never got an answer from some cluster.
 */
export class MeshVerification extends pulumi.ComponentResource {
    /** Client cluster → answering cluster → answers. Unknown during preview. */
    public readonly matrix: pulumi.Output<Record<string, Record<string, number>>>;
    /** Client cluster → verdict and counts (the `verification` stack output). */
    public readonly results: pulumi.Output<Record<string, ProbeSummary>>;
    /** The probe command per client cluster. */
    public readonly commands: Record<string, command.local.Command>;

    constructor(name: string, args: MeshVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-multicluster:verify:MeshVerification", name, {}, opts);
        const { plan, config } = args;
        const clusters = plan.clusters.map((c) => c.name);
        const missing = clusters.filter((c) => !args.providers[c] || !args.access[c]);
        if (missing.length > 0) {
            throw new Error(
                `MeshVerification: no provider or access for cluster(s) ${missing.join(", ")}; ` +
                    `pass providers[<cluster>] and access[<cluster>] for every cluster of the plan`,
            );
        }
        const workloads = clusters.flatMap((cluster) => this.workloadsIn(cluster, args));
        const contexts = Object.fromEntries(clusters.map((c) => [c, args.access[c].context]));
        this.commands = Object.fromEntries(
            clusters.map((client) => [client, this.probeFrom(client, args, contexts, workloads)]),
        );

        const stdouts = Object.fromEntries(clusters.map((c) => [c, this.commands[c].stdout]));
        // With secret kubeconfig content the provider may mark stdout secret, yet it only ever holds what
        // the script printed (names, counts, error texts), so the summaries can be shown as they are.
        this.results = pulumi.unsecret(
            pulumi
                .all(stdouts)
                .apply((out) =>
                    Object.fromEntries(
                        clusters.map((c) => [
                            c,
                            summarizeProbe(out[c] ?? "", probeVerdictOptions(plan, config, c, contexts)),
                        ]),
                    ),
                ),
        );
        this.matrix = this.results.apply((r) => Object.fromEntries(Object.entries(r).map(([c, s]) => [c, s.answers])));
        this.registerOutputs({ matrix: this.matrix, results: this.results, commands: this.commands });
    }

    /** The namespace, helloworld and curl of one cluster; returns what the probes wait for. */
    private workloadsIn(cluster: string, args: MeshVerificationArgs): pulumi.Resource[] {
        const v = args.config.verification;
        // Deployments wait for ready pods; a pod that never gets ready should fail within the budget.
        const customTimeouts = { create: `${v.timeoutSeconds}s`, update: `${v.timeoutSeconds}s` };
        const provider = args.providers[cluster];
        // Fixed object names: a replacement must delete the old object before creating the new one.
        const child = { parent: this, provider, deleteBeforeReplace: true };
        const ns = new k8s.core.v1.Namespace(
            resourceName(cluster, "verify-namespace"),
            verificationNamespaceManifest(v, args.config.revision),
            { ...child, dependsOn: args.dependsOn },
        );
        // Through the Output, every object in the namespace waits for it.
        const namespace = ns.metadata.name;
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            resourceName(cluster, "verify-curl-serviceaccount"),
            curlServiceAccountManifest(namespace),
            child,
        );
        return [
            new k8s.core.v1.Service(
                resourceName(cluster, "verify-helloworld-service"),
                helloworldServiceManifest(namespace),
                child,
            ),
            new k8s.apps.v1.Deployment(
                resourceName(cluster, "verify-helloworld"),
                helloworldDeploymentManifest(cluster, v, namespace),
                { ...child, customTimeouts },
            ),
            serviceAccount,
            new k8s.apps.v1.Deployment(resourceName(cluster, "verify-curl"), curlDeploymentManifest(v, namespace), {
                ...child,
                customTimeouts,
                dependsOn: [serviceAccount],
            }),
        ];
    }

    /** The probe command run from one client cluster, after every cluster's workloads. */
    private probeFrom(
        client: string,
        args: MeshVerificationArgs,
        contexts: Record<string, string | undefined>,
        workloads: pulumi.Resource[],
    ): command.local.Command {
        const access = args.access[client];
        const kubeconfig = probeKubeconfig(access);
        const script = probeScriptFor(args.plan, args.config, client, kubeconfig, contexts);
        const environment =
            kubeconfig.kind === "content"
                ? pulumi.secret(
                      pulumi
                          .output(access.kubeconfig!)
                          .apply((kc) => ({ [PROBE_SCRIPT_ENV_VAR]: script, [KUBECONFIG_ENV_VAR]: kc })),
                  )
                : { [PROBE_SCRIPT_ENV_VAR]: script };
        return new command.local.Command(
            resourceName(client, "verify-probe"),
            {
                create: PROBE_COMMAND,
                interpreter: ["/bin/bash", "-c"],
                environment,
                triggers: args.triggers,
                // No `logging` input in this @pulumi/command SDK: stdout and stderr reach the update's
                // log. Safe, because the script prints cluster names, counts and error texts only; the
                // kubeconfig stays in the (secret) environment and is expanded only into a pipe.
            },
            // After every cluster's workloads: a client's answers come from all clusters.
            { parent: this, dependsOn: workloads },
        );
    }
}

/** The manual checks of one cluster, ready to paste. */
export interface ClusterTroubleshooting {
    /** `export CTX_<CLUSTER>=...` to run first when the cluster's context is not known to the program. */
    setup?: string;
    /** Remote-secret sync as seen by the istiod serving this cluster: every other cluster `synced`. */
    remoteClusters: string;
    /** Name of the curl client pod (needs the verification workloads, or the sample's `curl`). */
    curlPod: string;
    /** helloworld endpoints known to the client's sidecar. */
    endpoints: string;
    /** What {@link endpoints} should list in this mesh. */
    expectedEndpoints: string;
    /** The manual test: repeated requests; every cluster's name should appear. */
    request: string;
    /** Root CA fingerprints: cacerts (primaries) and the root the workloads trust; equal across clusters. */
    rootFingerprint: string[];
    /** Network labels of istio-system, the east-west gateway and the client pods. */
    networkLabels: string[];
    /**
     * Federated mesh: the subjects of the roots this cluster's istiod trusts besides its own
     * (`meshConfig.caCertificates`), and of every root the client's proxy trusts; the proxy must
     * list every primary's root.
     */
    trustedRoots?: string[];
}

/** The commands that list, by subject, the roots istiod adds and the roots a proxy holds. */
function trustedRootCommands(
    plan: MeshPlan,
    c: ClusterPlan,
    contexts: Record<string, string | undefined>,
    curlPod: string,
    ns: string,
): string[] {
    const subjects = "openssl crl2pkcs7 -nocrl -certfile /dev/stdin | openssl pkcs7 -print_certs -noout | grep subject";
    const primaries = plan.clusters.filter((p) => p.runsIstiod).map((p) => p.name);
    const peers = primaries.filter((p) => p !== c.controlPlane);
    return [
        `kubectl ${contextFlag(c.controlPlane, contexts)} -n ${ISTIO_NAMESPACE} get configmap istio -o jsonpath='{.data.mesh}' | ` +
            `sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/s/^ *//p' | ${subjects}  ` +
            `# istiod of ${c.controlPlane} adds the roots of ${peers.join(", ") || "no other primary"}`,
        `istioctl proxy-config secret "$(${curlPod})" -n ${ns} ${contextFlag(c.name, contexts)} -o json | ` +
            `jq -r '.dynamicActiveSecrets[] | select(.name=="ROOTCA") | .secret.validationContext.trustedCa.inlineBytes' | ` +
            `base64 -d | ${subjects}  # expect the root of each of ${primaries.join(", ")}`,
    ];
}

function expectedEndpointsOf(plan: MeshPlan, cluster: ClusterPlan): string {
    const parts: string[] = [];
    for (const [network, members] of Object.entries(plan.networks)) {
        if (network === cluster.network) {
            parts.push(`a pod IP:${HELLOWORLD_PORT} for each of ${members.join(", ")} (same network)`);
            continue;
        }
        const gateways = plan.clusters.filter((c) => c.network === network && c.eastWestGateway);
        const addresses = gateways.map((g) => {
            const port = advertisedGatewayPort(g.eastWestGateway!);
            const address = g.eastWestGateway!.address ?? `<address of ${EAST_WEST_GATEWAY} in ${g.name}>`;
            return `${address}:${port}`;
        });
        parts.push(
            `the east-west gateway of ${network} (${addresses.join(" or ") || "no gateway planned"}) ` +
                `for ${members.join(", ")}`,
        );
    }
    return `${parts.join("; ")}.`;
}

/**
 * Ready-to-paste commands per cluster for the manual check (Istio's verification guide and its
 * multicluster diagnostics). Unknown contexts become `$CTX_<CLUSTER>`, set by `setup`.
 */
export function troubleshootingCommands(
    plan: MeshPlan,
    config: MeshConfig,
    contexts: Record<string, string | undefined>,
): Record<string, ClusterTroubleshooting> {
    const ns = config.verification.namespace;
    const result: Record<string, ClusterTroubleshooting> = {};
    for (const c of plan.clusters) {
        const ctx = contextFlag(c.name, contexts);
        const curlPod = `kubectl ${ctx} -n ${ns} get pod -l app=${CLIENT} -o jsonpath='{.items[0].metadata.name}'`;
        const cacerts =
            `kubectl ${ctx} -n ${ISTIO_NAMESPACE} get secret cacerts -o jsonpath='{.data.root-cert\\.pem}' | ` +
            `base64 -d | openssl x509 -noout -fingerprint -sha256`;
        const workloadRoot =
            `kubectl ${ctx} -n ${ISTIO_NAMESPACE} get configmap istio-ca-root-cert ` +
            `-o jsonpath='{.data.root-cert\\.pem}' | openssl x509 -noout -fingerprint -sha256`;
        const networkLabels = [
            `kubectl ${ctx} get namespace ${ISTIO_NAMESPACE} -L ${LABEL_NETWORK}  # expect ${c.network}`,
        ];
        if (c.eastWestGateway) {
            const expect = advertisedOnlyInMeshNetworks(c.eastWestGateway, plan)
                ? `no ${LABEL_NETWORK} label: meshNetworks advertises ${c.eastWestGateway.address}`
                : `${c.network} and an EXTERNAL-IP, not <pending>`;
            networkLabels.push(
                `kubectl ${ctx} -n ${ISTIO_NAMESPACE} get service ${EAST_WEST_GATEWAY} -L ${LABEL_NETWORK}  # expect ${expect}`,
            );
        }
        networkLabels.push(`kubectl ${ctx} -n ${ns} get pods -L ${LABEL_NETWORK}  # sidecars report ${c.network}`);
        result[c.name] = {
            ...(contexts[c.name]
                ? {}
                : {
                      setup: `export ${contextVariable(c.name)}='<kube context of ${c.name}>'  # see: kubectl config get-contexts`,
                  }),
            remoteClusters:
                `istioctl remote-clusters ${contextFlag(c.controlPlane, contexts)}  ` +
                `# istiod of ${c.controlPlane}: every other cluster must be synced`,
            curlPod,
            endpoints: `istioctl proxy-config endpoint "$(${curlPod})" -n ${ns} ${ctx} | grep ${HELLOWORLD}`,
            expectedEndpoints: expectedEndpointsOf(plan, c),
            request:
                `for i in $(seq 10); do kubectl ${ctx} -n ${ns} exec deploy/${CLIENT} -c ${CLIENT} -- ` +
                `curl -sS ${helloworldUrl(ns)}; done`,
            rootFingerprint: c.runsIstiod && c.root?.source !== "existing" ? [cacerts, workloadRoot] : [workloadRoot],
            networkLabels,
            ...(plan.trustModel === "federated"
                ? { trustedRoots: trustedRootCommands(plan, c, contexts, curlPod, ns) }
                : {}),
        };
    }
    return result;
}
