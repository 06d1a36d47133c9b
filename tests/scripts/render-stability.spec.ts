// Refactors must not change what is deployed: the dev and prod renders (seeded, secrets redacted) of the
// working tree are compared with those of a base commit (rendered from git in a temporary worktree), object
// by object and URN by URN; every difference must be declared, with its reason, in tests/render-changes.yaml.
// The base is the commit that file names (the one before the declared changes), or, when it declares none,
// the previous commit (HEAD itself while the working tree has uncommitted changes).

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../../scripts/lib/mockRuntime";
import { diffRenders, RenderDiff } from "../../scripts/lib/renderDiff";
import { DIFF_SEED, renderGitRef, renderWorkingTree } from "../../scripts/lib/renderSides";
import { serversRequired } from "../../scripts/lib/servers";

interface DeclaredChange {
    stack: string;
    object?: string;
    path?: string;
    urn?: string;
    why: string;
}

function git(args: string[]): { code: number | null; out: string } {
    const r = spawnSync("git", ["-C", ROOT, ...args], { encoding: "utf8" });
    return { code: r.status, out: (r.stdout ?? "").trim() };
}

/**
 * The commit to compare with: the declared base, else HEAD when the working tree has changes (they are what
 * is being checked), else the parent commit. Undefined when that commit is not in this clone.
 */
function baseRef(declaredBase: string | undefined): string | undefined {
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]).out !== "";
    const ref = declaredBase ?? (dirty ? "HEAD" : "HEAD~1");
    return git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).code === 0 ? ref : undefined;
}

/** Every difference of a diff as `object path` or `urn` strings, for matching and messages. */
function differences(stack: string, diff: RenderDiff): { key: string; matches: (c: DeclaredChange) => boolean }[] {
    const out: { key: string; matches: (c: DeclaredChange) => boolean }[] = [];
    for (const o of diff.objects) {
        const paths = o.fields.length > 0 ? o.fields.map((f) => f.path) : ["(object)"];
        for (const p of paths) {
            out.push({
                key: `${stack} ${o.file} ${p} (${o.change})`,
                matches: (c) => c.stack === stack && c.object === o.file && c.path !== undefined && (p === c.path || p.startsWith(`${c.path}.`) || p.startsWith(`${c.path}[`)),
            });
        }
    }
    for (const r of diff.resources) {
        out.push({ key: `${stack} ${r.urn} (${r.change})`, matches: (c) => c.stack === stack && c.urn === r.urn });
    }
    return out;
}

describe("render stability: dev and prod render as the previous commit did, except for declared changes", function () {
    this.timeout(300_000);
    const file = YAML.parse(fs.readFileSync(path.join(ROOT, "tests", "render-changes.yaml"), "utf8")) as { base?: string; changes: DeclaredChange[] };
    const declared = file.changes ?? [];
    const diffs: Record<string, RenderDiff> = {};
    let base: string | undefined;

    before(async function () {
        assert.ok(declared.length === 0 || file.base, "tests/render-changes.yaml declares changes, so it must name the base commit they are relative to");
        base = baseRef(file.base);
        if (!base) {
            const reason = file.base ? `the base commit ${file.base} is not in this clone` : "no previous commit in this clone (shallow history?)";
            if (serversRequired()) {
                throw new Error(`${reason}; the render-stability check cannot be skipped here`);
            }
            console.log(`      skipped: ${reason}`);
            this.skip();
        }
        for (const stack of ["dev", "prod"]) {
            diffs[stack] = diffRenders(renderGitRef(base, stack, DIFF_SEED), await renderWorkingTree(stack, DIFF_SEED));
        }
    });

    it("declares every change with a reason", () => {
        for (const c of declared) {
            assert.ok(typeof c.why === "string" && c.why.trim().length > 10, `entry ${JSON.stringify(c)} needs a why`);
            assert.ok(["dev", "prod"].includes(c.stack), `entry ${JSON.stringify(c)}: stack must be dev or prod`);
        }
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every difference against the base commit is declared in tests/render-changes.yaml`, () => {
            const undeclared = differences(stack, diffs[stack]).filter((d) => !declared.some(d.matches));
            assert.deepStrictEqual(
                undeclared.map((d) => d.key),
                [],
                `the render of ${stack} differs from ${base} where tests/render-changes.yaml says nothing`,
            );
        });
    }

    it("every declared change still happens (stale entries are removed)", () => {
        const all = ["dev", "prod"].flatMap((s) => differences(s, diffs[s]));
        const stale = declared.filter((c) => !all.some((d) => d.matches(c)));
        assert.deepStrictEqual(stale, [], `declared in tests/render-changes.yaml but not a difference against ${base}`);
    });
});
