// Real-server test of the generated MariaDB configuration: a local mariadbd (Debian's 10.11) runs the rendered
// my.cnf with the rendered init.sql as init_file, after the first-start steps of the official image's
// entrypoint are emulated with the generated root password. Values come from renderStack with secrets
// (dev stack, TLS off). Skips locally without mariadbd / mariadb-install-db; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MARIADB_PATHS } from "../components/mariadb";
import { renderStack, type Manifest } from "../scripts/lib/mockRuntime";
import { find } from "./helpers/manifests";
import { container, envValue, mountedFile, onlyObject, output, persistentMountPath, secretData, type Container } from "./helpers/rendered";
import {
    describeRun,
    freePort,
    makeTempDir,
    randomToken,
    registerRealServerSummary,
    removeTempDir,
    requireBinaries,
    run,
    startClock,
    startServer,
    waitFor,
    type RunResult,
    type ServerProcess,
} from "./helpers/servers";

registerRealServerSummary();

const BINARIES = ["mariadbd", "mariadb-install-db", "mariadb"];
const INSTALL_HINT = "install: apt-get install mariadb-server mariadb-client";
const SECTION = "mariadbd";

// ---------------------------------------------------------------------------------------------------
// What the rendered stack gives the MariaDB container

interface AppAccount {
    user: string;
    password: string;
    database: string;
    secret: string;
}

interface MariaDbRendered {
    sts: Manifest;
    container: Container;
    myCnf: string;
    myCnfSource: string;
    /** init_file path from my.cnf, and the rendered text mounted there. */
    initPath: string;
    initSql: string;
    initSource: string;
    root: { password: string; source: string };
    apps: AppAccount[];
}

/** Option lines of one section of an option file: [name with '-' as '_', value or undefined for a flag]. */
function cnfOptions(text: string, section: string): [string, string | undefined][] {
    const out: [string, string | undefined][] = [];
    let current = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            current = header[1].trim();
            continue;
        }
        if (current !== section) continue;
        const m = /^([^=\s]+)\s*(?:=\s*(.*))?$/.exec(line);
        if (!m) throw new Error(`my.cnf: cannot parse ${JSON.stringify(line)}`);
        out.push([m[1].replace(/-/g, "_").toLowerCase(), m[2]?.trim()]);
    }
    return out;
}

function cnfOption(text: string, name: string): string {
    const found = cnfOptions(text, SECTION).filter(([n]) => n === name);
    if (found.length !== 1 || found[0][1] === undefined) {
        throw new Error(`my.cnf [${SECTION}]: expected one '${name} = ...', found ${found.length}`);
    }
    return found[0][1];
}

/**
 * The rendered option file with options of one section replaced (when the rendered text sets them) or
 * appended to that section (when it leaves them to the image's defaults).
 */
function rewriteCnf(text: string, section: string, overrides: Record<string, string>): string {
    const norm = (n: string) => n.replace(/-/g, "_").toLowerCase();
    const wanted = new Map(Object.entries(overrides).map(([k, v]) => [norm(k), `${k} = ${v}`]));
    const done = new Set<string>();
    const lines = text.replace(/\n$/, "").split("\n");
    const out: string[] = [];
    let current = "";
    let sectionSeen = false;
    const flush = () => {
        for (const [k, line] of wanted) if (!done.has(k)) out.push(line);
        wanted.forEach((_, k) => done.add(k));
    };
    for (const raw of lines) {
        const header = /^\s*\[(.+)\]\s*$/.exec(raw);
        if (header) {
            if (current === section) flush();
            current = header[1].trim();
            sectionSeen ||= current === section;
            out.push(raw);
            continue;
        }
        const m = /^\s*([^=\s#;]+)/.exec(raw);
        if (current === section && m && wanted.has(norm(m[1]))) {
            out.push(wanted.get(norm(m[1]))!);
            done.add(norm(m[1]));
            continue;
        }
        out.push(raw);
    }
    if (current === section) flush();
    if (!sectionSeen) throw new Error(`my.cnf has no [${section}] section`);
    return out.join("\n") + "\n";
}

async function loadRendered(stack: string, config?: Record<string, unknown>): Promise<MariaDbRendered> {
    const r = await renderStack(stack, { withSecrets: true, config });
    const conn = output<{
        namespace: string;
        rootSecret: { name: string; key: string };
        databases: { database: string; user: string; secretName: string }[];
        tls: { enabled: boolean };
    }>(r.outputs, "mariadbConnection");
    assert.strictEqual(conn.tls.enabled, false, "these tests run a TLS-off stack (no certificates offline)");
    const sts = onlyObject(r.objects, "StatefulSet", conn.namespace);
    const c = container(sts);
    // The image reads /etc/mysql/conf.d/*.cnf; the program mounts its ConfigMap there.
    const cnf = mountedFile(r.objects, sts, c, path.posix.join(MARIADB_PATHS.config, "my.cnf"));
    const initPath = cnfOption(cnf.value, "init_file");
    const init = mountedFile(r.objects, sts, c, initPath);
    // MARIADB_ROOT_PASSWORD_FILE names a file; the entrypoint reads it with $(< file), i.e. minus trailing newlines.
    const rootFile = envValue(r.objects, sts, c, "MARIADB_ROOT_PASSWORD_FILE");
    const root = mountedFile(r.objects, sts, c, rootFile.value);
    assert.strictEqual(root.source, `Secret ${conn.namespace}/${conn.rootSecret.name} key ${conn.rootSecret.key}`, "root password file vs the exported rootSecret");
    const apps = conn.databases.map((d) => {
        const data = secretData(find(r.objects, "Secret", conn.namespace, d.secretName));
        assert.strictEqual(data.username, d.user, `Secret ${d.secretName}: username`);
        assert.strictEqual(data.database, d.database, `Secret ${d.secretName}: database`);
        return { user: data.username, password: data.password, database: data.database, secret: d.secretName };
    });
    assert.strictEqual(persistentMountPath(sts, c), MARIADB_PATHS.data, "the data volume is mounted at the image's datadir");
    return {
        sts,
        container: c,
        myCnf: cnf.value,
        myCnfSource: cnf.source,
        initPath,
        initSql: init.value,
        initSource: init.source,
        root: { password: root.value.replace(/\n+$/, ""), source: root.source },
        apps,
    };
}

// ---------------------------------------------------------------------------------------------------
// A local server run the way the image runs it

/** SQL string literal escaping of the entrypoint's docker_sql_escape_string_literal. */
function entrypointEscape(s: string): string {
    return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/'/g, "\\'");
}

/** Lines of a server log that report an error (init_file failures are logged as `ERROR: <code> <message>`). */
function errorLines(log: string): string[] {
    return log.split("\n").filter((l) => /^ERROR: \d+/.test(l) || /\[ERROR\]/.test(l));
}

type Target = { socket: true } | { tcp: true };

class LocalMariaDb {
    readonly dir: string;
    readonly dataDir: string;
    readonly socket: string;
    readonly cnfFile: string;
    readonly initCopy: string;
    readonly healthcheckCnf: string;
    port = 0;
    server?: ServerProcess;
    /** Every log the server wrote, one per start: [label, file]. */
    readonly logs: [string, string][] = [];
    private starts = 0;

    constructor(
        readonly label: string,
        readonly rendered: MariaDbRendered,
        readonly bins: Record<string, string>,
    ) {
        this.dir = makeTempDir(label);
        this.dataDir = path.join(this.dir, "data");
        this.socket = path.join(this.dir, "mysqld.sock");
        this.cnfFile = path.join(this.dir, "my.cnf");
        this.initCopy = path.join(this.dir, "init.sql");
        this.healthcheckCnf = path.join(this.dataDir, ".my-healthcheck.cnf");
        fs.mkdirSync(path.join(this.dir, "tmp"));
    }

    /** mariadbd refuses to run as root unless told to. */
    private userArgs(): string[] {
        return process.getuid?.() === 0 ? ["--user=root"] : [];
    }

    env(password?: string): NodeJS.ProcessEnv {
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.dir, LANG: "C" };
        if (password !== undefined) env.MYSQL_PWD = password;
        return env;
    }

    /** Runs SQL with the mariadb client (no option files), over the socket or TCP 127.0.0.1. */
    sql(target: Target, user: string, password: string | undefined, statement: string, opts: { database?: string; input?: string; columnNames?: boolean } = {}): Promise<RunResult> {
        const args = ["--no-defaults", `--user=${user}`, "--batch", "--connect-timeout=5"];
        if (!opts.columnNames) args.push("--skip-column-names");
        args.push(...("socket" in target ? ["--protocol=socket", `--socket=${this.socket}`] : ["--protocol=tcp", "--host=127.0.0.1", `--port=${this.port}`]));
        if (opts.database) args.push(`--database=${opts.database}`);
        if (statement) args.push("--execute", statement);
        return run(this.bins.mariadb, args, { env: this.env(password ?? ""), input: opts.input, timeoutMs: 15_000 });
    }

    /** Like sql() but the statement must succeed; returns stdout. */
    async query(target: Target, user: string, password: string, statement: string, database?: string): Promise<string> {
        const r = await this.sql(target, user, password, statement, { database });
        assert.strictEqual(r.code, 0, `${user}@${"socket" in target ? "socket" : "tcp"}: ${statement}: ${describeRun(r)}`);
        return r.stdout.trim();
    }

    private start(extra: string[], purpose: string): ServerProcess {
        this.starts += 1;
        const log = path.join(this.dir, `mariadbd-${this.starts}-${purpose}.log`);
        this.logs.push([purpose, log]);
        // --defaults-file must come first: only the derived copy of the rendered my.cnf is read.
        this.server = startServer(`mariadbd (${purpose})`, this.bins.mariadbd, [`--defaults-file=${this.cnfFile}`, ...this.userArgs(), ...extra], { logFile: log });
        return this.server;
    }

    /**
     * Prepares the temp dir and the data dir the way the image does on first start (docker-entrypoint.sh,
     * docker_mariadb_init): mariadb-install-db, a temporary server without networking (which reads the
     * generated config, so the init_file runs there first), the root/healthcheck setup SQL with the
     * password from MARIADB_ROOT_PASSWORD_FILE, then the temporary server stops.
     */
    async initialise(): Promise<void> {
        this.port = await freePort();
        fs.writeFileSync(this.initCopy, this.rendered.initSql, { mode: 0o600 });
        // The temp my.cnf is the rendered text, with in its [mariadbd] section only:
        //   init_file          replaced (→ <tmp>/init.sql, a copy of the Secret mounted at the rendered path)
        //   datadir, socket, port, bind-address (127.0.0.1), pid-file, tmpdir
        //                      added (the image sets these outside this file; here they point into <tmp>)
        fs.writeFileSync(
            this.cnfFile,
            rewriteCnf(this.rendered.myCnf, SECTION, {
                init_file: this.initCopy,
                datadir: this.dataDir,
                socket: this.socket,
                port: String(this.port),
                "bind-address": "127.0.0.1",
                "pid-file": path.join(this.dir, "mariadbd.pid"),
                tmpdir: path.join(this.dir, "tmp"),
            }),
            { mode: 0o600 },
        );

        const install = await run(
            this.bins["mariadb-install-db"],
            [`--no-defaults`, `--datadir=${this.dataDir}`, "--auth-root-authentication-method=normal", "--skip-test-db", `--user=${os.userInfo().username}`],
            { env: this.env(), timeoutMs: 45_000 },
        );
        assert.strictEqual(install.code, 0, `mariadb-install-db: ${describeRun(install)}`);

        // docker_temp_server_start: the generated config plus the entrypoint's own flags.
        const temp = this.start(
            ["--skip-networking", "--default-time-zone=SYSTEM", `--socket=${this.socket}`, "--wsrep_on=OFF", "--expire-logs-days=0", "--loose-innodb_buffer_pool_load_at_startup=0"],
            "entrypoint-temp",
        );
        await waitFor("the temporary server (socket, root without password)", async () => (await this.sql({ socket: true }, "root", "", "SELECT 1", { database: "mysql" })).code === 0, {
            server: temp,
            timeoutMs: 30_000,
        });

        // docker_setup_db (timezone tables skipped: irrelevant here, and slow): root@localhost gets the
        // password, root@'%' is created with it, healthcheck users get a random password and a cnf file.
        const rootPw = entrypointEscape(this.rendered.root.password);
        const hcPw = randomToken(32);
        const hc = ["127.0.0.1", "::1", "localhost"].flatMap((h) => [
            `CREATE USER IF NOT EXISTS healthcheck@'${h}' IDENTIFIED BY '${hcPw}';`,
            `SET PASSWORD FOR healthcheck@'${h}' = PASSWORD('${hcPw}');`,
            `GRANT USAGE ON *.* TO healthcheck@'${h}';`,
        ]);
        const setup = [
            "SET @orig_sql_log_bin= @@SESSION.SQL_LOG_BIN;",
            "SET @@SESSION.SQL_LOG_BIN=0;",
            "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');",
            "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';",
            "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');",
            `SET PASSWORD FOR 'root'@'localhost'= PASSWORD('${rootPw}');`,
            `CREATE USER 'root'@'%' IDENTIFIED BY '${rootPw}' ;`,
            "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION ;",
            "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;",
            ...hc,
            "SET @@SESSION.SQL_LOG_BIN=@orig_sql_log_bin;",
        ].join("\n");
        const r = await run(this.bins.mariadb, ["--no-defaults", "--protocol=socket", "-uroot", "-hlocalhost", `--socket=${this.socket}`, "--database=mysql", "--binary-mode"], {
            env: this.env(""),
            input: setup,
            timeoutMs: 15_000,
        });
        assert.strictEqual(r.code, 0, `entrypoint root setup SQL: ${describeRun(r)}`);
        fs.writeFileSync(this.healthcheckCnf, `[mariadb-client]\nport=${this.port}\nsocket=${this.socket}\nuser=healthcheck\npassword=${hcPw}\nprotocol=tcp\n`, { mode: 0o600 });

        // docker_temp_server_stop: kill + wait.
        const stopped = await temp.stop();
        assert.ok(!stopped.killed && stopped.code === 0, `temporary server did not stop cleanly: ${JSON.stringify(stopped)}\n${temp.logTail()}`);
    }

    /** Starts the server as the container does (entrypoint → exec mariadbd, options from the config). */
    async startServer(purpose = "server"): Promise<ServerProcess> {
        const s = this.start([], purpose);
        await waitFor("mariadbd to accept root over TCP with the generated password", async () => (await this.sql({ tcp: true }, "root", this.rendered.root.password, "SELECT 1")).code === 0, {
            server: s,
            timeoutMs: 30_000,
        });
        return s;
    }

    async stopServer(): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
        const s = this.server;
        if (!s) return { code: null, signal: null, killed: false };
        const how = await s.stop(30_000);
        return how;
    }

    /** The log of the last start. */
    lastLog(): string {
        return fs.readFileSync(this.logs[this.logs.length - 1][1], "utf8");
    }

    /** Error lines of every log so far, labelled. */
    allErrors(): string[] {
        return this.logs.flatMap(([label, file]) => errorLines(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "").map((l) => `${label}: ${l}`));
    }

    // healthcheck.sh equivalents (the script itself is not in Debian). Same client, same user
    // (healthcheck, from the .my-healthcheck.cnf the entrypoint writes), same queries and verdicts; the only
    // difference: TCP goes to 127.0.0.1 instead of "localhost", because the test server listens on IPv4 loopback.
    private healthcheckSql(args: string[]): Promise<RunResult> {
        return run(this.bins.mariadb, [`--defaults-file=${this.healthcheckCnf}`, ...args], { env: this.env(), timeoutMs: 10_000 });
    }

    /** healthcheck.sh --connect: socket `select @@skip_networking` (0 passes, 1 fails), else the TCP fallback. */
    async healthcheckConnect(): Promise<{ ok: boolean; detail: string }> {
        const s = await this.healthcheckSql(["--protocol", "socket", "-B", "--skip-column-names", "-e", "select @@skip_networking"]);
        const viaSocket = s.stdout.trim();
        if (viaSocket === "0" || viaSocket === "1") {
            return { ok: viaSocket === "0", detail: `socket: skip_networking=${viaSocket}` };
        }
        const t = await this.healthcheckSql(["-h", "127.0.0.1", "--protocol", "tcp", "--skip-column-names", "--batch", "--skip-print-query-on-error", "-e", "select @@skip_networking"]);
        const out = `${t.stdout}${t.stderr}`.trim();
        if (out === "1" || /^ERROR 2002 \(HY000\):/.test(out)) return { ok: false, detail: `tcp: ${out}` };
        if (out === "0" || /^ERROR (1820|4151) \(HY000\)/.test(out) || /^ERROR 1226 \(42000\)/.test(out) || /^ERROR 1\d{3} \(28000\):/.test(out)) {
            return { ok: true, detail: `tcp: ${out}` };
        }
        return { ok: false, detail: `socket: ${describeRun(s)}; tcp: unknown error ${out}` };
    }

    /** healthcheck.sh --innodb_initialized: InnoDB listed as available in information_schema.ENGINES. */
    async healthcheckInnodbInitialized(): Promise<{ ok: boolean; detail: string }> {
        const r = await this.healthcheckSql([
            "--protocol",
            "socket",
            "-B",
            "--skip-column-names",
            "-e",
            "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')",
        ]);
        return { ok: r.stdout.trim() === "1", detail: describeRun(r) };
    }

    /** The verdict of a rendered probe (healthcheck.sh and its test flags), test by test like the script. */
    async probe(kind: "startupProbe" | "readinessProbe" | "livenessProbe"): Promise<{ ok: boolean; detail: string }> {
        const command: string[] = this.rendered.container[kind]?.exec?.command;
        assert.ok(Array.isArray(command) && path.basename(command[0]) === "healthcheck.sh", `${kind}: expected healthcheck.sh, got ${JSON.stringify(command)}`);
        const details: string[] = [];
        for (const flag of command.slice(1)) {
            const check =
                flag === "--connect" ? () => this.healthcheckConnect() : flag === "--innodb_initialized" ? () => this.healthcheckInnodbInitialized() : undefined;
            if (!check) throw new Error(`${kind}: no equivalent for healthcheck.sh ${flag} in this test`);
            const v = await check();
            details.push(`${flag}: ${v.ok ? "ok" : "FAILED"} (${v.detail})`);
            if (!v.ok) return { ok: false, detail: details.join("; ") };
        }
        return { ok: true, detail: details.join("; ") };
    }

    async dispose(): Promise<void> {
        if (this.server?.running) {
            const how = await this.stopServer();
            assert.ok(!how.killed, `${this.label}: mariadbd ignored SIGTERM and had to be killed`);
        }
        removeTempDir(this.dir);
    }
}

const TCP: Target = { tcp: true };
const SOCKET: Target = { socket: true };
const PROBES = ["startupProbe", "readinessProbe", "livenessProbe"] as const;

/** Size option values (409M) in bytes; other values as the server prints them. */
function expectedVariable(value: string | undefined): string {
    if (value === undefined) return "1"; // a bare flag such as skip-name-resolve
    const size = /^(\d+)([KMG])$/i.exec(value);
    if (size) return String(Number(size[1]) * 1024 ** ("KMG".indexOf(size[2].toUpperCase()) + 1));
    return value;
}

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
        const rewritten = new Set(["init_file"]);
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
            assert.strictEqual(hosts, "%", `user ${a.user} (declared in ${a.secret}) should exist once, at host '%', created by init.sql`);
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

    it("restarts cleanly: probes fail while down, init_file runs again (reconciles a drifted password), users and data stay, no duplicates", async function () {
        const pw = rd.root.password;
        const drifted = rd.apps[0];
        const grantsBefore: Record<string, string> = {};
        for (const a of rd.apps) {
            grantsBefore[a.user] = await db!.query(TCP, "root", pw, `SHOW GRANTS FOR '${a.user}'@'%'`);
        }
        // Someone changed a password by hand: the generated one stops working until the next start.
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
        for (const a of rd.apps) {
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT CURRENT_USER()"), `${a.user}@%`, `${a.user} logs in after the restart (${a === drifted ? "password reconciled by init_file" : "unchanged"})`);
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
