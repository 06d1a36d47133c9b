// What Kafka reads: server.properties (a template filled in per pod), the JAAS file, the start script, the
// paths they are mounted at, and the derived sizes. Pure text builders.
//
// The properties are rendered here, not assembled by the image's KAFKA_* env translation, so none of the
// image's defaults (fixed cluster id, /tmp log dirs, localhost voters) can leak in.

import { percentOfMiB } from "../config/units";
import { headlessServiceName } from "../workload/plan";
import type { KafkaClientAuth } from "./settings";

export const KAFKA_APP = "kafka";
const APP = KAFKA_APP;
export const KAFKA_PORTS = { client: 9092, controller: 9093, internal: 9094 };
export const KAFKA_PATHS = {
    data: "/var/lib/kafka/data",
    tmp: "/tmp",
    // kafka-run-class.sh writes server.log & co. to LOG_DIR.
    logs: "/opt/kafka/logs",
    // A sub-directory of the volume: a fresh ext4 volume's lost+found must not sit in a log dir.
    logDirs: "/var/lib/kafka/data/logs",
    template: "/mnt/kafka-config",
    runtime: "/opt/kafka/runtime",
    serverProperties: "/opt/kafka/runtime/server.properties",
    keystore: "/opt/kafka/runtime/keystore.pem",
    jaasDir: "/etc/kafka/jaas",
    jaas: "/etc/kafka/jaas/kafka_server_jaas.conf",
    tls: "/etc/kafka/tls",
};
/** Placeholders in the properties template, filled in per pod by the start script. */
export const NODE_ID_PLACEHOLDER = "@NODE_ID@";
export const POD_HOST_PLACEHOLDER = "@POD_HOST@";
/** Reserved SASL users: `broker` for inter-broker and controller traffic, `admin` for operators. */
export const BROKER_USER = "broker";
export const ADMIN_USER = "admin";

export interface KafkaPropertiesOptions {
    replicas: number;
    namespace: string;
    clientAuth: KafkaClientAuth;
    tls: boolean;
}

/** Replication settings that a cluster of `replicas` brokers can satisfy: RF = min(3, n), min ISR = RF - 1. */
export function replicationSettings(replicas: number): { replicationFactor: number; minInsyncReplicas: number } {
    const replicationFactor = Math.min(3, replicas);
    return { replicationFactor, minInsyncReplicas: Math.max(1, replicationFactor - 1) };
}

/** `0@kafka-0.kafka-headless.<ns>.svc.cluster.local:9093,...`: node id = pod ordinal. */
export function quorumVoters(replicas: number, namespace: string): string {
    return Array.from(
        { length: replicas },
        (_, i) => `${i}@${APP}-${i}.${headlessServiceName(APP)}.${namespace}.svc.cluster.local:${KAFKA_PORTS.controller}`,
    ).join(",");
}

/** The client listener's security protocol. */
export function clientProtocol(clientAuth: KafkaClientAuth, tls: boolean): string {
    if (clientAuth === "none") {
        return tls ? "SSL" : "PLAINTEXT";
    }
    return tls ? "SASL_SSL" : "SASL_PLAINTEXT";
}

/** server.properties template (no secrets: credentials come from the JAAS file in a Secret). */
export function kafkaServerProperties(opts: KafkaPropertiesOptions): string {
    const { replicationFactor, minInsyncReplicas } = replicationSettings(opts.replicas);
    const client = clientProtocol(opts.clientAuth, opts.tls);
    const props: [string, string | number][] = [
        ["process.roles", "broker,controller"],
        ["node.id", NODE_ID_PLACEHOLDER],
        ["controller.quorum.voters", quorumVoters(opts.replicas, opts.namespace)],
        ["listeners", `CLIENT://:${KAFKA_PORTS.client},INTERNAL://:${KAFKA_PORTS.internal},CONTROLLER://:${KAFKA_PORTS.controller}`],
        ["advertised.listeners", `CLIENT://${POD_HOST_PLACEHOLDER}:${KAFKA_PORTS.client},INTERNAL://${POD_HOST_PLACEHOLDER}:${KAFKA_PORTS.internal}`],
        ["listener.security.protocol.map", `CLIENT:${client},INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT`],
        ["inter.broker.listener.name", "INTERNAL"],
        ["controller.listener.names", "CONTROLLER"],
        // PLAIN: users live in the JAAS file, so they are declarative and also work on the KRaft controller
        // listener (SCRAM does not); TLS protects the passwords on the client listener when enabled.
        ["sasl.enabled.mechanisms", "PLAIN"],
        ["sasl.mechanism.inter.broker.protocol", "PLAIN"],
        ["sasl.mechanism.controller.protocol", "PLAIN"],
        ["log.dirs", KAFKA_PATHS.logDirs],
        ["num.partitions", 1],
        ["default.replication.factor", replicationFactor],
        ["min.insync.replicas", minInsyncReplicas],
        ["offsets.topic.replication.factor", replicationFactor],
        ["transaction.state.log.replication.factor", replicationFactor],
        ["transaction.state.log.min.isr", minInsyncReplicas],
        ["group.initial.rebalance.delay.ms", opts.replicas === 1 ? 0 : 3000],
    ];
    if (opts.tls) {
        props.push(
            ["listener.name.client.ssl.keystore.type", "PEM"],
            ["listener.name.client.ssl.keystore.location", KAFKA_PATHS.keystore],
            ["listener.name.client.ssl.client.auth", "none"],
        );
    }
    return props.map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** The JAAS file (a Secret): the broker's own login plus every user the PLAIN mechanism accepts. */
export function kafkaJaasConfig(brokerPassword: string, users: { name: string; password: string }[]): string {
    const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    const entries = [
        `    username=${q(BROKER_USER)}`,
        `    password=${q(brokerPassword)}`,
        `    user_${BROKER_USER}=${q(brokerPassword)}`,
        ...users.map((u) => `    user_${u.name}=${q(u.password)}`),
    ];
    return `KafkaServer {\n    org.apache.kafka.common.security.plain.PlainLoginModule required\n${entries.join("\n")};\n};\n`;
}

/** A client's sasl.jaas.config line for one user (goes into that user's Secret). */
export function clientJaasConfig(user: string, password: string): string {
    return `org.apache.kafka.common.security.plain.PlainLoginModule required username="${user}" password="${password}";`;
}

/**
 * Start script: node id from the pod ordinal, advertised host from the headless Service, storage formatted
 * once with the stack's cluster id (a formatted volume is left alone), then the broker replaces the shell.
 */
export function kafkaStartScript(namespace: string): string {
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        'ordinal="${HOSTNAME##*-}"',
        'case "$ordinal" in ""|*[!0-9]*) echo "cannot derive the node id from HOSTNAME=$HOSTNAME" >&2; exit 1;; esac',
        `host="\${HOSTNAME}.${headlessServiceName(APP)}.${namespace}.svc.cluster.local"`,
        `mkdir -p ${KAFKA_PATHS.logDirs}`,
        `sed -e "s/${NODE_ID_PLACEHOLDER}/$ordinal/g" -e "s/${POD_HOST_PLACEHOLDER}/$host/g" ${KAFKA_PATHS.template}/server.properties > ${KAFKA_PATHS.serverProperties}`,
        `if [ -f ${KAFKA_PATHS.tls}/tls.crt ]; then cat ${KAFKA_PATHS.tls}/tls.key ${KAFKA_PATHS.tls}/tls.crt > ${KAFKA_PATHS.keystore}; fi`,
        // --cluster-id=VALUE: a generated id may begin with '-', which the tool's parser would take for a flag.
        `/opt/kafka/bin/kafka-storage.sh format --config ${KAFKA_PATHS.serverProperties} --cluster-id="$CLUSTER_ID" --ignore-formatted`,
        `exec /opt/kafka/bin/kafka-server-start.sh ${KAFKA_PATHS.serverProperties}`,
        "",
    ].join("\n");
}

/**
 * log4j configuration: everything to stdout, where the kubelet rotates it. The image's default writes
 * server, controller, state-change and request logs into /opt/kafka/logs with hourly rolling and no
 * retention: a size-limited emptyDir fills and the pod is evicted (eviction ignores the PDB).
 */
export function kafkaLog4jProperties(): string {
    return [
        "log4j.rootLogger=INFO, stdout",
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
        // The default's per-logger levels, minus their file appenders.
        "log4j.logger.kafka=INFO",
        "log4j.logger.org.apache.kafka=INFO",
        "log4j.logger.kafka.request.logger=WARN",
        "log4j.logger.kafka.controller=INFO",
        "log4j.logger.kafka.log.LogCleaner=INFO",
        "log4j.logger.state.change.logger=INFO",
        "log4j.logger.kafka.authorizer.logger=INFO",
        "",
    ].join("\n");
}

/** JVM options that keep the broker's own output on stdout: log4j as above, GC pauses too (no GC log files). */
export const KAFKA_LOG_ENV = {
    KAFKA_LOG4J_OPTS: `-Dlog4j.configuration=file:${KAFKA_PATHS.template}/log4j.properties`,
    KAFKA_GC_LOG_OPTS: "-Xlog:gc:stdout:time,tags",
};

/** JVM heap in MiB: a share of the memory limit, leaving the rest to page cache and off-heap buffers. */
export function kafkaHeapMiB(memoryLimit: string, heapPercent: number): number {
    return Math.max(256, percentOfMiB(memoryLimit, heapPercent));
}
