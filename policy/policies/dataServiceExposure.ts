import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { arr, kindOf, message, rec, recs, resolveConfig, str } from "./k8s";

export interface DataPortsConfig {
    /** Ports that identify a data service (MariaDB 3306, Redis 6379, Kafka 9092-9094). */
    dataPorts: number[];
}

/** Shared schema for policies keyed on the data ports. */
export const dataPortsSchema: PolicyConfigSchema = {
    properties: {
        dataPorts: {
            type: "array",
            items: { type: "integer", minimum: 1, maximum: 65535 },
            default: [3306, 6379, 9092, 9093, 9094],
            description: "Ports that identify a data service: MariaDB 3306, Redis 6379, Kafka client/controller/internal 9092-9094.",
        },
    },
};

function asPort(v: unknown): number | undefined {
    if (typeof v === "number" && Number.isInteger(v)) {
        return v;
    }
    if (typeof v === "string" && /^\d+$/.test(v)) {
        return Number(v);
    }
    return undefined;
}

/**
 * A Service that exposes a data port stays inside the cluster: type ClusterIP (headless included),
 * no NodePort or LoadBalancer and no externalIPs. ExternalName Services point outwards and are
 * ignored.
 */
export const dataServiceExposure: ResourceValidationPolicy = {
    name: "data-service-exposure",
    description: "Services that expose a data port (MariaDB, Redis, Kafka) are ClusterIP only: no NodePort, LoadBalancer or externalIPs.",
    enforcementLevel: "mandatory",
    configSchema: dataPortsSchema,
    validateResource: (args, reportViolation) => {
        if (!kindOf(args.type, "Service")) {
            return;
        }
        const cfg = resolveConfig<DataPortsConfig>(dataPortsSchema, () => args.getConfig());
        const spec = rec(rec(args.props)?.spec) ?? {};
        const type = str(spec.type) ?? "ClusterIP";
        if (type === "ExternalName") {
            return;
        }
        const dataPorts = new Set(cfg.dataPorts ?? []);
        const exposed = recs(spec.ports)
            .flatMap((p) => [asPort(p.port), asPort(p.targetPort)])
            .filter((p): p is number => p !== undefined && dataPorts.has(p));
        if (exposed.length === 0) {
            return;
        }
        const problems: string[] = [];
        if (type === "NodePort" || type === "LoadBalancer") {
            problems.push(`type ${type} exposes data port(s) ${Array.from(new Set(exposed)).join(", ")} outside the cluster`);
        }
        const externalIPs = arr(spec.externalIPs);
        if (externalIPs.length > 0) {
            problems.push(`externalIPs (${externalIPs.join(", ")}) expose data port(s) ${Array.from(new Set(exposed)).join(", ")}`);
        }
        if (problems.length > 0) {
            reportViolation(
                message("service", problems, ["use type ClusterIP (or a headless Service, clusterIP: None) without externalIPs; reach the data service from outside through kubectl port-forward or an authenticated proxy"]),
            );
        }
    },
};
