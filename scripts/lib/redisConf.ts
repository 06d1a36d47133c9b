// redis.conf as text: its directives in order, one directive's value, and a copy with some values replaced
// (paths a workstation cannot have, ports). Used by the real-server tests and by
// scripts/measure-redis-memory.ts, both of which run redis-server on the rendered redis.conf.

/** Directives of a redis.conf text: [name (lower case), raw value], in order. */
export function directives(text: string): [string, string][] {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => {
            const m = /^(\S+)\s*(.*)$/.exec(l)!;
            return [m[1].toLowerCase(), m[2]];
        });
}

export function directive(text: string, name: string): string {
    const found = directives(text).filter(([n]) => n === name);
    if (found.length !== 1) {
        throw new Error(`redis.conf: expected one '${name}' directive, found ${found.length}`);
    }
    return found[0][1];
}

export function unquote(v: string): string {
    return /^".*"$/.test(v) || /^'.*'$/.test(v) ? v.slice(1, -1) : v;
}

/** Replaces the value of each named directive (which must each be present exactly once). */
export function rewriteDirectives(text: string, overrides: Record<string, string>): string {
    const seen = new Map<string, number>();
    const out = text.split("\n").map((line) => {
        const m = /^\s*(\S+)/.exec(line);
        const name = m?.[1].toLowerCase();
        if (name && !name.startsWith("#") && name in overrides) {
            seen.set(name, (seen.get(name) ?? 0) + 1);
            return `${name} ${overrides[name]}`;
        }
        return line;
    });
    for (const name of Object.keys(overrides)) {
        if (seen.get(name) !== 1) {
            throw new Error(`redis.conf: expected the rendered config to set '${name}' once, found ${seen.get(name) ?? 0}`);
        }
    }
    return out.join("\n");
}
