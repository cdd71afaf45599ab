/**
 * The stack configuration, from the raw keys to a validated {@link MeshConfig}: the TypeScript
 * shape and defaults, the JSON schema (the one place that knows which keys exist), schema
 * validation with the generic problem helpers, reading a stack file or the running program's
 * config, and resolving each cluster's kubeconfig, context and API server. It imports no other
 * domain; every domain imports it.
 */
export * from "./config";
export * from "./config-schema";
export * from "./config-validation";
export * from "./stack-config";
export * from "./kubeconfig";
export * from "./rule-context";
export * from "./config-rules";
