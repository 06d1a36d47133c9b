// The offline runner's command line (scripts/policy.ts, `npm run policy`): a handful of spawned runs
// that pin the CLI contract: output lines, count line and exit codes 0 / 1 / 2.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

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

describe("policy runner", () => {
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
                    'mandatory kafka-no-plaintext-listeners StatefulSet streaming/kafka: container "kafka": the broker: listener PLAINTEXT uses the PLAINTEXT security protocol (from the container\'s KAFKA_* env (the image\'s own entrypoint)). Fix: ',
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
