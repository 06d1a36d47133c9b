// `npm run render` with a broken Pulumi.<stack>.policy.json: exit code 2 and one line that names the
// file and the problem, no stack trace (scripts/render.ts runPolicies).

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./helpers";

function render(args: string[]) {
    const r = spawnSync(process.execPath, ["-r", "./scripts/lib/register.js", "scripts/render.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 120000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run render with a malformed policy config", function () {
    this.timeout(240000);
    // Pulumi.test-*.yaml is gitignored; the policy config next to it is removed after the run.
    const stack = `test-${process.pid}-policy`;
    const stackFile = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const configFile = path.join(ROOT, `Pulumi.${stack}.policy.json`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "msa-render-policy-"));

    before(() => {
        fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), stackFile);
    });
    after(() => {
        for (const f of [stackFile, configFile]) {
            fs.rmSync(f, { force: true });
        }
        fs.rmSync(out, { recursive: true, force: true });
    });

    const cases: Array<[string, string, RegExp]> = [
        ["a JSON syntax error", '{ "all": "advisory", ', /: JSON syntax error: /],
        ["an unknown knob", JSON.stringify({ "kafka-no-plaintext-listeners": { allowPlainText: true } }), /: policy "kafka-no-plaintext-listeners": unknown key "allowPlainText"/],
    ];
    for (const [what, text, problem] of cases) {
        it(`exits 2 with one line naming the file on ${what}`, () => {
            fs.writeFileSync(configFile, text);
            const dir = path.join(out, what.replace(/\W+/g, "-"));
            const r = render(["--stack", stack, "--out", dir]);
            assert.strictEqual(r.code, 2, r.stderr + r.stdout);
            const lines = r.stderr.trimEnd().split("\n");
            assert.strictEqual(lines.length, 1, r.stderr);
            assert.ok(lines[0].startsWith(`render: ${configFile}: `), lines[0]);
            assert.match(lines[0], problem);
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
            assert.ok(!fs.existsSync(dir), "nothing is rendered or written before the policy config is valid");
        });
    }
});
