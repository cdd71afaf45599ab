#!/usr/bin/env bash
# Builds the commands of the real-API-server bed (kube-apiserver, kube-controller-manager, kubectl
# and helm) from the Go module proxy, at the versions bed/go.mod and bed/go.sum pin, and the Pulumi
# CLI at the version bed/engine/go.mod pins, into a cache outside the repository. etcd comes from Debian (etcd-server).
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

# The Pulumi CLI (engine/go.mod pins it at the version of @pulumi/pulumi). Its version string is
# normally set by the release build; the automation API checks it, so it is set the same way here.
# Without it the engine tests are skipped; the rest of the bed does not depend on it.
engine_stamp="$bin/.engine-go.sum.$(sha256sum engine/go.sum | cut -c1-16)"
if [ ! -f "$engine_stamp" ]; then
    pulumi_version=$(cd engine && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
    echo "building pulumi ${pulumi_version}" >&2
    if (cd engine && GOFLAGS=-mod=mod go build -trimpath \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${pulumi_version}" \
        -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi); then
        rm -f "$bin"/.engine-go.sum.*
        touch "$engine_stamp"
    else
        echo "the Pulumi CLI could not be built; the engine tests will be skipped" >&2
        rm -f "$bin/pulumi"
    fi
fi

if ! command -v etcd >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing etcd-server (Debian)" >&2
        # A fresh machine may have no package lists yet.
        apt-get install -y -qq etcd-server >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null; }
    else
        echo "etcd is missing: install Debian's etcd-server" >&2
        exit 1
    fi
fi
echo "$bin"
