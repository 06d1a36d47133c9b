// Real-server test of the generated MariaDB configuration: a local mariadbd (Debian's 10.11) runs the rendered
// my.cnf with the rendered init.sql as init_file, after the first-start steps of the official image's
// entrypoint are emulated with the generated root password. Values come from renderStack with secrets
// (dev stack, TLS off). Skips locally without mariadbd / mariadb-install-db; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import { BINARIES, cnfOptions, errorLines, expectedVariable, INSTALL_HINT, loadRendered, LocalMariaDb, MariaDbRendered, PROBES, SECTION, SOCKET, TCP } from "../../helpers/mariadb";
import { describeRun, randomToken } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

// ---------------------------------------------------------------------------------------------------

describe("real servers: MariaDB runs the generated dev configuration", function () {
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let rd: MariaDbRendered;

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        stopClock = startClock("mariadb");
        rd = await loadRendered("dev");
        db = new LocalMariaDb("mariadb", rd, bins);
        await db.initialise();
        await db.startServer();
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
    });

    it("starts from the rendered my.cnf (only init_file, paths, port and bind-address set for the test) with every option in effect", async function () {
        const pw = rd.root.password;
        const wrong: string[] = [];
        const rewritten = new Set(["init_file", "datadir", "tmpdir"]);
        for (const [name, value] of cnfOptions(rd.myCnf, SECTION)) {
            if (rewritten.has(name)) continue;
            const actual = await db!.query(TCP, "root", pw, `SELECT @@GLOBAL.${name}`);
            if (actual !== expectedVariable(value)) wrong.push(`${name}: rendered ${value ?? "(flag)"}, server has ${actual}`);
        }
        assert.deepStrictEqual(wrong, [], `options not in effect:\n${wrong.join("\n")}`);
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT @@GLOBAL.port"), String(db!.port));
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT @@GLOBAL.bind_address"), "127.0.0.1");
    });

    it("ran the rendered init.sql as init_file at startup, without an error", async function () {
        const pw = rd.root.password;
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT @@GLOBAL.init_file"), db!.initCopy);
        assert.strictEqual(fs.readFileSync(db!.initCopy, "utf8"), rd.initSql, `init_file content is ${rd.initSource}`);
        // mariadbd does not stop on an init_file error: it logs `ERROR: <code> <message>`, skips the rest of
        // the file and starts anyway. So the log is the verdict, for the entrypoint's temporary server too.
        assert.deepStrictEqual(db!.allErrors(), [], `init_file (${rd.initSource}) failed at startup:\n${db!.allErrors().join("\n")}`);
        for (const a of rd.apps) {
            const hosts = await db!.query(TCP, "root", pw, `SELECT host FROM mysql.user WHERE user='${a.user}'`);
            assert.strictEqual(hosts, "%", `user ${a.user} (declared in ${a.secret}) should exist once, at host '%', created by the reconcile Job`);
            const charset = await db!.query(TCP, "root", pw, `SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='${a.database}'`);
            assert.strictEqual(charset, "utf8mb4", `database ${a.database}`);
        }
    });

    it("lets each application user (dev: orders, auth) log in with its generated password and see only its own database", async function () {
        assert.deepStrictEqual(rd.apps.map((a) => a.user).sort(), ["auth", "orders"], "dev declares orders and auth");
        for (const a of rd.apps) {
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT CURRENT_USER()"), `${a.user}@%`, `password from ${a.secret}`);
            const dbs = (await db!.query(TCP, a.user, a.password, "SHOW DATABASES")).split("\n").sort();
            assert.deepStrictEqual(dbs, ["information_schema", a.database].sort(), `${a.user} sees`);
            await db!.query(TCP, a.user, a.password, `CREATE TABLE IF NOT EXISTS isolation_check (owner VARCHAR(64) PRIMARY KEY)`, a.database);
            await db!.query(TCP, a.user, a.password, `REPLACE INTO isolation_check VALUES ('${a.user}')`, a.database);
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT owner FROM isolation_check", a.database), a.user);
            const wrong = await db!.sql(TCP, a.user, `wrong-${randomToken()}`, "SELECT 1");
            assert.match(wrong.stderr, /ERROR 1045/, `${a.user} with a wrong password: ${describeRun(wrong)}`);
        }
    });

    it("keeps an application user out of every other application's database", async function () {
        for (const a of rd.apps) {
            await db!.query(TCP, a.user, a.password, `CREATE TABLE IF NOT EXISTS isolation_check (owner VARCHAR(64) PRIMARY KEY)`, a.database);
        }
        for (const a of rd.apps) {
            for (const b of rd.apps.filter((x) => x !== a)) {
                const read = await db!.sql(TCP, a.user, a.password, `SELECT * FROM \`${b.database}\`.isolation_check`);
                assert.match(read.stderr, /ERROR 1142 .*SELECT command denied/, `${a.user} reading ${b.database}: ${describeRun(read)}`);
                const write = await db!.sql(TCP, a.user, a.password, `INSERT INTO \`${b.database}\`.isolation_check VALUES ('intruder')`);
                assert.match(write.stderr, /ERROR 1142 .*INSERT command denied/, `${a.user} writing ${b.database}: ${describeRun(write)}`);
                const use = await db!.sql(TCP, a.user, a.password, "SELECT 1", { database: b.database });
                assert.match(use.stderr, /ERROR 1044 .*Access denied/, `${a.user} USE ${b.database}: ${describeRun(use)}`);
            }
        }
    });

    it("accepts the generated root password (TCP root@'%', socket root@localhost) and refuses an empty one", async function () {
        const pw = rd.root.password;
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT CURRENT_USER()"), "root@%", `root over TCP with ${rd.root.source}`);
        assert.strictEqual(await db!.query(SOCKET, "root", pw, "SELECT CURRENT_USER()"), "root@localhost", "root over the socket");
        for (const target of [TCP, SOCKET]) {
            const empty = await db!.sql(target, "root", "", "SELECT 1");
            assert.match(empty.stderr, /ERROR 1045 .*\(using password: NO\)/, `root with an empty password must be refused: ${describeRun(empty)}`);
            const wrong = await db!.sql(target, "root", `wrong-${randomToken()}`, "SELECT 1");
            assert.match(wrong.stderr, /ERROR 1045/, `root with a wrong password must be refused: ${describeRun(wrong)}`);
        }
        for (const a of rd.apps) {
            const empty = await db!.sql(TCP, a.user, "", "SELECT 1");
            assert.match(empty.stderr, /ERROR 1045/, `${a.user} with an empty password must be refused: ${describeRun(empty)}`);
        }
    });

    it("passes the startup/readiness/liveness probes (healthcheck.sh --connect / --innodb_initialized run as equivalent SQL checks)", async function () {
        for (const kind of PROBES) {
            const v = await db!.probe(kind);
            assert.ok(v.ok, `${kind} should pass on a running server: ${v.detail}`);
        }
    });

    it("restarts cleanly: probes fail while down, init_file runs again, users and data stay, no duplicates; the reconcile Job's next run puts back a drifted password", async function () {
        const pw = rd.root.password;
        const drifted = rd.apps[0];
        const grantsBefore: Record<string, string> = {};
        for (const a of rd.apps) {
            grantsBefore[a.user] = await db!.query(TCP, "root", pw, `SHOW GRANTS FOR '${a.user}'@'%'`);
        }
        // Someone changed a password by hand: the generated one stops working until the reconcile Job runs again.
        await db!.query(TCP, "root", pw, `ALTER USER '${drifted.user}'@'%' IDENTIFIED BY '${randomToken(24)}'`);
        const before = await db!.sql(TCP, drifted.user, drifted.password, "SELECT 1");
        assert.match(before.stderr, /ERROR 1045/, "the drift took effect");

        const how = await db!.stopServer();
        assert.ok(!how.killed && how.code === 0, `mariadbd should shut down cleanly on SIGTERM: ${JSON.stringify(how)}`);
        for (const kind of PROBES) {
            const v = await db!.probe(kind);
            assert.ok(!v.ok, `${kind} must fail while the server is down: ${v.detail}`);
        }

        await db!.startServer("restart");
        assert.deepStrictEqual(errorLines(db!.lastLog()), [], `errors at the restart (init_file runs a second time):\n${db!.lastLog()}`);
        for (const kind of PROBES) {
            const v = await db!.probe(kind);
            assert.ok(v.ok, `${kind} after the restart: ${v.detail}`);
        }
        // A restart alone runs no Job (the same render names the same Job): the drift is still there.
        assert.match((await db!.sql(TCP, drifted.user, drifted.password, "SELECT 1")).stderr, /ERROR 1045/, "the restart alone changed the drifted password");
        const job = await db!.reconcile();
        assert.strictEqual(job.code, 0, `the reconcile Job: ${describeRun(job)}`);
        for (const a of rd.apps) {
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT CURRENT_USER()"), `${a.user}@%`, `${a.user} logs in after the restart (${a === drifted ? "password reconciled by the Job" : "unchanged"})`);
            assert.strictEqual(await db!.query(TCP, "root", pw, `SELECT COUNT(*) FROM mysql.user WHERE user='${a.user}'`), "1", `one account for ${a.user}`);
            assert.strictEqual(await db!.query(TCP, "root", pw, `SHOW GRANTS FOR '${a.user}'@'%'`), grantsBefore[a.user], `grants of ${a.user} unchanged`);
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT owner FROM isolation_check", a.database), a.user, `data of ${a.database} kept`);
        }
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT COUNT(*) FROM mysql.user WHERE user='root'"), "2", "root@localhost and root@'%' only");
    });

    it("runs init.sql a second time through the client without an error, changing nothing", async function () {
        const pw = rd.root.password;
        const snapshot = () => db!.query(TCP, "root", pw, "SELECT user, host, authentication_string FROM mysql.user ORDER BY user, host");
        const usersBefore = await snapshot();
        const r = await db!.sql(SOCKET, "root", pw, "", { input: fs.readFileSync(db!.initCopy, "utf8") });
        assert.strictEqual(r.code, 0, `init.sql through the client: ${describeRun(r)}`);
        assert.strictEqual(r.stderr.trim(), "", "no warnings or errors from init.sql");
        assert.strictEqual(await snapshot(), usersBefore, "accounts and password hashes unchanged");
        for (const a of rd.apps) {
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT COUNT(*) FROM isolation_check", a.database), "1", `${a.user} still logs in, data intact`);
        }
        assert.strictEqual(await db!.query(TCP, "root", pw, "SELECT CURRENT_USER()"), "root@%", "root over TCP still uses the generated password");
    });
});

describe("real servers: MariaDB keeps databases apart when a name contains '_' (a wildcard in GRANT ... ON db.*)", function () {
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let rd: MariaDbRendered;
    // Valid names per the program's config validation; `_` in shop_a matches any single character, x included.
    const databases = [
        { name: "shop_a", user: "shop_a" },
        { name: "shopxa", user: "shopxa" },
    ];

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        stopClock = startClock("mariadb-underscore");
        rd = await loadRendered("dev", { environment: "development", mariadb: { databases } });
        db = new LocalMariaDb("mariadb-underscore", rd, bins);
        await db.initialise();
        await db.startServer();
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
    });

    it("does not let shop_a into shopxa", async function () {
        const [a, b] = databases.map((d) => rd.apps.find((x) => x.user === d.user)!);
        await db!.query(TCP, b.user, b.password, "CREATE TABLE IF NOT EXISTS secrets (v VARCHAR(64))", b.database);
        await db!.query(TCP, b.user, b.password, "INSERT INTO secrets VALUES ('only for shopxa')", b.database);
        const grants = await db!.query(TCP, "root", rd.root.password, `SHOW GRANTS FOR '${a.user}'@'%'`);
        const dbs = (await db!.query(TCP, a.user, a.password, "SHOW DATABASES")).split("\n");
        const read = await db!.sql(TCP, a.user, a.password, `SELECT v FROM \`${b.database}\`.secrets`);
        assert.ok(
            read.code !== 0 && !dbs.includes(b.database),
            `user ${a.user} can read database ${b.database} (SHOW DATABASES: ${dbs.join(", ")}; SELECT: ${describeRun(read)}).\n` +
                `Its grant is: ${grants.split("\n").pop()}\n` +
                `components/mariadb.ts mariadbInitSql writes GRANT ALL PRIVILEGES ON \`<database>\`.* unescaped, and '_' (like '%') ` +
                `is a wildcard in database-level grants: \`shop_a\`.* also matches shopxa. Escape it (\`shop\\_a\`.*), as the ` +
                `official entrypoint does for MARIADB_DATABASE, or forbid '_' in database names.`,
        );
    });
});
