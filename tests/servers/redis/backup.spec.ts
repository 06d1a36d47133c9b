// Real-server proof of Redis's backups: a local redis-server runs the rendered redis.conf and ACL file; the
// RENDERED backup CronJob script (redis-cli --rdb over the network with the admin password from the mounted
// Secret file) runs with only its mount paths and the service host replaced; scripts/restore-redis.sh puts
// the snapshot back into the stopped server's data directory. Proven: back up, write more, restore, compare
// (keys and values equal to the snapshot's), AOF persistence keeps working after the restore, a damaged
// snapshot is refused before anything changes. Skips locally without redis-server; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REDIS_BACKUP, REDIS_BACKUP_PATHS, REDIS_PORT } from "../../../components/redis";
import { renderStack, ROOT, type Manifest } from "../../../scripts/lib/mockRuntime";
import { find } from "../../../scripts/lib/manifests";
import { localizeScript, prodWithoutTls, renderedCronJob, type RenderedRun } from "../../helpers/ops";
import { RedisConn, show } from "../../helpers/redis";
import { directive, rewriteDirectives } from "../../../scripts/lib/redisConf";
import { configMapData, secretData } from "../../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

const RESTORE = path.join(ROOT, "scripts", "restore-redis.sh");

describe("real servers: Redis backups (rendered CronJob, redis-cli --rdb) and restores (scripts/restore-redis.sh)", function () {
    this.timeout(120_000);
    let stopClock: (() => void) | undefined;
    let objects: Manifest[];
    let job: RenderedRun;
    let tmp: string;
    let dataDir: string;
    let backupDir: string;
    let confFile: string;
    let passwordFile: string;
    let admin: string;
    let port: number;
    let server: ServerProcess | undefined;

    async function start(label: string): Promise<ServerProcess> {
        const s = startServer(`redis-server (${label})`, "redis-server", [confFile], { logFile: path.join(tmp, `redis-${label}.log`) });
        await waitFor("redis-server to answer PING as the admin", async () => {
            const c = await RedisConn.open(port);
            try {
                return (await c.command("AUTH", admin)) === "OK" && (await c.command("PING")) === "PONG";
            } finally {
                c.close();
            }
        }, { server: s, timeoutMs: 20_000 });
        server = s;
        return s;
    }

    async function admin_(...cmd: string[]): Promise<unknown> {
        const c = await RedisConn.open(port);
        try {
            assert.strictEqual(await c.command("AUTH", admin), "OK");
            return await c.command(...cmd);
        } finally {
            c.close();
        }
    }

    async function snapshotOfKeys(): Promise<Record<string, string>> {
        const keys = (await admin_("KEYS", "*")) as string[];
        const out: Record<string, string> = {};
        for (const k of keys.sort()) out[k] = String(await admin_("GET", k));
        return out;
    }

    async function runBackup(): Promise<string> {
        const { text, replaced } = localizeScript(job.script, {
            [REDIS_BACKUP_PATHS.backup]: backupDir,
            [REDIS_BACKUP_PATHS.passwordFile]: passwordFile,
            [`-h redis.cache.svc.cluster.local -p ${REDIS_PORT}`]: `-h 127.0.0.1 -p ${port}`,
        });
        const r = await run("sh", ["-c", text], { env: { PATH: process.env.PATH, HOME: tmp, LANG: "C" }, timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, `backup.sh (${job.scriptSource}; replaced only ${replaced}): ${describeRun(r)}`);
        return fs.readFileSync(path.join(backupDir, "LATEST"), "utf8").trim();
    }

    before(async function () {
        requireBinaries(this, ["redis-server", "redis-cli", "redis-check-rdb", "sh", "sha256sum"], "install: apt-get install redis-server redis-tools");
        stopClock = startClock("redis-backup");
        // Prod (TLS off: the test reaches 127.0.0.1): backups are on by default there.
        objects = (await renderStack("prod", { withSecrets: true, config: prodWithoutTls() })).objects;
        job = renderedCronJob(objects, "cache", REDIS_BACKUP.cronJob);
        tmp = makeTempDir("redis-backup");
        dataDir = path.join(tmp, "data");
        backupDir = path.join(tmp, "backup-claim");
        fs.mkdirSync(dataDir);
        fs.mkdirSync(backupDir);
        port = await freePort();
        const conf = configMapData(find(objects, "ConfigMap", "cache", "redis-config"))["redis.conf"];
        const acl = path.join(tmp, "users.acl");
        fs.writeFileSync(acl, secretData(find(objects, "Secret", "cache", "redis-acl"))["users.acl"], { mode: 0o600 });
        confFile = path.join(tmp, "redis.conf");
        fs.writeFileSync(confFile, rewriteDirectives(conf, { bind: "127.0.0.1", port: String(port), dir: dataDir, aclfile: acl }), { mode: 0o600 });
        admin = secretData(find(objects, "Secret", "cache", "redis-credentials")).password;
        // The file the CronJob mounts from Secret redis-credentials.
        passwordFile = path.join(tmp, "credentials", "password");
        fs.mkdirSync(path.dirname(passwordFile), { mode: 0o700 });
        fs.writeFileSync(passwordFile, admin, { mode: 0o600 });
        assert.strictEqual(directive(conf, "appendonly"), "yes");
        await start("source");
    });

    after(async function () {
        await server?.stop();
        removeTempDir(tmp);
        stopClock?.();
    });

    it("renders a hardened CronJob that reads the admin password from the mounted Secret only", function () {
        const spec = job.cron.spec as Record<string, unknown> & { jobTemplate: { spec: Record<string, unknown> } };
        assert.strictEqual(spec.concurrencyPolicy, "Forbid");
        assert.ok(Number(spec.startingDeadlineSeconds) > 0 && Number(spec.jobTemplate.spec.activeDeadlineSeconds) > 0);
        assert.deepStrictEqual(job.container.env ?? [], [], "no credential in the pod's environment");
        const mount = (job.container.volumeMounts ?? []).find((m) => m.mountPath === REDIS_BACKUP_PATHS.credentialsDir);
        assert.ok(mount?.readOnly, "the credentials are a read-only Secret mount");
        assert.ok(!job.script.includes(admin));
    });

    it("backs up over the network, writes more, restores into the stopped server: keys and values are the snapshot's", async function () {
        for (let i = 0; i < 200; i++) await admin_("SET", `session:${i}`, `value-${i}`);
        const atBackup = await snapshotOfKeys();
        const name = await runBackup();
        assert.match(name, /^redis-\d{8}T\d{6}Z\.rdb$/);
        assert.ok(fs.existsSync(path.join(backupDir, `${name}.sha256`)));
        assert.deepStrictEqual(fs.readdirSync(backupDir).filter((f) => f.startsWith(".partial")), []);
        await admin_("SET", "session:after", "written after the backup");
        await admin_("DEL", "session:0");

        // The runbook: stop Redis (scale to 0), restore, start.
        const how = await server!.stop();
        assert.ok(!how.killed, "redis-server stops on SIGTERM");
        const r = await run("sh", [RESTORE, "--data", dataDir, "--latest", backupDir], { timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, `restore-redis.sh: ${describeRun(r)}`);
        await start("restored");
        assert.deepStrictEqual(await snapshotOfKeys(), atBackup, "after the restore, exactly the keys and values of the snapshot");

        // AOF persistence goes on from the restored base: a write survives the next restart.
        await admin_("SET", "after:restore", "kept");
        await server!.stop();
        await start("restarted");
        assert.strictEqual(show((await admin_("GET", "after:restore")) as never), JSON.stringify("kept"));
        assert.ok(fs.readdirSync(dataDir).some((f) => f.startsWith("appendonlydir.before-restore-")), "the previous AOF is kept");
    });

    it("refuses a damaged snapshot before touching the data directory", async function () {
        const name = await runBackup();
        const damaged = path.join(tmp, name);
        fs.copyFileSync(path.join(backupDir, name), damaged);
        fs.copyFileSync(path.join(backupDir, `${name}.sha256`), `${damaged}.sha256`);
        fs.appendFileSync(damaged, "x");
        const before = fs.readdirSync(dataDir).sort();
        await server!.stop();
        const r = await run("sh", [RESTORE, "--data", dataDir, "--rdb", damaged], { timeoutMs: 30_000 });
        assert.notStrictEqual(r.code, 0, "a damaged snapshot must be refused");
        assert.match(r.stderr, /sha256 does not match/, describeRun(r));
        assert.deepStrictEqual(fs.readdirSync(dataDir).sort(), before, "the data directory is unchanged");
        await start("after-refusal");
    });
});
