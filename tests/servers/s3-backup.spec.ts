// Real-server proof of the off-site backups (issue 23): a real S3 server (versitygw, POSIX backend, https with a
// CA made here, a generated key) on 127.0.0.1; the prod stack rendered with `backups.s3` pointing at it. The
// RENDERED Jobs run as the pods would: the backup container (init) writes to the staging directory, then the
// uploader runs the rendered s3.sh under busybox sh with curl (the curl image's userland), with only mount paths
// replaced. Proven: upload (multipart, verified), list, prune by count and age (never the newest; binary logs
// older than the oldest kept dump), restore from S3 with scripts/restore-*.sh --s3 (MariaDB full and point in
// time, Redis snapshot), read-back verification where ETags are not MD5s, and each bad input failing in one
// line with earlier backups intact and nothing partial under a final name: unreachable endpoint, wrong
// credentials, missing bucket, a connection broken mid-upload, an object that fails its check, a full staging
// volume. Skips locally without the binaries; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import { s3ObjectName, S3_PATHS } from "../../components/backup/s3";
import { MARIADB_BACKUP, MARIADB_BACKUP_PATHS } from "../../components/mariadb";
import { REDIS_BACKUP, REDIS_BACKUP_PATHS, REDIS_PORT } from "../../components/redis";
import { find } from "../../scripts/lib/manifests";
import { renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { configMapData, mountedFile, secretData, type Container } from "../../scripts/lib/rendered";
import { directive, rewriteDirectives } from "../../scripts/lib/redisConf";
import { describeRun, freePort, makeTempDir, removeTempDir, run, startServer, waitFor, type RunResult, type ServerProcess } from "../../scripts/lib/servers";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, type MariaDbRendered, TCP, withSecretsOf } from "../helpers/mariadb";
import { cronJobAsWorkload, fileOf, localizeScript, prodWithoutTls, requireTool, rewriteClientOptions } from "../helpers/ops";
import { RedisConn } from "../helpers/redis";
import { ageObject, createBucket, curlImagePath, listKeys, openUploads, renderedS3Step, runS3, s3Request, startVersityGw, type RenderedS3Step, type S3Server } from "../helpers/s3";
import { registerRealServerSummary, requireBinaries, startClock } from "../helpers/servers";

registerRealServerSummary();

const BUCKET = "msa-backups";
const PREFIX = "ci/prod";
const RESTORE_MARIADB = path.join(ROOT, "scripts", "restore-mariadb.sh");
const RESTORE_REDIS = path.join(ROOT, "scripts", "restore-redis.sh");

/** The Job's first step: the backup container, now the init container, and the script it runs. */
function initStep(objects: Manifest[], namespace: string, cronJob: string): { container: Container; script: string } {
    const cron = find(objects, "CronJob", namespace, cronJob);
    const workload = cronJobAsWorkload(cron);
    const init = ((workload.spec as { template: { spec: { initContainers?: Container[] } } }).template.spec.initContainers ?? []) as Container[];
    assert.strictEqual(init.length, 1, `${cronJob}: the backup container runs first, as the init container`);
    const argv = init[0].command ?? [];
    return { container: init[0], script: mountedFile(objects, workload, init[0], argv[1]).value };
}

/** The one `FAILED:` line of a failed run (there must be exactly one). */
function failedLine(r: RunResult): string {
    assert.notStrictEqual(r.code, 0, `must fail: ${describeRun(r)}`);
    const lines = r.stderr.split("\n").filter((l) => l.includes("FAILED:"));
    assert.strictEqual(lines.length, 1, `exactly one FAILED line: ${describeRun(r)}`);
    return lines[0];
}

describe("real servers: off-site backups to S3 (versitygw) by the rendered Jobs, restores from S3, bad input", function () {
    this.timeout(300_000);
    let stopClock: (() => void) | undefined;
    let work: string;
    let s3: S3Server;
    let objects: Manifest[];
    let bin: string;
    const creds = () => ({ accessKey: s3.accessKey, secret: s3.secret });
    // MariaDB
    let rd: MariaDbRendered;
    let bins: Record<string, string>;
    let source: LocalMariaDb;
    let target: LocalMariaDb | undefined;
    let staging: string;
    let binlogDir: string;
    let clientCnf: string;
    let home: string;
    let full: { script: string; step: RenderedS3Step };
    let archive: { script: string; step: RenderedS3Step };
    let app: { user: string; password: string; database: string };
    // Redis
    let redisDir: string;
    let redisStaging: string;
    let redisPort: number;
    let redisAdmin: string;
    let redisConf: string;
    let redisPasswordFile: string;
    let redisScript: string;
    let redisStep: RenderedS3Step;
    let redis: ServerProcess | undefined;

    const mariadbPaths = () => ({ [MARIADB_BACKUP_PATHS.full]: path.join(staging, "full"), [MARIADB_BACKUP_PATHS.binlogs]: binlogDir });
    const mariadbS3 = (step: RenderedS3Step, extra: Partial<Parameters<typeof runS3>[0]> = {}) =>
        runS3({ dir: path.join(work, "mariadb-pod"), step, credentials: creds(), paths: mariadbPaths(), bin, owner: source.user, ...extra });
    const redisS3 = (extra: Partial<Parameters<typeof runS3>[0]> = {}) =>
        runS3({ dir: path.join(work, "redis-pod"), step: redisStep, credentials: creds(), paths: { [REDIS_BACKUP_PATHS.backup]: redisStaging }, bin, ...extra });

    async function runMariaDbInit(script: string, label: string): Promise<string> {
        const { text } = localizeScript(script, {
            [MARIADB_BACKUP_PATHS.full]: path.join(staging, "full"),
            [MARIADB_BACKUP_PATHS.backup]: staging,
            [MARIADB_BACKUP_PATHS.binlogs]: binlogDir,
            [MARIADB_BACKUP_PATHS.clientFile]: clientCnf,
        });
        const r = await run("bash", ["-c", text], { env: { PATH: process.env.PATH, HOME: home, LANG: "C" }, uid: source.user.uid, gid: source.user.gid, timeoutMs: 60_000 });
        assert.strictEqual(r.code, 0, `${label}: ${describeRun(r)}`);
        return r.stdout;
    }

    /** One run of a MariaDB Job: the backup step, then the rendered S3 step. */
    async function mariadbJob(job: { script: string; step: RenderedS3Step }, label: string): Promise<string> {
        await runMariaDbInit(job.script, label);
        const r = await mariadbS3(job.step);
        assert.strictEqual(r.code, 0, `${label}, S3 step: ${describeRun(r)}`);
        return r.stdout;
    }

    async function restore(db: LocalMariaDb, args: string[]): Promise<RunResult> {
        const rootCnf = path.join(work, "root.cnf");
        fs.writeFileSync(rootCnf, `[client]\nuser = root\npassword = ${rd.root.password}\nprotocol = tcp\nhost = 127.0.0.1\nport = ${db.port}\n`, { mode: 0o600 });
        return run("bash", [RESTORE_MARIADB, "--defaults-extra-file", rootCnf, "--s3", path.join(work, "mariadb-pod", "backup-s3"), ...args], {
            env: { PATH: process.env.PATH, HOME: work, LANG: "C", TMPDIR: work },
            timeoutMs: 120_000,
        });
    }
    const rows = (db: LocalMariaDb) => db.query(TCP, "root", rd.root.password, "SELECT id, note FROM ledger ORDER BY id", app.database);
    const keys = async (set: string, service = "db/mariadb") => [...(await listKeys(s3, BUCKET, `${PREFIX}/${service}/${set}/`)).keys()].map((k) => k.slice(`${PREFIX}/${service}/${set}/`.length)).sort();

    async function redisCommand(...cmd: string[]): Promise<unknown> {
        const c = await RedisConn.open(redisPort);
        try {
            assert.strictEqual(await c.command("AUTH", redisAdmin), "OK");
            return await c.command(...cmd);
        } finally {
            c.close();
        }
    }
    async function startRedis(label: string): Promise<void> {
        const s = startServer(`redis-server (${label})`, "redis-server", [redisConf], { logFile: path.join(redisDir, `redis-${label}.log`) });
        await waitFor("redis-server to answer PING", async () => (await redisCommand("PING").catch(() => "")) === "PONG", { server: s, timeoutMs: 20_000 });
        redis = s;
    }
    async function redisBackup(): Promise<string> {
        const { text } = localizeScript(redisScript, {
            [REDIS_BACKUP_PATHS.backup]: redisStaging,
            [REDIS_BACKUP_PATHS.passwordFile]: redisPasswordFile,
            [`-h redis.cache.svc.cluster.local -p ${REDIS_PORT}`]: `-h 127.0.0.1 -p ${redisPort}`,
        });
        const r = await run("sh", ["-c", text], { env: { PATH: process.env.PATH, HOME: redisDir, LANG: "C" }, timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, `redis backup.sh: ${describeRun(r)}`);
        return fs.readFileSync(path.join(redisStaging, "LATEST"), "utf8").trim();
    }

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump", "mariadb-binlog", "gzip", "sha256sum", "redis-server", "redis-cli", "redis-check-rdb", "curl", "busybox", "openssl", "unshare", "setpriv"], `${INSTALL_HINT} redis-server redis-tools curl busybox openssl`);
        const versitygw = await requireTool(this, "versitygw");
        stopClock = startClock("s3-backup");
        work = makeTempDir("s3-backup");
        // The jobs run as the pods' unprivileged users: they may pass through the test's directory.
        fs.chmodSync(work, 0o711);
        s3 = await startVersityGw(versitygw, work, { tls: true, label: "s3" });
        await createBucket(s3, BUCKET);
        bin = await curlImagePath(work);

        const config = prodWithoutTls();
        // A production stack: https with its own CA, the image pinned by default; small parts so a few MB take several.
        config.backups = { s3: { endpoint: s3.endpoint, bucket: BUCKET, prefix: PREFIX, pathStyle: true, ca: s3.caPem, partSize: "5Mi", retentionDays: 10, retentionCount: 2 } };
        objects = (await renderStack("prod", { withSecrets: true, config })).objects;
        rd = withSecretsOf(await loadRendered("prod", config), objects);
        const a = rd.apps[0];
        app = { user: a.user, password: a.password, database: a.database };
        full = { script: initStep(objects, "db", MARIADB_BACKUP.cronJob).script, step: renderedS3Step(objects, "db", MARIADB_BACKUP.cronJob, s3ObjectName("mariadb")) };
        archive = { script: initStep(objects, "db", MARIADB_BACKUP.binlogCronJob).script, step: renderedS3Step(objects, "db", MARIADB_BACKUP.binlogCronJob, s3ObjectName("mariadb")) };

        source = new LocalMariaDb("s3-mariadb-source", rd, bins);
        await source.initialise();
        await source.startServer();
        staging = path.join(work, "mariadb-staging");
        binlogDir = path.join(work, "mariadb-binlogs");
        home = path.join(work, "home");
        for (const d of [staging, binlogDir, home, path.join(work, "mariadb-pod")]) fs.mkdirSync(d, { mode: 0o700 });
        for (const d of [staging, binlogDir, home, path.join(work, "mariadb-pod")]) source.own(d);
        const cron = find(objects, "CronJob", "db", MARIADB_BACKUP.cronJob);
        clientCnf = path.join(work, "client.cnf");
        fs.writeFileSync(clientCnf, rewriteClientOptions(fileOf(objects, cronJobAsWorkload(cron), initStep(objects, "db", MARIADB_BACKUP.cronJob).container, MARIADB_BACKUP_PATHS.clientFile), { host: "127.0.0.1", port: String(source.port) }), { mode: 0o600 });
        source.own(clientCnf);

        redisDir = path.join(work, "redis");
        redisStaging = path.join(redisDir, "backup-claim");
        fs.mkdirSync(path.join(redisDir, "data"), { recursive: true });
        fs.mkdirSync(redisStaging);
        fs.mkdirSync(path.join(work, "redis-pod"));
        redisPort = await freePort();
        const conf = configMapData(find(objects, "ConfigMap", "cache", "redis-config"))["redis.conf"];
        const acl = path.join(redisDir, "users.acl");
        fs.writeFileSync(acl, secretData(find(objects, "Secret", "cache", "redis-acl"))["users.acl"], { mode: 0o600 });
        redisConf = path.join(redisDir, "redis.conf");
        fs.writeFileSync(redisConf, rewriteDirectives(conf, { bind: "127.0.0.1", port: String(redisPort), dir: path.join(redisDir, "data"), aclfile: acl }), { mode: 0o600 });
        assert.strictEqual(directive(conf, "appendonly"), "yes");
        redisAdmin = secretData(find(objects, "Secret", "cache", "redis-credentials")).password;
        redisPasswordFile = path.join(redisDir, "credentials", "password");
        fs.mkdirSync(path.dirname(redisPasswordFile), { mode: 0o700 });
        fs.writeFileSync(redisPasswordFile, redisAdmin, { mode: 0o600 });
        redisScript = initStep(objects, "cache", REDIS_BACKUP.cronJob).script;
        redisStep = renderedS3Step(objects, "cache", REDIS_BACKUP.cronJob, s3ObjectName("redis"));
        await startRedis("source");
    });

    after(async function () {
        await redis?.stop();
        await target?.dispose();
        await source?.dispose();
        await s3?.process.stop();
        removeTempDir(work);
        stopClock?.();
    });

    it("renders the S3 step after the backup step, in the curl image, with the credentials only as an optional Secret volume", function () {
        const cron = find(objects, "CronJob", "db", MARIADB_BACKUP.cronJob) as Manifest & { spec: { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } } };
        const pod = cron.spec.jobTemplate.spec.template.spec as { containers: Container[]; initContainers: Container[]; volumes: { name: string; secret?: { secretName: string; optional?: boolean } }[] };
        assert.deepStrictEqual(pod.initContainers.map((c) => c.name), ["backup"]);
        assert.deepStrictEqual(pod.containers.map((c) => [c.name, c.image]), [["s3-upload", "curlimages/curl:8.11.1"]]);
        assert.deepStrictEqual(full.step.argv.slice(0, 4), ["sh", S3_PATHS.script, "backup", "full"]);
        const secretVolume = pod.volumes.find((v) => v.secret?.secretName === "backup-s3");
        assert.ok(secretVolume?.secret?.optional, "the operator's Secret, optional: a missing one is named by the script, not a pod stuck pending");
        for (const c of [...pod.initContainers, ...pod.containers]) {
            assert.deepStrictEqual(c.env ?? [], [], `${c.name}: no environment`);
            assert.ok(!JSON.stringify(c).includes(s3.secret) && !JSON.stringify(objects).includes(s3.secret), "the secret key is nowhere in the render");
        }
        assert.match(full.step.files["s3.conf"], /^S3_CA='\/opt\/backup-s3\/ca\.crt'$/m);
        assert.strictEqual(full.step.files["ca.crt"], s3.caPem);
    });

    it("MariaDB: the nightly Job uploads the dump and its sha256 (verified), lists them, and a fresh server restores from S3", async function () {
        await source.query(TCP, app.user, app.password, "CREATE TABLE ledger (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB", app.database);
        for (let i = 1; i <= 30; i++) await source.query(TCP, app.user, app.password, `INSERT INTO ledger VALUES (${i}, 'before backup ${i}')`, app.database);
        const atBackup = await rows(source);
        const out = await mariadbJob(full, "full backup");
        assert.match(out, /uploaded mariadb-full-\d{8}T\d{6}Z\.sql\.gz \(\d+ bytes\) to s3:\/\/msa-backups\/ci\/prod\/db\/mariadb\/full\/, verified/);
        const latest = fs.readFileSync(path.join(staging, "full", "LATEST"), "utf8").trim();
        assert.deepStrictEqual(await keys("full"), [latest, `${latest}.sha256`]);
        assert.deepStrictEqual(await openUploads(s3, BUCKET), [], "no multipart upload left open");
        // list: the operator's view, through the same script.
        const listed = await mariadbS3(full.step, { argv: ["sh", S3_PATHS.script, "list", "full"] });
        assert.strictEqual(listed.code, 0, describeRun(listed));
        assert.match(listed.stdout, new RegExp(`^${PREFIX}/db/mariadb/full/${latest.replace(/\./g, "\\.")}\\t\\d+\\t\\d{4}-\\d\\d-\\d\\dT`, "m"));
        // Again (a second later, so a new dump): only the new one is uploaded.
        await new Promise((res) => setTimeout(res, 1100));
        assert.match(await mariadbJob(full, "full backup (second run, one second later)"), /1 uploaded, 1 already in/);
        await source.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (31, 'after backup')", app.database);

        // Disaster: the staging claim is gone; the restore reads the bucket only.
        fs.rmSync(path.join(staging, "full"), { recursive: true });
        target = new LocalMariaDb("s3-mariadb-restore", rd, bins);
        await target.initialise();
        await target.startServer();
        const r = await restore(target, []);
        assert.strictEqual(r.code, 0, `restore-mariadb.sh --s3: ${describeRun(r)}`);
        assert.match(r.stderr, /fetched mariadb-full-.* sha256 checked/);
        assert.strictEqual(await rows(target), atBackup, "the restored rows are the backup's");
    });

    it("MariaDB: the binary-log Job uploads the archive, and a point-in-time restore from S3 stops between two transactions", async function () {
        await mariadbJob(full, "full backup before the point in time");
        await source.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (100, 'first transaction')", app.database);
        await new Promise((res) => setTimeout(res, 2100));
        const stopAt = await source.query(TCP, "root", rd.root.password, "SELECT UTC_TIMESTAMP()");
        await new Promise((res) => setTimeout(res, 1100));
        await source.query(TCP, app.user, app.password, "INSERT INTO ledger VALUES (200, 'second transaction')", app.database);
        const out = await mariadbJob(archive, "binlog archive");
        assert.match(out, /[1-9]\d* uploaded, \d+ already in s3:\/\/msa-backups\/ci\/prod\/db\/mariadb\/binlogs\//);
        const uploaded = await keys("binlogs");
        const archived = (fs.readdirSync(binlogDir, { recursive: true }) as string[]).filter((f) => /(^|\/)mariadb-bin\.\d{6}$/.test(f)).sort();
        assert.ok(archived.length > 0 && archived.every((f) => f.includes("/")), `one directory per server: ${archived.join(", ")}`);
        assert.deepStrictEqual(uploaded, archived, "every archived log is in the bucket, under its server's directory");

        const r = await restore(target!, ["--stop-datetime", stopAt]);
        assert.strictEqual(r.code, 0, `restore-mariadb.sh --s3 --stop-datetime ${stopAt}: ${describeRun(r)}`);
        const ids = (await target!.query(TCP, "root", rd.root.password, "SELECT id FROM ledger WHERE id >= 31 ORDER BY id", app.database)).split("\n");
        assert.deepStrictEqual(ids, ["31", "100"], `stopped at ${stopAt}: the first transaction, not the second`);
        const r2 = await restore(target!, ["--s3-binlogs"]);
        assert.strictEqual(r2.code, 0, `restore-mariadb.sh --s3 --s3-binlogs: ${describeRun(r2)}`);
        assert.strictEqual(await rows(target!), await rows(source), "to the end of the archive: equal to the source");
    });

    it("Redis: a snapshot larger than a part is uploaded in parts (verified), and restore-redis.sh --s3 puts it back", async function () {
        for (let i = 0; i < 100; i++) await redisCommand("SET", `session:${i}`, `value-${i}`);
        // Hardly compressible, so the snapshot takes more than one 5 MiB part.
        await redisCommand("SET", "session:blob", crypto.randomBytes(9 << 20).toString("base64"));
        const keysBefore = ((await redisCommand("KEYS", "*")) as string[]).sort();
        const name = await redisBackup();
        const size = fs.statSync(path.join(redisStaging, name)).size;
        assert.ok(size > 5 << 20, `the snapshot (${size} bytes) takes more than one part`);
        const r = await redisS3();
        assert.strictEqual(r.code, 0, `redis S3 step: ${describeRun(r)}`);
        assert.strictEqual((await listKeys(s3, BUCKET, `${PREFIX}/cache/redis/rdb/${name}`)).get(`${PREFIX}/cache/redis/rdb/${name}`), size);
        await redisCommand("SET", "session:after", "written after the backup");

        fs.rmSync(redisStaging, { recursive: true });
        fs.mkdirSync(redisStaging);
        await redis!.stop();
        const rr = await run("sh", [RESTORE_REDIS, "--data", path.join(redisDir, "data"), "--s3", path.join(work, "redis-pod", "backup-s3")], { env: { PATH: process.env.PATH, TMPDIR: work }, timeoutMs: 60_000 });
        assert.strictEqual(rr.code, 0, `restore-redis.sh --s3: ${describeRun(rr)}`);
        await startRedis("restored");
        assert.deepStrictEqual(((await redisCommand("KEYS", "*")) as string[]).sort(), keysBefore, "exactly the snapshot's keys");
        // Small snapshots from here on (quicker), until a test needs parts again.
        await redisCommand("DEL", "session:blob");
    });

    it("prunes the bucket by count and age, never the newest complete dumps, and binary logs older than the oldest kept dump", async function () {
        // Five dumps in the bucket; all but the newest made 20 days old (older than retentionDays 10), locally too.
        for (let i = 0; i < 2; i++) {
            await new Promise((res) => setTimeout(res, 1100));
            await mariadbJob(full, `full backup ${i}`);
        }
        const before = await keys("full");
        const dumps = before.filter((k) => k.endsWith(".sql.gz"));
        assert.ok(dumps.length >= 3, `dumps in the bucket: ${dumps.join(", ")}`);
        for (const k of before) ageObject(s3, BUCKET, `${PREFIX}/db/mariadb/full/${k}`, 20);
        for (const f of fs.readdirSync(path.join(staging, "full"))) {
            const when = new Date(Date.now() - 20 * 86_400_000);
            fs.utimesSync(path.join(staging, "full", f), when, when);
        }
        // The binary logs: one 30 days old (before the oldest kept dump, less a day), the rest as they are.
        const logs = await keys("binlogs");
        ageObject(s3, BUCKET, `${PREFIX}/db/mariadb/binlogs/${logs[0]}`, 30);
        for (const k of logs.slice(1)) ageObject(s3, BUCKET, `${PREFIX}/db/mariadb/binlogs/${k}`, 20);
        await new Promise((res) => setTimeout(res, 1100));
        const out = await mariadbJob(full, "full backup with retention");
        const after = (await keys("full")).filter((k) => k.endsWith(".sql.gz"));
        // retentionCount 2: the new dump and the newest aged one stay; the older aged ones go (with their sha256).
        assert.deepStrictEqual(after, [dumps[dumps.length - 1], fs.readFileSync(path.join(staging, "full", "LATEST"), "utf8").trim()].sort(), out);
        assert.deepStrictEqual((await keys("full")).filter((k) => k.endsWith(".sha256")), after.map((k) => `${k}.sha256`));
        assert.deepStrictEqual(await keys("binlogs"), logs.slice(1), "only the log older than the oldest kept dump went");
        assert.match(out, new RegExp(`${dumps.length - 1} pruned, 2 complete kept`));

        // Everything old: the newest complete ones still stay.
        for (const k of await keys("full")) ageObject(s3, BUCKET, `${PREFIX}/db/mariadb/full/${k}`, 40);
        const again = await mariadbS3(full.step, { argv: ["sh", S3_PATHS.script, "prune", "full", "mariadb-full-*.sql.gz", "--companion", ".sha256"] });
        assert.strictEqual(again.code, 0, describeRun(again));
        assert.deepStrictEqual((await keys("full")).filter((k) => k.endsWith(".sql.gz")), after, "never below retentionCount, never the newest");
    });

    it("verifies by reading back where the server's ETags are not MD5s; a read-back that differs fails the run and deletes the object", async function () {
        const other = await startVersityGw(await requireTool(this, "versitygw"), work, { tls: false, dataIntegrityEtag: true, label: "s3-checksum-etags" });
        try {
            await createBucket(other, BUCKET);
            const name = await redisBackup();
            const r = await redisS3({ credentials: { accessKey: other.accessKey, secret: other.secret }, conf: { S3_ENDPOINT: other.endpoint, S3_CA: "" }, dir: path.join(work, "redis-pod-2") });
            assert.strictEqual(r.code, 0, describeRun(r));
            assert.match(r.stdout, /uploaded redis-.*, verified/);
            // Its ETag is a checksum, not an MD5: the upload passed only because the object read back matched.
            const head = await s3Request(other, "HEAD", `/${BUCKET}/${PREFIX}/cache/redis/rdb/${name}`, ["-I"]);
            assert.doesNotMatch(/^etag: *"?([^"\r\n]*)/im.exec(head.body)?.[1] ?? "", /^[0-9a-f]{32}(-\d+)?$/, head.body);
            assert.strictEqual((await listKeys(other, BUCKET, PREFIX)).get(`${PREFIX}/cache/redis/rdb/${name}`), fs.statSync(path.join(redisStaging, name)).size);
            // And a read-back that differs (one byte more on the way back) fails the run and deletes the object.
            await new Promise((res) => setTimeout(res, 1100));
            const next = await redisBackup();
            const before = await listKeys(other, BUCKET, PREFIX);
            const shim = `case " $* " in *" -o "* | *" -I "* | *" -T "* | *" -X "*) exec "$REAL_CURL" "$@" ;; esac\n{ "$REAL_CURL" "$@"; rc=$?; printf x; exit $rc; }`;
            const bad = await redisS3({ credentials: { accessKey: other.accessKey, secret: other.secret }, conf: { S3_ENDPOINT: other.endpoint, S3_CA: "" }, dir: path.join(work, "redis-pod-2"), bin: await curlImagePath(path.join(work, "shim-readback"), shim) });
            assert.match(failedLine(bad), new RegExp(`^redis-s3: FAILED: ${PREFIX}/cache/redis/rdb/${next.replace(/\./g, "\\.")} failed its check after the upload \\(the object read back differs \\(sha256\\)\\); it was deleted`));
            assert.deepStrictEqual(await listKeys(other, BUCKET, PREFIX), before, "nothing new under a final name");
        } finally {
            await other.process.stop();
        }
    });

    describe("bad input: one line naming the cause, earlier backups intact, nothing partial under a final name", function () {
        let bucketBefore: Map<string, number>;
        beforeEach(async function () {
            bucketBefore = await listKeys(s3, BUCKET, PREFIX);
        });
        afterEach(async function () {
            if (this.currentTest?.state !== "passed") return;
            assert.deepStrictEqual(await openUploads(s3, BUCKET), [], "no multipart upload left open");
        });
        const intact = async () => assert.deepStrictEqual(await listKeys(s3, BUCKET, PREFIX), bucketBefore, "the bucket is as it was");

        it("an unreachable endpoint", async function () {
            await redisBackup();
            const port = await freePort();
            const line = failedLine(await redisS3({ conf: { S3_ENDPOINT: `https://127.0.0.1:${port}` } }));
            assert.match(line, new RegExp(`^redis-s3: FAILED: cannot reach https://127\\.0\\.0\\.1:${port}: .*(Connection refused|Couldn't connect)`));
            await intact();
        });

        it("wrong credentials", async function () {
            const line = failedLine(await redisS3({ credentials: { accessKey: s3.accessKey, secret: `${s3.secret}x` } }));
            assert.match(line, /^redis-s3: FAILED: https:\/\/127\.0\.0\.1:\d+ refused the credentials of Secret backup-s3 \(SignatureDoesNotMatch/);
            assert.ok(!line.includes(s3.secret), "the secret is not in the message");
            await intact();
        });

        it("a missing bucket", async function () {
            const line = failedLine(await redisS3({ conf: { S3_BUCKET: "no-such-bucket" } }));
            assert.match(line, /^redis-s3: FAILED: the bucket no-such-bucket does not exist at https:\/\/127\.0\.0\.1:\d+ \(NoSuchBucket\)/);
            await intact();
        });

        it("missing credentials (the Secret not created)", async function () {
            const line = failedLine(await redisS3({ credentials: { accessKey: "", secret: "" } }));
            assert.match(line, /^redis-s3: FAILED: no credentials: .*access-key-id is missing or empty \(create Secret backup-s3 with keys access-key-id and secret-access-key/);
            await intact();
        });

        it("a connection broken in the middle of an upload: the upload is aborted, no object under the final name", async function () {
            // The snapshots the earlier cases left behind go first; then one that takes two parts.
            const pending = await redisS3();
            assert.strictEqual(pending.code, 0, describeRun(pending));
            bucketBefore = await listKeys(s3, BUCKET, PREFIX);
            await redisCommand("SET", "session:blob", crypto.randomBytes(6 << 20).toString("base64"));
            await redisBackup();
            await redisCommand("DEL", "session:blob");
            const shim = `for a in "$@"; do case "$a" in *'partNumber=2&'*) echo "curl: (56) Recv failure: Connection reset by peer" >&2; exit 56 ;; esac; done\nexec "$REAL_CURL" "$@"`;
            const line = failedLine(await redisS3({ bin: await curlImagePath(path.join(work, "shim-broken"), shim) }));
            assert.match(line, /^redis-s3: FAILED: cannot reach https:\/\/127\.0\.0\.1:\d+: Recv failure: Connection reset by peer/);
            await intact();
        });

        it("an object that fails its check after the upload is deleted", async function () {
            await redisBackup();
            // The server's answer to HEAD altered: the ETag no longer matches what was sent.
            const shim = `"$REAL_CURL" "$@"; rc=$?\nprev=""; for a in "$@"; do [ "$prev" = -D ] && hdr="$a"; prev="$a"; done\ncase " $* " in *" -I "*) /bin/sed -i 's/^ETag: .*/ETag: "00000000000000000000000000000000-1"\\r/I' "$hdr" ;; esac\nexit $rc`;
            const line = failedLine(await redisS3({ bin: await curlImagePath(path.join(work, "shim-etag"), shim) }));
            assert.match(line, new RegExp(`^redis-s3: FAILED: ${PREFIX}/cache/redis/rdb/redis-\\d{8}T\\d{6}Z\\.rdb failed its check after the upload \\(ETag 0+-1, expected [0-9a-f]{32}-\\d+\\); it was deleted`));
            await intact();
        });

        it("a full staging volume: the backup step fails in one line, the earlier backups stay", async function () {
            // Enough incompressible rows that the dump does not fit in 256 KiB.
            await source.query(TCP, "root", rd.root.password, `CREATE TABLE \`${app.database}\`.filler (b BLOB) ENGINE=InnoDB`);
            await source.query(TCP, "root", rd.root.password, `INSERT INTO \`${app.database}\`.filler SELECT RANDOM_BYTES(1024) FROM seq_1_to_600`, app.database);
            const earlier = fs.readdirSync(path.join(staging, "full")).filter((f) => f.startsWith("mariadb-full-")).sort();
            const { text } = localizeScript(full.script, {
                [MARIADB_BACKUP_PATHS.full]: path.join(staging, "full"),
                [MARIADB_BACKUP_PATHS.backup]: staging,
                [MARIADB_BACKUP_PATHS.clientFile]: clientCnf,
            });
            const dir = path.join(staging, "full");
            const { uid, gid } = source.user;
            // A 256 KiB volume over the staging directory (in a mount namespace of its own), holding the earlier backups.
            const setup = `set -e; cp -a "$0"/. /tmp/.keep-$$; mount -t tmpfs -o size=256k,mode=0700,uid=${uid},gid=${gid} tmpfs "$0"; cp -a /tmp/.keep-$$/. "$0"/; rm -rf /tmp/.keep-$$; set +e
setpriv --reuid=${uid} --regid=${gid} --clear-groups env -i PATH="$PATH" HOME=/tmp LANG=C bash -c "$1"; rc=$?
echo "--- staging after:"; ls -1A "$0"; exit $rc`;
            const r = await run("unshare", ["-m", "bash", "-c", setup, dir, text], { env: { PATH: process.env.PATH }, timeoutMs: 120_000 });
            const line = failedLine(r);
            assert.match(line, new RegExp(`^mariadb-backup: FAILED: the staging volume ${dir.replace(/[/.]/g, "\\$&")} is full \\(\\d+ KiB free of 256 KiB\\); earlier backups are untouched; raise mariadb\\.backup\\.storageSize`));
            const left = r.stdout.split("--- staging after:\n")[1].split("\n").filter((f) => f !== "");
            assert.deepStrictEqual(left.filter((f) => f.startsWith("mariadb-full-")).sort(), earlier, "the earlier dumps are there, no partial file");
            assert.deepStrictEqual(left.filter((f) => f.startsWith(".partial")), []);
            await intact();
        });
    });
});
