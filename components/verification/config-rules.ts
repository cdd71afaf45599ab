/**
 * The verification's own config rules: where its helloworld and curl workloads run, and with
 * which images.
 */
import { ConfigProblem } from "../config/config";
import { ConfigRuleContext, isObj, str } from "../config/rule-context";
import { isDns1123Label } from "../config/config-validation";

/** `verification.namespace` and its images. */
export function verificationRules(ctx: ConfigRuleContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const ver = isObj(ctx.data.verification) ? ctx.data.verification : undefined;
    const ns = str(ver, "namespace");
    if (ns !== undefined && (!isDns1123Label(ns) || ns === "istio-system" || ns === "kube-system")) {
        problems.push({
            path: "verification.namespace",
            message: `'${ns}' cannot hold the check's workloads (needs its own DNS-1123 label namespace).`,
            fix: "Use e.g. mesh-verify.",
        });
    }
    for (const k of ["serverImage", "clientImage"]) {
        if (str(ver, k) === "")
            problems.push({
                path: `verification.${k}`,
                message: "Must not be empty.",
                fix: `Remove it to use the default.`,
            });
    }
    return problems;
}
