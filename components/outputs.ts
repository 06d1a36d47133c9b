// The stack outputs: what a service team's stack reads through a StackReference, typed once. Self-contained
// (no imports) on purpose: examples/order-service keeps a copy of this file (its backbone-outputs.ts,
// checked to be identical by tests/examples.spec.ts), so a team that copies the example imports the same types.

/** TLS details of a service's connection output: where clients find the CA. */
export type TlsConnection = { enabled: true; secretName: string; caKey: "ca.crt" } | { enabled: false };

/** Connection details of one application database. */
export interface MariaDbAppConnection {
    database: string;
    user: string;
    secretName: string;
    jdbcUrl: string;
}

/** What clients need to reach MariaDB (no secrets): the `mariadbConnection` stack output. */
export interface MariaDbConnection {
    /** In-cluster host name of the client Service. */
    host: string;
    port: number;
    namespace: string;
    /** Secret (in the MariaDB namespace) and key holding the root password. */
    rootSecret: { name: string; key: string };
    /** JDBC URL without a database. */
    jdbcUrl: string;
    databases: MariaDbAppConnection[];
    tls: TlsConnection;
    /**
     * Replicated stacks only: the first replica's stable pod name, every replica's (readHosts), and a
     * Connector/J URL that balances read-only connections over them (`loadbalance`, which also skips a
     * replica that is down). Replicas lag the primary by the replication delay.
     */
    readHost?: string;
    readHosts?: string[];
    readJdbcUrl?: string;
}

export interface RedisAppConnection {
    user: string;
    keyPattern: string;
    secretName: string;
}

/** What clients need to reach Redis (no secrets): the `redisConnection` stack output. */
export interface RedisConnection {
    host: string;
    port: number;
    namespace: string;
    /** Secret and key holding the admin (`default` user) password. */
    passwordSecret: { name: string; key: string };
    /** redis:// or rediss:// (TLS) URL without credentials. */
    url: string;
    users: RedisAppConnection[];
    tls: TlsConnection;
    /**
     * Replicated only (redis.replicas > 1): ask a Sentinel for the primary. `host`/`url` reach any pod (the
     * client Service selects them all), so writes must go through Sentinel.
     */
    sentinel?: RedisSentinelConnection;
}

export interface RedisSentinelConnection {
    /** host:port of every pod's Sentinel. */
    hosts: string[];
    /** The name to ask the Sentinels for (SENTINEL get-master-addr-by-name). */
    masterName: string;
    /** Secret and key holding the password clients authenticate to the Sentinels with. */
    passwordSecret: { name: string; key: string };
}

export interface KafkaAppConnection {
    user: string;
    /** Secret with username, password, sasl.mechanism and sasl.jaas.config (SCRAM-SHA-512). */
    secretName: string;
    /** The brokers still accept this user on PLAIN too (kafka.plainUsers), until its team has switched. */
    plainAccepted?: boolean;
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
    /** sasl.mechanism of the application users (SCRAM-SHA-512), absent without SASL. */
    saslMechanism?: string;
    /** Secret and key of the admin user's password (topic and ACL administration). */
    adminSecret: { name: string; key: string };
    users: KafkaAppConnection[];
    /** The topics the stack declares (the reconcile Job creates them). */
    topics: string[];
    tls: TlsConnection;
}

/** One StatefulSet's immutable fields as deployed (the `statefulSets` output the guard reads back). */
export interface StatefulSetRecord {
    /** `<namespace>/<name>`. */
    statefulSet: string;
    /** The service (mariadb, redis, kafka): the name stack config uses. */
    app: string;
    serviceName: string;
    selector: Record<string, string>;
    podManagementPolicy: string;
    claims: { name: string; storageClassName: string; accessModes: string[]; storage: string }[];
    /** The replica count, for a set whose count cannot change once deployed (StatefulSetPlan.fixedReplicas). */
    fixedReplicas?: number;
}

/** Every stack output, as a StackReference (or `pulumi stack output --json`) gives it. Secret ones are marked. */
export interface BackboneOutputs {
    mariadbConnection: MariaDbConnection;
    redisConnection: RedisConnection;
    kafkaConnection: KafkaConnection;
    /** PEM of the generated CA that signs the service certificates (empty without TLS or with an Issuer). */
    tlsCaCertificate: string;
    /** Secret: the MariaDB root password. */
    mariadbRootPassword: string;
    /** Secret: each application database user's password, by user. */
    mariadbUserPasswords: Record<string, string>;
    /** Secret: the Redis admin (`default` user) password. */
    redisPassword: string;
    /** Secret: each Redis application user's password, by user. */
    redisUserPasswords: Record<string, string>;
    /** Secret: the Sentinels' client password (redis.replicas > 1; empty for a standalone Redis). */
    redisSentinelPassword: string;
    /** Secret: the Kafka admin user's password. */
    kafkaAdminPassword: string;
    /** Secret: each Kafka application user's password, by user. */
    kafkaUserPasswords: Record<string, string>;
    /** What the guard compares the next run with: each StatefulSet's immutable fields as deployed. */
    statefulSets: StatefulSetRecord[];
}

/** The outputs whose values are secrets. */
export const SECRET_OUTPUTS = [
    "mariadbRootPassword",
    "mariadbUserPasswords",
    "redisPassword",
    "redisUserPasswords",
    "redisSentinelPassword",
    "kafkaAdminPassword",
    "kafkaUserPasswords",
] as const satisfies readonly (keyof BackboneOutputs)[];
