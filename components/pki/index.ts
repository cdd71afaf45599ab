/**
 * The mesh PKI: the root of trust (generated or imported) and one intermediate CA per cluster that
 * runs istiod, as plain specs (validity, key, the checks on an imported root, the `cacerts` data)
 * and as the components that create them. The root key never leaves Pulumi state.
 */
export * from "./pki-spec";
export * from "./pki";
export * from "./config-rules";
