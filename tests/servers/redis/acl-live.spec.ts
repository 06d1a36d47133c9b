// Real-process drill of issue 20 items 2 and 4 for Redis: an application user created, used, rotated and
// removed on the running prod set (3 pods as rendered: primary, 2 replicas, Sentinels, TLS) with no restart.
// Each change is a new render of prod (one more user, a rotated password, the user removed) whose ACL file
// is written where every pod mounts it (what the kubelet does with the Secret, later), and whose ACL
// reconcile Job is then run as rendered: its script and pods file from its ConfigMap, its Secrets as files,
// redis-cli and busybox as its only commands, as the image's user; only paths and the pods' addresses are
// substituted. Proves: no pod restarts (same run_id) and the pod template is unchanged; the user works on
// every pod within its key pattern; after a rotation the new password works and the old one is refused on
// every pod; a pod that starts after the Job is waited for; wrong passwords fail at once; a run with a pod down
// (past the wait bound, shortened here) exits non-zero naming it, keeps every old password working, and the next
// run completes it; a pod restarted later loads the same users from the file; a user no file declares (made
// by hand on one pod) is deleted with the removed one. Prints each run's time.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { find, type Any } from "../../../scripts/lib/manifests";
import { secretData } from "../../../scripts/lib/rendered";
import { readProjectName, readStackFile, ROOT } from "../../../scripts/lib/mockRuntime";
import { decodeConfigValue } from "../../../components/stackConfig";
import { assertError, RedisConn, RespError, show } from "../../helpers/redis";
import { infoField, loadSentinelSet, runAclJob, SentinelLab, type RenderedSentinelSet } from "../../helpers/redisSentinel";
import { randomToken, type RunResult } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { REDIS_CREDENTIALS_PATHS } from "../../../components/redis/files";
import { REDIS_ACL_RECONCILE_PATHS } from "../../../components/redis/aclReconcile";
import { RECONCILE_WAIT_ENV } from "../../../components/reconcileWait";

registerRealServerSummary();

const JOB_PREFIX = "redis-acl-reconcile-";
const USER = "carts";
const PATTERN = "cart:*";
const SEED = "acl-live-drill";

function prodConfig(): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    return config;
}

/** prod's config with `carts` added (or not), rendered with one seed so every other password stays the same. */
async function render(withUser: boolean, userPassword?: string): Promise<RenderedSentinelSet> {
    const config = prodConfig();
    const redis = config.redis as Any;
    const users = [...(redis.users ?? []), ...(withUser ? [{ name: USER, keyPattern: PATTERN }] : [])];
    const generated = userPassword ? new Map([[`random:index/randomPassword:RandomPassword::redis-user-${USER}-password`, { result: userPassword }]]) : undefined;
    return loadSentinelSet("prod", { config: { ...config, redis: { ...redis, users } }, seed: SEED, generated });
}

function aclText(set: RenderedSentinelSet): string {
    return secretData(find(set.objects, "Secret", set.namespace, "redis-acl"))["users.acl"];
}

function userPassword(set: RenderedSentinelSet): string {
    return secretData(find(set.objects, "Secret", set.namespace, `redis-user-${USER}`)).password;
}

function job(set: RenderedSentinelSet): Any | undefined {
    return set.objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith(JOB_PREFIX)) as Any | undefined;
}

describe("real servers: a Redis user created, used, rotated and removed live on prod's 3 pods (ACL reconcile Job)", function () {
    let stopClock: (() => void) | undefined;
    let bins: Record<string, string> = {};
    let lab: SentinelLab;
    let base: RenderedSentinelSet;
    const runIds: string[] = [];
    const timings: string[] = [];
    let current: RenderedSentinelSet;
    let previousPassword = "";

    /** What the kubelet does, eventually: the pods' mounted ACL file becomes the new render's. */
    const propagate = (set: RenderedSentinelSet) => {
        for (const p of lab.pods) fs.writeFileSync(path.join(p.root, "etc/redis/acl/users.acl"), aclText(set));
        current = set;
    };

    /** Runs the render's ACL Job as rendered (tests/helpers/redisSentinel.ts runAclJob); nothing secret in its output. */
    const runJob = async (set: RenderedSentinelSet, label: string, opts: { env?: Record<string, string>; files?: Record<string, string> } = {}): Promise<RunResult> => {
        const { res, seconds } = await runAclJob(lab, set, label, bins["setpriv"], opts);
        timings.push(`${label}: exit ${res.code} in ${seconds.toFixed(2)} s`);
        const out = res.stdout + res.stderr;
        for (const pw of [set.passwords.admin, previousPassword, userPasswordOrEmpty(set), ...Object.values(opts.files ?? {})].filter((x) => x.length > 0)) {
            assert.ok(!out.includes(pw), "a password in the Job's output");
        }
        return res;
    };
    const userPasswordOrEmpty = (set: RenderedSentinelSet) => {
        try {
            return userPassword(set);
        } catch {
            return "";
        }
    };

    const auth = async (i: number, user: string, password: string): Promise<RedisConn | RespError> => {
        try {
            return await lab.open(lab.pods[i].redisPort, i, { user, password });
        } catch (e) {
            return new RespError((e as Error).message);
        }
    };
    const primaryOrdinal = async (): Promise<number> => {
        for (let i = 0; i < lab.pods.length; i++) {
            if (infoField(await (await lab.admin(i)).command("INFO", "replication"), "role") === "master") return i;
        }
        throw new Error("no primary");
    };
    const assertNoRestart = async () => {
        for (let i = 0; i < lab.pods.length; i++) {
            assert.strictEqual(infoField(await (await lab.admin(i)).command("INFO", "server"), "run_id"), runIds[i], `redis-${i} restarted`);
        }
    };

    before(async function () {
        bins = requireBinaries(this, [...SentinelLab.binaries, "sh", "timeout", "sed"], "install: apt-get install redis-server redis-tools busybox util-linux coreutils sed");
        stopClock = startClock("redis-acl-live");
        base = await render(false);
        assert.ok(base.tls && base.replicas === 3, "prod: 3 pods with TLS");
        lab = await SentinelLab.create(base, "redis-acl-live", bins);
        current = base;
        for (let i = 0; i < 3; i++) lab.startPod(i);
        for (let i = 0; i < 3; i++) await lab.waitReady(i);
        for (let i = 0; i < 3; i++) runIds.push(infoField(await (await lab.admin(i)).command("INFO", "server"), "run_id")!);
        const p = await lab.admin(await primaryOrdinal());
        const deadline = Date.now() + 15_000;
        while (infoField(await p.command("INFO", "replication"), "min_slaves_good_slaves") !== "2" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    });

    after(async function () {
        if (timings.length > 0) console.log(`      ACL Job runs: ${timings.join("; ")}`);
        await lab?.close();
        stopClock?.();
    });

    it("one more user: the pod template is unchanged; the file alone changes nothing live; the Job creates it on every pod, usable within its pattern, no restart", async function () {
        const next = await render(true);
        propagate(next);
        const pw = userPassword(next);
        const refused: number[] = [];
        for (let i = 0; i < 3; i++) if ((await auth(i, USER, pw)) instanceof RespError) refused.push(i);
        assert.deepStrictEqual(refused, [0, 1, 2], `${USER} works on some pod before anything applied the change`);
        const changed = JSON.stringify((next.sts as Any).spec.template) !== JSON.stringify((base.sts as Any).spec.template);
        if (changed || !job(next)) {
            const annotations = (t: RenderedSentinelSet) => (t.sts as Any).spec.template.metadata.annotations as Record<string, string>;
            const moved = Object.keys(annotations(next)).filter((k) => annotations(next)[k] !== annotations(base)[k]);
            assert.fail(
                `${USER} added to prod: ${changed ? `the pod template changes (${moved.join(", ") || "spec"}): every pod restarts` : "the pod template stays"}; ` +
                    `${job(next) ? "an ACL Job is rendered" : `no ACL Job is rendered, and ${USER} is refused on all 3 running pods until they restart`}`,
            );
        }
        const res = await runJob(next, "create");
        assert.strictEqual(res.code, 0, "the Job failed");
        assert.match(res.stdout, new RegExp(`created: ${USER}`));
        await assertNoRestart();
        const primary = await primaryOrdinal();
        const key = `cart:${randomToken(8)}`;
        const value = randomToken(16);
        const onPrimary = (await auth(primary, USER, pw)) as RedisConn;
        assert.ok(onPrimary instanceof RedisConn, `${USER} on the primary: ${show(onPrimary as unknown as RespError)}`);
        assert.strictEqual(await onPrimary.command("SET", key, value), "OK");
        assertError(await onPrimary.command("SET", "session:x", "y"), /^NOPERM/, `${USER} outside its pattern`);
        assertError(await onPrimary.command("FLUSHALL"), /^NOPERM/, `${USER} runs FLUSHALL`);
        for (let i = 0; i < 3; i++) {
            if (i === primary) continue;
            const c = await auth(i, USER, pw);
            assert.ok(c instanceof RedisConn, `redis-${i} (replica): ${USER} refused: ${show(c as RespError)}`);
            const deadline = Date.now() + 5000;
            let got = await c.command("GET", key);
            while (got !== value && Date.now() < deadline) got = await c.command("GET", key);
            assert.strictEqual(got, value, `redis-${i}: ${USER} reads its key on the replica`);
        }
    });

    it("rotation: the new password works and the old one is refused on every pod, no restart", async function () {
        previousPassword = userPassword(current);
        const next = await render(true, `rot1-${randomToken(28)}`);
        assert.deepStrictEqual((next.sts as Any).spec.template, (base.sts as Any).spec.template, "a rotation changes the pod template");
        propagate(next);
        const res = await runJob(next, "rotate");
        assert.strictEqual(res.code, 0);
        assert.match(res.stdout, new RegExp(`new password: ${USER}`));
        for (let i = 0; i < 3; i++) {
            assert.ok((await auth(i, USER, userPassword(next))) instanceof RedisConn, `redis-${i}: the new password`);
            const old = await auth(i, USER, previousPassword);
            assert.ok(old instanceof RespError && /WRONGPASS/.test(old.message), `redis-${i}: the old password still works`);
        }
        await assertNoRestart();
    });

    it("a pod that starts after the Job (a fresh install applies both together): the Job waits for it and completes, no failed run", async function () {
        const primary = await primaryOrdinal();
        const late = [0, 1, 2].find((i) => i !== primary)!;
        const proc = lab.procs.get(`redis-${late}`)!;
        process.kill(-(proc.child.pid as number), "SIGKILL");
        await proc.exited;
        const job = runJob(current, "pod starting after the Job");
        await new Promise((r) => setTimeout(r, 5_000));
        lab.startContainer(late, "redis");
        const res = await job;
        assert.strictEqual(res.code, 0, "the Job started before the pod failed");
        assert.match(res.stdout, /waiting for 127\.0\.0\.1:\d+: \d+ s of 300 s: Could not connect to Redis at .*Connection refused/);
        assert.match(res.stdout, /127\.0\.0\.1:\d+ answers after \d+ s/);
        await lab.waitReady(late, 30_000);
        runIds[late] = infoField(await (await lab.admin(late)).command("INFO", "server"), "run_id")!;
    });

    it("a wrong password (the Job's and the admin's both refused): exits 1 at once naming WRONGPASS, not waited on", async function () {
        const t0 = Date.now();
        const res = await runJob(current, "wrong passwords", { files: { [REDIS_ACL_RECONCILE_PATHS.reconcileFile]: randomToken(32), [REDIS_CREDENTIALS_PATHS.passwordFile]: randomToken(32) } });
        assert.strictEqual(res.code, 1);
        assert.match(res.stderr, /redis-0 \(127\.0\.0\.1:\d+\): neither the reconcile account nor the admin password is accepted \(WRONGPASS; not waited on\)/);
        assert.doesNotMatch(res.stdout, /waiting for/);
        assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms: a refused login must not be waited on`);
    });

    it("a run with a replica down fails naming it, removes nothing (old and new passwords work where it ran); the pod restarted loads the file; the next run completes", async function () {
        previousPassword = userPassword(current);
        const next = await render(true, `rot2-${randomToken(28)}`);
        propagate(next);
        const primary = await primaryOrdinal();
        const down = [0, 1, 2].find((i) => i !== primary)!;
        const proc = lab.procs.get(`redis-${down}`)!;
        process.kill(-(proc.child.pid as number), "SIGKILL");
        await proc.exited;
        // A pod that stays down: the Job waits for it up to its bound (shortened here), then fails naming it.
        const failed = await runJob(next, "pod down", { env: { [RECONCILE_WAIT_ENV]: "3" } });
        assert.notStrictEqual(failed.code, 0, "the run succeeded with a pod down");
        assert.match(failed.stderr, new RegExp(`redis-${down} \\(127\\.0\\.0\\.1:\\d+\\): did not answer within 3 s of the Job's start; last error: Could not connect to Redis at 127\\.0\\.0\\.1:\\d+: Connection refused`));
        assert.match(failed.stderr, /not applied on: redis-\d; nothing was removed/);
        for (let i = 0; i < 3; i++) {
            if (i === down) continue;
            assert.ok((await auth(i, USER, previousPassword)) instanceof RedisConn, `redis-${i}: the old password stopped working after a failed run`);
            assert.ok((await auth(i, USER, userPassword(next))) instanceof RedisConn, `redis-${i}: the new password (phase 1) is not there`);
        }
        // The pod comes back (as the kubelet restarts it): it loads the mounted file, which is the new one.
        lab.startContainer(down, "redis");
        await lab.waitReady(down, 30_000);
        runIds[down] = infoField(await (await lab.admin(down)).command("INFO", "server"), "run_id")!;
        const res = await runJob(next, "next run");
        assert.strictEqual(res.code, 0);
        for (let i = 0; i < 3; i++) {
            assert.ok((await auth(i, USER, userPassword(next))) instanceof RedisConn, `redis-${i}: the new password`);
            const old = await auth(i, USER, previousPassword);
            assert.ok(old instanceof RespError && /WRONGPASS/.test(old.message), `redis-${i}: the old password still works after the completing run`);
        }
        // Every pod now has the same users as the restarted one, which took them from the file.
        // (Redis 7.0 lists a user's single-command rules in no fixed order: each line's words are compared as a set.)
        const lists = await Promise.all(
            [0, 1, 2].map(async (i) => ((await (await lab.admin(i)).command("ACL", "LIST")) as string[]).map((l) => l.split(" ").sort().join(" ").replace(/#[0-9a-f]{64}/g, "#<hash>")).join("\n")),
        );
        assert.strictEqual(new Set(lists).size, 1, `the pods' ACL LIST differ:\n${lists.join("\n\n")}`);
        await assertNoRestart();
    });

    it("removal: the user is refused on every pod and its open connections are closed, no restart", async function () {
        const pw = userPassword(current);
        const open = (await auth(0, USER, pw)) as RedisConn;
        assert.ok(open instanceof RedisConn);
        // A user no file declares, made by hand on one pod: the Job deletes it by the name ACL USERS gives.
        const stray = `stray-${randomToken(6).toLowerCase()}`;
        assert.strictEqual(await (await lab.admin(1)).command("ACL", "SETUSER", stray, "on", `>${randomToken(24)}`, "~*", "+@all"), "OK");
        const next = await render(false);
        assert.deepStrictEqual((next.sts as Any).spec.template, (base.sts as Any).spec.template, "removing a user changes the pod template");
        propagate(next);
        const res = await runJob(next, "remove");
        assert.strictEqual(res.code, 0);
        assert.match(res.stdout, new RegExp(`removed: ${USER}`));
        assert.match(res.stdout, new RegExp(`redis-1: .*removed: ${USER} ${stray}`));
        for (let i = 0; i < 3; i++) assert.ok(!((await (await lab.admin(i)).command("ACL", "USERS")) as string[]).includes(stray), `redis-${i}: ${stray} still there`);
        for (let i = 0; i < 3; i++) {
            const r = await auth(i, USER, pw);
            assert.ok(r instanceof RespError && /WRONGPASS/.test(r.message), `redis-${i}: ${USER} still accepted`);
        }
        await assert.rejects(open.command("PING"), /closed/, "a connection of the removed user stays open");
        await assertNoRestart();
        // The operations users are untouched: the replicas still replicate, the Sentinels still see the primary.
        const primary = await primaryOrdinal();
        const p = await lab.admin(primary);
        assert.strictEqual(infoField(await p.command("INFO", "replication"), "connected_slaves"), "2");
        for (let i = 0; i < 3; i++) assert.strictEqual(await lab.askSentinel(i), lab.addr(primary), `sentinel-${i} names the primary`);
    });
});

