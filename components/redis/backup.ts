// Redis's operations text: the RDB backup script the CronJob runs, the exporter's password file, and where
// they are mounted. Pure text builders; scripts/restore-redis.sh restores what the script writes.
//
// The snapshot is taken over the network with the admin credentials (redis-cli --rdb: the server forks and
// streams an RDB file as it does to a replica), so the CronJob pod needs neither the ReadWriteOnce data
// volume nor a shell in the Redis pod. The fork costs copy-on-write memory like an AOF rewrite: the
// maxmemory headroom (docs/testing.md, "Redis memory headroom") covers both, and the schedule keeps them apart from
// busy hours.

import { stagingFullFunction } from "../backup/staging";
import { serviceHost } from "../dnsNames";
import { REDIS_CREDENTIALS_PATHS, REDIS_PATHS, REDIS_PORT } from "./files";

export const REDIS_BACKUP_PATHS = {
    backup: "/backup",
    /** The admin password, mounted from Secret redis-credentials (where the Redis container mounts it too). */
    credentialsDir: REDIS_CREDENTIALS_PATHS.dir,
    passwordFile: REDIS_CREDENTIALS_PATHS.passwordFile,
    /** The exporter's password file. */
    exporterDir: "/etc/redis-exporter",
    exporterFile: "/etc/redis-exporter/password.json",
    tmp: "/tmp",
};

export const RDB_BACKUP_PREFIX = "redis-";

/**
 * The backup script (POSIX sh for the Alpine image's busybox):
 *  1. reads the admin password from the mounted Secret file into REDISCLI_AUTH for this process only (the
 *     pod spec has no credential, and none is on a command line);
 *  2. redis-cli --rdb into a hidden partial file; redis-check-rdb must accept it whole;
 *  3. a sha256 file, then the rename (a listed snapshot is always complete), LATEST names it;
 *  4. deletes snapshots older than `retentionDays`, never the newest.
 */
export function redisBackupScript(opts: { namespace: string; retentionDays: number; tls: boolean }): string {
    const { backup, passwordFile } = REDIS_BACKUP_PATHS;
    const cli = opts.tls
        ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt -h ${serviceHost("redis", opts.namespace)} -p ${REDIS_PORT}`
        : `redis-cli -h ${serviceHost("redis", opts.namespace)} -p ${REDIS_PORT}`;
    return [
        "set -eu",
        "umask 077",
        `dir=${backup}`,
        'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
        `name="${RDB_BACKUP_PREFIX}$stamp.rdb"`,
        'partial="$dir/.partial-$name"',
        stagingFullFunction({ log: "redis-backup", sizeKey: "redis.backup.storageSize", retentionKey: "redis.backup.retentionDays" }),
        "trap '[ $? = 0 ] || staging_full \"$dir\"; rm -f \"$partial\"' EXIT",
        `REDISCLI_AUTH="$(cat ${passwordFile})"`,
        "export REDISCLI_AUTH",
        `${cli} --rdb "$partial" >&2`,
        'redis-check-rdb "$partial" >&2',
        '(cd "$dir" && sha256sum ".partial-$name" | sed "s/\\.partial-//" > "$name.sha256")',
        'mv "$partial" "$dir/$name"',
        'echo "$name" > "$dir/LATEST"',
        'echo "redis-backup: $name ($(wc -c < "$dir/$name") bytes)"',
        `find "$dir" -maxdepth 1 -name '${RDB_BACKUP_PREFIX}*.rdb' -mtime +${opts.retentionDays - 1} ! -name "$name" | while read -r old; do rm -f "$old" "$old.sha256"; echo "redis-backup: removed $old"; done`,
        "",
    ].join("\n");
}

/** redis_exporter's --redis.password-file: JSON of URI (with the user) → password. */
export function exporterPasswordFile(opts: { user: string; password: string; tls: boolean }): string {
    return JSON.stringify({ [`${opts.tls ? "rediss" : "redis"}://${opts.user}@localhost:${REDIS_PORT}`]: opts.password }) + "\n";
}
