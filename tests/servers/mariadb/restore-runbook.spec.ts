// The MariaDB restore runbook of docs/operations/backup-restore.md, executed: its block's kubectl steps run as
// written (tests/helpers/runbookKubectl.ts) against a real mariadbd running the rendered prod my.cnf and init
// SQL (TLS off: the test reaches 127.0.0.1). The claims mariadb-backup and mariadb-binlog-archive are
// directories filled by the rendered backup and binlog-archive CronJobs, Secret mariadb-credentials is the
// render's, and the Service's name resolves to the test's server (its port through MYSQL_TCP_PORT). The restore
// goes into the running server, as on a cluster. Proven: point in time (the page's block with its stop time
// replaced by the test's) has the first of two transactions and not the second; the newest dump alone (the
// block without `--binlogs` and `--stop-datetime`, as the page says) has the rows of the backup the runbook's
// last step took. Skips locally without mariadbd; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MARIADB_BACKUP, MARIADB_BACKUP_PATHS } from "../../../components/mariadb";
import { find } from "../../../scripts/lib/manifests";
import { renderStack, type Manifest } from "../../../scripts/lib/mockRuntime";
import { secretData } from "../../../scripts/lib/rendered";
import { describeRun, makeTempDir, removeTempDir, run } from "../../../scripts/lib/servers";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, MariaDbRendered, TCP, withSecretsOf } from "../../helpers/mariadb";
import { fileOf, localizeScript, prodWithoutTls, renderedCronJob, rewriteClientOptions, type RenderedRun } from "../../helpers/ops";
import { runRunbook, type RunbookCluster } from "../../helpers/runbookKubectl";
import { runbookBlock } from "../../helpers/runbooks";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

const PAGE = "docs/operations/backup-restore.md";
/** The page's example stop time, which the reader replaces by theirs (as the test does). */
const PAGE_STOP = /--stop-datetime '[^']*'/;

describe(`real servers: the MariaDB restore runbook (${PAGE}), step by step, full and point in time`, function () {
    this.timeout(240_000);
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string>;
    let rd: MariaDbRendered;
    let objects: Manifest[];
    let server: LocalMariaDb | undefined;
    let work: string;
    let home: string;
    let backupDir: string;
    let binlogDir: string;
    let clientCnf: string;
    let full: RenderedRun;
    let archive: RenderedRun;
    const jobsRun: string[] = [];
    const app = { user: "", password: "", database: "" };

    async function runRendered(job: RenderedRun, label: string): Promise<void> {
        const { text, replaced } = localizeScript(job.script, {
            [MARIADB_BACKUP_PATHS.full]: path.join(backupDir, "full"),
            [MARIADB_BACKUP_PATHS.backup]: backupDir,
            [MARIADB_BACKUP_PATHS.binlogs]: binlogDir,
            [MARIADB_BACKUP_PATHS.clientFile]: clientCnf,
        });
        const r = await run("bash", ["-c", text], { env: { PATH: process.env.PATH, HOME: home, LANG: "C" }, uid: server!.user.uid, gid: server!.user.gid, timeoutMs: 60_000 });
        assert.strictEqual(r.code, 0, `${label} (${job.scriptSource}; replaced only ${replaced}): ${describeRun(r)}`);
    }

    const appSql = (sql: string) => server!.query(TCP, app.user, app.password, sql, app.database);
    const ids = async () => (await server!.query(TCP, "root", rd.root.password, "SELECT id FROM ledger ORDER BY id", app.database)).split("\n").map(Number);
    const latest = () => fs.readFileSync(path.join(backupDir, "full", "LATEST"), "utf8").trim();
    const utcNow = () => server!.query(TCP, "root", rd.root.password, "SELECT UTC_TIMESTAMP()");

    function cluster(): RunbookCluster {
        return {
            namespace: "db",
            claims: { "mariadb-backup": backupDir, "mariadb-binlog-archive": binlogDir },
            podLabels: {},
            secrets: { "mariadb-credentials": secretData(find(objects, "Secret", "db", "mariadb-credentials")) },
            hosts: { "mariadb.db.svc.cluster.local": "127.0.0.1" },
            env: { MYSQL_TCP_PORT: String(server!.port) },
            cronJobs: {
                [MARIADB_BACKUP.cronJob]: async (job) => {
                    jobsRun.push(job);
                    await runRendered(full, `kubectl create job ${job}`);
                },
            },
        };
    }

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump", "mariadb-binlog", "gzip", "sha256sum"], INSTALL_HINT);
        stopClock = startClock("mariadb-restore-runbook");
        const config = prodWithoutTls();
        objects = (await renderStack("prod", { withSecrets: true, config })).objects;
        rd = withSecretsOf(await loadRendered("prod", config), objects);
        full = renderedCronJob(objects, "db", MARIADB_BACKUP.cronJob);
        archive = renderedCronJob(objects, "db", MARIADB_BACKUP.binlogCronJob);
        work = makeTempDir("mariadb-runbook");
        backupDir = path.join(work, "mariadb-backup");
        binlogDir = path.join(work, "mariadb-binlog-archive");
        home = path.join(work, "home");
        for (const d of [backupDir, binlogDir, home]) fs.mkdirSync(d, { mode: 0o700 });
        fs.chmodSync(work, 0o711);
        server = new LocalMariaDb("mariadb-runbook", rd, bins);
        await server.initialise();
        await server.startServer();
        for (const d of [backupDir, binlogDir, home]) server.own(d);
        const rendered = fileOf(objects, full.workload, full.container, MARIADB_BACKUP_PATHS.clientFile);
        clientCnf = path.join(work, "client.cnf");
        fs.writeFileSync(clientCnf, rewriteClientOptions(rendered, { host: "127.0.0.1", port: String(server.port) }), { mode: 0o600 });
        server.own(clientCnf);
        Object.assign(app, rd.apps[0]);
    });

    after(async function () {
        await server?.dispose();
        if (work) removeTempDir(work);
        stopClock?.();
    });

    it("to a point in time, into the running server: the first of two transactions is there, the second is not; then a new full backup", async function () {
        await appSql("CREATE TABLE ledger (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB");
        for (let i = 1; i <= 20; i++) await appSql(`INSERT INTO ledger VALUES (${i}, 'before backup')`);
        await runRendered(full, "nightly backup");
        const nightly = latest();
        await appSql("INSERT INTO ledger VALUES (100, 'first transaction')");
        // Binary-log timestamps have one-second resolution: the stop point is a whole second after the first.
        await new Promise((res) => setTimeout(res, 2100));
        const stopAt = await utcNow();
        await new Promise((res) => setTimeout(res, 1100));
        await appSql("INSERT INTO ledger VALUES (200, 'second transaction (the mistake)')");
        await runRendered(archive, "binlog archive");

        const block = runbookBlock(PAGE, "restore-mariadb");
        assert.match(block, PAGE_STOP, "the block restores to a point in time (--stop-datetime '...')");
        await runRunbook(block.replace(PAGE_STOP, `--stop-datetime '${stopAt}'`), cluster(), home);
        assert.deepStrictEqual(await ids(), [...Array.from({ length: 20 }, (_, i) => i + 1), 100], `stopped at ${stopAt}: the first transaction, not the second`);
        assert.strictEqual(await server!.query(TCP, "root", rd.root.password, "SELECT @@GLOBAL.read_only"), "0", "writable again after the runbook");
        assert.deepStrictEqual(jobsRun, ["mariadb-backup-after-restore"], "the runbook's last step takes a new full backup");
        assert.notStrictEqual(latest(), nightly, "a new dump is the latest");
    });

    it("the newest dump alone (the block without --binlogs and --stop-datetime): the rows of the backup taken after the last restore", async function () {
        const atBackup = await ids();
        await appSql("INSERT INTO ledger VALUES (300, 'after the backup')");
        const block = runbookBlock(PAGE, "restore-mariadb");
        const withoutLogs = block.replace(/ --binlogs \S+ --stop-datetime '[^']*'/, "");
        assert.notStrictEqual(withoutLogs, block, "the page's --binlogs and --stop-datetime, which it says to drop for the newest dump alone");
        await runRunbook(withoutLogs, cluster(), home);
        assert.deepStrictEqual(await ids(), atBackup, "exactly the rows of the newest dump");
        assert.strictEqual(await server!.query(TCP, app.user, app.password, "SELECT @@GLOBAL.read_only"), "0");
    });
});
