// Redis's monitoring additions: the PodMonitor of the redis_exporter sidecar and the alert rules (server,
// memory, rejected connections, disks, backups), when the stack runs the Prometheus Operator.

import type { MonitoringSettings } from "../config/operations";
import type { ExtraObjectPlan } from "../workload/plan";
import { podMonitor, podMonitorName, prometheusRule } from "./objects";
import { backupMaxAgeSeconds, backupRules, diskRules, podMonitorJob, redisRules, RuleGroup } from "./rules";

export interface RedisMonitoringInput {
    namespace: string;
    monitoring: MonitoringSettings;
    backup: boolean;
    exporter: boolean;
    schedule: string;
    backupDeadlineSeconds: number;
}

export function redisRuleGroups(i: RedisMonitoringInput): RuleGroup[] {
    const groups: RuleGroup[] = [];
    if (i.exporter) groups.push(redisRules(i.namespace, podMonitorJob(i.namespace, podMonitorName("redis"))));
    groups.push(diskRules("redis", i.namespace, "data-redis-[0-9]+|redis-backup"));
    if (i.backup) {
        groups.push(backupRules("redis", i.namespace, [{ cronJob: "redis-backup", maxAgeSeconds: backupMaxAgeSeconds(i.schedule, i.backupDeadlineSeconds), what: "The Redis RDB backup" }]));
    }
    return groups;
}

export function redisMonitoring(i: RedisMonitoringInput): ExtraObjectPlan[] {
    if (!i.monitoring.prometheusOperator) return [];
    return [...(i.exporter ? [podMonitor("redis", i.monitoring)] : []), prometheusRule("redis", i.monitoring, redisRuleGroups(i))];
}
