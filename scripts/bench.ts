// npm run bench [-- --runs N]
//
// Wall time of `npm run render -- --stack dev|prod` (the same node command, a fresh process each run, with
// the policy report and the written files) against the floor: a fresh node process loading @pulumi/pulumi,
// @pulumi/kubernetes and @pulumi/random under the mock runtime and declaring nothing (scripts/bench-floor.js).
// Target: prod ≤ 1.5× the floor. A benchmark, not a test: it prints figures and ratios and never fails on them.
// The first run of each target is a warm-up (it fills the transform and compile caches a user's second run
// has) and is not counted; the floor is also shown with V8's compile cache, for comparison.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";

const ROOT = path.resolve(__dirname, "..");

function timed(args: string[], env: NodeJS.ProcessEnv = process.env): number {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) {
        throw new Error(`bench: node ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
    }
    return ms;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
    const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
        throw new Error(`--runs: ${JSON.stringify(values.runs)} is not valid; expected a positive integer`);
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "msa-bench-"));
    const compileCache = path.join(out, "v8");
    const targets: Record<string, () => number> = {
        floor: () => timed(["scripts/bench-floor.js"]),
        "floor+v8cache": () => timed(["scripts/bench-floor.js"], { ...process.env, NODE_COMPILE_CACHE: compileCache }),
        dev: () => timed(["-r", "./scripts/lib/register.js", "scripts/render.ts", "--stack", "dev", "--out", path.join(out, "dev")]),
        prod: () => timed(["-r", "./scripts/lib/register.js", "scripts/render.ts", "--stack", "prod", "--out", path.join(out, "prod")]),
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((t) => [t, []]));
    try {
        for (const t of Object.keys(targets)) {
            targets[t](); // warm-up: file system cache, transform and compile caches
        }
        for (let i = 0; i < runs; i++) {
            for (const t of Object.keys(targets)) {
                times[t].push(targets[t]());
            }
        }
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
    const floor = median(times.floor);
    console.log(`runs per target: ${runs} after one warm-up each (fresh process each, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)})`);
    console.log("target         median ms  min ms  max ms  ratio to floor");
    for (const t of Object.keys(targets)) {
        const m = median(times[t]);
        console.log(
            `${t.padEnd(13)}  ${m.toFixed(0).padStart(9)}  ${Math.min(...times[t]).toFixed(0).padStart(6)}  ${Math.max(...times[t]).toFixed(0).padStart(6)}  ${(m / floor).toFixed(2).padStart(14)}`,
        );
    }
    const ratio = median(times.prod) / floor;
    console.log(`prod render / floor = ${ratio.toFixed(2)}x (target <= 1.50x): ${ratio <= 1.5 ? "within target" : "OVER TARGET"}`);
}

main();
