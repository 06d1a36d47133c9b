// Runbook blocks of the operator pages: a fenced block whose info string names it (`bash runbook=<name>`)
// is a runbook a test reads, so a page cannot keep a step that no longer fits the program. Pure text helpers.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const DOCS_ROOT = path.resolve(__dirname, "..", "..");

/** The text of the block tagged `runbook=<name>` in a page (relative to the repository); throws when absent or repeated. */
export function runbookBlock(page: string, name: string): string {
    const text = fs.readFileSync(path.join(DOCS_ROOT, page), "utf8");
    const blocks = [...text.matchAll(/^```[a-z]* runbook=([a-z0-9-]+)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === name);
    if (blocks.length !== 1) throw new Error(`${page}: ${blocks.length} blocks tagged runbook=${name}, expected one`);
    return blocks[0][2];
}

/** Every runbook name tagged in a page. */
export function runbookNames(page: string): string[] {
    const text = fs.readFileSync(path.join(DOCS_ROOT, page), "utf8");
    return [...text.matchAll(/^```[a-z]* runbook=([a-z0-9-]+)$/gm)].map((m) => m[1]);
}

/** The manifests a block applies through a quoted heredoc (`kubectl apply -f - <<'EOF' ... EOF`). */
export function appliedManifests(block: string): Record<string, unknown>[] {
    return [...block.matchAll(/kubectl apply -f - <<'EOF'\n([\s\S]*?)^EOF$/gm)].map((m) => parse(m[1]) as Record<string, unknown>);
}

/** The block's command lines (heredoc bodies and comments dropped, `\` continuations joined). */
export function commandLines(block: string): string[] {
    const withoutHeredocs = block.replace(/<<'EOF'\n[\s\S]*?^EOF$/gm, "<<'EOF'");
    return withoutHeredocs
        .replace(/\\\n\s*/g, " ")
        .split("\n")
        .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
        .filter((l) => l !== "");
}

/** The `--options` a shell script's argument loop accepts (its `--name)` case labels). */
export function scriptOptions(script: string): Set<string> {
    const text = fs.readFileSync(path.join(DOCS_ROOT, script), "utf8");
    return new Set([...text.matchAll(/^\s*(--[a-z0-9-]+)(?:\s*\|\s*-[a-z])?\)/gm)].map((m) => m[1]));
}

/** A fenced block of a page: the fence line's number (1-based), its info string and its text. */
export interface FencedBlock {
    line: number;
    info: string;
    body: string;
}

/** Every fenced block of a Markdown text (``` fences only, as the pages use); an unclosed fence is an error. */
export function fencedBlocks(text: string, page: string): FencedBlock[] {
    const lines = text.split("\n");
    const out: FencedBlock[] = [];
    for (let i = 0; i < lines.length; i++) {
        const open = /^```(.*)$/.exec(lines[i]);
        if (!open) continue;
        const end = lines.findIndex((l, j) => j > i && l === "```");
        if (end < 0) throw new Error(`${page}:${i + 1}: the fence \`\`\`${open[1]} is never closed (the rest of the page renders as code)`);
        out.push({ line: i + 1, info: open[1].trim(), body: lines.slice(i + 1, end).join("\n") });
        i = end;
    }
    return out;
}

/** Shell-like words: spaces separate, single and double quotes group. */
export function shellWords(line: string): string[] {
    return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** A `pulumi` step of a runbook: a CLI command (its arguments after `pulumi`), or `up` with its `--replace` list. */
export type PulumiStep = { cli: string[] } | { up: { replace: string[] } };

/**
 * The `pulumi` steps of a block for one stack: a line whose comment says "protected stacks" is dropped for an
 * unprotected one; any other command, or an option not understood here, is refused by name. Placeholders such as
 * `<urn>` stay for the caller to fill from an earlier step's output.
 */
export function pulumiSteps(block: string, stack: { protected: boolean }): PulumiStep[] {
    const steps: PulumiStep[] = [];
    for (const raw of block.replace(/\\\n\s*/g, " ").split("\n")) {
        const comment = /(^|\s)#(.*)$/.exec(raw)?.[2] ?? "";
        const line = raw.replace(/(^|\s)#.*$/, "").trim();
        if (line === "") continue;
        if (/protected stacks/.test(comment) && !stack.protected) continue;
        const [cmd, ...args] = shellWords(line);
        if (cmd !== "pulumi") throw new Error(`a step this test cannot run: ${line}`);
        if (args[0] === "up") {
            const rest = args.slice(1);
            const replace: string[] = [];
            for (let i = 0; i < rest.length; i++) {
                if (rest[i] !== "--replace" || rest[i + 1] === undefined) throw new Error(`${line}: only --replace <urn> is understood here`);
                replace.push(rest[++i]);
            }
            steps.push({ up: { replace } });
        } else if ((args[0] === "stack" && args[1] === "--show-urns" && args.length === 2) || (args[0] === "state" && args[1] === "unprotect" && args.length === 3)) {
            steps.push({ cli: args });
        } else {
            throw new Error(`a step this test cannot run: ${line}`);
        }
    }
    return steps;
}
