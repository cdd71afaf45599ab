#!/usr/bin/env bash
# Creates the local test bed of docs/quickstart.md: two kind clusters on the shared Docker network,
# MetalLB in each with its own slice of that network for LoadBalancer Services (the east-west
# gateways), and one kubeconfig with both contexts. Then prints, and writes into Pulumi.kind.yaml,
# the API server addresses the other cluster's pods can reach.
#
# Safe to run again: existing clusters, MetalLB installs and address pools are kept.
#
# Environment (all optional):
#   CLUSTER1_NAME, CLUSTER2_NAME   kind cluster names (default cluster1, cluster2); contexts are kind-<name>
#   KIND_KUBECONFIG                kubeconfig to write (default <repo>/kind-kubeconfig)
#   KIND_NODE_IMAGE                node image for `kind create cluster --image` (default: kind's own)
#   METALLB_VERSION                MetalLB release whose manifest is applied (default v0.15.3)
#   CLUSTER1_LB_RANGE, CLUSTER2_LB_RANGE
#                                  MetalLB address ranges "first-last" (default: carved from the
#                                  kind network's IPv4 subnet)
#   STACK_FILE                     stack file whose apiServer lines are updated (default <repo>/Pulumi.kind.yaml)
#   KIND_UPDATE_STACK              0 to leave the stack file alone and only print the addresses
#
# Exit codes: 0 done; 1 a step failed; 2 docker, kind or kubectl missing; 3 Docker daemon not
# reachable; 64 bad usage or settings.
set -euo pipefail

# Parameter expansion instead of dirname: the prerequisite check must work with an empty PATH.
script_dir=${BASH_SOURCE[0]%/*}
if [[ $script_dir == "${BASH_SOURCE[0]}" ]]; then script_dir=.; fi
# shellcheck source-path=SCRIPTDIR source=kind-lib.sh
source "$script_dir/kind-lib.sh"
repo_root=$(cd "$script_dir/.." && pwd)

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

case ${1:-} in
"") ;;
-h | --help)
    usage
    exit 0
    ;;
*)
    err "unknown argument '$1' (this script takes no arguments; see --help)"
    exit "$EXIT_USAGE"
    ;;
esac

clusters=("${CLUSTER1_NAME:-cluster1}" "${CLUSTER2_NAME:-cluster2}")
lb_overrides=("${CLUSTER1_LB_RANGE:-}" "${CLUSTER2_LB_RANGE:-}")
kubeconfig=${KIND_KUBECONFIG:-$repo_root/kind-kubeconfig}
metallb_version=${METALLB_VERSION:-v0.15.3}
stack_file=${STACK_FILE:-$repo_root/Pulumi.kind.yaml}
# kind puts every cluster on this Docker network unless told otherwise.
kind_network=${KIND_EXPERIMENTAL_DOCKER_NETWORK:-kind}

for name in "${clusters[@]}"; do
    if ! is_dns_label "$name"; then
        err "cluster name '$name' is not a DNS-1123 label (lower-case letters, digits and '-')."
        exit "$EXIT_USAGE"
    fi
done
if [[ ${clusters[0]} == "${clusters[1]}" ]]; then
    err "CLUSTER1_NAME and CLUSTER2_NAME must differ (both are '${clusters[0]}')."
    exit "$EXIT_USAGE"
fi

require_tools docker kind kubectl
require_docker_daemon

kc() {
    local name=$1
    shift
    kubectl --kubeconfig "$kubeconfig" --context "kind-$name" "$@"
}

# retry ATTEMPTS DELAY COMMAND... : MetalLB's webhook rejects pools until its endpoint is ready.
retry() {
    local attempts=$1 delay=$2 i
    shift 2
    for ((i = 1; i <= attempts; i++)); do
        if "$@"; then return 0; fi
        if ((i < attempts)); then sleep "$delay"; fi
    done
    return 1
}

cluster_exists() {
    local existing
    existing=$(kind get clusters 2>/dev/null) || return 1
    grep -qx -- "$1" <<<"$existing"
}

# Distinct pod and Service ranges per cluster keep addresses unambiguous in istioctl and kubectl
# output (cluster1: pods 10.10.0.0/16, Services 10.255.10.0/24; cluster2: 10.20.0.0/16, 10.255.20.0/24).
kind_config() {
    local index=$1
    cat <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: 10.$((index * 10)).0.0/16
  serviceSubnet: 10.255.$((index * 10)).0/24
YAML
}

create_cluster() {
    local name=$1 index=$2
    local image_args=()
    if [[ -n ${KIND_NODE_IMAGE:-} ]]; then image_args=(--image "$KIND_NODE_IMAGE"); fi
    if cluster_exists "$name"; then
        log "kind cluster '$name' exists, not creating it again"
        local node="$name-control-plane"
        if [[ $(docker inspect -f '{{.State.Running}}' "$node" 2>/dev/null) == false ]]; then
            log "starting the stopped node container $node"
            docker start "$node" >/dev/null
        fi
        kind export kubeconfig --name "$name" --kubeconfig "$kubeconfig"
    else
        log "creating kind cluster '$name' (takes a minute or two)"
        # The ${a[@]+...} form: an empty array is "unbound" for `set -u` in bash before 4.4 (macOS).
        kind_config "$index" | kind create cluster --name "$name" --kubeconfig "$kubeconfig" \
            ${image_args[@]+"${image_args[@]}"} --wait 3m --config -
    fi
    kc "$name" wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
}

install_metallb() {
    local name=$1
    if kc "$name" -n metallb-system get deployment controller >/dev/null 2>&1; then
        log "$name: MetalLB is installed, not applying the manifest again"
    else
        log "$name: installing MetalLB $metallb_version"
        kc "$name" apply -f \
            "https://raw.githubusercontent.com/metallb/metallb/$metallb_version/config/manifests/metallb-native.yaml" \
            >/dev/null
    fi
    kc "$name" -n metallb-system rollout status deployment/controller --timeout=300s >/dev/null
    kc "$name" -n metallb-system rollout status daemonset/speaker --timeout=300s >/dev/null
}

apply_pool() {
    local name=$1 range=$2
    kc "$name" apply -f - >/dev/null <<YAML
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: $name-pool
  namespace: metallb-system
spec:
  addresses:
    - $range
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: $name-l2
  namespace: metallb-system
spec:
  ipAddressPools:
    - $name-pool
YAML
}

configure_pool() {
    local name=$1 range=$2 existing
    if existing=$(kc "$name" -n metallb-system get ipaddresspool "$name-pool" \
        -o 'jsonpath={.spec.addresses[*]}' 2>/dev/null); then
        log "$name: address pool $name-pool exists ($existing), keeping it"
        [[ $existing == "$range" ]] ||
            warn "$name: the existing pool differs from the computed range $range; delete it to recompute"
        return 0
    fi
    log "$name: MetalLB pool $name-pool = $range"
    if ! retry 30 5 apply_pool "$name" "$range" 2>/dev/null; then
        # One more time with the error shown.
        apply_pool "$name" "$range" || {
            err "$name: could not create the MetalLB address pool"
            exit "$EXIT_FAILED"
        }
    fi
}

control_plane_ip() {
    docker inspect -f "{{with index .NetworkSettings.Networks \"$kind_network\"}}{{.IPAddress}}{{end}}" \
        "$1-control-plane"
}

for i in 0 1; do
    create_cluster "${clusters[i]}" $((i + 1))
done

subnets=$(docker network inspect "$kind_network" -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}') || {
    err "cannot inspect the Docker network '$kind_network' that kind uses"
    exit "$EXIT_FAILED"
}
if ! subnet=$(first_ipv4_subnet "$subnets"); then
    err "the Docker network '$kind_network' has no IPv4 subnet (subnets: ${subnets:-none})"
    exit "$EXIT_FAILED"
fi
carved=$(carve_lb_ranges "$subnet" 2) || exit "$EXIT_FAILED"
read -r -d '' -a ranges <<<"$carved" || true
for i in 0 1; do
    if [[ -n ${lb_overrides[i]} ]]; then ranges[i]=${lb_overrides[i]}; fi
done
log "kind network $kind_network: $subnet"

for i in 0 1; do
    install_metallb "${clusters[i]}"
    configure_pool "${clusters[i]}" "${ranges[i]}"
done

api_servers=()
for i in 0 1; do
    ip=$(control_plane_ip "${clusters[i]}")
    if [[ -z $ip ]]; then
        err "${clusters[i]}-control-plane has no address on the Docker network '$kind_network'"
        exit "$EXIT_FAILED"
    fi
    api_servers[i]="https://$ip:6443"
done

echo
echo "Kubeconfig with contexts kind-${clusters[0]} and kind-${clusters[1]}: $kubeconfig"
echo "  export KUBECONFIG=$kubeconfig   # to use kubectl with it"
echo
echo "API servers the other cluster's pods can reach (the kubeconfig's 127.0.0.1 address is"
echo "only reachable from this machine, so it must not go into remote secrets):"
for i in 0 1; do
    printf '  %-12s %s\n' "${clusters[i]}" "${api_servers[i]}"
done
echo

updated=0
if [[ ${KIND_UPDATE_STACK:-1} != 0 && -f $stack_file ]]; then
    for i in 0 1; do
        if set_stack_api_server "$stack_file" "${clusters[i]}" "${api_servers[i]}"; then
            updated=$((updated + 1))
        fi
    done
fi
if ((updated == 2)); then
    echo "Updated the apiServer values in $stack_file."
else
    echo "Put them into your stack file (Pulumi.kind.yaml), under istio-multicluster:clusters:"
    for i in 0 1; do
        echo "    - name: ${clusters[i]}"
        echo "      context: kind-${clusters[i]}"
        echo "      apiServer: ${api_servers[i]} # kind-up: ${clusters[i]}"
    done
fi
echo
echo "Next (docs/quickstart.md): pulumi login --local; pulumi stack init kind (or select it);"
echo "then pulumi preview --stack kind and pulumi up --stack kind."
