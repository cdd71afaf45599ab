/**
 * When a reader token with an expiry (`remoteSecrets.tokenMode: tokenRequest`) must be re-minted,
 * and what `pulumi up` says about it. Pure: the clock is an argument, so the same inputs give the
 * same decision in a preview, in an up and in a test.
 *
 * The token request provider's check (`token-request.ts`) asks {@link tokenRenewalDecision} on
 * every run; a `renew` moves the token's issue time, and its reason is what the preview warns.
 */

const MS_PER_DAY = 86_400_000;

/** What is known about one reader token before the run. */
export interface ReaderTokenState {
    /** Watched cluster whose API server the token authenticates to. */
    source: string;
    /** Primary whose remote secret carries the token (`readerAccounts: perHolder`); absent when shared. */
    holder?: string;
    /** Expiry of the token now in use (RFC 3339), as recorded in state; absent before the first mint. */
    expiresAt?: string;
}

/** The lifetime settings (`remoteSecrets.tokenTtlDays`, `remoteSecrets.renewBeforeDays`). */
export interface TokenLifetime {
    /** Lifetime of a freshly minted token, in days. */
    ttlDays: number;
    /** Days before expiry from which a run re-mints. Smaller than `ttlDays` (a config rule checks). */
    renewBeforeDays: number;
}

/** The outcome for one token. */
export type TokenRenewalDecision =
    | {
          /** Keep the token: it is outside its renewal window. */
          action: "keep";
          /** Its expiry (RFC 3339). */
          expiresAt: string;
          /** The first instant at which a run will re-mint it (RFC 3339). */
          renewFrom: string;
      }
    | {
          /** No token yet (first run, or the state lost its expiry): mint one. */
          action: "mint";
          /** Why, in words the preview shows. */
          reason: string;
      }
    | {
          /** Inside the renewal window, or already expired: mint a new one now. */
          action: "renew";
          /** Why, in words the preview shows. */
          reason: string;
          /** Expiry of the token being replaced (RFC 3339). */
          expiresAt: string;
          /** True when the old token no longer authenticates. */
          expired: boolean;
      };

/** "the reader token of cluster2" or "… of cluster2 held by cluster1": how messages name a token. */
export function describeReaderToken(token: Pick<ReaderTokenState, "source" | "holder">): string {
    return token.holder
        ? `the reader token of ${token.source} held by ${token.holder}`
        : `the reader token of ${token.source}`;
}

/**
 * Keep or re-mint one token. A token is re-minted from `renewBeforeDays` before its expiry on;
 * an unparsable expiry counts as unknown, so the run mints rather than trusting it.
 */
export function tokenRenewalDecision(
    token: ReaderTokenState,
    lifetime: TokenLifetime,
    now: Date,
): TokenRenewalDecision {
    const end = token.expiresAt === undefined ? NaN : Date.parse(token.expiresAt);
    if (Number.isNaN(end)) {
        return {
            action: "mint",
            reason: `${describeReaderToken(token)} has no recorded expiry; minting one valid for ${lifetime.ttlDays} days.`,
        };
    }
    const expiresAt = new Date(end).toISOString();
    const renewFromMs = end - lifetime.renewBeforeDays * MS_PER_DAY;
    if (now.getTime() < renewFromMs) {
        return { action: "keep", expiresAt, renewFrom: new Date(renewFromMs).toISOString() };
    }
    const expired = now.getTime() >= end;
    return {
        action: "renew",
        reason: `${renewalCause(token, expiresAt, expired, lifetime)}; minting a new one valid for ${lifetime.ttlDays} days.`,
        expiresAt,
        expired,
    };
}

/** "the reader token of X expires on D, inside its N-day renewal window" (or "expired on D"). */
function renewalCause(token: ReaderTokenState, expiresAt: string, expired: boolean, lifetime: TokenLifetime): string {
    const when = expired
        ? `expired on ${expiresAt}`
        : `expires on ${expiresAt}, inside its ${lifetime.renewBeforeDays}-day renewal window`;
    return `${describeReaderToken(token)} ${when}`;
}
