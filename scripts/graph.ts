// npm run graph -- --stack <name>
//
// Prints the stack's resource graph as a Mermaid flowchart (scripts/lib/resourceGraph.ts), from an offline
// render of Pulumi.<name>.yaml. docs/architecture.md holds the dev stack's between its graph markers.

import { parseArgs } from "util";
import { RenderError, renderStack } from "./lib/mockRuntime";
import { resourceGraph } from "./lib/resourceGraph";

async function main(): Promise<void> {
    const { values } = parseArgs({ options: { stack: { type: "string" } } });
    if (!values.stack) {
        process.stderr.write("usage: npm run graph -- --stack <name>\n");
        process.exit(2);
    }
    const result = await renderStack(values.stack, { seed: "graph" });
    process.stdout.write("```mermaid\n" + resourceGraph(result) + "\n```\n");
}

main().catch((e) => {
    process.stderr.write(`graph: ${e instanceof RenderError ? e.message : (e as Error).stack}\n`);
    process.exit(2);
});
