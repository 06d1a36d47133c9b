import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { at, kindOf, message, resolveConfig, str } from "./k8s";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface NamespacePodSecurityConfig {
    /** Minimum Pod Security Standard for the enforce, audit and warn labels. */
    level: PodSecurityLevel;
}

/** Pod Security Standards from least to most strict. */
export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = ["privileged", "baseline", "restricted"];

const configSchema: PolicyConfigSchema = {
    properties: {
        level: {
            type: "string",
            enum: [...POD_SECURITY_LEVELS],
            default: "restricted",
            description: "Minimum Pod Security Standard required on the enforce, audit and warn labels (privileged < baseline < restricted).",
        },
    },
};

const MODES = ["enforce", "audit", "warn"];

/**
 * Namespaces carry the Pod Security Admission labels pod-security.kubernetes.io/{enforce,audit,warn}
 * at the configured level or stricter, so the API server itself rejects (enforce), logs (audit)
 * and reports (warn) pods that break the standard, independently of this policy pack.
 */
export const namespacePodSecurityLabels: ResourceValidationPolicy = {
    name: "namespace-pod-security-labels",
    description: "Namespaces set the Pod Security Admission enforce, audit and warn labels at the configured level or stricter.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) => {
        if (!kindOf(args.type, "Namespace")) {
            return;
        }
        const cfg = resolveConfig<NamespacePodSecurityConfig>(configSchema, () => args.getConfig());
        const required = POD_SECURITY_LEVELS.indexOf(cfg.level);
        const labels = at(args.props, "metadata", "labels");
        const problems: string[] = [];
        for (const mode of MODES) {
            const key = `pod-security.kubernetes.io/${mode}`;
            const value = str(at(labels, key));
            if (value === undefined) {
                problems.push(`label ${key} is missing`);
            } else if (POD_SECURITY_LEVELS.indexOf(value as PodSecurityLevel) < 0) {
                problems.push(`label ${key}=${value} is not a Pod Security level`);
            } else if (POD_SECURITY_LEVELS.indexOf(value as PodSecurityLevel) < required) {
                problems.push(`label ${key}=${value} is weaker than ${cfg.level}`);
            }
        }
        if (problems.length > 0) {
            const wanted = MODES.map((m) => `pod-security.kubernetes.io/${m}: ${cfg.level}`).join(", ");
            reportViolation(message("namespace", problems, [`set the labels ${wanted} (a stricter level is fine)`]));
        }
    },
};
