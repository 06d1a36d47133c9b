// A replicated Redis as the rendered stack gives it (StatefulSet redis with a Sentinel in every pod), laid
// out on this machine: each pod gets a directory standing in for its filesystem, with every ConfigMap and
// Secret it mounts written where the pod would see it (owned by root, with the rendered modes, group
// fsGroup), its data volume and emptyDirs writable by the pod's user, and its processes started with the
// containers' own command lines as the pod's user (setpriv) with only the image's commands on PATH:
// busybox's applets (the image is redis:7.2-alpine) and the Redis binaries. Only paths, ports and the pods'
// host names are substituted, and each substitution is listed.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { renderStack, type Manifest, type RenderOptions } from "../../scripts/lib/mockRuntime";
import { find } from "../../scripts/lib/manifests";
import { Any } from "../../scripts/lib/manifests";
import { commandLine, configMapData, container, envValue, output, secretData, type Container } from "../../scripts/lib/rendered";
import { RedisConn, RespError, type Reply } from "./redis";
import { freePort, makeTempDir, removeTempDir, run, startServer, waitFor, type ServerProcess } from "../../scripts/lib/servers";

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

/** `render`: a config, seed or generated values instead of the stack file's and fresh randomness (renderStack's options). */
export async function loadSentinelSet(stack: string, render: Pick<RenderOptions, "config" | "seed" | "generated"> = {}): Promise<RenderedSentinelSet> {
    const r = await renderStack(stack, { ...render, withSecrets: true });
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
            admin: secret("redis-credentials").password,
            sentinel: secret("redis-sentinel-credentials").password,
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
    /** The pod's data volume (its claim), shared by both containers. */
    dataDir: string;
    /** The pod's emptyDirs: what Kubernetes gives a new pod empty. */
    emptyDirs: string[];
}

/** Who the pod's containers run as: the pod's runAsUser, runAsGroup and fsGroup. */
export interface PodUser {
    uid: number;
    gid: number;
    fsGroup: number;
}

export function podUser(set: RenderedSentinelSet): PodUser {
    const sc = podSpec(set.sts).securityContext ?? {};
    assert.ok(typeof sc.runAsUser === "number" && sc.runAsUser !== 0, "the Redis pods run as a non-root user");
    return { uid: sc.runAsUser, gid: sc.runAsGroup ?? sc.runAsUser, fsGroup: sc.fsGroup ?? sc.runAsGroup ?? sc.runAsUser };
}

/**
 * A directory holding what the image's PATH offers the scripts: every busybox applet (sh, awk, sed,
 * timeout, ...) and redis-server, redis-cli, redis-check-rdb. Nothing else, so a script that needs a GNU
 * tool fails here as it would in the pod.
 */
export function imageBinDir(dir: string, bins: { busybox: string; redisServer: string; redisCli: string; redisCheckRdb: string }): string {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const applets = execFileSync(bins.busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => /^[\w.[-]+$/.test(a));
    for (const a of applets) fs.symlinkSync(bins.busybox, path.join(dir, a));
    fs.symlinkSync(bins.redisServer, path.join(dir, "redis-server"));
    fs.symlinkSync(bins.redisCli, path.join(dir, "redis-cli"));
    fs.symlinkSync(bins.redisCheckRdb, path.join(dir, "redis-check-rdb"));
    return dir;
}

/**
 * argv running `argv` as the pod's user, without capabilities or a way to gain privileges (as the pod does),
 * through util-linux's setpriv (an absolute path: busybox has an applet of that name without these options).
 */
export function asPodUser(setpriv: string, user: PodUser, argv: string[]): string[] {
    return [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, `--groups=${user.fsGroup}`, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", ...argv];
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
    const user = podUser(set);
    const written = new Set<string>();
    const emptyDirs = new Set<string>();
    let dataDir: string | undefined;
    // The pod's filesystem: directories root's and traversable; the mounts as the kubelet makes them.
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    for (let d = root; d !== path.dirname(d) && d.startsWith(path.dirname(root)); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o111);
    for (const { m } of mounts) {
        const dir = root + m.mountPath;
        for (const part of m.mountPath.split("/").filter(Boolean).reduce<string[]>((acc, p) => [...acc, `${acc[acc.length - 1] ?? root}/${p}`], [])) {
            if (!fs.existsSync(part)) fs.mkdirSync(part, { mode: 0o755 });
        }
        const volume = (podSpec(set.sts).volumes as Any[]).find((v) => v.name === m.name);
        if (!volume) {
            // The claim template: the data volume, group fsGroup, setgid, group-writable (fsGroup's doing).
            dataDir = dir;
            fs.chownSync(dir, 0, user.fsGroup);
            fs.chmodSync(dir, 0o2775);
            continue;
        }
        if (volume.emptyDir) {
            emptyDirs.add(dir);
            fs.chmodSync(dir, 0o777);
            continue;
        }
        if (written.has(m.mountPath)) continue;
        written.add(m.mountPath);
        let data: Record<string, string> | undefined;
        let what = "";
        let mode = 0o644;
        if (volume.configMap) {
            data = configMapData(find(set.objects, "ConfigMap", ns, volume.configMap.name));
            what = `ConfigMap ${volume.configMap.name}`;
            mode = volume.configMap.defaultMode ?? 0o644;
        } else if (volume.secret) {
            data = secretData(find(set.objects, "Secret", ns, volume.secret.secretName));
            what = `Secret ${volume.secret.secretName}`;
            mode = volume.secret.defaultMode ?? 0o644;
        }
        for (const [key, text] of Object.entries(data ?? {})) {
            const file = path.join(dir, key);
            fs.writeFileSync(file, /\.(conf|sh|acl)$/.test(key) ? rewrite(text, `${what} key ${key}`, m.mountPath + "/" + key) : text);
            // Read-only to the pod's user: CONFIG REWRITE (which Sentinel sends after a failover) fails, as on the mount.
            fs.chownSync(file, 0, user.fsGroup);
            fs.chmodSync(file, mode);
        }
    }
    assert.ok(dataDir, "the pods mount their claim");
    const argv = (c: Container) =>
        commandLine(c).map((a) => {
            const p = mountPaths.find((mp) => a === mp || a.startsWith(mp + "/"));
            return p ? root + a : a;
        });
    // The containers' own environment (the passwords are files now, read at each use).
    const redisEnvFrom = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, envValue(set.objects, set.sts, c, e.name).value]));
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
            dataDir,
            emptyDirs: [...emptyDirs],
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

/**
 * Three (or N) pods of the rendered set on this machine, started and killed like pods: each pod's two
 * containers are processes in a process group of their own (redis-<i>, sentinel-<i>); a kill -9 of a
 * container kills its whole group, as the runtime does. Volumes are directories under the lab's temp dir.
 */
export class SentinelLab {
    readonly pods: LocalPod[] = [];
    readonly procs = new Map<string, ServerProcess>();
    readonly user: PodUser;
    private readonly conns: RedisConn[] = [];
    private readonly bin: string;
    private readonly setpriv: string;
    /** How many times each container has been started (its log file per start). */
    private readonly starts = new Map<string, number>();

    private constructor(
        readonly set: RenderedSentinelSet,
        readonly tmp: string,
        bins: { busybox: string; redisServer: string; redisCli: string; redisCheckRdb: string; setpriv: string },
        readonly substitutions: Substitution[],
    ) {
        this.user = podUser(set);
        this.setpriv = bins.setpriv;
        this.bin = imageBinDir(path.join(tmp, "image-bin"), bins);
    }

    /** Lays out every pod under a new temp dir (nothing started). */
    static async create(set: RenderedSentinelSet, label: string, bins: Record<string, string>): Promise<SentinelLab> {
        const tmp = makeTempDir(label);
        fs.chmodSync(tmp, 0o711); // the pods' user walks through it to their files
        const ports: { redis: number; sentinel: number }[] = [];
        for (let i = 0; i < set.replicas; i++) ports.push({ redis: await freePort(), sentinel: await freePort() });
        const subs: Substitution[] = [];
        const lab = new SentinelLab(
            set,
            tmp,
            { busybox: bins["busybox"], redisServer: bins["redis-server"], redisCli: bins["redis-cli"], redisCheckRdb: bins["redis-check-rdb"], setpriv: bins["setpriv"] },
            subs,
        );
        for (let i = 0; i < set.replicas; i++) {
            const { pod, substitutions } = layOutPod(set, { ordinal: i, root: path.join(tmp, `pod-${i}`), ports });
            lab.pods.push(pod);
            subs.push(...substitutions.map((s) => ({ ...s, where: `pod ${i} ${s.where}` })));
        }
        return lab;
    }

    /** The binaries a lab needs, for requireBinaries. */
    static readonly binaries = ["redis-server", "redis-cli", "redis-check-rdb", "busybox", "setpriv"];

    /** The substitutions, once per kind, for the test output. */
    describeSubstitutions(): string[] {
        const seen = new Set<string>();
        const out = [
            `substitutions (pod i's files are under ${this.tmp}/pod-i; ports: ${this.pods.map((p) => `pod ${p.ordinal} redis ${p.redisPort} sentinel ${p.sentinelPort}`).join(", ")}):`,
        ];
        for (const s of this.substitutions) {
            const kind = s.from.startsWith("/") ? `${s.from} → <pod>${s.from}` : `${s.from} → ${s.to}`;
            if (seen.has(kind)) continue;
            seen.add(kind);
            out.push(`  ${kind}   (${s.where.replace(/ \/.*\//, " ")})`);
        }
        out.push(
            "no per-pod host name resolves on this machine, so every pod host is 127.0.0.1 and the pods differ by port",
            `the containers run as uid ${this.user.uid}, gid ${this.user.gid}, group ${this.user.fsGroup}, with busybox's applets and the Redis binaries as their only commands`,
        );
        return out;
    }

    /** An environment as the container has it: the image's commands only, and the container's env values. */
    envOf(extra: Record<string, string>): NodeJS.ProcessEnv {
        return { PATH: this.bin, HOME: "/nonexistent", ...extra };
    }

    addr(i: number): string {
        return `127.0.0.1:${this.pods[i].redisPort}`;
    }

    /** The pod ordinal of a 127.0.0.1:port Redis address, or -1. */
    ordinalOf(address: string | undefined): number {
        return this.pods.findIndex((p) => address === `127.0.0.1:${p.redisPort}`);
    }

    /** Starts one container of pod i (its command line as the pod's user); its log is a file per start. */
    startContainer(i: number, which: "redis" | "sentinel"): ServerProcess {
        const p = this.pods[i];
        const name = `${which}-${i}`;
        const n = (this.starts.get(name) ?? 0) + 1;
        this.starts.set(name, n);
        const argv = which === "redis" ? p.redisArgv : p.sentinelArgv;
        const env = this.envOf(which === "redis" ? p.redisEnv : p.sentinelEnv);
        const [cmd, ...args] = asPodUser(this.setpriv, this.user, argv);
        const proc = startServer(name, cmd, args, { logFile: path.join(p.root, `${which}.${n}.log`), env, cwd: "/" });
        this.procs.set(name, proc);
        return proc;
    }

    /** Starts both containers of pod i. */
    startPod(i: number): void {
        this.startContainer(i, "redis");
        this.startContainer(i, "sentinel");
    }

    /** The output of the current start of a container. */
    log(name: string): string {
        return this.procs.get(name)?.log() ?? "";
    }

    /** kill -9 of both containers of pod i (a lost node): every process of each container. */
    async kill9(i: number): Promise<void> {
        for (const name of [`redis-${i}`, `sentinel-${i}`]) {
            const proc = this.procs.get(name);
            if (!proc || !proc.running) continue;
            try {
                process.kill(-(proc.child.pid as number), "SIGKILL");
            } catch {
                // gone already
            }
            await proc.exited;
        }
    }

    /** What a new pod on the same claim gets: its emptyDirs empty again. */
    wipeEmptyDirs(i: number): void {
        for (const d of this.pods[i].emptyDirs) {
            for (const e of fs.readdirSync(d)) fs.rmSync(path.join(d, e), { recursive: true, force: true });
        }
    }

    /** A new, empty volume for pod i (its claim deleted and provisioned anew). */
    wipeVolume(i: number): void {
        const d = this.pods[i].dataDir;
        for (const e of fs.readdirSync(d)) fs.rmSync(path.join(d, e), { recursive: true, force: true });
    }

    /** The files on pod i's data volume (relative paths), for the test output. */
    volumeFiles(i: number): string[] {
        const out: string[] = [];
        const walk = (dir: string, rel: string) => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}${e.name}/`);
                else out.push(`${rel}${e.name}`);
            }
        };
        walk(this.pods[i].dataDir, "");
        return out.sort();
    }

    /** Closes `c` with the lab. */
    track(c: RedisConn): RedisConn {
        this.conns.push(c);
        return c;
    }

    async open(port: number, i: number, auth?: { user?: string; password: string }): Promise<RedisConn> {
        const c = await openAuthed(this.set, port, i, auth);
        this.conns.push(c);
        return c;
    }

    /** An admin connection to pod i's Redis (closed with the lab). */
    admin(i: number): Promise<RedisConn> {
        return this.open(this.pods[i].redisPort, i, { password: this.set.passwords.admin });
    }

    /** A client connection to pod i's Sentinel (closed with the lab). */
    sentinelConn(i: number): Promise<RedisConn> {
        return this.open(this.pods[i].sentinelPort, i, { password: this.set.passwords.sentinel });
    }

    /** The primary's address as pod i's Sentinel reports it. */
    async askSentinel(i: number): Promise<string | undefined> {
        const c = await openAuthed(this.set, this.pods[i].sentinelPort, i, { password: this.set.passwords.sentinel });
        try {
            const r = await c.command("SENTINEL", "get-master-addr-by-name", this.set.masterName);
            return Array.isArray(r) ? `${r[0]}:${r[1]}` : undefined;
        } finally {
            c.close();
        }
    }

    /** Pod i's redis-server answers PING as the admin: its readiness. */
    async waitReady(i: number, timeoutMs = 20_000): Promise<void> {
        await waitFor(
            `redis-${i} to answer PING`,
            async () => {
                const c = await openAuthed(this.set, this.pods[i].redisPort, i, { password: this.set.passwords.admin });
                try {
                    return (await c.command("PING")) === "PONG";
                } finally {
                    c.close();
                }
            },
            { server: this.procs.get(`redis-${i}`), timeoutMs },
        );
    }

    /**
     * What a client does: ask the Sentinels in order, connect to the primary the first one that answers
     * names, and keep it only if it says it is a master. Undefined when none does (yet).
     */
    async primaryViaSentinels(): Promise<{ ordinal: number; conn: RedisConn } | undefined> {
        for (let s = 0; s < this.pods.length; s++) {
            try {
                const j = this.ordinalOf(await this.askSentinel(s));
                if (j < 0) continue;
                const c = await openAuthed(this.set, this.pods[j].redisPort, j, { password: this.set.passwords.admin });
                const role = await c.command("ROLE");
                if (Array.isArray(role) && role[0] === "master") return { ordinal: j, conn: c };
                c.close();
            } catch {
                // that Sentinel or that Redis does not answer: the next Sentinel
            }
        }
        return undefined;
    }

    async close(): Promise<void> {
        for (const c of this.conns) c.close();
        for (const s of this.procs.values()) await s.stop(5000);
        removeTempDir(this.tmp);
    }
}

const ACL_JOB_PREFIX = "redis-acl-reconcile-";

/** The render's ACL reconcile Job, if any. */
export function aclJob(set: RenderedSentinelSet): Any | undefined {
    return set.objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith(ACL_JOB_PREFIX)) as Any | undefined;
}

/**
 * Lays out the render's ACL reconcile Job (its volumes as files under its own root, its ConfigMaps with the
 * mount paths and the pods' addresses substituted as the lab does for the pods) and runs its command as the
 * pods' user with the image's commands only, and the Job's own environment (`env` overrides a value). The
 * output is printed; it must hold no password hash.
 */
export async function runAclJob(
    lab: SentinelLab,
    set: RenderedSentinelSet,
    label: string,
    setpriv: string,
    /** env: e.g. a shorter wait bound; files: a mounted file's content replaced (its path in the container), e.g. a wrong password. */
    opts: { env?: Record<string, string>; files?: Record<string, string> } = {},
): Promise<{ res: import("../../scripts/lib/servers").RunResult; seconds: number }> {
    const j = aclJob(set);
    assert.ok(j, `no ACL reconcile Job (${ACL_JOB_PREFIX}*) in the render: a changed users.acl reaches a running pod only when it restarts`);
    const root = path.join(lab.tmp, `job-${label.replace(/\W+/g, "-")}-${Date.now()}`);
    const spec = j.spec.template.spec;
    const c = spec.containers[0];
    const mounts = (c.volumeMounts as Any[]).map((m) => m.mountPath as string).sort((a, b) => b.length - a.length);
    // Mount paths as whole paths, in one pass (the lab's own directory is under /tmp too).
    const pathRe = new RegExp(`(?<![\\w./-])(${mounts.map(escapeRegExp).join("|")})(?=/|\\s|"|$)`, "gm");
    const rewrite = (text: string) => {
        let out = text.replace(pathRe, (m) => root + m);
        set.hosts.forEach((h, i) => {
            out = out.split(`${h}:26379`).join(`127.0.0.1:${lab.pods[i].sentinelPort}`);
            out = out.split(`${h}:6379`).join(lab.addr(i));
        });
        return out;
    };
    for (const m of c.volumeMounts as Any[]) {
        const dir = root + m.mountPath;
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
        for (let d = dir; d.startsWith(root) && d !== root; d = path.dirname(d)) fs.chmodSync(d, 0o755);
        const v = (spec.volumes as Any[]).find((x) => x.name === m.name);
        let data: Record<string, string> = {};
        if (v.emptyDir) {
            fs.chmodSync(dir, 0o777);
            continue;
        } else if (v.configMap) data = configMapData(find(set.objects, "ConfigMap", set.namespace, v.configMap.name));
        else if (m.name === "tls") {
            // The pods' certificate: every render makes new keys, a deployed stack keeps its own.
            data = { "ca.crt": lab.set.tls!.ca, "tls.crt": lab.set.tls!.cert, "tls.key": lab.set.tls!.key };
        } else if (v.secret) data = secretData(find(set.objects, "Secret", set.namespace, v.secret.secretName));
        for (const [k, text] of Object.entries(data)) {
            const f = path.join(dir, k);
            const replaced = opts.files?.[path.posix.join(m.mountPath, k)];
            fs.writeFileSync(f, replaced ?? (v.configMap ? rewrite(text) : text));
            fs.chownSync(f, 0, lab.user.fsGroup);
            fs.chmodSync(f, v.configMap ? (v.configMap.defaultMode ?? 0o644) : (v.secret.defaultMode ?? 0o440));
        }
    }
    fs.chmodSync(root, 0o755);
    assert.deepStrictEqual(c.command[0], "sh");
    const script = rewrite(c.command[1]);
    const env: Record<string, string> = Object.fromEntries(((c.env ?? []) as Any[]).map((e) => [e.name, e.value]));
    const [cmd, ...args] = asPodUser(setpriv, lab.user, ["sh", script]);
    const t0 = Date.now();
    const res = await run(cmd, args, { env: lab.envOf({ ...env, ...(opts.env ?? {}) }), timeoutMs: 600_000 });
    const seconds = (Date.now() - t0) / 1000;
    console.log(`      ACL Job (${label}): exit ${res.code} in ${seconds.toFixed(2)} s\n${(res.stdout + res.stderr).trim().replace(/^/gm, "        | ")}`);
    assert.ok(!/#[0-9a-f]{64}/.test(res.stdout + res.stderr), "a password hash in the Job's output");
    for (const pw of Object.values(set.passwords)) assert.ok(!(res.stdout + res.stderr).includes(pw), "a password in the Job's output");
    return { res, seconds };
}
