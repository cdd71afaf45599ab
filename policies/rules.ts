/**
 * The guardrail policies of the istio-multicluster program, as plain policy objects.
 *
 * `index.ts` only hands {@link policies} to `new PolicyPack(...)` (whose constructor starts a gRPC
 * server), so tests import this module and drive the policies through @pulumi/policy's own request
 * handlers. Imports: only `@pulumi/policy` and node built-ins, so the pack installs on its own.
 *
 * Unknown values (preview): every rule reads properties through `plain()`, which turns a value the
 * engine does not know yet into UNKNOWN, and a check whose input is UNKNOWN is skipped. The same
 * check runs with real values during `pulumi up`: resource policies before the resource is
 * created, stack policies at the end of the update.
 */
import { EnforcementLevel, Policies } from "@pulumi/policy";
import { verificationEnabled, nodePortInProduction } from "./advisories";
import { istiodConsistent, multiNetworkGateways, remotesHaveServingPrimary, revisionsPerCluster } from "./istio";
import {
    allowedUses,
    cacertsKeys,
    intermediateLifetime,
    intermediateWithinRoot,
    keyStrength,
    noRootKey,
    rootKeyNotDeployed,
} from "./pki";
import { federatedRootsTrusted } from "./federated-trust";
import { explicitProvider, providerNoRenderToDisk } from "./providers";
import {
    longLivedReaderToken,
    remoteSecretCredentials,
    remoteSecretTokenExpiry,
    remoteSecretsMatchClusters,
} from "./remote-secrets";

// The rules live in one file per concern, over one graph helper (graph.ts) and one reader of
// resource properties (inspect.ts); tests and the pack's entry point import them from here.
export * from "./advisories";
export * from "./common";
export * from "./federated-trust";
export * from "./istio";
export * from "./pki";
export * from "./providers";
export * from "./remote-secrets";

// ---------------------------------------------------------------------------------------------
// The pack
// ---------------------------------------------------------------------------------------------

/** Every policy of the pack, in the order the CLI lists them. */
export const policies: Policies = [
    explicitProvider,
    providerNoRenderToDisk,
    cacertsKeys,
    noRootKey,
    rootKeyNotDeployed,
    istiodConsistent,
    remoteSecretCredentials,
    remoteSecretsMatchClusters,
    keyStrength,
    allowedUses,
    intermediateLifetime,
    intermediateWithinRoot,
    federatedRootsTrusted,
    nodePortInProduction,
    verificationEnabled,
    multiNetworkGateways,
    remotesHaveServingPrimary,
    revisionsPerCluster,
    remoteSecretTokenExpiry,
    longLivedReaderToken,
];

/** The pack's default enforcement level (each policy sets its own; advisories are marked). */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";
