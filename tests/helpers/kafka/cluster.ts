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

import * as fs from "fs";
import * as path from "path";
import type { Manifest } from "../../../scripts/lib/mockRuntime";
import { find, podSpec, type Any } from "../../../scripts/lib/manifests";
import { commandLine, configMapData, container, dataKey, envValue, mountedFile, secretData } from "../../../scripts/lib/rendered";
import { makeTempDir, removeTempDir, run, type RunResult } from "../../../scripts/lib/servers";
import { KAFKA_VERSION, imageStandIns, type KafkaDist } from "./dist";
import { kafkaRendered, type KafkaRendered } from "./rendered";
import { NetLab, liveLabs } from "./netLab";
import { KafkaNode, ABS_PATH, SYSTEM_PATH, type Substitution, type PodPlan, type PodProbe, type VolumeDir } from "./pod";
import { Probe, liveProbes } from "./probe";

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
        // The probes as the kubelet runs them: a TCP connect to a named port, or a command in the container.
        const probe = (p: Any): PodProbe | undefined => {
            if (!p) return undefined;
            const timing = { periodMs: (p.periodSeconds ?? 10) * 1000, timeoutMs: (p.timeoutSeconds ?? 1) * 1000, failureThreshold: p.failureThreshold ?? 3 };
            if (p.exec) return { kind: "exec", argv: (p.exec.command as string[]).map(rewrite), ...timing };
            const named = (c.ports ?? []).find((x) => x.name === p.tcpSocket?.port);
            const port = typeof p.tcpSocket?.port === "number" ? p.tcpSocket.port : named?.containerPort;
            if (port === undefined) throw new Error(`probe ${JSON.stringify(p)}: only exec and tcpSocket (a port of the container) are emulated`);
            return { kind: "tcp", port, ...timing };
        };
        const sc0 = c as Any;
        const probes = { startup: probe(sc0.startupProbe), readiness: probe(sc0.readinessProbe), liveness: probe(sc0.livenessProbe) };
        const probeArgv = Object.values(probes).flatMap((p) => (p?.kind === "exec" ? p.argv : []));
        // Every absolute path the pod would touch must now be one the harness provides.
        const texts = [...argv, ...probeArgv, ...(c.env ?? []).map((e) => env[e.name]), ...volumes.flatMap((v) => (v.kind === "configMap" ? (v.files ?? []).map((f) => f.content) : []))];
        for (const t of texts) {
            for (const p of t.match(ABS_PATH) ?? []) {
                const ok = p.startsWith(this.runDir + "/") || SYSTEM_PATH.test(p);
                if (!ok) throw new Error(`the pod uses ${p}, which the harness cannot provide (add a substitution in tests/helpers/kafka/cluster.ts)`);
            }
        }
        // Init containers (the metrics agent's copy): their image's files come from imageStandIns, their
        // volumes are the pod's (the broker mounts the same emptyDir); any other path is refused.
        const init = ((podSpec(r.sts).initContainers ?? []) as Any[]).map((ic) => {
            const files = this.images[ic.image];
            if (!files) throw new Error(`init container ${ic.name}: the harness has no stand-in for image ${ic.image} (imageStandIns in tests/helpers/kafka/dist.ts)`);
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
            probes,
        };
    }

    /** The substitutions as printable lines (the tests print them once per cluster). */
    describeSubstitutions(): string {
        return this.substitutions.map((s) => `${s.from} → ${s.to.replace(this.runDir, "<run>")}: ${s.why}`).join("\n");
    }

    /**
     * Every pod Ready by its rendered readiness probe (what the StatefulSet status and Pulumi wait for; run
     * every second here), and every broker registered. On a new cluster no node may wait for another to be
     * Ready first: they all start together (podManagementPolicy Parallel) and must all pass.
     */
    async waitReady(timeoutMs = 120_000): Promise<void> {
        await Promise.all(this.nodes.map((n) => n.waitListening(timeoutMs)));
        await Promise.all(this.nodes.map((n) => n.waitProbe("readiness", timeoutMs, 1000)));
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
            // The login module names the mechanism: the admin (and a kafka.plainUsers client) logs in with PLAIN,
            // application users with the connection output's SCRAM-SHA-512.
            ...(conn.saslMechanism ? { "sasl.mechanism": jaas?.includes(".plain.PlainLoginModule ") ? "PLAIN" : conn.saslMechanism } : {}),
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
