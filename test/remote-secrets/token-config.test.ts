import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateMeshConfig } from "../../components/mesh/validate-config";

type Raw = Record<string, unknown>;

/** A valid two-primary mesh; `remoteSecrets` as given. */
function withRemoteSecrets(remoteSecrets?: Raw): Raw {
    return {
        clusters: [
            { name: "cluster1", network: "network1", apiServer: "https://10.0.0.1:6443" },
            { name: "cluster2", network: "network1", apiServer: "https://10.0.0.2:6443" },
        ],
        ...(remoteSecrets ? { remoteSecrets } : {}),
    };
}

function problemsAt(raw: Raw, path: string): string[] {
    return validateMeshConfig(raw)
        .problems.filter((p) => p.path === path)
        .map((p) => `${p.message} ${p.fix ?? ""}`);
}

describe("remoteSecrets token keys", () => {
    it("default to today's behaviour: a legacy token, 90/30 days, one shared reader account", () => {
        const { config, problems } = validateMeshConfig(withRemoteSecrets());
        assert.deepEqual(problems, []);
        assert.equal(config?.remoteSecrets.tokenMode, "serviceAccountTokenSecret");
        assert.equal(config?.remoteSecrets.tokenTtlDays, 90);
        assert.equal(config?.remoteSecrets.renewBeforeDays, 30);
        assert.equal(config?.remoteSecrets.readerAccounts, "shared");
    });

    it("accept the defaults written out, as Pulumi.yaml's default object does", () => {
        const raw = withRemoteSecrets({
            tokenMode: "serviceAccountTokenSecret",
            layout: "perSource",
            tokenTtlDays: 90,
            renewBeforeDays: 30,
            readerAccounts: "shared",
        });
        assert.deepEqual(validateMeshConfig(raw).problems, []);
    });

    it("refuse an unknown tokenMode and readerAccounts in the schema, naming the allowed values", () => {
        const raw = withRemoteSecrets({ tokenMode: "oidc", readerAccounts: "perPrimary" });
        const { config, problems } = validateMeshConfig(raw);
        assert.equal(config, undefined);
        const mode = problems.find((p) => p.path === "remoteSecrets.tokenMode");
        const accounts = problems.find((p) => p.path === "remoteSecrets.readerAccounts");
        assert.match(`${mode?.message} ${mode?.fix}`, /serviceAccountTokenSecret/);
        assert.match(`${mode?.message} ${mode?.fix}`, /tokenRequest/);
        assert.match(`${accounts?.message} ${accounts?.fix}`, /perHolder/);
    });

    it("refuse a non-integer or zero lifetime", () => {
        assert.equal(problemsAt(withRemoteSecrets({ tokenTtlDays: 0 }), "remoteSecrets.tokenTtlDays").length, 1);
        assert.equal(
            problemsAt(withRemoteSecrets({ renewBeforeDays: 1.5 }), "remoteSecrets.renewBeforeDays").length,
            1,
        );
    });

    it("refuse lifetime keys other than the default with serviceAccountTokenSecret (they would do nothing)", () => {
        const raw = withRemoteSecrets({ tokenTtlDays: 7, renewBeforeDays: 2 });
        const { config } = validateMeshConfig(raw);
        assert.equal(config, undefined);
        const [ttl] = problemsAt(raw, "remoteSecrets.tokenTtlDays");
        const [renew] = problemsAt(raw, "remoteSecrets.renewBeforeDays");
        assert.match(ttl, /7 has no effect with remoteSecrets\.tokenMode serviceAccountTokenSecret/);
        assert.match(ttl, /tokenRequest only/);
        assert.match(renew, /2 has no effect/);
    });

    it("refuse a renewal window not shorter than the lifetime with tokenRequest, in the same round as the mode", () => {
        for (const [ttl, renew] of [
            [30, 30],
            [10, 30],
        ]) {
            const raw = withRemoteSecrets({ tokenMode: "tokenRequest", tokenTtlDays: ttl, renewBeforeDays: renew });
            const [p] = problemsAt(raw, "remoteSecrets.renewBeforeDays");
            assert.match(p, new RegExp(`${renew} days is not shorter than remoteSecrets.tokenTtlDays ${ttl}`));
            assert.match(p, /Make remoteSecrets\.renewBeforeDays smaller/);
        }
        const ok = withRemoteSecrets({ tokenMode: "tokenRequest", tokenTtlDays: 31, renewBeforeDays: 30 });
        assert.deepEqual(problemsAt(ok, "remoteSecrets.renewBeforeDays"), []);
    });

    it("accept tokenRequest with its defaults (90 and 30 days)", () => {
        const { config, problems } = validateMeshConfig(withRemoteSecrets({ tokenMode: "tokenRequest" }));
        assert.deepEqual(problems, []);
        assert.equal(config?.remoteSecrets.tokenMode, "tokenRequest");
        assert.equal(config?.remoteSecrets.tokenTtlDays, 90);
        assert.equal(config?.remoteSecrets.renewBeforeDays, 30);
    });

    it("refuse a lifetime the TokenRequest API never grants (more than 2^32 seconds), with both problems at once", () => {
        const raw = withRemoteSecrets({ tokenMode: "tokenRequest", tokenTtlDays: 49711, renewBeforeDays: 49711 });
        const { config, problems } = validateMeshConfig(raw);
        assert.equal(config, undefined);
        assert.deepEqual(problems.map((p) => p.path).sort(), [
            "remoteSecrets.renewBeforeDays",
            "remoteSecrets.tokenTtlDays",
        ]);
        assert.match(problemsAt(raw, "remoteSecrets.tokenTtlDays")[0], /at most 49710 days/);
        assert.deepEqual(
            problemsAt(
                withRemoteSecrets({ tokenMode: "tokenRequest", tokenTtlDays: 49710 }),
                "remoteSecrets.tokenTtlDays",
            ),
            [],
        );
    });
});
