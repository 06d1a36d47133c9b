// A parser for the shell scripts containers run (POSIX sh as dash and busybox ash read it, plus the bash
// features start scripts use): simple commands with assignments and redirections, pipelines, `&&`/`||`,
// lists, `{ }` and `( )`, if/while/until/for/case, functions, `[[ ]]`, `(( ))`, arrays, here-documents,
// and words with every kind of quoting and expansion (`$x`, `${x…}`, `$(…)`, backticks, `$((…))`, `$'…'`,
// process substitution, tildes, globs). It builds a syntax tree; shellRun.ts gives it meaning.
//
// It never guesses: a construct it does not parse makes parseScript throw ShellSyntaxError, and the caller
// then treats the whole script as one the pack cannot follow.

export class ShellSyntaxError extends Error {
    constructor(message: string, readonly pos: number) {
        super(message);
        this.name = "ShellSyntaxError";
    }
}

export type WordPart =
    | { t: "lit"; text: string; quoted: boolean }
    | { t: "param"; name: string; quoted: boolean; op?: string; arg?: Word; arg2?: Word; index?: Word; length?: boolean; indirect?: boolean; raw: string }
    | { t: "cmdsub"; body: Script; quoted: boolean; raw: string }
    | { t: "arith"; expr: string; quoted: boolean }
    | { t: "procsub"; dir: "<" | ">"; body: Script }
    | { t: "tilde"; user: string };

export interface Word {
    parts: WordPart[];
    /** The source text of the word. */
    raw: string;
}

export interface Redir {
    fd?: number;
    op: string;
    target?: Word;
    heredoc?: { body: string; quoted: boolean; strip: boolean; delimiter: string };
}

export interface Assign {
    name: string;
    index?: string;
    append: boolean;
    value?: Word;
    array?: Word[];
}

export type Command =
    | { t: "simple"; assigns: Assign[]; words: Word[]; redirs: Redir[]; declAssigns?: Array<Assign | undefined> }
    | { t: "pipeline"; cmds: Command[]; bang: boolean }
    | { t: "andor"; first: Command; rest: Array<{ op: "&&" | "||"; cmd: Command }> }
    | { t: "list"; items: Array<{ cmd: Command; bg: boolean }> }
    | { t: "group"; body: Command; redirs: Redir[] }
    | { t: "subshell"; body: Command; redirs: Redir[] }
    | { t: "if"; clauses: Array<{ cond: Command; body: Command }>; else?: Command; redirs: Redir[] }
    | { t: "loop"; until: boolean; cond: Command; body: Command; redirs: Redir[] }
    | { t: "for"; name: string; words?: Word[]; body: Command; redirs: Redir[] }
    | { t: "case"; word: Word; arms: Array<{ patterns: Word[]; body: Command; term: string }>; redirs: Redir[] }
    | { t: "funcdef"; name: string; body: Command }
    | { t: "dbracket"; words: Word[]; redirs: Redir[] }
    | { t: "arith"; expr: string; redirs: Redir[] };

export type Script = Command;

const META = new Set(["|", "&", ";", "<", ">", "(", ")", "\n"]);
const RESERVED_END = new Set(["then", "else", "elif", "fi", "do", "done", "esac", "}"]);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Builtins whose NAME=value arguments are assignments. */
export const DECLARATION_BUILTINS = new Set(["local", "export", "readonly", "declare", "typeset"]);

interface PendingHeredoc {
    redir: Redir;
    delimiter: string;
    strip: boolean;
    quoted: boolean;
}

class Parser {
    i = 0;
    private pending: PendingHeredoc[] = [];

    constructor(readonly s: string) {}

    error(msg: string): never {
        throw new ShellSyntaxError(`${msg} at offset ${this.i}`, this.i);
    }

    peek(n = 0): string {
        return this.s[this.i + n] ?? "";
    }

    startsWith(t: string): boolean {
        return this.s.startsWith(t, this.i);
    }

    /** Skips blanks, line continuations and comments (not newlines). */
    skipBlanks(): void {
        for (;;) {
            const c = this.peek();
            if (c === " " || c === "\t" || c === "\r") {
                this.i++;
            } else if (c === "\\" && this.peek(1) === "\n") {
                this.i += 2;
            } else if (c === "#") {
                while (this.i < this.s.length && this.peek() !== "\n") {
                    this.i++;
                }
            } else {
                return;
            }
        }
    }

    /** Consumes one newline and reads the here-document bodies waiting for it. */
    newline(): void {
        this.i++;
        for (const h of this.pending) {
            const lines: string[] = [];
            let found = false;
            while (this.i < this.s.length) {
                let end = this.s.indexOf("\n", this.i);
                if (end < 0) {
                    end = this.s.length;
                }
                let line = this.s.slice(this.i, end);
                this.i = Math.min(end + 1, this.s.length);
                if (h.strip) {
                    line = line.replace(/^\t+/, "");
                }
                if (line.replace(/\r$/, "") === h.delimiter) {
                    found = true;
                    break;
                }
                lines.push(line);
            }
            if (!found && lines.length === 0 && this.i >= this.s.length) {
                // A here-document that ends with the script is accepted by shells (with a warning).
            }
            h.redir.heredoc = { body: lines.length > 0 ? lines.join("\n") + "\n" : "", quoted: h.quoted, strip: h.strip, delimiter: h.delimiter };
        }
        this.pending = [];
    }

    /** Skips blanks and newlines (and semicolons when `semis`). */
    skipSeparators(semis = false): void {
        for (;;) {
            this.skipBlanks();
            const c = this.peek();
            if (c === "\n") {
                this.newline();
            } else if (semis && c === ";" && this.peek(1) !== ";") {
                this.i++;
            } else {
                return;
            }
        }
    }

    /** The next word if it is an unquoted reserved word (without consuming it). */
    peekReserved(): string | undefined {
        this.skipBlanks();
        const m = /^([A-Za-z!{}[\]]+|\[\[|\]\]|!)(?=[\s;&|()<>]|$)/.exec(this.s.slice(this.i));
        return m ? m[1] : undefined;
    }

    expectReserved(word: string): void {
        if (this.peekReserved() !== word) {
            this.error(`expected "${word}"`);
        }
        this.i += word.length;
    }

    /** A list of commands up to one of the terminating reserved words or characters. */
    parseList(stop: (p: Parser) => boolean): Command {
        const items: Array<{ cmd: Command; bg: boolean }> = [];
        for (;;) {
            this.skipSeparators(true);
            if (this.i >= this.s.length || stop(this)) {
                break;
            }
            const cmd = this.parseAndOr();
            this.skipBlanks();
            let bg = false;
            if (this.peek() === "&" && this.peek(1) !== "&" && this.peek(1) !== ">") {
                bg = true;
                this.i++;
            } else if (this.peek() === ";" && this.peek(1) !== ";" && this.peek(1) !== "&") {
                this.i++;
            }
            items.push({ cmd, bg });
        }
        return items.length === 1 && !items[0].bg ? items[0].cmd : { t: "list", items };
    }

    parseAndOr(): Command {
        const first = this.parsePipeline();
        const rest: Array<{ op: "&&" | "||"; cmd: Command }> = [];
        for (;;) {
            this.skipBlanks();
            const op = this.startsWith("&&") ? "&&" : this.startsWith("||") ? "||" : undefined;
            if (!op) {
                break;
            }
            this.i += 2;
            this.skipSeparators();
            rest.push({ op, cmd: this.parsePipeline() });
        }
        return rest.length === 0 ? first : { t: "andor", first, rest };
    }

    parsePipeline(): Command {
        this.skipBlanks();
        let bang = false;
        for (;;) {
            const r = this.peekReserved();
            if (r === "!") {
                bang = true;
                this.i++;
            } else if (r === "time") {
                this.i += 4;
                this.skipBlanks();
                while (this.peek() === "-") {
                    this.readWord();
                    this.skipBlanks();
                }
            } else {
                break;
            }
        }
        const cmds = [this.parseCommand()];
        for (;;) {
            this.skipBlanks();
            if (this.peek() === "|" && this.peek(1) !== "|") {
                this.i += this.peek(1) === "&" ? 2 : 1;
                this.skipSeparators();
                cmds.push(this.parseCommand());
            } else {
                break;
            }
        }
        return cmds.length === 1 && !bang ? cmds[0] : { t: "pipeline", cmds, bang };
    }

    parseRedirs(into: Redir[]): void {
        for (;;) {
            this.skipBlanks();
            const r = this.tryRedir();
            if (!r) {
                return;
            }
            into.push(r);
        }
    }

    parseCommand(): Command {
        this.skipBlanks();
        const r = this.peekReserved();
        const compound = (c: Command & { redirs: Redir[] }): Command => {
            this.parseRedirs(c.redirs);
            return c;
        };
        switch (r) {
            case "{": {
                this.i++;
                const body = this.parseList((p) => p.peekReserved() === "}");
                this.expectReserved("}");
                return compound({ t: "group", body, redirs: [] });
            }
            case "if": {
                this.i += 2;
                const clauses: Array<{ cond: Command; body: Command }> = [];
                let elseBody: Command | undefined;
                for (;;) {
                    const cond = this.parseList((p) => p.peekReserved() === "then");
                    this.expectReserved("then");
                    const body = this.parseList((p) => ["elif", "else", "fi"].includes(p.peekReserved() ?? ""));
                    clauses.push({ cond, body });
                    const next = this.peekReserved();
                    if (next === "elif") {
                        this.i += 4;
                        continue;
                    }
                    if (next === "else") {
                        this.i += 4;
                        elseBody = this.parseList((p) => p.peekReserved() === "fi");
                    }
                    this.expectReserved("fi");
                    break;
                }
                return compound({ t: "if", clauses, else: elseBody, redirs: [] });
            }
            case "while":
            case "until": {
                this.i += r.length;
                const cond = this.parseList((p) => p.peekReserved() === "do");
                this.expectReserved("do");
                const body = this.parseList((p) => p.peekReserved() === "done");
                this.expectReserved("done");
                return compound({ t: "loop", until: r === "until", cond, body, redirs: [] });
            }
            case "for":
            case "select": {
                this.i += r.length;
                this.skipBlanks();
                if (this.startsWith("((")) {
                    const expr = this.readArith();
                    this.skipSeparators(true);
                    this.expectReserved("do");
                    const body = this.parseList((p) => p.peekReserved() === "done");
                    this.expectReserved("done");
                    return compound({ t: "loop", until: false, cond: { t: "arith", expr, redirs: [] }, body, redirs: [] });
                }
                const nameWord = this.readWord();
                const name = nameWord?.raw ?? "";
                if (!NAME_RE.test(name)) {
                    this.error("bad for loop variable");
                }
                let words: Word[] | undefined;
                this.skipSeparators();
                if (this.peekReserved() === "in") {
                    this.i += 2;
                    words = [];
                    for (;;) {
                        this.skipBlanks();
                        const c = this.peek();
                        if (c === ";" || c === "\n" || c === "") {
                            break;
                        }
                        const w = this.readWord();
                        if (!w) {
                            this.error("bad for loop word");
                        }
                        words.push(w);
                    }
                }
                this.skipSeparators(true);
                this.expectReserved("do");
                const body = this.parseList((p) => p.peekReserved() === "done");
                this.expectReserved("done");
                return compound({ t: "for", name, words, body, redirs: [] });
            }
            case "case": {
                this.i += 4;
                this.skipBlanks();
                const word = this.readWord();
                if (!word) {
                    this.error("case without a word");
                }
                this.skipSeparators();
                this.expectReserved("in");
                const arms: Array<{ patterns: Word[]; body: Command; term: string }> = [];
                for (;;) {
                    this.skipSeparators();
                    if (this.peekReserved() === "esac") {
                        this.i += 4;
                        break;
                    }
                    if (this.peek() === "(") {
                        this.i++;
                    }
                    const patterns: Word[] = [];
                    for (;;) {
                        this.skipBlanks();
                        const w = this.readWord(true);
                        if (!w) {
                            this.error("bad case pattern");
                        }
                        patterns.push(w);
                        this.skipBlanks();
                        if (this.peek() === "|") {
                            this.i++;
                            continue;
                        }
                        if (this.peek() === ")") {
                            this.i++;
                            break;
                        }
                        this.error("bad case pattern list");
                    }
                    const body = this.parseList((p) => p.startsWith(";;") || p.startsWith(";&") || p.peekReserved() === "esac");
                    let term = ";;";
                    this.skipBlanks();
                    if (this.startsWith(";;&")) {
                        term = ";;&";
                        this.i += 3;
                    } else if (this.startsWith(";;")) {
                        this.i += 2;
                    } else if (this.startsWith(";&")) {
                        term = ";&";
                        this.i += 2;
                    }
                    arms.push({ patterns, body, term });
                }
                return compound({ t: "case", word, arms, redirs: [] });
            }
            case "function": {
                this.i += 8;
                this.skipBlanks();
                const w = this.readWord();
                const name = w?.raw ?? "";
                this.skipBlanks();
                if (this.startsWith("()")) {
                    this.i += 2;
                }
                this.skipSeparators();
                return { t: "funcdef", name, body: this.parseCommand() };
            }
            case "[[": {
                this.i += 2;
                const words: Word[] = [];
                for (;;) {
                    this.skipBlanks();
                    if (this.startsWith("]]")) {
                        this.i += 2;
                        break;
                    }
                    if (this.i >= this.s.length) {
                        this.error("unterminated [[");
                    }
                    const w = this.readWord(false, true);
                    if (!w) {
                        this.error("bad [[ expression");
                    }
                    words.push(w);
                }
                return compound({ t: "dbracket", words, redirs: [] });
            }
            default:
                break;
        }
        if (r !== undefined && RESERVED_END.has(r)) {
            this.error(`unexpected "${r}"`);
        }
        if (this.startsWith("((")) {
            const expr = this.readArith();
            return compound({ t: "arith", expr, redirs: [] });
        }
        if (this.peek() === "(") {
            this.i++;
            const body = this.parseList((p) => p.peek() === ")");
            if (this.peek() !== ")") {
                this.error("unterminated subshell");
            }
            this.i++;
            return compound({ t: "subshell", body, redirs: [] });
        }
        return this.parseSimple();
    }

    readArith(): string {
        // `((` … `))` with nested parentheses.
        const start = this.i + 2;
        let depth = 0;
        for (let j = this.i; j < this.s.length; j++) {
            const c = this.s[j];
            if (c === "(") {
                depth++;
            } else if (c === ")") {
                depth--;
                if (depth === 0) {
                    this.i = j + 1;
                    return this.s.slice(start, j - 1);
                }
            }
        }
        this.error("unterminated (( ))");
    }

    parseSimple(): Command {
        const declAssigns: Array<Assign | undefined> = [];
        const assigns: Assign[] = [];
        const words: Word[] = [];
        const redirs: Redir[] = [];
        for (;;) {
            this.skipBlanks();
            const c = this.peek();
            if (c === "" || c === "\n" || c === ";" || c === ")" || c === "|" || (c === "&" && this.peek(1) !== ">")) {
                break;
            }
            const redir = this.tryRedir();
            if (redir) {
                redirs.push(redir);
                continue;
            }
            if (words.length === 0) {
                const a = this.tryAssign();
                if (a) {
                    assigns.push(a);
                    continue;
                }
            }
            if (c === "(") {
                if (words.length === 1 && assigns.length === 0 && /^\(\s*\)/.test(this.s.slice(this.i))) {
                    // `name ()` function definition
                    const name = words[0].raw;
                    this.i = this.s.indexOf(")", this.i) + 1;
                    this.skipSeparators();
                    return { t: "funcdef", name, body: this.parseCommand() };
                }
                if (words.length === 0 && assigns.length === 0) {
                    break;
                }
                this.error('unexpected "("');
            }
            // The arguments of a declaration builtin (local, export, readonly, declare, typeset) that look
            // like assignments are assignments: no field splitting or pathname expansion of their value (bash,
            // dash 0.5.11 and later, busybox ash). They are kept both ways, as an assignment and as a word.
            // Only for the unquoted name: bash splits `"export" a=$b` (dash does not), so that stays a word.
            if (words.length > 0 && words[0].parts.every((p) => p.t === "lit" && !p.quoted) && DECLARATION_BUILTINS.has(literalWord(words[0]) ?? "")) {
                const start = this.i;
                const a = this.tryAssign();
                if (a) {
                    const end = this.i;
                    this.i = start;
                    const raw = this.s.slice(start, end);
                    const w = a.array ? { parts: [{ t: "lit" as const, text: raw, quoted: true }], raw } : this.readWord();
                    const same = a.array !== undefined || this.i === end;
                    this.i = end;
                    if (w && same) {
                        declAssigns[words.length] = a;
                        words.push(w);
                        continue;
                    }
                    this.i = start;
                }
            }
            const w = this.readWord();
            if (!w) {
                this.error(`unexpected "${c}"`);
            }
            words.push(w);
        }
        if (words.length === 0 && assigns.length === 0 && redirs.length === 0) {
            this.error(`expected a command, found "${this.s.slice(this.i, this.i + 10)}"`);
        }
        const cmd: Command = { t: "simple", assigns, words, redirs };
        if (declAssigns.some((a) => a !== undefined)) {
            cmd.declAssigns = Array.from({ length: words.length }, (_, k) => declAssigns[k]);
        }
        return cmd;
    }

    tryAssign(): Assign | undefined {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=/.exec(this.s.slice(this.i));
        if (!m) {
            return undefined;
        }
        this.i += m[0].length;
        const a: Assign = { name: m[1], index: m[2] ? m[2].slice(1, -1) : undefined, append: m[3] === "+" };
        if (this.peek() === "(") {
            this.i++;
            const items: Word[] = [];
            for (;;) {
                this.skipSeparators();
                if (this.peek() === ")") {
                    this.i++;
                    break;
                }
                if (this.i >= this.s.length) {
                    this.error("unterminated array");
                }
                const w = this.readWord();
                if (!w) {
                    this.error("bad array element");
                }
                items.push(w);
            }
            a.array = items;
            return a;
        }
        const c = this.peek();
        if (c === "" || c === " " || c === "\t" || c === "\n" || c === ";" || c === "&" || c === "|" || c === ")") {
            a.value = { parts: [], raw: "" };
        } else {
            a.value = this.readWord() ?? { parts: [], raw: "" };
        }
        return a;
    }

    tryRedir(): Redir | undefined {
        const m = /^(\d*)(&>>|&>|<<<|<<-|<<|>>|>&|<&|<>|>\||>|<)/.exec(this.s.slice(this.i));
        if (!m) {
            return undefined;
        }
        // `<(` and `>(` are process substitutions, not redirections.
        if ((m[2] === "<" || m[2] === ">") && this.s[this.i + m[0].length] === "(" && m[1] === "") {
            return undefined;
        }
        this.i += m[0].length;
        const r: Redir = { fd: m[1] ? Number(m[1]) : undefined, op: m[2] };
        this.skipBlanks();
        const target = this.readWord();
        if (!target) {
            this.error("redirection without a target");
        }
        if (r.op === "<<" || r.op === "<<-") {
            const quoted = target.parts.some((p) => p.t === "lit" && p.quoted) || /['"\\]/.test(target.raw);
            const delimiter = target.parts.map((p) => (p.t === "lit" ? p.text : "")).join("");
            this.pending.push({ redir: r, delimiter, strip: r.op === "<<-", quoted });
        } else {
            r.target = target;
        }
        return r;
    }

    /**
     * Reads one word. `pattern`: in a case pattern, `|` and `)` end the word. `dbracket`: inside `[[ ]]`,
     * operators are words.
     */
    readWord(pattern = false, dbracket = false): Word | undefined {
        const start = this.i;
        const parts: WordPart[] = [];
        const lit = (text: string, quoted: boolean) => {
            const last = parts[parts.length - 1];
            if (last && last.t === "lit" && last.quoted === quoted) {
                last.text += text;
            } else {
                parts.push({ t: "lit", text, quoted });
            }
        };
        if (this.peek() === "~" && !pattern) {
            const m = /^~([A-Za-z0-9_.-]*)/.exec(this.s.slice(this.i));
            const after = this.s[this.i + (m?.[0].length ?? 1)];
            if (m && (after === undefined || after === "/" || /[\s;&|)<>:]/.test(after))) {
                parts.push({ t: "tilde", user: m[1] });
                this.i += m[0].length;
            }
        }
        while (this.i < this.s.length) {
            const c = this.peek();
            if (dbracket) {
                if (c === " " || c === "\t" || c === "\n" || c === "\r") {
                    break;
                }
                if (this.startsWith("]]")) {
                    break;
                }
            } else {
                if (c === " " || c === "\t" || c === "\n" || c === "\r") {
                    break;
                }
                if (META.has(c)) {
                    if ((c === "<" || c === ">") && this.peek(1) === "(" && parts.length === 0) {
                        this.i += 2;
                        const body = this.parseList((p) => p.peek() === ")");
                        if (this.peek() !== ")") {
                            this.error("unterminated process substitution");
                        }
                        this.i++;
                        parts.push({ t: "procsub", dir: c, body });
                        continue;
                    }
                    if (pattern && c === "(" && parts.length > 0) {
                        // extglob such as @(a|b): keep literally
                    }
                    break;
                }
            }
            if (c === "\\") {
                const n = this.peek(1);
                if (n === "\n") {
                    this.i += 2;
                    continue;
                }
                if (n !== "") {
                    lit(n, true);
                }
                this.i += 2;
                continue;
            }
            if (c === "'") {
                const end = this.s.indexOf("'", this.i + 1);
                if (end < 0) {
                    this.error("unterminated single quote");
                }
                lit(this.s.slice(this.i + 1, end), true);
                this.i = end + 1;
                continue;
            }
            if (c === '"') {
                this.i++;
                this.readDoubleQuoted(parts, lit);
                continue;
            }
            if (c === "$" && this.peek(1) === "'") {
                this.i += 2;
                lit(this.readAnsiC(), true);
                continue;
            }
            if (c === "$" || c === "`") {
                const p = this.readExpansion(false);
                if (p) {
                    parts.push(p);
                } else {
                    lit("$", false);
                }
                continue;
            }
            lit(c, false);
            this.i++;
        }
        if (this.i === start) {
            return undefined;
        }
        return { parts, raw: this.s.slice(start, this.i) };
    }

    readDoubleQuoted(parts: WordPart[], lit: (t: string, q: boolean) => void): void {
        for (;;) {
            if (this.i >= this.s.length) {
                this.error("unterminated double quote");
            }
            const c = this.peek();
            if (c === '"') {
                this.i++;
                if (parts.length === 0) {
                    lit("", true);
                }
                return;
            }
            if (c === "\\") {
                const n = this.peek(1);
                if (n === "\n") {
                    this.i += 2;
                } else if ('"\\$`'.includes(n)) {
                    lit(n, true);
                    this.i += 2;
                } else {
                    lit("\\", true);
                    this.i++;
                }
                continue;
            }
            if (c === "$" || c === "`") {
                const p = this.readExpansion(true);
                if (p) {
                    parts.push(p);
                } else {
                    lit("$", true);
                }
                continue;
            }
            lit(c, true);
            this.i++;
        }
    }

    readAnsiC(): string {
        let out = "";
        for (;;) {
            if (this.i >= this.s.length) {
                this.error("unterminated $'");
            }
            const c = this.peek();
            if (c === "'") {
                this.i++;
                return out;
            }
            if (c === "\\") {
                const n = this.peek(1);
                const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", e: "\x1b", E: "\x1b", f: "\f", v: "\v", "\\": "\\", "'": "'", '"': '"', "?": "?" };
                if (n in simple) {
                    out += simple[n];
                    this.i += 2;
                    continue;
                }
                const hex = /^x([0-9a-fA-F]{1,2})/.exec(this.s.slice(this.i + 1));
                if (hex) {
                    out += String.fromCharCode(parseInt(hex[1], 16));
                    this.i += 1 + hex[0].length;
                    continue;
                }
                const oct = /^([0-7]{1,3})/.exec(this.s.slice(this.i + 1));
                if (oct) {
                    out += String.fromCharCode(parseInt(oct[1], 8));
                    this.i += 1 + oct[0].length;
                    continue;
                }
                const uni = /^[uU]([0-9a-fA-F]{1,8})/.exec(this.s.slice(this.i + 1));
                if (uni) {
                    out += String.fromCodePoint(parseInt(uni[1], 16));
                    this.i += 1 + uni[0].length;
                    continue;
                }
                out += "\\";
                this.i++;
                continue;
            }
            out += c;
            this.i++;
        }
    }

    /** `$…` or a backtick substitution at this.i; undefined for a lone `$`. */
    readExpansion(quoted: boolean): WordPart | undefined {
        const start = this.i;
        if (this.peek() === "`") {
            // Backticks: the inner text with \` \\ \$ unescaped.
            let j = this.i + 1;
            let inner = "";
            while (j < this.s.length && this.s[j] !== "`") {
                if (this.s[j] === "\\" && "`\\$".includes(this.s[j + 1] ?? "")) {
                    inner += this.s[j + 1];
                    j += 2;
                } else {
                    inner += this.s[j];
                    j++;
                }
            }
            if (j >= this.s.length) {
                this.error("unterminated backtick");
            }
            this.i = j + 1;
            return { t: "cmdsub", body: parseScript(inner), quoted, raw: this.s.slice(start, this.i) };
        }
        const n = this.peek(1);
        if (n === "(") {
            if (this.peek(2) === "(") {
                const expr = this.readDollarArith();
                if (expr !== undefined) {
                    return { t: "arith", expr, quoted };
                }
            }
            this.i += 2;
            const body = this.parseList((p) => p.peek() === ")");
            if (this.peek() !== ")") {
                this.error("unterminated $(");
            }
            this.i++;
            return { t: "cmdsub", body, quoted, raw: this.s.slice(start, this.i) };
        }
        if (n === "{") {
            this.i += 2;
            return this.readBraceParam(quoted, start);
        }
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i + 1));
        if (m) {
            this.i += 1 + m[0].length;
            return { t: "param", name: m[0], quoted, raw: this.s.slice(start, this.i) };
        }
        if (/^[0-9@*#?$!-]$/.test(n)) {
            this.i += 2;
            return { t: "param", name: n, quoted, raw: this.s.slice(start, this.i) };
        }
        this.i++;
        return undefined;
    }

    readDollarArith(): string | undefined {
        // `$((` … `))`; falls back to a command substitution when the parentheses do not close as `))`.
        const save = this.i;
        let depth = 0;
        for (let j = this.i + 1; j < this.s.length; j++) {
            const c = this.s[j];
            if (c === "(") {
                depth++;
            } else if (c === ")") {
                depth--;
                if (depth === 0) {
                    if (this.s[j - 1] === ")") {
                        this.i = j + 1;
                        return this.s.slice(save + 3, j - 1);
                    }
                    return undefined;
                }
            }
        }
        return undefined;
    }

    readBraceParam(quoted: boolean, start: number): WordPart {
        let length = false;
        let indirect = false;
        if (this.peek() === "#" && this.peek(1) !== "}") {
            length = true;
            this.i++;
        } else if (this.peek() === "!") {
            indirect = true;
            this.i++;
        }
        const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])/.exec(this.s.slice(this.i));
        if (!m) {
            this.error("bad ${} expansion");
        }
        this.i += m[0].length;
        const part: WordPart & { t: "param" } = { t: "param", name: m[0], quoted, raw: "", length, indirect };
        if (this.peek() === "[") {
            const end = this.s.indexOf("]", this.i);
            if (end < 0) {
                this.error("bad array index");
            }
            part.index = parseWordText(this.s.slice(this.i + 1, end));
            this.i = end + 1;
        }
        const opm = /^(:-|:=|:\?|:\+|-|=|\?|\+|##|#|%%|%|\/\/|\/#|\/%|\/|\^\^|\^|,,|,|:|@)/.exec(this.s.slice(this.i));
        if (opm && this.peek() !== "}") {
            part.op = opm[1];
            this.i += opm[1].length;
            if (part.op === "@") {
                part.arg = { parts: [{ t: "lit", text: this.peek(), quoted: true }], raw: this.peek() };
                this.i++;
            } else {
                const stops = part.op.startsWith("/") ? ["/", "}"] : part.op === ":" ? [":", "}"] : ["}"];
                part.arg = this.readParamWord(stops, quoted);
                if ((part.op.startsWith("/") || part.op === ":") && this.peek() === (part.op === ":" ? ":" : "/")) {
                    this.i++;
                    part.arg2 = this.readParamWord(["}"], quoted);
                }
            }
        }
        if (this.peek() !== "}") {
            this.error("unterminated ${");
        }
        this.i++;
        part.raw = this.s.slice(start, this.i);
        return part;
    }

    /** The word inside `${name<op>word}` up to one of `stops` (at nesting level 0). */
    readParamWord(stops: string[], quoted: boolean): Word {
        const start = this.i;
        const parts: WordPart[] = [];
        const lit = (text: string, q: boolean) => {
            const last = parts[parts.length - 1];
            if (last && last.t === "lit" && last.quoted === q) {
                last.text += text;
            } else {
                parts.push({ t: "lit", text, quoted: q });
            }
        };
        while (this.i < this.s.length && !stops.includes(this.peek())) {
            const c = this.peek();
            if (c === "\\") {
                lit(this.peek(1), true);
                this.i += 2;
            } else if (c === "'" && !quoted) {
                const end = this.s.indexOf("'", this.i + 1);
                if (end < 0) {
                    this.error("unterminated quote");
                }
                lit(this.s.slice(this.i + 1, end), true);
                this.i = end + 1;
            } else if (c === '"') {
                this.i++;
                this.readDoubleQuoted(parts, lit);
            } else if (c === "$" && this.peek(1) === "'" && !quoted) {
                this.i += 2;
                lit(this.readAnsiC(), true);
            } else if (c === "$" || c === "`") {
                const p = this.readExpansion(quoted);
                if (p) {
                    parts.push(p);
                } else {
                    lit("$", quoted);
                }
            } else {
                // Pattern characters stay special inside "${x%pattern}" even within double quotes.
                lit(c, false);
                this.i++;
            }
        }
        return { parts, raw: this.s.slice(start, this.i) };
    }
}

/** Parses a word's text (an array index, a here-document body) as the inside of double quotes. */
export function parseWordText(text: string): Word {
    const p = new Parser(text + '"');
    const parts: WordPart[] = [];
    const lit = (t: string, q: boolean) => {
        const last = parts[parts.length - 1];
        if (last && last.t === "lit" && last.quoted === q) {
            last.text += t;
        } else {
            parts.push({ t: "lit", text: t, quoted: q });
        }
    };
    p.readDoubleQuoted(parts, lit);
    return { parts, raw: text };
}

/** Parses the body of an unquoted here-document: `$…`, backticks and `\$ \` \\` are special, quotes are not. */
export function parseHeredocText(text: string): Word {
    const parts: WordPart[] = [];
    const p = new Parser(text);
    const lit = (t: string) => {
        const last = parts[parts.length - 1];
        if (last && last.t === "lit") {
            last.text += t;
        } else {
            parts.push({ t: "lit", text: t, quoted: true });
        }
    };
    while (p.i < text.length) {
        const c = text[p.i];
        if (c === "\\" && "$`\\\n".includes(text[p.i + 1] ?? "")) {
            if (text[p.i + 1] !== "\n") {
                lit(text[p.i + 1]);
            }
            p.i += 2;
        } else if (c === "$" || c === "`") {
            const part = p.readExpansion(true);
            if (part) {
                parts.push(part);
            } else {
                lit("$");
            }
        } else {
            lit(c);
            p.i++;
        }
    }
    return { parts, raw: text };
}

/** Parses a whole script. Throws ShellSyntaxError. */
export function parseScript(src: string): Script {
    const p = new Parser(src);
    const list = p.parseList((q) => q.peek() === ")" || RESERVED_END.has(q.peekReserved() ?? "") || q.startsWith(";;"));
    p.skipSeparators(true);
    if (p.i < src.length) {
        p.error(`unexpected "${src.slice(p.i, p.i + 10)}"`);
    }
    return list;
}

/** True when a word is one unquoted literal (reserved-word and name checks). */
export function literalWord(w: Word): string | undefined {
    if (w.parts.every((p) => p.t === "lit")) {
        return w.parts.map((p) => (p as { text: string }).text).join("");
    }
    return undefined;
}
