// Stack-wide operations settings (`msa-infra:monitoring`): whether the services run their metrics exporters
// and whether the cluster runs the Prometheus Operator, so that alert rules (PrometheusRule) and scrape
// targets (ServiceMonitor/PodMonitor) are rendered. Backups are per service (`<service>.backup`, in the
// service's settings.ts); the monitoring namespace that may scrape is `networkPolicies.monitoringNamespace`.

import type { Environment } from "./platform";
import { Reader } from "./reader";
import { QUANTITY } from "./units";

export interface MonitoringSettings {
    /**
     * Run a metrics exporter next to each server (mysqld_exporter and redis_exporter as sidecars, the JMX
     * exporter agent in the Kafka brokers), each with its own least-privilege credentials. Default: true in
     * production, false otherwise.
     */
    exporters: boolean;
    /**
     * The cluster runs the Prometheus Operator: render PrometheusRule (alerts) and ServiceMonitor/PodMonitor
     * (scrape targets) objects. Default false (the CRDs would be refused by a cluster without them).
     */
    prometheusOperator: boolean;
    /**
     * Labels put on every PrometheusRule, ServiceMonitor and PodMonitor, so the Prometheus instance's
     * ruleSelector/serviceMonitorSelector picks them up (kube-prometheus-stack: `release: <helm release>`).
     * Default none.
     */
    selectorLabels: Record<string, string>;
    /** How often Prometheus scrapes the exporters. Default "30s". */
    scrapeInterval: string;
}

/** The defaults of `monitoring` that do not depend on the environment. */
export const MONITORING_DEFAULTS: Omit<MonitoringSettings, "exporters"> = { prometheusOperator: false, selectorLabels: {}, scrapeInterval: "30s" };

/** What production stacks run and development stacks leave off by default: exporters and backups. */
export function onInProduction(environment: Environment): boolean {
    return environment === "production";
}

/** The keys accepted under `monitoring`. */
export const MONITORING_KEYS = ["exporters", "prometheusOperator", "selectorLabels", "scrapeInterval"] as const;

/** A Prometheus duration as the Operator's CRDs accept it (e.g. 30s, 1m, 1m30s). */
export const PROMETHEUS_DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

/** A Kubernetes label key: optional DNS prefix, then a name of up to 63 characters. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Reads `msa-infra:monitoring`; absent means the defaults (exporters: on in production). */
export function readMonitoringSettings(r: Reader, value: unknown, environment: Environment): MonitoringSettings {
    const raw = r.object("monitoring", value, MONITORING_KEYS);
    const selectorLabels: Record<string, string> = {};
    if (raw.selectorLabels !== undefined) {
        const sel = raw.selectorLabels;
        if (typeof sel !== "object" || sel === null || Array.isArray(sel)) {
            r.fail("monitoring.selectorLabels", sel, "a map of label: value");
        } else {
            for (const [k, v] of Object.entries(sel as Record<string, unknown>)) {
                if (!LABEL_KEY.test(k) || typeof v !== "string" || !LABEL_VALUE.test(v)) {
                    r.fail(`monitoring.selectorLabels.${k}`, v, "a Kubernetes label (key and value of at most 63 alphanumerics, '-', '_', '.')");
                } else {
                    selectorLabels[k] = v;
                }
            }
        }
    }
    const scrapeInterval = r.string("monitoring.scrapeInterval", raw.scrapeInterval, MONITORING_DEFAULTS.scrapeInterval, PROMETHEUS_DURATION, "a Prometheus duration such as 30s or 1m");
    if (scrapeInterval === "0") {
        r.fail("monitoring.scrapeInterval", scrapeInterval, "a positive Prometheus duration such as 30s");
    }
    return {
        exporters: r.boolean("monitoring.exporters", raw.exporters, onInProduction(environment)),
        prometheusOperator: r.boolean("monitoring.prometheusOperator", raw.prometheusOperator, MONITORING_DEFAULTS.prometheusOperator),
        selectorLabels,
        scrapeInterval,
    };
}

/** A cron schedule of five fields (minute hour day-of-month month day-of-week), as CronJobs accept it. */
export const CRON_SCHEDULE = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

/** What a service's backup settings look like (mariadb.backup, redis.backup). */
export interface BackupSettings {
    /** Run the scheduled backup CronJob. Default: true in production, false otherwise (development data is disposable). */
    enabled: boolean;
    /** Cron schedule of the full backup (the controller's time zone, UTC on K3s). */
    schedule: string;
    /** Days a backup is kept; the newest one is always kept. Default 7. */
    retentionDays: number;
    /** Size of the backup volume claim `<app>-backup`. Default: the data volume's size. */
    storageSize: string;
}

/** The keys every service's `backup` object accepts (a service may add its own). */
export const BACKUP_KEYS = ["enabled", "schedule", "retentionDays", "storageSize"] as const;

/**
 * Reads `<service>.backup`'s shared keys (`enabled` defaults to on in production); `extraKeys` are the
 * service's own (read by the caller from `raw`).
 */
export function readBackupSettings(
    r: Reader,
    key: string,
    value: unknown,
    defaults: Omit<BackupSettings, "enabled">,
    environment: Environment,
    extraKeys: readonly string[] = [],
): { raw: Record<string, unknown>; settings: BackupSettings } {
    const raw = r.object(key, value, [...BACKUP_KEYS, ...extraKeys]);
    return {
        raw,
        settings: {
            enabled: r.boolean(`${key}.enabled`, raw.enabled, onInProduction(environment)),
            schedule: r.string(`${key}.schedule`, raw.schedule, defaults.schedule, CRON_SCHEDULE, "a cron schedule of five fields, such as \"15 2 * * *\""),
            retentionDays: r.integer(`${key}.retentionDays`, raw.retentionDays, defaults.retentionDays, { min: 1, max: 365 }),
            storageSize: r.string(`${key}.storageSize`, raw.storageSize, defaults.storageSize, QUANTITY, "a quantity above zero such as 20Gi"),
        },
    };
}
