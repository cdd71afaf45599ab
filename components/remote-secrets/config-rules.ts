/**
 * The remote-secret credential's own config rules: `remoteSecrets.tokenMode`, its lifetime keys
 * (`tokenTtlDays`, `renewBeforeDays`, `probeTokenLifetime`) and `readerAccounts`. The schema already refuses unknown
 * modes and non-integers; these rules refuse combinations that would misbehave on `pulumi up`.
 */
import { ConfigProblem } from "../config/config";
import { ConfigRuleContext, int, isObj, str } from "../config/rule-context";
import { tokenTtlDaysProblem } from "./token-request";

/** Schema defaults of the lifetime keys (kept here so the rule can tell "left alone" from "set"). */
const DEFAULT_TOKEN_TTL_DAYS = 90;
const DEFAULT_RENEW_BEFORE_DAYS = 30;

/** A count of days the schema accepts; anything else the schema already reports, once. */
const days = (v: number | undefined): number | undefined =>
    v !== undefined && Number.isInteger(v) && v >= 1 ? v : undefined;

/**
 * `tokenTtlDays`, `renewBeforeDays` and `probeTokenLifetime`. With `tokenRequest`, the renewal window must be shorter
 * than the lifetime, or every `pulumi up` would re-mint every token. With
 * `serviceAccountTokenSecret` the legacy token never expires, so a value other than the default
 * is refused rather than ignored: the operator clearly expected it to do something. (A value
 * equal to the default cannot be told apart from Pulumi.yaml's default object, so it passes.)
 */
export function tokenLifetimeRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const rs = isObj(ctx.data.remoteSecrets) ? ctx.data.remoteSecrets : undefined;
    if (!rs) return [];
    const mode = str(rs, "tokenMode");
    const ttl = days(int(rs, "tokenTtlDays"));
    const renew = days(int(rs, "renewBeforeDays"));
    const problems: ConfigProblem[] = [];
    if (mode === "serviceAccountTokenSecret") {
        const probe = typeof rs.probeTokenLifetime === "boolean" ? rs.probeTokenLifetime : undefined;
        for (const [key, value, def] of [
            ["tokenTtlDays", ttl, DEFAULT_TOKEN_TTL_DAYS],
            ["renewBeforeDays", renew, DEFAULT_RENEW_BEFORE_DAYS],
            ["probeTokenLifetime", probe, true],
        ] as const) {
            if (value !== undefined && value !== def) {
                problems.push({
                    path: `remoteSecrets.${key}`,
                    message: `${String(value)} has no effect with remoteSecrets.tokenMode serviceAccountTokenSecret: that token never expires.`,
                    fix: `pulumi config rm the key (or set remoteSecrets.${key} to ${String(def)}); it applies to tokenMode tokenRequest only.`,
                });
            }
        }
        return problems;
    }
    if (mode === "tokenRequest" && ttl !== undefined && renew !== undefined && renew >= ttl) {
        problems.push({
            path: "remoteSecrets.renewBeforeDays",
            message: `${renew} days is not shorter than remoteSecrets.tokenTtlDays ${ttl}; every pulumi up would re-mint every reader token.`,
            fix: "Make remoteSecrets.renewBeforeDays smaller than remoteSecrets.tokenTtlDays (defaults 30 and 90).",
        });
    }
    return problems;
}

/**
 * `tokenTtlDays` must be a lifetime the TokenRequest API accepts at all (10 minutes to 2^32
 * seconds). A cap the API server sets itself (`--service-account-max-token-expiration`) is not
 * in the config: the program run's lifetime probe (`token-lifetime-probe.ts`) asks each watched
 * cluster, and the mint step refuses a token granted shorter than asked.
 */
export function tokenTtlRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const rs = isObj(ctx.data.remoteSecrets) ? ctx.data.remoteSecrets : undefined;
    const ttl = days(int(rs, "tokenTtlDays"));
    if (str(rs, "tokenMode") !== "tokenRequest" || ttl === undefined) return [];
    const problem = tokenTtlDaysProblem(ttl);
    return problem
        ? [
              {
                  path: "remoteSecrets.tokenTtlDays",
                  message: `${problem}.`,
                  fix: "Set remoteSecrets.tokenTtlDays to a lifetime in that range (default 90).",
              },
          ]
        : [];
}
