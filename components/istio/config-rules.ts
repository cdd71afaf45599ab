/**
 * The Istio layer's own config rules: the version and where its charts come from, images, the
 * revision, and each cluster's east-west gateway (how other networks, and remotes, reach it).
 */
import { isIP } from "node:net";
import { ConfigProblem, MINIMUM_ISTIO_VERSION } from "../config/config";
import { ClusterView, ConfigRuleContext, int, isObj, namedClusters, str } from "../config/rule-context";
import {
    classifyChartRepository,
    isDns1123Label,
    isDns1123Subdomain,
    isLoopbackHost,
    isUnspecifiedHost,
    parseVersion,
    suggestDns1123Label,
    versionLess,
} from "../config/config-validation";
import { IPV6_REMOTE_PILOT_ADDRESS_FROM, remotePilotAddressChartProblem } from "./istio-values";

/** `istioVersion` and `chartRepository`: which charts are installed, from where. */
export function istioReleaseRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const version = str(ctx.data, "istioVersion");
    if (version !== undefined) {
        const parsed = parseVersion(version);
        if (!parsed) {
            const quoted = typeof ctx.raw.istioVersion === "number";
            problems.push({
                path: "istioVersion",
                message: `'${version}' is not a semantic version like ${MINIMUM_ISTIO_VERSION}${quoted ? " (YAML read an unquoted number)" : ""}.`,
                fix: version.startsWith("v")
                    ? `Drop the 'v': '${version.slice(1)}'.`
                    : `Use a full version in quotes, e.g. istioVersion: "1.30.3".`,
            });
        } else if (versionLess(parsed, parseVersion(MINIMUM_ISTIO_VERSION)!)) {
            problems.push({
                path: "istioVersion",
                message:
                    `${version} is older than ${MINIMUM_ISTIO_VERSION}: this program installs remotes the 1.24+ way ` +
                    "(the base chart in every remote and istiod with profile=remote); before 1.24 remotes used the " +
                    "istiod-remote chart, which 1.24 removed.",
                fix: `Use ${MINIMUM_ISTIO_VERSION} or newer (default 1.30.3).`,
            });
        }
    }
    const repo = str(ctx.data, "chartRepository");
    if (repo !== undefined && !classifyChartRepository(repo)) {
        problems.push({
            path: "chartRepository",
            message: `'${repo}' is neither an https/http URL, an oci:// reference nor an absolute local directory path.`,
            fix: /^[.~]/.test(repo)
                ? "Use an absolute directory path (relative paths depend on where pulumi runs)."
                : "Use e.g. https://istio-release.storage.googleapis.com/charts, oci://registry.example.com/istio or /srv/charts.",
        });
    }
    return problems;
}

/** `images.imagePullSecrets` and `revision`: names that end up in Kubernetes objects. */
export function istioNamingRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const images = isObj(ctx.data.images) ? ctx.data.images : undefined;
    const pullSecrets = images && Array.isArray(images.imagePullSecrets) ? images.imagePullSecrets : [];
    pullSecrets.forEach((s, i) => {
        if (typeof s === "string" && !isDns1123Subdomain(s)) {
            problems.push({
                path: `images.imagePullSecrets[${i}]`,
                message: `'${s}' is not a valid Secret name.`,
                fix: "Use the name of a docker-registry Secret in istio-system.",
            });
        }
    });
    const revision = str(ctx.data, "revision");
    if (revision && !isDns1123Label(revision)) {
        problems.push({
            path: "revision",
            message: `'${revision}' is not a DNS-1123 label; it becomes part of istiod-<revision> object names.`,
            fix: `Use e.g. '${suggestDns1123Label(revision).replace(/\./g, "-")}' (1-30-3 style), or "" for the default revision.`,
        });
    }
    return problems;
}

/** Every cluster's `eastWestGateway`: exposure that the other networks and the remotes can use. */
export function eastWestGatewayRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const named = namedClusters(ctx);
    const multiNetwork = new Set(named.map((c) => c.network).filter((n) => n !== undefined)).size > 1;
    const servingPrimaries = new Set(ctx.servingPrimary.values());
    return named.flatMap((c) => {
        if (!c.gw) return [];
        const servesRemotes = c.role === "primary" && servingPrimaries.has(c.name!);
        return [
            ...gatewayServiceTypeProblems(c, c.gw, multiNetwork),
            ...gatewayAddressProblems(c, c.gw, servesRemotes ? servedRemotesChartVersions(ctx, c.name!) : undefined),
        ];
    });
}

/** Rules of `serviceType` and the keys that only one service type uses. */
function gatewayServiceTypeProblems(
    c: ClusterView,
    gw: Record<string, unknown>,
    multiNetwork: boolean,
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const p = `${c.path}.eastWestGateway`;
    const type = str(gw, "serviceType");
    const address = str(gw, "address");
    const nodePort = int(gw, "nodePort");
    const hasSelector = isObj(gw.nodeSelector);

    if (type === "NodePort") {
        if (!address && !hasSelector) {
            problems.push({
                path: `${p}.address`,
                message:
                    "A NodePort gateway needs either an address (advertised in meshNetworks) or a nodeSelector " +
                    "(istiod then advertises the ExternalIP of matching nodes); with neither, no other network can find it.",
                fix: `Set ${p}.address to a node IP reachable from the other networks (and ${p}.nodePort), or set ${p}.nodeSelector (e.g. {}) on nodes that have an ExternalIP.`,
            });
        }
        if (address && hasSelector && multiNetwork) {
            // istiod prefers the gateways it discovers in the gateway's own cluster (the selected
            // nodes' ExternalIPs) over meshNetworks (ep_filters.go selectNetworkGateways), so the
            // address would be ignored wherever a selected node has an ExternalIP.
            problems.push({
                path: `${p}.nodeSelector`,
                message:
                    "Both address and nodeSelector say where the other networks reach this gateway; istiod uses the ExternalIPs " +
                    "of the selected nodes and ignores the address whenever one of them has an ExternalIP.",
                fix: `Keep one: ${p}.address (with ${p}.nodePort) for a fixed address, or ${p}.nodeSelector for the nodes' ExternalIPs.`,
            });
        }
        if (nodePort !== undefined && (nodePort < 30000 || nodePort > 32767)) {
            problems.push({
                path: `${p}.nodePort`,
                message: `${nodePort} is outside the default Kubernetes node port range 30000-32767.`,
                fix: "Pick a free port between 30000 and 32767 (or widen --service-node-port-range on the API server and keep the port inside it).",
            });
        }
        if (address && nodePort === undefined && multiNetwork) {
            problems.push({
                path: `${p}.nodePort`,
                message:
                    "With an address on a NodePort gateway, meshNetworks must advertise the node port, but Kubernetes would pick a random one.",
                fix: `Set ${p}.nodePort to a fixed port between 30000 and 32767.`,
            });
        }
        if (gw.loadBalancerIP !== undefined) {
            problems.push({
                path: `${p}.loadBalancerIP`,
                message: "loadBalancerIP only applies to a LoadBalancer Service.",
                fix: `Remove it, or set ${p}.serviceType to LoadBalancer.`,
            });
        }
    } else if (type === "LoadBalancer") {
        if (nodePort !== undefined) {
            problems.push({
                path: `${p}.nodePort`,
                message: "nodePort only applies to serviceType NodePort.",
                fix: `Remove it, or set ${p}.serviceType to NodePort.`,
            });
        }
        if (gw.nodeSelector !== undefined) {
            problems.push({
                path: `${p}.nodeSelector`,
                message:
                    "nodeSelector (the traffic.istio.io/nodeSelector annotation) only applies to serviceType NodePort.",
                fix: `Remove it, or set ${p}.serviceType to NodePort.`,
            });
        }
    }
    return problems;
}

/**
 * The istiod chart versions the remotes of `primary` install: the versions of the revisions each
 * runs (its own `revisions`, else all of them), else `istioVersion`.
 */
function servedRemotesChartVersions(ctx: ConfigRuleContext, primary: string): string[] {
    const revisions = Array.isArray(ctx.data.revisions) ? ctx.data.revisions.filter(isObj) : undefined;
    const istioVersion = str(ctx.data, "istioVersion");
    const versions: string[] = [];
    for (const [remote, servedBy] of ctx.servingPrimary) {
        if (servedBy !== primary) continue;
        if (!revisions) {
            if (istioVersion !== undefined) versions.push(istioVersion);
            continue;
        }
        const own = ctx.byName.get(remote)?.raw.revisions;
        const names = Array.isArray(own) ? own : undefined;
        for (const r of revisions) {
            const version = str(r, "version");
            if (version !== undefined && (!names || names.includes(r.name))) versions.push(version);
        }
    }
    return versions;
}

/** An IP at `path` that the remotes' istiod charts (`chartVersions`) would not take for one. */
function remotePilotAddressProblems(path: string, ip: string, chartVersions: string[]): ConfigProblem[] {
    const chartProblem = remotePilotAddressChartProblem(ip, chartVersions);
    if (!chartProblem) return [];
    return [
        {
            path,
            message: `This primary serves remote clusters at this IP, and ${chartProblem}, which admission webhooks cannot call.`,
            fix: `Use an IPv4 address in ${path}, or install Istio ${IPV6_REMOTE_PILOT_ADDRESS_FROM} or newer in the remotes.`,
        },
    ];
}

/**
 * Rules of the address the gateway is advertised at (and its annotations). `servedChartVersions`:
 * on a primary that serves remotes, the istiod chart versions of those remotes (the address is
 * their `remotePilotAddress`); undefined on any other cluster.
 */
function gatewayAddressProblems(
    c: ClusterView,
    gw: Record<string, unknown>,
    servedChartVersions: string[] | undefined,
): ConfigProblem[] {
    const servesRemotes = servedChartVersions !== undefined;
    const problems: ConfigProblem[] = [];
    const p = `${c.path}.eastWestGateway`;
    const type = str(gw, "serviceType");
    const address = str(gw, "address");
    const lbIp = str(gw, "loadBalancerIP");
    if (lbIp !== undefined && isIP(lbIp) === 0) {
        problems.push({
            path: `${p}.loadBalancerIP`,
            message: `'${lbIp}' is not an IP address.`,
            fix: "Use the IPv4 or IPv6 address the load balancer should get.",
        });
    }
    if (address !== undefined) {
        const ipKind = isIP(address);
        if (ipKind === 0 && /:\d+$/.test(address)) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' contains a port; the address is a bare IP or hostname.`,
                fix: `Put the port in ${p}.nodePort (NodePort) and keep only the host in ${p}.address.`,
            });
        } else if (ipKind === 0 && !isDns1123Subdomain(address.toLowerCase())) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' is neither an IP address nor a DNS hostname.`,
                fix: "Use the IP (or DNS name) at which the other networks reach this gateway.",
            });
        } else if (isLoopbackHost(address) || isUnspecifiedHost(address)) {
            problems.push({
                path: `${p}.address`,
                message: `'${address}' is a loopback or unspecified address; other networks cannot reach the gateway there.`,
                fix: "Use a node or load-balancer IP reachable from the other clusters.",
            });
        } else if (servesRemotes && ipKind === 0) {
            problems.push({
                path: `${p}.address`,
                message:
                    `'${address}' is a hostname, but this primary serves remote clusters: their global.remotePilotAddress ` +
                    "would become an ExternalName Service, which admission webhooks cannot call.",
                fix: `Set ${p}.address to an IP address of the gateway (resolve the hostname to a stable IP).`,
            });
        } else if (servedChartVersions !== undefined) {
            problems.push(...remotePilotAddressProblems(`${p}.address`, address, servedChartVersions));
        }
    }
    if (servedChartVersions !== undefined && !address && lbIp !== undefined && isIP(lbIp) !== 0) {
        // Without an address the load balancer's IP becomes the remotes' remotePilotAddress.
        problems.push(...remotePilotAddressProblems(`${p}.loadBalancerIP`, lbIp, servedChartVersions));
    }
    if (servesRemotes && type === "NodePort" && !address) {
        problems.push({
            path: `${p}.address`,
            message:
                "This primary serves remote clusters through its east-west gateway: their global.remotePilotAddress needs an " +
                "IP that forwards ports 15012 and 15017 to the gateway, which a NodePort Service alone does not provide.",
            fix: `Set ${p}.address to the IP of a load balancer or NAT that forwards 15012 and 15017 to the gateway, or use serviceType LoadBalancer.`,
        });
    }
    const annotations = gw.annotations;
    if (isObj(annotations) && annotations["traffic.istio.io/nodeSelector"] !== undefined) {
        problems.push({
            path: `${p}.annotations["traffic.istio.io/nodeSelector"]`,
            message: "The program writes this annotation from nodeSelector.",
            fix: `Remove the annotation and set ${p}.nodeSelector (with serviceType NodePort).`,
        });
    }
    return problems;
}
