// What MariaDB reads: server options (my.cnf), the init SQL that reconciles users at every start, the
// paths they are mounted at, and the probe commands. Pure text builders.

import { percentOfMiB } from "../config/units";

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
};

/**
 * Probe commands; healthcheck.sh ships in the image and logs in with the healthcheck user the entrypoint
 * created. It looks for that user's option file in /var/lib/mysql unless told where the datadir is.
 */
const HEALTHCHECK_CNF = `--defaults-extra-file=${MARIADB_PATHS.datadir}/.my-healthcheck.cnf`;
export const MARIADB_PROBES = {
    startup: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect", "--innodb_initialized"],
    readiness: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect", "--innodb_initialized"],
    liveness: ["healthcheck.sh", HEALTHCHECK_CNF, "--connect"],
};

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
export function mariadbServerConfig(opts: { memoryLimit: string; tls: boolean; binlog?: boolean }): string {
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
        // Reconciles the declared application users at every start (idempotent SQL from a Secret).
        `init_file = ${MARIADB_PATHS.initFile}`,
    ];
    if (opts.binlog) {
        lines.push(
            // A bare log-bin names the files after log_basename, in the datadir: mariadb-bin.000001, ...
            "log-bin",
            `log_basename = ${BINLOG_BASENAME}`,
            "server_id = 1",
            "binlog_format = ROW",
            "sync_binlog = 1",
            `binlog_expire_logs_seconds = ${BINLOG_SERVER_RETENTION_SECONDS}`,
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

/** One application database with its user's password (plain text: only ever placed in a Secret). */
export interface MariaDbGrant {
    database: string;
    user: string;
    password: string;
}

function sqlString(value: string): string {
    return "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

/**
 * The init SQL run by the server at every start (init_file): creates the declared databases and users and
 * resets their passwords and grants, so it is idempotent and a rotated password reaches the database.
 * root gets the current root password on both accounts, root@'%' (TCP) and root@localhost (the socket, as
 * the operational commands use it) - the latter only once the image's first-start setup has run (it then
 * created root@'%'): before that the entrypoint logs in as root@localhost without a password.
 * With `reloader`, the pod's certificate reloader gets a socket-only account that may only FLUSH SSL
 * (unix_socket: the pod's user, uid 999, is `mysql` in the image).
 * With `backup` / `exporter` (their passwords), the operations accounts of MARIADB_OPERATIONS_USERS are
 * reconciled the same way, privileges reset to exactly their list.
 * With `binlog`, none of it goes to the binary log (sql_log_bin 0): accounts are declared by the stack and
 * re-applied at every start, so a point-in-time replay of the logs must not bring back an old password.
 * One statement per line and no comments: init_file is read statement by statement.
 */
export function mariadbInitSql(
    rootPassword: string,
    grants: MariaDbGrant[],
    opts: { reloader: boolean; backup?: string; exporter?: string; binlog?: boolean } = { reloader: false },
): string {
    const root = sqlString(rootPassword);
    const lines = [
        ...(opts.binlog ? ["SET SESSION sql_log_bin = 0;"] : []),
        `ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY ${root};`,
        // A plain statement (no compound block), so the file also runs through the mariadb client.
        `SET @msa_root_localhost = IF(EXISTS (SELECT 1 FROM mysql.user WHERE user = 'root' AND host = '%'), ${sqlString(`ALTER USER 'root'@'localhost' IDENTIFIED BY ${root}`)}, 'DO 0');`,
        "EXECUTE IMMEDIATE @msa_root_localhost;",
        "SET @msa_root_localhost = NULL;",
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
            `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account};`,
            `GRANT ${u.privileges.join(", ")} ON *.* TO ${account};`,
        );
        if ("databasePrivileges" in u) {
            for (const g of grants) {
                lines.push(`GRANT ${u.databasePrivileges.join(", ")} ON \`${g.database.replace(/[_%]/g, "\\$&")}\`.* TO ${account};`);
            }
        }
    }
    for (const g of grants) {
        const user = `${sqlString(g.user)}@'%'`;
        lines.push(
            `CREATE DATABASE IF NOT EXISTS \`${g.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`,
            `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${sqlString(g.password)};`,
            `ALTER USER ${user} IDENTIFIED BY ${sqlString(g.password)};`,
            // In a database-level grant `_` and `%` are wildcards: escape them, or shop_a would match shopxa.
            `GRANT ALL PRIVILEGES ON \`${g.database.replace(/[_%]/g, "\\$&")}\`.* TO ${user};`,
        );
    }
    return lines.join("\n") + "\n";
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
