// Kubernetes objects as policies receive them, read defensively: type tokens, kinds, pod specs,
// containers, names and selectors. The lowest layer of the pack: the reading modules and, through
// policies/k8s.ts, every policy and the offline runner build on it.
//
// Policies match on Pulumi type tokens (`kubernetes:<group>/<version>:<Kind>`), never on the
// @pulumi/kubernetes classes, so the same code runs under the Pulumi CLI and in the offline
// runner (policy/runner.ts) without loading the Kubernetes SDK.
//
// Props come from the engine and may be partial (preview), wrongly typed (hand-written YAML) or
// proxies (pulumi-policy wraps props in an unknown-checking Proxy). Every accessor here therefore
// checks types first and copies arrays with an index loop instead of calling species-creating
// methods such as `filter` on the engine's objects.

import { isUnknownValueError } from "./unknowns";

/** A JSON-ish object as found in manifests. */
export type Obj = Record<string, unknown>;

/** Returns `v` when it is a non-array object, otherwise undefined. */
export function rec(v: unknown): Obj | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** Returns a plain copy of `v` when it is an array, otherwise an empty array. */
export function arr(v: unknown): unknown[] {
    if (!Array.isArray(v)) {
        return [];
    }
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
        out.push(v[i]);
    }
    return out;
}

/** Returns the array's object elements (skips nulls, strings and other junk). */
export function recs(v: unknown): Obj[] {
    const out: Obj[] = [];
    for (const item of arr(v)) {
        const r = rec(item);
        if (r) {
            out.push(r);
        }
    }
    return out;
}

/** Returns `v` when it is a string, otherwise undefined. */
export function str(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

/** Returns the array's string elements. */
export function strs(v: unknown): string[] {
    const out: string[] = [];
    for (const item of arr(v)) {
        if (typeof item === "string") {
            out.push(item);
        }
    }
    return out;
}

/** Walks `path` through nested objects; undefined as soon as a step is not an object. */
export function at(v: unknown, ...path: string[]): unknown {
    let cur: unknown = v;
    for (const key of path) {
        const r = rec(cur);
        if (!r) {
            return undefined;
        }
        cur = r[key];
    }
    return cur;
}

/** Own enumerable string keys of an object (works on proxies). */
export function keys(v: unknown): string[] {
    const r = rec(v);
    return r ? Object.keys(r) : [];
}

/** A parsed `kubernetes:<group>/<version>:<Kind>` type token. */
export interface K8sType {
    group: string;
    version: string;
    kind: string;
}

const TYPE_RE = /^kubernetes:([^/:]+)\/([^/:]+):([A-Za-z0-9]+)$/;

/** Parses a Pulumi Kubernetes type token; undefined for anything else (aws:..., random:..., components). */
export function parseType(type: unknown): K8sType | undefined {
    const m = typeof type === "string" ? TYPE_RE.exec(type) : null;
    return m ? { group: m[1], version: m[2], kind: m[3] } : undefined;
}

/** Builds the Pulumi type token for a manifest's apiVersion and kind (core API group = "core"). */
export function typeToken(apiVersion: string, kind: string): string {
    const slash = apiVersion.indexOf("/");
    const group = slash < 0 ? "core" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    return `kubernetes:${group}/${version}:${kind}`;
}

/** API groups each kind we inspect may live in (old groups included for old manifests). */
const KIND_GROUPS: Record<string, readonly string[]> = {
    Pod: ["core"],
    ReplicationController: ["core"],
    Service: ["core"],
    Namespace: ["core"],
    ConfigMap: ["core"],
    Secret: ["core"],
    ServiceAccount: ["core"],
    PersistentVolumeClaim: ["core"],
    StatefulSet: ["apps"],
    Deployment: ["apps", "extensions"],
    DaemonSet: ["apps", "extensions"],
    ReplicaSet: ["apps", "extensions"],
    Job: ["batch"],
    CronJob: ["batch"],
    PodTemplate: ["core"],
    NetworkPolicy: ["networking.k8s.io", "extensions"],
    Endpoints: ["core"],
    EndpointSlice: ["discovery.k8s.io"],
    PersistentVolume: ["core"],
};

/** The kind of a Kubernetes type token if it is one of `kinds` in its proper API group. */
export function kindOf(type: unknown, ...kinds: string[]): string | undefined {
    const t = parseType(type);
    if (!t || !kinds.includes(t.kind)) {
        return undefined;
    }
    const groups = KIND_GROUPS[t.kind];
    return !groups || groups.includes(t.group) ? t.kind : undefined;
}

/** Kinds whose objects carry a pod template (or are a Pod). */
export const POD_BEARING_KINDS = [
    "Pod",
    "StatefulSet",
    "Deployment",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
] as const;

/** The pod spec of a pod-bearing resource (by type token), with its kind; undefined for anything else. */
export function podBearing(type: unknown, props: unknown): { kind: string; podSpec: Obj } | undefined {
    const kind = kindOf(type, ...POD_BEARING_KINDS);
    const podSpec = kind ? podSpecOf(kind, props) : undefined;
    return kind && podSpec ? { kind, podSpec } : undefined;
}

/** The PodSpec of a pod-bearing object of `kind`, or undefined. */
export function podSpecOf(kind: string, props: unknown): Obj | undefined {
    switch (kind) {
        case "Pod":
            return rec(at(props, "spec"));
        case "PodTemplate":
            return rec(at(props, "template", "spec"));
        case "CronJob":
            return rec(at(props, "spec", "jobTemplate", "spec", "template", "spec"));
        case "StatefulSet":
        case "Deployment":
        case "DaemonSet":
        case "ReplicaSet":
        case "ReplicationController":
        case "Job":
            return rec(at(props, "spec", "template", "spec"));
        default:
            return undefined;
    }
}

/** Returns the pod template metadata (labels) of a pod-bearing object. */
export function podMetaOf(kind: string, props: unknown): Obj | undefined {
    switch (kind) {
        case "Pod":
            return rec(at(props, "metadata"));
        case "PodTemplate":
            return rec(at(props, "template", "metadata"));
        case "CronJob":
            return rec(at(props, "spec", "jobTemplate", "spec", "template", "metadata"));
        default:
            return rec(at(props, "spec", "template", "metadata"));
    }
}

/** Which list of the PodSpec a container comes from. */
export type ContainerRole = "container" | "initContainer" | "ephemeralContainer";

export interface ContainerRef {
    role: ContainerRole;
    name: string;
    c: Obj;
    /** Position in its list (for messages when the name is missing). */
    index: number;
    /**
     * An init container with `restartPolicy: Always` is a sidecar (Kubernetes 1.28+): it starts before
     * the app containers and keeps running next to them, so it is held to the same rules as a container.
     */
    sidecar: boolean;
}

/** Reads a value that may be unknown during preview; undefined instead of pulumi-policy's UnknownValueError. */
function quiet<T>(fn: () => T): T | undefined {
    try {
        return fn();
    } catch (e) {
        if (isUnknownValueError(e)) {
            return undefined;
        }
        throw e;
    }
}

/**
 * All containers of a PodSpec: initContainers (sidecars flagged), containers and ephemeralContainers.
 * Names are only used in messages, so an unreadable name falls back to `#<index>` instead of throwing.
 */
export function containersOf(podSpec: Obj | undefined, roles: readonly ContainerRole[] = ["container", "initContainer", "ephemeralContainer"]): ContainerRef[] {
    const out: ContainerRef[] = [];
    const lists: Array<[ContainerRole, string]> = [
        ["initContainer", "initContainers"],
        ["container", "containers"],
        ["ephemeralContainer", "ephemeralContainers"],
    ];
    for (const [role, field] of lists) {
        if (!roles.includes(role)) {
            continue;
        }
        recs(podSpec?.[field]).forEach((c, i) => {
            const name = quiet(() => str(c.name)) ?? `#${i}`;
            const sidecar = role === "initContainer" && quiet(() => c.restartPolicy) === "Always";
            out.push({ role, name, c, index: i, sidecar });
        });
    }
    return out;
}

/** True for containers that keep running next to the app: containers, sidecars and ephemeral containers. */
export function isLongRunning(ref: ContainerRef): boolean {
    return ref.role !== "initContainer" || ref.sidecar;
}

/** Kinds that are not namespaced (the offline runner prints them as `Kind /name`). */
export const CLUSTER_SCOPED_KINDS = new Set([
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "CertificateSigningRequest",
    "PodSecurityPolicy",
    "ClusterIssuer",
]);

/** metadata.name, or "" when absent. */
export function nameOf(props: unknown): string {
    return str(at(props, "metadata", "name")) ?? "";
}

/** metadata.namespace with the Kubernetes default ("default"); "" for cluster-scoped kinds. */
export function namespaceOf(props: unknown, kind?: string): string {
    if (kind && CLUSTER_SCOPED_KINDS.has(kind)) {
        return "";
    }
    const ns = str(at(props, "metadata", "namespace"));
    return ns && ns.length > 0 ? ns : "default";
}

/** True for an empty label selector ({} or absent, no labels and no expressions) = "all pods". */
export function isEmptySelector(sel: unknown): boolean {
    if (sel === undefined || sel === null) {
        return true;
    }
    const r = rec(sel);
    if (!r) {
        return false;
    }
    return keys(r.matchLabels).length === 0 && arr(r.matchExpressions).length === 0;
}

/** Basename of a path-like word (`/usr/local/bin/redis-server` -> `redis-server`). */
export function basename(word: string): string {
    const i = word.lastIndexOf("/");
    return i < 0 ? word : word.slice(i + 1);
}
