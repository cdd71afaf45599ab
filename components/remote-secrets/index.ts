/**
 * Cross-cluster credentials: the reader token in every watched cluster and, in every primary, the
 * labelled remote secrets whose kubeconfigs let istiod watch its peers, as pure manifests and as
 * the components that create them. Tokens and kubeconfigs stay Pulumi secrets end to end.
 */
export * from "./remote-secrets-manifest";
export * from "./remote-secrets";
export * from "./config-rules";
export * from "./token-renewal";
