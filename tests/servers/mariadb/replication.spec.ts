// Real-server proof of MariaDB replication: three local mariadbd processes (Debian's 10.11) run the RENDERED
// prod configuration with mariadb.replicas 3 (TLS off: the test reaches 127.0.0.1, which no certificate
// names): my.cnf, the start script (run unchanged, with the image's entrypoint replaced by a shim that hands
// its arguments to the local server), the clone init container's script, init.sql and init-replica.sql.
// Only paths, ports and the pods' host names are substituted, and the test prints which. Proven: a new
// replica clones the primary and catches up (lag measured under a write load); a replica refuses writes from
// an application user; the replication account reads no application data; under semi-sync no acknowledged
// commit is lost when the primary is killed -9; scripts/promote-mariadb.sh promotes the most advanced
// replica, the other replica and the restarted old primary replicate from it. Skips locally without
// mariadbd; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MARIADB_PATHS, MARIADB_PORT, mariadbPodHost, REPLICATION_USER } from "../../../components/mariadb";
import { renderStack, ROOT, type Manifest } from "../../../scripts/lib/mockRuntime";
import { find } from "../../../scripts/lib/manifests";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, MariaDbRendered, TCP } from "../../helpers/mariadb";
import { localizeScript, prodWithoutTls } from "../../helpers/ops";
import { secretData } from "../../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

/** The server log's line about init_file's failed statement, for the printed figures. */
function errorSummary(log: string): string {
    return (log.split("\n").find((l) => /msa_no_such_user/.test(l)) ?? "(no line)").replace(/^.*\[ERROR\]\s*/, "").slice(0, 160);
}

const PODS = 3;
const PROMOTE = path.join(ROOT, "scripts", "promote-mariadb.sh");

interface Render {
    rd: MariaDbRendered;
    start: string;
    clone: string;
    replicaInit: string;
    replicationPassword: string;
}

/** The prod stack with TLS off and `pods` MariaDB pods whose primary is `primary`; one seed, so one set of passwords. */
async function renderReplicated(primary: number, seed: string): Promise<Render> {
    const config = prodWithoutTls();
    config.mariadb = { ...(config.mariadb as object), replicas: PODS, primary, semiSync: true };
    const objects: Manifest[] = (await renderStack("prod", { withSecrets: true, config, seed })).objects;
    const rd = await loadRendered("prod", config, seed);
    const cm = find(objects, "ConfigMap", "db", "mariadb-replication") as unknown as { data: Record<string, string> };
    const init = secretData(find(objects, "Secret", "db", "mariadb-init"));
    assert.strictEqual(init["init.sql"], rd.initSql, "one seed: the two renders agree");
    const m = /MASTER_PASSWORD = '([A-Za-z0-9]+)'/.exec(init["init-replica.sql"]);
    assert.ok(m, "init-replica.sql names the replication password");
    return { rd, start: cm.data["start.sh"], clone: cm.data["clone.sh"], replicaInit: init["init-replica.sql"], replicationPassword: m[1] };
}

describe("real servers: MariaDB GTID replication, semi-sync, kill -9 of the primary and scripted promotion (rendered prod, 3 pods)", function () {
    this.timeout(300_000);
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string>;
    let seed: string;
    let r0: Render;
    const pods: LocalMariaDb[] = [];
    let shimDir: string;
    let work: string;
    let writer: ServerProcess | undefined;
    const app = { user: "", password: "", database: "" };
    const root = () => r0.rd.root.password;

    /** Runs the rendered start script as pod `ordinal`; returns the arguments it gives the entrypoint, localised. */
    async function startArgs(r: Render, pod: LocalMariaDb, ordinal: number, primaryPort: number): Promise<string[]> {
        const out = path.join(shimDir, `args-${ordinal}-${randomToken(6)}`);
        const res = await run("bash", ["-c", r.start], { env: { PATH: `${shimDir}:${process.env.PATH}`, HOSTNAME: `mariadb-${ordinal}`, SHIM_OUT: out }, timeoutMs: 10_000 });
        assert.strictEqual(res.code, 0, `start.sh as mariadb-${ordinal}: ${describeRun(res)}`);
        const [cmd, ...args] = fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "");
        assert.strictEqual(cmd, "mariadbd", "start.sh runs the entrypoint with mariadbd");
        const replicaInit = path.join(pod.dir, "init-replica.sql");
        const localInit = r.replicaInit.split(`'${mariadbPodHost(Number(/replica of mariadb-(\d)/.exec(res.stdout)?.[1] ?? -1), "db")}'`).join("'127.0.0.1'").split(`MASTER_PORT = ${MARIADB_PORT}`).join(`MASTER_PORT = ${primaryPort}`);
        fs.writeFileSync(replicaInit, localInit, { mode: 0o600 });
        pod.own(replicaInit);
        const localised = args.map((a) => (a === `--init-file=${MARIADB_PATHS.replicaInitFile}` ? `--init-file=${replicaInit}` : a));
        console.log(`      mariadb-${ordinal}: start.sh → mariadbd ${args.join(" ")}${args.some((a) => a.startsWith("--init-file")) ? ` (init-replica.sql: MASTER_HOST → 127.0.0.1, MASTER_PORT → ${primaryPort})` : ""}`);
        return localised;
    }

    /** The rendered clone init container's script, as pod `ordinal`, from the primary listening on `primaryPort`. */
    async function clone(r: Render, pod: LocalMariaDb, ordinal: number, primary: number, primaryPort: number): Promise<string> {
        const { text, replaced } = localizeScript(r.clone, {
            [MARIADB_PATHS.data]: pod.volumeDir,
            [MARIADB_PATHS.rootPasswordFile]: pod.rootPasswordFile,
            [MARIADB_PATHS.socket]: pod.socket,
            [mariadbPodHost(primary, "db")]: "127.0.0.1",
            [`port = ${MARIADB_PORT}`]: `port = ${primaryPort}`,
            [`port=${MARIADB_PORT}`]: `port=${pod.port}`,
        });
        console.log(`      mariadb-${ordinal}: clone.sh with ${replaced}`);
        const res = await run("bash", ["-c", text], { env: { PATH: `${process.env.PATH}:/usr/sbin`, HOSTNAME: `mariadb-${ordinal}`, LANG: "C" }, uid: pod.user.uid, gid: pod.user.gid, timeoutMs: 120_000 });
        assert.strictEqual(res.code, 0, `clone.sh as mariadb-${ordinal}: ${describeRun(res)}`);
        return res.stdout;
    }

    async function newPod(ordinal: number, r: Render): Promise<LocalMariaDb> {
        const pod = new LocalMariaDb(`mariadb-repl-${ordinal}`, r.rd, bins);
        pods[ordinal] = pod;
        return pod;
    }

    /** A replica pod: volume prepared, the Secrets' files written, cloned from the primary, started by start.sh. */
    async function startReplica(ordinal: number, r: Render, primary: number): Promise<void> {
        const pod = pods[ordinal] ?? (await newPod(ordinal, r));
        if (pod.port === 0) pod.port = await freePort();
        pod.rotate(r.rd);
        await pod.prepareVolume();
        const out = await clone(r, pod, ordinal, primary, pods[primary].port);
        pod.healthcheckCnf = path.join(pod.dataDir, ".my-healthcheck.cnf");
        assert.match(out, /clone: (done|.* exists)/, out);
        pod.serverArgs = await startArgs(r, pod, ordinal, pods[primary].port);
        await pod.startServer(`replica-of-${primary}`);
    }

    const q = (i: number, stmt: string, db?: string) => pods[i].query(TCP, "root", root(), stmt, db);
    const slave = async (i: number) => {
        const out = await pods[i].sql(TCP, "root", root(), "SHOW SLAVE STATUS\\G", { columnNames: true });
        return Object.fromEntries(out.stdout.split("\n").map((l) => /^\s*(\w+): ?(.*)$/.exec(l)).filter((m) => m).map((m) => [m![1], m![2]]));
    };
    const rowCount = async (i: number) => Number(await q(i, "SELECT COUNT(*) FROM ledger", app.database));
    /** Until the replica has applied everything the primary logged (both read each time: a last commit may still land). */
    async function caughtUp(i: number, primary: number, timeoutMs = 30_000) {
        await waitFor(`mariadb-${i} to reach mariadb-${primary}'s position`, async () => (await q(i, "SELECT @@gtid_slave_pos")) === (await q(primary, "SELECT @@gtid_binlog_pos")), { timeoutMs, server: pods[i].server });
    }

    /** An application client inserting ids 1, 2, ... one autocommit each, printing an id after the server acknowledged it. */
    function startWriter(i: number, label: string, first = 1): { server: ServerProcess; acked: () => number[] } {
        const log = path.join(work, `writer-${label}.log`);
        const sqlStream = `seq ${first} 100000000 | sed 's/.*/INSERT INTO ledger (id, note) VALUES (&, "w"); SELECT &;/'`;
        const client = `${bins.mariadb} --no-defaults --user=${app.user} --protocol=tcp --host=127.0.0.1 --port=${pods[i].port} --database=${app.database} --batch --skip-column-names --unbuffered`;
        const server = startServer(`writer (${label})`, "bash", ["-c", `${sqlStream} | ${client}`], { logFile: log, env: { PATH: process.env.PATH, MYSQL_PWD: app.password } });
        writer = server;
        const acked = () => server.log().split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
        return { server, acked };
    }

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump"], INSTALL_HINT);
        stopClock = startClock("mariadb-replication");
        seed = randomToken(32);
        r0 = await renderReplicated(0, seed);
        const a = r0.rd.apps.find((x) => x.user === "orders")!;
        Object.assign(app, { user: a.user, password: a.password, database: a.database });
        shimDir = makeTempDir("mariadb-entrypoint-shim");
        work = makeTempDir("mariadb-replication");
        // The image's entrypoint, replaced: it records the arguments start.sh execs it with.
        fs.writeFileSync(path.join(shimDir, "docker-entrypoint.sh"), '#!/bin/bash\nprintf "%s\\n" "$@" > "$SHIM_OUT"\n', { mode: 0o755 });
        console.log("      substituted: the image's docker-entrypoint.sh (a shim passing start.sh's arguments to the local mariadbd), paths, ports, pod host names → 127.0.0.1");

        // mariadb-0: the primary, initialised by the image's entrypoint (emulated) on an empty volume.
        const p0 = await newPod(0, r0);
        p0.serverArgs = await startArgs(r0, p0, 0, 0);
        await p0.initialise();
        await p0.startServer("primary");
        await q(0, "CREATE TABLE ledger (id BIGINT PRIMARY KEY, note VARCHAR(32)) ENGINE=InnoDB", app.database);
        await q(0, "INSERT INTO ledger VALUES (-1, 'before the replicas')", app.database);
        for (let i = 1; i < PODS; i++) await startReplica(i, r0, 0);
        // Without replicas the first commit waited out the timeout and semi-sync switched off; a replica's
        // acknowledgement of a later commit switches it back on.
        await waitFor("semi-sync back on", async () => {
            await q(0, "REPLACE INTO ledger VALUES (-4, 'semi-sync on')", app.database);
            return (await q(0, "SHOW STATUS LIKE 'Rpl_semi_sync_master_status'")).endsWith("\tON");
        });
    });

    after(async function () {
        await writer?.stop(5_000);
        for (const p of pods) {
            if (!p) continue;
            if (p.server?.running) await p.server.stop(30_000);
            removeTempDir(p.dir);
        }
        removeTempDir(shimDir);
        removeTempDir(work);
        stopClock?.();
    });

    it("runs the rendered roles: server_id = ordinal + 1, the primary writable with semi-sync on, replicas read-only replicating with GTID", async function () {
        assert.deepStrictEqual(await Promise.all(pods.map((_, i) => q(i, "SELECT @@server_id"))), ["1", "2", "3"]);
        assert.deepStrictEqual(await Promise.all(pods.map((_, i) => q(i, "SELECT @@read_only"))), ["0", "1", "1"]);
        assert.strictEqual(await q(0, "SELECT @@rpl_semi_sync_master_enabled"), "1");
        assert.strictEqual(await q(0, "SELECT @@gtid_strict_mode"), "0", "the primary accepts a point-in-time replay");
        for (let i = 1; i < PODS; i++) {
            const s = await waitFor(`mariadb-${i} replicating`, async () => {
                const st = await slave(i);
                return st.Slave_IO_Running === "Yes" && st.Slave_SQL_Running === "Yes" ? st : undefined;
            });
            assert.strictEqual(s.Using_Gtid, "Current_Pos");
            assert.strictEqual(s.Master_User, REPLICATION_USER);
            assert.strictEqual(await q(i, "SELECT note FROM ledger WHERE id = -1", app.database), "before the replicas", `mariadb-${i}: the clone copied the primary's data`);
            assert.strictEqual(await q(i, "SELECT @@gtid_strict_mode"), "1", "replicas are strict");
        }
        await waitFor("2 semi-sync replicas", async () => (await q(0, "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'")).endsWith("\t2"));
        for (const p of pods) assert.deepStrictEqual(p.allErrors(), [], `${p.label}: errors in the server logs`);
    });

    it("a primary whose volume lost its database refuses to start while a replica holds the data, and names the way out", async function () {
        const empty = makeTempDir("mariadb-empty-volume");
        try {
            const run0 = async (replicaAddress: (i: number) => string) => {
                const { text, replaced } = localizeScript(r0.start, {
                    [MARIADB_PATHS.datadir]: path.join(empty, "mariadb-data"),
                    [MARIADB_PATHS.rootPasswordFile]: pods[0].rootPasswordFile,
                    ...Object.fromEntries([1, 2].map((i) => [`${mariadbPodHost(i, "db")}:${MARIADB_PORT}`, replicaAddress(i)])),
                });
                const out = path.join(shimDir, `args-empty-${randomToken(6)}`);
                const res = await run("bash", ["-c", text], { env: { PATH: `${shimDir}:${process.env.PATH}`, HOSTNAME: "mariadb-0", SHIM_OUT: out }, timeoutMs: 60_000 });
                return { res, replaced, entrypointRan: fs.existsSync(out) };
            };
            // The replicas are up and hold the data: the empty primary does not start.
            const refused = await run0((i) => `127.0.0.1:${pods[i].port}`);
            console.log(`      start.sh as mariadb-0 on an empty volume (${refused.replaced}): exit ${refused.res.code}: ${refused.res.stderr.trim().split("\n").pop()}`);
            assert.strictEqual(refused.res.code, 1, describeRun(refused.res));
            assert.strictEqual(refused.entrypointRan, false, "the image's entrypoint (which would initialise an empty database) never ran");
            assert.match(refused.res.stderr, /mariadb-0 is the primary but its volume holds no database, while mariadb-1 holds data \(GTID 0-1-\d+\): refusing to start an empty primary\. Promote that replica \(scripts\/promote-mariadb\.sh\)/);
            // No replica answers (a new cluster: the replicas do not exist yet): it starts, and the entrypoint initialises.
            const closed = await freePort();
            const fresh = await run0(() => `127.0.0.1:${closed}`);
            assert.strictEqual(fresh.res.code, 0, describeRun(fresh.res));
            assert.strictEqual(fresh.entrypointRan, true);
            // The replicas kept replicating from the real primary throughout.
            for (let i = 1; i < PODS; i++) assert.strictEqual((await slave(i)).Slave_IO_Running, "Yes");
        } finally {
            removeTempDir(empty);
        }
    });

    it("replicas catch up under a write load (lag measured), every commit acknowledged by a replica (semi-sync)", async function () {
        const status = async (name: string) => Number((await q(0, `SHOW STATUS LIKE '${name}'`)).split("\t")[1]);
        const before = await status("Rpl_semi_sync_master_yes_tx");
        const noBefore = await status("Rpl_semi_sync_master_no_tx");
        const w = startWriter(0, "load");
        let maxLagRows = 0;
        let maxSeconds = 0;
        const t0 = Date.now();
        while (Date.now() - t0 < 4000) {
            for (let i = 1; i < PODS; i++) {
                // The primary's and the replica's row counts at the same moment.
                const [p, r] = await Promise.all([rowCount(0), rowCount(i)]);
                maxLagRows = Math.max(maxLagRows, p - r);
                maxSeconds = Math.max(maxSeconds, Number((await slave(i)).Seconds_Behind_Master || 0));
            }
            await new Promise((res) => setTimeout(res, 200));
        }
        // Counted while the writer still runs: stopping it may abort a commit that is waiting for its acknowledgement.
        const acked = w.acked();
        const yes = (await status("Rpl_semi_sync_master_yes_tx")) - before;
        const no = (await status("Rpl_semi_sync_master_no_tx")) - noBefore;
        await w.server.stop(5_000);
        const stopped = Date.now();
        for (let i = 1; i < PODS; i++) await caughtUp(i, 0);
        const catchUpMs = Date.now() - stopped;
        console.log(`      ${acked.length} commits in 4 s (${Math.round(acked.length / 4)}/s); max replica lag ${maxLagRows} rows, Seconds_Behind_Master ≤ ${maxSeconds}; both replicas caught up ${catchUpMs} ms after the load; semi-sync acknowledged ${yes}, unacknowledged ${no}`);
        assert.ok(acked.length > 50, `the load wrote ${acked.length} rows`);
        assert.ok(yes >= acked.length, `semi-sync acknowledged ${yes} of ${acked.length} commits`);
        assert.strictEqual(no, 0, `no commit went without a replica's acknowledgement:\n${await q(0, "SHOW STATUS LIKE 'Rpl_semi_sync_master%'")}\n${pods[0].lastLog().split("\n").filter((l) => /semi|Timeout|ERROR|Warn/i.test(l)).join("\n")}`);
        for (let i = 1; i < PODS; i++) assert.strictEqual(await rowCount(i), await rowCount(0), `mariadb-${i} has every row`);
        // Nothing a replica did itself (init SQL, the clone) is in its binary log: only the primary's transactions.
        for (let i = 1; i < PODS; i++) {
            const state = await q(i, "SELECT @@gtid_binlog_state");
            assert.ok(state.split(",").every((g) => g.split("-")[1] === "1"), `mariadb-${i} logged transactions of its own: ${state}`);
        }
        assert.ok(maxLagRows < acked.length, `the replicas kept up (lag ${maxLagRows} rows)`);
        assert.ok(catchUpMs < 10_000, `caught up in ${catchUpMs} ms`);
    });

    it("a replica refuses writes from an application user (read_only), and the replication account reads no application data", async function () {
        for (let i = 1; i < PODS; i++) {
            const w = await pods[i].sql(TCP, app.user, app.password, "INSERT INTO ledger VALUES (-2, 'on a replica')", { database: app.database });
            assert.match(w.stderr, /ERROR 1290 .*read-only/, `mariadb-${i}: ${describeRun(w)}`);
            assert.strictEqual(await pods[i].query(TCP, app.user, app.password, "SELECT COUNT(*) FROM ledger WHERE id = -1", app.database), "1", "reads work");
        }
        const rp = r0.replicationPassword;
        assert.strictEqual(await pods[0].query(TCP, REPLICATION_USER, rp, "SHOW GRANTS"), `GRANT REPLICATION SLAVE ON *.* TO \`${REPLICATION_USER}\`@\`%\` IDENTIFIED BY PASSWORD '${await q(0, `SELECT authentication_string FROM mysql.user WHERE user='${REPLICATION_USER}'`)}'`);
        const read = await pods[0].sql(TCP, REPLICATION_USER, rp, "SELECT * FROM ledger", { database: app.database });
        assert.notStrictEqual(read.code, 0, `the replication account read application data: ${describeRun(read)}`);
        assert.match(read.stderr, /ERROR 1044|ERROR 1142/);
        assert.strictEqual(await pods[0].query(TCP, REPLICATION_USER, rp, "SHOW DATABASES"), "information_schema");
    });

    it("an account statement that fails in init_file leaves the replica replicating (the role runs first)", async function () {
        const r = pods[2];
        const initArg = r.serverArgs.find((a) => a.startsWith("--init-file="))!;
        assert.ok(initArg, "the replica starts with the replica init SQL");
        const initFile = initArg.slice("--init-file=".length);
        const rendered = fs.readFileSync(initFile, "utf8");
        // A statement that fails, put before the first account statement (a user statement the server refuses).
        const failing = "ALTER USER 'msa_no_such_user'@'%' IDENTIFIED BY 'x';";
        const lines = rendered.split("\n");
        const firstAccount = lines.findIndex((l) => l.startsWith("ALTER USER"));
        assert.ok(firstAccount > 0, "init-replica.sql has account statements");
        fs.writeFileSync(initFile, [...lines.slice(0, firstAccount), failing, ...lines.slice(firstAccount)].join("\n"), { mode: 0o600 });
        try {
            await r.stopServer();
            await r.startServer("replica-of-0, failing account statement");
            const log = r.lastLog();
            assert.match(log, /msa_no_such_user/, "the server reports the failing statement");
            const s = await waitFor("mariadb-2 replicating after the failed statement", async () => {
                const st = await slave(2);
                return st.Slave_IO_Running === "Yes" && st.Slave_SQL_Running === "Yes" ? st : undefined;
            }, { timeoutMs: 30_000, server: r.server });
            assert.strictEqual(s.Using_Gtid, "Current_Pos");
            assert.strictEqual(await q(2, "SELECT @@read_only"), "1");
            assert.strictEqual(await q(2, "SELECT @@gtid_strict_mode"), "1");
            const id = -7;
            await q(0, `REPLACE INTO ledger VALUES (${id}, 'after the failed init')`, app.database);
            await caughtUp(2, 0);
            assert.strictEqual(await q(2, `SELECT note FROM ledger WHERE id = ${id}`, app.database), "after the failed init");
            console.log(`      mariadb-2 restarted with a failing account statement in init-replica.sql: ${errorSummary(log)}; replicating (IO and SQL Yes), caught up`);
        } finally {
            fs.writeFileSync(initFile, rendered, { mode: 0o600 });
            await r.stopServer();
            await r.startServer("replica-of-0");
            await waitFor("mariadb-2 replicating again", async () => (await slave(2)).Slave_SQL_Running === "Yes", { timeoutMs: 30_000 });
        }
    });

    it("kill -9 of the primary under load loses no acknowledged commit; promote-mariadb.sh picks the most advanced replica; the other and the old primary follow it", async function () {
        // mariadb-1 falls behind (its replication stopped), so the most advanced replica is mariadb-2, not the lowest ordinal.
        await q(1, "STOP SLAVE");
        const start = (await rowCount(0)) + 10;
        const w = startWriter(0, "kill", start);
        await waitFor("200 acknowledged commits", async () => w.acked().length >= 200, { timeoutMs: 30_000 });
        process.kill(-pods[0].server!.child.pid!, "SIGKILL");
        const killedAt = Date.now();
        await pods[0].server!.exited;
        await w.server.exited;
        const acked = w.acked();

        // The promotion, as the runbook runs it (defaults-dir mode: one option file per pod, mariadb-0 unreachable).
        const dir = makeTempDir("mariadb-promote");
        pods.forEach((p, i) => fs.writeFileSync(path.join(dir, `${i}.cnf`), `[client]\nuser = root\npassword = ${root()}\nhost = 127.0.0.1\nport = ${p.port}\nprotocol = tcp\n`, { mode: 0o600 }));
        const t0 = Date.now();
        const promoted = await run("bash", [PROMOTE, "--defaults-dir", dir, "--replicas", String(PODS), "--wait", "60"], { timeoutMs: 120_000 });
        const promoteMs = Date.now() - t0;
        removeTempDir(dir);
        console.log(promoted.stdout.replace(/^/gm, "        "));
        assert.strictEqual(promoted.code, 0, `promote-mariadb.sh: ${describeRun(promoted)}`);
        assert.match(promoted.stdout, /mariadb-0: unreachable/);
        assert.match(promoted.stdout, /most advanced: mariadb-2 /);
        assert.match(promoted.stdout, /pulumi config set --path mariadb\.primary 2 && pulumi up/);
        assert.strictEqual(await q(2, "SELECT @@read_only"), "0", "mariadb-2 is writable");
        const max = acked[acked.length - 1];
        const present = Number(await q(2, `SELECT COUNT(*) FROM ledger WHERE id BETWEEN ${start} AND ${max}`, app.database));
        const lost = acked.length - present;
        console.log(`      ${acked.length} commits acknowledged before the kill -9; on the promoted mariadb-2: ${present} of them (lost ${lost}); promotion took ${promoteMs} ms (${Date.now() - killedAt} ms after the kill)`);
        assert.strictEqual(lost, 0, "no acknowledged commit lost");
        // The script re-pointed mariadb-1 at once; it catches up with what it missed, from mariadb-2.
        await caughtUp(1, 2);
        assert.strictEqual(await rowCount(1), await rowCount(2));

        // `pulumi config set --path mariadb.primary 2 && pulumi up`: the new render restarts every other pod as a replica of mariadb-2.
        const r2 = await renderReplicated(2, seed);
        assert.strictEqual(r2.rd.root.password, root(), "same seed, same passwords");
        await pods[1].server!.stop(30_000);
        await startReplica(1, r2, 2);
        // The old primary returns (crashed: recovery as a replica discards what no replica acknowledged).
        await startReplica(0, r2, 2);
        assert.deepStrictEqual(await Promise.all(pods.map((_, i) => q(i, "SELECT @@read_only"))), ["1", "1", "0"]);
        await pods[2].query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (-3, 'after the promotion')", app.database);
        for (const i of [0, 1]) {
            await caughtUp(i, 2);
            assert.strictEqual(await q(i, "SELECT note FROM ledger WHERE id = -3", app.database), "after the promotion", `mariadb-${i} replicates from mariadb-2`);
            assert.strictEqual(await rowCount(i), await rowCount(2), `mariadb-${i} has mariadb-2's rows`);
            const st = await slave(i);
            assert.strictEqual(st.Last_IO_Errno, "0", `mariadb-${i}: ${st.Last_IO_Error}`);
            assert.strictEqual(st.Last_SQL_Errno, "0", `mariadb-${i}: ${st.Last_SQL_Error}`);
        }
        const oldPrimaryLog = pods[0].lastLog();
        const truncated = oldPrimaryLog.split("\n").filter((l) => /truncat/i.test(l));
        console.log(truncated.join("\n"));
        console.log(`      the old primary rejoined as a replica of mariadb-2${truncated.length > 0 ? " (its crash recovery discarded unacknowledged transactions)" : ""}`);
    });
});
