import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, podBearing, recs, resolveConfig, str } from "./k8s";
import { DIGEST_RE, ImageRef, matchForbiddenThroughMirrors, parseImageRef, parseMirrorRules, registryAllowed, withUnknowns } from "../reading";

export { matchForbidden, parseImageRef, registryAllowed } from "../reading";
export type { ImageRef } from "../reading";

export interface ContainerImagesConfig {
    /** Require every image to be pinned by digest (`name@sha256:...`). */
    requireDigest: boolean;
    /** Registries (or registry/path prefixes) images may come from; empty = any. */
    allowedRegistries: string[];
    /** Glob patterns (`*` = any characters) of images that must not be used. */
    forbiddenImages: string[];
    /** Registry mirrors / pull-through caches that keep the upstream path: `host[/prefix]` (Docker Hub) or `host[/prefix]=upstream-registry`. */
    registryMirrors: string[];
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
            default: ["bitnami/*", "docker.io/bitnami/*", "bitnamilegacy/*", "public.ecr.aws/bitnami/*"],
            description:
                "Glob patterns of forbidden images, matched against the name as written, the normalised name and the Docker Hub short name, also behind a registry mirror. Default: Bitnami images (the free catalogue was frozen in 2025, moved to bitnamilegacy, and no longer gets fixes).",
        },
        registryMirrors: {
            type: "array",
            items: { type: "string" },
            default: [],
            description:
                "Registry mirrors and pull-through caches that keep the upstream repository path, e.g. [\"harbor.example.com/dockerhub\", \"harbor.example.com/quay=quay.io\"] (no `=`: a Docker Hub mirror). mirror.gcr.io, a registry host inside the path and Docker Hub proxy names such as dockerhub/ are recognised without configuration.",
        },
    },
};

/**
 * Images are reproducible and come from trusted places: an explicit tag that is not `latest` (no
 * tag means latest; a digest pins the image regardless of tag), optionally a digest, optionally
 * only from allowed registries, and never from a forbidden source such as the frozen Bitnami
 * catalogue, not even through a registry mirror that keeps its path. Container images of every
 * container list and image volumes (`volumes[].image.reference`) are checked.
 */
export const containerImages: ResourceValidationPolicy = {
    name: "container-images",
    description: "Container images use an explicit non-latest tag or a digest, come from allowed registries and are not on the forbidden list.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const target = podBearing(args.type, args.props);
            if (!target) {
                return;
            }
            const { podSpec } = target;
            const cfg = resolveConfig<ContainerImagesConfig>(configSchema, () => args.getConfig());
            const mirrors = parseMirrorRules(cfg.registryMirrors ?? []);

            const check = (subject: string, image: string | undefined): void => {
                const parsed = image === undefined ? undefined : parseImageRef(image);
                if (!parsed) {
                    reportViolation(message(subject, ["has no image"], ["set an image with an explicit version tag, e.g. redis:7.2-alpine"]));
                    return;
                }
                const { problems, hints } = imageProblems(image!, parsed, cfg, mirrors);
                if (problems.length > 0) {
                    reportViolation(message(subject, problems, hints));
                }
            };
            for (const ref of containersOf(podSpec)) {
                unknowns.run(() => check(describeContainer(ref), str(ref.c.image)));
            }
            for (const v of recs(podSpec.volumes)) {
                unknowns.run(() => {
                    if (at(v, "image") !== undefined && at(v, "image") !== null) {
                        check(`image volume "${str(v.name) ?? "?"}"`, str(at(v, "image", "reference")));
                    }
                });
            }
        }),
};

function imageProblems(image: string, parsed: ImageRef, cfg: ContainerImagesConfig, mirrors: ReturnType<typeof parseMirrorRules>): { problems: string[]; hints: string[] } {
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
    const forbidden = matchForbiddenThroughMirrors(parsed, cfg.forbiddenImages ?? [], mirrors);
    if (forbidden !== undefined) {
        problems.push(
            forbidden.via
                ? `image "${image}" is a mirror of ${forbidden.via.name}, which matches forbidden pattern "${forbidden.pattern}"`
                : `image "${image}" matches forbidden pattern "${forbidden.pattern}"`,
        );
        hints.push(
            /bitnami/i.test(forbidden.pattern)
                ? "Bitnami's free images were frozen in 2025: switch to the upstream image (mariadb, redis, apache/kafka) or a maintained mirror"
                : "switch to an image that is not forbidden",
        );
    }
    return { problems, hints };
}
