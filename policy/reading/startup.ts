// What every container of the stack starts, read once and shared by every policy: the container's argv as
// the runtime builds it (command/args with the kubelet's $(VAR) expansion, or the image's entrypoint and
// default command where the pack knows the image), its environment, its files (fs.ts), then its start-up
// followed by shellRun.ts; init containers in order (what they write on shared volumes is what later
// containers find), long-running containers side by side (what one writes on a shared volume may be what
// another reads), probes and lifecycle hooks too.
//
// It also says which namespaces are data namespaces: a namespace where the stack runs a StatefulSet, or a
// container that starts a data server or looks like one (image name, data port, REDIS_/KAFKA_/MARIADB_
// variables). Those looks only ever add a namespace; inside a data namespace what cannot be followed is
// reported as unverifiable by the policies.

import { ContainerRef, Obj, rec, recs, str, strs } from "./objects";
import { effectiveEnv, envValue, expandKubeletRefs, Environment } from "./environment";
import { ContainerFs, Candidate, containerMounts, podVolumes, PodFacts, Volume } from "./fs";
import { imageKnowledge, imageSuggests, ImageKnowledge } from "./images";
import { ServerKind } from "./programs";
import { Proc, RunResult, StartupRunner, UnknownPoint } from "./shellRun";
import { StackIndex, Workload } from "./stackIndex";
import { UnknownTracker } from "./unknowns";
import { ANY, WORD } from "./sym";

export interface ContainerReading {
    ref: ContainerRef;
    image: ImageKnowledge | undefined;
    imageText: string;
    env: Environment;
    fs: ContainerFs;
    run: RunResult;
    /** Data services the container looks like it may run (scrutiny: image name, ports, variables, servers found). */
    suggests: Set<ServerKind>;
    /** Problems with the container's mounts (two volumes at one path...). */
    mountProblems: string[];
}

export interface PodReading {
    workload: Workload;
    containers: ContainerReading[];
}

const PORT_HINTS: Array<[ServerKind, number[]]> = [
    ["redis", [6379, 6380, 16379, 26379]],
    ["mariadb", [3306, 3307, 4444, 4567, 4568]],
    ["kafka", [9092, 9093, 9094, 9095, 29092]],
];

function suggestionsOf(c: Obj, env: Environment): Set<ServerKind> {
    const out = new Set<ServerKind>();
    const fromImage = imageSuggests(str(c.image));
    if (fromImage) {
        out.add(fromImage);
    }
    for (const p of recs(c.ports)) {
        const n = typeof p.containerPort === "number" ? p.containerPort : Number(p.containerPort);
        for (const [kind, ports] of PORT_HINTS) {
            if (ports.includes(n)) {
                out.add(kind);
            }
        }
    }
    for (const name of env.vars.keys()) {
        if (/^(REDIS|VALKEY)_/.test(name) && name !== "REDISCLI_AUTH") {
            out.add("redis");
        } else if (/^(MARIADB|MYSQL)_/.test(name) && name !== "MYSQL_PWD") {
            out.add("mariadb");
        } else if (/^KAFKA_/.test(name) && !/^KAFKA_(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|LOG4J_OPTS|GC_LOG_OPTS|JMX_OPTS)$/.test(name)) {
            out.add("kafka");
        }
    }
    return out;
}

function podFacts(w: Workload): PodFacts {
    return {
        name: w.kind === "Pod" ? w.name : undefined,
        namespace: w.namespace,
        labels: rec(w.podMeta?.labels) ?? {},
        annotations: rec(w.podMeta?.annotations) ?? {},
        serviceAccountName: str(w.podSpec.serviceAccountName) ?? str(w.podSpec.serviceAccount),
    };
}

function runAsUser(c: Obj, podSpec: Obj): number | undefined {
    const own = rec(c.securityContext)?.runAsUser;
    const pod = rec(podSpec.securityContext)?.runAsUser;
    const v = own ?? pod;
    return typeof v === "number" ? v : undefined;
}

/** Reads one container: its start-up, probes and hooks, on a file view seeded with what came before it. */
function readContainer(w: Workload, ref: ContainerRef, index: StackIndex, volumes: Map<string, Volume>, seed: { overlay: Map<string, Candidate[]>; tainted: Map<string, string> }, pod: PodFacts): ContainerReading {
    const c = ref.c;
    const imageText = str(c.image) ?? "";
    const image = imageKnowledge(imageText);
    const env = effectiveEnv(c, { namespace: w.namespace, index, pod });
    const lookupEnv = (n: string) => envValue(env, n);
    const { mounts, problems } = containerMounts(c, volumes, (s) => expandKubeletRefs(s, lookupEnv));
    const readOnlyRoot = rec(c.securityContext)?.readOnlyRootFilesystem === true;
    const fs = new ContainerFs(mounts, image, imageText, readOnlyRoot, new Map(seed.overlay), new Map(seed.tainted));
    const runner = new StartupRunner({ fs, image, where: ref.name, openEnv: env.unresolvedSources.map((u) => ({ prefix: u.prefix, secret: u.kind === "Secret" })) });

    // The environment processes see: the container env, HOSTNAME, HOME and PATH as the runtime sets them.
    const procEnv = new Map<string, string>();
    for (const [k, v] of env.vars) {
        procEnv.set(k, v.value);
    }
    if (!procEnv.has("HOSTNAME")) {
        procEnv.set("HOSTNAME", str(w.podSpec.hostname) ?? pod.name ?? WORD);
    }
    if (!procEnv.has("HOME")) {
        procEnv.set("HOME", image ? image.home(runAsUser(c, w.podSpec)) : ANY);
    }
    const workdir = str(c.workingDir) ?? image?.workdir ?? ANY;

    const expand = (words: string[]) => words.map((x) => expandKubeletRefs(x, lookupEnv));
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
    const command = strings(c.command);
    const args = strings(c.args);
    let argv: string[] | undefined;
    if (command.length > 0) {
        argv = expand([...command, ...args]);
    } else if (image) {
        argv = expand([...image.entrypoint, ...(Array.isArray(c.args) && args.length > 0 ? args : image.cmd)]);
    }
    if (argv === undefined || argv.length === 0) {
        runner.unknown(`it sets no command, and image ${imageText || "(none)"} is not one whose entrypoint the pack knows`, { via: "the image's entrypoint", maybe: false });
    } else {
        runner.runArgv(argv, procEnv, "command", false, workdir);
    }
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const cmd = strings(rec(rec(c[probe])?.exec)?.command);
        if (cmd.length > 0) {
            runner.runArgv(expand(cmd), procEnv, probe, true, workdir);
        }
    }
    for (const hook of ["postStart", "preStop"]) {
        const cmd = strings(rec(rec(rec(c.lifecycle)?.[hook])?.exec)?.command);
        if (cmd.length > 0) {
            runner.runArgv(expand(cmd), procEnv, `lifecycle.${hook}`, true, workdir);
        }
    }
    const suggests = suggestionsOf(c, env);
    for (const p of runner.result.procs) {
        if (p.server) {
            suggests.add(p.server);
        }
    }
    return { ref, image, imageText, env, fs, run: runner.result, suggests, mountProblems: problems };
}

/** Reads every container of a workload: init containers in order, then the rest side by side. */
export function readPod(w: Workload, index: StackIndex): PodReading {
    const pod = podFacts(w);
    const templates = w.kind === "StatefulSet" ? recs(rec(w.props.spec)?.volumeClaimTemplates).map((t) => str(rec(t.metadata)?.name) ?? "").filter((n) => n !== "") : [];
    const volumes = podVolumes(w.podSpec, templates, w.namespace, index, pod);
    const out: ContainerReading[] = [];
    let seed = { overlay: new Map<string, Candidate[]>(), tainted: new Map<string, string>() };
    const volumeOnly = (fs: ContainerFs) => ({
        overlay: new Map(Array.from(fs.overlay).filter(([k]) => k.startsWith("vol:"))),
        tainted: new Map(Array.from(fs.tainted).filter(([k]) => k.startsWith("vol:"))),
    });
    const inits = w.containers.filter((r) => r.role === "initContainer" && !r.sidecar);
    for (const ref of inits) {
        const r = readContainer(w, ref, index, volumes, seed, pod);
        out.push(r);
        seed = volumeOnly(r.fs);
    }
    const running = w.containers.filter((r) => !(r.role === "initContainer" && !r.sidecar));
    const long: ContainerReading[] = running.map((ref) => readContainer(w, ref, index, volumes, seed, pod));
    // Containers that run side by side see each other's writes on shared volumes at any time.
    for (const reader of long) {
        for (const writer of long) {
            if (writer === reader) {
                continue;
            }
            const written = volumeOnly(writer.fs);
            for (const p of reader.run.procs) {
                if (p.kind !== "server") {
                    continue;
                }
                for (const [key, cands] of written.overlay) {
                    if (seed.overlay.get(key) !== cands) {
                        p.fs.addConcurrent(key, cands);
                    }
                }
                for (const [key, reason] of written.tainted) {
                    if (!p.fs.tainted.has(key)) {
                        p.fs.tainted.set(key, `${reason} (container "${writer.ref.name}" shares the volume)`);
                    }
                }
            }
        }
    }
    out.push(...long);
    return { workload: w, containers: out };
}

const cache = new WeakMap<StackIndex, Map<Workload, PodReading>>();

/**
 * Every workload of the stack, read once per stack index (shared by the policies of one evaluation). With an
 * UnknownTracker, a workload that holds a preview value that is not known yet is left out (and remembered),
 * so the rest of the stack is still read.
 */
export function readStack(index: StackIndex, unknowns?: UnknownTracker): Map<Workload, PodReading> {
    const hit = cache.get(index);
    if (hit) {
        return hit;
    }
    const out = new Map<Workload, PodReading>();
    for (const w of index.workloads) {
        const pod = unknowns ? unknowns.read<PodReading | undefined>(() => readPod(w, index), undefined) : readPod(w, index);
        if (pod) {
            out.set(w, pod);
        }
    }
    cache.set(index, out);
    return out;
}

/** Data namespaces and the data services each one runs or may run. */
export function dataNamespaces(index: StackIndex, pods: Map<Workload, PodReading>): Map<string, Set<ServerKind>> {
    const out = new Map<string, Set<ServerKind>>();
    const add = (ns: string, kinds: Iterable<ServerKind>) => {
        const set = out.get(ns) ?? new Set<ServerKind>();
        for (const k of kinds) {
            set.add(k);
        }
        out.set(ns, set);
    };
    for (const [w, pod] of pods) {
        if (w.kind === "StatefulSet") {
            add(w.namespace, []);
        }
        for (const c of pod.containers) {
            // Servers found make a data namespace; so do the looks of a container whose start-up cannot be
            // followed. A container followed to the end that starts no server (a client in a mariadb image)
            // does not.
            const servers = c.run.procs.filter((p) => p.kind === "server").map((p) => p.server!);
            if (servers.length > 0) {
                add(w.namespace, servers);
            }
            if (c.run.unknowns.length > 0 && c.suggests.size > 0) {
                add(w.namespace, c.suggests);
            }
        }
    }
    for (const o of index.all) {
        if (o.kind === "Service") {
            for (const p of recs(rec(o.props.spec)?.ports)) {
                const n = typeof p.port === "number" ? p.port : Number(p.port);
                for (const [kind, ports] of PORT_HINTS) {
                    if (ports.includes(n)) {
                        add(o.namespace, [kind]);
                    }
                }
            }
        }
    }
    void strs;
    return out;
}

/** The unknown points of a container (start-up, probes, hooks), deduplicated. */
export function unknownsOf(c: ContainerReading): UnknownPoint[] {
    return c.run.unknowns;
}

/** The server starts of a container of one kind. */
export function serversOf(c: ContainerReading, kind: ServerKind): Proc[] {
    return c.run.procs.filter((p) => p.kind === "server" && p.server === kind);
}
