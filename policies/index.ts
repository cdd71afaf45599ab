/**
 * Entry point of the pack (`pulumi preview --policy-pack policies`). Constructing the pack starts
 * its analyzer server and prints the port for the CLI, so this file does nothing else; the
 * policies live in rules.ts, which tests import directly.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT, policies } from "./rules";

new PolicyPack("istio-multicluster-guardrails", { policies, enforcementLevel: PACK_ENFORCEMENT });
