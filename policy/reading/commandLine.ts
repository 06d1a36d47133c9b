// A container's effective command line, read the way it runs: `command` + `args` with the kubelet's
// `$(VAR)` expansion, the image's entrypoint and default command when `command` is not set (for the
// images this pack knows), wrappers such as `exec`, `env A=b`, `tini --` or `gosu user` taken off,
// `sh -c` / `bash -c` scripts and mounted start scripts read command by command (see shell.ts).

import { arr, at, basename, Obj } from "./objects";
import { expandKubeletRefs } from "./environment";
import { parseShell } from "./shell";

/** One program start found in a container's command line or in a script it runs. */
export interface Invocation {
    /** Program and arguments, wrappers removed. */
    argv: string[];
    /** `NAME=value` assignments in effect for this command only (`A=b cmd`, `env A=b cmd`) or set by it (`export`). */
    assignments: Array<[string, string]>;
    /** Here-document bodies fed to this command. */
    heredocs: string[];
    /** How it was reached, for messages: "command/args", "sh -c script", "/mnt/start.sh". */
    via: string;
}

export interface InvocationOptions {
    /** Known environment values, for `$VAR` in scripts. */
    vars?: ReadonlyMap<string, string>;
    /** Reads a file the container sees (mounted script); undefined when unknown. */
    readFile?: (path: string) => string | undefined;
    /** Where the command line comes from, for messages. Default "command/args". */
    via?: string;
}

const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"]);
/** Programs that run the rest of their arguments as a command. */
const WRAPPERS = new Set(["exec", "env", "nohup", "nice", "timeout", "stdbuf", "tini", "tini-static", "dumb-init", "catatonit", "gosu", "su-exec", "command", "time", "chpst", "runuser", "setsid", "xargs"]);
/** Wrappers that take a user (or similar) argument before the command. */
const WRAPPERS_WITH_ONE_OPERAND = new Set(["gosu", "su-exec", "chpst"]);

/** Removes wrapper programs from the front of argv, collecting `env`'s NAME=value operands. */
export function unwrap(argv: string[]): { argv: string[]; assignments: Array<[string, string]> } {
    const assignments: Array<[string, string]> = [];
    let rest = argv;
    for (let guard = 0; guard < 16 && rest.length > 0; guard++) {
        const prog = basename(rest[0]);
        if (!WRAPPERS.has(prog)) {
            break;
        }
        let i = 1;
        if (prog === "timeout") {
            while (i < rest.length && rest[i].startsWith("-")) {
                i += /^-(s|k)$|^--(signal|kill-after)$/.test(rest[i]) ? 2 : 1;
            }
            i++; // the duration
        } else if (prog === "nice") {
            if (rest[i] === "-n") {
                i += 2;
            } else {
                while (i < rest.length && rest[i].startsWith("-")) {
                    i++;
                }
            }
        } else if (prog === "env") {
            while (i < rest.length) {
                const w = rest[i];
                const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
                if (m) {
                    assignments.push([m[1], m[2]]);
                    i++;
                } else if (w === "-u" || w === "--unset" || w === "-C" || w === "--chdir" || w === "-S") {
                    i += 2;
                } else if (w.startsWith("-")) {
                    i++;
                } else {
                    break;
                }
            }
        } else if (prog === "runuser") {
            while (i < rest.length && rest[i] !== "--") {
                i++;
            }
            i++;
        } else {
            while (i < rest.length && rest[i].startsWith("-")) {
                const w = rest[i];
                i++;
                if (w === "--") {
                    break;
                }
                if (prog === "exec" && w === "-a") {
                    i++;
                }
            }
            if (WRAPPERS_WITH_ONE_OPERAND.has(prog)) {
                i++;
            }
        }
        rest = rest.slice(i);
    }
    return { argv: rest, assignments };
}

/** The script of `sh -c <script>` (any shell, flags such as -ec or -lc), or undefined. */
export function shellScript(argv: readonly string[]): { script?: string; file?: string; args: string[] } | undefined {
    if (argv.length === 0) {
        return undefined;
    }
    let i = 0;
    let prog = basename(argv[0]);
    if (prog === "busybox" && argv.length > 1) {
        prog = basename(argv[1]);
        i = 1;
    }
    if (!SHELLS.has(prog)) {
        return undefined;
    }
    i++;
    let hasC = false;
    while (i < argv.length && /^[-+]/.test(argv[i]) && argv[i] !== "-" && argv[i] !== "--") {
        const w = argv[i];
        if (/^-[A-Za-z]*c[A-Za-z]*$/.test(w)) {
            hasC = true;
        }
        i += w === "-o" || w === "+o" || w === "-O" || w === "+O" ? 2 : 1;
    }
    if (argv[i] === "--") {
        i++;
    }
    if (hasC) {
        return { script: argv[i] ?? "", args: argv.slice(i + 1) };
    }
    return argv[i] !== undefined ? { file: argv[i], args: argv.slice(i + 1) } : { args: [] };
}

/**
 * Every program start in a command line: the command itself (wrappers removed), the commands of a
 * `sh -c` script, of a script file given to a shell and of a mounted script run directly, recursively.
 */
export function invocations(argv: readonly string[], opts: InvocationOptions = {}): Invocation[] {
    const out: Invocation[] = [];
    const visit = (words: readonly string[], assignments: Array<[string, string]>, heredocs: string[], via: string, vars: ReadonlyMap<string, string>, depth: number) => {
        const u = unwrap([...words]);
        const all = [...assignments, ...u.assignments];
        out.push({ argv: u.argv, assignments: all, heredocs, via });
        if (depth > 6 || u.argv.length === 0) {
            return;
        }
        const sh = shellScript(u.argv);
        let script: string | undefined;
        let where = via;
        if (sh?.script !== undefined) {
            script = sh.script;
            where = `${basename(u.argv[0])} -c script`;
        } else if (sh?.file !== undefined) {
            script = opts.readFile?.(sh.file);
            where = sh.file;
        } else if (u.argv[0].includes("/") || u.argv[0].endsWith(".sh")) {
            // A mounted script run directly (`/mnt/config/start.sh`).
            script = opts.readFile?.(u.argv[0]);
            where = u.argv[0];
        }
        if (script === undefined) {
            return;
        }
        const scriptVars = new Map(vars);
        all.forEach(([k, v]) => scriptVars.set(k, v));
        for (const cmd of parseShell(script, { vars: scriptVars })) {
            visit(cmd.words, cmd.assignments, cmd.heredocs, where, scriptVars, depth + 1);
        }
    };
    visit(argv, [], [], opts.via ?? "command/args", opts.vars ?? new Map(), 0);
    return out;
}

/** `command` and `args` as written (strings only). */
export function writtenCommand(c: Obj): { command: string[]; args: string[] } {
    const strings = (v: unknown) => arr(v).filter((x): x is string => typeof x === "string");
    return { command: strings(c.command), args: strings(c.args) };
}

/** command + args with the kubelet's `$(VAR)` expansion from known env values. */
export function expandedCommand(c: Obj, vars: ReadonlyMap<string, string>): string[] {
    const { command, args } = writtenCommand(c);
    return [...command, ...args].map((w) => expandKubeletRefs(w, (n) => vars.get(n)));
}

/** What the image runs when the container sets no `command`. */
export type ImageFamily = "redis" | "valkey" | "redis-stack" | "mariadb" | "mysql" | "apache-kafka" | "other";

/**
 * The effective argv: `command` + `args` when `command` is set; otherwise the image's entrypoint and
 * default command (for the images this pack models) with `args` replacing the default command.
 */
export interface ArgvOptions {
    /** Which image entrypoint to model when `command` is not set. */
    family: ImageFamily;
    /** Known environment values, for the kubelet's `$(VAR)` expansion. */
    vars: ReadonlyMap<string, string>;
}

export function effectiveArgv(c: Obj, { family, vars }: ArgvOptions): { argv: string[]; imageDefault: boolean } {
    const expand = (ws: string[]) => ws.map((w) => expandKubeletRefs(w, (n) => vars.get(n)));
    const { command, args } = writtenCommand(c);
    const viaEntrypoint = command.length > 0 && basename(command[0]) === "docker-entrypoint.sh" && family !== "other";
    if (command.length > 0 && !viaEntrypoint) {
        return { argv: expand([...command, ...args]), imageDefault: false };
    }
    // No command, or the image's own docker-entrypoint.sh named explicitly: the entrypoint's rules apply.
    const a = expand(viaEntrypoint ? [...command.slice(1), ...args] : args);
    switch (family) {
        case "redis":
        case "valkey": {
            // docker-entrypoint.sh: `redis-server` is prepended when the first argument is an option or a .conf file.
            const server = family === "redis" ? "redis-server" : "valkey-server";
            if (a.length === 0) {
                return { argv: [server], imageDefault: true };
            }
            return { argv: a[0].startsWith("-") || a[0].endsWith(".conf") ? [server, ...a] : a, imageDefault: false };
        }
        case "redis-stack":
            return { argv: a.length === 0 ? ["redis-server", "/redis-stack.conf"] : a, imageDefault: a.length === 0 };
        case "mariadb":
        case "mysql": {
            const server = family === "mariadb" ? "mariadbd" : "mysqld";
            if (a.length === 0) {
                return { argv: [server], imageDefault: true };
            }
            return { argv: a[0].startsWith("-") ? [server, ...a] : a, imageDefault: false };
        }
        case "apache-kafka":
            // No ENTRYPOINT; CMD ["/etc/kafka/docker/run"], which `args` replace.
            return { argv: a.length === 0 ? ["/etc/kafka/docker/run"] : a, imageDefault: a.length === 0 };
        default:
            return { argv: a, imageDefault: a.length === 0 };
    }
}

/** Probe and lifecycle-hook exec commands of a container, with where they are. */
export function execHooks(c: Obj): Array<{ where: string; argv: string[] }> {
    const strings = (v: unknown) => arr(v).filter((x): x is string => typeof x === "string");
    const out: Array<{ where: string; argv: string[] }> = [];
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        out.push({ where: probe, argv: strings(at(c, probe, "exec", "command")) });
    }
    for (const hook of ["postStart", "preStop"]) {
        out.push({ where: `lifecycle.${hook}`, argv: strings(at(c, "lifecycle", hook, "exec", "command")) });
    }
    return out;
}

/** First word of argv as a program name (`/usr/local/bin/redis-server` -> `redis-server`). */
export function programOf(argv: readonly string[]): string {
    return argv.length > 0 ? basename(argv[0]) : "";
}
