// Prod as rendered, TLS lines included, on real servers: the offline render issues real certificates (the
// generated CA signs each service's certificate, as the deployed stack does), redis-server serves its TLS
// port only, mariadbd requires TLS on TCP, and each certificate verifies for the in-cluster host name with
// only the CA trusted. Skips locally without the servers or openssl; fails in CI.

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { selfSignedCertificate } from "../../scripts/lib/certificates";
import { BINARIES, INSTALL_HINT, loadRendered as loadMariaDb, LocalMariaDb, MariaDbRendered, PROBES, SOCKET } from "../helpers/mariadb";
import { loadRendered as loadRedis, RedisConn, RedisUnderTest } from "../helpers/redis";
import { directive, rewriteDirectives } from "../../scripts/lib/redisConf";
import { describeRun, freePort, makeTempDir, randomToken, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../helpers/servers";
import { reloaderLivenessCommand, renewedCertificate, startReloader, writeCertificateFiles } from "../helpers/tlsReload";
import { MOUNTED_SECRETS_STATE, REDIS_CREDENTIALS_PATHS } from "../../components/redis";

registerRealServerSummary();

/** The reloader logs the reload after the server answered it, so the line may trail the new certificate. */
async function assertReloaderSaidSo(reloader: ServerProcess): Promise<void> {
    const said = () => /the certificate changed; the server reloaded it/.test(reloader.log());
    await waitFor("the reloader to log the reload", async () => said(), { server: reloader, timeoutMs: 5_000 }).catch(() => undefined);
    assert.match(reloader.log(), /the certificate changed; the server reloaded it/);
}

/** A CA the servers' certificates do not chain to. */
async function foreignCa(): Promise<string> {
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ca = await selfSignedCertificate({
        privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        subject: { commonName: "someone else's CA" },
        validityPeriodHours: 24,
        allowedUses: ["cert_signing"],
        isCaCertificate: true,
    });
    return ca.certPem;
}

/** The certificate a server presents (openssl s_client, no verification), as PEM. */
async function presentedCertificate(openssl: string, port: number, starttls?: string): Promise<string | undefined> {
    const args = ["s_client", "-connect", `127.0.0.1:${port}`];
    if (starttls) args.push("-starttls", starttls);
    const r = await run(openssl, args, { input: "", timeoutMs: 15_000 });
    return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
}

/** openssl s_client's verdict on the server's certificate for `host`, trusting only `caFile`. */
async function verifyWithOpenssl(openssl: string, port: number, caFile: string, host: string, starttls?: string) {
    const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", caFile, "-verify_hostname", host, "-verify_return_error", "-servername", host];
    if (starttls) args.push("-starttls", starttls);
    const r = await run(openssl, args, { input: "", timeoutMs: 15_000 });
    return { ok: r.code === 0 && /Verify return code: 0 \(ok\)/.test(r.stdout), detail: describeRun(r) };
}

describe("real servers: prod Redis as rendered serves TLS only, with a certificate from the generated CA", function () {
    let bins: Record<string, string> = {};
    let stopClock: (() => void) | undefined;
    let tmp: string | undefined;
    let server: ServerProcess | undefined;
    let rt: RedisUnderTest;
    let port = 0;
    let caFile = "";
    let tlsDir = "";
    const conns: RedisConn[] = [];

    before(async function () {
        bins = requireBinaries(this, ["redis-server", "redis-cli", "sh", "openssl"], "install: apt-get install redis-server redis-tools openssl");
        stopClock = startClock("redis-tls");
        rt = await loadRedis("prod");
        assert.ok(rt.tls, "prod renders Redis with TLS");
        tmp = makeTempDir("redis-tls");
        port = await freePort();
        const file = (name: string, content: string) => {
            fs.writeFileSync(path.join(tmp!, name), content, { mode: 0o600 });
            return path.join(tmp!, name);
        };
        // The certificate files as the Secret volume has them: one directory with tls.crt, tls.key, ca.crt.
        tlsDir = path.join(tmp, "tls");
        fs.mkdirSync(tlsDir);
        writeCertificateFiles(tlsDir, rt.tls!);
        caFile = path.join(tlsDir, "ca.crt");
        fs.mkdirSync(path.join(tmp, "data"));
        // The rendered redis.conf with only these directives rewritten: bind (loopback), tls-port (a free
        // port), dir (<tmp>/data for the volume), and the files the Secrets provide (copies in <tmp>).
        // `port 0` stays: no plaintext port.
        const conf = file(
            "redis.conf",
            rewriteDirectives(rt.configText, {
                bind: "127.0.0.1 -::1",
                "tls-port": String(port),
                dir: path.join(tmp, "data"),
                aclfile: file("users.acl", rt.aclText),
                "tls-cert-file": path.join(tlsDir, "tls.crt"),
                "tls-key-file": path.join(tlsDir, "tls.key"),
                "tls-ca-cert-file": caFile,
            }),
        );
        const argv = rt.argv.map((a, i) => (i === 0 ? bins["redis-server"] : a === rt.configPath ? conf : a));
        server = startServer("redis-server (prod, TLS)", argv[0], argv.slice(1), { logFile: path.join(tmp, "redis.log") });
        await waitFor(
            "redis-server to answer PING over TLS",
            async () => {
                const c = await RedisConn.open(port, { ca: rt.tls!.ca, servername: rt.tls!.host });
                try {
                    return (await c.command("AUTH", rt.admin.password)) === "OK" && (await c.command("PING")) === "PONG";
                } finally {
                    c.close();
                }
            },
            { server, timeoutMs: 15_000 },
        );
    });

    after(async function () {
        for (const c of conns) c.close();
        if (server) {
            const how = await server.stop();
            assert.ok(!how.killed, "redis-server ignored SIGTERM");
        }
        removeTempDir(tmp);
        stopClock?.();
    });

    it("answers a client that trusts only the generated CA and checks redis.cache.svc.cluster.local; no plaintext port", async function () {
        assert.strictEqual(rt.tls!.host, "redis.cache.svc.cluster.local");
        const c = await RedisConn.open(port, { ca: rt.tls!.ca, servername: rt.tls!.host });
        conns.push(c);
        assert.strictEqual(await c.command("AUTH", rt.admin.password), "OK");
        assert.strictEqual(await c.command("PING"), "PONG");
        assert.deepStrictEqual(await c.command("CONFIG", "GET", "port"), ["port", "0"], "the rendered port 0: no plaintext listener");
        assert.strictEqual(directive(rt.configText, "port"), "0");
        for (const u of rt.users) {
            const app = await RedisConn.open(port, { ca: rt.tls!.ca, servername: rt.tls!.host });
            conns.push(app);
            assert.strictEqual(await app.command("AUTH", u.name, u.password), "OK", `${u.name} over TLS`);
        }
    });

    it("presents a certificate that verifies for the service host name (openssl, CA only) and not for another name", async function () {
        const good = await verifyWithOpenssl(bins.openssl, port, caFile, rt.tls!.host);
        assert.ok(good.ok, `verify for ${rt.tls!.host}: ${good.detail}`);
        const headless = await verifyWithOpenssl(bins.openssl, port, caFile, "redis-0.redis-headless.cache.svc.cluster.local");
        assert.ok(headless.ok, `verify for the pod's own name: ${headless.detail}`);
        const other = await verifyWithOpenssl(bins.openssl, port, caFile, "mariadb.db.svc.cluster.local");
        assert.ok(!other.ok, `the certificate must not be valid for another service's name: ${other.detail}`);
    });

    it("refuses a plaintext client and a client that trusts another CA", async function () {
        const reply = await new Promise<string>((resolve) => {
            const s = net.connect({ host: "127.0.0.1", port });
            let got = "";
            s.setTimeout(5000, () => s.destroy());
            s.on("data", (d) => (got += d.toString("latin1")));
            s.on("error", () => undefined);
            s.on("close", () => resolve(got));
            s.on("connect", () => s.write("*1\r\n$4\r\nPING\r\n"));
        });
        assert.doesNotMatch(reply, /PONG|NOAUTH/, `a plaintext PING must get no Redis reply, got ${JSON.stringify(reply)}`);
        const foreign = await foreignCa();
        await assert.rejects(RedisConn.open(port, { ca: foreign, servername: rt.tls!.host }), /self.signed|unable to (verify|get local issuer)/i);
    });

    it("passes the rendered readiness and liveness probes over TLS (redis-cli --tls, the mounted admin password file)", async function () {
        for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
            const command: string[] = rt.container[kind]?.exec?.command;
            const script = command[2];
            const target = "--cacert /etc/redis/tls/ca.crt -h localhost -p 6379";
            assert.ok(script.includes(target), `${kind} calls redis-cli with '${target}': ${script}`);
            // Only the CA path, the port, the password file and the probe's state file are the test's.
            const passwordFile = path.join(tmp!, "probe-password");
            const local = (pw: string) => {
                fs.writeFileSync(passwordFile, pw, { mode: 0o600 });
                return script
                    .split(target)
                    .join(`--cacert ${caFile} -h localhost -p ${port}`)
                    .split(REDIS_CREDENTIALS_PATHS.passwordFile)
                    .join(passwordFile)
                    .split(MOUNTED_SECRETS_STATE)
                    .join(path.join(tmp!, "probe-state"));
            };
            const env = { PATH: `${path.dirname(bins["redis-cli"])}:/usr/bin:/bin`, HOME: tmp };
            const ok = await run(command[0], [command[1], local(rt.admin.password)], { env, timeoutMs: 10_000 });
            assert.strictEqual(ok.code, 0, `${kind} over TLS: ${describeRun(ok)}`);
            // A refused password fails readiness; liveness and startup pass (the server answered over TLS).
            const wrong = await run(command[0], [command[1], local(`wrong-${randomToken()}`)], { env, timeoutMs: 10_000 });
            if (kind === "readinessProbe") assert.notStrictEqual(wrong.code, 0, `${kind} with a wrong password must fail`);
            else assert.strictEqual(wrong.code, 0, `${kind} with a wrong password: the server answered: ${describeRun(wrong)}`);
        }
    });

    it("serves a renewed certificate (from a new CA) without a restart: the rendered tls-reloader asks Redis to reload it", async function () {
        assert.ok(rt.reloader, "prod renders a tls-reloader container beside redis");
        const servername = rt.tls!.host;
        const before = await RedisConn.open(port, { ca: rt.tls!.ca, servername });
        conns.push(before);
        assert.strictEqual(await before.command("AUTH", rt.admin.password), "OK");
        const pid = server!.child.pid;
        const heartbeat = path.join(tmp!, "reloader-tmp");
        fs.mkdirSync(heartbeat);
        // Only paths the machine cannot have (the mounted certificate, the sidecar's /tmp) and the port change.
        const passwordFile = path.join(tmp!, "reloader-password");
        fs.writeFileSync(passwordFile, rt.admin.password, { mode: 0o600 });
        const substitutions: [string, string][] = [
            ["/tmp/heartbeat", path.join(heartbeat, "heartbeat")],
            [REDIS_CREDENTIALS_PATHS.passwordFile, passwordFile],
            ["/etc/redis/tls", tlsDir],
            ["-p 6379", `-p ${port}`],
        ];
        const reloader = startReloader({ container: rt.reloader!, substitutions, env: {}, logFile: path.join(tmp!, "reloader.log") });
        try {
            const [sh, ...liveness] = reloaderLivenessCommand(rt.reloader!, substitutions);
            await waitFor("the reloader's liveness probe to pass", async () => (await run(sh, liveness, { timeoutMs: 5000 })).code === 0, { server: reloader, timeoutMs: 10_000 });
            const renewed = await renewedCertificate(rt.tls!.cert);
            writeCertificateFiles(tlsDir, renewed);
            const serial = await waitFor(
                "Redis to present the renewed certificate",
                async () => {
                    const c = await RedisConn.open(port, { ca: renewed.ca, servername }).catch(() => undefined);
                    const got = c?.peerCertificate()?.serialNumber;
                    c?.close();
                    return got;
                },
                { server: reloader, timeoutMs: 20_000 },
            );
            assert.strictEqual(serial.toLowerCase(), renewed.serial.toLowerCase());
            assert.strictEqual(server!.child.pid, pid, "the same redis-server process (no restart)");
            assert.ok(server!.running, "redis-server kept running");
            assert.strictEqual(await before.command("PING"), "PONG", "a connection opened before the renewal keeps working");
            await assertReloaderSaidSo(reloader);
            await assert.rejects(RedisConn.open(port, { ca: rt.tls!.ca, servername }), /unable to (verify|get local issuer)|self.signed/i, "the old CA no longer verifies what Redis serves");
        } finally {
            await reloader.stop(5000);
        }
    });
});

describe("real servers: prod MariaDB as rendered requires TLS on TCP, with a certificate from the generated CA", function () {
    let bins: Record<string, string> = {};
    let stopClock: (() => void) | undefined;
    let db: LocalMariaDb | undefined;
    let rd: MariaDbRendered;

    before(async function () {
        bins = requireBinaries(this, [...BINARIES, "openssl"], `${INSTALL_HINT} openssl`);
        stopClock = startClock("mariadb-tls");
        rd = await loadMariaDb("prod");
        assert.ok(rd.tls, "prod renders MariaDB with TLS");
        db = new LocalMariaDb("mariadb-tls", rd, bins);
        await db.initialise();
        await db.startServer();
    });

    after(async function () {
        await db?.dispose();
        stopClock?.();
    });

    it("starts with the rendered ssl_cert/ssl_key/ssl_ca (no 'Failed to setup SSL') and encrypts TLS client sessions", async function () {
        assert.doesNotMatch(db!.lastLog(), /Failed to setup SSL|SSL error/i, db!.lastLog());
        assert.strictEqual(await db!.query(db!.tcp(), "root", rd.root.password, "SELECT @@have_ssl"), "YES");
        const version = await db!.query(db!.tcp(), "root", rd.root.password, "SHOW SESSION STATUS LIKE 'Ssl_version'");
        assert.match(version, /^Ssl_version\tTLSv1\.[23]$/, `root's TCP session: ${version}`);
        for (const a of rd.apps) {
            const v = await db!.query(db!.tcp(), a.user, a.password, "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
            assert.match(v, /^Ssl_cipher\t\S+$/, `${a.user} over TLS: ${v}`);
        }
    });

    it("refuses plaintext TCP clients (require_secure_transport), while the socket (probes) needs no TLS", async function () {
        for (const user of ["root", ...rd.apps.map((a) => a.user)]) {
            const password = user === "root" ? rd.root.password : rd.apps.find((a) => a.user === user)!.password;
            const plain = await db!.sql({ tcp: true, noTls: true }, user, password, "SELECT 1");
            // MariaDB 10.11 answers an insecure connection like a failed login (1045), MySQL with 3159.
            assert.match(plain.stderr, /ERROR (3159|1045) /, `${user} without TLS must be refused: ${describeRun(plain)}`);
            // The same credentials over TLS get in: the transport, not the password, was refused.
            assert.strictEqual(await db!.query(db!.tcp(), user, password, "SELECT 1"), "1", `${user} over TLS`);
        }
        assert.strictEqual(await db!.query(SOCKET, "root", rd.root.password, "SELECT 1"), "1");
        for (const kind of PROBES) {
            const v = await db!.probe(kind);
            assert.ok(v.ok, `${kind}: ${v.detail}`);
        }
    });

    it("presents a certificate that verifies for mariadb.db.svc.cluster.local with only the CA trusted, and for no other name", async function () {
        assert.strictEqual(rd.tls!.host, "mariadb.db.svc.cluster.local");
        const good = await verifyWithOpenssl(bins.openssl, db!.port, db!.caFile!, rd.tls!.host, "mysql");
        assert.ok(good.ok, `verify for ${rd.tls!.host}: ${good.detail}`);
        const other = await verifyWithOpenssl(bins.openssl, db!.port, db!.caFile!, "redis.cache.svc.cluster.local", "mysql");
        assert.ok(!other.ok, `must not verify for another service: ${other.detail}`);
        const foreignFile = path.join(db!.dir, "foreign-ca.crt");
        fs.writeFileSync(foreignFile, await foreignCa());
        const foreign = await verifyWithOpenssl(bins.openssl, db!.port, foreignFile, rd.tls!.host, "mysql");
        assert.ok(!foreign.ok, `a client trusting another CA must not accept it: ${foreign.detail}`);
    });

    it("serves a renewed certificate (from a new CA) without a restart: the rendered tls-reloader runs FLUSH SSL as the socket-only mysql user", async function () {
        assert.ok(rd.reloader, "prod renders a tls-reloader container beside mariadb");
        const tlsDir = path.dirname(db!.caFile!);
        const pid = db!.server!.child.pid;
        const heartbeat = path.join(db!.dir, "reloader-tmp");
        fs.mkdirSync(heartbeat);
        db!.own(heartbeat);
        const substitutions: [string, string][] = [
            ["/tmp/heartbeat", path.join(heartbeat, "heartbeat")],
            ["/etc/mysql/tls", tlsDir],
            ["/run/mysqld/mysqld.sock", db!.socket],
        ];
        // As the pod's user: unix_socket authenticates the `mysql` account by the OS user of the process.
        const reloader = startReloader({ container: rd.reloader!, substitutions, env: {}, logFile: path.join(db!.dir, "reloader.log"), uid: db!.user.uid, gid: db!.user.gid });
        try {
            const [sh, ...liveness] = reloaderLivenessCommand(rd.reloader!, substitutions);
            await waitFor("the reloader's liveness probe to pass", async () => (await run(sh, liveness, { timeoutMs: 5000 })).code === 0, { server: reloader, timeoutMs: 10_000 });
            const renewed = await renewedCertificate(rd.tls!.cert);
            writeCertificateFiles(tlsDir, renewed, db!.user);
            const presented = await waitFor(
                "mariadbd to present the renewed certificate",
                async () => {
                    const pem = await presentedCertificate(bins.openssl, db!.port, "mysql");
                    return pem && new crypto.X509Certificate(pem).serialNumber.toLowerCase() === renewed.serial.toLowerCase() ? pem : undefined;
                },
                { server: reloader, timeoutMs: 20_000 },
            );
            assert.ok(presented);
            const newCa = path.join(db!.dir, "renewed-ca.crt");
            fs.writeFileSync(newCa, renewed.ca);
            const verified = await verifyWithOpenssl(bins.openssl, db!.port, newCa, rd.tls!.host, "mysql");
            assert.ok(verified.ok, `the renewed certificate verifies with the new CA: ${verified.detail}`);
            assert.strictEqual(db!.server!.child.pid, pid, "the same mariadbd process (no restart)");
            await assertReloaderSaidSo(reloader);
            const grants = await db!.query(SOCKET, "root", rd.root.password, "SHOW GRANTS FOR 'mysql'@'localhost'");
            assert.match(grants, /^GRANT RELOAD ON \*\.\* TO `mysql`@`localhost` IDENTIFIED VIA unix_socket$/m, `the reloader's account may only reload: ${grants}`);
        } finally {
            await reloader.stop(5000);
        }
    });
});
