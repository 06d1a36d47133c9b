// A ComponentResource instantiated alone under the Pulumi mock runtime: the stack defaults and a platform
// to give it, the render, and the children parented to it.

import { parseStackConfig } from "../../components/stackConfig";
import { RenderResult, runOffline } from "../../scripts/lib/mockRuntime";

export const defaults = parseStackConfig({});
export const platform = {
    environment: "development" as const,
    storageClass: "fast",
    podSecurityLevel: "restricted" as const,
    networkPolicies: { enabled: true, egress: false, allowedNamespaces: ["shop"] },
    tls: { enabled: false },
    protect: false,
    deleteDataOnDestroy: false,
};
/** What the planners read besides a service's settings. */
export const context = { ...platform, monitoring: defaults.monitoring };

export function renderComponent(make: () => unknown): Promise<RenderResult> {
    return runOffline(() => {
        make();
        return {};
    }, { project: "msa-infra", stack: "unit", config: {} });
}

export function childrenOf(r: RenderResult, componentType: string, name: string) {
    return r.resources.filter((x) => x.options.parent?.endsWith(`${componentType}::${name}`));
}
