// The resource graph in docs/architecture.md is the dev stack's current render (scripts/lib/resourceGraph.ts),
// so the picture cannot drift from the program.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderStack } from "../../scripts/lib/mockRuntime";
import { resourceGraph } from "../../scripts/lib/resourceGraph";

const ROOT = path.resolve(__dirname, "..", "..");
const PAGE = path.join(ROOT, "docs", "architecture.md");

/** The flowchart between the page's graph markers, without the code fence. */
export function pageGraph(text: string): string | undefined {
    const m = /<!-- graph:begin -->\n```mermaid\n([\s\S]*?)\n```\n<!-- graph:end -->/.exec(text);
    return m?.[1];
}

describe("docs/architecture.md: the resource graph is the dev render's", function () {
    let graph: string;
    before(async function () {
        this.timeout(120_000);
        graph = resourceGraph(await renderStack("dev", { seed: "graph" }));
    });

    it("matches `npm run graph -- --stack dev`", function () {
        const shown = pageGraph(fs.readFileSync(PAGE, "utf8"));
        assert.ok(shown, "docs/architecture.md has no <!-- graph:begin --> ```mermaid ... ``` <!-- graph:end --> block");
        assert.strictEqual(shown, graph, "docs/architecture.md's resource graph differs from the dev render: replace the block with the output of `npm run graph -- --stack dev`");
    });

    it("draws every resource under its parent, and the workloads' Secrets and ConfigMaps", function () {
        // 49 resources in dev today; every one but the stack has a parent edge.
        const nodes = graph.split("\n").filter((l) => /^ {2}r\d+\["/.test(l)).length;
        const parents = graph.split("\n").filter((l) => / --> /.test(l)).length;
        assert.ok(nodes > 30, `${nodes} nodes`);
        assert.strictEqual(parents, nodes - 1, "each resource but the stack hangs under its parent");
        assert.match(graph, /StatefulSet<br\/>mariadb-statefulset/);
        const sts = /^ {2}(r\d+)\["StatefulSet<br\/>mariadb-statefulset"\]$/m.exec(graph)![1];
        const init = /^ {2}(r\d+)\["Secret<br\/>mariadb-init"\]$/m.exec(graph)![1];
        assert.ok(graph.includes(`  ${sts} -.-> ${init}`), "the MariaDB StatefulSet uses Secret mariadb-init");
    });
});
