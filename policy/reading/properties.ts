// Java .properties as java.util.Properties.load reads them (Kafka's server.properties, client configs):
// `#` / `!` comments, `key=value`, `key:value` and `key value` separators, a line ending in an odd number
// of backslashes continuing on the next line (leading whitespace of the continuation dropped),
// backslash escapes in keys and values (`\=`, `\:`, `\ `, `\t`, `\n`, `\uXXXX`), and the last
// occurrence of a key winning.

function unescape(s: string): string {
    return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
        if (e.length === 5) {
            return String.fromCharCode(parseInt(e.slice(1), 16));
        }
        switch (e) {
            case "t":
                return "\t";
            case "n":
                return "\n";
            case "r":
                return "\r";
            case "f":
                return "\f";
            default:
                return e;
        }
    });
}

/** Logical lines: comments and blank lines dropped, continuations joined. */
export function logicalLines(text: string): string[] {
    const out: string[] = [];
    let acc: string | undefined;
    for (const physical of text.split(/\r\n|\r|\n/)) {
        const line = acc === undefined ? physical.replace(/^[ \t\f]+/, "") : acc + physical.replace(/^[ \t\f]+/, "");
        if (acc === undefined && (line === "" || line.startsWith("#") || line.startsWith("!"))) {
            continue;
        }
        const trailing = /(\\+)$/.exec(line)?.[1].length ?? 0;
        if (trailing % 2 === 1) {
            acc = line.slice(0, -1);
            continue;
        }
        acc = undefined;
        out.push(line);
    }
    if (acc !== undefined && acc !== "") {
        out.push(acc);
    }
    return out;
}

/** Splits one logical line into key and value (the first unescaped `=`, `:` or whitespace separates them). */
export function splitProperty(line: string): [string, string] {
    let i = 0;
    let key = "";
    while (i < line.length) {
        const ch = line[i];
        if (ch === "\\" && i + 1 < line.length) {
            key += line.slice(i, i + 2);
            i += 2;
            continue;
        }
        if (ch === "=" || ch === ":" || ch === " " || ch === "\t" || ch === "\f") {
            break;
        }
        key += ch;
        i++;
    }
    // Skip whitespace, at most one = or :, then whitespace again.
    while (i < line.length && /[ \t\f]/.test(line[i])) {
        i++;
    }
    if (i < line.length && (line[i] === "=" || line[i] === ":")) {
        i++;
    }
    while (i < line.length && /[ \t\f]/.test(line[i])) {
        i++;
    }
    return [unescape(key), unescape(line.slice(i))];
}

/** Parses Java .properties text; later keys override earlier ones. */
export function parseProperties(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of logicalLines(text)) {
        const [k, v] = splitProperty(line);
        if (k !== "") {
            out.set(k, v.replace(/[ \t\f]+$/, ""));
        }
    }
    return out;
}
