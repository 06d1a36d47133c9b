// npm run bench:redis-memory -- [--stack dev|prod] [--limit 512Mi] [--percent 75]
//     [--rates 1000,5000,20000] [--headroom 90] [--fill 97] [--churn 25] [--interval 50] [--json]
//
// How much memory an AOF rewrite costs on top of maxmemory. Renders the stack (with secrets; --limit and
// --percent override redis.resources.limits.memory and redis.maxmemoryPercent), runs a real redis-server on
// the rendered redis.conf, users.acl and (prod) TLS files with only bind, port/tls-port, dir and the files'
// paths substituted, fills it as the admin with session-like data up to --fill % of maxmemory (pipelined),
// overwrites --churn % of the keys once (an allocator that has seen updates), then for each write rate: a
// writer overwrites random existing keys at that steady rate, BGREWRITEAOF forks, and every --interval ms
// (less often when a read costs more than a quarter of that) the parent's VmRSS and the fork child's
// smaps_rollup are read until the rewrite is over. A memory cgroup charges a page once however many processes
// map it, so what the container is charged is parent RSS + the child's private pages (those copied on write
// since the fork): "combined". Also reported: Redis's own current_cow_peak and aof_last_cow_size, the
// automatic rewrites Redis starts during the bulk fill (auto-aof-rewrite-percentage 100 and min-size 64mb,
// the defaults the rendered config keeps), and for each run the largest maxmemoryPercent whose peak stays
// under --headroom % of the limit: as measured here, and projected onto the container's CPU limit (the child's
// CPU seconds here instead of its wall time, which a loaded machine inflates).
//
// A benchmark: it prints figures, never fails on them. Exit 0 when measured (or skipped without redis-server,
// unless CI=true / MSA_REQUIRE_SERVERS=1), 1 on an error, 2 on usage or stack config errors. Linux only.
// Cost, on 2 shared cores: dev (512Mi) 1.5-3 min, prod (2Gi) 3-6 min; RAM: redis-server up to 1.6x the
// limit (the fork's copies) plus about 250 MiB for this process; disk: the AOF, about half of used_memory.
// redis-server is stopped and the temp dir removed at the end, on an error, on SIGINT/SIGTERM and after 45 min.

import * as path from "path";
import { parseArgs } from "util";
import { quantityToBytes } from "../components/config/units";
import { findBinary, freePort, makeTempDir, removeTempDir, serversRequired, startServer, waitFor, type ServerProcess } from "./lib/servers";
import { RenderError } from "./lib/mockRuntime";
import { childPids, prepareLocal, schedstat, renderRedis, RespClient, SessionData, smapsRollup, vmRss, type RenderedRedis } from "./lib/redisMemory";
import { RespError } from "./lib/resp";

const USAGE =
    "usage: npm run bench:redis-memory -- [--stack dev|prod] [--limit <quantity>] [--percent <10..90>]\n" +
    "       [--rates <writes/s,...>] [--headroom <percent of the limit>] [--fill <percent of maxmemory>] [--churn <percent of keys>]\n" +
    "       [--interval <ms>] [--json]";

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number | undefined) => (b === undefined ? "-" : (b / MiB).toFixed(1));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export interface MeasureOptions {
    stack: string;
    limit?: string;
    percent?: number;
    /** Steady write rates (overwrites per second) to measure a rewrite under, one rewrite each. */
    rates: number[];
    /** The share of the limit the combined peak must stay under for a recommendation, in %. */
    headroom: number;
    /** Fill target, % of maxmemory (below 100: under noeviction an overwrite is refused once used_memory > maxmemory). */
    fill: number;
    /** Keys overwritten once after the fill, % of the keys. */
    churn: number;
    intervalMs: number;
    log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------
// Sampling /proc

interface Sample {
    t: number;
    parentRss: number;
    childPid?: number;
    childRss?: number;
    childPrivateDirty?: number;
    childPrivateClean?: number;
    /** The child's seconds on a CPU and waiting for one, so far. */
    childSched?: { cpu: number; wait: number };
    /** What a memory cgroup holding both processes is charged for their memory: parent RSS + child's private pages. */
    combined: number;
    costMs: number;
}

export interface WindowStats {
    samples: number;
    meanGapMs: number;
    maxGapMs: number;
    meanCostMs: number;
    childSeen: boolean;
    peakParentRss: number;
    peakChildRss: number;
    peakChildPrivateDirty: number;
    peakChildPrivateClean: number;
    peakCombined: number;
    /** The fork child at its last sample: seconds since the window began, on a CPU, and waiting for one. */
    childLast?: { at: number; cpu: number; wait: number };
}

/**
 * Samples the server's VmRSS and its fork child's smaps_rollup every intervalMs, or less often when a sample
 * costs more than a quarter of the interval (reading smaps_rollup walks the child's page tables): the sampler
 * stays under a quarter of a core. Samples do not overlap.
 */
class Sampler {
    private readonly samples: Sample[] = [];
    private running = false;
    private loop: Promise<void> | undefined;

    constructor(
        private readonly pid: number,
        private readonly intervalMs: number,
    ) {}

    start(): void {
        this.running = true;
        this.loop = (async () => {
            while (this.running) {
                const t0 = performance.now();
                await this.take();
                const cost = performance.now() - t0;
                await sleep(Math.max(this.intervalMs - cost, 3 * cost));
            }
        })();
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
    }

    private async take(): Promise<void> {
        const t0 = performance.now();
        const s: Sample = { t: Date.now(), parentRss: 0, combined: 0, costMs: 0 };
        for (const c of childPids(this.pid)) {
            const rollup = await smapsRollup(c);
            if (rollup) {
                s.childPid = c;
                s.childRss = rollup.Rss ?? 0;
                s.childPrivateDirty = rollup.Private_Dirty ?? 0;
                s.childPrivateClean = rollup.Private_Clean ?? 0;
                s.childSched = schedstat(c);
            }
        }
        // The parent's RSS after the child's (slow) rollup: the later of the two, and the parent grows meanwhile.
        const parentRss = vmRss(this.pid);
        if (parentRss === undefined) {
            return;
        }
        s.parentRss = parentRss;
        s.combined = parentRss + (s.childPrivateDirty ?? 0) + (s.childPrivateClean ?? 0);
        s.costMs = performance.now() - t0;
        this.samples.push(s);
    }

    childRunning(): boolean {
        return childPids(this.pid).length > 0;
    }

    window(from: number, to: number): WindowStats {
        const w = this.samples.filter((s) => s.t >= from && s.t <= to);
        let maxGap = 0;
        for (let i = 1; i < w.length; i++) maxGap = Math.max(maxGap, w[i].t - w[i - 1].t);
        const max = (f: (s: Sample) => number | undefined) => w.reduce((m, s) => Math.max(m, f(s) ?? 0), 0);
        return {
            samples: w.length,
            meanGapMs: w.length > 1 ? (w[w.length - 1].t - w[0].t) / (w.length - 1) : 0,
            maxGapMs: maxGap,
            meanCostMs: w.length ? w.reduce((a, s) => a + s.costMs, 0) / w.length : 0,
            childSeen: w.some((s) => s.childPid !== undefined),
            peakParentRss: max((s) => s.parentRss),
            peakChildRss: max((s) => s.childRss),
            peakChildPrivateDirty: max((s) => s.childPrivateDirty),
            peakChildPrivateClean: max((s) => s.childPrivateClean),
            peakCombined: max((s) => s.combined),
            childLast: (() => {
                const last = [...w].reverse().find((s) => s.childSched !== undefined);
                return last?.childSched ? { at: (last.t - from) / 1000, ...last.childSched } : undefined;
            })(),
        };
    }
}

// ---------------------------------------------------------------------------------------------------
// A writer at a steady rate

class RateWriter {
    issued = 0;
    acked = 0;
    errors = 0;
    firstError: string | undefined;
    /** Writes not sent because Redis (or this process) fell more than 200 ms behind the rate. */
    dropped = 0;
    private failure: Error | undefined;
    private timer: NodeJS.Timeout | undefined;
    private t0 = 0;
    private outstanding = new Set<Promise<unknown>>();

    constructor(
        private readonly client: RespClient,
        private readonly data: SessionData,
        private readonly keys: number,
        readonly rate: number,
    ) {}

    start(): this {
        this.t0 = performance.now();
        this.timer = setInterval(() => this.tick(), 10);
        return this;
    }

    private tick(): void {
        let due = Math.floor((this.rate * (performance.now() - this.t0)) / 1000) - this.issued - this.dropped;
        const cap = Math.max(1, Math.floor(this.rate * 0.2));
        if (due > cap) {
            this.dropped += due - cap;
            due = cap;
        }
        if (due <= 0 || this.client.inFlight > cap) {
            return;
        }
        const now = Date.now();
        const cmds: string[][] = [];
        for (let k = 0; k < due; k++) cmds.push(this.data.update(Math.floor(Math.random() * this.keys), now));
        this.issued += due;
        const p = this.client.pipeline(cmds).then(
            (r) => {
                this.acked += due;
                this.errors += r.errors;
                this.firstError ??= r.firstError;
            },
            (e: Error) => (this.failure ??= e),
        );
        this.outstanding.add(p);
        void p.finally(() => this.outstanding.delete(p));
    }

    async stop(): Promise<void> {
        clearInterval(this.timer);
        await Promise.all([...this.outstanding]);
        if (this.failure) {
            throw this.failure;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Phases

async function fill(
    client: RespClient,
    ctl: RespClient,
    data: SessionData,
    target: number,
    log: (l: string) => void,
): Promise<{ keys: number; seconds: number; errors: number; firstError?: string; autoRewrites: number }> {
    const t0 = performance.now();
    const startRewrites = Number((await ctl.info("persistence")).aof_rewrites);
    const batchKeys = 500;
    const window: Promise<{ errors: number; firstError?: string }>[] = [];
    let keys = 0;
    let errors = 0;
    let firstError: string | undefined;
    let used = 0;
    let nextReport = 0.25;
    const account = (r: { errors: number; firstError?: string }) => {
        errors += r.errors;
        firstError ??= r.firstError;
    };
    while (used < target && errors === 0) {
        const now = Date.now();
        const cmds: string[][] = [];
        for (let k = 0; k < batchKeys; k++) cmds.push(...data.create(keys++, now));
        window.push(client.pipeline(cmds));
        if (window.length >= 4) account(await window.shift()!);
        used = Number((await ctl.info("memory")).used_memory);
        if (used >= nextReport * target) {
            log(`  fill: ${keys} keys, used_memory ${mib(used)} MiB (${pct(used / target)} of the fill target; this process: RSS ${mib(process.memoryUsage().rss)} MiB)`);
            nextReport += 0.25;
        }
    }
    for (const p of window) account(await p);
    const rewrites = Number((await ctl.info("persistence")).aof_rewrites) - startRewrites;
    return { keys, seconds: (performance.now() - t0) / 1000, errors, firstError, autoRewrites: rewrites };
}

async function churn(client: RespClient, data: SessionData, keys: number, count: number): Promise<number> {
    const t0 = performance.now();
    const window: Promise<unknown>[] = [];
    for (let done = 0; done < count; ) {
        const n = Math.min(1000, count - done);
        const now = Date.now();
        const cmds: string[][] = [];
        for (let k = 0; k < n; k++) cmds.push(data.update(Math.floor(Math.random() * keys), now));
        window.push(client.pipeline(cmds));
        done += n;
        if (window.length >= 4) await window.shift();
    }
    await Promise.all(window);
    return (performance.now() - t0) / 1000;
}

/** Waits until no rewrite is running or scheduled and the fork child is gone. */
async function waitIdle(ctl: RespClient, sampler: Sampler, server: ServerProcess, timeoutMs: number): Promise<void> {
    await waitFor(
        "no AOF rewrite in progress",
        async () => {
            const p = await ctl.info("persistence");
            return p.aof_rewrite_in_progress === "0" && p.aof_rewrite_scheduled === "0" && !sampler.childRunning();
        },
        { timeoutMs, intervalMs: 200, server },
    );
}

export interface RewriteRun {
    rate: number;
    achievedRate: number;
    writesDuringRewrite: number;
    writeErrors: number;
    firstWriteError?: string;
    dropped: number;
    rewriteSeconds: number;
    /**
     * The rewrite's wall time split by the child's schedstat (shares at its last sample, applied to the whole):
     * on a CPU, runnable but waiting for one (this machine's load), and the rest (disk writes and fsync).
     */
    child: { cpu: number; runqueue: number; other: number };
    before: { usedMemory: number; usedMemoryRss: number; parentRss: number };
    stats: WindowStats;
    /** From INFO persistence; aofBaseSize is the AOF's size when the rewrite ended (new base + the incr file written meanwhile). */
    redis: { currentCowPeak: number; aofLastCowSize: number; aofLastRewriteTimeSec: number; aofBaseSize: number };
}

async function rewriteUnderLoad(
    o: { client: RespClient; ctl: RespClient; data: SessionData; keys: number; rate: number; sampler: Sampler; server: ServerProcess; pid: number },
): Promise<RewriteRun> {
    const { ctl, sampler } = o;
    await waitIdle(ctl, sampler, o.server, 600_000);
    const writer = new RateWriter(o.client, o.data, o.keys, o.rate).start();
    try {
        await sleep(2000); // steady state before the fork
        const mem = await ctl.info("memory");
        const before = { usedMemory: Number(mem.used_memory), usedMemoryRss: Number(mem.used_memory_rss), parentRss: vmRss(o.pid) ?? 0 };
        const issued0 = writer.issued;
        const t0 = Date.now();
        const reply = await ctl.command("BGREWRITEAOF");
        if (reply instanceof RespError) {
            throw new Error(`BGREWRITEAOF: ${reply.message}`);
        }
        let cowPeak = 0;
        await waitFor(
            "the AOF rewrite to finish",
            async () => {
                const p = await ctl.info("persistence");
                cowPeak = Math.max(cowPeak, Number(p.current_cow_peak ?? 0));
                return p.aof_rewrite_in_progress === "0" && p.aof_rewrite_scheduled === "0" && !sampler.childRunning();
            },
            { timeoutMs: 600_000, intervalMs: 100, server: o.server },
        );
        const t1 = Date.now();
        const issued1 = writer.issued;
        await sleep(500); // the parent after the child: rename, incr file, freed buffers
        const t2 = Date.now();
        await writer.stop();
        const p = await ctl.info("persistence");
        if (p.aof_last_bgrewrite_status !== "ok") {
            throw new Error(`the AOF rewrite failed (aof_last_bgrewrite_status ${p.aof_last_bgrewrite_status}); see the server log`);
        }
        const stats = sampler.window(t0, t2);
        const wall = (t1 - t0) / 1000;
        const last = stats.childLast;
        const cpu = last && last.at > 0 ? (wall * last.cpu) / last.at : wall;
        const runqueue = last && last.at > 0 ? (wall * last.wait) / last.at : 0;
        return {
            rate: o.rate,
            achievedRate: (issued1 - issued0) / ((t1 - t0) / 1000),
            writesDuringRewrite: issued1 - issued0,
            writeErrors: writer.errors,
            firstWriteError: writer.firstError,
            dropped: writer.dropped,
            rewriteSeconds: wall,
            child: { cpu, runqueue, other: Math.max(0, wall - cpu - runqueue) },
            before,
            stats,
            redis: {
                currentCowPeak: cowPeak,
                aofLastCowSize: Number(p.aof_last_cow_size),
                aofLastRewriteTimeSec: Number(p.aof_last_rewrite_time_sec),
                aofBaseSize: Number(p.aof_base_size),
            },
        };
    } finally {
        await writer.stop().catch(() => undefined);
    }
}

// ---------------------------------------------------------------------------------------------------
// The model behind the recommendation
//
// What a rewrite costs scales with the data set: the parent's RSS is base + D (D: the data set's resident
// pages, used_memory x the allocator's overhead), and the child ends up with a private copy of every page the
// parent dirtied while the child was serialising: D * (1 - exp(-W * c / D)) for W writes dirtying c bytes
// each on pages spread at random (uniform keys: the worst case; hot keys dirty fewer pages). W is the write
// rate times the rewrite's duration, which itself scales with D and with the CPU the child gets.

export interface Derived {
    /** Combined peak / memory limit. */
    ratioToLimit: number;
    /** Resident data-set pages before the fork (parent RSS - empty-server RSS). */
    dataRss: number;
    /** Child private dirty / dataRss: the share of the data set's pages copied. */
    copiedShare: number;
    /** Bytes copied per write (c of the model, from this run). */
    cowPerWrite: number;
    /** Largest maxmemoryPercent for which this run's peak, scaled to a data set filling maxmemory, stays under the headroom. */
    largestPercent: number;
    /** The same run projected onto the container: the child gets the container's CPU limit (at most one core). */
    projected: { rewriteSeconds: number; writes: number; peakAtCurrent: number; ratioAtCurrent: number; largestPercent: number };
}

interface ModelInput {
    limit: number;
    base: number;
    /** used_memory and dataRss of the measured instance. */
    usedMemory: number;
    dataRss: number;
    headroom: number;
}

/** Largest percent in 10..90 whose predicted peak stays under headroom * limit (10 when none does). */
function largestPercentWhere(m: ModelInput, peakAt: (scale: number) => number): number {
    for (let p = 90; p > 10; p--) {
        if (peakAt((m.limit * p) / 100 / m.usedMemory) <= m.headroom * m.limit) {
            return p;
        }
    }
    return 10;
}

export function derive(m: ModelInput & { maxmemory: number; cpuCores: number }, run: RewriteRun): Derived {
    const copiedShare = run.stats.peakChildPrivateDirty / m.dataRss;
    const cowPerWrite = run.writesDuringRewrite > 0 ? (-m.dataRss * Math.log(1 - Math.min(copiedShare, 0.99))) / run.writesDuringRewrite : 0;
    // Measured: the peak above the empty server, per byte of used_memory, at a data set of `scale` times this one.
    const perUsed = (run.stats.peakCombined - m.base) / m.usedMemory;
    const largestPercent = largestPercentWhere(m, (scale) => m.base + perUsed * m.usedMemory * scale);
    // Projected: the child's CPU time here at the container's CPU limit (at most one core: the child is one
    // thread), plus its time off the CPU here (disk), instead of the wait for a CPU this machine adds.
    const cores = Math.min(1, m.cpuCores);
    const seconds = (scale: number) => (run.child.cpu / cores + run.child.other) * scale;
    const projectedPeak = (scale: number) => {
        const d = m.dataRss * scale;
        const writes = run.achievedRate * seconds(scale);
        return m.base + d + d * (1 - Math.exp((-writes * cowPerWrite) / d));
    };
    const atCurrent = m.maxmemory / m.usedMemory;
    return {
        ratioToLimit: run.stats.peakCombined / m.limit,
        dataRss: m.dataRss,
        copiedShare,
        cowPerWrite,
        largestPercent,
        projected: {
            rewriteSeconds: seconds(atCurrent),
            writes: run.achievedRate * seconds(atCurrent),
            peakAtCurrent: projectedPeak(atCurrent),
            ratioAtCurrent: projectedPeak(atCurrent) / m.limit,
            largestPercent: largestPercentWhere(m, projectedPeak),
        },
    };
}

export interface Report {
    stack: string;
    memoryLimit: string;
    limitBytes: number;
    cpuLimitMillis: number;
    percent: number;
    maxmemory: number;
    tls: boolean;
    substituted: string[];
    redisVersion: string;
    baseRss: number;
    fill: { keys: number; seconds: number; errors: number; firstError?: string; autoRewrites: number; stats: WindowStats; usedMemory: number; usedMemoryRss: number };
    churnSeconds: number;
    runs: (RewriteRun & Derived)[];
    /** Had the child copied every page of the data set. */
    fullCopy: { combined: number; ratioToLimit: number; largestPercent: number };
    recommendation: {
        headroom: number;
        current: number;
        /** Largest percent keeping every measured run's peak (scaled to a full maxmemory) under the headroom. */
        measured: number;
        /** The same with the runs projected onto the container's CPU limit. */
        projected: number;
        /** How many runs (of runs.length) the current percent keeps under the headroom: measured, projected. */
        measuredUnder: number;
        projectedUnder: number;
    };
    seconds: number;
}

export async function measureRedisMemory(o: MeasureOptions, redisServer: string): Promise<Report> {
    const started = performance.now();
    const rendered: RenderedRedis = await renderRedis(o.stack, { limit: o.limit, percent: o.percent });
    o.log(
        `stack ${o.stack}: memory limit ${rendered.memoryLimit} (${rendered.limitBytes} B), CPU limit ${rendered.cpuLimitMillis}m, maxmemoryPercent ${rendered.percent} → ` +
            `maxmemory ${rendered.maxmemory} B (${mib(rendered.maxmemory)} MiB)${rendered.tls ? ", TLS-only" : ""}`,
    );
    const tmp = makeTempDir("redis-memory");
    let server: ServerProcess | undefined;
    let sampler: Sampler | undefined;
    const clients: RespClient[] = [];
    try {
        const port = await freePort();
        const local = prepareLocal(rendered, tmp, port, redisServer);
        o.log(`substituted in redis.conf: ${Object.entries(local.substituted).map(([k, v]) => `${k} ${v.startsWith(tmp) ? `<tmp>/${path.relative(tmp, v)}` : v}`).join(", ")}`);
        server = startServer("redis-server", local.argv[0], local.argv.slice(1), { logFile: path.join(tmp, "redis.log") });
        const connect = async () => {
            const c = await RespClient.connect(port, rendered.adminPassword, rendered.tls && { ca: rendered.tls.ca, servername: rendered.tls.host });
            clients.push(c);
            return c;
        };
        const ctl = await waitFor("redis-server to accept the admin", connect, { server, timeoutMs: 15_000, intervalMs: 100 });
        const client = await connect();
        const writerConn = await connect();
        const pid = server.child.pid!;
        const serverInfo = await ctl.info("server");
        const mem0 = await ctl.info("memory");
        const configured = await ctl.command("CONFIG", "GET", "maxmemory");
        if (!Array.isArray(configured) || Number(configured[1]) !== rendered.maxmemory) {
            throw new Error(`the server runs with maxmemory ${JSON.stringify(configured)}, not the rendered ${rendered.maxmemory}`);
        }
        if (mem0.maxmemory_policy !== "noeviction") {
            o.log(`note: maxmemory-policy ${mem0.maxmemory_policy}: the fill may evict instead of stopping at maxmemory`);
        }
        const baseRss = vmRss(pid) ?? 0;
        sampler = new Sampler(pid, o.intervalMs);
        sampler.start();

        const data = new SessionData();
        const target = Math.floor((rendered.maxmemory * o.fill) / 100);
        o.log(`filling to ${o.fill}% of maxmemory (${mib(target)} MiB) with session-like hashes and strings ...`);
        const tFill = Date.now();
        const filled = await fill(client, ctl, data, target, o.log);
        await waitIdle(ctl, sampler, server, 600_000);
        const fillStats = sampler.window(tFill, Date.now());
        const churnCount = Math.floor((filled.keys * o.churn) / 100);
        const churnSeconds = await churn(client, data, filled.keys, churnCount);
        const mem1 = await ctl.info("memory");
        o.log(
            `filled: ${filled.keys} keys in ${filled.seconds.toFixed(1)} s (${filled.autoRewrites} automatic AOF rewrites meanwhile), ` +
                `churned ${churnCount} in ${churnSeconds.toFixed(1)} s; used_memory ${mib(Number(mem1.used_memory))} MiB, used_memory_rss ${mib(Number(mem1.used_memory_rss))} MiB`,
        );

        const headroom = o.headroom / 100;
        const runs: Report["runs"] = [];
        for (const rate of o.rates) {
            o.log(`rewrite under ${rate} overwrites/s ...`);
            const r = await rewriteUnderLoad({ client: writerConn, ctl, data, keys: filled.keys, rate, sampler, server, pid });
            const d = derive(
                {
                    limit: rendered.limitBytes,
                    base: baseRss,
                    usedMemory: r.before.usedMemory,
                    dataRss: r.before.parentRss - baseRss,
                    headroom,
                    maxmemory: rendered.maxmemory,
                    cpuCores: rendered.cpuLimitMillis / 1000,
                },
                r,
            );
            runs.push({ ...r, ...d });
            o.log(
                `  ${r.rewriteSeconds.toFixed(1)} s (child: ${r.child.cpu.toFixed(1)} s on a CPU, ${r.child.runqueue.toFixed(1)} s waiting for one), ${r.writesDuringRewrite} writes during it (${r.achievedRate.toFixed(0)}/s): ` +
                    `peak parent RSS ${mib(r.stats.peakParentRss)} MiB, child private dirty ${mib(r.stats.peakChildPrivateDirty)} MiB, ` +
                    `combined ${mib(r.stats.peakCombined)} MiB = ${pct(d.ratioToLimit)} of the limit`,
            );
        }
        await sampler.stop();

        const last = runs[runs.length - 1];
        const fullAt = (scale: number) => baseRss + 2 * last.dataRss * scale;
        const model: ModelInput = { limit: rendered.limitBytes, base: baseRss, usedMemory: last.before.usedMemory, dataRss: last.dataRss, headroom };
        const fullCombined = fullAt(rendered.maxmemory / last.before.usedMemory);
        const limitAt = headroom * rendered.limitBytes;
        const scaledPeak = (x: RewriteRun) => baseRss + ((x.stats.peakCombined - baseRss) * rendered.maxmemory) / x.before.usedMemory;
        return {
            stack: o.stack,
            memoryLimit: rendered.memoryLimit,
            limitBytes: rendered.limitBytes,
            cpuLimitMillis: rendered.cpuLimitMillis,
            percent: rendered.percent,
            maxmemory: rendered.maxmemory,
            tls: rendered.tls !== undefined,
            substituted: Object.keys(local.substituted),
            redisVersion: serverInfo.redis_version,
            baseRss,
            fill: { ...filled, stats: fillStats, usedMemory: Number(mem1.used_memory), usedMemoryRss: Number(mem1.used_memory_rss) },
            churnSeconds,
            runs,
            fullCopy: { combined: fullCombined, ratioToLimit: fullCombined / rendered.limitBytes, largestPercent: largestPercentWhere(model, fullAt) },
            recommendation: {
                headroom: o.headroom,
                current: rendered.percent,
                measured: Math.min(...runs.map((x) => x.largestPercent)),
                projected: Math.min(...runs.map((x) => x.projected.largestPercent)),
                measuredUnder: runs.filter((x) => scaledPeak(x) <= limitAt).length,
                projectedUnder: runs.filter((x) => x.projected.peakAtCurrent <= limitAt).length,
            },
            seconds: (performance.now() - started) / 1000,
        };
    } catch (e) {
        if (server) {
            (e as Error).message += `\nlast lines of the redis-server log:\n${server.logTail(15)}`;
        }
        throw e;
    } finally {
        await sampler?.stop();
        for (const c of clients) c.close();
        await server?.stop(10_000);
        removeTempDir(tmp);
    }
}

// ---------------------------------------------------------------------------------------------------
// Report

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

export function formatReport(r: Report): string {
    const lines: string[] = [];
    const rec = r.recommendation;
    lines.push("");
    lines.push(
        `Redis ${r.redisVersion}, stack ${r.stack}${r.tls ? " (TLS)" : ""}: limit ${r.memoryLimit} = ${mib(r.limitBytes)} MiB, CPU ${r.cpuLimitMillis}m, ` +
            `maxmemoryPercent ${r.percent}, maxmemory ${mib(r.maxmemory)} MiB; headroom ${rec.headroom}% of the limit = ${mib((rec.headroom / 100) * r.limitBytes)} MiB`,
    );
    lines.push(
        `empty server RSS ${mib(r.baseRss)} MiB; after fill + churn: used_memory ${mib(r.fill.usedMemory)} MiB (${pct(r.fill.usedMemory / r.maxmemory)} of maxmemory), ` +
            `used_memory_rss ${mib(r.fill.usedMemoryRss)} MiB (${(r.fill.usedMemoryRss / r.fill.usedMemory).toFixed(2)}x used_memory)`,
    );
    lines.push(
        `bulk fill (${r.fill.keys} keys, pipelined, ${r.fill.seconds.toFixed(1)} s) with ${r.fill.autoRewrites} automatic rewrites: peak combined ${mib(r.fill.stats.peakCombined)} MiB = ` +
            `${pct(r.fill.stats.peakCombined / r.limitBytes)} of the limit (child private dirty ${mib(r.fill.stats.peakChildPrivateDirty)} MiB)` +
            (r.fill.errors ? `; ${r.fill.errors} writes refused (${r.fill.firstError})` : ""),
    );
    lines.push("");
    lines.push("Measured here (MiB; combined = parent RSS + child Private_Dirty + Private_Clean, what a memory cgroup charges):");
    const rows = [
        ["writes/s asked→done", "rewrite s", "child cpu/runq/other s", "writes in it", "used_memory", "parent RSS before", "peak parent RSS", "peak child priv.dirty", "copied", "B/write", "peak combined", "÷ limit", "current_cow_peak (polled)", "aof_last_cow_size", "largest %"],
    ];
    for (const x of r.runs) {
        rows.push([
            `${x.rate}→${x.achievedRate.toFixed(0)}`,
            x.rewriteSeconds.toFixed(1),
            `${x.child.cpu.toFixed(1)}/${x.child.runqueue.toFixed(1)}/${x.child.other.toFixed(1)}`,
            String(x.writesDuringRewrite),
            mib(x.before.usedMemory),
            mib(x.before.parentRss),
            mib(x.stats.peakParentRss),
            mib(x.stats.peakChildPrivateDirty),
            pct(x.copiedShare),
            x.cowPerWrite.toFixed(0),
            mib(x.stats.peakCombined),
            pct(x.ratioToLimit),
            mib(x.redis.currentCowPeak),
            mib(x.redis.aofLastCowSize),
            String(x.largestPercent),
        ]);
    }
    lines.push(table(rows));
    for (const x of r.runs) {
        const notes: string[] = [];
        if (x.writeErrors) notes.push(`${x.writeErrors} writes refused (${x.firstWriteError})`);
        if (x.dropped) notes.push(`${x.dropped} writes not sent (this process fell behind the rate)`);
        if (!x.stats.childSeen) notes.push("the fork child was never sampled (rewrite shorter than the interval)");
        notes.push(`${x.stats.samples} samples, every ${x.stats.meanGapMs.toFixed(0)} ms (max gap ${x.stats.maxGapMs} ms), ${x.stats.meanCostMs.toFixed(1)} ms each; AOF after the rewrite (base + incr) ${mib(x.redis.aofBaseSize)} MiB`);
        lines.push(`  ${x.rate}/s: ${notes.join("; ")}`);
    }
    lines.push("");
    lines.push(
        `Projected onto the container: data set filling maxmemory at ${r.percent}%, the child's CPU seconds here at ${Math.min(1000, r.cpuLimitMillis)}m ` +
            `plus its disk time here (not this machine's CPU wait), the achieved write rate, the bytes copied per write measured above:`,
    );
    const prow = [["writes/s", "rewrite s", "writes in it", "peak combined", "÷ limit", "largest %"]];
    for (const x of r.runs) {
        prow.push([String(x.rate), x.projected.rewriteSeconds.toFixed(1), x.projected.writes.toFixed(0), mib(x.projected.peakAtCurrent), pct(x.projected.ratioAtCurrent), String(x.projected.largestPercent)]);
    }
    lines.push(table(prow));
    lines.push("");
    lines.push(
        `had the child copied every page: combined ${mib(r.fullCopy.combined)} MiB = ${pct(r.fullCopy.ratioToLimit)} of the limit; largest maxmemoryPercent under ${rec.headroom}% at any write load: ${r.fullCopy.largestPercent}`,
    );
    lines.push(
        `maxmemoryPercent ${rec.current} keeps the peak (scaled to a full maxmemory) under ${rec.headroom}% of the limit at ${rec.measuredUnder} of ${r.runs.length} rates measured, ` +
            `${rec.projectedUnder} of ${r.runs.length} projected; the largest that does at every rate: ${rec.measured} measured, ${rec.projected} projected`,
    );
    lines.push(`took ${r.seconds.toFixed(0)} s`);
    return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Command line

function usage(message: string): never {
    process.stderr.write(`measure-redis-memory: ${message}\n${USAGE}\n`);
    process.exit(2);
}

function parseOptions(argv: string[]): MeasureOptions & { json: boolean } {
    let values: Record<string, string | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string", default: "dev" },
                limit: { type: "string" },
                percent: { type: "string" },
                rates: { type: "string", default: "1000,5000,20000" },
                headroom: { type: "string", default: "90" },
                fill: { type: "string", default: "97" },
                churn: { type: "string", default: "25" },
                interval: { type: "string", default: "50" },
                json: { type: "boolean", default: false },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        usage((e as Error).message);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    const num = (name: string, min: number, max: number, integer = true): number => {
        const v = Number(values[name]);
        if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
            usage(`--${name}: ${JSON.stringify(values[name])} is not valid; expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
        }
        return v;
    };
    const limit = values.limit as string | undefined;
    if (limit !== undefined) {
        try {
            quantityToBytes(limit);
        } catch {
            usage(`--limit: ${JSON.stringify(limit)} is not a Kubernetes quantity such as 512Mi or 2Gi`);
        }
    }
    const rates = String(values.rates)
        .split(",")
        .map((s) => Number(s.trim()));
    if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1 || r > 1_000_000)) {
        usage(`--rates: ${JSON.stringify(values.rates)} is not valid; expected writes per second, comma-separated, such as 1000,10000`);
    }
    return {
        stack: String(values.stack),
        limit,
        percent: values.percent === undefined ? undefined : num("percent", 10, 90),
        rates,
        headroom: num("headroom", 10, 100, false),
        fill: num("fill", 10, 99.9, false),
        churn: num("churn", 0, 1000, false),
        intervalMs: num("interval", 5, 1000),
        json: Boolean(values.json),
        log: (line) => process.stderr.write(`${line}\n`),
    };
}

async function main(): Promise<void> {
    const opts = parseOptions(process.argv.slice(2));
    if (process.platform !== "linux") {
        usage("needs Linux (/proc/<pid>/smaps_rollup)");
    }
    const redisServer = findBinary("redis-server");
    if (!redisServer) {
        const reason = "redis-server not found on PATH or in /usr/sbin (apt-get install redis-server)";
        if (serversRequired()) {
            throw new Error(reason);
        }
        process.stdout.write(`measure-redis-memory: skipped: ${reason}\n`);
        return;
    }
    // Interrupted or over time: the server (own process group) and the temp dir go too (servers.ts's exit hook).
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            process.stderr.write(`measure-redis-memory: ${sig}, stopping\n`);
            process.exit(130);
        });
    }
    const deadline = setTimeout(() => {
        process.stderr.write("measure-redis-memory: gave up after 45 minutes\n");
        process.exit(1);
    }, 45 * 60_000);
    deadline.unref();
    const report = await measureRedisMemory(opts, redisServer);
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
}

if (require.main === module) {
    main().catch((e) => {
        if (e instanceof RenderError || (e as Error)?.name === "ConfigError") {
            process.stderr.write(`measure-redis-memory: ${(e as Error).message}\n`);
            process.exit(2);
        }
        process.stderr.write(`measure-redis-memory: ${(e as Error)?.stack ?? e}\n`);
        process.exit(1);
    });
}
