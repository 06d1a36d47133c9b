// docs/configuration.md against the settings code: every key the readers accept has a row (or is named in its
// parent's row), every row names an accepted key, and every plain default in the page is the parsed default.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../../components/stackConfig";
import { acceptedKeys } from "../helpers/configKeys";

const ROOT = path.resolve(__dirname, "..", "..");
export const CONFIG_PAGE = path.join(ROOT, "docs", "configuration.md");

interface Row {
    key: string;
    type: string;
    defaultCell: string;
    meaning: string;
}

/** The rows of the page's key tables: `| \`key\` | type | default | meaning |`. */
export function configRows(text: string): Row[] {
    const rows: Row[] = [];
    for (const line of text.split("\n")) {
        const m = /^\| `([^`]+)` \| ([^|]*) \| ([^|]*) \| (.*) \|$/.exec(line);
        if (m) rows.push({ key: m[1], type: m[2].trim(), defaultCell: m[3].trim(), meaning: m[4] });
    }
    return rows;
}

/** The words inside a cell's code spans (`{requests: {cpu, memory}}` → requests, cpu, memory). */
const codeWords = (cell: string) => new Set([...cell.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1].match(/[A-Za-z]+/g) ?? []));

/** Whether `key` is documented: a row of its own, or an ancestor's row naming every segment below it. */
function covered(key: string, rows: Map<string, Row>): boolean {
    if (rows.has(key)) return true;
    const segments = key.split(".");
    for (let i = segments.length - 1; i > 0; i--) {
        const ancestor = rows.get(segments.slice(0, i).join("."));
        if (!ancestor) continue;
        const words = codeWords(ancestor.meaning);
        return segments.slice(i).every((s) => words.has(s.replace(/\[\]$/, "")));
    }
    return false;
}

/** A value at a documented key's path (`kafka.topics[].partitions` → the first item's). */
function valueAt(config: unknown, key: string): { found: boolean; value?: unknown } {
    let v: unknown = config;
    for (const segment of key.split(".")) {
        const list = segment.endsWith("[]");
        const name = list ? segment.slice(0, -2) : segment;
        if (v === null || typeof v !== "object" || (v as Record<string, unknown>)[name] === undefined) return { found: false };
        v = (v as Record<string, unknown>)[name];
        if (list) {
            if (!Array.isArray(v) || v.length === 0) return { found: false };
            v = v[0];
        }
    }
    return { found: true, value: v };
}

/** What the page's default cell says: a plain value (`false`, `10Gi`, `[]`), none, or something to read. */
function plainDefault(cell: string): { kind: "value"; text: string } | { kind: "none" } | { kind: "prose" } {
    const m = /^`([^`]+)`( \(production: `[^`]+`\))?$/.exec(cell);
    // A placeholder (`<name>:*`) is prose: it depends on another value.
    if (m && !/<[a-z]+>/.test(m[1])) return { kind: "value", text: m[1] };
    if (cell === "none") return { kind: "none" };
    return { kind: "prose" };
}

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

// One item in every list and every optional object, so their keys' defaults can be read too.
const WITH_ITEMS = {
    tls: { enabled: true, issuer: { name: "ca" } },
    mariadb: { databases: [{ name: "app", user: "app" }], backup: { enabled: true } },
    redis: { users: [{ name: "app" }] },
    kafka: { topics: [{ name: "t" }], users: [{ name: "app", topics: [{ name: "t", access: ["read"] }] }], jmxAgent: { image: "registry.example/jmx:1.0.1" } },
    backups: { s3: { endpoint: "https://s3.example", bucket: "backups" } },
};

/** The keys WITH_ITEMS sets (`kafka.users[].name`): their parsed values are the fixture's, not defaults. */
function keysOf(v: unknown, at = ""): string[] {
    if (Array.isArray(v)) return [at, ...v.flatMap((item) => keysOf(item, `${at}[]`))];
    if (v === null || typeof v !== "object") return [at];
    return [at, ...Object.entries(v).flatMap(([k, x]) => keysOf(x, at === "" ? k : `${at}.${k}`))];
}
const SET_BY_FIXTURE = new Set(keysOf(WITH_ITEMS).map((k) => k.replace(/\[\]$/, "")));

// Keys whose plain default the parsed config holds in another form: checked here by hand, each with why.
const PARSED_ELSEWHERE: Record<string, (c: ReturnType<typeof parseStackConfig>) => string> = {
    // Parsed into whole MiB for the uploader.
    "backups.s3.partSize": (c) => `${c.backups.s3!.partMiB}Mi`,
};

export function configPageProblems(page: string, accepted = acceptedKeys()): string[] {
    const rows = configRows(page);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const problems: string[] = [];
    const acceptedSet = new Set(accepted.all);
    for (const r of rows) {
        if (!acceptedSet.has(r.key)) problems.push(`${r.key}: documented, but no settings reader accepts it`);
    }
    const dupes = rows.map((r) => r.key).filter((k, i, all) => all.indexOf(k) !== i);
    for (const d of dupes) problems.push(`${d}: documented twice`);
    for (const k of accepted.all) {
        if (!accepted.structured.has(k) && !covered(k, byKey)) problems.push(`${k}: accepted by the settings code, but not in docs/configuration.md`);
    }
    const base = parseStackConfig({});
    const withItems = parseStackConfig(WITH_ITEMS);
    for (const r of rows) {
        const d = plainDefault(r.defaultCell);
        if (d.kind === "prose") continue;
        // Read where the key's parent exists without help; otherwise from the one-item config, unless the
        // fixture itself set the key.
        const parent = r.key.split(".").slice(0, -1).join(".");
        const inBase = parent === "" || valueAt(base, parent).found;
        if (!inBase && SET_BY_FIXTURE.has(r.key) && !PARSED_ELSEWHERE[r.key]) continue;
        const at = inBase ? valueAt(base, r.key) : valueAt(withItems, r.key);
        if (d.kind === "none") {
            if (at.found && at.value !== "") problems.push(`${r.key}: the page says no default, the code's is ${show(at.value)}`);
            continue;
        }
        const actual = PARSED_ELSEWHERE[r.key] ? PARSED_ELSEWHERE[r.key](withItems) : at.found ? show(at.value) : undefined;
        if (actual === undefined) problems.push(`${r.key}: the page's default \`${d.text}\` cannot be checked: the parsed config has no value there`);
        else if (actual !== d.text) problems.push(`${r.key}: the page's default is \`${d.text}\`, the code's is \`${actual}\``);
    }
    return problems;
}

describe("docs/configuration.md: the configuration reference matches the settings code", function () {
    const page = fs.readFileSync(CONFIG_PAGE, "utf8");

    it("documents every accepted key, only accepted keys, and the code's defaults", function () {
        const problems = configPageProblems(page);
        assert.deepStrictEqual(problems, [], `docs/configuration.md and the code disagree:\n  ${problems.join("\n  ")}`);
    });

    it("checks what it claims to: most defaults are plain values compared with the code", function () {
        const plain = configRows(page).filter((r) => plainDefault(r.defaultCell).kind === "value");
        assert.ok(plain.length >= 60, `only ${plain.length} plain defaults`);
    });

    it("fails when a key is missing from the page", function () {
        const without = page.replace(/^\| `redis\.maxmemoryPolicy` \|.*\n/m, "");
        assert.notStrictEqual(without, page);
        assert.deepStrictEqual(configPageProblems(without), ["redis.maxmemoryPolicy: accepted by the settings code, but not in docs/configuration.md"]);
    });

    it("fails when the code accepts a key the page lacks, or the page names one the code does not accept", function () {
        const accepted = acceptedKeys();
        const more = { all: [...accepted.all, "redis.newKey"].sort(), structured: accepted.structured };
        assert.deepStrictEqual(configPageProblems(page, more), ["redis.newKey: accepted by the settings code, but not in docs/configuration.md"]);
        const fewer = { all: accepted.all.filter((k) => k !== "kafka.heapPercent"), structured: accepted.structured };
        assert.deepStrictEqual(configPageProblems(page, fewer), ["kafka.heapPercent: documented, but no settings reader accepts it"]);
    });

    it("fails when a default differs, and when a nested key is not named in its parent's row", function () {
        const wrong = page.replace("| `redis.maxmemoryPercent` | integer | `50` |", "| `redis.maxmemoryPercent` | integer | `60` |");
        assert.notStrictEqual(wrong, page);
        assert.deepStrictEqual(configPageProblems(wrong), ["redis.maxmemoryPercent: the page's default is `60`, the code's is `50`"]);
        const noCpu = page.replace("`{requests: {cpu, memory}, limits: {cpu, memory}}`; the buffer pool", "`{requests: {memory}, limits: {memory}}`; the buffer pool");
        assert.notStrictEqual(noCpu, page);
        assert.deepStrictEqual(configPageProblems(noCpu), [
            "mariadb.resources.limits.cpu: accepted by the settings code, but not in docs/configuration.md",
            "mariadb.resources.requests.cpu: accepted by the settings code, but not in docs/configuration.md",
        ]);
    });
});
