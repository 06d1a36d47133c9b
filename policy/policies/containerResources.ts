import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, podBearing, resolveConfig } from "./k8s";

export interface ContainerResourcesConfig {
    /** Also require limits.cpu (off by default: CPU limits throttle latency-sensitive data services). */
    requireCpuLimit: boolean;
}

const configSchema: PolicyConfigSchema = {
    properties: {
        requireCpuLimit: {
            type: "boolean",
            default: false,
            description: "Also require a CPU limit on every container.",
        },
    },
};

function present(v: unknown): boolean {
    return (typeof v === "string" && v.trim() !== "") || typeof v === "number";
}

/**
 * Every container and init container declares CPU and memory requests (so the scheduler can place
 * it) and a memory limit (so one runaway data service cannot OOM its node's neighbours).
 * Ephemeral containers are exempt: Kubernetes does not allow resources on them.
 */
export const containerResources: ResourceValidationPolicy = {
    name: "container-resources",
    description: "Every container and init container sets CPU and memory requests and a memory limit.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) => {
        const target = podBearing(args.type, args.props);
        if (!target) {
            return;
        }
        const { podSpec } = target;
        const cfg = resolveConfig<ContainerResourcesConfig>(configSchema, () => args.getConfig());
        for (const ref of containersOf(podSpec, ["container", "initContainer"])) {
            const missing: string[] = [];
            if (!present(at(ref.c, "resources", "requests", "cpu"))) {
                missing.push("requests.cpu");
            }
            if (!present(at(ref.c, "resources", "requests", "memory"))) {
                missing.push("requests.memory");
            }
            if (!present(at(ref.c, "resources", "limits", "memory"))) {
                missing.push("limits.memory");
            }
            if (cfg.requireCpuLimit && !present(at(ref.c, "resources", "limits", "cpu"))) {
                missing.push("limits.cpu");
            }
            if (missing.length > 0) {
                reportViolation(
                    message(describeContainer(ref), [`missing resources ${missing.join(", ")}`], [`set resources.${missing.join(", resources.")} on the container`]),
                );
            }
        }
    },
};
