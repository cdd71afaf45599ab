/**
 * Istio itself, per cluster: the Helm values of the official charts, the objects the program writes
 * around them (namespace, exposure Gateways and VirtualServices), the control plane and east-west
 * gateway components, and the per-cluster outputs. It builds on config/, plan/ and pki/.
 */
export * from "./istio-values";
export * from "./istio-manifests";
export * from "./istio-control-plane";
export * from "./east-west-gateway";
export * from "./istio-outputs";
export * from "./config-rules";
export * from "./revision-config-rules";
