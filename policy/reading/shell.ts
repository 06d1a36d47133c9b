// A small POSIX-shell reader: enough of `sh -c` / bash scripts to find the programs a container runs and
// the words it passes them. It understands quoting ('...', "...", backslashes), line continuations
// (backslash-newline), comments, command separators (; & && || | newline, subshells), redirections and
// here-documents, `$NAME` / `${NAME}` / `${NAME:-default}` expansions from known variables, command
// substitution `$(...)` / backticks (whose commands are returned too), assignments (`A=b cmd`, `A=b`,
// `export A=b`) and the variables they define for later commands.
//
// It is a reader, not an interpreter: control flow is flattened (every command of every branch is
// returned) and whatever cannot be known (positional parameters, command output, unknown variables) stays
// in the word as written, starting with `$`, so callers can tell a reference from a literal.

/** One simple command of a script. */
export interface SimpleCommand {
    /** `NAME=value` words before the command name (and those of export/declare/readonly/local). */
    assignments: Array<[string, string]>;
    /** The command name and its arguments, quotes removed and known variables expanded. */
    words: string[];
    /** Bodies of here-documents attached to this command (`<<EOF ... EOF`). */
    heredocs: string[];
}

export interface ShellOptions {
    /** Variables known before the script starts (the container environment). */
    vars?: ReadonlyMap<string, string>;
}

/** A piece of a word: literal text, a variable expansion or a command substitution. */
type Part = { lit: string } | { name: string; op?: string; def?: string; src: string } | { subst: string; src: string } | { src: string };

interface Token {
    kind: "word" | "op";
    /** For operators: the operator. */
    text: string;
    parts: Part[];
    /** The unexpanded source (to recognise `NAME=` assignments written without quotes). */
    raw: string;
    quoted: boolean;
}

const OPERATOR_CHARS = new Set([";", "&", "|", "(", ")", "\n"]);
const SEPARATORS = new Set([";", "&", "&&", "||", "|", "|&", "\n", "(", ")", ";;", ";&", ";;&"]);
const KEYWORDS_BEFORE_COMMAND = new Set(["if", "then", "elif", "else", "do", "while", "until", "!", "{", "}", "time"]);
const KEYWORDS_ALONE = new Set(["fi", "done", "esac", "}", "{", "then", "else", "do"]);
const DECLARATION_BUILTINS = new Set(["export", "declare", "typeset", "readonly", "local"]);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;

class Scanner {
    private i = 0;
    readonly tokens: Token[] = [];
    /** Here-document delimiters waiting for the end of the current line. */
    private pendingHeredocs: Array<{ delimiter: string; stripTabs: boolean; tokenIndex: number }> = [];
    /** Here-document bodies by the index of the token after which they were declared. */
    readonly heredocs = new Map<number, string[]>();

    constructor(private readonly src: string) {}

    private op(text: string): void {
        this.tokens.push({ kind: "op", text, parts: [], raw: text, quoted: false });
    }

    scan(): void {
        const s = this.src;
        while (this.i < s.length) {
            const ch = s[this.i];
            if (ch === " " || ch === "\t" || ch === "\r") {
                this.i++;
            } else if (ch === "\n") {
                this.op("\n");
                this.i++;
                this.readHeredocBodies();
            } else if (ch === "#") {
                while (this.i < s.length && s[this.i] !== "\n") {
                    this.i++;
                }
            } else if (ch === "<" || ch === ">") {
                this.readRedirection();
            } else if (OPERATOR_CHARS.has(ch)) {
                this.readOperator();
            } else {
                const word = this.readWord();
                // `2>&1`, `1>file`: digits directly followed by a redirection are a file descriptor.
                if (/^\d+$/.test(word.raw) && (s[this.i] === "<" || s[this.i] === ">")) {
                    this.readRedirection();
                } else {
                    this.tokens.push(word);
                }
            }
        }
    }

    private readOperator(): void {
        const s = this.src;
        for (const op of [";;&", ";;", ";&", "&&", "||", "|&"]) {
            if (s.startsWith(op, this.i)) {
                this.op(op);
                this.i += op.length;
                return;
            }
        }
        this.op(s[this.i]);
        this.i++;
    }

    private readRedirection(): void {
        const s = this.src;
        let op = "";
        for (const cand of ["<<<", "<<-", "<<", ">>", ">&", "<&", "<>", ">|", "<", ">"]) {
            if (s.startsWith(cand, this.i)) {
                op = cand;
                break;
            }
        }
        this.i += op.length;
        while (this.i < s.length && (s[this.i] === " " || s[this.i] === "\t")) {
            this.i++;
        }
        if (this.i >= s.length || s[this.i] === "\n") {
            return;
        }
        const target = this.readWord();
        if (op === "<<" || op === "<<-") {
            const delimiter = target.parts.map((p) => ("lit" in p ? p.lit : p.src)).join("");
            this.pendingHeredocs.push({ delimiter, stripTabs: op === "<<-", tokenIndex: this.tokens.length });
        }
    }

    private readHeredocBodies(): void {
        const s = this.src;
        for (const h of this.pendingHeredocs) {
            const lines: string[] = [];
            while (this.i < s.length) {
                let end = s.indexOf("\n", this.i);
                if (end < 0) {
                    end = s.length;
                }
                let line = s.slice(this.i, end);
                this.i = Math.min(end + 1, s.length);
                if (h.stripTabs) {
                    line = line.replace(/^\t+/, "");
                }
                if (line.replace(/\r$/, "") === h.delimiter) {
                    break;
                }
                lines.push(line);
            }
            const list = this.heredocs.get(h.tokenIndex) ?? [];
            list.push(lines.join("\n"));
            this.heredocs.set(h.tokenIndex, list);
        }
        this.pendingHeredocs = [];
    }

    /** Reads one word starting at this.i into parts. */
    private readWord(): Token {
        const s = this.src;
        const parts: Part[] = [];
        const start = this.i;
        let quoted = false;
        const lit = (t: string) => {
            const last = parts[parts.length - 1];
            if (last && "lit" in last) {
                last.lit += t;
            } else {
                parts.push({ lit: t });
            }
        };
        while (this.i < s.length) {
            const ch = s[this.i];
            if (ch === " " || ch === "\t" || ch === "\r" || ch === "\n" || OPERATOR_CHARS.has(ch) || ch === "<" || ch === ">") {
                break;
            }
            if (ch === "\\") {
                if (s[this.i + 1] !== undefined) {
                    lit(s[this.i + 1]);
                }
                this.i += 2;
                continue;
            }
            if (ch === "'") {
                const end = s.indexOf("'", this.i + 1);
                const stop = end < 0 ? s.length : end;
                lit(s.slice(this.i + 1, stop));
                this.i = stop + 1;
                quoted = true;
                continue;
            }
            if (ch === '"') {
                quoted = true;
                this.i++;
                while (this.i < s.length && s[this.i] !== '"') {
                    const c = s[this.i];
                    if (c === "\\" && this.i + 1 < s.length && '"\\$`'.includes(s[this.i + 1])) {
                        lit(s[this.i + 1]);
                        this.i += 2;
                    } else if (c === "$" || c === "`") {
                        parts.push(this.readExpansion());
                    } else {
                        lit(c);
                        this.i++;
                    }
                }
                this.i++;
                continue;
            }
            if (ch === "$" || ch === "`") {
                parts.push(this.readExpansion());
                continue;
            }
            lit(ch);
            this.i++;
        }
        return { kind: "word", text: "", parts, raw: s.slice(start, this.i), quoted };
    }

    /** Reads `$...` or a backtick substitution at this.i. */
    private readExpansion(): Part {
        const s = this.src;
        const start = this.i;
        if (s[this.i] === "`") {
            const end = s.indexOf("`", this.i + 1);
            const stop = end < 0 ? s.length : end;
            this.i = stop + 1;
            return { subst: s.slice(start + 1, stop), src: s.slice(start, this.i) };
        }
        const next = s[this.i + 1];
        if (next === "(") {
            if (s[this.i + 2] === "(") {
                const end = s.indexOf("))", this.i + 3);
                this.i = end < 0 ? s.length : end + 2;
                return { src: s.slice(start, this.i) };
            }
            const end = matchingParen(s, this.i + 1);
            this.i = Math.min(end + 1, s.length);
            return { subst: s.slice(start + 2, end), src: s.slice(start, this.i) };
        }
        if (next === "{") {
            const end = s.indexOf("}", this.i + 2);
            const stop = end < 0 ? s.length : end;
            const inner = s.slice(this.i + 2, stop);
            this.i = stop + 1;
            const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?$/s.exec(inner);
            return m ? { name: m[1], op: m[2], def: m[3], src: s.slice(start, this.i) } : { src: s.slice(start, this.i) };
        }
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.i + 1));
        if (m) {
            this.i += 1 + m[0].length;
            return { name: m[0], src: s.slice(start, this.i) };
        }
        if (next !== undefined && /[0-9@*#?$!-]/.test(next)) {
            this.i += 2;
            return { src: s.slice(start, this.i) };
        }
        this.i++;
        return { lit: "$" };
    }
}

/** Index of the `)` matching the `(` at `open`, skipping quotes and nested parentheses. */
function matchingParen(s: string, open: number): number {
    let depth = 0;
    for (let i = open; i < s.length; i++) {
        const ch = s[i];
        if (ch === "\\") {
            i++;
        } else if (ch === "'") {
            const end = s.indexOf("'", i + 1);
            i = end < 0 ? s.length : end;
        } else if (ch === '"') {
            for (i++; i < s.length && s[i] !== '"'; i++) {
                if (s[i] === "\\") {
                    i++;
                }
            }
        } else if (ch === "(") {
            depth++;
        } else if (ch === ")") {
            depth--;
            if (depth === 0) {
                return i;
            }
        }
    }
    return s.length;
}

/** Expands a word's parts with the variables known at this point; command substitutions are parsed into `nested`. */
function expand(parts: Part[], vars: Map<string, string>, nested: SimpleCommand[]): string {
    let out = "";
    for (const p of parts) {
        if ("lit" in p) {
            out += p.lit;
        } else if ("subst" in p) {
            nested.push(...parseShell(p.subst, { vars }));
            out += p.src;
        } else if ("name" in p) {
            const v = vars.get(p.name);
            if (p.op === undefined) {
                out += v ?? p.src;
            } else if (v !== undefined && !(p.op.startsWith(":") && v === "")) {
                out += v;
            } else {
                // The default is used; only a literal default is expanded.
                out += /[$`]/.test(p.def ?? "") ? p.src : (p.def ?? "").replace(/^(["'])(.*)\1$/s, "$2");
            }
        } else {
            out += p.src;
        }
    }
    return out;
}

/** Splits a script into simple commands (see the module comment). */
export function parseShell(script: string, opts: ShellOptions = {}): SimpleCommand[] {
    const vars = new Map(opts.vars ?? []);
    // Line continuations disappear before tokenising (inside single quotes they are rare enough to ignore).
    const scanner = new Scanner(script.replace(/\\\r?\n/g, ""));
    scanner.scan();
    const out: SimpleCommand[] = [];
    let current: Token[] = [];
    let heredocs: string[] = [];
    const flush = () => {
        const nested: SimpleCommand[] = [];
        const cmd = toCommand(current, heredocs, vars, nested);
        if (cmd) {
            out.push(cmd);
        }
        // Commands inside $(...) run too (before the command that uses their output).
        out.push(...nested);
        current = [];
        heredocs = [];
    };
    scanner.tokens.forEach((t, idx) => {
        const docs = scanner.heredocs.get(idx);
        if (docs) {
            heredocs.push(...docs);
        }
        if (t.kind === "op" && SEPARATORS.has(t.text)) {
            flush();
        } else {
            current.push(t);
        }
    });
    const tail = scanner.heredocs.get(scanner.tokens.length);
    if (tail) {
        heredocs.push(...tail);
    }
    flush();
    return out;
}

function toCommand(tokens: Token[], heredocs: string[], vars: Map<string, string>, nested: SimpleCommand[]): SimpleCommand | undefined {
    let words = tokens.filter((t) => t.kind === "word");
    while (words.length > 0 && !words[0].quoted && KEYWORDS_BEFORE_COMMAND.has(words[0].raw)) {
        words = words.slice(1);
    }
    if (words.length === 0) {
        return heredocs.length > 0 ? { assignments: [], words: [], heredocs } : undefined;
    }
    if (words.length === 1 && !words[0].quoted && KEYWORDS_ALONE.has(words[0].raw)) {
        return undefined;
    }
    if (!words[0].quoted && ["for", "case", "select", "function"].includes(words[0].raw)) {
        return undefined;
    }
    const assignments: Array<[string, string]> = [];
    let i = 0;
    for (; i < words.length; i++) {
        const m = ASSIGNMENT.exec(words[i].raw);
        if (!m) {
            break;
        }
        assignments.push([m[1], expand(words[i].parts, vars, nested).slice(m[1].length + 1)]);
    }
    const rest = words.slice(i).map((w) => expand(w.parts, vars, nested));
    if (rest.length === 0) {
        // `A=b` alone sets a shell variable for the commands that follow.
        assignments.forEach(([k, v]) => vars.set(k, v));
    } else if (DECLARATION_BUILTINS.has(rest[0])) {
        words.slice(i + 1).forEach((w, j) => {
            const m = ASSIGNMENT.exec(w.raw);
            if (m) {
                const value = rest[j + 1].slice(m[1].length + 1);
                assignments.push([m[1], value]);
                vars.set(m[1], value);
            }
        });
    }
    return { assignments, words: rest, heredocs };
}

/**
 * Splits one string into words like the shell would (quotes removed, also in the middle of a word, and
 * nothing expanded), e.g. the value of JAVA_OPTS or KAFKA_OPTS.
 */
export function shellWords(text: string): string[] {
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
            cur = (cur ?? "") + text.slice(i + 1, stop).replace(ch === '"' ? /\\(["\\$`])/g : /$^/g, "$1");
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
