import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
    holderReaderAccountName,
    holderReaderResourceName,
    holderReaderTokenSecretName,
    READER_SERVICE_ACCOUNT,
    READER_TOKEN_SECRET,
    readerClusterRoleName,
} from "../../components/plan/naming";
import { tokenRenewalDecision } from "../../components/remote-secrets/token-renewal";

fc.configureGlobal({ seed: 19 });

const LIFETIME = { ttlDays: 90, renewBeforeDays: 30 };
const NOW = new Date("2026-12-04T12:00:00.000Z");
const DAY = 86_400_000;
const inDays = (d: number) => new Date(NOW.getTime() + d * DAY).toISOString();

describe("tokenRenewalDecision", () => {
    it("mints when no expiry is recorded, or the recorded one cannot be read", () => {
        for (const expiresAt of [undefined, "soon"]) {
            const d = tokenRenewalDecision({ source: "cluster2", expiresAt }, LIFETIME, NOW);
            assert.equal(d.action, "mint");
            assert.match(
                d.action === "mint" ? d.reason : "",
                /reader token of cluster2 has no recorded expiry.*90 days/,
            );
        }
    });

    it("keeps a token outside its window and says when the window opens", () => {
        const d = tokenRenewalDecision({ source: "cluster2", expiresAt: inDays(31) }, LIFETIME, NOW);
        assert.deepEqual(d, { action: "keep", expiresAt: inDays(31), renewFrom: inDays(1) });
    });

    it("renews from exactly renewBeforeDays before expiry, naming the clusters and the date", () => {
        const d = tokenRenewalDecision(
            { source: "cluster2", holder: "cluster1", expiresAt: inDays(30) },
            LIFETIME,
            NOW,
        );
        assert.equal(d.action, "renew");
        if (d.action !== "renew") return;
        assert.equal(d.expired, false);
        assert.equal(
            d.reason,
            `the reader token of cluster2 held by cluster1 expires on ${inDays(30)}, inside its 30-day renewal window; ` +
                "minting a new one valid for 90 days.",
        );
    });

    it("renews an expired token and says it has expired", () => {
        const d = tokenRenewalDecision({ source: "cluster3", expiresAt: inDays(0) }, LIFETIME, NOW);
        assert.equal(d.action === "renew" && d.expired, true);
        assert.match(d.action === "renew" ? d.reason : "", /cluster3 expired on 2026-12-04T12:00:00\.000Z/);
    });

    it("renews exactly when now is at or past expiry - renewBeforeDays (property)", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 2, max: 400 }),
                fc.integer({ min: 1, max: 399 }),
                fc.integer({ min: -500, max: 500 }),
                (ttl, renewRaw, offsetDays) => {
                    const lifetime = { ttlDays: ttl, renewBeforeDays: Math.min(renewRaw, ttl - 1) };
                    const d = tokenRenewalDecision({ source: "c", expiresAt: inDays(offsetDays) }, lifetime, NOW);
                    assert.equal(d.action, offsetDays <= lifetime.renewBeforeDays ? "renew" : "keep");
                },
            ),
        );
    });
});

describe("reader account naming (readerAccounts perHolder)", () => {
    it("derives every name from the holder alone, apart from the chart's shared account", () => {
        assert.equal(holderReaderAccountName("cluster1"), "istio-reader-for-cluster1");
        assert.equal(holderReaderTokenSecretName("cluster1"), "istio-reader-for-cluster1-token");
        assert.equal(holderReaderResourceName("cluster2", "account", "cluster1"), "cluster2-reader-account-cluster1");
        // A primary named like the chart's account still gets its own objects.
        assert.notEqual(holderReaderAccountName("service-account"), READER_SERVICE_ACCOUNT);
        assert.notEqual(holderReaderTokenSecretName("service-account"), READER_TOKEN_SECRET);
    });

    it("gives distinct holders distinct accounts and resource names (property)", () => {
        const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,20}[a-z0-9])?$/);
        fc.assert(
            fc.property(label, label, label, (source, a, b) => {
                fc.pre(a !== b);
                assert.notEqual(holderReaderAccountName(a), holderReaderAccountName(b));
                assert.notEqual(
                    holderReaderResourceName(source, "token", a),
                    holderReaderResourceName(source, "token", b),
                );
            }),
        );
    });

    it("binds to the ClusterRole the istiod chart renders (1.29.6 and 1.30.3: reader-clusterrole.yaml)", () => {
        assert.equal(readerClusterRoleName(), "istio-reader-clusterrole-istio-system");
        assert.equal(readerClusterRoleName("1-30-3"), "istio-reader-clusterrole-1-30-3-istio-system");
    });
});
