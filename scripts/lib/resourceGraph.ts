// A stack's resource graph as a Mermaid flowchart, from an offline render: each resource under the parent
// Pulumi records for it, and a dashed edge from each workload (StatefulSet, Job, CronJob) to the ConfigMaps,
// Secrets and ServiceAccount its pods use. docs/architecture.md holds the dev stack's, and a test keeps it equal
// to this function's output for the current render (`npm run graph -- --stack dev` prints it).
import type { RegisteredResource, RenderResult } from "./mockRuntime";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === "object" ? (v as Json) : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** `kubernetes:apps/v1:StatefulSet` → StatefulSet, `pulumi:providers:kubernetes` → provider kubernetes. */
function shortType(type: string): string {
    if (type.startsWith("pulumi:providers:")) return `provider ${type.slice("pulumi:providers:".length)}`;
    return type.split(":").pop()!;
}

/** The pod spec of a workload's inputs, if it has one. */
function podSpec(kind: string, inputs: Json): Json | undefined {
    const spec = obj(inputs.spec);
    if (kind === "StatefulSet" || kind === "Job" || kind === "Deployment") return obj(obj(spec.template).spec);
    if (kind === "CronJob") return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
    return undefined;
}

/** The ConfigMaps, Secrets and ServiceAccount a pod spec names: `Kind/name`. */
function podRefs(pod: Json): string[] {
    const refs = new Set<string>();
    const sa = str(pod.serviceAccountName);
    if (sa) refs.add(`ServiceAccount/${sa}`);
    for (const v of list(pod.volumes)) {
        const cm = str(obj(v.configMap).name);
        if (cm) refs.add(`ConfigMap/${cm}`);
        const secret = str(obj(v.secret).secretName);
        if (secret) refs.add(`Secret/${secret}`);
        for (const s of list(obj(v.projected).sources)) {
            const pcm = str(obj(s.configMap).name);
            if (pcm) refs.add(`ConfigMap/${pcm}`);
            const ps = str(obj(s.secret).name);
            if (ps) refs.add(`Secret/${ps}`);
        }
    }
    for (const c of [...list(pod.containers), ...list(pod.initContainers)]) {
        for (const e of list(c.env)) {
            const from = obj(e.valueFrom);
            const s = str(obj(from.secretKeyRef).name);
            if (s) refs.add(`Secret/${s}`);
            const cm = str(obj(from.configMapKeyRef).name);
            if (cm) refs.add(`ConfigMap/${cm}`);
        }
        for (const e of list(c.envFrom)) {
            const s = str(obj(e.secretRef).name);
            if (s) refs.add(`Secret/${s}`);
            const cm = str(obj(e.configMapRef).name);
            if (cm) refs.add(`ConfigMap/${cm}`);
        }
    }
    return [...refs].sort();
}

/** The Mermaid flowchart of a render's resources (stable: nodes and edges sorted by URN). */
export function resourceGraph(result: Pick<RenderResult, "resources">): string {
    const resources = [...result.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const id = new Map<string, string>(resources.map((r, i) => [r.urn, `r${i}`]));
    // Kubernetes objects by namespace, kind and name, to resolve what a pod spec names.
    const byObject = new Map<string, RegisteredResource>();
    for (const r of resources) {
        const meta = obj(obj(r.inputs).metadata);
        const name = str(meta.name);
        if (r.type.startsWith("kubernetes:") && name) byObject.set(`${str(meta.namespace) ?? ""}/${shortType(r.type)}/${name}`, r);
    }
    const lines = ["flowchart LR"];
    for (const r of resources) lines.push(`  ${id.get(r.urn)}["${shortType(r.type)}<br/>${r.name}"]`);
    // A resource registered without a parent belongs to the stack, as Pulumi's state records it.
    const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    for (const r of resources) {
        if (r === stack) continue;
        const parent = (r.options.parent && id.get(r.options.parent)) || (stack && id.get(stack.urn));
        if (parent) lines.push(`  ${parent} --> ${id.get(r.urn)}`);
    }
    for (const r of resources) {
        const kind = shortType(r.type);
        const pod = r.type.startsWith("kubernetes:") ? podSpec(kind, obj(r.inputs)) : undefined;
        if (!pod) continue;
        const ns = str(obj(obj(r.inputs).metadata).namespace) ?? "";
        for (const ref of podRefs(pod)) {
            const target = byObject.get(`${ns}/${ref}`);
            if (target) lines.push(`  ${id.get(r.urn)} -.-> ${id.get(target.urn)}`);
        }
    }
    return lines.join("\n");
}
