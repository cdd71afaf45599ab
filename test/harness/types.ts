/** Shapes shared by the harness modules (see index.ts for the API). */

/** One resource registration (or `.get()` read) as the engine would have seen it. */
export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    /** Parent URN, or "" for top-level resources (there is no Stack resource under mocks). */
    parent: string;
    custom: boolean;
    remote: boolean;
    /** Provider reference `<provider urn>::<provider id>`, or "" (default provider). */
    provider: string;
    /** Pulumi name of the provider resource, e.g. `cluster1-k8s`. */
    providerName?: string;
    /** For kubernetes resources: the provider name minus `-k8s`. */
    cluster?: string;
    /** URNs from `dependsOn` plus the dependencies of every input. */
    dependencies: string[];
    /** Per input key, the URNs it depends on. */
    propertyDependencies: Record<string, string[]>;
    /** Inputs with all secrets unwrapped. */
    inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** Top-level input keys that arrived secret-wrapped. */
    secretPaths: string[];
    protect: boolean;
    additionalSecretOutputs: string[];
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
    /** Set for `.get()` reads: the id that was read. */
    readId?: string;
    /** Where the program constructed the resource, as the SDK reports it to the engine. */
    sourcePosition?: { uri: string; line: number };
}

/** Options of one mocked run. */
export interface MockOptions {
    /** Stack config keys WITHOUT the project namespace, e.g. `{ clusters: [...] }`; non-strings are JSON-encoded. */
    config?: Record<string, unknown>;
    /** Config keys (without namespace) to mark secret. */
    secretConfigKeys?: string[];
    /** Run as `pulumi preview`. */
    preview?: boolean;
    /** Stack name; default `test`. */
    stack?: string;
    /** Per cluster: the load-balancer ingress of the `istio-system/istio-eastwestgateway` Service. */
    gatewayAddresses?: Record<string, { ip?: string; hostname?: string }>;
    /** Answers `command:local:Command`: its `stdout`. */
    commandStdout?: (args: { name: string; inputs: any }) => string; // eslint-disable-line @typescript-eslint/no-explicit-any
    /**
     * Simulated provider latency: milliseconds each registration of this type takes before the
     * mock answers (the benchmark's "slow provider" mode). Default: answer at once.
     */
    latency?: (type: string) => number;
    /**
     * Answer `tls:` resources with the same keys and certificates as an earlier run in this
     * process when their name and inputs are the same, as the engine keeps unchanged resources.
     * Lets two runs be compared input by input (plan diffs). Default: fresh certificates per run.
     */
    stableTls?: boolean;
    /**
     * The clock of the mocked API servers and of the token request provider's check (TokenRequest
     * tokens are minted at this instant). Default 2026-01-01T00:00:00Z, so runs are comparable.
     * When set, the program's own `Date` reads it too for the run (frozen), as one machine has one clock.
     */
    now?: Date;
    /**
     * Per token request resource name, its state after an earlier run (as {@link tokenRequestState}
     * answered it): the provider's check then sees those recorded inputs, as it does on a second
     * `pulumi up`, and the engine's steps follow (see {@link tokenRequestState}).
     */
    previousTokenRequests?: Record<string, Record<string, unknown>>;
}
