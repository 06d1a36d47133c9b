// MariaDB options as mariadbd reads them: option files (my.cnf syntax: `[group]` headers, `name`,
// `name=value`, `#`/`;` comments, quotes, `!include file`, `!includedir dir` reading the *.cnf files in it)
// and command-line options after them, later ones winning. Option names treat `-` and `_` alike and take
// the prefixes `loose-` (ignore if unknown), `skip-` / `disable-` (off), `enable-` (on) and `maximum-`.

import { resolvePath } from "./fs";
import type { Proc } from "./shellRun";
import { hasFreeUnknown, isKnown, mayBeEmpty, plain, show, splitBalanced } from "./sym";

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

// ---------------------------------------------------------------------------------------------
// A mariadbd/mysqld start, read from the start-up (shellRun.ts): the option files it reads and its
// command line, and what the image's entrypoint does with the environment.

export interface MariaDbVerdict {
    /** True claims: authentication off, root without a password. */
    problems: string[];
    unknowns: string[];
    /** TCP port, or "unknown"; none with skip-networking. */
    ports: number[] | "unknown";
}

/** Marks a stretch of option file the pack cannot read (any option may be in it). */
const UNKNOWN_OPTION = "\u0000unknown";

/** Judges one server start. */
export function readMariaDbServer(proc: Proc): MariaDbVerdict {
    const verdict: MariaDbVerdict = { problems: [], unknowns: [], ports: "unknown" };
    const argv = proc.argv;
    if (argv.includes("\uE004")) {
        verdict.unknowns.push("the server gets arguments the pack cannot expand");
        return verdict;
    }
    const words = argv.slice(1);
    if (words.some((w) => /^--(help|version|print-defaults|verbose)$|^-[V?]$/.test(plain(w))) && words.some((w) => /^--(help|version|print-defaults)$|^-[V?]$/.test(plain(w)))) {
        return verdict; // prints and exits
    }
    const base = isKnown(proc.cwd) ? proc.cwd : "/";
    const options: MariaDbOption[] = [];
    const readOptionFile = (path: string, optional: boolean, depth: number): boolean => {
        if (depth > 8) {
            verdict.unknowns.push(`option files include each other too deeply (${path})`);
            return false;
        }
        const reads = proc.fs.read(resolvePath(base, path), optional);
        const texts = reads.filter((r) => r.state === "file") as Array<{ text: string; source: string }>;
        const why = reads.find((r) => r.state === "unknown") as { reason: string } | undefined;
        if (why) {
            options.push({ name: UNKNOWN_OPTION, value: `option file ${path}: ${why.reason}`, origin: path });
            return true;
        }
        if (texts.length === 0) {
            return true; // not there: mariadbd skips a missing default option file
        }
        if (new Set(texts.map((t) => t.text)).size > 1) {
            options.push({ name: UNKNOWN_OPTION, value: `option file ${path} may be written with different contents by the start-up`, origin: path });
            return true;
        }
        const text = texts[0].text;
        const origin = `${path} (${texts[0].source})`;
        const lines = splitBalanced(text, /\r?\n/);
        let group: string | undefined;
        for (const raw of lines) {
            if (hasFreeUnknown(raw.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
                options.push({ name: UNKNOWN_OPTION, value: `${origin} contains text the pack cannot expand`, origin });
                continue;
            }
            const line = plain(raw).trim();
            const parsed = parseOptionFile(`${group !== undefined ? `[${group}]\n` : ""}${line}`, origin);
            const header = /^\[([^\]]+)\]/.exec(line);
            if (header) {
                group = header[1].trim();
                continue;
            }
            for (const inc of parsed.includes) {
                if (!readOptionFile(inc, false, depth + 1)) {
                    return false;
                }
            }
            for (const dir of parsed.includeDirs) {
                const listed = proc.fs.list(resolvePath(base, dir));
                if ("unknown" in listed) {
                    options.push({ name: UNKNOWN_OPTION, value: `!includedir ${dir} (${origin}): ${listed.unknown}`, origin });
                    continue;
                }
                for (const f of listed.files.filter((n) => n.endsWith(".cnf"))) {
                    if (!readOptionFile(`${dir.replace(/\/+$/, "")}/${f}`, false, depth + 1)) {
                        return false;
                    }
                }
            }
            options.push(...parsed.options.filter((o) => o.group !== undefined && isServerGroup(o.group)));
        }
        return true;
    };
    // --no-defaults / --defaults-file / --defaults-extra-file are read only as the first options.
    let i = 0;
    let noDefaults = false;
    let defaultsFile: string | undefined;
    let extraFile: string | undefined;
    for (; i < words.length; i++) {
        const w = plain(words[i]);
        if (w === "--no-defaults") {
            noDefaults = true;
        } else if (w.startsWith("--defaults-file=")) {
            defaultsFile = w.slice("--defaults-file=".length);
        } else if (w.startsWith("--defaults-extra-file=")) {
            extraFile = w.slice("--defaults-extra-file=".length);
        } else if (w.startsWith("--defaults-group-suffix=")) {
            // groups with a suffix: rare, and read like their base groups here
        } else {
            break;
        }
    }
    if (!noDefaults) {
        if (defaultsFile !== undefined) {
            if (!isKnown(defaultsFile)) {
                verdict.unknowns.push("--defaults-file names a path the pack cannot expand");
                return verdict;
            }
            readOptionFile(defaultsFile, false, 0);
        } else {
            readOptionFile("/etc/my.cnf", true, 0);
            readOptionFile("/etc/mysql/my.cnf", true, 0);
            const home = proc.env.get("MARIADB_HOME") ?? proc.env.get("MYSQL_HOME");
            if (home !== undefined) {
                if (!isKnown(plain(home))) {
                    verdict.unknowns.push("MARIADB_HOME/MYSQL_HOME names a directory the pack cannot expand");
                    return verdict;
                }
                readOptionFile(`${plain(home)}/my.cnf`, true, 0);
            }
            if (extraFile !== undefined) {
                if (!isKnown(extraFile)) {
                    verdict.unknowns.push("--defaults-extra-file names a path the pack cannot expand");
                    return verdict;
                }
                readOptionFile(extraFile, false, 0);
            }
            const userHome = proc.env.get("HOME");
            if (userHome === undefined || !isKnown(plain(userHome))) {
                options.push({ name: UNKNOWN_OPTION, value: "~/.my.cnf: the server's HOME is not known", origin: "HOME" });
            } else {
                readOptionFile(`${plain(userHome)}/.my.cnf`, true, 0);
            }
        }
    }
    for (; i < words.length; i++) {
        const w = words[i];
        const m = /^--([^=]+)(?:=([\s\S]*))?$/.exec(plain(w));
        if (!m) {
            if (!isKnown(plain(w)) && !/^[\uE001\uE005]/.test(plain(w))) {
                options.push({ name: UNKNOWN_OPTION, value: `the command-line word ${show(w)} cannot be expanded`, origin: "the command line" });
            }
            continue;
        }
        if (!isKnown(m[1])) {
            options.push({ name: UNKNOWN_OPTION, value: `the command-line option ${show(w)} cannot be expanded`, origin: "the command line" });
            continue;
        }
        options.push({ name: m[1].toLowerCase().replace(/_/g, "-"), value: m[2], origin: "the command line" });
    }
    // The effective state of an option: the last mention wins; an unreadable stretch after it leaves it unknown.
    const state = (name: string): { on: boolean; origin: string } | "unknown" | undefined => {
        let result: { on: boolean; origin: string } | "unknown" | undefined;
        for (const o of options) {
            if (o.name === UNKNOWN_OPTION) {
                result = "unknown";
                continue;
            }
            const s = booleanOption([o], name);
            if (s) {
                result = s;
            }
        }
        return result;
    };
    const unknownReasons = () => options.filter((o) => o.name === UNKNOWN_OPTION).map((o) => o.value ?? "");
    const networking = state("skip-networking");
    if (networking !== "unknown" && networking?.on) {
        verdict.ports = [];
        return verdict; // no TCP listener
    }
    const portOpt = [...options].reverse().find((o) => o.name === "port" || o.name === UNKNOWN_OPTION);
    verdict.ports = !portOpt ? [3306] : portOpt.name === UNKNOWN_OPTION || !/^\d+$/.test(plain(portOpt.value ?? "")) ? "unknown" : [Number(plain(portOpt.value!))];
    const sgt = state("skip-grant-tables");
    if (sgt === "unknown") {
        verdict.unknowns.push(...unknownReasons().map((r) => `whether skip-grant-tables is set: ${r}`));
    } else if (sgt?.on) {
        verdict.problems.push(`skip-grant-tables (${sgt.origin}) turns authentication off`);
    }
    if (proc.entrypoint === "mariadb" || proc.entrypoint === "mysql") {
        const names = proc.entrypoint === "mariadb" ? ["MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD"] : ["MYSQL_ALLOW_EMPTY_PASSWORD"];
        for (const n of names) {
            const v = proc.env.get(n);
            if (v !== undefined && plain(v) !== "") {
                if (!isKnown(plain(v)) && mayBeEmpty(v)) {
                    verdict.unknowns.push(`${n} comes from a value the pack cannot see; if it is not empty, the image's entrypoint creates root without a password`);
                } else {
                    verdict.problems.push(`${n} is set, so the image's entrypoint creates root without a password`);
                }
                break;
            }
        }
        const open = (proc.openEnv ?? []).filter((o) => "MARIADB_".startsWith(o.prefix) || "MYSQL_".startsWith(o.prefix) || o.prefix.startsWith("MARIADB_") || o.prefix.startsWith("MYSQL_"));
        if (open.length > 0 && names.every((n) => proc.env.get(n) === undefined)) {
            verdict.unknowns.push(`an envFrom source outside this stack may set ${names[0]}, which makes the image's entrypoint create root without a password`);
        }
    }
    return verdict;
}
