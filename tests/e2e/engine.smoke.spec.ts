// The real Pulumi engine (CLI and kubernetes provider built from the Go module proxy by
// scripts/pulumi-engine.sh) against a tiny project that uses the repository's node_modules: plugin
// resolution from an isolated PULUMI_HOME, passphrase secrets on a file backend, up / no-op preview /
// destroy, the kubernetes provider failing on an unreachable cluster, and the policy pack under the
// engine. The program runs through the Automation API's inline language server (the CLI's --client),
// because pulumi-language-nodejs cannot be obtained here (tools/pulumi/versions.env). program.spec.ts runs
// the program itself, with the stand-in random and tls plugins.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { automationErrorText, bounded, copyProject, EngineHome, engineVersions, inlineStack, repoRoot, requireEngine } from "../helpers/engine";
import { coreProgram } from "./fixtures/engine-smoke/program";
import { freePort, randomToken } from "../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(600);

const fixture = path.join(__dirname, "fixtures", "engine-smoke");
const project = "engine-smoke";
const stackName = "dev";

interface PluginRow {
    name: string;
    kind: string;
    version: string;
}

interface ExportedState {
    deployment: { resources?: { type: string; urn: string; inputs?: Record<string, unknown> }[] };
}

describe("Pulumi engine from the Go module proxy: smoke", function () {
    let home: EngineHome | undefined;
    let dir = "";
    let stopClock: (() => void) | undefined;
    const token = randomToken(24);
    let deadPort = 0;

    const h = (): EngineHome => {
        assert.ok(home, "engine home not set up");
        return home;
    };
    const stateFile = (): string => path.join(h().stateDir, ".pulumi", "stacks", project, `${stackName}.json`);
    const stack = () => inlineStack(h(), { workDir: dir, stackName, program: async () => coreProgram() });

    before(async function () {
        this.timeout(180_000);
        const cache = requireEngine(this, ["pulumi", "kubernetes"]);
        stopClock = startClock("engine smoke");
        home = await EngineHome.create(cache, "smoke");
        dir = copyProject(fixture, "smoke");
        // A loopback port the kernel just handed out and nobody listens on: the cluster is unreachable.
        deadPort = await freePort();
    });

    after(async function () {
        this.timeout(180_000);
        try {
            if (home && dir && fs.existsSync(stateFile())) {
                // Whatever a failed test left in the stack goes, so the suite ends with nothing registered.
                await home.run(["destroy", "--yes", "--skip-preview", "--stack", stackName], { cwd: dir });
            }
        } finally {
            home?.dispose();
            stopClock?.();
        }
    });

    it("runs the CLI it built and resolves kubernetes at the version @pulumi/kubernetes declares", async function () {
        const v = engineVersions();
        const version = (await h().ok(["version"])).stdout.trim();
        assert.equal(version, `v${v.PULUMI_CLI_VERSION}`);

        const plugins = await h().json<PluginRow[]>(["plugin", "ls"]);
        const k8s = plugins.filter((p) => p.kind === "resource" && p.name === "kubernetes").map((p) => p.version);
        assert.deepEqual(k8s, [v.KUBERNETES_VERSION], `plugins registered in PULUMI_HOME: ${JSON.stringify(plugins)}`);
        // The stand-ins for the plugins the proxy refuses, at the versions package.json pins.
        for (const [name, version] of [
            ["random", v.RANDOM_VERSION],
            ["tls", v.TLS_VERSION],
        ]) {
            assert.deepEqual(plugins.filter((p) => p.kind === "resource" && p.name === name).map((p) => p.version), [version], name);
        }

        // The SDK asks the engine for exactly this plugin version; a newer SDK than plugin cannot load it.
        const sdk = JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")) as {
            pulumi?: { version?: string };
        };
        assert.equal(sdk.pulumi?.version, v.KUBERNETES_VERSION, "package.json must pin @pulumi/kubernetes to the version the engine builds");
    });

    it("creates the stack on the file backend and keeps secret config encrypted with the run's passphrase", async function () {
        await h().ok(["stack", "init", stackName], { cwd: dir });
        assert.ok(fs.existsSync(stateFile()), `no stack file at ${stateFile()}`);

        const kubeconfig = [
            "apiVersion: v1",
            "kind: Config",
            "clusters: [{name: dead, cluster: {server: 'https://127.0.0.1:" + deadPort + "', insecure-skip-tls-verify: true}}]",
            "users: [{name: dead, user: {token: " + randomToken(16) + "}}]",
            "contexts: [{name: dead, context: {cluster: dead, user: dead}}]",
            "current-context: dead",
        ].join("\n");
        await h().ok(["config", "set", "kubeconfig", "--stack", stackName, "--", kubeconfig], { cwd: dir });
        await h().ok(["config", "set", "--secret", "token", "--stack", stackName, "--", token], { cwd: dir });

        const stackFile = fs.readFileSync(path.join(dir, `Pulumi.${stackName}.yaml`), "utf8");
        assert.match(stackFile, /^encryptionsalt: v1:/m);
        assert.match(stackFile, /engine-smoke:token:\s+secure: v1:/);
        assert.ok(!stackFile.includes(token), "the secret is in Pulumi.dev.yaml in plain text");

        const got = (await h().ok(["config", "get", "token", "--stack", stackName], { cwd: dir })).stdout.trim();
        assert.equal(got, token);
        const wrong = await h().run(["config", "get", "token", "--stack", stackName], {
            cwd: dir,
            env: { PULUMI_CONFIG_PASSPHRASE: randomToken(32) },
        });
        assert.notEqual(wrong.code, 0, "a wrong passphrase decrypted the stack's secrets");
        assert.match(`${wrong.stdout}${wrong.stderr}`, /passphrase/i);
    });

    it("up registers the program's resources through the registered kubernetes plugin; outputs keep the secret", async function () {
        const s = await stack();
        const lines: string[] = [];
        const up = await bounded("up", 240_000, (signal) => s.up({ onOutput: (o) => lines.push(o), signal }));
        assert.equal(up.summary.result, "succeeded", lines.join(""));
        assert.equal(up.summary.resourceChanges?.create, 2, lines.join("")); // the stack and the provider

        const outputs = await h().json<Record<string, unknown>>(["stack", "output", "--stack", stackName], { cwd: dir });
        assert.equal(outputs.greeting, "hello from the engine");
        assert.equal(outputs.token, "[secret]");
        const shown = await h().json<Record<string, unknown>>(["stack", "output", "--show-secrets", "--stack", stackName], { cwd: dir });
        assert.equal(shown.token, token);

        const state = fs.readFileSync(stateFile(), "utf8");
        assert.ok(!state.includes(token), "the secret output is in the state file in plain text");
        assert.ok(!state.includes(h().passphrase), "the passphrase is in the state file");
        const exported = await h().json<ExportedState>(["stack", "export", "--stack", stackName], { cwd: dir, jsonFlag: false });
        const provider = (exported.deployment.resources ?? []).find((r) => r.type === "pulumi:providers:kubernetes");
        assert.ok(provider, `no kubernetes provider in the state: ${JSON.stringify(exported.deployment.resources)}`);
        assert.equal(provider.inputs?.version, engineVersions().KUBERNETES_VERSION);
    });

    it("a second preview --expect-no-changes passes (no perpetual diff)", async function () {
        const s = await stack();
        const lines: string[] = [];
        const preview = await bounded("preview", 240_000, (signal) => s.preview({ expectNoChanges: true, onOutput: (o) => lines.push(o), signal }));
        assert.deepEqual(preview.changeSummary, { same: 2 }, lines.join(""));
    });

    it("loads the policy pack in policy/ under the engine and prints its report", async function () {
        const s = await stack();
        const launcher = await h().policyLauncher(path.join(repoRoot, "policy"));
        const lines: string[] = [];
        await bounded("preview --policy-pack", 240_000, (signal) => s.preview({ policyPacks: [launcher], onOutput: (o) => lines.push(o), signal }));
        const out = lines.join("");
        // The pack's own name and version come from the running pack (GetAnalyzerInfo), not from the path.
        const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, "policy", "package.json"), "utf8")) as { version: string }).version;
        assert.match(out, new RegExp(`Policies:\\s+\\S+ msa-infra-security@v${version.replace(/\./g, "\\.")} \\(local: `), out);
    });

    it("a ConfigMap fails with the kubernetes provider's connection error, not a plugin-resolution error", async function () {
        await h().ok(["config", "set", "withConfigMap", "true", "--stack", stackName], { cwd: dir });
        try {
            const s = await stack();
            const lines: string[] = [];
            let failure = "";
            try {
                await bounded("up with a ConfigMap", 240_000, (signal) => s.up({ onOutput: (o) => lines.push(o), signal }));
            } catch (e) {
                failure = automationErrorText(e);
            }
            const out = `${lines.join("")}\n${failure}`;
            assert.ok(failure !== "", `up with an unreachable cluster succeeded:\n${out}`);
            assert.doesNotMatch(out, /no resource plugin|could not find .*plugin|failed to load plugin/i, out);
            assert.match(out, /configured Kubernetes cluster is unreachable/, out);
            assert.match(out, new RegExp(`dial tcp 127\\.0\\.0\\.1:${deadPort}: connect: connection refused`), out);
        } finally {
            await h().ok(["config", "rm", "withConfigMap", "--stack", stackName], { cwd: dir });
        }
    });

    it("destroy removes every resource, then the stack can be removed", async function () {
        await h().ok(["destroy", "--yes", "--skip-preview", "--stack", stackName], { cwd: dir });
        const exported = await h().json<ExportedState>(["stack", "export", "--stack", stackName], { cwd: dir, jsonFlag: false });
        assert.deepEqual(exported.deployment.resources ?? [], []);
        await h().ok(["stack", "rm", "--yes", stackName], { cwd: dir });
        assert.ok(!fs.existsSync(stateFile()), "the stack file is still there");
    });
});
