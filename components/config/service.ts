// Settings every stateful service has (namespace, image, replicas, volume size, container resources), read
// the same way for MariaDB, Redis and Kafka.

import { DNS_LABEL, IMAGE, PROJECT, Reader } from "./reader";
import { CPU, cpuToMillis, QUANTITY, quantityToBytes } from "./units";

/** Container requests and limits. */
export interface ResourceSettings {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

/** What every stateful service is configured with. */
export interface ServiceSettings {
    /** Namespace created for the service. Defaults: db, cache, messaging. */
    namespace: string;
    /** Image reference with an explicit tag or digest (`latest` is refused). */
    image: string;
    /** Pods of the StatefulSet. Default 1. */
    replicas: number;
    /** Size of each pod's data volume. Defaults: 10Gi, 5Gi, 10Gi. */
    storageSize: string;
    /** Container requests and limits; the servers' memory settings are derived from the memory limit. */
    resources: ResourceSettings;
}

/** The keys of ServiceSettings, accepted under every service key. */
export const SERVICE_KEYS = ["namespace", "image", "replicas", "storageSize", "resources"] as const;

/** Which replica counts a service accepts, and how to say so. */
export interface ReplicasRule {
    max: number;
    accepted: string;
    /** Extra condition beyond 1..max (Kafka: odd). */
    valid?: (replicas: number) => boolean;
}

function readResources(r: Reader, key: string, value: unknown, fallback: ResourceSettings): ResourceSettings {
    const raw = r.object(key, value, ["requests", "limits"]);
    const requests = r.object(`${key}.requests`, raw.requests, ["cpu", "memory"]);
    const limits = r.object(`${key}.limits`, raw.limits, ["cpu", "memory"]);
    const cpu = (k: string, v: unknown, f: string) =>
        r.string(k, typeof v === "number" ? String(v) : v, f, CPU, "a CPU quantity above zero such as 250m or 1");
    const mem = (k: string, v: unknown, f: string) => r.string(k, v, f, QUANTITY, "a memory quantity above zero such as 512Mi or 2Gi");
    const result: ResourceSettings = {
        requests: {
            cpu: cpu(`${key}.requests.cpu`, requests.cpu, fallback.requests.cpu),
            memory: mem(`${key}.requests.memory`, requests.memory, fallback.requests.memory),
        },
        limits: {
            cpu: cpu(`${key}.limits.cpu`, limits.cpu, fallback.limits.cpu),
            memory: mem(`${key}.limits.memory`, limits.memory, fallback.limits.memory),
        },
    };
    try {
        if (quantityToBytes(result.requests.memory) > quantityToBytes(result.limits.memory)) {
            r.problems.push(`${PROJECT}:${key}: requests.memory ${result.requests.memory} exceeds limits.memory ${result.limits.memory}`);
        }
        if (cpuToMillis(result.requests.cpu) > cpuToMillis(result.limits.cpu)) {
            r.problems.push(`${PROJECT}:${key}: requests.cpu ${result.requests.cpu} exceeds limits.cpu ${result.limits.cpu}`);
        }
    } catch {
        // Already reported as a malformed quantity above.
    }
    return result;
}

/**
 * Reads the shared settings under `key` (e.g. `redis`), allowing `extraKeys` besides them, and returns the
 * raw object so the service can read its own keys.
 */
export function readServiceSettings(
    r: Reader,
    opts: { key: string; value: unknown; defaults: ServiceSettings; extraKeys: readonly string[]; replicas: ReplicasRule },
): { raw: Record<string, unknown>; settings: ServiceSettings } {
    const { key, defaults } = opts;
    const raw = r.object(key, opts.value, [...SERVICE_KEYS, ...opts.extraKeys]);
    if (typeof raw.image === "string" && /:latest(@|$)/.test(raw.image)) {
        r.fail(`${key}.image`, raw.image, "a pinned tag (not latest) so every node runs the same version");
    }
    const replicas = r.integer(`${key}.replicas`, raw.replicas, defaults.replicas, { min: 1, max: opts.replicas.max, accepted: opts.replicas.accepted });
    if (opts.replicas.valid && !opts.replicas.valid(replicas)) {
        r.fail(`${key}.replicas`, replicas, opts.replicas.accepted);
    }
    return {
        raw,
        settings: {
            namespace: r.string(`${key}.namespace`, raw.namespace, defaults.namespace, DNS_LABEL, "a DNS-1123 label such as db"),
            image: r.string(`${key}.image`, raw.image, defaults.image, IMAGE, "an image reference with an explicit tag or digest, such as mariadb:10.11"),
            replicas,
            storageSize: r.string(`${key}.storageSize`, raw.storageSize, defaults.storageSize, QUANTITY, "a quantity above zero such as 10Gi"),
            resources: readResources(r, `${key}.resources`, raw.resources, defaults.resources),
        },
    };
}
