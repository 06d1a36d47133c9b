// Real-server tests of how MariaDB uses its volume and its root password over time: the datadir is a
// directory on the volume (an ext4 volume root holds lost+found), volumes of the earlier layout move there
// at the next start, temporary files go to the volume, and a rotated root password reaches root@localhost,
// so the README's socket commands keep working. The server runs as an unprivileged user, like the pod.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { MARIADB_GENERATED, MARIADB_PATHS } from "../../../components/mariadb";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, mariadbPasswordKey, MariaDbRendered, SOCKET, TCP } from "../../helpers/mariadb";
import { describeRun, randomToken, run } from "../../../scripts/lib/servers";
import { commandLines, runbookBlock } from "../../helpers/runbooks";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

/** A lost+found at the volume root as mkfs.ext4 leaves it: root-owned, mode 0700 (unreadable to the server). */
function makeLostAndFound(volumeDir: string): string {
    const dir = path.join(volumeDir, "lost+found");
    fs.mkdirSync(dir, { mode: 0o700 });
    // Not root: a mode-0 directory of our own is just as unreadable to the server (which runs as us).
    if (process.getuid?.() !== 0) fs.chmodSync(dir, 0o000);
    return dir;
}

/** The documented ad-hoc backup command (docs/operations/backup-restore.md, runbook "dump-mariadb"): the shell command it runs inside the MariaDB pod. */
function readmeDumpCommand(): string {
    const lines = commandLines(runbookBlock("docs/operations/backup-restore.md", "dump-mariadb"));
    assert.strictEqual(lines.length, 1, "the dump runbook is one command");
    assert.ok(lines[0].startsWith("kubectl exec -n db mariadb-0 -- sh -c '") && lines[0].includes("mariadb-dump"), `a mariadb-dump command run in the pod: ${lines[0]}`);
    return /sh -c '([^']+)'/.exec(lines[0])![1];
}

describe("real servers: MariaDB's datadir is a directory on the volume, not its root", function () {
    let bins: Record<string, string> = {};
    let stopClock: (() => void) | undefined;
    const dbs: LocalMariaDb[] = [];
    let rd: MariaDbRendered;

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump"], INSTALL_HINT);
        stopClock = startClock("mariadb-volume");
        rd = await loadRendered("dev");
    });

    after(async function () {
        for (const db of dbs) await db.dispose();
        stopClock?.();
    });

    async function dumpAll(db: LocalMariaDb) {
        return run(bins["mariadb-dump"], ["--no-defaults", "-uroot", `--socket=${db.socket}`, "--all-databases", "--single-transaction", "--routines"], {
            env: db.env(rd.root.password),
            timeoutMs: 60_000,
        });
    }

    it("renders a datadir and tmpdir below the data volume's mount, neither at its root", () => {
        const datadir = /^datadir = (.+)$/m.exec(rd.myCnf)?.[1];
        const tmpdir = /^tmpdir = (.+)$/m.exec(rd.myCnf)?.[1];
        assert.strictEqual(datadir, MARIADB_PATHS.datadir);
        assert.strictEqual(tmpdir, MARIADB_PATHS.tmpdir);
        for (const p of [datadir!, tmpdir!]) {
            assert.ok(p.startsWith(`${MARIADB_PATHS.data}/`), `${p} is on the data volume`);
        }
    });

    it("with lost+found at the volume root: no #mysql50#lost+found database, mariadb-dump --all-databases works, server unprivileged", async function () {
        const db = new LocalMariaDb("mariadb-lostfound", rd, bins);
        dbs.push(db);
        makeLostAndFound(db.volumeDir);
        await db.initialise();
        await db.startServer();
        assert.notStrictEqual(db.user.uid, 0, "the server runs as an unprivileged user");
        const databases = (await db.query(TCP, "root", rd.root.password, "SHOW DATABASES")).split("\n");
        assert.ok(!databases.some((d) => d.includes("lost+found")), `databases: ${databases.join(", ")}`);
        const dump = await dumpAll(db);
        assert.strictEqual(dump.code, 0, `mariadb-dump --all-databases: ${describeRun(dump)}`);
        assert.doesNotMatch(dump.stdout, /lost\+found/);
        for (const a of rd.apps) assert.match(dump.stdout, new RegExp(`CREATE DATABASE .*\`${a.database}\``), `the dump holds ${a.database}`);
        assert.strictEqual(await db.query(TCP, "root", rd.root.password, "SELECT @@GLOBAL.tmpdir"), db.tmpDir, "temporary files go to the volume");
    });

    it("(control) the datadir at the volume root, as before, lists #mysql50#lost+found and mariadb-dump fails on it", async function () {
        const db = new LocalMariaDb("mariadb-legacy", rd, bins, { legacyLayout: true });
        dbs.push(db);
        makeLostAndFound(db.volumeDir);
        await db.initialise();
        await db.startServer();
        const databases = (await db.query(TCP, "root", rd.root.password, "SHOW DATABASES")).split("\n");
        assert.ok(databases.includes("#mysql50#lost+found"), `expected the ext4 defect to show: ${databases.join(", ")}`);
        const dump = await dumpAll(db);
        assert.notStrictEqual(dump.code, 0, "mariadb-dump should fail on the unreadable lost+found");
        assert.match(dump.stderr, /lost\+found|errno: 13|Errcode: 13|Can't read dir/i, describeRun(dump));
        await db.dispose();
    });

    it("moves a volume of the earlier layout into the datadir at the next start, keeping the data; an interrupted move resumes", async function () {
        const db = new LocalMariaDb("mariadb-migrate", rd, bins, { legacyLayout: true });
        dbs.push(db);
        makeLostAndFound(db.volumeDir);
        await db.initialise();
        await db.startServer("legacy");
        const a = rd.apps[0];
        const marker = randomToken(16);
        await db.query(TCP, a.user, a.password, "CREATE TABLE kept (v VARCHAR(64))", a.database);
        await db.query(TCP, a.user, a.password, `INSERT INTO kept VALUES ('${marker}')`, a.database);
        const stopped = await db.stopServer();
        assert.ok(!stopped.killed && stopped.code === 0, "clean stop");
        assert.ok(fs.existsSync(path.join(db.volumeDir, "mysql")), "the earlier layout has the system schema at the volume root");

        // An earlier start was interrupted half-way: the staging directory holds some entries already.
        const staging = `${db.onVolume(MARIADB_PATHS.datadir)}.moving`;
        fs.mkdirSync(staging);
        fs.renameSync(path.join(db.volumeDir, a.database), path.join(staging, a.database));
        db.own(staging);

        db.useRenderedLayout();
        const moved = await db.prepareVolume();
        assert.match(moved!.stdout, /moved the data directory from the volume root/);
        await db.startServer("after the move");
        assert.strictEqual(await db.query(TCP, a.user, a.password, "SELECT v FROM kept", a.database), marker, "data written before the move");
        const left = fs.readdirSync(db.volumeDir).sort();
        assert.deepStrictEqual(left, ["lost+found", "mariadb-data", "mariadb-tmp"], `volume root after the move: ${left.join(", ")}`);
        const databases = (await db.query(TCP, "root", rd.root.password, "SHOW DATABASES")).split("\n");
        assert.ok(!databases.some((d) => d.includes("lost+found")), databases.join(", "));
        const again = await db.prepareVolume();
        assert.doesNotMatch(again!.stdout, /moved/, "the next start moves nothing");
    });
});

describe("real servers: a rotated MariaDB root password reaches root@localhost, so the README's socket commands work", function () {
    let bins: Record<string, string> = {};
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "mariadb-dump", "sh"], INSTALL_HINT);
        stopClock = startClock("mariadb-rotation");
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
    });

    /** The README's command as the pod runs it: only the mounted password file's path and the socket are local. */
    function readmeCommand(target: LocalMariaDb) {
        const command = readmeDumpCommand();
        assert.ok(command.includes(MARIADB_PATHS.rootPasswordFile), `the README command reads ${MARIADB_PATHS.rootPasswordFile}: ${command}`);
        const local = command.split(MARIADB_PATHS.rootPasswordFile).join(target.rootPasswordFile);
        // The client's own option file stands in for the image's default socket path (/run/mysqld/mysqld.sock).
        const home = path.join(target.dir, "home");
        fs.mkdirSync(home, { recursive: true });
        fs.writeFileSync(path.join(home, ".my.cnf"), `[client]\nsocket=${target.socket}\n`, { mode: 0o600 });
        return run(bins.sh, ["-c", local], { env: { PATH: process.env.PATH, HOME: home }, timeoutMs: 60_000 });
    }

    it("before and after a rotation, with the old password refused everywhere", async function () {
        const seed = `rotation-${randomToken(8)}`;
        const first = await loadRendered("dev", undefined, seed);
        db = new LocalMariaDb("mariadb-rotation", first, bins);
        await db.initialise();
        await db.startServer();
        const before = await readmeCommand(db);
        assert.strictEqual(before.code, 0, `README command before the rotation: ${describeRun(before)}`);

        // `pulumi up --replace <root password>`: the new password reaches the Secrets (the kubelet updates the
        // mounted root-password file) and names a new reconcile Job, which applies it to the running server.
        const second = await loadRendered("dev", undefined, seed, { [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: randomToken(32) });
        assert.notStrictEqual(second.root.password, first.root.password);
        db.rotate(second);
        const job = await db.reconcile();
        assert.strictEqual(job.code, 0, `the reconcile Job after the rotation: ${describeRun(job)}`);

        const after = await readmeCommand(db);
        assert.strictEqual(after.code, 0, `README command after the rotation: ${describeRun(after)}`);
        assert.match(after.stdout, /CREATE DATABASE/);
        for (const target of [TCP, SOCKET]) {
            assert.strictEqual(await db.query(target, "root", second.root.password, "SELECT 1"), "1", `new password, ${JSON.stringify(target)}`);
            const old = await db.sql(target, "root", first.root.password, "SELECT 1");
            assert.match(old.stderr, /ERROR 1045/, `the old root password must be refused: ${describeRun(old)}`);
        }
    });
});
