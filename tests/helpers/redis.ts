// Redis as the real-server specs meet it: a minimal RESP client (plain TCP or TLS), and what the RENDERED
// stack gives the Redis container (command line, redis.conf, ACL file, admin password, users, certificates).

import * as assert from "assert";
import { REDIS_CREDENTIALS_PATHS } from "../../components/redis/files";
import * as net from "net";
import * as tls from "tls";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { encodeCommands, parseReply, RespError, type Reply } from "../../scripts/lib/resp";
import { find } from "../../scripts/lib/manifests";
import { commandLine, container, mountedFile, onlyObject, output, secretData, type Container } from "../../scripts/lib/rendered";
import { directive, unquote } from "../../scripts/lib/redisConf";

// ---------------------------------------------------------------------------------------------------
// A minimal RESP2 client (scripts/lib/resp.ts): exact replies (and error strings such as NOAUTH / NOPERM)
// without redis-cli.

export { RespError, type Reply };

export class RedisConn {
    private buf = Buffer.alloc(0);
    private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];

    private constructor(private readonly socket: net.Socket) {
        socket.on("data", (d) => {
            this.buf = Buffer.concat([this.buf, d]);
            for (;;) {
                const r = parseReply(this.buf, 0);
                if (!r) {
                    break;
                }
                this.buf = this.buf.subarray(r[1]);
                this.waiting.shift()?.resolve(r[0]);
            }
        });
        socket.on("close", () => {
            for (const w of this.waiting.splice(0)) {
                w.reject(new Error("connection closed by the server"));
            }
        });
    }

    /**
     * Connects to 127.0.0.1:port, plain or over TLS; with TLS the certificate must chain to `ca` and name
     * `servername` (the in-cluster host name the clients use).
     */
    static open(port: number, useTls?: { ca: string; servername: string }): Promise<RedisConn> {
        return new Promise((resolve, reject) => {
            const socket = useTls
                ? tls.connect({ host: "127.0.0.1", port, ca: useTls.ca, servername: useTls.servername, checkServerIdentity: (_h, cert) => tls.checkServerIdentity(useTls.servername, cert) })
                : net.connect({ host: "127.0.0.1", port });
            socket.setTimeout(5000, () => socket.destroy(new Error("redis connection timed out")));
            socket.once("error", reject);
            socket.once(useTls ? "secureConnect" : "connect", () => {
                socket.off("error", reject);
                socket.on("error", () => undefined);
                resolve(new RedisConn(socket));
            });
        });
    }

    command(...args: string[]): Promise<Reply> {
        return new Promise((resolve, reject) => {
            // A closed connection (idle timeout, server gone) never answers: fail now instead of waiting forever.
            if (this.socket.destroyed) {
                reject(new Error("connection closed"));
                return;
            }
            this.waiting.push({ resolve, reject });
            this.socket.write(encodeCommands([args]));
        });
    }

    /** The certificate the server presented (TLS connections). */
    peerCertificate(): tls.PeerCertificate | undefined {
        return this.socket instanceof tls.TLSSocket ? this.socket.getPeerCertificate() : undefined;
    }

    close(): void {
        this.socket.destroy();
    }
}

export function show(r: Reply): string {
    if (r instanceof RespError) {
        return `(error) ${r.message}`;
    }
    return JSON.stringify(r);
}

export function assertError(r: Reply, pattern: RegExp, what: string): void {
    assert.ok(r instanceof RespError && pattern.test(r.message), `${what}: expected an error matching ${pattern}, got ${show(r)}`);
}

// ---------------------------------------------------------------------------------------------------
// What the rendered stack gives the Redis container

export interface RedisUnderTest {
    sts: Manifest;
    container: Container;
    /** The container's command line (command + args) as rendered. */
    argv: string[];
    /** Path of the config file on that command line, and the rendered text behind it. */
    configPath: string;
    configText: string;
    configSource: string;
    /** aclfile path from redis.conf and the rendered text mounted there. */
    aclPath: string;
    aclText: string;
    aclSource: string;
    /** Data dir of redis.conf, which must be the persistent volume. */
    dataPath: string;
    admin: { password: string; source: string };
    users: { name: string; password: string; keyPattern: string; secret: string }[];
    /** With TLS: the files redis.conf names (tls-cert-file, tls-key-file, tls-ca-cert-file) and the client host name. */
    tls?: { cert: string; key: string; ca: string; host: string };
    /** The certificate reloader container, when the stack has TLS. */
    reloader?: Container;
}

export async function loadRendered(stack = "dev"): Promise<RedisUnderTest> {
    const r = await renderStack(stack, { withSecrets: true });
    const conn = output<{ host: string; tls: { enabled: boolean }; namespace: string; passwordSecret: { name: string; key: string }; users: { user: string; keyPattern: string; secretName: string }[] }>(
        r.outputs,
        "redisConnection",
    );
    const sts = onlyObject(r.objects, "StatefulSet", conn.namespace);
    const c = container(sts, "redis");
    let argv = commandLine(c);
    if (argv.length === 2 && argv[0] === "sh" && argv[1].startsWith("/")) {
        // A replicated render: a start script decides the role, then runs redis-server. Take the server of
        // its primary line with its config file; the replication includes and the role are run by
        // tests/servers/redis/sentinel.spec.ts, which starts the whole set.
        const script = mountedFile(r.objects, sts, c, argv[1]).value;
        const exec = script.split("\n").map((l) => l.trim().split(/\s+/)).find((w) => w[0] === "exec" && w[1] === "redis-server");
        assert.ok(exec && exec[2]?.startsWith("/"), `${argv[1]}: no 'exec redis-server <config>' line:\n${script}`);
        argv = [exec[1], exec[2]];
    }
    // The config file is the absolute path on the command line that a ConfigMap volume provides.
    const configArgs = argv.slice(1).filter((a) => a.startsWith("/"));
    assert.strictEqual(configArgs.length, 1, `expected one config path on the command line ${JSON.stringify(argv)}`);
    const configPath = configArgs[0];
    const config = mountedFile(r.objects, sts, c, configPath);
    const aclPath = directive(config.value, "aclfile");
    const acl = mountedFile(r.objects, sts, c, aclPath);
    const admin = mountedFile(r.objects, sts, c, REDIS_CREDENTIALS_PATHS.passwordFile);
    // The password file the probes read must be the password the stack exports as the admin password.
    assert.strictEqual(admin.source, `Secret ${conn.namespace}/${conn.passwordSecret.name} key ${conn.passwordSecret.key}`);
    const users = conn.users.map((u) => {
        const data = secretData(find(r.objects, "Secret", conn.namespace, u.secretName));
        assert.strictEqual(data.username, u.user, `Secret ${u.secretName}: username`);
        assert.strictEqual(data["key-pattern"], u.keyPattern, `Secret ${u.secretName}: key-pattern`);
        return { name: data.username, password: data.password, keyPattern: data["key-pattern"], secret: u.secretName };
    });
    const tlsFile = (name: string) => mountedFile(r.objects, sts, c, unquote(directive(config.value, name))).value;
    const tlsFiles = conn.tls.enabled ? { cert: tlsFile("tls-cert-file"), key: tlsFile("tls-key-file"), ca: tlsFile("tls-ca-cert-file"), host: conn.host } : undefined;
    const reloader = ((sts.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers).find((x) => x.name === "tls-reloader");
    return {
        reloader,
        tls: tlsFiles,
        sts,
        container: c,
        argv,
        configPath,
        configText: config.value,
        configSource: config.source,
        aclPath,
        aclText: acl.value,
        aclSource: acl.source,
        dataPath: unquote(directive(config.value, "dir")),
        admin: { password: admin.value, source: admin.source },
        users,
    };
}

