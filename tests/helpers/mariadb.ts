// A local mariadbd run the way the official image runs it, on the RENDERED my.cnf, init.sql, root password
// and (when the stack has TLS) certificates: the first-start steps of the image's entrypoint are emulated,
// and only paths the machine cannot have (data volume, socket, temp dir, mounted files) are substituted.
// Shared by the real-server specs.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MARIADB_PATHS } from "../../components/mariadb";
import { find } from "../../scripts/lib/manifests";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { secretData } from "../../scripts/lib/rendered";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, run, startServer, waitFor, type RunResult, type ServerProcess } from "../../scripts/lib/servers";
import { optionalCnfOption, renderedReconcileJob, rewriteCnf, SECTION, type MariaDbRendered, type RenderedJob } from "./mariadbRendered";

// What the rendered stack gives the container (my.cnf options, loadRendered) is in mariadbRendered.ts;
// re-exported so the specs import one module.
export * from "./mariadbRendered";

export const BINARIES = ["mariadbd", "mariadb-install-db", "mariadb"];
export const INSTALL_HINT = "install: apt-get install mariadb-server mariadb-client";

// ---------------------------------------------------------------------------------------------------
// A local server run the way the image runs it

/** SQL string literal escaping of the entrypoint's docker_sql_escape_string_literal. */
export function entrypointEscape(s: string): string {
    return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/'/g, "\\'");
}

/** Lines of a server log that report an error (init_file failures are logged as `ERROR: <code> <message>`). */
export function errorLines(log: string): string[] {
    return log.split("\n").filter((l) => /^ERROR: \d+/.test(l) || /\[ERROR\]/.test(l));
}

/** How a client connects: the socket, or TCP to 127.0.0.1 (plain, or TLS trusting `ca`). */
export type Target = { socket: true } | { tcp: true; tlsCa?: string; noTls?: boolean };

/** The OS user the test server runs as: `mysql` (from Debian's package) when the test runs as root, else the caller. */
function serverUser(): { name: string; uid: number; gid: number } {
    if (process.getuid?.() !== 0) {
        const me = os.userInfo();
        return { name: me.username, uid: me.uid, gid: me.gid };
    }
    const line = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((l) => l.startsWith("mysql:"));
    if (!line) {
        throw new Error("the tests run mariadbd as the unprivileged user mysql, which /etc/passwd lacks (apt-get install mariadb-server creates it)");
    }
    const [, , uid, gid] = line.split(":");
    return { name: "mysql", uid: Number(uid), gid: Number(gid) };
}

export class LocalMariaDb {
    readonly dir: string;
    /** Stands for the data volume, mounted at MARIADB_PATHS.data in the pod. */
    readonly volumeDir: string;
    /** The rendered datadir, on that volume. */
    dataDir: string;
    readonly tmpDir: string;
    readonly socket: string;
    readonly cnfFile: string;
    readonly initCopy: string;
    healthcheckCnf: string;
    /** Copy of the root password file the Secret mounts (MARIADB_ROOT_PASSWORD_FILE). */
    readonly rootPasswordFile: string;
    /** Like the pod's uid 999: the server, the init container and the reloader run unprivileged. */
    readonly user = serverUser();
    port = 0;
    server?: ServerProcess;
    /** Arguments the image's entrypoint passes to mariadbd (and to its temporary server): a start script's. */
    serverArgs: string[] = [];
    /** The CA certificate clients trust (a copy of the rendered ca.crt), when the stack has TLS. */
    caFile?: string;
    /** Every log the server wrote, one per start: [label, file]. */
    readonly logs: [string, string][] = [];
    private starts = 0;
    private jobRuns = 0;
    /** The name of the last reconcile Job that completed against this server. */
    appliedJob?: string;

    private legacyLayout: boolean;
    private tlsFiles: Record<string, string> = {};

    /**
     * `legacyLayout`: run the server as renders before the datadir moved did: datadir at the volume root and
     * no prepare-volume step (to build volumes that the migration must handle).
     */
    constructor(
        readonly label: string,
        public rendered: MariaDbRendered,
        readonly bins: Record<string, string>,
        opts: { legacyLayout?: boolean } = {},
    ) {
        this.dir = makeTempDir(label);
        this.volumeDir = path.join(this.dir, "volume");
        fs.mkdirSync(this.volumeDir);
        // The rendered datadir and tmpdir, mapped onto the stand-in volume (a render without them: the volume root).
        this.legacyLayout = opts.legacyLayout ?? false;
        this.dataDir = this.onVolume(this.legacyLayout ? MARIADB_PATHS.data : (optionalCnfOption(rendered.myCnf, "datadir") ?? MARIADB_PATHS.data));
        this.rootPasswordFile = path.join(this.dir, "credentials", "root-password");
        // The earlier layout had tmpdir on the pod's /tmp emptyDir.
        const renderedTmp = this.legacyLayout ? undefined : optionalCnfOption(rendered.myCnf, "tmpdir");
        this.tmpDir = renderedTmp ? this.onVolume(renderedTmp) : path.join(this.dir, "tmp");
        this.socket = path.join(this.dir, "mysqld.sock");
        this.cnfFile = path.join(this.dir, "my.cnf");
        this.initCopy = path.join(this.dir, "init.sql");
        this.healthcheckCnf = path.join(this.dataDir, ".my-healthcheck.cnf");
        if (!renderedTmp) fs.mkdirSync(this.tmpDir);
        this.own(this.dir);
    }

    /** A path of the pod's data volume, on the stand-in volume. */
    onVolume(podPath: string): string {
        const rel = path.posix.relative(MARIADB_PATHS.data, podPath);
        if (rel.startsWith("..")) throw new Error(`${podPath} is not on the data volume (${MARIADB_PATHS.data})`);
        return path.join(this.volumeDir, rel);
    }

    /** Hands a path (recursively) to the server's user; a volume's lost+found stays as mkfs left it. */
    own(p: string): void {
        if (process.getuid?.() !== 0) return;
        const walk = (q: string) => {
            if (path.basename(q) === "lost+found") return;
            fs.lchownSync(q, this.user.uid, this.user.gid);
            if (fs.lstatSync(q).isDirectory()) for (const e of fs.readdirSync(q)) walk(path.join(q, e));
        };
        walk(p);
    }

    /** Copies of what the Secrets mount: init.sql, the root password file and (with TLS) the certificate files. */
    writeFiles(): void {
        fs.writeFileSync(this.initCopy, this.rendered.initSql, { mode: 0o600 });
        fs.mkdirSync(path.dirname(this.rootPasswordFile), { recursive: true, mode: 0o700 });
        fs.writeFileSync(this.rootPasswordFile, this.rendered.root.password, { mode: 0o600 });
        // With TLS, the certificate files are copies of the rendered Secret's keys at <tmp>/tls/.
        if (this.rendered.tls) {
            const dir = path.join(this.dir, "tls");
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            for (const [option, file, content] of [
                ["ssl_cert", "tls.crt", this.rendered.tls.cert],
                ["ssl_key", "tls.key", this.rendered.tls.key],
                ["ssl_ca", "ca.crt", this.rendered.tls.ca],
            ] as const) {
                fs.writeFileSync(path.join(dir, file), content, { mode: 0o600 });
                this.tlsFiles[option] = path.join(dir, file);
            }
            this.caFile = this.tlsFiles.ssl_ca;
        }
        this.own(this.dir);
    }

    /**
     * The temp my.cnf is the rendered text, with in its [mariadbd] section only:
     *   init_file, ssl_cert, ssl_key, ssl_ca
     *                      replaced (→ copies in <tmp> of the Secrets mounted at the rendered paths)
     *   datadir, tmpdir    replaced (→ the rendered paths on the stand-in volume)
     *   socket, port, bind-address (127.0.0.1), pid-file
     *                      added (the image sets these outside this file; here they point into <tmp>)
     */
    writeConfig(): void {
        fs.writeFileSync(
            this.cnfFile,
            rewriteCnf(this.rendered.myCnf, SECTION, {
                ...this.tlsFiles,
                init_file: this.initCopy,
                datadir: this.dataDir,
                tmpdir: this.tmpDir,
                socket: this.socket,
                port: String(this.port),
                "bind-address": "127.0.0.1",
                "pid-file": path.join(this.dir, "mariadbd.pid"),
            }),
            { mode: 0o600 },
        );
        this.own(this.cnfFile);
    }

    /**
     * From now on, run as the current render does (after a legacy-layout start): prepare-volume before each
     * start, the rendered datadir. The volume is left as it is: migrating it is prepare-volume's job.
     */
    useRenderedLayout(): void {
        this.legacyLayout = false;
        this.dataDir = this.onVolume(optionalCnfOption(this.rendered.myCnf, "datadir") ?? MARIADB_PATHS.data);
        this.healthcheckCnf = path.join(this.dataDir, ".my-healthcheck.cnf");
        this.writeConfig();
    }

    /** A new render of the stack (rotated passwords, changed users): its Secrets' content replaces the copies. */
    rotate(next: MariaDbRendered): void {
        this.rendered = next;
        this.writeFiles();
        this.writeConfig();
    }

    /**
     * Runs the rendered reconcile Job as the cluster would once the StatefulSet is ready: its script and files
     * as rendered, against this server. Only what the pod's network gives it differs: the option files'
     * host/port (the client Service -> 127.0.0.1:<port>), the CA path, (TLS) no host-name check, and the
     * replicas' pod names (file `replicas`) -> 127.0.0.1:<port of each in `replicas`; a name not given: a
     * closed port, i.e. a pod that is down). `job` defaults to the current render's. Returns the run (the
     * caller asserts), with the wall time from the Job start to its exit. `extraEnv`: e.g. a shorter wait bound.
     */
    async reconcile(job: RenderedJob = this.rendered.job, replicas: Record<string, number> = {}, extraEnv: Record<string, string> = {}): Promise<RunResult & { ms: number }> {
        const root = path.join(this.dir, `job-${++this.jobRuns}`);
        const files: Record<string, string> = {};
        for (const [mountPath, content] of Object.entries(job.mounts)) {
            const dir = path.join(root, mountPath);
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
            files[mountPath] = dir;
            for (const [name, text] of Object.entries(content)) {
                const local = name.endsWith(".cnf")
                    ? text
                          .replace(/^host = .*$/m, "host = 127.0.0.1")
                          .replace(/^port = .*$/m, `port = ${this.port}`)
                          .replace(/^ssl-ca = .*$/m, this.caFile ? `ssl-ca = ${this.caFile}` : "")
                          // The certificate names the client Service, which this machine cannot resolve: the CA stays, the name check goes.
                          .replace(/^ssl-verify-server-cert$/m, "")
                    : name === "replicas"
                      ? text.replace(/^(\S+) \d+$/gm, (_, host: string) => `127.0.0.1 ${replicas[host] ?? 1}`)
                      : text;
                fs.writeFileSync(path.join(dir, name), local, { mode: 0o600 });
            }
        }
        const [shell, script] = job.command;
        assert.ok(shell === "bash" && typeof script === "string", `reconcile Job: expected [bash, script], got ${JSON.stringify(job.command)}`);
        const scriptDir = path.posix.dirname(script);
        const credentials = Object.keys(job.mounts).find((m) => m !== scriptDir && "reconcile.cnf" in job.mounts[m]);
        assert.ok(files[scriptDir] && credentials, `reconcile Job: mounts ${Object.keys(job.mounts).join(", ")}`);
        const started = Date.now();
        const r = await run("bash", [path.join(files[scriptDir], path.posix.basename(script))], {
            env: { PATH: `${path.dirname(this.bins.mariadb)}:${process.env.PATH}`, HOME: root, LANG: "C", RECONCILE_CREDENTIALS: files[credentials], ...extraEnv },
            timeoutMs: 120_000,
        });
        if (r.code === 0) this.appliedJob = job.name;
        return { ...r, ms: Date.now() - started };
    }

    /** mariadbd switches to its unprivileged user itself (like the image's gosu) when started as root. */
    private userArgs(): string[] {
        return process.getuid?.() === 0 ? [`--user=${this.user.name}`] : [];
    }

    /**
     * Runs the rendered init container (prepare-volume) as the pod does before each start: its script
     * unchanged except the volume's mount path, as the server's user.
     */
    async prepareVolume(): Promise<RunResult | undefined> {
        const cmd = this.rendered.prepareVolume;
        if (!cmd || this.legacyLayout) return undefined;
        const [shell, flag, script] = cmd;
        assert.ok(shell === "bash" && flag === "-c" && typeof script === "string", `prepare-volume: expected [bash, -c, script], got ${JSON.stringify(cmd)}`);
        const local = script.split(MARIADB_PATHS.data).join(this.volumeDir);
        const r = await run("bash", ["-c", local], { env: { PATH: process.env.PATH, LANG: "C" }, uid: this.user.uid, gid: this.user.gid, timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, `prepare-volume: ${describeRun(r)}`);
        return r;
    }

    env(password?: string): NodeJS.ProcessEnv {
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.dir, LANG: "C" };
        if (password !== undefined) env.MYSQL_PWD = password;
        return env;
    }

    /** Runs SQL with the mariadb client (no option files), over the socket or TCP 127.0.0.1. */
    sql(target: Target, user: string, password: string | undefined, statement: string, opts: { database?: string; input?: string; columnNames?: boolean } = {}): Promise<RunResult> {
        const args = ["--no-defaults", `--user=${user}`, "--batch", "--connect-timeout=5"];
        if (!opts.columnNames) args.push("--skip-column-names");
        args.push(...("socket" in target ? ["--protocol=socket", `--socket=${this.socket}`] : ["--protocol=tcp", "--host=127.0.0.1", `--port=${this.port}`]));
        if ("tcp" in target && target.tlsCa) args.push("--ssl", `--ssl-ca=${target.tlsCa}`);
        if ("tcp" in target && target.noTls) args.push("--skip-ssl");
        if (opts.database) args.push(`--database=${opts.database}`);
        if (statement) args.push("--execute", statement);
        return run(this.bins.mariadb, args, { env: this.env(password ?? ""), input: opts.input, timeoutMs: 15_000 });
    }

    /** Like sql() but the statement must succeed; returns stdout. */
    async query(target: Target, user: string, password: string, statement: string, database?: string): Promise<string> {
        const r = await this.sql(target, user, password, statement, { database });
        assert.strictEqual(r.code, 0, `${user}@${"socket" in target ? "socket" : "tcp"}: ${statement}: ${describeRun(r)}`);
        return r.stdout.trim();
    }

    start(extra: string[], purpose: string): ServerProcess {
        this.starts += 1;
        const log = path.join(this.dir, `mariadbd-${this.starts}-${purpose}.log`);
        this.logs.push([purpose, log]);
        // --defaults-file must come first: only the derived copy of the rendered my.cnf is read.
        this.server = startServer(`mariadbd (${purpose})`, this.bins.mariadbd, [`--defaults-file=${this.cnfFile}`, ...this.userArgs(), ...extra], { logFile: log });
        return this.server;
    }

    /**
     * Prepares the temp dir and the data dir the way the image does on first start (docker-entrypoint.sh,
     * docker_mariadb_init): mariadb-install-db, a temporary server without networking (which reads the
     * generated config, so the init_file runs there first), the root/healthcheck setup SQL with the
     * password from MARIADB_ROOT_PASSWORD_FILE, then the temporary server stops.
     */
    async initialise(): Promise<void> {
        this.port = await freePort();
        await this.prepareVolume();
        this.writeFiles();
        this.writeConfig();

        // As the server's user, like the image's entrypoint after gosu: it can chown nothing it does not own.
        const install = await run(
            this.bins["mariadb-install-db"],
            [`--no-defaults`, `--datadir=${this.dataDir}`, "--auth-root-authentication-method=normal", "--skip-test-db"],
            { env: this.env(), timeoutMs: 45_000, uid: this.user.uid, gid: this.user.gid },
        );
        assert.strictEqual(install.code, 0, `mariadb-install-db: ${describeRun(install)}`);

        // docker_temp_server_start: the generated config plus the entrypoint's own flags.
        const temp = this.start(
            [...this.serverArgs, "--skip-networking", "--default-time-zone=SYSTEM", `--socket=${this.socket}`, "--wsrep_on=OFF", "--expire-logs-days=0", "--loose-innodb_buffer_pool_load_at_startup=0"],
            "entrypoint-temp",
        );
        await waitFor("the temporary server (socket, root without password)", async () => (await this.sql({ socket: true }, "root", "", "SELECT 1", { database: "mysql" })).code === 0, {
            server: temp,
            timeoutMs: 30_000,
        });

        // docker_setup_db (timezone tables skipped: irrelevant here, and slow): root@localhost gets the
        // password, root@'%' is created with it, healthcheck users get a random password and a cnf file.
        const rootPw = entrypointEscape(this.rendered.root.password);
        const hcPw = randomToken(32);
        const hc = ["127.0.0.1", "::1", "localhost"].flatMap((h) => [
            `CREATE USER IF NOT EXISTS healthcheck@'${h}' IDENTIFIED BY '${hcPw}';`,
            `SET PASSWORD FOR healthcheck@'${h}' = PASSWORD('${hcPw}');`,
            `GRANT USAGE ON *.* TO healthcheck@'${h}';`,
        ]);
        const setup = [
            "SET @orig_sql_log_bin= @@SESSION.SQL_LOG_BIN;",
            "SET @@SESSION.SQL_LOG_BIN=0;",
            "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');",
            "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';",
            "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');",
            `SET PASSWORD FOR 'root'@'localhost'= PASSWORD('${rootPw}');`,
            `CREATE USER 'root'@'%' IDENTIFIED BY '${rootPw}' ;`,
            "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION ;",
            "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;",
            ...hc,
            "SET @@SESSION.SQL_LOG_BIN=@orig_sql_log_bin;",
        ].join("\n");
        const r = await run(this.bins.mariadb, ["--no-defaults", "--protocol=socket", "-uroot", "-hlocalhost", `--socket=${this.socket}`, "--database=mysql", "--binary-mode"], {
            env: this.env(""),
            input: setup,
            timeoutMs: 15_000,
        });
        assert.strictEqual(r.code, 0, `entrypoint root setup SQL: ${describeRun(r)}`);
        fs.writeFileSync(this.healthcheckCnf, `[mariadb-client]\nport=${this.port}\nsocket=${this.socket}\nuser=healthcheck\npassword=${hcPw}\nprotocol=tcp\n`, { mode: 0o600 });
        this.own(this.healthcheckCnf);

        // docker_temp_server_stop: kill + wait.
        const stopped = await temp.stop();
        assert.ok(!stopped.killed && stopped.code === 0, `temporary server did not stop cleanly: ${JSON.stringify(stopped)}\n${temp.logTail()}`);
    }

    /**
     * Starts the server as the container does (entrypoint → exec mariadbd, options from the config). Then, as
     * `pulumi up` does once the StatefulSet is ready, the reconcile Job runs if the render names a Job this
     * server has not run yet (a Job is named by its content: the same render runs none) and the server is
     * writable (the Job reaches the primary through the client Service; replicas get its changes by replication).
     * `reconcile: false`: no Job (a stack from before the Job existed).
     */
    async startServer(purpose = "server", opts: { reconcile?: boolean } = {}): Promise<ServerProcess> {
        await this.prepareVolume();
        const s = this.start(this.serverArgs, purpose);
        await waitFor("mariadbd to accept root over TCP with the generated password", async () => (await this.sql(this.tcp(), "root", this.rendered.root.password, "SELECT 1")).code === 0, {
            server: s,
            timeoutMs: 30_000,
        });
        if (opts.reconcile !== false && this.rendered.job.name !== this.appliedJob && (await this.query(this.tcp(), "root", this.rendered.root.password, "SELECT @@read_only")) === "0") {
            const r = await this.reconcile();
            assert.strictEqual(r.code, 0, `the reconcile Job ${this.rendered.job.name}: ${describeRun(r)}`);
        }
        return s;
    }

    /** TCP as a client of this stack connects: over TLS trusting the stack's CA when it has TLS. */
    tcp(): Target {
        return this.caFile ? { tcp: true, tlsCa: this.caFile } : { tcp: true };
    }

    async stopServer(): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
        const s = this.server;
        if (!s) return { code: null, signal: null, killed: false };
        const how = await s.stop(30_000);
        return how;
    }

    /** The log of the last start. */
    lastLog(): string {
        return fs.readFileSync(this.logs[this.logs.length - 1][1], "utf8");
    }

    /** Error lines of every log so far, labelled. */
    allErrors(): string[] {
        return this.logs.flatMap(([label, file]) => errorLines(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "").map((l) => `${label}: ${l}`));
    }

    // healthcheck.sh equivalents (the script itself is not in Debian). Same client, same user
    // (healthcheck, from the .my-healthcheck.cnf the entrypoint writes), same queries and verdicts; the only
    // difference: TCP goes to 127.0.0.1 instead of "localhost", because the test server listens on IPv4 loopback.
    private healthcheckSql(args: string[]): Promise<RunResult> {
        return run(this.bins.mariadb, [`--defaults-file=${this.healthcheckCnf}`, ...args], { env: this.env(), timeoutMs: 10_000 });
    }

    /** healthcheck.sh --connect: socket `select @@skip_networking` (0 passes, 1 fails), else the TCP fallback. */
    async healthcheckConnect(): Promise<{ ok: boolean; detail: string }> {
        const s = await this.healthcheckSql(["--protocol", "socket", "-B", "--skip-column-names", "-e", "select @@skip_networking"]);
        const viaSocket = s.stdout.trim();
        if (viaSocket === "0" || viaSocket === "1") {
            return { ok: viaSocket === "0", detail: `socket: skip_networking=${viaSocket}` };
        }
        const t = await this.healthcheckSql(["-h", "127.0.0.1", "--protocol", "tcp", "--skip-column-names", "--batch", "--skip-print-query-on-error", "-e", "select @@skip_networking"]);
        const out = `${t.stdout}${t.stderr}`.trim();
        if (out === "1" || /^ERROR 2002 \(HY000\):/.test(out)) return { ok: false, detail: `tcp: ${out}` };
        if (out === "0" || /^ERROR (1820|4151) \(HY000\)/.test(out) || /^ERROR 1226 \(42000\)/.test(out) || /^ERROR 1\d{3} \(28000\):/.test(out)) {
            return { ok: true, detail: `tcp: ${out}` };
        }
        return { ok: false, detail: `socket: ${describeRun(s)}; tcp: unknown error ${out}` };
    }

    /** healthcheck.sh --innodb_initialized: InnoDB listed as available in information_schema.ENGINES. */
    async healthcheckInnodbInitialized(): Promise<{ ok: boolean; detail: string }> {
        const r = await this.healthcheckSql([
            "--protocol",
            "socket",
            "-B",
            "--skip-column-names",
            "-e",
            "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')",
        ]);
        return { ok: r.stdout.trim() === "1", detail: describeRun(r) };
    }

    /**
     * The verdict of a rendered probe: healthcheck.sh and its test flags, test by test like the script; or a
     * rendered script (`bash <mounted file>`), run for real as the server's user with only the datadir's path
     * localised, and the healthcheck.sh it runs judged the same way (a shim on PATH records its arguments).
     */
    async probe(kind: "startupProbe" | "readinessProbe" | "livenessProbe"): Promise<{ ok: boolean; detail: string }> {
        const command: string[] = this.rendered.container[kind]?.exec?.command;
        if (Array.isArray(command) && command[0] === "bash") return this.probeScript(kind, command);
        assert.ok(Array.isArray(command) && path.basename(command[0]) === "healthcheck.sh", `${kind}: expected healthcheck.sh, got ${JSON.stringify(command)}`);
        return this.healthcheck(kind, command);
    }

    private async probeScript(kind: string, command: string[]): Promise<{ ok: boolean; detail: string }> {
        const text = this.rendered.probeScripts[command[1]];
        assert.ok(command.length === 2 && text !== undefined, `${kind}: ${JSON.stringify(command)} runs no rendered file`);
        const shims = path.join(this.dir, "probe-shims");
        if (!fs.existsSync(shims)) {
            fs.mkdirSync(shims, { mode: 0o755 });
            fs.writeFileSync(path.join(shims, "healthcheck.sh"), '#!/bin/bash\nprintf "%s\\n" "$0" "$@" > "$SHIM_OUT"\n', { mode: 0o755 });
            this.own(shims);
        }
        const out = path.join(shims, `args-${randomToken(6)}`);
        const local = text.split(MARIADB_PATHS.datadir).join(this.dataDir);
        const r = await run("bash", ["-c", local], { env: { ...this.env(), PATH: `${shims}:${process.env.PATH}`, SHIM_OUT: out }, uid: this.user.uid, gid: this.user.gid, timeoutMs: 10_000 });
        const said = `${r.stdout}${r.stderr}`.trim();
        if (r.code !== 0) {
            fs.rmSync(out, { force: true });
            return { ok: false, detail: `${path.basename(command[1])}: exit ${r.code}: ${said}` };
        }
        assert.ok(fs.existsSync(out), `${kind}: ${command[1]} passed without running healthcheck.sh: ${describeRun(r)}`);
        // Judged as the rendered command would be: with the pod's paths the script was localised from.
        const args = fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((a) => a.split(this.dataDir).join(MARIADB_PATHS.datadir));
        fs.rmSync(out, { force: true });
        const v = await this.healthcheck(kind, [path.basename(args[0]), ...args.slice(1)]);
        return { ok: v.ok, detail: `${path.basename(command[1])}: exit 0${said ? ` (${said})` : ""}, then ${args.slice(1).join(" ")}: ${v.detail}` };
    }

    private async healthcheck(kind: string, command: string[]): Promise<{ ok: boolean; detail: string }> {
        const details: string[] = [];
        for (const flag of command.slice(1)) {
            const extra = /^--defaults-extra-file=(.+)$/.exec(flag);
            if (extra) {
                // The healthcheck user's option file the entrypoint writes into the datadir.
                assert.strictEqual(this.onVolume(extra[1]), this.healthcheckCnf, `${kind}: ${flag} is not the entrypoint's healthcheck file in the rendered datadir`);
                continue;
            }
            const check =
                flag === "--connect" ? () => this.healthcheckConnect() : flag === "--innodb_initialized" ? () => this.healthcheckInnodbInitialized() : undefined;
            if (!check) throw new Error(`${kind}: no equivalent for healthcheck.sh ${flag} in this test`);
            const v = await check();
            details.push(`${flag}: ${v.ok ? "ok" : "FAILED"} (${v.detail})`);
            if (!v.ok) return { ok: false, detail: details.join("; ") };
        }
        return { ok: true, detail: details.join("; ") };
    }

    async dispose(): Promise<void> {
        if (this.server?.running) {
            const how = await this.stopServer();
            assert.ok(!how.killed, `${this.label}: mariadbd ignored SIGTERM and had to be killed`);
        }
        removeTempDir(this.dir);
    }
}

export const TCP: Target = { tcp: true };
export const SOCKET: Target = { socket: true };
export const PROBES = ["startupProbe", "readinessProbe", "livenessProbe"] as const;

/** Size option values (409M) in bytes; other values as the server prints them. */
export function expectedVariable(value: string | undefined): string {
    if (value === undefined) return "1"; // a bare flag such as skip-name-resolve
    const size = /^(\d+)([KMG])$/i.exec(value);
    if (size) return String(Number(size[1]) * 1024 ** ("KMG".indexOf(size[2].toUpperCase()) + 1));
    return value;
}

/**
 * loadRendered's view (from its own render) with the generated values of `objects` (another render of the
 * same config): init.sql, the root password, the application passwords and the reconcile Job, so the server,
 * the Job and the CronJobs' option files come from one render. Everything else (my.cnf, paths, the containers) is render-independent.
 */
export function withSecretsOf(rd: MariaDbRendered, objects: Manifest[]): MariaDbRendered {
    const secret = (name: string) => secretData(find(objects, "Secret", "db", name));
    return {
        ...rd,
        initSql: secret("mariadb-init")["init.sql"],
        root: { ...rd.root, password: secret("mariadb-credentials")["root-password"] },
        apps: rd.apps.map((a) => ({ ...a, password: secret(a.secret).password })),
        job: renderedReconcileJob(objects, "db"),
    };
}
