/**
 * Everything `pulumi up` needs before it registers a single resource: the validated config, the
 * mesh plan, access to every cluster and the imported root key. Problems of every kind (config
 * shape, kubeconfig files, an imported root) are collected and thrown together as one error.
 *
 * Only the program run reads kubeconfig files and an imported root; `npm run plan` and the tests
 * stop at the config.
 */
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";

import {
    CaConfig,
    ClusterCaConfig,
    ClusterConfig,
    ConfigProblem,
    ConfigValidationError,
    MeshConfig,
} from "../config/config";
import { Obj } from "../config/rule-context";
import { MeshConfigChecks } from "../config/config-validation";
import { validateMeshConfig } from "../mesh/validate-config";
import { valueOverrideProblems } from "../istio/istio-values";
import { resolveClusterAccess } from "../config/kubeconfig";
import { IstioMulticlusterMeshArgs, MeshClusterAccess } from "./mesh";
import { MeshPlan, buildMeshPlan } from "../plan/mesh-plan";
import { importedRootCertPem, validateExistingRoot, validateImportedRoot } from "../pki/pki-spec";
import { federatedRootCaConfig } from "../pki/federation";
import { RawStackConfig, secretKubeconfigsOf } from "../config/stack-config";
import {
    RunKubectl,
    probeTokenLifetimes,
    runKubectlSync,
    uncheckedLifetimesWarning,
} from "../remote-secrets/token-lifetime-probe";

/** Checks other modules contribute to config validation, run after defaults are applied. */
export const PROGRAM_CONFIG_CHECKS: MeshConfigChecks = [valueOverrideProblems];

/** What the program run may read besides the config. */
export interface ProgramEnvironment {
    /** `KUBECONFIG`, `HOME`. */
    env: Record<string, string | undefined>;
    /** Reads a file as UTF-8, throwing like `fs.readFileSync`. */
    readFile: (file: string) => string;
    /** Directory relative kubeconfig paths resolve against (the project directory). */
    cwd?: string;
    /** Current time, for the imported root's validity. */
    now: Date;
    /**
     * Runs the operator's kubectl, for the token-lifetime probe of `tokenMode: tokenRequest`.
     * Absent where nothing may reach a cluster; the probe is then not run.
     */
    kubectl?: RunKubectl;
    /** Where warnings of the program run go (Pulumi's log). */
    warn?: (message: string) => void;
}

const defaultEnvironment = (): ProgramEnvironment => ({
    env: process.env,
    readFile: (file) => fs.readFileSync(file, "utf8"),
    now: new Date(),
    kubectl: runKubectlSync,
    warn: (message) => void pulumi.log.warn(message),
});

/**
 * Validates the stack config, reads kubeconfigs (files or the `kubeconfigs` secret) and an
 * imported root, and returns the mesh's arguments. Throws a {@link ConfigValidationError} listing
 * every problem; nothing has been registered at that point.
 */
export function loadProgramInputs(
    source: RawStackConfig,
    environment: ProgramEnvironment = defaultEnvironment(),
): IstioMulticlusterMeshArgs {
    const { raw, secretKeys } = source;
    const { config, problems } = validateMeshConfig(raw, PROGRAM_CONFIG_CHECKS, { secretKeys });
    if (!config) throw new ConfigValidationError(problems);

    const all: ConfigProblem[] = [];
    const caKeyPem = optionalString(raw.caKeyPem);
    const nextCaKeyPem = optionalString(raw.nextCaKeyPem);
    let meshConfig: MeshConfig = config;
    const importRoot = (ca: CaConfig, keyPem: string, paths: { ca: string; key: string }): CaConfig => {
        try {
            const { pem, path } = importedRootCertPem(ca, environment.readFile, paths.ca);
            all.push(
                ...validateImportedRoot(pem, keyPem, {
                    intermediateValidityDays: config.intermediate.validityDays,
                    now: environment.now,
                    certPath: path,
                    keyPath: paths.key,
                }),
            );
            // The component then uses the PEM it was given instead of reading the file again.
            return { ...ca, certPem: pem, certFile: undefined };
        } catch (err) {
            const cause = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
            all.push({
                path: `${paths.ca}.certFile`,
                message: `cannot read ${ca.certFile}: ${cause}.`,
                fix: `point ${paths.ca}.certFile at the root certificate PEM, or paste the PEM into ${paths.ca}.certPem.`,
            });
            return ca;
        }
    };
    if (config.ca.mode === "import" && caKeyPem !== undefined) {
        meshConfig = { ...meshConfig, ca: importRoot(config.ca, caKeyPem, { ca: "ca", key: "caKeyPem" }) };
    }
    const rotation = config.rootRotation;
    if (rotation?.next.mode === "import" && nextCaKeyPem !== undefined) {
        const next = importRoot(rotation.next, nextCaKeyPem, { ca: "rootRotation.next", key: "nextCaKeyPem" });
        meshConfig = { ...meshConfig, rootRotation: { ...rotation, next } };
    }

    let clusterRootKeys: Record<string, string> = {};
    if (config.ca.mode === "federated") {
        const federated = loadFederatedRoots(meshConfig, raw, environment, importRoot);
        meshConfig = federated.config;
        clusterRootKeys = federated.keys;
        all.push(...federated.problems);
    }

    const resolved = resolveClusterAccess(config.clusters, {
        env: environment.env,
        readFile: environment.readFile,
        secretKubeconfigs: secretKubeconfigsOf(raw),
        cwd: environment.cwd,
    });
    all.push(...resolved.problems);
    const plan = buildMeshPlan(meshConfig);
    all.push(...tokenLifetimeProblems(meshConfig, plan, resolved.access, environment));
    if (all.length > 0) throw new ConfigValidationError(all);

    const access: Record<string, MeshClusterAccess> = {};
    for (const [name, a] of Object.entries(resolved.access)) {
        access[name] = {
            // Both forms hold credentials; only their reader token ever reaches another cluster.
            kubeconfig: pulumi.secret(a.kubeconfig),
            context: a.context,
            apiServer: a.apiServer,
            kubeconfigPath: a.source === "file" ? a.path : undefined,
        };
    }
    return {
        config: meshConfig,
        plan,
        access,
        importedRootKeyPem: caKeyPem !== undefined ? pulumi.secret(caKeyPem) : undefined,
        importedNextRootKeyPem: nextCaKeyPem !== undefined ? pulumi.secret(nextCaKeyPem) : undefined,
        importedClusterRootKeyPems: Object.fromEntries(
            Object.entries(clusterRootKeys).map(([cluster, key]) => [cluster, pulumi.secret(key)]),
        ),
    };
}

/**
 * With `tokenMode: tokenRequest`: a cap on token lifetimes in any watched cluster, found by asking
 * each one (see `token-lifetime-probe.ts`) before any resource. Clusters it could not ask are
 * named in a warning; their first mint checks the cap instead.
 */
function tokenLifetimeProblems(
    config: MeshConfig,
    plan: MeshPlan,
    access: Record<string, { kubeconfig: string; context?: string }>,
    environment: ProgramEnvironment,
): ConfigProblem[] {
    const settings = config.remoteSecrets;
    if (settings.tokenMode !== "tokenRequest" || !settings.probeTokenLifetime || !environment.kubectl) return [];
    const watched = [...new Set(plan.remoteSecretPairs.map((pair) => pair.source))]
        .sort()
        .filter((name) => access[name] !== undefined)
        .map((name) => ({ name, kubeconfig: access[name].kubeconfig, context: access[name].context }));
    const result = probeTokenLifetimes(watched, settings.tokenTtlDays, environment.kubectl);
    const warning = uncheckedLifetimesWarning(result.unchecked);
    if (warning) environment.warn?.(warning);
    return result.problems;
}

type ImportRoot = (ca: CaConfig, keyPem: string, paths: { ca: string; key: string }) => CaConfig;

/**
 * A federated mesh's own roots: each imported root is checked with its key (`caKeyPems.<cluster>`),
 * each existing root on its own; files are read once and their PEMs kept in the config.
 */
function loadFederatedRoots(
    config: MeshConfig,
    raw: Record<string, unknown>,
    environment: ProgramEnvironment,
    importRoot: ImportRoot,
): { config: MeshConfig; keys: Record<string, string>; problems: ConfigProblem[] } {
    const rawKeys = raw.caKeyPems !== null && typeof raw.caKeyPems === "object" ? (raw.caKeyPems as Obj) : {};
    const keys: Record<string, string> = {};
    const problems: ConfigProblem[] = [];
    const clusters = config.clusters.map((cluster, index): ClusterConfig => {
        const own = cluster.ca;
        const path = `clusters[${index}].ca`;
        const key = optionalString(rawKeys[cluster.name]);
        if (cluster.role !== "primary" || !own) return cluster;
        if (own.mode === "import" && key !== undefined) {
            keys[cluster.name] = key;
            const checked = importRoot(federatedRootCaConfig(config, cluster), key, {
                ca: path,
                key: `caKeyPems.${cluster.name}`,
            });
            return { ...cluster, ca: { ...own, certPem: checked.certPem, certFile: checked.certFile } };
        }
        if (own.mode === "existing") {
            const read = readExistingRoot(own, path, environment);
            problems.push(...read.problems);
            return read.pem ? { ...cluster, ca: { ...own, rootCertPem: read.pem, rootCertFile: undefined } } : cluster;
        }
        return cluster;
    });
    return { config: { ...config, clusters }, keys, problems };
}

/** The public root of a cluster that keeps its CA, from `rootCertPem` or `rootCertFile`, checked. */
function readExistingRoot(
    own: ClusterCaConfig,
    path: string,
    environment: ProgramEnvironment,
): { pem?: string; problems: ConfigProblem[] } {
    if (own.rootCertPem) {
        return {
            pem: own.rootCertPem,
            problems: validateExistingRoot(own.rootCertPem, { now: environment.now, certPath: `${path}.rootCertPem` }),
        };
    }
    if (!own.rootCertFile) return { problems: [] };
    try {
        const pem = environment.readFile(own.rootCertFile);
        return { pem, problems: validateExistingRoot(pem, { now: environment.now, certPath: `${path}.rootCertFile` }) };
    } catch (err) {
        return {
            problems: [
                {
                    path: `${path}.rootCertFile`,
                    message: `cannot read ${own.rootCertFile}: ${(err as Error).message}.`,
                    fix: `point ${path}.rootCertFile at the cluster's root certificate PEM, or paste it into ${path}.rootCertPem.`,
                },
            ],
        };
    }
}

/** Pulumi.yaml gives the optional secret keys an empty default (so they stay optional): empty = unset. */
function optionalString(value: unknown): string | undefined {
    return typeof value === "string" && value !== "" ? value : undefined;
}
