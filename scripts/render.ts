// npm run render -- --stack <name> [--out <dir>] [--with-secrets | --seed <text>]
//
// Runs the real program for Pulumi.<name>.yaml offline and writes every Kubernetes object as YAML under
// <dir> (default rendered/<name>/), plus pulumi-resources.txt (every resource's URN and options) and
// stack-outputs.json (the stack outputs; secret ones redacted unless --with-secrets), then runs
// the policy pack on the result with Pulumi.<name>.policy.json. --seed makes generated values reproducible,
// so two renders can be compared (npm run diff); it cannot be combined with --with-secrets.
// Exit codes: 0 rendered and no mandatory policy violation; 1 mandatory violations; 2 usage, stack file or
// config error.

import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { Worker } from "worker_threads";
import { holdsSecrets, Manifest, manifestPath, RenderError, renderStack, ROOT } from "./lib/mockRuntime";
import { manifestYaml, MARKER, markerText, OUTPUTS_FILE, RESOURCES_FILE, resourceLines } from "./lib/renderDir";

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

    // The policy pack (policy/runner) runs on a worker thread, started now: it reads the stack's policy
    // config (Pulumi.<stack>.policy.json, if there is one) and loads the pack while this thread runs the
    // program, and evaluates the objects while this thread writes the files. The config's verdict is
    // awaited before anything else is reported or written, so a malformed config still fails first, with
    // exit code 2 and one line, and nothing written.
    const policyFile = path.join(ROOT, `Pulumi.${stack}.policy.json`);
    const policies = new PolicyWorker(fs.existsSync(policyFile) ? policyFile : undefined);
    let result;
    try {
        result = await renderStack(stack, { withSecrets, seed });
    } catch (e) {
        await policies.configChecked;
        if (e instanceof RenderError || (e as Error)?.name === "ConfigError") {
            fail((e as Error).message);
        }
        throw e;
    }
    await policies.configChecked;

    const report = policies.evaluate(result.objects);
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    prepareOutputDir(outDir, stack, seed);
    const rows = [["KIND", "NAMESPACE", "NAME", "FILE"]];
    const written = new Set<string>();
    const dirs = new Set<string>([outDir]);
    for (const m of result.objects as Manifest[]) {
        const rel = manifestPath(m);
        if (written.has(rel)) {
            fail(`two objects map to ${rel}; names must be unique per kind and namespace`, 1);
        }
        written.add(rel);
        const file = path.join(outDir, rel);
        if (!dirs.has(path.dirname(file))) {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            dirs.add(path.dirname(file));
        }
        const secretFile = withSecrets && holdsSecrets(m);
        fs.writeFileSync(file, manifestYaml(m), { mode: secretFile ? 0o600 : 0o644 });
        if (secretFile) {
            fs.chmodSync(file, 0o600); // an existing umask or file mode must not widen it
        }
        rows.push([m.kind, m.metadata.namespace ?? "-", m.metadata.name, rel]);
    }
    fs.writeFileSync(path.join(outDir, RESOURCES_FILE), resourceLines(result.resources).join("\n") + "\n");
    // The outputs a service team's stack reads; secret ones redacted unless --with-secrets (then 0600).
    const outputsFile = path.join(outDir, OUTPUTS_FILE);
    const revealed = withSecrets && result.secretOutputs.length > 0;
    fs.writeFileSync(outputsFile, JSON.stringify(result.outputs, null, 2) + "\n", { mode: revealed ? 0o600 : 0o644 });
    if (revealed) {
        fs.chmodSync(outputsFile, 0o600);
    }
    process.stdout.write(`Rendered stack ${stack}: ${result.objects.length} objects in ${path.relative(process.cwd(), outDir) || "."}\n`);
    process.stdout.write(table(rows) + "\n");
    process.stdout.write(
        withSecrets
            ? "Secrets contain generated values (files mode 0600); do not commit or share them.\n"
            : "Secret values are redacted; use --with-secrets to fill them with generated values.\n",
    );
    const names = Object.keys(result.outputs).sort();
    const secret = new Set(result.secretOutputs);
    process.stdout.write(
        `\nStack outputs (${OUTPUTS_FILE}; a consumer reads them through a StackReference), secret ones marked *:\n` +
            `  ${names.map((n) => (secret.has(n) ? `${n}*` : n)).join(", ")}\n` +
            (secret.size === 0 ? "" : withSecrets ? "  secret values are written in clear (file mode 0600)\n" : "  secret values are redacted; --with-secrets writes them\n"),
    );
    const { text, mandatory } = await report;
    process.stdout.write(`\nPolicy pack on the rendered objects (${policies.configFile ? path.basename(policies.configFile) : "default config: all mandatory"}):\n`);
    process.stdout.write(text + "\n");
    process.exitCode = mandatory ? 1 : 0;
}

/** What the worker sends: the config's verdict first, then the report (or the pack's error). */
type WorkerMessage =
    | { config: "ok" }
    | { configError: string }
    | { error: string }
    | { report: { text: string; mandatory: boolean } };

/**
 * The policy pack on a worker thread: policy/runner's loadPolicyConfig on the stack's config file, then
 * evaluate() on a structured clone of the rendered objects (plain data), formatReport() and hasMandatory(),
 * with the same results and the same errors as on this thread.
 */
class PolicyWorker {
    /** Resolves once the config file is read and valid (or there is none); a malformed one exits 2. */
    readonly configChecked: Promise<void>;
    private readonly worker: Worker;
    private readonly report: Promise<{ text: string; mandatory: boolean }>;

    constructor(readonly configFile: string | undefined) {
        const code = `
            const { parentPort, workerData } = require("worker_threads");
            require(workerData.register);
            const runner = require(workerData.runner);
            let config;
            try {
                config = workerData.configFile === undefined ? undefined : runner.loadPolicyConfig(workerData.configFile);
                parentPort.postMessage({ config: "ok" });
            } catch (e) {
                parentPort.postMessage(e instanceof runner.PolicyConfigError ? { configError: e.message } : { error: (e && e.stack) || String(e) });
            }
            parentPort.once("message", (objects) => {
                runner.evaluate(objects, config).then(
                    (violations) => parentPort.postMessage({ report: { text: runner.formatReport(violations), mandatory: runner.hasMandatory(violations) } }),
                    (e) => parentPort.postMessage({ error: (e && e.stack) || String(e) }),
                );
            });`;
        this.worker = new Worker(code, {
            eval: true,
            workerData: { register: path.join(__dirname, "lib", "register.js"), runner: path.join(__dirname, "..", "policy", "runner.ts"), configFile },
        });
        const messages: WorkerMessage[] = [];
        const waiting: Array<{ resolve: (m: WorkerMessage) => void; reject: (e: unknown) => void }> = [];
        let stopped: unknown;
        this.worker.on("message", (m: WorkerMessage) => (waiting.length ? waiting.shift()!.resolve(m) : messages.push(m)));
        const stop = (e: unknown) => {
            stopped ??= e;
            for (const w of waiting.splice(0)) w.reject(stopped);
        };
        this.worker.once("error", stop);
        this.worker.once("exit", (code) => stop(new Error(`the policy worker stopped (exit code ${code}) before it reported`)));
        const next = (): Promise<WorkerMessage> =>
            messages.length ? Promise.resolve(messages.shift()!) : stopped !== undefined ? Promise.reject(stopped) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
        const failed = (stack: string): Error => {
            const e = new Error("policy pack failed");
            e.stack = stack;
            return e;
        };
        this.configChecked = next().then((m) => {
            if ("configError" in m) {
                // A config error is the user's to fix: one line naming the file and the problem, exit 2.
                fail(m.configError.replace(/\s*\n\s*/g, " "));
            }
            if ("error" in m) {
                throw failed(m.error);
            }
        });
        this.report = this.configChecked
            .then(next)
            .then((m) => {
                if ("error" in m) {
                    throw failed(m.error);
                }
                return (m as { report: { text: string; mandatory: boolean } }).report;
            })
            .finally(() => void this.worker.terminate());
        // Nobody may be waiting yet (a failed render exits without asking): no unhandled rejection then.
        this.configChecked.catch(() => undefined);
        this.report.catch(() => undefined);
    }

    /** Runs the pack on `objects` with the config; resolves to the report's text and whether any violation is mandatory. */
    evaluate(objects: Manifest[]): Promise<{ text: string; mandatory: boolean }> {
        this.worker.postMessage(objects);
        return this.report;
    }
}

main().catch((e) => {
    process.stderr.write(`render: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
});
