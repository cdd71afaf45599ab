/**
 * The whole mesh, the only place that knows every domain: the program's inputs (validation of every
 * domain, cluster access, the plan, all problems at once), the top `IstioMulticlusterMesh`
 * component, the plan report and diagram, and the stack outputs.
 */
export * from "./validate-config";
export * from "./program-inputs";
export * from "./mesh";
export * from "./plan-report";
export * from "./mesh-diagram";
export * from "./mesh-outputs";
export * from "./sdk-stack-traces";
