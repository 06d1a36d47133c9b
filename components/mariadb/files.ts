// What MariaDB reads: server options (my.cnf), the init SQL that reconciles operations accounts at every start, the
// paths they are mounted at, and the probe commands. Pure text builders.

import { percentOfMiB } from "../config/units";
import { podHost } from "../dnsNames";

/** The app name: it names the StatefulSet, its Services and its pods. */
export const MARIADB_APP = "mariadb";

export const MARIADB_PORT = 3306;

/** Where the pieces are mounted in the container. */
export const MARIADB_PATHS = {
    /** The data volume's mount point (the image's datadir, so `docker-entrypoint.sh` finds its volume). */
    data: "/var/lib/mysql",
    /**
     * The data directory: a directory on the volume, not its root, which on ext4 holds lost+found (a
     * `#mysql50#lost+found` database in every listing, and root-owned 0700 where fsGroup is not applied).
     * The '-' keeps it from ever being a database directory (MariaDB encodes '-' in those).
     */
    datadir: "/var/lib/mysql/mariadb-data",
    /** Temporary tables and filesort files go to the volume too, not to a size-limited emptyDir. */
    tmpdir: "/var/lib/mysql/mariadb-tmp",
    socketDir: "/run/mysqld",
    socket: "/run/mysqld/mysqld.sock",
    tmp: "/tmp",
    config: "/etc/mysql/conf.d",
    init: "/etc/mysql/init",
    initFile: "/etc/mysql/init/init.sql",
    credentials: "/etc/mysql/credentials",
    rootPasswordFile: "/etc/mysql/credentials/root-password",
    tls: "/etc/mysql/tls",
    /** Replicated stacks: the init SQL of replicas, beside init.sql (primary and standalone) in the same Secret. */
    replicaInitFile: "/etc/mysql/init/init-replica.sql",
    /** Replicated stacks: the start, clone and readiness scripts (ConfigMap mariadb-replication). */
    replicationScripts: "/opt/mariadb",
    startScript: "/opt/mariadb/start.sh",
    cloneScript: "/opt/mariadb/clone.sh",
    /** The readiness script of replicated pods (mariadbReadinessScript), beside them. */
    readinessScript: "/opt/mariadb/ready.sh",
    /** A new replica's datadir while the clone fills it; renamed to the datadir when complete. */
    cloning: "/var/lib/mysql/mariadb-data.cloning",
};

/** The replication account: it may read the binary logs (REPLICATION SLAVE) and nothing else, no table. */
export const REPLICATION_USER = "replication";
/**
 * How long a commit on the primary waits for a replica's acknowledgement under semi-sync before the primary
 * falls back to asynchronous replication: long enough to ride out a replica's restart-free hiccup (a GC-free
 * server acknowledges in milliseconds), short enough that a lost replica stalls writers for 10 s only once.
 */
export const SEMI_SYNC_TIMEOUT_MS = 10_000;

/** Stable DNS name of one pod of the StatefulSet (through the headless Service). */
export function mariadbPodHost(ordinal: number, namespace: string): string {
    return podHost(MARIADB_APP, namespace, ordinal);
}

/**
 * Probe commands; healthcheck.sh ships in the image and logs in with the healthcheck user the entrypoint
 * created. It looks for that user's option file in /var/lib/mysql unless told where the datadir is.
 */
const HEALTHCHECK_CNF = `--defaults-extra-file=${MARIADB_PATHS.datadir}/.my-healthcheck.cnf`;
export const MARIADB_PROBES = {
    startup: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect", "--innodb_initialized"],
    readiness: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect", "--innodb_initialized"],
    // Never replication: a replica whose replication broke must stay up (and not Ready) for an operator to repair.
    liveness: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect"],
};

/**
 * A replica further behind its primary than this (Seconds_Behind_Master) is not Ready: a rolling update
 * waits for it to catch up before it takes the next pod, and the PDB counts it as unavailable. A minute is
 * well above what a replica shows under load or right after its own restart (seconds; the replication
 * spec measures it) and below what a reader would still call current.
 */
export const REPLICA_MAX_LAG_SECONDS = 60;

/**
 * Readiness of replicated stacks: one command for every pod (one pod template), so the script tells the roles
 * apart by the server's own state (mariadbReadinessScript).
 */
export const MARIADB_REPLICATED_READINESS = ["bash", MARIADB_PATHS.readinessScript];

/**
 * The readiness script of replicated stacks (ready.sh in ConfigMap mariadb-replication). A writable server
 * (the primary, or a replica that scripts/promote-mariadb.sh promoted before the `pulumi up` that records
 * it) is Ready as a standalone server is: it has no replication to check. A read-only server (a replica)
 * is Ready only while it replicates: its replication connection exists (a replica whose init SQL never
 * pointed it at the primary has none), neither thread is stopped (`No`: stopped by hand, or by an error such
 * as 1236 from the primary or a failed event), and it is at most REPLICA_MAX_LAG_SECONDS behind when the lag
 * is known. An IO thread that is `Connecting` stays Ready: the primary is restarting, or the replication
 * password was rotated and the roll (highest ordinal first) restarted this replica before the primary that
 * accepts the new password; not Ready there would stop that roll for good. Then healthcheck.sh's own
 * tests, as the standalone readiness.
 * SHOW REPLICA STATUS needs SLAVE MONITOR, which the init SQL grants the healthcheck accounts at every start,
 * before the server accepts a connection (mariadbInitSql): a pod on a volume made before this check existed
 * has it before its first probe runs. A failing run prints why (the kubelet shows it in the pod's events).
 */
export function mariadbReadinessScript(): string {
    const cnf = HEALTHCHECK_CNF.slice("--defaults-extra-file=".length);
    return [
        "#!/bin/bash",
        "set -uo pipefail",
        // The healthcheck account over the socket, as healthcheck.sh logs in.
        `sql() { mariadb --defaults-extra-file=${cnf} --protocol=socket --batch --skip-print-query-on-error "$@" 2>&1; }`,
        "if ! ro=\"$(sql --skip-column-names --execute='SELECT @@read_only')\"; then",
        '    echo "not ready: the server does not answer: $ro"',
        "    exit 1",
        "fi",
        'if [ "$ro" = 1 ]; then',
        "    if ! status=\"$(sql --execute='SHOW REPLICA STATUS\\G')\"; then",
        '        echo "not ready: SHOW REPLICA STATUS failed: $status (the init SQL grants the healthcheck accounts SLAVE MONITOR at every start: look for a failed statement in the server log)"',
        "        exit 1",
        "    fi",
        "    declare -A s=()",
        '    while IFS=: read -r name value; do name="${name//[[:space:]]/}"; [ -n "$name" ] && s[$name]="${value# }"; done <<< "$status"',
        '    if [ -z "${s[Slave_IO_Running]:-}" ]; then',
        '        echo "not ready: read-only but no replication configured (the replica init SQL did not point it at the primary: see the server log)"',
        "        exit 1",
        "    fi",
        '    if [ "${s[Slave_IO_Running]}" = No ] || [ "${s[Slave_SQL_Running]:-No}" = No ]; then',
        '        echo "not ready: replication stopped: IO ${s[Slave_IO_Running]}, SQL ${s[Slave_SQL_Running]:-?}; last IO error ${s[Last_IO_Errno]:-?}: ${s[Last_IO_Error]:-}; last SQL error ${s[Last_SQL_Errno]:-?}: ${s[Last_SQL_Error]:-}"',
        "        exit 1",
        "    fi",
        '    lag="${s[Seconds_Behind_Master]:-NULL}"',
        `    if [[ "$lag" =~ ^[0-9]+$ ]] && [ "$lag" -gt ${REPLICA_MAX_LAG_SECONDS} ]; then`,
        `        echo "not ready: \${lag} s behind the primary (more than ${REPLICA_MAX_LAG_SECONDS})"`,
        "        exit 1",
        "    fi",
        "fi",
        `exec ${MARIADB_PROBES.readiness.join(" ")}`,
        "",
    ].join("\n");
}

/** Share of the memory limit given to the InnoDB buffer pool. */
export const BUFFER_POOL_PERCENT = 40;

/** Basename of the binary logs in the datadir (`mariadb-bin.000001`, ...), from log_basename. */
export const BINLOG_BASENAME = "mariadb";
export const BINLOG_PREFIX = `${BINLOG_BASENAME}-bin.`;
/**
 * How long the server keeps its own binary logs: the archiver copies them every few minutes, so the server
 * needs them only until then; three days ride out a broken archiver over a weekend (its alert fires within
 * the hour) without filling the data volume with a week of logs.
 */
export const BINLOG_SERVER_RETENTION_SECONDS = 3 * 24 * 3600;

/**
 * Server options (my.cnf text). The InnoDB buffer pool takes 40% of the memory limit. With `binlog`
 * (point-in-time recovery): binary logging in ROW format (every row change, independent of the statement
 * that made it, so a replay is exact), fsynced at each commit (sync_binlog 1: a committed transaction is in
 * the log that the archive copies), kept three days on the server.
 */
export function mariadbServerConfig(opts: { memoryLimit: string; tls: boolean; binlog?: boolean; replication?: { semiSync: boolean } }): string {
    const bufferPoolMiB = Math.max(128, percentOfMiB(opts.memoryLimit, BUFFER_POOL_PERCENT));
    const lines = [
        "[mariadbd]",
        "character-set-server = utf8mb4",
        "collation-server = utf8mb4_unicode_ci",
        "skip-name-resolve",
        "max_connections = 200",
        `innodb_buffer_pool_size = ${bufferPoolMiB}M`,
        `datadir = ${MARIADB_PATHS.datadir}`,
        `tmpdir = ${MARIADB_PATHS.tmpdir}`,
        // Reconciles the operations accounts at every start (idempotent SQL from a Secret).
        `init_file = ${MARIADB_PATHS.initFile}`,
    ];
    if (opts.binlog || opts.replication) {
        lines.push(
            // A bare log-bin names the files after log_basename, in the datadir: mariadb-bin.000001, ...
            "log-bin",
            `log_basename = ${BINLOG_BASENAME}`,
            // Replicated, each pod's server_id is its ordinal + 1, given by the start script.
            ...(opts.replication ? [] : ["server_id = 1"]),
            "binlog_format = ROW",
            "sync_binlog = 1",
            `binlog_expire_logs_seconds = ${BINLOG_SERVER_RETENTION_SECONDS}`,
        );
    }
    if (opts.replication) {
        lines.push(
            // Replicas log what they apply, so any of them can be promoted and serve the others.
            "log_slave_updates = ON",
            // Replication starts from the init SQL, after CHANGE MASTER names the current primary.
            "skip_slave_start = ON",
            "slave_net_timeout = 30",
            // Every pod can be a replica; the primary side is switched on by the primary's init SQL only.
            `rpl_semi_sync_slave_enabled = ${opts.replication.semiSync ? "ON" : "OFF"}`,
            // AFTER_SYNC: no other session sees a transaction before a replica has it (lossless failover).
            "rpl_semi_sync_master_wait_point = AFTER_SYNC",
            `rpl_semi_sync_master_timeout = ${SEMI_SYNC_TIMEOUT_MS}`,
        );
    }
    if (opts.tls) {
        lines.push(
            `ssl_cert = ${MARIADB_PATHS.tls}/tls.crt`,
            `ssl_key = ${MARIADB_PATHS.tls}/tls.key`,
            `ssl_ca = ${MARIADB_PATHS.tls}/ca.crt`,
            // TCP clients must use TLS; the local socket (probes) stays usable.
            "require_secure_transport = ON",
        );
    }
    return lines.join("\n") + "\n";
}

/** Accounts of the operations layer; each can do only what its tool needs. */
export const MARIADB_OPERATIONS_USERS = {
    /**
     * mariadb-dump --single-transaction of the declared application databases (SELECT, SHOW VIEW, TRIGGER,
     * EVENT on each of them only: no access to the mysql schema and its password hashes), the binary-log
     * position of the snapshot (BINLOG MONITOR), and for point-in-time archiving: closing the current binary
     * log (RELOAD: FLUSH BINARY LOGS) and reading the logs over the network (REPLICATION SLAVE). No write
     * privilege on any data.
     */
    backup: {
        user: "backup",
        host: "%",
        privileges: ["BINLOG MONITOR", "RELOAD", "REPLICATION SLAVE"],
        databasePrivileges: ["SELECT", "SHOW VIEW", "TRIGGER", "EVENT"],
    },
    /**
     * mysqld_exporter's default collectors: SHOW GLOBAL STATUS and SHOW GLOBAL VARIABLES (no privilege),
     * SHOW ALL SLAVES STATUS (SLAVE MONITOR), information_schema.INNODB_CMP/INNODB_CMPMEM (PROCESS). No SELECT:
     * it reads no table. Over the pod's socket only (localhost), at most 3 connections.
     */
    exporter: { user: "exporter", host: "localhost", privileges: ["PROCESS", "SLAVE MONITOR"], maxConnections: 3 },
} as const;

/** A single-quoted SQL string literal (backslash escapes: the server's default sql_mode). */
export function sqlString(value: string): string {
    return "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

/**
 * What stands for each password in the redacted init SQL (init.shown, init-replica.shown): the pods' checksum
 * covers that text, so a rotated password rolls no pod while any other change to the init SQL does.
 */
export const INIT_PASSWORD_REDACTED = "<password>";

/**
 * The init SQL run by the server at every start (init_file): only what a start needs before anything else
 * can connect, reconciled idempotently. The application databases, their users and root's password are
 * not here: the reconcile Job applies them to the running primary (reconcile.ts), so declaring or rotating
 * them rolls no pod. (Root's password is set by the image when it initialises an empty volume.)
 * With `reloader`, the pod's certificate reloader gets a socket-only account that may only FLUSH SSL
 * (unix_socket: the pod's user, uid 999, is `mysql` in the image).
 * With `backup` / `exporter` (their passwords), the operations accounts of MARIADB_OPERATIONS_USERS are
 * reconciled the same way, global privileges reset to exactly their list (the backup account's read grants
 * on the application databases are the reconcile Job's, at the database level, and kept). A rotation of
 * these passwords (and of the replication account's) is applied to the running servers by the reconcile
 * Job; this file is updated in place (no roll) so that a pod starting later sets the current one.
 * With `replication`, the replication account, and SLAVE MONITOR for the image's healthcheck accounts (the
 * readiness of replicas reads the replication status, mariadbReadinessScript).
 * With `binlog`, none of it goes to the binary log (sql_log_bin 0): these accounts are declared by the stack
 * and re-applied at every start on every pod, so a point-in-time replay of the logs must not bring back an
 * old password.
 * One statement per line and no comments: init_file is read statement by statement.
 */
export function mariadbInitSql(opts: { reloader: boolean; backup?: string; exporter?: string; binlog?: boolean; replication?: string } = { reloader: false }): string {
    const lines = [
        ...(opts.binlog ? ["SET SESSION sql_log_bin = 0;"] : []),
        ...(opts.replication !== undefined
            ? [
                  // The replicas' readiness reads SHOW REPLICA STATUS as the probes' healthcheck accounts (the image's,
                  // with USAGE only). Granted at every start to those that exist (none yet in the image's first-start
                  // server), so a volume made before that check has it before its first probe; first, so that no
                  // failing account statement can skip it.
                  `SET @msa_healthcheck = (SELECT CONCAT('GRANT SLAVE MONITOR ON *.* TO ', GROUP_CONCAT(CONCAT('healthcheck@', QUOTE(host)))) FROM mysql.user WHERE user = 'healthcheck' AND host IN ('127.0.0.1', '::1', 'localhost'));`,
                  "EXECUTE IMMEDIATE IFNULL(@msa_healthcheck, 'DO 0');",
                  "SET @msa_healthcheck = NULL;",
              ]
            : []),
    ];
    if (opts.reloader) {
        lines.push(`CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket;`, `GRANT RELOAD ON *.* TO 'mysql'@'localhost';`);
    }
    for (const [kind, password] of [
        ["backup", opts.backup],
        ["exporter", opts.exporter],
    ] as const) {
        if (password === undefined) continue;
        const u = MARIADB_OPERATIONS_USERS[kind];
        const account = `${sqlString(u.user)}@${sqlString(u.host)}`;
        const limit = "maxConnections" in u ? ` WITH MAX_USER_CONNECTIONS ${u.maxConnections}` : "";
        lines.push(
            `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${sqlString(password)}${limit};`,
            `ALTER USER ${account} IDENTIFIED BY ${sqlString(password)}${limit};`,
            // The backup's: ON *.*, the global privileges only (its database-level grants are the Job's, and stay).
            "databasePrivileges" in u ? `REVOKE ALL PRIVILEGES ON *.* FROM ${account};` : `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account};`,
            `GRANT ${u.privileges.join(", ")} ON *.* TO ${account};`,
        );
    }
    if (opts.replication !== undefined) {
        // On every pod: any of them may become the primary its peers replicate from.
        const account = `${sqlString(REPLICATION_USER)}@'%'`;
        lines.push(
            `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${sqlString(opts.replication)};`,
            `ALTER USER ${account} IDENTIFIED BY ${sqlString(opts.replication)};`,
            `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account};`,
            `GRANT REPLICATION SLAVE ON *.* TO ${account};`,
        );
    }
    return lines.join("\n") + "\n";
}

/** What a pod is in a replicated stack: the primary, or a replica of the pod with ordinal `of`. */
export type MariaDbRole = { primary: true; semiSync: boolean } | { primary: false; of: number; namespace: string; password: string; tls: boolean };

/**
 * The role statements appended to the init SQL (replicated stacks only), run at every start:
 * - primary: no replication of its own (a promoted replica forgets its old primary), writable, and the
 *   semi-sync wait switched on when the stack asks for it;
 * - replica: read-only (application users cannot write; root and replication can), no semi-sync wait of its
 *   own, and replication (re)pointed at the current primary with the replication account.
 *   MASTER_USE_GTID=current_pos: a fresh clone's position is its gtid_slave_pos, and an old primary that
 *   returns as a replica continues from its own binary log (slave_pos would replay the new primary's whole
 *   history into it). gtid_strict_mode stops it if it holds transactions the new primary never received.
 * The primary is not strict, replicas are: see the statements.
 */
export function mariadbRoleSql(role: MariaDbRole): string[] {
    if (role.primary) {
        return [
            "STOP SLAVE;",
            "RESET SLAVE ALL;",
            "SET GLOBAL read_only = OFF;",
            // Not strict: a point-in-time restore (scripts/restore-mariadb.sh) replays old GTIDs into the primary.
            "SET GLOBAL gtid_strict_mode = OFF;",
            `SET GLOBAL rpl_semi_sync_master_enabled = ${role.semiSync ? "ON" : "OFF"};`,
        ];
    }
    const ssl = role.tls ? `, MASTER_SSL = 1, MASTER_SSL_CA = ${sqlString(`${MARIADB_PATHS.tls}/ca.crt`)}, MASTER_SSL_VERIFY_SERVER_CERT = 1` : "";
    return [
        "SET GLOBAL read_only = ON;",
        // A replica refuses an event whose GTID is out of order instead of applying it: diverged histories (an
        // old primary's unacknowledged commits, a restore's replay) stop replication with an error.
        "SET GLOBAL gtid_strict_mode = ON;",
        "SET GLOBAL rpl_semi_sync_master_enabled = OFF;",
        "STOP SLAVE;",
        `CHANGE MASTER TO MASTER_HOST = ${sqlString(mariadbPodHost(role.of, role.namespace))}, MASTER_PORT = ${MARIADB_PORT}, MASTER_USER = ${sqlString(REPLICATION_USER)}, MASTER_PASSWORD = ${sqlString(role.password)}, MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 5${ssl};`,
        "START SLAVE;",
    ];
}

/**
 * The file a promotion leaves in the promoted server's datadir (scripts/promote-mariadb.sh writes it through
 * the server, `SELECT ... INTO DUMPFILE`, before the server becomes writable): one line,
 * `holder=<promoted ordinal> replaced=<the primary it replaced> gtid=<position> at=<UTC time>`.
 */
export const PROMOTION_MARKER = "mariadb-promotion";

/**
 * The replicated pod's start script (the container's command): the role comes from the pod's ordinal (the
 * suffix of its host name), the stack's primary and a promotion marker. server_id is ordinal + 1 (0 would
 * refuse to replicate); a replica starts read-only with the replica init SQL. Then the image's entrypoint
 * runs as it always does. Only option names and paths are on the command line, never a credential.
 *
 * Between a promotion (scripts/promote-mariadb.sh) and the `pulumi up` that records it, the rendered primary
 * is a dead pod and the promoted one is writable. The promotion marker in the promoted pod's datadir
 * (PROMOTION_MARKER, naming the holder and the primary it replaced) keeps the roles apart until then:
 * - a pod whose volume carries a marker naming it in place of the rendered primary starts as the primary
 *   (a restart does not turn it into a replica of the dead pod); a marker is removed once the rendered
 *   primary is its holder (the promotion is recorded) or has moved away from the pod it replaced (stale);
 *   a marker that cannot be read stops the start (this pod may or may not be the primary);
 * - a pod about to start writable (the rendered primary, or a promoted pod) first asks every other pod, as
 *   root through a private option file, for read_only, its GTID position and its marker. If one is writable,
 *   or holds a promotion in place of the rendered primary, it refuses to start (exit 1) and names the
 *   `pulumi config set ... && pulumi up` that records that pod as the primary: the client Service, which
 *   selects the rendered primary's pod, gets no second writable endpoint.
 * - A rendered primary whose volume holds no database (its claim was lost or recreated) would be
 *   initialised afresh by the entrypoint and take the client Service, while the replicas holding the data
 *   stop replicating (error 1236): if another pod answers with a GTID position, it refuses to start too.
 * A pod that does not answer cannot be asked: the checks hold against the pods that are up when this one starts.
 */
export function mariadbStartScript(o: { primary: number; namespace: string; replicas: number; tls: boolean }): string {
    const { datadir, rootPasswordFile, tls } = MARIADB_PATHS;
    const pods = Array.from({ length: o.replicas }, (_, i) => `${MARIADB_APP}-${i}=${mariadbPodHost(i, o.namespace)}:${MARIADB_PORT}`);
    const record = (ordinal: string) => `pulumi config set --path mariadb.primary ${ordinal} && pulumi up`;
    const ownMarker = [
        `marker=${datadir}/${PROMOTION_MARKER}`,
        'if [ -e "$marker" ]; then',
        '    text="$(cat "$marker")"',
        '    read -r holder replaced <<< "$(promotion "$text")"',
        '    if [ "$holder" != "$ordinal" ]; then',
        `        echo "start: $marker is not a promotion marker of mariadb-$ordinal (\\"$text\\"): refusing to start, since whether this pod was promoted cannot be told. Once the roles are clear (which pod is writable, what mariadb.primary names), remove the file." >&2`,
        "        exit 1",
        '    elif [ "$primary" = "$ordinal" ]; then',
        '        echo "start: mariadb.primary names mariadb-$ordinal: its promotion ($text) is recorded; removing $marker"',
        '        rm -f "$marker"',
        '    elif [ "$primary" = "$replaced" ]; then',
        "        role=promoted",
        `        echo "start: mariadb-$ordinal was promoted in place of mariadb-$primary ($text) and mariadb.primary still names $primary: starting as the primary. Record the promotion: ${record("$ordinal")}"`,
        "    else",
        '        echo "start: removing a stale promotion marker ($text): mariadb.primary now names mariadb-$primary"',
        '        rm -f "$marker"',
        "    fi",
        "fi",
    ];
    const askPeers = [
        'if [ "$role" != replica ]; then',
        `    if [ ! -r ${rootPasswordFile} ]; then echo "start: cannot read ${rootPasswordFile}: not asking the other pods" >&2; else`,
        '    cnf="$(umask 077; mktemp)"',
        `    printf '[client]\\nuser = root\\npassword = %s\\nprotocol = tcp\\nconnect-timeout = 5\\n' "$(cat ${rootPasswordFile})" > "$cnf"`,
        ...(o.tls ? [`    printf 'ssl-ca = ${tls}/ca.crt\\nssl-verify-server-cert\\n' >> "$cnf"`] : []),
        `    for pod in ${pods.join(" ")}; do`,
        '        name="${pod%%=*}"',
        '        [ "$name" = "mariadb-$ordinal" ] && continue',
        '        address="${pod#*=}"',
        `        if ! answer="$(mariadb --defaults-extra-file="$cnf" --host="\${address%:*}" --port="\${address##*:}" --batch --skip-column-names --execute="SELECT CONCAT_WS('|', @@read_only + 0, @@gtid_current_pos, IFNULL(LOAD_FILE(CONCAT(@@datadir, '${PROMOTION_MARKER}')), ''))" 2>/dev/null)"; then`,
        '            echo "start: $name did not answer"',
        "            continue",
        "        fi",
        "        IFS='|' read -r ro position text <<< \"$answer\"",
        '        read -r holder replaced <<< "$(promotion "$text")"',
        '        why=""',
        '        if [ "$holder" = "${name#mariadb-}" ] && [ "$replaced" = "$primary" ]; then why="was promoted in place of mariadb-$primary ($text)$([ "$ro" = 0 ] && echo " and is writable")"',
        '        elif [ "$ro" = 0 ]; then why="is writable"',
        "        fi",
        '        if [ -n "$why" ]; then',
        '            rm -f "$cnf"',
        // A promoted pod that finds the rendered primary writable (both restarted at once): keeping that one
        // means dropping this pod's marker, not a config change.
        '            if [ "${name#mariadb-}" = "$primary" ]; then keep="remove $marker from the volume of mariadb-$ordinal"; else',
        `            keep="record it: ${record("${name#mariadb-}")}"; fi`,
        '            echo "start: refusing to start mariadb-$ordinal as a writable primary: $name $why. Two writable primaries would split the data. If $name is the primary, $keep (mariadb-$ordinal then starts as its replica); if it is not, make it read-only first." >&2',
        "            exit 1",
        "        fi",
        `        if [ "$role" = primary ] && [ ! -d ${datadir}/mysql ] && [ -n "$position" ]; then`,
        '            rm -f "$cnf"',
        `            echo "start: mariadb-$ordinal is the primary but its volume holds no database, while $name holds data (GTID $position): refusing to start an empty primary. Promote that replica (scripts/promote-mariadb.sh), or restore this volume." >&2`,
        "            exit 1",
        "        fi",
        '        echo "start: $name is read-only (GTID ${position:-empty}${text:+, marker: $text})"',
        "    done",
        '    rm -f "$cnf"',
        "    fi",
        "fi",
    ];
    return [
        "set -euo pipefail",
        'ordinal="${HOSTNAME##*-}"',
        'case "$ordinal" in ""|*[!0-9]*) echo "start: no pod ordinal in HOSTNAME=$HOSTNAME" >&2; exit 1 ;; esac',
        `primary=${o.primary}`,
        // The holder and the replaced primary a marker's text names, or "- -" when it is not a marker.
        'promotion() { if [[ "$1" =~ ^holder=([0-9]+)\\ replaced=([0-9]+)( |$) ]]; then echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"; else echo "- -"; fi; }',
        'role=replica',
        '[ "$ordinal" = "$primary" ] && role=primary',
        ...ownMarker,
        ...askPeers,
        'args=(--server-id="$((ordinal + 1))")',
        'if [ "$role" = replica ]; then',
        // init-rpl-role SLAVE: after a crash, a server that returns as a replica discards from its binary log the
        // transactions no replica acknowledged (semi-sync), instead of committing them: it can then follow the
        // new primary, which never had them.
        `    args+=(--read-only=ON --init-file=${MARIADB_PATHS.replicaInitFile} --init-rpl-role=SLAVE)`,
        "fi",
        'echo "start: mariadb-$ordinal is the $([ "$role" = replica ] && echo "replica of mariadb-$primary" || echo primary) (server_id $((ordinal + 1)))"',
        'exec docker-entrypoint.sh mariadbd "${args[@]}"',
        "",
    ].join("\n");
}

/**
 * The init container `clone-primary` (replicated stacks): a replica whose volume has no datadir yet copies
 * the primary before its server first starts. Steps:
 *  1. the primary and a pod that has a datadir do nothing (a returning pod resumes from its GTID position);
 *  2. waits (bounded) for the primary to answer, as root, with the password from the mounted Secret written
 *     to a private option file on the pod's scratch space (never a command line or env value);
 *  3. mariadb-install-db into a staging directory and a temporary server on a private socket, no network,
 *     no binary log (the copy must not become transactions of this pod);
 *  4. mariadb-dump --single-transaction --gtid --master-data=1 --all-databases from the primary, streamed
 *     into it: one consistent InnoDB snapshot without blocking the primary's writers, its accounts (the
 *     mysql schema: root, applications, operations) and its GTID position (SET GLOBAL gtid_slave_pos);
 *  5. the probes' healthcheck accounts get this pod's own password and option file, as the image's
 *     entrypoint writes them;
 *  6. the temporary server stops and the staging directory is renamed to the datadir, last: an interrupted
 *     clone leaves only the staging directory, which the next attempt removes.
 * Why a logical copy and not mariadb-backup: mariadb-backup reads the primary's files, so it would have to
 * run inside the primary's pod (its ReadWriteOnce volume) and stream to the replica through a second
 * listener; the dump needs only the client port, the root account and the same tools the backups use.
 */
export function mariadbCloneScript(o: { primary: number; namespace: string; tls: boolean }): string {
    const { datadir, cloning, rootPasswordFile, tls } = MARIADB_PATHS;
    const host = mariadbPodHost(o.primary, o.namespace);
    return [
        "set -euo pipefail",
        "umask 077",
        'ordinal="${HOSTNAME##*-}"',
        'case "$ordinal" in ""|*[!0-9]*) echo "clone: no pod ordinal in HOSTNAME=$HOSTNAME" >&2; exit 1 ;; esac',
        `if [ "$ordinal" = "${o.primary}" ]; then echo "clone: mariadb-$ordinal is the primary"; exit 0; fi`,
        `if [ -d ${datadir} ]; then echo "clone: ${datadir} exists; replication resumes from its GTID position"; exit 0; fi`,
        `rm -rf ${cloning}`,
        'work="$(mktemp -d)"',
        'trap \'[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"\' EXIT',
        'cnf="$work/primary.cnf"',
        `printf '[client]\\nuser = root\\npassword = %s\\nhost = ${host}\\nport = ${MARIADB_PORT}\\nprotocol = tcp\\n' "$(cat ${rootPasswordFile})" > "$cnf"`,
        ...(o.tls ? [`printf 'ssl-ca = ${tls}/ca.crt\\nssl-verify-server-cert\\n' >> "$cnf"`] : []),
        "for i in $(seq 1 60); do",
        '    if mariadb --defaults-extra-file="$cnf" --connect-timeout=5 --batch --skip-column-names --execute="SELECT 1" > /dev/null 2>&1; then break; fi',
        `    if [ "$i" = 60 ]; then echo "clone: the primary ${host} did not answer within 5 minutes" >&2; exit 1; fi`,
        "    sleep 5",
        "done",
        `echo "clone: copying ${host} into a new datadir"`,
        `mariadb-install-db --no-defaults --datadir=${cloning} --auth-root-authentication-method=normal --skip-test-db > "$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }`,
        'sock="$work/clone.sock"',
        `mariadbd --no-defaults --datadir=${cloning} --socket="$sock" --skip-networking --skip-log-bin --pid-file="$work/clone.pid" > "$work/server.log" 2>&1 &`,
        "pid=$!",
        'for i in $(seq 1 60); do mariadb --no-defaults --user=root --socket="$sock" --execute="SELECT 1" > /dev/null 2>&1 && break; [ "$i" = 60 ] && { cat "$work/server.log" >&2; exit 1; }; sleep 1; done',
        // Finite input: `tr < /dev/urandom | head` would end in SIGPIPE, which pipefail turns into a failure.
        'hc="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d " \\n")"',
        "{",
        '    mariadb-dump --defaults-extra-file="$cnf" --single-transaction --gtid --master-data=1 --all-databases --routines --events --triggers --hex-blob',
        // The copied mysql tables become the accounts in effect.
        '    echo "FLUSH PRIVILEGES;"',
        "    for h in 127.0.0.1 ::1 localhost; do",
        `        printf "CREATE USER IF NOT EXISTS healthcheck@'%s' IDENTIFIED BY '%s';\\nALTER USER healthcheck@'%s' IDENTIFIED BY '%s';\\nGRANT USAGE ON *.* TO healthcheck@'%s';\\n" "$h" "$hc" "$h" "$hc" "$h"`,
        "    done",
        // The dump's CHANGE MASTER made this temporary server a replica with relay logs named after it; only
        // the GTID position (gtid_slave_pos, which RESET SLAVE keeps) is wanted. init-replica.sql names the primary.
        '    echo "RESET SLAVE ALL;"',
        '} | mariadb --no-defaults --user=root --socket="$sock" --binary-mode',
        `printf '[mariadb-client]\\nport=${MARIADB_PORT}\\nsocket=${MARIADB_PATHS.socket}\\nuser=healthcheck\\npassword=%s\\nprotocol=tcp\\n' "$hc" > ${cloning}/.my-healthcheck.cnf`,
        'kill "$pid"',
        'wait "$pid" || true',
        "pid=",
        `mv ${cloning} ${datadir}`,
        `echo "clone: done; mariadb-$ordinal replicates from ${host}"`,
        "",
    ].join("\n");
}

/**
 * The init container's script: prepares the volume before the server starts.
 * - A data dir at the volume root (the layout before the datadir moved into mariadb-data/) is moved there.
 *   Entries are renamed (one filesystem, so each move is atomic) into a staging directory that is renamed
 *   last, so an interrupted move resumes at the next start and never leaves a datadir that looks empty
 *   (which the image would initialise afresh). lost+found stays where it is.
 * - The temporary directory on the volume is emptied (nothing in it outlives a server).
 */
export function prepareVolumeScript(): string {
    const { data, datadir, tmpdir } = MARIADB_PATHS;
    const staging = `${datadir}.moving`;
    const keep = ["lost+found", datadir, staging, tmpdir].map((p) => p.split("/").pop()).join("|");
    return [
        "set -euo pipefail",
        `if [ ! -d ${datadir} ] && { [ -d ${staging} ] || [ -d ${data}/mysql ] || [ -e ${data}/ibdata1 ]; }; then`,
        `    mkdir -p ${staging}`,
        `    for entry in ${data}/* ${data}/.[!.]* ${data}/..?*; do`,
        '        [ -e "$entry" ] || [ -L "$entry" ] || continue',
        `        case "\${entry##*/}" in ${keep}) continue ;; esac`,
        `        mv "$entry" ${staging}/`,
        "    done",
        `    mv ${staging} ${datadir}`,
        `    echo "prepare-volume: moved the data directory from the volume root into ${datadir}"`,
        "fi",
        `rm -rf ${tmpdir}`,
        `mkdir -p ${tmpdir}`,
        "",
    ].join("\n");
}

/**
 * The certificate reloader's command: FLUSH SSL over the socket, as the socket-authenticated `mysql` user.
 * LOCAL: a plain FLUSH SSL is written to the binary log, so on a replica it would be a transaction of the
 * replica's own (which a promotion then has to reconcile) and on the primary it would wait for semi-sync.
 */
export function mariadbTlsReloadCommand(): string {
    return `mariadb --no-defaults --protocol=socket --socket=${MARIADB_PATHS.socket} --user=mysql --batch --execute='FLUSH LOCAL SSL'`;
}

/** JDBC URL for MariaDB Connector/J; with TLS the server certificate is verified. */
export function mariadbJdbcUrl(host: string, port: number, database: string | undefined, tls: boolean): string {
    return `jdbc:mariadb://${host}:${port}/${database ?? ""}${tls ? "?sslMode=verify-full" : ""}`;
}
