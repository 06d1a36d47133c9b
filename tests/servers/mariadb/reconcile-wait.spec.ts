// Real-server drill of the reconcile Job's wait (components/reconcileWait.ts): on a fresh install Pulumi
// applies the Job with the StatefulSet, so its script starts before mariadbd does. The rendered dev Job runs
// (helpers/mariadb reconcile()) against a local mariadbd: started a few seconds AFTER the script, the Job must
// wait and complete; with no server and a short bound it must fail naming the host and the last error; with a
// wrong password (root's and the Job's both unknown to the server) it must exit at once naming ERROR 1045.
// Prints each run's time and the wait lines.

import * as assert from "assert";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, mariadbPasswordKey, MariaDbRendered } from "../../helpers/mariadb";
import { stackConfig } from "../../helpers/kafka/rendered";
import { describeRun, randomToken } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { MARIADB_GENERATED } from "../../../components/mariadb";
import { RECONCILE_WAIT_ENV } from "../../../components/reconcileWait";

registerRealServerSummary();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const START_DELAY_MS = 5_000;

describe("real servers: MariaDB's reconcile Job started before the server waits for it (fresh install)", function () {
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let first: MariaDbRendered;
    const seed = `reconcile-wait-${randomToken(8)}`;
    const show = (label: string, r: { code: number | null; ms: number; stdout: string; stderr: string }) =>
        console.log(`      ${label}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s\n${(r.stdout + r.stderr).trim().replace(/^/gm, "        | ")}`);

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        stopClock = startClock("mariadb-reconcile-wait");
        first = await render();
        db = new LocalMariaDb("mariadb-reconcile-wait", first, bins);
        await db.initialise();
    });
    after(async function () {
        await db?.dispose();
        stopClock?.();
    });
    function render(generated?: Record<string, string>): Promise<MariaDbRendered> {
        return loadRendered("dev", stackConfig("dev"), seed, generated);
    }

    it("no server and a 4 s bound: exits 1 after the bound, naming the host and the last error", async function () {
        const r = await db!.reconcile(first.job, {}, { [RECONCILE_WAIT_ENV]: "4" });
        show("no server, bound 4 s", r);
        assert.strictEqual(r.code, 1, describeRun(r));
        assert.match(r.stderr, /the server 127\.0\.0\.1 did not answer within 4 s; last error: ERROR 2002 /, r.stderr);
        assert.ok(r.ms >= 4_000 && r.ms < 30_000, `exited after ${r.ms} ms`);
    });

    it(`the script started ${START_DELAY_MS / 1000} s before the server: it waits (one line per ~15 s) and completes its first run`, async function () {
        const job = db!.reconcile(first.job);
        await sleep(START_DELAY_MS);
        await db!.startServer("server", { reconcile: false });
        const r = await job;
        show("script started before the server", r);
        assert.strictEqual(r.code, 0, `the Job started before the server failed: ${describeRun(r)}`);
        assert.match(r.stdout, /reconcile: waiting for the server 127\.0\.0\.1 \(\d+ s of 300 s\): ERROR 2002 /, r.stdout);
        assert.match(r.stdout, /answers after \d+ s/, r.stdout);
        assert.match(r.stdout, /\(re\)created the account reconcile as root/, r.stdout);
        assert.ok(r.ms >= START_DELAY_MS, `done after ${r.ms} ms`);
    });

    it("a wrong password (root's and the Job's both unknown to the server): exits 1 at once naming ERROR 1045, not waited on", async function () {
        const wrong = await render({ [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: randomToken(32), [mariadbPasswordKey(MARIADB_GENERATED.reconcilePassword)]: randomToken(32) });
        const r = await db!.reconcile(wrong.job);
        show("wrong password", r);
        assert.strictEqual(r.code, 1, describeRun(r));
        assert.match(r.stderr, /refuses both reconcile and root \(ERROR 1045 /, r.stderr);
        assert.doesNotMatch(r.stdout, /waiting for/, r.stdout);
        assert.ok(r.ms < 15_000, `took ${r.ms} ms: a refused login must not be waited on`);
    });
});
