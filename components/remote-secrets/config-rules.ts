/**
 * The remote-secret credential's own config rules: `remoteSecrets.tokenMode`, its lifetime keys
 * (`tokenTtlDays`, `renewBeforeDays`) and `readerAccounts`. The schema already refuses unknown
 * modes and non-integers; these rules refuse combinations that would misbehave on `pulumi up`.
 */
import { ConfigProblem } from "../config/config";
import { ConfigRuleContext, int, isObj, str } from "../config/rule-context";

/** Schema defaults of the lifetime keys (kept here so the rule can tell "left alone" from "set"). */
const DEFAULT_TOKEN_TTL_DAYS = 90;
const DEFAULT_RENEW_BEFORE_DAYS = 30;

/** A count of days the schema accepts; anything else the schema already reports, once. */
const days = (v: number | undefined): number | undefined =>
    v !== undefined && Number.isInteger(v) && v >= 1 ? v : undefined;

/**
 * `tokenTtlDays` and `renewBeforeDays`. With `tokenRequest`, the renewal window must be shorter
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
        for (const [key, value, def] of [
            ["tokenTtlDays", ttl, DEFAULT_TOKEN_TTL_DAYS],
            ["renewBeforeDays", renew, DEFAULT_RENEW_BEFORE_DAYS],
        ] as const) {
            if (value !== undefined && value !== def) {
                problems.push({
                    path: `remoteSecrets.${key}`,
                    message: `${value} has no effect with remoteSecrets.tokenMode serviceAccountTokenSecret: that token never expires.`,
                    fix: `pulumi config rm the key (or set remoteSecrets.${key} to ${def}); it applies to tokenMode tokenRequest only.`,
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
 * What this version can build. `tokenRequest` is a declared mode (so its keys validate and its
 * renewal logic is tested), but the step that mints the token is not built yet; refusing it here
 * keeps a stack from planning a mesh whose credentials cannot be made.
 */
export function tokenModeAvailabilityRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const rs = isObj(ctx.data.remoteSecrets) ? ctx.data.remoteSecrets : undefined;
    if (str(rs, "tokenMode") !== "tokenRequest") return [];
    return [
        {
            path: "remoteSecrets.tokenMode",
            message: "tokenRequest is not available in this version: the step that mints the token is not built yet.",
            fix: "Use remoteSecrets.tokenMode serviceAccountTokenSecret (the default) for now; see docs/security.md.",
        },
    ];
}
