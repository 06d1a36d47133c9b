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
// The agent jar (io.prometheus.jmx:jmx_prometheus_javaagent on Maven Central) is not in apache/kafka; getting
// it into the broker pods (and running it in the real-Kafka tests) is not built yet.
// What exists is the rule set: the broker rules (for when the agent runs) and the disk rules, checked by
// promtool (tests/alerts.spec.ts); the Kafka plan renders none of it yet.

import { podMonitorName } from "./objects";
import { diskRules, kafkaRules, podMonitorJob, RuleGroup } from "./rules";

/** Kafka's alert groups: broker/partition/controller rules only where the agent exports them; disks always. */
export function kafkaRuleGroups(namespace: string, exporter: boolean): RuleGroup[] {
    return [
        ...(exporter ? [kafkaRules(namespace, podMonitorJob(namespace, podMonitorName("kafka")))] : []),
        diskRules("kafka", namespace, "data-kafka-[0-9]+"),
    ];
}
