// Real-server proof of MariaDB's backups: the RENDERED backup CronJob script and binary-log archiver run
// against a real mariadbd that runs the rendered my.cnf (binary logging from the prod stack) and init.sql
// (the backup account), as the pod's unprivileged user, with only the mounts' paths and the service host
// replaced; scripts/restore-mariadb.sh restores what they wrote into fresh servers. Proven: back up, write
// more, restore, compare; a point-in-time restore that stops between two transactions has the first and
// not the second; a restore to the end equals the source; a damaged dump is refused before the server is
// touched; the backup account can read but not write; after a promotion the new primary's logs (named like
// the old one's) go to a directory of their own and a restore from the old primary's dump replays across the
// promotion. Skips locally without mariadbd; fails in CI.

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MARIADB_BACKUP, MARIADB_BACKUP_PATHS, MARIADB_OPERATIONS_USERS, MARIADB_PATHS } from "../../../components/mariadb";
import { renderStack, ROOT, type Manifest } from "../../../scripts/lib/mockRuntime";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, MariaDbRendered, TCP, withSecretsOf } from "../../helpers/mariadb";
import { clientOptions, fileOf, prodWithoutTls, localizeScript, renderedCronJob, rewriteClientOptions, type RenderedRun } from "../../helpers/ops";
import { describeRun, makeTempDir, removeTempDir, run, waitFor } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

const RESTORE = path.join(ROOT, "scripts", "restore-mariadb.sh");
const PROMOTE = path.join(ROOT, "scripts", "promote-mariadb.sh");

describe("real servers: MariaDB backups (rendered CronJobs) and restores (scripts/restore-mariadb.sh), point in time included", function () {
    this.timeout(240_000);
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string>;
    let rd: MariaDbRendered;
    let objects: Manifest[];
    let source: LocalMariaDb | undefined;
    const targets: LocalMariaDb[] = [];
    let work: string;
    /** The job's HOME and working directory, owned by the server's (the pod's) user. */
    let home: string;
    let backupDir: string;
    let binlogDir: string;
    let clientCnf: string;
    let rootCnf: string;
    let full: RenderedRun;
    let archive: RenderedRun;
    const app = { user: "", password: "", database: "" };

    async function runRendered(job: RenderedRun, label: string): Promise<string> {
        const { text, replaced } = localizeScript(job.script, {
            [MARIADB_BACKUP_PATHS.full]: path.join(backupDir, "full"),
            [MARIADB_BACKUP_PATHS.backup]: backupDir,
            [MARIADB_BACKUP_PATHS.binlogs]: binlogDir,
            [MARIADB_BACKUP_PATHS.clientFile]: clientCnf,
        });
        const r = await run("bash", ["-c", text], { env: { PATH: process.env.PATH, HOME: home, LANG: "C" }, uid: source!.user.uid, gid: source!.user.gid, timeoutMs: 60_000 });
        assert.strictEqual(r.code, 0, `${label} (${job.scriptSource}; replaced only ${replaced}): ${describeRun(r)}`);
        return r.stdout + r.stderr;
    }

    async function freshServer(label: string): Promise<LocalMariaDb> {
        const db = new LocalMariaDb(label, rd, bins);
        targets.push(db);
        await db.initialise();
        await db.startServer();
        return db;
    }

    async function restore(db: LocalMariaDb, args: string[]): Promise<ReturnType<typeof run>> {
        fs.writeFileSync(rootCnf, `[client]\nuser = root\npassword = ${rd.root.password}\nprotocol = tcp\nhost = 127.0.0.1\nport = ${db.port}\n`, { mode: 0o600 });
        return run("bash", [RESTORE, "--defaults-extra-file", rootCnf, ...args], { env: { PATH: process.env.PATH, HOME: work, LANG: "C" }, timeoutMs: 120_000 });
    }

    const rows = (db: LocalMariaDb) => db.query(TCP, "root", rd.root.password, "SELECT id, note FROM ledger ORDER BY id", app.database);

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump", "mariadb-binlog", "gzip", "sha256sum"], INSTALL_HINT);
        stopClock = startClock("mariadb-backup");
        const config = prodWithoutTls();
        objects = (await renderStack("prod", { withSecrets: true, config })).objects;
        // loadRendered renders again (new passwords): take the generated values of the render the CronJobs come from.
        rd = withSecretsOf(await loadRendered("prod", config), objects);
        full = renderedCronJob(objects, "db", MARIADB_BACKUP.cronJob);
        archive = renderedCronJob(objects, "db", MARIADB_BACKUP.binlogCronJob);
        work = makeTempDir("mariadb-backup");
        backupDir = path.join(work, "backup-claim");
        binlogDir = path.join(work, "binlog-claim");
        home = path.join(work, "home");
        for (const d of [backupDir, binlogDir, home]) fs.mkdirSync(d, { mode: 0o700 });
        // The jobs run as the pod's unprivileged user: they may pass through the test's directory, not read it.
        fs.chmodSync(work, 0o711);
        source = await freshServer("mariadb-backup-source");
        for (const d of [backupDir, binlogDir, home]) source.own(d);
        // The backup account's option file as its Secret renders it; only the service host and port are local.
        const rendered = fileOf(objects, full.workload, full.container, MARIADB_BACKUP_PATHS.clientFile);
        clientCnf = path.join(work, "client.cnf");
        fs.writeFileSync(clientCnf, rewriteClientOptions(rendered, { host: "127.0.0.1", port: String(source.port) }), { mode: 0o600 });
        source.own(clientCnf);
        rootCnf = path.join(work, "root.cnf");
        const a = rd.apps[0];
        Object.assign(app, { user: a.user, password: a.password, database: a.database });
    });

    after(async function () {
        for (const t of targets) await t.dispose();
        removeTempDir(work);
        stopClock?.();
    });

    it("renders hardened CronJobs: Forbid, deadlines, history limits, credentials only as a mounted option file", function () {
        for (const job of [full, archive]) {
            const spec = job.cron.spec as Record<string, unknown> & { jobTemplate: { spec: Record<string, unknown> } };
            assert.strictEqual(spec.concurrencyPolicy, "Forbid");
            assert.ok(Number(spec.startingDeadlineSeconds) > 0 && Number(job.cron.spec && spec.successfulJobsHistoryLimit) > 0 && Number(spec.failedJobsHistoryLimit) > 0);
            assert.ok(Number(spec.jobTemplate.spec.activeDeadlineSeconds) > 0);
            assert.deepStrictEqual(job.container.env ?? [], [], "no environment: the credentials are in the mounted option file");
            assert.ok(!JSON.stringify(job.container).includes(rd.root.password), "no root password in the container");
        }
        const options = clientOptions(fileOf(objects, full.workload, full.container, MARIADB_BACKUP_PATHS.clientFile));
        assert.strictEqual(options.user, MARIADB_OPERATIONS_USERS.backup.user);
        assert.strictEqual(options.host, "mariadb.db.svc.cluster.local");
    });

    it("gives the backup account read and binary-log access only: no write, no DDL, no access to mysql.global_priv", async function () {
        const o = clientOptions(fs.readFileSync(clientCnf, "utf8"));
        const as = (sql: string) => source!.sql(TCP, o.user, o.password, sql);
        assert.strictEqual((await as("SELECT COUNT(*) FROM information_schema.schemata")).code, 0, "the backup account logs in");
        for (const sql of [`CREATE TABLE \`${app.database}\`.intruder (i INT)`, `DROP DATABASE \`${app.database}\``, "SELECT * FROM mysql.global_priv", "CREATE USER x IDENTIFIED BY 'y'"]) {
            const r = await as(sql);
            assert.match(r.stderr, /ERROR 1(044|142|227|045)/, `backup account: ${sql} must be refused: ${describeRun(r)}`);
        }
        const grants = await source!.query(TCP, "root", rd.root.password, "SHOW GRANTS FOR 'backup'@'%'");
        assert.doesNotMatch(grants, /INSERT|UPDATE|DELETE|ALL PRIVILEGES|SUPER/, grants);
    });

    it("backs up (rendered backup.sh), writes more, restores into a fresh server: the rows are the backup's", async function () {
        await source!.query(TCP, app.user, app.password, "CREATE TABLE ledger (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB", app.database);
        for (let i = 1; i <= 50; i++) await source!.query(TCP, app.user, app.password, `INSERT INTO ledger VALUES (${i}, 'before backup ${i}')`, app.database);
        const atBackup = await rows(source!);
        const out = await runRendered(full, "backup.sh");
        const latest = fs.readFileSync(path.join(backupDir, "full", "LATEST"), "utf8").trim();
        assert.match(latest, /^mariadb-full-\d{8}T\d{6}Z\.sql\.gz$/, out);
        assert.deepStrictEqual(fs.readdirSync(path.join(backupDir, "full")).filter((f) => f.startsWith(".partial")), [], "no partial file left");
        await source!.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (51, 'after backup')", app.database);

        const target = await freshServer("mariadb-restore-full");
        const r = await restore(target, ["--latest", path.join(backupDir, "full")]);
        assert.strictEqual(r.code, 0, `restore-mariadb.sh --latest: ${describeRun(r)}`);
        assert.strictEqual(await rows(target), atBackup, "the restored rows are exactly those at the backup");
        assert.strictEqual(await target.query(TCP, "root", rd.root.password, "SELECT @@GLOBAL.read_only"), "0", "writable again after the restore");
        assert.strictEqual(await target.query(TCP, app.user, app.password, "SELECT COUNT(*) FROM ledger", app.database), "50", "the application user reads the restored data");
    });

    it("archives binary logs (rendered binlog-archive.sh) and restores to a point in time between two transactions: the first is there, the second is not", async function () {
        await source!.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (100, 'first transaction')", app.database);
        const t1 = await source!.query(TCP, "root", rd.root.password, "SELECT UTC_TIMESTAMP()");
        // Binary-log timestamps have one-second resolution: the stop point is a whole second after the first.
        await new Promise((res) => setTimeout(res, 2100));
        const stopAt = await source!.query(TCP, "root", rd.root.password, "SELECT UTC_TIMESTAMP()");
        await new Promise((res) => setTimeout(res, 1100));
        await source!.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (200, 'second transaction')", app.database);
        const out = await runRendered(archive, "binlog-archive.sh");
        // In the directory of the server's server_id (1: a standalone server, or a replicated stack's mariadb-0).
        const archived = fs.readdirSync(path.join(binlogDir, "server-1")).filter((f) => /^mariadb-bin\.\d{6}$/.test(f));
        assert.ok(archived.length >= 1, `archived logs: ${archived.join(", ")}\n${out}`);
        assert.deepStrictEqual(fs.readdirSync(binlogDir), ["server-1"], "nothing at the archive's top level");
        // Run again with nothing new: no new empty log, nothing copied twice.
        const logNames = async () => (await source!.query(TCP, "root", rd.root.password, "SHOW BINARY LOGS")).split("\n").map((l) => l.split("\t")[0]);
        const logsBefore = await logNames();
        await runRendered(archive, "binlog-archive.sh (idle)");
        assert.deepStrictEqual(await logNames(), logsBefore, "an idle run closes no log");

        const target = await freshServer("mariadb-restore-pitr");
        const r = await restore(target, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir, "--stop-datetime", stopAt]);
        assert.strictEqual(r.code, 0, `restore-mariadb.sh --stop-datetime ${stopAt}: ${describeRun(r)}`);
        const ids = (await target.query(TCP, "root", rd.root.password, "SELECT id FROM ledger WHERE id >= 51 ORDER BY id", app.database)).split("\n");
        assert.deepStrictEqual(ids, ["51", "100"], `stopped at ${stopAt} (first transaction at ${t1}): has row 51 and the first transaction, not the second`);

        // The same dump and logs to their end: equal to the source.
        const r2 = await restore(target, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir]);
        assert.strictEqual(r2.code, 0, `restore-mariadb.sh to the end: ${describeRun(r2)}`);
        assert.strictEqual(await rows(target), await rows(source!), "a restore to the end of the archive equals the source");
    });

    it("refuses a damaged dump before touching the server (which stays writable and unchanged)", async function () {
        const target = targets[targets.length - 1];
        const before = await rows(target);
        const latest = fs.readFileSync(path.join(backupDir, "full", "LATEST"), "utf8").trim();
        const damaged = path.join(work, latest);
        fs.copyFileSync(path.join(backupDir, "full", latest), damaged);
        fs.copyFileSync(path.join(backupDir, "full", `${latest}.sha256`), `${damaged}.sha256`);
        fs.appendFileSync(damaged, "garbage");
        const r = await restore(target, ["--dump", damaged]);
        assert.notStrictEqual(r.code, 0, "a damaged dump must be refused");
        assert.match(r.stderr, /sha256 does not match/, describeRun(r));
        assert.strictEqual(await target.query(TCP, "root", rd.root.password, "SELECT @@GLOBAL.read_only"), "0");
        assert.strictEqual(await rows(target), before);
    });

    it("keeps the datadir and the rendered paths as they were (binary logs in the datadir, named after log_basename)", function () {
        const logs = fs.readdirSync(source!.dataDir).filter((f) => f.startsWith("mariadb-bin."));
        assert.ok(logs.includes("mariadb-bin.index"), `binary logs in ${MARIADB_PATHS.datadir}: ${logs.join(", ")}`);
    });

    it("after a promotion: the new primary's logs, named like the old one's, go to a directory of their own, and a restore from a dump of the old primary replays across the promotion", async function () {
        const pw = rd.root.password;
        const root = (db: LocalMariaDb, sql: string) => db.query(TCP, "root", pw, sql);
        const appSql = (db: LocalMariaDb, sql: string) => db.query(TCP, app.user, app.password, sql, app.database);
        // A replica of the source, as a replicated stack's mariadb-1 (server_id 2, read-only, no semi-sync wait of
        // its own), from the start of the source's log; replication as root (the account is not under test here).
        const replica = new LocalMariaDb("mariadb-backup-replica", rd, bins);
        targets.push(replica);
        replica.serverArgs = ["--server-id=2"];
        await replica.initialise();
        // The reconcile Job reaches the primary only (the client Service): the replica gets its work by replication.
        await replica.startServer("replica", { reconcile: false });
        await root(replica, `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${source!.port}, MASTER_USER = 'root', MASTER_PASSWORD = '${pw}', MASTER_USE_GTID = slave_pos; START SLAVE; SET GLOBAL read_only = ON, rpl_semi_sync_master_enabled = OFF`);
        const caughtUp = () => waitFor("the replica to reach the source", async () => (await root(replica, "SELECT @@gtid_slave_pos")) === (await root(source!, "SELECT @@gtid_binlog_pos")), { timeoutMs: 30_000 });
        await caughtUp();

        // More than a pipe's buffer of dump: reading its head must not kill the restore (gzip's SIGPIPE).
        await appSql(source!, "CREATE TABLE bulk (id INT PRIMARY KEY, body MEDIUMTEXT) ENGINE=InnoDB");
        await appSql(source!, "INSERT INTO bulk VALUES (1, REPEAT('x', 300000))");
        // The nightly dump of the primary, a write archived from it, and one the archive never got from it.
        await runRendered(full, "backup.sh (the old primary)");
        await appSql(source!, "INSERT INTO ledger VALUES (300, 'archived from the old primary')");
        await runRendered(archive, "binlog-archive.sh (the old primary)");
        await caughtUp();
        // The replica keeps days of logs, not all: its oldest kept log starts after the dump.
        await root(replica, "FLUSH BINARY LOGS");
        const newest = (await root(replica, "SHOW MASTER STATUS")).split("\t")[0];
        // PURGE keeps a log that crash recovery may still need (until its binlog checkpoint): until it goes.
        await waitFor(`the replica's logs before ${newest} purged`, async () => {
            await root(replica, `PURGE BINARY LOGS TO '${newest}'`);
            return (await root(replica, "SHOW BINARY LOGS")).split("\n")[0].startsWith(`${newest}\t`);
        }, { timeoutMs: 30_000, intervalMs: 500 });
        await appSql(source!, "INSERT INTO ledger VALUES (301, 'never archived from the old primary')");
        await caughtUp();
        const hash = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
        const listing = () => {
            const out = new Map<string, string>();
            const walk = (d: string, rel: string) => {
                for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                    if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
                    else if (/^mariadb-bin\.\d{6}$/.test(e.name)) out.set(`${rel}${e.name}`, hash(path.join(d, e.name)));
                }
            };
            walk(binlogDir, "");
            return out;
        };
        const beforePromotion = listing();

        // The old primary is lost; promote-mariadb.sh promotes the replica (mariadb-0 unreachable).
        await source!.stopServer();
        const dir = makeTempDir("mariadb-promote");
        [source!, replica].forEach((p, i) => fs.writeFileSync(path.join(dir, `${i}.cnf`), `[client]\nuser = root\npassword = ${pw}\nhost = 127.0.0.1\nport = ${p.port}\nprotocol = tcp\n`, { mode: 0o600 }));
        const promoted = await run("bash", [PROMOTE, "--defaults-dir", dir, "--replicas", "2"], { timeoutMs: 120_000 });
        removeTempDir(dir);
        assert.strictEqual(promoted.code, 0, `promote-mariadb.sh: ${describeRun(promoted)}`);
        // `pulumi up`: the client Service, which the CronJobs' option file names, reaches the new primary.
        fs.writeFileSync(clientCnf, rewriteClientOptions(fs.readFileSync(clientCnf, "utf8"), { port: String(replica.port) }), { mode: 0o600 });
        await appSql(replica, "INSERT INTO ledger VALUES (400, 'on the new primary')");
        await new Promise((res) => setTimeout(res, 1100));
        const stopAt = await root(replica, "SELECT UTC_TIMESTAMP()");
        await new Promise((res) => setTimeout(res, 1100));
        await appSql(replica, "INSERT INTO ledger VALUES (401, 'after the stop point')");
        const out = await runRendered(archive, "binlog-archive.sh (the new primary)");
        const after = listing();
        const replaced = [...beforePromotion].filter(([f, h]) => after.get(f) !== h).map(([f]) => f);
        const added = [...after.keys()].filter((f) => !beforePromotion.has(f));
        const names = (fs: Iterable<string>) => [...fs].map((f) => f.replace(/^.*\//, ""));
        const collisions = names(added).filter((n) => names(beforePromotion.keys()).includes(n));
        console.log(
            [
                `      archive before the promotion: ${[...beforePromotion.keys()].join(", ")}`,
                `      after the new primary's run: ${added.length} log(s) added (${added.join(", ")}), ${collisions.length} of them named like one of the old primary's; the old primary's logs changed: ${replaced.length}${replaced.length ? ` (${replaced.join(", ")})` : ""}`,
                ...out.trim().split("\n").map((l) => `        ${l}`),
            ].join("\n"),
        );

        const target = await freshServer("mariadb-restore-across-promotion");
        const r = await restore(target, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir]);
        const want = await rows(replica);
        const got = r.code === 0 ? await rows(target) : "";
        const missing = want.split("\n").filter((l) => !got.split("\n").includes(l));
        console.log(`      restore of the old primary's dump with the archive (to its end): exit ${r.code}; ${want.split("\n").length} rows on the new primary, ${missing.length} missing after the restore${missing.length ? ` (ids ${missing.map((l) => l.split("\t")[0]).slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""})` : ""}`);
        console.log(r.stderr.trim().split("\n").filter((l) => /binary logs|replay|FAILED|ERROR|restore-mariadb: [^r]/.test(l)).map((l) => `        ${l}`).join("\n"));
        assert.strictEqual(replaced.length, 0, "no archived log of the old primary is replaced");
        assert.ok(collisions.length > 0, "the new primary's log names are the old primary's: the directories keep them apart");
        assert.deepStrictEqual(fs.readdirSync(binlogDir).sort(), ["server-1", "server-2"]);
        assert.strictEqual(r.code, 0, `restore-mariadb.sh across the promotion: ${describeRun(r)}`);
        assert.strictEqual(got, want, "the restore equals the new primary: the old primary's dump, its archived logs, then the new primary's");
        assert.match(r.stderr, /binary logs: server-1 .* after GTID 0-1-\d+ through 0-1-\d+/, "the old primary's logs up to where the new primary's archive starts");
        assert.match(r.stderr, /binary logs: server-2 .* after GTID 0-1-\d+\n/, "then the new primary's");
        assert.strictEqual(await target.query(TCP, app.user, app.password, "SELECT LENGTH(body) FROM bulk WHERE id = 1", app.database), "300000");

        // To a point in time after the promotion: the new primary's first write, not its second.
        const pitr = await restore(target, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir, "--stop-datetime", stopAt]);
        assert.strictEqual(pitr.code, 0, describeRun(pitr));
        assert.deepStrictEqual((await target.query(TCP, "root", pw, "SELECT id FROM ledger WHERE id >= 300 ORDER BY id", app.database)).split("\n"), ["300", "301", "400"]);
        // A log named by its name alone is ambiguous now.
        const common = collisions[0];
        const ambiguous = await restore(target, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir, "--stop-position", `${common}:4`]);
        assert.notStrictEqual(ambiguous.code, 0);
        assert.match(ambiguous.stderr, new RegExp(`${common.replace(/\./g, "\\.")} is in several servers' directories \\(server-1,server-2\\): name it as DIR/`));
        console.log(`      restore to ${stopAt} (between the new primary's two writes): rows 300, 301, 400; --stop-position ${common}:4 refused as ambiguous`);

        // A server_id in a new life (a rebuilt volume: server_id 1 again, its logs from 000001 again): the
        // archive keeps the earlier life's logs, moved aside whole, and starts a new directory.
        fs.writeFileSync(clientCnf, rewriteClientOptions(fs.readFileSync(clientCnf, "utf8"), { port: String(target.port) }), { mode: 0o600 });
        assert.strictEqual(await root(target, "SELECT @@server_id"), "1");
        const rerun = await runRendered(archive, "binlog-archive.sh (server_id 1, a new life)");
        const aside = fs.readdirSync(binlogDir).filter((d) => d.startsWith("server-1.until-"));
        assert.strictEqual(aside.length, 1, `${fs.readdirSync(binlogDir).join(", ")}\n${rerun}`);
        const kept = listing();
        for (const [f, h] of beforePromotion) assert.strictEqual(kept.get(f.replace(/^server-1\//, `${aside[0]}/`)), h, `${f} kept, unchanged, in ${aside[0]}`);
        assert.ok([...kept.keys()].some((f) => f.startsWith("server-1/")), "the new life's logs in server-1");
        console.log(`      server_id 1 again, with other logs: ${rerun.trim().split("\n").find((l) => /new life/.test(l))}`);
        // Those logs hold the restores' replay (old GTIDs logged again): the archiver copied them; a replay that
        // reaches them stops at its check, before the server is touched.
        const replayed = await restore(replica, ["--latest", path.join(backupDir, "full"), "--binlogs", binlogDir]);
        assert.notStrictEqual(replayed.code, 0);
        assert.match(replayed.stderr, /out of order GTID[\s\S]*mariadb-binlog cannot read it/, describeRun(replayed));
        assert.doesNotMatch(replayed.stderr, /read_only is ON/, "stopped before the server was touched");
        assert.strictEqual(await root(replica, "SELECT @@read_only"), "0");
    });
});
