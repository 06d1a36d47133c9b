// Every command block of the operator pages (docs/operations/*.md) is either a runbook a test executes
// (`bash runbook=<name>`, and some test names it) or says why it is not (`bash runbook-manual=<why>`, with a
// "Not run by a test: ..." sentence beside it that a reader sees). A new block that is neither fails here,
// naming the page and line, so no command reaches the pages unchecked without saying so.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DOCS_ROOT, fencedBlocks } from "../helpers/runbooks";

const PAGES_DIR = "docs/operations";
/** Info-string languages of blocks a reader runs; other blocks (yaml, dockerfile, text) are files or output. */
const COMMAND_LANGUAGES = new Set(["bash", "sh", "shell", "console", "zsh"]);
const MANUAL_NOTE = "Not run by a test";

function testSources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : testSources(p);
        return e.name.endsWith(".ts") && p !== __filename ? [fs.readFileSync(p, "utf8")] : [];
    });
}

/** The problems of one page's blocks, each naming page:line. */
export function untaggedBlocks(page: string, text: string, tests: string[]): string[] {
    const problems: string[] = [];
    const lines = text.split("\n");
    for (const b of fencedBlocks(text, page)) {
        const [language, ...attrs] = b.info.split(/\s+/).filter((w) => w !== "");
        const at = `${page}:${b.line}`;
        if (!language) {
            problems.push(`${at}: a block without a language (bash runbook=... for commands, text for output)`);
            continue;
        }
        if (!COMMAND_LANGUAGES.has(language)) continue;
        const run = attrs.map((a) => /^runbook=([a-z0-9-]+)$/.exec(a)?.[1]).filter(Boolean) as string[];
        const manual = attrs.filter((a) => /^runbook-manual=[a-z0-9-]+$/.test(a));
        if (run.length + manual.length !== 1) {
            problems.push(`${at}: a \`${language}\` block needs exactly one of runbook=<name> (a test runs it) or runbook-manual=<why> (and "${MANUAL_NOTE}: ..." beside it); it has: ${b.info}`);
            continue;
        }
        if (run.length === 1 && !tests.some((t) => t.includes(`"${run[0]}"`))) {
            problems.push(`${at}: runbook=${run[0]} but no test under tests/ names "${run[0]}"`);
        }
        if (manual.length === 1) {
            // Beside it: the text from the previous fence or heading to the next one, around this block.
            const bodyLines = b.body === "" ? 0 : b.body.split("\n").length;
            const close = b.line + bodyLines; // 0-based index of the closing fence
            let from = b.line - 2;
            while (from > 0 && !/^(```|#)/.test(lines[from - 1])) from--;
            let to = close + 1;
            while (to < lines.length && !/^(```|#)/.test(lines[to])) to++;
            const beside = [...lines.slice(from, b.line - 1), ...lines.slice(close + 1, to)].join(" ");
            if (!beside.includes(MANUAL_NOTE)) problems.push(`${at}: ${manual[0]} but no "${MANUAL_NOTE}: <why>" beside the block`);
        }
    }
    return problems;
}

describe(`${PAGES_DIR}: every command block is a runbook a test runs, or says why not`, function () {
    const tests = testSources(path.join(DOCS_ROOT, "tests"));
    const pages = fs.readdirSync(path.join(DOCS_ROOT, PAGES_DIR)).filter((f) => f.endsWith(".md")).sort();

    for (const f of pages) {
        const page = `${PAGES_DIR}/${f}`;
        it(page, function () {
            assert.deepStrictEqual(untaggedBlocks(page, fs.readFileSync(path.join(DOCS_ROOT, page), "utf8"), tests), []);
        });
    }

    it("fails on an untagged block, a manual one without its note, an unknown runbook and an unclosed fence (naming page and line)", function () {
        const t = (s: string) => untaggedBlocks("p.md", s, ['runbookBlock(PAGE, "known")']);
        assert.deepStrictEqual(t("# A\n\n```bash\nls\n```\n"), ['p.md:3: a `bash` block needs exactly one of runbook=<name> (a test runs it) or runbook-manual=<why> (and "Not run by a test: ..." beside it); it has: bash']);
        assert.deepStrictEqual(t("x\n```bash runbook-manual=needs-k3s\nls\n```\n"), ['p.md:2: runbook-manual=needs-k3s but no "Not run by a test: <why>" beside the block']);
        assert.deepStrictEqual(t("Not run by a test: K3s.\n```bash runbook-manual=needs-k3s\nls\n```\n"), []);
        assert.deepStrictEqual(t("```bash runbook-manual=needs-k3s\nls\n```\nNot run by a test: K3s.\n"), []);
        assert.deepStrictEqual(t("```bash runbook=unknown\nls\n```\n"), ['p.md:1: runbook=unknown but no test under tests/ names "unknown"']);
        assert.deepStrictEqual(t("```bash runbook=known\nls\n```\n"), []);
        assert.deepStrictEqual(t("```\nout\n```\n"), ["p.md:1: a block without a language (bash runbook=... for commands, text for output)"]);
        assert.deepStrictEqual(t("```yaml\na: 1\n```\n"), []);
        assert.throws(() => t("a\n\n```\nb\n"), /p\.md:3: the fence ``` is never closed/);
    });
});
