// One benchmark sample, in a fresh process: `floor` starts the offline runtime with @pulumi/pulumi and
// @pulumi/kubernetes loaded and declares nothing; a stack name renders that stack.

import * as k8s from "@pulumi/kubernetes";
import { renderStack, runOffline } from "./lib/mockRuntime";

async function main(): Promise<void> {
    const target = process.argv[2];
    if (target === "floor") {
        void k8s.Provider; // loaded, not used
        await runOffline(() => ({}), { project: "msa-infra", stack: "floor", config: {} });
    } else {
        const r = await renderStack(target);
        if (r.objects.length === 0) {
            throw new Error(`stack ${target} rendered nothing`);
        }
    }
}

main().catch((e) => {
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
});
