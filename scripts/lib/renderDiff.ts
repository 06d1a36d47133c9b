// Compares two renders of a stack object by object, the way a reviewer needs it beside `pulumi preview`:
// what changes in each object, which changes the API server refuses (immutable fields) or Pulumi turns into
// a replacement, what is deleted, and which resources change their URN. Pure: both renders are given.

import { JOB_SERIES_ANNOTATION } from "../../components/labels";
import type { Manifest } from "./mockRuntime";

/**
 * What happens to one object. `rerun`: a Job named by its content is replaced by the next Job of its series
 * (JOB_SERIES_ANNOTATION), by design: the new declaration runs once; nothing is lost.
 */
export type ChangeKind = "create" | "update" | "replace" | "delete" | "rerun";

export interface FieldChange {
    /** Dotted path; list items with a name are addressed as `[name]`. */
    path: string;
    before: unknown;
    after: unknown;
    /** The API server refuses to change this field in place. */
    immutable: boolean;
}

export interface ObjectChange {
    /** The object's file in a render directory: <namespace or _cluster>/<kind>-<name>.yaml. */
    file: string;
    kind: string;
    namespace?: string;
    name: string;
    change: ChangeKind;
    fields: FieldChange[];
    /** An update of a workload's pod template: its pods are recreated. */
    rollsPods: boolean;
    /** rerun: the name of the Job this one replaces. */
    replaces?: string;
}

export interface ResourceChange {
    change: "added" | "removed" | "options";
    urn: string;
    before?: string;
    after?: string;
}

export interface RenderDiff {
    objects: ObjectChange[];
    resources: ResourceChange[];
}

/** StatefulSet spec fields the API server lets an update change; every other spec field is immutable. */
const STATEFULSET_MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "revisionHistoryLimit"];

/** Whether the API server refuses to change `path` of a `kind` in place (the subset of rules that matter here). */
export function isImmutable(kind: string, path: string, before: unknown, after: unknown): boolean {
    const top = path.split(/[.[]/);
    switch (kind) {
        case "StatefulSet":
            return top[0] === "spec" && top[1] !== undefined && !STATEFULSET_MUTABLE.includes(top[1]);
        case "Deployment":
        case "DaemonSet":
        case "ReplicaSet":
            return path.startsWith("spec.selector");
        case "Job":
            return path.startsWith("spec.template") || path.startsWith("spec.selector") || path.startsWith("spec.completions");
        case "PersistentVolumeClaim":
            // Only growing the requested storage is allowed (and only where the class allows expansion).
            if (path === "spec.resources.requests.storage") {
                return typeof before === "string" && typeof after === "string" && storageBytes(after) < storageBytes(before);
            }
            return path.startsWith("spec.") && !path.startsWith("spec.resources");
        case "Service":
            return path === "spec.clusterIP" || path.startsWith("spec.clusterIPs") || path === "spec.ipFamilies";
        case "Secret":
            return path === "type";
        default:
            return false;
    }
}

function storageBytes(q: string): number {
    const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(q);
    const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
    return m ? parseFloat(m[1]) * (units[m[2] ?? ""] ?? 1) : NaN;
}

const WORKLOADS = ["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job", "CronJob"];

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The name a list item is known by: `name`, or `metadata.name` (claim templates). */
function itemName(item: unknown): string | undefined {
    if (!isObject(item)) {
        return undefined;
    }
    if (typeof item.name === "string") {
        return item.name;
    }
    return isObject(item.metadata) && typeof item.metadata.name === "string" ? item.metadata.name : undefined;
}

/** Items of a list keyed by name when every item has a distinct one (containers, env, volumes, claim templates). */
function namedItems(list: unknown[]): Map<string, unknown> | undefined {
    const map = new Map<string, unknown>();
    for (const item of list) {
        const name = itemName(item);
        if (name === undefined || map.has(name)) {
            return undefined;
        }
        map.set(name, item);
    }
    return map;
}

/** Field-level differences between two JSON values. */
export function fieldChanges(before: unknown, after: unknown, at = ""): { path: string; before: unknown; after: unknown }[] {
    if (JSON.stringify(before) === JSON.stringify(after)) {
        return [];
    }
    const join = (key: string) => (at === "" ? key : `${at}.${key}`);
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap((k) => fieldChanges(before[k], after[k], join(k)));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        const b = namedItems(before);
        const a = namedItems(after);
        if (b && a) {
            const names = [...new Set([...b.keys(), ...a.keys()])];
            return names.flatMap((n) => fieldChanges(b.get(n), a.get(n), `${at}[${n}]`));
        }
        if (before.length === after.length) {
            return before.flatMap((v, i) => fieldChanges(v, after[i], `${at}[${i}]`));
        }
    }
    return [{ path: at, before, after }];
}

/** An object's identity in a render: kind, namespace and name (what the file name encodes). */
function identity(m: Manifest): { kind: string; namespace?: string; name: string } {
    return { kind: m.kind, namespace: m.metadata.namespace, name: m.metadata.name };
}

/**
 * Compares renders given as file → manifest maps (see renderDir.ts), and their resource lines when both
 * are known. Objects are matched by file (kind, namespace, name).
 */
export function diffRenders(
    before: { objects: ReadonlyMap<string, Manifest>; resources?: string[] },
    after: { objects: ReadonlyMap<string, Manifest>; resources?: string[] },
): RenderDiff {
    const objects: ObjectChange[] = [];
    const files = [...new Set([...before.objects.keys(), ...after.objects.keys()])].sort();
    for (const file of files) {
        const b = before.objects.get(file);
        const a = after.objects.get(file);
        if (!b && a) {
            objects.push({ file, ...identity(a), change: "create", fields: [], rollsPods: false });
        } else if (b && !a) {
            objects.push({ file, ...identity(b), change: "delete", fields: [], rollsPods: false });
        } else if (a && b) {
            const fields = fieldChanges(b, a).map((f) => ({ ...f, immutable: isImmutable(a.kind, f.path, f.before, f.after) }));
            if (fields.length === 0) {
                continue;
            }
            const immutable = fields.some((f) => f.immutable);
            objects.push({
                file,
                ...identity(a),
                change: immutable ? "replace" : "update",
                fields,
                rollsPods: !immutable && WORKLOADS.includes(a.kind) && fields.some((f) => f.path.startsWith("spec.template")),
            });
        }
    }
    const resources: ResourceChange[] = [];
    pairJobSeries(objects, before.objects, after.objects);
    if (before.resources && after.resources) {
        const urnOf = (line: string) => line.split(" ")[0];
        const b = new Map(before.resources.map((l) => [urnOf(l), l]));
        const a = new Map(after.resources.map((l) => [urnOf(l), l]));
        for (const [urn, line] of b) {
            if (!a.has(urn)) {
                resources.push({ change: "removed", urn, before: line });
            } else if (a.get(urn) !== line) {
                resources.push({ change: "options", urn, before: line, after: a.get(urn) });
            }
        }
        for (const [urn, line] of a) {
            if (!b.has(urn)) {
                resources.push({ change: "added", urn, after: line });
            }
        }
    }
    return { objects, resources };
}

/** The series of a Job named by its content, or undefined for any other object. */
function jobSeries(m: Manifest | undefined): string | undefined {
    const value = m?.kind === "Job" ? (m.metadata as { annotations?: Record<string, string> }).annotations?.[JOB_SERIES_ANNOTATION] : undefined;
    return value === undefined ? undefined : `${m?.metadata.namespace ?? ""}/${value}`;
}

/** A deleted and a created Job of one series become one `rerun` (the created one, naming the deleted one). */
function pairJobSeries(objects: ObjectChange[], before: ReadonlyMap<string, Manifest>, after: ReadonlyMap<string, Manifest>): void {
    const deleted = new Map<string, ObjectChange>();
    for (const o of objects) {
        const series = o.change === "delete" ? jobSeries(before.get(o.file)) : undefined;
        if (series !== undefined) {
            deleted.set(series, o);
        }
    }
    for (const o of objects) {
        const series = o.change === "create" ? jobSeries(after.get(o.file)) : undefined;
        const old = series === undefined ? undefined : deleted.get(series);
        if (series !== undefined && old !== undefined) {
            o.change = "rerun";
            o.replaces = old.name;
            o.fields = fieldChanges(before.get(old.file), after.get(o.file)).map((f) => ({ ...f, immutable: false }));
            objects.splice(objects.indexOf(old), 1);
            deleted.delete(series);
        }
    }
}

/** Whether a diff holds something a reviewer must look at twice: a replacement, a deletion or a removed resource. */
export function isDangerous(diff: RenderDiff): boolean {
    return diff.objects.some((o) => o.change === "replace" || o.change === "delete") || diff.resources.some((r) => r.change === "removed");
}

function show(v: unknown): string {
    if (v === undefined) {
        return "(absent)";
    }
    const text = JSON.stringify(v);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Multi-line strings (config files, scripts) as a line diff; other values as before → after. */
function formatField(f: FieldChange): string[] {
    const mark = f.immutable ? "  [immutable]" : "";
    if (typeof f.before === "string" && typeof f.after === "string" && (f.before.includes("\n") || f.after.includes("\n"))) {
        const b = f.before.split("\n");
        const a = f.after.split("\n");
        const removed = b.filter((l) => !a.includes(l)).map((l) => `        - ${l}`);
        const added = a.filter((l) => !b.includes(l)).map((l) => `        + ${l}`);
        return [`    ${f.path}:${mark}`, ...removed, ...added];
    }
    return [`    ${f.path}: ${show(f.before)} → ${show(f.after)}${mark}`];
}

const MARKS: Record<ChangeKind, string> = { create: "+", update: "~", replace: "!", delete: "-", rerun: "↻" };

/** The report a reviewer reads. */
export function formatDiff(diff: RenderDiff): string {
    const lines: string[] = [];
    for (const o of diff.objects) {
        const where = `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
        const note =
            o.change === "replace"
                ? "REPLACEMENT: an immutable field changes; the API server refuses an in-place update"
                : o.change === "delete"
                  ? "DELETE"
                  : o.change === "rerun"
                    ? `runs again: replaces Job ${o.replaces} by design (a Job cannot change; its series' new run applies the new declaration)`
                  : o.change === "create"
                    ? "create"
                    : o.rollsPods
                      ? "update, rolls the pods"
                      : "update";
        lines.push(`${MARKS[o.change]} ${where}  (${note})`);
        for (const f of o.fields) {
            lines.push(...formatField(f));
        }
    }
    if (diff.resources.length > 0) {
        lines.push("", "Resources (URNs):");
        for (const r of diff.resources) {
            if (r.change === "removed") {
                const protectedNote = / protect( |$)/.test(r.before ?? "") ? "; it is protected, so `pulumi up` refuses" : "";
                lines.push(`  - ${r.urn}  (removed: Pulumi deletes it unless an alias maps it to a new URN${protectedNote})`);
            } else if (r.change === "added") {
                lines.push(`  + ${r.urn}`);
            } else {
                lines.push(`  ~ ${r.urn}  options: ${r.before?.split(" ").slice(1).join(" ") || "(none)"} → ${r.after?.split(" ").slice(1).join(" ") || "(none)"}`);
            }
        }
    }
    const count = (k: ChangeKind) => diff.objects.filter((o) => o.change === k).length;
    lines.push(
        "",
        diff.objects.length === 0 && diff.resources.length === 0
            ? "No changes."
            : `${count("update")} to update, ${count("replace")} to replace, ${count("delete")} to delete, ${count("create")} to create, ${count("rerun")} Job(s) to run again; ` +
                  `${diff.resources.length} resource URN change(s).`,
    );
    return lines.join("\n");
}
