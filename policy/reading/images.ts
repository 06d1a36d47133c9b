// Image references as the container runtime resolves them, and what a mirror serves.
//
// - `redis:7.2` = `docker.io/library/redis:7.2`; `index.docker.io`, `registry-1.docker.io` and
//   `registry.hub.docker.com` (with or without :443) are Docker Hub; no tag means `latest`; a digest pins
//   the image whatever the tag.
// - A registry mirror or pull-through cache keeps the upstream repository path under its own host and an
//   optional prefix: `mirror.gcr.io/bitnami/redis`, `harbor.example.com/dockerhub/bitnami/redis`,
//   `m.daocloud.io/docker.io/bitnami/redis`. `upstreamRefs` lists what such a reference stands for, from
//   configured mirrors and from unambiguous signs (a registry host inside the path, a well-known
//   Docker Hub proxy name as a path prefix), so that forbidden-image patterns see the upstream name too.
//   A mirror of an allowed image maps to that allowed image, so it is not flagged.

/** A parsed, normalised image reference. */
export interface ImageRef {
    /** Repository as written, without tag and digest (`redis`, `bitnami/redis`, `ghcr.io/x/y`). */
    written: string;
    /** Registry host, Docker Hub aliases normalised to `docker.io`. */
    registry: string;
    /** Fully qualified repository (`docker.io/library/redis`). */
    name: string;
    /** Docker Hub short form (`redis`, `bitnami/redis`); equals `name` for other registries. */
    familiar: string;
    tag?: string;
    digest?: string;
}

const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "hub.docker.com"]);
export const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

/** Registry host, Docker Hub aliases (also with the default port) normalised to docker.io. */
export function normaliseRegistry(host: string): string {
    const h = host.toLowerCase().replace(/:443$/, "");
    return DOCKER_HUB_ALIASES.has(h) ? "docker.io" : h;
}

function isRegistryHost(segment: string): boolean {
    return segment.includes(".") || segment.includes(":") || segment === "localhost";
}

/** Parses an image reference the way the container runtime does (docker.io/library defaults). */
export function parseImageRef(image: string): ImageRef | undefined {
    let s = image.trim();
    if (s === "") {
        return undefined;
    }
    let digest: string | undefined;
    const at = s.indexOf("@");
    if (at >= 0) {
        digest = s.slice(at + 1);
        s = s.slice(0, at);
    }
    let tag: string | undefined;
    const lastColon = s.lastIndexOf(":");
    if (lastColon > s.lastIndexOf("/")) {
        tag = s.slice(lastColon + 1);
        s = s.slice(0, lastColon);
    }
    const written = s;
    const slash = s.indexOf("/");
    const first = slash < 0 ? "" : s.slice(0, slash);
    let registry = "docker.io";
    let path = s;
    if (slash >= 0 && isRegistryHost(first)) {
        registry = normaliseRegistry(first);
        path = s.slice(slash + 1);
    }
    if (registry === "docker.io" && !path.includes("/")) {
        path = `library/${path}`;
    }
    const name = `${registry}/${path}`;
    const familiar = registry === "docker.io" ? path.replace(/^library\//, "") : name;
    return { written, registry, name, familiar, tag: tag || undefined, digest: digest || undefined };
}

/** Public registries whose host may appear inside a mirror's path (`m.daocloud.io/docker.io/bitnami/redis`). */
const KNOWN_UPSTREAM_REGISTRIES = new Set(["docker.io", "quay.io", "ghcr.io", "gcr.io", "registry.k8s.io", "k8s.gcr.io", "public.ecr.aws", "mcr.microsoft.com", "registry.gitlab.com", "docker.elastic.co", "nvcr.io"]);
/** Path prefixes that name a Docker Hub proxy project/repository (Harbor, Artifactory, Nexus, ECR pull-through). */
const DOCKER_HUB_PROXY_NAMES = /^(docker[-_.]?hub|hub[-_.]?docker|docker[-_.]?io|dockerhub[-_](proxy|cache|remote|mirror)|docker[-_](proxy|cache|remote|mirror)|(proxy|cache|remote|mirror)[-_]docker(hub)?|hub|mirror|mirrors)$/i;
/** Public pull-through caches of Docker Hub that keep the repository path. */
export const WELL_KNOWN_DOCKER_HUB_MIRRORS = ["mirror.gcr.io"];

/** A mirror entry: `<host>[/<prefix>]` serving `<upstream registry>` (Docker Hub unless `=<registry>` is given). */
export interface MirrorRule {
    prefix: string;
    upstream: string;
}

/** Parses knob entries such as `harbor.example.com/dockerhub` or `harbor.example.com/quay=quay.io`. */
export function parseMirrorRules(entries: readonly string[]): MirrorRule[] {
    return entries
        .map((e) => e.trim())
        .filter((e) => e !== "")
        .map((e) => {
            const eq = e.indexOf("=");
            const prefix = (eq < 0 ? e : e.slice(0, eq)).replace(/\/+$/, "");
            const upstream = eq < 0 ? "docker.io" : normaliseRegistry(e.slice(eq + 1).trim().replace(/\/+$/, ""));
            const slash = prefix.indexOf("/");
            return { prefix: slash < 0 ? normaliseRegistry(prefix) : `${normaliseRegistry(prefix.slice(0, slash))}${prefix.slice(slash)}`, upstream };
        });
}

/**
 * The upstream images a reference may stand for when its registry is a mirror (empty when it is not
 * one): configured mirrors, a known registry host inside the path, or a Docker Hub proxy name as a prefix.
 */
export function upstreamRefs(ref: ImageRef, mirrors: readonly MirrorRule[] = []): ImageRef[] {
    const out: ImageRef[] = [];
    const add = (registry: string, path: string) => {
        if (path === "") {
            return;
        }
        const up = parseImageRef(`${registry}/${path}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`);
        if (up && up.name !== ref.name && !out.some((o) => o.name === up.name)) {
            out.push(up);
        }
    };
    const rules = [...mirrors, ...WELL_KNOWN_DOCKER_HUB_MIRRORS.map((prefix) => ({ prefix, upstream: "docker.io" }))];
    for (const rule of rules) {
        if (ref.name.startsWith(`${rule.prefix}/`)) {
            add(rule.upstream, ref.name.slice(rule.prefix.length + 1));
        }
    }
    const segments = ref.name.split("/");
    // segments[0] is the host; look at the path segments before the last one (the image name).
    for (let i = 1; i < segments.length - 1; i++) {
        const seg = segments[i].toLowerCase();
        if (KNOWN_UPSTREAM_REGISTRIES.has(normaliseRegistry(seg))) {
            add(normaliseRegistry(seg), segments.slice(i + 1).join("/"));
        } else if (i <= 2 && DOCKER_HUB_PROXY_NAMES.test(seg)) {
            add("docker.io", segments.slice(i + 1).join("/"));
        }
    }
    return out;
}

function globToRegExp(glob: string): RegExp {
    const body = glob
        .split("*")
        .map((part) => part.split("?").map((p) => p.replace(/[.+^${}()|[\]\\/]/g, "\\$&")).join("."))
        .join(".*");
    return new RegExp(`^${body}$`, "i");
}

/** The first forbidden pattern an image matches (written, normalised and short names, with or without tag), or undefined. */
export function matchForbidden(ref: ImageRef, patterns: readonly string[]): string | undefined {
    const names = [ref.written, ref.name, ref.familiar];
    const candidates = ref.tag ? [...names, ...names.map((n) => `${n}:${ref.tag}`)] : names;
    return patterns.find((p) => {
        const re = globToRegExp(p);
        return candidates.some((c) => re.test(c));
    });
}

/** Like matchForbidden, but also for what the reference stands for behind a mirror. */
export function matchForbiddenThroughMirrors(ref: ImageRef, patterns: readonly string[], mirrors: readonly MirrorRule[] = []): { pattern: string; via?: ImageRef } | undefined {
    const direct = matchForbidden(ref, patterns);
    if (direct !== undefined) {
        return { pattern: direct };
    }
    for (const up of upstreamRefs(ref, mirrors)) {
        const p = matchForbidden(up, patterns);
        if (p !== undefined) {
            return { pattern: p, via: up };
        }
    }
    return undefined;
}

/** True when the image comes from one of the allowed registries / prefixes (empty list = any). */
export function registryAllowed(ref: ImageRef, allowed: readonly string[]): boolean {
    if (allowed.length === 0) {
        return true;
    }
    return allowed.some((entry) => {
        const e = entry.trim().replace(/\/+$/, "");
        const slash = e.indexOf("/");
        const norm = slash < 0 ? normaliseRegistry(e) : `${normaliseRegistry(e.slice(0, slash))}${e.slice(slash)}`;
        return ref.registry === norm || ref.name === norm || ref.name.startsWith(`${norm}/`);
    });
}

/** Image repository basename without registry, tag or digest (`docker.io/apache/kafka:3.8.1` -> `kafka`). */
export function imageBase(image: unknown): string {
    if (typeof image !== "string") {
        return "";
    }
    const noDigest = image.split("@")[0];
    const slash = noDigest.lastIndexOf("/");
    const b = slash < 0 ? noDigest : noDigest.slice(slash + 1);
    const colon = b.indexOf(":");
    return (colon < 0 ? b : b.slice(0, colon)).toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Images whose start-up the pack knows

/** What the pack knows of an image: its entrypoint and default command, and the files that matter. */
export interface ImageKnowledge {
    /** Short id for messages and for the image-specific start-up rules in shellRun.ts. */
    id: "redis" | "valkey" | "redis-stack" | "mariadb" | "mysql" | "apache-kafka" | "busybox" | "alpine" | "debian" | "exporter";
    entrypoint: string[];
    cmd: string[];
    workdir: string;
    /** The home directory of a user id (HOME when the container env does not set it). */
    home(uid: number | undefined): string;
    /** Files of the image the server reads (content known), by absolute path. */
    files: Map<string, string>;
    /** The entries of an image directory the pack knows, or undefined. */
    listDir(path: string): string[] | undefined;
    /** Image-specific programs (absolute paths or names) that start no server. */
    programs: Set<string>;
}

/** The listener part of Kafka's bundled configurations: every one of them leaves clients on PLAINTEXT. */
const KAFKA_BUNDLED = {
    kraft: "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\nlisteners=PLAINTEXT://:9092,CONTROLLER://:9093\ninter.broker.listener.name=PLAINTEXT\nadvertised.listeners=PLAINTEXT://localhost:9092\ncontroller.listener.names=CONTROLLER\nlistener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n",
    zk: "broker.id=0\nzookeeper.connect=localhost:2181\n",
};

const MARIADB_MY_CNF = "[client-server]\nsocket = /run/mysqld/mysqld.sock\n!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/\n";

function knowledge(k: Omit<ImageKnowledge, "files" | "listDir" | "programs" | "home"> & { files?: Record<string, string>; dirs?: Record<string, string[]>; programs?: string[]; homes?: Record<number, string> }): ImageKnowledge {
    const files = new Map(Object.entries(k.files ?? {}));
    const dirs = k.dirs ?? {};
    return {
        id: k.id,
        entrypoint: k.entrypoint,
        cmd: k.cmd,
        workdir: k.workdir,
        home: (uid) => (uid === undefined || uid === 0 ? "/root" : (k.homes?.[uid] ?? "/")),
        files,
        listDir: (p) => dirs[p],
        programs: new Set(k.programs ?? []),
    };
}

const CATALOGUE: Record<string, ImageKnowledge> = {
    "docker.io/library/redis": knowledge({ id: "redis", entrypoint: ["docker-entrypoint.sh"], cmd: ["redis-server"], workdir: "/data", homes: { 999: "/home/redis" } }),
    "docker.io/valkey/valkey": knowledge({ id: "valkey", entrypoint: ["docker-entrypoint.sh"], cmd: ["valkey-server"], workdir: "/data", homes: { 999: "/home/valkey" } }),
    "docker.io/redis/redis-stack-server": knowledge({ id: "redis-stack", entrypoint: ["/entrypoint.sh"], cmd: [], workdir: "/data" }),
    "docker.io/redis/redis-stack": knowledge({ id: "redis-stack", entrypoint: ["/entrypoint.sh"], cmd: [], workdir: "/data" }),
    "docker.io/library/mariadb": knowledge({
        id: "mariadb",
        entrypoint: ["docker-entrypoint.sh"],
        cmd: ["mariadbd"],
        workdir: "/",
        homes: { 999: "/var/lib/mysql" },
        files: { "/etc/mysql/my.cnf": MARIADB_MY_CNF, "/etc/mysql/mariadb.conf.d/05-skipcache.cnf": "[mariadb]\nhost-cache-size=0\nskip-name-resolve\n" },
        dirs: { "/etc/mysql/conf.d": [], "/etc/mysql/mariadb.conf.d": ["05-skipcache.cnf"] },
    }),
    "docker.io/library/mysql": knowledge({
        id: "mysql",
        entrypoint: ["docker-entrypoint.sh"],
        cmd: ["mysqld"],
        workdir: "/",
        homes: { 999: "/var/lib/mysql" },
        files: { "/etc/my.cnf": "[mysqld]\nskip-host-cache\nskip-name-resolve\ndatadir=/var/lib/mysql\nsocket=/var/run/mysqld/mysqld.sock\n!includedir /etc/mysql/conf.d/\n" },
        dirs: { "/etc/mysql/conf.d": [] },
    }),
    "docker.io/apache/kafka": knowledge({
        id: "apache-kafka",
        entrypoint: [],
        cmd: ["/etc/kafka/docker/run"],
        workdir: "/",
        homes: { 1000: "/home/appuser" },
        files: {
            "/opt/kafka/config/kraft/server.properties": KAFKA_BUNDLED.kraft,
            "/opt/kafka/config/kraft/broker.properties": KAFKA_BUNDLED.kraft,
            "/opt/kafka/config/kraft/controller.properties": KAFKA_BUNDLED.kraft,
            "/opt/kafka/config/server.properties": KAFKA_BUNDLED.zk,
            "/etc/kafka/docker/server.properties": KAFKA_BUNDLED.kraft,
        },
    }),
    "docker.io/apache/kafka-native": knowledge({ id: "apache-kafka", entrypoint: [], cmd: ["/etc/kafka/docker/run"], workdir: "/", files: { "/etc/kafka/docker/server.properties": KAFKA_BUNDLED.kraft } }),
    "docker.io/library/busybox": knowledge({ id: "busybox", entrypoint: [], cmd: ["sh"], workdir: "/" }),
    "docker.io/library/alpine": knowledge({ id: "alpine", entrypoint: [], cmd: ["/bin/sh"], workdir: "/" }),
    "docker.io/library/debian": knowledge({ id: "debian", entrypoint: [], cmd: ["bash"], workdir: "/" }),
    "docker.io/library/ubuntu": knowledge({ id: "debian", entrypoint: [], cmd: ["/bin/bash"], workdir: "/" }),
    "docker.io/oliver006/redis_exporter": knowledge({ id: "exporter", entrypoint: ["/redis_exporter"], cmd: [], workdir: "/", programs: ["/redis_exporter", "redis_exporter"] }),
    "docker.io/prom/mysqld-exporter": knowledge({ id: "exporter", entrypoint: ["/bin/mysqld_exporter"], cmd: [], workdir: "/", programs: ["/bin/mysqld_exporter", "mysqld_exporter"] }),
    "docker.io/danielqsj/kafka-exporter": knowledge({ id: "exporter", entrypoint: ["/bin/kafka_exporter"], cmd: [], workdir: "/", programs: ["/bin/kafka_exporter", "kafka_exporter"] }),
};

/**
 * What the pack knows of an image, found by its repository exactly as the runtime resolves it (Docker Hub
 * short names included), also behind the well-known Docker Hub mirror and a mirror that names the upstream
 * registry in its path. A look-alike name elsewhere (ghcr.io/x/redis) is not assumed to be the same image.
 */
export function imageKnowledge(image: string | undefined): ImageKnowledge | undefined {
    const ref = image === undefined ? undefined : parseImageRef(image);
    if (!ref) {
        return undefined;
    }
    const direct = CATALOGUE[ref.name];
    if (direct) {
        return direct;
    }
    for (const up of upstreamRefs(ref)) {
        // Only unambiguous mirrors: a registry host in the path or a well-known mirror, not a proxy-looking name.
        const viaKnown = WELL_KNOWN_DOCKER_HUB_MIRRORS.some((m) => ref.name.startsWith(`${m}/`)) || ref.name.split("/").slice(1, -1).some((s) => KNOWN_UPSTREAM_REGISTRIES.has(normaliseRegistry(s)));
        if (viaKnown && CATALOGUE[up.name]) {
            return CATALOGUE[up.name];
        }
    }
    return undefined;
}

/** Which data service an image's name suggests (scrutiny only: it never makes a container look safe). */
export function imageSuggests(image: string | undefined): "redis" | "mariadb" | "kafka" | undefined {
    const ref = image === undefined ? undefined : parseImageRef(image);
    const name = (ref?.name ?? image ?? "").toLowerCase();
    const base = name.split("/").pop() ?? "";
    if (/redis|valkey|keydb|dragonfly/.test(base) && !/exporter/.test(base)) {
        return "redis";
    }
    if (/mariadb|mysql|percona|galera/.test(base) && !/exporter/.test(base)) {
        return "mariadb";
    }
    if (/kafka|redpanda|cp-server|confluent/.test(base) && !/exporter|ui$|connect|schema|rest|ksql|zookeeper/.test(base)) {
        return "kafka";
    }
    return undefined;
}
