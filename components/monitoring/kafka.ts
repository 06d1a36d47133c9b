// Kafka's metrics, the JMX route: the Prometheus JMX exporter runs as a Java agent inside each broker
// (-javaagent:<jar>=<port>:<config>) and serves the broker's own MBeans on a metrics port.
//
// Why JMX and not a Kafka exporter: github.com/danielqsj/kafka_exporter is refused by the Go module proxy
// (403 for its version list and for v1.9.0), so it cannot be built and proven here; and the broker's own
// MBeans are the authoritative source for the three series the alerts need: UnderReplicatedPartitions (per
// broker), OfflinePartitionsCount and ActiveControllerCount (from the KRaft controllers); an admin-API
// exporter sees no controller count at all. The agent reads in-process MBeans: it has no Kafka credentials,
// so no Kafka principal and no ACL exist for it (least privilege by construction); its port is reachable
// only from the monitoring namespace.
//
// The agent jar (io.prometheus.jmx:jmx_prometheus_javaagent on Maven Central) is not in apache/kafka: an init
// container copies it from `monitoring.kafkaJmxAgent.image` (an image of the platform's registry that holds
// the jar at `monitoring.kafkaJmxAgent.jar`) into an emptyDir. Without that setting, Kafka has no exporter.
// Not wired into the Kafka plan yet: an agent-enabled broker has not been run in the real-Kafka tests (the
// jar resolves from Maven Central). The rules are checked by promtool (tests/alerts.spec.ts).

import { exportersEnabled, type MonitoringSettings } from "../config/operations";
import type { ContainerPlan, DataObjectPlan, EnvPlan, ExtraObjectPlan, MountPlan, PortPlan } from "../workload/plan";
import { podMonitor, podMonitorName, prometheusRule } from "./objects";
import { diskRules, kafkaRules, podMonitorJob, RuleGroup } from "./rules";

export const KAFKA_METRICS_PORT = 9404;
export const KAFKA_JMX_PATHS = { agentDir: "/opt/jmx-agent", agentJar: "/opt/jmx-agent/jmx_prometheus_javaagent.jar", configDir: "/etc/kafka/jmx", configFile: "/etc/kafka/jmx/jmx-exporter.yaml" };
export const KAFKA_JMX_OBJECT = "kafka-jmx-exporter";

/**
 * The agent's configuration: only the MBeans the alerts and dashboards use (a full MBean walk of a busy
 * broker costs seconds per scrape), lower-case names as in kafka_server_replicamanager_underreplicatedpartitions.
 */
export function kafkaJmxExporterConfig(): string {
    return [
        "lowercaseOutputName: true",
        "lowercaseOutputLabelNames: true",
        "includeObjectNames:",
        '  - "kafka.server:type=ReplicaManager,*"',
        '  - "kafka.controller:type=KafkaController,*"',
        '  - "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec"',
        '  - "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec"',
        '  - "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec"',
        "rules:",
        '  - pattern: "kafka.server<type=ReplicaManager, name=(UnderReplicatedPartitions|UnderMinIsrPartitionCount|OfflineReplicaCount|PartitionCount|LeaderCount)><>Value"',
        '    name: "kafka_server_replicamanager_$1"',
        "    type: GAUGE",
        '  - pattern: "kafka.controller<type=KafkaController, name=(ActiveControllerCount|OfflinePartitionsCount|GlobalPartitionCount|GlobalTopicCount|ActiveBrokerCount|FencedBrokerCount)><>Value"',
        '    name: "kafka_controller_kafkacontroller_$1"',
        "    type: GAUGE",
        '  - pattern: "kafka.server<type=BrokerTopicMetrics, name=(MessagesInPerSec|BytesInPerSec|BytesOutPerSec)><>Count"',
        '    name: "kafka_server_brokertopicmetrics_$1_total"',
        "    type: COUNTER",
        "",
    ].join("\n");
}

/** Where the agent jar comes from (an image of the platform's registry). */
export interface KafkaJmxAgent {
    image: string;
    jar: string;
}

/** What the Kafka plan adds for metrics; empty when exporters are off or no agent image is configured. */
export interface KafkaMetricsAdditions {
    /** ConfigMap kafka-jmx-exporter (the agent's rules). */
    objects: DataObjectPlan[];
    /** Init container copying the agent jar into the `jmx-agent` emptyDir. */
    initContainers: ContainerPlan[];
    /** On the broker container: the metrics port, the -javaagent option (append to KAFKA_OPTS), the mounts. */
    ports: PortPlan[];
    javaAgentOption: string;
    mounts: MountPlan[];
    extraObjects: ExtraObjectPlan[];
}

export function kafkaMetricsAdditions(opts: { namespace: string; environment: string; monitoring: MonitoringSettings; agent?: KafkaJmxAgent }): KafkaMetricsAdditions {
    const none: KafkaMetricsAdditions = { objects: [], initContainers: [], ports: [], javaAgentOption: "", mounts: [], extraObjects: [] };
    if (!exportersEnabled(opts.monitoring, opts.environment) || !opts.agent) {
        return { ...none, extraObjects: opts.monitoring.prometheusOperator ? [prometheusRule("kafka", opts.monitoring, kafkaRuleGroups(opts.namespace, false))] : [] };
    }
    const agentVolume: MountPlan = { volume: "jmx-agent", path: KAFKA_JMX_PATHS.agentDir, source: { kind: "scratch", sizeLimit: "16Mi" } };
    return {
        objects: [{ id: "jmx-exporter", kind: "ConfigMap", name: KAFKA_JMX_OBJECT, data: [{ key: "jmx-exporter.yaml", content: kafkaJmxExporterConfig() }], protect: false }],
        initContainers: [
            {
                name: "jmx-agent",
                image: opts.agent.image,
                command: ["cp", opts.agent.jar, KAFKA_JMX_PATHS.agentJar],
                ports: [],
                env: [] as EnvPlan[],
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                mounts: [agentVolume],
                probes: {},
            },
        ],
        ports: [{ name: "metrics", port: KAFKA_METRICS_PORT, exposure: "metrics" }],
        javaAgentOption: `-javaagent:${KAFKA_JMX_PATHS.agentJar}=${KAFKA_METRICS_PORT}:${KAFKA_JMX_PATHS.configFile}`,
        mounts: [{ ...agentVolume, readOnly: true }, { volume: "jmx-config", path: KAFKA_JMX_PATHS.configDir, source: { kind: "object", object: KAFKA_JMX_OBJECT }, readOnly: true }],
        extraObjects: opts.monitoring.prometheusOperator ? [podMonitor("kafka", opts.monitoring), prometheusRule("kafka", opts.monitoring, kafkaRuleGroups(opts.namespace, true))] : [],
    };
}

/** Kafka's alert groups: broker/partition/controller rules only where the agent exports them; disks always. */
export function kafkaRuleGroups(namespace: string, exporter: boolean): RuleGroup[] {
    return [
        ...(exporter ? [kafkaRules(namespace, podMonitorJob(namespace, podMonitorName("kafka")))] : []),
        diskRules("kafka", namespace, "data-kafka-[0-9]+"),
    ];
}
