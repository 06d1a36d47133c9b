// Plumbing for the tests that run the real Pulumi engine (scripts/pulumi-engine.sh build): finding the
// built binaries with the skip-or-fail rule of servers.ts, an isolated PULUMI_HOME, file backend and
// per-run passphrase for each suite, bounded `pulumi` runs, JSON output, and programs run through the
// Automation API's inline language server while no Node.js language host can be built here.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describeRun, makeTempDir, removeTempDir, run, serversRequired, type RunResult } from "../../scripts/lib/servers";

export const repoRoot = path.resolve(__dirname, "..", "..");
const engineScript = path.join(repoRoot, "scripts", "pulumi-engine.sh");

/**
 * Pieces of the engine a suite can need from the build. The random and tls plugins are not among them: the
 * proxy refuses them, and `pulumi-engine.sh env` registers their test-only stand-ins (tools/pulumi/standins).
 */
export type EnginePiece = "pulumi" | "kubernetes" | "language-nodejs";

const pieceFiles: Record<EnginePiece, string> = {
    pulumi: "bin/pulumi",
    "language-nodejs": "bin/pulumi-language-nodejs",
    kubernetes: "plugins/pulumi-resource-kubernetes",
};

/** Versions the build uses (tools/pulumi/versions.env). */
export function engineVersions(): Record<string, string> {
    const text = fs.readFileSync(path.join(repoRoot, "tools", "pulumi", "versions.env"), "utf8");
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) {
            out[m[1]] = m[2];
        }
    }
    return out;
}

/** The versioned cache directory the build writes to (asks the script, so the key lives in one place). */
export function engineCacheDir(): string {
    return execFileSync("bash", [engineScript, "dir"], { encoding: "utf8", timeout: 10_000 }).trim();
}

/**
 * Resolves the engine pieces a suite needs. When one is missing: throws if serversRequired() (CI), else
 * prints why and skips the suite. Call from a before() hook with its `this`.
 */
export function requireEngine(ctx: Mocha.Context, pieces: EnginePiece[]): string {
    const dir = engineCacheDir();
    const missing = pieces.filter((p) => {
        try {
            fs.accessSync(path.join(dir, pieceFiles[p]), fs.constants.X_OK);
            return false;
        } catch {
            return true;
        }
    });
    if (missing.length > 0) {
        const reason =
            `${missing.map((p) => pieceFiles[p]).join(", ")} not in ${dir} ` +
            `(scripts/pulumi-engine.sh build; its manifest.txt says which pieces the Go module proxy refuses)`;
        if (serversRequired()) {
            throw new Error(
                `${reason}; skipping a real-engine test is not allowed here ` +
                    `(CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
            );
        }
        console.log(`      skipped: ${reason}`);
        ctx.skip();
    }
    return dir;
}

/** One suite's isolated engine: PULUMI_HOME, file backend and passphrase under a private temp dir. */
export class EngineHome {
    private constructor(
        readonly cacheDir: string,
        readonly dir: string,
        readonly env: NodeJS.ProcessEnv,
    ) {}

    /** Runs `scripts/pulumi-engine.sh env` into a fresh temp dir and takes over the environment it sets. */
    static async create(cacheDir: string, label: string): Promise<EngineHome> {
        const dir = makeTempDir(`engine-${label}`);
        const r = await run("bash", [engineScript, "env", dir], { timeoutMs: 120_000 });
        if (r.code !== 0) {
            removeTempDir(dir);
            throw new Error(`pulumi-engine.sh env failed: ${describeRun(r)}`);
        }
        const env: NodeJS.ProcessEnv = { ...process.env };
        // Nothing of the caller's Pulumi setup may leak in (a real token or backend, a passphrase).
        for (const k of Object.keys(env)) {
            if (k.startsWith("PULUMI_")) {
                delete env[k];
            }
        }
        for (const line of r.stdout.split("\n")) {
            const m = /^export ([A-Z_]+)='([^']*)'$/.exec(line);
            if (m) {
                env[m[1]] = m[2];
            }
        }
        env.PATH = `${path.join(cacheDir, "bin")}${path.delimiter}${process.env.PATH ?? ""}`;
        env.PULUMI_SKIP_UPDATE_CHECK = "true";
        env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
        env.PULUMI_CONFIG_PASSPHRASE = fs.readFileSync(path.join(dir, "passphrase"), "utf8");
        for (const k of ["PULUMI_HOME", "PULUMI_BACKEND_URL"]) {
            if (!env[k]) {
                throw new Error(`pulumi-engine.sh env did not set ${k}:\n${r.stdout}`);
            }
        }
        return new EngineHome(cacheDir, dir, env);
    }

    get pulumi(): string {
        return path.join(this.cacheDir, "bin", "pulumi");
    }

    get stateDir(): string {
        return path.join(this.dir, "state");
    }

    /** The passphrase made for this home (to check it never lands in state or stack files). */
    get passphrase(): string {
        return this.env.PULUMI_CONFIG_PASSPHRASE ?? "";
    }

    /** `pulumi ARGS` with this home's environment, bounded (default 3 min); never rejects on exit codes. */
    run(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
        // Global flags first: after a `--` in args they would be taken as values.
        return run(this.pulumi, ["--non-interactive", "--color=never", ...args], {
            cwd: opts.cwd,
            env: { ...this.env, ...opts.env },
            timeoutMs: opts.timeoutMs ?? 180_000,
            input: opts.input,
        });
    }

    /** Like run(), but the command must succeed. */
    async ok(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
        const r = await this.run(args, opts);
        if (r.code !== 0 || r.timedOut) {
            throw new Error(`pulumi ${args.join(" ")}: ${describeRun(r)}`);
        }
        return r;
    }

    /** A command whose stdout must parse as JSON; `--json` is added unless jsonFlag is false (stack export). */
    async json<T = unknown>(args: string[], opts: { cwd?: string; timeoutMs?: number; jsonFlag?: boolean } = {}): Promise<T> {
        const r = await this.ok(opts.jsonFlag === false ? args : [...args, "--json"], opts);
        try {
            return JSON.parse(r.stdout) as T;
        } catch (e) {
            throw new Error(`pulumi ${args.join(" ")} --json printed no JSON (${(e as Error).message}): ${r.stdout}`);
        }
    }

    /**
     * What to pass to --policy-pack for the Node.js pack in packDir while no Node.js language host exists:
     * an executable the CLI starts as a binary analyzer plugin (scripts/pulumi-engine.sh policy-launcher).
     */
    async policyLauncher(packDir: string): Promise<string> {
        const r = await run("bash", [engineScript, "policy-launcher", packDir, path.join(this.dir, "policy-launchers")], { timeoutMs: 30_000 });
        if (r.code !== 0) {
            throw new Error(`pulumi-engine.sh policy-launcher failed: ${describeRun(r)}`);
        }
        return r.stdout.trim();
    }

    /** Removes the home, backend and passphrase. */
    dispose(): void {
        removeTempDir(this.dir);
    }
}

/**
 * A copy of a fixture project in a temp dir, with node_modules pointing at the repository's, so the
 * program uses exactly the @pulumi/* packages package.json pins.
 */
export function copyProject(fixture: string, label: string): string {
    const dir = makeTempDir(`project-${label}`);
    fs.cpSync(fixture, dir, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}

// ---------------------------------------------------------------------------------------------------
// Programs without a Node.js language host

type Automation = typeof import("@pulumi/pulumi/automation");
type Stack = import("@pulumi/pulumi/automation").Stack;
type PulumiFn = import("@pulumi/pulumi/automation").PulumiFn;

/** The program's own index.ts as an inline program, loaded afresh at each run (it reads its stack config when loaded). */
export async function indexProgram(): Promise<Record<string, unknown> | void> {
    const entry = path.join(repoRoot, "index.ts");
    delete require.cache[require.resolve(entry)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(entry);
    return typeof m === "function" ? m() : m;
}

export interface InlineOptions {
    /** Project directory (its Pulumi.yaml and Pulumi.<stack>.yaml are used as they are). */
    workDir: string;
    stackName: string;
    program: PulumiFn;
    timeoutMs?: number;
    /** More environment for the CLI and the plugins it starts (e.g. KUBECONFIG for the default provider). */
    env?: Record<string, string>;
}

/**
 * The stack of `workDir` with `program` as its program, run by the Automation API: the SDK serves the
 * program from this process (its inline language server) and the CLI is started with --client, which is
 * how the engine runs a Node.js program without pulumi-language-nodejs. Everything else (engine, plugins,
 * providers, secrets, state, policy packs) is the real thing. The stack must exist (`pulumi stack init`).
 */
export async function inlineStack(home: EngineHome, opts: InlineOptions): Promise<Stack> {
    const auto: Automation = await import("@pulumi/pulumi/automation");
    const pulumiCommand = await auto.PulumiCommand.get({ root: home.cacheDir, skipVersionCheck: false });
    const envVars: Record<string, string> = {};
    for (const [k, v] of Object.entries(home.env)) {
        if (k.startsWith("PULUMI_") && v !== undefined) {
            envVars[k] = v;
        }
    }
    envVars.PATH = home.env.PATH ?? "";
    Object.assign(envVars, opts.env ?? {});
    return auto.LocalWorkspace.selectStack(
        { stackName: opts.stackName, projectName: "unused-read-from-workDir", program: opts.program },
        { workDir: opts.workDir, pulumiHome: home.env.PULUMI_HOME, envVars, pulumiCommand },
    );
}

/** Output of one Automation API operation (preview/up), bounded by an abort after timeoutMs. */
export async function bounded<T>(what: string, timeoutMs: number, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
        return await op(ac.signal);
    } catch (e) {
        if (ac.signal.aborted) {
            throw new Error(`${what} timed out after ${timeoutMs} ms: ${(e as Error).message}`);
        }
        throw e;
    } finally {
        clearTimeout(timer);
    }
}

/** The message of an Automation API failure, including the CLI's stdout/stderr it carries. */
export function automationErrorText(e: unknown): string {
    const err = e as { message?: string; commandResult?: { stdout?: string; stderr?: string } };
    return [err.message ?? String(e), err.commandResult?.stdout ?? "", err.commandResult?.stderr ?? ""].join("\n");
}
