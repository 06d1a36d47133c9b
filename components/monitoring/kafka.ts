// Kafka's metrics, the JMX route: the Prometheus JMX exporter runs as a Java agent inside each broker
// (-javaagent:<jar>=<port>:<config>) and serves the broker's own MBeans on the metrics port.
//
// Why JMX and not a Kafka exporter: github.com/danielqsj/kafka_exporter is refused by the Go module proxy
// (403 for its version list and for v1.9.0), so it cannot be built and proven here; and the broker's own
// MBeans are the authoritative source for the three series the alerts need: UnderReplicatedPartitions (per
// broker), OfflinePartitionsCount and ActiveControllerCount (from the KRaft controllers); an admin-API
// exporter sees no controller count at all. The agent reads in-process MBeans: it has no Kafka credentials,
// so no Kafka principal and no ACL exist for it (least privilege by construction); its port is reachable
// only from the monitoring namespace.
//
// The agent jar (io.prometheus.jmx:jmx_prometheus_javaagent on Maven Central, 2.9 MB: too big for a
// ConfigMap) is not in the apache/kafka image: an init container copies it from `kafka.jmxAgent.image` (an
// image of the platform's registry holding the jar at `kafka.jmxAgent.jar`) into an emptyDir. Only the
// broker's own start gets the -javaagent option (kafkaStartScript): an admin tool run in the container
// (kubectl exec ... kafka-topics.sh) would otherwise start a second agent on the same port and fail.

import type { MonitoringSettings } from "../config/operations";
import type { TlsSettings } from "../config/platform";
import type { KafkaJmxAgentSettings } from "../kafka/settings";
import type { ContainerPlan, DataObjectPlan, ExtraObjectPlan, MountPlan, PortPlan } from "../workload/plan";
import { operatorObjects, podMonitorName } from "./objects";
import { kafkaRules, podMonitorJob, RuleGroup, serviceRuleGroups } from "./rules";

/** The JMX exporter's conventional port. */
export const KAFKA_METRICS_PORT = 9404;
/** The agent version the configuration below is written for and the real-Kafka tests run. */
export const KAFKA_JMX_AGENT_VERSION = "1.0.1";
export const KAFKA_JMX_PATHS = {
    agentDir: "/opt/jmx-agent",
    agentJar: "/opt/jmx-agent/jmx_prometheus_javaagent.jar",
    configDir: "/etc/kafka/jmx",
    configFile: "/etc/kafka/jmx/jmx-exporter.yaml",
};
/** ConfigMap holding the agent's rules. */
export const KAFKA_JMX_OBJECT = "kafka-jmx-exporter";

/**
 * The agent's configuration: only the MBeans the alerts and docs/operations/monitoring.md's series list use (a full MBean walk
 * of a busy broker costs seconds per scrape); lower-case names as in
 * kafka_server_replicamanager_underreplicatedpartitions.
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

/** The JVM option that starts the agent on the metrics port with the mounted rules. */
export function kafkaJavaAgentOption(): string {
    return `-javaagent:${KAFKA_JMX_PATHS.agentJar}=${KAFKA_METRICS_PORT}:${KAFKA_JMX_PATHS.configFile}`;
}

/** What the Kafka plan adds for metrics: nothing when the exporters are off or no agent image is set. */
export interface KafkaMetricsPlan {
    /** The agent runs: the alerts on its series are rendered too. */
    agent: boolean;
    /** ConfigMap kafka-jmx-exporter (the agent's rules). */
    objects: DataObjectPlan[];
    /** Copies the jar into the `jmx-agent` emptyDir. */
    initContainers: ContainerPlan[];
    /** On the broker container. */
    ports: PortPlan[];
    mounts: MountPlan[];
    /** For the start script: the -javaagent option of the broker's JVM, or undefined. */
    javaAgentOption?: string;
    /** PodMonitor and PrometheusRule, with the Prometheus Operator. */
    extraObjects: ExtraObjectPlan[];
    /** Why Kafka runs without metrics although the stack runs exporters (kafkaMetricsGap), or undefined. */
    warning?: string;
}

export interface KafkaMetricsInput {
    namespace: string;
    monitoring: MonitoringSettings;
    agent?: KafkaJmxAgentSettings;
    /** The stack's TLS settings (the certificate expiry alerts). */
    tls: TlsSettings;
}

/** Why Kafka runs without metrics although the stack runs exporters (for a warning), or undefined. */
export function kafkaMetricsGap(i: Pick<KafkaMetricsInput, "monitoring" | "agent">): string | undefined {
    if (!i.monitoring.exporters || i.agent) return undefined;
    return (
        "monitoring.exporters is on but msa-infra:kafka.jmxAgent is not set: the Kafka brokers run without the " +
        "JMX exporter agent, so Kafka has no metrics and no broker alerts (only the disk alerts). Set " +
        "kafka.jmxAgent.image to an image holding jmx_prometheus_javaagent-" +
        `${KAFKA_JMX_AGENT_VERSION}.jar (docs/operations/monitoring.md, "Kafka metrics: the JMX agent").`
    );
}

export function kafkaMetricsPlan(i: KafkaMetricsInput): KafkaMetricsPlan {
    const rules = (agent: boolean): ExtraObjectPlan[] => operatorObjects("kafka", i.monitoring, agent, kafkaRuleGroups(i.namespace, agent, i.tls));
    if (!i.monitoring.exporters || !i.agent) {
        return { agent: false, objects: [], initContainers: [], ports: [], mounts: [], extraObjects: rules(false), warning: kafkaMetricsGap(i) };
    }
    const agentVolume: MountPlan = { volume: "jmx-agent", path: KAFKA_JMX_PATHS.agentDir, source: { kind: "scratch", sizeLimit: "16Mi" } };
    return {
        agent: true,
        objects: [{ id: "jmx-exporter", kind: "ConfigMap", name: KAFKA_JMX_OBJECT, data: [{ key: "jmx-exporter.yaml", content: kafkaJmxExporterConfig() }], protect: false }],
        initContainers: [
            {
                name: "jmx-agent",
                image: i.agent.image,
                command: ["cp", i.agent.jar, KAFKA_JMX_PATHS.agentJar],
                ports: [],
                env: [],
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                mounts: [agentVolume],
                probes: {},
            },
        ],
        ports: [{ name: "metrics", port: KAFKA_METRICS_PORT, exposure: "metrics" }],
        mounts: [
            { ...agentVolume, readOnly: true },
            { volume: "jmx-config", path: KAFKA_JMX_PATHS.configDir, source: { kind: "object", object: KAFKA_JMX_OBJECT }, readOnly: true },
        ],
        javaAgentOption: kafkaJavaAgentOption(),
        extraObjects: rules(true),
    };
}

/** Kafka's alert groups: broker/partition/controller rules only where the agent exports them; disks always. */
export function kafkaRuleGroups(namespace: string, exporter: boolean, tls: TlsSettings): RuleGroup[] {
    return serviceRuleGroups({
        app: "kafka",
        namespace,
        server: exporter ? kafkaRules(namespace, podMonitorJob(namespace, podMonitorName("kafka"))) : undefined,
        claims: "data-kafka-[0-9]+",
        tls,
    });
}
