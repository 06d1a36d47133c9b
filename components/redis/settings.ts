// Stack config of Redis (`msa-infra:redis`): what can be set, its defaults, and how it is validated.

import { BackupSettings, readBackupSettings } from "../config/operations";
import type { Environment } from "../config/platform";
import { IDENTIFIER, IDENTIFIER_ACCEPTED, IMAGE, Reader } from "../config/reader";
import { readServiceSettings, ServiceSettings } from "../config/service";

export const MAXMEMORY_POLICIES = [
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
] as const;
export type MaxmemoryPolicy = (typeof MAXMEMORY_POLICIES)[number];

export interface RedisUser {
    /** ACL user name. */
    name: string;
    /** Key (and channel) pattern the user may touch. Default `<name>:*`. */
    keyPattern: string;
}

export interface RedisSettings extends ServiceSettings {
    /**
     * Pods of the StatefulSet `redis`. 1 (default): a standalone server. An odd number from 3 to 7: one
     * primary and N-1 replicas, with a Sentinel in every pod (quorum: a majority, N/2+1) that elects a new
     * primary when the current one is down (docs/operations/failover.md, "Redis high availability"). prod: 3.
     *
     * Changing it replaces nothing (same StatefulSet, claims and selector). 1 → N: pod 0 keeps its volume and
     * AOF and starts as the primary; the new pods full-sync from it. N → 1: the StatefulSet scales down to
     * pod 0, which restarts standalone with its own data. If pod 0 was a replica at that moment, its data is
     * the last it received: fail over to pod 0 first (SENTINEL FAILOVER until pod 0 is the primary). The
     * removed pods' claims stay (retention Retain) until someone deletes them.
     */
    replicas: number;
    /**
     * Application ACL users, each with a key pattern, a generated password and a Secret. Default none. Adding,
     * removing or rotating one restarts no pod: the ACL reconcile Job applies it to every running pod
     * (aclReconcile.ts).
     */
    users: RedisUser[];
    /** maxmemory-policy. Default "noeviction" (sessions must not silently disappear). */
    maxmemoryPolicy: MaxmemoryPolicy;
    /**
     * maxmemory as a percentage of the container memory limit; the rest is headroom for the AOF rewrite's
     * fork (copy-on-write), buffers and allocator overhead. Default 50: measured on a real redis-server at
     * 75, a rewrite under 5,000 writes/s took the container past its limit (106% dev, 113% prod); at 50 the
     * peak stayed at 58-93% up to 20,000 writes/s (scripts/measure-redis-memory.ts, docs/testing.md).
     */
    maxmemoryPercent: number;
    /**
     * Scheduled RDB snapshots taken over the network with the admin credentials (redis-cli --rdb) to the
     * claim `redis-backup`. Default: in production, daily at 02:45 UTC, 7 days, a claim of the data volume's size.
     */
    backup: BackupSettings;
    /** Image of the redis_exporter sidecar (when `monitoring.exporters`). Default oliver006/redis_exporter:v1.88.0. */
    exporterImage: string;
}

/** The seed's Redis: namespace cache, redis:7.2-alpine, one pod, 5Gi. */
/** The defaults that do not depend on the environment (whether backups run does). */
export type RedisDefaults = Omit<RedisSettings, "backup"> & { backup: Omit<BackupSettings, "enabled"> };

export const REDIS_DEFAULTS: RedisDefaults = {
    namespace: "cache",
    image: "redis:7.2-alpine",
    replicas: 1,
    storageSize: "5Gi",
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    users: [],
    maxmemoryPolicy: "noeviction",
    maxmemoryPercent: 50,
    backup: { schedule: "45 2 * * *", retentionDays: 7, storageSize: "5Gi" },
    exporterImage: "oliver006/redis_exporter:v1.88.0",
};

/** Most pods of a replicated Redis: every pod's Sentinel talks to every other one. */
export const REDIS_MAX_REPLICAS = 7;

/** ACL users of the operations layer (not available as application user names). */
const RESERVED_USERS = ["default", "metrics", "replication", "sentinel", "reconcile"];

const REDIS_KEY_PATTERN = /^[A-Za-z0-9_:.*{}\-]+$/;

export function readRedisSettings(r: Reader, value: unknown, environment: Environment): RedisSettings {
    const { raw, settings } = readServiceSettings(r, {
        key: "redis",
        value,
        defaults: REDIS_DEFAULTS,
        extraKeys: ["users", "maxmemoryPolicy", "maxmemoryPercent", "backup", "exporterImage"],
        replicas: {
            max: REDIS_MAX_REPLICAS,
            accepted: `1 (standalone) or an odd number from 3 to ${REDIS_MAX_REPLICAS} (a primary, replicas and a Sentinel quorum)`,
            valid: (n) => n === 1 || (n >= 3 && n % 2 === 1),
        },
    });
    const users = r.list("redis.users", raw.users).map((u, i) => {
        const o = r.object(`redis.users[${i}]`, u, ["name", "keyPattern"]);
        const name = r.required(`redis.users[${i}].name`, o.name, IDENTIFIER, IDENTIFIER_ACCEPTED);
        return {
            name,
            keyPattern: r.string(`redis.users[${i}].keyPattern`, o.keyPattern, `${name}:*`, REDIS_KEY_PATTERN, "a key glob without spaces, such as orders:*"),
        };
    });
    r.unique("redis.users[].name", users.map((u) => u.name));
    for (const u of users) {
        if (RESERVED_USERS.includes(u.name)) {
            r.fail("redis.users[].name", u.name, "a name other than default (the admin user), metrics (the exporter), reconcile (the ACL Job), replication and sentinel (a replicated Redis)");
        }
    }
    return {
        ...settings,
        users,
        maxmemoryPolicy: r.oneOf("redis.maxmemoryPolicy", raw.maxmemoryPolicy, REDIS_DEFAULTS.maxmemoryPolicy, MAXMEMORY_POLICIES),
        maxmemoryPercent: r.integer("redis.maxmemoryPercent", raw.maxmemoryPercent, REDIS_DEFAULTS.maxmemoryPercent, { min: 10, max: 90 }),
        backup: readBackupSettings(r, "redis.backup", raw.backup, { ...REDIS_DEFAULTS.backup, storageSize: settings.storageSize }, environment).settings,
        exporterImage: r.string("redis.exporterImage", raw.exporterImage, REDIS_DEFAULTS.exporterImage, IMAGE, "an image reference with an explicit tag or digest"),
    };
}
