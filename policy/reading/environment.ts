// A container's effective environment, built the way the kubelet builds it: envFrom sources first (in
// order, later ones override earlier ones, each key under the source's prefix), then env entries in
// order (overriding envFrom). Each env `value` has its `$(VAR)` references expanded from the variables
// defined before it; `$$(VAR)` stays a literal `$(VAR)`, and a reference to a variable not defined before
// it stays as written. Values are symbolic (sym.ts): a Secret's value is marked as secret, a value from an
// object outside the stack or from the runtime is unknown, pod metadata exposed through fieldRef is known.

import { arr, at, Obj, rec, str } from "./objects";
import { keysOf, keyText, KeySource } from "./files";
import { lookup, StackIndex } from "./stackIndex";
import { ANY, DIGITS, secret, WORD } from "./sym";
import { downwardValue, PodFacts } from "./fs";

/** Where an environment variable's value comes from. */
export type EnvOrigin = "value" | "configMapKeyRef" | "secretKeyRef" | "fieldRef" | "resourceFieldRef" | "fileKeyRef" | "envFrom";

export interface EnvVar {
    name: string;
    /** The value the container sees (symbolic). */
    value: string;
    origin: EnvOrigin;
    /** For ConfigMap / Secret origins: the object (and key) it comes from, and whether it is in the stack. */
    ref?: { kind: KeySource; name: string; key?: string; inStack: boolean };
    /** The variable may also be unset (an envFrom source outside the stack may or may not define it). */
    maybeUnset?: boolean;
}

export interface EnvOptions {
    /** The container's namespace (references resolve there). */
    namespace: string;
    /** The stack, for resolving configMapKeyRef, secretKeyRef and envFrom. */
    index?: StackIndex;
    /** Pod metadata for fieldRef. */
    pod?: PodFacts;
}

export interface Environment {
    vars: Map<string, EnvVar>;
    /** envFrom sources that are not in the stack: they may define any variable under their prefix. */
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
                // A later source outside the stack may override anything defined so far under its prefix.
                for (const v of vars.values()) {
                    if (v.name.startsWith(prefix)) {
                        v.value = kind === "Secret" ? secret(ANY) : ANY;
                        v.maybeUnset = false;
                    }
                }
                continue;
            }
            // The kubelet exposes a ConfigMap's `data` (not binaryData) and a Secret's data/stringData.
            const keys = kind === "ConfigMap" ? Object.keys(rec(obj.data) ?? {}) : keysOf(kind, obj);
            for (const key of keys) {
                const text = keyText(kind, obj, key) ?? "";
                vars.set(prefix + key, { name: prefix + key, value: kind === "Secret" ? secret(text) : text, origin: "envFrom", ref: { kind, name, key, inStack: true } });
            }
        }
    }
    const valueOf = (n: string): string | undefined => {
        const v = vars.get(n);
        if (v) {
            return v.value;
        }
        const src = unresolvedSources.find((s) => n.startsWith(s.prefix));
        return src ? (src.kind === "Secret" ? secret(ANY) : ANY) : undefined;
    };
    for (const e of arr(container.env)) {
        const entry = rec(e);
        const name = entry ? str(entry.name) : undefined;
        if (!entry || !name) {
            continue;
        }
        const valueFrom = rec(entry.valueFrom);
        if (!valueFrom) {
            const raw = literal(entry.value) ?? "";
            vars.set(name, { name, value: expandKubeletRefs(raw, valueOf), origin: "value" });
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
            const text = obj ? keyText(kind, obj, key) : undefined;
            if (obj && text === undefined && r!.optional === true) {
                continue; // an optional key that is not there: the variable is not set
            }
            const value = kind === "Secret" ? secret(text) : (text ?? ANY);
            vars.set(name, { name, value, origin, ref: { kind, name: refName, key, inStack: obj !== undefined } });
            continue;
        }
        const field = str(at(valueFrom, "fieldRef", "fieldPath"));
        if (field !== undefined) {
            vars.set(name, { name, value: (opts.pod ? downwardValue(field, opts.pod) : undefined) ?? WORD, origin: "fieldRef" });
            continue;
        }
        if (rec(valueFrom.resourceFieldRef)) {
            vars.set(name, { name, value: DIGITS, origin: "resourceFieldRef" });
            continue;
        }
        vars.set(name, { name, value: ANY, origin: "fileKeyRef" });
    }
    return { vars, unresolvedSources };
}

/** The value of `name` in the environment (symbolic), or undefined when it is certainly not set. */
export function envValue(env: Environment, name: string): string | undefined {
    const v = env.vars.get(name);
    if (v) {
        return v.value;
    }
    const src = env.unresolvedSources.find((s) => name.startsWith(s.prefix));
    return src ? (src.kind === "Secret" ? secret(ANY) : ANY) : undefined;
}

/** name -> value, for expanding references (unresolved envFrom sources not included). */
export function knownValues(env: Environment): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of env.vars) {
        out.set(k, v.value);
    }
    return out;
}
