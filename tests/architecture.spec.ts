// The program's layers, checked: every module of components/ belongs to one layer, imports only from its own
// layer or the ones below, and no two modules import each other, directly or through others. The layers up
// to the plans are pure: loading them loads no Pulumi SDK, so settings and plans run (and are tested)
// without any runtime.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/** Lowest first; a module is in the first layer one of whose patterns its path (under components/) matches. */
const LAYERS: { name: string; modules: RegExp[] }[] = [
    { name: "facts", modules: [/^config\/(reader|units)\.ts$/, /^(hash|dnsNames|labels|imageUsers|outputs)\.ts$/] },
    { name: "shared settings", modules: [/^config\/(platform|service|operations|backups)\.ts$/, /^(connections|podSecurity)\.ts$/] },
    { name: "service settings", modules: [/^[a-z]+\/settings\.ts$/] },
    { name: "stack config", modules: [/^(stackConfig|productionRules)\.ts$/] },
    { name: "plan model", modules: [/^workload\/(plan|operations|tlsReload)\.ts$/, /^backup\/(s3|s3script|staging)\.ts$/, /^reconcileWait\.ts$/] },
    { name: "service files", modules: [/^(mariadb|redis|kafka)\/(files|backup|sentinel|reconcile|aclReconcile)\.ts$/, /^monitoring\/[a-z]+\.ts$/] },
    { name: "service plans", modules: [/^(mariadb|redis|kafka)\/plan\.ts$/, /^plans\.ts$/] },
    { name: "rendering", modules: [/^workload\/(podTemplate|immutable|render|statefulService)\.ts$/, /^(networkPolicies|secrets|tls|platform)\.ts$/] },
    { name: "components", modules: [/^(mariadb|redis|kafka)\/index\.ts$/, /^guard\.ts$/] },
];
/** The highest layer that may load the Pulumi SDK's runtime code is "rendering"; these are below it. */
const PURE_LAYERS = ["facts", "shared settings", "service settings", "plan model", "service files", "service plans"];

function componentFiles(dir = path.join(ROOT, "components")): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? (e.name === "node_modules" || e.name === "fixtures" ? [] : componentFiles(p)) : e.name.endsWith(".ts") ? [p] : [];
    });
}

/** The project files a module imports (type-only imports too: a reader follows them all the same). */
function localImports(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    return info.importedFiles
        .map((f) => f.fileName)
        .filter((spec) => spec.startsWith("."))
        .map((spec) => {
            const base = path.resolve(path.dirname(file), spec);
            const candidates = [`${base}.ts`, path.join(base, "index.ts")];
            const found = candidates.find((c) => fs.existsSync(c));
            assert.ok(found, `${path.relative(ROOT, file)} imports ${spec}, which is no file of the project`);
            return found;
        });
}

function layerOf(file: string): number {
    const rel = path.relative(path.join(ROOT, "components"), file).split(path.sep).join("/");
    const i = LAYERS.findIndex((l) => l.modules.some((m) => m.test(rel)));
    assert.ok(i >= 0, `components/${rel} belongs to no layer: add it to LAYERS in tests/architecture.spec.ts`);
    return i;
}

/** Every cycle of the import graph, as lists of files (Tarjan's strongly connected components). */
function cycles(graph: Map<string, string[]>): string[][] {
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const found: string[][] = [];
    const visit = (v: string): void => {
        index.set(v, next);
        low.set(v, next++);
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!index.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) {
                low.set(v, Math.min(low.get(v)!, index.get(w)!));
            }
        }
        if (low.get(v) === index.get(v)) {
            const scc: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                scc.push(w);
            } while (w !== v);
            if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
        }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    return found;
}

describe("architecture: the layers of components/", () => {
    const files = componentFiles();
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const rel = (f: string) => path.relative(ROOT, f);

    it("every module is in a layer and imports only from its own layer or below", () => {
        const upward = files.flatMap((f) =>
            graph
                .get(f)!
                .filter((g) => g.startsWith(path.join(ROOT, "components")) && layerOf(g) > layerOf(f))
                .map((g) => `${rel(f)} (${LAYERS[layerOf(f)].name}) imports ${rel(g)} (${LAYERS[layerOf(g)].name})`),
        );
        assert.deepStrictEqual(upward, []);
    });

    it("no two modules import each other, directly or through others", () => {
        assert.deepStrictEqual(cycles(graph).map((c) => c.map(rel).sort()), []);
    });

    it("no two modules of the whole project (program, scripts, tests, policy, examples, the engine's stand-ins) import each other; scripts and stand-ins import no test", () => {
        const all = ["index.ts", "components", "scripts", "tests", "policy", "examples", "tools/pulumi/standins"].flatMap((p) => {
            const abs = path.join(ROOT, p);
            return fs.statSync(abs).isDirectory() ? componentFiles(abs) : [abs];
        });
        const whole = new Map(all.map((f) => [f, localImports(f)]));
        assert.deepStrictEqual(cycles(whole).map((c) => c.map(rel).sort()), []);
        const scriptsIntoTests = [...whole]
            .filter(([f]) => f.startsWith(path.join(ROOT, "scripts") + path.sep) || f.startsWith(path.join(ROOT, "tools") + path.sep))
            .flatMap(([f, deps]) => deps.filter((d) => d.startsWith(path.join(ROOT, "tests") + path.sep)).map((d) => `${rel(f)} imports ${rel(d)}`));
        assert.deepStrictEqual(scriptsIntoTests, [], "a command users run (or a plugin the engine starts) must not depend on test code");
    });

    it("the checks see a cycle and an upward import when there is one", () => {
        const a = path.join(ROOT, "components", "config", "units.ts");
        const b = path.join(ROOT, "components", "mariadb", "plan.ts");
        const planted = new Map(graph);
        planted.set(a, [...graph.get(a)!, b]);
        assert.ok(cycles(planted).some((c) => c.includes(a) && c.includes(b)));
        assert.ok(layerOf(b) > layerOf(a));
    });

    it("settings, files and plans load no Pulumi SDK at run time", () => {
        const pure = files.filter((f) => PURE_LAYERS.includes(LAYERS[layerOf(f)].name));
        assert.ok(pure.length > 20, `only ${pure.length} pure modules found`);
        const script = `for (const f of ${JSON.stringify(pure)}) require(f);
            process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes("@pulumi"))));`;
        const run = spawnSync(process.execPath, ["-r", path.join(ROOT, "scripts", "lib", "register.js"), "-e", script], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(run.status, 0, run.stderr);
        assert.deepStrictEqual(JSON.parse(run.stdout), [], "a pure module loads the Pulumi SDK");
    });
});
