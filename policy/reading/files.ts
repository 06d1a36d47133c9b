// Files a container sees: configMap, secret and projected volumes (with `items` key -> path mappings and
// `subPath` mounts), with their text when the ConfigMap or Secret is part of the stack. Config files are
// found by path, whatever their name, and directories can be listed (for `include` globs and conf.d).

import { arr, at, Obj, rec, recs, str } from "./objects";
import { lookup, StackIndex } from "./stackIndex";

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

/** A file a container sees through a configMap/secret volume. */
export interface MountedFile {
    /** Absolute path inside the container. */
    path: string;
    /** `ConfigMap cache/redis-config key redis.conf` for messages. */
    source: string;
    /** The text, or undefined when the ConfigMap/Secret is not part of the stack. */
    text?: string;
}

/** A mount of a configMap/secret whose object is not in the stack (contents unknown). */
export interface OpaqueMount {
    mountPath: string;
    source: string;
}

export interface MountedFiles {
    files: MountedFile[];
    opaque: OpaqueMount[];
}

interface VolumeSource {
    kind: KeySource;
    name: string;
    items?: Obj[];
}

function volumeSources(volume: Obj): VolumeSource[] {
    const out: VolumeSource[] = [];
    const itemsOf = (v: Obj): Obj[] | undefined => (Array.isArray(v.items) ? recs(v.items) : undefined);
    const cm = rec(volume.configMap);
    if (cm && str(cm.name)) {
        out.push({ kind: "ConfigMap", name: str(cm.name)!, items: itemsOf(cm) });
    }
    const sec = rec(volume.secret);
    if (sec && str(sec.secretName)) {
        out.push({ kind: "Secret", name: str(sec.secretName)!, items: itemsOf(sec) });
    }
    for (const src of recs(at(volume, "projected", "sources"))) {
        const pcm = rec(src.configMap);
        if (pcm && str(pcm.name)) {
            out.push({ kind: "ConfigMap", name: str(pcm.name)!, items: itemsOf(pcm) });
        }
        const psec = rec(src.secret);
        if (psec && str(psec.name)) {
            out.push({ kind: "Secret", name: str(psec.name)!, items: itemsOf(psec) });
        }
    }
    return out;
}

/** Joins a directory and a relative path, normalising `.`, `..` and repeated slashes. */
export function joinPath(dir: string, file: string): string {
    return normalisePath(`${dir}/${file}`);
}

/** `/a//b/./c/../d` -> `/a/b/d`. */
export function normalisePath(p: string): string {
    const parts: string[] = [];
    for (const seg of p.split("/")) {
        if (seg === "" || seg === ".") {
            continue;
        }
        if (seg === "..") {
            parts.pop();
        } else {
            parts.push(seg);
        }
    }
    return `/${parts.join("/")}`;
}

/**
 * Lists the files a container sees through configMap, secret and projected volumes (following
 * `items` key->path mappings and `subPath` mounts), with their text when the object is in the stack.
 */
export interface MountOptions {
    /** The pod spec whose volumes the container mounts. */
    podSpec: Obj;
    /** The pod's namespace (ConfigMaps and Secrets resolve there). */
    namespace: string;
    /** The stack, for the ConfigMaps' and Secrets' contents. */
    index: StackIndex;
}

export function mountedFiles(container: Obj, { podSpec, namespace, index }: MountOptions): MountedFiles {
    const files: MountedFile[] = [];
    const opaque: OpaqueMount[] = [];
    const volumes = new Map<string, Obj>();
    for (const v of recs(podSpec.volumes)) {
        const n = str(v.name);
        if (n) {
            volumes.set(n, v);
        }
    }
    for (const mount of recs(container.volumeMounts)) {
        const rawPath = str(mount.mountPath);
        const volume = volumes.get(str(mount.name) ?? "");
        if (!rawPath || !volume) {
            continue;
        }
        const mountPath = normalisePath(rawPath);
        const subPath = str(mount.subPath);
        for (const src of volumeSources(volume)) {
            const obj = lookup(index, src.kind, namespace, src.name);
            const label = `${src.kind} ${namespace}/${src.name}`;
            if (str(mount.subPathExpr)) {
                // The sub-path is expanded from env at runtime; the file content cannot be pinned down.
                opaque.push({ mountPath, source: label });
                continue;
            }
            let entries: Array<[string, string]>;
            if (src.items) {
                entries = src.items.filter((i) => str(i.key) && str(i.path)).map((i) => [str(i.key)!, str(i.path)!]);
            } else if (obj) {
                entries = keysOf(src.kind, obj).map((k) => [k, k]);
            } else {
                opaque.push({ mountPath, source: label });
                continue;
            }
            for (const [key, rel] of entries) {
                let path: string;
                if (subPath !== undefined && subPath !== "") {
                    if (normalisePath(rel) !== normalisePath(subPath)) {
                        continue;
                    }
                    path = mountPath;
                } else {
                    path = joinPath(mountPath, rel);
                }
                files.push({ path, source: `${label} key ${key}`, text: obj ? keyText(src.kind, obj, key) : undefined });
            }
        }
    }
    return { files, opaque };
}

/** Resolves an absolute path to a mounted file, or reports the opaque mount it falls under. */
export function findFile(path: string, mounted: MountedFiles): MountedFile | OpaqueMount | undefined {
    const p = normalisePath(path);
    // Later mounts shadow earlier ones at the same path; the most specific mount wins.
    const exact = [...mounted.files].reverse().find((f) => f.path === p);
    if (exact) {
        return exact;
    }
    return mounted.opaque.find((o) => p === o.mountPath || p.startsWith(o.mountPath.replace(/\/+$/, "") + "/"));
}

/** True for an opaque mount (content unknown) as returned by findFile. */
export function isOpaque(f: MountedFile | OpaqueMount | undefined): f is OpaqueMount {
    return f !== undefined && !("path" in f);
}

/** Files directly under `dir` (not recursive), sorted by name like a shell glob. */
export function filesIn(dir: string, mounted: MountedFiles): MountedFile[] {
    const d = normalisePath(dir);
    const prefix = d === "/" ? "/" : `${d}/`;
    return mounted.files.filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes("/")).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Files matching a shell glob (`*`, `?`, `[...]` in the last segment or anywhere), sorted by path. */
export function globFiles(pattern: string, mounted: MountedFiles): MountedFile[] {
    const p = normalisePath(pattern);
    if (!/[*?[]/.test(p)) {
        const f = findFile(p, mounted);
        return f && !isOpaque(f) ? [f] : [];
    }
    const re = new RegExp(
        `^${p
            .split("")
            .map((ch) => (ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : /[.+^${}()|\\]/.test(ch) ? `\\${ch}` : ch))
            .join("")}$`,
    );
    return mounted.files.filter((f) => re.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1));
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
