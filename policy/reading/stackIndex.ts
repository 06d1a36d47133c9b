// The stack as lookup tables: every Kubernetes object the policies know, by kind, namespace and name, and
// every pod-bearing object with its pod spec and containers. Stack policies build one index and resolve
// references (ConfigMaps, Secrets, ServiceAccounts, Namespaces, Services, pods) through it.

import type { PolicyResource } from "@pulumi/policy";
import { ContainerRef, containersOf, kindOf, nameOf, namespaceOf, Obj, POD_BEARING_KINDS, podMetaOf, podSpecOf, rec } from "./objects";
import { UnknownTracker } from "./unknowns";

/** Kinds (besides the pod-bearing ones) that stack policies look up. */
export const INDEXED_KINDS = ["ConfigMap", "Secret", "ServiceAccount", "Namespace", "Service", "NetworkPolicy", "Endpoints", "EndpointSlice"] as const;

/** One Kubernetes object of the stack. */
export interface IndexedObject {
    resource: PolicyResource;
    kind: string;
    /** "" for cluster-scoped kinds. */
    namespace: string;
    name: string;
    props: Obj;
}

/** A pod-bearing object of the stack, with its PodSpec. */
export interface Workload extends IndexedObject {
    podSpec: Obj;
    /** Pod template metadata (labels, annotations); the object's own metadata for a Pod. */
    podMeta: Obj | undefined;
    containers: ContainerRef[];
}

/** Lookup tables over the stack's resources. */
export interface StackIndex {
    workloads: Workload[];
    /** `<Kind>/<namespace>/<name>` -> props, for the INDEXED_KINDS (namespace "" for cluster-scoped kinds). */
    objects: Map<string, Obj>;
    /** Every indexed object, in stack order. */
    all: IndexedObject[];
}

/** The object `<kind> <namespace>/<name>` of the stack, or undefined. */
export function lookup(index: StackIndex, kind: string, namespace: string, name: string): Obj | undefined {
    return index.objects.get(`${kind}/${namespace}/${name}`);
}

/** All indexed objects of one kind. */
export function objectsOfKind(index: StackIndex, kind: string): IndexedObject[] {
    return index.all.filter((o) => o.kind === kind);
}

/**
 * Indexes the stack. With an UnknownTracker, an object whose name or namespace is unknown at preview is
 * skipped (and remembered) instead of aborting the policy.
 */
export function indexStack(resources: readonly PolicyResource[], unknowns?: UnknownTracker): StackIndex {
    const workloads: Workload[] = [];
    const objects = new Map<string, Obj>();
    const all: IndexedObject[] = [];
    const read = <T>(fn: () => T): T | undefined => (unknowns ? unknowns.read<T | undefined>(fn, undefined) : fn());
    for (const r of resources) {
        const entry = read(() => {
            const podKind = kindOf(r.type, ...POD_BEARING_KINDS);
            const kind = podKind ?? kindOf(r.type, ...INDEXED_KINDS);
            const props = rec(r.props);
            if (!kind || !props) {
                return undefined;
            }
            const base: IndexedObject = { resource: r, kind, namespace: namespaceOf(props, kind), name: nameOf(props), props };
            if (!podKind) {
                return { base };
            }
            const podSpec = podSpecOf(podKind, props);
            return podSpec ? { base, workload: { ...base, podSpec, podMeta: podMetaOf(podKind, props), containers: containersOf(podSpec) } } : { base };
        });
        if (!entry) {
            continue;
        }
        all.push(entry.base);
        if (entry.workload) {
            workloads.push(entry.workload);
        } else if ((INDEXED_KINDS as readonly string[]).includes(entry.base.kind)) {
            objects.set(`${entry.base.kind}/${entry.base.namespace}/${entry.base.name}`, entry.base.props);
        }
    }
    return { workloads, objects, all };
}
