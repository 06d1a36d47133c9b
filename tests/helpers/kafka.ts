// Real Kafka 3.8.1 for the tests, started from the RENDERED objects: the StatefulSet's command, its env
// (literal or from the ConfigMap/Secret it names) and the files its volumes mount (start.sh and the
// server.properties template from ConfigMap kafka-config, the JAAS file from Secret kafka-jaas), run
// unchanged except for the paths this machine cannot have (see Substitution below; every run prints them).
//
// Each node is a "pod": its own network namespace (a veth into a bridge of this run, one address of a
// private /24 checked to be unused), its own /etc/netns/<ns>/hosts giving the pod and Service names the
// cluster DNS would give, HOSTNAME and the UTS hostname = kafka-<i> (the rendered script derives node id and
// advertised host from it), its own mount namespace where its emptyDir is /tmp, the root filesystem is
// read-only when the container's securityContext says so, and the broker runs as the securityContext's
// uid/gid with fsGroup as a supplementary group, no capabilities and no_new_privs.
// The tests' client (tools/kafka/src, one long-lived JVM) runs in the root namespace and reaches the pods
// through the bridge; it resolves the cluster names through its own hosts file (-Djdk.net.hosts.file).
//
// Everything is torn down by teardown(), and by a process-exit handler as a last resort: process groups,
// namespaces, the bridge, /etc/netns/<ns>, temp dirs.

import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { decodeConfigValue } from "../../components/config";
import { readProjectName, readStackFile, renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { find, podSpec, type Any } from "../../scripts/lib/manifests";
import { commandLine, configMapData, container, dataKey, envValue, mountedFile, onlyObject, output, secretData, type Container } from "../../scripts/lib/rendered";
import { KAFKA_JMX_AGENT_VERSION } from "../../components/monitoring/kafka";
import { httpGet, parseMetrics, TEST_JMX_AGENT, type Sample } from "./ops";
import { describeRun, makeTempDir, removeTempDir, run, serversRequired, startServer, type RunResult, type ServerProcess } from "../../scripts/lib/servers";
import { requireBinaries } from "./servers";

export const KAFKA_VERSION = "3.8.1";

// ---------------------------------------------------------------------------------------------------
// Prerequisites: Java, the cached jars, root (network namespaces)

export interface KafkaDist {
    /** ~/.cache/msa-infra/kafka-3.8.1: bin/, libs/, config/, probe/, agents/ (see scripts/kafka-dist.sh). */
    dir: string;
    java: string;
    /** The metrics agent jar from Maven Central (agents/jmx_prometheus_javaagent-<version>.jar). */
    jmxAgentJar: string;
}

/**
 * What the harness stands in for the images of init containers: image → file path in the image → the file
 * here. The Kafka image itself is the cached distribution (imageDir); the metrics agent's image is the
 * Maven Central jar at the path the tests render kafka.jmxAgent.jar with.
 */
function imageStandIns(dist: KafkaDist): Record<string, Record<string, string>> {
    return { [TEST_JMX_AGENT.image]: { [TEST_JMX_AGENT.jar]: dist.jmxAgentJar } };
}

/** Skips the suite locally with a printed reason, fails when real servers are required (CI). */
export function skipOrFail(ctx: Mocha.Context, reason: string): never {
    if (serversRequired()) {
        throw new Error(
            `${reason}; skipping a real-server test is not allowed here (CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
        );
    }
    console.log(`      skipped: ${reason}`);
    ctx.skip();
    throw new Error("unreachable: ctx.skip() throws");
}

/**
 * Java, the tools the harness needs, root, and the Kafka jars in the cache. The jars are never downloaded
 * here: scripts/kafka-dist.sh --offline only (re)builds launchers and the client from the local cache.
 */
export async function requireKafka(ctx: Mocha.Context): Promise<KafkaDist> {
    const bins = requireBinaries(ctx, ["java", "javac", "ip", "unshare", "setpriv", "mount", "bash"], "Java 17 runs Kafka; iproute2/util-linux give each node its namespaces");
    if (process.getuid?.() !== 0) {
        skipOrFail(ctx, "the real-Kafka tests create network namespaces and need root");
    }
    const r = await run("bash", [path.join(ROOT, "scripts/kafka-dist.sh"), "--offline"], { timeoutMs: 180_000 });
    if (r.code === 3) {
        const why = r.stderr.split("\n").filter((l) => l.startsWith("kafka-dist: ")).pop()?.slice("kafka-dist: ".length) ?? r.stderr.trim();
        skipOrFail(ctx, `Kafka ${KAFKA_VERSION} is not ready to run: ${why}`);
    }
    if (r.code !== 0) {
        throw new Error(`scripts/kafka-dist.sh --offline: ${describeRun(r)}`);
    }
    const m = /^KAFKA_DIST=(.+)$/m.exec(r.stdout);
    if (!m) throw new Error(`scripts/kafka-dist.sh printed no KAFKA_DIST: ${r.stdout}`);
    const dir = m[1].trim();
    const jmxAgentJar = path.join(dir, "agents", `jmx_prometheus_javaagent-${KAFKA_JMX_AGENT_VERSION}.jar`);
    if (!fs.existsSync(jmxAgentJar)) throw new Error(`scripts/kafka-dist.sh left no ${jmxAgentJar}`);
    return { dir, java: bins.java, jmxAgentJar };
}

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * A stack's own config (Pulumi.<stack>.yaml, prefix stripped), to be changed by a test (e.g. grants for the
 * topics the test creates) and rendered with renderKafka(stack, config).
 */
export function stackConfig(stack: string): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const raw = readStackFile(ROOT, stack);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    return config;
}

/** The stack's config with `kafka.users` replaced (the authorizer denies what no grant allows). */
export function withKafkaUsers(config: Record<string, unknown>, users: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...config, kafka: { ...((config.kafka as object | undefined) ?? {}), users, ...extra } };
}

/** What the harness reads from a render: the Kafka StatefulSet, its container and connection output. */
export interface KafkaRendered {
    objects: Manifest[];
    namespace: string;
    sts: Manifest;
    container: Container;
    replicas: number;
    connection: KafkaConnection;
}

export interface KafkaConnection {
    namespace: string;
    bootstrapServers: string;
    securityProtocol: string;
    saslMechanism?: string;
    adminSecret: { name: string; key: string };
    users: { user: string; secretName: string }[];
    /** The client listener's TLS: the Secret clients take the CA from (kafka-tls, key ca.crt). */
    tls: { enabled: boolean; secretName?: string; caKey?: string };
}

/** Renders run one at a time: the mock runtime is not re-entrant, and a cluster may render in the background. */
let renderQueue: Promise<unknown> = Promise.resolve();

export function renderKafka(stack: string, config?: Record<string, unknown>): Promise<KafkaRendered> {
    const next = renderQueue.then(async () => {
        const r = await renderStack(stack, { withSecrets: true, config });
        return kafkaRendered(r.objects, output<KafkaConnection>(r.outputs, "kafkaConnection"));
    });
    renderQueue = next.catch(() => undefined);
    return next;
}

export function kafkaRendered(objects: Manifest[], connection: KafkaConnection): KafkaRendered {
    const sts = onlyObject(objects, "StatefulSet", connection.namespace);
    return { objects, namespace: connection.namespace, sts, container: container(sts, "kafka"), replicas: (sts as Any).spec.replicas, connection };
}

/** A copy of the objects with one ConfigMap/Secret key replaced (e.g. a forced cluster id, a new JAAS file). */
export function withDataKey(objects: Manifest[], kind: "ConfigMap" | "Secret", namespace: string, name: string, key: string, value: string): Manifest[] {
    const copy: Manifest[] = JSON.parse(JSON.stringify(objects));
    const obj = find(copy, kind, namespace, name) as Any;
    dataKey(copy, kind, namespace, name, key); // throws when the key does not exist
    if (kind === "ConfigMap") {
        obj.data[key] = value;
    } else if (obj.stringData && key in obj.stringData) {
        obj.stringData[key] = value;
    } else {
        obj.data[key] = Buffer.from(value).toString("base64");
    }
    return copy;
}

/** A 16-byte id in Kafka's format (22 chars of URL-safe base64) that begins with '-'. */
export function clusterIdStartingWithDash(): string {
    for (;;) {
        const id = crypto.randomBytes(16).toString("base64url");
        const forced = "-" + id.slice(1);
        if (Buffer.from(forced, "base64url").length === 16 && /^-[A-Za-z0-9_-]{21}$/.test(forced)) return forced;
    }
}

// ---------------------------------------------------------------------------------------------------
// The network: a bridge, one namespace per pod

const liveLabs = new Set<NetLab>();

/** `a.b.c.0/24` not overlapping any route or address of the root namespace. */
function pickSubnet(): string {
    const routes: { dst: string }[] = JSON.parse(execFileSync("ip", ["-j", "-4", "route", "show", "table", "all"], { encoding: "utf8" }) || "[]");
    const addrs: { addr_info?: { local: string; prefixlen: number }[] }[] = JSON.parse(execFileSync("ip", ["-j", "-4", "addr"], { encoding: "utf8" }) || "[]");
    const nets: [number, number][] = [];
    const toInt = (ip: string) => ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    const add = (cidr: string) => {
        if (cidr === "default") return; // the default route says nothing about what is in use
        const [ip, len] = cidr.split("/");
        const bits = len === undefined ? 32 : Number(len);
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        nets.push([(toInt(ip) & mask) >>> 0, mask]);
    };
    for (const r of routes) add(r.dst);
    for (const a of addrs) for (const i of a.addr_info ?? []) add(`${i.local}/${i.prefixlen}`);
    for (let tries = 0; tries < 200; tries++) {
        const b = 64 + crypto.randomInt(190);
        const c = crypto.randomInt(256);
        const base = toInt(`10.${b}.${c}.0`);
        const mask = (~0 << 8) >>> 0;
        const overlaps = nets.some(([n, m]) => ((base & m) >>> 0) === n || ((n & mask) >>> 0) === base);
        if (!overlaps) return `10.${b}.${c}`;
    }
    throw new Error("no unused 10.x.y.0/24 found");
}

function ipq(args: string[]): void {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** The namespaces, veths, bridge and hosts files of one run. */
export class NetLab {
    readonly id = crypto.randomBytes(3).toString("hex");
    readonly subnet = pickSubnet();
    readonly bridge = `msak-${this.id}`;
    readonly namespaces: string[] = [];
    private madeEtcNetns = false;

    constructor() {
        liveLabs.add(this);
        ipq(["link", "add", this.bridge, "type", "bridge"]);
        ipq(["addr", "add", `${this.rootAddress}/24`, "dev", this.bridge]);
        ipq(["link", "set", this.bridge, "up"]);
    }

    /** The root namespace's address on the bridge: where the tests' client connects from. */
    get rootAddress(): string {
        return `${this.subnet}.1`;
    }

    address(i: number): string {
        return `${this.subnet}.${10 + i}`;
    }

    nsName(i: number): string {
        return `msa-kafka-${this.id}-${i}`;
    }

    /** Namespace for pod i with its address, and its /etc/netns/<ns>/hosts. */
    addPod(i: number, hosts: string): string {
        const ns = this.nsName(i);
        const host = `msak${this.id}h${i}`;
        const peer = `msak${this.id}n${i}`;
        ipq(["netns", "add", ns]);
        this.namespaces.push(ns);
        ipq(["link", "add", host, "type", "veth", "peer", "name", peer]);
        ipq(["link", "set", peer, "netns", ns]);
        ipq(["-n", ns, "link", "set", peer, "name", "eth0"]);
        ipq(["-n", ns, "addr", "add", `${this.address(i)}/24`, "dev", "eth0"]);
        ipq(["-n", ns, "link", "set", "eth0", "up"]);
        ipq(["-n", ns, "link", "set", "lo", "up"]);
        ipq(["link", "set", host, "master", this.bridge, "up"]);
        if (!fs.existsSync("/etc/netns")) {
            fs.mkdirSync("/etc/netns");
            this.madeEtcNetns = true;
        }
        fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
        fs.writeFileSync(`/etc/netns/${ns}/hosts`, hosts);
        return ns;
    }

    /** Synchronous so the exit handler can use it: kills what is left inside, deletes everything. */
    destroy(): void {
        for (const ns of this.namespaces) {
            try {
                const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] })
                    .split(/\s+/)
                    .filter(Boolean);
                for (const p of pids) {
                    try {
                        process.kill(Number(p), "SIGKILL");
                    } catch {
                        // gone
                    }
                }
            } catch {
                // namespace already gone
            }
            try {
                ipq(["netns", "del", ns]); // its eth0 goes with it, and so the veth peer on the bridge
            } catch {
                // already gone
            }
            fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
        }
        // A namespace whose last process is still dying outlives its name, and its veth with it: delete the
        // root-side ends explicitly (that removes each pair).
        for (let i = 0; i < this.namespaces.length; i++) {
            try {
                ipq(["link", "del", `msak${this.id}h${i}`]);
            } catch {
                // went with its namespace
            }
        }
        try {
            ipq(["link", "del", this.bridge]);
        } catch {
            // already gone
        }
        if (this.madeEtcNetns) {
            try {
                fs.rmdirSync("/etc/netns");
            } catch {
                // someone else's namespaces live there too
            }
        }
        liveLabs.delete(this);
    }

    /** What of this run is still there (for the end-of-suite assertion). */
    leftovers(): string[] {
        const out: string[] = [];
        const listed = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        for (const line of listed.split("\n")) if (line.startsWith(`msa-kafka-${this.id}-`)) out.push(`network namespace ${line.split(" ")[0]}`);
        const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
        for (const line of links.split("\n")) if (line.includes(`msak${this.id}`) || line.includes(this.bridge)) out.push(`link ${line.split(":")[1]?.trim()}`);
        for (const ns of this.namespaces) if (fs.existsSync(`/etc/netns/${ns}`)) out.push(`/etc/netns/${ns}`);
        return out;
    }
}

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
const ABS_PATH = /(?<![\w}$.:\/-])\/[A-Za-z0-9_.][A-Za-z0-9_.\/-]*/g;
/** Paths every pod and this machine both have: the shell and tools, /tmp (bound to the pod's emptyDir), /dev. */
const SYSTEM_PATH = /^\/((usr\/)?s?bin\/[\w.-]+|tmp(\/.*)?|dev\/(null|u?random)|)$/;

interface VolumeDir {
    mountPath: string;
    dir: string;
    kind: "pvc" | "emptyDir" | "configMap" | "secret";
    readOnly: boolean;
    /** ConfigMap/Secret volumes: file name → content and mode. */
    files?: { name: string; content: string; mode: number }[];
}

/** What a node runs, resolved from one set of rendered objects. */
interface PodPlan {
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
}

export class KafkaNode {
    process?: ServerProcess;
    starts = 0;
    constructor(
        readonly cluster: KafkaCluster,
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
     * Starts the pod from `objects` (default: the cluster's): writes its ConfigMap/Secret volumes as the kubelet
     * would, then runs the rendered command in the pod's namespaces. Does not wait for readiness.
     */
    start(objects: Manifest[] = this.cluster.rendered.objects): ServerProcess {
        if (this.running) throw new Error(`${this.pod} is already running`);
        const plan = this.cluster.plan(objects, this);
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
    const net = await import("net");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (server && !server.running) {
            const { code, signal } = await server.exited;
            throw new Error(`${server.name} exited (code ${code}, signal ${signal}) before listening on ${host}:${port}; log:\n${server.logTail(40)}`);
        }
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect({ host, port, timeout: 1000 });
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
        if (ok) return;
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port}${server ? `; log of ${server.name}:\n${server.logTail(40)}` : ""}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

// ---------------------------------------------------------------------------------------------------
// The cluster

const liveClusters = new Set<KafkaCluster>();

/** How long teardown() lets each node stop before SIGKILL (the rendered grace is for the proofs' stops). */
const TEARDOWN_STOP_MS = 10_000;

export class KafkaCluster {
    readonly lab: NetLab;
    readonly runDir: string;
    /** Where the image's /opt/kafka is bound in each pod (the cached distribution, read-only). */
    readonly imageDir: string;
    /** imageStandIns, copied into the run dir (readable by the pods' user: the cache may live under /root). */
    readonly images: Record<string, Record<string, string>> = {};
    readonly nodes: KafkaNode[] = [];
    readonly substitutions: Substitution[] = [];
    probe?: Probe;
    private clientFiles = 0;
    private jobRuns = 0;

    private constructor(
        readonly label: string,
        readonly rendered: KafkaRendered,
        readonly dist: KafkaDist,
    ) {
        this.runDir = makeTempDir(`kafka-${label}`);
        fs.chmodSync(this.runDir, 0o711); // the broker's uid walks through it to its volumes
        this.imageDir = path.join(this.runDir, "opt-kafka");
        fs.mkdirSync(this.imageDir);
        Object.entries(imageStandIns(dist)).forEach(([image, files], i) => {
            const root = path.join(this.runDir, `image-${i}`);
            this.images[image] = {};
            for (const [inImage, here] of Object.entries(files)) {
                const copy = path.join(root, inImage);
                fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o755 });
                fs.copyFileSync(here, copy);
                fs.chmodSync(copy, 0o644);
                this.images[image][inImage] = copy;
            }
            fs.chmodSync(root, 0o755);
        });
        this.lab = new NetLab();
        liveClusters.add(this);
        everyCluster.push(this);
    }

    /** Creates the namespaces and starts every pod together (podManagementPolicy Parallel), then the client. */
    static async start(label: string, rendered: KafkaRendered, dist: KafkaDist, opts: { waitReady?: boolean } = {}): Promise<KafkaCluster> {
        const c = new KafkaCluster(label, rendered, dist);
        try {
            c.init();
            for (const n of c.nodes) n.start();
            c.probe = await Probe.start(c);
            if (opts.waitReady !== false) await c.waitReady();
            return c;
        } catch (e) {
            await c.teardown();
            throw e;
        }
    }

    get namespace(): string {
        return this.rendered.namespace;
    }

    get stsName(): string {
        return this.rendered.sts.metadata.name;
    }

    get serviceName(): string {
        return (this.rendered.sts as Any).spec.serviceName;
    }

    podFqdn(i: number): string {
        return `${this.stsName}-${i}.${this.serviceName}.${this.namespace}.svc.cluster.local`;
    }

    get dataMountPath(): string {
        const claims: string[] = ((this.rendered.sts as Any).spec.volumeClaimTemplates ?? []).map((t: Any) => t.metadata.name);
        const m = (this.rendered.container.volumeMounts ?? []).find((v) => claims.includes(v.name));
        if (!m) throw new Error("the Kafka container mounts no volume claim");
        return m.mountPath;
    }

    get writableVolumes(): string[] {
        return (this.rendered.container.volumeMounts ?? []).filter((m) => !m.readOnly).map((m) => m.mountPath);
    }

    get clientPort(): number {
        const p = (this.rendered.container.ports ?? []).find((x) => x.name === "client");
        if (!p) throw new Error("the Kafka container has no port named client");
        return p.containerPort;
    }

    get terminationGraceMs(): number {
        return (podSpec(this.rendered.sts).terminationGracePeriodSeconds ?? 30) * 1000;
    }

    /**
     * Names the cluster DNS would answer, as hosts-file lines: every pod's FQDN (headless Service, which
     * publishes not-ready addresses too), and every Service of the namespace selecting the pods → all pod
     * addresses (for the ClusterIP Service that stands for its endpoints; clients try each).
     */
    private dnsLines(): string[] {
        const lines: string[] = [];
        for (let i = 0; i < this.rendered.replicas; i++) lines.push(`${this.lab.address(i)}\t${this.podFqdn(i)}`);
        const podLabels = (this.rendered.sts as Any).spec.template.metadata.labels as Record<string, string>;
        for (const svc of this.rendered.objects.filter((o) => o.kind === "Service" && o.metadata.namespace === this.namespace)) {
            const sel = ((svc as Any).spec.selector ?? {}) as Record<string, string>;
            if (Object.keys(sel).length === 0 || !Object.entries(sel).every(([k, v]) => podLabels[k] === v)) continue;
            for (let i = 0; i < this.rendered.replicas; i++) lines.push(`${this.lab.address(i)}\t${svc.metadata.name}.${this.namespace}.svc.cluster.local`);
        }
        return lines;
    }

    private init(): void {
        const base = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
        const dns = this.dnsLines();
        for (let i = 0; i < this.rendered.replicas; i++) {
            const pod = `${this.stsName}-${i}`;
            // The kubelet's own line for the pod (FQDN and short hostname), then what DNS answers for the others.
            const own = `${this.lab.address(i)}\t${this.podFqdn(i)}\t${pod}`;
            const hosts = [...base, "# kubelet-managed entry", own, "# cluster DNS", ...dns.filter((l) => !l.endsWith(`\t${this.podFqdn(i)}`))].join("\n") + "\n";
            const ns = this.lab.addPod(i, hosts);
            const root = path.join(this.runDir, pod);
            fs.mkdirSync(root, { mode: 0o711 });
            this.nodes.push(new KafkaNode(this, i, pod, ns, this.lab.address(i), root));
        }
        fs.writeFileSync(this.clientHostsFile, [...base, ...dns].join("\n") + "\n");
        // Recorded once from the first node's plan (every node's differs only by its root).
        this.plan(this.rendered.objects, this.nodes[0], this.substitutions);
    }

    get clientHostsFile(): string {
        return path.join(this.runDir, "client-hosts");
    }

    /**
     * Resolves what pod `node` runs from `objects` (the cluster's, or a changed set for a rolling update):
     * command, env and volumes through the rendered wiring, with the path substitutions applied.
     */
    plan(objects: Manifest[], node: KafkaNode, record?: Substitution[]): PodPlan {
        const r = kafkaRendered(objects, this.rendered.connection);
        const c = r.container;
        const mounts = c.volumeMounts ?? [];
        const volumes: VolumeDir[] = [];
        const subs: Substitution[] = [
            { from: "/opt/kafka/bin", to: path.join(this.imageDir, "bin"), why: `the image's Kafka scripts: ${this.dist.dir} (launchers equivalent to ${KAFKA_VERSION}'s, the jars from Maven Central), bound read-only` },
        ];
        for (const m of mounts) {
            const vol = (podSpec(r.sts).volumes ?? []).find((v: Any) => v.name === m.name);
            const kind: VolumeDir["kind"] = vol?.configMap ? "configMap" : vol?.secret ? "secret" : vol?.emptyDir ? "emptyDir" : "pvc";
            const dir = node.dirOf(m.mountPath);
            const v: VolumeDir = { mountPath: m.mountPath, dir, kind, readOnly: m.readOnly === true };
            if (kind === "configMap" || kind === "secret") {
                const defaultMode: number = (vol.configMap ?? vol.secret).defaultMode ?? 0o644;
                const items: { key: string; path: string; mode?: number }[] | undefined = (vol.configMap ?? vol.secret).items;
                const keys = items
                    ? items.map((i) => ({ name: i.path, mode: i.mode ?? defaultMode }))
                    : Object.keys(kind === "configMap" ? configMapData(find(objects, "ConfigMap", r.namespace, vol.configMap.name)) : secretData(find(objects, "Secret", r.namespace, vol.secret.secretName))).map(
                          (k) => ({ name: k, mode: defaultMode }),
                      );
                v.files = keys.map((k) => ({ name: k.name, mode: k.mode, content: mountedFile(objects, r.sts, c, path.posix.join(m.mountPath, k.name)).value }));
            }
            volumes.push(v);
            if (m.mountPath === "/tmp") {
                subs.push({ from: "/tmp", to: dir, why: `emptyDir ${m.name}: bound over /tmp in the pod's mount namespace (no text changes)` });
            } else {
                subs.push({ from: m.mountPath, to: dir, why: `${kind} volume ${m.name}${v.readOnly ? " (read-only)" : ""}` });
            }
        }
        // A path the script names that is on no volume and not in the image (e.g. the TLS dir with TLS off)
        // does not exist in the pod: it goes to a directory that does not exist here either.
        const onVolume = (p: string) => subs.some((s) => p === s.from || p.startsWith(s.from + "/"));
        const configTexts = volumes.flatMap((v) => (v.kind === "configMap" ? (v.files ?? []).map((f) => f.content) : []));
        const absent = new Set<string>();
        for (const t of [...configTexts, ...commandLine(c), ...(c.env ?? []).map((e) => envValue(objects, r.sts, c, e.name).value)]) {
            for (const p of t.match(ABS_PATH) ?? []) if (!onVolume(p) && !SYSTEM_PATH.test(p)) absent.add(path.posix.dirname(p));
        }
        for (const a of absent) subs.push({ from: a, to: path.join(node.root, "absent", a), why: "on no volume of the pod and not in the image: absent there, absent here" });
        // Longest first, one pass, so no path is rewritten twice; /tmp is a real mount, never rewritten.
        const textual = subs.filter((s) => s.from !== "/tmp").sort((a, b) => b.from.length - a.from.length);
        const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const re = new RegExp(`(?<![\\w./-])(${textual.map((s) => esc(s.from)).join("|")})(?=/|[^\\w.-]|$)`, "g");
        const rewrite = (t: string) => t.replace(re, (m) => textual.find((s) => s.from === m)!.to);
        // ConfigMap files hold the script and the properties template; Secrets hold credentials and keys only
        // (never rewritten, so a password is passed on byte for byte).
        for (const v of volumes) if (v.kind === "configMap") for (const f of v.files ?? []) f.content = rewrite(f.content);
        const env: Record<string, string> = {
            // The image's environment, reduced to what bash and the launchers use (Temurin's JAVA_HOME is not
            // set: java comes from PATH, Java 17 here instead of the image's 21).
            PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            LANG: "C.UTF-8",
            HOSTNAME: node.pod,
        };
        for (const e of c.env ?? []) env[e.name] = rewrite(envValue(objects, r.sts, c, e.name).value);
        const argv = commandLine(c).map(rewrite);
        // Every absolute path the pod would touch must now be one the harness provides.
        const texts = [...argv, ...(c.env ?? []).map((e) => env[e.name]), ...volumes.flatMap((v) => (v.kind === "configMap" ? (v.files ?? []).map((f) => f.content) : []))];
        for (const t of texts) {
            for (const p of t.match(ABS_PATH) ?? []) {
                const ok = p.startsWith(this.runDir + "/") || SYSTEM_PATH.test(p);
                if (!ok) throw new Error(`the pod uses ${p}, which the harness cannot provide (add a substitution in tests/helpers/kafka.ts)`);
            }
        }
        // Init containers (the metrics agent's copy): their image's files come from imageStandIns, their
        // volumes are the pod's (the broker mounts the same emptyDir); any other path is refused.
        const init = ((podSpec(r.sts).initContainers ?? []) as Any[]).map((ic) => {
            const files = this.images[ic.image];
            if (!files) throw new Error(`init container ${ic.name}: the harness has no stand-in for image ${ic.image} (imageStandIns in tests/helpers/kafka.ts)`);
            const mountsOf: { from: string; to: string }[] = (ic.volumeMounts ?? []).map((m: Any) => ({ from: m.mountPath, to: node.dirOf(m.mountPath) }));
            for (const m of mountsOf) {
                if (!volumes.some((v) => v.dir === m.to)) throw new Error(`init container ${ic.name} mounts ${m.from}, which the broker container does not mount`);
            }
            const argv = commandLine(ic).map((arg) => {
                if (arg in files) return files[arg];
                const mount = mountsOf.find((m) => arg === m.from || arg.startsWith(m.from + "/"));
                if (mount) return mount.to + arg.slice(mount.from.length);
                if (arg.startsWith("/") && !SYSTEM_PATH.test(arg)) throw new Error(`init container ${ic.name} uses ${arg}, which the harness cannot provide`);
                return arg;
            });
            if (record) {
                for (const [inImage, here] of Object.entries(files)) {
                    record.push({ from: inImage, to: here, why: `file of image ${ic.image} (init container ${ic.name}): a copy of ${path.basename(this.dist.jmxAgentJar)} from Maven Central` });
                }
            }
            return { name: ic.name as string, argv };
        });
        const sc = c as Any;
        const psc = podSpec(r.sts).securityContext ?? {};
        const uid = sc.securityContext?.runAsUser ?? psc.runAsUser;
        const gid = sc.securityContext?.runAsGroup ?? psc.runAsGroup ?? uid;
        if (uid === undefined) throw new Error("the Kafka container sets no runAsUser");
        if (record) record.push(...subs);
        return {
            init,
            argv,
            env,
            volumes,
            uid,
            gid,
            fsGroup: psc.fsGroup ?? gid,
            readOnlyRoot: sc.securityContext?.readOnlyRootFilesystem === true,
            terminationGraceMs: (podSpec(r.sts).terminationGracePeriodSeconds ?? 30) * 1000,
            clientPort: this.clientPort,
        };
    }

    /** The substitutions as printable lines (the tests print them once per cluster). */
    describeSubstitutions(): string {
        return this.substitutions.map((s) => `${s.from} → ${s.to.replace(this.runDir, "<run>")}: ${s.why}`).join("\n");
    }

    /** Every pod listening, the quorum with a leader and every voter, and every broker registered. */
    async waitReady(timeoutMs = 120_000): Promise<void> {
        await Promise.all(this.nodes.map((n) => n.waitListening(timeoutMs)));
        const admin = this.adminClient();
        await this.waitUntil("every broker registered", timeoutMs, async () => {
            const r = await this.probeOrThrow().call("cluster", [admin, "5000"], 10_000);
            return r.ok && (r.nodes as unknown[]).length === this.nodes.length;
        });
    }

    probeOrThrow(): Probe {
        if (!this.probe) throw new Error("the client is not running");
        return this.probe;
    }

    /** Polls `check` (bounded); fails early when a running node exits meanwhile. */
    async waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last = "";
        const runningAtStart = this.nodes.filter((n) => n.running);
        for (;;) {
            const died = runningAtStart.find((n) => !n.running);
            if (died) throw new Error(`${died.pod} exited while waiting for ${what}; log:\n${died.process?.logTail(40)}`);
            try {
                if (await check()) return;
            } catch (e) {
                last = (e as Error).message;
            }
            if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ""}`);
            await new Promise((r) => setTimeout(r, 500));
        }
    }

    // --- client configs ------------------------------------------------------------------------------

    /** A client properties file for the rendered bootstrap address and protocol, with `jaas` as login. */
    clientConfig(jaas: string | undefined, overrides: Record<string, string> = {}): string {
        const conn = this.rendered.connection;
        const props: Record<string, string> = {
            "bootstrap.servers": conn.bootstrapServers,
            "security.protocol": conn.securityProtocol,
            ...(conn.saslMechanism ? { "sasl.mechanism": conn.saslMechanism } : {}),
            ...(jaas !== undefined ? { "sasl.jaas.config": jaas } : {}),
            "request.timeout.ms": "15000",
            "default.api.timeout.ms": "30000",
            "reconnect.backoff.max.ms": "1000",
            "retry.backoff.max.ms": "1000",
            // With TLS the client trusts the CA of the rendered Secret (what the connection output names), and
            // checks the broker's host name against the certificate (Kafka's default, https).
            ...(conn.securityProtocol.endsWith("SSL") ? { "ssl.truststore.type": "PEM", "ssl.truststore.location": this.caFile() } : {}),
            ...overrides,
        };
        const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/^ /, "\\ ");
        const file = path.join(this.runDir, `client-${++this.clientFiles}.properties`);
        fs.writeFileSync(file, Object.entries(props).map(([k, v]) => `${k}=${esc(v)}`).join("\n") + "\n", { mode: 0o600 });
        return file;
    }

    /** The CA certificate of the Secret the connection output names, as a file clients can trust. */
    caFile(): string {
        const tls = this.rendered.connection.tls;
        if (!tls?.enabled || !tls.secretName || !tls.caKey) throw new Error("the rendered Kafka connection has no TLS CA");
        const file = path.join(this.runDir, "client-ca.crt");
        if (!fs.existsSync(file)) fs.writeFileSync(file, dataKey(this.rendered.objects, "Secret", this.namespace, tls.secretName, tls.caKey));
        return file;
    }

    /** The rendered Secret's sasl.jaas.config of an application user (or of the admin). */
    userJaas(user: string): string {
        const conn = this.rendered.connection;
        const secret = user === "admin" ? conn.adminSecret.name : conn.users.find((u) => u.user === user)?.secretName;
        if (!secret) throw new Error(`no rendered Kafka user ${user}; users: ${conn.users.map((u) => u.user).join(", ")}`);
        return dataKey(this.rendered.objects, "Secret", this.namespace, secret, "sasl.jaas.config");
    }

    adminClient(): string {
        return this.clientConfig(this.userJaas("admin"));
    }

    /**
     * One of the distribution's admin tools (kafka-topics.sh, kafka-acls.sh, ...) as a client of the rendered
     * bootstrap address with `config` (a clientConfig file) as --command-config, from the root namespace
     * with the cluster's names (as the test client).
     */
    runTool(tool: string, config: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
        const env: NodeJS.ProcessEnv = {
            PATH: process.env.PATH,
            LANG: "C.UTF-8",
            KAFKA_HEAP_OPTS: "-Xmx128m",
            KAFKA_OPTS: `-Djdk.net.hosts.file=${this.clientHostsFile}`,
        };
        return run(path.join(this.dist.dir, "bin", tool), ["--bootstrap-server", this.rendered.connection.bootstrapServers, "--command-config", config, ...args], { env, timeoutMs });
    }

    // --- the reconcile Job ---------------------------------------------------------------------------

    /**
     * Runs the rendered reconcile Job (`kafka-reconcile-<hash>` in `objects`) once, as its pod would: its
     * command, its literal env, its ConfigMap/Secret volumes written as files. Substituted: /opt/kafka/bin
     * (the cached distribution's launchers), each mount path (a directory of this run; /tmp too, which the
     * script names as /tmp/reconcile), in the ConfigMap files only (Secrets byte for byte). It runs in the
     * root network namespace, as the test client does, with the cluster's names from the client hosts file
     * (KAFKA_OPTS=-Djdk.net.hosts.file, the one env value added), so the client Service name it bootstraps
     * from resolves to the pods as the cluster DNS would.
     */
    async runReconcile(objects: Manifest[] = this.rendered.objects, timeoutMs = 120_000): Promise<ReconcileRun> {
        const job = objects.find((o) => o.kind === "Job" && o.metadata.namespace === this.namespace && o.metadata.name.startsWith("kafka-reconcile-"));
        if (!job) throw new Error("the render has no kafka-reconcile Job");
        const c = container(job);
        const dir = path.join(this.runDir, `job-${++this.jobRuns}`);
        fs.mkdirSync(dir);
        const subs: Substitution[] = [{ from: "/opt/kafka/bin", to: path.join(this.dist.dir, "bin"), why: "the image's Kafka scripts: the cached distribution's launchers" }];
        const configMapFiles: string[] = [];
        for (const m of c.volumeMounts ?? []) {
            const vol = (podSpec(job).volumes ?? []).find((v: Any) => v.name === m.name);
            const to = path.join(dir, m.mountPath.replace(/^\//, "").replace(/\//g, "-"));
            fs.mkdirSync(to, { recursive: true, mode: 0o700 });
            subs.push({ from: m.mountPath, to, why: `${vol?.configMap ? "ConfigMap" : vol?.secret ? "Secret" : "emptyDir"} volume ${m.name}` });
            const src = vol?.configMap ?? vol?.secret;
            if (!src) continue;
            const keys = vol.configMap ? Object.keys(configMapData(find(objects, "ConfigMap", this.namespace, vol.configMap.name))) : Object.keys(secretData(find(objects, "Secret", this.namespace, vol.secret.secretName)));
            for (const k of keys) {
                const f = path.join(to, k);
                fs.writeFileSync(f, mountedFile(objects, job, c, path.posix.join(m.mountPath, k)).value, { mode: 0o600 });
                if (vol.configMap) configMapFiles.push(f);
            }
        }
        const textual = [...subs].sort((a, b) => b.from.length - a.from.length);
        const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const re = new RegExp(`(?<![\\w./-])(${textual.map((x) => esc(x.from)).join("|")})(?=/|[^\\w.-]|$)`, "g");
        const rewrite = (t: string) => t.replace(re, (m) => textual.find((x) => x.from === m)!.to);
        for (const f of configMapFiles) fs.writeFileSync(f, rewrite(fs.readFileSync(f, "utf8")));
        for (const f of configMapFiles) {
            const left = subs.map((x) => x.from).filter((from) => new RegExp(`(?<![\\w./-])${esc(from)}(?=/|[^\\w.-]|$)`).test(fs.readFileSync(f, "utf8").split(this.runDir).join("<run>")));
            if (left.length > 0) throw new Error(`${f} still names ${left.join(", ")} after the substitutions`);
        }
        const env: NodeJS.ProcessEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: dir, KAFKA_OPTS: `-Djdk.net.hosts.file=${this.clientHostsFile}` };
        for (const e of c.env ?? []) {
            if (e.value === undefined) throw new Error(`the reconcile Job's env ${e.name} is not a literal`);
            env[e.name] = rewrite(e.value);
        }
        const argv = commandLine(c).map(rewrite);
        const t0 = Date.now();
        const r = await run(argv[0], argv.slice(1), { env, cwd: dir, timeoutMs });
        const done = /^reconcile: done: changes=(\d+) problems=(\d+)$/m.exec(r.stdout);
        return {
            ...r,
            seconds: (Date.now() - t0) / 1000,
            changes: done ? Number(done[1]) : undefined,
            problems: done ? Number(done[2]) : undefined,
            substitutions: subs.map((x) => `${x.from} → ${x.to.replace(this.runDir, "<run>")}: ${x.why}`),
        };
    }

    // --- lifecycle -----------------------------------------------------------------------------------

    /** Stops the client and every pod, removes namespaces, bridge, hosts files and the run dir. */
    async teardown(): Promise<void> {
        const t0 = Date.now();
        try {
            await this.probe?.stop();
        } finally {
            // Every pod at once, each stop bounded by TEARDOWN_STOP_MS instead of terminationGracePeriodSeconds:
            // once a majority of the voters has stopped, the brokers still running cannot complete their
            // controlled shutdown (it needs a quorum to commit) and would each wait out the 120 s grace. The
            // cluster is being discarded, so nothing is lost by the SIGKILL; the proofs' own stops (rollNode,
            // the restart proofs) keep the rendered grace period.
            await Promise.all(this.nodes.map((n) => n.stop(TEARDOWN_STOP_MS).catch(() => undefined)));
            console.log(`      ${this.label}: torn down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            this.lab.destroy();
            removeTempDir(this.runDir);
            liveClusters.delete(this);
        }
    }

    /** What of this cluster survived teardown: namespaces, links, hosts files, processes, the run dir. */
    leftovers(): string[] {
        const out = this.lab.leftovers();
        for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
            if (Number(pid) === process.pid) continue;
            try {
                const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
                if (cmd.includes(this.runDir) || cmd.includes(`msa-kafka-${this.lab.id}-`)) out.push(`process ${pid}: ${cmd.replace(/\0/g, " ").slice(0, 160)}`);
            } catch {
                // exited meanwhile
            }
        }
        if (fs.existsSync(this.runDir)) out.push(`directory ${this.runDir}`);
        return out;
    }

    /** Synchronous last resort for the exit handler. */
    killNow(): void {
        this.probe?.killNow();
        for (const n of this.nodes) {
            const pid = n.process?.child.pid;
            if (pid !== undefined && n.running) {
                try {
                    process.kill(-pid, "SIGKILL");
                } catch {
                    // gone
                }
            }
        }
        this.lab.destroy();
        fs.rmSync(this.runDir, { recursive: true, force: true });
    }
}

/** One run of the reconcile Job's script: its output, exit, the counts of its last line, what was substituted. */
export interface ReconcileRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
    seconds: number;
    changes?: number;
    problems?: number;
    substitutions: string[];
}

// ---------------------------------------------------------------------------------------------------
// Topics

export interface PartitionState {
    partition: number;
    leader: number;
    replicas: number[];
    isr: number[];
}

export interface TopicState {
    partitions: PartitionState[];
    configs: Record<string, string>;
}

export async function describeTopic(c: KafkaCluster, topic: string, admin = c.adminClient()): Promise<TopicState> {
    const r = await c.probeOrThrow().ok("describe-topic", [admin, topic, "10000"], 20_000);
    return { partitions: r.partitions as PartitionState[], configs: r.configs as Record<string, string> };
}

/** Waits until every partition of `topic` has `size` in-sync replicas (and a leader). */
export async function waitIsr(c: KafkaCluster, topic: string, size: number, timeoutMs: number): Promise<TopicState> {
    const admin = c.adminClient();
    let last: TopicState | undefined;
    await c.waitUntil(`ISR of ${size} for every partition of ${topic}`, timeoutMs, async () => {
        last = await describeTopic(c, topic, admin);
        return last.partitions.every((p) => p.isr.length === size && p.leader >= 0);
    });
    return last!;
}

/**
 * What the StatefulSet controller does to one pod in a rolling update: SIGTERM (bounded by
 * terminationGracePeriodSeconds), the pod recreated with the same volumes from `objects` (a changed
 * ConfigMap/Secret simulates the update being rolled out), Ready = the TCP readiness probe. Then, stricter
 * than the controller, waits until the node is back in the ISR of every partition of `topic`.
 * Returns how it stopped and the seconds each phase took.
 */
export async function rollNode(
    c: KafkaCluster,
    node: KafkaNode,
    opts: { topic: string; objects?: Manifest[]; isrTimeoutMs?: number },
): Promise<{ stopped: { code: number | null; signal: NodeJS.Signals | null; killed: boolean }; stopS: number; readyS: number; isrAfterReadyS: number }> {
    const t0 = Date.now();
    const stopped = await node.stop();
    const t1 = Date.now();
    node.start(opts.objects);
    await node.waitListening();
    const t2 = Date.now();
    const admin = c.adminClient();
    await c.waitUntil(`${node.pod} back in the ISR of ${opts.topic}`, opts.isrTimeoutMs ?? 90_000, async () => {
        const d = await describeTopic(c, opts.topic, admin);
        return d.partitions.every((p) => p.isr.includes(node.ordinal));
    });
    const t3 = Date.now();
    return { stopped, stopS: (t1 - t0) / 1000, readyS: (t2 - t1) / 1000, isrAfterReadyS: (t3 - t2) / 1000 };
}

// ---------------------------------------------------------------------------------------------------
// Clusters shared by several spec files (one 3-node cluster for every prod proof), and the final check

const sharedClusters = new Map<string, Promise<KafkaCluster>>();
const everyCluster: KafkaCluster[] = [];
let teardownRegistered = false;

/** The cluster registered under `key`, started by `start` on first use; torn down by registerKafkaTeardown. */
export function sharedCluster(key: string, start: () => Promise<KafkaCluster>): Promise<KafkaCluster> {
    let p = sharedClusters.get(key);
    if (!p) {
        p = start();
        sharedClusters.set(key, p);
        p.catch(() => sharedClusters.delete(key)); // a failed start may be retried by the next suite
    }
    return p;
}

/** Whether a shared cluster has been started (or is starting). */
export function hasSharedCluster(key: string): boolean {
    return sharedClusters.has(key);
}

/**
 * Registers, once, a root-level after() hook that tears down the shared clusters and asserts that no
 * cluster of the run left anything behind (processes, namespaces, links, /etc/netns entries, temp dirs).
 * Call at the top level of every Kafka spec file.
 */
export function registerKafkaTeardown(): void {
    if (teardownRegistered) return;
    teardownRegistered = true;
    after(async function () {
        this.timeout(180_000);
        for (const [key, p] of sharedClusters) {
            sharedClusters.delete(key);
            const c = await p.catch(() => undefined);
            await c?.teardown();
        }
        const left = everyCluster.flatMap((c) => c.leftovers().map((l) => `${c.label}: ${l}`));
        if (left.length > 0) throw new Error(`the Kafka tests left behind:\n${left.join("\n")}`);
    });
}

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

    static async start(c: KafkaCluster): Promise<Probe> {
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
        const id = `r${this.next + 1}`;
        await this.ok("stream-start", [cfg, topic, prefix, String(intervalMs), String(maxCount)], 30_000);
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

const liveProbes = new Set<Probe>();

// Last resort: whatever a failed or interrupted run left behind goes with the test process.
function emergencyCleanup(): void {
    for (const p of liveProbes) p.killNow();
    for (const c of liveClusters) c.killNow();
    for (const l of liveLabs) l.destroy();
}
process.on("exit", emergencyCleanup);
for (const sig of ["SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
        emergencyCleanup();
        process.exit(128 + (sig === "SIGTERM" ? 15 : 1));
    });
}

// ---------------------------------------------------------------------------------------------------
// Small helpers for the specs

/** The sasl.jaas.config line with another password (same user, same module). */
export function withPassword(jaas: string, password: string): string {
    const out = jaas.replace(/password="(?:[^"\\]|\\.)*"/, `password="${password}"`);
    if (out === jaas) throw new Error("no password=\"...\" in the rendered sasl.jaas.config");
    return out;
}

/** The sasl.jaas.config line with another user name. */
export function withUsername(jaas: string, user: string): string {
    const out = jaas.replace(/username="(?:[^"\\]|\\.)*"/, `username="${user}"`);
    if (out === jaas) throw new Error("no username=\"...\" in the rendered sasl.jaas.config");
    return out;
}

/**
 * The broker JAAS file with one more PLAIN user (`user_<name>="<password>"`): a change of Secret kafka-jaas
 * the way the program would render it, for rolling-update simulations.
 */
export function withJaasUser(jaas: string, user: string, password: string): string {
    const m = /;\s*\n\};\s*$/.exec(jaas);
    if (!m) throw new Error("the rendered JAAS file does not end its KafkaServer section with ';' and '};'");
    return `${jaas.slice(0, m.index)}\n    user_${user}="${password}";\n};\n`;
}

/** The broker JAAS file's login (username/password) and every PLAIN user it accepts (`user_<name>`), in order. */
export function parseBrokerJaas(jaas: string): { login: string; password: string; users: { name: string; password: string }[] } {
    const unq = (s: string) => s.replace(/\\(.)/g, "$1");
    const login = /^\s*username="((?:[^"\\]|\\.)*)"$/m.exec(jaas);
    const password = /^\s*password="((?:[^"\\]|\\.)*)"$/m.exec(jaas);
    if (!login || !password) throw new Error("the rendered JAAS file has no username/password lines");
    const users = [...jaas.matchAll(/^\s*user_([^=\s]+)="((?:[^"\\]|\\.)*)";?$/gm)].map((m) => ({ name: m[1], password: unq(m[2]) }));
    return { login: unq(login[1]), password: unq(password[1]), users };
}

/** meta.properties of a log dir, parsed. */
export function metaProperties(logDir: string): Record<string, string> {
    const text = fs.readFileSync(path.join(logDir, "meta.properties"), "utf8");
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([^#=][^=]*)=(.*)$/.exec(line.trim());
        if (m) out[m[1]] = m[2];
    }
    return out;
}

/** The properties file the broker was last started with (the start script's `kafka-server-start.sh <file>`). */
export function startedProperties(node: KafkaNode): string {
    const script = fs.readFileSync(node.startScriptPath(), "utf8");
    const m = /kafka-server-start\.sh\s+(\S+)/.exec(script);
    if (!m) throw new Error(`${node.pod}: start script runs no kafka-server-start.sh`);
    return fs.readFileSync(m[1], "utf8");
}

/** The host dirs of the broker's log.dirs (paths already substituted). */
export function hostLogDirs(node: KafkaNode): string[] {
    const m = /^log\.dirs=(.*)$/m.exec(startedProperties(node));
    if (!m) throw new Error(`${node.pod}: no log.dirs in the started server.properties`);
    return m[1].split(",").map((d) => d.trim());
}

export function formatBytes(n: number): string {
    return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
