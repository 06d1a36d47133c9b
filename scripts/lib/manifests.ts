// Accessors over rendered manifests.

import type { Manifest } from "./mockRuntime";

export function find(objects: Manifest[], kind: string, namespace: string | undefined, name: string): Manifest {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
    if (!found) {
        throw new Error(`no ${kind} ${namespace ?? "-"}/${name} among ${objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).join(", ")}`);
    }
    return found;
}

export function ofKind(objects: Manifest[], kind: string): Manifest[] {
    return objects.filter((o) => o.kind === kind);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

/** The pod spec of a workload manifest (StatefulSet, Deployment, ...). */
export function podSpec(workload: Manifest): Any {
    return (workload.spec as Any).template.spec;
}

/** Every container of a workload, init containers included. */
export function containers(workload: Manifest): Any[] {
    const spec = podSpec(workload);
    return [...(spec.initContainers ?? []), ...spec.containers];
}
