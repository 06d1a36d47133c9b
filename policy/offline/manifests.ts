// Kubernetes manifests read from files and directories: YAML (as kubectl reads it, or refused; see kubectlYaml.ts)
// or JSON, multi-document files, `kind: List` / `*List` objects and JSON arrays flattened into one list
// of objects, each checked for apiVersion, kind and metadata.name.

import * as fs from "fs";
import * as path from "path";
import { rec } from "../reading/objects";
import { decodeManifestYaml, YamlRefusal, YamlSyntaxError } from "./kubectlYaml";
import { recordFileLiterals } from "./unknownValues";

/** A manifest that cannot be read or parsed; `file` names the offending input. */
export class ManifestError extends Error {
    constructor(
        readonly file: string,
        detail: string,
    ) {
        super(`${file}: ${detail}`);
        this.name = "ManifestError";
    }
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

function listDir(dir: string): string[] {
    const out: string[] = [];
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
            out.push(...listDir(full));
        } else if (e.isFile() && MANIFEST_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
            out.push(full);
        }
    }
    return out;
}

/** Flattens `kind: List` / `*List` objects and checks every object has apiVersion, kind and metadata.name. */
export function flatten(doc: unknown, file: string, where: string, out: object[]): void {
    const obj = rec(doc);
    if (!obj) {
        throw new ManifestError(file, `${where} is not a mapping (got ${Array.isArray(doc) ? "a list" : typeof doc})`);
    }
    const kind = obj.kind;
    if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(obj.items)) {
        obj.items.forEach((item, i) => flatten(item, file, `${where} item ${i + 1}`, out));
        return;
    }
    const missing: string[] = [];
    if (typeof obj.apiVersion !== "string" || obj.apiVersion === "") {
        missing.push("apiVersion");
    }
    if (typeof kind !== "string" || kind === "") {
        missing.push("kind");
    }
    const name = rec(obj.metadata)?.name;
    if (typeof name !== "string" || name === "") {
        missing.push("metadata.name");
    }
    if (missing.length > 0) {
        throw new ManifestError(file, `${where} has no ${missing.join(", ")}`);
    }
    out.push(obj);
}

function parseFile(file: string, out: object[]): void {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new ManifestError(file, `cannot read: ${(e as Error).message}`);
    }
    if (path.extname(file).toLowerCase() === ".json") {
        if (text.trim() === "") {
            return;
        }
        let doc: unknown;
        try {
            doc = JSON.parse(text);
        } catch (e) {
            throw new ManifestError(file, `JSON syntax error: ${(e as Error).message}`);
        }
        (Array.isArray(doc) ? doc : [doc]).forEach((d, i) => flatten(d, file, Array.isArray(doc) ? `element ${i + 1}` : "document", out));
        return;
    }
    let docs: ReturnType<typeof decodeManifestYaml>;
    try {
        docs = decodeManifestYaml(text);
    } catch (e) {
        if (e instanceof YamlRefusal) {
            throw new ManifestError(file, `YAML that kubectl would read differently or refuse, so it is not read at all: ${e.message}`);
        }
        if (e instanceof YamlSyntaxError) {
            throw new ManifestError(file, `YAML syntax error${e.line !== undefined ? ` at line ${e.line}${e.column !== undefined ? `, column ${e.column}` : ""}` : ""}: ${e.message}`);
        }
        throw e;
    }
    docs.forEach((d, i) => {
        const js = d.value;
        if (js === null || js === undefined) {
            return; // empty document (`---` with nothing, or only comments)
        }
        (Array.isArray(js) ? js : [js]).forEach((item, j) => flatten(item, file, Array.isArray(js) ? `document ${i + 1} element ${j + 1}` : `document ${i + 1}`, out));
    });
}

/**
 * Loads Kubernetes objects from files and directories (recursively; only .yaml/.yml/.json, sorted
 * by name). Multi-document YAML, `kind: List` / `*List` and JSON arrays are flattened; empty
 * documents are skipped. Throws ManifestError naming the file on any read or parse problem and on
 * objects without apiVersion, kind or metadata.name.
 */
export function loadManifests(paths: string[]): object[] {
    const out: object[] = [];
    for (const p of paths) {
        let stat: fs.Stats;
        try {
            stat = fs.statSync(p);
        } catch (e) {
            throw new ManifestError(p, `cannot read: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
        }
        const files = stat.isDirectory() ? listDir(p) : [p];
        for (const f of files) {
            parseFile(f, out);
        }
    }
    out.forEach(recordFileLiterals);
    return out;
}
