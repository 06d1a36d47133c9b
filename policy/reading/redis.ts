// Redis (and Valkey, KeyDB, Sentinel) configuration as redis-server builds it at start-up (Redis 7):
// - argv: `redis-server [configfile] [options]`; the first argument is the config file unless it starts with
//   `-`; `-` (first or last) reads the config from stdin; every `--name` starts a directive, and the word right
//   after a lone `--name` is always its argument (even if it starts with `--`); a word `--name value` carries
//   both; option arguments are quoted into the config text, option names are not. The config file, then
//   stdin, then the options are read as one config text, in that order (later directives win).
// - config text: one directive per line, `#` comments, arguments split like sdssplitargs (unbalanced quotes:
//   Redis refuses to start), names case-insensitive, `include <path or glob>` read in place (a missing plain
//   path: Redis refuses to start).
// - authentication: the default user starts as `on nopass`; `requirepass <pw>` gives it a password (empty:
//   none); `user` directives are applied after the config; with `aclfile` the users come from that file
//   (one that does not define `default` leaves it `on nopass`), and `user` directives next to an aclfile, an
//   ACL file that is missing, has a line not starting with `user`, or defines a user twice make Redis refuse
//   to start. A server with neither a TCP port nor a TLS port is not reachable over the network.
// Everything read is symbolic (sym.ts): a value the pack cannot know makes the verdict "unknown" with the
// reason, never "no password".

import type { ContainerFs } from "./fs";
import { resolvePath } from "./fs";
import { programName } from "./programs";
import type { Proc } from "./shellRun";
import { globToRegex } from "./shellRun";
import { FIELDS, hasFreeUnknown, isKnown, mayBeEmpty, mayStartWith, plain, show, splitBalanced } from "./sym";

/** A stretch of config the pack cannot read: it may hold any directives. */
export const UNKNOWN_DIRECTIVE = "\u0000unknown";

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

/** The state of one ACL user after a list of rules. */
export interface AclUser {
    enabled: boolean;
    nopass: boolean;
    hasPassword: boolean;
    /** A rule's value the pack cannot know (a password or rule from a value outside the stack). */
    unknown?: boolean;
}

/** Applies ACL rules (`on`, `off`, `nopass`, `>pw`, `#hash`, `resetpass`, `reset`, `<pw`, `!hash`) to a user. */
export function applyAclRules(user: AclUser, rules: readonly string[]): AclUser {
    const u = { ...user };
    for (const rule of rules) {
        if (!isKnown(plain(rule))) {
            u.unknown = true;
            continue;
        }
        const r = plain(rule).toLowerCase();
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
        } else if (r.startsWith(">") || r.startsWith("#")) {
            u.nopass = false;
            u.hasPassword = true;
        }
    }
    return u;
}

/** The default user at startup, before any configuration. */
export const DEFAULT_USER_AT_START: AclUser = { enabled: true, nopass: true, hasPassword: false };

/** True when a program name is a Redis-compatible server. */
export function isRedisServer(program: string): boolean {
    return ["redis-server", "redis-sentinel", "valkey-server", "valkey-sentinel", "keydb-server", "keydb-sentinel", "redis-stack-server"].includes(programName(program));
}

/** What the pack can tell about one Redis server start. */
export interface RedisVerdict {
    sentinel: boolean;
    /** True claims: why clients get in without a password. */
    problems: string[];
    /** Why the pack cannot tell. */
    unknowns: string[];
    /** Redis refuses to start with this configuration (why), so it accepts nobody. */
    refuses?: string;
    /** TCP ports it listens on (plain and TLS); "unknown" when they cannot be told. */
    ports: number[] | "unknown";
    /** Why no client on the network gets in without credentials even without a password (loopback only, protected mode, client certificates). */
    open?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/**
 * Why a server accepts no network client without credentials whatever its passwords say: it listens only on a
 * TLS port that requires client certificates (tls-auth-clients yes, the default), which is authentication.
 */
function closedToTheNetwork(ds: RedisDirective[], port: number | "unknown", tlsPort: number | "unknown", unknownAfter: (d: RedisDirective | undefined) => RedisDirective[]): string | undefined {
    const auth = lastDirective(ds, "tls-auth-clients");
    const settled = (d: RedisDirective) => unknownAfter(d).length === 0 && d.args.every((a) => isKnown(plain(a)));
    const certsRequired = auth === undefined ? unknownAfter(undefined).length === 0 : settled(auth) && /^yes$/i.test(plain(auth.args[0] ?? ""));
    if (port === 0 && typeof tlsPort === "number" && tlsPort > 0 && certsRequired) {
        return "it listens only on its TLS port and requires client certificates (tls-auth-clients yes)";
    }
    return undefined;
}

/**
 * Who can reach a server without a password: a loopback-only bind or protected mode keeps other hosts out,
 * but every container of the pod (and anything that relays for it) still gets in. Said in the message, not
 * taken as authentication.
 */
function reach(ds: RedisDirective[]): string {
    const bind = lastDirective(ds, "bind");
    if (bind && bind.args.length > 0 && bind.args.every((a) => LOOPBACK.test(plain(a).replace(/^-/, "")))) {
        return " (it binds only loopback addresses, so any container of the pod gets in)";
    }
    const pm = lastDirective(ds, "protected-mode");
    if (pm && /^yes$/i.test(plain(pm.args[0] ?? ""))) {
        return " (protected mode keeps other hosts out, but any container of the pod gets in)";
    }
    return "";
}

interface ConfigText {
    /**
     * Lines as they reach the config parser, each with its origin: text (from a file or stdin), or the
     * arguments of a command-line option, already split (each value is one argument, quoted by Redis).
     */
    lines: Array<{ text: string; origin: string } | { args: string[]; origin: string }>;
}

class RedisReader {
    problems: string[] = [];
    unknowns: string[] = [];
    refuses: string | undefined;

    constructor(
        private readonly fs: ContainerFs,
        private readonly cwd: string,
    ) {}

    /** Reads a file's possible contents; reports unknown/missing. */
    file(path: string, what: string): Array<{ text: string; source: string }> | undefined {
        const reads = this.fs.read(resolvePath(isKnown(this.cwd) ? this.cwd : "/", path));
        const out: Array<{ text: string; source: string }> = [];
        for (const r of reads) {
            if (r.state === "unknown") {
                this.unknowns.push(`${what} ${path}: ${r.reason}`);
                return undefined;
            }
            if (r.state === "file") {
                out.push({ text: r.text, source: r.source });
            }
        }
        if (out.length === 0) {
            this.refuses = `${what} ${path} is not there`;
            return undefined;
        }
        if (out.length < reads.length) {
            // Present on some paths only: where it is missing, Redis does not start.
        }
        if (new Set(out.map((o) => o.text)).size > 1) {
            this.unknowns.push(`${what} ${path} may be written with different contents by the start-up`);
            return undefined;
        }
        return [out[0]];
    }

    /** Directives of a config text, `include`s read in place. */
    directives(text: ConfigText, depth = 0): RedisDirective[] | undefined {
        const out: RedisDirective[] = [];
        for (const entry of text.lines) {
            const origin = entry.origin;
            if ("args" in entry) {
                // A command-line option: its name is known (or the option was kept as text); its values are
                // single arguments whatever they hold, so an unknown value is only that setting's value.
                const name = plain(entry.args[0] ?? "").toLowerCase();
                if (!isKnown(name)) {
                    this.unknowns.push(`${origin} has a directive whose name the pack cannot expand`);
                    return undefined;
                }
                if (name === "include") {
                    const inner = this.include(entry.args[1] ?? "", origin, depth);
                    if (inner === undefined) {
                        return undefined;
                    }
                    out.push(...inner);
                    continue;
                }
                out.push({ name, args: entry.args.slice(1), origin });
                continue;
            }
            const line = entry.text;
            const trimmed = line.trim();
            if (trimmed === "" || trimmed.startsWith("#")) {
                continue;
            }
            if (hasFreeUnknown(line.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
                out.push({ name: UNKNOWN_DIRECTIVE, args: [`${origin} contains text the pack cannot expand (${show(trimmed).slice(0, 60)})`], origin });
                continue;
            }
            const args = splitRedisArgs(trimmed);
            if (!args) {
                this.refuses = `${origin} has unbalanced quotes (${show(trimmed).slice(0, 60)})`;
                return undefined;
            }
            if (args.length === 0) {
                continue;
            }
            const name = plain(args[0]).toLowerCase();
            if (!isKnown(name)) {
                this.unknowns.push(`${origin} has a directive whose name the pack cannot expand`);
                return undefined;
            }
            if (name === "include") {
                const inner = this.include(args[1] ?? "", origin, depth);
                if (inner === undefined) {
                    return undefined;
                }
                out.push(...inner);
                continue;
            }
            out.push({ name, args: args.slice(1), origin });
        }
        return out;
    }

    /** `include <path or glob>`: the included files' directives in place (an unread one: an unknown stretch). */
    private include(path: string, origin: string, depth: number): RedisDirective[] | undefined {
        if (!isKnown(plain(path))) {
            this.unknowns.push(`${origin} includes a path the pack cannot expand`);
            return undefined;
        }
        if (depth > 8) {
            this.unknowns.push(`${origin} nests includes too deeply`);
            return undefined;
        }
        const before = this.unknowns.length;
        const files = this.includeFiles(plain(path), origin);
        if (files === undefined) {
            if (this.refuses) {
                return undefined;
            }
            return [{ name: UNKNOWN_DIRECTIVE, args: this.unknowns.splice(before), origin }];
        }
        const out: RedisDirective[] = [];
        for (const f of files) {
            const inner = this.directives({ lines: splitBalanced(f.text, /\r?\n/).map((l) => ({ text: l, origin: `${f.path} (${f.source})` })) }, depth + 1);
            if (!inner) {
                return undefined;
            }
            out.push(...inner);
        }
        return out;
    }

    private includeFiles(path: string, origin: string): Array<{ path: string; text: string; source: string }> | undefined {
        if (/[*?[]/.test(path)) {
            const full = resolvePath(isKnown(this.cwd) ? this.cwd : "/", path);
            const dir = full.slice(0, full.lastIndexOf("/")) || "/";
            const listed = this.fs.list(dir);
            if ("unknown" in listed) {
                this.unknowns.push(`${origin} includes ${path}: ${listed.unknown}`);
                return undefined;
            }
            const re = globToRegex(full.slice(full.lastIndexOf("/") + 1));
            const out: Array<{ path: string; text: string; source: string }> = [];
            for (const name of listed.files.filter((n) => re.test(n))) {
                const f = this.file(`${dir}/${name}`, "included file");
                if (!f) {
                    return undefined;
                }
                out.push({ path: `${dir}/${name}`, ...f[0] });
            }
            return out;
        }
        const f = this.file(path, "included file");
        return f ? [{ path, ...f[0] }] : undefined;
    }
}

/**
 * Directives that take a fixed number of arguments (Redis 7 refuses to start when one has more or fewer):
 * `replicaof <host> <port>`. While such an option still lacks arguments, the next word is one of them even
 * when the pack cannot expand it: were it an option name (`--…`), the directive would be short and Redis
 * would not start, so on every start where it runs the word is that directive's value.
 */
const FIXED_ARITY = new Map<string, number>([
    ["replicaof", 2],
    ["slaveof", 2],
    ["rename-command", 2],
]);

/** One option of the command line: its `--name…` text (Redis reads it as config text) and its values. */
interface OptionLine {
    head: string;
    values: string[];
}

/** Reads the options of a redis-server argv into config lines (Redis 7's rules, see the module comment). */
function optionLines(argv: string[]): { configFile?: string; stdin: boolean; lines: OptionLine[]; unknown?: string; refuses?: string } {
    let j = 1;
    let configFile: string | undefined;
    let stdin = false;
    const a1 = argv[1];
    if (a1 !== undefined && a1 !== FIELDS && !mayStartWith(a1, "-")) {
        configFile = a1;
        j = 2;
    } else if (a1 !== undefined && (a1 === FIELDS || (!isKnown(plain(a1)) && mayStartWith(a1, "-")))) {
        return { stdin, lines: [], unknown: `its first argument (${show(a1)}) cannot be expanded, so whether it names a config file is not known` };
    }
    const lines: OptionLine[] = [];
    let handledLast = true;
    /** Arguments the current fixed-arity option still needs. */
    let owed = 0;
    const arityOf = (head: string): number => {
        const parts = splitRedisArgs(plain(head)) ?? [];
        const n = FIXED_ARITY.get((parts[0] ?? "").toLowerCase());
        return n === undefined || !isKnown(plain(head)) ? 0 : Math.max(0, n - (parts.length - 1));
    };
    for (; j < argv.length; j++) {
        const w = argv[j];
        if (w === FIELDS) {
            return { configFile, stdin, lines, unknown: "its arguments include words the pack cannot expand" };
        }
        const p = plain(w);
        if (p === "-" && (j === 1 || j === argv.length - 1)) {
            stdin = true;
            continue;
        }
        const mayBeName = mayStartWith(w, "--");
        if (handledLast && owed > 0 && p.startsWith("--")) {
            const name = (splitRedisArgs(plain(lines[lines.length - 1].head)) ?? [""])[0];
            return { configFile, stdin, lines, refuses: `--${name} gets ${FIXED_ARITY.get(name.toLowerCase())! - owed} of its ${FIXED_ARITY.get(name.toLowerCase())} arguments before ${show(w)}, so Redis does not start` };
        }
        if (handledLast && owed === 0 && mayBeName && !p.startsWith("--")) {
            return { configFile, stdin, lines, unknown: `its argument ${show(w)} cannot be expanded and may be an option` };
        }
        if (handledLast && owed === 0 && p.startsWith("--")) {
            const body = w.replace(/^([\uE002]?)--/, "$1");
            lines.push({ head: body, values: [] });
            owed = arityOf(body);
            const parts = splitRedisArgs(plain(body)) ?? [];
            if (parts.length <= 1) {
                handledLast = false;
                const lname = plain(body).trim().toLowerCase();
                if (lname === "save" && (j === argv.length - 1 || plain(argv[j + 1] ?? "").startsWith("--"))) {
                    lines[lines.length - 1].values.push("");
                    handledLast = true;
                } else if (lname === "sentinel" && (j === argv.length - 1 || plain(argv[j + 1] ?? "").startsWith("--"))) {
                    handledLast = true;
                }
            } else {
                handledLast = true;
            }
            continue;
        }
        // An option argument: quoted into the config text.
        if (lines.length === 0) {
            continue;
        }
        lines[lines.length - 1].values.push(w);
        owed = Math.max(0, owed - 1);
        handledLast = true;
    }
    if (owed > 0) {
        const name = (splitRedisArgs(plain(lines[lines.length - 1].head)) ?? [""])[0];
        return { configFile, stdin, lines, refuses: `--${name} gets ${FIXED_ARITY.get(name.toLowerCase())! - owed} of its ${FIXED_ARITY.get(name.toLowerCase())} arguments, so Redis does not start` };
    }
    return { configFile, stdin, lines };
}

/** A command-line option as the config parser reads it: split arguments, or (a name it cannot split) text. */
function optionEntry(o: OptionLine): ConfigText["lines"][number] {
    const head = splitRedisArgs(o.head);
    if (head !== undefined && !hasFreeUnknown(o.head) && !/[\r\n]/.test(plain(o.head))) {
        return { args: [...head, ...o.values], origin: "the command line" };
    }
    return { text: `${o.head} ${o.values.map(quoteRepr).join(" ")}`, origin: "the command line" };
}

/** sdscatrepr: a quoted argument Redis's parser reads back as exactly `w`. */
function quoteRepr(w: string): string {
    return `"${w.replace(/[\\"]/g, "\\$&").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

function lastDirective(ds: RedisDirective[], name: string): RedisDirective | undefined {
    for (let i = ds.length - 1; i >= 0; i--) {
        if (ds[i].name === name) {
            return ds[i];
        }
    }
    return undefined;
}

function portOf(d: RedisDirective | undefined, fallback: number): number | "unknown" {
    if (!d) {
        return fallback;
    }
    const v = plain(d.args[0] ?? "");
    return /^\d+$/.test(v) ? Number(v) : "unknown";
}

/** The ACL file's verdict: users by name, or why it cannot be told or why Redis refuses it. */
function aclFile(text: string, where: string): { users?: Map<string, AclUser>; refuses?: string; unknown?: string } {
    if (hasFreeUnknown(text.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
        return { unknown: `${where} contains text the pack cannot expand` };
    }
    const users = new Map<string, AclUser>();
    const lines = splitBalanced(text, /\r?\n/);
    for (let i = 0; i < lines.length; i++) {
        const line = plain(lines[i]).trim() === "" ? "" : lines[i].trim();
        if (line === "") {
            continue;
        }
        const args = splitRedisArgs(line);
        if (!args) {
            return { refuses: `${where} line ${i + 1} has unbalanced quotes` };
        }
        if (args.length === 0) {
            continue;
        }
        if (plain(args[0]) !== "user" || args.length < 2) {
            return { refuses: `${where} line ${i + 1} does not start with "user <name>", so Redis does not load it and does not start` };
        }
        const name = plain(args[1]);
        if (!isKnown(name)) {
            return { unknown: `${where} line ${i + 1} names a user the pack cannot expand` };
        }
        if (users.has(name)) {
            return { refuses: `${where} defines user ${name} twice, so Redis does not start` };
        }
        users.set(name, applyAclRules({ enabled: false, nopass: false, hasPassword: false }, args.slice(2)));
    }
    return { users };
}

/** Judges one redis-server start. */
export function readRedisServer(proc: Proc): RedisVerdict {
    const keep: { ds?: RedisDirective[] } = {};
    const verdict = judgeRedis(proc, keep);
    if (verdict.problems.length > 0 && keep.ds) {
        const note = reach(keep.ds);
        verdict.problems = verdict.problems.map((p) => p + note);
    }
    return verdict;
}

function judgeRedis(proc: Proc, keep: { ds?: RedisDirective[] }): RedisVerdict {
    const argv = proc.argv;
    const sentinel = programName(plain(argv[0])).endsWith("sentinel") || argv.some((a) => plain(a) === "--sentinel");
    const verdict: RedisVerdict = { sentinel, problems: [], unknowns: [], ports: "unknown" };
    const r = new RedisReader(proc.fs, proc.cwd);
    const opts = optionLines(argv);
    if (opts.unknown) {
        verdict.unknowns.push(`redis-server: ${opts.unknown}`);
        return verdict;
    }
    if (opts.refuses) {
        verdict.refuses = opts.refuses;
        return verdict;
    }
    if (argv.slice(1).some((a) => /^(-v|--version|-h|--help|--test-memory|--check-system)$/.test(plain(a))) && opts.configFile === undefined && argv.length === 2) {
        verdict.refuses = "it only prints information and exits";
        return verdict;
    }
    const lines: ConfigText["lines"] = [];
    if (opts.configFile !== undefined) {
        if (!isKnown(plain(opts.configFile))) {
            verdict.unknowns.push(`its config file path (${show(opts.configFile)}) cannot be expanded`);
            return verdict;
        }
        const f = r.file(plain(opts.configFile), "config file");
        if (!f) {
            verdict.unknowns.push(...r.unknowns);
            verdict.refuses = r.refuses;
            return verdict;
        }
        lines.push(...splitBalanced(f[0].text, /\r?\n/).map((l) => ({ text: l, origin: `${plain(opts.configFile!)} (${f[0].source})` })));
    }
    if (opts.stdin) {
        if (proc.stdin === undefined) {
            // Nothing fed on stdin: an empty config.
        } else if (hasFreeUnknown(proc.stdin.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
            verdict.unknowns.push("it reads its config from stdin, which carries text the pack cannot expand");
            return verdict;
        } else {
            lines.push(...splitBalanced(proc.stdin, /\r?\n/).map((l) => ({ text: l, origin: "its config on stdin" })));
        }
    }
    lines.push(...opts.lines.map(optionEntry));
    const ds = r.directives({ lines });
    keep.ds = ds;
    if (!ds) {
        verdict.unknowns.push(...r.unknowns);
        verdict.refuses = r.refuses;
        return verdict;
    }
    const unknownAfter = (d: RedisDirective | undefined): RedisDirective[] => {
        const from = d ? ds.indexOf(d) + 1 : 0;
        return ds.slice(from).filter((x) => x.name === UNKNOWN_DIRECTIVE);
    };
    const portD = lastDirective(ds, "port");
    const tlsD = lastDirective(ds, "tls-port");
    const port = unknownAfter(portD).length > 0 ? "unknown" : portOf(portD, sentinel ? 26379 : 6379);
    const tlsPort = unknownAfter(tlsD).length > 0 ? "unknown" : portOf(tlsD, 0);
    verdict.ports = port === "unknown" || tlsPort === "unknown" ? "unknown" : [port, tlsPort].filter((p) => p !== 0);
    if (verdict.ports !== "unknown" && verdict.ports.length === 0) {
        return verdict; // no TCP listener: only a unix socket, nobody on the network can connect
    }
    const closed = closedToTheNetwork(ds, port, tlsPort, unknownAfter);
    if (closed) {
        verdict.open = closed;
        return verdict;
    }
    const users = ds.filter((d) => d.name === "user");
    const acl = lastDirective(ds, "aclfile");
    const unread = unknownAfter(acl);
    if (unread.length > 0) {
        // Unread config after the last aclfile (or anywhere, without one) may set requirepass, users or an aclfile.
        verdict.unknowns.push(...unread.flatMap((d) => d.args));
        return verdict;
    }
    if (acl && plain(acl.args[0] ?? "") !== "") {
        if (users.length > 0) {
            verdict.refuses = `${users[0].origin} defines users next to aclfile, which Redis refuses`;
            return verdict;
        }
        const path = acl.args[0];
        if (!isKnown(plain(path))) {
            verdict.unknowns.push(`the aclfile path (${show(path)}, from ${acl.origin}) cannot be expanded`);
            return verdict;
        }
        const f = r.file(plain(path), "ACL file");
        if (!f) {
            verdict.unknowns.push(...r.unknowns);
            verdict.refuses = r.refuses;
            return verdict;
        }
        const where = `ACL file ${plain(path)} (${f[0].source})`;
        const parsed = aclFile(f[0].text, where);
        if (parsed.refuses) {
            verdict.refuses = parsed.refuses;
            return verdict;
        }
        if (parsed.unknown) {
            verdict.unknowns.push(parsed.unknown);
            return verdict;
        }
        const def = parsed.users!.get("default");
        if (!def) {
            verdict.problems.push(`${where} does not define the default user, so it keeps nopass`);
        } else if (def.unknown) {
            verdict.unknowns.push(`${where} gives the default user rules the pack cannot expand`);
        } else if (def.enabled && def.nopass) {
            verdict.problems.push(`${where} lets the default user in with nopass`);
        }
        for (const [name, u] of parsed.users!) {
            if (name !== "default" && u.enabled && u.nopass) {
                verdict.problems.push(`${where} lets user ${name} in with nopass`);
            }
        }
        return verdict;
    }
    if (acl) {
        verdict.problems.push(`${acl.origin} sets an empty aclfile`);
    }
    let def: AclUser = DEFAULT_USER_AT_START;
    const pass = lastDirective(ds, "requirepass");
    if (pass) {
        const v = pass.args[0] ?? "";
        if (plain(v) === "") {
            verdict.problems.push(`${pass.origin} sets an empty requirepass`);
        } else if (mayBeEmpty(v)) {
            verdict.unknowns.push(`requirepass (${pass.origin}) comes from a Secret that is not part of this stack or a value the pack cannot expand, so it may be empty`);
            def = { enabled: true, nopass: false, hasPassword: true, unknown: true };
        } else {
            def = { enabled: true, nopass: false, hasPassword: true };
        }
    }
    let nopassFrom: string | undefined;
    for (const d of users) {
        const [name, ...rules] = d.args;
        if (name === undefined) {
            continue;
        }
        if (!isKnown(plain(name))) {
            verdict.unknowns.push(`${d.origin} defines a user whose name the pack cannot expand`);
            continue;
        }
        if (plain(name) === "default") {
            def = applyAclRules(def, rules);
            if (def.nopass && rules.some((x) => plain(x).toLowerCase() === "nopass")) {
                nopassFrom = d.origin;
            }
        } else {
            const u = applyAclRules({ enabled: false, nopass: false, hasPassword: false }, rules);
            if (u.enabled && u.nopass) {
                verdict.problems.push(`${d.origin} lets user ${plain(name)} in with nopass`);
            } else if (u.unknown) {
                verdict.unknowns.push(`${d.origin} gives user ${plain(name)} rules the pack cannot expand`);
            }
        }
    }
    if (def.unknown && !def.nopass && verdict.unknowns.length === 0) {
        verdict.unknowns.push("the default user's rules come from values the pack cannot expand");
    }
    if (def.enabled && def.nopass) {
        if (nopassFrom) {
            verdict.problems.push(`${nopassFrom} says nopass for the default user`);
        } else if (!pass) {
            verdict.problems.push(
                opts.configFile === undefined && !opts.stdin
                    ? "it has no config file and no --requirepass or --aclfile, so the default user has no password"
                    : `neither its config (${opts.configFile !== undefined ? plain(opts.configFile) : "stdin"}) nor its command line sets requirepass or aclfile, so the default user has no password`,
            );
        }
    }
    return verdict;
}

/**
 * What a redis-cli call sends that changes authentication at runtime: `CONFIG SET requirepass ""` or an
 * `ACL SETUSER … nopass`. Returns a problem (a true claim), an unknown, or nothing.
 */
export function readRedisCli(argv: string[], stdin: string | undefined): { problem?: string; unknown?: string } {
    const withArg = new Set(["-h", "-p", "-s", "-a", "-u", "-n", "-r", "-i", "-d", "-D", "--user", "--pass", "--cacert", "--cacertdir", "--cert", "--key", "--sni", "--tls-ciphers", "--tls-ciphersuites", "--rdb", "--functions-rdb", "--pipe-timeout", "--memkeys-samples", "--pattern", "--quoted-pattern", "--count", "--eval", "--intrinsic-latency", "--cluster", "--lru-test", "--replica"]);
    let i = 1;
    for (; i < argv.length; i++) {
        const w = argv[i];
        if (w === FIELDS) {
            return { unknown: "redis-cli gets arguments the pack cannot expand" };
        }
        const p = plain(w);
        if (p === "--cluster") {
            return {};
        }
        if (withArg.has(p)) {
            i++;
            continue;
        }
        if (p.startsWith("-") && p.length > 1) {
            continue;
        }
        break;
    }
    const words = argv.slice(i);
    const readStdin = argv.some((a) => plain(a) === "-x");
    if (words.length === 0) {
        if (stdin === undefined || argv.some((a) => ["--rdb", "--functions-rdb", "--pipe", "--bigkeys", "--memkeys", "--hotkeys", "--scan", "--stat", "--latency", "--latency-history", "--latency-dist"].includes(plain(a)))) {
            return {};
        }
        if (hasFreeUnknown(stdin)) {
            return { unknown: "redis-cli reads commands from stdin that the pack cannot expand" };
        }
        for (const line of stdin.split("\n")) {
            const args = splitRedisArgs(line.trim());
            if (args && args.length > 0) {
                const r = judgeCommand(args);
                if (r.problem || r.unknown) {
                    return r;
                }
            }
        }
        return {};
    }
    if (words.includes(FIELDS)) {
        return { unknown: "redis-cli sends a command the pack cannot expand" };
    }
    return judgeCommand(readStdin ? [...words, stdin ?? ""] : words);
}

function judgeCommand(words: string[]): { problem?: string; unknown?: string } {
    const cmd = plain(words[0] ?? "").toUpperCase();
    const sub = plain(words[1] ?? "").toUpperCase();
    if (!isKnown(cmd) || (["CONFIG", "ACL"].includes(cmd) && !isKnown(sub))) {
        return { unknown: `redis-cli sends a command the pack cannot expand (${show(words.join(" ")).slice(0, 60)})` };
    }
    if (cmd === "CONFIG" && sub === "SET") {
        for (let k = 2; k + 1 < words.length; k += 2) {
            const key = plain(words[k]).toLowerCase();
            if (!isKnown(key)) {
                return { unknown: "redis-cli CONFIG SET sets a parameter the pack cannot expand" };
            }
            if (key === "requirepass") {
                const v = words[k + 1];
                if (plain(v) === "") {
                    return { problem: 'CONFIG SET requirepass "" removes the default user\'s password at runtime' };
                }
                if (mayBeEmpty(v)) {
                    return { unknown: "redis-cli CONFIG SET requirepass sets a value the pack cannot see, which may be empty" };
                }
            }
        }
        return {};
    }
    if (cmd === "ACL" && sub === "SETUSER") {
        const rules = words.slice(3);
        if (rules.some((x) => !isKnown(plain(x)))) {
            return { unknown: "redis-cli ACL SETUSER gives rules the pack cannot expand" };
        }
        if (rules.some((x) => plain(x).toLowerCase() === "nopass") && !rules.some((x) => plain(x).toLowerCase() === "off")) {
            return { problem: `ACL SETUSER ${show(words[2] ?? "")} … nopass lets that user in without a password at runtime` };
        }
        return {};
    }
    return {};
}
