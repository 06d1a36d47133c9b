// npm run render -- --stack <name> [--out <dir>] [--with-secrets | --seed <text>]
//
// Runs the real program for Pulumi.<name>.yaml offline and writes every Kubernetes object as YAML under
// <dir> (default rendered/<name>/), plus pulumi-resources.txt (every resource's URN and options), then runs
// the policy pack on the result with Pulumi.<name>.policy.json. --seed makes generated values reproducible,
// so two renders can be compared (npm run diff); it cannot be combined with --with-secrets.
// Exit codes: 0 rendered and no mandatory policy violation; 1 mandatory violations; 2 usage, stack file or
// config error.

import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { Worker } from "worker_threads";
import { formatReport, hasMandatory, loadPolicyConfig, PolicyConfigError, type PolicyPackConfig, type Violation } from "../policy/runner";
import { holdsSecrets, Manifest, manifestPath, RenderError, renderStack, ROOT } from "./lib/mockRuntime";
import { manifestYaml, MARKER, markerText, RESOURCES_FILE, resourceLines } from "./lib/renderDir";

const USAGE = "usage: npm run render -- --stack <name> [--out <dir>] [--with-secrets | --seed <text>]";

function fail(message: string, code = 2): never {
    process.stderr.write(`render: ${message}\n`);
    process.exit(code);
}

/** Empties `dir` if it is a previous render (marker present) or does not exist; refuses otherwise. */
function prepareOutputDir(dir: string, stack: string, seed: string | undefined): void {
    if (fs.existsSync(dir)) {
        const entries = fs.readdirSync(dir);
        if (entries.length > 0 && !entries.includes(MARKER)) {
            fail(`output directory ${dir} is not empty and was not written by render; choose another --out`);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, MARKER), markerText(stack, seed));
}

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

async function main(): Promise<void> {
    let values: { stack?: string; out?: string; "with-secrets"?: boolean; seed?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            options: {
                stack: { type: "string", short: "s" },
                out: { type: "string", short: "o" },
                "with-secrets": { type: "boolean", default: false },
                seed: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        fail(`${(e as Error).message}\n${USAGE}`);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    if (!values.stack) {
        fail(`--stack is required\n${USAGE}`);
    }
    const stack = values.stack;
    const withSecrets = values["with-secrets"] ?? false;
    const seed = values.seed;
    if (seed !== undefined && withSecrets) {
        fail(`--seed makes every generated password predictable, so it cannot be combined with --with-secrets\n${USAGE}`);
    }
    if (seed === "") {
        fail(`--seed needs a non-empty value\n${USAGE}`);
    }
    const outDir = path.resolve(values.out ?? path.join(ROOT, "rendered", stack));

    // The stack's policy config is checked first: a malformed one fails before anything is rendered or written.
    const policyConfig = loadStackPolicyConfig(stack);
    // The policy pack runs on a worker thread, started now so that its start-up overlaps the program and
    // its evaluation overlaps writing the files; the report is printed after the files, as before.
    const policies = new PolicyWorker();
    let result;
    try {
        result = await renderStack(stack, { withSecrets, seed });
    } catch (e) {
        if (e instanceof RenderError || (e as Error)?.name === "ConfigError") {
            fail((e as Error).message);
        }
        throw e;
    }

    const violations = policies.evaluate(result.objects, policyConfig.config);
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    prepareOutputDir(outDir, stack, seed);
    const rows = [["KIND", "NAMESPACE", "NAME", "FILE"]];
    const written = new Set<string>();
    for (const m of result.objects as Manifest[]) {
        const rel = manifestPath(m);
        if (written.has(rel)) {
            fail(`two objects map to ${rel}; names must be unique per kind and namespace`, 1);
        }
        written.add(rel);
        const file = path.join(outDir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const secretFile = withSecrets && holdsSecrets(m);
        fs.writeFileSync(file, manifestYaml(m), { mode: secretFile ? 0o600 : 0o644 });
        if (secretFile) {
            fs.chmodSync(file, 0o600); // an existing umask or file mode must not widen it
        }
        rows.push([m.kind, m.metadata.namespace ?? "-", m.metadata.name, rel]);
    }
    fs.writeFileSync(path.join(outDir, RESOURCES_FILE), resourceLines(result.resources).join("\n") + "\n");
    process.stdout.write(`Rendered stack ${stack}: ${result.objects.length} objects in ${path.relative(process.cwd(), outDir) || "."}\n`);
    process.stdout.write(table(rows) + "\n");
    process.stdout.write(
        withSecrets
            ? "Secrets contain generated values (files mode 0600); do not commit or share them.\n"
            : "Secret values are redacted; use --with-secrets to fill them with generated values.\n",
    );
    process.exitCode = reportPolicies(await violations, policyConfig);
}

/** The stack's policy config (Pulumi.<stack>.policy.json), if it has one; a malformed file exits 2 with one line. */
function loadStackPolicyConfig(stack: string): { file: string; config?: PolicyPackConfig } {
    const file = path.join(ROOT, `Pulumi.${stack}.policy.json`);
    if (!fs.existsSync(file)) {
        return { file };
    }
    try {
        return { file, config: loadPolicyConfig(file) };
    } catch (e) {
        if (e instanceof PolicyConfigError) {
            // A config error is the user's to fix: one line naming the file and the problem, exit 2.
            fail(e.message.replace(/\s*\n\s*/g, " "));
        }
        throw e;
    }
}

/**
 * The policy pack's evaluate() (policy/runner) on a worker thread: the same function on a structured clone
 * of the rendered objects (plain data), with the same result, or the same error (its stack as text).
 */
class PolicyWorker {
    private readonly worker: Worker;
    private readonly result: Promise<Violation[]>;

    constructor() {
        const code = `
            const { parentPort, workerData } = require("worker_threads");
            require(workerData.register);
            const { evaluate } = require(workerData.runner);
            parentPort.once("message", ({ objects, config }) => {
                evaluate(objects, config).then(
                    (violations) => parentPort.postMessage({ violations }),
                    (e) => parentPort.postMessage({ error: (e && e.stack) || String(e) }),
                );
            });`;
        this.worker = new Worker(code, {
            eval: true,
            workerData: { register: path.join(__dirname, "lib", "register.js"), runner: path.join(__dirname, "..", "policy", "runner.ts") },
        });
        this.result = new Promise<Violation[]>((resolve, reject) => {
            this.worker.once("message", (m: { violations?: Violation[]; error?: string }) => {
                if (m.error !== undefined) {
                    const e = new Error("policy pack failed");
                    e.stack = m.error;
                    reject(e);
                } else {
                    resolve(m.violations!);
                }
            });
            this.worker.once("error", reject);
            this.worker.once("exit", (code) => reject(new Error(`the policy worker stopped (exit code ${code}) before it reported`)));
        }).finally(() => {
            void this.worker.terminate();
        });
        // Nobody may be waiting yet (a failed render exits without asking): no unhandled rejection then.
        this.result.catch(() => undefined);
    }

    /** Runs the pack on `objects` with `config`; resolves to evaluate()'s violations. */
    evaluate(objects: Manifest[], config: PolicyPackConfig | undefined): Promise<Violation[]> {
        this.worker.postMessage({ objects, config });
        return this.result;
    }
}

/** Prints the policy report for the rendered objects with the stack's policy config; returns the exit code. */
function reportPolicies(violations: Violation[], policy: { file: string; config?: PolicyPackConfig }): number {
    process.stdout.write(
        `\nPolicy pack on the rendered objects (${policy.config ? path.basename(policy.file) : "default config: all mandatory"}):\n`,
    );
    process.stdout.write(formatReport(violations) + "\n");
    return hasMandatory(violations) ? 1 : 0;
}

main().catch((e) => {
    process.stderr.write(`render: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
});
