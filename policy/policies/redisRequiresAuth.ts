import type { StackValidationPolicy } from "@pulumi/policy";
import { basename, ContainerRef, describeContainer, message, str } from "./k8s";
import {
    aclFileUsers,
    AclUser,
    applyAclRules,
    DEFAULT_USER_AT_START,
    effectiveArgv,
    effectiveEnv,
    findFile,
    globFiles,
    ImageFamily,
    imageBase,
    indexStack,
    invocations,
    isOpaque,
    isRedisServer,
    knownValues,
    MountedFile,
    MountedFiles,
    mountedFiles,
    parseRedisServerArgs,
    programOf,
    RedisDirective,
    redisLines,
    StackIndex,
    withUnknowns,
    Workload,
    writtenCommand,
} from "../reading";

const REDIS_IMAGES: Record<string, ImageFamily> = {
    redis: "redis",
    valkey: "valkey",
    keydb: "redis",
    "redis-stack": "redis-stack",
    "redis-stack-server": "redis-stack",
};
const CLIENT_BINARIES = new Set(["redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb", "valkey-cli", "valkey-benchmark"]);

/** Reads a config file and, in place, the files it includes (`include <path or glob>`). */
function readConfig(file: MountedFile, mounted: MountedFiles, reasons: string[], depth = 0): RedisDirective[] {
    const origin = `${file.path} (${file.source})`;
    const out: RedisDirective[] = [];
    for (const args of redisLines(file.text ?? "")) {
        const name = args[0].toLowerCase();
        if (name === "include" && args[1] !== undefined && depth < 8) {
            const included = globFiles(args[1], mounted);
            if (included.length === 0) {
                const f = findFile(args[1], mounted);
                reasons.push(
                    isOpaque(f)
                        ? `included file ${args[1]} comes from ${f.source}, which is not part of this stack, so its content cannot be verified`
                        : `included file ${args[1]} is not mounted from a ConfigMap or Secret, so its content cannot be verified`,
                );
            }
            for (const inc of included) {
                out.push(...readConfig(inc, mounted, reasons, depth + 1));
            }
            continue;
        }
        out.push({ name, args: args.slice(1), origin });
    }
    return out;
}

/** Why one redis-server start accepts unauthenticated clients (empty when it requires a password). */
function serverProblems(argv: readonly string[], stdin: readonly string[], mounted: MountedFiles): string[] {
    const parsed = parseRedisServerArgs(argv);
    const reasons: string[] = [];
    const directives: RedisDirective[] = [];
    let readableConfig: MountedFile | undefined;
    if (parsed.configFile !== undefined) {
        const path = parsed.configFile;
        const f = path === "-" ? undefined : findFile(path, mounted);
        if (path === "-" && stdin.length > 0) {
            // `redis-server - <<EOF ... EOF`: the config is the here-document.
            readableConfig = { path: "stdin", source: "a here-document", text: stdin.join("\n") };
            directives.push(...readConfig(readableConfig, mounted, reasons));
        } else if (path === "-") {
            reasons.push("the config is read from stdin, so its content cannot be verified");
        } else if (f === undefined) {
            reasons.push(`config file ${path} is not mounted from a ConfigMap or Secret, so its content cannot be verified`);
        } else if (isOpaque(f)) {
            reasons.push(`config file ${path} comes from ${f.source}, which is not part of this stack, so its content cannot be verified`);
        } else if (f.text === undefined) {
            reasons.push(`config file ${path} (${f.source}) has no readable content`);
        } else {
            readableConfig = f;
            directives.push(...readConfig(f, mounted, reasons));
        }
    }
    for (const d of parsed.directives) {
        // `--include <file>` reads that file in place, like the directive in redis.conf.
        if (d.name === "include" && d.args[0] !== undefined) {
            const included = globFiles(d.args[0], mounted);
            if (included.length === 0) {
                reasons.push(`included file ${d.args[0]} is not mounted from a ConfigMap or Secret, so its content cannot be verified`);
            }
            included.forEach((inc) => directives.push(...readConfig(inc, mounted, reasons)));
        } else {
            directives.push(d);
        }
    }

    const problems: string[] = [];
    const last = (name: string) => [...directives].reverse().find((d) => d.name === name);
    const acl = last("aclfile");
    if (acl && (acl.args[0] ?? "") !== "") {
        // Users come from the ACL file; one that does not define `default` leaves it at `on nopass`.
        const path = acl.args[0];
        const f = findFile(path, mounted);
        const users = f && !isOpaque(f) && f.text !== undefined ? aclFileUsers(f.text) : undefined;
        if (f && !isOpaque(f) && users) {
            const where = `ACL file ${path} (${f.source})`;
            const def = users.get("default");
            if (!def) {
                problems.push(`${where} does not define the default user, so it keeps nopass`);
            } else if (def.enabled && def.nopass) {
                problems.push(`${where} lets the default user in with nopass`);
            }
            for (const [name, u] of users) {
                if (name !== "default" && u.enabled && u.nopass) {
                    problems.push(`${where} lets user ${name} in with nopass`);
                }
            }
        }
        return problems;
    }
    if (acl) {
        problems.push(acl.origin === "the command line" ? "--aclfile is given an empty value" : `${acl.origin} sets an empty aclfile`);
    }
    let def: AclUser = DEFAULT_USER_AT_START;
    const pass = last("requirepass");
    if (pass) {
        if ((pass.args[0] ?? "") === "") {
            problems.push(pass.origin === "the command line" ? "--requirepass is given an empty value" : `${pass.origin} sets an empty requirepass`);
        } else {
            def = { enabled: true, nopass: false, hasPassword: true };
        }
    }
    // `user` lines of redis.conf are applied after the config is read, so they win over requirepass.
    let nopassFrom: string | undefined;
    for (const d of directives.filter((x) => x.name === "user")) {
        const [name, ...rules] = d.args;
        if (name === "default") {
            def = applyAclRules(def, rules);
            nopassFrom = def.nopass && rules.some((r) => r.toLowerCase() === "nopass") ? d.origin : nopassFrom;
        } else if (name !== undefined) {
            const u = applyAclRules({ enabled: false, nopass: false, hasPassword: false }, rules);
            if (u.enabled && u.nopass) {
                problems.push(`${d.origin} says nopass for user ${name}`);
            }
        }
    }
    if (def.enabled && def.nopass) {
        if (nopassFrom) {
            problems.push(`${nopassFrom} says nopass`);
        } else if (!pass || (pass.args[0] ?? "") !== "") {
            if (readableConfig) {
                reasons.unshift(`config file ${readableConfig.path} (${readableConfig.source}) sets neither requirepass nor aclfile`);
            }
            problems.push(
                parsed.configFile === undefined && reasons.length === 0
                    ? "no --requirepass or --aclfile argument and no config file that sets requirepass or aclfile"
                    : `no --requirepass or --aclfile argument and ${reasons.join("; ")}`,
            );
        }
    }
    return Array.from(new Set(problems));
}

function checkContainer(w: Workload, ref: ContainerRef, index: StackIndex): string[] {
    const family = REDIS_IMAGES[imageBase(str(ref.c.image))] ?? "other";
    const env = effectiveEnv(ref.c, { namespace: w.namespace, index });
    const vars = knownValues(env);
    const mounted = mountedFiles(ref.c, { podSpec: w.podSpec, namespace: w.namespace, index });
    const readFile = (p: string) => {
        const f = findFile(p, mounted);
        return f && !isOpaque(f) ? f.text : undefined;
    };
    const { argv } = effectiveArgv(ref.c, { family, vars });
    const invs = invocations(argv, { vars, readFile });
    // redis-stack's entrypoint appends $REDIS_ARGS to its redis-server command line.
    const servers = invs
        .filter((inv) => isRedisServer(programOf(inv.argv)))
        .map((inv) => ({ argv: family === "redis-stack" && vars.get("REDIS_ARGS") ? [...inv.argv, ...vars.get("REDIS_ARGS")!.split(/\s+/).filter((x) => x !== "")] : inv.argv, stdin: inv.heredocs }));
    if (servers.length === 0) {
        const words = invs.flatMap((inv) => inv.argv);
        const clientOnly = words.some((x) => CLIENT_BINARIES.has(basename(x)));
        const hasCommand = writtenCommand(ref.c).command.length > 0;
        // A script this pack cannot read (an image's start script) may still start redis-server.
        const opaqueScript = invs.some((inv) => {
            const p = inv.argv[0] ?? "";
            return p.endsWith(".sh") || (p.includes("/") && !/^\/(usr\/(local\/)?)?s?bin\/[^/]+$/.test(p));
        });
        if (family === "other" || clientOnly || (ref.role === "initContainer" && !ref.sidecar && hasCommand) || (hasCommand && !opaqueScript)) {
            return [];
        }
        // A Redis image started through something this pack cannot read (an image script): judge the
        // words it is given as if they were redis-server's, with the first .conf path as the config file.
        const conf = words.find((x) => /^\/.*\.conf$/.test(x));
        const options = words.slice(words.findIndex((x) => x.startsWith("--")) >= 0 ? words.findIndex((x) => x.startsWith("--")) : words.length);
        servers.push({ argv: ["redis-server", ...(conf ? [conf] : []), ...options], stdin: [] });
    }
    return Array.from(new Set(servers.flatMap((s) => serverProblems(s.argv, s.stdin, mounted))));
}

/**
 * Redis never runs without a password. For every container whose image is redis/valkey/redis-stack (any
 * registry) or whose command line runs redis-server (also through `sh -c`, a mounted start script,
 * the image's entrypoint, or a sidecar), the server's effective configuration is read the way
 * redis-server reads it: the config file named first on its command line (any name, any mount path,
 * `include`s followed), then the command-line directives, last one winning. The default user must end
 * up with a password: a non-empty requirepass that no `user default ... nopass` undoes, or an aclfile
 * that defines the default user with a password (or off) and lets no user in with nopass. A config
 * file that cannot be read (not mounted, or its ConfigMap is not in the stack) is a violation ("cannot
 * be verified") unless the command line sets auth. Init containers that use the redis image for another
 * command and redis-cli/benchmark containers are not servers and are skipped.
 *
 * A stack policy (not a resource policy) because the config file lives in another object.
 */
export const redisRequiresAuth: StackValidationPolicy = {
    name: "redis-requires-auth",
    description: "Redis servers require authentication through requirepass or an ACL file (arguments or a mounted ConfigMap).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const index = indexStack(args.resources, unknowns);
            for (const w of index.workloads) {
                for (const ref of w.containers) {
                    unknowns.run(() => {
                        const problems = checkContainer(w, ref, index);
                        if (problems.length > 0) {
                            reportViolation(
                                message(`${describeContainer(ref)} runs redis-server without authentication`, problems, [
                                    "pass --requirepass $(REDIS_PASSWORD) (from a secretKeyRef) or --aclfile, or point redis-server at a redis.conf in a mounted ConfigMap that sets requirepass or aclfile (ACL file in a Secret, defining the default user with a password or off) and never nopass",
                                ]),
                                w.resource.urn,
                            );
                        }
                    });
                }
            }
        }),
};
