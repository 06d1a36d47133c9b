// YAML read exactly as kubectl reads it, or refused.
//
// kubectl (cli-runtime's StreamVisitor on apimachinery's YAMLOrJSONDecoder) splits a file into documents at
// lines that start with `---` (anything but a comment after it is an error), converts each document to JSON
// with sigs.k8s.io/yaml, which decodes with go-yaml v2 (go.yaml.in/yaml/v2 2.4), and skips empty ones. This
// module does the same on the syntax tree of the `yaml` package (parsed with the failsafe schema, so every
// scalar arrives as written) and resolves scalars, merge keys, repeated keys and map keys the way go-yaml v2
// and sigs.k8s.io/yaml do:
// - plain scalars by go-yaml v2's resolve table: y/Y/yes/Yes/YES/true/True/TRUE/on/On/ON are true (and the
//   matching false words), ""/~/null/Null/NULL are null, integers by Go's strconv.ParseInt with base 0 after
//   dropping `_` (0x1F, 0o17, 0b11, 017 octal; 08 is then read as the float 8), floats by go-yaml's pattern,
//   timestamps and everything else stay strings; quoted and block scalars are always strings;
// - `<<` merge keys in document order: go-yaml v2 writes the merged mapping's keys over the keys written
//   before the `<<` (unlike the YAML 1.1 merge spec), keys after it win; in a list of merged maps the first wins;
// - a repeated key: the last one wins (go-yaml v2 sets map entries in order);
// - map keys: strings as they are, integers in decimal, booleans as "true"/"false".
// Whatever this module cannot reproduce exactly is refused with a YamlRefusal naming the construct and its
// line: explicit tags (`!!str`, `!!binary`, `!custom`), directives (`%YAML`), a `---` line with content after
// it, a `...` document end (go-yaml reads only the first document of a chunk and silently drops the rest),
// keys that are null, floats, very large integers or collections, two different keys that become the same
// JSON key (`true:` and `"true":`, whose order Go's map iteration leaves undefined), .inf/.nan values (JSON
// cannot carry them, kubectl fails) and integers beyond 2^53 (they cannot be read exactly here).

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml";

/** A construct that kubectl reads in a way this module cannot reproduce exactly (or refuses itself). */
export class YamlRefusal extends Error {
    constructor(
        readonly construct: string,
        readonly line: number | undefined,
    ) {
        super(`${line !== undefined ? `line ${line}: ` : ""}${construct}`);
        this.name = "YamlRefusal";
    }
}

/** A YAML syntax error (the `yaml` package could not parse the document). */
export class YamlSyntaxError extends Error {
    constructor(
        message: string,
        readonly line: number | undefined,
        readonly column: number | undefined,
    ) {
        super(message);
        this.name = "YamlSyntaxError";
    }
}

/** One document of a file: its first line and its value as kubectl would hand it on (null = empty, skipped). */
export interface DecodedDocument {
    line: number;
    value: unknown;
}

const BOOL_TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]);
const BOOL_FALSE = new Set(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]);
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const INFINITIES = new Set([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"]);
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64) (after go-yaml removed the underscores), as a BigInt; undefined on error. */
function goParseInt(s: string, unsigned: boolean): bigint | undefined {
    let rest = s;
    let negative = false;
    if (!unsigned && (rest.startsWith("+") || rest.startsWith("-"))) {
        negative = rest.startsWith("-");
        rest = rest.slice(1);
    }
    let digits = rest;
    let base = 10;
    if (/^0[xX]/.test(rest)) {
        base = 16;
        digits = rest.slice(2);
    } else if (/^0[bB]/.test(rest)) {
        base = 2;
        digits = rest.slice(2);
    } else if (/^0[oO]/.test(rest)) {
        base = 8;
        digits = rest.slice(2);
    } else if (/^0./.test(rest)) {
        base = 8;
        digits = rest.slice(1);
    }
    const valid = base === 16 ? /^[0-9a-fA-F]+$/ : base === 2 ? /^[01]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
    if (!valid.test(digits)) {
        return undefined;
    }
    const prefix = base === 16 ? "0x" : base === 2 ? "0b" : base === 8 ? "0o" : "";
    let v = BigInt(`${prefix}${digits}`);
    if (negative) {
        v = -v;
    }
    if (unsigned ? v > UINT64_MAX : v < INT64_MIN || v > INT64_MAX) {
        return undefined;
    }
    return v;
}

/** A resolved plain scalar: go-yaml v2's resolve() for an untagged plain scalar. */
type Resolved = { kind: "str"; value: string } | { kind: "bool"; value: boolean } | { kind: "null" } | { kind: "int"; value: bigint } | { kind: "float"; value: number };

function isTimestamp(s: string): boolean {
    // go-yaml v2 tries timestamps first for digit-led scalars; into an interface{} it then keeps the string.
    return /^[0-9]{4}-/.test(s) && /^\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.test(s);
}

/** go-yaml v2's resolve("", s) for a plain scalar. */
export function resolvePlain(s: string, line: number | undefined): Resolved {
    const first = s === "" ? "" : s[0];
    const hinted = s === "" || /^[-+0-9yYnNtTfFoO~.]$/.test(first);
    if (!hinted) {
        return { kind: "str", value: s };
    }
    if (BOOL_TRUE.has(s)) {
        return { kind: "bool", value: true };
    }
    if (BOOL_FALSE.has(s)) {
        return { kind: "bool", value: false };
    }
    if (NULLS.has(s)) {
        return { kind: "null" };
    }
    if (INFINITIES.has(s)) {
        throw new YamlRefusal(`the value ${s} is an infinite or NaN float, which kubectl cannot turn into JSON`, line);
    }
    if (first === ".") {
        const f = goParseFloat(s);
        return f !== undefined ? { kind: "float", value: f } : { kind: "str", value: s };
    }
    if (/^[-+0-9]$/.test(first)) {
        if (isTimestamp(s)) {
            return { kind: "str", value: s };
        }
        const plain = s.replace(/_/g, "");
        const i = goParseInt(plain, false) ?? goParseInt(plain, true);
        if (i !== undefined) {
            return { kind: "int", value: i };
        }
        if (YAML_STYLE_FLOAT.test(plain)) {
            const f = goParseFloat(plain);
            if (f !== undefined) {
                return { kind: "float", value: f };
            }
        }
        if (plain.startsWith("-0b") && /^[01]+$/.test(plain.slice(3))) {
            return { kind: "int", value: -BigInt(`0b${plain.slice(3)}`) };
        }
    }
    return { kind: "str", value: s };
}

/** Go's strconv.ParseFloat(s, 64) for the decimal forms go-yaml lets through; undefined on error or overflow. */
function goParseFloat(s: string): number | undefined {
    if (!/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) {
        return undefined;
    }
    const f = Number(s);
    return Number.isFinite(f) ? f : undefined;
}

/** A resolved scalar as the JSON value kubectl hands on. */
function jsonValue(r: Resolved, line: number | undefined): unknown {
    switch (r.kind) {
        case "str":
            return r.value;
        case "bool":
            return r.value;
        case "null":
            return null;
        case "float":
            return r.value;
        case "int":
            if (r.value > BigInt(Number.MAX_SAFE_INTEGER) || r.value < BigInt(Number.MIN_SAFE_INTEGER)) {
                throw new YamlRefusal(`the integer ${r.value} is too large to be read exactly`, line);
            }
            return Number(r.value);
    }
}

/** The Go map key a resolved key scalar becomes, and the JSON key sigs.k8s.io/yaml turns it into. */
function mapKey(r: Resolved, raw: string, line: number | undefined): { goKey: string; jsonKey: string } {
    switch (r.kind) {
        case "str":
            return { goKey: `s:${r.value}`, jsonKey: r.value };
        case "bool":
            return { goKey: `b:${r.value}`, jsonKey: String(r.value) };
        case "int":
            if (r.value > INT64_MAX) {
                throw new YamlRefusal(`the map key ${raw} is an unsigned 64-bit integer, which sigs.k8s.io/yaml cannot turn into a JSON key`, line);
            }
            return { goKey: `i:${r.value}`, jsonKey: r.value.toString() };
        case "null":
            throw new YamlRefusal(`a null map key (${raw === "" ? "an empty key" : raw}), which kubectl cannot turn into JSON`, line);
        case "float":
            throw new YamlRefusal(`the map key ${raw} is a float; sigs.k8s.io/yaml writes it with 32-bit precision`, line);
    }
}

class Converter {
    private depth = 0;

    constructor(
        private readonly doc: Document,
        private readonly lines: LineCounter,
        private readonly firstLine: number,
    ) {}

    line(node: YamlNode | null | undefined): number | undefined {
        const offset = node?.range?.[0];
        return offset === undefined ? undefined : this.lines.linePos(offset).line + this.firstLine - 1;
    }

    private refuseTag(node: YamlNode): void {
        const tag = (node as { tag?: string }).tag;
        if (tag !== undefined) {
            const short = tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice("tag:yaml.org,2002:".length)}` : tag;
            throw new YamlRefusal(`the explicit tag ${short}`, this.line(node));
        }
    }

    /** Follows aliases to the anchored node (go-yaml v2 decodes an alias as a fresh copy of it). */
    private deref(node: unknown): YamlNode | null {
        let n = node as YamlNode | null;
        for (let guard = 0; n && isAlias(n); guard++) {
            if (guard > 64) {
                throw new YamlRefusal("an alias chain that does not end", this.line(n));
            }
            const target = n.resolve(this.doc);
            if (!target) {
                throw new YamlRefusal(`the alias *${n.source} names no anchor defined before it`, this.line(n));
            }
            n = target as YamlNode;
        }
        return n;
    }

    value(node: unknown): unknown {
        const n = this.deref(node);
        if (n === null || n === undefined) {
            return null;
        }
        if (++this.depth > 200) {
            throw new YamlRefusal("nesting deeper than 200 levels (an alias that contains itself?)", this.line(n));
        }
        try {
            this.refuseTag(n);
            if (isScalar(n)) {
                const text = typeof n.value === "string" ? n.value : String(n.value);
                return n.type === "PLAIN" ? jsonValue(resolvePlain(text, this.line(n)), this.line(n)) : text;
            }
            if (isSeq(n)) {
                return n.items.map((item) => this.value(item));
            }
            if (isMap(n)) {
                const entries = new Map<string, { jsonKey: string; value: unknown }>();
                this.fillMap(n, entries);
                const out: Record<string, unknown> = {};
                const byJson = new Map<string, string>();
                for (const [goKey, e] of entries) {
                    const other = byJson.get(e.jsonKey);
                    if (other !== undefined && other !== goKey) {
                        throw new YamlRefusal(`two different keys both become the JSON key "${e.jsonKey}" (kubectl keeps one of them at random)`, this.line(n));
                    }
                    byJson.set(e.jsonKey, goKey);
                    out[e.jsonKey] = e.value;
                }
                return out;
            }
            throw new YamlRefusal("a node of an unknown kind", this.line(n));
        } finally {
            this.depth--;
        }
    }

    /** go-yaml v2's mapping(): entries set in document order; `<<` writes the merged mappings over what is there. */
    private fillMap(n: YamlNode, entries: Map<string, { jsonKey: string; value: unknown }>): void {
        if (!isMap(n)) {
            throw new YamlRefusal("a merge key whose value is not a mapping (kubectl refuses it)", this.line(n));
        }
        if (++this.depth > 200) {
            throw new YamlRefusal("nesting deeper than 200 levels (a merge that contains itself?)", this.line(n));
        }
        try {
            for (const pair of n.items) {
                const keyNode = this.deref(pair.key);
                if (keyNode && !isScalar(keyNode)) {
                    throw new YamlRefusal("a map key that is a list or a mapping (kubectl refuses it)", this.line(keyNode));
                }
                if (keyNode) {
                    this.refuseTag(keyNode);
                }
                const raw = keyNode ? String((keyNode as { value: unknown }).value ?? "") : "";
                const plain = !keyNode || (keyNode as { type?: string }).type === "PLAIN";
                if (plain && raw === "<<" && keyNode) {
                    const merged = this.deref(pair.value);
                    if (merged && isSeq(merged)) {
                        // Earlier maps of the list take precedence: go-yaml applies them last to first.
                        for (let i = merged.items.length - 1; i >= 0; i--) {
                            this.fillMap(this.deref(merged.items[i]) as YamlNode, entries);
                        }
                    } else {
                        this.fillMap(merged as YamlNode, entries);
                    }
                    continue;
                }
                const resolved: Resolved = plain ? resolvePlain(raw, this.line(keyNode)) : { kind: "str", value: raw };
                const { goKey, jsonKey } = mapKey(resolved, raw, this.line(keyNode ?? n));
                // Delete first so that a repeated key takes the position of its last occurrence, as a re-set Go map entry would not;
                // positions do not matter for JSON objects, values do.
                entries.delete(goKey);
                entries.set(goKey, { jsonKey, value: this.value(pair.value) });
            }
        } finally {
            this.depth--;
        }
    }
}

/** Splits a YAML stream into documents the way apimachinery's YAMLReader does, refusing what kubectl refuses or drops. */
function splitDocuments(text: string): Array<{ line: number; text: string }> {
    const lines = text.split("\n");
    const out: Array<{ line: number; text: string }> = [];
    let start = 1;
    let buf: string[] = [];
    lines.forEach((l, i) => {
        const lineNo = i + 1;
        if (l.startsWith("---")) {
            const rest = l.slice(3).trim();
            if (rest !== "" && !rest.startsWith("#")) {
                throw new YamlRefusal(`a document separator followed by content (${JSON.stringify(l.slice(0, 40))}); kubectl refuses it as an invalid document separator`, lineNo);
            }
            out.push({ line: start, text: buf.join("\n") });
            buf = [];
            start = lineNo + 1;
            return;
        }
        if (/^\.\.\.(\s|#|$)/.test(l)) {
            throw new YamlRefusal("a `...` document end marker; kubectl reads only the first document of the chunk and silently drops what follows", lineNo);
        }
        if (l.startsWith("%")) {
            throw new YamlRefusal(`the directive ${JSON.stringify(l.trim().slice(0, 40))}; kubectl splits it off into a document of its own`, lineNo);
        }
        buf.push(l);
    });
    out.push({ line: start, text: buf.join("\n") });
    return out;
}

/**
 * Decodes a YAML file as kubectl would: one entry per document, `value` null for empty documents. Throws
 * YamlRefusal (a construct read differently or refused by kubectl) or YamlSyntaxError.
 */
export function decodeManifestYaml(text: string): DecodedDocument[] {
    const trimmed = text.replace(/^\uFEFF/, "").trimStart();
    if (trimmed.startsWith("{")) {
        // kubectl's decoder reads a stream that starts with `{` as JSON.
        try {
            return [{ line: 1, value: JSON.parse(trimmed) }];
        } catch (e) {
            throw new YamlRefusal(`the file starts with "{", so kubectl reads it as a JSON stream, but it is not one JSON document (${(e as Error).message})`, 1);
        }
    }
    const out: DecodedDocument[] = [];
    for (const chunk of splitDocuments(text)) {
        const lines = new LineCounter();
        const doc = parseDocument(chunk.text, { version: "1.1", schema: "failsafe", merge: false, uniqueKeys: false, lineCounter: lines });
        const err = doc.errors[0];
        if (err) {
            const pos = err.linePos?.[0];
            const first = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
            throw new YamlSyntaxError(first, pos ? pos.line + chunk.line - 1 : undefined, pos?.col);
        }
        const converter = new Converter(doc, lines, chunk.line);
        if (doc.contents === null || doc.contents === undefined) {
            out.push({ line: chunk.line, value: null });
            continue;
        }
        out.push({ line: chunk.line, value: converter.value(doc.contents) });
    }
    return out;
}
