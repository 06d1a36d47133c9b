import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, podBearing, resolveConfig } from "./k8s";
import { parseQuantity, withUnknowns } from "../reading";

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

type Check = "requests.cpu" | "requests.memory" | "limits.memory" | "limits.cpu";

/** "missing", "zero" or "ok" for one quantity (a zero limit means no limit; a zero request reserves nothing). */
function state(v: unknown): "missing" | "zero" | "ok" {
    if (!((typeof v === "string" && v.trim() !== "") || typeof v === "number")) {
        return "missing";
    }
    const q = parseQuantity(v);
    return q !== undefined && q <= 0 ? "zero" : "ok";
}

/**
 * Every container, init container and sidecar declares CPU and memory requests (so the scheduler can
 * place it) and a memory limit (so one runaway data service cannot OOM its node's neighbours); a zero
 * value counts as missing (a zero memory limit is no limit). Pod-level resources (`spec.resources`,
 * Kubernetes 1.32+) cover the containers that do not set their own. Ephemeral containers are exempt:
 * Kubernetes does not allow resources on them.
 */
export const containerResources: ResourceValidationPolicy = {
    name: "container-resources",
    description: "Every container and init container sets CPU and memory requests and a memory limit.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const target = podBearing(args.type, args.props);
            if (!target) {
                return;
            }
            const { podSpec } = target;
            const cfg = resolveConfig<ContainerResourcesConfig>(configSchema, () => args.getConfig());
            const checks: Check[] = ["requests.cpu", "requests.memory", "limits.memory", ...(cfg.requireCpuLimit ? (["limits.cpu"] as Check[]) : [])];
            const podLevel = (c: Check) => unknowns.read(() => state(at(podSpec, "resources", ...c.split("."))), "missing");
            for (const ref of containersOf(podSpec, ["container", "initContainer"])) {
                unknowns.run(() => {
                    const missing: string[] = [];
                    const zero: string[] = [];
                    for (const c of checks) {
                        const s = state(at(ref.c, "resources", ...c.split(".")));
                        if (s === "zero") {
                            zero.push(c);
                        } else if (s === "missing" && podLevel(c) !== "ok") {
                            missing.push(c);
                        }
                    }
                    const problems: string[] = [];
                    if (missing.length > 0) {
                        problems.push(`missing resources ${missing.join(", ")}`);
                    }
                    if (zero.length > 0) {
                        problems.push(`resources ${zero.join(", ")} ${zero.length === 1 ? "is" : "are"} 0 (no reservation, or no limit)`);
                    }
                    if (problems.length > 0) {
                        const fix = [...missing, ...zero];
                        reportViolation(message(describeContainer(ref), problems, [`set resources.${fix.join(", resources.")} on the container to non-zero values`]));
                    }
                });
            }
        }),
};
