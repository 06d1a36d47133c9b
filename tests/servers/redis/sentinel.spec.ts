// Real-process test of the replicated Redis as the prod stack renders it (redis.replicas 3, TLS): three
// "pods" on 127.0.0.1, each a redis-server and a Sentinel started with the containers' own command lines
// (the rendered start scripts, redis.conf, sentinel.conf, ACL files and certificates), as the image's user with
// busybox's sh and applets (tests/helpers/redisSentinel.ts). Proves replication
// through the replication user, the Sentinels' authentication, the least privilege of the replication and
// sentinel users, and a failover after kill -9 of the primary's pod with what it loses, measured.
// Skips locally without redis-server (Sentinel is `redis-server --sentinel`), busybox or setpriv; fails in CI.
// Cold starts of every pod at once are in coldstart.spec.ts.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { SENTINEL_DOWN_AFTER_MS } from "../../../components/redis";
import { assertError, RedisConn, RespError, show, type Reply } from "../../helpers/redis";
import { infoField, loadSentinelSet, openAuthed, podUser, SentinelLab, type LocalPod, type RenderedSentinelSet } from "../../helpers/redisSentinel";
import { renewedCertificate, writeCertificateFiles } from "../../helpers/tlsReload";
import { SENTINEL_TLS_CHECK_SECONDS, SENTINEL_TLS_STAGGER_SECONDS } from "../../../components/redis/sentinel";
import { REDIS_PATHS } from "../../../components/redis/files";
import * as tls from "tls";
import { describeRun, freePort, randomToken, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { runbookBlock } from "../../helpers/runbooks";
import { secretData } from "../../../scripts/lib/rendered";
import type { Manifest } from "../../../scripts/lib/mockRuntime";

registerRealServerSummary();

/** kill -9 of the primary to a write accepted by the new one: Sentinel's 5 s down-after plus the election. */
const FAILOVER_BOUND_MS = 20_000;

describe("real servers: prod Redis with Sentinel (3 pods as rendered) replicates, authenticates and fails over", function () {
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string> = {};
    let lab: SentinelLab;
    let set: RenderedSentinelSet;
    let tmp: string;
    let pods: LocalPod[];
    let procs: Map<string, ServerProcess>;
    let primary = 0;

    const envOf = (extra: Record<string, string>): NodeJS.ProcessEnv => lab.envOf(extra);
    const startPod = (p: LocalPod): void => lab.startPod(p.ordinal);
    const admin = (i: number): Promise<RedisConn> => lab.admin(i);
    const sentinelConn = (i: number): Promise<RedisConn> => lab.sentinelConn(i);
    const waitReady = (i: number): Promise<void> => lab.waitReady(i);
    const askSentinel = (i: number): Promise<string | undefined> => lab.askSentinel(i);
    const addr = (i: number) => lab.addr(i);
    const conns = { push: (c: RedisConn) => lab.track(c) };

    before(async function () {
        bins = requireBinaries(this, [...SentinelLab.binaries, "sh", "timeout", "sed"], "install: apt-get install redis-server redis-tools busybox util-linux coreutils sed");
        stopClock = startClock("redis-sentinel");
        set = await loadSentinelSet("prod");
        assert.strictEqual(set.replicas, 3, "prod runs 3 Redis pods");
        assert.ok(set.tls, "prod renders TLS");
        lab = await SentinelLab.create(set, "redis-sentinel", bins);
        tmp = lab.tmp;
        pods = lab.pods;
        procs = lab.procs;
        for (const line of lab.describeSubstitutions()) console.log(`      ${line}`);
        // Cold start as the StatefulSet does it (podManagementPolicy Parallel): every pod at once, on new volumes.
        for (const p of pods) startPod(p);
        for (const p of pods) await waitReady(p.ordinal);
    });

    after(async function () {
        await lab?.close();
        stopClock?.();
    });

    it("cold start of all pods at once on new volumes: pod 0 becomes the primary (no pod holds data), pods 1 and 2 replicate it, through the replication user", async function () {
        const esc = (a: string) => a.replace(/\./g, "\\.");
        assert.match(procs.get("redis-0")!.log(), /starts as the primary, fenced until the Sentinels give the all-clear \(records of 3 of 3 pods:.* names redis-0; no pod holds data: a new set\)/);
        for (const i of [1, 2]) {
            // A new volume: a replica that Sentinel does not promote until it has synced once.
            assert.match(
                procs.get(`redis-${i}`)!.log(),
                new RegExp(`starts as a replica of ${esc(addr(0))} \\(records of 3 of 3 pods:.*\\), with replica-priority 0 until its first sync: this pod holds no data \\(fresh\\)`),
                `redis-${i} follows pod 0`,
            );
            await waitFor(`redis-${i} to be a failover candidate again`, async () => /has synced with its primary: replica-priority 100/.test(procs.get(`redis-${i}`)!.log()), { timeoutMs: 15_000 });
            const r = await admin(i);
            assert.strictEqual(infoField(await r.command("INFO", "replication"), "slave_priority"), "100", `redis-${i} replica-priority`);
        }
        for (let i = 0; i < 3; i++) assert.match(procs.get(`sentinel-${i}`)!.log(), /monitoring 127\.0\.0\.1:\d+ at config-epoch 0 \(a new volume/, `sentinel-${i} on a new volume`);
        const p = await admin(0);
        assert.strictEqual(infoField(await p.command("INFO", "replication"), "role"), "master");
        // min-replicas-to-write 1: the primary takes writes once a replica is online and acknowledging.
        await waitFor("2 good replicas on the primary", async () => infoField(await p.command("INFO", "replication"), "min_slaves_good_slaves") === "2", { timeoutMs: 15_000 });
        // Both replication links are the replication ACL user's (CLIENT LIST shows the user of each connection).
        const replicaClients = String(await p.command("CLIENT", "LIST", "TYPE", "replica")).trim().split("\n");
        assert.strictEqual(replicaClients.length, 2, `replica connections: ${replicaClients.join(" | ")}`);
        for (const line of replicaClients) assert.match(line, / user=replication /, line);
        const key = `session:repl-${randomToken(8)}`;
        const value = randomToken(24);
        assert.strictEqual(await p.command("SET", key, value), "OK");
        for (const i of [1, 2]) {
            const r = await admin(i);
            assert.strictEqual(infoField(await r.command("INFO", "replication"), "master_link_status"), "up", `redis-${i} link`);
            await waitFor(`${key} on redis-${i}`, async () => (await r.command("GET", key)) === value, { timeoutMs: 5000 });
            assertError(await r.command("SET", key, "x"), /^READONLY/, `a write on replica redis-${i}`);
            assert.deepStrictEqual(await r.command("CONFIG", "GET", "appendonly"), ["appendonly", "yes"], `AOF on redis-${i}`);
            assert.deepStrictEqual(await r.command("CONFIG", "GET", "tls-replication"), ["tls-replication", "yes"], `redis-${i} replicates over TLS`);
        }
    });

    it("a replica with a wrong replication password is refused by the primary (the replication user's password is what lets it in)", async function () {
        const p = await admin(0);
        const wrongPort = await freePort();
        const dir = path.join(tmp!, "intruder");
        fs.mkdirSync(dir);
        const conf = path.join(dir, "redis.conf");
        // Pod 2's redis.conf and replication settings, its own port and dir, and a wrong masterauth.
        const text = fs
            .readFileSync(path.join(pods[2].root, "etc/redis/redis.conf"), "utf8")
            .replace(/^tls-port \d+$/m, `tls-port ${wrongPort}`)
            .replace(/^dir .*$/m, `dir ${dir}`);
        const replication = fs.readFileSync(path.join(pods[2].root, "etc/redis/scripts/replication.conf"), "utf8");
        fs.writeFileSync(conf, `${text}\n${replication}\nmasteruser replication\nmasterauth wrong-${randomToken()}\n`, { mode: 0o600 });
        const intruder = startServer("intruder", bins["redis-server"], [conf, "--replicaof", "127.0.0.1", String(pods[0].redisPort)], { logFile: path.join(dir, "log") });
        procs.set("intruder", intruder);
        await waitFor("the primary to refuse the intruder's AUTH", async () => /WRONGPASS|invalid username-password|Unable to AUTH/i.test(intruder.log()), { timeoutMs: 10_000 });
        assert.strictEqual(infoField(await p.command("INFO", "replication"), "connected_slaves"), "2", "still only the two real replicas");
        await intruder.stop(5000);
        procs.delete("intruder");
    });

    it("the Sentinels agree on the primary, see each other and both replicas, and have a quorum (2 of 3)", async function () {
        for (let i = 0; i < 3; i++) {
            const s = await sentinelConn(i);
            assert.strictEqual(await askSentinel(i), addr(0), `sentinel-${i} reports the primary`);
            await waitFor(`sentinel-${i} to know the 2 other Sentinels and 2 replicas`, async () => {
                const others = await s.command("SENTINEL", "sentinels", set.masterName);
                const replicas = await s.command("SENTINEL", "replicas", set.masterName);
                return Array.isArray(others) && others.length === 2 && Array.isArray(replicas) && replicas.length === 2;
            }, { timeoutMs: 15_000 });
            const ck = await s.command("SENTINEL", "ckquorum", set.masterName);
            assert.ok(typeof ck === "string" && /^OK 3 usable Sentinels\. Quorum and failover authorization can be reached/.test(ck), `sentinel-${i} CKQUORUM: ${show(ck)}`);
        }
    });

    it("Sentinels refuse clients without the Sentinel password (and with the Redis admin password)", async function () {
        for (let i = 0; i < 3; i++) {
            const c = await openAuthed(set, pods[i].sentinelPort, i);
            conns.push(c);
            assertError(await c.command("PING"), /^NOAUTH/, `PING to sentinel-${i} without AUTH`);
            assertError(await c.command("SENTINEL", "get-master-addr-by-name", set.masterName), /^NOAUTH/, `SENTINEL get-master-addr-by-name on sentinel-${i} without AUTH`);
            assertError(await c.command("AUTH", `wrong-${randomToken()}`), /^WRONGPASS/, "a wrong password");
            assertError(await c.command("AUTH", set.passwords.admin), /^WRONGPASS/, "the Redis admin password");
            assert.strictEqual(await c.command("AUTH", set.passwords.sentinel), "OK");
            assert.strictEqual(await c.command("PING"), "PONG");
        }
        // The rendered liveness probe of the Sentinel container reads the mounted password file at each run:
        // it passes with the password, and also on a refusal (Sentinel answered: a rotation restarts nothing),
        // and fails when Sentinel does not answer.
        const probe: string[] = set.sentinel.livenessProbe.exec.command;
        const pwFile = path.join(pods[0].root, "probe-sentinel-password");
        const script = probe[2]
            .replace(/-p 26379/, `-p ${pods[0].sentinelPort}`)
            .split("/etc/redis/tls")
            .join(`${pods[0].root}/etc/redis/tls`)
            .split("/etc/redis/sentinel-password/password")
            .join(pwFile);
        fs.writeFileSync(pwFile, set.passwords.sentinel);
        const ok = await run(probe[0], [probe[1], script], { env: envOf({}) });
        assert.strictEqual(ok.code, 0, `sentinel liveness probe with the password: ${describeRun(ok)}`);
        fs.writeFileSync(pwFile, `wrong-${randomToken()}`);
        const refused = await run(probe[0], [probe[1], script], { env: envOf({}) });
        assert.strictEqual(refused.code, 0, `sentinel liveness probe with a refused password (Sentinel answered): ${describeRun(refused)}`);
        const down = await run(probe[0], [probe[1], script.replace(`-p ${pods[0].sentinelPort}`, `-p ${await freePort()}`)], { env: envOf({}) });
        assert.notStrictEqual(down.code, 0, `sentinel liveness probe with no Sentinel: ${describeRun(down)}`);
    });

    it("the clients' Sentinel password discovers and subscribes only; the Sentinels and operators have their own users", async function () {
        const m = set.masterName;
        const watcher = await sentinelConn(0);
        // The settings a refused command would have changed (SENTINEL master also reports times that move).
        const settled = async () => {
            const reply = (await watcher.command("SENTINEL", "master", m)) as string[];
            const fields = Object.fromEntries(reply.flatMap((v, i) => (i % 2 === 0 ? [[v, reply[i + 1]]] : [])));
            return ["name", "ip", "port", "quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs", "num-other-sentinels"].map((k) => `${k}=${fields[k]}`);
        };
        const before = await settled();
        const client = await sentinelConn(0);
        const address = await client.command("SENTINEL", "get-master-addr-by-name", m);
        assert.ok(Array.isArray(address) && address.length === 2, `get-master-addr-by-name: ${show(address)}`);
        for (const cmd of [["SENTINEL", "master", m], ["SENTINEL", "replicas", m], ["SENTINEL", "sentinels", m], ["SENTINEL", "masters"], ["SENTINEL", "ckquorum", m], ["PING"]]) {
            const reply = await client.command(...cmd);
            assert.ok(!(reply instanceof RespError), `${cmd.join(" ")} is allowed: ${show(reply)}`);
        }
        // What the clients' credential could do before, and more: each refused, nothing changed.
        const refused = [
            ["ACL", "SETUSER", `evil-${randomToken(6)}`, "on", `>${randomToken()}`, "+@all"],
            ["ACL", "LIST"],
            ["SENTINEL", "REMOVE", m],
            ["SENTINEL", "SET", m, "down-after-milliseconds", "1"],
            ["SENTINEL", "CONFIG", "SET", "announce-ip", "203.0.113.7"],
            ["SENTINEL", "MONITOR", `evil-${randomToken(6)}`, "127.0.0.1", "1", "1"],
            ["SENTINEL", "FAILOVER", m],
            ["SENTINEL", "RESET", "*"],
            ["SENTINEL", "FLUSHCONFIG"],
            ["PUBLISH", "+switch-master", `${m} a 1 b 2`],
            ["SHUTDOWN"],
        ];
        for (const cmd of refused) assertError(await client.command(...cmd), /^NOPERM/, `${cmd.slice(0, 3).join(" ")} with the clients' password`);
        assert.deepStrictEqual(await settled(), before, "the monitored primary's settings are unchanged");
        assert.match(before.join(" "), /down-after-milliseconds=\d+ /);
        // Events: a client may subscribe to Sentinel's channels.
        const events = await sentinelConn(0);
        const subscribed = await events.command("SUBSCRIBE", "+switch-master");
        assert.deepStrictEqual(subscribed, ["subscribe", "+switch-master", 1], `SUBSCRIBE +switch-master: ${show(subscribed)}`);
        // The Sentinels' own user: only what one Sentinel asks another; its password is not the clients'.
        assert.notStrictEqual(set.passwords.sentinelPeer, set.passwords.sentinel);
        const peer = await openAuthed(set, pods[1].sentinelPort, 1, { user: "sentinels", password: set.passwords.sentinelPeer });
        conns.push(peer);
        assert.strictEqual(await peer.command("PING"), "PONG");
        assertError(await peer.command("SENTINEL", "get-master-addr-by-name", m), /^NOPERM/, "the peers' user is no client credential");
        assertError(await peer.command("SENTINEL", "SET", m, "down-after-milliseconds", "1"), /^NOPERM/, "the peers' user cannot change a Sentinel");
        const wrong = await openAuthed(set, pods[1].sentinelPort, 1);
        conns.push(wrong);
        assertError(await wrong.command("AUTH", "sentinels", set.passwords.sentinel), /^WRONGPASS/, "the clients' password is not the peers'");
        // The operators' user may change a Sentinel (here: to the value it already has).
        const op = await openAuthed(set, pods[2].sentinelPort, 2, { user: "admin", password: set.passwords.sentinelAdmin });
        conns.push(op);
        assert.strictEqual(await op.command("SENTINEL", "SET", m, "down-after-milliseconds", String(SENTINEL_DOWN_AFTER_MS)), "OK");
        assert.ok(Array.isArray(await op.command("ACL", "LIST")), "admin reads the ACL");
    });

    it("the replication and sentinel ACL users cannot read or write keys, FLUSHALL, CONFIG GET or KEYS", async function () {
        const p = await admin(0);
        const key = `session:keep-${randomToken(8)}`;
        assert.strictEqual(await p.command("SET", key, "still-here"), "OK");
        for (const [user, password] of [["replication", set.passwords.replication], ["sentinel", set.passwords.sentinelUser]] as const) {
            const c = await openAuthed(set, pods[0].redisPort, 0, { user, password });
            conns.push(c);
            for (const cmd of [["GET", key], ["SET", key, "x"], ["FLUSHALL"], ["FLUSHDB"], ["KEYS", "*"], ["CONFIG", "GET", "*"], ["ACL", "LIST"]]) {
                assertError(await c.command(...cmd), /^NOPERM/, `${user} ${cmd.join(" ")}`);
                const dry = await p.command("ACL", "DRYRUN", user, ...cmd);
                assert.ok(typeof dry === "string" && /no permissions/i.test(dry), `ACL DRYRUN ${user} ${cmd.join(" ")}: ${show(dry)}`);
            }
        }
        assert.strictEqual(await p.command("GET", key), "still-here", "the data survived the refused FLUSHALL");
        // Control: what each does need is allowed.
        assert.strictEqual(await p.command("ACL", "DRYRUN", "replication", "PSYNC", "?", "-1"), "OK");
        assert.strictEqual(await p.command("ACL", "DRYRUN", "sentinel", "INFO"), "OK");
    });

    it(`kill -9 of the primary's pod during writes (WAIT 1): a new primary within ${FAILOVER_BOUND_MS / 1000} s, no write acknowledged by WAIT lost, the old primary rejoins as a replica`, async function () {
        type Write = { n: number; key: string; ackAt: number; waitReplicas: number | undefined; waitMs: number | undefined };
        const writes: Write[] = [];
        let killAt = 0;
        let firstAfter: { at: number; node: string } | undefined;
        let switchAt: number | undefined;
        const errors = new Map<string, number>();
        const live = [1, 2];
        let writer: RedisConn | undefined = await openAuthed(set, pods[0].redisPort, 0, { password: set.passwords.admin });
        let writerAddr = addr(0);
        const until = () => (firstAfter ? firstAfter.at + 2000 : Date.now() + 1);
        const connectToPrimary = async (): Promise<void> => {
            for (const i of live) {
                try {
                    const a = await askSentinel(i);
                    const j = pods.findIndex((p) => a === addr(p.ordinal));
                    if (j < 0) continue;
                    const c = await openAuthed(set, pods[j].redisPort, j, { password: set.passwords.admin });
                    const role = await c.command("ROLE");
                    if (Array.isArray(role) && role[0] === "master") {
                        writer = c;
                        writerAddr = a!;
                        return;
                    }
                    c.close();
                } catch {
                    // that Sentinel or node is not answering: the next one
                }
            }
        };
        // Sentinel's view, polled: when the reported primary changes.
        let polling = true;
        const poll = (async () => {
            while (polling) {
                if (killAt && !switchAt) {
                    for (const i of live) {
                        const a = await askSentinel(i).catch(() => undefined);
                        if (a && a !== addr(0)) switchAt ??= Date.now();
                    }
                }
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        const writeLoop = (async () => {
            let n = 0;
            const start = Date.now();
            while (Date.now() < start + 60_000 && Date.now() < until()) {
                if (!killAt && Date.now() > start + 2000) {
                    // The node is lost: redis-server and Sentinel of pod 0, without a chance to say so.
                    killAt = Date.now();
                    for (const name of ["redis-0", "sentinel-0"]) process.kill(-procs.get(name)!.child.pid!, "SIGKILL");
                }
                if (!writer) {
                    await connectToPrimary();
                    if (!writer) {
                        await new Promise((r) => setTimeout(r, 50));
                        continue;
                    }
                }
                const key = `session:w-${n}`;
                const t0 = Date.now();
                let reply: Reply;
                try {
                    reply = await writer.command("SET", key, String(t0));
                } catch (e) {
                    errors.set((e as Error).message, (errors.get((e as Error).message) ?? 0) + 1);
                    writer.close();
                    writer = undefined;
                    continue;
                }
                if (reply !== "OK") {
                    const kind = reply instanceof RespError ? reply.message.split(" ")[0] : show(reply);
                    errors.set(kind, (errors.get(kind) ?? 0) + 1);
                    writer.close();
                    writer = undefined;
                    await new Promise((r) => setTimeout(r, 50));
                    continue;
                }
                const ackAt = Date.now();
                const w: Write = { n, key, ackAt, waitReplicas: undefined, waitMs: undefined };
                writes.push(w);
                n++;
                if (killAt && ackAt > killAt && !firstAfter) firstAfter = { at: ackAt, node: writerAddr };
                try {
                    const acked = await writer.command("WAIT", "1", "200");
                    w.waitReplicas = typeof acked === "number" ? acked : undefined;
                    w.waitMs = Date.now() - ackAt;
                } catch {
                    writer.close();
                    writer = undefined;
                }
            }
        })();
        await writeLoop;
        polling = false;
        await poll;
        (writer as RedisConn | undefined)?.close();

        assert.ok(firstAfter, `no write was accepted after the kill within 60 s; errors: ${JSON.stringify([...errors])}\n${procs.get("sentinel-1")!.logTail()}`);
        const failoverMs = firstAfter.at - killAt;
        const newPrimary = pods.findIndex((p) => addr(p.ordinal) === firstAfter!.node);
        assert.ok(newPrimary === 1 || newPrimary === 2, `the new primary is a former replica: ${firstAfter.node}`);
        primary = newPrimary;

        // What the new primary has of what was acknowledged before the kill.
        const np = await admin(newPrimary);
        const before = writes.filter((w) => w.ackAt <= killAt);
        const present = new Set<number>();
        for (const w of writes) if ((await np.command("GET", w.key)) !== null) present.add(w.n);
        const waited = before.filter((w) => (w.waitReplicas ?? 0) >= 1);
        const lostWaited = waited.filter((w) => !present.has(w.n));
        const lostSetOnly = before.filter((w) => (w.waitReplicas ?? 0) < 1 && !present.has(w.n));
        // The replication window: how long after its SET reply a write took to reach a replica (WAIT's time).
        const waitTimes = waited.map((w) => w.waitMs!).sort((a, b) => a - b);
        const windowMs = waitTimes[waitTimes.length - 1];
        const lostOlderThanWindow = before.filter((w) => !present.has(w.n) && killAt - w.ackAt > windowMs);
        const after = writes.filter((w) => w.ackAt > killAt);
        console.log(
            [
                `      failover: kill -9 of pod 0 (redis-server and Sentinel) → Sentinel reports ${firstAfter.node} after ${switchAt ? switchAt - killAt : "?"} ms → first write accepted there after ${failoverMs} ms (bound ${FAILOVER_BOUND_MS} ms; down-after 5000 ms)`,
                `      writes before the kill: ${before.length} acknowledged by SET, ${waited.length} of them also by WAIT 1; lost: ${lostWaited.length} WAIT-acknowledged, ${lostSetOnly.length} SET-only`,
                `      replication window (SET reply → WAIT 1 reply, before the kill): median ${waitTimes[Math.floor(waitTimes.length / 2)]} ms, max ${windowMs} ms; writes older than the window lost: ${lostOlderThanWindow.length}`,
                `      writes after the failover: ${after.length} acknowledged by the new primary; client errors meanwhile: ${JSON.stringify(Object.fromEntries(errors))}`,
            ].join("\n"),
        );
        assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms`);
        assert.ok(waited.length > 50, `the writer wrote enough before the kill: ${waited.length}`);
        assert.deepStrictEqual(lostWaited.map((w) => w.key), [], "writes acknowledged by WAIT 1 before the kill were lost");
        assert.deepStrictEqual(lostOlderThanWindow.map((w) => w.key), [], `writes acknowledged more than the replication window (${windowMs} ms) before the kill were lost`);
        for (const w of after) assert.ok(present.has(w.n), `${w.key}, acknowledged by the new primary, is there`);
        // The other former replica follows the new primary.
        const other = newPrimary === 1 ? 2 : 1;
        const o = await admin(other);
        await waitFor(`redis-${other} to replicate the new primary`, async () => {
            const info = await o.command("INFO", "replication");
            return infoField(info, "master_port") === String(pods[newPrimary].redisPort) && infoField(info, "master_link_status") === "up";
        }, { timeoutMs: 15_000 });
        // Pod 0 comes back as a new pod on the same volume: its data and its Sentinel's record are kept, its
        // emptyDirs are new.
        lab.wipeEmptyDirs(0);
        const restartedAt = Date.now();
        startPod(pods[0]);
        await waitReady(0);
        const old = await admin(0);
        await waitFor("the old primary to replicate the new one", async () => {
            const info = await old.command("INFO", "replication");
            return infoField(info, "role") === "slave" && infoField(info, "master_port") === String(pods[newPrimary].redisPort) && infoField(info, "master_link_status") === "up";
        }, { timeoutMs: 20_000 });
        const rejoinMs = Date.now() - restartedAt;
        // Its record (pod 0 at config-epoch 0) is older than the others' (the new primary at epoch 1): a replica,
        // not a failover candidate before it has synced.
        assert.match(
            procs.get("redis-0")!.log(),
            new RegExp(`starts as a replica of ${addr(newPrimary).replace(/\./g, "\\.")} \\(records of 3 of 3 pods: redis-0: redis-0 at config-epoch 0;.* the highest config-epoch, 1, names redis-${newPrimary}\\), with replica-priority 0 until its first sync: this pod's record is from config-epoch 0`),
            "the old primary's start script read the records",
        );
        assert.match(procs.get("sentinel-0")!.log(), new RegExp(`monitoring ${addr(0).replace(/\./g, "\\.")} at config-epoch 0 \\(the record this pod's Sentinel left\\)`), "the returning pod's Sentinel resumes its record");
        const last = after[after.length - 1];
        await waitFor(`${last.key} on the old primary`, async () => (await old.command("GET", last.key)) !== null, { timeoutMs: 5000 });
        const np2 = await admin(newPrimary);
        await waitFor("2 replicas on the new primary", async () => infoField(await np2.command("INFO", "replication"), "connected_slaves") === "2", { timeoutMs: 15_000 });
        const s0 = await sentinelConn(0);
        await waitFor("sentinel-0 to know the other 2 Sentinels and agree on the primary", async () => {
            const others = await s0.command("SENTINEL", "sentinels", set.masterName);
            return Array.isArray(others) && others.length === 2 && (await askSentinel(0)) === addr(newPrimary);
        }, { timeoutMs: 20_000 });
        console.log(`      the old primary rejoined as a replica of ${addr(newPrimary)} ${rejoinMs} ms after its restart`);
    });

    it("after the failover, the Sentinels see the set whole again: quorum reachable, nobody down", async function () {
        for (let i = 0; i < 3; i++) {
            const s = await sentinelConn(i);
            await waitFor(`sentinel-${i}: 2 replicas of redis-${primary}, none down`, async () => {
                const replicas = await s.command("SENTINEL", "replicas", set.masterName);
                if (!Array.isArray(replicas) || replicas.length !== 2) return false;
                return replicas.every((r) => Array.isArray(r) && !/s_down|o_down|disconnected/.test(String(r[r.indexOf("flags") + 1])));
            }, { timeoutMs: 20_000 });
            const ck = await s.command("SENTINEL", "ckquorum", set.masterName);
            assert.ok(typeof ck === "string" && /^OK 3 usable Sentinels/.test(ck), `sentinel-${i}: ${show(ck)}`);
        }
    });

    it("fail-back as docs/operations/failover.md has it (runbook redis-failback, run as written): the Sentinels make redis-0 the primary again", async function () {
        const before = await lab.primaryViaSentinels();
        before?.conn.close();
        assert.ok(before && before.ordinal !== 0, `the kill -9 drill left the primary on redis-${before?.ordinal}: nothing to fail back`);
        // A stand-in kubectl: Secrets from the render (as files, base64 as the API returns them), and `exec` in a
        // pod's view: its redis-cli reaches its own Redis (6379) or Sentinel (26379), /etc/redis/tls is its mount.
        const work = path.join(tmp, "runbook");
        const secretsDir = path.join(work, "secrets");
        for (const o of set.objects as Record<string, any>[]) { // eslint-disable-line @typescript-eslint/no-explicit-any
            if (o.kind !== "Secret" || o.metadata.namespace !== set.namespace) continue;
            fs.mkdirSync(path.join(secretsDir, o.metadata.name), { recursive: true, mode: 0o700 });
            for (const [k, v] of Object.entries(secretData(o as Manifest))) fs.writeFileSync(path.join(secretsDir, o.metadata.name, k), Buffer.from(v).toString("base64"), { mode: 0o600 });
        }
        const redisCli = bins["redis-cli"];
        for (const p of pods) {
            for (const c of ["redis", "sentinel"]) {
                const dir = path.join(work, "pods", `redis-${p.ordinal}`, c);
                fs.mkdirSync(dir, { recursive: true });
                fs.writeFileSync(
                    path.join(dir, "redis-cli"),
                    [
                        "#!/bin/sh",
                        `# redis-cli as container ${c} of redis-${p.ordinal} sees the pod: 127.0.0.1:6379 its Redis, :26379 its Sentinel`,
                        "hasport=0",
                        'for a in "$@"; do',
                        "    shift",
                        `    case "$a" in 6379) a=${p.redisPort} ;; 26379) a=${p.sentinelPort} ;; /etc/redis/*) a="${p.root}$a" ;; -p) hasport=1 ;; esac`,
                        '    set -- "$@" "$a"',
                        "done",
                        `[ "$hasport" = 1 ] || set -- -p ${p.redisPort} "$@"`,
                        `exec ${redisCli} "$@"`,
                        "",
                    ].join("\n"),
                    { mode: 0o755 },
                );
            }
        }
        const bin = path.join(work, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(
            path.join(bin, "kubectl"),
            [
                "#!/bin/bash",
                "# kubectl as the fail-back runbook uses it, against this test's pods; anything else is refused by name.",
                `if [ "$1 $2 $3 $4" = "get secret -n ${set.namespace}" ] && [ "$6" = "-o" ] && [[ "$7" =~ ^jsonpath=\\{\\.data\\.([a-z-]+)\\}$ ]] && [ $# = 7 ]; then`,
                `    exec cat "${secretsDir}/$5/\${BASH_REMATCH[1]}"`,
                "fi",
                `if [ "$1 $2 $3 $4" = "exec -i -n ${set.namespace}" ] && [ "$6" = "-c" ] && [ "$8" = "--" ]; then`,
                `    dir="${work}/pods/$5/$7"`,
                '    [ -d "$dir" ] || { echo "kubectl stand-in: no container $7 in pod $5" >&2; exit 97; }',
                "    shift 8",
                '    PATH="$dir:$PATH" exec "$@"',
                "fi",
                'echo "kubectl stand-in: a step this test cannot run: kubectl $*" >&2',
                "exit 97",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const block = runbookBlock("docs/operations/failover.md", "redis-failback");
        // TLS is on in prod: the page says to add these options to each redis-cli.
        const withTls = block.split("redis-cli ").join("redis-cli --tls --cacert /etc/redis/tls/ca.crt ");
        assert.notStrictEqual(withTls, block, "the block runs redis-cli");
        // The page: SENTINEL FAILOVER answers OK even when the Sentinel then gives up (-failover-abort-no-good-slave
        // in its log, e.g. while it has not yet heard from the returned pod); check, and run it again 10 s later.
        const t0 = Date.now();
        const runs: number[] = [];
        for (let attempt = 1; attempt <= 3; attempt++) {
            const r = await run("bash", ["-euo", "pipefail", "-c", withTls], { env: { PATH: `${bin}:/usr/bin:/bin`, LANG: "C" }, timeoutMs: 60_000 });
            assert.strictEqual(r.code, 0, `the fail-back runbook: ${describeRun(r)}`);
            // redis-cli exits 0 on an error reply: both CONFIG SETs must answer OK; FAILOVER answers OK, or at once
            // NOGOODSLAVE while the Sentinels still see redis-0 as unfit (the page: check, and run the block again).
            const replies = r.stdout.trim().split("\n");
            assert.deepStrictEqual(replies.slice(0, 2), ["OK", "OK"], `the replies of the runbook's CONFIG SETs: ${describeRun(r)}`);
            assert.match(replies[2] ?? "", /^(OK|NOGOODSLAVE .*)$/, `the reply of the runbook's SENTINEL FAILOVER: ${describeRun(r)}`);
            assert.strictEqual(replies.length, 3, `the replies of the runbook's redis-cli calls: ${describeRun(r)}`);
            runs.push(Date.now() - t0);
            const moved = await waitFor("the Sentinels to name redis-0 the primary", async () => {
                const p = await lab.primaryViaSentinels();
                p?.conn.close();
                return p?.ordinal === 0;
            }, { timeoutMs: 10_000 }).then(() => true, () => false);
            if (moved) break;
            if (attempt === 3) {
                const log = lab.log("sentinel-0").split("\n").filter((l) => /failover|slave|replica|elected|switch/i.test(l)).slice(-25).join("\n");
                assert.fail(`redis-0 is not the primary after 3 runs 10 s apart (it was redis-${before.ordinal}); sentinel-0's log:\n${log}`);
            }
        }
        console.log(`      fail-back: redis-0 is the primary ${Date.now() - t0} ms after the first run of the runbook, ${runs.length} run(s) (it was redis-${before.ordinal})`);
        // As the page says: set the priority back to keep those pods eligible before their next restart.
        // (On new connections: the Sentinels close the clients of the pods they reconfigure.)
        for (const i of [1, 2]) {
            await waitFor(`redis-${i}: CONFIG SET replica-priority 100`, async () => {
                const c = await admin(i).catch(() => undefined);
                return (await c?.command("CONFIG", "SET", "replica-priority", "100").catch(() => undefined)) === "OK";
            }, { timeoutMs: 10_000 });
        }
        primary = 0;
    });

    // Before the renewal test below: that test renews the certificate files under running redis-servers (the lab
    // runs no tls-reloader), so a pod restarted after it serves a certificate its peers cannot verify yet.
    it("the primary's pod comes back while the Sentinels hold it down (a failover starting): it starts fenced, takes no write until demoted or cleared, and no write acknowledged by WAIT 1 is lost", async function () {
        this.timeout(300_000);
        // One round: the primary's pod lost (both containers) and back on its volume the moment another pod's
        // Sentinel holds it subjectively down, under a client that keeps writing to the address it knew (SET,
        // then WAIT 1 for a replica's copy), never asking the Sentinels again: the worst client.
        const round = async (): Promise<{ old: number; after: number; log: string; fencedInDoubt: boolean; takenAfterRestart: number }> => {
            const p = await lab.primaryViaSentinels();
            assert.ok(p, "a primary before the round");
            p.conn.close();
            const old = p.ordinal;
            const others = [0, 1, 2].filter((i) => i !== old);
            type Write = { n: number; key: string; at: number; waited: number };
            const writes: Write[] = [];
            const refusals = new Map<string, number>();
            let stop = false;
            const run = randomToken(6);
            const writer = (async () => {
                let conn: RedisConn | undefined;
                for (let n = 0; !stop; ) {
                    conn ??= await openAuthed(set, pods[old].redisPort, old, { password: set.passwords.admin }).catch(() => undefined);
                    if (!conn) {
                        await new Promise((r) => setTimeout(r, 50));
                        continue;
                    }
                    const key = `session:fence-${run}-${n}`;
                    try {
                        const reply = await conn.command("SET", key, "1");
                        if (reply !== "OK") {
                            const kind = reply instanceof RespError ? reply.message.split(" ")[0] : show(reply);
                            refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
                            await new Promise((r) => setTimeout(r, 50));
                            continue;
                        }
                        const waited = await conn.command("WAIT", "1", "200");
                        writes.push({ n, key, at: Date.now(), waited: typeof waited === "number" ? waited : 0 });
                        n++;
                    } catch {
                        conn.close();
                        conn = undefined;
                        await new Promise((r) => setTimeout(r, 50));
                    }
                }
                conn?.close();
            })();
            try {
                await waitFor("20 writes acknowledged by WAIT 1 before the round", async () => writes.filter((w) => w.waited >= 1).length >= 20, { timeoutMs: 20_000 });
                const lostAt = Date.now();
                await lab.kill9(old);
                const flags = async (i: number): Promise<string> => {
                    const c = await openAuthed(set, pods[i].sentinelPort, i, { password: set.passwords.sentinel });
                    try {
                        const m = await c.command("SENTINEL", "master", set.masterName);
                        return Array.isArray(m) ? String(m[m.indexOf("flags") + 1]) : "";
                    } finally {
                        c.close();
                    }
                };
                await waitFor("another pod's Sentinel to hold the primary down", async () => (await Promise.all(others.map((i) => flags(i).catch(() => "")))).some((f) => /s_down/.test(f)), {
                    timeoutMs: 30_000,
                    intervalMs: 50,
                });
                lab.wipeEmptyDirs(old);
                const restartedAt = Date.now();
                startPod(pods[old]);
                const after = await waitFor(
                    "a primary with 2 linked replicas after the round",
                    async () => {
                        const q = await lab.primaryViaSentinels();
                        if (!q) return undefined;
                        const info = await q.conn.command("INFO", "replication");
                        q.conn.close();
                        return infoField(info, "connected_slaves") === "2" && (String(info).match(/state=online/g) ?? []).length === 2 ? q.ordinal : undefined;
                    },
                    // A failover that aborts (no good replica yet) is retried after 2 × failover-timeout (120 s).
                    { timeoutMs: 200_000, intervalMs: 500 },
                ).catch(async (e: Error) => {
                    const views = await Promise.all(
                        [0, 1, 2].map(async (i) => {
                            const c = await openAuthed(set, pods[i].sentinelPort, i, { password: set.passwords.sentinel }).catch(() => undefined);
                            const m = c ? await c.command("SENTINEL", "master", set.masterName).catch((x: Error) => x.message) : "no answer";
                            c?.close();
                            const r = await admin(i).then((a) => a.command("INFO", "replication")).catch((x: Error) => x.message);
                            return `pod ${i}: Sentinel ${Array.isArray(m) ? m.join(" ") : m}\n  Redis ${String(r).replace(/\r?\n/g, " ")}`;
                        }),
                    );
                    const log = (n: string) => lab.log(n).split("\n").filter((l) => /start-redis|start-sentinel|failover|abort|switch|elected|promot|slave|sdown/.test(l)).slice(-25).join("\n");
                    throw new Error(`${e.message}\n${views.join("\n")}\nredis-${old}:\n${log(`redis-${old}`)}\n${others.map((i) => `sentinel-${i}:\n${log(`sentinel-${i}`)}`).join("\n")}`);
                });
                // The returned pod's fence, if it started as the primary, has ended (it is cleared or a replica).
                const log = await waitFor(`redis-${old}'s start to end its fence`, async () => {
                    const l = lab.log(`redis-${old}`);
                    return !/starts as the primary, fenced/.test(l) || /fence lifted/.test(l) ? l : undefined;
                }, { timeoutMs: 70_000, intervalMs: 500 });
                await new Promise((r) => setTimeout(r, 1000));
                stop = true;
                await writer;
                const np = await admin(after);
                const present = new Set<number>();
                for (const w of writes) if ((await np.command("EXISTS", w.key)) === 1) present.add(w.n);
                const lost = writes.filter((w) => w.waited >= 1 && !present.has(w.n));
                const takenAfterRestart = writes.filter((w) => w.at > restartedAt).length;
                const startLine = (/start-redis: \S+ (starts as [^(]*|waits|does not start)/.exec(log) ?? [])[1] ?? "?";
                const doubt = /fenced \(refusing writes\): (.*)/.exec(log)?.[1];
                const lifted = /fence lifted after (\d+) s: (.*)/.exec(log);
                console.log(
                    [
                        `      redis-${old} lost for ${restartedAt - lostAt} ms (back at the first s_down); primary after: redis-${after}`,
                        `        its start: ${startLine.trim()}${doubt ? `; the Sentinels' doubt: ${doubt}` : ""}${lifted ? `; fence lifted after ${lifted[1]} s: ${lifted[2]}` : ""}`,
                        `        writes: ${writes.length} acknowledged by SET, ${writes.filter((w) => w.waited >= 1).length} also by WAIT 1; ${takenAfterRestart} taken by redis-${old} after its restart; lost: ${lost.length} WAIT-acknowledged; refused: ${JSON.stringify(Object.fromEntries(refusals))}`,
                    ].join("\n"),
                );
                assert.deepStrictEqual(lost.map((w) => w.key), [], "writes acknowledged by WAIT 1 were lost");
                if (/starts as the primary/.test(log)) {
                    assert.match(log, /starts as the primary, fenced/, `redis-${old} came back as the primary: it must start fenced`);
                    // Demoted, it took nothing after its restart: the window the race lost writes in is closed.
                    if (after !== old) assert.strictEqual(takenAfterRestart, 0, `redis-${old} was demoted: it must have taken no write after its restart`);
                }
                return { old, after, log, fencedInDoubt: !!doubt && /starts as the primary/.test(log), takenAfterRestart };
            } finally {
                stop = true;
                await writer;
            }
        };
        // Rounds until one has hit the race (the pod back as the primary while a Sentinel held it down); the
        // restart at the first s_down does so nearly always at the first try.
        const rounds: Awaited<ReturnType<typeof round>>[] = [];
        for (let i = 0; i < 3 && !rounds.some((r) => r.fencedInDoubt); i++) rounds.push(await round());
        primary = rounds[rounds.length - 1].after;
        assert.ok(rounds.some((r) => r.fencedInDoubt), `in ${rounds.length} rounds the returned pod never came back as the primary while a Sentinel held it down: the race was not produced`);
    });
    it("two certificate renewals in a row reach the Sentinels: the start script restarts each on the new files, pod 1 after pod 0, and the set stays whole", async function () {
        this.timeout(240_000);
        // The serial a Sentinel presents now (its own certificate, whoever signed it).
        const presented = (port: number) =>
            new Promise<string>((resolve, reject) => {
                const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
                    const serial = socket.getPeerCertificate().serialNumber;
                    socket.end();
                    resolve(serial);
                });
                socket.once("error", reject);
            });
        const user = podUser(set);
        for (const round of [1, 2]) {
            const t0 = Date.now();
            const seen: Record<number, number> = {};
            // Pods 0 and 1 get certificates of new CAs; every pod trusts the old and the new CAs (a CA rotation as
            // a bundle), so each Sentinel still verifies the peers that serve the old certificate.
            const renewals = await Promise.all(
                [0, 1].map(async (i) => {
                    const renewed = await renewedCertificate(fs.readFileSync(path.join(pods[i].root + REDIS_PATHS.tls, "tls.crt"), "utf8"));
                    return { i, renewed, serial: renewed.serial.toUpperCase() };
                }),
            );
            const bundle = set.tls!.ca + renewals.map((r) => r.renewed.ca).join("");
            for (const p of pods) {
                const dir = p.root + REDIS_PATHS.tls;
                const own = renewals.find((r) => r.i === p.ordinal)?.renewed;
                const files = own ? { cert: own.cert, key: own.key } : { cert: fs.readFileSync(path.join(dir, "tls.crt"), "utf8"), key: fs.readFileSync(path.join(dir, "tls.key"), "utf8") };
                writeCertificateFiles(dir, { ...files, ca: bundle }, { uid: 0, gid: user.fsGroup });
            }
            // This test's clients trust the bundle too.
            set.tls!.ca = bundle;
            await Promise.all(
                renewals.map(({ i, serial }) =>
                    waitFor(
                        `sentinel-${i} presents the round-${round} certificate`,
                        async () => {
                            const ok = (await presented(pods[i].sentinelPort).catch(() => "")).toUpperCase() === serial;
                            if (ok && seen[i] === undefined) seen[i] = Date.now() - t0;
                            return ok;
                        },
                        { timeoutMs: (SENTINEL_TLS_CHECK_SECONDS + 2 * SENTINEL_TLS_STAGGER_SECONDS + 20) * 1000, intervalMs: 250 },
                    ),
                ),
            );
            console.log(`      round ${round}: sentinel-0 serves the new certificate after ${seen[0]} ms, sentinel-1 after ${seen[1]} ms (staggered by ${SENTINEL_TLS_STAGGER_SECONDS} s)`);
            assert.ok(seen[1] > seen[0], "pod 1's Sentinel restarts after pod 0's");
            // Pod 2's Sentinel restarts too (its CA file changed), last: each is asked on a new connection until
            // it answers with the whole quorum.
            for (let i = 0; i < 3; i++) {
                await waitFor(
                    `sentinel-${i}: quorum of 3 after round ${round}`,
                    async () => {
                        const c = await sentinelConn(i).catch(() => undefined);
                        const reply = c ? await c.command("SENTINEL", "ckquorum", set.masterName).catch(() => undefined) : undefined;
                        return /^OK 3 usable Sentinels/.test(String(reply));
                    },
                    { timeoutMs: 90_000, intervalMs: 1000 },
                );
            }
        }
    });
});
