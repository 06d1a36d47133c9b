// Every relative link in README.md and docs/**/*.md reaches a file of the repository, and a `#fragment` into a
// Markdown file names one of its headings (GitHub's anchors), so moving or renaming a page or a section
// cannot leave a dead link behind.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

/** README.md and every Markdown file under docs/, relative to the repository. */
export function documentationFiles(): string[] {
    const out = ["README.md"];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const rel = path.join(dir, e.name);
            if (e.isDirectory()) walk(rel);
            else if (e.name.endsWith(".md")) out.push(rel);
        }
    };
    walk("docs");
    return out;
}

/** Markdown text without fenced code blocks and inline code, where `[x](y)` is not a link. */
function prose(text: string): string {
    return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    const code = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;
    for (const m of text.replace(code, "").matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
        const base = m[1]
            .replace(/<[^>]+>/g, "")
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

/** The broken relative links of one file: `file: [target] why`. */
export function brokenLinks(file: string, text: string, exists = (p: string) => fs.existsSync(path.join(ROOT, p)), read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8")): string[] {
    const problems: string[] = [];
    for (const m of prose(text).matchAll(/\[[^\]]*\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
        const [rawPath, fragment] = target.split("#", 2);
        const resolved = rawPath === "" ? file : path.normalize(path.join(path.dirname(file), decodeURIComponent(rawPath)));
        if (resolved.startsWith("..")) {
            problems.push(`${file}: [${target}] leaves the repository`);
            continue;
        }
        if (!exists(resolved)) {
            problems.push(`${file}: [${target}] → ${resolved} does not exist`);
            continue;
        }
        if (fragment !== undefined && resolved.endsWith(".md") && !anchors(read(resolved)).has(fragment)) {
            problems.push(`${file}: [${target}] → ${resolved} has no heading #${fragment}`);
        }
    }
    return problems;
}

describe("documentation links: README.md and docs/ point at files and headings that exist", function () {
    it("every relative link and anchor resolves", function () {
        const files = documentationFiles();
        assert.ok(files.length > 15, `${files.length} pages`);
        const problems = files.flatMap((f) => brokenLinks(f, fs.readFileSync(path.join(ROOT, f), "utf8")));
        assert.deepStrictEqual(problems, [], `broken links:\n  ${problems.join("\n  ")}`);
    });

    it("fails on a missing file and on a missing heading", function () {
        const text = "See [a](operations/nowhere.md), [b](operations/deploy.md#no-such-heading), [c](configuration.md#mariadb) and `[d](ignored.md)`.";
        assert.deepStrictEqual(brokenLinks("docs/x.md", text), [
            "docs/x.md: [operations/nowhere.md] → docs/operations/nowhere.md does not exist",
            "docs/x.md: [operations/deploy.md#no-such-heading] → docs/operations/deploy.md has no heading #no-such-heading",
        ]);
    });

    it("computes GitHub's anchors", function () {
        const a = anchors("# What `pulumi destroy` does to data\n## Kafka's broker password\n## Redis: failing back\n```\n# not a heading\n```\n## Redis: failing back\n");
        assert.deepStrictEqual([...a], ["what-pulumi-destroy-does-to-data", "kafkas-broker-password", "redis-failing-back", "redis-failing-back-1"]);
    });
});
