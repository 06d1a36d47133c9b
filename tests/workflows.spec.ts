// The delivery workflows in .github/workflows, checked by a real linter: actionlint v1.7.12 built from the Go
// module proxy (scripts/go-tools.sh), with shellcheck (Debian) on every `run:` script. Then what the
// workflows must do for this project, read from the YAML: the README's test command with no skipping, the
// policy pack with each stack's own policy config, prod after dev behind the `production` environment.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { requireTool } from "./helpers/ops";
import { makeTempDir, removeTempDir, run } from "../scripts/lib/servers";
import { requireBinaries } from "./helpers/servers";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function workflow(name: string): Any {
    return YAML.parse(fs.readFileSync(path.join(WORKFLOWS, name), "utf8"));
}
function steps(job: Any): Any[] {
    return job.steps ?? [];
}
/**
 * The stacks this repository has (Pulumi.<stack>.yaml), without Pulumi.test-*.yaml: the render and policy
 * specs write those temporary, gitignored stack files while they run, possibly at the same time as this one.
 */
function stacks(): string[] {
    return fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined && !s.startsWith("test-"))
        .sort();
}

describe("delivery workflows (.github/workflows)", function () {
    this.timeout(60_000);

    describe("actionlint v1.7.12 with shellcheck", function () {
        let actionlint: string;
        let shellcheck: string;
        before(async function () {
            actionlint = await requireTool(this, "actionlint");
            shellcheck = requireBinaries(this, ["shellcheck"], "apt-get install shellcheck")["shellcheck"];
        });

        it("reports no problem in any workflow", async function () {
            const files = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));
            assert.deepStrictEqual(files.sort(), ["deploy.yml", "pull-request.yml", "test.yml"]);
            const r = await run(actionlint, ["-no-color", "-oneline", `-shellcheck=${shellcheck}`, ...files.map((f) => path.join(WORKFLOWS, f))], { cwd: ROOT, timeoutMs: 50_000 });
            assert.strictEqual(r.code, 0, `actionlint:\n${r.stdout}${r.stderr}`);
        });

        it("is a working oracle: it rejects a job that needs a job that does not exist, and an unquoted shell variable", async function () {
            const dir = makeTempDir("workflows");
            try {
                fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
                for (const f of ["test.yml", "pull-request.yml"]) fs.copyFileSync(path.join(WORKFLOWS, f), path.join(dir, ".github", "workflows", f));
                const pr = path.join(dir, ".github", "workflows", "pull-request.yml");
                const text = fs.readFileSync(pr, "utf8");
                const broken = text.replace("  preview:\n    needs: test\n", "  preview:\n    needs: tests\n").replace('echo "status=$?" >> "$GITHUB_OUTPUT"', "echo status=$? >> $GITHUB_OUTPUT");
                assert.notStrictEqual(broken, text);
                fs.writeFileSync(pr, broken);
                const r = await run(actionlint, ["-no-color", "-oneline", `-shellcheck=${shellcheck}`, pr], { cwd: dir, timeoutMs: 50_000 });
                assert.strictEqual(r.code, 1, r.stdout + r.stderr);
                assert.match(r.stdout, /job "preview" needs job "tests" which does not exist/);
                assert.match(r.stdout, /SC2086/, "shellcheck's double-quote warning, through actionlint");
            } finally {
                removeTempDir(dir);
            }
        });
    });

    describe("what they do", function () {
        it("the test workflow runs the README's test command with real servers and no skipping", function () {
            // The README shows the command (`npm ci && npm test`, first of the suites); docs/testing.md's table of
            // suites starts with it. .ci/run runs the same commands.
            const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
            assert.match(readme, /^npm ci && npm test\b/m, "README.md shows `npm ci && npm test` at the start of a command line");
            const testing = fs.readFileSync(path.join(ROOT, "docs", "testing.md"), "utf8");
            assert.match(testing, /^\| `npm test` \|/m, "docs/testing.md's table of suites starts with `npm test`");
            const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
            for (const command of ["npm ci", "npm test", "npm run test:servers", "npm run test:kafka", "npm run test:e2e"]) {
                assert.match(readme, new RegExp(`^(npm ci && )?${command.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "m"), `README.md shows ${command}`);
                assert.ok(ci.split("\n").some((l) => l.trim() === command), `.ci/run runs ${command}`);
            }
            const job = workflow("test.yml").jobs.test;
            const test = steps(job).find((s) => s.run === "npm test");
            assert.ok(test, "a step runs npm test");
            assert.strictEqual(test.env?.MSA_REQUIRE_SERVERS, "1", "a missing server fails the run instead of skipping");
            const runs = steps(job).map((s) => String(s.run ?? ""));
            assert.ok(runs.some((r) => r.includes("scripts/go-tools.sh all")), "builds promtool, redis_exporter and actionlint");
            assert.ok(runs.findIndex((r) => r === "npm ci") < runs.indexOf("npm test"));
            const servers = steps(job).find((s) => s.run === "npm run test:servers");
            assert.ok(servers, "a step runs the real-server suite (npm run test:servers)");
            assert.strictEqual(servers.env?.MSA_REQUIRE_SERVERS, "1", "a missing server fails the real-server suite instead of skipping");
            assert.ok(runs.indexOf("npm test") < runs.indexOf("npm run test:servers"), "offline suite first, then the real servers");
        });

        it("pull requests: tests first, then a render and a preview of every stack with that stack's policy config", function () {
            const pr = workflow("pull-request.yml");
            assert.deepStrictEqual(Object.keys(pr.on), ["pull_request"]);
            assert.strictEqual(pr.jobs.test.uses, "./.github/workflows/test.yml");
            for (const name of ["render", "preview"]) {
                const job = pr.jobs[name];
                assert.strictEqual(job.needs, "test", `${name} waits for the tests`);
                assert.deepStrictEqual([...job.strategy.matrix.stack].sort(), stacks(), `${name} covers every Pulumi.<stack>.yaml`);
            }
            for (const s of stacks()) assert.ok(fs.existsSync(path.join(ROOT, `Pulumi.${s}.policy.json`)), `Pulumi.${s}.policy.json exists`);
            const renderRun = steps(pr.jobs.render).map((s) => String(s.run ?? "")).join("\n");
            assert.match(renderRun, /npm run -s render -- --stack "\$\{\{ matrix\.stack \}\}"/);
            assert.match(renderRun, /npm run -s diff -- --stack "\$\{\{ matrix\.stack \}\}" --against "origin\/\$\{GITHUB_BASE_REF\}"/);
            const gate = steps(pr.jobs.render).find((s) => String(s.run ?? "").includes("DIFF_STATUS"));
            assert.match(gate.run, /"\$DIFF_STATUS" = 3/, "a replacement or deletion fails the pull request");
            const preview = steps(pr.jobs.preview).find((s) => String(s.uses).startsWith("pulumi/actions@"));
            assert.strictEqual(preview.with.command, "preview");
            assert.strictEqual(preview.with.policyPacks, "policy");
            assert.strictEqual(preview.with.policyPackConfigs, "Pulumi.${{ matrix.stack }}.policy.json");
            assert.strictEqual(pr.jobs.preview.if, "vars.PULUMI_BACKEND_URL != ''", "runs only where a backend (and so credentials) is configured");
        });

        it("main: dev is updated and checked for a perpetual diff before prod, which waits in the production environment and previews with the mandatory pack before its up", function () {
            const d = workflow("deploy.yml");
            assert.deepStrictEqual(d.on.push.branches, ["main"]);
            assert.strictEqual(d.concurrency["cancel-in-progress"], false, "a deployment is never cancelled halfway");
            assert.strictEqual(d.jobs.dev.needs, "test");
            assert.strictEqual(d.jobs.prod.needs, "dev");
            assert.strictEqual(d.jobs.prod.environment, "production");
            const pulumi = (job: Any) => steps(job).filter((s) => String(s.uses).startsWith("pulumi/actions@"));
            const [devUp, devCheck] = pulumi(d.jobs.dev);
            assert.deepStrictEqual([devUp.with.command, devUp.with["stack-name"], devUp.with.policyPackConfigs], ["up", "dev", "Pulumi.dev.policy.json"]);
            assert.deepStrictEqual([devCheck.with.command, devCheck.with["expect-no-changes"]], ["preview", true]);
            // prod: a preview with the mandatory pack gates the up (pulumi/actions' up skips the preview, and the
            // pack's stack policies only judge an update after its resources are applied).
            const [prodGate, prodUp] = pulumi(d.jobs.prod);
            assert.deepStrictEqual(
                [prodGate.with.command, prodGate.with["stack-name"], prodGate.with.policyPacks, prodGate.with.policyPackConfigs],
                ["preview", "prod", "policy", "Pulumi.prod.policy.json"],
                "prod's first Pulumi step must be a preview with the mandatory policy pack",
            );
            assert.deepStrictEqual([prodUp.with.command, prodUp.with["stack-name"], prodUp.with.policyPackConfigs], ["up", "prod", "Pulumi.prod.policy.json"]);
            for (const up of [devUp, prodUp]) assert.strictEqual(up.with["suppress-outputs"], true, "stack outputs stay out of the job log");
        });

        it("keeps secrets out of scripts: secrets reach steps only as env or action inputs; every action is pinned to a major version", function () {
            for (const f of fs.readdirSync(WORKFLOWS)) {
                const w = workflow(f);
                for (const [name, job] of Object.entries<Any>(w.jobs)) {
                    for (const s of steps(job)) {
                        assert.ok(!String(s.run ?? "").includes("secrets."), `${f} ${name}: a run script expands a secret: ${s.run}`);
                        if (s.uses && !String(s.uses).startsWith("./")) assert.match(String(s.uses), /^[\w-]+\/[\w-]+@v\d+$/, `${f} ${name}: ${s.uses}`);
                    }
                }
            }
        });
    });
});
