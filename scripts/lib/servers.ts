// Local server processes, for the real-server tests and for scripts that measure real servers
// (scripts/measure-redis-memory.ts): finding the server binaries, whether a missing one must fail (CI), free
// loopback ports, temp dirs, child processes with bounded time (SIGTERM, then SIGKILL), waiting for readiness.
// The test-only parts (skipping a suite, the timing summary) are in tests/helpers/servers.ts.

import { spawn, type ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

// ---------------------------------------------------------------------------------------------------
// Binaries and the skip-or-fail rule

/** Directories searched for server binaries: PATH, then the sbin directories Debian installs daemons in. */
export function searchDirs(): string[] {
    const fromPath = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
    return [...new Set([...fromPath, "/usr/sbin", "/usr/local/sbin", "/sbin"])];
}

/** Absolute path of an executable, or undefined. */
export function findBinary(name: string): string | undefined {
    for (const dir of searchDirs()) {
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here
        }
    }
    return undefined;
}

/** Whether a missing server must fail the run instead of skipping (CI, or asked for explicitly). */
export function serversRequired(): boolean {
    return process.env.CI === "true" || process.env.MSA_REQUIRE_SERVERS === "1";
}

// ---------------------------------------------------------------------------------------------------
// Ports and temp dirs

/** A TCP port that is free on 127.0.0.1 right now (the kernel picks it: bind port 0). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

const tempDirs = new Set<string>();

/** A fresh private temp dir (removed by removeTempDir, or at exit at the latest). */
export function makeTempDir(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `msa-${label}-`));
    fs.chmodSync(dir, 0o700);
    tempDirs.add(dir);
    return dir;
}

export function removeTempDir(dir: string | undefined): void {
    if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
    }
}

// ---------------------------------------------------------------------------------------------------
// Bounded commands

export interface RunResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
}

export interface RunOptions {
    /** Environment of the child; default: this process's environment. */
    env?: NodeJS.ProcessEnv;
    /** Written to stdin, which is then closed. */
    input?: string;
    cwd?: string;
    /** Killed (whole process group, SIGKILL) after this long. Default 15 s. */
    timeoutMs?: number;
    /** Run as this user and group (the test runs as root; the servers' users do not). */
    uid?: number;
    gid?: number;
}

/** Runs a command to completion with a time bound; never rejects for a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ["pipe", "pipe", "pipe"], uid: opts.uid, gid: opts.gid });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => {
            timedOut = true;
            killGroup(child, "SIGKILL");
        }, opts.timeoutMs ?? 15_000);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr, timedOut });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}

/** One-line summary of a finished command, for assertion messages. */
export function describeRun(r: RunResult): string {
    const how = r.timedOut ? "timed out" : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    const out = `${r.stdout}${r.stderr}`.trim();
    return `${how}${out ? `: ${out}` : ""}`;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) {
        return;
    }
    try {
        process.kill(-child.pid, signal);
    } catch {
        try {
            child.kill(signal);
        } catch {
            // already gone
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Long-running servers

const liveServers = new Set<ServerProcess>();

/** A server started by a test: output goes to a log file; stop() is SIGTERM, then SIGKILL after a bound. */
export class ServerProcess {
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    private done = false;

    constructor(
        readonly name: string,
        readonly child: ChildProcess,
        readonly logFile: string,
    ) {
        this.exited = new Promise((resolve) => {
            child.on("exit", (code, signal) => {
                this.done = true;
                liveServers.delete(this);
                resolve({ code, signal });
            });
        });
        liveServers.add(this);
    }

    get running(): boolean {
        return !this.done;
    }

    /** The server's output so far. */
    log(): string {
        try {
            return fs.readFileSync(this.logFile, "utf8");
        } catch {
            return "";
        }
    }

    /** The last lines of the log, for failure messages. */
    logTail(lines = 25): string {
        return this.log().trimEnd().split("\n").slice(-lines).join("\n");
    }

    /** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with how it ended. */
    async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
        if (this.done) {
            return { ...(await this.exited), killed: false };
        }
        killGroup(this.child, "SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
            this.exited.then(() => false),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
            killGroup(this.child, "SIGKILL");
        }
        return { ...(await this.exited), killed: timedOut };
    }
}

/** Starts a long-running process in its own process group, stdout and stderr appended to logFile. */
export function startServer(
    name: string,
    cmd: string,
    args: string[],
    opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number },
): ServerProcess {
    const fd = fs.openSync(opts.logFile, "a");
    try {
        const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ["ignore", fd, fd], uid: opts.uid, gid: opts.gid });
        child.on("error", (e) => fs.appendFileSync(opts.logFile, `\n[test] failed to start ${cmd}: ${e.message}\n`));
        return new ServerProcess(name, child, opts.logFile);
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Polls `check` until it returns a value other than undefined/false, for at most timeoutMs. Fails early
 * with the server's log when the server exits meanwhile; on timeout, with the last check error and the log.
 */
export async function waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | false>,
    opts: { timeoutMs?: number; intervalMs?: number; server?: ServerProcess } = {},
): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let last = "";
    for (;;) {
        if (opts.server && !opts.server.running) {
            const { code, signal } = await opts.server.exited;
            throw new Error(`${opts.server.name} exited (code ${code}, signal ${signal}) while waiting for ${what}; log:\n${opts.server.logTail()}`);
        }
        try {
            const v = await check();
            if (v !== undefined && v !== false) {
                return v;
            }
        } catch (e) {
            last = (e as Error).message;
        }
        if (Date.now() > deadline) {
            const log = opts.server ? `\nlog of ${opts.server.name}:\n${opts.server.logTail()}` : "";
            throw new Error(`timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}${log}`);
        }
        await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
}

// Safety net: whatever a failed or interrupted test left behind dies with the test process.
process.on("exit", () => {
    for (const s of liveServers) {
        killGroup(s.child, "SIGKILL");
    }
    for (const d of tempDirs) {
        try {
            fs.rmSync(d, { recursive: true, force: true });
        } catch {
            // best effort
        }
    }
});

/** A random alphanumeric token (test-local values such as key suffixes or a drifted password). */
export function randomToken(length = 16): string {
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const bytes = crypto.randomBytes(length);
    return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}
