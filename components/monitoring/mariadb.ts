// MariaDB's metrics and alerts: the mysqld_exporter sidecar, its PodMonitor and the alert rules (server,
// connections, replication, disks, backups), the last two only when the stack runs the Prometheus Operator.

import type { MonitoringSettings } from "../config/operations";
import type { TlsSettings } from "../config/platform";
import { MARIADB_BACKUP_PATHS } from "../mariadb/backup";
import { exporterSidecar } from "../workload/operations";
import type { ContainerPlan, ExtraObjectPlan, MountPlan } from "../workload/plan";
import { operatorObjects, podMonitorName } from "./objects";
import { BackupAlert, mariadbRules, podMonitorJob, RuleGroup, serviceRuleGroups } from "./rules";

/** The exporter sidecar's metrics port. */
export const MARIADB_EXPORTER_PORT = 9104;

/** How often the sidecar compares its option file with the one the exporter loaded. */
export const MARIADB_EXPORTER_RELOAD_SECONDS = 10;

/** The mysqld_exporter command line: the credentials are in the mounted option file. */
export const MARIADB_EXPORTER_ARGS = [
    "/bin/mysqld_exporter",
    `--config.my-cnf=${MARIADB_BACKUP_PATHS.exporterFile}`,
    `--web.listen-address=:${MARIADB_EXPORTER_PORT}`,
    // Bounded scrapes: a stuck server must not pile up exporter connections.
    "--exporter.query_timeout=10",
    "--exporter.max_open_connections=2",
];

/**
 * The sidecar's command (POSIX sh: the image is busybox). mysqld_exporter (v0.15 and later, v0.20.0 here)
 * reads its option file at start and on a request to /-/reload only, and logs in with that copy at every
 * scrape; a rotated password (applied live by the reconcile Job) reaches the mounted file when the kubelet
 * refreshes the Secret volume. A background loop compares the file's checksum every
 * MARIADB_EXPORTER_RELOAD_SECONDS and asks the exporter to reload it when it changed (retried until the
 * exporter answers). The exporter is exec'd: it stays the container's main process (signals, exit status).
 */
export function mariadbExporterCommand(): string[] {
    const file = MARIADB_BACKUP_PATHS.exporterFile;
    const script = [
        `sum() { sha256sum ${file} 2>/dev/null; }`,
        "(",
        '    loaded="$(sum)"',
        `    while sleep ${MARIADB_EXPORTER_RELOAD_SECONDS}; do`,
        '        now="$(sum)"',
        `        if [ "$now" != "$loaded" ] && wget -q -O /dev/null http://127.0.0.1:${MARIADB_EXPORTER_PORT}/-/reload; then`,
        '            loaded="$now"',
        `            echo "mysqld-exporter: ${file} changed: reloaded"`,
        "        fi",
        "    done",
        ") &",
        `exec ${MARIADB_EXPORTER_ARGS.join(" ")}`,
    ].join("\n");
    return ["sh", "-c", script];
}

/** The mysqld_exporter sidecar: the exporter account's option file, the server's socket. */
export function mariadbExporterContainer(o: { image: string; socket: MountPlan; credentials: MountPlan }): ContainerPlan {
    return exporterSidecar({
        name: "mysqld-exporter",
        image: o.image,
        command: mariadbExporterCommand(),
        port: MARIADB_EXPORTER_PORT,
        mounts: [o.socket, o.credentials],
    });
}

export interface MariaDbMonitoringInput {
    namespace: string;
    monitoring: MonitoringSettings;
    /** The backup CronJobs of the plan (for the "not succeeded in time" alerts). */
    backups: BackupAlert[];
    /** The stack's TLS settings (the certificate expiry alerts). */
    tls: TlsSettings;
}

/** The alert groups of a MariaDB stack. */
export function mariadbRuleGroups(i: MariaDbMonitoringInput): RuleGroup[] {
    return serviceRuleGroups({
        app: "mariadb",
        namespace: i.namespace,
        server: i.monitoring.exporters ? mariadbRules(i.namespace, podMonitorJob(i.namespace, podMonitorName("mariadb"))) : undefined,
        claims: "data-mariadb-[0-9]+|mariadb-backup|mariadb-binlog-archive",
        backups: i.backups,
        tls: i.tls,
    });
}

/** PodMonitor and PrometheusRule, only with the Prometheus Operator. */
export function mariadbMonitoring(i: MariaDbMonitoringInput): ExtraObjectPlan[] {
    return operatorObjects("mariadb", i.monitoring, i.monitoring.exporters, mariadbRuleGroups(i));
}
