// Real-process drills of a cold start of every Redis pod at once (a multi-node outage, force-deleted pods, a
// cluster restore), on the prod render (redis.replicas 3, TLS) laid out as three local pods by
// tests/helpers/redisSentinel.ts: the rendered start scripts, redis.conf, sentinel.conf, ACL files and
// certificates, run as the image's user with busybox's commands. A pod killed and started again keeps its
// data volume and gets its emptyDirs new, as a new pod on the same claim does.
//
// Drill 1: a failover away from pod 0, writes acknowledged by the new primary while pod 0 is down, then every
// pod killed -9 and all started together. Pod 0 holds older data: choosing it loses every write since the
// failover. Drill 2: pod 0 (the primary) comes back on a new, empty volume together with the others: choosing
// it loses everything. Drill 3: drill 1, but the last primary's pod never comes back: pod 0 (older data) and
// the other replica must not pick pod 0. Each prints written/acknowledged/lost, the time to recover and who
// was the primary.

import * as assert from "assert";
import { RedisConn, RespError, show } from "../../helpers/redis";
import { infoField, loadSentinelSet, SentinelLab, type RenderedSentinelSet } from "../../helpers/redisSentinel";
import { randomToken, waitFor } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

/** From the start of every pod to a write acknowledged by the primary and a replica (SET + WAIT 1). */
const RECOVERY_BOUND_MS = 45_000;

interface Batch {
    /** SETs sent. */
    written: number;
    /** Keys whose SET answered OK and whose WAIT 1 counted a replica. */
    acknowledged: Map<string, string>;
    /** SETs answered OK that no replica acknowledged in time. */
    setOnly: number;
}

/** `n` writes to the primary `c`, each SET followed by WAIT 1 500. */
async function writeBatch(c: RedisConn, prefix: string, n: number): Promise<Batch> {
    const batch: Batch = { written: 0, acknowledged: new Map(), setOnly: 0 };
    for (let i = 0; i < n; i++) {
        const key = `session:${prefix}-${i}`;
        const value = randomToken(12);
        batch.written++;
        const reply = await c.command("SET", key, value);
        if (reply !== "OK") throw new Error(`SET ${key}: ${show(reply)}`);
        const acked = await c.command("WAIT", "1", "500");
        if (typeof acked === "number" && acked >= 1) batch.acknowledged.set(key, value);
        else batch.setOnly++;
    }
    return batch;
}

/** The acknowledged keys of `batches` that `c` does not hold with the acknowledged value. */
async function missing(c: RedisConn, batches: Batch[]): Promise<string[]> {
    const out: string[] = [];
    for (const b of batches) for (const [k, v] of b.acknowledged) if ((await c.command("GET", k)) !== v) out.push(k);
    return out;
}

/** The primary the Sentinels name, once it takes a write that a replica acknowledges; with the time it took. */
async function recover(lab: SentinelLab, since: number, what: string): Promise<{ ordinal: number; ms: number; conn: RedisConn }> {
    let last = "";
    const found = await waitFor(
        what,
        async () => {
            const p = await lab.primaryViaSentinels();
            if (!p) {
                last = "no Sentinel names a primary that says it is one";
                return undefined;
            }
            const probe = `drill:probe-${randomToken(6)}`;
            const set = await p.conn.command("SET", probe, "1");
            const acked = set === "OK" ? await p.conn.command("WAIT", "1", "1000") : undefined;
            if (set !== "OK" || typeof acked !== "number" || acked < 1) {
                last = `redis-${p.ordinal}: SET ${set instanceof RespError ? set.message : show(set)}, WAIT 1 ${acked === undefined ? "not sent" : show(acked)}`;
                p.conn.close();
                return undefined;
            }
            await p.conn.command("DEL", probe);
            return { ordinal: p.ordinal, ms: Date.now() - since, conn: lab.track(p.conn) };
        },
        { timeoutMs: RECOVERY_BOUND_MS, intervalMs: 100 },
    ).catch((e: Error) => {
        throw new Error(`${e.message}\nlast: ${last}\n${logs(lab)}`);
    });
    return found;
}

/** Every pod's decision and Sentinel start line, for the output and for failure messages. */
function decisions(lab: SentinelLab): string[] {
    const out: string[] = [];
    for (const p of lab.pods) {
        for (const which of ["redis", "sentinel"] as const) {
            const lines = lab
                .log(`${which}-${p.ordinal}`)
                .split("\n")
                .filter((l) => /^start-(redis|sentinel): /.test(l));
            for (const l of lines) out.push(`${which}-${p.ordinal}: ${l}`);
        }
    }
    return out;
}

function logs(lab: SentinelLab): string {
    return lab.pods
        .flatMap((p) => [`redis-${p.ordinal}`, `sentinel-${p.ordinal}`])
        .map((n) => `--- ${n} ---\n${lab.procs.get(n)?.logTail(40) ?? "(not started)"}`)
        .join("\n");
}

/** Until every running Sentinel sees `n` replicas that it may promote (replica-priority above 0). */
async function waitForCandidates(lab: SentinelLab, n: number): Promise<void> {
    for (const p of lab.pods) {
        const s = await lab.sentinelConn(p.ordinal);
        await waitFor(
            `sentinel-${p.ordinal} to see ${n} replicas it may promote`,
            async () => {
                const replicas = await s.command("SENTINEL", "replicas", lab.set.masterName);
                if (!Array.isArray(replicas)) return false;
                const field = (r: unknown, k: string) => (Array.isArray(r) ? String(r[r.indexOf(k) + 1]) : "");
                return replicas.filter((r) => Number(field(r, "slave-priority")) > 0 && !/s_down|disconnected/.test(field(r, "flags"))).length === n;
            },
            { timeoutMs: 20_000, intervalMs: 250 },
        );
    }
}

/** Starts every pod at once (podManagementPolicy Parallel), each with new emptyDirs. */
function startAll(lab: SentinelLab): number {
    for (const p of lab.pods) lab.wipeEmptyDirs(p.ordinal);
    const at = Date.now();
    for (const p of lab.pods) lab.startPod(p.ordinal);
    return at;
}

/** kill -9 of every pod at once. */
async function killAll(lab: SentinelLab): Promise<void> {
    await Promise.all(lab.pods.map((p) => lab.kill9(p.ordinal)));
}

/** Waits until every pod holds every acknowledged key (the returning pods have synced). */
async function converge(lab: SentinelLab, batches: Batch[], primary: number): Promise<number> {
    const t0 = Date.now();
    for (const p of lab.pods) {
        if (p.ordinal === primary) continue;
        const c = await lab.admin(p.ordinal);
        await waitFor(
            `redis-${p.ordinal} to replicate redis-${primary} and hold every acknowledged key`,
            async () => {
                const info = await c.command("INFO", "replication");
                if (infoField(info, "master_port") !== String(lab.pods[primary].redisPort) || infoField(info, "master_link_status") !== "up") return false;
                return (await missing(c, batches)).length === 0;
            },
            { timeoutMs: 30_000, intervalMs: 250 },
        );
    }
    return Date.now() - t0;
}

describe("real servers: every Redis pod restarted at once (prod, 3 pods as rendered): the primary comes from the records and the data, no acknowledged write is lost", function () {
    let bins: Record<string, string> = {};
    let set: RenderedSentinelSet;
    let stopClock: (() => void) | undefined;

    before(async function () {
        bins = requireBinaries(this, SentinelLab.binaries, "install: apt-get install redis-server redis-tools busybox util-linux");
        stopClock = startClock("redis-coldstart");
        set = await loadSentinelSet("prod");
        assert.strictEqual(set.replicas, 3, "prod runs 3 Redis pods");
    });

    after(() => stopClock?.());

    /** A new lab, cold-started on new volumes: pod 0 is the primary, both replicas synced. */
    async function newSet(label: string): Promise<{ lab: SentinelLab; primary: RedisConn }> {
        const lab = await SentinelLab.create(set, label, bins);
        startAll(lab);
        const first = await recover(lab, Date.now(), "the new set to take writes");
        assert.strictEqual(first.ordinal, 0, "a new set starts with pod 0 as its primary");
        await waitFor("2 good replicas", async () => infoField(await first.conn.command("INFO", "replication"), "min_slaves_good_slaves") === "2", { timeoutMs: 15_000 });
        // The replicas started on new volumes with replica-priority 0 and got 100 back after their first sync;
        // a Sentinel sees that at its next INFO (every 10 s), and only then may it promote them.
        await waitForCandidates(lab, 2);
        // A new connection: the test client drops one idle for 5 s.
        return { lab, primary: await lab.admin(0) };
    }

    /**
     * 300 writes on pod 0, kill -9 of pod 0, the failover to pod 1 or 2, then 300 writes on the new primary
     * while pod 0 is down (each acknowledged by the other former replica, the only one left).
     */
    async function failoverThenWrites(label: string): Promise<{ lab: SentinelLab; before: Batch; after: Batch; failover: { ordinal: number; ms: number } }> {
        const { lab, primary: p0 } = await newSet(label);
        try {
            const before = await writeBatch(p0, "before-failover", 300);
            // Pod 0's node is lost: the Sentinels of pods 1 and 2 elect one of them.
            const killAt = Date.now();
            await lab.kill9(0);
            const failover = await recover(lab, killAt, "a failover away from pod 0");
            assert.ok(failover.ordinal === 1 || failover.ordinal === 2, `the new primary is a former replica: redis-${failover.ordinal}`);
            const after = await writeBatch(failover.conn, "after-failover", 300);
            return { lab, before, after, failover };
        } catch (e) {
            console.log(logs(lab));
            await lab.close();
            throw e;
        }
    }

    it("drill 1: failover to pod 1 or 2, writes acknowledged by it while pod 0 is down, then every pod killed -9 and started together: the last primary is chosen again, 0 of those writes lost", async function () {
        this.timeout(180_000);
        const { lab, before, after, failover } = await failoverThenWrites("redis-cold-1");
        try {
            // The rest of the set is lost too; everything comes back at once, on the same volumes.
            await killAll(lab);
            const records = lab.pods.map((p) => `redis-${p.ordinal}: ${lab.volumeFiles(p.ordinal).join(" ")}`);
            const startedAt = startAll(lab);
            const back = await recover(lab, startedAt, "the set to take writes after the cold start");
            const lostBefore = await missing(back.conn, [before]);
            const lostAfter = await missing(back.conn, [after]);
            const written = before.written + after.written;
            const acknowledged = before.acknowledged.size + after.acknowledged.size;
            console.log(
                [
                    `      drill 1: primary before: redis-0; kill -9 of pod 0 → redis-${failover.ordinal} elected and taking acknowledged writes after ${failover.ms} ms`,
                    `        written ${written}, acknowledged (SET + WAIT 1) ${acknowledged}: ${before.acknowledged.size} before the failover (on redis-0), ${after.acknowledged.size} after it (on redis-${failover.ordinal}, pod 0 down); SET-only ${before.setOnly + after.setOnly}`,
                    `        every pod killed -9, emptyDirs new, volumes kept (${records.join("; ")})`,
                    `        started together → primary after the cold start: redis-${back.ordinal}; time to recover (start → a write acknowledged by it and a replica): ${back.ms} ms (bound ${RECOVERY_BOUND_MS} ms)`,
                    `        lost: ${lostBefore.length + lostAfter.length} of ${acknowledged} acknowledged (${lostBefore.length} from before the failover, ${lostAfter.length} from after it)`,
                    ...decisions(lab).map((l) => `        ${l}`),
                ].join("\n"),
            );
            assert.deepStrictEqual(lostAfter, [], `writes acknowledged by redis-${failover.ordinal} after the failover were lost in the cold start (primary chosen: redis-${back.ordinal})`);
            assert.deepStrictEqual(lostBefore, [], "writes acknowledged before the failover were lost");
            assert.strictEqual(back.ordinal, failover.ordinal, "the primary after the cold start is the last one the Sentinels elected");
            assert.ok(back.ms <= RECOVERY_BOUND_MS);
            // Pod 0's record (config-epoch 0) is older than the others' (epoch 1): it follows, and Sentinel does
            // not promote it before it has synced.
            assert.match(lab.log("redis-0"), /starts as a replica of .*, with replica-priority 0 until its first sync: this pod's record is from config-epoch 0/);
            assert.match(lab.log(`redis-${back.ordinal}`), /starts as the primary, fenced until the Sentinels give the all-clear \(records of 3 of 3 pods:.* the highest config-epoch, [1-9]\d*, names redis-\d; this pod holds data\)/);
            const syncMs = await converge(lab, [before, after], back.ordinal);
            await waitFor("redis-0 to be a failover candidate again", async () => /has synced with its primary: replica-priority 100/.test(lab.log("redis-0")), { timeoutMs: 15_000 });
            for (let i = 0; i < 3; i++) await waitFor(`sentinel-${i} to name redis-${back.ordinal}`, async () => lab.ordinalOf(await lab.askSentinel(i)) === back.ordinal, { timeoutMs: 15_000 });
            console.log(`        every pod holds all ${acknowledged} acknowledged keys ${syncMs} ms after the recovery; every Sentinel names redis-${back.ordinal}`);
        } catch (e) {
            console.log(logs(lab));
            throw e;
        } finally {
            await lab.close();
        }
    });

    it("drill 2: pod 0, the primary, started on a new empty volume together with the others: it does not become the primary, 0 keys lost", async function () {
        this.timeout(180_000);
        const { lab, primary: p0 } = await newSet("redis-cold-2");
        try {
            const batch = await writeBatch(p0, "on-pod-0", 500);
            // Both replicas hold everything before the outage (the WAITs counted at least one each time).
            assert.strictEqual(await p0.command("WAIT", "2", "5000"), 2, "both replicas caught up");
            await killAll(lab);
            // Pod 0's claim is gone: a new, empty volume (no AOF, no record) under the same pod name.
            lab.wipeVolume(0);
            const startedAt = startAll(lab);
            const back = await recover(lab, startedAt, "the set to take writes after the cold start");
            const lost = await missing(back.conn, [batch]);
            console.log(
                [
                    `      drill 2: primary before: redis-0; written ${batch.written}, acknowledged (SET + WAIT 1) ${batch.acknowledged.size}, SET-only ${batch.setOnly}`,
                    "        every pod killed -9; pod 0's volume replaced by an empty one, the others kept; emptyDirs new",
                    `        started together → primary after the cold start: redis-${back.ordinal}; time to recover (start → a write acknowledged by it and a replica): ${back.ms} ms (bound ${RECOVERY_BOUND_MS} ms)`,
                    `        lost: ${lost.length} of ${batch.acknowledged.size} acknowledged`,
                    ...decisions(lab).map((l) => `        ${l}`),
                ].join("\n"),
            );
            assert.deepStrictEqual(lost, [], `acknowledged writes were lost in the cold start (primary chosen: redis-${back.ordinal})`);
            assert.notStrictEqual(back.ordinal, 0, "the pod on the empty volume became the primary");
            assert.ok(back.ms <= RECOVERY_BOUND_MS);
            // Pod 0 held back until the Sentinels had failed over to a pod with data, then followed it.
            assert.match(lab.log("redis-0"), /does not start: .* names redis-0, but this pod holds no data \(fresh\) and (redis-1|redis-2)/);
            assert.match(lab.log("redis-0"), new RegExp(`starts as a replica of 127\\.0\\.0\\.1:${lab.pods[back.ordinal].redisPort} .*, with replica-priority 0 until its first sync: this pod holds no data \\(fresh\\)`));
            const syncMs = await converge(lab, [batch], back.ordinal);
            console.log(`        every pod, pod 0 included, holds all ${batch.acknowledged.size} acknowledged keys ${syncMs} ms after the recovery`);
        } catch (e) {
            console.log(logs(lab));
            throw e;
        } finally {
            await lab.close();
        }
    });

    it("drill 3: as drill 1, but the last primary does not come back: pod 0 (older data) and the other replica form the majority, the Sentinels promote the replica, never pod 0; 0 writes lost", async function () {
        this.timeout(180_000);
        const { lab, before, after, failover } = await failoverThenWrites("redis-cold-3");
        try {
            const last = failover.ordinal;
            const other = last === 1 ? 2 : 1;
            await killAll(lab);
            // Only pods 0 and `other` come back; the last primary's node stays lost.
            for (const i of [0, other]) lab.wipeEmptyDirs(i);
            const startedAt = Date.now();
            for (const i of [0, other]) lab.startPod(i);
            const back = await recover(lab, startedAt, "the two returning pods to take writes");
            const lostBefore = await missing(back.conn, [before]);
            const lostAfter = await missing(back.conn, [after]);
            const acknowledged = before.acknowledged.size + after.acknowledged.size;
            console.log(
                [
                    `      drill 3: primary before: redis-0; kill -9 of pod 0 → redis-${last} elected after ${failover.ms} ms`,
                    `        written ${before.written + after.written}, acknowledged (SET + WAIT 1) ${acknowledged}: ${before.acknowledged.size} before the failover, ${after.acknowledged.size} after it (on redis-${last}, acknowledged by redis-${other})`,
                    `        every pod killed -9; only redis-0 (older data) and redis-${other} started again, redis-${last} stays down`,
                    `        primary after the cold start: redis-${back.ordinal}; time to recover (start → a write acknowledged by it and a replica): ${back.ms} ms (bound ${RECOVERY_BOUND_MS} ms)`,
                    `        lost: ${lostBefore.length + lostAfter.length} of ${acknowledged} acknowledged (${lostBefore.length} from before the failover, ${lostAfter.length} from after it)`,
                    ...decisions(lab).map((l) => `        ${l}`),
                ].join("\n"),
            );
            assert.deepStrictEqual(lostAfter, [], `writes acknowledged after the first failover were lost (primary chosen: redis-${back.ordinal})`);
            assert.deepStrictEqual(lostBefore, [], "writes acknowledged before the failover were lost");
            assert.strictEqual(back.ordinal, other, "the Sentinels promoted the replica that holds the newest data");
            assert.match(lab.log("redis-0"), /with replica-priority 0 until its first sync: this pod's record is from config-epoch 0/);
            assert.match(lab.log(`redis-${other}`), new RegExp(`starts as a replica of 127\\.0\\.0\\.1:${lab.pods[last].redisPort} \\(records of 2 of 3 pods:`));
        } catch (e) {
            console.log(logs(lab));
            throw e;
        } finally {
            await lab.close();
        }
    });
});
