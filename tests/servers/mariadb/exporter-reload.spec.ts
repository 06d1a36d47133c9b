// Real mysqld_exporter v0.20.0 (the rendered default image's version) against a real mariadbd: a rotated
// exporter password reaches the running sidecar without a restart. The sidecar's rendered command runs
// under busybox sh with only the busybox applets the image has (sh, sha256sum, wget, sleep); only the option
// file's path, the exporter binary's path and the metrics port are local. Steps: the exporter scrapes
// (mysql_up 1); the password is rotated (a render with a new exporter-password) and the rendered reconcile
// Job sets it on the server; the exporter, still on the old one, reports mysql_up 0; the option file is
// replaced as the kubelet refreshes a Secret volume (an atomic rename); the sidecar's loop reloads it and
// mysql_up is 1 again, with the same exporter process; the old password is refused.
//
// The binary: the Go module proxy refuses github.com/prometheus/mysqld_exporter itself (tests/servers/
// exporters.spec.ts), but serves its dependencies: it is built from the v0.20.0 source tree (`CGO_ENABLED=0
// go build -trimpath -ldflags "-s -w" .` in a checkout of tag v0.20.0) and found at $MYSQLD_EXPORTER or
// ~/.cache/msa-infra/mysqld_exporter-v0.20.0/bin/mysqld_exporter. Without it the test runs the sidecar's
// command against tests/helpers/mysqldExporterStandin.js instead and says so: that stand-in keeps v0.20.0's
// reload contract, so it still proves the sidecar's loop, but not the exporter's own reload.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MARIADB_BACKUP_PATHS, MARIADB_GENERATED, MARIADB_PATHS } from "../../../components/mariadb";
import { MARIADB_EXPORTER_PORT } from "../../../components/monitoring/mariadb";
import { renderStack, type Manifest } from "../../../scripts/lib/mockRuntime";
import { find, podSpec } from "../../../scripts/lib/manifests";
import { secretData, type Container } from "../../../scripts/lib/rendered";
import { BINARIES, INSTALL_HINT, loadRendered, LocalMariaDb, mariadbPasswordKey, SOCKET } from "../../helpers/mariadb";
import { httpGet, parseMetrics, prodWithoutTls, sampleValue } from "../../helpers/ops";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";

registerRealServerSummary();

const EXPORTER_VERSION = "v0.20.0";

function exporterBinary(): string | undefined {
    const candidates = [process.env.MYSQLD_EXPORTER, path.join(os.homedir(), ".cache", "msa-infra", `mysqld_exporter-${EXPORTER_VERSION}`, "bin", "mysqld_exporter")];
    return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

describe(`real servers: mysqld_exporter ${EXPORTER_VERSION} picks up a rotated exporter password without a restart (the rendered sidecar command)`, function () {
    this.timeout(180_000);
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let exporter: ServerProcess | undefined;
    let work = "";
    let port = 0;
    let cnf = "";
    const seed = `exporter-reload-${randomToken(8)}`;
    const config = prodWithoutTls();

    const render = async (generated: Record<string, string> = {}): Promise<Manifest[]> =>
        (await renderStack("prod", { withSecrets: true, config, seed, generated: new Map(Object.entries(generated).map(([k, v]) => [k, { result: v }])) })).objects;
    /** The rendered option file with the pod's socket path made local. */
    const optionFile = (objects: Manifest[]) => secretData(find(objects, "Secret", "db", "mariadb-exporter-credentials"))["my.cnf"].replace(MARIADB_PATHS.socket, db!.socket);
    const up = async () => sampleValue(parseMetrics((await httpGet(port)).body), "mysql_up");
    const passwordOf = (text: string) => /^password = (\S+)$/m.exec(text)![1];

    before(async function () {
        const bins = requireBinaries(this, BINARIES, INSTALL_HINT);
        const busybox = requireBinaries(this, ["busybox"], "apt-get install busybox").busybox;
        stopClock = startClock("mariadb-exporter-reload");
        work = makeTempDir("mariadb-exporter-reload");
        let bin = exporterBinary();
        if (!bin) {
            // No registry serves the exporter: the stand-in (the same reload contract) runs the sidecar's loop.
            bin = path.join(work, "mysqld_exporter-standin");
            fs.writeFileSync(bin, `#!${process.execPath}\nrequire(${JSON.stringify(path.resolve(__dirname, "../../helpers/mysqldExporterStandin.js"))});\n`, { mode: 0o755 });
            console.log(
                `      no mysqld_exporter ${EXPORTER_VERSION} binary ($MYSQLD_EXPORTER or ~/.cache/msa-infra/mysqld_exporter-${EXPORTER_VERSION}/bin): ` +
                    `the stand-in tests/helpers/mysqldExporterStandin.js runs instead (proves the sidecar's loop, not the exporter's own reload)`,
            );
        }
        db = new LocalMariaDb("mariadb-exporter-reload", await loadRendered("prod", config, seed), bins);
        await db.initialise();
        await db.startServer();

        const objects = await render();
        const sts = find(objects, "StatefulSet", "db", "mariadb");
        const c = (podSpec(sts).containers as Container[]).find((x) => x.name === "mysqld-exporter")!;
        port = await freePort();
        cnf = path.join(work, "my.cnf");
        fs.writeFileSync(cnf, optionFile(objects), { mode: 0o600 });
        const localise = (text: string) => {
            for (const [from, to] of [
                [MARIADB_BACKUP_PATHS.exporterFile, cnf],
                ["/bin/mysqld_exporter", bin!],
                [`:${MARIADB_EXPORTER_PORT}`, `:${port}`],
            ]) {
                text = text.split(from).join(to);
            }
            return text;
        };
        const command = (c.command ?? []).map(localise);
        assert.ok(command.some((a) => a.includes(cnf)) && command.some((a) => a.includes(bin!)) && command.some((a) => a.includes(`:${port}`)), `the sidecar's command: ${JSON.stringify(c.command)}`);
        // Only busybox's applets, as in the image (quay.io/prometheus/busybox).
        const applets = path.join(work, "bin");
        fs.mkdirSync(applets);
        for (const a of ["sh", "sha256sum", "wget", "sleep"]) fs.symlinkSync(busybox, path.join(applets, a));
        const [program, ...args] = command;
        console.log(`      the sidecar's rendered command: ${program === "sh" ? "sh -c <script>" : program} (option file, binary and port made local), under busybox`);
        exporter = startServer("mysqld_exporter (sidecar command)", program === "sh" ? path.join(applets, "sh") : program, args, {
            logFile: path.join(work, "exporter.log"),
            env: { PATH: applets, MYSQLD_EXPORTER_STANDIN_CLIENT: bins.mariadb },
        });
        await waitFor("the exporter to scrape the server (mysql_up 1)", async () => (await httpGet(port).catch(() => undefined))?.status === 200 && (await up()) === 1, { server: exporter, timeoutMs: 30_000 });
    });

    after(async function () {
        await exporter?.stop(5_000);
        await db?.dispose();
        if (work) removeTempDir(work);
        stopClock?.();
    });

    it("rotated: the Job sets it live, the sidecar reloads the refreshed option file (same process), mysql_up is 1 again and the old password is refused", async function () {
        const oldPassword = passwordOf(fs.readFileSync(cnf, "utf8"));
        const pid = exporter!.child.pid;
        const next = randomToken(32);
        const generated = { [mariadbPasswordKey(MARIADB_GENERATED.exporterPassword)]: next };
        const rotated = await loadRendered("prod", config, seed, generated);
        const job = await db!.reconcile(rotated.job);
        assert.strictEqual(job.code, 0, `the reconcile Job: ${describeRun(job)}`);
        const stale = await up();
        assert.strictEqual(stale, 0, "before the kubelet refreshes the file the exporter still logs in with the old password (mysql_up 0)");

        // The kubelet's refresh of a Secret volume: the new content appears at once (an atomic rename).
        const text = optionFile(await render(generated));
        assert.strictEqual(passwordOf(text), next);
        fs.writeFileSync(`${cnf}.new`, text, { mode: 0o600 });
        const refreshedAt = Date.now();
        fs.renameSync(`${cnf}.new`, cnf);
        // The sidecar checks every MARIADB_EXPORTER_RELOAD_SECONDS (10 s): 30 s is plenty.
        await waitFor("mysql_up 1 with the new password (the option file was refreshed)", async () => (await up()) === 1, { server: exporter, timeoutMs: 30_000, intervalMs: 250 });
        const ms = Date.now() - refreshedAt;
        assert.ok(exporter!.running && exporter!.child.pid === pid, "the exporter was restarted");
        assert.match(exporter!.log(), /changed: reloaded/, "the sidecar says it reloaded");
        assert.ok(!exporter!.log().includes(next) && !exporter!.log().includes(oldPassword), "the exporter's log shows a password");
        const refused = await db!.sql(SOCKET, "exporter", oldPassword, "SELECT 1");
        assert.match(refused.stderr, /ERROR 1045/, `the old exporter password: ${describeRun(refused)}`);
        console.log(
            `      Job: ${job.ms} ms; mysql_up after the Job, before the file refresh: ${stale}; after the refresh: 1 in ${ms} ms (the sidecar checks every 10 s); exporter pid ${pid} unchanged; old password refused (1045)`,
        );
    });
});
