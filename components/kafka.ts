// Apache Kafka 3.8.1 in KRaft mode (combined broker+controller, no ZooKeeper) as a StatefulSet on the
// apache/kafka image. The server properties are rendered here, not assembled by the image's KAFKA_* env
// translation, so none of the image's defaults (fixed cluster id, /tmp log dirs, localhost voters) can leak in.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { KafkaClientAuth, KafkaUser, NetworkPolicySettings, PodSecurityLevel, ResourceSettings, TlsSettings } from "./config";
import { quantityToBytes } from "./config";
import { selectorLabels, standardLabels } from "./labels";
import { containerSecurityContext, hardenedPodFields, IMAGE_USERS } from "./podSecurity";
import { contentChecksum, generatedPassword, secretValue } from "./secrets";
import { CertificateAuthority, createServiceCertificate } from "./tls";
import {
    containerResources,
    createDisruptionBudget,
    createNamespace,
    createNetworkPolicies,
    createSecret,
    createServiceAccount,
    createServices,
    createUserCredential,
    dataVolumeClaim,
    headlessServiceName,
    PVC_RETENTION,
    scratchVolumes,
    STATEFULSET_ANNOTATIONS,
    statefulSetOptions,
} from "./workload";

const APP = "kafka";
export const KAFKA_PORTS = { client: 9092, controller: 9093, internal: 9094 };
export const KAFKA_PATHS = {
    data: "/var/lib/kafka/data",
    // A sub-directory of the volume: a fresh ext4 volume's lost+found must not sit in a log dir.
    logDirs: "/var/lib/kafka/data/logs",
    template: "/mnt/kafka-config",
    runtime: "/opt/kafka/runtime",
    serverProperties: "/opt/kafka/runtime/server.properties",
    keystore: "/opt/kafka/runtime/keystore.pem",
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
        `/opt/kafka/bin/kafka-storage.sh format --config ${KAFKA_PATHS.serverProperties} --cluster-id "$CLUSTER_ID" --ignore-formatted`,
        `exec /opt/kafka/bin/kafka-server-start.sh ${KAFKA_PATHS.serverProperties}`,
        "",
    ].join("\n");
}

/** JVM heap in MiB: a share of the memory limit, leaving the rest to page cache and off-heap buffers. */
export function kafkaHeapMiB(memoryLimit: string, heapPercent: number): number {
    return Math.max(256, Math.floor((quantityToBytes(memoryLimit) * heapPercent) / 100 / 2 ** 20));
}

export interface KafkaArgs {
    /** Namespace to create for Kafka. Default in stack config: "messaging". */
    namespace: string;
    /** Image reference with an explicit tag. Default "apache/kafka:3.8.1". */
    image: string;
    /** Combined broker+controller nodes: 1, or an odd number >= 3 for a quorum. Default 1. */
    replicas: number;
    /** StorageClass of the data volumes. Default "local-path" (K3s). */
    storageClass: string;
    /** Size of each node's data volume. Default "10Gi". */
    storageSize: string;
    /** Container requests and limits; the heap is sized from the memory limit. */
    resources: ResourceSettings;
    /** JVM heap as a percentage of the memory limit. Default 50. */
    heapPercent: number;
    /** Client listener authentication: "sasl" (SASL/PLAIN) or "none" (PLAINTEXT, development only). Default "sasl". */
    clientAuth: KafkaClientAuth;
    /** Application SASL users, each with its own password and Secret. Default none. */
    users: KafkaUser[];
    /** Pod Security level enforced on the namespace. Default "restricted". */
    podSecurityLevel: PodSecurityLevel;
    /** NetworkPolicy settings of the stack. */
    networkPolicies: NetworkPolicySettings;
    /** TLS settings of the stack. Default off. */
    tls: TlsSettings;
    /** Generated CA, used when TLS is on and no Issuer is configured. */
    ca?: CertificateAuthority;
    /** Protect the namespace, StatefulSet, cluster id, passwords and credential Secrets. Default false (true in production). */
    protect: boolean;
}

export interface KafkaAppConnection {
    user: string;
    secretName: string;
}

export class Kafka extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** The KRaft cluster id: generated once, never regenerated (it is written into every formatted volume). */
    public readonly clusterId: random.RandomId;
    public readonly brokerPassword: random.RandomPassword;
    public readonly adminPassword: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    public readonly jaas: k8s.core.v1.Secret;
    public readonly adminSecret: k8s.core.v1.Secret;
    public readonly userSecrets: k8s.core.v1.Secret[];
    public readonly config: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    public readonly host: string;
    public readonly port: number;
    public readonly bootstrapServers: string;
    public readonly securityProtocol: string;
    public readonly saslMechanism?: string;
    public readonly tlsSecretName?: string;
    public readonly applications: KafkaAppConnection[];

    constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Kafka", name, {}, opts);
        const ns = args.namespace;
        const labels = standardLabels(APP, "broker", args.image);
        const selector = selectorLabels(APP);
        const user = IMAGE_USERS.kafka;
        const tlsOn = args.tls.enabled;
        this.host = `${APP}.${ns}.svc.cluster.local`;
        this.port = KAFKA_PORTS.client;
        this.bootstrapServers = `${this.host}:${this.port}`;
        this.securityProtocol = clientProtocol(args.clientAuth, tlsOn);
        this.saslMechanism = args.clientAuth === "sasl" ? "PLAIN" : undefined;

        this.namespace = createNamespace(name, ns, args.podSecurityLevel, labels, this, args.protect);
        this.serviceAccount = createServiceAccount(name, APP, this.namespace.metadata.name, labels, this);

        // 16 random bytes, URL-safe base64 without padding: the format `kafka-storage.sh random-uuid` prints.
        this.clusterId = new random.RandomId(`${name}-cluster-id`, { byteLength: 16 }, { parent: this, protect: args.protect });

        this.brokerPassword = generatedPassword(`${name}-broker-password`, this, args.protect);
        this.adminPassword = generatedPassword(`${name}-admin-password`, this, args.protect);
        this.adminSecret = createSecret(
            `${name}-admin`,
            "kafka-user-admin",
            this.namespace.metadata.name,
            labels,
            {
                username: ADMIN_USER,
                password: secretValue(this.adminPassword),
                "sasl.jaas.config": secretValue(this.adminPassword).apply((p) => clientJaasConfig(ADMIN_USER, p)),
            },
            this,
            args.protect,
        );
        this.userPasswords = {};
        this.userSecrets = [];
        this.applications = [];
        const jaasUsers: pulumi.Output<{ name: string; password: string }>[] = [
            secretValue(this.adminPassword).apply((password) => ({ name: ADMIN_USER, password })),
        ];
        for (const u of args.users) {
            const credential = createUserCredential(
                name,
                APP,
                u.name,
                this.namespace.metadata.name,
                labels,
                (password) => ({ "sasl.jaas.config": password.apply((p) => clientJaasConfig(u.name, p)) }),
                this,
                args.protect,
            );
            this.userPasswords[u.name] = credential.password;
            this.userSecrets.push(credential.secret);
            this.applications.push({ user: u.name, secretName: credential.secretName });
            jaasUsers.push(secretValue(credential.password).apply((password) => ({ name: u.name, password })));
        }
        const jaasText = pulumi
            .all([secretValue(this.brokerPassword), pulumi.all(jaasUsers)])
            .apply(([broker, users]) => kafkaJaasConfig(broker, users));
        this.jaas = createSecret(`${name}-jaas`, "kafka-jaas", this.namespace.metadata.name, labels, { "kafka_server_jaas.conf": jaasText }, this, args.protect);

        const properties = kafkaServerProperties({ replicas: args.replicas, namespace: ns, clientAuth: args.clientAuth, tls: tlsOn });
        const startScript = kafkaStartScript(ns);
        this.config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: { name: "kafka-config", namespace: this.namespace.metadata.name, labels },
                data: { "server.properties": properties, "start.sh": startScript, "cluster-id": this.clusterId.b64Url },
            },
            { parent: this },
        );

        const services = createServices(
            name,
            APP,
            this.namespace.metadata.name,
            labels,
            selector,
            [{ name: "client", port: KAFKA_PORTS.client }],
            [
                { name: "controller", port: KAFKA_PORTS.controller },
                { name: "internal", port: KAFKA_PORTS.internal },
            ],
            this,
        );
        this.service = services.service;
        this.headlessService = services.headless;

        if (tlsOn) {
            this.tlsSecretName = createServiceCertificate(
                name,
                { app: APP, namespaceName: ns, namespace: this.namespace.metadata.name, replicas: args.replicas, labels, settings: args.tls, ca: args.ca },
                this,
            );
        }

        const volumes: k8s.types.input.core.v1.Volume[] = [
            ...scratchVolumes(["tmp", "logs", "runtime"]),
            { name: "config", configMap: { name: "kafka-config", defaultMode: 0o555 } },
            { name: "jaas", secret: { secretName: "kafka-jaas", defaultMode: 0o440 } },
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: "data", mountPath: KAFKA_PATHS.data },
            { name: "tmp", mountPath: "/tmp" },
            // kafka-run-class.sh writes server.log & co. to LOG_DIR.
            { name: "logs", mountPath: "/opt/kafka/logs" },
            { name: "runtime", mountPath: KAFKA_PATHS.runtime },
            { name: "config", mountPath: KAFKA_PATHS.template, readOnly: true },
            { name: "jaas", mountPath: "/etc/kafka/jaas", readOnly: true },
        ];
        if (this.tlsSecretName) {
            volumes.push({ name: "tls", secret: { secretName: this.tlsSecretName, defaultMode: 0o440 } });
            mounts.push({ name: "tls", mountPath: KAFKA_PATHS.tls, readOnly: true });
        }
        const heap = kafkaHeapMiB(args.resources.limits.memory, args.heapPercent);
        const tcp = (port: string) => ({ tcpSocket: { port } });

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: { name: APP, namespace: this.namespace.metadata.name, labels, annotations: STATEFULSET_ANNOTATIONS },
                spec: {
                    serviceName: headlessServiceName(APP),
                    replicas: args.replicas,
                    selector: { matchLabels: selector },
                    // All voters start together; OrderedReady would wait for kafka-0, which needs a quorum.
                    podManagementPolicy: "Parallel",
                    updateStrategy: { type: "RollingUpdate" },
                    persistentVolumeClaimRetentionPolicy: PVC_RETENTION,
                    template: {
                        metadata: {
                            labels,
                            annotations: {
                                "checksum/config": contentChecksum(pulumi.interpolate`${properties}${startScript}`),
                                "checksum/jaas": contentChecksum(jaasText),
                            },
                        },
                        spec: {
                            ...hardenedPodFields(user, APP),
                            terminationGracePeriodSeconds: 120,
                            affinity:
                                args.replicas > 1
                                    ? {
                                          podAntiAffinity: {
                                              preferredDuringSchedulingIgnoredDuringExecution: [
                                                  {
                                                      weight: 100,
                                                      podAffinityTerm: { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" },
                                                  },
                                              ],
                                          },
                                      }
                                    : undefined,
                            containers: [
                                {
                                    name: APP,
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["/bin/bash", `${KAFKA_PATHS.template}/start.sh`],
                                    ports: [
                                        { name: "client", containerPort: KAFKA_PORTS.client, protocol: "TCP" },
                                        { name: "controller", containerPort: KAFKA_PORTS.controller, protocol: "TCP" },
                                        { name: "internal", containerPort: KAFKA_PORTS.internal, protocol: "TCP" },
                                    ],
                                    env: [
                                        { name: "CLUSTER_ID", valueFrom: { configMapKeyRef: { name: "kafka-config", key: "cluster-id" } } },
                                        { name: "KAFKA_HEAP_OPTS", value: `-Xms${heap}m -Xmx${heap}m` },
                                        { name: "KAFKA_OPTS", value: `-Djava.security.auth.login.config=${KAFKA_PATHS.jaas}` },
                                        { name: "LOG_DIR", value: "/opt/kafka/logs" },
                                    ],
                                    resources: containerResources(args.resources),
                                    securityContext: containerSecurityContext(user),
                                    volumeMounts: mounts,
                                    startupProbe: { ...tcp("client"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 120 },
                                    readinessProbe: { ...tcp("client"), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                                    livenessProbe: { ...tcp("controller"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                                },
                            ],
                            volumes,
                        },
                    },
                    volumeClaimTemplates: [dataVolumeClaim(args.storageClass, args.storageSize, selector)],
                },
            },
            statefulSetOptions(this, args.protect, [this.jaas, this.config, this.serviceAccount]),
        );
        this.disruptionBudget = createDisruptionBudget(name, APP, this.namespace.metadata.name, labels, selector, this);
        this.networkPolicies = createNetworkPolicies(
            name,
            {
                namespace: ns,
                podSelector: selector,
                clientPorts: [KAFKA_PORTS.client],
                peerPorts: [KAFKA_PORTS.controller, KAFKA_PORTS.internal],
            },
            args.networkPolicies,
            labels,
            this,
        );

        this.registerOutputs({
            host: this.host,
            port: this.port,
            bootstrapServers: this.bootstrapServers,
            securityProtocol: this.securityProtocol,
            applications: this.applications,
        });
    }
}
