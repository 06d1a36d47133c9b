// Real-server test of the generated Redis configuration: a local redis-server runs the rendered redis.conf
// and ACL file (dev stack, values from renderStack with secrets) with the container's own command line,
// and the rendered probe scripts run against it. Skips locally without redis-server; fails in CI.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { persistentMountPath } from "../../../scripts/lib/rendered";
import { assertError, loadRendered, RedisConn, RedisUnderTest, RespError, show } from "../../helpers/redis";
import { directive, directives, rewriteDirectives, unquote } from "../../../scripts/lib/redisConf";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { MOUNTED_SECRETS_STATE, REDIS_CREDENTIALS_PATHS } from "../../../components/redis";

registerRealServerSummary();

// ---------------------------------------------------------------------------------------------------

describe("real servers: Redis runs the generated dev configuration", function () {
    let bins: Record<string, string> = {};
    let stopClock: (() => void) | undefined;
    let tmp: string | undefined;
    let server: ServerProcess | undefined;
    let rt: RedisUnderTest;
    let port = 0;
    let dataDir = "";
    let confFile = "";
    let serverArgv: string[] = [];
    const conns: RedisConn[] = [];

    async function connect(): Promise<RedisConn> {
        const c = await RedisConn.open(port);
        conns.push(c);
        return c;
    }

    /** A connection authenticated as `user` (the admin `default` user when omitted). */
    async function login(password: string, user?: string): Promise<RedisConn> {
        const c = await connect();
        const reply = user ? await c.command("AUTH", user, password) : await c.command("AUTH", password);
        assert.strictEqual(reply, "OK", `AUTH ${user ?? "(default)"} with the generated password: ${show(reply)}`);
        return c;
    }

    async function start(): Promise<ServerProcess> {
        const s = startServer("redis-server", serverArgv[0], serverArgv.slice(1), { logFile: path.join(tmp!, "redis.log") });
        await waitFor(
            "redis-server to answer PING as the admin",
            async () => {
                const c = await RedisConn.open(port);
                try {
                    const auth = await c.command("AUTH", rt.admin.password);
                    if (auth instanceof RespError) throw new Error(auth.message);
                    return (await c.command("PING")) === "PONG";
                } finally {
                    c.close();
                }
            },
            { server: s, timeoutMs: 15_000 },
        );
        return s;
    }

    /**
     * The rendered probe script of a kind, with only the port, the mounted admin password file and the
     * probe's state file (its emptyDir) rewritten to the test's.
     */
    function probeScript(kind: "startupProbe" | "readinessProbe" | "livenessProbe", passwordFile: string): string[] {
        const command: string[] = rt.container[kind]?.exec?.command;
        assert.ok(Array.isArray(command) && command.length === 3 && command[1] === "-c", `${kind}: expected [sh, -c, script], got ${JSON.stringify(command)}`);
        const renderedPort = directive(rt.configText, "port");
        const target = `-h 127.0.0.1 -p ${renderedPort}`;
        assert.ok(command[2].includes(target), `${kind}: expected the script to call redis-cli with '${target}': ${command[2]}`);
        assert.ok(command[2].includes(`$(cat ${REDIS_CREDENTIALS_PATHS.passwordFile})`), `${kind}: reads the mounted admin password file at each run`);
        const local = command[2]
            .split(target)
            .join(`-h 127.0.0.1 -p ${port}`)
            .split(REDIS_CREDENTIALS_PATHS.passwordFile)
            .join(passwordFile)
            .split(MOUNTED_SECRETS_STATE)
            .join(path.join(tmp!, "probe-state"));
        return [command[0], command[1], local];
    }

    /** Runs a probe with `auth` as the mounted admin password file's content (no file when undefined). */
    function runProbe(kind: "startupProbe" | "readinessProbe" | "livenessProbe", auth: string | undefined) {
        const file = path.join(tmp!, `probe-password-${randomToken(6)}`);
        if (auth !== undefined) fs.writeFileSync(file, auth, { mode: 0o600 });
        const [sh, ...args] = probeScript(kind, file);
        const env: NodeJS.ProcessEnv = { PATH: `${path.dirname(bins["redis-cli"])}:/usr/bin:/bin`, HOME: tmp };
        return run(sh, args, { env, timeoutMs: 10_000 });
    }

    before(async function () {
        bins = requireBinaries(this, ["redis-server", "redis-cli", "sh"], "install: apt-get install redis-server redis-tools");
        stopClock = startClock("redis");
        rt = await loadRendered();
        tmp = makeTempDir("redis");
        port = await freePort();
        dataDir = path.join(tmp, "data");
        fs.mkdirSync(dataDir);
        const aclCopy = path.join(tmp, "users.acl");
        fs.writeFileSync(aclCopy, rt.aclText, { mode: 0o600 });
        // The temp redis.conf is the rendered text with exactly these directives rewritten:
        //   bind    (* -::*            → 127.0.0.1: loopback only)
        //   port    (6379              → a free port)
        //   dir     (/data             → <tmp>/data, standing in for the data volume)
        //   aclfile (/etc/redis/acl/.. → <tmp>/users.acl, a copy of the rendered Secret mounted there)
        confFile = path.join(tmp, "redis.conf");
        fs.writeFileSync(confFile, rewriteDirectives(rt.configText, { bind: "127.0.0.1", port: String(port), dir: dataDir, aclfile: aclCopy }), { mode: 0o600 });
        // The container's own command line, with the binary resolved and the config path pointing at the copy.
        serverArgv = rt.argv.map((a, i) => (i === 0 ? bins[path.basename(a)] ?? a : a === rt.configPath ? confFile : a));
        assert.strictEqual(path.basename(rt.argv[0]), "redis-server", `container command: ${JSON.stringify(rt.argv)}`);
        server = await start();
    });

    after(async function () {
        for (const c of conns) c.close();
        if (server) {
            const how = await server.stop();
            assert.ok(!how.killed, "redis-server ignored SIGTERM and had to be killed");
        }
        removeTempDir(tmp);
        stopClock?.();
    });

    it("is started with the container's command line and every rendered directive is in effect", async function () {
        assert.strictEqual(serverArgv.length, rt.argv.length, "same number of arguments as the container");
        // The data dir of redis.conf must be the StatefulSet's persistent volume.
        assert.strictEqual(rt.dataPath, persistentMountPath(rt.sts, rt.container), "redis.conf 'dir' is not the data volume mount");
        const admin = await login(rt.admin.password);
        const rewritten = new Set(["bind", "port", "dir", "aclfile"]);
        const wrong: string[] = [];
        for (const [name, raw] of directives(rt.configText)) {
            if (rewritten.has(name)) continue;
            const reply = await admin.command("CONFIG", "GET", name);
            const actual = Array.isArray(reply) && reply.length === 2 ? reply[1] : show(reply);
            if (actual !== unquote(raw)) wrong.push(`${name}: rendered ${raw}, server has ${JSON.stringify(actual)}`);
        }
        assert.deepStrictEqual(wrong, [], `directives not in effect:\n${wrong.join("\n")}`);
        assert.deepStrictEqual(await admin.command("CONFIG", "GET", "port"), ["port", String(port)]);
    });

    it("has AOF persistence on (CONFIG GET appendonly as admin) and writes a write to the AOF file", async function () {
        const admin = await login(rt.admin.password);
        assert.deepStrictEqual(await admin.command("CONFIG", "GET", "appendonly"), ["appendonly", "yes"]);
        const dirReply = (await admin.command("CONFIG", "GET", "appenddirname")) as string[];
        const aofDir = path.join(dataDir, dirReply[1]);
        const key = `${rt.users[0].keyPattern.replace("*", "")}aof-${randomToken(8)}`;
        assert.strictEqual(await admin.command("SET", key, "persisted"), "OK");
        const file = await waitFor(
            `the key ${key} in ${aofDir}/*.aof`,
            async () =>
                fs
                    .readdirSync(aofDir)
                    .filter((f) => f.endsWith(".aof"))
                    .map((f) => path.join(aofDir, f))
                    .find((f) => fs.statSync(f).size > 0 && fs.readFileSync(f, "latin1").includes(key)),
            { timeoutMs: 3000 },
        );
        assert.ok(fs.statSync(file).size > 0);
    });

    it("requires authentication: NOAUTH without a password, WRONGPASS with a wrong one, PONG with the generated admin password", async function () {
        const anon = await connect();
        assertError(await anon.command("PING"), /^NOAUTH/, "PING without AUTH");
        assertError(await anon.command("GET", "anything"), /^NOAUTH/, "GET without AUTH");
        assertError(await anon.command("AUTH", `wrong-${randomToken()}`), /^WRONGPASS/, "AUTH with a wrong password");
        assertError(await anon.command("PING"), /^NOAUTH/, "PING after a failed AUTH");
        const admin = await login(rt.admin.password);
        assert.strictEqual(await admin.command("PING"), "PONG", `admin password from ${rt.admin.source}`);
        assert.strictEqual(await admin.command("ACL", "WHOAMI"), "default");
    });

    it("lets each application user write its own key pattern only (dev: sessions → session:*)", async function () {
        assert.ok(rt.users.length > 0, "the dev stack declares Redis users");
        assert.ok(rt.users.some((u) => u.name === "sessions" && u.keyPattern === "session:*"), `dev users: ${JSON.stringify(rt.users.map((u) => [u.name, u.keyPattern]))}`);
        for (const u of rt.users) {
            const own = u.keyPattern.replace(/\*/g, "x");
            const other = "other:x";
            const c = await login(u.password, u.name);
            assert.strictEqual(await c.command("SET", own, "v1"), "OK", `${u.name} SET ${own}`);
            assert.strictEqual(await c.command("GET", own), "v1", `${u.name} GET ${own}`);
            assertError(await c.command("SET", other, "v"), /^NOPERM/, `${u.name} SET ${other}`);
            assertError(await c.command("GET", other), /^NOPERM/, `${u.name} GET ${other}`);
            // Its password is not the admin's, and the admin password does not open this user.
            const wrong = await connect();
            assertError(await wrong.command("AUTH", u.name, rt.admin.password), /^WRONGPASS/, `AUTH ${u.name} with the admin password`);
        }
    });

    it("denies application users FLUSHALL, FLUSHDB, CONFIG, DEBUG and KEYS", async function () {
        const admin = await login(rt.admin.password);
        for (const u of rt.users) {
            const keep = u.keyPattern.replace(/\*/g, "keep");
            const c = await login(u.password, u.name);
            assert.strictEqual(await c.command("SET", keep, "still-here"), "OK");
            const denied: [string, string[]][] = [
                ["FLUSHALL", ["FLUSHALL"]],
                ["FLUSHDB", ["FLUSHDB"]],
                ["CONFIG", ["CONFIG", "GET", "*"]],
                ["DEBUG", ["DEBUG", "SLEEP", "0"]],
                ["KEYS", ["KEYS", u.keyPattern]],
            ];
            for (const [name, cmd] of denied) {
                const reply = await c.command(...cmd);
                // DEBUG is also refused by enable-debug-command before the ACL check; both are errors.
                assertError(reply, name === "DEBUG" ? /^(NOPERM|ERR .*DEBUG command not allowed)/ : /^NOPERM/, `${u.name} ${cmd.join(" ")}`);
                // The ACL itself denies it (not just some other check): ask the server as the admin.
                const dry = await admin.command("ACL", "DRYRUN", u.name, ...cmd);
                assert.ok(typeof dry === "string" && /no permissions/i.test(dry), `ACL DRYRUN ${u.name} ${cmd.join(" ")}: ${show(dry)}`);
            }
            assert.strictEqual(await admin.command("GET", keep), "still-here", "data survived the refused FLUSHALL/FLUSHDB");
        }
        // Control: the admin may do what the application users may not.
        assert.strictEqual(await admin.command("ACL", "DRYRUN", "default", "FLUSHALL"), "OK");
        assert.ok(Array.isArray(await admin.command("KEYS", "*")));
    });

    it("passes the rendered probes with the mounted admin password; readiness fails on any other, liveness/startup only when the server does not answer", async function () {
        for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
            const ok = await runProbe(kind, rt.admin.password);
            assert.strictEqual(ok.code, 0, `${kind} with the password file from ${rt.admin.source}: ${describeRun(ok)}`);
            // A refused password: readiness fails; liveness and startup pass (the server answered), so a
            // password being rotated never restarts a pod.
            const strict = kind === "readinessProbe";
            const user = rt.users[0];
            for (const [what, auth] of [
                ["a wrong password", `wrong-${randomToken()}`],
                ["no password file", undefined],
                [`${user.name}'s password (not the admin's)`, user.password],
            ] as const) {
                const r = await runProbe(kind, auth);
                if (strict) {
                    assert.notStrictEqual(r.code, 0, `${kind} with ${what} must fail: ${describeRun(r)}`);
                    if (auth !== user.password) assert.match(r.stdout + r.stderr, /NOAUTH|WRONGPASS/, `${kind} with ${what}`);
                } else {
                    assert.strictEqual(r.code, 0, `${kind} with ${what}: the server answered, the probe must pass: ${describeRun(r)}`);
                }
            }
        }
    });

    it("keeps the data across a restart on the same data dir (AOF, no RDB), and the probes fail while it is down", async function () {
        const admin = await login(rt.admin.password);
        const key = rt.users[0].keyPattern.replace(/\*/g, `restart-${randomToken(8)}`);
        const value = randomToken(24);
        assert.strictEqual(await admin.command("SET", key, value), "OK");
        for (const c of conns.splice(0)) c.close();

        const how = await server!.stop();
        assert.ok(!how.killed && how.code === 0, `redis-server should shut down cleanly on SIGTERM: ${JSON.stringify(how)}\n${server!.logTail()}`);
        for (const kind of ["readinessProbe", "livenessProbe"] as const) {
            const down = await runProbe(kind, rt.admin.password);
            assert.notStrictEqual(down.code, 0, `${kind} must fail while the server is down: ${describeRun(down)}`);
        }
        assert.ok(!fs.existsSync(path.join(dataDir, "dump.rdb")), "save \"\" should leave no RDB snapshot: the data must come from the AOF");

        server = await start();
        const again = await login(rt.admin.password);
        assert.strictEqual(await again.command("GET", key), value, "value written before the restart");
        assert.match(server.log(), /DB loaded from append only file/, "the restarted server should load the AOF");
        const u = rt.users[0];
        const userConn = await login(u.password, u.name);
        assert.strictEqual(await userConn.command("GET", key), value, `${u.name} reads its key after the restart`);
        const ready = await runProbe("readinessProbe", rt.admin.password);
        assert.strictEqual(ready.code, 0, `readiness after the restart: ${describeRun(ready)}`);
    });
});
