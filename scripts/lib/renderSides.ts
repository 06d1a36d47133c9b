// The two sides of a render diff: the working tree rendered in-process, and an earlier render read from a
// render directory or produced by rendering a git ref in a temporary worktree.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Manifest, manifestPath, RenderError, renderStack, ROOT } from "./mockRuntime";
import { readMarker, readRenderDir, resourceLines } from "./renderDir";

/** The seed both sides use unless told otherwise: generated values then match, so only real changes show. */
export const DIFF_SEED = "msa-infra-diff";

export interface RenderSide {
    /** What was rendered, for the report (a directory, or a ref and its commit). */
    label: string;
    objects: Map<string, Manifest>;
    resources?: string[];
    /** The seed it was rendered with; undefined when its generated values are random. */
    seed?: string;
}

/** Plain JSON data, as a render directory's YAML reads back. */
function normalized(m: Manifest): Manifest {
    return JSON.parse(JSON.stringify(m)) as Manifest;
}

/** Renders the working tree's program and stack file. */
export async function renderWorkingTree(stack: string, seed: string | undefined): Promise<RenderSide> {
    const r = await renderStack(stack, { seed });
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    return {
        label: "working tree",
        objects: new Map(r.objects.map((m) => [manifestPath(m), normalized(m)])),
        resources: resourceLines(r.resources),
        seed,
    };
}

function git(args: string[]): { code: number | null; out: string; err: string } {
    const r = spawnSync("git", ["-C", ROOT, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
}

/** Renders `stack` as the git ref had it (its program and its stack file) in a temporary worktree. */
export function renderGitRef(ref: string, stack: string, seed: string): RenderSide {
    const commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    if (commit.code !== 0 || commit.out === "") {
        throw new RenderError(`--against ${ref}: neither a render directory nor a git commit of ${ROOT}`);
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "msa-diff-"));
    const worktree = path.join(tmp, "tree");
    const out = path.join(tmp, "render");
    try {
        const add = git(["worktree", "add", "--detach", worktree, commit.out]);
        if (add.code !== 0) {
            throw new RenderError(`--against ${ref}: git worktree add failed: ${add.err}`);
        }
        // The ref's program runs with the working tree's dependencies.
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(worktree, "node_modules"), "dir");
        // The ref's own way of running TypeScript (older commits had only ts-node).
        const runner = fs.existsSync(path.join(worktree, "scripts", "lib", "register.js")) ? "./scripts/lib/register.js" : "ts-node/register/transpile-only";
        const run = (withSeed: boolean) =>
            spawnSync(
                process.execPath,
                ["-r", runner, "scripts/render.ts", "--stack", stack, "--out", out, ...(withSeed ? ["--seed", seed] : [])],
                { cwd: worktree, encoding: "utf8", timeout: 300_000, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } },
            );
        let r = run(true);
        let seeded = true;
        if (r.status === 2 && /Unknown option '--seed'/.test(r.stderr)) {
            // A ref from before --seed: its generated values are random, so checksums of secret content differ.
            r = run(false);
            seeded = false;
        }
        if (r.status !== 0 && r.status !== 1) {
            throw new RenderError(`--against ${ref}: rendering stack ${stack} at ${commit.out.slice(0, 12)} failed:\n${r.stderr.trim() || r.stdout.trim()}`);
        }
        const dir = readRenderDir(out);
        return { label: `${ref} (${commit.out.slice(0, 12)})`, objects: dir.objects, resources: dir.resources, seed: seeded ? seed : undefined };
    } finally {
        git(["worktree", "remove", "--force", worktree]);
        git(["worktree", "prune"]);
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** Reads a render directory written by `npm run render`. */
export function readRenderSide(dir: string, stack: string): RenderSide {
    const marker = readMarker(dir);
    if (!marker) {
        throw new RenderError(`--against ${dir}: not a render directory (no .msa-infra-render marker); render one with npm run render -- --out`);
    }
    if (marker.stack !== undefined && marker.stack !== stack) {
        throw new RenderError(`--against ${dir}: it holds a render of stack ${marker.stack}, not ${stack}`);
    }
    const r = readRenderDir(dir);
    return { label: dir, objects: r.objects, resources: r.resources, seed: marker.seed };
}
