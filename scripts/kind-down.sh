#!/usr/bin/env bash
# Deletes the two kind clusters made by scripts/kind-up.sh and their kubeconfig file.
#
# Run `pulumi destroy --stack kind` first: once the clusters are gone, Pulumi can no longer
# delete what it created in them (docs/troubleshooting.md explains the way out).
#
# Environment (all optional, as for kind-up.sh):
#   CLUSTER1_NAME, CLUSTER2_NAME   kind cluster names (default cluster1, cluster2)
#   KIND_KUBECONFIG                kubeconfig to delete (default <repo>/kind-kubeconfig)
#
# Exit codes: 0 done (also when nothing was left); 1 a step failed; 2 docker or kind missing;
# 3 Docker daemon not reachable; 64 bad usage or settings.
set -euo pipefail

script_dir=${BASH_SOURCE[0]%/*}
if [[ $script_dir == "${BASH_SOURCE[0]}" ]]; then script_dir=.; fi
# shellcheck source-path=SCRIPTDIR source=kind-lib.sh
source "$script_dir/kind-lib.sh"
repo_root=$(cd "$script_dir/.." && pwd)

case ${1:-} in
"") ;;
-h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    err "unknown argument '$1' (this script takes no arguments; see --help)"
    exit "$EXIT_USAGE"
    ;;
esac

clusters=("${CLUSTER1_NAME:-cluster1}" "${CLUSTER2_NAME:-cluster2}")
kubeconfig=${KIND_KUBECONFIG:-$repo_root/kind-kubeconfig}

for name in "${clusters[@]}"; do
    if ! is_dns_label "$name"; then
        err "cluster name '$name' is not a DNS-1123 label (lower-case letters, digits and '-')."
        exit "$EXIT_USAGE"
    fi
done

require_tools docker kind
require_docker_daemon

existing=$(kind get clusters 2>/dev/null) || existing=""
for name in "${clusters[@]}"; do
    if grep -qx -- "$name" <<<"$existing"; then
        log "deleting kind cluster '$name'"
        kind delete cluster --name "$name" --kubeconfig "$kubeconfig"
    else
        log "kind cluster '$name' does not exist, nothing to delete"
    fi
done

if [[ -e $kubeconfig ]]; then
    rm -f -- "$kubeconfig"
    log "removed $kubeconfig"
fi
log "done"
