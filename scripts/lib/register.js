// Runs the project's TypeScript (node -r ./scripts/lib/register.js <file.ts>) without loading a
// type-checking compiler: Sucrase strips the types (it keeps line numbers, so stack traces point at the
// right lines without source maps), each transformed file is cached on disk by its content, and V8's compile
// cache keeps the bytecode of every module. Repeated runs of render, diff and policy skip all three steps.
// Type checking is `npm run build`'s (and `npm test`'s) job.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
const { addHook } = require("pirates");

const root = path.resolve(__dirname, "..", "..");
const cacheRoot = process.env.MSA_TS_CACHE_DIR || path.join(root, "node_modules", ".cache", "msa-infra");
const transformCache = path.join(cacheRoot, `ts-sucrase-${require("sucrase/package.json").version}`);

if (typeof Module.enableCompileCache === "function") {
    Module.enableCompileCache(path.join(cacheRoot, "v8"));
}

const options = { transforms: ["typescript", "imports"], production: true };

// Sucrase itself is loaded on the first cache miss only: a run whose files are all cached (every repeated
// render, diff and policy run) does not pay for loading the transformer (~100 ms).
let sucrase;

function transform(code, filename) {
    const key = crypto.createHash("sha256").update(JSON.stringify(options)).update("\0").update(filename).update("\0").update(code).digest("hex");
    const cached = path.join(transformCache, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        // not cached yet
    }
    sucrase ??= require("sucrase");
    const out = sucrase.transform(code, { ...options, filePath: filename }).code;
    try {
        fs.mkdirSync(transformCache, { recursive: true });
        // Written under a temporary name and renamed, so a concurrent run never reads half a file.
        const tmp = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, out);
        fs.renameSync(tmp, cached);
    } catch {
        // a read-only checkout still runs, just without the cache
    }
    return out;
}

addHook(transform, { exts: [".ts"], ignoreNodeModules: true });
