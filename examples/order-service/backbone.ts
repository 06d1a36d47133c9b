// What the order service reads from the msa-infra backbone's stack outputs (the subset it needs, with the
// backbone's own output types), and the pure function that turns those outputs into the service's
// credentials: no Pulumi resources here, so it is tested on the backbone's outputs.

import type { BackboneOutputs as AllOutputs } from "./backbone-outputs";

/**
 * The backbone outputs the service reads (msa-infra docs/service-teams/stack-outputs.md), with the backbone's own types
 * (backbone-outputs.ts is msa-infra's components/outputs.ts, copied as it is). Passwords are secret outputs.
 */
export type BackboneOutputs = Pick<AllOutputs, (typeof BACKBONE_OUTPUTS)[number]>;

/** The output names read, in the order the program reads them. */
export const BACKBONE_OUTPUTS = [
    "mariadbConnection",
    "redisConnection",
    "kafkaConnection",
    "tlsCaCertificate",
    "mariadbUserPasswords",
    "redisUserPasswords",
    "kafkaUserPasswords",
    "redisSentinelPassword",
] as const satisfies readonly (keyof AllOutputs)[];

/** Where the backbone's CA is mounted in the service's pods (TLS stacks). */
export const CA_DIR = "/etc/backbone-ca";
export const CA_FILE = `${CA_DIR}/ca.crt`;

export interface ServiceCredentials {
    /** Environment of the service's container (Spring Boot property names), kept in one Secret. */
    env: Record<string, string>;
    /** PEM of the CA to trust, when the backbone has TLS with its generated CA. */
    caPem?: string;
}

function pick<T>(what: string, items: T[], name: (t: T) => string, wanted: string, key: string): T {
    const found = items.find((t) => name(t) === wanted);
    if (!found) {
        const have = items.map(name).join(", ") || "none";
        throw new Error(`order-service:${key}: the backbone has no ${what} ${JSON.stringify(wanted)} (it has: ${have})`);
    }
    return found;
}

function password(map: Record<string, string>, user: string, output: string): string {
    const p = map[user];
    if (typeof p !== "string" || p === "") throw new Error(`the backbone's ${output} output has no password for ${user}`);
    return p;
}

/** The service's credentials from the backbone's outputs. Throws naming the key when a user is missing. */
export function serviceCredentials(o: BackboneOutputs, s: { database: string; kafkaUser: string; redisUser: string }): ServiceCredentials {
    const db = pick("MariaDB database", o.mariadbConnection.databases, (d) => d.database, s.database, "database");
    const kafka = pick("Kafka user", o.kafkaConnection.users, (u) => u.user, s.kafkaUser, "kafkaUser");
    const redis = pick("Redis user", o.redisConnection.users, (u) => u.user, s.redisUser, "redisUser");
    const tls = o.mariadbConnection.tls.enabled || o.redisConnection.tls.enabled || o.kafkaConnection.tls.enabled;
    // A cert-manager Issuer leaves tlsCaCertificate empty: its CA is then the cluster's to distribute.
    const caPem = tls && o.tlsCaCertificate ? o.tlsCaCertificate : undefined;
    const kafkaPassword = password(o.kafkaUserPasswords, kafka.user, "kafkaUserPasswords");
    const quote = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    const env: Record<string, string> = {
        SPRING_DATASOURCE_URL: db.jdbcUrl + (o.mariadbConnection.tls.enabled && caPem ? `&serverSslCert=${CA_FILE}` : ""),
        SPRING_DATASOURCE_USERNAME: db.user,
        SPRING_DATASOURCE_PASSWORD: password(o.mariadbUserPasswords, db.user, "mariadbUserPasswords"),
        SPRING_DATA_REDIS_USERNAME: redis.user,
        SPRING_DATA_REDIS_PASSWORD: password(o.redisUserPasswords, redis.user, "redisUserPasswords"),
        SPRING_KAFKA_BOOTSTRAP_SERVERS: o.kafkaConnection.bootstrapServers,
        SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL: o.kafkaConnection.securityProtocol,
    };
    const sentinel = o.redisConnection.sentinel;
    if (sentinel) {
        // With replicas the client Service reaches every pod and replicas refuse writes: go through Sentinel.
        if (!o.redisSentinelPassword) throw new Error("the backbone's redisSentinelPassword output is empty, but it runs Redis with Sentinel");
        env.SPRING_DATA_REDIS_SENTINEL_MASTER = sentinel.masterName;
        env.SPRING_DATA_REDIS_SENTINEL_NODES = sentinel.hosts.join(",");
        env.SPRING_DATA_REDIS_SENTINEL_PASSWORD = o.redisSentinelPassword;
    } else {
        env.SPRING_DATA_REDIS_URL = o.redisConnection.url;
    }
    if (o.kafkaConnection.saslMechanism) {
        env.SPRING_KAFKA_PROPERTIES_SASL_MECHANISM = o.kafkaConnection.saslMechanism;
        // The backbone names the mechanism (SCRAM-SHA-512 for application users); each has its login module.
        const module = o.kafkaConnection.saslMechanism === "PLAIN" ? "org.apache.kafka.common.security.plain.PlainLoginModule" : "org.apache.kafka.common.security.scram.ScramLoginModule";
        env.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG = `${module} required username=${quote(kafka.user)} password=${quote(kafkaPassword)};`;
    }
    if (o.kafkaConnection.tls.enabled && caPem) {
        env.SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_TYPE = "PEM";
        env.SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION = CA_FILE;
    }
    if (o.redisConnection.tls.enabled && caPem) {
        env.SPRING_DATA_REDIS_SSL_ENABLED = "true";
    }
    return { env, ...(caPem ? { caPem } : {}) };
}
