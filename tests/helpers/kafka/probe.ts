// The tests' Kafka client: one long-lived JVM (tools/kafka/src/main/java/msa/kafka/Probe.java) in the root
// namespace, spoken to over stdin/stdout, one command per line, one JSON answer per line.

import { spawn, type ChildProcessWithoutNullStreams } from "child_process";
import * as path from "path";

// ---------------------------------------------------------------------------------------------------
// The client (tools/kafka/src/main/java/msa/kafka/Probe.java)

export interface ProbeResult {
    ok: boolean;
    error?: string;
    cause?: string;
    message?: string;
    [key: string]: unknown;
}

export class Probe {
    private next = 0;
    private buffer = "";
    private stderr = "";
    private readonly pending = new Map<string, { resolve: (r: ProbeResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
    private exited = false;
    private readonly exit: Promise<void>;

    private constructor(private readonly child: ChildProcessWithoutNullStreams) {
        child.stdout.on("data", (d: Buffer) => this.onData(d.toString()));
        child.stderr.on("data", (d: Buffer) => {
            this.stderr = (this.stderr + d.toString()).slice(-20_000);
        });
        this.exit = new Promise((resolve) =>
            child.on("exit", () => {
                this.exited = true;
                for (const [, p] of this.pending) {
                    clearTimeout(p.timer);
                    p.reject(new Error(`the Kafka test client exited; stderr:\n${this.stderr}`));
                }
                this.pending.clear();
                resolve();
            }),
        );
    }

    static async start(c: { readonly clientHostsFile: string; readonly dist: { dir: string } }): Promise<Probe> {
        const env: NodeJS.ProcessEnv = {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            LANG: "C.UTF-8",
            KAFKA_HEAP_OPTS: "-Xmx256m",
            // The cluster's names, as the pods' DNS would answer them, for this JVM only.
            KAFKA_OPTS: `-Djdk.net.hosts.file=${c.clientHostsFile}`,
        };
        const child = spawn(path.join(c.dist.dir, "bin/msa-kafka-probe.sh"), [], { env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
        const p = new Probe(child);
        liveProbes.add(p);
        const ready = new Promise<ProbeResult>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`the Kafka test client did not start in 60 s; stderr:\n${p.stderr}`)), 60_000);
            p.pending.set("ready", { resolve, reject, timer });
        });
        await ready;
        return p;
    }

    private onData(chunk: string): void {
        this.buffer += chunk;
        let i: number;
        while ((i = this.buffer.indexOf("\n")) >= 0) {
            const line = this.buffer.slice(0, i);
            this.buffer = this.buffer.slice(i + 1);
            const tab = line.indexOf("\t");
            if (tab < 0) continue;
            const id = line.slice(0, tab);
            const p = this.pending.get(id);
            if (!p) continue;
            this.pending.delete(id);
            clearTimeout(p.timer);
            try {
                p.resolve(JSON.parse(line.slice(tab + 1)) as ProbeResult);
            } catch (e) {
                p.reject(new Error(`unparsable answer from the client: ${line.slice(0, 300)} (${(e as Error).message})`));
            }
        }
    }

    /** One command; rejects after timeoutMs (the command itself keeps its own, shorter, Kafka timeouts). */
    call(cmd: string, args: string[], timeoutMs: number): Promise<ProbeResult> {
        if (this.exited) return Promise.reject(new Error(`the Kafka test client has exited; stderr:\n${this.stderr}`));
        const id = `r${++this.next}`;
        for (const a of args) if (/[\t\n]/.test(a)) throw new Error(`client argument with a tab or newline: ${JSON.stringify(a)}`);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new Error(`client command ${cmd} timed out after ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(id, { resolve, reject, timer });
            this.child.stdin.write([id, cmd, ...args].join("\t") + "\n");
        });
    }

    /** Like call(), but a refused command fails with the client's error. */
    async ok(cmd: string, args: string[], timeoutMs: number): Promise<ProbeResult> {
        const r = await this.call(cmd, args, timeoutMs);
        if (!r.ok) throw new Error(`${cmd} ${args.slice(1).join(" ")}: ${r.error} (${r.cause}): ${r.message}`);
        return r;
    }

    /** Starts a paced producer; returns its handle for stream-status / stream-stop. */
    async startStream(cfg: string, topic: string, prefix: string, intervalMs: number, maxCount: number): Promise<string> {
        return this.startLong("stream-start", [cfg, topic, prefix, String(intervalMs), String(maxCount)]);
    }

    /** Starts a command that keeps running in the client (stream-start, isr-watch-start); returns its handle. */
    async startLong(cmd: string, args: string[]): Promise<string> {
        // The handle is the request id: call() takes the next one synchronously, before any other call can.
        const id = `r${this.next + 1}`;
        await this.ok(cmd, args, 30_000);
        return id;
    }

    async stop(): Promise<void> {
        if (this.exited) return;
        this.child.stdin.end();
        const timer = setTimeout(() => this.killNow(), 15_000);
        await this.exit;
        clearTimeout(timer);
        liveProbes.delete(this);
    }

    killNow(): void {
        if (!this.exited && this.child.pid !== undefined) {
            try {
                process.kill(-this.child.pid, "SIGKILL");
            } catch {
                // gone
            }
        }
    }
}

export const liveProbes = new Set<Probe>();
