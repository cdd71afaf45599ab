/**
 * The program's whole config check: the schema (config/) and every domain's own rules, run
 * together so that `pulumi up`, `pulumi preview` and `npm run plan` report every problem at once,
 * each with its path and fix. Pure and light: the plan CLI loads it without the Pulumi SDK.
 */
import { ConfigValidationError, MeshConfig } from "../config/config";
import { clusterAccessRules, secretKubeconfigRules } from "../config/config-rules";
import { MeshConfigChecks, validateConfigWith, ValidateOptions, ValidationResult } from "../config/config-validation";
import { ConfigRuleSet } from "../config/rule-context";
import { eastWestGatewayRules, istioNamingRules, istioReleaseRules } from "../istio/config-rules";
import { revisionRules } from "../istio/revision-config-rules";
import { intermediateRules, rootCaRules, rootRotationRules } from "../pki/config-rules";
import {
    clusterRootKeyRules,
    clusterRootPlacementRules,
    clusterRootRules,
    federatedMeshRules,
} from "../pki/federated-config-rules";
import { meshIdentityRules, topologyRules } from "../plan/config-rules";
import { tokenLifetimeRules, tokenTtlRules } from "../remote-secrets/config-rules";
import { verificationRules } from "../verification/config-rules";

/** Every domain's rules, in the order their problems read best (problems are sorted by path). */
export const MESH_CONFIG_RULES: ConfigRuleSet = {
    topology: topologyRules,
    rules: [
        meshIdentityRules,
        istioReleaseRules,
        rootCaRules,
        rootRotationRules,
        intermediateRules,
        federatedMeshRules,
        clusterRootPlacementRules,
        clusterRootRules,
        clusterRootKeyRules,
        clusterAccessRules,
        eastWestGatewayRules,
        secretKubeconfigRules,
        verificationRules,
        istioNamingRules,
        revisionRules,
        tokenLifetimeRules,
        tokenTtlRules,
    ],
};

/**
 * Validates the raw config of the `istio-multicluster:` namespace with every rule of the program
 * and applies the defaults; see {@link validateConfigWith}.
 *
 * @param raw The stack config, e.g. from `readStackConfigFile` or `readPulumiConfig`.
 * @param checks Extra checks on the typed config, run once the structure is sound.
 * @param options See {@link ValidateOptions}.
 */
export function validateMeshConfig(
    raw: Record<string, unknown>,
    checks: MeshConfigChecks = [],
    options: ValidateOptions = {},
): ValidationResult {
    return validateConfigWith(raw, MESH_CONFIG_RULES, checks, options);
}

/**
 * Like {@link validateMeshConfig} (same arguments), but returns the config or throws a
 * {@link ConfigValidationError} listing every problem.
 */
export function parseMeshConfig(...args: Parameters<typeof validateMeshConfig>): MeshConfig {
    const result = validateMeshConfig(...args);
    if (!result.config) throw new ConfigValidationError(result.problems);
    return result.config;
}
