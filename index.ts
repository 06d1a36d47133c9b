// msa-infra: the stateful backbone of the platform.
//
//   stack config ──► validated PlatformConfig
//                        │
//   Kubernetes provider (server-side apply)
//     ├── namespace db         : MariaDb  (mariadb.db.svc.cluster.local:3306)
//     ├── namespace cache      : Redis    (redis.cache.svc.cluster.local:6379)
//     └── namespace messaging  : Kafka    (kafka.messaging.svc.cluster.local:9092, controller 9093)
//
// Service stacks read the exports below through a StackReference.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./components/config";
import { Kafka } from "./components/kafka";
import { MariaDb } from "./components/mariadb";
import { Redis } from "./components/redis";
import { CertificateAuthority } from "./components/tls";

const config = loadStackConfig();

const provider = new k8s.Provider("k8s", {
    kubeconfig: config.kubeconfig,
    context: config.kubeContext,
    enableServerSideApply: true,
    // Config and credential changes update in place instead of replacing (and re-creating) the objects.
    enableConfigMapMutable: true,
    enableSecretMutable: true,
});

const ca =
    config.tls.enabled && !config.tls.issuer ? new CertificateAuthority("platform-ca", { protect: config.protect }, { provider }) : undefined;
const shared = {
    storageClass: config.storageClass,
    podSecurityLevel: config.podSecurityLevel,
    networkPolicies: config.networkPolicies,
    tls: config.tls,
    ca,
    protect: config.protect,
};

const mariadb = new MariaDb("mariadb", { ...shared, ...config.mariadb }, { provider });
const redis = new Redis("redis", { ...shared, ...config.redis }, { provider });
const kafka = new Kafka("kafka", { ...shared, ...config.kafka }, { provider });

function passwords(map: Record<string, { result: pulumi.Output<string> }>): pulumi.Output<Record<string, string>> {
    const entries = Object.entries(map).map(([user, pw]) => pw.result.apply((p) => [user, p] as const));
    return pulumi.secret(pulumi.all(entries).apply((list) => Object.fromEntries(list)));
}

const tlsOutput = (secretName: string | undefined) =>
    config.tls.enabled ? { enabled: true, secretName, caKey: "ca.crt" } : { enabled: false };

/** Connection details (no secrets): host, port, namespace, credential Secret and a ready connection string. */
export const mariadbConnection = {
    host: mariadb.host,
    port: mariadb.port,
    namespace: config.mariadb.namespace,
    rootSecret: mariadb.rootSecret,
    jdbcUrl: mariadb.jdbcUrl,
    databases: mariadb.applications,
    tls: tlsOutput(mariadb.tlsSecretName),
};
export const redisConnection = {
    host: redis.host,
    port: redis.port,
    namespace: config.redis.namespace,
    passwordSecret: redis.passwordSecret,
    url: `${config.tls.enabled ? "rediss" : "redis"}://${redis.host}:${redis.port}`,
    users: redis.applications,
    tls: tlsOutput(redis.tlsSecretName),
};
export const kafkaConnection = {
    host: kafka.host,
    port: kafka.port,
    namespace: config.kafka.namespace,
    bootstrapServers: kafka.bootstrapServers,
    controllerPort: 9093,
    securityProtocol: kafka.securityProtocol,
    saslMechanism: kafka.saslMechanism,
    adminSecret: { name: "kafka-user-admin", key: "password" },
    users: kafka.applications,
    tls: tlsOutput(kafka.tlsSecretName),
};
/** PEM of the generated CA that signs the service certificates (public; empty without TLS or with an Issuer). */
export const tlsCaCertificate = ca ? ca.certPem : "";

// Generated credentials: secret outputs only.
export const mariadbRootPassword = pulumi.secret(mariadb.rootPassword.result);
export const mariadbUserPasswords = passwords(mariadb.userPasswords);
export const redisPassword = pulumi.secret(redis.password.result);
export const redisUserPasswords = passwords(redis.userPasswords);
export const kafkaAdminPassword = pulumi.secret(kafka.adminPassword.result);
export const kafkaUserPasswords = passwords(kafka.userPasswords);
