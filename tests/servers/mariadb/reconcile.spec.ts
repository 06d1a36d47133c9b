// Real-server test of MariaDB's reconcile Job (components/mariadb/reconcile.ts): the rendered Job script and
// files run against a local mariadbd started from the rendered dev stack, the way the cluster runs it once
// the StatefulSet is ready. Each day-2 change is a new render of dev (one more database+user, a rotated
// password, a user removed) whose StatefulSet pod template must be the same, so no pod restarts: the Job
// alone applies it. Prints the time from the Job start to the change being on the server.

import * as assert from "assert";
import { isDeepStrictEqual } from "util";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, mariadbPasswordKey, MariaDbRendered, TCP } from "../../helpers/mariadb";
import { stackConfig } from "../../helpers/kafka/rendered";
import { describeRun, randomToken, type RunResult } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { MARIADB_GENERATED, nativePasswordHash, RECONCILE_PATHS, RECONCILE_USER } from "../../../components/mariadb";

registerRealServerSummary();

type Db = { name: string; user: string };

describe("real servers: MariaDB's reconcile Job applies databases, users and passwords live (no restart)", function () {
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let first: MariaDbRendered;
    const seed = `reconcile-${randomToken(8)}`;
    const base = stackConfig("dev");
    const declared = (base.mariadb as { databases: Db[] }).databases;
    const withDatabases = (databases: Db[]) => ({ ...base, mariadb: { ...(base.mariadb as object), databases } });
    const timings: string[] = [];
    /** When the server started (now - Uptime): a restart would move it. */
    let startedAt = 0;

    const render = (databases: Db[], generated?: Record<string, string>) => loadRendered("dev", withDatabases(databases), seed, generated);
    const job = async (rd: MariaDbRendered, what: string): Promise<RunResult> => {
        const r = await db!.reconcile(rd.job);
        assert.strictEqual(r.code, 0, `${what}: the Job failed: ${describeRun(r)}`);
        timings.push(`${what}: ${r.ms} ms from the Job start to the change on the server`);
        return r;
    };
    const login = (user: string, password: string, database?: string) => db!.sql(TCP, user, password, "SELECT CURRENT_USER()", { database });
    const refused = async (user: string, password: string, what: string) => {
        const r = await login(user, password);
        assert.notStrictEqual(r.code, 0, `${what}: ${user} still logs in`);
        assert.match(r.stderr, /ERROR 1045/, `${what}: ${describeRun(r)}`);
    };
    const template = (rd: MariaDbRendered) => (rd.sts.spec as { template: unknown }).template;
    const serverStart = async () =>
        Number(await db!.query(TCP, "root", db!.rendered.root.password, "SELECT UNIX_TIMESTAMP() - VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'"));
    const notRestarted = async () => assert.ok(Math.abs((await serverStart()) - startedAt) <= 2, "the server restarted: the change must be applied live");
    /** The Job's own password in a render (its option file), to keep it across renders. */
    const jobPassword = (rd: MariaDbRendered) => /^password = (.*)$/m.exec(rd.job.mounts[RECONCILE_PATHS.credentials]["reconcile.cnf"])![1];

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        stopClock = startClock("mariadb-reconcile");
        first = await render(declared);
        db = new LocalMariaDb("mariadb-reconcile", first, bins);
        await db.initialise();
        // A stack upgraded from a version without the Job: its users were made by the old init SQL (first test).
        await db.startServer("server", { reconcile: false });
        startedAt = await serverStart();
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
        if (timings.length > 0) console.log(`      reconcile Job timings (target: well within 60 s):\n${timings.map((t) => `        ${t}`).join("\n")}`);
    });

    it("upgrade: users the old init SQL created keep working and keep their data; the first run adopts them and creates its own account as root", async function () {
        const root = first.root.password;
        // What the init SQL of earlier versions ran for each declared database at every start.
        for (const a of first.apps) {
            await db!.query(TCP, "root", root, `CREATE DATABASE IF NOT EXISTS \`${a.database}\`; CREATE USER IF NOT EXISTS '${a.user}'@'%' IDENTIFIED BY '${a.password}'; GRANT ALL PRIVILEGES ON \`${a.database}\`.* TO '${a.user}'@'%'`);
            await db!.query(TCP, a.user, a.password, `CREATE TABLE t (v VARCHAR(40)) ; INSERT INTO t VALUES ('before the upgrade')`, a.database);
        }
        for (const a of first.apps) assert.ok(!first.initSql.includes(a.user), `init.sql still names ${a.user}:\n${first.initSql}`);

        const r = await job(first, "first run on an upgraded stack (2 users adopted)");
        assert.match(r.stdout, new RegExp(`\\(re\\)created the account ${RECONCILE_USER} as root`), r.stdout);
        for (const a of first.apps) {
            assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT v FROM t", a.database), "before the upgrade");
        }
        const owned = await db!.query(TCP, "root", root, "SELECT user FROM msa_reconcile.users ORDER BY user");
        assert.deepStrictEqual(owned.split("\n"), first.apps.map((a) => a.user).sort());
        // Its account: CREATE USER and grantable database privileges; no server administration.
        const grants = await db!.query(TCP, "root", root, `SHOW GRANTS FOR '${RECONCILE_USER}'@'%'`);
        assert.match(grants, /CREATE USER/);
        assert.doesNotMatch(grants, /SUPER|SHUTDOWN|FILE|PROCESS|READ_ONLY ADMIN|REPLICATION|BINLOG|ALL PRIVILEGES ON \*\.\*/, grants);
        // A second run with nothing new changes nothing and needs no root.
        const again = await job(first, "a run with nothing to do");
        assert.doesNotMatch(again.stdout, /as root|dropped/, again.stdout);
    });

    it("a database with its user declared: the pod template is unchanged, the Job creates both, the user writes and reads its own database only", async function () {
        const next = await render([...declared, { name: "billing", user: "billing" }]);
        assert.ok(isDeepStrictEqual(template(next), template(first)), "adding a database+user changed the StatefulSet's pod template (the pods would restart)");
        assert.notStrictEqual(next.job.name, first.job.name, "the reconcile Job keeps its name: it would not run again");
        await job(next, "a database+user declared");
        const billing = next.apps.find((a) => a.user === "billing")!;
        await db!.query(TCP, "billing", billing.password, "CREATE TABLE invoices (id INT PRIMARY KEY, total DECIMAL(10,2)); INSERT INTO invoices VALUES (1, 42.50)", "billing");
        assert.strictEqual(await db!.query(TCP, "billing", billing.password, "SELECT total FROM invoices WHERE id = 1", "billing"), "42.50");
        const orders = next.apps.find((a) => a.user === "orders")!;
        const denied = await db!.sql(TCP, "billing", billing.password, "SELECT * FROM t", { database: orders.database });
        assert.match(denied.stderr, /ERROR 1044/, `billing must not reach ${orders.database}: ${describeRun(denied)}`);
        await notRestarted();
    });

    it("a rotated password (pulumi up --replace of the RandomPassword): the Job runs again, the new password works, the old one is refused", async function () {
        const before = await render([...declared, { name: "billing", user: "billing" }]);
        const oldPw = before.apps.find((a) => a.user === "billing")!.password;
        const newPw = randomToken(32);
        const rotated = await render([...declared, { name: "billing", user: "billing" }], { [mariadbPasswordKey(MARIADB_GENERATED.userPassword("billing"))]: newPw });
        assert.strictEqual(rotated.apps.find((a) => a.user === "billing")!.password, newPw);
        assert.ok(isDeepStrictEqual(template(rotated), template(first)), "a rotation changed the StatefulSet's pod template");
        assert.notStrictEqual(rotated.job.name, before.job.name, "a rotated password must name a new Job (it mounts the Secret)");
        const r = await job(rotated, "a user's password rotated");
        assert.ok(!`${r.stdout}${r.stderr}`.includes(newPw) && !`${r.stdout}${r.stderr}`.includes(nativePasswordHash(newPw)), "the Job's output shows the password or its hash");
        assert.strictEqual(await db!.query(TCP, "billing", newPw, "SELECT total FROM invoices", "billing"), "42.50");
        await refused("billing", oldPw, "the old password after the rotation");
    });

    it("root's password rotated: applied live by the Job (its own account), the old one refused; then the Job's own password: re-applied as root", async function () {
        const dbs = [...declared, { name: "billing", user: "billing" }];
        const newRoot = randomToken(32);
        const rootRotated = await render(dbs, { [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: newRoot });
        assert.ok(isDeepStrictEqual(template(rootRotated), template(first)), "a root rotation changed the StatefulSet's pod template");
        await job(rootRotated, "root's password rotated");
        assert.strictEqual(await db!.query(TCP, "root", newRoot, "SELECT 1"), "1");
        await refused("root", first.root.password, "root's old password");

        const newJob = randomToken(32);
        const jobRotated = await render(dbs, { [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: newRoot, [mariadbPasswordKey(MARIADB_GENERATED.reconcilePassword)]: newJob });
        const r = await job(jobRotated, "the Job's own password rotated");
        assert.match(r.stdout, /as root/, r.stdout);
        assert.strictEqual(await db!.query(TCP, RECONCILE_USER, newJob, "SELECT 1"), "1");
        // Both at once cannot be applied: the Job says so, changes nothing, and the next (one-at-a-time) run works.
        const both = await render(dbs, { [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: randomToken(32), [mariadbPasswordKey(MARIADB_GENERATED.reconcilePassword)]: randomToken(32) });
        const failed = await db!.reconcile(both.job);
        assert.strictEqual(failed.code, 1, describeRun(failed));
        assert.match(failed.stderr, /refuses both reconcile and root .*Rotate one, pulumi up, then the other/, failed.stderr);
        assert.strictEqual(await db!.query(TCP, "root", newRoot, "SELECT 1"), "1");
        db!.rendered = jobRotated;
    });

    it("a user removed from the config: dropped (login refused), its database and data kept", async function () {
        const current = db!.rendered;
        const removed = await render(declared, {
            [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: current.root.password,
            [mariadbPasswordKey(MARIADB_GENERATED.reconcilePassword)]: jobPassword(current),
        });
        assert.ok(isDeepStrictEqual(template(removed), template(first)), "removing a user changed the StatefulSet's pod template");
        const r = await job(removed, "a user removed");
        assert.match(r.stdout, /dropped user billing .*its database billing and its data are kept/, r.stdout);
        const users = await db!.query(TCP, "root", current.root.password, "SELECT COUNT(*) FROM mysql.user WHERE user = 'billing'");
        assert.strictEqual(users, "0");
        assert.strictEqual(await db!.query(TCP, "root", current.root.password, "SELECT total FROM billing.invoices WHERE id = 1"), "42.50", "the dropped user's data");
        // The declared users are untouched.
        for (const a of removed.apps) assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT v FROM t", a.database), "before the upgrade");
        db!.rendered = removed;
    });

    it("a run that fails midway leaves the previous state working, exits 1 naming the statement (no password), and the next run completes it", async function () {
        const current = db!.rendered;
        const root = current.root.password;
        const pins = {
            [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: root,
            [mariadbPasswordKey(MARIADB_GENERATED.reconcilePassword)]: jobPassword(current),
        };
        const next = await render([...declared, { name: "dave", user: "dave" }, { name: "erin", user: "erin" }], pins);
        // The server refuses one statement of the run (as a full disk or a lock timeout would): erin's ownership row.
        const trigger = [
            "DELIMITER //",
            "CREATE TRIGGER msa_reconcile.refuse_erin BEFORE INSERT ON msa_reconcile.users FOR EACH ROW BEGIN IF NEW.user = 'erin' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; END IF; END//",
            "DELIMITER ;",
        ].join("\n");
        const t = await db!.sql(TCP, "root", root, "", { input: trigger });
        assert.strictEqual(t.code, 0, describeRun(t));
        const failed = await db!.reconcile(next.job);
        assert.strictEqual(failed.code, 1, `the failing run must exit 1: ${describeRun(failed)}`);
        assert.match(failed.stderr, /failed at statement \d+ of apply\.sql: REPLACE INTO `msa_reconcile`\.users \(user, db\) VALUES \('erin', 'erin'\); -> ERROR 1644 \(45000\): injected failure/, failed.stderr);
        for (const a of next.apps) {
            assert.ok(!`${failed.stdout}${failed.stderr}`.includes(a.password) && !`${failed.stdout}${failed.stderr}`.includes(nativePasswordHash(a.password)), `the failure message shows ${a.user}'s password or hash`);
        }
        // The previous state works: the users declared before log in and read their data.
        for (const a of current.apps) assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT v FROM t", a.database), "before the upgrade");
        // The cause goes away; the next run (Job retry, or the next pulumi up) completes the change.
        await db!.query(TCP, "root", root, "DROP TRIGGER msa_reconcile.refuse_erin");
        await job(next, "the run after a failed one");
        for (const a of next.apps) assert.strictEqual(await db!.query(TCP, a.user, a.password, "SELECT CURRENT_USER()"), `${a.user}@%`);
        const owned = await db!.query(TCP, "root", root, "SELECT user FROM msa_reconcile.users ORDER BY user");
        assert.deepStrictEqual(owned.split("\n"), next.apps.map((a) => a.user).sort());
        // A read-only server (the client Service on a replica, mid-promotion): nothing is attempted.
        await db!.query(TCP, "root", root, "SET GLOBAL read_only = ON");
        const ro = await db!.reconcile(next.job);
        await db!.query(TCP, "root", root, "SET GLOBAL read_only = OFF");
        assert.strictEqual(ro.code, 1, describeRun(ro));
        assert.match(ro.stderr, /reached a read-only server/, ro.stderr);
        await notRestarted();
    });
});
