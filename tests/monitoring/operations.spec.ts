// Unit tests of the operations layer: settings and their errors, the plans' CronJobs, claims and exporter
// sidecars, the NetworkPolicies of the metrics ports and backups, cron periods and alert thresholds, and the
// Prometheus Operator objects against the real CRD schemas (prometheus-operator v0.85.0's CRDs from the Go
// module proxy: scripts/go-tools.sh crds).

import { PINNED_IMAGES } from "../helpers/config";
import * as assert from "assert";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/stackConfig";
import { MONITORING_DEFAULTS, readMonitoringSettings } from "../../components/config/operations";
import { Reader } from "../../components/config/reader";
import { mariadbInitSql, mariadbServerConfig, planMariaDb, reconcileStatements } from "../../components/mariadb";
import { buildNetworkPolicies } from "../../components/networkPolicies";
import { backupMaxAgeSeconds, cronPeriodSeconds } from "../../components/monitoring/rules";
import { planRedis, redisAclFile } from "../../components/redis";
import { planKafka } from "../../components/kafka";
import { KAFKA_JMX_PATHS, KAFKA_METRICS_PORT, kafkaMetricsGap } from "../../components/monitoring/kafka";
import { renderPlan } from "../helpers/renderPlan";
import type { Any } from "../../scripts/lib/manifests";
import { planContainers, planProblems } from "../../components/workload/plan";
import { requireTool } from "../helpers/ops";
import { asManifest, crdSchema, monitoringObjects, schemaErrors } from "../helpers/opsAlerts";

function config(extra: Record<string, unknown> = {}) {
    return parseStackConfig({ mariadb: { databases: [{ name: "orders", user: "orders" }] }, ...extra });
}

describe("operations: settings", function () {
    it("defaults: backups, point in time and exporters in production only, no Prometheus Operator", function () {
        const dev = config();
        assert.strictEqual(dev.mariadb.backup.enabled, false);
        assert.strictEqual(dev.mariadb.backup.pointInTime, false);
        assert.strictEqual(dev.redis.backup.enabled, false);
        assert.strictEqual(dev.monitoring.exporters, false);
        assert.strictEqual(dev.mariadb.backup.storageSize, dev.mariadb.storageSize, "the backup claim defaults to the data volume's size");
        assert.strictEqual(dev.redis.backup.schedule, "45 2 * * *");
        const pinned = { mariadb: { image: PINNED_IMAGES.mariadb }, redis: { image: PINNED_IMAGES.redis } };
        const prod = config({ environment: "production", storageClass: "longhorn", protect: true, networkPolicies: { allowedNamespaces: ["app"] }, ...pinned });
        assert.strictEqual(prod.mariadb.backup.enabled, true);
        assert.strictEqual(prod.mariadb.backup.pointInTime, true);
        assert.strictEqual(prod.redis.backup.enabled, true);
        assert.strictEqual(prod.monitoring.exporters, true);
        // Set explicitly, they win over the environment; no backups means no point-in-time archive.
        const devOn = config({ mariadb: { backup: { enabled: true } }, monitoring: { exporters: true } });
        assert.strictEqual(devOn.mariadb.backup.enabled, true);
        assert.strictEqual(devOn.mariadb.backup.pointInTime, false);
        assert.strictEqual(devOn.monitoring.exporters, true);
        const prodOff = config({ environment: "production", storageClass: "longhorn", protect: true, networkPolicies: { allowedNamespaces: ["app"] }, ...pinned, mariadb: { ...pinned.mariadb, backup: { enabled: false } } });
        assert.strictEqual(prodOff.mariadb.backup.pointInTime, false);
        const r = new Reader();
        assert.deepStrictEqual(readMonitoringSettings(r, undefined, "development"), { ...MONITORING_DEFAULTS, exporters: false });
        assert.deepStrictEqual(readMonitoringSettings(r, undefined, "production"), { ...MONITORING_DEFAULTS, exporters: true });
    });

    it("refuses bad values with the key, the value and what is accepted, all at once", function () {
        assert.throws(
            () => config({ mariadb: { backup: { schedule: "daily", retentionDays: 0, pointInTime: "yes" } }, redis: { backup: { storageSize: "big" }, users: [{ name: "metrics" }] } }),
            (e: ConfigError) => {
                const text = e.problems.join("\n");
                return (
                    /mariadb\.backup\.schedule: "daily" is not valid; expected a cron schedule/.test(text) &&
                    /mariadb\.backup\.retentionDays: 0 is not valid/.test(text) &&
                    /mariadb\.backup\.pointInTime: "yes" is not valid; expected true or false/.test(text) &&
                    /redis\.backup\.storageSize: "big" is not valid/.test(text) &&
                    /redis\.users\[\]\.name: "metrics" is not valid/.test(text)
                );
            },
        );
        const r = new Reader();
        readMonitoringSettings(r, { prometheusOperator: "yes", scrapeInterval: "soon", selectorLabels: { "bad key!": "x" }, kafkaJmxAgent: { image: "x:1" } }, "development");
        assert.strictEqual(r.problems.length, 4, r.problems.join("\n"));
        assert.throws(() => config({ mariadb: { backup: { enabled: false, pointInTime: true } } }), /pointInTime: true needs mariadb\.backup\.enabled/);
    });
});

describe("operations: plans", function () {
    const prodRaw = {
        environment: "production",
        storageClass: "longhorn",
        protect: true,
        networkPolicies: { enabled: true, egress: true, allowedNamespaces: ["app"], monitoringNamespace: "monitoring" },
        tls: { enabled: true },
        mariadb: { image: PINNED_IMAGES.mariadb, databases: [{ name: "orders", user: "orders" }] },
        redis: { image: PINNED_IMAGES.redis },
        kafka: { replicas: 3 },
    };
    const prod = parseStackConfig(prodRaw);

    it("MariaDB in production: binary logs, two hardened CronJobs on their own claims, the exporter sidecar; sound plans", function () {
        const plan = planMariaDb(prod.mariadb, prod);
        assert.deepStrictEqual(planProblems(plan), []);
        assert.match(plan.objects.find((o) => o.name === "mariadb-config")!.data[0].content as string, /^log-bin$/m);
        assert.deepStrictEqual(plan.cronJobs!.map((c) => c.name), ["mariadb-backup", "mariadb-binlog-archive"]);
        assert.deepStrictEqual(plan.claims!.map((c) => c.name), ["mariadb-backup", "mariadb-binlog-archive"]);
        for (const c of plan.cronJobs!) {
            assert.strictEqual(c.concurrencyPolicy, "Forbid");
            assert.ok(c.startingDeadlineSeconds > 0 && c.job.activeDeadlineSeconds > 0 && c.failedJobsHistoryLimit > 0);
            assert.deepStrictEqual(c.job.containers[0].env, [], "credentials only as mounted files");
        }
        const exporter = plan.workload.containers.find((c) => c.name === "mysqld-exporter")!;
        assert.deepStrictEqual(exporter.env, []);
        assert.deepStrictEqual(exporter.ports, [{ name: "metrics", port: 9104, exposure: "metrics" }]);
        assert.ok(exporter.probes.liveness && !exporter.probes.readiness, "a helper: liveness only");
        // Dev: nothing of it by default (its data is disposable); a full backup without binary logs on request.
        const dev = planMariaDb(config().mariadb, config());
        assert.deepStrictEqual([dev.cronJobs, dev.claims, dev.workload.containers.map((c) => c.name)], [[], [], ["mariadb"]]);
        const devBackup = config({ mariadb: { databases: [{ name: "orders", user: "orders" }], backup: { enabled: true } } });
        const withBackup = planMariaDb(devBackup.mariadb, devBackup);
        assert.doesNotMatch(withBackup.objects.find((o) => o.name === "mariadb-config")!.data[0].content as string, /log-bin/);
        assert.deepStrictEqual(withBackup.cronJobs!.map((c) => c.name), ["mariadb-backup"]);
    });

    it("Redis: one hardened CronJob, the exporter sidecar with a metrics ACL user; exporters off removes the sidecars and their accounts", function () {
        const plan = planRedis(prod.redis, prod);
        assert.deepStrictEqual(planProblems(plan), []);
        assert.deepStrictEqual(plan.cronJobs!.map((c) => c.name), ["redis-backup"]);
        assert.ok(plan.workload.containers.some((c) => c.name === "redis-exporter"));
        const off = { ...prod, monitoring: { ...MONITORING_DEFAULTS, exporters: false } };
        assert.ok(!planContainers(planRedis(prod.redis, off)).some((c) => c.name === "redis-exporter"));
        assert.ok(!planContainers(planMariaDb(prod.mariadb, off)).some((c) => c.name === "mysqld-exporter"));
        assert.doesNotMatch(redisAclFile("a", [], {}), /metrics/);
        assert.match(redisAclFile("a", [], { metricsPassword: "p" }), /^user metrics on #[0-9a-f]{64} resetkeys resetchannels -@all \+info /m);
    });

    it("Kafka: kafka.jmxAgent puts the JMX agent into the brokers: init container, metrics port, rules ConfigMap, -javaagent on the broker's start only", async function () {
        const agent = { image: "registry.test/platform/jmx-agent:1.0.1", jar: "/opt/agent/jmx_prometheus_javaagent-1.0.1.jar" };
        const withAgent = parseStackConfig({ ...prodRaw, kafka: { replicas: 3, jmxAgent: { image: agent.image, jar: agent.jar } } });
        assert.deepStrictEqual(withAgent.kafka.jmxAgent, agent);
        const plan = planKafka(withAgent.kafka, withAgent);
        assert.deepStrictEqual(planProblems(plan), []);
        const init = plan.workload.initContainers!;
        assert.deepStrictEqual(init.map((c) => [c.name, c.image, c.command]), [["jmx-agent", agent.image, ["cp", agent.jar, KAFKA_JMX_PATHS.agentJar]]]);
        const broker = plan.workload.containers[0];
        assert.deepStrictEqual(broker.ports.filter((p) => p.exposure === "metrics"), [{ name: "metrics", port: KAFKA_METRICS_PORT, exposure: "metrics" }]);
        assert.ok(broker.mounts.some((m) => m.path === KAFKA_JMX_PATHS.agentDir && m.readOnly), "the broker mounts the copied jar read-only");
        assert.ok(plan.objects.some((o) => o.name === "kafka-jmx-exporter"));
        // Not in the container's KAFKA_OPTS: kubectl exec ... kafka-topics.sh would start a second agent on 9404.
        const env = JSON.stringify(broker.env);
        assert.doesNotMatch(env, /javaagent/);
        const start = plan.objects.find((o) => o.name === "kafka-config")!.data.find((d) => d.key === "start.sh")!.content as string;
        const lines = start.split("\n");
        const agentLine = lines.findIndex((l) => l.includes("-javaagent:"));
        assert.ok(agentLine > lines.findIndex((l) => l.includes("kafka-storage.sh format")), "after the storage format");
        assert.ok(agentLine < lines.findIndex((l) => l.startsWith("exec /opt/kafka/bin/kafka-server-start.sh")), "before the broker's exec");
        assert.strictEqual(lines[agentLine], `export KAFKA_OPTS="\${KAFKA_OPTS:+$KAFKA_OPTS }-javaagent:${KAFKA_JMX_PATHS.agentJar}=${KAFKA_METRICS_PORT}:${KAFKA_JMX_PATHS.configFile}"`);
        // Rendered through the shared renderer: the init container is hardened like every container.
        const noTls = parseStackConfig({ ...prodRaw, tls: { enabled: false }, kafka: { replicas: 3, jmxAgent: agent } });
        const rendered = await renderPlan(planKafka(noTls.kafka, noTls), noTls);
        const sts = rendered.objects.find((o) => o.kind === "StatefulSet")! as Any;
        const initSpec = sts.spec.template.spec.initContainers[0];
        assert.deepStrictEqual(
            [initSpec.securityContext.readOnlyRootFilesystem, initSpec.securityContext.allowPrivilegeEscalation, initSpec.securityContext.capabilities.drop],
            [true, false, ["ALL"]],
        );
        // Only the monitoring namespace reaches the agent's port.
        const metricsPolicy = rendered.objects.find((o) => o.kind === "NetworkPolicy" && (o as Any).metadata.name === "allow-metrics") as Any;
        assert.deepStrictEqual(metricsPolicy?.spec.ingress, [
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }], ports: [{ protocol: "TCP", port: KAFKA_METRICS_PORT }] },
        ]);
        // Without the agent image, or with exporters off: no agent, and a warning says why when exporters are on.
        const plain = planKafka(prod.kafka, prod);
        assert.strictEqual(plain.workload.initContainers, undefined);
        assert.ok(!plain.workload.containers[0].ports.some((p) => p.exposure === "metrics"));
        assert.doesNotMatch(plain.objects.find((o) => o.name === "kafka-config")!.data.find((d) => d.key === "start.sh")!.content as string, /javaagent/);
        assert.match(kafkaMetricsGap({ monitoring: prod.monitoring })!, /msa-infra:kafka\.jmxAgent is not set/);
        assert.strictEqual(kafkaMetricsGap({ monitoring: prod.monitoring, agent }), undefined);
        assert.strictEqual(kafkaMetricsGap({ monitoring: config().monitoring }), undefined, "dev runs no exporters");
        const off = { ...withAgent, monitoring: { ...MONITORING_DEFAULTS, exporters: false } };
        assert.strictEqual(planKafka(withAgent.kafka, off).workload.initContainers, undefined, "exporters off: no agent even with an image");
    });

    it("Kafka: kafka.jmxAgent is refused with the key, the value and what is accepted", function () {
        assert.throws(
            () => parseStackConfig({ kafka: { jmxAgent: { jar: "agent.jar", version: 1 } } }),
            (e: ConfigError) => {
                const text = e.problems.join("\n");
                return (
                    /kafka\.jmxAgent\.image: missing; expected an image reference with an explicit tag or digest/.test(text) &&
                    /kafka\.jmxAgent\.jar: "agent\.jar" is not valid; expected an absolute path ending in \.jar/.test(text) &&
                    /kafka\.jmxAgent\.version: unknown key; accepted keys are image, jar/.test(text)
                );
            },
        );
        assert.throws(() => parseStackConfig({ kafka: { jmxAgent: { image: "jmx-agent" } } }), /kafka\.jmxAgent\.image: "jmx-agent" is not valid; expected an image reference with an explicit tag/);
        assert.throws(() => parseStackConfig({ kafka: { jmxAgent: "registry/jmx:1" } }), /kafka\.jmxAgent: "registry\/jmx:1" is not valid; expected an object with keys image, jar/);
    });

    it("init.sql: operations accounts reconciled, out of the binary log; the reconcile Job lets backup read only declared databases", function () {
        const sql = mariadbInitSql({ reloader: false, backup: "b", exporter: "e", binlog: true });
        assert.strictEqual(sql.split("\n")[0], "SET SESSION sql_log_bin = 0;");
        assert.match(sql, /GRANT BINLOG MONITOR, RELOAD, REPLICATION SLAVE ON \*\.\* TO 'backup'@'%';/);
        const job = reconcileStatements({ root: "r", users: [{ database: "shop_a", user: "shop", password: "p" }], backup: true }).map((x) => x.sql);
        assert.ok(job.includes("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `shop\\_a`.* TO 'backup'@'%';"), job.join("\n"));
        assert.match(sql, /GRANT PROCESS, SLAVE MONITOR ON \*\.\* TO 'exporter'@'localhost';/);
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false, binlog: true }), /binlog_format = ROW\nsync_binlog = 1/);
    });

    it("NetworkPolicies: only the monitoring namespace reaches the metrics ports; job pods reach the client port, also with egress restricted", function () {
        const traffic = { namespace: "db", podSelector: { app: "mariadb" }, clientPorts: [3306], peerPorts: [], metricsPorts: [9104], jobPodSelector: { name: "mariadb" } };
        const policies = buildNetworkPolicies(traffic, prod.networkPolicies, {});
        const byName = Object.fromEntries(policies.map((p) => [p.metadata.name, p.spec]));
        assert.ok(["allow-metrics", "allow-jobs", "allow-jobs-egress"].every((n) => n in byName), Object.keys(byName).join(", "));
        assert.deepStrictEqual(byName["allow-metrics"].ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }], ports: [{ protocol: "TCP", port: 9104 }] }]);
        assert.deepStrictEqual(byName["allow-jobs"].ingress, [{ from: [{ podSelector: { matchLabels: { name: "mariadb" } } }], ports: [{ protocol: "TCP", port: 3306 }] }]);
        assert.deepStrictEqual(byName["allow-jobs-egress"].podSelector, { matchLabels: { name: "mariadb" } });
        assert.deepStrictEqual(byName["allow-jobs-egress"].egress, [{ to: [{ podSelector: { matchLabels: { app: "mariadb" } } }], ports: [{ protocol: "TCP", port: 3306 }] }]);
        const clientsFrom = JSON.stringify(byName["allow-clients"].ingress);
        assert.ok(!clientsFrom.includes('"monitoring"'), `with an exporter sidecar the monitoring namespace gets the metrics port only: ${clientsFrom}`);
        const names = (t: object, s: object) => buildNetworkPolicies({ ...traffic, ...t }, { ...prod.networkPolicies, ...s }, {}).map((p) => p.metadata.name);
        assert.ok(!names({}, { monitoringNamespace: undefined }).includes("allow-metrics"), "without a monitoring namespace nobody reaches the metrics port (default deny)");
        assert.ok(!names({ jobPodSelector: undefined }, {}).some((n) => n.startsWith("allow-jobs")), "no jobs, no opening");
        assert.ok(!names({}, { egress: false }).includes("allow-jobs-egress"));
    });

    it("backup alert thresholds follow the schedules", function () {
        assert.strictEqual(cronPeriodSeconds("15 2 * * *"), 86400);
        assert.strictEqual(cronPeriodSeconds("*/5 * * * *"), 300);
        assert.strictEqual(cronPeriodSeconds("0 3 * * 0"), 604800);
        assert.strictEqual(backupMaxAgeSeconds("15 2 * * *", 6 * 3600), 31 * 3600);
        assert.strictEqual(backupMaxAgeSeconds("*/5 * * * *", 1800), 900);
    });
});

describe("operations: PodMonitor and PrometheusRule objects validate against the Prometheus Operator's CRD schemas", function () {
    let dir: string;
    before(async function () {
        dir = await requireTool(this, "crds");
    });

    it("every rendered PodMonitor and PrometheusRule of dev and prod", function () {
        const schemas: Record<string, ReturnType<typeof crdSchema>> = {
            PodMonitor: crdSchema(path.join(dir, "monitoring.coreos.com_podmonitors.yaml")),
            PrometheusRule: crdSchema(path.join(dir, "monitoring.coreos.com_prometheusrules.yaml")),
        };
        const errors: string[] = [];
        let checked = 0;
        for (const stack of ["dev", "prod"]) {
            for (const [service, objects] of Object.entries(monitoringObjects(stack))) {
                for (const o of objects) {
                    const manifest = asManifest(o, service === "mariadb" ? "db" : service === "redis" ? "cache" : "messaging");
                    // metadata is the API server's ObjectMeta, not part of the CRD's schema.
                    const { metadata: _m, ...rest } = manifest;
                    void _m;
                    errors.push(...schemaErrors({ ...schemas[o.kind], properties: { ...schemas[o.kind].properties, metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }, { ...rest, metadata: {} }).map((e) => `${stack} ${o.kind} ${o.name}: ${e}`));
                    checked += 1;
                }
            }
        }
        assert.deepStrictEqual(errors, []);
        assert.strictEqual(checked, 12, "PodMonitor and PrometheusRule for each of three services, two stacks");
    });

    it("the validator refuses what the CRD refuses (an unknown field, a wrong type)", function () {
        const schema = crdSchema(path.join(dir, "monitoring.coreos.com_prometheusrules.yaml"));
        const bad = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "1", forr: "5m" }], interval: 5 }] } };
        const errors = schemaErrors(schema, bad);
        assert.ok(errors.some((e) => /forr: unknown field/.test(e)) && errors.some((e) => /interval/.test(e)), errors.join("\n"));
    });
});
