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
/** One test file per service, and one for the certificates of all (its cases span weeks: hourly evaluation). */
const TEST_FILES = [...SERVICES, "certificates"] as const;

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
        for (const f of TEST_FILES) fs.copyFileSync(path.join(FIXTURES, `${f}.test.yaml`), path.join(dir, `${f}.test.yaml`));
    });

    after(() => removeTempDir(dir));

    it("promtool check rules accepts the rendered rule files", async function () {
        const r = await run(promtool, ["check", "rules", ...Object.values(files)], { timeoutMs: 30_000 });
        assert.strictEqual(r.code, 0, describeRun(r));
    });

    for (const s of TEST_FILES) {
        it(`promtool test rules: ${s} (tests/fixtures/alerts/${s}.test.yaml)`, async function () {
            const r = await run(promtool, ["test", "rules", `${s}.test.yaml`], { cwd: dir, timeoutMs: 110_000 });
            assert.strictEqual(r.code, 0, describeRun(r));
            assert.match(r.stdout, /SUCCESS/);
        });
    }

    it("has, for every alert rule, a case where it fires, and for every service cases where alerts must not fire", function () {
        const missing: string[] = [];
        const read = (f: string) => YAML.parse(fs.readFileSync(path.join(FIXTURES, `${f}.test.yaml`), "utf8")) as PromtoolTests;
        const certificateCases = read("certificates").tests.flatMap((t) => t.alert_rule_test ?? []);
        assert.deepStrictEqual(read("certificates").rule_files, SERVICES.map((s) => `${s}.rules.yaml`));
        for (const s of SERVICES) {
            const rules = (YAML.parse(fs.readFileSync(files[s], "utf8")) as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
            const tests = read(s);
            assert.deepStrictEqual(tests.rule_files, [`${s}.rules.yaml`]);
            const cases = [...tests.tests.flatMap((t) => t.alert_rule_test ?? []), ...certificateCases];
            for (const alert of rules) {
                if (!cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0)) missing.push(`${s}: ${alert} never fires in a test`);
            }
            assert.ok(cases.filter((c) => c.exp_alerts.length === 0).length >= 3, `${s}: cases where alerts must not fire`);
        }
        assert.deepStrictEqual(missing, []);
    });
});
