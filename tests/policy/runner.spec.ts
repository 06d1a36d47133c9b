// The offline runner: the programmatic API of policy/runner.ts (fast, in-process) and a handful
// of spawned `scripts/policy.ts` runs that pin the CLI contract: output lines, count line and
// exit codes 0 / 1 / 2.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { evaluate, formatReport, hasMandatory, loadManifests, loadPolicyConfig, ManifestError, PolicyConfigError, Violation } from "../../policy/runner";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join("tests", "fixtures", "policy");

interface RunResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the CLI exactly like `npm run policy -- <args>` does, from the repository root. */
function runCli(...args: string[]): RunResult {
    const r = spawnSync(process.execPath, ["-r", "./scripts/lib/register.js", "scripts/policy.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A line of the report: `<enforcement> <policy> <kind> <namespace>/<name>: <message>`. */
const LINE = /^(mandatory|advisory) ([a-z0-9-]+) ([A-Za-z]+) ([a-z0-9.-]*)\/([a-z0-9.-]+|-): (.+)$/;

function withTempDir<T>(files: Record<string, string>, fn: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-runner-"));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            fs.writeFileSync(path.join(dir, name), text);
        }
        return fn(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("policy runner", () => {
    describe("loadManifests", () => {
        it("reads directories recursively in sorted order, only .yaml/.yml/.json, flattening Lists and multi-doc files", () => {
            const objs = loadManifests([path.join(ROOT, FIXTURES, "compliant")]) as Array<{ kind: string; metadata: { name: string; namespace?: string } }>;
            const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
            // 00-namespaces.yaml (3 docs + an empty one), cache.yaml (List), db-backup-pvc.json, db.yaml, messaging.json (List); README.txt ignored
            assert.deepStrictEqual(ids.slice(0, 4), ["Namespace//db", "Namespace//cache", "Namespace//messaging", "ServiceAccount/cache/redis"]);
            assert.strictEqual(ids.length, 3 + 7 + 1 + 8 + 6);
            assert.strictEqual(ids.indexOf("PersistentVolumeClaim/db/mariadb-backup"), 10);
            assert.strictEqual(ids[ids.length - 1], "NetworkPolicy/messaging/allow-peers");
        });

        it("flattens *List kinds, JSON arrays and YAML documents that are lists, and skips empty files", () => {
            const files = {
                "a.yml": "apiVersion: v1\nkind: ConfigMapList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: one }\n",
                "b.json": JSON.stringify([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "two" } }]),
                "c.yaml": "# nothing here\n",
                "d.json": "",
                "sub/e.yaml": "---\n---\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: { name: three }\n",
                "sub/ignored.txt": "kind: nope",
            };
            const names = withTempDir(files, (dir) => (loadManifests([dir]) as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name));
            assert.deepStrictEqual(names, ["one", "two", "three"]);
        });

        it("throws ManifestError naming the file and line on YAML syntax errors", () => {
            const file = path.join(ROOT, FIXTURES, "broken", "syntax-error.yaml");
            assert.throws(() => loadManifests([file]), (e: unknown) => e instanceof ManifestError && e.file === file && /syntax-error\.yaml: YAML syntax error at line 7/.test(e.message));
        });

        it("throws ManifestError for objects without kind, apiVersion or metadata.name, and for missing paths", () => {
            assert.throws(() => loadManifests([path.join(ROOT, FIXTURES, "broken", "no-kind.yaml")]), /no-kind\.yaml: document 1 has no kind/);
            withTempDir({ "x.json": '{"kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {}}]}' }, (dir) => {
                assert.throws(() => loadManifests([dir]), /x\.json: document item 1 has no metadata\.name/);
            });
            withTempDir({ "bad.json": "{ nope" }, (dir) => {
                assert.throws(() => loadManifests([dir]), /bad\.json: JSON syntax error/);
            });
            assert.throws(() => loadManifests(["does/not/exist.yaml"]), (e: unknown) => e instanceof ManifestError && e.message === "does/not/exist.yaml: cannot read: no such file or directory");
        });
    });

    describe("loadPolicyConfig", () => {
        it("returns {} without a file and reads the stack configs", () => {
            assert.deepStrictEqual(loadPolicyConfig(), {});
            assert.strictEqual(loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json")).all, "mandatory");
        });

        it("rejects bad knobs, unknown keys, unknown policies, bad levels and bad JSON, naming file, policy and key", () => {
            const cases: Array<[unknown, RegExp]> = [
                [{ "pvc-storage-class": { allowedStorageClasses: "longhorn" } }, /policy "pvc-storage-class", key "allowedStorageClasses": expected an array of strings, got "longhorn"/],
                [{ "namespace-pod-security-labels": { level: "strict" } }, /key "level": expected one of "privileged", "baseline", "restricted", got "strict"/],
                [{ "data-service-exposure": { dataPorts: [0] } }, /key "dataPorts": expected an array of integers between 1 and 65535, got \[0\]/],
                [{ "kafka-no-plaintext-listeners": { allowPlainText: true } }, /policy "kafka-no-plaintext-listeners": unknown key "allowPlainText" \(accepted: allowPlaintext, enforcementLevel\)/],
                [{ "statefulset-pvc-retention": { keep: true } }, /unknown key "keep" \(accepted: enforcementLevel only, this policy has no knobs\)/],
                [{ "no-such-policy": "advisory" }, /unknown policy "no-such-policy" \(policies: container-security-context, /],
                [{ all: "loud" }, /"all": "loud" is not an enforcement level \(accepted: advisory, mandatory, remediate, disabled\)/],
                [{ "container-images": { enforcementLevel: "warn" } }, /policy "container-images", key "enforcementLevel": "warn" is not accepted/],
                [[1, 2], /must be a JSON object/],
            ];
            for (const [config, expected] of cases) {
                withTempDir({ "cfg.json": JSON.stringify(config) }, (dir) => {
                    const file = path.join(dir, "cfg.json");
                    assert.throws(
                        () => loadPolicyConfig(file),
                        (e: unknown) => e instanceof PolicyConfigError && e.file === file && e.message.startsWith(`${file}: `) && expected.test(e.message),
                        JSON.stringify(config),
                    );
                });
            }
            assert.throws(() => loadPolicyConfig("nope.json"), /nope\.json: cannot read: no such file or directory/);
            withTempDir({ "broken.json": "{ all: " }, (dir) => assert.throws(() => loadPolicyConfig(path.join(dir, "broken.json")), /broken\.json: JSON syntax error/));
        });
    });

    describe("formatReport and hasMandatory", () => {
        const v = (level: "mandatory" | "advisory", namespace: string, name: string, kind = "StatefulSet"): Violation => ({
            enforcementLevel: level,
            policyName: "container-images",
            kind,
            namespace,
            name,
            message: "container \"x\": bad.\nFix: do better.",
        });

        it("prints one line per violation and a count line", () => {
            assert.strictEqual(formatReport([]), "0 violations");
            assert.strictEqual(
                formatReport([v("mandatory", "db", "mariadb"), v("advisory", "", "db", "Namespace"), v("mandatory", "db", "-", "Namespace")]),
                [
                    'mandatory container-images StatefulSet db/mariadb: container "x": bad. Fix: do better.',
                    'advisory container-images Namespace /db: container "x": bad. Fix: do better.',
                    'mandatory container-images Namespace db/-: container "x": bad. Fix: do better.',
                    "3 violations (2 mandatory, 1 advisory)",
                ].join("\n"),
            );
            assert.strictEqual(formatReport([v("advisory", "db", "a")]).split("\n")[1], "1 violation (0 mandatory, 1 advisory)");
        });

        it("hasMandatory is true only with a mandatory violation", () => {
            assert.strictEqual(hasMandatory([]), false);
            assert.strictEqual(hasMandatory([v("advisory", "db", "a")]), false);
            assert.strictEqual(hasMandatory([v("advisory", "db", "a"), v("mandatory", "db", "b")]), true);
        });

        it("evaluate() with a config object skips disabled policies", async () => {
            const objs = loadManifests([path.join(ROOT, FIXTURES, "violating", "kafka-plaintext.yaml")]);
            assert.strictEqual((await evaluate(objs)).length, 1);
            assert.deepStrictEqual(await evaluate(objs, { "kafka-no-plaintext-listeners": "disabled" }), []);
        });
    });

    describe("CLI (spawned)", function () {
        this.timeout(60000);

        it("exits 0 with `0 violations` on a clean directory", () => {
            const r = runCli(path.join(FIXTURES, "compliant"));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout, "0 violations\n");
        });

        it("exits 1 and prints the violation lines for a violating file", () => {
            const r = runCli(path.join(FIXTURES, "violating", "kafka-plaintext.yaml"));
            assert.strictEqual(r.status, 1, r.stderr);
            const lines = r.stdout.trimEnd().split("\n");
            assert.strictEqual(lines.length, 2, r.stdout);
            assert.match(lines[0], LINE);
            assert.ok(
                lines[0].startsWith(
                    'mandatory kafka-no-plaintext-listeners StatefulSet streaming/kafka: container "kafka": listener PLAINTEXT uses the PLAINTEXT security protocol (from the container env). Fix: ',
                ),
                lines[0],
            );
            assert.strictEqual(lines[1], "1 violation (1 mandatory, 0 advisory)");
        });

        it("exits 0 when a config makes every violation advisory", () => {
            const r = runCli(path.join(FIXTURES, "violating", "kafka-plaintext.yaml"), "--config", path.join(FIXTURES, "configs", "advisory.json"));
            assert.strictEqual(r.status, 0, r.stderr);
            const lines = r.stdout.trimEnd().split("\n");
            assert.ok(lines[0].startsWith("advisory kafka-no-plaintext-listeners StatefulSet streaming/kafka: "), lines[0]);
            assert.strictEqual(lines[1], "1 violation (0 mandatory, 1 advisory)");
        });

        it("reads a List, a JSON file and a multi-document file in one run", () => {
            const r = runCli(path.join(FIXTURES, "violating", "exposed-list.yaml"), path.join(FIXTURES, "violating", "pvc-local-path.json"), path.join(FIXTURES, "violating", "network-open.yaml"));
            assert.strictEqual(r.status, 1, r.stderr);
            const lines = r.stdout.trimEnd().split("\n");
            const heads = lines.slice(0, -1).map((l) => {
                const m = LINE.exec(l);
                assert.ok(m, l);
                return `${m[1]} ${m[2]} ${m[3]} ${m[4]}/${m[5]}`;
            });
            assert.deepStrictEqual(heads, [
                "mandatory data-service-exposure Service db/mariadb-external",
                "mandatory data-service-exposure Service messaging/kafka-bootstrap",
                "mandatory pvc-storage-class PersistentVolumeClaim db/scratch",
                "mandatory network-policy-data-ports NetworkPolicy db/allow-all-namespaces",
                "mandatory network-policy-data-ports NetworkPolicy cache/allow-internet",
            ]);
            assert.strictEqual(lines[lines.length - 1], "5 violations (5 mandatory, 0 advisory)");
        });

        it("exits 2 naming the file and line on a YAML syntax error", () => {
            const file = path.join(FIXTURES, "broken", "syntax-error.yaml");
            const r = runCli(file);
            assert.strictEqual(r.status, 2);
            assert.strictEqual(r.stdout, "");
            assert.match(r.stderr, new RegExp(`^policy: ${file.replace(/[.]/g, "\\.")}: YAML syntax error at line 7, column 3`));
        });

        it("exits 2 on a missing path, naming it", () => {
            const r = runCli(path.join(FIXTURES, "compliant"), "no/such/dir");
            assert.strictEqual(r.status, 2);
            assert.strictEqual(r.stderr, "policy: no/such/dir: cannot read: no such file or directory\n");
        });

        it("exits 2 with usage when no path is given", () => {
            const r = runCli();
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /^policy: no manifest files or directories given\n\nusage: npm run policy -- <file-or-dir>\.\.\. \[--config <policy-config\.json>\]/);
        });

        it("exits 2 on a config with a bad knob, naming file, policy and key", () => {
            const cfg = path.join(FIXTURES, "configs", "bad-knob.json");
            const r = runCli(path.join(FIXTURES, "compliant"), "--config", cfg);
            assert.strictEqual(r.status, 2);
            assert.strictEqual(r.stderr, `policy: ${cfg}: policy "pvc-storage-class", key "allowedStorageClasses": expected an array of strings, got "longhorn"\n`);
        });
    });
});

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

describe("policy runner: unknown markers in manifest files", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

    it("reads a marker string from a file as data, so it cannot switch checks off", async () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "p", namespace: "db" },
            spec: { containers: [{ name: unknownStringValue, image: unknownStringValue, securityContext: { privileged: true } }] },
        };
        const vs = await withTempDir({ "p.json": JSON.stringify(pod) }, (dir) => evaluate(loadManifests([dir])));
        assert.ok(vs.length > 0 && vs.every((v) => v.enforcementLevel === "mandatory"), formatReport(vs));
        assert.ok(vs.some((v) => v.policyName === "container-security-context" && v.message.includes("privileged is true")));
        assert.ok(vs.some((v) => v.policyName === "container-images" && v.message.includes("has no tag")));
    });

    it("still treats a marker set programmatically (a simulated preview value) as unknown", async () => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const objs = loadManifests([path.join(ROOT, FIXTURES, "compliant")]) as Array<Record<string, any>>;
        objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === "mariadb")!.spec.template.spec.containers[0].image = unknownStringValue;
        const vs = await evaluate(objs);
        assert.ok(vs.some((v) => v.enforcementLevel === "advisory" && v.policyName === "container-images" && /during preview/.test(v.message)), formatReport(vs));
    });
});
