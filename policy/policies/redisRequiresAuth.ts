import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, basename, commandWords, containerCommand, containersOf, describeContainer, message } from "./k8s";
import { findFile, imageBase, indexStack, MountedFile, mountedFiles, OpaqueMount } from "./stack";

const REDIS_IMAGES = new Set(["redis", "redis-stack", "redis-stack-server", "valkey"]);
const SERVER_BINARIES = new Set(["redis-server", "valkey-server"]);
const CLIENT_BINARIES = new Set(["redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb", "valkey-cli", "valkey-benchmark"]);

interface AuthEvidence {
    /** A non-empty requirepass or an aclfile was found. */
    auth: boolean;
    /** Problems that make the server unauthenticated even if auth is configured. */
    problems: string[];
    /** ACL file paths named by --aclfile / aclfile. */
    aclFiles: string[];
}

/** Scans command-line words for --requirepass / --aclfile. */
function scanArgs(words: readonly string[], ev: AuthEvidence): void {
    for (let i = 0; i < words.length; i++) {
        const m = /^--(requirepass|aclfile)(?:=(.*))?$/.exec(words[i]);
        if (!m) {
            continue;
        }
        const value = m[2] !== undefined ? m[2] : words[i + 1] !== undefined && !words[i + 1].startsWith("--") ? words[i + 1] : undefined;
        if (value === undefined || value === "" || value === '""' || value === "''") {
            ev.problems.push(`--${m[1]} is given an empty value`);
        } else {
            ev.auth = true;
            if (m[1] === "aclfile") {
                ev.aclFiles.push(value);
            }
        }
    }
}

/** Non-comment lines of a redis.conf / ACL file, split into words. */
function directives(text: string): string[][] {
    return text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => commandWords([l]).filter((w) => w !== ""));
}

/** Scans redis.conf text for requirepass / aclfile / nopass. */
function scanConfig(file: MountedFile, ev: AuthEvidence): string | undefined {
    let sets = false;
    for (const words of directives(file.text ?? "")) {
        const d = (words[0] ?? "").toLowerCase();
        if (d === "requirepass") {
            if (words[1] === undefined || words[1] === "") {
                ev.problems.push(`${file.path} (${file.source}) sets an empty requirepass`);
            } else {
                sets = true;
            }
        } else if (d === "aclfile" && words[1]) {
            sets = true;
            ev.aclFiles.push(words[1]);
        }
        if (words.some((w) => w.toLowerCase() === "nopass")) {
            ev.problems.push(`${file.path} (${file.source}) says nopass`);
        }
    }
    if (sets) {
        ev.auth = true;
        return undefined;
    }
    return `config file ${file.path} (${file.source}) sets neither requirepass nor aclfile`;
}

function isOpaque(f: MountedFile | OpaqueMount | undefined): f is OpaqueMount {
    return f !== undefined && !("path" in f);
}

/**
 * Redis never runs without a password. For every container whose image is redis/valkey (any
 * registry) or whose command runs redis-server, authentication must come from `--requirepass` /
 * `--aclfile` on the command line, or from a config file named on the command line that is a key
 * of a ConfigMap (or Secret) of the same namespace mounted into the container and that sets
 * `requirepass` or `aclfile` without `nopass`; a resolvable ACL file must not give the default user
 * `nopass`. Start scripts mounted from a ConfigMap are read too. Init containers that use the redis
 * image for a helper command and redis-cli/benchmark containers are not servers and are skipped.
 *
 * A stack policy (not a resource policy) because the config file lives in another object.
 */
export const redisRequiresAuth: StackValidationPolicy = {
    name: "redis-requires-auth",
    description: "Redis servers require authentication through requirepass or an ACL file (arguments or a mounted ConfigMap).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const index = indexStack(args.resources);
        for (const w of index.workloads) {
            for (const ref of containersOf(w.podSpec, ["container", "initContainer"])) {
                const words = containerCommand(ref.c);
                const mounted = mountedFiles(ref.c, w.podSpec, w.namespace, index);
                // Scripts and config files named on the command line that we can read.
                const named = words.filter((x) => x.startsWith("/")).map((p) => ({ p, f: findFile(p, mounted) }));
                const scripts = named.filter((n) => n.f !== undefined && !isOpaque(n.f) && !n.p.endsWith(".conf") && (n.f as MountedFile).text !== undefined);
                const scriptWords = scripts.map((s) => commandWords([(s.f as MountedFile).text ?? ""]));
                const allWords = [words, ...scriptWords];
                const runsServer = allWords.some((ws) => ws.some((x) => SERVER_BINARIES.has(basename(x))));
                if (!runsServer) {
                    const isRedisImage = REDIS_IMAGES.has(imageBase(ref.c.image));
                    const hasCommand = arr(ref.c.command).length > 0;
                    const clientOnly = words.some((x) => CLIENT_BINARIES.has(basename(x)));
                    if (!isRedisImage || clientOnly || (ref.role === "initContainer" && hasCommand)) {
                        continue;
                    }
                }
                const ev: AuthEvidence = { auth: false, problems: [], aclFiles: [] };
                allWords.forEach((ws) => scanArgs(ws, ev));
                const reasons: string[] = [];
                const confFiles = Array.from(new Set(allWords.flat().filter((x) => /^\/.*\.conf$/.test(x) && !ev.aclFiles.includes(x))));
                for (const path of confFiles) {
                    const f = findFile(path, mounted);
                    if (f === undefined) {
                        reasons.push(`config file ${path} is not mounted from a ConfigMap or Secret, so its content cannot be verified`);
                    } else if (isOpaque(f)) {
                        reasons.push(`config file ${path} comes from ${f.source}, which is not part of this stack, so its content cannot be verified`);
                    } else if (f.text === undefined) {
                        reasons.push(`config file ${path} (${f.source}) has no readable content`);
                    } else {
                        const r = scanConfig(f, ev);
                        if (r) {
                            reasons.push(r);
                        }
                    }
                }
                for (const acl of ev.aclFiles) {
                    const f = findFile(acl, mounted);
                    if (f && !isOpaque(f) && f.text !== undefined) {
                        for (const d of directives(f.text)) {
                            if (d[0]?.toLowerCase() === "user" && d[1] === "default" && d.some((x) => x.toLowerCase() === "on") && d.some((x) => x.toLowerCase() === "nopass")) {
                                ev.problems.push(`ACL file ${acl} (${f.source}) lets the default user in with nopass`);
                            }
                        }
                    }
                }
                const problems = [...ev.problems];
                if (!ev.auth) {
                    problems.push(confFiles.length === 0 ? "no --requirepass or --aclfile argument and no config file that sets requirepass or aclfile" : `no --requirepass or --aclfile argument and ${reasons.join("; ")}`);
                }
                if (problems.length > 0) {
                    reportViolation(
                        message(`${describeContainer(ref)} runs redis-server without authentication`, problems, [
                            "pass --requirepass $(REDIS_PASSWORD) (from a secretKeyRef) or --aclfile, or point redis-server at a redis.conf in a mounted ConfigMap that sets requirepass or aclfile (ACL file in a Secret) and never nopass",
                        ]),
                        w.resource.urn,
                    );
                }
            }
        }
    },
};
