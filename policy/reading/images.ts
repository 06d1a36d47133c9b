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
