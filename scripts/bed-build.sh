#!/usr/bin/env bash
# Builds the commands of the real-API-server bed (kube-apiserver, kube-controller-manager, kubectl
# and helm) from the Go module proxy, at the versions bed/go.mod and bed/go.sum pin, into a cache
# outside the repository. etcd comes from Debian (etcd-server).
# Usage: scripts/bed-build.sh   (prints the bin directory; BED_BIN overrides it)
set -euo pipefail
cd "$(dirname "$0")/../bed"

bin="${BED_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/istio-multicluster-bed/bin}"
mkdir -p "$bin"
# One stamp per pinned module set: a new go.sum rebuilds, an unchanged one reuses the binaries.
stamp="$bin/.go.sum.$(sha256sum go.sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
    for pkg in k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kubectl helm.sh/helm/v3/cmd/helm; do
        echo "building ${pkg##*/}" >&2
        GOFLAGS=-mod=mod go build -trimpath -o "$bin/${pkg##*/}" "$pkg"
    done
    rm -f "$bin"/.go.sum.*
    touch "$stamp"
fi

if ! command -v etcd >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing etcd-server (Debian)" >&2
        apt-get install -y -qq etcd-server >/dev/null
    else
        echo "etcd is missing: install Debian's etcd-server" >&2
        exit 1
    fi
fi
echo "$bin"
