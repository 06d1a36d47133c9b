// Helpers for stack policies: index the stack's ConfigMaps, Secrets and ServiceAccounts, and
// resolve files that a container sees through configMap / secret / projected volume mounts.

import type { PolicyResource } from "@pulumi/policy";
import { Obj, arr, at, basename, kindOf, nameOf, namespaceOf, POD_BEARING_KINDS, podSpecOf, rec, recs, str } from "./k8s";

/** A pod-bearing object of the stack, with its PodSpec. */
export interface Workload {
    resource: PolicyResource;
    kind: string;
    namespace: string;
    name: string;
    podSpec: Obj;
}

/** Lookup tables over the stack's resources. */
export interface StackIndex {
    workloads: Workload[];
    /** `<Kind>/<namespace>/<name>` -> props, for ConfigMap, Secret and ServiceAccount. */
    objects: Map<string, Obj>;
}

export function indexStack(resources: readonly PolicyResource[]): StackIndex {
    const workloads: Workload[] = [];
    const objects = new Map<string, Obj>();
    for (const r of resources) {
        const podKind = kindOf(r.type, ...POD_BEARING_KINDS);
        if (podKind) {
            const podSpec = podSpecOf(podKind, r.props);
            if (podSpec) {
                workloads.push({ resource: r, kind: podKind, namespace: namespaceOf(r.props), name: nameOf(r.props), podSpec });
            }
            continue;
        }
        const kind = kindOf(r.type, "ConfigMap", "Secret", "ServiceAccount");
        const props = rec(r.props);
        if (kind && props) {
            objects.set(`${kind}/${namespaceOf(props)}/${nameOf(props)}`, props);
        }
    }
    return { workloads, objects };
}

/** Text of one key of a ConfigMap or Secret (data / stringData / binaryData, base64 decoded where needed). */
export function keyText(kind: "ConfigMap" | "Secret", obj: Obj, key: string): string | undefined {
    if (kind === "ConfigMap") {
        const plain = str(at(obj, "data", key));
        if (plain !== undefined) {
            return plain;
        }
        const bin = str(at(obj, "binaryData", key));
        return bin !== undefined ? Buffer.from(bin, "base64").toString("utf8") : undefined;
    }
    const plain = str(at(obj, "stringData", key));
    if (plain !== undefined) {
        return plain;
    }
    const b64 = str(at(obj, "data", key));
    return b64 !== undefined ? Buffer.from(b64, "base64").toString("utf8") : undefined;
}

function keysOf(kind: "ConfigMap" | "Secret", obj: Obj): string[] {
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

interface VolumeSource {
    kind: "ConfigMap" | "Secret";
    name: string;
    items?: Obj[];
}

function volumeSources(volume: Obj): VolumeSource[] {
    const out: VolumeSource[] = [];
    const cm = rec(volume.configMap);
    if (cm && str(cm.name)) {
        out.push({ kind: "ConfigMap", name: str(cm.name)!, items: Array.isArray(cm.items) ? recs(cm.items) : undefined });
    }
    const sec = rec(volume.secret);
    if (sec && str(sec.secretName)) {
        out.push({ kind: "Secret", name: str(sec.secretName)!, items: Array.isArray(sec.items) ? recs(sec.items) : undefined });
    }
    for (const src of recs(at(volume, "projected", "sources"))) {
        const pcm = rec(src.configMap);
        if (pcm && str(pcm.name)) {
            out.push({ kind: "ConfigMap", name: str(pcm.name)!, items: Array.isArray(pcm.items) ? recs(pcm.items) : undefined });
        }
        const psec = rec(src.secret);
        if (psec && str(psec.name)) {
            out.push({ kind: "Secret", name: str(psec.name)!, items: Array.isArray(psec.items) ? recs(psec.items) : undefined });
        }
    }
    return out;
}

function joinPath(dir: string, file: string): string {
    return `${dir.replace(/\/+$/, "")}/${file.replace(/^\/+/, "")}`;
}

/**
 * Lists the files a container sees through configMap, secret and projected volumes (following
 * `items` key->path mappings and `subPath` mounts), with their text when the object is in the stack.
 */
export function mountedFiles(container: Obj, podSpec: Obj, namespace: string, index: StackIndex): { files: MountedFile[]; opaque: OpaqueMount[] } {
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
        const mountPath = str(mount.mountPath);
        const volume = volumes.get(str(mount.name) ?? "");
        if (!mountPath || !volume) {
            continue;
        }
        const subPath = str(mount.subPath);
        for (const src of volumeSources(volume)) {
            const obj = index.objects.get(`${src.kind}/${namespace}/${src.name}`);
            const label = `${src.kind} ${namespace}/${src.name}`;
            // key -> relative path inside the volume
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
                    if (rel !== subPath) {
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
export function findFile(path: string, mounted: { files: MountedFile[]; opaque: OpaqueMount[] }): MountedFile | OpaqueMount | undefined {
    const exact = mounted.files.find((f) => f.path === path);
    if (exact) {
        return exact;
    }
    return mounted.opaque.find((o) => path === o.mountPath || path.startsWith(o.mountPath.replace(/\/+$/, "") + "/"));
}

/** Image repository basename without registry, tag or digest (`docker.io/apache/kafka:3.8.1` -> `kafka`). */
export function imageBase(image: unknown): string {
    const s = str(image);
    if (!s) {
        return "";
    }
    const noDigest = s.split("@")[0];
    const b = basename(noDigest);
    const colon = b.indexOf(":");
    return (colon < 0 ? b : b.slice(0, colon)).toLowerCase();
}

/** env entries of a container as [name, entry]. */
export function envEntries(container: Obj): Array<[string, Obj]> {
    const out: Array<[string, Obj]> = [];
    for (const e of arr(container.env)) {
        const r = rec(e);
        const n = r && str(r.name);
        if (r && n) {
            out.push([n, r]);
        }
    }
    return out;
}
