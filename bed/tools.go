//go:build tools

// Package tools pins the Kubernetes commands the real-API-server bed runs (scripts/bed-build.sh
// builds them from the Go module proxy; nothing here is imported by the program).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
