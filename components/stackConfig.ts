// Stack configuration: the single place where per-stack settings are read, defaulted and validated, by
// putting together what each layer below reads. Everything is checked before any resource is created, and
// every problem is reported at once with the key, the bad value and what is accepted.
//
//   config/reader.ts      the validation toolkit (Reader)
//   config/units.ts       Kubernetes quantities
//   config/platform.ts    stack-wide settings (environment, storage, pod security, NetworkPolicies, TLS)
//   config/service.ts     settings every service shares (namespace, image, replicas, size, resources)
//   config/operations.ts  monitoring (exporters, Prometheus Operator objects) and the backup settings' reader
//   config/backups.ts     the off-site backup target (backups.s3)
//   <service>/settings.ts each service's own keys and defaults
//   productionRules.ts    rules a production stack must satisfy

import * as pulumi from "@pulumi/pulumi";
import { BackupsSettings, readBackupsSettings } from "./config/backups";
import { MonitoringSettings, readMonitoringSettings } from "./config/operations";
import { PLATFORM_KEYS, PlatformSettings, readPlatformSettings } from "./config/platform";
import { PROJECT, Reader } from "./config/reader";
import { KafkaSettings, readKafkaSettings } from "./kafka/settings";
import { MariaDbSettings, readMariaDbSettings } from "./mariadb/settings";
import { checkProductionRules } from "./productionRules";
import { readRedisSettings, RedisSettings } from "./redis/settings";

/**
 * An invalid stack configuration; `problems` lists every offending key. A RunError, so the Pulumi CLI
 * prints just the message, without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** The validated stack configuration. */
export interface PlatformConfig extends PlatformSettings {
    /** Path to or contents of a kubeconfig for the provider. Default: the ambient kubeconfig. */
    kubeconfig?: string;
    /** kubeconfig context. Default: the current context. */
    kubeContext?: string;
    mariadb: MariaDbSettings;
    redis: RedisSettings;
    kafka: KafkaSettings;
    /** Metrics exporters and Prometheus Operator objects (alerts, scrape targets). Default: see MonitoringSettings. */
    monitoring: MonitoringSettings;
    /** Off-site copies of MariaDB's and Redis's backups in S3. Default none. */
    backups: BackupsSettings;
    /**
     * Services whose StatefulSet may be replaced in this run (after the safe procedure the guard printed).
     * Default none: a change to an immutable StatefulSet field stops the run.
     */
    allowStatefulSetReplacement: ServiceName[];
}

export const SERVICE_NAMES = ["mariadb", "redis", "kafka"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Every accepted top-level key, with a one-line description. */
export const TOP_LEVEL_KEYS: Record<keyof PlatformConfig, string> = {
    environment: "development | production",
    kubeconfig: "path to or contents of a kubeconfig",
    kubeContext: "kubeconfig context name",
    storageClass: "StorageClass for all volumes",
    protect: "true | false",
    podSecurityLevel: "restricted | baseline | privileged",
    networkPolicies: "object",
    tls: "object",
    mariadb: "object",
    redis: "object",
    kafka: "object",
    monitoring: "object",
    backups: "object (s3: the off-site backup target)",
    allowStatefulSetReplacement: "list of mariadb | redis | kafka",
    deleteDataOnDestroy: "true | false",
    priorityClassName: "PriorityClass name of the data services' pods",
};
// Compile-time check that the platform keys are all top-level keys.
const _platformKeys: readonly (keyof PlatformConfig)[] = PLATFORM_KEYS;
void _platformKeys;

/**
 * Parses and validates raw stack config values (key without the `msa-infra:` prefix → parsed value).
 * Throws a ConfigError listing every problem; returns a fully defaulted PlatformConfig otherwise.
 */
export function parseStackConfig(raw: Record<string, unknown>): PlatformConfig {
    const r = new Reader();
    for (const k of Object.keys(raw)) {
        if (!(k in TOP_LEVEL_KEYS)) {
            r.problems.push(`${PROJECT}:${k}: unknown key; accepted keys are ${Object.keys(TOP_LEVEL_KEYS).join(", ")}`);
        }
    }
    // Read first: what production stacks run by default (backups, exporters) follows the environment.
    const platform = readPlatformSettings(r, raw);
    const config: PlatformConfig = {
        ...platform,
        kubeconfig: r.optionalString("kubeconfig", raw.kubeconfig),
        kubeContext: r.optionalString("kubeContext", raw.kubeContext),
        mariadb: readMariaDbSettings(r, raw.mariadb, platform.environment),
        redis: readRedisSettings(r, raw.redis, platform.environment),
        kafka: readKafkaSettings(r, raw.kafka),
        monitoring: readMonitoringSettings(r, raw.monitoring, platform.environment),
        backups: readBackupsSettings(r, raw.backups, platform.environment),
        allowStatefulSetReplacement: r
            .list("allowStatefulSetReplacement", raw.allowStatefulSetReplacement)
            .map((v, i) => r.oneOf<ServiceName | "">(`allowStatefulSetReplacement[${i}]`, v, "", SERVICE_NAMES))
            .filter((v): v is ServiceName => v !== ""),
    };
    checkProductionRules(r, config);
    if (config.backups.s3 && !config.mariadb.backup.enabled && !config.redis.backup.enabled) {
        r.problem("backups.s3", "is set, but no service takes backups to copy; set mariadb.backup.enabled or redis.backup.enabled (on by default in production)");
    }
    const namespaces = [config.mariadb.namespace, config.redis.namespace, config.kafka.namespace];
    if (new Set(namespaces).size !== namespaces.length) {
        r.problem("<service>.namespace", `each service needs its own namespace; got ${namespaces.join(", ")}`);
    }
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return config;
}

/** Turns one Pulumi config string into a value: JSON objects, lists, booleans and numbers are parsed. */
export function decodeConfigValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Reads every `msa-infra:*` key of the running stack and validates it. */
export function loadStackConfig(): PlatformConfig {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(`${PROJECT}:`)) {
            raw[key.slice(PROJECT.length + 1)] = decodeConfigValue(value);
        }
    }
    return parseStackConfig(raw);
}
