// MariaDB's configuration files and connection strings (components/mariadb/files.ts).

import * as assert from "assert";
import { mariadbInitSql, mariadbJdbcUrl, mariadbServerConfig } from "../../components/mariadb";

describe("pure helpers", () => {
    it("my.cnf: buffer pool from the memory limit, init_file, TLS required when on", () => {
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^innodb_buffer_pool_size = 409M$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^init_file = \/etc\/mysql\/init\/init\.sql$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "4Gi", tls: true }), /^require_secure_transport = ON$/m);
    });

    it("init SQL: only the operations accounts, idempotent, one statement per line, quotes escaped; no application user and no root", () => {
        const sql = mariadbInitSql({ reloader: true, backup: "b'k", exporter: "e", replication: "r" });
        const lines = sql.trim().split("\n");
        assert.ok(lines.every((l) => l.endsWith(";")));
        assert.ok(lines.includes("CREATE USER IF NOT EXISTS 'backup'@'%' IDENTIFIED BY 'b\\'k';"), sql);
        // Global privileges only: the backup's database-level grants are the reconcile Job's and survive a restart.
        assert.ok(lines.includes("REVOKE ALL PRIVILEGES ON *.* FROM 'backup'@'%';"), sql);
        assert.ok(!/root|GRANT ALL|CREATE DATABASE/.test(sql), sql);
    });

    it("JDBC URL", () => {
        assert.strictEqual(mariadbJdbcUrl("h", 3306, "db", false), "jdbc:mariadb://h:3306/db");
        assert.strictEqual(mariadbJdbcUrl("h", 3306, undefined, true), "jdbc:mariadb://h:3306/?sslMode=verify-full");
    });
});
