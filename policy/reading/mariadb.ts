// MariaDB options as mariadbd reads them: option files (my.cnf syntax: `[group]` headers, `name`,
// `name=value`, `#`/`;` comments, quotes, `!include file`, `!includedir dir` reading the *.cnf files in it)
// and command-line options after them, later ones winning. Option names treat `-` and `_` alike and take
// the prefixes `loose-` (ignore if unknown), `skip-` / `disable-` (off), `enable-` (on) and `maximum-`.

/** Option groups the server reads (`[mysqld]`, `[server]`, `[mariadb]`, `[mariadbd]`, version-suffixed ones, `[galera]`). */
export function isServerGroup(group: string): boolean {
    return /^(mysqld|server|mariadb|mariadbd|mariadb-server|client-server|galera)(-\d+(\.\d+)?)?$/i.test(group.trim());
}

/** Option groups client tools read. */
export function isClientGroup(group: string): boolean {
    return /^(client|client-mariadb|client-server|mysql|mariadb-client|mysqldump|mariadb-dump|mysqladmin|mariadb-admin|mysqlcheck|mysqlimport)$/i.test(group.trim());
}

/** One option from a file or the command line. */
export interface MariaDbOption {
    /** Normalised name: lower case, `_` -> `-`, prefixes kept (see optionState). */
    name: string;
    value?: string;
    group?: string;
    origin: string;
}

/** Parses option-file text; `!include` / `!includedir` directives are returned for the caller to resolve. */
export function parseOptionFile(text: string, origin: string): { options: MariaDbOption[]; includes: string[]; includeDirs: string[] } {
    const options: MariaDbOption[] = [];
    const includes: string[] = [];
    const includeDirs: string[] = [];
    let group: string | undefined;
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";")) {
            continue;
        }
        const inc = /^!include(dir)?\s+(.+)$/.exec(line);
        if (inc) {
            (inc[1] ? includeDirs : includes).push(inc[2].trim());
            continue;
        }
        const header = /^\[([^\]]+)\]/.exec(line);
        if (header) {
            group = header[1].trim();
            continue;
        }
        const m = /^([^=\s#]+)\s*(?:=\s*(.*?))?\s*(?:\s#.*)?$/.exec(line);
        if (m) {
            const value = m[2] === undefined ? undefined : m[2].replace(/^(["'])(.*)\1$/, "$2");
            options.push({ name: normaliseName(m[1]), value, group, origin });
        }
    }
    return { options, includes, includeDirs };
}

function normaliseName(n: string): string {
    return n.replace(/^-+/, "").toLowerCase().replace(/_/g, "-");
}

/** Command-line options (`--name[=value]`) of a mariadbd/mysqld invocation (argv[0] is the program). */
export function commandLineOptions(argv: readonly string[]): MariaDbOption[] {
    const out: MariaDbOption[] = [];
    for (const w of argv.slice(1)) {
        const m = /^--([^=]+)(?:=(.*))?$/s.exec(w);
        if (m) {
            out.push({ name: normaliseName(m[1]), value: m[2], origin: "the command line" });
        }
    }
    return out;
}

const TRUE_WORDS = new Set(["1", "on", "true", "yes", "force", ""]);
const FALSE_WORDS = new Set(["0", "off", "false", "no"]);

/**
 * The effective on/off state of a boolean option (e.g. `skip-grant-tables`, `require-secure-transport`)
 * after the given options in order, or undefined when none mentions it. Honours loose-/skip-/disable-/enable-
 * prefixes; `skip-grant-tables` is itself an option name, so `skip-skip-grant-tables` turns it off.
 */
export function booleanOption(options: readonly MariaDbOption[], name: string): { on: boolean; origin: string } | undefined {
    const target = normaliseName(name);
    let state: { on: boolean; origin: string } | undefined;
    for (const o of options) {
        let n = o.name.replace(/^loose-/, "");
        let negate = false;
        if (n !== target) {
            const p = /^(skip|disable|enable)-(.*)$/.exec(n);
            if (!p || p[2] !== target) {
                continue;
            }
            negate = p[1] !== "enable";
            n = p[2];
        }
        const v = (o.value ?? "").toLowerCase();
        const on = TRUE_WORDS.has(v) ? true : FALSE_WORDS.has(v) ? false : undefined;
        if (on === undefined) {
            continue;
        }
        state = { on: negate ? !on : on, origin: o.origin };
    }
    return state;
}
