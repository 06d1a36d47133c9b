// What MariaDB reads: server options (my.cnf), the init SQL that reconciles users at every start, the
// paths they are mounted at, and the probe commands. Pure text builders.

import { percentOfMiB } from "../config/units";

export const MARIADB_PORT = 3306;

/** Where the pieces are mounted in the container. */
export const MARIADB_PATHS = {
    data: "/var/lib/mysql",
    socketDir: "/run/mysqld",
    tmp: "/tmp",
    config: "/etc/mysql/conf.d",
    init: "/etc/mysql/init",
    initFile: "/etc/mysql/init/init.sql",
    credentials: "/etc/mysql/credentials",
    rootPasswordFile: "/etc/mysql/credentials/root-password",
    tls: "/etc/mysql/tls",
};

/** Probe commands; healthcheck.sh ships in the image and logs in with the healthcheck user it created. */
export const MARIADB_PROBES = {
    startup: ["healthcheck.sh", "--connect", "--innodb_initialized"],
    readiness: ["healthcheck.sh", "--connect", "--innodb_initialized"],
    liveness: ["healthcheck.sh", "--connect"],
};

/** Share of the memory limit given to the InnoDB buffer pool. */
export const BUFFER_POOL_PERCENT = 40;

/** Server options (my.cnf text). The InnoDB buffer pool takes 40% of the memory limit. */
export function mariadbServerConfig(opts: { memoryLimit: string; tls: boolean }): string {
    const bufferPoolMiB = Math.max(128, percentOfMiB(opts.memoryLimit, BUFFER_POOL_PERCENT));
    const lines = [
        "[mariadbd]",
        "character-set-server = utf8mb4",
        "collation-server = utf8mb4_unicode_ci",
        "skip-name-resolve",
        "max_connections = 200",
        `innodb_buffer_pool_size = ${bufferPoolMiB}M`,
        // Reconciles the declared application users at every start (idempotent SQL from a Secret).
        `init_file = ${MARIADB_PATHS.initFile}`,
    ];
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
 * root@'%' gets the current root password too (root@localhost, used by the image's own setup, is left alone).
 * One statement per line and no comments: init_file is read statement by statement.
 */
export function mariadbInitSql(rootPassword: string, grants: MariaDbGrant[]): string {
    const lines = [`ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY ${sqlString(rootPassword)};`];
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

/** JDBC URL for MariaDB Connector/J; with TLS the server certificate is verified. */
export function mariadbJdbcUrl(host: string, port: number, database: string | undefined, tls: boolean): string {
    return `jdbc:mariadb://${host}:${port}/${database ?? ""}${tls ? "?sslMode=verify-full" : ""}`;
}
