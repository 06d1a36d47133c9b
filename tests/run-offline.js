// `npm test`: the offline suite. The type check (tsc --noEmit) and the specs (mocha, .mocharc.json: no real
// server) run at the same time, the specs spread over one worker per core (at least two). tsc is incremental:
// its build info is cached next to register.js's transform cache (node_modules/.cache/msa-infra, or
// MSA_TS_CACHE_DIR), one file per checkout, so an unchanged tree is re-checked in seconds. tsc's errors, if
// any, are printed after the specs (otherwise mocha's count line stays last). Fails when either fails.
// Arguments go to mocha (`npm test -- --grep redis`). The real-server suites are separate:
// npm run test:servers, test:kafka, test:e2e.
"use strict";

const { spawn } = require("child_process");
const crypto = require("crypto");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const jobs = Math.max(2, os.cpus().length);

const cacheRoot = process.env.MSA_TS_CACHE_DIR || path.join(root, "node_modules", ".cache", "msa-infra");
const checkout = crypto.createHash("sha256").update(root).digest("hex").slice(0, 16);
const buildInfo = path.join(cacheRoot, "tsc", `${checkout}.tsbuildinfo`);

const tsc = spawn(bin("tsc"), ["--noEmit", "-p", ".", "--incremental", "--tsBuildInfoFile", buildInfo], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
let tscOutput = "";
tsc.stdout.on("data", (d) => (tscOutput += d));
tsc.stderr.on("data", (d) => (tscOutput += d));
const tscDone = new Promise((resolve) =>
    tsc.on("close", (code, signal) => {
        const status = code ?? (signal ? 1 : 0);
        if (status === 0) process.stdout.write("  tsc --noEmit -p .: no type errors\n");
        resolve(status);
    }),
);

const mocha = spawn(bin("mocha"), ["--parallel", "--jobs", String(jobs), ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
const mochaDone = new Promise((resolve) => mocha.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0))));

for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
        tsc.kill(sig);
        mocha.kill(sig);
    });
}

Promise.all([tscDone, mochaDone]).then(([tscCode, mochaCode]) => {
    if (tscCode !== 0) {
        process.stdout.write(`\ntsc --noEmit -p . failed (exit ${tscCode}):\n${tscOutput}`);
    }
    process.exit(tscCode !== 0 ? tscCode : mochaCode);
});
