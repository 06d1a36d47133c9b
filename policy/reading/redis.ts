// Redis (and Valkey) configuration as redis-server reads it.
//
// - `redis-server [configfile] [--directive args...]...`: the first argument, unless it starts with `--`,
//   is the config file (any name; `-` is stdin); every `--name` starts a directive that the following
//   non-`--` words are arguments of. Command-line directives are applied after the file, so they win.
// - redis.conf: one directive per line, `#` comments, arguments split like sdssplitargs (double quotes
//   with \n \t \xHH escapes, single quotes), directive names case-insensitive, `include <path or glob>`
//   read in place, and for single-value directives such as requirepass the last one wins.
// - Authentication: the default user starts as `on nopass ~* &* +@all`. `requirepass <pw>` gives it a
//   password (an empty one removes it), `user <name> <rules>` lines in redis.conf are applied after the
//   config is read, and with `aclfile` the users come from that file instead; an ACL file that does not
//   define `default` leaves the default user at `on nopass`.

import { basename } from "./objects";

/** One directive with where it came from (for messages). */
export interface RedisDirective {
    name: string;
    args: string[];
    /** `/etc/redis/redis.conf (ConfigMap cache/redis-config key redis.conf)` or `the command line`. */
    origin: string;
}

/** sdssplitargs: splits a config line into arguments; undefined on unbalanced quotes (Redis refuses the line). */
export function splitRedisArgs(line: string): string[] | undefined {
    const out: string[] = [];
    let i = 0;
    while (true) {
        while (i < line.length && /\s/.test(line[i])) {
            i++;
        }
        if (i >= line.length) {
            return out;
        }
        let cur = "";
        let inDq = false;
        let inSq = false;
        let done = false;
        while (!done) {
            const ch = line[i];
            if (inDq) {
                if (ch === undefined) {
                    return undefined;
                }
                if (ch === "\\" && line[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
                    cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
                    i += 3;
                } else if (ch === "\\" && i + 1 < line.length) {
                    const e = line[++i];
                    cur += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "b" ? "\b" : e === "a" ? "\x07" : e;
                } else if (ch === '"') {
                    if (i + 1 < line.length && !/\s/.test(line[i + 1])) {
                        return undefined;
                    }
                    done = true;
                } else {
                    cur += ch;
                }
            } else if (inSq) {
                if (ch === undefined) {
                    return undefined;
                }
                if (ch === "\\" && line[i + 1] === "'") {
                    i++;
                    cur += "'";
                } else if (ch === "'") {
                    if (i + 1 < line.length && !/\s/.test(line[i + 1])) {
                        return undefined;
                    }
                    done = true;
                } else {
                    cur += ch;
                }
            } else if (ch === undefined || /\s/.test(ch)) {
                done = true;
            } else if (ch === '"') {
                inDq = true;
            } else if (ch === "'") {
                inSq = true;
            } else {
                cur += ch;
            }
            if (i < line.length) {
                i++;
            }
        }
        out.push(cur);
    }
}

/** Directive lines of a redis.conf or ACL file (comments and blank lines dropped). */
export function redisLines(text: string): string[][] {
    const out: string[][] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const args = splitRedisArgs(line);
        if (args && args.length > 0) {
            out.push(args);
        }
    }
    return out;
}

/** True when a program name is a Redis-compatible server. */
export function isRedisServer(program: string): boolean {
    return ["redis-server", "valkey-server", "keydb-server", "redis-stack-server"].includes(basename(program));
}

/** A redis-server command line: its config file (if any) and command-line directives. */
export interface RedisServerArgs {
    configFile?: string;
    directives: RedisDirective[];
}

/** Parses the arguments of one redis-server invocation (argv[0] is the program). */
export function parseRedisServerArgs(argv: readonly string[]): RedisServerArgs {
    let j = 1;
    let configFile: string | undefined;
    if (argv[1] !== undefined && !argv[1].startsWith("--")) {
        configFile = argv[1];
        j = 2;
    }
    const directives: RedisDirective[] = [];
    for (; j < argv.length; j++) {
        const w = argv[j];
        if (w.startsWith("--") && w.length > 2) {
            const eq = w.indexOf("=");
            // `--requirepass=x` is not Redis syntax, but read it the way a reader of the manifest would.
            const name = (eq > 2 ? w.slice(2, eq) : w.slice(2)).toLowerCase();
            directives.push({ name, args: eq > 2 ? [w.slice(eq + 1)] : [], origin: "the command line" });
        } else if (directives.length > 0) {
            directives[directives.length - 1].args.push(w);
        }
    }
    return { configFile, directives };
}

/** The state of one ACL user after a list of rules. */
export interface AclUser {
    enabled: boolean;
    nopass: boolean;
    hasPassword: boolean;
}

/** Applies ACL rules (`on`, `off`, `nopass`, `>pw`, `#hash`, `resetpass`, `reset`, `<pw`, `!hash`) to a user. */
export function applyAclRules(user: AclUser, rules: readonly string[]): AclUser {
    const u = { ...user };
    for (const rule of rules) {
        const r = rule.toLowerCase();
        if (r === "on") {
            u.enabled = true;
        } else if (r === "off") {
            u.enabled = false;
        } else if (r === "nopass") {
            u.nopass = true;
            u.hasPassword = false;
        } else if (r === "resetpass") {
            u.nopass = false;
            u.hasPassword = false;
        } else if (r === "reset") {
            u.enabled = false;
            u.nopass = false;
            u.hasPassword = false;
        } else if (rule.startsWith(">") || rule.startsWith("#")) {
            u.nopass = false;
            u.hasPassword = true;
        }
    }
    return u;
}

/** The default user at startup, before any configuration. */
export const DEFAULT_USER_AT_START: AclUser = { enabled: true, nopass: true, hasPassword: false };

/** Users an ACL file defines (`user <name> <rules...>` lines), by name; undefined when it defines none. */
export function aclFileUsers(text: string): Map<string, AclUser> | undefined {
    const users = new Map<string, AclUser>();
    for (const args of redisLines(text)) {
        if (args[0].toLowerCase() !== "user" || args[1] === undefined) {
            continue;
        }
        const base = users.get(args[1]) ?? { enabled: false, nopass: false, hasPassword: false };
        users.set(args[1], applyAclRules(base, args.slice(2)));
    }
    return users.size > 0 ? users : undefined;
}
