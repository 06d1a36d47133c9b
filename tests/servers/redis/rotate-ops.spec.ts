// Real-process drill of issue 20 item 4 for Redis's operations passwords: the admin (`default`), the ACL
// Job's own `reconcile` login, `metrics`, `replication`, the Sentinels' user on Redis (`sentinel`,
// auth-pass), and the Sentinels' own users (clients `default`, peers `sentinels`, operators `admin`), each
// rotated on the running prod set (3 pods as rendered: primary, 2 replicas, Sentinels, TLS, a real
// redis_exporter beside each Redis) with no restart.
//
// Each rotation is a new render of prod (one seed, the rotated passwords given) whose ACL reconcile Job is
// run as rendered (tests/helpers/redisSentinel.ts runAclJob) while the test plays the kubelet: it refreshes
// the pods' mounted Secret files one pod at a time, seconds after the Job started (atomic renames, as the
// kubelet swaps the volume), and runs every pod's rendered probes (Redis startup/readiness/liveness,
// Sentinel liveness) all along. Proves: the pod templates are unchanged; every probe passes throughout;
// afterwards the new password works and the old one is refused on every pod and Sentinel; replication is up
// and a write reaches both replicas; the exporters scrape with the new metrics password; no process
// restarted (same run_id for every Redis and Sentinel); and after all rotations a Sentinel failover works
// (auth-pass, masterauth and the peers' password are the new ones). Rotating the admin and the reconcile
// password in one step is refused: exit 1, nothing changed. Prints each Job's time and the probe counts.

import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { find, type Any } from "../../../scripts/lib/manifests";
import { commandLine, container, secretData } from "../../../scripts/lib/rendered";
import { readProjectName, readStackFile, ROOT } from "../../../scripts/lib/mockRuntime";
import { decodeConfigValue } from "../../../components/stackConfig";
import { RedisConn, RespError } from "../../helpers/redis";
import { asPodUser, infoField, loadSentinelSet, openAuthed, runAclJob, SentinelLab, type RenderedSentinelSet } from "../../helpers/redisSentinel";
import { freePort, randomToken, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { requireTool } from "../../helpers/ops";

registerRealServerSummary();

const SEED = "rotate-ops-drill";
const RP = "random:index/randomPassword:RandomPassword::redis-";

/** The generated ids of the operations passwords (components/redis/plan.ts REDIS_GENERATED). */
const IDS = {
    admin: "password",
    reconcile: "reconcile-password",
    metrics: "metrics-password",
    replication: "replication-password",
    sentinelUser: "sentinel-user-password",
    sentinel: "sentinel-password",
    sentinelPeer: "sentinel-peer-password",
    sentinelAdmin: "sentinel-admin-password",
} as const;
type Which = keyof typeof IDS;

function prodConfig(): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    return config;
}

/** The current value of every operations password of a render, read from its Secrets. */
function opsPasswords(set: RenderedSentinelSet): Record<Which, string> {
    const s = (name: string) => secretData(find(set.objects, "Secret", set.namespace, name));
    // (Before the fix the Job had no login of its own: no Secret redis-reconcile.)
    const reconcile = set.objects.some((o) => o.kind === "Secret" && o.metadata.name === "redis-reconcile") ? s("redis-reconcile").password : "";
    const json = s("redis-exporter-credentials")["password.json"];
    return {
        admin: set.passwords.admin,
        reconcile,
        metrics: Object.values(JSON.parse(json) as Record<string, string>)[0],
        replication: set.passwords.replication,
        sentinelUser: set.passwords.sentinelUser,
        sentinel: set.passwords.sentinel,
        sentinelPeer: set.passwords.sentinelPeer,
        sentinelAdmin: set.passwords.sentinelAdmin,
    };
}

/** Where each password is checked: [Redis or Sentinel, user]. */
const LOGIN: Record<Which, ["redis" | "sentinel", string]> = {
    admin: ["redis", "default"],
    reconcile: ["redis", "reconcile"],
    metrics: ["redis", "metrics"],
    replication: ["redis", "replication"],
    sentinelUser: ["redis", "sentinel"],
    sentinel: ["sentinel", "default"],
    sentinelPeer: ["sentinel", "sentinels"],
    sentinelAdmin: ["sentinel", "admin"],
};

function httpGet(port: number, p: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: p, timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", () => resolve({ status: 0, body: "" }));
        req.on("timeout", () => req.destroy());
    });
}

describe("real servers: Redis's operations passwords rotated live on prod's 3 pods (ACL Job, probes, exporter, Sentinels)", function () {
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string> = {};
    let lab: SentinelLab;
    let base: RenderedSentinelSet;
    let current: RenderedSentinelSet;
    const generated = new Map<string, { result: string }>();
    const runIds: string[] = [];
    const sentinelRunIds: string[] = [];
    const timings: string[] = [];
    const exporters: { proc: ServerProcess; port: number }[] = [];
    // The probes as rendered, per pod, with the pod's paths and ports.
    const probes: { pod: number; name: string; argv: string[] }[] = [];
    const probeStats = { runs: 0, failures: [] as string[] };
    let probing = false;
    let probeLoop: Promise<void> | undefined;

    const render = async (): Promise<RenderedSentinelSet> => loadSentinelSet("prod", { config: prodConfig(), seed: SEED, generated: new Map(generated) });

    /** The kubelet's refresh of pod i's Secret volumes (all but the certificate): each file replaced atomically. */
    const refreshPod = (i: number, set: RenderedSentinelSet) => {
        const pod = lab.pods[i];
        const spec = (set.sts as Any).spec.template.spec;
        const mounts = new Map<string, string>();
        for (const c of spec.containers as Any[]) for (const m of c.volumeMounts ?? []) mounts.set(m.name, m.mountPath);
        for (const [name, mountPath] of mounts) {
            const v = (spec.volumes as Any[]).find((x) => x.name === name);
            if (!v?.secret || name === "tls") continue;
            const dir = pod.root + mountPath;
            fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
            for (const [k, text] of Object.entries(secretData(find(set.objects, "Secret", set.namespace, v.secret.secretName)))) {
                const f = path.join(dir, k);
                const tmp = `${f}.new`;
                fs.writeFileSync(tmp, text);
                fs.chownSync(tmp, 0, lab.user.fsGroup);
                fs.chmodSync(tmp, v.secret.defaultMode ?? 0o440);
                fs.renameSync(tmp, f);
                if (k === "password.json") localExporterFile(f);
            }
        }
    };

    /**
     * The exporter's lookup key is its address, which holds the pod's test port here: the exporter reads a
     * copy of the mounted password.json with that port (written atomically next to it), while the probe
     * fingerprints the mounted file as rendered, as the Job does.
     */
    const localExporterFile = (f: string) => {
        const pod = lab.pods.find((p) => f.startsWith(p.root + "/"))!;
        const local = f.replace(/\.json$/, ".local.json");
        fs.writeFileSync(`${local}.new`, fs.readFileSync(f, "utf8").replace("localhost:6379", `localhost:${pod.redisPort}`));
        fs.chownSync(`${local}.new`, 0, lab.user.fsGroup);
        fs.chmodSync(`${local}.new`, 0o440);
        fs.renameSync(`${local}.new`, local);
        return local;
    };

    /** Every probe of every pod, once each; failures recorded with the pod, the probe and its output. */
    const probeAll = async () => {
        await Promise.all(
            probes.map(async (p) => {
                const [cmd, ...args] = asPodUser(bins["setpriv"], lab.user, p.argv);
                // The container's own environment (none since the fix: the passwords are files).
                const pod = lab.pods[p.pod];
                const r = await run(cmd, args, { env: lab.envOf(p.name.startsWith("sentinel") ? pod.sentinelEnv : pod.redisEnv), timeoutMs: 10_000 });
                probeStats.runs++;
                if (r.code !== 0) probeStats.failures.push(`redis-${p.pod} ${p.name}: exit ${r.code} ${(r.stdout + r.stderr).trim().slice(0, 200)}`);
            }),
        );
    };
    const startProbing = () => {
        probing = true;
        probeLoop = (async () => {
            while (probing) {
                await probeAll();
                await new Promise((r) => setTimeout(r, 300));
            }
        })();
    };
    const stopProbing = async () => {
        probing = false;
        await probeLoop;
    };

    const login = async (i: number, where: "redis" | "sentinel", user: string, password: string): Promise<RedisConn | RespError> => {
        try {
            const port = where === "redis" ? lab.pods[i].redisPort : lab.pods[i].sentinelPort;
            return await openAuthed(lab.set, port, i, { user, password });
        } catch (e) {
            return new RespError((e as Error).message);
        }
    };
    /** The primary as Sentinel i names it to a client (the clients' current Sentinel password). */
    const askSentinel = async (i: number): Promise<string | undefined> => {
        const c = await login(i, "sentinel", "default", current.passwords.sentinel);
        if (!(c instanceof RedisConn)) return undefined;
        try {
            const r = await c.command("SENTINEL", "get-master-addr-by-name", current.masterName);
            return Array.isArray(r) ? `${r[0]}:${r[1]}` : undefined;
        } finally {
            c.close();
        }
    };
    const tracked = (c: RedisConn | RespError, what: string): RedisConn => {
        if (!(c instanceof RedisConn)) throw new Error(`${what}: ${c.message}`);
        return lab.track(c);
    };
    const adminOf = async (i: number, set: RenderedSentinelSet) => tracked(await login(i, "redis", "default", set.passwords.admin), `redis-${i} as the admin`);
    const sentinelAdminOf = async (i: number, set: RenderedSentinelSet) => tracked(await login(i, "sentinel", "admin", set.passwords.sentinelAdmin), `sentinel-${i} as admin`);
    const primaryOrdinal = async (set: RenderedSentinelSet): Promise<number> => {
        for (let i = 0; i < 3; i++) if (infoField(await (await adminOf(i, set)).command("INFO", "replication"), "role") === "master") return i;
        throw new Error("no primary");
    };
    const runIdsNow = async (set: RenderedSentinelSet) => ({
        redis: await Promise.all([0, 1, 2].map(async (i) => infoField(await (await adminOf(i, set)).command("INFO", "server"), "run_id")!)),
        sentinel: await Promise.all([0, 1, 2].map(async (i) => infoField(await (await sentinelAdminOf(i, set)).command("INFO", "server"), "run_id")!)),
    });
    const assertNoRestart = async (set: RenderedSentinelSet) => {
        const now = await runIdsNow(set);
        assert.deepStrictEqual(now.redis, runIds, "a Redis process restarted (run_id changed)");
        assert.deepStrictEqual(now.sentinel, sentinelRunIds, "a Sentinel process restarted (run_id changed)");
        for (const name of [...lab.procs.keys()]) assert.ok(lab.procs.get(name)!.running, `${name} is not running`);
    };
    /** Replication up on both replicas and a write on the primary read back from each. */
    const assertReplication = async (set: RenderedSentinelSet) => {
        const key = `rotate:${randomToken(8)}`;
        const value = randomToken(16);
        // min-replicas-to-write: the primary takes the write once a replica is linked (a new connection each
        // try: a role change closes the clients).
        const primary = await waitFor("the primary to take a write", async () => {
            const j = await primaryOrdinal(set);
            return (await (await adminOf(j, set)).command("SET", key, value)) === "OK" ? j : undefined;
        }, { timeoutMs: 20_000 });
        for (let i = 0; i < 3; i++) {
            if (i === primary) continue;
            const r = await adminOf(i, set);
            await waitFor(`redis-${i}: master_link_status:up and the write replicated`, async () => infoField(await r.command("INFO", "replication"), "master_link_status") === "up" && (await r.command("GET", key)) === value, { timeoutMs: 15_000 });
        }
        return primary;
    };

    /**
     * One rotation: new values for `which`, the new render, its Job run while the pods' files are refreshed
     * one pod at a time (the first 2 s after the Job starts, the others 1.5 s apart), probes running all along.
     */
    const rotate = async (which: Which[], label: string) => {
        const before = opsPasswords(current);
        const saved = new Map(generated);
        for (const w of which) generated.set(`${RP}${IDS[w]}`, { result: `${w.replace(/\W/g, "")}${randomToken(24)}` });
        try {
            return await rotateTo(which, label, before);
        } catch (e) {
            // A failed rotation is not the next one's starting point.
            generated.clear();
            for (const [k, v] of saved) generated.set(k, v);
            throw e;
        }
    };
    const rotateTo = async (which: Which[], label: string, before: Record<Which, string>) => {
        const next = await render();
        const after = opsPasswords(next);
        for (const w of Object.keys(IDS) as Which[]) {
            if (which.includes(w)) assert.notStrictEqual(after[w], before[w], `${w}: not rotated by the render`);
            else assert.strictEqual(after[w], before[w], `${w}: changed though not rotated`);
        }
        // Offline half: nothing in the pod template moves, so no pod restarts.
        assert.deepStrictEqual((next.sts as Any).spec.template, (base.sts as Any).spec.template, `${label}: the pod template changes: every pod restarts`);
        probeStats.failures.length = 0;
        const runsBefore = probeStats.runs;
        startProbing();
        const job = runAclJob(lab, next, label, bins["setpriv"]);
        await new Promise((r) => setTimeout(r, 2000));
        for (let i = 0; i < 3; i++) {
            refreshPod(i, next);
            await new Promise((r) => setTimeout(r, 1500));
        }
        const { res, seconds } = await job;
        // A few more probe rounds with every file new and the old passwords gone.
        await new Promise((r) => setTimeout(r, 1500));
        await stopProbing();
        timings.push(`${label}: exit ${res.code} in ${seconds.toFixed(1)} s; probes ${probeStats.runs - runsBefore} runs, ${probeStats.failures.length} failed`);
        assert.strictEqual(res.code, 0, `${label}: the Job failed`);
        assert.deepStrictEqual(probeStats.failures, [], `${label}: probes failed during the rotation`);
        current = next;
        for (const w of which) {
            const [where, user] = LOGIN[w];
            for (let i = 0; i < 3; i++) {
                const ok = await login(i, where, user, after[w]);
                assert.ok(ok instanceof RedisConn, `${w}: ${where}-${i} refuses the new password for ${user}: ${(ok as RespError).message}`);
                ok.close();
                const old = await login(i, where, user, before[w]);
                assert.ok(old instanceof RespError && /WRONGPASS|invalid username-password/.test(old.message), `${w}: ${where}-${i} still accepts the old password for ${user}`);
            }
        }
        await assertReplication(next);
        await assertNoRestart(next);
        return { res, before, after };
    };

    before(async function () {
        bins = requireBinaries(this, [...SentinelLab.binaries, "sh", "timeout", "sed"], "install: apt-get install redis-server redis-tools busybox util-linux coreutils sed");
        const exporterBin = await requireTool(this, "redis_exporter");
        stopClock = startClock("redis-rotate-ops");
        base = await render();
        current = base;
        assert.ok(base.tls && base.replicas === 3, "prod: 3 pods with TLS");
        lab = await SentinelLab.create(base, "redis-rotate-ops", bins);
        for (let i = 0; i < 3; i++) lab.startPod(i);
        for (let i = 0; i < 3; i++) await lab.waitReady(i);
        // The exporter sidecar of each pod: its rendered command line with the pod's paths and ports.
        const ex = container(base.sts, "redis-exporter");
        for (let i = 0; i < 3; i++) {
            const pod = lab.pods[i];
            const port = await freePort();
            // The exporter container's own mount (the Redis container mounts it too since the fix, and the lab
            // lays out the Redis container's mounts).
            refreshPod(i, base);
            const pwFile = localExporterFile(pod.root + "/etc/redis-exporter/password.json");
            const argv = commandLine(ex).map((a) =>
                a
                    .replace(/^--redis\.password-file=.*$/, `--redis.password-file=${pwFile}`)
                    .replace(/^--tls-ca-cert-file=\//, `--tls-ca-cert-file=${pod.root}/`)
                    .replace("localhost:6379", `localhost:${pod.redisPort}`)
                    .replace(/^--web\.listen-address=:\d+$/, `--web.listen-address=127.0.0.1:${port}`),
            );
            const [cmd, ...args] = asPodUser(bins["setpriv"], lab.user, [exporterBin, ...argv.slice(1)]);
            const proc = startServer(`redis-exporter-${i}`, cmd, args, { logFile: path.join(pod.root, "exporter.log"), env: { PATH: "/nonexistent" } });
            exporters.push({ proc, port });
            await waitFor(`redis-exporter-${i} to serve /metrics with redis_up 1`, async () => /^redis_up 1$/m.test((await httpGet(port, "/metrics")).body), { server: proc, timeoutMs: 20_000 });
        }
        // The probes as rendered: the pod's mount paths under its root, its ports, its name, the exporter's port.
        const mountPaths = [...new Set([base.redis, base.sentinel].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.mountPath)))].sort((a, b) => b.length - a.length);
        for (let i = 0; i < 3; i++) {
            const pod = lab.pods[i];
            const local = (text: string, own: number) => {
                let out = text.replace(new RegExp(`(?<![\\w./-])(${mountPaths.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(?=/|\\s|"|\\)|$)`, "gm"), (m) => pod.root + m);
                out = out.split("-p 6379").join(`-p ${own === 6379 ? pod.redisPort : pod.sentinelPort}`).split("-p 26379").join(`-p ${pod.sentinelPort}`);
                out = out.split("$(hostname)").join(`redis-${i}`).split("127.0.0.1:9121").join(`127.0.0.1:${exporters[i].port}`);
                return out;
            };
            for (const [name, probe, own] of [
                ["startup", base.redis.startupProbe, 6379],
                ["readiness", base.redis.readinessProbe, 6379],
                ["liveness", base.redis.livenessProbe, 6379],
                ["sentinel liveness", base.sentinel.livenessProbe, 26379],
            ] as const) {
                const cmd: string[] = (probe as Any).exec.command;
                probes.push({ pod: i, name, argv: [cmd[0], cmd[1], local(cmd[2], own)] });
            }
        }
        await probeAll();
        assert.deepStrictEqual(probeStats.failures, [], "the rendered probes fail before any rotation");
        const ids = await runIdsNow(base);
        runIds.push(...ids.redis);
        sentinelRunIds.push(...ids.sentinel);
        await assertReplication(base);
    });

    after(async function () {
        probing = false;
        await probeLoop;
        if (timings.length > 0) console.log(`      rotations: ${timings.join("; ")}`);
        for (const e of exporters) await e.proc.stop(5000);
        await lab?.close();
        stopClock?.();
    });

    it("the admin password (`default`): applied with the Job's reconcile login; probes, reloader's file, start scripts switch live", async function () {
        await rotate(["admin"], "admin");
    });

    it("the Job's own `reconcile` password: applied with the admin login (the fallback)", async function () {
        const { res } = await rotate(["reconcile"], "reconcile");
        assert.ok(!/neither/.test(res.stderr));
    });

    it("`metrics`: the exporters read their file again (/-/reload from the readiness probe) and scrape with the new password", async function () {
        await rotate(["metrics"], "metrics");
        for (const e of exporters) {
            const m = await httpGet(e.port, "/metrics");
            assert.match(m.body, /^redis_up 1$/m, "an exporter does not scrape with the new password");
        }
    });

    it("`replication`, the Sentinels' `sentinel` user (auth-pass), and the Sentinels' client, peer and admin passwords, at once", async function () {
        await rotate(["replication", "sentinelUser", "sentinel", "sentinelPeer", "sentinelAdmin"], "replication and Sentinels");
        const primary = await primaryOrdinal(current);
        const masterauth = (await (await adminOf((primary + 1) % 3, current)).command("CONFIG", "GET", "masterauth")) as string[];
        assert.strictEqual(masterauth[1], current.passwords.replication, "a replica's masterauth is not the new password");
        for (let i = 0; i < 3; i++) {
            const s = await sentinelAdminOf(i, current);
            const m = (await s.command("SENTINEL", "MASTER", current.masterName)) as string[];
            const flags = m[m.indexOf("flags") + 1];
            assert.strictEqual(flags, "master", `sentinel-${i} sees the primary as ${flags}`);
            const peers = (await s.command("SENTINEL", "SENTINELS", current.masterName)) as string[][];
            assert.strictEqual(peers.length, 2, `sentinel-${i} knows ${peers.length} peers`);
        }
    });

    it("after every rotation a Sentinel failover works: a replica is promoted, the others follow it with the new masterauth, no process restarted", async function () {
        const old = await primaryOrdinal(current);
        const s = await sentinelAdminOf(0, current);
        // NOGOODSLAVE at once is possible while the Sentinels still rate the replicas (docs/operations/failover.md): ask again.
        await waitFor("SENTINEL FAILOVER to be accepted", async () => (await s.command("SENTINEL", "FAILOVER", current.masterName)) === "OK", { timeoutMs: 30_000, intervalMs: 1000 });
        const t0 = Date.now();
        const promoted = await waitFor(
            "a replica promoted and named by every Sentinel",
            async () => {
                const named = await Promise.all([0, 1, 2].map((i) => askSentinel(i).catch(() => undefined)));
                const j = lab.ordinalOf(named[0]);
                if (j < 0 || j === old || !named.every((n) => n === named[0])) return undefined;
                return infoField(await (await adminOf(j, current)).command("INFO", "replication"), "role") === "master" ? j : undefined;
            },
            { timeoutMs: 60_000 },
        );
        console.log(`      failover: redis-${old} → redis-${promoted} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        for (let i = 0; i < 3; i++) assert.strictEqual(await askSentinel(i), lab.addr(promoted), `sentinel-${i} names the new primary`);
        assert.strictEqual(await assertReplication(current), promoted);
        await assertNoRestart(current);
    });

    it("the admin and the reconcile password rotated in one step: the Job exits 1 naming the pod, nothing changes, the old ones still work", async function () {
        const was = opsPasswords(current);
        const saved = new Map(generated);
        generated.set(`${RP}${IDS.admin}`, { result: `both${randomToken(24)}` });
        generated.set(`${RP}${IDS.reconcile}`, { result: `both${randomToken(24)}` });
        const next = await render();
        const { res } = await runAclJob(lab, next, "admin and reconcile at once", bins["setpriv"]);
        assert.strictEqual(res.code, 1);
        assert.match(res.stderr, /redis-0 .*neither the reconcile account nor the admin password is accepted/);
        for (let i = 0; i < 3; i++) {
            const c = await login(i, "redis", "default", was.admin);
            assert.ok(c instanceof RedisConn, `redis-${i}: the admin password in use stopped working`);
            c.close();
        }
        generated.clear();
        for (const [k, v] of saved) generated.set(k, v);
        await assertNoRestart(current);
    });
});
