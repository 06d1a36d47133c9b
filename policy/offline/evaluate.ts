// Evaluation: maps manifests to the argument objects the Pulumi CLI's analyzer builds and runs the very
// same policy objects (validateResource / validateStack) on them, with the config's levels and knobs.
// Parity with the CLI (node_modules/@pulumi/policy/server.js):
// - getConfig() returns the schema defaults overridden by the policy's config, minus enforcementLevel;
// - props are wrapped in the unknown-checking proxy of unknownValues.ts;
// - a policy that touches an unknown value yields an advisory "can't run ... during preview".

import type {
    Policies,
    PolicyPackConfig,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PACK_NAME, policies as packPolicies } from "../policies";
import { resolveConfig } from "../policies/k8s";
import { namespaceOf, parseType, rec, typeToken } from "../reading/objects";
import { isUnknownValueError } from "../reading/unknowns";
import { effectiveLevel } from "./enforcementLevels";
import { flatten } from "./manifests";
import { validatePolicyConfig } from "./policyConfig";
import type { Violation } from "./report";
import { copyForPolicies, unknownCheckingProxy } from "./unknownValues";

class NotApplicable extends Error {}

const NO_OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

interface Entry {
    type: string;
    kind: string;
    namespace: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
}

function toEntries(manifests: object[]): Entry[] {
    const flat: object[] = [];
    manifests.forEach((m, i) => flatten(m, "<manifests>", `object ${i + 1}`, flat));
    return flat.map((m) => {
        const obj = m as Record<string, unknown>;
        const kind = obj.kind as string;
        const type = typeToken(obj.apiVersion as string, kind);
        const namespace = namespaceOf(obj, kind);
        const name = rec(obj.metadata)!.name as string;
        const literals = new WeakMap<object, Set<string>>();
        const props = copyForPolicies(obj, literals) as Record<string, unknown>;
        return {
            type,
            kind,
            namespace,
            name,
            urn: `urn:pulumi:offline::manifests::${type}::${namespace}/${name}`,
            props: unknownCheckingProxy(props, literals),
        };
    });
}

function isTypeFn(type: string) {
    return (cls: unknown): boolean => (cls as { __pulumiType?: string } | undefined)?.__pulumiType === type;
}

/**
 * Runs every resource and stack policy of the pack on the manifests, with the config's levels and
 * knobs; disabled policies are skipped. Violations come grouped by object (input order), then
 * namespace-level stack findings.
 */
export async function evaluate(manifests: object[], config: PolicyPackConfig = {}, policyList: Policies = packPolicies): Promise<Violation[]> {
    validatePolicyConfig(config, "policy config", policyList);
    const entries = toEntries(manifests);
    const byUrn = new Map<string, number>();
    entries.forEach((e, i) => {
        if (!byUrn.has(e.urn)) {
            byUrn.set(e.urn, i);
        }
    });
    const found: Array<{ order: number; v: Violation }> = [];
    const stackTags: ReadonlyMap<string, string> = new Map();
    const notApplicable = (reason?: string): never => {
        throw new NotApplicable(reason);
    };

    for (const policy of policyList) {
        const level = effectiveLevel(policy, config);
        if (level === "disabled") {
            continue;
        }
        const getConfig = <T extends object>(): T => resolveConfig<T>(policy.configSchema ?? { properties: {} }, () => {
            const c = config[policy.name];
            return typeof c === "object" && c !== null ? c : {};
        });
        const push = (order: number, v: Omit<Violation, "enforcementLevel" | "policyName">) => {
            found.push({ order, v: { enforcementLevel: level, policyName: policy.name, ...v } });
        };
        const run = async (fn: () => Promise<void> | void, order: number, where: Omit<Violation, "enforcementLevel" | "policyName" | "message">) => {
            try {
                await fn();
            } catch (e) {
                if (e instanceof NotApplicable) {
                    return;
                }
                if (isUnknownValueError(e)) {
                    found.push({
                        order,
                        v: { enforcementLevel: "advisory", policyName: policy.name, ...where, message: `can't run policy '${policy.name}' from policy pack '${PACK_NAME}' during preview: ${e.message}` },
                    });
                    return;
                }
                throw new Error(`policy ${policy.name} failed on ${where.kind} ${where.namespace}/${where.name}: ${(e as Error).stack ?? e}`);
            }
        };

        if ("validateStack" in policy) {
            const stackPolicy = policy as StackValidationPolicy;
            const resources: PolicyResource[] = entries.map((e) => ({
                type: e.type,
                props: e.props,
                urn: e.urn,
                name: e.name,
                opts: NO_OPTS,
                dependencies: [],
                propertyDependencies: {},
                isType: isTypeFn(e.type) as PolicyResource["isType"],
                asType: ((cls: unknown) => (isTypeFn(e.type)(cls) ? e.props : undefined)) as PolicyResource["asType"],
            }));
            const args: StackValidationArgs = { resources, getConfig, stackTags, notApplicable };
            const report: ReportViolation = (message: string, urn?: string) => {
                const idx = urn === undefined ? undefined : byUrn.get(urn);
                if (idx !== undefined) {
                    const e = entries[idx];
                    push(idx, { kind: e.kind, namespace: e.namespace, name: e.name, message });
                } else if (urn !== undefined) {
                    const [, type = "", nsName = ""] = urn.split("::").slice(2);
                    const slash = nsName.indexOf("/");
                    push(entries.length, { kind: parseType(type)?.kind ?? type, namespace: nsName.slice(0, Math.max(slash, 0)), name: nsName.slice(slash + 1), message });
                } else {
                    // Not tied to one object: namespace from a leading `namespace "<ns>"`, name "-".
                    const ns = /^namespace "([^"]*)"/.exec(message)?.[1];
                    push(entries.length, { kind: ns !== undefined ? "Namespace" : "Stack", namespace: ns ?? "", name: "-", message });
                }
            };
            await run(() => stackPolicy.validateStack(args, report), entries.length, { kind: "Stack", namespace: "", name: "-" });
            continue;
        }

        const resourcePolicy = policy as ResourceValidationPolicy;
        const validations: ResourceValidation[] = Array.isArray(resourcePolicy.validateResource)
            ? resourcePolicy.validateResource
            : resourcePolicy.validateResource
              ? [resourcePolicy.validateResource]
              : [];
        for (const [i, e] of entries.entries()) {
            const args: ResourceValidationArgs = {
                type: e.type,
                props: e.props,
                urn: e.urn,
                name: e.name,
                opts: NO_OPTS,
                stackTags,
                isType: isTypeFn(e.type) as ResourceValidationArgs["isType"],
                asType: ((cls: unknown) => (isTypeFn(e.type)(cls) ? e.props : undefined)) as ResourceValidationArgs["asType"],
                getConfig,
                notApplicable,
            };
            const where = { kind: e.kind, namespace: e.namespace, name: e.name };
            const report: ReportViolation = (message: string) => push(i, { ...where, message });
            for (const validate of validations) {
                await run(() => validate(args, report), i, where);
            }
        }
    }
    // Stable: by object, then policy order, then report order.
    return found
        .map((f, seq) => ({ ...f, seq }))
        .sort((a, b) => a.order - b.order || a.seq - b.seq)
        .map((f) => f.v);
}
