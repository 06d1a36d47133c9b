// A replicated Redis as the rendered stack gives it (StatefulSet redis with a Sentinel in every pod), laid
// out on this machine: each pod gets a directory standing in for its filesystem, with every ConfigMap and
// Secret it mounts written where the pod would see it, and its processes started with the containers' own
// command lines. Only paths, ports and the pods' host names are substituted, and each substitution is listed.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { find } from "../../scripts/lib/manifests";
import { Any } from "../../scripts/lib/manifests";
import { commandLine, configMapData, container, envValue, output, secretData, type Container } from "../../scripts/lib/rendered";
import { RedisConn, RespError, type Reply } from "./redis";

export interface SentinelConnectionOutput {
    host: string;
    namespace: string;
    tls: { enabled: boolean };
    passwordSecret: { name: string; key: string };
    sentinel?: { hosts: string[]; masterName: string; passwordSecret: { name: string; key: string } };
}

export interface RenderedSentinelSet {
    objects: Manifest[];
    sts: Manifest;
    replicas: number;
    namespace: string;
    conn: SentinelConnectionOutput;
    redis: Container;
    sentinel: Container;
    /**
     * admin: Redis's `default`; sentinel: the Sentinels' clients (`default` there); sentinelPeer: what the
     * Sentinels authenticate to each other with (`sentinels`); sentinelAdmin: the Sentinels' `admin`;
     * sentinelUser: what the Sentinels authenticate to Redis with (`sentinel`).
     */
    passwords: { admin: string; sentinel: string; replication: string; sentinelUser: string; sentinelPeer: string; sentinelAdmin: string };
    /** The pods' headless host names, by ordinal. */
    hosts: string[];
    masterName: string;
    /** With TLS: the certificate files of the pods and the host name they name. */
    tls?: { cert: string; key: string; ca: string };
}

function podSpec(sts: Manifest): Any {
    return (sts as Any).spec.template.spec;
}

/** One line's value after a prefix (e.g. `masterauth `) in a rendered file; exactly one such line. */
function lineValue(text: string, prefix: string): string {
    const lines = text.split("\n").filter((l) => l.startsWith(prefix));
    assert.strictEqual(lines.length, 1, `expected one line starting with '${prefix}'`);
    return lines[0].slice(prefix.length).trim();
}

export async function loadSentinelSet(stack: string): Promise<RenderedSentinelSet> {
    const r = await renderStack(stack, { withSecrets: true });
    const conn = output<SentinelConnectionOutput>(r.outputs, "redisConnection");
    const sts = find(r.objects, "StatefulSet", conn.namespace, "redis");
    const replicas: number = (sts as Any).spec.replicas;
    assert.ok(conn.sentinel, `${stack}: redisConnection has no sentinel part (redis.replicas ${replicas})`);
    const redis = container(sts, "redis");
    const sentinel = container(sts, "sentinel");
    const ns = conn.namespace;
    const secret = (name: string) => secretData(find(r.objects, "Secret", ns, name));
    const hosts = conn.sentinel.hosts.map((h) => h.replace(/:\d+$/, ""));
    const tlsVolume = (podSpec(sts).volumes as Any[]).find((v) => v.name === "tls");
    const tlsFiles = conn.tls.enabled ? secret(tlsVolume.secret.secretName) : undefined;
    return {
        objects: r.objects,
        sts,
        replicas,
        namespace: ns,
        conn,
        redis,
        sentinel,
        hosts,
        masterName: conn.sentinel.masterName,
        passwords: {
            admin: envValue(r.objects, sts, redis, "REDISCLI_AUTH").value,
            sentinel: envValue(r.objects, sts, sentinel, "REDISCLI_AUTH").value,
            replication: lineValue(secret("redis-replication")["replication.conf"], "masterauth "),
            sentinelUser: lineValue(secret("redis-sentinel-auth")["sentinel-auth.conf"], `sentinel auth-pass ${conn.sentinel.masterName} `),
            sentinelPeer: lineValue(secret("redis-sentinel-auth")["sentinel-auth.conf"], "sentinel sentinel-pass "),
            sentinelAdmin: secret("redis-sentinel-admin").password,
        },
        tls: tlsFiles ? { cert: tlsFiles["tls.crt"], key: tlsFiles["tls.key"], ca: tlsFiles["ca.crt"] } : undefined,
    };
}

/** One substitution made to the rendered text, for the printed list. */
export interface Substitution {
    from: string;
    to: string;
    where: string;
}

function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A pod laid out under `root`, with its two processes' command lines. */
export interface LocalPod {
    ordinal: number;
    root: string;
    redisPort: number;
    sentinelPort: number;
    redisArgv: string[];
    sentinelArgv: string[];
    redisEnv: Record<string, string>;
    sentinelEnv: Record<string, string>;
    /** The pod's emptyDir of the Sentinel's writable config. */
    sentinelRunDir: string;
}

/**
 * Writes pod `ordinal`'s mounted files under `root` with the substitutions: every mount path gets `root` in
 * front; each pod's `<host>:6379` / `<host>:26379` / `<host> 6379` becomes 127.0.0.1 and that pod's test
 * port (no per-pod names resolve here, so the pods are told apart by port); the pod's own listening ports
 * and `bind` are rewritten; `$(hostname)` becomes the pod name.
 */
export function layOutPod(set: RenderedSentinelSet, opts: { ordinal: number; root: string; ports: { redis: number; sentinel: number }[] }): { pod: LocalPod; substitutions: Substitution[] } {
    const { ordinal, root, ports } = opts;
    const subs: Substitution[] = [];
    const mounts = [set.redis, set.sentinel].flatMap((c) => (c.volumeMounts ?? []).map((m) => ({ c, m })));
    const mountPaths = [...new Set(mounts.map((x) => x.m.mountPath))].sort((a, b) => b.length - a.length);
    // A mount path as a whole path (not inside a longer word or path).
    const pathRe = new RegExp(`(?<![\\w./-])(${mountPaths.map(escapeRegExp).join("|")})(?=/|\\s|"|$)`, "gm");
    const rewrite = (text: string, where: string, file: string): string => {
        let out = text.replace(pathRe, (p) => {
            subs.push({ from: p, to: root + p, where: file });
            return root + p;
        });
        set.hosts.forEach((h, j) => {
            for (const [pattern, to] of [
                [`${h}:6379`, `127.0.0.1:${ports[j].redis}`],
                [`${h}:26379`, `127.0.0.1:${ports[j].sentinel}`],
                [`${h} 6379`, `127.0.0.1 ${ports[j].redis}`],
            ] as const) {
                if (out.includes(pattern)) {
                    subs.push({ from: pattern, to, where: file });
                    out = out.split(pattern).join(to);
                }
            }
        });
        if (file.endsWith("common.sh")) {
            assert.strictEqual(out.split('"$(hostname)"').length, 2, "common.sh takes the pod name from $(hostname) once");
            subs.push({ from: '"$(hostname)"', to: `"redis-${ordinal}"`, where: file });
            out = out.replace('"$(hostname)"', `"redis-${ordinal}"`);
        }
        if (file.endsWith("redis.conf") || file.endsWith("sentinel.conf")) {
            const own = file.endsWith("sentinel.conf") ? { rendered: "26379", test: ports[ordinal].sentinel } : { rendered: "6379", test: ports[ordinal].redis };
            out = out.replace(new RegExp(`^(tls-port|port) ${own.rendered}$`, "m"), (line, name) => {
                subs.push({ from: line, to: `${name} ${own.test}`, where: file });
                return `${name} ${own.test}`;
            });
            out = out.replace(/^bind .*$/m, (line) => {
                subs.push({ from: line, to: "bind 127.0.0.1", where: file });
                return "bind 127.0.0.1";
            });
        }
        assert.ok(!/svc\.cluster\.local/.test(out.replace(/-----BEGIN[\s\S]*?-----END[^\n]*/g, "")), `${where}: a cluster host name is left after the substitutions:\n${out}`);
        return out;
    };
    const ns = set.namespace;
    const written = new Set<string>();
    for (const { m } of mounts) {
        const dir = root + m.mountPath;
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const volume = (podSpec(set.sts).volumes as Any[]).find((v) => v.name === m.name);
        if (!volume || written.has(m.mountPath)) continue; // a claim template (the data volume), or written already
        written.add(m.mountPath);
        let data: Record<string, string> | undefined;
        let what = "";
        if (volume.configMap) {
            data = configMapData(find(set.objects, "ConfigMap", ns, volume.configMap.name));
            what = `ConfigMap ${volume.configMap.name}`;
        } else if (volume.secret) {
            data = secretData(find(set.objects, "Secret", ns, volume.secret.secretName));
            what = `Secret ${volume.secret.secretName}`;
        }
        for (const [key, text] of Object.entries(data ?? {})) {
            const file = path.join(dir, key);
            fs.writeFileSync(file, /\.(conf|sh|acl)$/.test(key) ? rewrite(text, `${what} key ${key}`, m.mountPath + "/" + key) : text, { mode: 0o600 });
        }
    }
    const argv = (c: Container) =>
        commandLine(c).map((a) => {
            const p = mountPaths.find((mp) => a === mp || a.startsWith(mp + "/"));
            return p ? root + a : a;
        });
    const redisEnvFrom = (c: Container) => ({ REDISCLI_AUTH: envValue(set.objects, set.sts, c, "REDISCLI_AUTH").value });
    const sentinelRun = (set.sentinel.volumeMounts ?? []).find((m) => (podSpec(set.sts).volumes as Any[]).find((v) => v.name === m.name)?.emptyDir && /sentinel/.test(m.mountPath));
    assert.ok(sentinelRun, "the sentinel container mounts an emptyDir for its writable config");
    return {
        pod: {
            ordinal,
            root,
            redisPort: ports[ordinal].redis,
            sentinelPort: ports[ordinal].sentinel,
            redisArgv: argv(set.redis),
            sentinelArgv: argv(set.sentinel),
            redisEnv: redisEnvFrom(set.redis),
            sentinelEnv: redisEnvFrom(set.sentinel),
            sentinelRunDir: root + sentinelRun.mountPath,
        },
        substitutions: subs,
    };
}

/** Field of an INFO section reply (`key:value` lines). */
export function infoField(info: Reply, key: string): string | undefined {
    if (typeof info !== "string") return undefined;
    const line = info.split("\r\n").find((l) => l.startsWith(`${key}:`));
    return line?.slice(key.length + 1);
}

/** A connection to 127.0.0.1:port (TLS when the set has it), authenticated when a password is given. */
export async function openAuthed(set: RenderedSentinelSet, port: number, ordinal: number, auth?: { user?: string; password: string }): Promise<RedisConn> {
    const c = await RedisConn.open(port, set.tls ? { ca: set.tls.ca, servername: set.hosts[ordinal] } : undefined);
    if (auth) {
        const reply = auth.user ? await c.command("AUTH", auth.user, auth.password) : await c.command("AUTH", auth.password);
        if (reply !== "OK") {
            c.close();
            throw new Error(`AUTH ${auth.user ?? "(default)"} on port ${port}: ${reply instanceof RespError ? reply.message : JSON.stringify(reply)}`);
        }
    }
    return c;
}
