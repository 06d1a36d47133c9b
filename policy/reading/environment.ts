// A container's effective environment, built the way the kubelet builds it: envFrom sources first (in
// order, later ones override earlier ones, each key under the source's prefix), then env entries in
// order (overriding envFrom). Each env `value` has its `$(VAR)` references expanded from the variables
// defined before it; `$$(VAR)` stays a literal `$(VAR)`. ConfigMap and Secret references are resolved
// against the stack when an index is given (stack policies); resource policies see only literals.

import { arr, at, Obj, rec, str } from "./objects";
import { keysOf, keyText, KeySource } from "./files";
import { lookup, StackIndex } from "./stackIndex";

/** Where an environment variable's value comes from. */
export type EnvOrigin = "value" | "configMapKeyRef" | "secretKeyRef" | "fieldRef" | "resourceFieldRef" | "fileKeyRef" | "envFrom";

export interface EnvVar {
    name: string;
    /** The value the container sees, when it is known (literal or resolved from the stack). */
    value: string | undefined;
    origin: EnvOrigin;
    /** For ConfigMap / Secret origins: the object (and key) it comes from. */
    ref?: { kind: KeySource; name: string; key?: string };
}

export interface EnvOptions {
    /** The container's namespace (references resolve there). */
    namespace: string;
    /** The stack, for resolving configMapKeyRef, secretKeyRef and envFrom. */
    index?: StackIndex;
}

export interface Environment {
    vars: Map<string, EnvVar>;
    /** envFrom sources that are not in the stack: they may define any variable. */
    unresolvedSources: Array<{ kind: KeySource; name: string; prefix: string }>;
}

/** `$(VAR)` expansion as the kubelet does it for env values, command and args. */
export function expandKubeletRefs(text: string, lookupVar: (name: string) => string | undefined): string {
    return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
        if (m === "$$") {
            return "$";
        }
        const v = lookupVar(name!);
        return v === undefined ? m : v;
    });
}

/** Reads an env entry's value as the API server would store it (YAML 1.1 may hand over a boolean or number). */
function literal(v: unknown): string | undefined {
    if (typeof v === "string") {
        return v;
    }
    if (typeof v === "number" || typeof v === "boolean") {
        return String(v);
    }
    return undefined;
}

/** The container's effective environment. */
export function effectiveEnv(container: Obj, opts: EnvOptions): Environment {
    const vars = new Map<string, EnvVar>();
    const unresolvedSources: Environment["unresolvedSources"] = [];
    for (const from of arr(container.envFrom)) {
        const f = rec(from);
        if (!f) {
            continue;
        }
        const prefix = str(f.prefix) ?? "";
        const sources: Array<[KeySource, string | undefined]> = [
            ["ConfigMap", str(at(f, "configMapRef", "name"))],
            ["Secret", str(at(f, "secretRef", "name"))],
        ];
        for (const [kind, name] of sources) {
            if (!name) {
                continue;
            }
            const obj = opts.index ? lookup(opts.index, kind, opts.namespace, name) : undefined;
            if (!obj) {
                unresolvedSources.push({ kind, name, prefix });
                continue;
            }
            // The kubelet exposes a ConfigMap's `data` (not binaryData) and a Secret's data/stringData.
            const keys = kind === "ConfigMap" ? Object.keys(rec(obj.data) ?? {}) : keysOf(kind, obj);
            for (const key of keys) {
                vars.set(prefix + key, { name: prefix + key, value: keyText(kind, obj, key), origin: "envFrom", ref: { kind, name, key } });
            }
        }
    }
    for (const e of arr(container.env)) {
        const entry = rec(e);
        const name = entry ? str(entry.name) : undefined;
        if (!entry || !name) {
            continue;
        }
        const valueFrom = rec(entry.valueFrom);
        if (!valueFrom) {
            const raw = literal(entry.value) ?? "";
            vars.set(name, { name, value: expandKubeletRefs(raw, (n) => vars.get(n)?.value), origin: "value" });
            continue;
        }
        const refs: Array<[EnvOrigin, KeySource, Obj | undefined]> = [
            ["configMapKeyRef", "ConfigMap", rec(valueFrom.configMapKeyRef)],
            ["secretKeyRef", "Secret", rec(valueFrom.secretKeyRef)],
        ];
        const hit = refs.find(([, , r]) => r !== undefined);
        if (hit) {
            const [origin, kind, r] = hit;
            const refName = str(r!.name) ?? "";
            const key = str(r!.key) ?? "";
            const obj = opts.index ? lookup(opts.index, kind, opts.namespace, refName) : undefined;
            vars.set(name, { name, value: obj ? keyText(kind, obj, key) : undefined, origin, ref: { kind, name: refName, key } });
            continue;
        }
        const origin: EnvOrigin = rec(valueFrom.fieldRef) ? "fieldRef" : rec(valueFrom.resourceFieldRef) ? "resourceFieldRef" : "fileKeyRef";
        vars.set(name, { name, value: undefined, origin });
    }
    return { vars, unresolvedSources };
}

/** name -> known value, for expanding references. */
export function knownValues(env: Environment): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of env.vars) {
        if (v.value !== undefined) {
            out.set(k, v.value);
        }
    }
    return out;
}
