// The layout of a render output directory (`npm run render -- --out <dir>`), shared by the writer (render)
// and the readers (diff): <namespace or _cluster>/<kind>-<name>.yaml per object, the resources file, and
// the marker that says the directory is ours and which stack and seed produced it.

import * as fs from "fs";
import * as path from "path";
import type * as YAMLModule from "yaml";
import { RENDER_OUTPUTS_FILE } from "../../policy/offline/manifests";
import type { Manifest, RegisteredResource } from "./mockRuntime";

/** Written into every output directory, so a later render may clear it without touching unrelated folders. */
export const MARKER = ".msa-infra-render";
/** One line per resource, `<urn> [option ...]`, sorted. */
export const RESOURCES_FILE = "pulumi-resources.txt";
/**
 * The stack outputs a render writes beside the objects (what consumers read through a StackReference); the
 * policy runner skips it when judging the directory.
 */
export const OUTPUTS_FILE = RENDER_OUTPUTS_FILE;

/** yaml, loaded on first use: render writes with its own emitter and reads nothing back. */
function YAML(): typeof YAMLModule {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("yaml") as typeof YAMLModule;
}

/** The marker's text: what produced the directory. */
export function markerText(stack: string, seed: string | undefined): string {
    return (
        "Written by `npm run render`; the directory is replaced on each render.\n" +
        `stack: ${stack}\n` +
        (seed === undefined ? "" : `seed: ${seed}\n`)
    );
}

/** The stack and seed recorded in a render directory's marker; undefined if the directory is not a render. */
export function readMarker(dir: string): { stack?: string; seed?: string } | undefined {
    const file = path.join(dir, MARKER);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const fields: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^(stack|seed): (.+)$/.exec(line);
        if (m) {
            fields[m[1]] = m[2];
        }
    }
    return { stack: fields.stack, seed: fields.seed };
}

/** `<urn> protect retainOnDelete ...`: what a reviewer compares to see renamed or re-parented resources. */
export function resourceLines(resources: RegisteredResource[]): string[] {
    return resources
        .map((r) => {
            const flags = [
                r.options.protect ? "protect" : "",
                r.options.retainOnDelete ? "retainOnDelete" : "",
                r.options.deleteBeforeReplace ? "deleteBeforeReplace" : "",
                r.options.replaceOnChanges?.length ? `replaceOnChanges=${r.options.replaceOnChanges.join(",")}` : "",
            ].filter((f) => f !== "");
            return [r.urn, ...flags].join(" ");
        })
        .sort();
}

/** How render writes one object: exactly YAML.stringify(m, { lineWidth: 0 }) (yaml 2.x), only faster. */
export function manifestYaml(m: Manifest): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    fastPathUsable ??= (require("yaml/package.json") as { version: string }).version === CHECKED_YAML_VERSION;
    try {
        if (!fastPathUsable) {
            throw UNSUPPORTED;
        }
        return fastYaml(m);
    } catch (e) {
        if (e !== UNSUPPORTED) {
            throw e;
        }
        return YAML().stringify(m, { lineWidth: 0 });
    }
}

// The fast path of manifestYaml: block maps and sequences of strings, safe integers and booleans, the
// subset of yaml's own output rules that Kubernetes objects need (plain or double-quoted one-line strings,
// `|` / `|-` literal blocks). Anything else (a string yaml would quote another way, floats, shared
// objects that yaml would alias, odd whitespace, ...) throws UNSUPPORTED and the object is written by
// YAML.stringify itself; yaml 2.x's stringify takes ~1 ms per object and is a tenth of a render.
const UNSUPPORTED = new Error("not in the fast YAML subset");
const INDENT = "  ";
/**
 * The resolvers of yaml's default schema (YAML 1.2 core, yaml/dist/schema/core): a plain string one of
 * them matches reads back as null, a boolean or a number, so yaml quotes it. Written out rather than read
 * from yaml so that render need not load it; the fast path is used only with the yaml version they were
 * checked against (package.json pins it), any other version writes everything through YAML.stringify.
 */
const NON_STRING_TAGS = [
    /^(?:~|[Nn]ull|NULL)?$/,
    /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
    /^0o[0-7]+$/,
    /^[-+]?[0-9]+$/,
    /^0x[0-9a-fA-F]+$/,
    /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
    /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
const CHECKED_YAML_VERSION = "2.9.1";
let fastPathUsable: boolean | undefined;
// yaml's plainString: characters and sequences a plain scalar may not have (stringifyString.js).
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
// Characters for which yaml switches to escaped double quotes: control characters (but tab and newline)
// and surrogates.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\uD800-\uDFFF\u2028\u2029\uFEFF]/;

/**
 * A one-line string, as yaml writes it: plain where a plain scalar reads back as this string, else quoted
 * (single quotes if it holds a double quote and no single quote, else JSON-style double quotes, which are
 * yaml's for a string without control characters). Keys: plain only.
 */
function fastScalar(s: string, key: boolean): string {
    if (CONTROL.test(s) || s.includes("\n") || DOCUMENT_MARKER.test(s) || (key && s.length > 1000)) {
        throw UNSUPPORTED;
    }
    if (NOT_PLAIN.test(s) || NON_STRING_TAGS.some((t) => t.test(s))) {
        if (key) {
            throw UNSUPPORTED;
        }
        return s.includes('"') && !s.includes("'") ? `'${s}'` : JSON.stringify(s);
    }
    return s;
}

/** A multi-line string as a literal block at `indent`: `|` with one final newline, `|-` without. */
function fastBlock(s: string, indent: string): string {
    // Only the simple shapes: no leading whitespace, no trailing whitespace but at most one newline.
    if (CONTROL.test(s) || /^\s/.test(s) || /\s\n$|[\t ]$/.test(s) || DOCUMENT_MARKER.test(s)) {
        throw UNSUPPORTED;
    }
    const clip = s.endsWith("\n");
    const body = clip ? s.slice(0, -1) : s;
    return `|${clip ? "" : "-"}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
}

function isPlainObject(v: object): boolean {
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
}

/** A scalar after `key: ` or `- ` whose own lines (blocks) go at `indent`; undefined for a collection. */
function fastValue(v: unknown, indent: string): string | undefined {
    switch (typeof v) {
        case "string":
            return v.includes("\n") ? fastBlock(v, indent) : fastScalar(v, false);
        case "number":
            if (!Number.isSafeInteger(v) || Object.is(v, -0)) {
                throw UNSUPPORTED;
            }
            return String(v);
        case "boolean":
            return v ? "true" : "false";
        case "object":
            if (v === null) {
                return "null";
            }
            if (Array.isArray(v)) {
                return v.length === 0 ? "[]" : undefined;
            }
            if (!isPlainObject(v)) {
                throw UNSUPPORTED;
            }
            return Object.keys(v).length === 0 ? "{}" : undefined;
        default:
            throw UNSUPPORTED;
    }
}

/** Lines of a non-empty map or sequence at `indent`. `seen`: objects already written (yaml would alias). */
function fastCollection(v: object, indent: string, out: string[], seen: Set<object>): void {
    if (seen.has(v)) {
        throw UNSUPPORTED;
    }
    seen.add(v);
    const inner = indent + INDENT;
    if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
            if (!(i in v)) {
                throw UNSUPPORTED; // a hole
            }
            const item = v[i];
            const scalar = fastValue(item, inner);
            if (scalar !== undefined) {
                out.push(`${indent}- ${scalar}`);
                continue;
            }
            // A nested collection starts on the dash's line: its first line loses its indentation.
            const first = out.length;
            fastCollection(item as object, inner, out, seen);
            out[first] = `${indent}- ${out[first].slice(inner.length)}`;
        }
        return;
    }
    for (const k of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) {
            throw UNSUPPORTED;
        }
        const key = fastScalar(k, true);
        const scalar = fastValue(item, inner);
        if (scalar !== undefined) {
            out.push(`${indent}${key}: ${scalar}`);
        } else {
            out.push(`${indent}${key}:`);
            // yaml indents a sequence under a key (indentSeq) and a map one step in, both at `inner`.
            fastCollection(item as object, inner, out, seen);
        }
    }
}

function fastYaml(m: Manifest): string {
    const top = fastValue(m, "");
    if (top !== undefined) {
        throw UNSUPPORTED; // not a non-empty map: not an object
    }
    const out: string[] = [];
    fastCollection(m, "", out, new Set());
    return out.join("\n") + "\n";
}

/** A render directory read back: every object by its relative file path, and the resource lines. */
export interface RenderDir {
    objects: Map<string, Manifest>;
    resources: string[] | undefined;
}

/** Reads a render directory (every .yaml file below it, and the resources file if present). */
export function readRenderDir(dir: string): RenderDir {
    const objects = new Map<string, Manifest>();
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = path.join(rel, entry.name);
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.name.endsWith(".yaml")) {
                objects.set(child, YAML().parse(fs.readFileSync(path.join(dir, child), "utf8")) as Manifest);
            }
        }
    };
    walk("");
    const resourcesFile = path.join(dir, RESOURCES_FILE);
    const resources = fs.existsSync(resourcesFile)
        ? fs.readFileSync(resourcesFile, "utf8").split("\n").filter((l) => l !== "")
        : undefined;
    return { objects, resources };
}
