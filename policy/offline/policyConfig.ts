// The policy config (the Pulumi CLI's --policy-pack-config format): reading a config file and checking
// it against the pack. Stricter than the CLI on purpose: unknown policy names and unknown knobs in the
// config are errors (the CLI ignores them silently, which hides typos).

import * as fs from "fs";
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { policies as packPolicies } from "../policies";
import { rec } from "../reading/objects";
import { isLevel, LEVELS } from "./enforcementLevels";

/** A policy config file that cannot be read, parsed or validated; `file` names it. */
export class PolicyConfigError extends Error {
    constructor(
        readonly file: string,
        detail: string,
    ) {
        super(`${file}: ${detail}`);
        this.name = "PolicyConfigError";
    }
}

function describeSchema(s: PolicyConfigJSONSchema, plural = false): string {
    if (s.enum) {
        return `${plural ? "each one of" : "one of"} ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`;
    }
    if (s.type === "array" && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        return `${plural ? "arrays" : "an array"} of ${describeSchema(s.items, true)}`;
    }
    const types = s.type === undefined ? ["value"] : Array.isArray(s.type) ? s.type : [s.type];
    const nouns = types.map((t) => (plural ? `${t}s` : `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}`)).join(" or ");
    const range = s.minimum !== undefined && s.maximum !== undefined ? ` between ${s.minimum} and ${s.maximum}` : "";
    return `${nouns}${range}`;
}

function matchesType(v: unknown, t: string): boolean {
    switch (t) {
        case "string":
            return typeof v === "string";
        case "boolean":
            return typeof v === "boolean";
        case "number":
            return typeof v === "number" && Number.isFinite(v);
        case "integer":
            return typeof v === "number" && Number.isInteger(v);
        case "array":
            return Array.isArray(v);
        case "object":
            return rec(v) !== undefined;
        case "null":
            return v === null;
        default:
            return true;
    }
}

/** Hand-checks the JSON Schema keywords our configSchemas use (type, enum, items, minimum, maximum). */
function conforms(v: unknown, s: PolicyConfigJSONSchema): boolean {
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    if (types.length > 0 && !types.some((t) => matchesType(v, t))) {
        return false;
    }
    if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
        return false;
    }
    if (typeof v === "number" && ((s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum))) {
        return false;
    }
    if (Array.isArray(v) && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        const item = s.items;
        return v.every((x) => conforms(x, item));
    }
    return true;
}

/**
 * Validates a `--policy-pack-config` object against the pack: known policy names (and "all"),
 * valid enforcement levels, knobs present in the policy's configSchema with values of the right
 * shape. Throws PolicyConfigError naming `source`, the policy, the key and what is accepted.
 */
export function validatePolicyConfig(raw: unknown, source: string, policyList: Policies = packPolicies): PolicyPackConfig {
    const cfg = rec(raw);
    if (!cfg) {
        throw new PolicyConfigError(source, "the policy config must be a JSON object of policy names");
    }
    const byName = new Map(policyList.map((p) => [p.name, p]));
    const levels = LEVELS.join(", ");
    for (const [key, val] of Object.entries(cfg)) {
        if (key === "all") {
            const level = typeof val === "string" ? val : rec(val)?.enforcementLevel;
            if (!isLevel(level)) {
                throw new PolicyConfigError(source, `"all": ${JSON.stringify(val)} is not an enforcement level (accepted: ${levels})`);
            }
            continue;
        }
        const policy = byName.get(key);
        if (!policy) {
            throw new PolicyConfigError(source, `unknown policy "${key}" (policies: ${Array.from(byName.keys()).join(", ")}; or "all")`);
        }
        if (typeof val === "string") {
            if (!isLevel(val)) {
                throw new PolicyConfigError(source, `policy "${key}": ${JSON.stringify(val)} is not an enforcement level (accepted: ${levels})`);
            }
            continue;
        }
        const obj = rec(val);
        if (!obj) {
            throw new PolicyConfigError(source, `policy "${key}": expected an enforcement level string or an object, got ${JSON.stringify(val)}`);
        }
        const props = policy.configSchema?.properties ?? {};
        for (const [k, v] of Object.entries(obj)) {
            if (k === "enforcementLevel") {
                if (!isLevel(v)) {
                    throw new PolicyConfigError(source, `policy "${key}", key "enforcementLevel": ${JSON.stringify(v)} is not accepted (accepted: ${levels})`);
                }
                continue;
            }
            const schema = props[k];
            if (!schema) {
                const accepted = Object.keys(props);
                throw new PolicyConfigError(
                    source,
                    `policy "${key}": unknown key "${k}" (accepted: ${accepted.length > 0 ? [...accepted, "enforcementLevel"].join(", ") : "enforcementLevel only, this policy has no knobs"})`,
                );
            }
            if (!conforms(v, schema)) {
                throw new PolicyConfigError(source, `policy "${key}", key "${k}": expected ${describeSchema(schema)}, got ${JSON.stringify(v)}`);
            }
        }
    }
    return cfg as PolicyPackConfig;
}

/**
 * Loads and validates a policy config file (the CLI's --policy-pack-config format). No file = {}
 * (every policy at its own level, i.e. mandatory). Throws PolicyConfigError naming the file.
 */
export function loadPolicyConfig(file?: string): PolicyPackConfig {
    if (file === undefined) {
        return {};
    }
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new PolicyConfigError(file, `cannot read: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
    }
    if (text.trim() === "") {
        return {};
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (e) {
        throw new PolicyConfigError(file, `JSON syntax error: ${(e as Error).message}`);
    }
    return validatePolicyConfig(raw, file);
}
