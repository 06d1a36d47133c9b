// Alert rules, as data: the same groups become the PrometheusRule objects (objects.ts) and the rules file
// that promtool checks and unit-tests (tests/monitoring/alerts.spec.ts). Thresholds and their reasons are here and in
// the alert table of docs/operations/monitoring.md.
//
// Series come from: the exporters (mysql_*, redis_*), the JMX exporter agent in the Kafka brokers (kafka_*),
// kube-state-metrics (kube_cronjob_*: backups), the kubelet (kubelet_volume_stats_*: disks), and Prometheus
// itself (up). PodMonitor targets are labelled namespace/pod/container and job="<namespace>/<PodMonitor>".

import type { TlsSettings } from "../config/platform";
import { CERTIFICATE_NOT_AFTER_TOKEN, type CronJobPlan } from "../workload/plan";

export type Severity = "warning" | "critical";

export interface AlertRule {
    alert: string;
    expr: string;
    /** Prometheus duration the condition must hold before the alert fires. */
    for: string;
    labels: { severity: Severity; [label: string]: string };
    annotations: { summary: string; description: string };
}

/** A recording rule: a series Prometheus computes (here: a fact known when the stack is rendered). */
export interface RecordingRule {
    record: string;
    expr: string;
    labels: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: (AlertRule | RecordingRule)[];
}

/** The series recording a generated certificate's end of validity (Unix seconds). */
export const CERTIFICATE_NOT_AFTER_SERIES = "msa_infra_tls_certificate_not_after_seconds";

function rule(alert: string, expr: string, forDuration: string, severity: Severity, summary: string, description: string): AlertRule {
    return { alert, expr, for: forDuration, labels: { severity }, annotations: { summary, description } };
}

/** A PodMonitor's job label. */
export function podMonitorJob(namespace: string, name: string): string {
    return `${namespace}/${name}`;
}

/** Thresholds, each with the reason it is where it is (docs/operations/monitoring.md, "Alerts"). */
export const THRESHOLDS = {
    /** Free space below 15% for 10 minutes: time to grow the volume (the guard's procedure) before writes fail. */
    diskWarningFreeRatio: 0.15,
    /** Below 5%: MariaDB and Kafka stop writing within minutes at a normal write rate. */
    diskCriticalFreeRatio: 0.05,
    /** Free space trending to zero within 4 days (from the last 6 hours): a weekend's warning. */
    diskPredictDays: 4,
    /** 80% of max_connections for 10 minutes: room for a deployment's surge before clients get refused. */
    mariadbConnectionsRatio: 0.8,
    /** A replica more than 5 minutes behind serves stale reads beyond what a session cache hides. */
    mariadbReplicationLagSeconds: 300,
    /** 90% of maxmemory: with noeviction, writes fail at 100%; 10% is minutes of growth at a busy session store. */
    redisMemoryRatio: 0.9,
    /** A replica this far behind its primary (seconds since its last ack) loses that much on a failover. */
    redisReplicaLagSeconds: 30,
    /**
     * Generated certificates renew at the first `pulumi up` of their last 30 days: with 21 days left, nobody
     * ran one for 9 days of that window. cert-manager renews at two thirds of the lifetime by itself: with
     * 14 days left, its renewal is failing.
     */
    certificateGeneratedWarningDays: 21,
    certificateIssuerWarningDays: 14,
    /** A week left: renew today. */
    certificateCriticalDays: 7,
} as const;

/** Disk rules for the claims of one service (data volumes and backup claims), by claim-name regex. */
export function diskRules(service: string, namespace: string, claimRegex: string): RuleGroup {
    const sel = `namespace="${namespace}", persistentvolumeclaim=~"${claimRegex}"`;
    const free = `kubelet_volume_stats_available_bytes{${sel}} / kubelet_volume_stats_capacity_bytes{${sel}}`;
    const name = service.charAt(0).toUpperCase() + service.slice(1);
    return {
        name: `${service}-disk`,
        rules: [
            rule(
                `${name}VolumeFillingUp`,
                `${free} < ${THRESHOLDS.diskWarningFreeRatio}`,
                "10m",
                "warning",
                `Volume {{ $labels.persistentvolumeclaim }} in ${namespace} has less than ${THRESHOLDS.diskWarningFreeRatio * 100}% free`,
                "{{ $value | humanizePercentage }} free. Grow the claim (docs/operations/scale.md, Growing and shrinking volumes) or, for a backup claim, lower the retention.",
            ),
            rule(
                `${name}VolumeAlmostFull`,
                `${free} < ${THRESHOLDS.diskCriticalFreeRatio}`,
                "5m",
                "critical",
                `Volume {{ $labels.persistentvolumeclaim }} in ${namespace} is almost full`,
                "{{ $value | humanizePercentage }} free: writes will fail soon.",
            ),
            rule(
                `${name}VolumeFullIn${THRESHOLDS.diskPredictDays}Days`,
                `(${free} < 0.4) and predict_linear(kubelet_volume_stats_available_bytes{${sel}}[6h], ${THRESHOLDS.diskPredictDays} * 24 * 3600) < 0`,
                "1h",
                "warning",
                `Volume {{ $labels.persistentvolumeclaim }} in ${namespace} fills up within ${THRESHOLDS.diskPredictDays} days at the current rate`,
                "Extrapolated from the last 6 hours.",
            ),
        ],
    };
}

/** A cron schedule's period in seconds for the shapes the stacks use; a day for anything else. */
export function cronPeriodSeconds(schedule: string): number {
    const named: Record<string, number> = { "@hourly": 3600, "@daily": 86400, "@midnight": 86400, "@weekly": 604800 };
    if (schedule in named) return named[schedule];
    const f = schedule.trim().split(/\s+/);
    if (f.length !== 5) return 86400;
    const [min, hour, dom, month, dow] = f;
    const step = /^\*\/(\d+)$/;
    if (step.test(min) && hour === "*" && dom === "*" && month === "*" && dow === "*") return Number(step.exec(min)![1]) * 60;
    if (/^\d+$/.test(min) && hour === "*" && dom === "*" && month === "*" && dow === "*") return 3600;
    if (/^\d+$/.test(min) && step.test(hour) && dom === "*" && month === "*" && dow === "*") return Number(step.exec(hour)![1]) * 3600;
    if (/^\d+$/.test(min) && /^\d+$/.test(hour) && dom === "*" && month === "*" && /^\d+$/.test(dow)) return 604800;
    return 86400;
}

/**
 * How old the last successful run of a backup CronJob may get: one period, plus the time a run may take
 * (its deadline, at most one period), plus slack (an hour for daily jobs; for short schedules two more periods:
 * one missed archive run is no emergency, three are).
 */
export function backupMaxAgeSeconds(schedule: string, activeDeadlineSeconds: number): number {
    const period = cronPeriodSeconds(schedule);
    return period < 3600 ? 3 * period : period + Math.min(activeDeadlineSeconds, period) + 3600;
}

/** A backup CronJob of the plan and what it is, in words, for the alert. */
export interface BackupAlert {
    job: CronJobPlan;
    what: string;
}

/**
 * Rules for scheduled backups: the last success is too old (from the job's schedule and deadline), or there
 * never was one; and the newest run failed (at once, not a day later: kube-state-metrics' Job series, whose
 * names are the CronJob's name and a number).
 */
export function backupRules(service: string, namespace: string, backups: BackupAlert[]): RuleGroup {
    const jobs = backups.map((b) => ({ cronJob: b.job.name, maxAgeSeconds: backupMaxAgeSeconds(b.job.schedule, b.job.job.activeDeadlineSeconds), what: b.what }));
    return {
        name: `${service}-backup`,
        rules: jobs.flatMap((j) => {
            const sel = `namespace="${namespace}", cronjob="${j.cronJob}"`;
            const runs = `namespace="${namespace}", job_name=~"${j.cronJob}-[0-9]+"`;
            const name = j.cronJob
                .split("-")
                .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
                .join("");
            // Start time of each run, labelled with its CronJob; the failed ones kept by `* (failed == 1)`.
            const started = `label_replace(kube_job_status_start_time{${runs}}, "cronjob", "${j.cronJob}", "", "")`;
            const failed = rule(
                `${name}Failed`,
                `max by (namespace, cronjob) (${started} * on (namespace, job_name) group_left () (kube_job_failed{${runs}, condition="true"} == 1))` +
                    ` >= on (namespace, cronjob) max by (namespace, cronjob) (${started})`,
                "0m",
                "critical",
                `${j.what} (CronJob ${namespace}/${j.cronJob}) failed its newest run`,
                `Find the Job: kubectl get jobs -n ${namespace} --sort-by=.status.startTime | grep ${j.cronJob}-; read its log: kubectl logs -n ${namespace} job/<name>. Run one now: kubectl create job -n ${namespace} --from=cronjob/${j.cronJob} ${j.cronJob}-manual.`,
            );
            return [failed, rule(
                `${name}NotSucceededInTime`,
                `(time() - kube_cronjob_status_last_successful_time{${sel}} > ${j.maxAgeSeconds})` +
                    ` or ((time() - kube_cronjob_created{${sel}} > ${j.maxAgeSeconds}) unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${sel}})`,
                "5m",
                "critical",
                `${j.what} (CronJob ${namespace}/${j.cronJob}) has not succeeded for more than ${j.maxAgeSeconds >= 7200 ? `${Math.round(j.maxAgeSeconds / 3600)} h` : `${Math.round(j.maxAgeSeconds / 60)} min`}`,
                `Look at the last Job: kubectl get jobs -n ${namespace} -l app.kubernetes.io/name=${service}; kubectl logs -n ${namespace} job/<name>. Run one now: kubectl create job -n ${namespace} --from=cronjob/${j.cronJob} ${j.cronJob}-manual.`,
            )];
        }),
    };
}

/** MariaDB: server down, connection saturation, replication (fires only where replicas report). */
export function mariadbRules(namespace: string, job: string): RuleGroup {
    const ns = `namespace="${namespace}"`;
    return {
        name: "mariadb",
        rules: [
            rule(
                "MariaDBDown",
                `mysql_up{${ns}} == 0 or (up{job="${job}"} == 0) or absent(up{job="${job}"})`,
                "2m",
                "critical",
                `MariaDB in ${namespace} is down or not scraped`,
                "mysqld_exporter cannot reach the server (mysql_up 0), or Prometheus cannot reach the exporter (up 0), or no target exists.",
            ),
            rule(
                "MariaDBConnectionsSaturated",
                `mysql_global_status_threads_connected{${ns}} / mysql_global_variables_max_connections{${ns}} > ${THRESHOLDS.mariadbConnectionsRatio}`,
                "10m",
                "warning",
                `MariaDB in ${namespace} uses more than ${THRESHOLDS.mariadbConnectionsRatio * 100}% of max_connections`,
                "{{ $value | humanizePercentage }} of max_connections; at 100% new clients are refused. Check connection pools.",
            ),
            rule(
                "MariaDBConnectionsRefused",
                `increase(mysql_global_status_connection_errors_total{${ns}, error="max_connections"}[5m]) > 0`,
                "0m",
                "critical",
                `MariaDB in ${namespace} refused connections: max_connections reached`,
                "Clients got 'Too many connections' in the last 5 minutes.",
            ),
            rule(
                "MariaDBReplicationBroken",
                `mysql_slave_status_slave_io_running{${ns}} == 0 or mysql_slave_status_slave_sql_running{${ns}} == 0`,
                "2m",
                "critical",
                `MariaDB replication in ${namespace} stopped`,
                "A replica thread (IO or SQL) is not running on {{ $labels.pod }}.",
            ),
            rule(
                "MariaDBReplicationLag",
                `mysql_slave_status_seconds_behind_master{${ns}} > ${THRESHOLDS.mariadbReplicationLagSeconds}`,
                "5m",
                "warning",
                `MariaDB replica {{ $labels.pod }} in ${namespace} is more than ${THRESHOLDS.mariadbReplicationLagSeconds} s behind`,
                "{{ $value }} s behind the primary.",
            ),
        ],
    };
}

/** Redis: server down, memory near maxmemory, rejected connections. */
export function redisRules(namespace: string, job: string): RuleGroup {
    const ns = `namespace="${namespace}"`;
    return {
        name: "redis",
        rules: [
            rule(
                "RedisDown",
                `redis_up{${ns}} == 0 or (up{job="${job}"} == 0) or absent(up{job="${job}"})`,
                "2m",
                "critical",
                `Redis in ${namespace} is down or not scraped`,
                "redis_exporter cannot reach the server (redis_up 0), or Prometheus cannot reach the exporter (up 0), or no target exists.",
            ),
            rule(
                "RedisMemoryHigh",
                `(redis_memory_used_bytes{${ns}} / redis_memory_max_bytes{${ns}} > ${THRESHOLDS.redisMemoryRatio}) and on (namespace, pod) redis_memory_max_bytes{${ns}} > 0`,
                "5m",
                "warning",
                `Redis in ${namespace} uses more than ${THRESHOLDS.redisMemoryRatio * 100}% of maxmemory`,
                "{{ $value | humanizePercentage }} of maxmemory; with noeviction, writes fail at 100% (OOM command not allowed).",
            ),
            rule(
                "RedisReplicationBroken",
                `redis_master_link_up{${ns}} == 0`,
                "2m",
                "critical",
                `Redis replica {{ $labels.pod }} in ${namespace} is not connected to its primary`,
                "master_link_status is down: the replica serves stale data and a failover to it would lose what it missed. Check the primary and the replica's log.",
            ),
            rule(
                "RedisReplicaLagging",
                `redis_connected_slave_lag_seconds{${ns}} > ${THRESHOLDS.redisReplicaLagSeconds}`,
                "5m",
                "warning",
                `A Redis replica of {{ $labels.pod }} in ${namespace} is more than ${THRESHOLDS.redisReplicaLagSeconds} s behind`,
                "Replica {{ $labels.slave_ip }} last acknowledged {{ $value }} s ago; min-replicas-max-lag (10 s) makes the primary refuse writes when every replica lags.",
            ),
            rule(
                "RedisRejectedConnections",
                `increase(redis_rejected_connections_total{${ns}}[5m]) > 0`,
                "0m",
                "warning",
                `Redis in ${namespace} rejected connections (maxclients reached)`,
                "Clients were turned away in the last 5 minutes; check connection pools and maxclients.",
            ),
        ],
    };
}

/** Kafka (JMX exporter names, see kafka.ts): broker down, under-replicated and offline partitions, controllers. */
export function kafkaRules(namespace: string, job: string): RuleGroup {
    const ns = `namespace="${namespace}"`;
    return {
        name: "kafka",
        rules: [
            rule(
                "KafkaBrokerDown",
                `up{job="${job}"} == 0 or absent(up{job="${job}"})`,
                "2m",
                "critical",
                `A Kafka broker in ${namespace} is not scraped`,
                "{{ $labels.pod }} does not answer on its metrics port (down, or the agent failed).",
            ),
            rule(
                "KafkaUnderReplicatedPartitions",
                `sum by (namespace) (kafka_server_replicamanager_underreplicatedpartitions{${ns}}) > 0`,
                "5m",
                "warning",
                `Kafka in ${namespace} has under-replicated partitions`,
                "{{ $value }} partitions have fewer in-sync replicas than replicas: a broker is down or cannot keep up.",
            ),
            rule(
                "KafkaOfflinePartitions",
                `max by (namespace) (kafka_controller_kafkacontroller_offlinepartitionscount{${ns}}) > 0`,
                "1m",
                "critical",
                `Kafka in ${namespace} has offline partitions`,
                "{{ $value }} partitions have no leader: producers and consumers of them are stopped.",
            ),
            rule(
                "KafkaActiveControllerCount",
                `sum by (namespace) (kafka_controller_kafkacontroller_activecontrollercount{${ns}}) != 1`,
                "2m",
                "critical",
                `Kafka in ${namespace} has {{ $value }} active controllers instead of 1`,
                "0: the KRaft quorum has no leader (no metadata changes, no leader elections). More than 1: a split.",
            ),
        ],
    };
}

/**
 * Certificate expiry of a service's TLS Secret `<app>-tls`, from the certificate's own dates: for a generated
 * certificate, a recording rule holding its end of validity (rendered from the certificate resource); for
 * cert-manager, the expiry it exports. None without TLS.
 */
export function certificateRules(service: string, namespace: string, tls: TlsSettings): RuleGroup | undefined {
    if (!tls.enabled) return undefined;
    const secret = `${service}-tls`;
    const name = service.charAt(0).toUpperCase() + service.slice(1);
    const generated = tls.issuer === undefined;
    const expiry = generated
        ? `${CERTIFICATE_NOT_AFTER_SERIES}{namespace="${namespace}", secret="${secret}"}`
        : `certmanager_certificate_expiration_timestamp_seconds{namespace="${namespace}", name="${secret}"}`;
    const renew = generated
        ? "It renews at the next `pulumi up` (generated certificates renew in their last 30 days): run one."
        : `cert-manager should have renewed it: kubectl describe certificate -n ${namespace} ${secret}.`;
    const warningDays = generated ? THRESHOLDS.certificateGeneratedWarningDays : THRESHOLDS.certificateIssuerWarningDays;
    const left = (days: number) => `${expiry} - time() < ${days} * 86400`;
    return {
        name: `${service}-certificate`,
        rules: [
            ...(generated ? [{ record: CERTIFICATE_NOT_AFTER_SERIES, expr: `vector(${CERTIFICATE_NOT_AFTER_TOKEN})`, labels: { namespace, secret } }] : []),
            rule(
                `${name}CertificateExpiresSoon`,
                `${left(warningDays)} and ${expiry} - time() >= ${THRESHOLDS.certificateCriticalDays} * 86400`,
                "1h",
                "warning",
                `The TLS certificate ${namespace}/${secret} expires in less than ${warningDays} days`,
                `{{ $value | humanizeDuration }} left. ${renew}`,
            ),
            rule(
                `${name}CertificateExpiresThisWeek`,
                left(THRESHOLDS.certificateCriticalDays),
                "10m",
                "critical",
                `The TLS certificate ${namespace}/${secret} expires in less than ${THRESHOLDS.certificateCriticalDays} days`,
                `{{ $value | humanizeDuration }} left; clients refuse the servers once it expires. ${renew}`,
            ),
        ],
    };
}

/**
 * A service's alert groups, in one order for every service: the server's own (only where its exporter runs:
 * the series come from it), its disks (kubelet), its backups (kube-state-metrics; none without backups), its
 * certificate (none without TLS).
 */
export function serviceRuleGroups(o: { app: string; namespace: string; server?: RuleGroup; claims: string; backups?: BackupAlert[]; tls: TlsSettings }): RuleGroup[] {
    const certificate = certificateRules(o.app, o.namespace, o.tls);
    return [
        ...(o.server ? [o.server] : []),
        diskRules(o.app, o.namespace, o.claims),
        ...(o.backups && o.backups.length > 0 ? [backupRules(o.app, o.namespace, o.backups)] : []),
        ...(certificate ? [certificate] : []),
    ];
}
