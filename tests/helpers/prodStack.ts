// Prod's stack file as the real-pod drills render it (tests/pods/*-prod.spec.ts): the same topology, TLS, auth
// and NetworkPolicies, with the overrides a test names. Always overridden, and why: monitoring.exporters off
// (no exporter images are built for the nodes, tests/pods/IMAGES.md); the Prometheus Operator's objects are
// left out (no CRDs on the test control plane).

import { readStackFile, renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";

/** The prod stack file's config (keys without the project prefix), each service's settings merged with `overrides[service]`. */
export function prodConfig(overrides: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) {
        let value: unknown = v;
        try {
            value = JSON.parse(v);
        } catch {
            // a plain string
        }
        out[k.replace(/^msa-infra:/, "")] = value;
    }
    out.monitoring = { ...((out.monitoring ?? {}) as Record<string, unknown>), exporters: false };
    for (const [service, o] of Object.entries(overrides)) out[service] = { ...((out[service] ?? {}) as Record<string, unknown>), ...o };
    return out;
}

/** Prod rendered with its secrets from `seed`: the objects of namespace `ns` (and the Namespace), without Prometheus Operator kinds. */
export async function renderProdNamespace(ns: string, seed: string, overrides: Record<string, Record<string, unknown>> = {}): Promise<Manifest[]> {
    const r = await renderStack("prod", { withSecrets: true, seed, config: prodConfig(overrides) });
    return r.objects.filter(
        (o) => !o.apiVersion.startsWith("monitoring.coreos.com/") && (o.metadata.namespace === ns || (o.kind === "Namespace" && o.metadata.name === ns)),
    );
}
