// Kafka's plan: KRaft in combined broker+controller mode (no ZooKeeper) as a StatefulSet on the apache/kafka
// image, a generated cluster id, SASL/PLAIN users from a JAAS file, ACLs (StandardAuthorizer) and topics
// applied by a reconcile Job, TLS on every listener with a reloader, and the Restricted pod profile.

import { kafkaMetricsPlan } from "../monitoring/kafka";
import type { ResourceSettings } from "../config/service";
import { IMAGE_USERS } from "../imageUsers";
import { sha256 } from "../hash";
import { tlsConnection } from "../connections";
import type { KafkaConnection } from "../outputs";
import { dataVolume, derived, generatedValue, JobPlan, mountObject, MountPlan, PlanContext, replicaPlacement, scratch, ServicePlan, tlsVolume, userSecretName } from "../workload/plan";
import { serviceHost } from "../dnsNames";
import { tlsReloaderContainer } from "../workload/tlsReload";
import {
    ADMIN_USER,
    clientJaasConfig,
    clientProtocol,
    KAFKA_APP,
    KAFKA_CA_RESTART_STAGGER_SECONDS,
    KAFKA_PATHS,
    KAFKA_PORTS,
    KAFKA_SCRAM_MECHANISM,
    type KafkaClientMechanism,
    kafkaHeapMiB,
    KAFKA_LOG_ENV,
    KAFKA_TOOL_ENV,
    kafkaJaasConfig,
    kafkaLivenessCommand,
    kafkaLog4jProperties,
    kafkaReadinessCommand,
    kafkaReadinessScript,
    kafkaServerProperties,
    kafkaStartScript,
    kafkaTlsReloadScript,
} from "./files";
import { reconcileFiles, scramUserDir } from "./reconcile";
import type { KafkaBrokerIdentity, KafkaSettings } from "./settings";

/** Names of Kafka's ConfigMaps and Secrets. */
export const KAFKA_OBJECTS = { config: "kafka-config", jaas: "kafka-jaas", admin: "kafka-user-admin", reconcile: "kafka-reconcile" };
/** Ids of Kafka's generated values (resources `${name}-<id>`). */
export const KAFKA_GENERATED = {
    clusterId: "cluster-id",
    /** The `broker` identity's password (the id predates the second identity: kept, so its URN is unchanged). */
    brokerPassword: "broker-password",
    /** The `broker-next` identity's password. */
    brokerNextPassword: "broker-next-password",
    adminPassword: "admin-password",
    userPassword: (user: string) => `user-${user}-password`,
};
/** The generated password of each broker identity. */
export const BROKER_PASSWORD_IDS: Record<KafkaBrokerIdentity, string> = {
    broker: KAFKA_GENERATED.brokerPassword,
    "broker-next": KAFKA_GENERATED.brokerNextPassword,
};
/** The reconcile Job: plan id and name prefix (a hash of its spec follows). */
export const KAFKA_RECONCILE_JOB = { id: "reconcile", name: "kafka-reconcile" };
/** A JVM admin tool per run; the heap is capped by KAFKA_TOOL_ENV. */
const TOOL_RESOURCES: ResourceSettings = { requests: { cpu: "50m", memory: "192Mi" }, limits: { cpu: "1", memory: "384Mi" } };

/**
 * Decides every object of the Kafka service. `platform.monitoring` (the stack's `monitoring` settings) with
 * `kafka.jmxAgent` turns the brokers' metrics agent and the Prometheus Operator objects on.
 */
export function planKafka(settings: KafkaSettings, platform: PlanContext): ServicePlan {
    const tls = platform.tls.enabled;
    const metrics = kafkaMetricsPlan({ namespace: settings.namespace, monitoring: platform.monitoring, agent: settings.jmxAgent, tls: platform.tls });
    const { clusterId, brokerPassword, brokerNextPassword, adminPassword } = KAFKA_GENERATED;
    const users = settings.users.map((u) => ({ name: u.name, password: KAFKA_GENERATED.userPassword(u.name) }));
    // The brokers' JAAS file holds PLAIN logins only: the admin's and those of kafka.plainUsers (each a roll);
    // every application user logs in with SCRAM, set live by the reconcile Job.
    const jaasUsers = [{ name: ADMIN_USER, password: adminPassword }, ...users.filter((u) => settings.plainUsers.includes(u.name))];
    const mechanism = userMechanism(settings);
    const heap = kafkaHeapMiB(settings.resources.limits.memory, settings.heapPercent);
    const tcp = (port: string) => ({ tcpSocket: { port } });
    const reconcile = reconcileFiles({
        namespace: settings.namespace,
        tls,
        clientAuth: settings.clientAuth,
        topics: settings.topics,
        users: settings.users,
        deleteUndeclaredTopics: settings.deleteUndeclaredTopics,
    });
    // Each user's Secret, mounted into the reconcile Job only (the brokers never read it): a rotated password
    // changes the Job's name, so the Job runs again and sets the new SCRAM credential.
    const userMounts = settings.users.map((u) => mountObject(userVolume(u.name), scramUserDir(u.name), userSecretName(KAFKA_APP, u.name)));
    const adminMount = mountObject("admin", KAFKA_PATHS.admin, KAFKA_OBJECTS.admin);
    const runtimeMount = scratch("runtime", KAFKA_PATHS.runtime);
    const configMount = mountObject("config", KAFKA_PATHS.template, KAFKA_OBJECTS.config, 0o555);
    return {
        app: KAFKA_APP,
        component: "broker",
        namespace: settings.namespace,
        image: settings.image,
        generated: [
            // Generated once and never regenerated: it is written into every formatted volume.
            { id: clusterId, kind: "clusterId" },
            { id: brokerPassword, kind: "password" },
            { id: brokerNextPassword, kind: "password" },
            { id: adminPassword, kind: "password" },
            ...users.map((u) => ({ id: u.password, kind: "password" as const })),
        ],
        objects: [
            {
                id: "admin",
                kind: "Secret",
                name: KAFKA_OBJECTS.admin,
                // The reloader reads these files when it runs (kubelet keeps them current): a change needs no
                // restart, and the brokers roll for a new admin password anyway (it is in Secret kafka-jaas).
                data: [
                    { key: "username", content: ADMIN_USER, rollout: false },
                    // The admin stays on PLAIN (in the JAAS file): it is the login that sets the SCRAM credentials.
                    { key: "sasl.mechanism", content: "PLAIN", rollout: false },
                    { key: "password", content: generatedValue(adminPassword), rollout: false },
                    { key: "sasl.jaas.config", content: derived([adminPassword], (v) => clientJaasConfig(ADMIN_USER, v[adminPassword])), rollout: false },
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
                    // The mechanism to use (SCRAM-SHA-512 for every user, also those still accepted on PLAIN) and its login.
                    ...(mechanism ? [{ key: "sasl.mechanism", content: mechanism }] : []),
                    { key: "sasl.jaas.config", content: derived([u.password], (v) => clientJaasConfig(u.name, v[u.password], mechanism ?? "PLAIN")) },
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
                        content: derived([brokerPassword, brokerNextPassword, ...jaasUsers.map((u) => u.password)], (v) =>
                            kafkaJaasConfig(
                                { login: settings.brokerLogin, passwords: { broker: v[brokerPassword], "broker-next": v[brokerNextPassword] } },
                                jaasUsers.map((u) => ({ name: u.name, password: v[u.password] })),
                            ),
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
                    { key: "start.sh", content: kafkaStartScript(settings.namespace, tls, metrics.javaAgentOption) },
                    { key: "log4j.properties", content: kafkaLog4jProperties() },
                    // Run by the kubelet at each readiness probe (it reads the file kubelet keeps current): no roll.
                    { key: "ready.sh", content: kafkaReadinessScript(), rollout: false },
                    // Fixed for the life of the cluster (formatted into every volume): no reason to roll pods.
                    { key: "cluster-id", content: generatedValue(clusterId), rollout: false },
                    // Read by the tls-reloader at each run (kubelet keeps the file current): a change needs no roll.
                    ...(tls ? [{ key: "tls-reload.sh", content: kafkaTlsReloadScript(settings.namespace), rollout: false }] : []),
                ],
                protect: false,
            },
            {
                id: "reconcile",
                kind: "ConfigMap",
                name: KAFKA_OBJECTS.reconcile,
                // Read by the reconcile Job only: a change makes a new Job (its name follows RECONCILE_SPEC), not a roll.
                data: Object.entries(reconcile).map(([key, content]) => ({ key, content, rollout: false })),
                protect: false,
            },
            ...metrics.objects,
        ],
        tls,
        workload: {
            replicas: settings.replicas,
            // All voters start together; OrderedReady would wait for kafka-0, which needs a quorum.
            podManagementPolicy: "Parallel",
            terminationGracePeriodSeconds: 120,
            user: IMAGE_USERS.kafka,
            // Two voters on one node would lose the quorum's majority with that node.
            placement: replicaPlacement(settings.replicas, platform.environment),
            // The voter list (controller.quorum.voters) names every node: 3-voter and 5-voter nodes side by
            // side during a roll could elect two leaders.
            fixedReplicas: true,
            storage: { size: settings.storageSize, storageClass: platform.storageClass },
            ...(metrics.initContainers.length > 0 ? { initContainers: metrics.initContainers } : {}),
            containers: [
                {
                    name: KAFKA_APP,
                    image: settings.image,
                    command: ["/bin/bash", `${KAFKA_PATHS.template}/start.sh`],
                    ports: [
                        { name: "client", port: KAFKA_PORTS.client, exposure: "client" },
                        { name: "controller", port: KAFKA_PORTS.controller, exposure: "peer" },
                        { name: "internal", port: KAFKA_PORTS.internal, exposure: "peer" },
                        ...metrics.ports,
                    ],
                    env: [
                        { name: "CLUSTER_ID", from: { object: KAFKA_OBJECTS.config, key: "cluster-id" } },
                        { name: "KAFKA_HEAP_OPTS", value: `-Xms${heap}m -Xmx${heap}m` },
                        { name: "KAFKA_OPTS", value: `-Djava.security.auth.login.config=${KAFKA_PATHS.jaas}` },
                        { name: "LOG_DIR", value: KAFKA_PATHS.logs },
                        { name: "KAFKA_LOG4J_OPTS", value: KAFKA_LOG_ENV.KAFKA_LOG4J_OPTS },
                        { name: "KAFKA_GC_LOG_OPTS", value: KAFKA_LOG_ENV.KAFKA_GC_LOG_OPTS },
                        ...(tls ? [{ name: "KAFKA_CA_RESTART_STAGGER_SECONDS", value: String(KAFKA_CA_RESTART_STAGGER_SECONDS) }] : []),
                    ],
                    resources: settings.resources,
                    mounts: [
                        dataVolume(KAFKA_PATHS.data),
                        scratch("tmp", KAFKA_PATHS.tmp),
                        scratch("logs", KAFKA_PATHS.logs),
                        runtimeMount,
                        configMount,
                        mountObject("jaas", KAFKA_PATHS.jaasDir, KAFKA_OBJECTS.jaas),
                        ...(tls ? [tlsVolume(KAFKA_PATHS.tls)] : []),
                        ...metrics.mounts,
                    ],
                    probes: {
                        // The controller port opens before the broker loads its logs (the client port only once
                        // the broker is unfenced): a long log recovery is not cut short by the startup budget.
                        startup: { ...tcp("controller"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 120 },
                        // RUNNING and in the ISR of every partition it replicates (kafkaReadinessScript): the
                        // rolling update waits for it before stopping the next broker, and the PDB counts a
                        // broker that is behind as unavailable. One failed run is enough: a broker that fell out
                        // of an ISR is unready within periodSeconds.
                        readiness: { exec: { command: kafkaReadinessCommand() }, periodSeconds: 10, timeoutSeconds: 8, failureThreshold: 1 },
                        // With TLS, the probe also asks for the restart a CA change needs (kafkaLivenessCommand).
                        liveness: tls
                            ? { exec: { command: kafkaLivenessCommand(true) }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }
                            : { ...tcp("controller"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                    },
                },
                ...(tls
                    ? [
                          {
                              ...tlsReloaderContainer({
                                  image: settings.image,
                                  tlsMount: tlsVolume(KAFKA_PATHS.tls),
                                  reload: `bash ${KAFKA_PATHS.template}/tls-reload.sh`,
                                  env: Object.entries(KAFKA_TOOL_ENV).map(([name, value]) => ({ name, value })),
                                  mounts: [runtimeMount, configMount, adminMount],
                              }),
                              // kafka-configs.sh is a JVM: more memory than the Redis/MariaDB reloaders' client.
                              resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                          },
                      ]
                    : []),
            ],
        },
        jobs: [reconcileJob(settings, tls, sha256(JSON.stringify(reconcile)), [adminMount, ...userMounts])],
        ...(metrics.extraObjects.length > 0 ? { extraObjects: metrics.extraObjects } : {}),
        ...(metrics.warning ? { warnings: [metrics.warning] } : {}),
    };
}

/**
 * The reconcile Job: runs once the brokers are ready (Pulumi waits for it), with the Kafka image's admin
 * tools, the admin's credentials mounted from its Secret, and the declaration from ConfigMap
 * kafka-reconcile; RECONCILE_SPEC (the declaration's hash) is part of the Job's spec, so a changed
 * declaration is a new Job and an unchanged one is not run again.
 */
function reconcileJob(settings: KafkaSettings, tls: boolean, specHash: string, secretMounts: MountPlan[]): JobPlan {
    return {
        id: KAFKA_RECONCILE_JOB.id,
        name: KAFKA_RECONCILE_JOB.name,
        afterWorkload: true,
        // Transient failures (a broker restarting meanwhile) are retried: every run starts from what the cluster has.
        backoffLimit: 3,
        activeDeadlineSeconds: 900,
        containers: [
            {
                name: "reconcile",
                image: settings.image,
                command: ["/bin/bash", `${KAFKA_PATHS.reconcile}/reconcile.sh`],
                ports: [],
                env: [{ name: "RECONCILE_SPEC", value: specHash.slice(0, 16) }, ...Object.entries(KAFKA_TOOL_ENV).map(([name, value]) => ({ name, value }))],
                resources: TOOL_RESOURCES,
                mounts: [
                    mountObject("reconcile", KAFKA_PATHS.reconcile, KAFKA_OBJECTS.reconcile, 0o555),
                    ...secretMounts,
                    ...(tls ? [tlsVolume(KAFKA_PATHS.tls)] : []),
                    scratch("tmp", KAFKA_PATHS.tmp, "64Mi"),
                ],
                probes: {},
            },
        ],
    };
}


/** The mechanism application users log in with: SCRAM-SHA-512 with SASL, none without. */
export function userMechanism(settings: Pick<KafkaSettings, "clientAuth">): KafkaClientMechanism | undefined {
    return settings.clientAuth === "sasl" ? KAFKA_SCRAM_MECHANISM : undefined;
}

/** The volume of a user's Secret in the reconcile Job: a DNS label ('_' is not one; '-' is no identifier's). */
export function userVolume(user: string): string {
    return `user-${user.replace(/_/g, "-")}`;
}

export function kafkaConnection(settings: KafkaSettings, platform: Pick<PlanContext, "tls">): KafkaConnection {
    const host = serviceHost(KAFKA_APP, settings.namespace);
    return {
        host,
        port: KAFKA_PORTS.client,
        namespace: settings.namespace,
        bootstrapServers: `${host}:${KAFKA_PORTS.client}`,
        controllerPort: KAFKA_PORTS.controller,
        securityProtocol: clientProtocol(settings.clientAuth, platform.tls.enabled),
        saslMechanism: userMechanism(settings),
        adminSecret: { name: KAFKA_OBJECTS.admin, key: "password" },
        users: settings.users.map((u) => ({
            user: u.name,
            secretName: userSecretName(KAFKA_APP, u.name),
            ...(settings.plainUsers.includes(u.name) ? { plainAccepted: true } : {}),
        })),
        topics: settings.topics.map((t) => t.name),
        tls: tlsConnection(platform.tls, KAFKA_APP),
    };
}
