// MariaDB's monitoring additions: the PodMonitor of the mysqld_exporter sidecar and the alert rules
// (server, connections, replication, disks, backups), when the stack runs the Prometheus Operator.

import type { MonitoringSettings } from "../config/operations";
import type { ExtraObjectPlan } from "../workload/plan";
import { podMonitor, podMonitorName, prometheusRule } from "./objects";
import { backupMaxAgeSeconds, backupRules, diskRules, mariadbRules, podMonitorJob, RuleGroup } from "./rules";

export interface MariaDbMonitoringInput {
    namespace: string;
    monitoring: MonitoringSettings;
    backup: boolean;
    pointInTime: boolean;
    exporter: boolean;
    /** Schedules and deadlines of the backup CronJobs (for the "not succeeded in time" thresholds). */
    schedules?: { backup: string; backupDeadlineSeconds: number; binlog: string; binlogDeadlineSeconds: number };
}

export const MARIADB_DEFAULT_SCHEDULES = { backup: "15 2 * * *", backupDeadlineSeconds: 6 * 3600, binlog: "*/5 * * * *", binlogDeadlineSeconds: 30 * 60 };

/** The alert groups of a MariaDB stack. */
export function mariadbRuleGroups(i: MariaDbMonitoringInput): RuleGroup[] {
    const s = i.schedules ?? MARIADB_DEFAULT_SCHEDULES;
    const groups: RuleGroup[] = [];
    if (i.exporter) groups.push(mariadbRules(i.namespace, podMonitorJob(i.namespace, podMonitorName("mariadb"))));
    groups.push(diskRules("mariadb", i.namespace, "data-mariadb-[0-9]+|mariadb-backup|mariadb-binlog-archive"));
    const jobs = [
        ...(i.backup ? [{ cronJob: "mariadb-backup", maxAgeSeconds: backupMaxAgeSeconds(s.backup, s.backupDeadlineSeconds), what: "The MariaDB full backup" }] : []),
        ...(i.pointInTime
            ? [{ cronJob: "mariadb-binlog-archive", maxAgeSeconds: backupMaxAgeSeconds(s.binlog, s.binlogDeadlineSeconds), what: "The MariaDB binary-log archive" }]
            : []),
    ];
    if (jobs.length > 0) groups.push(backupRules("mariadb", i.namespace, jobs));
    return groups;
}

/** PodMonitor and PrometheusRule, only with the Prometheus Operator. */
export function mariadbMonitoring(i: MariaDbMonitoringInput): ExtraObjectPlan[] {
    if (!i.monitoring.prometheusOperator) return [];
    return [...(i.exporter ? [podMonitor("mariadb", i.monitoring)] : []), prometheusRule("mariadb", i.monitoring, mariadbRuleGroups(i))];
}
