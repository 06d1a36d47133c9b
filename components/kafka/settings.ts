// Stack config of Kafka (`msa-infra:kafka`): what can be set, its defaults, and how it is validated.

import { IDENTIFIER, IDENTIFIER_ACCEPTED, IMAGE, Reader } from "../config/reader";
import { readServiceSettings, ServiceSettings } from "../config/service";

/**
 * Client listener authentication: SASL (application users on SCRAM-SHA-512, those of `kafka.plainUsers` on
 * PLAIN too), or none (PLAINTEXT; development only).
 */
export const KAFKA_CLIENT_AUTH = ["sasl", "none"] as const;
export type KafkaClientAuth = (typeof KAFKA_CLIENT_AUTH)[number];

/**
 * The brokers' own SASL identities. Every JAAS file accepts both; the brokers log in as one of them
 * (`kafka.brokerLogin`), so the other one's password can be replaced and rolled out while the cluster keeps
 * authenticating with the first (see docs/operations/rotate-passwords.md).
 */
export const KAFKA_BROKER_IDENTITIES = ["broker", "broker-next"] as const;
export type KafkaBrokerIdentity = (typeof KAFKA_BROKER_IDENTITIES)[number];

/** What a user may do with a topic: read (consume) and/or write (produce). */
export const KAFKA_ACCESS = ["read", "write"] as const;
export type KafkaAccess = (typeof KAFKA_ACCESS)[number];

/** One topic grant of a user: a topic by name, or every topic whose name starts with a prefix. */
export interface KafkaTopicGrant {
    /** `literal`: the topic named `name`; `prefixed`: every topic whose name starts with `name`. */
    pattern: "literal" | "prefixed";
    /** The topic name, or the prefix. */
    name: string;
    /** read, write or both. */
    access: KafkaAccess[];
}

export interface KafkaUser {
    /** SASL user name. */
    name: string;
    /** Topics the user may read and/or write. Default none (the authorizer denies what is not granted). */
    topics: KafkaTopicGrant[];
    /** Consumer group name prefixes the user may join and commit offsets in. Default none. */
    groups: string[];
}

/** cleanup.policy values. */
export const KAFKA_CLEANUP_POLICIES = ["delete", "compact", "compact,delete"] as const;
export type KafkaCleanupPolicy = (typeof KAFKA_CLEANUP_POLICIES)[number];

/** A topic the reconcile Job creates and keeps as declared. */
export interface KafkaTopic {
    /** Topic name (Kafka's rules: [a-zA-Z0-9._-], at most 249 characters, not "." or ".."). */
    name: string;
    /** Partitions. Raised on an existing topic, never lowered (Kafka cannot). Default 1. */
    partitions: number;
    /** Replicas per partition; applied when the topic is created. Default min(3, kafka.replicas). */
    replicationFactor: number;
    /** retention.ms; -1 keeps records forever. Default: the broker's (7 days). */
    retentionMs?: number;
    /** cleanup.policy. Default: the broker's (delete). */
    cleanupPolicy?: KafkaCleanupPolicy;
    /** Other topic-level configs (Kafka's names, e.g. max.message.bytes). Default none. */
    configs: Record<string, string>;
}

export interface KafkaSettings extends ServiceSettings {
    /** Combined broker+controller nodes: 1, or an odd number from 3 to 9 for a quorum. Default 1. */
    replicas: number;
    /**
     * Application SASL users, each with a generated password, a Secret and its ACLs. They log in with
     * SCRAM-SHA-512, whose credentials the reconcile Job creates, rotates and deletes live. Default none.
     */
    users: KafkaUser[];
    /**
     * Users of `users` still accepted on SASL/PLAIN too (their password in the brokers' JAAS file), until
     * their team has switched to SCRAM-SHA-512: for stacks whose clients predate SCRAM. Adding or removing a
     * name rolls the brokers once. Default none.
     */
    plainUsers: string[];
    /** Client listener authentication. Default "sasl"; "none" is refused in production. */
    clientAuth: KafkaClientAuth;
    /** JVM heap as a percentage of the memory limit (the rest is page cache and off-heap). Default 50. */
    heapPercent: number;
    /** The identity the brokers log in to each other with (both are always accepted). Default "broker". */
    brokerLogin: KafkaBrokerIdentity;
    /** Topics the reconcile Job creates and keeps as declared. Default none. */
    topics: KafkaTopic[];
    /** Let the reconcile Job delete topics that are not declared (Kafka's internal topics excepted). Default false. */
    deleteUndeclaredTopics: boolean;
    /**
     * Where the JMX exporter agent comes from (the brokers' metrics, with `monitoring.exporters`): an image
     * holding jmx_prometheus_javaagent 1.0.1 and `cp`. Default none: Kafka runs without metrics (and the
     * program warns when the stack runs exporters).
     */
    jmxAgent?: KafkaJmxAgentSettings;
}

export interface KafkaJmxAgentSettings {
    /** Image with the agent jar, with an explicit tag or digest. Required. */
    image: string;
    /** Absolute path of the jar in the image. Default /jmx_prometheus_javaagent.jar. */
    jar: string;
}

/** An absolute path of a jar file. */
const JAR_PATH = /^\/([A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+\.jar$/;

/** `kafka.jmxAgent`; undefined when absent. */
function readJmxAgent(r: Reader, value: unknown): KafkaJmxAgentSettings | undefined {
    if (value === undefined || value === null) return undefined;
    const raw = r.object("kafka.jmxAgent", value, ["image", "jar"]);
    return {
        image: r.required("kafka.jmxAgent.image", raw.image, IMAGE, "an image reference with an explicit tag or digest, holding the jmx_prometheus_javaagent jar"),
        jar: r.string("kafka.jmxAgent.jar", raw.jar, "/jmx_prometheus_javaagent.jar", JAR_PATH, "an absolute path ending in .jar, such as /jmx_prometheus_javaagent.jar"),
    };
}

/** The seed's Kafka: namespace messaging, apache/kafka:3.8.1, one KRaft node, 10Gi. */
export const KAFKA_DEFAULTS: Omit<KafkaSettings, "jmxAgent"> = {
    namespace: "messaging",
    image: "apache/kafka:3.8.1",
    replicas: 1,
    storageSize: "10Gi",
    resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
    users: [],
    plainUsers: [],
    clientAuth: "sasl",
    heapPercent: 50,
    brokerLogin: "broker",
    topics: [],
    deleteUndeclaredTopics: false,
};

/** Replication settings that a cluster of `replicas` brokers can satisfy: RF = min(3, n), min ISR = RF - 1. */
export function replicationSettings(replicas: number): { replicationFactor: number; minInsyncReplicas: number } {
    const replicationFactor = Math.min(3, replicas);
    return { replicationFactor, minInsyncReplicas: Math.max(1, replicationFactor - 1) };
}

/** SASL users the brokers themselves use. */
export const RESERVED_USERS = ["admin", ...KAFKA_BROKER_IDENTITIES, "broker_next"];

/** Kafka's topic name rule (org.apache.kafka.common.internals.Topic). */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TOPIC_NAME_ACCEPTED = "a topic name of at most 249 characters from [a-zA-Z0-9._-], not . or .., not starting with __ (Kafka's internal topics)";
/** Consumer group prefixes: the same characters as topic names (kept out of shell and ACL syntax trouble). */
const GROUP_PREFIX = /^[a-zA-Z0-9._-]{1,249}$/;

/** Topic-level configs the stack may set under `configs`, by Kafka 3.8's names, with their value rule. */
type ConfigRule = { kind: "int" | "long"; min: number; max?: number } | { kind: "ratio" } | { kind: "boolean" } | { kind: "enum"; values: string[] };
const LONG_MAX = Number.MAX_SAFE_INTEGER;
export const KAFKA_TOPIC_CONFIGS: Record<string, ConfigRule> = {
    "compression.type": { kind: "enum", values: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"] },
    "compression.gzip.level": { kind: "int", min: 1, max: 9 },
    "compression.lz4.level": { kind: "int", min: 1, max: 17 },
    "compression.zstd.level": { kind: "int", min: -131072, max: 22 },
    "delete.retention.ms": { kind: "long", min: 0 },
    "file.delete.delay.ms": { kind: "long", min: 0 },
    "flush.messages": { kind: "long", min: 1 },
    "flush.ms": { kind: "long", min: 0 },
    "index.interval.bytes": { kind: "int", min: 0 },
    "max.compaction.lag.ms": { kind: "long", min: 1 },
    "max.message.bytes": { kind: "int", min: 0 },
    "message.timestamp.after.max.ms": { kind: "long", min: 0 },
    "message.timestamp.before.max.ms": { kind: "long", min: 0 },
    "message.timestamp.type": { kind: "enum", values: ["CreateTime", "LogAppendTime"] },
    "min.cleanable.dirty.ratio": { kind: "ratio" },
    "min.compaction.lag.ms": { kind: "long", min: 0 },
    "min.insync.replicas": { kind: "int", min: 1 },
    preallocate: { kind: "boolean" },
    "retention.bytes": { kind: "long", min: -1 },
    "segment.bytes": { kind: "int", min: 14 },
    "segment.index.bytes": { kind: "int", min: 4 },
    "segment.jitter.ms": { kind: "long", min: 0 },
    "segment.ms": { kind: "long", min: 1 },
    "unclean.leader.election.enable": { kind: "boolean" },
};
/** Topic configs refused under `configs`, and why (the message names what to do instead). */
const REFUSED_TOPIC_CONFIGS: Record<string, string> = {
    "retention.ms": "set it with retention",
    "cleanup.policy": "set it with cleanupPolicy",
    "leader.replication.throttled.replicas": "it is managed by kafka-reassign-partitions.sh",
    "follower.replication.throttled.replicas": "it is managed by kafka-reassign-partitions.sh",
    "remote.storage.enable": "the brokers have no tiered storage",
    "local.retention.ms": "the brokers have no tiered storage",
    "local.retention.bytes": "the brokers have no tiered storage",
    "message.format.version": "it is deprecated and ignored by Kafka 3.x",
    "message.timestamp.difference.max.ms": "it is deprecated: use message.timestamp.before.max.ms / message.timestamp.after.max.ms",
    "message.downconversion.enable": "it is deprecated",
};

const INT32_MAX = 2 ** 31 - 1;
const DURATION = /^([0-9]+)(ms|s|m|h|d|w)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_ACCEPTED = "milliseconds (an integer; -1 keeps records forever) or a duration such as 30s, 15m, 12h, 7d or 2w";

/** retention: milliseconds or a duration string, as milliseconds; undefined when invalid (reported). */
export function parseDurationMs(r: Reader, key: string, value: unknown): number | undefined {
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= -1) {
        return value;
    }
    if (typeof value === "string") {
        const m = DURATION.exec(value);
        if (m && Number.isSafeInteger(Number(m[1]) * DURATION_MS[m[2]])) {
            return Number(m[1]) * DURATION_MS[m[2]];
        }
    }
    r.fail(key, value, DURATION_ACCEPTED);
    return undefined;
}

/** A topic config value as Kafka takes it; undefined when invalid (reported). */
function readConfigValue(r: Reader, key: string, name: string, value: unknown): string | undefined {
    const rule = KAFKA_TOPIC_CONFIGS[name];
    const text = typeof value === "number" || typeof value === "boolean" ? String(value) : value;
    if (typeof text !== "string") {
        r.fail(key, value, "a string, number or boolean");
        return undefined;
    }
    switch (rule.kind) {
        case "int":
        case "long": {
            const n = Number(text);
            const max = rule.max ?? (rule.kind === "int" ? INT32_MAX : LONG_MAX);
            if (!/^-?[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < rule.min || n > max) {
                r.fail(key, value, `an integer from ${rule.min} to ${max}`);
                return undefined;
            }
            return String(n);
        }
        case "ratio": {
            const n = Number(text);
            if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || n < 0 || n > 1) {
                r.fail(key, value, "a number from 0 to 1");
                return undefined;
            }
            return text;
        }
        case "boolean":
            if (text !== "true" && text !== "false") {
                r.fail(key, value, "true or false");
                return undefined;
            }
            return text;
        case "enum":
            if (!rule.values.includes(text)) {
                r.fail(key, value, `one of ${rule.values.join(", ")}`);
                return undefined;
            }
            return text;
    }
}

/** `configs` of a topic: known names only, each value checked by its rule. */
function readTopicConfigs(r: Reader, key: string, value: unknown): Record<string, string> {
    if (value === undefined || value === null) {
        return {};
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        r.fail(key, value, "a map of topic config names to values");
        return {};
    }
    const configs: Record<string, string> = {};
    for (const [name, v] of Object.entries(value)) {
        if (name in REFUSED_TOPIC_CONFIGS) {
            r.problem(`${key}.${name}`, `not accepted here: ${REFUSED_TOPIC_CONFIGS[name]}`);
        } else if (!(name in KAFKA_TOPIC_CONFIGS)) {
            r.problem(`${key}.${name}`, `unknown topic config; accepted: ${Object.keys(KAFKA_TOPIC_CONFIGS).join(", ")}`);
        } else {
            const parsed = readConfigValue(r, `${key}.${name}`, name, v);
            if (parsed !== undefined) configs[name] = parsed;
        }
    }
    return configs;
}

/** Topics named alike but for '.' and '_' collide in Kafka's metric names; Kafka refuses the second one. */
function collisionKey(topic: string): string {
    return topic.replace(/\./g, "_");
}

function readTopics(r: Reader, value: unknown, replicas: number): KafkaTopic[] {
    // The broker defaults (server.properties): default.replication.factor and min.insync.replicas.
    const { replicationFactor: defaultRf, minInsyncReplicas: defaultMinIsr } = replicationSettings(replicas);
    const topics = r.list("kafka.topics", value).map((t, i): KafkaTopic => {
        const key = `kafka.topics[${i}]`;
        const o = r.object(key, t, ["name", "partitions", "replicationFactor", "retention", "cleanupPolicy", "configs"]);
        let name = r.required(`${key}.name`, o.name, TOPIC_NAME, TOPIC_NAME_ACCEPTED);
        if (name === "." || name === ".." || name.startsWith("__")) {
            r.fail(`${key}.name`, name, TOPIC_NAME_ACCEPTED);
            name = "";
        }
        const partitions = r.integer(`${key}.partitions`, o.partitions, 1, { min: 1, max: 10_000 });
        const configs = readTopicConfigs(r, `${key}.configs`, o.configs);
        const replicationFactor = r.integer(`${key}.replicationFactor`, o.replicationFactor, defaultRf, {
            min: 1,
            max: replicas,
            accepted: `an integer from 1 to ${replicas} (kafka.replicas)`,
        });
        // acks=all writes need min.insync.replicas in-sync replicas: with fewer replicas every such write fails.
        const minIsr = configs["min.insync.replicas"] !== undefined ? Number(configs["min.insync.replicas"]) : defaultMinIsr;
        if (minIsr > replicationFactor) {
            if (configs["min.insync.replicas"] !== undefined) {
                r.fail(`${key}.configs.min.insync.replicas`, configs["min.insync.replicas"], `an integer from 1 to ${replicationFactor} (the replication factor)`);
            } else {
                r.fail(`${key}.replicationFactor`, o.replicationFactor, `an integer from ${minIsr} (min.insync.replicas: acks=all writes need that many replicas; or lower configs.min.insync.replicas) to ${replicas}`);
            }
        }
        const topic: KafkaTopic = { name, partitions, replicationFactor, configs };
        if (o.retention !== undefined && o.retention !== null) {
            const ms = parseDurationMs(r, `${key}.retention`, o.retention);
            if (ms !== undefined) topic.retentionMs = ms;
        }
        if (o.cleanupPolicy !== undefined && o.cleanupPolicy !== null) {
            topic.cleanupPolicy = r.oneOf<KafkaCleanupPolicy>(`${key}.cleanupPolicy`, o.cleanupPolicy, "delete", KAFKA_CLEANUP_POLICIES);
        }
        return topic;
    });
    r.unique("kafka.topics[].name", topics.map((t) => t.name).filter((n) => n !== ""));
    const seen = new Map<string, string>();
    for (const t of topics) {
        const k = collisionKey(t.name);
        const other = seen.get(k);
        if (other !== undefined && other !== t.name) {
            r.problem("kafka.topics[].name", `${JSON.stringify(t.name)} collides with ${JSON.stringify(other)}: Kafka treats '.' and '_' alike in topic names and refuses the second`);
        }
        seen.set(k, t.name);
    }
    return topics;
}

function readUser(r: Reader, value: unknown, i: number): KafkaUser {
    const key = `kafka.users[${i}]`;
    const o = r.object(key, value, ["name", "topics", "groups"]);
    const name = r.required(`${key}.name`, o.name, IDENTIFIER, IDENTIFIER_ACCEPTED);
    const topics = r.list(`${key}.topics`, o.topics).map((g, j): KafkaTopicGrant => {
        const gk = `${key}.topics[${j}]`;
        const go = r.object(gk, g, ["name", "prefix", "access"]);
        const hasName = go.name !== undefined && go.name !== null;
        const hasPrefix = go.prefix !== undefined && go.prefix !== null;
        if (hasName === hasPrefix) {
            r.problem(gk, "needs exactly one of name (one topic) or prefix (every topic whose name starts with it)");
        }
        const pattern = hasPrefix ? "prefixed" : "literal";
        const topicName = hasPrefix
            ? r.string(`${gk}.prefix`, go.prefix, "", GROUP_PREFIX, "a topic name prefix from [a-zA-Z0-9._-]")
            : r.string(`${gk}.name`, go.name, "", TOPIC_NAME, TOPIC_NAME_ACCEPTED);
        const rawAccess = typeof go.access === "string" ? [go.access] : go.access;
        const access = r.list(`${gk}.access`, rawAccess).map((a, k) => r.oneOf<KafkaAccess>(`${gk}.access[${k}]`, a, "read", KAFKA_ACCESS));
        if (go.access === undefined || go.access === null || access.length === 0) {
            r.problem(`${gk}.access`, "missing; expected a list of read and/or write");
        }
        return { pattern, name: topicName, access: [...new Set(access)].sort() };
    });
    const groups = r.list(`${key}.groups`, o.groups).map((g, j) => r.string(`${key}.groups[${j}]`, g, "", GROUP_PREFIX, "a consumer group name prefix from [a-zA-Z0-9._-]"));
    return { name, topics, groups };
}

/** `kafka.plainUsers`: names of declared users, each once; only with SASL on the client listener. */
function readPlainUsers(r: Reader, value: unknown, users: KafkaUser[], clientAuth: KafkaClientAuth): string[] {
    const declared = users.map((u) => u.name);
    const accepted = `the name of a user of kafka.users (${declared.length === 0 ? "none declared" : declared.join(", ")})`;
    const names = r.list("kafka.plainUsers", value).flatMap((v, i) => {
        const key = `kafka.plainUsers[${i}]`;
        const name = r.required(key, v, IDENTIFIER, accepted);
        if (name === "") return [];
        if (!declared.includes(name)) {
            r.fail(key, name, accepted);
            return [];
        }
        return [name];
    });
    r.unique("kafka.plainUsers", names);
    if (names.length > 0 && clientAuth !== "sasl") {
        r.problem("kafka.plainUsers", `lists ${names.join(", ")}, but kafka.clientAuth is ${clientAuth}: clients log in with no mechanism; remove kafka.plainUsers or set kafka.clientAuth to sasl`);
    }
    return names;
}

export function readKafkaSettings(r: Reader, value: unknown): KafkaSettings {
    const { raw, settings } = readServiceSettings(r, {
        key: "kafka",
        value,
        defaults: KAFKA_DEFAULTS,
        extraKeys: ["users", "plainUsers", "clientAuth", "heapPercent", "brokerLogin", "topics", "deleteUndeclaredTopics", "jmxAgent"],
        replicas: {
            max: 9,
            accepted: "1 or an odd number from 3 to 9 (a KRaft quorum needs a majority)",
            valid: (n) => n % 2 === 1,
        },
    });
    const users = r.list("kafka.users", raw.users).map((u, i) => readUser(r, u, i));
    const jmxAgent = readJmxAgent(r, raw.jmxAgent);
    r.unique("kafka.users[].name", users.map((u) => u.name));
    for (const u of users) {
        if (RESERVED_USERS.includes(u.name)) {
            r.fail("kafka.users[].name", u.name, "a name other than admin or broker (reserved, as are broker-next and broker_next)");
        }
    }
    const clientAuth = r.oneOf<KafkaClientAuth>("kafka.clientAuth", raw.clientAuth, KAFKA_DEFAULTS.clientAuth, KAFKA_CLIENT_AUTH);
    const plainUsers = readPlainUsers(r, raw.plainUsers, users, clientAuth);
    const topics = readTopics(r, raw.topics, settings.replicas);
    // A grant on a topic nobody declares is a typo or a missing declaration: the ACL would guard nothing.
    const declared = topics.map((t) => t.name);
    users.forEach((u, i) =>
        u.topics.forEach((g, j) => {
            if (g.pattern === "literal" && !declared.includes(g.name)) {
                r.problem(
                    `kafka.users[${i}].topics[${j}].name`,
                    `${JSON.stringify(g.name)} (a grant of user ${u.name}) is not a declared topic; kafka.topics declares ${declared.length === 0 ? "none" : declared.map((t) => JSON.stringify(t)).join(", ")}. Declare it under kafka.topics, or grant a prefix`,
                );
            }
        }),
    );
    return {
        ...settings,
        users,
        plainUsers,
        clientAuth,
        heapPercent: r.integer("kafka.heapPercent", raw.heapPercent, KAFKA_DEFAULTS.heapPercent, { min: 25, max: 75 }),
        brokerLogin: r.oneOf<KafkaBrokerIdentity>("kafka.brokerLogin", raw.brokerLogin, KAFKA_DEFAULTS.brokerLogin, KAFKA_BROKER_IDENTITIES),
        topics,
        deleteUndeclaredTopics: r.boolean("kafka.deleteUndeclaredTopics", raw.deleteUndeclaredTopics, KAFKA_DEFAULTS.deleteUndeclaredTopics),
        ...(jmxAgent ? { jmxAgent } : {}),
    };
}
