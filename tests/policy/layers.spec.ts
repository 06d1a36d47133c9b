// The import graph of policy/: no two modules import each other (directly or round a longer loop) and no
// layer imports one above it. Layers, lowest first: reading/ (how objects and the software in them are
// read), policies/ (the pack's policies), offline/ (the offline runner's jobs), runner.ts (its public
// API) and index.ts (the Pulumi CLI's entry point).

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./helpers";

const POLICY = path.join(ROOT, "policy");

/** The layer a file of policy/ belongs to: its folder, or the file itself at the top level. */
function layerOf(file: string): string {
    const rel = path.relative(POLICY, file);
    const slash = rel.indexOf(path.sep);
    return slash < 0 ? rel : rel.slice(0, slash);
}

/** Which layers each layer may import (lower ones only). */
const ALLOWED: Record<string, readonly string[]> = {
    reading: [],
    policies: ["reading"],
    offline: ["policies", "reading"],
    "runner.ts": ["offline"],
    "index.ts": ["policies"],
};

function tsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? tsFiles(full) : e.name.endsWith(".ts") ? [full] : [];
    });
}

/** Relative imports, re-exports, require() and import() of a file, resolved to files of policy/. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const out: string[] = [];
    for (const m of text.matchAll(/\bfrom\s+"(\.[^"]*)"|\brequire\("(\.[^"]*)"\)|\bimport\("(\.[^"]*)"\)/g)) {
        const target = path.resolve(path.dirname(file), m[1] ?? m[2] ?? m[3]);
        const resolved = [`${target}.ts`, path.join(target, "index.ts")].find((f) => fs.existsSync(f));
        assert.ok(resolved, `${path.relative(ROOT, file)}: cannot resolve ${m[0]}`);
        out.push(resolved);
    }
    return out;
}

describe("policy/ import graph", () => {
    const files = tsFiles(POLICY);
    const graph = new Map(files.map((f) => [f, importsOf(f)]));

    it("has no import cycle between modules", () => {
        const done = new Set<string>();
        const visit = (f: string, stack: string[]): void => {
            const at = stack.indexOf(f);
            assert.ok(at < 0, `import cycle: ${stack.slice(at).concat(f).map((x) => path.relative(POLICY, x)).join(" -> ")}`);
            if (done.has(f)) {
                return;
            }
            for (const dep of graph.get(f) ?? []) {
                visit(dep, [...stack, f]);
            }
            done.add(f);
        };
        files.forEach((f) => visit(f, []));
    });

    it("imports no layer above the importing one", () => {
        const upward: string[] = [];
        for (const [file, deps] of graph) {
            const from = layerOf(file);
            assert.ok(from in ALLOWED, `${path.relative(POLICY, file)}: no layer declared for ${from}`);
            for (const dep of deps) {
                const to = layerOf(dep);
                if (to !== from && !ALLOWED[from].includes(to)) {
                    upward.push(`${path.relative(POLICY, file)} -> ${path.relative(POLICY, dep)}`);
                }
            }
        }
        assert.deepStrictEqual(upward, []);
    });
});
