// Real exporters against real servers, with the rendered least-privilege credentials and flags.
//
// Redis: redis_exporter v1.88.0, built from the Go module proxy (scripts/go-tools.sh), runs the
// sidecar's rendered command line (only the password file's path, the Redis port and the listen port are
// local) against a redis-server running the rendered redis.conf and ACL file. It must report redis_up 1 and
// every series the alerts use, without a single NOPERM (the ACL user allows exactly its commands), while the
// metrics user can read no key and run no CONFIG.
//
// MariaDB: the Go module proxy refuses github.com/prometheus/mysqld_exporter (403 for its version list and
// for v0.20.0), so the exporter binary cannot run here. What is proven on a real mariadbd with the rendered
// init.sql and option file: the exporter account logs in over the socket from that file, every statement the
// default collectors of mysqld_exporter v0.20.0 run succeeds as that account, the status and variables
// behind the alert series exist, and the account reads no table and cannot connect over TCP.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MARIADB_BACKUP_PATHS, MARIADB_PATHS } from "../../components/mariadb";
import { METRICS_USER, REDIS_BACKUP_PATHS } from "../../components/redis";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { find, podSpec } from "../../scripts/lib/manifests";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, MariaDbRendered, TCP } from "../helpers/mariadb";
import { clientOptions, fileOf, httpGet, parseMetrics, prodWithoutTls, requireTool, sampleValue } from "../helpers/ops";
import { assertError, RedisConn } from "../helpers/redis";
import { rewriteDirectives } from "../../scripts/lib/redisConf";
import { configMapData, secretData, type Container } from "../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../helpers/servers";

registerRealServerSummary();

function sidecar(objects: Manifest[], namespace: string, name: string): { sts: Manifest; container: Container } {
    const sts = find(objects, "StatefulSet", namespace, namespace === "db" ? "mariadb" : "redis");
    const c = (podSpec(sts).containers as Container[]).find((x) => x.name === name);
    assert.ok(c, `StatefulSet ${namespace}: no ${name} container`);
    return { sts, container: c };
}

describe("real exporters: redis_exporter (built from the module proxy) scrapes a real redis-server as the metrics ACL user", function () {
    this.timeout(120_000);
    let stopClock: (() => void) | undefined;
    let tmp: string;
    let redis: ServerProcess | undefined;
    let exporter: ServerProcess | undefined;
    let redisPort: number;
    let metricsPort: number;
    let admin: string;
    let metricsPassword: string;
    let body = "";

    before(async function () {
        requireBinaries(this, ["redis-server"], "install: apt-get install redis-server");
        const bin = await requireTool(this, "redis_exporter");
        stopClock = startClock("redis-exporter");
        // Prod (TLS off: the test reaches 127.0.0.1): the exporters are on by default there.
        const objects = (await renderStack("prod", { withSecrets: true, config: prodWithoutTls() })).objects;
        tmp = makeTempDir("redis-exporter");
        redisPort = await freePort();
        metricsPort = await freePort();
        const acl = path.join(tmp, "users.acl");
        fs.writeFileSync(acl, secretData(find(objects, "Secret", "cache", "redis-acl"))["users.acl"], { mode: 0o600 });
        const conf = path.join(tmp, "redis.conf");
        const rendered = configMapData(find(objects, "ConfigMap", "cache", "redis-config"))["redis.conf"];
        fs.writeFileSync(conf, rewriteDirectives(rendered, { bind: "127.0.0.1", port: String(redisPort), dir: tmp, aclfile: acl }), { mode: 0o600 });
        admin = secretData(find(objects, "Secret", "cache", "redis-credentials")).password;
        redis = startServer("redis-server", "redis-server", [conf], { logFile: path.join(tmp, "redis.log") });

        const { sts, container } = sidecar(objects, "cache", "redis-exporter");
        const passwordJson = fileOf(objects, sts, container, REDIS_BACKUP_PATHS.exporterFile);
        metricsPassword = Object.values(JSON.parse(passwordJson) as Record<string, string>)[0];
        // The rendered password file, with the test's Redis port in its URI key (the lookup key is the address).
        const pwFile = path.join(tmp, "password.json");
        fs.writeFileSync(pwFile, passwordJson.replace(":6379", `:${redisPort}`), { mode: 0o600 });
        const argv = (container.command ?? []).map((a) =>
            a
                .replace(REDIS_BACKUP_PATHS.exporterFile, pwFile)
                .replace("localhost:6379", `localhost:${redisPort}`)
                .replace(/^--web\.listen-address=:\d+$/, `--web.listen-address=127.0.0.1:${metricsPort}`),
        );
        assert.strictEqual(path.basename(argv[0]), "redis_exporter");
        assert.ok(!argv.join(" ").includes(metricsPassword), "no password on the command line");
        exporter = startServer("redis_exporter", bin, argv.slice(1), { logFile: path.join(tmp, "exporter.log") });
        await waitFor("redis_exporter to serve /metrics", async () => (await httpGet(metricsPort)).status === 200, { server: exporter, timeoutMs: 20_000 });
        // Something for the rejected-connections counter to count is not needed: the series must exist at 0.
        body = (await httpGet(metricsPort)).body;
    });

    after(async function () {
        await exporter?.stop();
        await redis?.stop();
        removeTempDir(tmp);
        stopClock?.();
    });

    it("reports redis_up 1 and the series the alerts use", function () {
        const s = parseMetrics(body);
        assert.strictEqual(sampleValue(s, "redis_up"), 1, body.slice(0, 2000));
        for (const name of ["redis_memory_used_bytes", "redis_memory_max_bytes", "redis_rejected_connections_total", "redis_connected_clients", "redis_max_clients"]) {
            assert.notStrictEqual(sampleValue(s, name), undefined, `${name} is exported`);
        }
        assert.ok(sampleValue(s, "redis_memory_max_bytes")! > 0, "maxmemory comes from INFO, without CONFIG");
    });

    it("never meets a NOPERM: the ACL user allows every command the exporter runs", function () {
        const log = exporter!.log();
        assert.doesNotMatch(log, /NOPERM|no permissions/i, log);
    });

    it("limits the metrics user to its commands: no key, no CONFIG, no write", async function () {
        const c = await RedisConn.open(redisPort);
        try {
            assert.strictEqual(await c.command("AUTH", METRICS_USER, metricsPassword), "OK");
            assertError(await c.command("GET", "session:1"), /NOPERM/, "GET");
            assertError(await c.command("SET", "x", "y"), /NOPERM/, "SET");
            assertError(await c.command("CONFIG", "GET", "*"), /NOPERM/, "CONFIG GET");
            assertError(await c.command("KEYS", "*"), /NOPERM/, "KEYS");
            assert.strictEqual(await c.command("PING"), "PONG");
        } finally {
            c.close();
        }
        void admin;
    });
});

describe("real servers: the mysqld_exporter account (the exporter binary is refused by the module proxy) runs every statement of the default collectors, and nothing more", function () {
    this.timeout(120_000);
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let rd: MariaDbRendered;
    let cnf: string;

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        stopClock = startClock("mariadb-exporter");
        rd = await loadRendered("prod", prodWithoutTls());
        db = new LocalMariaDb("mariadb-exporter", rd, bins);
        await db.initialise();
        await db.startServer();
        // The rendered option file comes from a render of its own: its password must be the one init.sql set.
        const objects = (await renderStack("prod", { withSecrets: true, config: prodWithoutTls() })).objects;
        const { sts, container } = sidecar(objects, "db", "mysqld-exporter");
        const rendered = fileOf(objects, sts, container, MARIADB_BACKUP_PATHS.exporterFile);
        const password = /IDENTIFIED BY '([A-Za-z0-9]+)' WITH MAX_USER_CONNECTIONS/.exec(rd.initSql)?.[1];
        assert.ok(password, "init.sql creates the exporter account");
        const options = clientOptions(rendered);
        assert.strictEqual(options.socket, MARIADB_PATHS.socket, "the exporter connects over the pod's socket");
        assert.ok((container.command ?? []).join(" ").includes(`--config.my-cnf=${MARIADB_BACKUP_PATHS.exporterFile}`), "the exporter reads the mounted option file");
        cnf = path.join(db.dir, "exporter.cnf");
        fs.writeFileSync(cnf, rendered.replace(/^password = .*$/m, `password = ${password}`).replace(MARIADB_PATHS.socket, db.socket), { mode: 0o600 });
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
    });

    const asExporter = (sql: string) => run("mariadb", [`--defaults-file=${cnf}`, "--batch", "--skip-column-names", "--execute", sql], { timeoutMs: 15_000 });

    it("runs the default collectors' statements (global status and variables, slave status, InnoDB compression tables)", async function () {
        for (const sql of [
            "SELECT @@version, @@version_comment",
            "SET lock_wait_timeout = 2",
            "SHOW GLOBAL STATUS",
            "SHOW GLOBAL VARIABLES",
            "SHOW ALL SLAVES STATUS",
            "SELECT page_size, compress_ops, compress_ops_ok, compress_time, uncompress_ops, uncompress_time FROM information_schema.innodb_cmp",
            "SELECT page_size, buffer_pool_instance, pages_used, pages_free, relocation_ops, relocation_time FROM information_schema.innodb_cmpmem",
        ]) {
            const r = await asExporter(sql);
            assert.strictEqual(r.code, 0, `exporter account: ${sql}: ${describeRun(r)}`);
        }
    });

    it("sees the status and variables behind mysql_up, the connection-saturation and connection-refused alerts", async function () {
        const status = (await asExporter("SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Connection_errors_max_connections')")).stdout;
        assert.match(status, /Threads_connected\t\d+/);
        assert.match(status, /Connection_errors_max_connections\t\d+/);
        assert.match((await asExporter("SHOW GLOBAL VARIABLES LIKE 'max_connections'")).stdout, /max_connections\t200/);
    });

    it("reads no table and cannot log in over TCP", async function () {
        const table = await asExporter("SELECT * FROM mysql.global_priv LIMIT 1");
        assert.match(table.stderr, /ERROR 1142/, describeRun(table));
        const app = rd.apps[0];
        await db!.query(TCP, app.user, app.password, "CREATE TABLE IF NOT EXISTS secret (v INT)", app.database);
        const appRead = await asExporter(`SELECT * FROM \`${app.database}\`.secret`);
        assert.match(appRead.stderr, /ERROR 1142/, describeRun(appRead));
        const password = /password = (\S+)/.exec(fs.readFileSync(cnf, "utf8"))![1];
        const tcp = await db!.sql(TCP, "exporter", password, "SELECT 1");
        assert.match(tcp.stderr, /ERROR 1045/, `the exporter account is localhost (socket) only: ${describeRun(tcp)}`);
    });
});
