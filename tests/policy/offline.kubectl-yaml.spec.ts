// YAML as kubectl reads it (policy/offline/kubectlYaml.ts), through the manifest loader and evaluate.

import * as assert from "assert";
import * as path from "path";
import { evaluate, formatReport, loadManifests } from "../../policy/runner";
import { withTempDir } from "./helpers";

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
