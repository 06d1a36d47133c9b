// The alert rules tested by Prometheus itself: promtool (github.com/prometheus/prometheus/cmd/promtool
// v0.316.0, built from the Go module proxy) checks the rule files written from the plans' PrometheusRule
// objects (prod stack, Prometheus Operator on) and runs the unit tests in tests/fixtures/alerts: series in,
// alerts out, with cases that must not fire. Every alert rule must fire in at least one case.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../../scripts/lib/mockRuntime";
import { requireTool } from "../helpers/ops";
import { SERVICES, writeRuleFiles } from "../helpers/opsAlerts";
import { describeRun, makeTempDir, removeTempDir, run } from "../../scripts/lib/servers";

const FIXTURES = path.join(ROOT, "tests", "fixtures", "alerts");

interface PromtoolTests {
    rule_files: string[];
    tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

describe("alert rules: promtool checks and unit-tests every rule", function () {
    this.timeout(120_000);
    let promtool: string;
    let dir: string;
    let files: Record<string, string>;

    before(async function () {
        promtool = await requireTool(this, "promtool");
        dir = makeTempDir("alerts");
        files = writeRuleFiles("prod", dir);
        for (const s of SERVICES) fs.copyFileSync(path.join(FIXTURES, `${s}.test.yaml`), path.join(dir, `${s}.test.yaml`));
    });

    after(() => removeTempDir(dir));

    it("promtool check rules accepts the rendered rule files", async function () {
        const r = await run(promtool, ["check", "rules", ...Object.values(files)], { timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, describeRun(r));
    });

    for (const s of SERVICES) {
        it(`promtool test rules: ${s} (tests/fixtures/alerts/${s}.test.yaml)`, async function () {
            const r = await run(promtool, ["test", "rules", `${s}.test.yaml`], { cwd: dir, timeoutMs: 60_000 });
            assert.strictEqual(r.code, 0, describeRun(r));
            assert.match(r.stdout, /SUCCESS/);
        });
    }

    it("has, for every alert rule, a case where it fires, and for every service cases where alerts must not fire", function () {
        const missing: string[] = [];
        for (const s of SERVICES) {
            const rules = (YAML.parse(fs.readFileSync(files[s], "utf8")) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
            const tests = YAML.parse(fs.readFileSync(path.join(FIXTURES, `${s}.test.yaml`), "utf8")) as PromtoolTests;
            assert.deepStrictEqual(tests.rule_files, [`${s}.rules.yaml`]);
            const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
            for (const alert of rules) {
                if (!cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0)) missing.push(`${s}: ${alert} never fires in a test`);
            }
            assert.ok(cases.filter((c) => c.exp_alerts.length === 0).length >= 3, `${s}: cases where alerts must not fire`);
        }
        assert.deepStrictEqual(missing, []);
    });
});
