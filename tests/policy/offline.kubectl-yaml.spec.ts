// YAML as kubectl reads it (policy/offline/kubectlYaml.ts), through the manifest loader and evaluate.

import * as assert from "assert";
import * as path from "path";
import { spawnSync } from "child_process";
import { evaluate, formatReport, loadManifests, ManifestError } from "../../policy/runner";
import { corpus, withTempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join("tests", "fixtures", "policy");

describe("policy runner: YAML as kubectl reads it", () => {
    // kubectl turns YAML into JSON with sigs.k8s.io/yaml, which decodes with go-yaml v2 (YAML 1.1
    // scalars, merge keys, a repeated key keeps the last value, no base-60 numbers, timestamps as strings).
    function load(text: string): Array<Record<string, unknown>> {
        return withTempDir({ "m.yaml": text }, (dir) => loadManifests([dir]) as Array<Record<string, unknown>>);
    }
    const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\nsettings:\n${data}`;

    it("reads YAML 1.1 booleans both ways: yes/on/y/Y/true are true, no/off/n/N/false are false, quoted ones are strings", () => {
        const [o] = load(cm("  a: yes\n  b: On\n  c: y\n  d: Y\n  e: TRUE\n  f: no\n  g: OFF\n  h: n\n  i: N\n  j: False\n  k: 'yes'\n  l: \"off\"\n  m: yess\n"));
        assert.deepStrictEqual(o.settings, { a: true, b: true, c: true, d: true, e: true, f: false, g: false, h: false, i: false, j: false, k: "yes", l: "off", m: "yess" });
    });

    it("reads YAML 1.1 numbers like go-yaml v2: 0755 and 0o755 are octal, 1:20 and dates stay strings", () => {
        const [o] = load(cm("  a: 0755\n  b: 0o755\n  c: 1:20\n  d: 2024-01-02\n  e: 0x1F\n  f: 1_000\n  g: ~\n"));
        assert.deepStrictEqual(o.settings, { a: 493, b: 493, c: "1:20", d: "2024-01-02", e: 31, f: 1000, g: null });
    });

    it("resolves merge keys both ways: merged fields apply, local fields override them", () => {
        // (Keys are YAML 1.1 scalars too: a key `y` would be the boolean true, hence p and q.)
        const [o] = load(cm("  base: &b { p: 1, q: 2 }\n  merged:\n    <<: *b\n    q: 3\n  multi:\n    <<: [*b, { r: 4 }]\n  on: key\n"));
        assert.deepStrictEqual(o.settings, { base: { p: 1, q: 2 }, merged: { p: 1, q: 3 }, multi: { p: 1, q: 2, r: 4 }, true: "key" });
    });

    it("resolves plain scalars by go-yaml v2's table: Go integers after dropping _, 08 as the float 8, .5, -0b11, timestamps as strings", () => {
        const [o] = load(cm("  a: 08\n  b: 0b101\n  c: -0b11\n  d: +.5\n  e: 1e3\n  f: 0x_1F\n  g: -0\n  h: yES\n  i: 2024-1-2\n  j: NULL\n  k: 0o0\n"));
        assert.deepStrictEqual(o.settings, { a: 8, b: 5, c: -3, d: 0.5, e: 1000, f: 31, g: 0, h: "yES", i: "2024-1-2", j: null, k: 0 });
    });

    it("applies a merge key in document order, as go-yaml v2 does: it overwrites the keys written before it", () => {
        const [o] = load(cm("  sc:\n    privileged: false\n    <<: &e { privileged: true, x: 1 }\n  later:\n    <<: *e\n    privileged: false\n  list:\n    <<: [{ a: 1 }, { a: 2, b: 2 }]\n"));
        assert.deepStrictEqual(o.settings, { sc: { privileged: true, x: 1 }, later: { privileged: false, x: 1 }, list: { a: 1, b: 2 } });
    });

    it("refuses what kubectl reads differently or refuses, naming the file, the line and the construct (tests/fixtures/policy/refused)", () => {
        const cases = corpus("refused");
        assert.ok(cases.length >= 5);
        for (const c of cases) {
            assert.throws(
                () => loadManifests([c.file]),
                (e: unknown) => e instanceof ManifestError && e.file === c.file && e.message.includes("YAML that kubectl would read differently or refuse") && e.message.includes(c.cls),
                c.file,
            );
            const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "scripts", "lib", "register.js"), path.join(ROOT, "scripts", "policy.ts"), path.join(ROOT, FIXTURES, "compliant"), c.file], { cwd: ROOT, encoding: "utf8" });
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(r.stderr, new RegExp(`^policy: ${c.file.replace(/[.]/g, "\\.")}: YAML that kubectl would read differently or refuse, so it is not read at all: line \\d+: `));
        }
    });

    it("keeps the last value of a repeated key, as kubectl does", () => {
        const [o] = load(cm("  a: 1\n  a: 2\n"));
        assert.deepStrictEqual(o.settings, { a: 2 });
    });

    it("evaluates what kubectl would apply: privileged: yes is caught, runAsNonRoot: yes passes", async () => {
        const dir = path.join(ROOT, FIXTURES);
        const flagged = await evaluate(loadManifests([path.join(dir, "compliant"), path.join(dir, "violating", "classes", "yaml-privileged-yes.yaml")]));
        assert.ok(flagged.some((v) => v.policyName === "container-security-context" && v.message.includes("privileged is true")), formatReport(flagged));
        const clean = await evaluate(loadManifests([path.join(dir, "compliant"), path.join(dir, "compliant-unusual", "yaml-1.1-booleans-used-correctly.yaml")]));
        assert.deepStrictEqual(clean, [], formatReport(clean));
    });
});
