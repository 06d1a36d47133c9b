// Real-server proof of MariaDB replication: three local mariadbd processes (Debian's 10.11) run the RENDERED
// prod configuration with mariadb.replicas 3 (TLS off: the test reaches 127.0.0.1, which no certificate
// names): my.cnf, the start script (run unchanged, with the image's entrypoint replaced by a shim that hands
// its arguments to the local server), the clone init container's script, init.sql and init-replica.sql.
// Only paths, ports and the pods' host names are substituted, and the test prints which. Proven: a new
// replica clones the primary and catches up (lag measured under a write load); a replica refuses writes from
// an application user; the replication account reads no application data; under semi-sync no acknowledged
// commit is lost when the primary is killed -9; scripts/promote-mariadb.sh promotes the most advanced
// replica, the other replica and the restarted old primary replicate from it. The rendered readiness (ready.sh)
// fails a replica whose replication is stopped, broken (1236 from the primary, 1062 applying an event) or an
// hour behind, passes it again once it replicates, keeps a Connecting one Ready, and passes a volume whose
// healthcheck accounts lack SLAVE MONITOR (the previous render's) after its rolled start. Then the fence between a
// promotion and its `pulumi up` (issue 19, item 6), as a drill with a writer that reconnects through the
// client Service: the returning old primary refuses to start, the promoted pod restarts as the primary, and
// after `pulumi up` no acknowledged write is missing. Skips locally without mariadbd; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { MARIADB_GENERATED, MARIADB_PATHS, MARIADB_PORT, mariadbPodHost, PROMOTION_MARKER, REPLICA_MAX_LAG_SECONDS, REPLICATION_USER } from "../../../components/mariadb";
import { renderStack, ROOT, type Manifest } from "../../../scripts/lib/mockRuntime";
import { find } from "../../../scripts/lib/manifests";
import { BINARIES, errorLines, INSTALL_HINT, loadRendered, LocalMariaDb, mariadbPasswordKey, MariaDbRendered, SOCKET, TCP } from "../../helpers/mariadb";
import { localizeScript, prodWithoutTls } from "../../helpers/ops";
import { secretData } from "../../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, run, startServer, waitFor, type RunResult, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

/** The server log's line about init_file's failed statement, for the printed figures. */
function errorSummary(log: string): string {
    return (log.split("\n").find((l) => /msa_no_such_user/.test(l)) ?? "(no line)").replace(/^.*\[ERROR\]\s*/, "").slice(0, 160);
}

/** The operations accounts' passwords the rendered init SQL sets (and the replicas' CHANGE MASTER uses). */
function operationsPasswords(initSql: string, replicaInit: string): { backup: string; exporter: string; replication: string } {
    const of = (text: string, re: RegExp, what: string) => {
        const m = re.exec(text);
        assert.ok(m, `the init SQL has no ${what}`);
        return m[1];
    };
    const replication = of(initSql, /ALTER USER 'replication'@'%' IDENTIFIED BY '([^']+)'/, "replication account");
    assert.strictEqual(of(replicaInit, /MASTER_PASSWORD = '([^']+)'/, "CHANGE MASTER"), replication, "init-replica.sql: CHANGE MASTER uses the replication account's password");
    return {
        backup: of(initSql, /ALTER USER 'backup'@'%' IDENTIFIED BY '([^']+)'/, "backup account"),
        exporter: of(initSql, /ALTER USER 'exporter'@'localhost' IDENTIFIED BY '([^']+)'/, "exporter account"),
        replication,
    };
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

/**
 * Passwords rotated by a test (`pulumi up --replace` of their RandomPassword), by mariadbPasswordKey: every
 * later render carries them, as every later `pulumi up` would.
 */
const rotated: Record<string, string> = {};

/** The prod stack with TLS off and `pods` MariaDB pods whose primary is `primary`; one seed, so one set of passwords. */
async function renderReplicated(primary: number, seed: string): Promise<Render> {
    const config = prodWithoutTls();
    config.mariadb = { ...(config.mariadb as object), replicas: PODS, primary, semiSync: true };
    const generated = new Map(Object.entries(rotated).map(([k, v]) => [k, { result: v }]));
    const objects: Manifest[] = (await renderStack("prod", { withSecrets: true, config, seed, generated })).objects;
    const rd = await loadRendered("prod", config, seed, rotated);
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
    /** The current render with mariadb-0 as the primary (a rotation replaces it, as `pulumi up` does). */
    let r0: Render;
    const pods: LocalMariaDb[] = [];
    let shimDir: string;
    let work: string;
    let writer: ServerProcess | undefined;
    /** A port nothing listens on: the address of a pod that does not run. */
    let closedPort = 0;
    const loopWriters: ServerProcess[] = [];
    const app = { user: "", password: "", database: "" };
    const root = () => r0.rd.root.password;

    /**
     * The rendered start script as pod `ordinal` would run it, as the pod's user: its datadir, root password
     * file and the other pods' addresses localised (a pod not started yet: a closed port). Returns its exit,
     * its output and the arguments it gave the entrypoint (undefined when it never ran it).
     */
    async function runStart(r: Render, pod: LocalMariaDb, ordinal: number): Promise<{ res: RunResult; args?: string[]; replaced: string }> {
        const { text, replaced } = localizeScript(r.start, {
            [MARIADB_PATHS.datadir]: pod.dataDir,
            [MARIADB_PATHS.rootPasswordFile]: pod.rootPasswordFile,
            ...Object.fromEntries([...Array(PODS).keys()].map((i) => [`${mariadbPodHost(i, "db")}:${MARIADB_PORT}`, `127.0.0.1:${pods[i]?.port || closedPort}`])),
        });
        const out = path.join(pod.dir, `entrypoint-args-${randomToken(6)}`);
        const res = await run("bash", ["-c", text], {
            env: { PATH: `${shimDir}:${process.env.PATH}`, HOSTNAME: `mariadb-${ordinal}`, SHIM_OUT: out, LANG: "C" },
            uid: pod.user.uid,
            gid: pod.user.gid,
            timeoutMs: 60_000,
        });
        const args = fs.existsSync(out) ? fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "") : undefined;
        return { res, args, replaced };
    }

    /** Runs the rendered start script as pod `ordinal`; returns the arguments it gives the entrypoint, localised. */
    async function startArgs(r: Render, pod: LocalMariaDb, ordinal: number, primaryPort: number): Promise<string[]> {
        const { res, args: entrypoint } = await runStart(r, pod, ordinal);
        assert.strictEqual(res.code, 0, `start.sh as mariadb-${ordinal}: ${describeRun(res)}`);
        assert.ok(entrypoint, `start.sh as mariadb-${ordinal} did not run the entrypoint: ${describeRun(res)}`);
        return localiseArgs(r, pod, ordinal, primaryPort, res, entrypoint);
    }

    /**
     * The pod's copy of init-replica.sql (the mounted Secret) with the primary's host and port made local.
     * Written at each start, and again when the Secret changes (the kubelet refreshes the mounted files).
     */
    function writeReplicaInit(r: Render, pod: LocalMariaDb, primary: number, primaryPort: number): string {
        const replicaInit = path.join(pod.dir, "init-replica.sql");
        const localInit = r.replicaInit.split(`'${mariadbPodHost(primary, "db")}'`).join("'127.0.0.1'").split(`MASTER_PORT = ${MARIADB_PORT}`).join(`MASTER_PORT = ${primaryPort}`);
        fs.writeFileSync(replicaInit, localInit, { mode: 0o600 });
        pod.own(replicaInit);
        return replicaInit;
    }

    /** The entrypoint's arguments with the replica init SQL's primary host and port made local. */
    function localiseArgs(r: Render, pod: LocalMariaDb, ordinal: number, primaryPort: number, res: RunResult, entrypoint: string[]): string[] {
        const [cmd, ...args] = entrypoint;
        assert.strictEqual(cmd, "mariadbd", "start.sh runs the entrypoint with mariadbd");
        const replicaInit = writeReplicaInit(r, pod, Number(/replica of mariadb-(\d)/.exec(res.stdout)?.[1] ?? -1), primaryPort);
        const localised = args.map((a) => (a === `--init-file=${MARIADB_PATHS.replicaInitFile}` ? `--init-file=${replicaInit}` : a));
        const said = res.stdout.split("\n").filter((l) => /^start: /.test(l) && !/is the (primary|replica)/.test(l));
        console.log(`      mariadb-${ordinal}: start.sh → mariadbd ${args.join(" ")}${args.some((a) => a.startsWith("--init-file")) ? ` (init-replica.sql: MASTER_HOST → 127.0.0.1, MASTER_PORT → ${primaryPort})` : ""}${said.map((l) => `\n        ${l}`).join("")}`);
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
        await pod.startServer(`replica-of-${primary}`, { reconcile: false });
    }

    const q = (i: number, stmt: string, db?: string) => pods[i].query(TCP, "root", root(), stmt, db);
    const serverStart = async (i: number) => Number(await q(i, "SELECT UNIX_TIMESTAMP() - VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'"));
    const refused = async (i: number, target: typeof TCP | typeof SOCKET, user: string, password: string) => {
        const r = await pods[i].sql(target, user, password, "SELECT 1");
        assert.match(r.stderr, /ERROR 1045/, `mariadb-${i}: ${user}'s old password must be refused: ${describeRun(r)}`);
    };
    /** The replicas' pod names as the reconcile Job reads them, mapped to the local servers. */
    const replicaPorts = () => Object.fromEntries(pods.map((p, i) => [mariadbPodHost(i, "db"), p.port]));
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

    /**
     * An application client that reconnects for every write, as a pool does after an error: INSERT id, then
     * the acknowledging server's server_id; the port is read from `target` before each write (the file
     * stands for the client Service's endpoint, which `pulumi up` re-points). Each write is logged:
     * `ok <id> <port> <server_id> <ms>` or `err <id> <port> <ms> <error>`.
     */
    function loopWriter(label: string, first: number, target: string): { server: ServerProcess; writes: () => { id: number; ok: boolean; port: number; serverId?: number; at: number }[] } {
        const log = path.join(work, `loop-writer-${label}.log`);
        const script = [
            `i=${first}`,
            "while :; do",
            `    port="$(cat ${target})"`,
            `    if out="$(${bins.mariadb} --no-defaults --user=${app.user} --protocol=tcp --host=127.0.0.1 --port="$port" --database=${app.database} --connect-timeout=2 --batch --skip-column-names --execute="INSERT INTO ledger (id, note) VALUES ($i, '${label}'); SELECT @@server_id" 2>&1)"; then`,
            '        echo "ok $i $port $out $(date +%s%3N)"',
            "    else",
            '        echo "err $i $port $(date +%s%3N) $(tr "\\n" " " <<< "$out")"',
            "        sleep 0.1",
            "    fi",
            "    i=$((i + 1))",
            "done",
        ].join("\n");
        const server = startServer(`writer (${label})`, "bash", ["-c", script], { logFile: log, env: { PATH: process.env.PATH, MYSQL_PWD: app.password } });
        loopWriters.push(server);
        const writes = () =>
            server
                .log()
                .split("\n")
                .map((l) => /^(ok|err) (\d+) (\d+) (\d+)(?: (\d+))?/.exec(l))
                .filter((m): m is RegExpExecArray => m !== null)
                .map((m) => (m[1] === "ok" ? { id: Number(m[2]), ok: true, port: Number(m[3]), serverId: Number(m[4]), at: Number(m[5]) } : { id: Number(m[2]), ok: false, port: Number(m[3]), at: Number(m[4]) }));
        return { server, writes };
    }

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump"], INSTALL_HINT);
        stopClock = startClock("mariadb-replication");
        seed = randomToken(32);
        r0 = await renderReplicated(0, seed);
        const a = r0.rd.apps.find((x) => x.user === "orders")!;
        Object.assign(app, { user: a.user, password: a.password, database: a.database });
        shimDir = makeTempDir("mariadb-entrypoint-shim");
        // start.sh runs as the pod's user, who must reach the shim.
        fs.chmodSync(shimDir, 0o755);
        work = makeTempDir("mariadb-replication");
        closedPort = await freePort();
        // The image's entrypoint, replaced: it records the arguments start.sh execs it with.
        fs.writeFileSync(path.join(shimDir, "docker-entrypoint.sh"), '#!/bin/bash\nprintf "%s\\n" "$@" > "$SHIM_OUT"\n', { mode: 0o755 });
        console.log("      substituted: the image's docker-entrypoint.sh (a shim passing start.sh's arguments to the local mariadbd), paths, ports, pod host names → 127.0.0.1");

        // mariadb-0: the primary, initialised by the image's entrypoint (emulated) on an empty volume.
        // Only the first start runs the reconcile Job (as the first `pulumi up` does): the later restarts and
        // promotions change nothing it mounts, so no `pulumi up` runs it again.
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
        for (const w of loopWriters) await w.stop(5_000);
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

    it("a database+user declared later is created on the primary by the reconcile Job and reaches every replica by replication; its removal too", async function () {
        const withBilling = async (billing: boolean) => {
            const config = prodWithoutTls();
            const mariadb = config.mariadb as { databases: { name: string; user: string }[] };
            config.mariadb = { ...mariadb, replicas: PODS, primary: 0, semiSync: true, databases: [...mariadb.databases, ...(billing ? [{ name: "billing", user: "billing" }] : [])] };
            return loadRendered("prod", config, seed);
        };
        const added = await withBilling(true);
        const b = added.apps.find((a) => a.user === "billing")!;
        const applied = await pods[0].reconcile(added.job, replicaPorts());
        assert.strictEqual(applied.code, 0, `the reconcile Job on the primary: ${describeRun(applied)}`);
        await pods[0].query(TCP, b.user, b.password, "CREATE TABLE invoices (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO invoices VALUES (7)", b.database);
        for (let i = 1; i < PODS; i++) {
            await caughtUp(i, 0);
            assert.strictEqual(await pods[i].query(TCP, b.user, b.password, "SELECT id FROM invoices", b.database), "7", `mariadb-${i}: the new user reads its data`);
        }
        const removed = await pods[0].reconcile((await withBilling(false)).job, replicaPorts());
        assert.strictEqual(removed.code, 0, `the reconcile Job, billing removed: ${describeRun(removed)}`);
        for (let i = 1; i < PODS; i++) {
            await caughtUp(i, 0);
            assert.match((await pods[i].sql(TCP, b.user, b.password, "SELECT 1")).stderr, /ERROR 1045/, `mariadb-${i}: the removed user still logs in`);
            assert.strictEqual(await q(i, "SELECT id FROM billing.invoices"), "7", `mariadb-${i}: the removed user's data`);
        }
        console.log(`      reconcile Job on the primary: ${applied.ms} ms (billing created), ${removed.ms} ms (billing dropped); replicas caught up`);
    });

    it("the backup, exporter and replication passwords rotated: the reconcile Job applies them live on every pod (no restart), the old ones are refused, replication reconnects with the new one", async function () {
        const ops = { backup: MARIADB_GENERATED.backupPassword, exporter: MARIADB_GENERATED.exporterPassword, replication: MARIADB_GENERATED.replicationPassword };
        const old = operationsPasswords(r0.rd.initSql, r0.replicaInit);
        const next = { backup: randomToken(32), exporter: randomToken(32), replication: randomToken(32) };
        const started = await Promise.all(pods.map(async (p, i) => ({ pid: p.server!.child.pid, at: await serverStart(i) })));
        Object.assign(rotated, Object.fromEntries(Object.entries(ops).map(([k, id]) => [mariadbPasswordKey(id), next[k as keyof typeof next]])));
        const r1 = await renderReplicated(0, seed);
        assert.deepStrictEqual(operationsPasswords(r1.rd.initSql, r1.replicaInit), next, "the new render's init SQL carries the new passwords");
        assert.ok(isDeepStrictEqual((r1.rd.sts.spec as { template: unknown }).template, (r0.rd.sts.spec as { template: unknown }).template), "the rotation changed the StatefulSet's pod template: the pods would restart");

        await q(0, "REPLACE INTO ledger VALUES (-101, 'before the rotation')", app.database);
        const job = await pods[0].reconcile(r1.rd.job, replicaPorts());
        assert.strictEqual(job.code, 0, `the reconcile Job: ${describeRun(job)}`);
        const output = `${job.stdout}${job.stderr}`;
        for (const pw of Object.values(next)) assert.ok(!output.includes(pw), "the Job's output shows a password");
        // The kubelet refreshes the mounted Secrets: init.sql and init-replica.sql now hold the new passwords.
        for (let i = 0; i < PODS; i++) {
            pods[i].rotate(r1.rd);
            if (i !== 0) writeReplicaInit(r1, pods[i], 0, pods[0].port);
        }
        const reconnected = job.stdout.split("\n").filter((l) => /replica .*reconnected/.test(l));
        const rows: string[] = [`reconcile Job: ${job.ms} ms from its start to its exit`, ...reconnected.map((l) => `  ${l}`)];

        await q(0, "REPLACE INTO ledger VALUES (-102, 'after the rotation')", app.database);
        for (let i = 0; i < PODS; i++) {
            // backup: a dump of an application database over TCP (the CronJobs reach the primary; every pod has the account).
            const dump = await run(bins["mariadb-dump"], ["--no-defaults", "--user=backup", "--protocol=tcp", "--host=127.0.0.1", `--port=${pods[i].port}`, "--single-transaction", "--skip-lock-tables", app.database], { env: { PATH: process.env.PATH, MYSQL_PWD: next.backup }, timeoutMs: 30_000 });
            assert.strictEqual(dump.code, 0, `mariadb-${i}: the backup account with the new password: ${describeRun(dump)}`);
            assert.match(dump.stdout, /CREATE TABLE `ledger`/, `mariadb-${i}: the dump`);
            await refused(i, TCP, "backup", old.backup);
            // exporter: the default collectors' statements over the socket.
            for (const stmt of ["SHOW GLOBAL STATUS LIKE 'Uptime'", "SHOW ALL SLAVES STATUS", "SELECT COUNT(*) FROM information_schema.innodb_cmp"]) {
                const r = await pods[i].sql(SOCKET, "exporter", next.exporter, stmt);
                assert.strictEqual(r.code, 0, `mariadb-${i}: the exporter account with the new password: ${stmt}: ${describeRun(r)}`);
            }
            await refused(i, SOCKET, "exporter", old.exporter);
            // replication: the account on every pod (any may become the primary).
            assert.strictEqual(await pods[i].query(TCP, REPLICATION_USER, next.replication, "SELECT CURRENT_USER()"), "replication@%");
            await refused(i, TCP, REPLICATION_USER, old.replication);
        }
        // Replication runs, and reconnects (the primary refuses the old password now) with the new one.
        assert.strictEqual(reconnected.length, PODS - 1, `the Job reconnects every replica's replication with the new password: ${job.stdout}`);
        for (let i = 1; i < PODS; i++) {
            await caughtUp(i, 0);
            assert.strictEqual(await q(i, "SELECT note FROM ledger WHERE id = -102", app.database), "after the rotation");
            const t0 = Date.now();
            await q(i, "STOP SLAVE");
            await q(i, "START SLAVE");
            const st = await waitFor(`mariadb-${i} to reconnect`, async () => {
                const x = await slave(i);
                return x.Slave_IO_Running === "Yes" && x.Slave_SQL_Running === "Yes" ? x : undefined;
            }, { timeoutMs: 30_000, server: pods[i].server });
            assert.strictEqual(st.Last_IO_Errno, "0", `mariadb-${i}: ${st.Last_IO_Error}`);
            await q(0, `REPLACE INTO ledger VALUES (${-102 - i}, 'after STOP/START SLAVE')`, app.database);
            await caughtUp(i, 0);
            rows.push(`mariadb-${i}: STOP SLAVE + START SLAVE: replicating again in ${Date.now() - t0} ms (IO ${st.Slave_IO_Running}, last IO error ${st.Last_IO_Errno})`);
        }
        // No server restarted: same process, same start time.
        for (let i = 0; i < PODS; i++) {
            assert.strictEqual(pods[i].server!.child.pid, started[i].pid, `mariadb-${i} was restarted`);
            assert.ok(Math.abs((await serverStart(i)) - started[i].at) <= 2, `mariadb-${i} restarted (uptime)`);
        }
        rows.push(`no restart: pids ${started.map((x) => x.pid).join(", ")} unchanged, server start times unchanged`);

        // A pod that restarts later reads the current files: mariadb-2 comes back replicating, with the new passwords.
        await pods[2].stopServer();
        pods[2].serverArgs = await startArgs(r1, pods[2], 2, pods[0].port);
        await pods[2].startServer("replica-of-0, after the rotation", { reconcile: false });
        const st2 = await waitFor("mariadb-2 replicating after its restart", async () => {
            const x = await slave(2);
            return x.Slave_IO_Running === "Yes" && x.Slave_SQL_Running === "Yes" ? x : undefined;
        }, { timeoutMs: 30_000, server: pods[2].server });
        assert.strictEqual(st2.Last_IO_Errno, "0");
        assert.strictEqual((await pods[2].sql(SOCKET, "exporter", next.exporter, "SHOW GLOBAL STATUS LIKE 'Uptime'")).code, 0, "mariadb-2 after its restart: the exporter's new password");
        await refused(2, SOCKET, "exporter", old.exporter);
        rows.push("mariadb-2 restarted from the refreshed files: replicating (IO Yes), the new exporter password works, the old one is refused");
        r0 = r1;
        console.log(rows.map((r) => `      ${r}`).join("\n"));
    });

    it("the replication password rotated while a replica is down: the Job skips it and says so, the replica reads the new password from its init SQL when it starts", async function () {
        const before = operationsPasswords(pods[0].rendered.initSql, fs.readFileSync(path.join(pods[1].dir, "init-replica.sql"), "utf8")).replication;
        await pods[2].stopServer();
        const next = randomToken(32);
        rotated[mariadbPasswordKey(MARIADB_GENERATED.replicationPassword)] = next;
        const r2 = await renderReplicated(0, seed);
        const job = await pods[0].reconcile(r2.rd.job, replicaPorts());
        assert.strictEqual(job.code, 0, `a replica that is down must not fail the Job: ${describeRun(job)}`);
        assert.match(job.stdout, /replica 127\.0\.0\.1 did not answer .*: it takes the replication password from its init SQL at its next start/, job.stdout);
        assert.strictEqual(job.stdout.split("\n").filter((l) => /replica .*reconnected/.test(l)).length, 1, job.stdout);
        await refused(0, TCP, REPLICATION_USER, before);
        for (let i = 0; i < PODS; i++) {
            pods[i].rotate(r2.rd);
            if (i !== 0) writeReplicaInit(r2, pods[i], 0, pods[0].port);
        }
        const t0 = Date.now();
        pods[2].serverArgs = await startArgs(r2, pods[2], 2, pods[0].port);
        await pods[2].startServer("replica-of-0, after a rotation it missed", { reconcile: false });
        const st = await waitFor("mariadb-2 replicating with the new password", async () => {
            const x = await slave(2);
            return x.Slave_IO_Running === "Yes" && x.Slave_SQL_Running === "Yes" ? x : undefined;
        }, { timeoutMs: 30_000, server: pods[2].server });
        assert.strictEqual(st.Last_IO_Errno, "0");
        await q(0, "REPLACE INTO ledger VALUES (-105, 'after a missed rotation')", app.database);
        for (const i of [1, 2]) await caughtUp(i, 0);
        r0 = r2;
        console.log(`      Job with mariadb-2 down: ${job.ms} ms, exit 0 ("${job.stdout.split("\n").find((l) => /did not answer/.test(l))}"); mariadb-2 started from the refreshed init-replica.sql: replicating in ${Date.now() - t0} ms`);
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
            await r.startServer("replica-of-0, failing account statement", { reconcile: false });
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
            await r.startServer("replica-of-0", { reconcile: false });
            await waitFor("mariadb-2 replicating again", async () => (await slave(2)).Slave_SQL_Running === "Yes", { timeoutMs: 30_000 });
        }
    });

    // Issue 19 (minor): a replica's readiness includes its replication. The rendered readiness command (ready.sh
    // run as the pod's user; the healthcheck.sh it ends with judged as in server.spec) on each broken state,
    // then Ready again once the replica replicates; liveness stays as it was (a broken replica is not restarted).
    const ready = async (i: number) => pods[i].probe("readinessProbe");
    const live = async (i: number) => pods[i].probe("livenessProbe");
    /** Until mariadb-i's readiness gives `ok`; returns the milliseconds and the last verdict. */
    async function untilReady(i: number, ok: boolean, timeoutMs = 30_000): Promise<{ ms: number; detail: string }> {
        const t0 = Date.now();
        const v = await waitFor(`mariadb-${i} ${ok ? "Ready" : "not Ready"}`, async () => {
            const r = await ready(i);
            return r.ok === ok ? r : undefined;
        }, { timeoutMs, intervalMs: 250, server: pods[i].server });
        return { ms: Date.now() - t0, detail: v.detail };
    }

    it("readiness: a replica whose replication is stopped or broken is not Ready, and Ready again once it replicates; liveness stays; the primary checks no replication", async function () {
        const rows: string[] = [];
        for (let i = 0; i < PODS; i++) {
            const v = await ready(i);
            assert.ok(v.ok, `mariadb-${i} Ready while replicating: ${v.detail}`);
        }
        const r = 1;
        let position = "";
        const breaks: { name: string; breakIt: () => Promise<void>; expect: RegExp; repair: () => Promise<void> }[] = [
            {
                name: "STOP SLAVE",
                breakIt: async () => void (await q(r, "STOP SLAVE")),
                expect: /replication stopped: IO No, SQL No/,
                repair: async () => void (await q(r, "START SLAVE")),
            },
            {
                // The primary refuses the replica's position (as after a purged binary log or a diverged history).
                name: "error 1236 from the primary",
                breakIt: async () => {
                    await q(r, "STOP SLAVE");
                    position = await q(r, "SELECT @@gtid_slave_pos");
                    const [domain, server, seq] = position.split("-");
                    await q(r, `SET GLOBAL gtid_slave_pos = '${domain}-${server}-${Number(seq) + 1000}'; START SLAVE`);
                    await waitFor("the IO thread stopped by error 1236", async () => (await slave(r)).Last_IO_Errno === "1236");
                },
                expect: /replication stopped: IO No, SQL Yes; last IO error 1236: /,
                repair: async () => void (await q(r, `STOP SLAVE; SET GLOBAL gtid_slave_pos = '${position}'; START SLAVE`)),
            },
            {
                // A row the replica has and the primary then writes: the SQL thread stops on the duplicate key.
                name: "error 1062 applying an event",
                breakIt: async () => {
                    await q(r, "SET SESSION sql_log_bin = 0; INSERT INTO ledger VALUES (-9, 'only on the replica')", app.database);
                    await q(0, "INSERT INTO ledger VALUES (-9, 'from the primary')", app.database);
                    await waitFor("the SQL thread stopped by error 1062", async () => (await slave(r)).Last_SQL_Errno === "1062");
                },
                expect: /replication stopped: IO Yes, SQL No; .*last SQL error 1062: /,
                repair: async () => {
                    await q(r, "SET SESSION sql_log_bin = 0; DELETE FROM ledger WHERE id = -9", app.database);
                    await q(r, "START SLAVE SQL_THREAD");
                },
            },
            {
                // The replica holds a row lock the next event needs; that event was written an hour ago (SET TIMESTAMP).
                name: "an hour behind",
                breakIt: async () => {
                    loopWriters.push(startServer("row lock on mariadb-1", "bash", ["-c", `${bins.mariadb} --no-defaults --user=root --protocol=tcp --host=127.0.0.1 --port=${pods[r].port} --database=${app.database} --batch --execute="BEGIN; SELECT id FROM ledger WHERE id = -1 FOR UPDATE; DO SLEEP(120)"`], { logFile: path.join(work, "row-lock.log"), env: { PATH: process.env.PATH, MYSQL_PWD: root() } }));
                    await waitFor("the lock held", async () => (await q(r, "SELECT id FROM information_schema.PROCESSLIST WHERE info LIKE 'DO SLEEP%'")) !== "");
                    await q(0, "SET TIMESTAMP = UNIX_TIMESTAMP() - 3600; UPDATE ledger SET note = 'an hour ago' WHERE id = -1", app.database);
                    await waitFor("Seconds_Behind_Master above the bound", async () => Number((await slave(r)).Seconds_Behind_Master) > REPLICA_MAX_LAG_SECONDS);
                },
                expect: new RegExp(`not ready: \\d+ s behind the primary \\(more than ${REPLICA_MAX_LAG_SECONDS}\\)`),
                // KILL ends the sleeping session at once (a closed client would hold the lock until the sleep ends).
                repair: async () => void (await q(r, `KILL ${await q(r, "SELECT id FROM information_schema.PROCESSLIST WHERE info LIKE 'DO SLEEP%'")}`)),
            },
        ];
        for (const b of breaks) {
            await b.breakIt();
            const down = await untilReady(r, false);
            const st = await slave(r);
            const alive = await live(r);
            await b.repair();
            const up = await untilReady(r, true);
            await caughtUp(r, 0);
            rows.push(`      ${b.name}: not Ready after ${down.ms} ms (IO ${st.Slave_IO_Running}, SQL ${st.Slave_SQL_Running}, lag ${st.Seconds_Behind_Master}); liveness ${alive.ok ? "passes" : "FAILS"}; Ready ${up.ms} ms after the repair\n        ${down.detail.slice(0, 220)}`);
            assert.match(down.detail, b.expect);
            assert.ok(alive.ok, `liveness must not check replication: ${alive.detail}`);
        }
        // Connecting (the primary unreachable: restarting, or the replication password rotated before the
        // primary's roll) stays Ready: a roll that restarts replicas first would otherwise stop for good.
        await q(r, `STOP SLAVE; CHANGE MASTER TO MASTER_PORT = ${closedPort}; START SLAVE`);
        const connecting = await waitFor("the IO thread connecting", async () => {
            const st = await slave(r);
            return st.Slave_IO_Running === "Connecting" && st.Last_IO_Errno !== "0" ? st : undefined;
        });
        const whileConnecting = await ready(r);
        await q(r, `STOP SLAVE; CHANGE MASTER TO MASTER_PORT = ${pods[0].port}; START SLAVE`);
        await caughtUp(r, 0);
        assert.strictEqual((await slave(r)).Using_Gtid, "Current_Pos");
        rows.push(`      primary unreachable (IO ${connecting.Slave_IO_Running}, error ${connecting.Last_IO_Errno}): ${whileConnecting.ok ? "Ready" : "not Ready"}`);
        console.log(rows.join("\n"));
        assert.ok(whileConnecting.ok, whileConnecting.detail);
        assert.strictEqual(await q(r, "SELECT note FROM ledger WHERE id = -9", app.database), "from the primary");
        for (let i = 0; i < PODS; i++) assert.ok((await ready(i)).ok, `mariadb-${i} Ready again`);
    });

    it("readiness migration: a volume whose healthcheck accounts lack SLAVE MONITOR (as the previous render left them) is Ready after its rolled start", async function () {
        const r = 2;
        const hosts = ["127.0.0.1", "::1", "localhost"].map((h) => `healthcheck@'${h}'`).join(", ");
        const grants = async (i: number) => q(i, "SHOW GRANTS FOR healthcheck@'localhost'");
        // The fresh cluster's pods got it from their init SQL (the primary's first start created the accounts after its init SQL ran).
        for (let i = 0; i < PODS; i++) assert.match(await grants(i), /^GRANT SLAVE MONITOR ON \*\.\* TO `healthcheck`@`localhost`/, `mariadb-${i}`);
        // The previous render's state: the image's entrypoint and clone.sh grant USAGE only, and no init SQL added anything.
        for (const i of [0, r]) await q(i, `SET SESSION sql_log_bin = 0; REVOKE SLAVE MONITOR ON *.* FROM ${hosts}`);
        assert.match(await grants(r), /^GRANT USAGE ON \*\.\* TO `healthcheck`@`localhost`/);
        const before = await ready(r);
        const primary = await ready(0);
        // The roll: the pod restarts with the new render (its start script, its init SQL).
        await pods[r].stopServer();
        const t0 = Date.now();
        pods[r].serverArgs = await startArgs(r0, pods[r], r, pods[0].port);
        await pods[r].startServer("replica-of-0, rolled");
        const up = await untilReady(r, true);
        console.log(
            [
                `      mariadb-${r} without SLAVE MONITOR, before its roll: ${before.ok ? "Ready" : "not Ready"} (${before.detail.slice(0, 200)})`,
                `      the primary without it: ${primary.ok ? "Ready" : "not Ready"}`,
                `      after the rolled start: Ready ${Date.now() - t0} ms after the restart began (${up.ms} ms after the server accepted root); grants: ${await grants(r)}`.replace(/IDENTIFIED BY PASSWORD '[^']*'/, "IDENTIFIED BY PASSWORD '…'"),
            ].join("\n"),
        );
        assert.ok(!before.ok, "the new readiness needs the grant the rolled start gives");
        assert.match(before.detail, /SLAVE MONITOR/);
        assert.ok(primary.ok, `the primary checks no replication: ${primary.detail}`);
        assert.match(await grants(r), /^GRANT SLAVE MONITOR ON \*\.\* TO `healthcheck`@`localhost`/);
        assert.deepStrictEqual(errorLines(pods[r].lastLog()), [], "the init SQL ran without an error");
        await caughtUp(r, 0);
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
        // Its replication is gone (RESET SLAVE ALL) before any roll: the readiness tells the roles by the server's state.
        const promotedReady = await ready(2);
        assert.ok(promotedReady.ok, `the promoted pod is Ready as a primary: ${promotedReady.detail}`);
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
        for (let i = 0; i < PODS; i++) assert.ok((await ready(i)).ok, `mariadb-${i} Ready in its new role`);
        const oldPrimaryLog = pods[0].lastLog();
        const truncated = oldPrimaryLog.split("\n").filter((l) => /truncat/i.test(l));
        console.log(truncated.join("\n"));
        console.log(`      the old primary rejoined as a replica of mariadb-2${truncated.length > 0 ? " (its crash recovery discarded unacknowledged transactions)" : ""}`);

        // The promotion marked mariadb-2 before it became writable; `pulumi up` rolls mariadb-2 too, whose
        // start.sh then finds mariadb.primary naming it and removes the marker.
        assert.match(promoted.stdout, /replacing: mariadb-0\n/);
        assert.match(promoted.stdout, /mariadb-2: marked promoted \(holder=2 replaced=0 gtid=0-\d+-\d+ at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
        const marker = path.join(pods[2].dataDir, PROMOTION_MARKER);
        assert.ok(fs.existsSync(marker), `the promotion left ${marker}`);
        await pods[2].stopServer();
        pods[2].serverArgs = await startArgs(r2, pods[2], 2, 0);
        await pods[2].startServer("primary, after pulumi up", { reconcile: false });
        assert.ok(!fs.existsSync(marker), "start.sh removed the recorded promotion's marker");
        assert.deepStrictEqual(await Promise.all(pods.map((_, i) => q(i, "SELECT @@read_only"))), ["1", "1", "0"]);
        for (const i of [0, 1]) await waitFor(`mariadb-${i} replicating from the restarted mariadb-2`, async () => (await slave(i)).Slave_IO_Running === "Yes", { timeoutMs: 30_000 });
    });

    // Issue 19, item 6: between a promotion and the `pulumi up` that records it. mariadb.primary is 2 (the
    // promotion above); mariadb-2 dies, the script promotes X (the most advanced of 0 and 1), and then:
    // (a) mariadb-2 returns, its render unchanged, while the client Service still selects it;
    // (b) X restarts, its render unchanged;
    // (c) `pulumi up` with mariadb.primary X re-points the Service and rolls the pods.
    // An application writes through the Service throughout (reconnecting per write), and a client writes to X
    // by its pod name. Every acknowledged write must be on X at the end.
    const drill = {
        X: -1,
        Y: -1,
        service: "",
        killedAt: 0,
        promotedAt: 0,
        r2: undefined as Render | undefined,
        svc: undefined as ReturnType<typeof loopWriter> | undefined,
        direct: undefined as ReturnType<typeof loopWriter> | undefined,
    };
    const writable = async () => {
        const out: string[] = [];
        for (const [i, p] of pods.entries()) if (p.server?.running && (await q(i, "SELECT @@read_only")) === "0") out.push(`mariadb-${i}`);
        return out.length > 0 ? out.join(", ") : "none";
    };

    it("fence (a): after a promotion, the old primary returning with mariadb.primary unchanged refuses to start: no second writable primary behind the Service", async function () {
        const R = 2;
        drill.r2 = await renderReplicated(R, seed);
        drill.service = path.join(work, "service-endpoint");
        fs.writeFileSync(drill.service, String(pods[R].port));
        const svc = (drill.svc = loopWriter("service", 10_000_000, drill.service));
        await waitFor("100 writes acknowledged through the Service", async () => svc.writes().filter((w) => w.ok).length >= 100, { timeoutMs: 30_000 });
        process.kill(-pods[R].server!.child.pid!, "SIGKILL");
        drill.killedAt = Date.now();
        await pods[R].server!.exited;
        const ackedBeforeKill = svc.writes().filter((w) => w.ok && w.at <= drill.killedAt);

        const dir = makeTempDir("mariadb-promote");
        pods.forEach((p, i) => fs.writeFileSync(path.join(dir, `${i}.cnf`), `[client]\nuser = root\npassword = ${root()}\nhost = 127.0.0.1\nport = ${p.port}\nprotocol = tcp\n`, { mode: 0o600 }));
        const promoted = await run("bash", [PROMOTE, "--defaults-dir", dir, "--replicas", String(PODS), "--wait", "60"], { timeoutMs: 120_000 });
        removeTempDir(dir);
        drill.promotedAt = Date.now();
        console.log(promoted.stdout.replace(/^/gm, "        "));
        assert.strictEqual(promoted.code, 0, `promote-mariadb.sh: ${describeRun(promoted)}`);
        drill.X = Number(/most advanced: mariadb-(\d)/.exec(promoted.stdout)![1]);
        drill.Y = [0, 1].find((i) => i !== drill.X)!;
        const { X } = drill;

        // mariadb-2 returns (its node is back): the StatefulSet runs it with the same render, mariadb.primary 2.
        const t0 = Date.now();
        const back = await runStart(drill.r2, pods[R], R);
        const startMs = Date.now() - t0;
        if (back.res.code === 0 && back.args) {
            // What the pod would do next: the entrypoint starts the server with start.sh's arguments.
            pods[R].serverArgs = localiseArgs(drill.r2, pods[R], R, 0, back.res, back.args);
            await pods[R].startServer("returned old primary", { reconcile: false });
        }
        const returnedAt = Date.now();
        // Meanwhile a client writes to X by its pod name (as connections do once `pulumi up` re-points the
        // Service, while pooled connections still hold the old endpoint).
        const xTarget = path.join(work, "promoted-endpoint");
        fs.writeFileSync(xTarget, String(pods[X].port));
        const direct = (drill.direct = loopWriter("direct", 20_000_000, xTarget));
        const ackedOn = (w: ReturnType<typeof loopWriter>, port: number) => w.writes().filter((e) => e.ok && e.at > returnedAt && e.port === port).length;
        if (pods[R].server?.running) {
            // Its first commit waits out the semi-sync timeout (no replica follows it): wait for 20 acknowledged writes.
            await waitFor("writes through the Service on the returned mariadb-2", async () => ackedOn(svc, pods[R].port) >= 20, { timeoutMs: 40_000 }).catch(() => undefined);
        } else {
            await new Promise((res) => setTimeout(res, 3000));
        }
        const primaries = await writable();
        const serviceWrites = svc.writes().filter((w) => w.at > returnedAt);
        const onOld = ackedOn(svc, pods[R].port);
        const onX = ackedOn(direct, pods[X].port);
        const lostIfRecorded = serviceWrites.filter((w) => w.ok && w.port === pods[R].port);
        const missingOnX = lostIfRecorded.length === 0 ? 0 : Number(await q(X, `SELECT ${lostIfRecorded.length} - COUNT(*) FROM ledger WHERE id IN (${lostIfRecorded.map((w) => w.id).join(",")})`, app.database));
        console.log(
            [
                `      primary before: mariadb-2 (mariadb.primary 2); ${ackedBeforeKill.length} writes acknowledged through the Service before the kill -9`,
                `      promoted mariadb-${X} ${drill.promotedAt - drill.killedAt} ms after the kill (replacing mariadb-2)`,
                `      mariadb-2 returned with mariadb.primary 2: start.sh exit ${back.res.code} after ${startMs} ms${back.args ? " (the entrypoint ran: a server started)" : " (the entrypoint never ran)"}`,
                ...back.res.stdout.trim().split("\n").concat(back.res.stderr.trim().split("\n")).filter((l) => l).map((l) => `        ${l}`),
                `      for ${((Date.now() - returnedAt) / 1000).toFixed(1)} s after: writable pods: ${primaries}`,
                `      through the Service (selecting mariadb-2): ${serviceWrites.length} writes, ${onOld} acknowledged by mariadb-2, ${serviceWrites.length - serviceWrites.filter((w) => w.ok).length} refused; of those acknowledged, ${missingOnX} not on mariadb-${X} (lost once the promotion is recorded)`,
                `      on mariadb-${X} by its pod name: ${direct.writes().filter((w) => w.at > returnedAt).length} writes, ${onX} acknowledged`,
            ].join("\n"),
        );
        assert.strictEqual(back.res.code, 1, `the returned old primary must refuse to start: ${describeRun(back.res)}`);
        assert.strictEqual(back.args, undefined, "the entrypoint never ran");
        assert.match(
            back.res.stderr,
            new RegExp(`refusing to start mariadb-2 as a writable primary: mariadb-${X} was promoted in place of mariadb-2 \\(holder=${X} replaced=2 gtid=\\S+ at=\\S+\\) and is writable\\. Two writable primaries would split the data\\. If mariadb-${X} is the primary, record it: pulumi config set --path mariadb\\.primary ${X} && pulumi up`),
        );
        assert.strictEqual(primaries, `mariadb-${X}`, "one writable primary");
        assert.strictEqual(onOld, 0, "no write acknowledged by the old primary");
        assert.ok(onX > 0, "the promoted primary takes writes");
    });

    it("fence (b): the promoted pod restarting before `pulumi up` comes back as the primary, not as a replica of the dead one", async function () {
        const { X, Y } = drill;
        assert.ok(X >= 0 && drill.direct && drill.r2, "runs after fence (a)");
        const direct = drill.direct;
        await waitFor("20 writes acknowledged on the promoted pod", async () => direct.writes().filter((w) => w.ok).length >= 20, { timeoutMs: 30_000 }).catch(() => undefined);
        process.kill(-pods[X].server!.child.pid!, "SIGKILL");
        const killedAt = Date.now();
        await pods[X].server!.exited;
        const ackedBefore = direct.writes().filter((w) => w.ok && w.at <= killedAt);

        // The container restarts with the same render (mariadb.primary 2, mariadb-2 refusing to start).
        const back = await runStart(drill.r2, pods[X], X);
        assert.strictEqual(back.res.code, 0, `start.sh as the promoted mariadb-${X}: ${describeRun(back.res)}`);
        pods[X].serverArgs = localiseArgs(drill.r2, pods[X], X, pods[2].port, back.res, back.args!);
        await pods[X].startServer("promoted, restarted", { reconcile: false });
        const upAt = Date.now();
        const roleLine = back.res.stdout.split("\n").find((l) => / is the /.test(l)) ?? "";
        const ro = await q(X, "SELECT @@read_only");
        await waitFor(`a write acknowledged on mariadb-${X} after its restart`, async () => direct.writes().some((w) => w.ok && w.at > upAt), { timeoutMs: 30_000 }).catch(() => undefined);
        const firstAfter = direct.writes().find((w) => w.ok && w.at > upAt);
        const ids = ackedBefore.map((w) => w.id);
        const present = ids.length === 0 ? 0 : Number(await q(X, `SELECT COUNT(*) FROM ledger WHERE id IN (${ids.join(",")})`, app.database));
        const primaries = await writable();
        console.log(
            [
                `      mariadb-${X} (promoted, mariadb.primary still 2) killed -9 after ${ackedBefore.length} acknowledged writes on it; restarted by its start.sh:`,
                ...back.res.stdout.trim().split("\n").map((l) => `        ${l}`),
                `      read_only ${ro}; writable pods: ${primaries}; server up ${upAt - killedAt} ms after the kill, first write acknowledged ${firstAfter ? `${firstAfter.at - killedAt} ms` : "never"} after the kill`,
                `      of the ${ackedBefore.length} writes acknowledged before the kill, ${present} are on mariadb-${X} (lost ${ackedBefore.length - present})`,
            ].join("\n"),
        );
        assert.match(roleLine, new RegExp(`mariadb-${X} is the primary`), back.res.stdout);
        assert.match(back.res.stdout, new RegExp(`mariadb-${X} was promoted in place of mariadb-2 \\(holder=${X} replaced=2 .*\\) and mariadb\\.primary still names 2: starting as the primary\\. Record the promotion: pulumi config set --path mariadb\\.primary ${X} && pulumi up`));
        assert.ok(!pods[X].serverArgs.includes("--read-only=ON"), "not started read-only");
        assert.strictEqual(ro, "0", `mariadb-${X} is writable again`);
        assert.strictEqual(primaries, `mariadb-${X}`);
        assert.strictEqual(ackedBefore.length - present, 0, "no acknowledged write lost");
        assert.ok(firstAfter, "the promoted pod takes writes again");
        // The other replica, re-pointed by the promotion, follows it again.
        await caughtUp(Y, X);
        assert.strictEqual((await slave(Y)).Last_IO_Errno, "0");
    });

    it("fence (c): `pulumi up` with the promoted pod as mariadb.primary: the Service writes to it, its marker goes, the old primary rejoins as a replica; no acknowledged write lost", async function () {
        const { X, Y } = drill;
        assert.ok(X >= 0 && drill.svc && drill.direct, "runs after fence (a) and (b)");
        const rX = await renderReplicated(X, seed);
        // The client Service selects mariadb-X at once; the StatefulSet then rolls the pods (highest ordinal first).
        fs.writeFileSync(drill.service, String(pods[X].port));
        const repointedAt = Date.now();
        for (const i of [2, 1, 0]) {
            if (pods[i].server?.running) await pods[i].stopServer();
            if (i === X) {
                pods[X].serverArgs = await startArgs(rX, pods[X], X, 0);
                await pods[X].startServer("primary, after pulumi up", { reconcile: false });
            } else {
                await startReplica(i, rX, X);
            }
        }
        const svc = drill.svc!;
        await waitFor("writes through the Service on the new primary", async () => svc.writes().filter((w) => w.ok && w.at > repointedAt).length >= 20, { timeoutMs: 30_000 });
        const firstAfter = svc.writes().find((w) => w.ok && w.at > repointedAt)!;
        await svc.server.stop(5_000);
        await drill.direct!.server.stop(5_000);
        for (const i of [Y, 2]) await caughtUp(i, X).catch(() => undefined);
        // The replicas started while mariadb-X was still stopped (the roll reaches it last): each logs in again at
        // its next connect retry (5 s). Equal positions do not show that, since the writers have stopped.
        for (const i of [Y, 2]) {
            await waitFor(`mariadb-${i}'s IO thread connected to mariadb-${X}`, async () => (await slave(i)).Slave_IO_Running === "Yes", { timeoutMs: 30_000, server: pods[i].server }).catch(() => undefined);
        }
        const all = [...svc.writes(), ...drill.direct!.writes()];
        const acked = all.filter((w) => w.ok);
        const onX = new Set((await q(X, `SELECT id FROM ledger WHERE id >= 10000000`, app.database)).split("\n").filter((l) => l).map(Number));
        const lost = acked.filter((w) => !onX.has(w.id));
        const byServer = (ws: typeof all) => [...new Set(ws.map((w) => w.serverId))].map((id) => `server_id ${id}: ${ws.filter((w) => w.serverId === id).length}`).join(", ");
        const st2 = await slave(2);
        console.log(
            [
                `      after pulumi up (mariadb.primary ${X}): writable pods: ${await writable()}; the Service's first acknowledged write ${firstAfter.at - repointedAt} ms after the re-pointing, ${firstAfter.at - drill.killedAt} ms after the kill -9 of mariadb-2`,
                `      the whole drill: ${all.length} writes, ${acked.length} acknowledged (${byServer(acked)}), ${all.length - acked.length} refused; acknowledged but not on mariadb-${X}: ${lost.length}`,
                `      mariadb-2 as a replica of mariadb-${X}: IO ${st2.Slave_IO_Running}, SQL ${st2.Slave_SQL_Running}${st2.Last_IO_Errno !== "0" ? `, error ${st2.Last_IO_Errno}: ${st2.Last_IO_Error}` : ""}`,
            ].join("\n"),
        );
        assert.strictEqual(lost.length, 0, `acknowledged writes missing on the primary: ${lost.slice(0, 10).map((w) => `${w.id}@${w.port}`).join(", ")}`);
        assert.ok(!fs.existsSync(path.join(pods[X].dataDir, PROMOTION_MARKER)), "the recorded promotion's marker is removed");
        assert.deepStrictEqual(await Promise.all(pods.map((_, i) => q(i, "SELECT @@read_only"))), pods.map((_, i) => (i === X ? "0" : "1")));
        for (const i of [Y, 2]) {
            const st = await slave(i);
            assert.strictEqual(st.Last_IO_Errno, "0", `mariadb-${i}: ${st.Last_IO_Error}`);
            assert.strictEqual(st.Last_SQL_Errno, "0", `mariadb-${i}: ${st.Last_SQL_Error}`);
            assert.strictEqual(await rowCount(i), await rowCount(X), `mariadb-${i} has mariadb-${X}'s rows`);
        }
    });
});
