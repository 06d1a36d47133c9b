// MariaDB's operations text: the client option files of the backup and exporter accounts, the full-backup
// script and the binary-log archiver that the CronJobs run, and where they are mounted. Pure text builders;
// scripts/restore-mariadb.sh restores what these write (and the real-server tests run both).
//
// Why mariadb-dump --single-transaction and not mariadb-backup: the data volume is ReadWriteOnce and belongs
// to the server's pod, so a CronJob pod cannot read the datadir (mariadb-backup copies files) unless it is
// forced onto the same node, and a file copy restores only into the same server version. A logical dump runs
// over the network with a read-only account, takes one consistent InnoDB snapshot without blocking writers,
// records the binary-log position of that snapshot (--master-data=2) for point-in-time replay, and restores
// into any 10.11 server. Its cost is restore time on large data sets (SQL is replayed), acceptable at the
// sizes this stack provisions (10-50Gi).
//
// Binary logs are archived by a CronJob too, not a sidecar: it connects like a replica (mariadb-binlog
// --read-from-remote-server --raw), so it needs neither the data volume nor a second claim in the server's
// pod, and its claim is its own (two CronJobs on one ReadWriteOnce claim could be scheduled on two nodes).
// Each run closes the current log (FLUSH BINARY LOGS, only when something was written since the last run)
// and copies every closed log it does not have yet: what can be lost is at most one schedule interval.

import { stagingFullFunction } from "../backup/staging";
import { serviceHost } from "../dnsNames";
import { BINLOG_PREFIX, MARIADB_PATHS, MARIADB_PORT } from "./files";

export const MARIADB_BACKUP_PATHS = {
    /** The backup claim in the full-backup CronJob. */
    backup: "/backup",
    /** Full dumps on the backup claim. */
    full: "/backup/full",
    /** The binary-log archive claim in the archiver CronJob. */
    binlogs: "/binlogs",
    /** The backup account's client option file (a Secret). */
    clientDir: "/etc/mysql/backup",
    clientFile: "/etc/mysql/backup/client.cnf",
    /** The exporter's option file (a Secret). */
    exporterDir: "/etc/mysqld-exporter",
    exporterFile: "/etc/mysqld-exporter/my.cnf",
    tmp: "/tmp",
};

/** The events every new binary log starts with (no change in them). */
export const BINLOG_HEADER_EVENTS = ["Format_desc", "Gtid_list", "Binlog_checkpoint", "Start_encryption"];

/** Full-dump files: `mariadb-full-<UTC stamp>.sql.gz` with a `.sha256` beside it. */
export const FULL_BACKUP_PREFIX = "mariadb-full-";
/** The line mariadb-dump writes last: a dump without it is incomplete. */
export const DUMP_COMPLETED = "-- Dump completed";

/** A value for a client option file (the backup's, the exporter's, the reconcile Job's): no escapes needed. */
export function optionValue(value: string): string {
    // Generated passwords are [A-Za-z0-9]; anything else would need the option-file escapes.
    if (!/^[A-Za-z0-9._-]+$/.test(value)) {
        throw new Error("option-file values must be alphanumeric (generated passwords are)");
    }
    return value;
}

/**
 * The backup account's option file ([client] group: read by mariadb, mariadb-dump and mariadb-binlog alike),
 * so the password is never on a command line or in the environment. With TLS the server certificate is
 * verified against the stack's CA and the service host name.
 */
export function backupClientConfig(opts: { namespace: string; password: string; tls: boolean }): string {
    const lines = [
        "[client]",
        "user = backup",
        `password = ${optionValue(opts.password)}`,
        `host = ${serviceHost("mariadb", opts.namespace)}`,
        `port = ${MARIADB_PORT}`,
        "protocol = tcp",
    ];
    if (opts.tls) {
        lines.push(`ssl-ca = ${MARIADB_PATHS.tls}/ca.crt`, "ssl-verify-server-cert");
    }
    return lines.join("\n") + "\n";
}

/**
 * mysqld_exporter's option file (--config.my-cnf; it reads the [client] group): the exporter account over
 * the pod's socket, which require_secure_transport does not cover, so the sidecar needs no certificate.
 */
export function exporterClientConfig(password: string): string {
    return ["[client]", "user = exporter", `password = ${optionValue(password)}`, `socket = ${MARIADB_PATHS.socket}`, ""].join("\n");
}

/**
 * The full-backup script (bash, in the mariadb image). Steps:
 *  1. lists the databases the backup account may read: the declared application databases (not mysql:
 *     accounts are declared by the stack and re-applied by init.sql at every start, and the account has no
 *     access to the password hashes);
 *  2. mariadb-dump --single-transaction (one consistent snapshot, no lock on InnoDB writers), routines,
 *     events and triggers, DROP/CREATE DATABASE so a restore replaces each database whole; with `pointInTime`
 *     the snapshot's binary-log position as a comment (--master-data=2);
 *  3. gzip into a hidden partial file; checks the gzip stream and the dump's final "Dump completed" line;
 *     writes a sha256 file; renames into place (a listed dump is always complete);
 *  4. deletes dumps older than `retentionDays`, never the newest.
 * Exits non-zero on any failure, so the Job fails and its alert fires.
 */
export function mariadbBackupScript(opts: { retentionDays: number; pointInTime: boolean }): string {
    const { full, clientFile } = MARIADB_BACKUP_PATHS;
    return [
        "set -euo pipefail",
        "umask 077",
        "export TZ=UTC LC_ALL=C",
        `cnf=${clientFile}`,
        `dir=${full}`,
        'mkdir -p "$dir"',
        'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
        `name="${FULL_BACKUP_PREFIX}$stamp.sql.gz"`,
        'partial="$dir/.partial-$name"',
        stagingFullFunction({ log: "mariadb-backup", sizeKey: "mariadb.backup.storageSize", retentionKey: "mariadb.backup.retentionDays" }),
        "trap '[ $? = 0 ] || staging_full \"$dir\"; rm -f \"$partial\"' EXIT",
        'databases="$(mariadb --defaults-extra-file="$cnf" --batch --skip-column-names --execute="SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN (\'mysql\', \'information_schema\', \'performance_schema\', \'sys\') ORDER BY schema_name")"',
        'if [ -z "$databases" ]; then echo "mariadb-backup: no application database to back up" >&2; exit 1; fi',
        "# shellcheck disable=SC2086 # one word per database name (identifiers: no spaces)",
        'mariadb-dump --defaults-extra-file="$cnf" --single-transaction --quick --routines --events --triggers --hex-blob --no-tablespaces \\',
        `    --add-drop-database ${opts.pointInTime ? "--master-data=2 " : ""}--databases $databases | gzip -6 > "$partial"`,
        'gzip -t "$partial"',
        `if ! gzip -dc "$partial" | tail -n 1 | grep -q '^${DUMP_COMPLETED}'; then echo "mariadb-backup: the dump is incomplete" >&2; exit 1; fi`,
        '(cd "$dir" && sha256sum ".partial-$name" | sed "s/\\.partial-//" > "$name.sha256")',
        'mv "$partial" "$dir/$name"',
        'echo "$name" > "$dir/LATEST"',
        `echo "mariadb-backup: $name ($(stat -c %s "$dir/$name") bytes): $(echo $databases | tr '\\n' ' ')"`,
        `# Retention: older than ${opts.retentionDays} days, except the newest dump.`,
        `find "$dir" -maxdepth 1 -name '${FULL_BACKUP_PREFIX}*.sql.gz' -mtime +${opts.retentionDays - 1} ! -name "$name" -print | while read -r old; do rm -f "$old" "$old.sha256"; echo "mariadb-backup: removed $old"; done`,
        "",
    ].join("\n");
}

/**
 * The archive's directory of one server's binary logs: `server-<server_id>`. Each server numbers its logs
 * from mariadb-bin.000001, so after a promotion the new primary's names are the old one's: each server keeps
 * its own directory, and scripts/restore-mariadb.sh follows the promotion from one to the next by GTID.
 */
export const BINLOG_SERVER_DIR_PREFIX = "server-";

/**
 * The binary-log archiver (bash, in the mariadb image), every few minutes, into the directory of the server
 * the client Service reaches (BINLOG_SERVER_DIR_PREFIX + its server_id):
 *  1. when the current log holds any change (an event other than the header events every new log starts
 *     with), FLUSH BINARY LOGS closes it, so every log but the new empty one is complete; an idle server
 *     gets no empty logs;
 *  2. an archived log is never replaced: one the server lists at another size belongs to an earlier life
 *     of that server_id (a pod whose volume was rebuilt numbers its logs from 000001 again), so that
 *     directory is moved aside whole (`server-<id>.until-<UTC stamp>`) and the server's logs start a new one;
 *  3. each closed log listed by SHOW BINARY LOGS that the directory lacks is read over the network as it is
 *     on the server (mariadb-binlog --read-from-remote-server --raw) into a hidden partial file, checked (its
 *     size is the server's, mariadb-binlog reads it whole, whatever the order of its GTIDs: a point-in-time
 *     restore into the primary logs old GTIDs again) and renamed;
 *  4. logs older than the full-backup retention plus a day are deleted, in every directory (a restore replays
 *     from the oldest kept dump's position on), and emptied directories of other servers with them.
 * Logs archived before the per-server directories stay at the top level until they age out; the restore
 * reads them as one more server's.
 */
export function binlogArchiveScript(opts: { retentionDays: number }): string {
    const { binlogs, clientFile } = MARIADB_BACKUP_PATHS;
    const logs = `'${BINLOG_PREFIX}[0-9]*'`;
    return [
        "set -euo pipefail",
        "umask 077",
        "export TZ=UTC LC_ALL=C",
        `cnf=${clientFile}`,
        `root=${binlogs}`,
        stagingFullFunction({ log: "binlog-archive", sizeKey: "mariadb.backup.binlogStorageSize", retentionKey: "mariadb.backup.retentionDays" }),
        "trap '[ $? = 0 ] || staging_full \"$root\"' EXIT",
        'q() { mariadb --defaults-extra-file="$cnf" --batch --skip-column-names --execute="$1"; }',
        'id="$(q "SELECT @@server_id")"',
        'case "$id" in ""|*[!0-9]*) echo "binlog-archive: unexpected server_id \'$id\'" >&2; exit 1 ;; esac',
        `dir="$root/${BINLOG_SERVER_DIR_PREFIX}$id"`,
        'mkdir -p "$dir"',
        'cd "$dir"',
        'active="$(q "SHOW MASTER STATUS" | cut -f1)"',
        'if [ -z "$active" ]; then echo "binlog-archive: the server has no binary log (log-bin is off)" >&2; exit 1; fi',
        // A fresh log holds only its header events; anything else is a change that must be archived now.
        `if q "SHOW BINLOG EVENTS IN '$active' LIMIT 16" | cut -f3 | grep -qvE '^(${BINLOG_HEADER_EVENTS.join("|")})$'; then q "FLUSH BINARY LOGS"; fi`,
        'mapfile -t logs < <(q "SHOW BINARY LOGS" | cut -f1,2)',
        // The last listed log is the one the server writes now: never archived until closed.
        'closed=("${logs[@]:0:${#logs[@]}-1}")',
        'for entry in "${closed[@]}"; do',
        '    name="${entry%%$\'\\t\'*}"',
        '    size="${entry##*$\'\\t\'}"',
        `    case "$name" in ${BINLOG_PREFIX}[0-9]*) ;; *) echo "binlog-archive: unexpected log name $name" >&2; exit 1 ;; esac`,
        '    if [ -f "$name" ] && [ "$(stat -c %s "$name")" != "$size" ]; then',
        '        aside="$dir.until-$(date -u +%Y%m%dT%H%M%SZ)"',
        '        mv "$dir" "$aside"',
        '        mkdir "$dir"',
        '        cd "$dir"',
        '        echo "binlog-archive: $name of server_id $id is $size bytes on the server, $(stat -c %s "$aside/$name") in the archive: a new life of that server_id; its earlier logs moved to $aside"',
        "        break",
        "    fi",
        "done",
        "archived=0",
        'for entry in "${closed[@]}"; do',
        '    name="${entry%%$\'\\t\'*}"',
        '    size="${entry##*$\'\\t\'}"',
        '    if [ -f "$name" ]; then continue; fi',
        '    rm -f ".partial-$name"',
        '    mariadb-binlog --defaults-extra-file="$cnf" --read-from-remote-server --raw --result-file=.partial- "$name"',
        '    got="$(stat -c %s ".partial-$name")"',
        '    if [ "$got" != "$size" ]; then echo "binlog-archive: $name: got $got bytes, the server has $size" >&2; exit 1; fi',
        // Readable whole; not strict about GTID order: a point-in-time restore into the primary logs old GTIDs again.
        '    mariadb-binlog --skip-gtid-strict-mode ".partial-$name" > /dev/null',
        '    mv ".partial-$name" "$name"',
        "    archived=$((archived + 1))",
        "done",
        `find "$root" -mindepth 1 -maxdepth 2 -type f -name ${logs} -mtime +${opts.retentionDays} -print -delete`,
        `find "$root" -mindepth 1 -maxdepth 1 -type d -name '${BINLOG_SERVER_DIR_PREFIX}*' ! -path "$dir" -empty -print -delete`,
        `echo "binlog-archive: server_id $id: archived $archived closed log(s); $(find . -maxdepth 1 -type f -name ${logs} | wc -l) in ${BINLOG_SERVER_DIR_PREFIX}$id"`,
        "",
    ].join("\n");
}
