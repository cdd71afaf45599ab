/**
 * The mesh plan: a pure function from the validated config to what every cluster gets (role,
 * network, gateway, remote-secret pairs, waves), and the names of every Kubernetes object and
 * Pulumi resource. It imports only config/.
 */
export * from "./mesh-plan";
export * from "./naming";
export * from "./config-rules";
export * from "./revision-plan";
