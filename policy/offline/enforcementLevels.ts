// Enforcement levels as the Pulumi CLI applies them (pulumi pkg/resource/analyzer/config.go,
// node_modules/@pulumi/policy/server.js): effective level = config[policy].enforcementLevel ||
// config.all || policy level || pack level; "remediate" counts as mandatory (the offline runner never
// remediates), "disabled" skips the policy.

import type { EnforcementLevel, PolicyPackConfig } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL } from "../policies";

/** Every level a policy config may name, in the order error messages list them. */
export const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

export function isLevel(v: unknown): v is EnforcementLevel {
    return typeof v === "string" && (LEVELS as readonly string[]).includes(v);
}

/** The level a policy runs at under `config` (CLI order), "remediate" folded into "mandatory". */
export function effectiveLevel(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: PolicyPackConfig): "mandatory" | "advisory" | "disabled" {
    const own = config[policy.name];
    const all = config.all;
    const level =
        (typeof own === "string" ? own : own?.enforcementLevel) ||
        (typeof all === "string" ? all : all?.enforcementLevel) ||
        policy.enforcementLevel ||
        (PACK_ENFORCEMENT_LEVEL as EnforcementLevel);
    return level === "remediate" ? "mandatory" : level;
}
