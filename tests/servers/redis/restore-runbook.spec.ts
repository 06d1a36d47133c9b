// The Redis restore runbook of docs/operations/backup-restore.md, executed: its block's kubectl steps run as
// written (tests/helpers/runbookKubectl.ts) against a real redis-server running the rendered prod redis.conf
// (TLS off: the test reaches 127.0.0.1), with the claims data-redis-0 and redis-backup as directories. The
// snapshot is the rendered backup CronJob's. Proven: the keys and values after the runbook are the snapshot's.
// Skips locally without redis-server; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REDIS_BACKUP, REDIS_BACKUP_PATHS, REDIS_PORT } from "../../../components/redis";
import { renderStack, type Manifest } from "../../../scripts/lib/mockRuntime";
import { find } from "../../../scripts/lib/manifests";
import { directive, rewriteDirectives } from "../../../scripts/lib/redisConf";
import { configMapData, secretData } from "../../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { localizeScript, prodWithoutTls, renderedCronJob } from "../../helpers/ops";
import { RedisConn } from "../../helpers/redis";
import { runbookBlock } from "../../helpers/runbooks";
import { runRunbook } from "../../helpers/runbookKubectl";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

describe("real servers: the Redis restore runbook (docs/operations/backup-restore.md), step by step", function () {
    this.timeout(120_000);
    let stopClock: (() => void) | undefined;
    let objects: Manifest[];
    let tmp: string;
    let dataDir: string;
    let backupDir: string;
    let confFile: string;
    let admin: string;
    let port: number;
    let server: ServerProcess | undefined;

    async function start(): Promise<void> {
        const s = startServer("redis-server", "redis-server", [confFile], { logFile: path.join(tmp, "redis.log") });
        await waitFor("redis-server to answer PING as the admin", async () => {
            const c = await RedisConn.open(port);
            try {
                return (await c.command("AUTH", admin)) === "OK" && (await c.command("PING")) === "PONG";
            } finally {
                c.close();
            }
        }, { server: s, timeoutMs: 20_000 });
        server = s;
    }

    async function redis(...cmd: string[]): Promise<unknown> {
        const c = await RedisConn.open(port);
        try {
            assert.strictEqual(await c.command("AUTH", admin), "OK");
            return await c.command(...cmd);
        } finally {
            c.close();
        }
    }

    async function keys(): Promise<Record<string, string>> {
        const out: Record<string, string> = {};
        for (const k of ((await redis("KEYS", "*")) as string[]).sort()) out[k] = String(await redis("GET", k));
        return out;
    }

    before(async function () {
        requireBinaries(this, ["redis-server", "redis-cli", "redis-check-rdb", "sh", "sha256sum"], "install: apt-get install redis-server redis-tools");
        stopClock = startClock("redis-restore-runbook");
        objects = (await renderStack("prod", { withSecrets: true, config: prodWithoutTls() })).objects;
        tmp = makeTempDir("redis-runbook");
        dataDir = path.join(tmp, "data-redis-0");
        backupDir = path.join(tmp, "redis-backup");
        fs.mkdirSync(dataDir);
        fs.mkdirSync(backupDir);
        port = await freePort();
        const conf = configMapData(find(objects, "ConfigMap", "cache", "redis-config"))["redis.conf"];
        assert.strictEqual(directive(conf, "appendonly"), "yes");
        const acl = path.join(tmp, "users.acl");
        fs.writeFileSync(acl, secretData(find(objects, "Secret", "cache", "redis-acl"))["users.acl"], { mode: 0o600 });
        confFile = path.join(tmp, "redis.conf");
        fs.writeFileSync(confFile, rewriteDirectives(conf, { bind: "127.0.0.1", port: String(port), dir: dataDir, aclfile: acl }), { mode: 0o600 });
        admin = secretData(find(objects, "Secret", "cache", "redis-credentials")).password;
        await start();
    });

    after(async function () {
        await server?.stop();
        removeTempDir(tmp);
        stopClock?.();
    });

    it("restores the nightly snapshot: afterwards the keys and values are the snapshot's", async function () {
        for (let i = 0; i < 100; i++) await redis("SET", `session:${i}`, `value-${i}`);
        const atBackup = await keys();
        // The rendered backup CronJob's script, with only its mount paths and the service host replaced.
        const job = renderedCronJob(objects, "cache", REDIS_BACKUP.cronJob);
        const passwordFile = path.join(tmp, "password");
        fs.writeFileSync(passwordFile, admin, { mode: 0o600 });
        const { text } = localizeScript(job.script, {
            [REDIS_BACKUP_PATHS.backup]: backupDir,
            [REDIS_BACKUP_PATHS.passwordFile]: passwordFile,
            [`-h redis.cache.svc.cluster.local -p ${REDIS_PORT}`]: `-h 127.0.0.1 -p ${port}`,
        });
        const b = await run("sh", ["-c", text], { env: { PATH: process.env.PATH, HOME: tmp, LANG: "C" }, timeoutMs: 30_000 });
        assert.strictEqual(b.code, 0, `backup: ${describeRun(b)}`);
        await redis("SET", "session:after", "written after the backup");
        await redis("DEL", "session:0");
        assert.notDeepStrictEqual(await keys(), atBackup);

        const sts = find(objects, "StatefulSet", "cache", "redis") as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const steps: string[] = [];
        await runRunbook(runbookBlock("docs/operations/backup-restore.md", "restore-redis"), {
            namespace: "cache",
            claims: { "data-redis-0": dataDir, "redis-backup": backupDir },
            podLabels: sts.spec.template.metadata.labels,
            scale: async (name, replicas) => {
                assert.strictEqual(name, "redis");
                steps.push(`scale ${replicas}`);
                if (replicas === "0") {
                    await server!.stop();
                    server = undefined;
                } else {
                    await start();
                }
            },
            stopped: () => server === undefined,
        }, tmp);
        assert.deepStrictEqual(steps, ["scale 0", "scale <redis.replicas>"], "the runbook stops Redis, then starts it again");
        assert.deepStrictEqual(await keys(), atBackup, "after the runbook, exactly the keys and values of the snapshot");
    });
});
