// The pack's own corpora in issue 24's figures (a benchmark, not a test: it prints and never fails):
//
//   node -r ./scripts/lib/register.js tests/policy/corpora.bench.ts
//
// - violating/classes: caught = a mandatory finding of the manifest's own policy, split into true claims and
//   "cannot verify"; missed = neither;
// - compliant-unusual: clean, only "cannot verify" (honest, not counted against the pack), or a false claim
//   (any finding that is not "cannot verify": a false positive);
// - unverifiable: "cannot verify" by the named policy and no claim;
// each manifest laid over the compliant stack, under the defaults (every policy mandatory) or its own
// `# config:`. The hidden sets of issue 24 are not in the repository; these are the pack's own fixtures.

import * as path from "path";
import { corpus, isUnverifiable, overlay, run } from "./helpers";

async function main(): Promise<void> {
    const started = Date.now();
    const classes = corpus("violating/classes");
    let claims = 0;
    let unverifiable = 0;
    const missed: string[] = [];
    for (const c of classes) {
        const own = (await run(overlay(c.file), c.config)).filter((v) => v.policyName === c.policy && v.enforcementLevel === "mandatory");
        if (own.some((v) => !isUnverifiable(v))) {
            claims++;
        } else if (own.length > 0) {
            unverifiable++;
        } else {
            missed.push(path.basename(c.file));
        }
    }
    const caught = claims + unverifiable;
    console.log(`violating/classes: ${caught}/${classes.length} caught (${((100 * caught) / classes.length).toFixed(1)}%): ${claims} with a claim, ${unverifiable} as "cannot verify"${missed.length > 0 ? `; missed: ${missed.join(", ")}` : ""}`);

    const unusual = corpus("compliant-unusual");
    let clean = 0;
    let honest = 0;
    const falseClaims: string[] = [];
    for (const c of unusual) {
        const vs = await run(overlay(c.file), c.config);
        if (vs.length === 0) {
            clean++;
        } else if (vs.every(isUnverifiable)) {
            honest++;
        } else {
            falseClaims.push(`${path.basename(c.file)} (${Array.from(new Set(vs.filter((v) => !isUnverifiable(v)).map((v) => v.policyName))).join(", ")})`);
        }
    }
    console.log(`compliant-unusual: ${unusual.length} manifests: ${clean} clean, ${honest} flagged only as "cannot verify", ${falseClaims.length} false claims${falseClaims.length > 0 ? `: ${falseClaims.join(", ")}` : ""}`);

    const unv = corpus("unverifiable");
    let said = 0;
    const wrong: string[] = [];
    for (const c of unv) {
        const vs = await run(overlay(c.file), c.config);
        if (vs.some((v) => v.policyName === c.policy && isUnverifiable(v)) && vs.every(isUnverifiable)) {
            said++;
        } else {
            wrong.push(path.basename(c.file));
        }
    }
    console.log(`unverifiable: ${said}/${unv.length} reported as "cannot verify" with no claim${wrong.length > 0 ? `; not so: ${wrong.join(", ")}` : ""}`);
    console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
