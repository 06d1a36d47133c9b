// The content of ConfigMaps and Secrets (data, stringData, binaryData) and a pod's volumes by name. What a
// container sees through its mounts is fs.ts's.

import { arr, at, Obj, rec, recs, str } from "./objects";

export type KeySource = "ConfigMap" | "Secret";

/** Text of one key of a ConfigMap or Secret (data / stringData / binaryData, base64 decoded where needed). */
export function keyText(kind: KeySource, obj: Obj, key: string): string | undefined {
    if (kind === "ConfigMap") {
        const plain = str(at(obj, "data", key));
        if (plain !== undefined) {
            return plain;
        }
        const bin = str(at(obj, "binaryData", key));
        return bin !== undefined ? Buffer.from(bin, "base64").toString("utf8") : undefined;
    }
    // The API server merges stringData over data.
    const plain = str(at(obj, "stringData", key));
    if (plain !== undefined) {
        return plain;
    }
    const b64 = str(at(obj, "data", key));
    return b64 !== undefined ? Buffer.from(b64, "base64").toString("utf8") : undefined;
}

/** Keys of a ConfigMap (data, binaryData) or Secret (data, stringData). */
export function keysOf(kind: KeySource, obj: Obj): string[] {
    const fields = kind === "ConfigMap" ? ["data", "binaryData"] : ["data", "stringData"];
    const out = new Set<string>();
    for (const f of fields) {
        const r = rec(obj[f]);
        if (r) {
            Object.keys(r).forEach((k) => out.add(k));
        }
    }
    return Array.from(out);
}

/** Volume names and mount paths of a container (for messages and token checks). */
export function volumeMountsOf(container: Obj): Array<{ name: string; mountPath: string }> {
    return recs(container.volumeMounts)
        .filter((m) => str(m.name) && str(m.mountPath))
        .map((m) => ({ name: str(m.name)!, mountPath: str(m.mountPath)! }));
}

/** The pod's volumes by name. */
export function volumesByName(podSpec: Obj): Map<string, Obj> {
    const out = new Map<string, Obj>();
    for (const v of arr(podSpec.volumes)) {
        const r = rec(v);
        const n = r ? str(r.name) : undefined;
        if (r && n) {
            out.set(n, r);
        }
    }
    return out;
}
