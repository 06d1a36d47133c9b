// Stack configuration: the single place where per-stack settings are read, defaulted and validated.
// Everything is checked before any resource is created, and every problem is reported at once with the
// key, the bad value and what is accepted.

import * as pulumi from "@pulumi/pulumi";

/** The Pulumi project name; stack config keys live under `msa-infra:`. */
export const PROJECT = "msa-infra";

export type Environment = "development" | "production";
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";
export type KafkaClientAuth = "sasl" | "none";

export interface ResourceSettings {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export interface ServiceSettings {
    namespace: string;
    image: string;
    replicas: number;
    storageSize: string;
    resources: ResourceSettings;
}

export interface MariaDbDatabase {
    /** Database (schema) name. */
    name: string;
    /** Application user that gets ALL PRIVILEGES on that database only. */
    user: string;
}

export interface RedisUser {
    /** ACL user name. */
    name: string;
    /** Key pattern the user may touch, e.g. `orders:*`. */
    keyPattern: string;
}

export interface KafkaUser {
    /** SASL user name. */
    name: string;
}

export interface NetworkPolicySettings {
    enabled: boolean;
    egress: boolean;
    allowedNamespaces: string[];
    allowedNamespaceSelector?: { [label: string]: string };
    monitoringNamespace?: string;
}

export interface TlsSettings {
    enabled: boolean;
    issuer?: { name: string; kind: "Issuer" | "ClusterIssuer" };
}

export interface PlatformConfig {
    environment: Environment;
    kubeconfig?: string;
    kubeContext?: string;
    storageClass: string;
    protect: boolean;
    podSecurityLevel: PodSecurityLevel;
    networkPolicies: NetworkPolicySettings;
    tls: TlsSettings;
    mariadb: ServiceSettings & { databases: MariaDbDatabase[] };
    redis: ServiceSettings & { users: RedisUser[]; maxmemoryPolicy: string };
    kafka: ServiceSettings & { users: KafkaUser[]; clientAuth: KafkaClientAuth; heapPercent: number };
}

/** Seed-parity defaults: the names, images and sizes the hand-applied manifests promised. */
export const DEFAULTS = {
    storageClass: "local-path",
    podSecurityLevel: "restricted" as PodSecurityLevel,
    mariadb: {
        namespace: "db",
        image: "mariadb:10.11",
        replicas: 1,
        storageSize: "10Gi",
        resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    },
    redis: {
        namespace: "cache",
        image: "redis:7.2-alpine",
        replicas: 1,
        storageSize: "5Gi",
        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
        maxmemoryPolicy: "noeviction",
    },
    kafka: {
        namespace: "messaging",
        image: "apache/kafka:3.8.1",
        replicas: 1,
        storageSize: "10Gi",
        resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
        heapPercent: 50,
    },
};

/** Every accepted top-level key, with a one-line description (used in error messages). */
export const TOP_LEVEL_KEYS: Record<string, string> = {
    environment: "development | production",
    kubeconfig: "path to or contents of a kubeconfig",
    kubeContext: "kubeconfig context name",
    storageClass: "StorageClass for all volumes",
    protect: "true | false",
    podSecurityLevel: "restricted | baseline | privileged",
    networkPolicies: "object",
    tls: "object",
    mariadb: "object",
    redis: "object",
    kafka: "object",
};

const SERVICE_KEYS = ["namespace", "image", "replicas", "storageSize", "resources"];
const SERVICE_EXTRA_KEYS: Record<"mariadb" | "redis" | "kafka", string[]> = {
    mariadb: ["databases"],
    redis: ["users", "maxmemoryPolicy"],
    kafka: ["users", "clientAuth", "heapPercent"],
};

/**
 * An invalid stack configuration; `problems` lists every offending key. A RunError, so the Pulumi CLI
 * prints just the message, without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Names that end up inside SQL identifiers, ACL rules and JAAS files: keep them boring on purpose.
const IDENTIFIER = /^[a-z][a-z0-9_]{0,31}$/;
const QUANTITY = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/;
const CPU = /^([0-9]+(\.[0-9]+)?)(m)?$/;
// An image reference with an explicit tag or digest: [registry/]repo[:tag][@sha256:...]
const IMAGE = /^[a-z0-9]+([._\-/][a-z0-9]+)*(:[0-9]+\/[a-z0-9]+([._\-/][a-z0-9]+)*)?((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;
const REDIS_KEY_PATTERN = /^[A-Za-z0-9_:.*{}\-]+$/;
const MAXMEMORY_POLICIES = [
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

const BINARY_UNITS: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    m: 1e-3,
    "": 1,
};

/** Converts a Kubernetes quantity (`512Mi`, `1Gi`, `1500M`) to bytes. Throws on anything else. */
export function quantityToBytes(quantity: string): number {
    const m = QUANTITY.exec(quantity);
    if (!m) {
        throw new Error(`"${quantity}" is not a Kubernetes quantity`);
    }
    return Math.floor(parseFloat(m[1]) * BINARY_UNITS[m[3] ?? ""]);
}

/** Converts a CPU quantity (`250m`, `1`, `1.5`) to millicores. */
export function cpuToMillis(cpu: string): number {
    const m = CPU.exec(cpu);
    if (!m) {
        throw new Error(`"${cpu}" is not a CPU quantity`);
    }
    return m[3] === "m" ? parseFloat(m[1]) : parseFloat(m[1]) * 1000;
}

function show(value: unknown): string {
    return JSON.stringify(value);
}

/** Collects problems while reading one raw config object. */
class Reader {
    readonly problems: string[] = [];

    fail(key: string, value: unknown, accepted: string): void {
        this.problems.push(`${PROJECT}:${key}: ${show(value)} is not valid; expected ${accepted}`);
    }

    object(key: string, value: unknown, allowedKeys: string[]): Record<string, unknown> {
        if (value === undefined || value === null) {
            return {};
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            this.fail(key, value, `an object with keys ${allowedKeys.join(", ")}`);
            return {};
        }
        for (const k of Object.keys(value)) {
            if (!allowedKeys.includes(k)) {
                this.problems.push(
                    `${PROJECT}:${key}.${k}: unknown key; accepted keys are ${allowedKeys.join(", ")}`,
                );
            }
        }
        return value as Record<string, unknown>;
    }

    string(key: string, value: unknown, fallback: string, pattern?: RegExp, accepted?: string): string {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "string" || value.length === 0 || (pattern && !pattern.test(value))) {
            this.fail(key, value, accepted ?? "a non-empty string");
            return fallback;
        }
        return value;
    }

    required(key: string, value: unknown, pattern: RegExp, accepted: string): string {
        if (value === undefined || value === null) {
            this.problems.push(`${PROJECT}:${key}: missing; expected ${accepted}`);
            return "";
        }
        return this.string(key, value, "", pattern, accepted);
    }

    optionalString(key: string, value: unknown): string | undefined {
        if (value === undefined || value === null || value === "") {
            return undefined;
        }
        if (typeof value !== "string") {
            this.fail(key, value, "a string");
            return undefined;
        }
        return value;
    }

    oneOf<T extends string>(key: string, value: unknown, fallback: T, allowed: readonly T[]): T {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "string" || !allowed.includes(value as T)) {
            this.fail(key, value, `one of ${allowed.join(", ")}`);
            return fallback;
        }
        return value as T;
    }

    boolean(key: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "boolean") {
            this.fail(key, value, "true or false");
            return fallback;
        }
        return value;
    }

    integer(key: string, value: unknown, fallback: number, min: number, max: number, accepted?: string): number {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            this.fail(key, value, accepted ?? `an integer from ${min} to ${max}`);
            return fallback;
        }
        return value;
    }

    list(key: string, value: unknown): unknown[] {
        if (value === undefined || value === null) {
            return [];
        }
        if (!Array.isArray(value)) {
            this.fail(key, value, "a list");
            return [];
        }
        return value;
    }
}

function readResources(r: Reader, key: string, value: unknown, fallback: ResourceSettings): ResourceSettings {
    const raw = r.object(key, value, ["requests", "limits"]);
    const requests = r.object(`${key}.requests`, raw.requests, ["cpu", "memory"]);
    const limits = r.object(`${key}.limits`, raw.limits, ["cpu", "memory"]);
    const cpu = (k: string, v: unknown, f: string) =>
        r.string(k, typeof v === "number" ? String(v) : v, f, CPU, "a CPU quantity such as 250m or 1");
    const mem = (k: string, v: unknown, f: string) =>
        r.string(k, v, f, QUANTITY, "a memory quantity such as 512Mi or 2Gi");
    const result: ResourceSettings = {
        requests: {
            cpu: cpu(`${key}.requests.cpu`, requests.cpu, fallback.requests.cpu),
            memory: mem(`${key}.requests.memory`, requests.memory, fallback.requests.memory),
        },
        limits: {
            cpu: cpu(`${key}.limits.cpu`, limits.cpu, fallback.limits.cpu),
            memory: mem(`${key}.limits.memory`, limits.memory, fallback.limits.memory),
        },
    };
    try {
        if (quantityToBytes(result.requests.memory) > quantityToBytes(result.limits.memory)) {
            r.problems.push(
                `${PROJECT}:${key}: requests.memory ${result.requests.memory} exceeds limits.memory ${result.limits.memory}`,
            );
        }
        if (cpuToMillis(result.requests.cpu) > cpuToMillis(result.limits.cpu)) {
            r.problems.push(
                `${PROJECT}:${key}: requests.cpu ${result.requests.cpu} exceeds limits.cpu ${result.limits.cpu}`,
            );
        }
    } catch {
        // Already reported as a malformed quantity above.
    }
    return result;
}

function readService(
    r: Reader,
    key: "mariadb" | "redis" | "kafka",
    value: unknown,
    defaults: typeof DEFAULTS.mariadb,
): { raw: Record<string, unknown>; settings: ServiceSettings } {
    const raw = r.object(key, value, [...SERVICE_KEYS, ...SERVICE_EXTRA_KEYS[key]]);
    if (typeof raw.image === "string" && /:latest(@|$)/.test(raw.image)) {
        r.fail(`${key}.image`, raw.image, "a pinned tag (not latest) so every node runs the same version");
    }
    const replicasRule =
        key === "kafka"
            ? { max: 9, accepted: "1 or an odd number from 3 to 9 (a KRaft quorum needs a majority)" }
            : { max: 1, accepted: `1 (${key} runs as a single instance; replication is not supported yet)` };
    const replicas = r.integer(`${key}.replicas`, raw.replicas, defaults.replicas, 1, replicasRule.max, replicasRule.accepted);
    if (key === "kafka" && replicas % 2 === 0) {
        r.fail(`${key}.replicas`, replicas, replicasRule.accepted);
    }
    return {
        raw,
        settings: {
            namespace: r.string(`${key}.namespace`, raw.namespace, defaults.namespace, DNS_LABEL, "a DNS-1123 label such as db"),
            image: r.string(
                `${key}.image`,
                raw.image,
                defaults.image,
                IMAGE,
                "an image reference with an explicit tag or digest, such as mariadb:10.11",
            ),
            replicas,
            storageSize: r.string(`${key}.storageSize`, raw.storageSize, defaults.storageSize, QUANTITY, "a quantity such as 10Gi"),
            resources: readResources(r, `${key}.resources`, raw.resources, defaults.resources),
        },
    };
}

function checkUnique(r: Reader, key: string, names: string[]): void {
    const seen = new Set<string>();
    for (const n of names) {
        if (seen.has(n)) {
            r.problems.push(`${PROJECT}:${key}: ${show(n)} is declared twice; names must be unique`);
        }
        seen.add(n);
    }
}

/**
 * Parses and validates raw stack config values (key without the `msa-infra:` prefix → parsed value).
 * Throws a ConfigError listing every problem; returns a fully defaulted PlatformConfig otherwise.
 */
export function parseStackConfig(raw: Record<string, unknown>): PlatformConfig {
    const r = new Reader();
    for (const k of Object.keys(raw)) {
        if (!(k in TOP_LEVEL_KEYS)) {
            r.problems.push(`${PROJECT}:${k}: unknown key; accepted keys are ${Object.keys(TOP_LEVEL_KEYS).join(", ")}`);
        }
    }
    const environment = r.oneOf<Environment>("environment", raw.environment, "development", ["development", "production"]);
    const production = environment === "production";

    const np = r.object("networkPolicies", raw.networkPolicies, [
        "enabled",
        "egress",
        "allowedNamespaces",
        "allowedNamespaceSelector",
        "monitoringNamespace",
    ]);
    const allowedNamespaces = r
        .list("networkPolicies.allowedNamespaces", np.allowedNamespaces)
        .map((n, i) => r.string(`networkPolicies.allowedNamespaces[${i}]`, n, "", DNS_LABEL, "a namespace name"))
        .filter((n) => n !== "");
    let allowedNamespaceSelector: { [label: string]: string } | undefined;
    if (np.allowedNamespaceSelector !== undefined) {
        const sel = np.allowedNamespaceSelector;
        if (
            typeof sel !== "object" ||
            sel === null ||
            Array.isArray(sel) ||
            Object.keys(sel).length === 0 ||
            Object.values(sel).some((v) => typeof v !== "string")
        ) {
            r.fail("networkPolicies.allowedNamespaceSelector", sel, "a non-empty map of label: value (matchLabels)");
        } else {
            allowedNamespaceSelector = sel as { [label: string]: string };
        }
    }

    const tlsRaw = r.object("tls", raw.tls, ["enabled", "issuer"]);
    let issuer: TlsSettings["issuer"];
    if (tlsRaw.issuer !== undefined) {
        const iss = r.object("tls.issuer", tlsRaw.issuer, ["name", "kind"]);
        issuer = {
            name: r.required("tls.issuer.name", iss.name, DNS_LABEL, "the name of a cert-manager Issuer or ClusterIssuer"),
            kind: r.oneOf("tls.issuer.kind", iss.kind, "ClusterIssuer", ["Issuer", "ClusterIssuer"]),
        };
    }

    const m = readService(r, "mariadb", raw.mariadb, DEFAULTS.mariadb);
    const databases = r.list("mariadb.databases", m.raw.databases).map((d, i) => {
        const o = r.object(`mariadb.databases[${i}]`, d, ["name", "user"]);
        return {
            name: r.required(`mariadb.databases[${i}].name`, o.name, IDENTIFIER, "a lower-case identifier ([a-z][a-z0-9_]{0,31})"),
            user: r.required(`mariadb.databases[${i}].user`, o.user, IDENTIFIER, "a lower-case identifier ([a-z][a-z0-9_]{0,31})"),
        };
    });
    checkUnique(r, "mariadb.databases[].name", databases.map((d) => d.name));
    checkUnique(r, "mariadb.databases[].user", databases.map((d) => d.user));
    for (const d of databases) {
        if (d.user === "root" || d.user === "healthcheck" || d.user === "mysql") {
            r.fail("mariadb.databases[].user", d.user, "an application user name other than root, mysql or healthcheck");
        }
    }

    const rd = readService(r, "redis", raw.redis, DEFAULTS.redis);
    const redisUsers = r.list("redis.users", rd.raw.users).map((u, i) => {
        const o = r.object(`redis.users[${i}]`, u, ["name", "keyPattern"]);
        const name = r.required(`redis.users[${i}].name`, o.name, IDENTIFIER, "a lower-case identifier ([a-z][a-z0-9_]{0,31})");
        return {
            name,
            keyPattern: r.string(
                `redis.users[${i}].keyPattern`,
                o.keyPattern,
                `${name}:*`,
                REDIS_KEY_PATTERN,
                "a key glob without spaces, such as orders:*",
            ),
        };
    });
    checkUnique(r, "redis.users[].name", redisUsers.map((u) => u.name));
    for (const u of redisUsers) {
        if (u.name === "default") {
            r.fail("redis.users[].name", u.name, "a name other than default (the admin user)");
        }
    }

    const k = readService(r, "kafka", raw.kafka, DEFAULTS.kafka);
    const kafkaUsers = r.list("kafka.users", k.raw.users).map((u, i) => {
        const o = r.object(`kafka.users[${i}]`, u, ["name"]);
        return { name: r.required(`kafka.users[${i}].name`, o.name, IDENTIFIER, "a lower-case identifier ([a-z][a-z0-9_]{0,31})") };
    });
    checkUnique(r, "kafka.users[].name", kafkaUsers.map((u) => u.name));
    for (const u of kafkaUsers) {
        if (u.name === "admin" || u.name === "broker") {
            r.fail("kafka.users[].name", u.name, "a name other than admin or broker (reserved)");
        }
    }
    const clientAuth = r.oneOf<KafkaClientAuth>("kafka.clientAuth", k.raw.clientAuth, "sasl", ["sasl", "none"]);

    const config: PlatformConfig = {
        environment,
        kubeconfig: r.optionalString("kubeconfig", raw.kubeconfig),
        kubeContext: r.optionalString("kubeContext", raw.kubeContext),
        storageClass: r.string("storageClass", raw.storageClass, DEFAULTS.storageClass, DNS_LABEL, "a StorageClass name"),
        protect: r.boolean("protect", raw.protect, production),
        podSecurityLevel: r.oneOf<PodSecurityLevel>("podSecurityLevel", raw.podSecurityLevel, DEFAULTS.podSecurityLevel, [
            "restricted",
            "baseline",
            "privileged",
        ]),
        networkPolicies: {
            enabled: r.boolean("networkPolicies.enabled", np.enabled, production),
            egress: r.boolean("networkPolicies.egress", np.egress, false),
            allowedNamespaces,
            allowedNamespaceSelector,
            monitoringNamespace:
                np.monitoringNamespace === undefined
                    ? undefined
                    : r.string("networkPolicies.monitoringNamespace", np.monitoringNamespace, "", DNS_LABEL, "a namespace name"),
        },
        tls: { enabled: r.boolean("tls.enabled", tlsRaw.enabled, false), issuer },
        mariadb: { ...m.settings, databases },
        redis: {
            ...rd.settings,
            users: redisUsers,
            maxmemoryPolicy: r.oneOf("redis.maxmemoryPolicy", rd.raw.maxmemoryPolicy, DEFAULTS.redis.maxmemoryPolicy, MAXMEMORY_POLICIES),
        },
        kafka: {
            ...k.settings,
            users: kafkaUsers,
            clientAuth,
            heapPercent: r.integer("kafka.heapPercent", k.raw.heapPercent, DEFAULTS.kafka.heapPercent, 25, 75),
        },
    };

    // Rules that make a production stack safe by construction.
    if (production) {
        if (config.kafka.clientAuth === "none") {
            r.problems.push(
                `${PROJECT}:kafka.clientAuth: "none" (PLAINTEXT without authentication) is not allowed when environment is production; use "sasl"`,
            );
        }
        if (config.storageClass === "local-path") {
            r.problems.push(
                `${PROJECT}:storageClass: "local-path" is not allowed when environment is production (node-local disks lose data with the node); set a replicated class such as longhorn`,
            );
        }
        if (!config.protect) {
            r.problems.push(`${PROJECT}:protect: false is not allowed when environment is production; stateful resources must be protected`);
        }
        if (config.podSecurityLevel !== "restricted") {
            r.problems.push(
                `${PROJECT}:podSecurityLevel: ${show(config.podSecurityLevel)} is not allowed when environment is production; expected restricted`,
            );
        }
    }
    if (config.networkPolicies.enabled && allowedNamespaces.length === 0 && !allowedNamespaceSelector) {
        r.problems.push(
            `${PROJECT}:networkPolicies: enabled but neither allowedNamespaces nor allowedNamespaceSelector is set, so no client could connect; list the client namespaces`,
        );
    }
    const namespaces = [config.mariadb.namespace, config.redis.namespace, config.kafka.namespace];
    if (new Set(namespaces).size !== namespaces.length) {
        r.problems.push(`${PROJECT}:<service>.namespace: each service needs its own namespace; got ${namespaces.join(", ")}`);
    }
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return config;
}

/** Turns one Pulumi config string into a value: JSON objects, lists, booleans and numbers are parsed. */
export function decodeConfigValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Reads every `msa-infra:*` key of the running stack and validates it. */
export function loadStackConfig(): PlatformConfig {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(`${PROJECT}:`)) {
            raw[key.slice(PROJECT.length + 1)] = decodeConfigValue(value);
        }
    }
    return parseStackConfig(raw);
}
