// npm run bench [-- --runs N]
// Median wall time of rendering dev and prod (each in a fresh process, as `npm run render` does) next to
// the floor: the same offline runtime with @pulumi/pulumi and @pulumi/kubernetes loaded, declaring nothing.
// Target: prod render <= 1.5x the floor. A benchmark, not a test: it prints figures and never fails on them.

import { spawnSync } from "child_process";
import * as path from "path";
import { parseArgs } from "util";

const ROOT = path.resolve(__dirname, "..");

function sample(target: string): number {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/bench-worker.ts", target], {
        cwd: ROOT,
        encoding: "utf8",
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) {
        throw new Error(`bench worker for ${target} failed:\n${r.stderr}`);
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
    const targets = ["floor", "dev", "prod"];
    const times: Record<string, number[]> = { floor: [], dev: [], prod: [] };
    sample("floor"); // warm the file system cache once
    for (let i = 0; i < runs; i++) {
        for (const t of targets) {
            times[t].push(sample(t));
        }
    }
    const floor = median(times.floor);
    console.log(`runs per target: ${runs} (fresh process each, Node ${process.version})`);
    console.log("target  median ms  min ms  max ms  ratio to floor");
    for (const t of targets) {
        const m = median(times[t]);
        console.log(
            `${t.padEnd(6)}  ${m.toFixed(0).padStart(9)}  ${Math.min(...times[t]).toFixed(0).padStart(6)}  ${Math.max(...times[t]).toFixed(0).padStart(6)}  ${(m / floor).toFixed(2).padStart(14)}`,
        );
    }
    const ratio = median(times.prod) / floor;
    console.log(`prod render / floor = ${ratio.toFixed(2)}x (target <= 1.50x): ${ratio <= 1.5 ? "within target" : "OVER TARGET"}`);
}

main();
