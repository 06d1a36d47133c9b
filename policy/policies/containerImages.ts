import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, describeContainer, message, podBearing, resolveConfig, str } from "./k8s";

export interface ContainerImagesConfig {
    /** Require every image to be pinned by digest (`name@sha256:...`). */
    requireDigest: boolean;
    /** Registries (or registry/path prefixes) images may come from; empty = any. */
    allowedRegistries: string[];
    /** Glob patterns (`*` = any characters) of images that must not be used. */
    forbiddenImages: string[];
}

const configSchema: PolicyConfigSchema = {
    properties: {
        requireDigest: {
            type: "boolean",
            default: false,
            description: "Require every image to be pinned by digest (name@sha256:...).",
        },
        allowedRegistries: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Registries or registry/path prefixes images may come from, e.g. [\"docker.io\", \"ghcr.io/acme\"]. Empty = any. Docker Hub short names normalise to docker.io/library/<name>.",
        },
        forbiddenImages: {
            type: "array",
            items: { type: "string" },
            default: ["bitnami/*", "docker.io/bitnami/*"],
            description: "Glob patterns of forbidden images, matched against the name as written, the normalised name and the Docker Hub short name. Default: Bitnami images (the free catalogue was frozen in 2025 and no longer gets fixes).",
        },
    },
};

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

const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

function normaliseRegistry(host: string): string {
    const h = host.toLowerCase();
    return DOCKER_HUB_ALIASES.has(h) ? "docker.io" : h;
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
    if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
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

function globToRegExp(glob: string): RegExp {
    const body = glob
        .split("*")
        .map((part) => part.split("?").map((p) => p.replace(/[.+^${}()|[\]\\/]/g, "\\$&")).join("."))
        .join(".*");
    return new RegExp(`^${body}$`, "i");
}

/** The first forbidden pattern an image matches, or undefined. */
export function matchForbidden(ref: ImageRef, patterns: readonly string[]): string | undefined {
    const names = [ref.written, ref.name, ref.familiar];
    const candidates = ref.tag ? [...names, ...names.map((n) => `${n}:${ref.tag}`)] : names;
    return patterns.find((p) => {
        const re = globToRegExp(p);
        return candidates.some((c) => re.test(c));
    });
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

/**
 * Images are reproducible and come from trusted places: an explicit tag that is not `latest` (no
 * tag means latest; a digest pins the image regardless of tag), optionally a digest, optionally
 * only from allowed registries, and never from a forbidden source such as the frozen Bitnami
 * catalogue.
 */
export const containerImages: ResourceValidationPolicy = {
    name: "container-images",
    description: "Container images use an explicit non-latest tag or a digest, come from allowed registries and are not on the forbidden list.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) => {
        const target = podBearing(args.type, args.props);
        if (!target) {
            return;
        }
        const { podSpec } = target;
        const cfg = resolveConfig<ContainerImagesConfig>(configSchema, () => args.getConfig());
        for (const ref of containersOf(podSpec)) {
            const image = str(ref.c.image);
            const parsed = image === undefined ? undefined : parseImageRef(image);
            if (!parsed) {
                reportViolation(message(describeContainer(ref), ["has no image"], ["set an image with an explicit version tag, e.g. redis:7.2-alpine"]));
                continue;
            }
            const problems: string[] = [];
            const hints: string[] = [];
            const pinned = parsed.digest !== undefined && DIGEST_RE.test(parsed.digest);
            if (parsed.digest !== undefined && !pinned) {
                problems.push(`image "${image}" has a malformed digest`);
                hints.push("use name@sha256:<64 hex digits>");
            }
            if (!pinned && parsed.tag === undefined) {
                problems.push(`image "${image}" has no tag (pulls latest)`);
                hints.push(`pin a version tag, e.g. ${parsed.familiar}:<version>, or a digest`);
            } else if (!pinned && parsed.tag!.toLowerCase() === "latest") {
                problems.push(`image "${image}" uses the latest tag`);
                hints.push(`pin a version tag, e.g. ${parsed.familiar}:<version>, or a digest`);
            }
            if (cfg.requireDigest && !pinned) {
                problems.push(`image "${image}" is not pinned by digest (requireDigest)`);
                hints.push("append @sha256:<digest> to the image");
            }
            if (!registryAllowed(parsed, cfg.allowedRegistries ?? [])) {
                problems.push(`image "${image}" (${parsed.name}) is not from an allowed registry (${cfg.allowedRegistries.join(", ")})`);
                hints.push("mirror the image into an allowed registry or extend allowedRegistries");
            }
            const forbidden = matchForbidden(parsed, cfg.forbiddenImages ?? []);
            if (forbidden !== undefined) {
                problems.push(`image "${image}" matches forbidden pattern "${forbidden}"`);
                hints.push(
                    /bitnami/i.test(forbidden)
                        ? "Bitnami's free images were frozen in 2025: switch to the upstream image (mariadb, redis, apache/kafka) or a maintained mirror"
                        : "switch to an image that is not forbidden",
                );
            }
            if (problems.length > 0) {
                reportViolation(message(describeContainer(ref), problems, hints));
            }
        }
    },
};
