// MariaDB's configuration files and connection strings (components/mariadb/files.ts).

import * as assert from "assert";
import { mariadbInitSql, mariadbJdbcUrl, mariadbServerConfig } from "../../components/mariadb";

describe("pure helpers", () => {
    it("my.cnf: buffer pool from the memory limit, init_file, TLS required when on", () => {
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^innodb_buffer_pool_size = 409M$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^init_file = \/etc\/mysql\/init\/init\.sql$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "4Gi", tls: true }), /^require_secure_transport = ON$/m);
    });

    it("init SQL: idempotent statements, one per line, quotes escaped", () => {
        const sql = mariadbInitSql("ro'ot", [{ database: "shop", user: "shop", password: "p\\w" }]);
        const lines = sql.trim().split("\n");
        assert.ok(lines.every((l) => l.endsWith(";")));
        assert.strictEqual(lines[0], "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'ro\\'ot';");
        assert.ok(lines.includes("CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY 'p\\\\w';"));
        assert.ok(lines.includes("GRANT ALL PRIVILEGES ON `shop`.* TO 'shop'@'%';"));
        // `_` is a wildcard in database-level grants: it must be escaped.
        const underscored = mariadbInitSql("r", [{ database: "shop_a", user: "shop_a", password: "x" }]);
        assert.ok(underscored.includes("GRANT ALL PRIVILEGES ON `shop\\_a`.* TO 'shop_a'@'%';"), underscored);
        assert.ok(lines.some((l) => l.startsWith("CREATE DATABASE IF NOT EXISTS `shop`")));
    });

    it("JDBC URL", () => {
        assert.strictEqual(mariadbJdbcUrl("h", 3306, "db", false), "jdbc:mariadb://h:3306/db");
        assert.strictEqual(mariadbJdbcUrl("h", 3306, undefined, true), "jdbc:mariadb://h:3306/?sslMode=verify-full");
    });
});
