// npm run diff -- --stack <name> --against <render-dir | git-ref> [--seed <text>]
//
// Compares the working tree's render of a stack with an earlier one (a directory from `npm run render --
// --out`, or any git ref, rendered in a temporary worktree with that ref's program and stack file) and
// prints per object what changes, marking immutable-field changes, replacements and deletions, and every
// resource whose URN appears or disappears. Both sides use one seed, so generated values match.
// Exit codes: 0 no changes; 1 changes, all in-place updates or creations; 3 a replacement, deletion or
// removed resource among them; 2 usage or render error.

import * as fs from "fs";
import { parseArgs } from "util";
import { RenderError } from "./lib/mockRuntime";
import { diffRenders, formatDiff, isDangerous } from "./lib/renderDiff";
import { DIFF_SEED, readRenderSide, renderGitRef, RenderSide, renderWorkingTree } from "./lib/renderSides";

const USAGE = "usage: npm run diff -- --stack <name> --against <render-dir | git-ref> [--seed <text>]";

function fail(message: string): never {
    process.stderr.write(`diff: ${message}\n`);
    process.exit(2);
}

async function main(): Promise<void> {
    let values: { stack?: string; against?: string; seed?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            options: {
                stack: { type: "string", short: "s" },
                against: { type: "string", short: "a" },
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
    if (!values.stack || !values.against) {
        fail(`${!values.stack ? "--stack" : "--against"} is required\n${USAGE}`);
    }
    const { stack, against } = values;
    let before: RenderSide;
    let after: RenderSide;
    try {
        if (fs.existsSync(against) && fs.statSync(against).isDirectory()) {
            before = readRenderSide(against, stack);
            after = await renderWorkingTree(stack, values.seed ?? before.seed);
        } else {
            const seed = values.seed ?? DIFF_SEED;
            before = renderGitRef(against, stack, seed);
            after = await renderWorkingTree(stack, seed);
        }
    } catch (e) {
        if (e instanceof RenderError || (e as Error)?.name === "ConfigError") {
            fail((e as Error).message);
        }
        throw e;
    }
    process.stdout.write(`Render diff of stack ${stack}: ${after.label} against ${before.label}\n`);
    if (before.seed === undefined || before.seed !== after.seed) {
        process.stdout.write(
            "note: the earlier render was not made with the same --seed, so values derived from generated passwords (checksum annotations) differ anyway\n",
        );
    }
    const diff = diffRenders(before, after);
    process.stdout.write(`\n${formatDiff(diff)}\n`);
    process.exitCode = diff.objects.length === 0 && diff.resources.length === 0 ? 0 : isDangerous(diff) ? 3 : 1;
}

main().catch((e) => {
    process.stderr.write(`diff: ${(e as Error)?.stack ?? e}\n`);
    process.exit(2);
});
