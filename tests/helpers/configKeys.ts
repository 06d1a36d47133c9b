// The stack config keys the settings readers accept, found by running them: every object they read goes
// through Reader.object with its accepted keys, so recording those calls while probing each accepted key with
// an object and a list of one object finds every nested key, with no second list to keep in step with the code.
import { Reader } from "../../components/config/reader";
import { parseStackConfig, TOP_LEVEL_KEYS } from "../../components/stackConfig";

/** `kafka.users[].topics[]`: list items are written `[]`, whatever their index. */
const normalise = (key: string) => key.replace(/\[\d+\]/g, "[]");

/** The raw config that puts `value` at `path` (`kafka.users[].topics[].name`), lists holding one item. */
function at(path: string, value: unknown): Record<string, unknown> {
    const segments = path.split(".");
    let v: unknown = value;
    for (let i = segments.length - 1; i >= 0; i--) {
        const s = segments[i];
        v = s.endsWith("[]") ? { [s.slice(0, -2)]: [v] } : { [s]: v };
    }
    return v as Record<string, unknown>;
}

/** Object paths (`""` is the top level, `kafka.users[]` a list item) → the keys Reader.object accepts there. */
export function acceptedObjects(): Map<string, string[]> {
    const objects = new Map<string, string[]>([["", Object.keys(TOP_LEVEL_KEYS)]]);
    const original = Reader.prototype.object;
    Reader.prototype.object = function (this: Reader, key: string, value: unknown, allowed: readonly string[]) {
        objects.set(normalise(key), [...allowed]);
        return original.call(this, key, value, allowed);
    };
    try {
        const probed = new Set<string>();
        for (let grew = true; grew; ) {
            grew = false;
            for (const [path, keys] of [...objects]) {
                if (probed.has(path)) continue;
                probed.add(path);
                grew = true;
                for (const k of keys) {
                    const key = path === "" ? k : `${path}.${k}`;
                    for (const probe of [{}, [{}]]) {
                        try {
                            parseStackConfig(at(key, probe));
                        } catch {
                            // A probe is no valid config (a ConfigError, or a reader that assumed a type): only the
                            // objects read on the way count.
                        }
                    }
                }
            }
        }
    } finally {
        Reader.prototype.object = original;
    }
    return objects;
}

/** Every accepted key as a dotted path (`mariadb.resources.limits.cpu`, `kafka.topics[].name`). */
export function acceptedKeys(): { all: string[]; structured: Set<string> } {
    const objects = acceptedObjects();
    const all: string[] = [];
    for (const [path, keys] of objects) for (const k of keys) all.push(path === "" ? k : `${path}.${k}`);
    // A key is structured when it holds an object (`mariadb.resources`) or a list of them (`kafka.users`).
    const structured = new Set(all.filter((k) => objects.has(k) || objects.has(`${k}[]`)));
    return { all: all.sort(), structured };
}
