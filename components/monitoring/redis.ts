// Redis's metrics and alerts: the redis_exporter sidecar, its PodMonitor and the alert rules (server,
// memory, rejected connections, disks, backups), the last two only when the stack runs the Prometheus Operator.

import type { MonitoringSettings } from "../config/operations";
import type { TlsSettings } from "../config/platform";
import { serviceHost } from "../dnsNames";
import { REDIS_BACKUP_PATHS } from "../redis/backup";
import { METRICS_USER, REDIS_APP, REDIS_PATHS, REDIS_PORT } from "../redis/files";
import { exporterSidecar } from "../workload/operations";
import type { ContainerPlan, ExtraObjectPlan, MountPlan } from "../workload/plan";
import { operatorObjects, podMonitorName } from "./objects";
import { BackupAlert, podMonitorJob, redisRules, RuleGroup, serviceRuleGroups } from "./rules";

/** The exporter sidecar's metrics port. */
export const REDIS_EXPORTER_PORT = 9121;

/**
 * What makes the exporter read its password file again (redis_exporter's /-/reload, v1.50 and later; it
 * reads the file only at start otherwise): run by the Redis container's readiness probe when the mounted
 * file changes (files.ts), with busybox's wget.
 */
export const REDIS_EXPORTER_RELOAD = `wget -q -O /dev/null http://127.0.0.1:${REDIS_EXPORTER_PORT}/-/reload`;

/** The redis_exporter sidecar: the metrics ACL user, its password from a mounted file, no CONFIG command. */
export function redisExporterContainer(o: { image: string; namespace: string; credentials: MountPlan; tls?: MountPlan }): ContainerPlan {
    return exporterSidecar({
        name: "redis-exporter",
        image: o.image,
        command: [
            "/redis_exporter",
            `--redis.addr=${o.tls ? "rediss" : "redis"}://localhost:${REDIS_PORT}`,
            `--redis.user=${METRICS_USER}`,
            `--redis.password-file=${REDIS_BACKUP_PATHS.exporterFile}`,
            // CONFIG GET * would print every setting; maxmemory and maxclients come from INFO.
            "--config-command=-",
            `--web.listen-address=:${REDIS_EXPORTER_PORT}`,
            "--connection-timeout=5s",
            ...(o.tls ? [`--tls-ca-cert-file=${REDIS_PATHS.tls}/ca.crt`, `--tls-server-name=${serviceHost(REDIS_APP, o.namespace)}`] : []),
        ],
        port: REDIS_EXPORTER_PORT,
        mounts: [o.credentials, ...(o.tls ? [o.tls] : [])],
    });
}

export interface RedisMonitoringInput {
    namespace: string;
    monitoring: MonitoringSettings;
    /** The backup CronJob of the plan, when backups run (for the "not succeeded in time" alert). */
    backups: BackupAlert[];
    /** The stack's TLS settings (the certificate expiry alerts). */
    tls: TlsSettings;
}

/** The alert groups of a Redis stack. */
export function redisRuleGroups(i: RedisMonitoringInput): RuleGroup[] {
    return serviceRuleGroups({
        app: "redis",
        namespace: i.namespace,
        server: i.monitoring.exporters ? redisRules(i.namespace, podMonitorJob(i.namespace, podMonitorName("redis"))) : undefined,
        claims: "data-redis-[0-9]+|redis-backup",
        backups: i.backups,
        tls: i.tls,
    });
}

/** PodMonitor and PrometheusRule, only with the Prometheus Operator. */
export function redisMonitoring(i: RedisMonitoringInput): ExtraObjectPlan[] {
    return operatorObjects("redis", i.monitoring, i.monitoring.exporters, redisRuleGroups(i));
}
