// Kafka's plan: KRaft in combined broker+controller mode (no ZooKeeper) as a StatefulSet on the apache/kafka
// image, a generated cluster id, SASL/PLAIN users from a JAAS file, and the Restricted pod profile.

import type { PlatformSettings } from "../config";
import { IMAGE_USERS } from "../podSecurity";
import { tlsConnection, TlsConnection } from "../tls";
import { dataVolume, derived, generatedValue, mountObject, scratch, serviceHost, ServicePlan, tlsVolume, userSecretName } from "../workload/plan";
import {
    ADMIN_USER,
    clientJaasConfig,
    clientProtocol,
    KAFKA_APP,
    KAFKA_PATHS,
    KAFKA_PORTS,
    kafkaHeapMiB,
    KAFKA_LOG_ENV,
    kafkaJaasConfig,
    kafkaLog4jProperties,
    kafkaServerProperties,
    kafkaStartScript,
} from "./files";
import type { KafkaSettings } from "./settings";

/** Names of Kafka's ConfigMap and Secrets. */
export const KAFKA_OBJECTS = { config: "kafka-config", jaas: "kafka-jaas", admin: "kafka-user-admin" };
/** Ids of Kafka's generated values (resources `${name}-<id>`). */
export const KAFKA_GENERATED = {
    clusterId: "cluster-id",
    brokerPassword: "broker-password",
    adminPassword: "admin-password",
    userPassword: (user: string) => `user-${user}-password`,
};

/** Decides every object of the Kafka service. */
export function planKafka(settings: KafkaSettings, platform: PlatformSettings): ServicePlan {
    const tls = platform.tls.enabled;
    const { clusterId, brokerPassword, adminPassword } = KAFKA_GENERATED;
    const users = settings.users.map((u) => ({ name: u.name, password: KAFKA_GENERATED.userPassword(u.name) }));
    const jaasUsers = [{ name: ADMIN_USER, password: adminPassword }, ...users];
    const heap = kafkaHeapMiB(settings.resources.limits.memory, settings.heapPercent);
    const tcp = (port: string) => ({ tcpSocket: { port } });
    return {
        app: KAFKA_APP,
        component: "broker",
        namespace: settings.namespace,
        image: settings.image,
        generated: [
            // Generated once and never regenerated: it is written into every formatted volume.
            { id: clusterId, kind: "clusterId" },
            { id: brokerPassword, kind: "password" },
            { id: adminPassword, kind: "password" },
            ...users.map((u) => ({ id: u.password, kind: "password" as const })),
        ],
        objects: [
            {
                id: "admin",
                kind: "Secret",
                name: KAFKA_OBJECTS.admin,
                data: [
                    { key: "username", content: ADMIN_USER },
                    { key: "password", content: generatedValue(adminPassword) },
                    { key: "sasl.jaas.config", content: derived([adminPassword], (v) => clientJaasConfig(ADMIN_USER, v[adminPassword])) },
                ],
                protect: true,
            },
            ...users.map((u) => ({
                id: `user-${u.name}`,
                kind: "Secret" as const,
                name: userSecretName(KAFKA_APP, u.name),
                data: [
                    { key: "username", content: u.name },
                    { key: "password", content: generatedValue(u.password) },
                    { key: "sasl.jaas.config", content: derived([u.password], (v) => clientJaasConfig(u.name, v[u.password])) },
                ],
                protect: true,
            })),
            {
                id: "jaas",
                kind: "Secret",
                name: KAFKA_OBJECTS.jaas,
                data: [
                    {
                        key: "kafka_server_jaas.conf",
                        content: derived([brokerPassword, ...jaasUsers.map((u) => u.password)], (v) =>
                            kafkaJaasConfig(v[brokerPassword], jaasUsers.map((u) => ({ name: u.name, password: v[u.password] }))),
                        ),
                    },
                ],
                protect: true,
            },
            {
                id: "config",
                kind: "ConfigMap",
                name: KAFKA_OBJECTS.config,
                data: [
                    {
                        key: "server.properties",
                        content: kafkaServerProperties({ replicas: settings.replicas, namespace: settings.namespace, clientAuth: settings.clientAuth, tls }),
                    },
                    { key: "start.sh", content: kafkaStartScript(settings.namespace) },
                    { key: "log4j.properties", content: kafkaLog4jProperties() },
                    // Fixed for the life of the cluster (formatted into every volume): no reason to roll pods.
                    { key: "cluster-id", content: generatedValue(clusterId), rollout: false },
                ],
                protect: false,
            },
        ],
        tls,
        workload: {
            replicas: settings.replicas,
            // All voters start together; OrderedReady would wait for kafka-0, which needs a quorum.
            podManagementPolicy: "Parallel",
            terminationGracePeriodSeconds: 120,
            user: IMAGE_USERS.kafka,
            spreadAcrossNodes: settings.replicas > 1,
            storage: { size: settings.storageSize, storageClass: platform.storageClass },
            containers: [
                {
                    name: KAFKA_APP,
                    image: settings.image,
                    command: ["/bin/bash", `${KAFKA_PATHS.template}/start.sh`],
                    ports: [
                        { name: "client", port: KAFKA_PORTS.client, exposure: "client" },
                        { name: "controller", port: KAFKA_PORTS.controller, exposure: "peer" },
                        { name: "internal", port: KAFKA_PORTS.internal, exposure: "peer" },
                    ],
                    env: [
                        { name: "CLUSTER_ID", from: { object: KAFKA_OBJECTS.config, key: "cluster-id" } },
                        { name: "KAFKA_HEAP_OPTS", value: `-Xms${heap}m -Xmx${heap}m` },
                        { name: "KAFKA_OPTS", value: `-Djava.security.auth.login.config=${KAFKA_PATHS.jaas}` },
                        { name: "LOG_DIR", value: KAFKA_PATHS.logs },
                        { name: "KAFKA_LOG4J_OPTS", value: KAFKA_LOG_ENV.KAFKA_LOG4J_OPTS },
                        { name: "KAFKA_GC_LOG_OPTS", value: KAFKA_LOG_ENV.KAFKA_GC_LOG_OPTS },
                    ],
                    resources: settings.resources,
                    mounts: [
                        dataVolume(KAFKA_PATHS.data),
                        scratch("tmp", KAFKA_PATHS.tmp),
                        scratch("logs", KAFKA_PATHS.logs),
                        scratch("runtime", KAFKA_PATHS.runtime),
                        mountObject("config", KAFKA_PATHS.template, KAFKA_OBJECTS.config, 0o555),
                        mountObject("jaas", KAFKA_PATHS.jaasDir, KAFKA_OBJECTS.jaas),
                        ...(tls ? [tlsVolume(KAFKA_PATHS.tls)] : []),
                    ],
                    probes: {
                        startup: { ...tcp("client"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 120 },
                        readiness: { ...tcp("client"), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                        liveness: { ...tcp("controller"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                    },
                },
            ],
        },
    };
}

export interface KafkaAppConnection {
    user: string;
    secretName: string;
}

/** What clients need to reach Kafka (no secrets): the `kafkaConnection` stack output. */
export interface KafkaConnection {
    host: string;
    port: number;
    namespace: string;
    bootstrapServers: string;
    controllerPort: number;
    /** security.protocol of the client listener. */
    securityProtocol: string;
    /** sasl.mechanism, absent without SASL. */
    saslMechanism?: string;
    /** Secret and key of the admin user's password (topic and ACL administration). */
    adminSecret: { name: string; key: string };
    users: KafkaAppConnection[];
    tls: TlsConnection;
}

export function kafkaConnection(settings: KafkaSettings, platform: PlatformSettings): KafkaConnection {
    const host = serviceHost(KAFKA_APP, settings.namespace);
    return {
        host,
        port: KAFKA_PORTS.client,
        namespace: settings.namespace,
        bootstrapServers: `${host}:${KAFKA_PORTS.client}`,
        controllerPort: KAFKA_PORTS.controller,
        securityProtocol: clientProtocol(settings.clientAuth, platform.tls.enabled),
        saslMechanism: settings.clientAuth === "sasl" ? "PLAIN" : undefined,
        adminSecret: { name: KAFKA_OBJECTS.admin, key: "password" },
        users: settings.users.map((u) => ({ user: u.name, secretName: userSecretName(KAFKA_APP, u.name) })),
        tls: tlsConnection(platform.tls, KAFKA_APP),
    };
}
