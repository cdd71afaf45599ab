//go:build tools

// Package tools pins the commands the real-API-server bed runs: kube-apiserver,
// kube-controller-manager, kubectl and helm (scripts/bed-build.sh builds them from the Go module
// proxy; nothing here is imported by the program).
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
