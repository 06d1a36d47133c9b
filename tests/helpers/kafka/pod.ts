// One Kafka pod emulated on this machine (KafkaNode): the rendered command, env and volumes, paths this
// machine cannot have substituted, run in the pod's namespaces as the securityContext's user; start, stop,
// readiness (the TCP probe), disk use.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type { Manifest } from "../../../scripts/lib/mockRuntime";
import { httpGet, parseMetrics, type Sample } from "../ops";
import { run, startServer, type RunResult, type ServerProcess } from "../../../scripts/lib/servers";

// ---------------------------------------------------------------------------------------------------
// Nodes

/** One path the machine cannot have, and where the harness puts it instead. */
export interface Substitution {
    from: string;
    to: string;
    why: string;
}

/**
 * Absolute paths in a script, a properties file or an env value (not inside a longer word or ${...}; not
 * starting with '-', which is an awk pattern such as /-----BEGIN CERTIFICATE-----/, not a path).
 */
export const ABS_PATH = /(?<![\w}$.:\/-])\/[A-Za-z0-9_.][A-Za-z0-9_.\/-]*/g;
/**
 * Paths every pod and this machine both have: the shell and tools, /tmp (bound to the pod's emptyDir), /dev,
 * and bash's /dev/tcp/<host>/<port> (no file: bash opens a connection).
 */
export const SYSTEM_PATH = /^\/((usr\/)?s?bin\/[\w.-]+|tmp(\/.*)?|dev\/(null|u?random)|dev\/(tcp|udp)\/[\w.\/-]*|)$/;

export interface VolumeDir {
    mountPath: string;
    dir: string;
    kind: "pvc" | "emptyDir" | "configMap" | "secret";
    readOnly: boolean;
    /** ConfigMap/Secret volumes: file name → content and mode. */
    files?: { name: string; content: string; mode: number }[];
}

/** What a node runs, resolved from one set of rendered objects. */
export interface PodPlan {
    /** The init containers' commands, in order, paths substituted. */
    init: { name: string; argv: string[] }[];
    argv: string[];
    env: Record<string, string>;
    volumes: VolumeDir[];
    uid: number;
    gid: number;
    fsGroup: number;
    readOnlyRoot: boolean;
    terminationGraceMs: number;
    clientPort: number;
    /** The container's probes, paths substituted (exec) or resolved to a port number (tcpSocket). */
    probes: { startup?: PodProbe; readiness?: PodProbe; liveness?: PodProbe };
}

/** One probe as the kubelet runs it. */
export type PodProbe = ({ kind: "exec"; argv: string[] } | { kind: "tcp"; port: number }) & { periodMs: number; timeoutMs: number; failureThreshold: number };

/** One run of a probe: its verdict, what an exec probe printed, how long it took. */
export interface ProbeRun {
    ok: boolean;
    output: string;
    ms: number;
}

/** What a node needs from its cluster (KafkaCluster is one): declared here so the node does not import the cluster. */
export interface NodeCluster {
    readonly rendered: { objects: Manifest[] };
    readonly dist: { dir: string };
    readonly runDir: string;
    readonly imageDir: string;
    readonly dataMountPath: string;
    readonly writableVolumes: string[];
    readonly clientPort: number;
    readonly terminationGraceMs: number;
    podFqdn(i: number): string;
    plan(objects: Manifest[], node: KafkaNode, record?: Substitution[]): PodPlan;
}

export class KafkaNode {
    process?: ServerProcess;
    starts = 0;
    /** What the current (last) start runs, and the objects it was resolved from. */
    plan?: PodPlan;
    objects?: Manifest[];
    constructor(
        readonly cluster: NodeCluster,
        readonly ordinal: number,
        readonly pod: string,
        readonly ns: string,
        readonly address: string,
        readonly root: string,
    ) {}

    get fqdn(): string {
        return this.cluster.podFqdn(this.ordinal);
    }

    /** The host dir standing for a container mount path. */
    dirOf(mountPath: string): string {
        return path.join(this.root, mountPath.replace(/^\//, "").replace(/\//g, "-"));
    }

    /** The start script as this node runs it (paths substituted). */
    startScriptPath(): string {
        const argv = this.cluster.plan(this.cluster.rendered.objects, this).argv;
        return argv[argv.length - 1];
    }

    /** The broker's data volume (the PVC): kept across restarts. */
    get dataDir(): string {
        return this.dirOf(this.cluster.dataMountPath);
    }

    get running(): boolean {
        return this.process?.running === true;
    }

    /** All output of every start of this node so far (what `kubectl logs` would show, per start). */
    logs(): string {
        let out = "";
        for (let n = 1; n <= this.starts; n++) {
            try {
                out += fs.readFileSync(path.join(this.root, `stdout.${n}.log`), "utf8");
            } catch {
                // not started yet
            }
        }
        return out;
    }

    /** Output of the current (last) start only. */
    lastLog(): string {
        return this.process?.log() ?? "";
    }

    /**
     * Starts the pod from `objects` (default: what its last start ran, else the cluster's: a restarted container
     * sees the ConfigMaps and Secrets as they are now, e.g. after a rolled-out password rotation): writes its
     * ConfigMap/Secret volumes as the kubelet would, then runs the rendered command in the pod's namespaces.
     * Does not wait for readiness.
     */
    start(objects: Manifest[] = this.objects ?? this.cluster.rendered.objects): ServerProcess {
        if (this.running) throw new Error(`${this.pod} is already running`);
        const plan = this.cluster.plan(objects, this);
        this.objects = objects;
        for (const v of plan.volumes) {
            if (v.kind === "configMap" || v.kind === "secret") {
                // Projected anew at each pod start: a changed ConfigMap/Secret is what the restarted pod sees.
                fs.rmSync(v.dir, { recursive: true, force: true });
                fs.mkdirSync(v.dir, { recursive: true, mode: 0o755 });
                for (const f of v.files ?? []) {
                    const p = path.join(v.dir, f.name);
                    fs.writeFileSync(p, f.content);
                    fs.chownSync(p, 0, plan.fsGroup);
                    fs.chmodSync(p, f.mode);
                }
            } else if (!fs.existsSync(v.dir)) {
                // emptyDir: world-writable as the kubelet makes it; PVC: group fsGroup, setgid, group-writable.
                fs.mkdirSync(v.dir, { recursive: true });
                if (v.kind === "emptyDir") {
                    fs.chmodSync(v.dir, 0o777);
                } else {
                    fs.chownSync(v.dir, 0, plan.fsGroup);
                    fs.chmodSync(v.dir, 0o2775);
                }
            }
        }
        // Init containers run to completion first, as the pod's user (what they copy lands in the pod's volumes).
        for (const ic of plan.init) {
            const ids = [`--reuid=${plan.uid}`, `--regid=${plan.gid}`, `--groups=${plan.fsGroup}`, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"];
            try {
                execFileSync("setpriv", [...ids, "--", ...ic.argv], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
            } catch (e) {
                throw new Error(`${this.pod}: init container ${ic.name} (${ic.argv.join(" ")}) failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
            }
        }
        this.plan = plan;
        this.starts++;
        const logFile = path.join(this.root, `stdout.${this.starts}.log`);
        const run = this.cluster.runDir;
        const tmpVol = plan.volumes.find((v) => v.mountPath === "/tmp");
        // Inside the pod's network + new mount/UTS namespace, as root, before dropping to the pod's user:
        // hostname; the run dir stays reachable under its own path (bound into the new /tmp when it lives in
        // /tmp); the pod's emptyDir becomes /tmp; each volume is a mount of its own (rw, or ro as rendered);
        // the Kafka distribution is read-only; the root filesystem is read-only when the container says so.
        const setup = [
            "set -euo pipefail",
            'hostname "$MSA_POD"',
            "mount --make-rprivate /",
            ...(tmpVol
                ? run.startsWith("/tmp/")
                    ? [`mkdir -p "${tmpVol.dir}/${path.basename(run)}"`, `mount --bind "${run}" "${tmpVol.dir}/${path.basename(run)}"`, `mount --rbind "${tmpVol.dir}" /tmp`]
                    : [`mount --bind "${tmpVol.dir}" /tmp`]
                : []),
            ...plan.volumes.filter((v) => v.mountPath !== "/tmp").flatMap((v) => [`mount --bind "${v.dir}" "${v.dir}"`, ...(v.readOnly ? [`mount -o remount,bind,ro "${v.dir}"`] : [])]),
            `mount --bind "${this.cluster.dist.dir}" "${this.cluster.imageDir}"`,
            `mount -o remount,bind,ro "${this.cluster.imageDir}"`,
            ...(tmpVol && run.startsWith("/tmp/") ? [`mount -o remount,bind,ro "/tmp/${path.basename(run)}"`] : []),
            ...(plan.readOnlyRoot ? ["mount -o remount,bind,ro /"] : []),
            `exec setpriv --reuid=${plan.uid} --regid=${plan.gid} --groups=${plan.fsGroup} --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"`,
        ].join("\n");
        const argv = ["netns", "exec", this.ns, "unshare", "--uts", "--", "/bin/bash", "-c", setup, "pod-setup", ...plan.argv];
        this.process = startServer(this.pod, "ip", argv, { logFile, env: { ...plan.env, MSA_POD: this.pod }, cwd: "/" });
        return this.process;
    }

    /** GET /metrics on the pod address at `port` (what Prometheus scrapes through the PodMonitor). */
    async scrape(port: number, timeoutMs = 10_000): Promise<{ status: number; body: string; samples: Sample[] }> {
        const r = await httpGet(port, "/metrics", timeoutMs, this.address);
        return { ...r, samples: parseMetrics(r.body) };
    }

    /**
     * One run of the container's probe `kind` as the kubelet runs it: tcpSocket, a connect to the pod address;
     * exec, the command in the container (the broker's network, mount and UTS namespaces, its user and groups,
     * no capabilities, the container's env), bounded by timeoutSeconds.
     */
    async runProbe(kind: "startup" | "readiness" | "liveness"): Promise<ProbeRun> {
        const plan = this.plan;
        const pid = this.process?.child.pid;
        if (!plan || pid === undefined || !this.running) return { ok: false, output: `${this.pod} is not running`, ms: 0 };
        const p = plan.probes[kind];
        if (!p) throw new Error(`${this.pod} has no ${kind} probe`);
        const t0 = Date.now();
        if (p.kind === "tcp") {
            const ok = await tcpConnects(this.address, p.port, p.timeoutMs);
            return { ok, output: ok ? "" : `${this.address}:${p.port} refused or timed out`, ms: Date.now() - t0 };
        }
        const argv = ["--target", String(pid), "--net", "--mount", "--uts", "--", ...this.dropPrivileges(plan), ...p.argv];
        const r = await run("nsenter", argv, { env: plan.env, cwd: "/", timeoutMs: p.timeoutMs });
        return { ok: r.code === 0 && !r.timedOut, output: (r.stdout + r.stderr).trim() + (r.timedOut ? ` (timed out after ${p.timeoutMs} ms)` : ""), ms: Date.now() - t0 };
    }

    /**
     * Runs `argv` in the container as an exec probe would (see runProbe), without a time bound of the probe's;
     * `bash -c` scripts measure themselves with `times`.
     */
    async execInContainer(argv: string[], timeoutMs = 120_000): Promise<RunResult> {
        const plan = this.plan;
        const pid = this.process?.child.pid;
        if (!plan || pid === undefined || !this.running) throw new Error(`${this.pod} is not running`);
        return run("nsenter", ["--target", String(pid), "--net", "--mount", "--uts", "--", ...this.dropPrivileges(plan), ...argv], { env: plan.env, cwd: "/", timeoutMs });
    }

    private dropPrivileges(plan: PodPlan): string[] {
        return ["setpriv", `--reuid=${plan.uid}`, `--regid=${plan.gid}`, `--groups=${plan.fsGroup}`, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"];
    }

    /**
     * Polls the probe `kind` every `intervalMs` (the kubelet's periodSeconds by default) until it passes;
     * returns when it passed and its last output. Fails when the node exits or after `timeoutMs`.
     */
    async waitProbe(kind: "startup" | "readiness" | "liveness", timeoutMs: number, intervalMs?: number): Promise<{ at: number; output: string; runs: number }> {
        const deadline = Date.now() + timeoutMs;
        const every = intervalMs ?? this.plan?.probes[kind]?.periodMs ?? 10_000;
        let runs = 0;
        let last: ProbeRun | undefined;
        for (;;) {
            if (!this.running) throw new Error(`${this.pod} exited while waiting for its ${kind} probe; log:\n${this.process?.logTail(40)}`);
            const t = Date.now();
            last = await this.runProbe(kind);
            runs++;
            if (last.ok) return { at: Date.now(), output: last.output, runs };
            if (Date.now() > deadline) throw new Error(`${this.pod}: the ${kind} probe did not pass in ${timeoutMs} ms; last: ${last.output}`);
            await new Promise((r) => setTimeout(r, Math.max(0, every - (Date.now() - t))));
        }
    }

    /** Waits until the startupProbe's TCP check (client port on the pod address) succeeds. */
    async waitListening(timeoutMs = 90_000): Promise<void> {
        const server = this.process;
        if (!server) throw new Error(`${this.pod} was never started`);
        await waitForTcp(this.address, this.cluster.clientPort, timeoutMs, server);
    }

    /**
     * SIGTERM to the pod's process group, bounded by the rendered terminationGracePeriodSeconds (or `graceMs`:
     * teardown only), then SIGKILL.
     */
    async stop(graceMs = this.cluster.terminationGraceMs): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
        if (!this.process) return { code: null, signal: null, killed: false };
        return this.process.stop(graceMs);
    }

    /** kill -9 of the pod's processes (a crashed node / OOM kill). */
    async kill9(): Promise<void> {
        const p = this.process;
        if (!p || !p.running) return;
        try {
            process.kill(-(p.child.pid as number), "SIGKILL");
        } catch {
            // gone
        }
        await p.exited;
    }

    /**
     * Bytes written outside the data volume: every file in the pod's other writable volumes (LOG_DIR =
     * /opt/kafka/logs, /tmp, /opt/kafka/runtime), per volume and file.
     */
    outsideData(): { total: number; byVolume: Record<string, number>; files: { path: string; bytes: number }[] } {
        const byVolume: Record<string, number> = {};
        const files: { path: string; bytes: number }[] = [];
        const skip = path.basename(this.cluster.runDir); // the empty mount point of the run dir in /tmp
        for (const v of this.cluster.writableVolumes) {
            if (v === this.cluster.dataMountPath) continue;
            let sum = 0;
            const walk = (dir: string, rel: string) => {
                let entries: fs.Dirent[] = [];
                try {
                    entries = fs.readdirSync(dir, { withFileTypes: true });
                } catch {
                    return;
                }
                for (const e of entries) {
                    if (rel === "" && e.name === skip && v === "/tmp") continue;
                    const p = path.join(dir, e.name);
                    if (e.isDirectory()) walk(p, path.join(rel, e.name));
                    else {
                        const st = fs.lstatSync(p);
                        const bytes = Math.max(st.size, st.blocks * 512);
                        sum += bytes;
                        files.push({ path: path.join(v, rel, e.name), bytes });
                    }
                }
            };
            walk(this.dirOf(v), "");
            byVolume[v] = sum;
        }
        return { total: Object.values(byVolume).reduce((a, b) => a + b, 0), byVolume, files };
    }
}

async function waitForTcp(host: string, port: number, timeoutMs: number, server?: ServerProcess): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (server && !server.running) {
            const { code, signal } = await server.exited;
            throw new Error(`${server.name} exited (code ${code}, signal ${signal}) before listening on ${host}:${port}; log:\n${server.logTail(40)}`);
        }
        if (await tcpConnects(host, port, 1000)) return;
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port}${server ? `; log of ${server.name}:\n${server.logTail(40)}` : ""}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** One TCP connect (a tcpSocket probe): true when it is accepted within `timeoutMs`. */
export function tcpConnects(host: string, port: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: timeoutMs });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
        s.once("timeout", () => {
            s.destroy();
            resolve(false);
        });
    });
}
