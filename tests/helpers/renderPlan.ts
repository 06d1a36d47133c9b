// One service plan through the shared renderer under the mock runtime, without the rest of the program:
// what the renderer makes of a plan field, seen as Kubernetes objects.

import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../../components/stackConfig";
import { platformContext } from "../../components/platform";
import type { ServicePlan } from "../../components/workload/plan";
import { renderService } from "../../components/workload/render";
import { RenderResult, runOffline } from "../../scripts/lib/mockRuntime";

class Probe extends pulumi.ComponentResource {
    constructor(name: string, plan: ServicePlan, config: PlatformConfig) {
        super("msa-infra:test:Probe", name, {}, {});
        renderService(this, name, plan, platformContext(config));
        this.registerOutputs({});
    }
}

/**
 * Renders `plan` with the platform settings of `config`, as component `probe`; `seed` derives the generated
 * values (another seed stands for rotated passwords).
 */
export function renderPlan(plan: ServicePlan, config: PlatformConfig, seed?: string): Promise<RenderResult> {
    return runOffline(() => {
        new Probe("probe", plan, config);
        return {};
    }, { project: "msa-infra", stack: "unit", config: {}, seed });
}
