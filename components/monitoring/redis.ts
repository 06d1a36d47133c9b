// Redis's metrics and alerts: the redis_exporter sidecar, its PodMonitor and the alert rules (server,
// memory, rejected connections, disks, backups), the last two only when the stack runs the Prometheus Operator.

import type { MonitoringSettings } from "../config/operations";
import { serviceHost } from "../dnsNames";
import { REDIS_BACKUP_PATHS } from "../redis/backup";
import { METRICS_USER, REDIS_APP, REDIS_PATHS, REDIS_PORT } from "../redis/files";
import { exporterSidecar } from "../workload/operations";
import type { ContainerPlan, ExtraObjectPlan, MountPlan } from "../workload/plan";
import { podMonitor, podMonitorName, prometheusRule } from "./objects";
import { BackupAlert, backupRules, diskRules, podMonitorJob, redisRules, RuleGroup } from "./rules";

/** The exporter sidecar's metrics port. */
export const REDIS_EXPORTER_PORT = 9121;

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
}

export function redisRuleGroups(i: RedisMonitoringInput): RuleGroup[] {
    const groups: RuleGroup[] = [];
    if (i.monitoring.exporters) groups.push(redisRules(i.namespace, podMonitorJob(i.namespace, podMonitorName("redis"))));
    groups.push(diskRules("redis", i.namespace, "data-redis-[0-9]+|redis-backup"));
    if (i.backups.length > 0) groups.push(backupRules("redis", i.namespace, i.backups));
    return groups;
}

export function redisMonitoring(i: RedisMonitoringInput): ExtraObjectPlan[] {
    if (!i.monitoring.prometheusOperator) return [];
    return [...(i.monitoring.exporters ? [podMonitor("redis", i.monitoring)] : []), prometheusRule("redis", i.monitoring, redisRuleGroups(i))];
}
