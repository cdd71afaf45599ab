/**
 * istio-multicluster: an Istio multicluster service mesh across several Kubernetes clusters.
 *
 * Orchestration only: read and validate the stack config (every problem at once, before any
 * resource exists), build the mesh, export what operators look at. The pieces live in
 * components/, one folder per concern in the order the data flows (config, plan, pki,
 * remote-secrets, verification, istio, mesh); docs/architecture.md shows how they fit.
 */
import { readPulumiConfig } from "./components/config";
import { IstioMulticlusterMesh, limitSdkStackTraces, loadProgramInputs, meshStackOutputs } from "./components/mesh";

const inputs = loadProgramInputs(readPulumiConfig());
// The SDK's per-promise stack traces are most of the run's cost in a large mesh (see the module).
limitSdkStackTraces();
const mesh = new IstioMulticlusterMesh("mesh", inputs);
const outputs = meshStackOutputs(mesh, inputs);

/** Mesh identity, models, networks and which primary watches which cluster. */
export const meshSummary = outputs.mesh;
/** The shared root CA: certificate, SHA-256 fingerprint, expiry. */
export const rootCa = outputs.rootCa;
/** Per cluster: role, network, releases, east-west gateway, intermediate CA expiry, check commands. */
export const clusters = outputs.clusters;
/** Ready-to-paste manual checks per cluster (remote-cluster sync, endpoints, root fingerprints). */
export const troubleshooting = outputs.troubleshooting;
/** With `verify: true`: per client cluster, which clusters answered (the update fails otherwise). */
export const verification = outputs.verification;
/** With `verify: true`: client cluster → answering cluster → number of answers. */
export const verificationMatrix = outputs.verificationMatrix;
/** Per holder and watched cluster: the reader credential's kind, account, token Secret and expiry. */
export const readerCredentials = outputs.readerCredentials;
