// What Redis reads: redis.conf, the ACL file, the paths they are mounted at, and the probe command.
// Pure text builders.

import { quantityToBytes } from "../config/units";
import { sha256 } from "../hash";

/** The app name: it names the StatefulSet, its Services and its pods. */
export const REDIS_APP = "redis";

export const REDIS_PORT = 6379;
export const REDIS_PATHS = {
    data: "/data",
    /** The AOF's directory on the volume (`dir` + `appenddirname`): a manifest, a base and increments. */
    aofDir: "/data/appendonlydir",
    tmp: "/tmp",
    config: "/etc/redis",
    configFile: "/etc/redis/redis.conf",
    acl: "/etc/redis/acl",
    aclFile: "/etc/redis/acl/users.acl",
    tls: "/etc/redis/tls",
};

/** The command line of the Redis container: the server reads everything else from redis.conf. */
export const REDIS_COMMAND = ["redis-server", REDIS_PATHS.configFile];

/**
 * redis.conf text. maxmemory is a share of the memory limit (redis.maxmemoryPercent), so Redis refuses
 * writes before the kernel kills it, with room for the AOF rewrite's copy-on-write pages.
 */
export function redisServerConfig(opts: { memoryLimit: string; maxmemoryPercent: number; maxmemoryPolicy: string; tls: boolean }): string {
    const maxmemory = Math.floor((quantityToBytes(opts.memoryLimit) * opts.maxmemoryPercent) / 100);
    const lines = [
        "bind * -::*",
        // Belt and braces: should the ACL file ever leave `default` without a password, only loopback may connect.
        "protected-mode yes",
        `dir ${REDIS_PATHS.data}`,
        "appendonly yes",
        "appendfsync everysec",
        `appenddirname "${REDIS_PATHS.aofDir.slice(REDIS_PATHS.data.length + 1)}"`,
        // AOF is the persistence; no RDB snapshots on top of it.
        'save ""',
        `aclfile ${REDIS_PATHS.aclFile}`,
        `maxmemory ${maxmemory}`,
        `maxmemory-policy ${opts.maxmemoryPolicy}`,
    ];
    if (opts.tls) {
        lines.push(
            "port 0",
            `tls-port ${REDIS_PORT}`,
            `tls-cert-file ${REDIS_PATHS.tls}/tls.crt`,
            `tls-key-file ${REDIS_PATHS.tls}/tls.key`,
            `tls-ca-cert-file ${REDIS_PATHS.tls}/ca.crt`,
            // Clients authenticate with passwords, not client certificates.
            "tls-auth-clients no",
        );
    } else {
        lines.push(`port ${REDIS_PORT}`);
    }
    return lines.join("\n") + "\n";
}

/** The replication user's credentials (masteruser/masterauth), a file of the Secret redis-replication. */
export const REDIS_REPLICATION_PATHS = { dir: "/etc/redis/replication", file: "/etc/redis/replication/replication.conf" };

/**
 * The output buffer a primary may hold for one replica (the write stream during a full sync): together, the
 * N-1 replicas' buffers take at most half the memory headroom above maxmemory (the other half stays for the
 * fork of a full sync or an AOF rewrite). A replica past the limit is disconnected and syncs again.
 */
export function replicaOutputBufferBytes(opts: { memoryLimit: string; maxmemoryPercent: number; replicas: number }): number {
    const headroom = Math.floor((quantityToBytes(opts.memoryLimit) * (100 - opts.maxmemoryPercent)) / 100);
    return Math.floor(headroom / (2 * (opts.replicas - 1)));
}

/**
 * Replicas that must be connected (lagging at most min-replicas-max-lag) for the primary to take a write. The
 * start script raises it above the replicas there are while a returning primary is fenced (redisStartScript).
 */
export const MIN_REPLICAS_TO_WRITE = 1;

/**
 * replication.conf of a replicated Redis (ConfigMap redis-scripts), included on every pod's command line
 * after redis.conf, which stays the standalone file. Which pod is the primary is decided at start (the
 * start script adds `replicaof` on replicas) and changed by Sentinel, never by a rendered file.
 */
export function replicationConfig(opts: { memoryLimit: string; maxmemoryPercent: number; replicas: number; tls: boolean }): string {
    const buffer = replicaOutputBufferBytes(opts);
    const lines = [
        "replica-read-only yes",
        // A primary cut off from every replica stops taking writes after 10 s: that bounds what a partition
        // can lose when Sentinel promotes a replica on the other side.
        `min-replicas-to-write ${MIN_REPLICAS_TO_WRITE}`,
        "min-replicas-max-lag 10",
        `client-output-buffer-limit replica ${buffer} ${Math.floor(buffer / 2)} 60`,
        ...(opts.tls ? ["tls-replication yes"] : []),
    ];
    return lines.join("\n") + "\n";
}

/** replication.conf: how a replica authenticates to the primary (the file lives in a Secret). */
export function redisReplicationAuthFile(password: string): string {
    return `masteruser ${REPLICATION_USER}\nmasterauth ${password}\n`;
}

/** What the ACL Job sends every pod to make its replication use the password of replication.conf live. */
export function redisReplicationAuthCommand(password: string): string {
    return `CONFIG SET masteruser ${REPLICATION_USER} masterauth ${password}\n`;
}

/** The exporter's ACL user. */
export const METRICS_USER = "metrics";
/**
 * Exactly the commands redis_exporter runs with the rendered flags (--config-command=-: no CONFIG, whose
 * output holds every setting): INFO (all sections), PING, CLIENT SETNAME, SLOWLOG LEN/GET, LATENCY
 * LATEST/HISTOGRAM. No key, no channel, nothing that writes.
 */
export const METRICS_COMMANDS = ["info", "ping", "client|setname", "slowlog|len", "slowlog|get", "latency|latest", "latency|histogram"];

/** The ACL user replicas authenticate to the primary as. */
export const REPLICATION_USER = "replication";
/** What a replica sends to its primary (AUTH is always allowed): no key, no channel. */
export const REPLICATION_COMMANDS = ["psync", "replconf", "ping"];
/** The ACL user the Sentinels authenticate to Redis as. */
export const SENTINEL_USER = "sentinel";
/** The commands Sentinel runs on the instances it monitors (Redis docs, "Redis Sentinel": ACL for the Sentinel user). */
export const SENTINEL_COMMANDS = ["multi", "slaveof", "ping", "exec", "subscribe", "config|rewrite", "role", "publish", "info", "client|setname", "client|kill", "script|kill"];
/** The only channel Sentinels use on the instances: their hello messages. */
export const SENTINEL_HELLO_CHANNEL = "__sentinel__:hello";

/** The ACL reconcile Job's own user (aclReconcile.ts): it manages the ACL (users and passwords), sets the
 * replication login and listens for the probes' reports. `acl` makes it as powerful as the admin, which is
 * why it exists only to apply a rotated admin password (and is rotated with the admin's login). */
export const RECONCILE_USER = "reconcile";
export const RECONCILE_COMMANDS = ["ping", "acl", "config|set", "subscribe"];

/** An ACL user with its plain password (hashed into the ACL file; the file lives in a Secret anyway). */
export interface RedisAclUser {
    name: string;
    keyPattern: string;
    password: string;
}

/**
 * One user as users.acl declares it (`user <name> <rules>`): the ACL reconcile Job's `ACL SETUSER` commands
 * are made from the same entries (aclReconcile.ts), so the file and the commands cannot disagree.
 */
export interface RedisAclEntry {
    name: string;
    /** `on #<sha256> ~<pattern> ...`: a password appears only as its SHA-256 hash. */
    rules: string;
}

/** The admin: `default`, every command, key and channel. */
function redisAdminAclEntry(adminPassword: string): RedisAclEntry {
    return { name: "default", rules: `on #${sha256(adminPassword)} ~* &* +@all` };
}

/** An entry as a line of users.acl. */
export function redisAclLine(e: RedisAclEntry): string {
    return `user ${e.name} ${e.rules}`;
}

/** The admin's line of users.acl. */
export function redisAdminAclLine(adminPassword: string): string {
    return redisAclLine(redisAdminAclEntry(adminPassword));
}

/**
 * The users of users.acl, in file order. `default` is the admin (all commands, all keys). Application users
 * get only their key and channel pattern and every command except the @dangerous category (FLUSHALL,
 * FLUSHDB, CONFIG, DEBUG, SHUTDOWN, KEYS, ACL, ...). Passwords are stored as SHA-256 hashes (`#<hex>`).
 */
export function redisAclEntries(
    adminPassword: string,
    users: RedisAclUser[],
    opts: { metricsPassword?: string; replicationPassword?: string; sentinelPassword?: string; reconcilePassword?: string } = {},
): RedisAclEntry[] {
    const entries = [redisAdminAclEntry(adminPassword)];
    for (const u of users) {
        entries.push({ name: u.name, rules: `on #${sha256(u.password)} resetchannels ~${u.keyPattern} &${u.keyPattern} +@all -@dangerous` });
    }
    if (opts.metricsPassword !== undefined) {
        entries.push({ name: METRICS_USER, rules: `on #${sha256(opts.metricsPassword)} resetkeys resetchannels -@all ${METRICS_COMMANDS.map((c) => `+${c}`).join(" ")}` });
    }
    if (opts.replicationPassword !== undefined) {
        entries.push({
            name: REPLICATION_USER,
            rules: `on #${sha256(opts.replicationPassword)} resetkeys resetchannels -@all ${REPLICATION_COMMANDS.map((c) => `+${c}`).join(" ")}`,
        });
    }
    if (opts.sentinelPassword !== undefined) {
        entries.push({
            name: SENTINEL_USER,
            rules: `on #${sha256(opts.sentinelPassword)} resetkeys resetchannels &${SENTINEL_HELLO_CHANNEL} -@all ${SENTINEL_COMMANDS.map((c) => `+${c}`).join(" ")}`,
        });
    }
    if (opts.reconcilePassword !== undefined) {
        entries.push({
            name: RECONCILE_USER,
            rules: `on #${sha256(opts.reconcilePassword)} resetkeys resetchannels &${MOUNTED_SECRETS_CHANNEL} -@all ${RECONCILE_COMMANDS.map((c) => `+${c}`).join(" ")}`,
        });
    }
    return entries;
}

/** users.acl text of the entries. */
export function redisAclText(entries: RedisAclEntry[]): string {
    return entries.map((e) => redisAclLine(e) + "\n").join("");
}

/** users.acl text (redisAclEntries as a file). */
export function redisAclFile(
    adminPassword: string,
    users: RedisAclUser[],
    opts: { metricsPassword?: string; replicationPassword?: string; sentinelPassword?: string; reconcilePassword?: string } = {},
): string {
    return redisAclText(redisAclEntries(adminPassword, users, opts));
}

/** Where the Redis container, the ACL Job and the backup CronJob mount Secret redis-credentials (the admin password). */
export const REDIS_CREDENTIALS_PATHS = { dir: "/etc/redis/credentials", passwordFile: "/etc/redis/credentials/password" };

/**
 * The channel the readiness probe reports on, every run, which version of the pod's mounted password files
 * it sees (`<pod> <fingerprint>`): the ACL Job removes an old operations password only once every pod
 * reports the new files (aclReconcile.ts), so no probe or sidecar of the pod is left with a refused one.
 */
export const MOUNTED_SECRETS_CHANNEL = "msa:mounted-secrets";
/** Where the readiness probe keeps the fingerprint of the files it has acted on (the container's emptyDir). */
export const MOUNTED_SECRETS_STATE = "/tmp/.mounted-secrets";

/**
 * The shell command that prints the fingerprint of the password files `files` (the same text in the probe
 * and in the Job, which mounts the same Secrets at the same paths): the first 16 hex digits of the SHA-256
 * of their contents, in order; a missing file counts as empty.
 */
export function mountedSecretsFingerprint(files: string[]): string {
    return `cat ${files.join(" ")} 2>/dev/null | sha256sum | cut -c1-16`;
}

/**
 * Probe script. The admin password is read from the mounted Secret file at each run (the kubelet refreshes
 * the file after a rotation; an environment variable would keep the old value until the container restarts),
 * into REDISCLI_AUTH for redis-cli only, never a command-line word. redis-cli exits 0 even on NOAUTH, so the
 * reply is checked:
 * - readiness: PONG only. Then it reports the fingerprint of the pod's mounted password files on
 *   MOUNTED_SECRETS_CHANNEL (once the exporter, when there is one, has reloaded its password file), which the
 *   ACL Job waits for before it removes an old password;
 * - liveness and startup: PONG, LOADING (a big AOF being replayed), and an authentication refusal too: the
 *   server answered, and a password being rotated must never restart a pod.
 */
export function redisProbeCommand(kind: "readiness" | "liveness", tls: boolean, report?: { files: string[]; exporterReload?: string }): string[] {
    const cli = tls
        ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt -h localhost -p ${REDIS_PORT}`
        : `redis-cli -h 127.0.0.1 -p ${REDIS_PORT}`;
    const auth = `REDISCLI_AUTH="$(cat ${REDIS_CREDENTIALS_PATHS.passwordFile})"`;
    const ping = `reply="$(${auth} ${cli} ping 2>&1)"`;
    if (kind === "liveness") {
        return ["sh", "-c", `${ping}; case "$reply" in PONG|LOADING*|*NOAUTH*|*WRONGPASS*) exit 0;; esac; echo "$reply"; exit 1`];
    }
    if (!report) {
        return ["sh", "-c", `${ping}; case "$reply" in PONG) exit 0;; esac; echo "$reply"; exit 1`];
    }
    const s = MOUNTED_SECRETS_STATE;
    return [
        "sh",
        "-c",
        [
            `${ping}; case "$reply" in PONG) ;; *) echo "$reply"; exit 1;; esac`,
            `fp="$(${mountedSecretsFingerprint(report.files)})"`,
            // New files: the exporter reads its password file again before the pod reports them.
            `if [ "$fp" != "$(cat ${s} 2>/dev/null)" ]; then ${report.exporterReload ? `${report.exporterReload} && ` : ""}echo "$fp" > ${s}; fi`,
            `${auth} ${cli} PUBLISH ${MOUNTED_SECRETS_CHANNEL} "$(hostname) $(cat ${s} 2>/dev/null)" > /dev/null 2>&1`,
            "exit 0",
        ].join("; "),
    ];
}

/**
 * The certificate reloader's command: CONFIG SET of the tls-* files makes Redis build a new TLS context from
 * them (they are volatile settings: re-applied even when the path is unchanged). `--insecure` because the
 * server still presents the old certificate, which a rotated CA no longer signs; the admin password still
 * guards the call (read from the mounted Secret at each call, so a rotated one is used), and it never leaves the pod.
 */
export function redisTlsReloadCommand(): string {
    const { tls } = REDIS_PATHS;
    return (
        `REDISCLI_AUTH="$(cat ${REDIS_CREDENTIALS_PATHS.passwordFile})" redis-cli --tls --insecure -h localhost -p ${REDIS_PORT} CONFIG SET tls-cert-file ${tls}/tls.crt tls-key-file ${tls}/tls.key tls-ca-cert-file ${tls}/ca.crt` +
        " | grep -qx OK"
    );
}
