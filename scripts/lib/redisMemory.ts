// Plumbing of scripts/measure-redis-memory.ts: the rendered Redis files (redis.conf, users.acl, the admin
// password, the container's command line and memory limit) with only the paths a workstation cannot have
// substituted, a pipelining RESP client (TCP or TLS), /proc memory readers, and a generator of session-like
// data. Nothing here is a test; it only gathers figures.

import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import { cpuToMillis, quantityToBytes } from "../../components/config/units";
import { REDIS_APP, REDIS_CREDENTIALS_PATHS } from "../../components/redis/files";
import { REDIS_DEFAULTS } from "../../components/redis/settings";
import { commandLine, container, mountedFile, onlyObject, output } from "./rendered";
import { directive, directives, rewriteDirectives, unquote } from "./redisConf";
import { readProjectName, readStackFile, renderStack, ROOT } from "./mockRuntime";
import { encodeCommands, parseReply, RespError, type Reply } from "./resp";

// ---------------------------------------------------------------------------------------------------
// The rendered stack

export interface RenderedRedis {
    stack: string;
    /** The container's command line (command + args) and the config path on it. */
    argv: string[];
    configPath: string;
    configText: string;
    aclText: string;
    /** The mounted password file of the container (Secret redis-credentials): the admin (`default` user) password. */
    adminPassword: string;
    /** resources.limits.memory of the rendered container, and in bytes. */
    memoryLimit: string;
    limitBytes: number;
    /** resources.limits.cpu of the rendered container (the fork child shares it with the server), in millicores. */
    cpuLimitMillis: number;
    /** maxmemory of the rendered redis.conf. */
    maxmemory: number;
    /** redis.maxmemoryPercent of the render (override, stack file or default); maxmemory is what counts. */
    percent: number;
    /** When redis.conf serves TLS (tls-port): the rendered certificate, key and CA, and the host name clients check. */
    tls?: { cert: string; key: string; ca: string; host: string };
}

export interface RenderOverrides {
    /** redis.resources.limits.memory instead of the stack file's. */
    limit?: string;
    /** redis.maxmemoryPercent instead of the stack file's. */
    percent?: number;
}

export function hasDirective(text: string, name: string): boolean {
    return directives(text).some(([n]) => n === name);
}

/** The stack file's `redis` settings (what it sets; defaults are the program's). */
function stackRedisSettings(stack: string): Record<string, unknown> {
    const raw = readStackFile(ROOT, stack)[`${readProjectName(ROOT)}:redis`];
    return (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
}

/** The stack file's config with redis.resources.limits.memory and/or redis.maxmemoryPercent replaced. */
function overriddenConfig(stack: string, o: RenderOverrides): { config: Record<string, unknown>; redis: Record<string, unknown> } {
    const project = readProjectName(ROOT);
    const prefix = `${project}:`;
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, stack))) {
        if (!k.startsWith(prefix)) {
            throw new Error(`Pulumi.${stack}.yaml sets ${k}, outside the project namespace: cannot override its Redis settings`);
        }
        config[k.slice(prefix.length)] = v;
    }
    const raw = config.redis;
    const redis = (typeof raw === "string" ? JSON.parse(raw) : {}) as Record<string, unknown>;
    if (o.limit !== undefined) {
        const resources = (redis.resources ?? {}) as Record<string, Record<string, unknown>>;
        // A limit below the request would be refused: the request follows the limit down.
        const request = String(resources.requests?.memory ?? REDIS_DEFAULTS.resources.requests.memory);
        const requests = quantityToBytes(request) > quantityToBytes(o.limit) ? { ...(resources.requests ?? {}), memory: o.limit } : resources.requests;
        redis.resources = { ...resources, ...(requests ? { requests } : {}), limits: { ...(resources.limits ?? {}), memory: o.limit } };
    }
    if (o.percent !== undefined) {
        redis.maxmemoryPercent = o.percent;
    }
    config.redis = redis;
    return { config, redis };
}

/** Renders the stack (with secrets) and resolves what the Redis container gets through the program's wiring. */
export async function renderRedis(stack: string, o: RenderOverrides = {}): Promise<RenderedRedis> {
    const overridden = o.limit !== undefined || o.percent !== undefined ? overriddenConfig(stack, o) : undefined;
    const r = await renderStack(stack, { withSecrets: true, config: overridden?.config });
    const conn = output<{ namespace: string; host: string }>(r.outputs, "redisConnection");
    const sts = onlyObject(r.objects, "StatefulSet", conn.namespace);
    const c = container(sts, REDIS_APP);
    const argv = commandLine(c);
    const configArgs = argv.slice(1).filter((a) => a.startsWith("/"));
    if (configArgs.length !== 1) {
        throw new Error(`expected one config path on the Redis command line ${JSON.stringify(argv)}`);
    }
    const configPath = configArgs[0];
    const config = mountedFile(r.objects, sts, c, configPath).value;
    const acl = mountedFile(r.objects, sts, c, directive(config, "aclfile")).value;
    const admin = mountedFile(r.objects, sts, c, REDIS_CREDENTIALS_PATHS.passwordFile).value;
    const limits = (c as unknown as { resources?: { limits?: { memory?: string; cpu?: string } } }).resources?.limits;
    const memoryLimit = limits?.memory;
    if (!memoryLimit || !limits?.cpu) {
        throw new Error(`the Redis container of ${sts.metadata.name} has no memory or CPU limit: ${JSON.stringify(limits)}`);
    }
    const redisSettings = overridden?.redis ?? stackRedisSettings(stack);
    const tlsFile = (name: string) => mountedFile(r.objects, sts, c, unquote(directive(config, name))).value;
    const tls = hasDirective(config, "tls-port")
        ? { cert: tlsFile("tls-cert-file"), key: tlsFile("tls-key-file"), ca: tlsFile("tls-ca-cert-file"), host: conn.host }
        : undefined;
    const limitBytes = quantityToBytes(memoryLimit);
    const maxmemory = Number(directive(config, "maxmemory"));
    if (!Number.isInteger(maxmemory) || maxmemory <= 0) {
        throw new Error(`the rendered redis.conf sets maxmemory ${directive(config, "maxmemory")}: expected a number of bytes`);
    }
    return {
        stack,
        argv,
        configPath,
        configText: config,
        aclText: acl,
        adminPassword: admin,
        memoryLimit,
        limitBytes,
        cpuLimitMillis: cpuToMillis(limits.cpu),
        maxmemory,
        percent: Number(redisSettings.maxmemoryPercent ?? REDIS_DEFAULTS.maxmemoryPercent),
        tls,
    };
}

// ---------------------------------------------------------------------------------------------------
// The rendered files on this machine

export interface LocalRedis {
    argv: string[];
    confFile: string;
    dataDir: string;
    port: number;
    /** The directives rewritten, and to what, for the report. */
    substituted: Record<string, string>;
}

/**
 * Writes the rendered redis.conf under `tmp` with only these directives rewritten: bind (loopback), port or
 * tls-port (a free port; `port 0` stays with TLS), dir (a temp data dir on disk, standing in for the volume),
 * and the files Secrets provide (aclfile; with TLS the certificate, key and CA): copies of the rendered ones.
 * Everything else (maxmemory, its policy, AOF) is as rendered; the command line is the container's.
 */
export function prepareLocal(r: RenderedRedis, tmp: string, port: number, redisServer: string): LocalRedis {
    const file = (name: string, content: string) => {
        fs.writeFileSync(path.join(tmp, name), content, { mode: 0o600 });
        return path.join(tmp, name);
    };
    const dataDir = path.join(tmp, "data");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const substituted: Record<string, string> = { bind: "127.0.0.1", dir: dataDir, aclfile: file("users.acl", r.aclText) };
    if (r.tls) {
        Object.assign(substituted, {
            "tls-port": String(port),
            "tls-cert-file": file("tls.crt", r.tls.cert),
            "tls-key-file": file("tls.key", r.tls.key),
            "tls-ca-cert-file": file("ca.crt", r.tls.ca),
        });
    } else {
        substituted.port = String(port);
    }
    const confFile = file("redis.conf", rewriteDirectives(r.configText, substituted));
    if (path.basename(r.argv[0]) !== "redis-server") {
        throw new Error(`the Redis container does not run redis-server: ${JSON.stringify(r.argv)}`);
    }
    const argv = r.argv.map((a, i) => (i === 0 ? redisServer : a === r.configPath ? confFile : a));
    return { argv, confFile, dataDir, port, substituted };
}

// ---------------------------------------------------------------------------------------------------
// A pipelining RESP2 client

export interface BatchResult {
    /** Replies in order (only when asked for). */
    replies: Reply[];
    /** Error replies, and the first one's text (e.g. "OOM command not allowed ..."). */
    errors: number;
    firstError?: string;
}

interface Pending {
    remaining: number;
    keep: boolean;
    result: BatchResult;
    resolve: (r: BatchResult) => void;
    reject: (e: Error) => void;
}

export class RespClient {
    private buf: Buffer = Buffer.alloc(0);
    private pending: Pending[] = [];
    private waitingReplies = 0;
    private closedError: Error | undefined;

    private constructor(private readonly socket: net.Socket) {
        socket.on("data", (d: Buffer) => this.onData(d));
        socket.on("error", (e) => this.fail(e));
        socket.on("close", () => this.fail(new Error("connection closed by the server")));
    }

    /**
     * Connects to 127.0.0.1:port and authenticates as the admin; with TLS the server's certificate must chain
     * to `ca` and name `servername` (the in-cluster host name clients use).
     */
    static async connect(port: number, password: string, useTls?: { ca: string; servername: string }): Promise<RespClient> {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
            const s: net.Socket = useTls
                ? tls.connect(
                      { host: "127.0.0.1", port, ca: useTls.ca, servername: useTls.servername, checkServerIdentity: (_h, cert) => tls.checkServerIdentity(useTls.servername, cert) },
                      () => done(),
                  )
                : net.connect({ host: "127.0.0.1", port }, () => done());
            const timer = setTimeout(() => s.destroy(new Error("connect timed out")), 5000);
            function done(): void {
                clearTimeout(timer);
                s.off("error", onError);
                resolve(s);
            }
            function onError(e: Error): void {
                clearTimeout(timer);
                reject(e);
            }
            s.once("error", onError);
        });
        socket.setNoDelay(true);
        const c = new RespClient(socket);
        const auth = await c.command("AUTH", password);
        if (auth !== "OK") {
            c.close();
            throw new Error(`AUTH as the admin: ${auth instanceof RespError ? auth.message : JSON.stringify(auth)}`);
        }
        return c;
    }

    /** Commands sent whose replies have not arrived yet. */
    get inFlight(): number {
        return this.waitingReplies;
    }

    /** Sends the commands in one write; resolves when every reply has arrived. */
    pipeline(cmds: string[][], keepReplies = false): Promise<BatchResult> {
        if (this.closedError) {
            return Promise.reject(this.closedError);
        }
        if (cmds.length === 0) {
            return Promise.resolve({ replies: [], errors: 0 });
        }
        return new Promise((resolve, reject) => {
            this.pending.push({ remaining: cmds.length, keep: keepReplies, result: { replies: [], errors: 0 }, resolve, reject });
            this.waitingReplies += cmds.length;
            this.socket.write(encodeCommands(cmds));
        });
    }

    async command(...args: string[]): Promise<Reply> {
        return (await this.pipeline([args], true)).replies[0];
    }

    /** INFO <section> as a map of field → value. */
    async info(section: string): Promise<Record<string, string>> {
        const r = await this.command("INFO", section);
        if (typeof r !== "string") {
            throw new Error(`INFO ${section}: ${r instanceof RespError ? r.message : JSON.stringify(r)}`);
        }
        const out: Record<string, string> = {};
        for (const line of r.split("\r\n")) {
            const i = line.indexOf(":");
            if (i > 0 && !line.startsWith("#")) {
                out[line.slice(0, i)] = line.slice(i + 1);
            }
        }
        return out;
    }

    close(): void {
        this.socket.destroy();
    }

    private onData(d: Buffer): void {
        this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
        let pos = 0;
        for (;;) {
            if (pos >= this.buf.length) {
                break;
            }
            const r = parseReply(this.buf, pos);
            if (!r) {
                break;
            }
            pos = r[1];
            const head = this.pending[0];
            if (!head) {
                this.fail(new Error("reply without a request"));
                return;
            }
            if (r[0] instanceof RespError) {
                head.result.errors++;
                head.result.firstError ??= r[0].message;
            }
            if (head.keep) {
                head.result.replies.push(r[0]);
            }
            this.waitingReplies--;
            if (--head.remaining === 0) {
                this.pending.shift();
                head.resolve(head.result);
            }
        }
        this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    }

    private fail(e: Error): void {
        this.closedError ??= e;
        for (const p of this.pending.splice(0)) {
            p.reject(e);
        }
        this.waitingReplies = 0;
    }
}

// ---------------------------------------------------------------------------------------------------
// /proc readers (Linux)

/** VmRSS of a process in bytes, or undefined once it is gone. */
export function vmRss(pid: number): number | undefined {
    try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "latin1"));
        return m ? Number(m[1]) * 1024 : undefined;
    } catch {
        return undefined;
    }
}

/**
 * /proc/<pid>/smaps_rollup as field → bytes (Rss, Pss, Shared_Dirty, Private_Dirty, ...), or undefined once
 * the process is gone. Asynchronous: the kernel walks every page table of the process to answer (tens of ms
 * for a GiB), which must not stall the writer's event loop.
 */
export async function smapsRollup(pid: number): Promise<Record<string, number> | undefined> {
    let text: string;
    try {
        text = await fs.promises.readFile(`/proc/${pid}/smaps_rollup`, "latin1");
    } catch {
        return undefined;
    }
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) {
        out[m[1]] = Number(m[2]) * 1024;
    }
    return out;
}

/**
 * /proc/<pid>/schedstat: seconds on a CPU, and seconds runnable but waiting for one (what a loaded machine,
 * or a CPU quota, adds to the wall time), or undefined once the process is gone.
 */
export function schedstat(pid: number): { cpu: number; wait: number } | undefined {
    try {
        const [onCpu, waiting] = fs.readFileSync(`/proc/${pid}/schedstat`, "latin1").trim().split(/\s+/).map(Number);
        return { cpu: onCpu / 1e9, wait: waiting / 1e9 };
    } catch {
        return undefined;
    }
}

/** Direct children of a process (every thread's children list). */
export function childPids(pid: number): number[] {
    const out = new Set<number>();
    let tasks: string[];
    try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
        return [];
    }
    for (const t of tasks) {
        try {
            for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, "latin1").trim().split(/\s+/)) {
                if (c !== "") out.add(Number(c));
            }
        } catch {
            // thread gone
        }
    }
    return [...out];
}

// ---------------------------------------------------------------------------------------------------
// Session-like data

const USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "okhttp/4.12.0",
];

/**
 * Session store content, generated (random tokens, no fixed values): key i is `session:<24-char id>`, 60% a
 * hash (user, timestamps, ip, csrf token, roles, half with a user agent, and a JSON `data` field) and 40% a
 * JSON string, each with a TTL of a day or more. JSON documents (cart items drawn from a generated catalogue, a
 * fresh random id each) have log-normal sizes (median 256 B, capped at 16 KiB),
 * so hashes end up in both listpack and hashtable encodings and values spread over many allocator size
 * classes. Updates: a hash gets a new lastSeen (75%) or a new `data` (25%); a string a new value (KEEPTTL).
 */
export class SessionData {
    private readonly salt = crypto.randomBytes(8).toString("hex");
    private readonly pool = crypto.randomBytes(6 << 20).toString("base64url");
    // Flat strings (through a Buffer): joining slices of the pool is several times slower.
    private readonly catalogue = Array.from({ length: 65_536 }, () =>
        Buffer.from(`{"sku":"${this.token(10)}","qty":${1 + this.int(5)},"price":${this.int(100_000)},"note":"${this.token(4 + this.int(28))}"}`).toString(),
    );

    key(i: number): string {
        return `session:${crypto.createHash("sha1").update(`${this.salt}:${i}`).digest("base64url").slice(0, 24)}`;
    }

    isHash(i: number): boolean {
        return i % 5 < 3;
    }

    /** The commands creating key i. */
    create(i: number, nowMs: number): string[][] {
        const key = this.key(i);
        const ttl = String(86_400 + Math.floor(Math.random() * 86_400));
        if (!this.isHash(i)) {
            return [["SET", key, this.json(this.size()), "EX", ttl]];
        }
        const now = String(Math.floor(nowMs / 1000));
        const fields = [
            "user", `u${Math.floor(Math.random() * 1e7)}`,
            "created", now,
            "lastSeen", now,
            "ip", `10.${this.int(256)}.${this.int(256)}.${this.int(256)}`,
            "csrf", this.token(32),
            "roles", Math.random() < 0.2 ? "user,orders:read,orders:write" : "user",
        ];
        if (Math.random() < 0.5) {
            fields.push("ua", USER_AGENTS[this.int(USER_AGENTS.length)]);
        }
        fields.push("data", this.json(this.size()));
        return [["HSET", key, ...fields], ["EXPIRE", key, ttl]];
    }

    /** One update of existing key i (overwrites: memory stays where it is). */
    update(i: number, nowMs: number): string[] {
        const key = this.key(i);
        if (!this.isHash(i)) {
            return ["SET", key, this.json(this.size()), "KEEPTTL"];
        }
        return Math.random() < 0.75 ? ["HSET", key, "lastSeen", String(Math.floor(nowMs / 1000))] : ["HSET", key, "data", this.json(this.size())];
    }

    private int(n: number): number {
        return Math.floor(Math.random() * n);
    }

    private token(n: number): string {
        const at = this.int(this.pool.length - n);
        return this.pool.slice(at, at + n);
    }

    /** Log-normal size, median 256 B, 16 B .. 16 KiB. */
    private size(): number {
        const u = 1 - Math.random();
        const v = Math.random();
        const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return Math.min(16_384, Math.max(16, Math.round(256 * Math.exp(1.1 * normal))));
    }

    /** A cart-like JSON document of about `size` bytes: items from the generated catalogue, and a fresh id. */
    private json(size: number): string {
        let s = `{"v":1,"id":"${this.token(16)}","items":[`;
        let sep = "";
        while (s.length < size) {
            s += sep + this.catalogue[this.int(this.catalogue.length)];
            sep = ",";
        }
        return s + "]}";
    }
}
