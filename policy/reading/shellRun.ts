// What a container's start-up does, worked out from its command line without running it: an abstract
// interpreter for the scripts of shellSyntax.ts and for the programs the pack knows (programs.ts). It follows
// variables (with every value they may have after branches and loops), positional parameters, functions,
// `.`/`source`, `eval`, `exec`, wrappers (env, gosu, timeout, xargs, find -exec...), here-documents, pipes,
// command substitutions, and the files a script writes (cat, cp, mv, sed, printf >, tee...) into the
// container's file view (fs.ts). It records every program start (with its argv, environment, stdin and a
// snapshot of the files at that moment), every file write, and every point it cannot follow: an unknown
// program, a program name or script it cannot expand, a file it cannot read. A server started after such a
// point, or a start-up with one, is reported as unverifiable by the policies, never guessed.

import { ContainerFs, normalisePath, resolvePath } from "./fs";
import type { ImageKnowledge } from "./images";
import { INERT, programName, RECONFIGURING_CLIENTS, serverKindOf, ServerKind, SHELLS, WRAPPERS } from "./programs";
import { Command, literalWord, parseHeredocText, parseScript, Redir, ShellSyntaxError, Word, WordPart } from "./shellSyntax";
import { ANY, DIGITS, FIELDS, hasFreeUnknown, isKnown, mayBeEmpty, plain, secret, SECRET_CLOSE, SECRET_OPEN, splitBalanced, WORD } from "./sym";

/** One program (or builtin) start. */
export interface Proc {
    /** "server" for a data server, "program" for any other program or builtin. */
    kind: "server" | "program";
    server?: ServerKind;
    /** The program's arguments, argv[0] included; FIELDS stands for any number of unknown words. */
    argv: string[];
    /** The environment it starts with (symbolic values). */
    env: Map<string, string>;
    /** Its standard input: known text, ANY when unknown, undefined when nothing is fed to it. */
    stdin: string | undefined;
    /** The files as they are when it starts. */
    fs: ContainerFs;
    cwd: string;
    /** How it is reached, for messages: "command", "sh -c script", "/etc/redis/start.sh", "lifecycle.postStart". */
    via: string;
    /** It may not run (a branch, a loop, a hook). */
    maybe: boolean;
    /** Started by the image's own entrypoint (the mariadb image initialises from env, apache/kafka configures from env). */
    entrypoint?: "mariadb" | "mysql" | "apache-kafka";
    /** Prefixes of variables an envFrom source outside the stack may add to `env`. */
    openEnv?: Array<{ prefix: string; secret: boolean }>;
}

/** A point of the start-up the pack cannot follow. */
export interface UnknownPoint {
    reason: string;
    via: string;
    maybe: boolean;
}

export interface FileWrite {
    path: string;
    text: string;
    via: string;
}

export interface RunResult {
    procs: Proc[];
    unknowns: UnknownPoint[];
    writes: FileWrite[];
    /** Here-document and here-string bodies, expanded (credentials may hide there). */
    heredocs: Array<{ text: string; via: string }>;
    /** Variable assignments (NAME=value, export NAME=value, NAME=value cmd), expanded. */
    assignments: Array<{ name: string; value: string; via: string }>;
}

type Val = { t: "s"; v: string } | { t: "a"; v: string[] | undefined } | { t: "unset" };

/** One argument of a declaration builtin: a flag or name (a word), an assignment, or unknown words. */
type DeclItem = { k: "word"; text: string } | { k: "assign"; name: string; vals: Val[]; append: boolean; index?: string } | { k: "fields" };

interface Cell {
    vals: Val[];
    exported: boolean;
}

/**
 * The variables a function call made local (`local x`, `declare x` in bash), with the binding each hides:
 * restored when the call returns. `partial`: declared local on some paths only, so after the call either the
 * hidden binding or the function's value holds.
 */
type LocalFrame = Map<string, { saved: Cell | undefined; partial: boolean }>;

interface ShellState {
    vars: Map<string, Cell>;
    /** One frame per function call being run, innermost last. */
    frames: LocalFrame[];
    /** The shell running the script ("bash", "dash", "sh"...), where shells differ. */
    shell: string;
    funcs: Map<string, Command>;
    /** Positional parameters; undefined when unknown. */
    pos: string[] | undefined;
    arg0: string;
    cwd: string;
    /** exit/exec: nothing after this runs on this path. */
    done: boolean;
    /** return, or break/continue: the rest of the enclosing function or loop body does not run on this path. */
    jumped: false | "return" | "break";
    /** What has been written to the current standard output so far: candidate texts, undefined when unknown. */
    out: string[] | undefined;
    /** `set -e`: a failing command ends the script. */
    errexit?: boolean;
}

interface Ctx {
    maybe: boolean;
    /** A condition (if/while test, all but the last of `&&`/`||`, a negated pipeline): `set -e` does not stop on failure here. */
    cond?: boolean;
    via: string;
    stdin: string | undefined;
    depth: number;
    /** Function call depth. */
    calls: number;
    /** States that left a function through `return` (joined at the function's end). */
    returns?: ShellState[];
    /** States that left a loop through break/continue. */
    breaks?: ShellState[];
}

const MAX_CANDIDATES = 8;
/** Command lines may combine several multi-valued variables: up to this many variants are followed one by one. */
const MAX_ARGV_CANDIDATES = 64;
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function cloneState(s: ShellState): ShellState {
    const vars = new Map<string, Cell>();
    for (const [k, c] of s.vars) {
        vars.set(k, { vals: [...c.vals], exported: c.exported });
    }
    return { vars, frames: s.frames.map((f) => new Map(f)), shell: s.shell, funcs: new Map(s.funcs), pos: s.pos ? [...s.pos] : undefined, arg0: s.arg0, cwd: s.cwd, done: s.done, jumped: s.jumped, out: s.out ? [...s.out] : undefined, errexit: s.errexit };
}

/** Appends one command's output (undefined = unknown) to what a state has printed. */
function emit(st: ShellState, text: string | undefined): void {
    emitAll(st, text === undefined ? undefined : [text]);
}

function emitAll(st: ShellState, texts: string[] | undefined): void {
    if (st.out === undefined) {
        return;
    }
    if (texts === undefined) {
        st.out = undefined;
        return;
    }
    const next: string[] = [];
    for (const o of st.out) {
        for (const t of texts) {
            next.push(o + t);
        }
    }
    const uniq = Array.from(new Set(next));
    st.out = uniq.length > MAX_CANDIDATES ? undefined : uniq;
}

/** Runs `fn` with the state's output captured; returns the state (output restored) and what was printed. */
function capture(st: ShellState, fn: (s: ShellState) => ShellState): { st: ShellState; out: string[] | undefined } {
    const saved = st.out;
    st.out = [""];
    const r = fn(st);
    const out = r.out;
    r.out = saved ? [...saved] : saved;
    return { st: r, out };
}

/** One text for candidate outputs: the single candidate, or undefined (unknown) when there are several. */
function single(out: string[] | undefined): string | undefined {
    return out !== undefined && out.length === 1 ? out[0] : undefined;
}

function valKey(v: Val): string {
    return v.t === "s" ? `s${v.v}` : v.t === "a" ? `a${v.v === undefined ? "?" : JSON.stringify(v.v)}` : "u";
}

function dedupeVals(vals: Val[]): Val[] {
    const seen = new Set<string>();
    const out: Val[] = [];
    for (const v of vals) {
        const k = valKey(v);
        if (!seen.has(k)) {
            seen.add(k);
            out.push(v);
        }
    }
    if (out.length > MAX_CANDIDATES) {
        return [{ t: "s", v: ANY }];
    }
    return out;
}

/** Joins the states of paths that continue (those that did not exit or jump). */
function joinStates(states: ShellState[], fallback: ShellState): ShellState {
    const live = states.filter((s) => !s.done && !s.jumped);
    if (live.length === 0) {
        const d = cloneState(fallback);
        d.done = states.every((s) => s.done);
        d.jumped = d.done ? false : (states.find((s) => s.jumped)?.jumped ?? "break");
        return d;
    }
    if (live.length === 1) {
        return live[0];
    }
    const out = cloneState(live[0]);
    const names = new Set<string>();
    live.forEach((s) => s.vars.forEach((_, k) => names.add(k)));
    for (const n of names) {
        const vals: Val[] = [];
        let exported = false;
        for (const s of live) {
            const c = s.vars.get(n);
            if (c) {
                vals.push(...c.vals);
                exported = exported || c.exported;
            } else {
                vals.push({ t: "unset" });
            }
        }
        out.vars.set(n, { vals: dedupeVals(vals), exported });
    }
    const outs = live.map((s) => s.out);
    out.out = outs.some((o) => o === undefined) ? undefined : Array.from(new Set(outs.flat() as string[]));
    if (out.out && out.out.length > MAX_CANDIDATES) {
        out.out = undefined;
    }
    out.frames = joinFrames(live.map((s) => s.frames));
    for (const s of live.slice(1)) {
        s.funcs.forEach((f, k) => out.funcs.set(k, f));
        if (JSON.stringify(s.pos) !== JSON.stringify(out.pos)) {
            out.pos = undefined;
        }
        if (s.cwd !== out.cwd) {
            out.cwd = ANY;
        }
    }
    return out;
}

/** The local frames of joined paths: a name made local on some paths only is partial. */
function joinFrames(all: LocalFrame[][]): LocalFrame[] {
    const depth = Math.min(...all.map((f) => f.length));
    const out: LocalFrame[] = [];
    for (let d = 0; d < depth; d++) {
        const frame: LocalFrame = new Map();
        const names = new Set<string>();
        all.forEach((fs) => fs[d].forEach((_, k) => names.add(k)));
        for (const n of names) {
            const entries = all.map((fs) => fs[d].get(n));
            const present = entries.filter((e): e is { saved: Cell | undefined; partial: boolean } => e !== undefined);
            const vals = present.flatMap((e) => (e.saved ? e.saved.vals : [{ t: "unset" } as Val]));
            const savedUnset = present.every((e) => e.saved === undefined);
            frame.set(n, {
                saved: savedUnset ? undefined : { vals: dedupeVals(vals), exported: present.some((e) => e.saved?.exported) },
                partial: present.length < entries.length || present.some((e) => e.partial),
            });
        }
        out.push(frame);
    }
    return out;
}

/** A shell glob (case patterns, ${x#pattern}) as a regular expression over plain text. */
export function globToRegex(pattern: string, anchored = true): RegExp {
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*") {
            re += "[\\s\\S]*";
        } else if (c === "?") {
            re += "[\\s\\S]";
        } else if (c === "[") {
            const end = pattern.indexOf("]", i + 2);
            if (end < 0) {
                re += "\\[";
                continue;
            }
            let body = pattern.slice(i + 1, end);
            let neg = false;
            if (body.startsWith("!") || body.startsWith("^")) {
                neg = true;
                body = body.slice(1);
            }
            body = body
                .replace(/\[:alpha:\]/g, "A-Za-z")
                .replace(/\[:digit:\]/g, "0-9")
                .replace(/\[:alnum:\]/g, "A-Za-z0-9")
                .replace(/\[:upper:\]/g, "A-Z")
                .replace(/\[:lower:\]/g, "a-z")
                .replace(/\[:space:\]/g, " \\t\\n\\r")
                .replace(/\\/g, "\\\\")
                .replace(/\]/g, "\\]");
            re += `[${neg ? "^" : ""}${body}]`;
            i = end;
        } else if (c === "\\" && i + 1 < pattern.length) {
            re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        } else {
            re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        }
    }
    return new RegExp(anchored ? `^${re}$` : re);
}

/** The characters a negated bracket `*[!…]*` pattern requires (e.g. `0-9` for `*[!0-9]*`), or undefined. */
function negatedClass(pattern: string): string | undefined {
    const m = /^\*\[[!^]([^\]]+)\]\*$/.exec(pattern);
    return m ? m[1] : undefined;
}

export interface RunOptions {
    /** Prefixes of variables that envFrom sources outside the stack may define (value unknown). */
    openEnv?: Array<{ prefix: string; secret: boolean }>;
    fs: ContainerFs;
    image: ImageKnowledge | undefined;
    /** Label of the container for messages. */
    where: string;
}

/** The interpreter for one container: every start it records goes into one RunResult. */
export class StartupRunner {
    readonly result: RunResult = { procs: [], unknowns: [], writes: [], heredocs: [], assignments: [] };

    constructor(readonly opts: RunOptions) {}

    get fs(): ContainerFs {
        return this.opts.fs;
    }

    unknown(reason: string, ctx: { via: string; maybe: boolean }): void {
        if (!this.result.unknowns.some((u) => u.reason === reason && u.via === ctx.via)) {
            this.result.unknowns.push({ reason, via: ctx.via, maybe: ctx.maybe });
        }
    }

    private record(kind: Proc["kind"], argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string, extra: Partial<Proc> = {}): Proc {
        const p: Proc = { kind, argv, env: new Map(env), stdin: ctx.stdin, fs: kind === "server" ? this.fs.snapshot() : this.fs, cwd, via: ctx.via, maybe: ctx.maybe, openEnv: this.opts.openEnv, ...extra };
        this.result.procs.push(p);
        return p;
    }

    private write(path: string, text: string | undefined, ctx: Ctx, cwd: string, append = false): void {
        const p = plain(path);
        if (!isKnown(p)) {
            // A write to a path the pack cannot expand: everything writable below its known prefix may change.
            const prefix = p.slice(0, p.search(/[\uE000-\uE005]/));
            const dir = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) || "/" : cwd;
            this.fs.taint(`a file under ${dir} is written by a command whose target path the pack cannot expand (${ctx.via})`, resolvePath(isKnown(cwd) ? cwd : "/", dir));
            return;
        }
        const full = resolvePath(isKnown(cwd) ? cwd : "/", p);
        if (this.fs.write(full, text, `written by ${ctx.via}`, ctx.maybe, append)) {
            this.result.writes.push({ path: full, text: text ?? ANY, via: ctx.via });
        }
    }

    /** Reads a file for a program (cat, source, sh file): its possible contents, or undefined (unknown) with a recorded reason. */
    private readFile(path: string, cwd: string, ctx: Ctx): string | undefined {
        const p = plain(path);
        if (!isKnown(p) || !isKnown(cwd) && !p.startsWith("/")) {
            return undefined;
        }
        const reads = this.fs.read(resolvePath(cwd, p));
        if (reads.length !== 1) {
            const texts = reads.filter((r) => r.state === "file").map((r) => (r as { text: string }).text);
            return texts.length === reads.length && new Set(texts).size === 1 ? texts[0] : undefined;
        }
        const r = reads[0];
        if (r.state === "file") {
            return r.text;
        }
        if (r.state === "absent") {
            // The program fails on a missing file (cat, sed, cp...): under `set -e` the script stops there.
            this.failed = true;
            return "";
        }
        void ctx;
        return undefined;
    }

    /** Set while a command runs when it certainly fails (it reads a file that is not there). */
    private failed = false;

    // -----------------------------------------------------------------------------------------
    // Entry points

    /** Runs a container's main argv (or a probe/hook command) as the runtime starts it. */
    runArgv(argv: string[], env: Map<string, string>, via: string, maybe: boolean, cwd: string): void {
        const ctx: Ctx = { maybe, via, stdin: undefined, depth: 0, calls: 0 };
        this.exec(argv, env, ctx, cwd);
    }

    // -----------------------------------------------------------------------------------------
    // Programs

    /** Starts a program (not a shell function or builtin); returns its standard output (undefined = unknown). */
    exec(argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        if (ctx.depth > 24) {
            this.unknown("the start-up nests scripts and wrappers too deeply to follow", ctx);
            return undefined;
        }
        if (argv.length === 0) {
            return "";
        }
        const first = argv[0];
        if (first === FIELDS || !isKnown(plain(first))) {
            this.unknown(`the program to run comes from a value the pack cannot expand (${showWord(first)})`, ctx);
            this.record("program", argv, env, ctx, cwd);
            return undefined;
        }
        const word = plain(first);
        // A program on a mount or written by the start-up is a script the pack reads.
        const resolved = this.resolveProgram(word, env, cwd, ctx);
        if (resolved === "unknown") {
            this.record("program", argv, env, ctx, cwd);
            return undefined;
        }
        if (resolved !== undefined) {
            return this.runFile(resolved.path, resolved.text, argv, env, ctx, cwd);
        }
        const name = programName(word);
        const image = this.opts.image;
        if (image && (image.programs.has(word) || image.programs.has(name))) {
            this.record("program", argv, env, ctx, cwd);
            return undefined;
        }
        if (SHELLS.has(name)) {
            return this.runShell(argv, env, ctx, cwd);
        }
        if (name === "busybox") {
            return argv.length > 1 ? this.exec(argv.slice(1), env, ctx, cwd) : "";
        }
        if (WRAPPERS.has(name)) {
            return this.unwrap(name, argv, env, ctx, cwd);
        }
        if (name === "docker-entrypoint.sh" && image && ["redis", "valkey", "mariadb", "mysql"].includes(image.id)) {
            return this.imageEntrypoint(image, argv, env, ctx, cwd);
        }
        if (image?.id === "redis-stack" && (word === "/entrypoint.sh" || word === "entrypoint.sh")) {
            const extra = splitUnquoted(env.get("REDIS_ARGS") ?? "");
            return this.exec(["redis-server", "/redis-stack.conf", ...extra, ...argv.slice(1)], env, { ...ctx, depth: ctx.depth + 1 }, cwd);
        }
        if (/(^|\/)etc\/kafka\/docker\/run$/.test(word) && image?.id === "apache-kafka") {
            return this.kafkaImageRun(argv, env, ctx, cwd);
        }
        const kind = serverKindOf(name);
        if (kind) {
            const argvN = name === "redis-sentinel" || name === "valkey-sentinel" || name === "keydb-sentinel" ? [argv[0], ...argv.slice(1), "--sentinel"] : argv;
            this.record("server", argvN, env, ctx, cwd, { server: kind });
            return undefined;
        }
        if ((name === "kafka-run-class.sh" || name === "kafka-run-class") && argv.some((a) => plain(a) === "kafka.Kafka")) {
            const i = argv.findIndex((a) => plain(a) === "kafka.Kafka");
            this.record("server", ["kafka-server-start.sh", ...argv.slice(i + 1)], env, ctx, cwd, { server: "kafka" });
            return undefined;
        }
        if (name === "kafka-run-class.sh" || name === "kafka-run-class" || name === "java") {
            const i = argv.findIndex((a) => plain(a) === "kafka.Kafka");
            if (i >= 0) {
                this.record("server", ["kafka-server-start.sh", ...argv.slice(i + 1)], env, ctx, cwd, { server: "kafka" });
                return undefined;
            }
            if (argv.includes(FIELDS) || argv.some((a) => !isKnown(plain(a)))) {
                this.unknown(`${name} runs a Java class the pack cannot expand`, ctx);
            } else if (name !== "java" && argv[1] !== undefined && /^(kafka\.(tools|admin)\.|org\.apache\.kafka\.(tools|storage|server\.util|metadata)\.)/.test(plain(argv[1]))) {
                // Kafka's own tools (StorageTool, ConfigCommand...): no broker.
            } else {
                this.unknown(`${name} runs a Java program that is not the Kafka broker or a Kafka tool the pack knows`, ctx);
            }
            this.record("program", argv, env, ctx, cwd);
            return undefined;
        }
        return this.utility(name, argv, env, ctx, cwd);
    }

    /**
     * Finds a program that is a file the pack can read: a path into a mount or the overlay, or a bare name
     * found on PATH in a mounted or written directory. Undefined: an image program (by name).
     */
    private resolveProgram(word: string, env: Map<string, string>, cwd: string, ctx: Ctx): { path: string; text: string } | "unknown" | undefined {
        const candidates: string[] = [];
        if (word.includes("/")) {
            if (!isKnown(cwd) && !word.startsWith("/")) {
                this.unknown(`runs ${word} relative to a working directory the pack cannot expand`, ctx);
                return "unknown";
            }
            candidates.push(resolvePath(cwd, word));
        } else {
            const path = plain(env.get("PATH") ?? DEFAULT_PATH);
            if (!isKnown(path)) {
                this.unknown(`PATH comes from a value the pack cannot expand, so which ${word} runs is not known`, ctx);
                return "unknown";
            }
            for (const dir of path.split(":")) {
                if (dir === "") {
                    continue;
                }
                candidates.push(resolvePath(isKnown(cwd) ? cwd : "/", `${dir}/${word}`));
            }
        }
        for (const full of candidates) {
            const loc = this.fs.locate(full);
            const key = loc.where === "mount" ? `vol:${loc.mount.volume.name}:${normalisePath(`${loc.mount.subPath}/${loc.rel}`)}` : `root:${loc.path}`;
            if (loc.where === "root" && !this.fs.overlay.has(key)) {
                if (this.fs.isTaintedAt(full)) {
                    this.unknown(`runs ${full}, which something the pack cannot follow may have written (${this.fs.taintReason(full)})`, ctx);
                    return "unknown";
                }
                // The image's own file: the program is known by its name (or not at all).
                return undefined;
            }
            const reads = this.fs.read(full, true);
            const files = reads.filter((r) => r.state === "file") as Array<{ state: "file"; text: string; source: string }>;
            const unknown = reads.find((r) => r.state === "unknown") as { reason: string } | undefined;
            if (unknown) {
                this.unknown(`runs ${full}, whose content the pack cannot see (${unknown.reason})`, ctx);
                return "unknown";
            }
            if (files.length === 0) {
                if (word.includes("/")) {
                    this.unknown(`runs ${full}, which is not there (the start-up fails)`, ctx);
                    return "unknown";
                }
                continue;
            }
            if (new Set(files.map((f) => f.text)).size > 1 || files.length !== reads.length) {
                this.unknown(`runs ${full}, which the start-up may write with different contents`, ctx);
                return "unknown";
            }
            return { path: full, text: files[0].text };
        }
        return undefined;
    }

    /** Runs a script file by its interpreter line (a shell), or reports it. */
    private runFile(path: string, text: string, argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const first = text.split("\n", 1)[0];
        const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
        let interp = shebang ? programName(shebang[1]) : "sh";
        if (interp === "env" && shebang?.[2]) {
            interp = programName(shebang[2]);
        }
        if (!SHELLS.has(interp)) {
            this.unknown(`runs ${path}, a ${interp} script the pack does not read`, ctx);
            this.record("program", argv, env, ctx, cwd);
            return undefined;
        }
        return this.runScriptText(text, path, argv.slice(1), env, { ...ctx, via: path, depth: ctx.depth + 1 }, cwd, path, /\s-[A-Za-z]*e/.test(first), interp);
    }

    /** `sh [options] -c script [arg0 [args]]`, `sh file [args]`, or a script on stdin. */
    private runShell(argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const name = programName(plain(argv[0]));
        let i = 1;
        let command = false;
        let stdinScript = false;
        let errexit = false;
        while (i < argv.length) {
            const w = plain(argv[i]);
            if (argv[i] === FIELDS) {
                this.unknown(`${name} gets options the pack cannot expand`, ctx);
                return undefined;
            }
            if (w === "--" || w === "-") {
                i++;
                break;
            }
            if (/^--(login|noprofile|norc|posix|restricted|verbose|noediting)$/.test(w)) {
                i++;
                continue;
            }
            if (w === "--rcfile" || w === "--init-file") {
                i += 2;
                continue;
            }
            if (/^[-+][A-Za-z]+$/.test(w)) {
                if (w.startsWith("-") && w.includes("c")) {
                    command = true;
                }
                if (w.startsWith("-") && w.includes("s")) {
                    stdinScript = true;
                }
                if (w.startsWith("-") && w.includes("e")) {
                    errexit = true;
                }
                if (w === "-o" && plain(argv[i + 1] ?? "") === "errexit") {
                    errexit = true;
                }
                i += /^[-+]o$|^[-+]O$/.test(w) ? 2 : 1;
                continue;
            }
            break;
        }
        if (command) {
            const script = argv[i];
            if (script === undefined) {
                return "";
            }
            const args = argv.slice(i + 1);
            const via = ctx.via === "command" ? `${name} -c script` : `${ctx.via}: ${name} -c script`;
            return this.runScriptText(script, `the ${name} -c script`, args.slice(1), env, { ...ctx, via, depth: ctx.depth + 1 }, cwd, args[0] !== undefined ? plain(args[0]) : name, errexit, name);
        }
        if (i < argv.length && !stdinScript) {
            const file = argv[i];
            if (file === FIELDS || !isKnown(plain(file))) {
                this.unknown(`${name} runs a script whose path the pack cannot expand`, ctx);
                return undefined;
            }
            const path = resolvePath(isKnown(cwd) ? cwd : "/", plain(file));
            const reads = this.fs.read(path);
            const texts = reads.filter((r) => r.state === "file").map((r) => (r as { text: string }).text);
            const why = reads.find((r) => r.state === "unknown") as { reason: string } | undefined;
            if (why || texts.length !== reads.length || new Set(texts).size !== 1) {
                this.unknown(why ? `${name} runs ${path}, whose content the pack cannot see (${why.reason})` : reads.every((r) => r.state === "absent") ? `${name} runs ${path}, which is not there` : `${name} runs ${path}, which the start-up may write with different contents`, ctx);
                return undefined;
            }
            return this.runScriptText(texts[0], path, argv.slice(i + 1), env, { ...ctx, via: path, depth: ctx.depth + 1 }, cwd, path, errexit, name);
        }
        // The script comes from stdin.
        if (ctx.stdin === undefined) {
            return "";
        }
        return this.runScriptText(ctx.stdin, `a script fed to ${name} on stdin`, argv.slice(i), env, { ...ctx, via: `${name} reading stdin`, stdin: undefined, depth: ctx.depth + 1 }, cwd, name, false, name);
    }

    /** Parses and runs a script in a new shell whose environment is `env`. */
    runScriptText(text: string, label: string, args: string[], env: Map<string, string>, ctx: Ctx, cwd: string, arg0: string, errexit = false, shell = "sh"): string | undefined {
        if (hasFreeUnknown(text) || text.includes(FIELDS)) {
            this.unknown(`${label} is built from values the pack cannot expand`, ctx);
            return undefined;
        }
        let ast: Command;
        try {
            ast = parseScript(plain(text).includes(SECRET_OPEN) ? text : text);
        } catch (e) {
            if (e instanceof ShellSyntaxError) {
                this.unknown(`${label} has shell syntax the pack does not read (${e.message})`, ctx);
                return undefined;
            }
            throw e;
        }
        const st: ShellState = { vars: new Map(), frames: [], shell, funcs: new Map(), pos: args.includes(FIELDS) ? undefined : [...args], arg0, cwd, done: false, jumped: false, out: [""], errexit };
        for (const [k, v] of env) {
            st.vars.set(k, { vals: [{ t: "s", v }], exported: true });
        }
        return single(this.run(ast, st, ctx).out);
    }

    // -----------------------------------------------------------------------------------------
    // Image entrypoints

    private imageEntrypoint(image: ImageKnowledge, argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const args = argv.slice(1);
        const first = args[0];
        const next = { ...ctx, depth: ctx.depth + 1 };
        if (first === undefined) {
            return this.exec(image.cmd.length > 0 ? image.cmd : ["sh"], env, next, cwd);
        }
        if (first === FIELDS) {
            this.unknown("the image's entrypoint gets arguments the pack cannot expand", ctx);
            return undefined;
        }
        const f = plain(first);
        if (image.id === "redis" || image.id === "valkey") {
            // `set -- redis-server "$@"` when the first argument is an option or a .conf file; then exec "$@".
            const server = image.id === "redis" ? "redis-server" : "valkey-server";
            if (!isKnown(f)) {
                this.unknown("the first argument of the image's entrypoint comes from a value the pack cannot expand", ctx);
                return undefined;
            }
            const adjusted = f.startsWith("-") || f.endsWith(".conf") ? [server, ...args] : args;
            return this.exec(adjusted, env, next, cwd);
        }
        // mariadb / mysql: an option first means the server; the server is initialised from the env.
        const server = image.id === "mariadb" ? "mariadbd" : "mysqld";
        if (!isKnown(f)) {
            this.unknown("the first argument of the image's entrypoint comes from a value the pack cannot expand", ctx);
            return undefined;
        }
        const adjusted = f.startsWith("-") ? [server, ...args] : args;
        const prog = programName(plain(adjusted[0]));
        if (prog === "mariadbd" || prog === "mysqld") {
            this.record("server", adjusted, env, next, cwd, { server: "mariadb", entrypoint: image.id === "mariadb" ? "mariadb" : "mysql" });
            return undefined;
        }
        return this.exec(adjusted, env, next, cwd);
    }

    /** apache/kafka's /etc/kafka/docker/run: exports NAME=value arguments, configures from env and the mounted config, starts the broker. */
    private kafkaImageRun(argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const e = new Map(env);
        for (const a of argv.slice(1)) {
            if (a === FIELDS) {
                this.unknown("/etc/kafka/docker/run gets arguments the pack cannot expand", ctx);
                return undefined;
            }
            const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(a);
            if (m) {
                e.set(m[1], m[2]);
            }
        }
        this.record("server", argv, e, ctx, cwd, { server: "kafka", entrypoint: "apache-kafka" });
        return undefined;
    }

    // -----------------------------------------------------------------------------------------
    // Wrappers

    private unwrap(name: string, argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const a = argv.map((x) => x);
        const p = (i: number) => (a[i] === undefined ? undefined : plain(a[i]));
        let i = 1;
        const next = { ...ctx, depth: ctx.depth + 1 };
        const opts = (withArg: RegExp = /^$/) => {
            while (i < a.length && p(i)!.startsWith("-")) {
                const w = p(i)!;
                i++;
                if (w === "--") {
                    break;
                }
                if (withArg.test(w)) {
                    i++;
                }
            }
        };
        if (a.slice(1).includes(FIELDS) && !["xargs"].includes(name)) {
            const fi = a.indexOf(FIELDS);
            // Unknown words before the command make the command unknown.
            if (fi >= 1) {
                this.unknown(`${name} gets arguments the pack cannot expand, so what it runs is not known`, ctx);
                this.record("program", argv, env, ctx, cwd);
                return undefined;
            }
        }
        switch (name) {
            case "exec":
                opts(/^-a$/);
                break;
            case "env": {
                const e = new Map(env);
                while (i < a.length) {
                    const w = p(i)!;
                    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(a[i]);
                    if (m) {
                        e.set(m[1], m[2]);
                        this.result.assignments.push({ name: m[1], value: m[2], via: ctx.via });
                        i++;
                    } else if (w === "-i" || w === "--ignore-environment" || w === "-") {
                        e.clear();
                        i++;
                    } else if (w === "-u" || w === "--unset") {
                        e.delete(p(i + 1) ?? "");
                        i += 2;
                    } else if (w === "-C" || w === "--chdir") {
                        i += 2;
                    } else if (w === "-S" || w === "--split-string") {
                        const words = splitUnquoted(a[i + 1] ?? "");
                        return this.exec([...words, ...a.slice(i + 2)], e, next, cwd);
                    } else if (w.startsWith("-")) {
                        i++;
                    } else {
                        break;
                    }
                }
                return this.exec(a.slice(i), e, next, cwd);
            }
            case "nice":
                opts(/^-n$|^--adjustment$/);
                break;
            case "ionice":
                opts(/^-[cnpPt]$/);
                break;
            case "taskset":
                opts(/^-p$/);
                if (!p(i - 1)?.startsWith("-c") || true) {
                    i++; // the mask or list
                }
                break;
            case "chrt":
                opts();
                i++; // priority
                break;
            case "numactl":
                opts();
                break;
            case "timeout":
                opts(/^-[sk]$|^--(signal|kill-after)$/);
                i++; // duration
                break;
            case "stdbuf":
                opts(/^-[ioe]$/);
                break;
            case "setsid":
            case "nohup":
            case "time":
            case "catatonit":
            case "strace":
            case "ltrace":
                opts(/^-[oesp]$/);
                break;
            case "tini":
            case "tini-static":
                opts(/^-[pel]$/);
                break;
            case "dumb-init":
                opts(/^-r$|^--rewrite$/);
                break;
            case "gosu":
            case "su-exec":
            case "s6-setuidgid":
                i = 2;
                break;
            case "chpst":
                opts(/^-[ugUeEn/clmdostpfr]$/);
                break;
            case "setpriv":
                opts(/^--(reuid|regid|groups|ruid|euid|rgid|egid|inh-caps|ambient-caps|bounding-set|securebits|pdeathsig|selinux-label|apparmor-profile|landlock-access|landlock-rule)$/);
                break;
            case "flock":
                opts(/^-[wEcn]$/);
                i++; // the lock file
                if (p(i) === "-c" || p(i) === "--command") {
                    return this.runScriptText(a[i + 1] ?? "", "flock -c", [], env, next, cwd, "sh");
                }
                break;
            case "runuser":
            case "su":
            case "sudo":
            case "doas": {
                let script: string | undefined;
                while (i < a.length && p(i)!.startsWith("-")) {
                    const w = p(i)!;
                    if (w === "-c" || w === "--command") {
                        script = a[i + 1];
                        i += 2;
                        continue;
                    }
                    if (w === "--") {
                        i++;
                        break;
                    }
                    i += /^-(u|g|s|l|U|G|C|D|h|p|r|t|T|w)$|^--(user|group|shell|login|preserve-env|chdir)$/.test(w) && !/^-l$|^--login$/.test(w) ? 2 : 1;
                }
                if (script !== undefined) {
                    return this.runScriptText(script, `${name} -c`, [], env, next, cwd, "sh");
                }
                if (name === "su" || (name === "runuser" && !a.slice(1).some((x) => plain(x) === "--"))) {
                    return ""; // su <user> without a command: an interactive shell, nothing to follow
                }
                break;
            }
            case "xargs": {
                while (i < a.length && p(i)!.startsWith("-")) {
                    const w = p(i)!;
                    i += /^-[aEdILnPs]$|^--(arg-file|eof|delimiter|max-lines|max-args|max-procs|max-chars|replace)$/.test(w) ? 2 : 1;
                }
                const cmd = a.slice(i);
                return this.exec(cmd.length > 0 ? [...cmd, FIELDS] : ["echo", FIELDS], env, { ...next, maybe: true }, cwd);
            }
            case "watch": {
                opts(/^-[nd]$/);
                return this.runScriptText(a.slice(i).join(" "), "watch", [], env, { ...next, maybe: true }, cwd, "sh");
            }
            case "command":
            case "builtin":
                opts();
                if (a.slice(1).some((x) => /^-[vV]$/.test(plain(x)))) {
                    return "";
                }
                break;
            default:
                opts();
        }
        return this.exec(a.slice(i), env, next, cwd);
    }

    // -----------------------------------------------------------------------------------------
    // Utilities

    private utility(name: string, argv: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        const args = argv.slice(1);
        const plainArgs = args.map(plain);
        const known = !args.includes(FIELDS) && args.every((x) => isKnown(plain(x)));
        const rec = () => this.record("program", argv, env, ctx, cwd);
        if (RECONFIGURING_CLIENTS.has(name)) {
            rec();
            const rdb = plainArgs.indexOf("--rdb");
            if (rdb >= 0 && args[rdb + 1] !== undefined) {
                this.write(args[rdb + 1], undefined, ctx, cwd);
            }
            return undefined;
        }
        if (!INERT.has(name)) {
            rec();
            this.unknown(`runs ${name}, a program the pack does not know (it may start a server or change files)`, ctx);
            this.fs.taint(`${name} (${ctx.via}) is a program the pack does not know, and it may write anywhere it can`);
            return undefined;
        }
        rec();
        switch (name) {
            case "echo":
            case "printf":
            case "true":
            case "false":
            case ":":
                return this.builtinOutput(name, args);
            case "cat":
            case "tac": {
                const files = args.filter((x) => plain(x) !== "-" && !/^-[A-Za-z]+$/.test(plain(x)));
                if (files.length === 0) {
                    return ctx.stdin ?? "";
                }
                let out = "";
                for (const f of files) {
                    if (f === FIELDS) {
                        return undefined;
                    }
                    const t = this.readFile(f, cwd, ctx);
                    if (t === undefined) {
                        return undefined;
                    }
                    out += t;
                }
                return name === "cat" ? out : undefined;
            }
            case "sed":
                return this.sed(args, ctx, cwd);
            case "awk":
            case "gawk":
            case "mawk":
            case "nawk":
                return this.awk(args, ctx, cwd);
            case "find":
                return this.find(args, env, ctx, cwd);
            case "tee": {
                const append = plainArgs.includes("-a") || plainArgs.includes("--append");
                for (const f of args.filter((x) => !plain(x).startsWith("-"))) {
                    this.write(f, ctx.stdin, ctx, cwd, append);
                }
                return ctx.stdin;
            }
            case "cp":
            case "mv":
            case "install":
            case "ln":
                this.copy(name, args, ctx, cwd);
                return "";
            case "rm":
                for (const f of args.filter((x) => !plain(x).startsWith("-"))) {
                    if (f !== FIELDS && isKnown(plain(f))) {
                        this.fs.remove(resolvePath(isKnown(cwd) ? cwd : "/", plain(f)), ctx.maybe);
                        const prefix = resolvePath(isKnown(cwd) ? cwd : "/", plain(f));
                        for (const key of Array.from(this.fs.overlay.keys())) {
                            if (key.includes(`:${prefix}/`) || key.endsWith(`${prefix}/`)) {
                                if (!ctx.maybe) {
                                    this.fs.overlay.set(key, [null]);
                                }
                            }
                        }
                    }
                }
                return "";
            case "mkdir":
                for (const f of args.filter((x) => !plain(x).startsWith("-"))) {
                    if (f !== FIELDS && isKnown(plain(f))) {
                        this.fs.dirs.add(resolvePath(isKnown(cwd) ? cwd : "/", plain(f)));
                    }
                }
                return "";
            case "touch":
                for (const f of args.filter((x) => !plain(x).startsWith("-"))) {
                    if (f !== FIELDS && isKnown(plain(f))) {
                        const full = resolvePath(isKnown(cwd) ? cwd : "/", plain(f));
                        if (this.fs.read(full, true).every((r) => r.state === "absent")) {
                            this.write(f, "", { ...ctx, maybe: true }, cwd);
                        }
                    }
                }
                return "";
            case "dd": {
                const of = plainArgs.find((x) => x.startsWith("of="));
                const inf = plainArgs.find((x) => x.startsWith("if="));
                if (of) {
                    this.write(of.slice(3), inf ? this.readFile(inf.slice(3), cwd, ctx) : ctx.stdin, ctx, cwd);
                }
                return of ? "" : undefined;
            }
            case "truncate":
                return "";
            case "tar":
            case "unzip":
            case "gunzip":
            case "gzip":
            case "bunzip2":
            case "bzip2":
            case "xz":
            case "unxz":
            case "zstd": {
                const extracting = name === "unzip" || name === "gunzip" || name === "unxz" || name === "bunzip2" || plainArgs.some((x) => /^-[A-Za-z]*[xd]/.test(x) || x === "--extract" || x === "--decompress");
                if (extracting && !(name === "gzip" && plainArgs.some((x) => /^-[A-Za-z]*c/.test(x)))) {
                    const dirIdx = plainArgs.findIndex((x) => x === "-C" || x === "--directory" || x === "-d");
                    const dir = dirIdx >= 0 ? args[dirIdx + 1] : cwd;
                    if (dir !== undefined && dir !== FIELDS && isKnown(plain(dir))) {
                        this.fs.taint(`${name} (${ctx.via}) unpacks files the pack cannot see into ${plain(dir)}`, resolvePath(isKnown(cwd) ? cwd : "/", plain(dir)));
                    } else {
                        this.fs.taint(`${name} (${ctx.via}) unpacks files the pack cannot see`);
                    }
                }
                return undefined;
            }
            case "curl":
            case "wget": {
                const o = plainArgs.findIndex((x) => x === "-o" || x === "--output" || x === "-O" || x === "--output-document");
                if (o >= 0 && args[o + 1] !== undefined && !(name === "curl" && plainArgs[o] === "-O")) {
                    this.write(args[o + 1], undefined, ctx, cwd);
                } else if ((name === "wget" && !plainArgs.some((x) => x === "-q" && false)) || plainArgs.includes("-O") || plainArgs.includes("--remote-name")) {
                    if (name === "wget" || plainArgs.includes("-O") || plainArgs.includes("--remote-name")) {
                        this.fs.taint(`${name} (${ctx.via}) downloads a file the pack cannot see`, isKnown(cwd) ? cwd : "/");
                    }
                }
                return undefined;
            }
            case "openssl":
            case "keytool": {
                const o = plainArgs.findIndex((x) => x === "-out" || x === "-keystore");
                if (o >= 0 && args[o + 1] !== undefined) {
                    this.write(args[o + 1], undefined, ctx, cwd);
                }
                return undefined;
            }
            case "nc":
                if (plainArgs.some((x) => /^-[A-Za-z]*[ec]/.test(x))) {
                    this.unknown("nc -e/-c runs a program for each connection", ctx);
                }
                return undefined;
            case "envsubst": {
                if (ctx.stdin === undefined) {
                    return undefined;
                }
                return ctx.stdin.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => env.get((a ?? b)!) ?? "");
            }
            case "base64":
                if ((plainArgs.includes("-d") || plainArgs.includes("--decode")) && ctx.stdin !== undefined && isKnown(ctx.stdin) && !ctx.stdin.includes(SECRET_OPEN)) {
                    return Buffer.from(ctx.stdin.trim(), "base64").toString("utf8");
                }
                return undefined;
            case "hostname":
            case "uname":
            case "whoami":
            case "date":
            case "arch":
                return `${WORD}\n`;
            case "id":
            case "nproc":
                return `${DIGITS}\n`;
            case "mktemp": {
                const dir = plainArgs.includes("-d");
                void dir;
                const tmpl = args.find((x) => !plain(x).startsWith("-"));
                return `${tmpl !== undefined && isKnown(plain(tmpl)) ? plain(tmpl).replace(/X{3,}$/, WORD) : `/tmp/tmp.${WORD}`}\n`;
            }
            case "basename":
                return known && args[0] !== undefined ? `${programName(plain(args[0]).replace(/\/+$/, ""))}\n` : undefined;
            case "dirname":
                return known && args[0] !== undefined ? `${normalisePath(`${plain(args[0])}/..`)}\n` : undefined;
            case "printenv":
                return args[0] !== undefined && isKnown(plain(args[0])) ? `${env.get(plain(args[0])) ?? ""}\n` : undefined;
            case "realpath":
            case "readlink":
            case "pwd":
                return undefined;
            default:
                return undefined;
        }
    }

    /** cp / mv / install / ln: the destination gets the source's content (or, when it cannot be told, becomes unknown). */
    private copy(name: string, args: string[], ctx: Ctx, cwd: string): void {
        const operands: string[] = [];
        let targetDir: string | undefined;
        for (let i = 0; i < args.length; i++) {
            const w = plain(args[i]);
            if (args[i] !== FIELDS && w.startsWith("-") && w !== "-") {
                if (w === "-t" || w === "--target-directory") {
                    targetDir = args[++i];
                } else if (w.startsWith("--target-directory=")) {
                    targetDir = w.slice("--target-directory=".length);
                } else if (name === "install" && /^-[mogS]$/.test(w)) {
                    i++;
                }
                continue;
            }
            operands.push(args[i]);
        }
        if (name === "install" && args.some((x) => plain(x) === "-d")) {
            return;
        }
        const base = isKnown(cwd) ? cwd : "/";
        const dest = targetDir ?? operands.pop();
        if (dest === undefined) {
            return;
        }
        const sources = operands;
        if (dest === FIELDS || !isKnown(plain(dest))) {
            this.write(dest, undefined, ctx, cwd);
            return;
        }
        const destPath = resolvePath(base, plain(dest));
        const destIsDir = targetDir !== undefined || sources.length > 1 || plain(dest).endsWith("/") || this.isDirectory(destPath);
        for (const src of sources) {
            if (src === FIELDS || !isKnown(plain(src))) {
                this.fs.taint(`${name} (${ctx.via}) copies files the pack cannot name into ${destPath}`, destPath);
                continue;
            }
            const srcPath = resolvePath(base, plain(src));
            const target = destIsDir ? normalisePath(`${destPath}/${programName(srcPath)}`) : destPath;
            if (this.isDirectory(srcPath)) {
                this.copyTree(srcPath, target, ctx);
            } else {
                const text = this.readFile(srcPath, "/", ctx);
                this.write(target, text, ctx, "/");
            }
            if (name === "mv") {
                this.fs.remove(srcPath, ctx.maybe);
            }
        }
    }

    private isDirectory(path: string): boolean {
        if (this.fs.dirs.has(path)) {
            return true;
        }
        const listed = this.fs.list(path);
        if ("files" in listed && listed.files.length > 0) {
            return true;
        }
        for (const m of this.fs.mounts) {
            if (m.path === path) {
                return true;
            }
        }
        return false;
    }

    private copyTree(src: string, dest: string, ctx: Ctx): void {
        const listed = this.fs.list(src);
        if ("unknown" in listed) {
            this.fs.taint(`files copied from ${src} (${listed.unknown})`, dest);
            return;
        }
        for (const f of listed.files) {
            const from = normalisePath(`${src}/${f}`);
            const to = normalisePath(`${dest}/${f}`);
            if (this.isDirectory(from)) {
                this.copyTree(from, to, ctx);
            } else {
                this.write(to, this.readFile(from, "/", ctx), ctx, "/");
            }
        }
    }

    /** sed with `s` commands on literal-enough patterns; anything else makes the output unknown (and `e`/`w` unverifiable). */
    private sed(args: string[], ctx: Ctx, cwd: string): string | undefined {
        const scripts: string[] = [];
        const files: string[] = [];
        let inPlace = false;
        let quiet = false;
        let ere = false;
        let scriptGiven = false;
        for (let i = 0; i < args.length; i++) {
            const a = args[i];
            const w = plain(a);
            if (a === FIELDS) {
                return undefined;
            }
            if (w === "-e" || w === "--expression") {
                scripts.push(args[++i] ?? "");
                scriptGiven = true;
            } else if (w.startsWith("--expression=")) {
                scripts.push(w.slice(13));
                scriptGiven = true;
            } else if (w === "-f" || w === "--file") {
                this.unknown("sed -f reads its script from a file", ctx);
                return undefined;
            } else if (/^-i/.test(w) || w.startsWith("--in-place")) {
                inPlace = true;
            } else if (w === "-n" || w === "--quiet" || w === "--silent") {
                quiet = true;
            } else if (w === "-E" || w === "-r" || w === "--regexp-extended") {
                ere = true;
            } else if (w.startsWith("-") && w !== "-") {
                // other options: -s, -u, -z ...
            } else if (!scriptGiven) {
                scripts.push(a);
                scriptGiven = true;
            } else {
                files.push(a);
            }
        }
        const commands: Array<{ re: RegExp; repl: string; global: boolean } | { del: RegExp; negate: boolean }> = [];
        let transformable = !quiet;
        for (const s of scripts) {
            if (s.includes(FIELDS)) {
                transformable = false;
                continue;
            }
            for (const part of s.split(/\n|;(?=\s*s.)/)) {
                const cmd = part.trim();
                if (cmd === "") {
                    continue;
                }
                const del = /^\/((?:[^/\\]|\\.)*)\/\s*(!?)\s*d$/.exec(cmd);
                if (del && isKnown(del[1]) && !/[\uE002\uE003]/.test(del[1])) {
                    const re = parseSedSubstitute(`s/${del[1]}//`, ere);
                    if (re && re !== "exec") {
                        commands.push({ del: new RegExp(re.re.source, re.re.flags.replace("g", "")), negate: del[2] === "!" });
                        continue;
                    }
                }
                const parsed = parseSedSubstitute(cmd, ere);
                if (parsed === "exec") {
                    this.unknown("sed runs a command (the e command or flag) or writes a file (w)", ctx);
                    return undefined;
                }
                if (!parsed) {
                    transformable = false;
                    continue;
                }
                commands.push(parsed);
            }
        }
        const apply = (text: string | undefined): string | undefined => {
            if (text === undefined || !transformable) {
                return undefined;
            }
            const out: string[] = [];
            for (const line of text.split("\n")) {
                if (hasFreeUnknown(line)) {
                    out.push(ANY); // the line may hold anything, other lines included
                    continue;
                }
                let cur: string | undefined = line;
                for (const c of commands) {
                    if (cur === undefined) {
                        break;
                    }
                    if ("del" in c) {
                        if (c.del.test(cur) !== c.negate) {
                            cur = undefined;
                        }
                    } else {
                        cur = cur.replace(c.re, c.repl);
                    }
                }
                if (cur !== undefined) {
                    out.push(cur);
                }
            }
            return out.join("\n");
        };
        if (inPlace) {
            for (const f of files) {
                this.write(f, apply(this.readFile(f, cwd, ctx)), ctx, cwd);
            }
            return "";
        }
        if (files.length === 0) {
            return apply(ctx.stdin);
        }
        let out = "";
        for (const f of files) {
            const t = apply(this.readFile(f, cwd, ctx));
            if (t === undefined) {
                return undefined;
            }
            out += t;
        }
        return out;
    }

    /** awk: no output the pack models; a program that runs commands or writes files makes the start-up unverifiable. */
    private awk(args: string[], ctx: Ctx, cwd: string): string | undefined {
        let program: string | undefined;
        for (let i = 0; i < args.length; i++) {
            const w = plain(args[i]);
            if (w === "-f") {
                const text = this.readFile(args[i + 1] ?? "", cwd, ctx);
                program = text;
                if (text === undefined) {
                    this.unknown("awk -f reads a program the pack cannot see", ctx);
                    return undefined;
                }
                break;
            }
            if (w === "-F" || w === "-v") {
                i++;
                continue;
            }
            if (/^-[Fv]./.test(w) || w === "--") {
                continue;
            }
            program = args[i];
            break;
        }
        if (program === undefined || !isKnown(plain(program))) {
            this.unknown("awk runs a program the pack cannot expand", ctx);
            return undefined;
        }
        if (!awkIsInert(plain(program))) {
            this.unknown("awk runs commands or writes files (system(), a pipe or an output redirection)", ctx);
        }
        return undefined;
    }

    /** find: the commands of -exec/-execdir/-ok run on files the pack cannot name. */
    private find(args: string[], env: Map<string, string>, ctx: Ctx, cwd: string): string | undefined {
        for (let i = 0; i < args.length; i++) {
            const w = plain(args[i]);
            if (/^-(exec|execdir|ok|okdir)$/.test(w)) {
                const cmd: string[] = [];
                let j = i + 1;
                while (j < args.length && plain(args[j]) !== ";" && plain(args[j]) !== "+") {
                    cmd.push(plain(args[j]) === "{}" ? FIELDS : args[j]);
                    j++;
                }
                this.exec(cmd, env, { ...ctx, maybe: true, depth: ctx.depth + 1 }, cwd);
                i = j;
            } else if (/^-(fprint|fprint0|fprintf|fls)$/.test(w)) {
                this.write(args[i + 1] ?? FIELDS, undefined, ctx, cwd);
            }
        }
        return undefined;
    }

    // -----------------------------------------------------------------------------------------
    // The shell

    /** Runs a command in a state; returns the state after it (what it prints is in the state's `out`). */
    run(c: Command, st: ShellState, ctx: Ctx): ShellState {
        if (st.done || st.jumped) {
            return st;
        }
        switch (c.t) {
            case "simple":
                return this.runSimple(c, st, ctx);
            case "list": {
                let cur = st;
                for (const item of c.items) {
                    if (cur.done || cur.jumped) {
                        break;
                    }
                    if (item.bg) {
                        const bg = cloneState(cur);
                        this.run(item.cmd, bg, ctx);
                        continue;
                    }
                    cur = this.run(item.cmd, cur, ctx);
                }
                return cur;
            }
            case "andor": {
                let cur = this.run(c.first, st, { ...ctx, cond: true });
                c.rest.forEach((r, i) => {
                    if (cur.done || cur.jumped) {
                        return;
                    }
                    const before = cloneState(cur);
                    const b = this.run(r.cmd, cloneState(cur), { ...ctx, maybe: true, cond: ctx.cond || i < c.rest.length - 1 });
                    cur = joinStates([before, b], before);
                });
                return cur;
            }
            case "pipeline": {
                let input = ctx.stdin;
                let cur = st;
                c.cmds.forEach((cmd, i) => {
                    const last = i === c.cmds.length - 1;
                    const r = capture(last ? cur : cloneState(cur), (s) => this.run(cmd, s, { ...ctx, stdin: input, cond: ctx.cond || c.bang || !last }));
                    if (last) {
                        cur = r.st;
                        emit(cur, single(r.out));
                    }
                    input = single(r.out);
                });
                return cur;
            }
            case "group":
                return this.withRedirs(c.redirs, st, ctx, (s, cx) => this.run(c.body, s, cx));
            case "subshell": {
                const r = this.withRedirs(c.redirs, cloneState(st), ctx, (s, cx) => this.run(c.body, s, cx));
                const after = cloneState(st);
                after.out = r.out;
                return after;
            }
            case "if": {
                const paths: ShellState[] = [];
                let cur = st;
                let first = true;
                for (const clause of c.clauses) {
                    cur = this.run(clause.cond, cur, { ...(first ? ctx : { ...ctx, maybe: true }), cond: true });
                    first = false;
                    paths.push(this.run(clause.body, cloneState(cur), { ...ctx, maybe: true }));
                }
                paths.push(c.else ? this.run(c.else, cloneState(cur), { ...ctx, maybe: true }) : cur);
                return joinStates(paths, cur);
            }
            case "loop": {
                const cond = this.run(c.cond, st, { ...ctx, cond: true });
                const breaks: ShellState[] = [];
                const body = this.run(c.body, cloneState(cond), { ...ctx, maybe: true, breaks });
                if (body.jumped === "break") {
                    body.jumped = false;
                }
                const again = this.run(c.cond, cloneState(body), { ...ctx, maybe: true, cond: true });
                breaks.forEach((b) => (b.jumped = false));
                return joinStates([cond, again, ...breaks], cond);
            }
            case "for": {
                const values: string[] = [];
                let unknownList = false;
                if (c.words) {
                    for (const w of c.words) {
                        for (const f of this.expandWord(w, st, ctx).flat()) {
                            if (f === FIELDS) {
                                unknownList = true;
                            } else {
                                values.push(f);
                            }
                        }
                    }
                } else if (st.pos) {
                    values.push(...st.pos);
                } else {
                    unknownList = true;
                }
                const loopSt = cloneState(st);
                const vals: Val[] = values.map((v) => ({ t: "s", v }));
                if (unknownList || vals.length === 0) {
                    vals.push({ t: "s", v: ANY });
                }
                loopSt.vars.set(c.name, { vals: dedupeVals(vals), exported: st.vars.get(c.name)?.exported ?? false });
                const breaks: ShellState[] = [];
                const body = this.run(c.body, loopSt, { ...ctx, maybe: true, breaks });
                if (body.jumped === "break") {
                    body.jumped = false;
                }
                breaks.forEach((b) => (b.jumped = false));
                return joinStates([st, body, ...breaks], st);
            }
            case "case":
                return this.runCase(c, st, ctx);
            case "funcdef":
                st.funcs.set(c.name, c.body);
                return st;
            case "dbracket": {
                for (const w of c.words) {
                    this.expandWord(w, st, ctx);
                }
                if (c.words.some((w) => w.raw === "=~")) {
                    st.vars.set("BASH_REMATCH", { vals: [{ t: "a", v: undefined }], exported: false });
                }
                return st;
            }
            case "arith":
                this.arithAssignments(c.expr, st);
                return st;
        }
    }

    private runCase(c: Command & { t: "case" }, st: ShellState, ctx: Ctx): ShellState {
        const cands = this.expandWord(c.word, st, ctx).map((f) => f.join(" "));
        const value = cands.length === 1 ? cands[0] : ANY;
        const scrutineeVar = c.word.parts.length === 1 && c.word.parts[0].t === "param" && !c.word.parts[0].op ? c.word.parts[0].name : undefined;
        const paths: ShellState[] = [];
        let matchedSurely = false;
        const terminatingClasses: string[] = [];
        let coversEmpty = false;
        for (const arm of c.arms) {
            const pats = arm.patterns.map((p) => this.patternString(p, st, ctx));
            let verdict: "yes" | "no" | "maybe" = "no";
            for (const pat of pats) {
                const v = matchGlob(value, pat);
                if (v === "yes") {
                    verdict = "yes";
                    break;
                }
                if (v === "maybe") {
                    verdict = "maybe";
                }
            }
            if (verdict === "no") {
                continue;
            }
            const body = this.run(arm.body, cloneState(st), { ...ctx, maybe: verdict === "maybe" || ctx.maybe });
            paths.push(body);
            if (body.done || body.jumped) {
                for (const pat of pats) {
                    const cls = negatedClass(pat);
                    if (cls) {
                        terminatingClasses.push(cls);
                    }
                    if (pat === "") {
                        coversEmpty = true;
                    }
                }
            }
            if (verdict === "yes") {
                matchedSurely = true;
                break;
            }
        }
        if (!matchedSurely) {
            const fall = cloneState(st);
            // `case "$x" in ""|*[!0-9]*) exit 1;; esac`: after it, x is a non-empty run of those characters.
            if (scrutineeVar && terminatingClasses.length > 0 && coversEmpty) {
                const cell = fall.vars.get(scrutineeVar);
                const cls = terminatingClasses[0];
                const marker = /^0-9$/.test(cls) ? DIGITS : WORD;
                if (cell && cell.vals.every((v) => v.t === "s" && !isKnown(plain(v.v)))) {
                    fall.vars.set(scrutineeVar, { vals: [{ t: "s", v: marker }], exported: cell.exported });
                }
            }
            paths.push(fall);
        }
        return joinStates(paths, st);
    }

    /** Runs `fn` with a compound command's redirections (stdin from a file or here-document, stdout into a file). */
    private withRedirs(redirs: Redir[], st: ShellState, ctx: Ctx, fn: (s: ShellState, cx: Ctx) => ShellState): ShellState {
        const io = this.redirections(redirs, st, ctx);
        const cx = { ...ctx, stdin: io.stdin !== undefined ? io.stdin : ctx.stdin };
        if (io.stdout) {
            const r = capture(st, (s) => fn(s, cx));
            this.writeOut(io.stdout.path, r.out, ctx, st.cwd, io.stdout.append);
            return r.st;
        }
        if (io.discard) {
            return capture(st, (s) => fn(s, cx)).st;
        }
        return fn(st, cx);
    }

    /** Writes candidate outputs into a file (one candidate: a plain write; several: each a possible content). */
    private writeOut(path: string, out: string[] | undefined, ctx: Ctx, cwd: string, append: boolean): void {
        if (out === undefined || out.length === 0) {
            this.write(path, undefined, ctx, cwd, append);
            return;
        }
        out.forEach((o, i) => this.write(path, o, i === 0 ? ctx : { ...ctx, maybe: true }, cwd, append));
    }

    private redirections(redirs: Redir[], st: ShellState, ctx: Ctx): { stdin?: string; stdout?: { path: string; append: boolean }; discard: boolean } {
        let stdin: string | undefined;
        let stdout: { path: string; append: boolean } | undefined;
        let discard = false;
        for (const r of redirs) {
            const fd = r.fd;
            if (r.heredoc) {
                const text = r.heredoc.quoted ? r.heredoc.body : this.expandToString(parseHeredocText(r.heredoc.body), st, ctx);
                this.result.heredocs.push({ text, via: ctx.via });
                stdin = text;
                continue;
            }
            const target = r.target ? this.expandToString(r.target, st, ctx) : "";
            if (r.op === "<<<") {
                stdin = `${target}\n`;
                this.result.heredocs.push({ text: target, via: ctx.via });
            } else if (r.op === "<" && (fd === undefined || fd === 0)) {
                stdin = this.readFile(target, st.cwd, ctx) ?? ANY;
            } else if ((r.op === ">" || r.op === ">|" || r.op === ">>" || r.op === "&>" || r.op === "&>>") && (fd === undefined || fd === 1)) {
                stdout = { path: target, append: r.op === ">>" || r.op === "&>>" };
            } else if (r.op === ">&" && (fd === undefined || fd === 1) && target === "2") {
                discard = true;
            } else if ((r.op === ">" || r.op === ">>") && fd !== undefined && fd > 2) {
                this.write(target, undefined, ctx, st.cwd, r.op === ">>");
            }
        }
        return { stdin, stdout, discard };
    }

    private runSimple(c: Command & { t: "simple" }, st: ShellState, ctx: Ctx): ShellState {
        // Assignments are expanded first, then words (in order), as the shell does.
        const assigns = c.assigns.map((a) => ({ a, vals: this.expandAssign(a, st, ctx) }));
        for (const { a, vals } of assigns) {
            for (const v of vals) {
                if (v.t === "s") {
                    this.result.assignments.push({ name: a.name, value: v.v, via: ctx.via });
                }
            }
        }
        const declName = c.declAssigns && c.assigns.length === 0 ? literalWord(c.words[0]) : undefined;
        if (declName !== undefined && !st.funcs.has(declName)) {
            return this.runDeclaration(declName, c, st, ctx);
        }
        const argvCands = this.expandWords(c.words, st, ctx);
        const io = this.redirections(c.redirs, st, ctx);
        const cx: Ctx = { ...ctx, stdin: io.stdin !== undefined ? io.stdin : ctx.stdin };
        if (c.words.length === 0 || argvCands.every((a) => a.length === 0)) {
            for (const { a, vals } of assigns) {
                this.setVar(st, a.name, vals, ctx.maybe, undefined, a.append, a.index);
            }
            if (io.stdout) {
                this.write(io.stdout.path, "", ctx, st.cwd, io.stdout.append);
            }
            return st;
        }
        const prefixEnv = new Map<string, string>();
        for (const { a, vals } of assigns) {
            prefixEnv.set(a.name, vals.length === 1 && vals[0].t === "s" ? vals[0].v : ANY);
        }
        const run = (s: ShellState): ShellState => {
            let cur = s;
            const outs: Array<string[] | undefined> = [];
            const states: ShellState[] = [];
            for (const argv of argvCands.slice(0, MAX_ARGV_CANDIDATES)) {
                const r = capture(cloneState(cur), (x) => this.command(argv, prefixEnv, x, { ...cx, maybe: cx.maybe || argvCands.length > 1 }));
                states.push(r.st);
                outs.push(r.out);
            }
            cur = states.length === 1 ? states[0] : joinStates(states, cur);
            cur.out = s.out;
            const merged = outs.some((o) => o === undefined) ? undefined : Array.from(new Set(outs.flat() as string[]));
            if (io.discard) {
                return cur;
            }
            if (io.stdout) {
                this.writeOut(io.stdout.path, merged, ctx, st.cwd, io.stdout.append);
                return cur;
            }
            emitAll(cur, merged);
            return cur;
        };
        return run(st);
    }

    /** `local s=$1 out="" i`: each NAME=value argument expanded as an assignment, the other words as words. */
    private runDeclaration(name: string, c: Command & { t: "simple" }, st: ShellState, ctx: Ctx): ShellState {
        const items: DeclItem[] = [];
        c.words.slice(1).forEach((w, k) => {
            const a = c.declAssigns![k + 1];
            if (a) {
                items.push({ k: "assign", name: a.name, vals: this.expandAssign(a, st, ctx), append: a.append, index: a.index });
                return;
            }
            const cands = this.expandWord(w, st, ctx);
            for (const f of cands.length === 1 ? cands[0] : [FIELDS]) {
                items.push(f === FIELDS ? { k: "fields" } : { k: "word", text: f });
            }
        });
        const io = this.redirections(c.redirs, st, ctx);
        if (io.stdout) {
            this.write(io.stdout.path, "", ctx, st.cwd, io.stdout.append);
        }
        return this.declare(name, items, st, ctx);
    }

    /** One command with expanded words: a function, a builtin or a program. Its output goes to the state's `out`. */
    private command(argv: string[], prefixEnv: Map<string, string>, st: ShellState, ctx: Ctx): ShellState {
        const name = argv[0] === FIELDS ? FIELDS : plain(argv[0]);
        if (!isKnown(name)) {
            this.unknown(`a command name comes from a value the pack cannot expand (${showWord(argv[0])})`, ctx);
            st.out = undefined;
            return st;
        }
        const fn = st.funcs.get(name);
        if (fn) {
            return this.callFunction(fn, argv, st, ctx);
        }
        const builtin = this.builtin(name, argv, prefixEnv, st, ctx);
        if (builtin) {
            return builtin;
        }
        const env = this.exportedEnv(st);
        prefixEnv.forEach((v, k) => env.set(k, v));
        this.failed = false;
        emit(st, this.exec(argv, env, ctx, st.cwd));
        if (this.failed && st.errexit && !ctx.cond) {
            st.done = true; // set -e: the script stops at the failing command
        }
        this.failed = false;
        return st;
    }

    private callFunction(body: Command, argv: string[], st: ShellState, ctx: Ctx): ShellState {
        if (ctx.calls > 12) {
            this.unknown("functions call each other too deeply to follow", ctx);
            st.out = undefined;
            return st;
        }
        const saved = st.pos;
        st.pos = argv.slice(1).includes(FIELDS) ? undefined : argv.slice(1);
        st.frames.push(new Map());
        const returns: ShellState[] = [];
        const r = this.run(body, st, { ...ctx, calls: ctx.calls + 1, returns, breaks: undefined });
        returns.forEach((s) => (s.jumped = false));
        if (r.jumped === "return") {
            r.jumped = false;
        }
        const after = joinStates([r, ...returns], r);
        after.pos = saved;
        // The call's local variables end with it: the bindings they hid are back.
        const frame = after.frames.pop() ?? new Map();
        for (const [name, { saved: hidden, partial }] of frame) {
            const now = after.vars.get(name);
            if (partial) {
                const vals = [...(now ? now.vals : [{ t: "unset" } as Val]), ...(hidden ? hidden.vals : [{ t: "unset" } as Val])];
                after.vars.set(name, { vals: dedupeVals(vals), exported: (now?.exported ?? false) || (hidden?.exported ?? false) });
            } else if (hidden) {
                after.vars.set(name, { vals: [...hidden.vals], exported: hidden.exported });
            } else {
                after.vars.delete(name);
            }
        }
        return after;
    }

    private exportedEnv(st: ShellState): Map<string, string> {
        const env = new Map<string, string>();
        for (const [k, c] of st.vars) {
            if (!c.exported) {
                continue;
            }
            const strs = c.vals.filter((v) => v.t !== "unset");
            if (strs.length === 0) {
                continue;
            }
            const vs = strs.map((v) => (v.t === "s" ? v.v : (v.v?.[0] ?? ANY)));
            env.set(k, new Set(vs).size === 1 && strs.length === c.vals.length ? vs[0] : ANY);
        }
        return env;
    }

    private setVar(st: ShellState, name: string, vals: Val[], maybe: boolean, exported?: boolean, append = false, index?: string): void {
        const old = st.vars.get(name);
        let next = vals;
        if (append && old) {
            const combined: Val[] = [];
            for (const o of old.vals) {
                for (const v of vals) {
                    if (o.t === "a" && v.t === "a") {
                        combined.push({ t: "a", v: o.v && v.v ? [...o.v, ...v.v] : undefined });
                    } else if (o.t === "a" && v.t === "s") {
                        combined.push({ t: "a", v: o.v ? [...o.v.slice(0, -1), `${o.v[o.v.length - 1] ?? ""}${v.v}`] : undefined });
                    } else if (o.t === "s" && v.t === "s") {
                        combined.push({ t: "s", v: o.v + v.v });
                    } else if (o.t === "unset") {
                        combined.push(v);
                    } else {
                        combined.push({ t: "s", v: ANY });
                    }
                }
            }
            next = combined;
        }
        if (index !== undefined && !append) {
            // arr[i]=v: the array becomes partly unknown unless it was known.
            next = [{ t: "a", v: undefined }];
        }
        const exp = exported ?? old?.exported ?? false;
        // Branches run on copies of the state and are joined afterwards, so an assignment is definite here.
        void maybe;
        st.vars.set(name, { vals: dedupeVals(next), exported: exp });
    }

    // -----------------------------------------------------------------------------------------
    // Builtins

    private builtin(name: string, argv: string[], prefixEnv: Map<string, string>, st: ShellState, ctx: Ctx): ShellState | undefined {
        const args = argv.slice(1);
        // done(): the builtin prints nothing; done(x): it prints x, where undefined is text the pack cannot
        // know (a default parameter would turn that into "": printf with an unknown format printed nothing).
        const done = (...out: [] | [string | undefined]) => {
            emit(st, out.length === 0 ? "" : out[0]);
            return st;
        };
        switch (name) {
            case ":":
            case "true":
            case "false":
            case "test":
            case "[":
            case "echo":
            case "printf": {
                this.record("program", argv, this.exportedEnv(st), ctx, st.cwd);
                if (name === "printf" && plain(args[0] ?? "") === "-v") {
                    const target = plain(args[1] ?? "");
                    const text = this.builtinOutput("printf", args.slice(2));
                    this.setVar(st, target, [{ t: "s", v: text ?? ANY }], ctx.maybe);
                    return done("");
                }
                return done(this.builtinOutput(name, args));
            }
            case "cd": {
                const dir = args.find((a) => !plain(a).startsWith("-"));
                if (dir === undefined) {
                    st.cwd = this.exportedEnv(st).get("HOME") ?? "/";
                } else if (dir === FIELDS || !isKnown(plain(dir)) || !isKnown(st.cwd)) {
                    st.cwd = ANY;
                } else {
                    st.cwd = resolvePath(st.cwd, plain(dir));
                }
                return done();
            }
            case "pushd":
            case "popd":
                st.cwd = ANY;
                return done();
            case "export":
            case "readonly":
            case "declare":
            case "typeset":
            case "local": {
                // Reached with words already split (`builtin local …`, `command export …`): NAME=value words
                // are taken as they came.
                const items: DeclItem[] = [];
                const arrays = args.some((a) => /^-[A-Za-z]*a/.test(plain(a)));
                for (const a of args) {
                    if (a === FIELDS) {
                        items.push({ k: "fields" });
                        continue;
                    }
                    const m = /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=([\s\S]*)$/.exec(a);
                    if (m) {
                        const arr = /^\(([\s\S]*)\)$/.exec(plain(m[3]));
                        items.push({ k: "assign", name: m[1], append: m[2] === "+", vals: [arr && arrays ? { t: "a", v: splitUnquoted(arr[1]) } : { t: "s", v: m[3] }] });
                    } else {
                        items.push({ k: "word", text: a });
                    }
                }
                return this.declare(name, items, st, ctx);
            }
            case "unset":
                for (const a of args) {
                    if (!plain(a).startsWith("-") && isKnown(plain(a))) {
                        st.vars.delete(plain(a));
                    }
                }
                return done();
            case "set": {
                for (let k = 0; k < args.length; k++) {
                    const w = plain(args[k]);
                    if (/^-[A-Za-z]*e[A-Za-z]*$/.test(w) || (w === "-o" && plain(args[k + 1] ?? "") === "errexit")) {
                        st.errexit = true;
                    } else if (/^\+[A-Za-z]*e[A-Za-z]*$/.test(w) || (w === "+o" && plain(args[k + 1] ?? "") === "errexit")) {
                        st.errexit = false;
                    }
                }
                const dd = args.findIndex((a) => plain(a) === "--");
                if (dd >= 0) {
                    st.pos = args.slice(dd + 1).includes(FIELDS) ? undefined : args.slice(dd + 1);
                } else if (args.length > 0 && !/^[-+]/.test(plain(args[0]))) {
                    st.pos = args.includes(FIELDS) ? undefined : args;
                } else {
                    const rest = args.filter((a, i) => !/^[-+]/.test(plain(a)) && !/^[-+]o$/.test(plain(args[i - 1] ?? "")));
                    if (rest.length > 0 && !args.some((a) => /^[-+]o$/.test(plain(a)))) {
                        st.pos = rest.includes(FIELDS) ? undefined : rest;
                    }
                }
                return done();
            }
            case "shift": {
                const n = args[0] !== undefined ? Number(plain(args[0])) : 1;
                if (st.pos && Number.isInteger(n)) {
                    st.pos = st.pos.slice(n);
                } else {
                    st.pos = undefined;
                }
                return done();
            }
            case "eval": {
                const text = args.join(" ");
                if (args.includes(FIELDS) || hasFreeUnknown(text)) {
                    this.unknown("eval runs text the pack cannot expand", ctx);
                    return done(undefined);
                }
                let ast: Command;
                try {
                    ast = parseScript(text);
                } catch {
                    this.unknown("eval runs text that is not shell syntax the pack reads", ctx);
                    return done(undefined);
                }
                return this.run(ast, st, ctx);
            }
            case ".":
            case "source": {
                const file = args[0];
                if (file === undefined) {
                    return done();
                }
                if (file === FIELDS || !isKnown(plain(file))) {
                    this.unknown(`${name} reads a script whose path the pack cannot expand`, ctx);
                    return done(undefined);
                }
                const path = plain(file).includes("/") ? resolvePath(isKnown(st.cwd) ? st.cwd : "/", plain(file)) : plain(file);
                const reads = path.startsWith("/") ? this.fs.read(path) : [{ state: "unknown" as const, reason: `${path} is looked up on PATH` }];
                const texts = reads.filter((r) => r.state === "file").map((r) => (r as { text: string }).text);
                const why = reads.find((r) => r.state === "unknown") as { reason: string } | undefined;
                if (why || texts.length !== reads.length || new Set(texts).size !== 1) {
                    this.unknown(why ? `${name} ${path}: ${why.reason}` : `${name} ${path}: the file is not there or may be written with different contents`, ctx);
                    return done(undefined);
                }
                let ast: Command;
                try {
                    ast = parseScript(texts[0]);
                } catch (e) {
                    this.unknown(`${path} has shell syntax the pack does not read (${(e as Error).message})`, ctx);
                    return done(undefined);
                }
                const savedPos = st.pos;
                if (args.length > 1) {
                    st.pos = args.slice(1);
                }
                const r = this.run(ast, st, { ...ctx, via: path });
                r.pos = args.length > 1 ? savedPos : r.pos;
                return r;
            }
            case "exec": {
                const rest = args.slice();
                while (rest.length > 0 && /^-[cla]$/.test(plain(rest[0]))) {
                    rest.splice(0, plain(rest[0]) === "-a" ? 2 : 1);
                }
                if (rest.length === 0) {
                    return done();
                }
                const env = this.exportedEnv(st);
                prefixEnv.forEach((v, k) => env.set(k, v));
                emit(st, this.exec(rest, env, ctx, st.cwd));
                st.done = true;
                return st;
            }
            case "exit":
                st.done = true;
                return done();
            case "return": {
                const copy = cloneState(st);
                ctx.returns?.push(copy);
                st.jumped = "return";
                return done();
            }
            case "break":
            case "continue": {
                const copy = cloneState(st);
                ctx.breaks?.push(copy);
                st.jumped = "break";
                return done();
            }
            case "trap": {
                const cmd = args[0];
                if (cmd !== undefined && args.length > 1 && !/^-/.test(plain(cmd))) {
                    if (cmd === FIELDS || hasFreeUnknown(cmd)) {
                        this.unknown("trap runs text the pack cannot expand", ctx);
                    } else {
                        try {
                            this.run(parseScript(cmd), cloneState(st), { ...ctx, maybe: true, returns: undefined, breaks: undefined });
                        } catch {
                            this.unknown("trap runs text that is not shell syntax the pack reads", ctx);
                        }
                    }
                }
                return done();
            }
            case "read":
            case "getopts": {
                const names = args.filter((a, i) => !plain(a).startsWith("-") && !/^-[dnNptu]$/.test(plain(args[i - 1] ?? "")));
                const arrayName = args.findIndex((a) => plain(a) === "-a");
                if (arrayName >= 0 && args[arrayName + 1]) {
                    this.setVar(st, plain(args[arrayName + 1]), [{ t: "a", v: undefined }], false);
                }
                for (const n of name === "getopts" ? names.slice(1, 2) : names) {
                    if (isKnown(plain(n))) {
                        this.setVar(st, plain(n), [{ t: "s", v: ANY }], false);
                    }
                }
                if (name === "getopts") {
                    this.setVar(st, "OPTARG", [{ t: "s", v: ANY }], false);
                }
                return done();
            }
            case "mapfile":
            case "readarray": {
                const target = args.filter((a, i) => !plain(a).startsWith("-") && !/^-[dnOsuCc]$/.test(plain(args[i - 1] ?? ""))).pop();
                this.setVar(st, target ? plain(target) : "MAPFILE", [{ t: "a", v: undefined }], false);
                return done();
            }
            case "let":
                args.forEach((a) => this.arithAssignments(plain(a), st));
                return done();
            case "alias":
                if (args.some((a) => plain(a).includes("="))) {
                    this.unknown("alias renames commands, so the commands after it are not what they look like", ctx);
                }
                return done();
            case "enable":
                if (args.some((a) => plain(a) === "-f")) {
                    this.unknown("enable -f loads a builtin from a shared object", ctx);
                }
                return done();
            case "command":
            case "builtin": {
                const rest = args.filter((a) => !/^-[pvV]$/.test(plain(a)));
                if (args.some((a) => /^-[vV]$/.test(plain(a)))) {
                    return done(undefined);
                }
                if (rest.length === 0) {
                    return done();
                }
                if (name === "builtin") {
                    return this.builtin(plain(rest[0]), rest, prefixEnv, st, ctx) ?? done();
                }
                const b = this.builtin(plain(rest[0]), rest, prefixEnv, st, ctx);
                if (b) {
                    return b;
                }
                const env = this.exportedEnv(st);
                prefixEnv.forEach((v, k) => env.set(k, v));
                return done(this.exec(rest, env, ctx, st.cwd));
            }
            case "wait":
            case "umask":
            case "ulimit":
            case "type":
            case "hash":
            case "unalias":
            case "shopt":
            case "times":
            case "jobs":
            case "fg":
            case "bg":
            case "disown":
            case "help":
            case "history":
            case "caller":
            case "complete":
            case "compgen":
            case "dirs":
            case "suspend":
            case "logout":
            case "kill":
                return done(undefined);
            default:
                return undefined;
        }
    }

    /**
     * local / export / readonly / declare / typeset with their arguments: flags, names, and assignments (whose
     * values were expanded as assignments, without field splitting). `local` (and `declare`/`typeset` without
     * -g, in bash) inside a function makes the variable the call's own (restored when it returns); outside a
     * function `local` is an error that assigns nothing (dash and busybox then stop the script).
     */
    private declare(name: string, items: DeclItem[], st: ShellState, ctx: Ctx): ShellState {
        const done = () => {
            emit(st, "");
            return st;
        };
        const flags = items.map((i) => (i.k === "word" && /^[-+]/.test(plain(i.text)) ? plain(i.text) : "")).join("");
        if (/[fF]/.test(flags)) {
            return done();
        }
        const attributes = items.filter((i) => i.k === "word" && /^-[A-Za-z]*[nilu]/.test(plain(i.text)));
        if (name !== "export" && name !== "readonly" && attributes.length > 0) {
            // -n makes a name reference (assigning to it assigns another variable); -i/-l/-u/-c transform every
            // later assignment (arithmetic, case). Neither is modelled, so the variables' values are not known.
            this.unknown(`${name} ${attributes.map((i) => (i.k === "word" ? plain(i.text) : "")).join(" ")} gives variables an attribute (a name reference, or arithmetic or case conversion on every assignment) that the pack does not follow`, ctx);
        }
        const inFunction = st.frames.length > 0;
        if (name === "local" && !inFunction) {
            if (/^(dash|ash|busybox)$/.test(st.shell)) {
                st.done = true; // a fatal error in dash and busybox ash
            } else if (st.errexit && !ctx.cond) {
                st.done = true; // bash: status 1, so set -e stops here
            }
            return done();
        }
        const makesLocal = inFunction && (name === "local" || ((name === "declare" || name === "typeset") && !/g/.test(flags)));
        const exported = name === "export" || /x/.test(flags) ? true : undefined;
        const frame = st.frames[st.frames.length - 1];
        const hide = (n: string) => {
            if (makesLocal && !frame.has(n)) {
                const cell = st.vars.get(n);
                frame.set(n, { saved: cell ? { vals: [...cell.vals], exported: cell.exported } : undefined, partial: false });
            }
        };
        for (const item of items) {
            if (item.k === "fields") {
                this.unknown(`${name} gets names the pack cannot expand`, ctx);
                continue;
            }
            if (item.k === "assign") {
                for (const v of item.vals) {
                    if (v.t === "s") {
                        this.result.assignments.push({ name: item.name, value: v.v, via: ctx.via });
                    }
                }
                hide(item.name);
                this.setVar(st, item.name, item.vals, ctx.maybe, exported, item.append, item.index);
                continue;
            }
            const w = plain(item.text);
            if (/^[-+]/.test(w) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) {
                continue;
            }
            const old = st.vars.get(w);
            if (makesLocal) {
                // A new local without a value: unset in bash and busybox ash; dash keeps the value it hides.
                hide(w);
                const unset: Val = /a/.test(flags) ? { t: "a", v: [] } : { t: "unset" };
                // `sh` may be either (busybox in alpine images, dash in debian ones): both values.
                const vals = /^(bash|ash|busybox|hush)$/.test(st.shell) || !old ? [unset] : st.shell === "dash" ? old.vals : [...old.vals, unset];
                st.vars.set(w, { vals: dedupeVals(vals), exported: exported === true || (st.shell !== "bash" && (old?.exported ?? false)) });
            } else if (old) {
                old.exported = old.exported || exported === true;
            } else {
                st.vars.set(w, { vals: [/a/.test(flags) ? { t: "a", v: [] } : { t: "unset" }], exported: exported === true });
            }
        }
        return done();
    }

    /** The output of echo/printf (undefined when it cannot be told). */
    builtinOutput(name: string, args: string[]): string | undefined {
        if (args.includes(FIELDS)) {
            return undefined;
        }
        if (name === "echo") {
            let i = 0;
            let newline = true;
            while (i < args.length && /^-[neE]+$/.test(plain(args[i]))) {
                if (plain(args[i]).includes("n")) {
                    newline = false;
                }
                i++;
            }
            const text = args.slice(i).join(" ");
            if (plain(text).includes("\\")) {
                return undefined; // dash and busybox echo disagree on backslash escapes
            }
            return newline ? `${text}\n` : text;
        }
        if (name === "printf") {
            if (args.length === 0) {
                return "";
            }
            const fmt = args[0];
            if (!isKnown(plain(fmt))) {
                return undefined;
            }
            return printfFormat(plain(fmt), args.slice(1));
        }
        return "";
    }

    private arithAssignments(expr: string, st: ShellState): void {
        const re = /([A-Za-z_][A-Za-z0-9_]*)\s*(\+\+|--|[-+*/%&|^]?=(?!=))|(\+\+|--)\s*([A-Za-z_][A-Za-z0-9_]*)/g;
        let m: RegExpExecArray | null;
        while ((m = re.exec(expr)) !== null) {
            const n = m[1] ?? m[4];
            st.vars.set(n, { vals: [{ t: "s", v: DIGITS }], exported: st.vars.get(n)?.exported ?? false });
        }
    }

    // -----------------------------------------------------------------------------------------
    // Expansion

    private expandAssign(a: { value?: Word; array?: Word[] }, st: ShellState, ctx: Ctx): Val[] {
        if (a.array) {
            const fieldsCands = this.expandWords(a.array, st, ctx);
            return fieldsCands.map((f) => ({ t: "a", v: f.includes(FIELDS) ? undefined : f }) as Val);
        }
        if (!a.value) {
            return [{ t: "s", v: "" }];
        }
        const cands = this.segmentCands(a.value, st, ctx).map((segs) => segs.map((s) => s.s).join(""));
        return dedupeVals(cands.map((v) => ({ t: "s", v: v.includes(FIELDS) ? ANY : v })));
    }

    /** Expands a word to one string (redirection targets, here-documents): unquoted splitting does not apply. */
    private expandToString(w: Word, st: ShellState, ctx: Ctx, target = false): string {
        const cands = this.segmentCands(w, st, ctx).map((segs) => segs.map((s) => s.s).join(""));
        const set = Array.from(new Set(cands));
        void target;
        return set.length === 1 ? set[0].replace(new RegExp(FIELDS, "g"), ANY) : ANY;
    }

    /** A case pattern or ${x#pattern}: quoted characters match literally, no field splitting or pathname expansion. */
    patternString(w: Word, st: ShellState, ctx: Ctx): string {
        const cands = this.segmentCands(w, st, ctx).map((segs) => segs.map((seg) => (seg.glob ? seg.s : seg.s.replace(/[*?[\]\\]/g, "\\$&"))).join(""));
        return cands.length === 1 ? cands[0] : ANY;
    }

    /** Expands a command's words into candidate argv lists. */
    expandWords(words: Word[], st: ShellState, ctx: Ctx): string[][] {
        let out: string[][] = [[]];
        for (const w of words) {
            const cands = this.expandWord(w, st, ctx);
            const next: string[][] = [];
            for (const prefix of out) {
                for (const c of cands) {
                    next.push([...prefix, ...c]);
                }
            }
            out = next.length > MAX_ARGV_CANDIDATES ? collapse(next) : next;
        }
        return out;
    }

    /** One word's candidate field lists. */
    expandWord(w: Word, st: ShellState, ctx: Ctx): string[][] {
        const segCands = this.segmentCands(w, st, ctx);
        const out = segCands.map((segs) => this.fields(segs, st));
        const seen = new Set<string>();
        return out.filter((f) => {
            const k = JSON.stringify(f);
            if (seen.has(k)) {
                return false;
            }
            seen.add(k);
            return true;
        });
    }

    private segmentCands(w: Word, st: ShellState, ctx: Ctx): Seg[][] {
        let out: Seg[][] = [[]];
        for (const p of w.parts) {
            const pc = this.partSegs(p, st, ctx);
            const next: Seg[][] = [];
            for (const prefix of out) {
                for (const c of pc) {
                    next.push([...prefix, ...c]);
                }
            }
            out = next.length > MAX_ARGV_CANDIDATES ? [next[0].map((s) => ({ ...s, s: ANY }))] : next;
        }
        return out;
    }

    private partSegs(p: WordPart, st: ShellState, ctx: Ctx): Seg[][] {
        switch (p.t) {
            case "lit":
                return [[{ s: p.text, split: false, glob: !p.quoted }]];
            case "tilde": {
                const home = p.user === "" ? (this.lookup(st, "HOME")[0] as string | undefined) : undefined;
                return [[{ s: typeof home === "string" ? home : WORD, split: false, glob: false }]];
            }
            case "arith": {
                this.arithAssignments(p.expr, st);
                return [[{ s: evalArith(p.expr, (n) => this.scalar(st, n)), split: !p.quoted, glob: false }]];
            }
            case "cmdsub": {
                const sub = cloneState(st);
                sub.out = [""];
                const r = this.run(p.body, sub, { ...ctx, stdin: undefined, maybe: ctx.maybe, returns: undefined, breaks: undefined });
                const outs = r.out === undefined ? [ANY] : r.out.map((o) => (o.includes(FIELDS) ? ANY : o.replace(/\n+$/, "")));
                return outs.map((o) => [{ s: o, split: !p.quoted, glob: !p.quoted }]);
            }
            case "procsub":
                this.run(p.body, cloneState(st), { ...ctx, stdin: p.dir === ">" ? ANY : undefined, returns: undefined, breaks: undefined });
                return [[{ s: "/dev/fd/63", split: false, glob: false }]];
            case "param":
                return this.paramSegs(p, st, ctx);
        }
    }

    private scalar(st: ShellState, name: string): string | undefined {
        const vals = this.lookup(st, name);
        if (vals.length === 1 && typeof vals[0] === "string") {
            return vals[0];
        }
        return vals.length === 1 && vals[0] === undefined ? undefined : ANY;
    }

    /** The candidate values of a parameter: a string, a list (arrays, $@), or undefined (unset). */
    private lookup(st: ShellState, name: string): Array<string | string[] | undefined> {
        if (name === "@" || name === "*") {
            return [st.pos ? st.pos : [FIELDS]];
        }
        if (name === "#") {
            return [st.pos ? String(st.pos.length) : DIGITS];
        }
        if (name === "?" || name === "$" || name === "!") {
            return [DIGITS];
        }
        if (name === "-") {
            return [WORD];
        }
        if (name === "0") {
            return [st.arg0];
        }
        if (/^[1-9][0-9]*$/.test(name)) {
            if (!st.pos) {
                return [ANY];
            }
            return [st.pos[Number(name) - 1]];
        }
        const cell = st.vars.get(name);
        if (!cell) {
            const open = this.opts.openEnv?.find((o) => name.startsWith(o.prefix));
            return open ? [undefined, open.secret ? secret(ANY) : ANY] : [undefined];
        }
        return cell.vals.map((v) => (v.t === "s" ? v.v : v.t === "a" ? (v.v === undefined ? [FIELDS] : v.v) : undefined));
    }

    private paramSegs(p: WordPart & { t: "param" }, st: ShellState, ctx: Ctx): Seg[][] {
        const quoted = p.quoted;
        let values: Array<string | string[] | undefined>;
        if (p.indirect) {
            const target = this.scalar(st, p.name);
            values = target !== undefined && isKnown(target) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(target) ? this.lookup(st, target) : [ANY];
        } else {
            values = this.lookup(st, p.name);
        }
        const indexWord = p.index ? this.expandToString(p.index, st, ctx) : undefined;
        // Arrays: name[@] / name[*] expand to the list; name[n] to one element; name alone to element 0.
        values = values.map((v) => {
            if (Array.isArray(v)) {
                if (p.name === "@" || p.name === "*") {
                    return v;
                }
                if (indexWord === "@" || indexWord === "*") {
                    return v;
                }
                if (indexWord !== undefined) {
                    return /^\d+$/.test(indexWord) ? (v.includes(FIELDS) ? ANY : v[Number(indexWord)]) : ANY;
                }
                return v.includes(FIELDS) ? ANY : v[0];
            }
            if (indexWord !== undefined && indexWord !== "0" && indexWord !== "@" && indexWord !== "*") {
                return undefined;
            }
            return v;
        });
        if (p.length) {
            return [[{ s: values.length === 1 && typeof values[0] === "string" && isKnown(values[0]) ? String(plain(values[0]).length) : Array.isArray(values[0]) && !values[0].includes(FIELDS) ? String(values[0].length) : DIGITS, split: !quoted, glob: false }]];
        }
        const out: Seg[][] = [];
        for (const v of values) {
            for (const r of this.applyOp(p, v, st, ctx)) {
                if (r === undefined) {
                    out.push(quoted ? [{ s: "", split: false, glob: false }] : []);
                } else if (Array.isArray(r)) {
                    if (r.includes(FIELDS)) {
                        out.push([{ s: FIELDS, split: true, glob: false, fields: true }]);
                    } else if (quoted && (p.name === "*" || indexWord === "*")) {
                        out.push([{ s: r.join(" "), split: false, glob: false }]);
                    } else if (quoted) {
                        out.push(r.length === 0 ? [{ s: "", split: false, glob: false, vanish: true }] : r.map((x, i) => ({ s: x, split: false, glob: false, breakBefore: i > 0 })));
                    } else {
                        out.push(r.map((x, i) => ({ s: x, split: true, glob: true, breakBefore: i > 0 })));
                    }
                } else {
                    out.push([{ s: r, split: !quoted, glob: !quoted }]);
                }
            }
        }
        return out.length > 0 ? out : [[]];
    }

    /** Applies a ${name<op>word} operator to one candidate value. */
    private applyOp(p: WordPart & { t: "param" }, v: string | string[] | undefined, st: ShellState, ctx: Ctx): Array<string | string[] | undefined> {
        const op = p.op;
        if (!op) {
            return [v];
        }
        const word = () => (p.arg ? this.expandToString(p.arg, st, ctx) : "");
        const pattern = () => (p.arg ? this.patternString(p.arg, st, ctx) : "");
        const isUnsetOrNull = (x: typeof v, colon: boolean): boolean | "maybe" => {
            if (x === undefined) {
                return true;
            }
            if (Array.isArray(x)) {
                return x.length === 0;
            }
            if (!colon) {
                return false;
            }
            if (mayBeEmpty(x)) {
                return plain(x) === "" ? true : "maybe";
            }
            return false;
        };
        switch (op) {
            case "-":
            case ":-":
            case "=":
            case ":=": {
                const u = isUnsetOrNull(v, op.startsWith(":"));
                if (op.endsWith("=") && u !== false && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) {
                    this.setVar(st, p.name, [{ t: "s", v: u === true ? word() : ANY }], ctx.maybe || u === "maybe");
                }
                return u === true ? [word()] : u === "maybe" ? [v, word()] : [v];
            }
            case "+":
            case ":+": {
                const u = isUnsetOrNull(v, op.startsWith(":"));
                return u === true ? [""] : u === "maybe" ? ["", word()] : [word()];
            }
            case "?":
            case ":?":
                return [v];
            case "#":
            case "##":
            case "%":
            case "%%": {
                if (v === undefined) {
                    return [""];
                }
                const pat = pattern();
                const apply = (x: string) => trimPattern(x, pat, op);
                return [Array.isArray(v) ? v.map(apply) : apply(v)];
            }
            case "/":
            case "//":
            case "/#":
            case "/%": {
                if (v === undefined) {
                    return [""];
                }
                const pat = pattern();
                const rep = p.arg2 ? this.expandToString(p.arg2, st, ctx) : "";
                const apply = (x: string) => replacePattern(x, pat, rep, op);
                return [Array.isArray(v) ? v.map(apply) : apply(v)];
            }
            case ":": {
                const off = p.arg ? this.expandToString(p.arg, st, ctx) : "0";
                const len = p.arg2 ? this.expandToString(p.arg2, st, ctx) : undefined;
                if (Array.isArray(v)) {
                    const o = Number(plain(off).trim());
                    const l = len === undefined ? undefined : Number(plain(len).trim());
                    if (v.includes(FIELDS) || !Number.isInteger(o) || (l !== undefined && !Number.isInteger(l))) {
                        return [[FIELDS]];
                    }
                    return [v.slice(o, l === undefined ? undefined : l < 0 ? v.length + l : o + l)];
                }
                if (v === undefined) {
                    return [""];
                }
                if (!isKnown(v) || !isKnown(off) || (len !== undefined && !isKnown(len))) {
                    return [hasFreeUnknown(v) ? ANY : WORD];
                }
                const s = plain(v);
                const o = Number(plain(off).trim());
                const l = len === undefined ? undefined : Number(plain(len).trim());
                if (!Number.isInteger(o) || (l !== undefined && !Number.isInteger(l))) {
                    return [ANY];
                }
                const start = o < 0 ? Math.max(0, s.length + o) : o;
                return [l === undefined ? s.slice(start) : l < 0 ? s.slice(start, s.length + l) : s.slice(start, start + l)];
            }
            case "^":
            case "^^":
            case ",":
            case ",,": {
                if (v === undefined || Array.isArray(v)) {
                    return [v];
                }
                if (!isKnown(v)) {
                    return [v];
                }
                const s = plain(v);
                const up = op.startsWith("^");
                const all = op.length === 2;
                const conv = (c: string) => (up ? c.toUpperCase() : c.toLowerCase());
                return [all ? conv(s) : conv(s.slice(0, 1)) + s.slice(1)];
            }
            default:
                return [v === undefined ? undefined : Array.isArray(v) ? [FIELDS] : ANY];
        }
    }

    /** Field splitting and pathname expansion of one candidate segment list. */
    private fields(segs: Seg[], st: ShellState): string[] {
        const out: string[] = [];
        let cur: string | undefined;
        let glob = false;
        let unknownFields = false;
        const push = () => {
            if (cur !== undefined) {
                if (unknownFields) {
                    out.push(FIELDS);
                } else if (glob && isGlobPattern(plain(cur))) {
                    out.push(...this.glob(cur, st));
                } else {
                    out.push(cur);
                }
            }
            cur = undefined;
            glob = false;
            unknownFields = false;
        };
        for (const seg of segs) {
            if (seg.breakBefore) {
                push();
                cur = "";
            }
            if (seg.fields) {
                push();
                out.push(FIELDS);
                continue;
            }
            if (seg.vanish) {
                continue;
            }
            if (!seg.split) {
                cur = (cur ?? "") + seg.s;
                if (seg.glob && /[*?[]/.test(seg.s)) {
                    glob = true;
                }
                continue;
            }
            if (hasFreeUnknown(seg.s)) {
                cur = (cur ?? "") + seg.s;
                unknownFields = true;
                continue;
            }
            const pieces = splitBalanced(seg.s, /[ \t\n]+/);
            pieces.forEach((piece, i) => {
                if (i > 0) {
                    push();
                }
                if (piece !== "" && piece !== `${SECRET_OPEN}${SECRET_CLOSE}`) {
                    cur = (cur ?? "") + piece;
                    if (seg.glob && /[*?[]/.test(piece)) {
                        glob = true;
                    }
                }
            });
        }
        push();
        return out;
    }

    /** Pathname expansion against the files the pack can list; FIELDS when it cannot tell. */
    private glob(pattern: string, st: ShellState): string[] {
        const p = plain(pattern);
        if (!isKnown(p) || !isKnown(st.cwd)) {
            return [FIELDS];
        }
        const full = resolvePath(st.cwd, p);
        const dir = full.slice(0, full.lastIndexOf("/")) || "/";
        const last = full.slice(full.lastIndexOf("/") + 1);
        if (/[*?[]/.test(dir)) {
            return [FIELDS];
        }
        const listed = this.fs.list(dir);
        if ("unknown" in listed) {
            return [FIELDS];
        }
        const re = globToRegex(last);
        const hits = listed.files.filter((f) => re.test(f) && (last.startsWith(".") || !f.startsWith(".")));
        if (hits.length === 0) {
            return [pattern];
        }
        return hits.map((h) => normalisePath(`${dir}/${h}`));
    }
}

interface Seg {
    s: string;
    split: boolean;
    glob: boolean;
    /** A field boundary before this segment ("$@"). */
    breakBefore?: boolean;
    /** Any number of unknown fields. */
    fields?: boolean;
    /** "${empty[@]}": no field at all. */
    vanish?: boolean;
}

/** True when a word is a pathname pattern: `*`, `?` or a closed `[...]` bracket. */
function isGlobPattern(w: string): boolean {
    return /[*?]/.test(w) || /\[[^\]]+\]/.test(w);
}

/** Candidate argv lists beyond the limit: positions that differ become unknown. */
function collapse(cands: string[][]): string[][] {
    const len = cands[0].length;
    if (cands.some((c) => c.length !== len)) {
        return [[cands[0][0], FIELDS]];
    }
    return [cands[0].map((w, i) => (cands.every((c) => c[i] === w) ? w : ANY))];
}

function showWord(w: string): string {
    return w === FIELDS ? "…" : w.replace(/\uE002[^\uE003]*\uE003/g, "<secret>").replace(/[\uE000-\uE005]/g, "…");
}

/** Splits a string into words like the shell does without expansion (quotes removed), e.g. REDIS_ARGS. */
export function splitUnquoted(text: string): string[] {
    if (hasFreeUnknown(text)) {
        return [FIELDS];
    }
    const out: string[] = [];
    let cur: string | undefined;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (/\s/.test(ch)) {
            if (cur !== undefined) {
                out.push(cur);
                cur = undefined;
            }
        } else if (ch === "'" || ch === '"') {
            const end = text.indexOf(ch, i + 1);
            const stop = end < 0 ? text.length : end;
            cur = (cur ?? "") + text.slice(i + 1, stop);
            i = stop;
        } else if (ch === "\\" && i + 1 < text.length) {
            cur = (cur ?? "") + text[++i];
        } else {
            cur = (cur ?? "") + ch;
        }
    }
    if (cur !== undefined) {
        out.push(cur);
    }
    return out;
}

/** Matches a value against a case pattern: yes, no, or maybe (an unknown value). */
export function matchGlob(value: string, pattern: string): "yes" | "no" | "maybe" {
    if (!isKnown(pattern)) {
        return "maybe";
    }
    const pat = plain(pattern);
    if (isKnown(value)) {
        return globToRegex(pat).test(plain(value)) ? "yes" : "no";
    }
    const v = plain(value);
    if (pat === "*") {
        return "yes";
    }
    // A value of only DIGITS/WORD markers cannot be empty, and DIGITS has only digits.
    if (/^[\uE001\uE005]+$/.test(v)) {
        if (pat === "") {
            return "no";
        }
        const cls = negatedClass(pat);
        if (cls && v.split("").every((c) => c === DIGITS) && globToRegex(`[${cls}]`).test("0") && /0-9/.test(cls)) {
            return "no";
        }
    }
    return "maybe";
}

/** ${x#p} ${x##p} ${x%p} ${x%%p} on symbolic text. */
export function trimPattern(value: string, pattern: string, op: string): string {
    if (!isKnown(pattern)) {
        return hasFreeUnknown(value) ? ANY : WORD;
    }
    const pat = plain(pattern);
    if (isKnown(value) && !value.includes(SECRET_OPEN)) {
        return trimKnown(value, pat, op);
    }
    if (isKnown(value)) {
        return secret(trimKnown(plain(value), pat, op));
    }
    const v = plain(value);
    // `*X` (prefix up to the last/first literal X) and `X*` (suffix from the first/last literal X).
    const prefixPat = /^\*([^*?[\]\\]+)$/.exec(pat);
    const suffixPat = /^([^*?[\]\\]+)\*$/.exec(pat);
    const markerOnly = /^[\uE001\uE005]+$/.test(v);
    if (prefixPat || suffixPat) {
        const lit = (prefixPat ?? suffixPat)![1];
        const positions: number[] = [];
        for (let i = v.indexOf(lit); i >= 0; i = v.indexOf(lit, i + 1)) {
            positions.push(i);
        }
        const hidden = (from: number, to: number) => {
            for (let i = from; i < to; i++) {
                const c = v[i];
                if ((c === ANY || c === FIELDS) || ((c === WORD || c === DIGITS) && lit.split("").some((ch) => (c === DIGITS ? /[0-9]/ : /[A-Za-z0-9._-]/).test(ch)))) {
                    return true;
                }
            }
            return false;
        };
        if (positions.length === 0) {
            if (markerOnly) {
                return v; // the marker may or may not contain the literal: a WORD stays a WORD either way
            }
            return hidden(0, v.length) ? ANY : v;
        }
        if (prefixPat) {
            if (op === "##") {
                const at = positions[positions.length - 1];
                return hidden(at + lit.length, v.length) ? ANY : v.slice(at + lit.length);
            }
            const at = positions[0];
            return hidden(0, at) ? ANY : v.slice(at + lit.length);
        }
        if (op === "%") {
            const at = positions[positions.length - 1];
            return hidden(at + lit.length, v.length) ? ANY : v.slice(0, at);
        }
        const at = positions[0];
        return hidden(0, at) ? ANY : v.slice(0, at);
    }
    if (markerOnly && /^[*?]*[A-Za-z0-9._-]*[*?]*$/.test(pat)) {
        return v.includes(DIGITS) && !v.includes(WORD) ? DIGITS : WORD;
    }
    return hasFreeUnknown(v) ? ANY : WORD;
}

function trimKnown(s: string, pat: string, op: string): string {
    const re = globToRegex(pat);
    if (op === "#" || op === "##") {
        const lengths = Array.from({ length: s.length + 1 }, (_, i) => i);
        const order = op === "#" ? lengths : lengths.reverse();
        for (const i of order) {
            if (re.test(s.slice(0, i))) {
                return s.slice(i);
            }
        }
        return s;
    }
    const starts = Array.from({ length: s.length + 1 }, (_, i) => i);
    const order = op === "%" ? starts.reverse() : starts;
    for (const i of order) {
        if (re.test(s.slice(i))) {
            return s.slice(0, i);
        }
    }
    return s;
}

function replacePattern(value: string, pattern: string, rep: string, op: string): string {
    if (!isKnown(value) || !isKnown(pattern) || value.includes(SECRET_OPEN)) {
        return hasFreeUnknown(value) || hasFreeUnknown(rep) ? ANY : value.includes(SECRET_OPEN) ? secret(ANY) : WORD;
    }
    const s = plain(value);
    const body = globToRegex(plain(pattern), false).source;
    const re = new RegExp(op === "/#" ? `^(?:${body})` : op === "/%" ? `(?:${body})$` : body, op === "//" ? "g" : "");
    return s.replace(re, () => rep);
}

/** printf's format applied to its arguments (%s %d %b %%, \n \t escapes; the format is reused for extra arguments). */
export function printfFormat(fmt: string, args: string[]): string | undefined {
    let out = "";
    let ai = 0;
    let guard = 0;
    do {
        for (let i = 0; i < fmt.length; i++) {
            const c = fmt[i];
            if (c === "\\") {
                const n = fmt[++i];
                out += n === "n" ? "\n" : n === "t" ? "\t" : n === "\\" ? "\\" : n === '"' ? '"' : n === "r" ? "\r" : `\\${n ?? ""}`;
                continue;
            }
            if (c === "%") {
                const m = /^%([-+ #0]*\d*(?:\.\d+)?)([sdibuxXoc%])/.exec(fmt.slice(i));
                if (!m) {
                    return undefined;
                }
                i += m[0].length - 1;
                if (m[2] === "%") {
                    out += "%";
                    continue;
                }
                const a = args[ai++] ?? "";
                if (m[2] === "b" && plain(a).includes("\\")) {
                    return undefined;
                }
                out += m[2] === "s" || m[2] === "b" ? a : isKnown(a) ? a : DIGITS;
                continue;
            }
            out += c;
        }
        guard++;
    } while (ai < args.length && guard < 64 && /%[-+ #0]*\d*(?:\.\d+)?[sdibuxXoc]/.test(fmt));
    return out;
}

/** $((…)) with known numbers, or DIGITS. */
export function evalArith(expr: string, lookupVar: (name: string) => string | undefined): string {
    let unknown = false;
    const substituted = expr.replace(/\$?\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => {
        const v = lookupVar(n);
        if (v === undefined) {
            return "0";
        }
        const p = plain(v).trim();
        if (!/^-?\d+$/.test(p)) {
            unknown = true;
            return "0";
        }
        return p;
    });
    if (unknown || !/^[\d\s+\-*/%()]+$/.test(substituted)) {
        return DIGITS;
    }
    try {
        const v = arithEval(substituted);
        return Number.isFinite(v) ? String(Math.trunc(v)) : DIGITS;
    } catch {
        return DIGITS;
    }
}

function arithEval(s: string): number {
    let i = 0;
    const skip = () => {
        while (s[i] === " ") {
            i++;
        }
    };
    const primary = (): number => {
        skip();
        if (s[i] === "(") {
            i++;
            const v = sum();
            skip();
            i++;
            return v;
        }
        if (s[i] === "-") {
            i++;
            return -primary();
        }
        if (s[i] === "+") {
            i++;
            return primary();
        }
        const m = /^\d+/.exec(s.slice(i));
        if (!m) {
            throw new Error("bad");
        }
        i += m[0].length;
        return Number(m[0]);
    };
    const product = (): number => {
        let v = primary();
        for (;;) {
            skip();
            const c = s[i];
            if (c === "*" || c === "/" || c === "%") {
                i++;
                const r = primary();
                v = c === "*" ? v * r : c === "/" ? Math.trunc(v / r) : v % r;
            } else {
                return v;
            }
        }
    };
    const sum = (): number => {
        let v = product();
        for (;;) {
            skip();
            const c = s[i];
            if (c === "+" || c === "-") {
                i++;
                const r = product();
                v = c === "+" ? v + r : v - r;
            } else {
                return v;
            }
        }
    };
    const v = sum();
    skip();
    if (i !== s.length) {
        throw new Error("bad");
    }
    return v;
}

/** An awk program that starts no command and writes no file: no system(), no pipes, no output redirection. */
export function awkIsInert(program: string): boolean {
    if (/\bsystem\s*\(/.test(program)) {
        return false;
    }
    // Drop string literals and regular-expression literals, then parenthesised expressions (where `>` compares).
    let p = program.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    p = p.replace(/(^|[(,~!{};&|]\s*|\n\s*)\/(?:[^/\\\n]|\\.)+\//g, "$1//");
    // Innermost first, each to a paren-free token, so nested groups (`if (index(a, b) > 0)`) collapse too.
    for (let guard = 0; guard < 50 && /\([^()]*\)/.test(p); guard++) {
        p = p.replace(/\([^()]*\)/g, " _ ");
    }
    if (/[^|]\|[^|]/.test(` ${p} `.replace(/\|\|/g, "  "))) {
        return false;
    }
    for (const stmt of p.split(/[;{}\n]/)) {
        if (/\bprintf?\b/.test(stmt) && />/.test(stmt)) {
            return false;
        }
    }
    if (/\bgetline\b/.test(p) && /\|\s*getline/.test(p)) {
        return false;
    }
    return true;
}

/** Parses one sed `s` command into a JavaScript replacement; "exec" for e/w; undefined for anything else. */
export function parseSedSubstitute(cmd: string, ere: boolean): { re: RegExp; repl: string; global: boolean } | "exec" | undefined {
    if (/^[0-9,$/]*\s*[ewW]\b/.test(cmd) || /^e(\s|$)/.test(cmd)) {
        return "exec";
    }
    if (!cmd.startsWith("s") || cmd.length < 4) {
        return /^(\d+|\$)?\s*[pdqQ=lnNgGhHxDP]/.test(cmd) ? undefined : undefined;
    }
    const d = cmd[1];
    const parts: string[] = [];
    let cur = "";
    let i = 2;
    for (; i < cmd.length && parts.length < 2; i++) {
        const c = cmd[i];
        if (c === "\\" && i + 1 < cmd.length) {
            cur += c + cmd[++i];
        } else if (c === d) {
            parts.push(cur);
            cur = "";
        } else {
            cur += c;
        }
    }
    if (parts.length < 2) {
        return undefined;
    }
    const flags = cmd.slice(i).trim();
    if (/[ewW]/.test(flags)) {
        return "exec";
    }
    if (!/^[gI0-9]*$/.test(flags)) {
        return undefined;
    }
    const [pat, rep] = parts;
    if (!isKnown(pat) || /[\uE002\uE003]/.test(pat)) {
        return undefined; // the pattern depends on values the pack cannot know
    }
    let src = "";
    for (let j = 0; j < pat.length; j++) {
        const c = pat[j];
        if (c === "\\" && j + 1 < pat.length) {
            const n = pat[++j];
            if (!ere && (n === "(" || n === ")" || n === "{" || n === "}" || n === "|" || n === "+" || n === "?")) {
                src += n;
            } else if (n === d || /[.*[\]^$\\/]/.test(n)) {
                src += `\\${n}`;
            } else if (n === "n") {
                src += "\\n";
            } else if (/[0-9]/.test(n)) {
                src += `\\${n}`;
            } else {
                src += n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
            }
        } else if (!ere && /[(){}|+?]/.test(c)) {
            src += `\\${c}`;
        } else {
            src += c;
        }
    }
    let repl = "";
    for (let j = 0; j < rep.length; j++) {
        const c = rep[j];
        if (c === "\\" && j + 1 < rep.length) {
            const n = rep[++j];
            repl += /[1-9]/.test(n) ? `$${n}` : n === "n" ? "\n" : n === "&" ? "&" : n === "$" ? "$$" : n;
        } else if (c === "&") {
            repl += "$&";
        } else if (c === "$") {
            repl += "$$";
        } else {
            repl += c;
        }
    }
    let re: RegExp;
    try {
        re = new RegExp(src, `${flags.includes("g") ? "g" : ""}${flags.includes("I") ? "i" : ""}`);
    } catch {
        return undefined;
    }
    return { re, repl, global: flags.includes("g") };
}
