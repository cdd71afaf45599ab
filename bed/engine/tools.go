//go:build tools

// Package tools pins the Pulumi CLI the real-engine part of the bed runs: the engine of
// github.com/pulumi/pulumi/pkg/v3 at the version of @pulumi/pulumi in package-lock.json
// (scripts/bed-build.sh builds it from the Go module proxy; nothing here is imported by the program).
// It is a module of its own so that its dependencies never move the Kubernetes commands' ones.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
