// Prometheus Operator objects as plan additions: a PodMonitor that scrapes a service's metrics port, and a
// PrometheusRule with its alert groups. Rendered only when the stack says the Operator is present.

import type { MonitoringSettings } from "../config/operations";
import { selectorLabels } from "../labels";
import type { ExtraObjectPlan } from "../workload/plan";
import type { RuleGroup } from "./rules";

export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/**
 * An extra object with labels of its own on top of the standard ones: the Prometheus instance selects
 * rules and monitors by label (monitoring.selectorLabels). The renderer merges `labels` into metadata.labels.
 */
export interface LabelledObjectPlan extends ExtraObjectPlan {
    labels: Record<string, string>;
}

/** Name of a service's PodMonitor (its job label is `<namespace>/<name>`). */
export function podMonitorName(app: string): string {
    return app;
}

/** A PodMonitor for the `metrics` port of the service's pods. */
export function podMonitor(app: string, monitoring: MonitoringSettings, opts: { path?: string } = {}): LabelledObjectPlan {
    return {
        id: "podmonitor",
        apiVersion: MONITORING_API_VERSION,
        kind: "PodMonitor",
        name: podMonitorName(app),
        labels: { ...monitoring.selectorLabels },
        body: {
            spec: {
                selector: { matchLabels: selectorLabels(app) },
                podMetricsEndpoints: [{ port: "metrics", path: opts.path ?? "/metrics", interval: monitoring.scrapeInterval, scrapeTimeout: "10s" }],
            },
        },
    };
}

/** A PrometheusRule holding `groups`. */
export function prometheusRule(app: string, monitoring: MonitoringSettings, groups: RuleGroup[]): LabelledObjectPlan {
    return {
        id: "prometheusrule",
        apiVersion: MONITORING_API_VERSION,
        kind: "PrometheusRule",
        name: `${app}-alerts`,
        labels: { ...monitoring.selectorLabels },
        body: { spec: { groups } },
    };
}

/**
 * A service's Prometheus Operator objects: the PodMonitor of its exporter (when one runs) and the
 * PrometheusRule with its alert groups. None without the Operator (its CRDs would be refused).
 */
export function operatorObjects(app: string, monitoring: MonitoringSettings, exporter: boolean, groups: RuleGroup[]): ExtraObjectPlan[] {
    if (!monitoring.prometheusOperator) return [];
    return [...(exporter ? [podMonitor(app, monitoring)] : []), prometheusRule(app, monitoring, groups)];
}
