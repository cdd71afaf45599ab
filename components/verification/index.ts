/**
 * The post-deploy verification (`verify: true`): Istio's helloworld and curl workloads in every
 * cluster, the cross-cluster probe script with its parser and verdict, and the component that
 * fails `pulumi up` when some cluster never answers.
 */
export * from "./verification-probe";
export * from "./verification";
export * from "./config-rules";
