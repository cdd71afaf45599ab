/**
 * The mesh PKI: the root of trust (generated or imported, or in a federated mesh one per primary)
 * and one intermediate CA per cluster that runs istiod, as plain specs (validity, key, the checks
 * on an imported root, the `cacerts` data, who trusts which root) and as the components that
 * create them. Root keys never leave Pulumi state.
 */
export * from "./pki-spec";
export * from "./federation";
export * from "./pki";
export * from "./config-rules";
export * from "./federated-config-rules";
