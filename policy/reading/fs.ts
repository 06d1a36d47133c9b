// The files a container sees, as the kubelet and the container runtime lay them out: every volume mount
// (configMap, secret, projected, downwardAPI, emptyDir, persistentVolumeClaim, hostPath, image, ephemeral...),
// `items` key-to-path mappings, `subPath` (a file or a directory of the volume) and `subPathExpr`, nested
// mounts (the deepest mount point wins, as the runtime mounts parents first), the image's own files where
// the pack knows them, and on top an overlay of what the container's start-up writes (shellRun.ts).
//
// A read answers with the file's text (symbolic: Secret content marked as secret, see sym.ts), "absent", or
// "unknown" with the reason, so that a server setting read from a file the pack cannot see is reported as
// unverifiable instead of being guessed.

import { arr, at, Obj, rec, recs, str } from "./objects";
import { keysOf, keyText, KeySource } from "./files";
import { lookup, StackIndex } from "./stackIndex";
import { ANY, secret, WORD } from "./sym";
import type { ImageKnowledge } from "./images";

/** What a volume holds, as far as the pack can tell. */
export interface Volume {
    name: string;
    /** The volume type as written (configMap, secret, projected, emptyDir, persistentVolumeClaim...). */
    type: string;
    /** Files of API volumes (configMap, secret, projected, downwardAPI) by path inside the volume; text is symbolic. */
    files?: Map<string, { text: string; source: string }>;
    /** Why the content cannot be known (an object outside the stack, a claim, a host path...). */
    opaque?: string;
    /** API volumes are always mounted read-only. */
    readOnly: boolean;
    /** Persistent storage: what is there before the pod starts is not known. */
    persistent: boolean;
    /** How to describe the volume in messages. */
    label: string;
}

export interface Mount {
    path: string;
    volume: Volume;
    /** The directory (or file) of the volume that is mounted, "" for the whole volume. */
    subPath: string;
    readOnly: boolean;
    /** Why the sub-path cannot be resolved (subPathExpr with an unknown value). */
    opaqueSubPath?: string;
}

/** The result of reading a path. */
export type FileRead =
    | { state: "file"; text: string; source: string }
    | { state: "absent" }
    | { state: "unknown"; reason: string };

/** One candidate content of an overlay entry: a text, or null when the file may not exist. */
export type Candidate = { text: string; source: string } | null;

/** A candidate standing for "whatever was there before" (the volume's own content), used when containers write concurrently. */
export const BASE = "\uE0FF";

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

/** Joins a directory and a path (absolute paths stay as they are). */
export function resolvePath(cwd: string, p: string): string {
    return normalisePath(p.startsWith("/") ? p : `${cwd}/${p}`);
}

/** Pod metadata a downwardAPI volume or a fieldRef can expose. */
export interface PodFacts {
    name: string | undefined;
    namespace: string;
    labels: Obj;
    annotations: Obj;
    serviceAccountName: string | undefined;
}

/** The value of a downward API field (metadata.annotations['x'], status.podIP...) as symbolic text, or undefined for an unknown field. */
export function downwardValue(fieldPath: string, pod: PodFacts): string | undefined {
    const labelled = /^metadata\.(labels|annotations)\[['"]?([^'"\]]+)['"]?\]$/.exec(fieldPath);
    if (labelled) {
        const v = str(at(labelled[1] === "labels" ? pod.labels : pod.annotations, labelled[2]));
        return v ?? "";
    }
    switch (fieldPath) {
        case "metadata.name":
            return pod.name ?? WORD;
        case "metadata.namespace":
            return pod.namespace;
        case "metadata.labels":
            return Object.entries(pod.labels).map(([k, v]) => `${k}="${String(v)}"`).join("\n");
        case "metadata.annotations":
            return Object.entries(pod.annotations).map(([k, v]) => `${k}="${String(v)}"`).join("\n");
        case "spec.serviceAccountName":
            return pod.serviceAccountName ?? "default";
        case "metadata.uid":
        case "spec.nodeName":
        case "status.hostIP":
        case "status.hostIPs":
        case "status.podIP":
        case "status.podIPs":
            return WORD;
        default:
            return undefined;
    }
}

function apiObject(index: StackIndex, kind: KeySource, namespace: string, name: string): Obj | undefined {
    return lookup(index, kind, namespace, name);
}

/** Files of one configMap/secret source: every key, or the `items` mapping. */
function sourceFiles(kind: KeySource, obj: Obj | undefined, items: Obj[] | undefined, label: string, files: Map<string, { text: string; source: string }>): string | undefined {
    if (!obj) {
        return `${label} is not part of this stack`;
    }
    const entries: Array<[string, string]> = items ? items.filter((i) => str(i.key) && str(i.path)).map((i) => [str(i.key)!, str(i.path)!]) : keysOf(kind, obj).map((k) => [k, k]);
    for (const [key, rel] of entries) {
        const text = keyText(kind, obj, key);
        if (text === undefined) {
            continue; // a missing key: the pod does not start (or, optional, the file is left out)
        }
        files.set(normalisePath(rel), { text: kind === "Secret" ? secret(text) : text, source: `${label} key ${key}` });
    }
    return undefined;
}

/** Reads a pod volume into what the pack knows of it. */
export function describeVolume(v: Obj, namespace: string, index: StackIndex, pod: PodFacts): Volume {
    const name = str(v.name) ?? "?";
    const itemsOf = (x: Obj): Obj[] | undefined => (Array.isArray(x.items) ? recs(x.items) : undefined);
    const base = { name, readOnly: true, persistent: false };
    const cm = rec(v.configMap);
    if (cm) {
        const label = `ConfigMap ${namespace}/${str(cm.name) ?? "?"}`;
        const files = new Map<string, { text: string; source: string }>();
        const opaque = sourceFiles("ConfigMap", apiObject(index, "ConfigMap", namespace, str(cm.name) ?? ""), itemsOf(cm), label, files);
        return { ...base, type: "configMap", files, opaque, label };
    }
    const sec = rec(v.secret);
    if (sec) {
        const label = `Secret ${namespace}/${str(sec.secretName) ?? "?"}`;
        const files = new Map<string, { text: string; source: string }>();
        const opaque = sourceFiles("Secret", apiObject(index, "Secret", namespace, str(sec.secretName) ?? ""), itemsOf(sec), label, files);
        return { ...base, type: "secret", files, opaque, label };
    }
    const projected = rec(v.projected);
    const downward = rec(v.downwardAPI);
    if (projected || downward) {
        const files = new Map<string, { text: string; source: string }>();
        const opaque: string[] = [];
        const sources = projected ? recs(projected.sources) : [{ downwardAPI: downward }];
        for (const s of sources) {
            const pcm = rec(s.configMap);
            if (pcm) {
                const o = sourceFiles("ConfigMap", apiObject(index, "ConfigMap", namespace, str(pcm.name) ?? ""), itemsOf(pcm), `ConfigMap ${namespace}/${str(pcm.name) ?? "?"}`, files);
                if (o) {
                    opaque.push(o);
                }
            }
            const psec = rec(s.secret);
            if (psec) {
                const o = sourceFiles("Secret", apiObject(index, "Secret", namespace, str(psec.name) ?? ""), itemsOf(psec), `Secret ${namespace}/${str(psec.name) ?? "?"}`, files);
                if (o) {
                    opaque.push(o);
                }
            }
            const dw = rec(s.downwardAPI);
            for (const item of recs(dw?.items)) {
                const path = str(item.path);
                const field = str(at(item, "fieldRef", "fieldPath"));
                if (!path) {
                    continue;
                }
                const value = field !== undefined ? downwardValue(field, pod) : rec(item.resourceFieldRef) ? WORD : undefined;
                files.set(normalisePath(path), { text: value ?? ANY, source: `downwardAPI ${field ?? "resourceFieldRef"}` });
            }
            const token = rec(s.serviceAccountToken);
            if (token && str(token.path)) {
                files.set(normalisePath(str(token.path)!), { text: secret(ANY), source: "a ServiceAccount token" });
            }
            if (rec(s.clusterTrustBundle) && str(at(s, "clusterTrustBundle", "path"))) {
                files.set(normalisePath(str(at(s, "clusterTrustBundle", "path"))!), { text: ANY, source: "a ClusterTrustBundle" });
            }
        }
        return { ...base, type: projected ? "projected" : "downwardAPI", files, opaque: opaque.length > 0 ? opaque.join("; ") : undefined, label: `${projected ? "projected" : "downwardAPI"} volume "${name}"` };
    }
    if (rec(v.emptyDir) !== undefined || v.emptyDir === null) {
        return { name, type: "emptyDir", readOnly: false, persistent: false, label: `emptyDir volume "${name}"` };
    }
    if (rec(v.persistentVolumeClaim)) {
        return { name, type: "persistentVolumeClaim", readOnly: false, persistent: true, label: `PersistentVolumeClaim ${str(at(v, "persistentVolumeClaim", "claimName")) ?? "?"} (volume "${name}")` };
    }
    if (rec(v.ephemeral)) {
        return { name, type: "ephemeral", readOnly: false, persistent: false, label: `ephemeral volume "${name}"` };
    }
    if (rec(v.hostPath)) {
        return { name, type: "hostPath", readOnly: false, persistent: true, opaque: `hostPath ${str(at(v, "hostPath", "path")) ?? "?"} is a directory of the node`, label: `hostPath volume "${name}"` };
    }
    if (rec(v.image)) {
        return { name, type: "image", readOnly: true, persistent: true, opaque: `image volume ${str(at(v, "image", "reference")) ?? "?"} holds files of an image`, label: `image volume "${name}"` };
    }
    const type = Object.keys(v).find((k) => k !== "name") ?? "unknown";
    return { name, type, readOnly: false, persistent: true, opaque: `a ${type} volume's content is outside the stack`, label: `${type} volume "${name}"` };
}

/** A volume-claim template of a StatefulSet is a persistent volume by the template's name. */
export function claimTemplateVolume(name: string): Volume {
    return { name, type: "persistentVolumeClaim", readOnly: false, persistent: true, label: `the volume claim template "${name}"` };
}

/** The mounts of one container, deepest mount points last. */
export function containerMounts(c: Obj, volumes: Map<string, Volume>, expand: (s: string) => string): { mounts: Mount[]; problems: string[] } {
    const mounts: Mount[] = [];
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const m of recs(c.volumeMounts)) {
        const raw = str(m.mountPath);
        const vname = str(m.name) ?? "";
        const volume = volumes.get(vname);
        if (!raw || !volume) {
            continue;
        }
        const path = normalisePath(raw);
        if (seen.has(path)) {
            problems.push(`volumes "${seen.get(path)}" and "${vname}" are both mounted at ${path}, and which one the runtime mounts last is not defined`);
        }
        seen.set(path, vname);
        let subPath = str(m.subPath) ?? "";
        let opaqueSubPath: string | undefined;
        const expr = str(m.subPathExpr);
        if (expr) {
            const expanded = expand(expr);
            if (/[\uE000-\uE005]/.test(expanded)) {
                opaqueSubPath = `subPathExpr ${expr} depends on values the pack cannot know`;
            } else {
                subPath = expanded;
            }
        }
        mounts.push({ path, volume, subPath: subPath === "" ? "" : normalisePath(subPath).slice(1), readOnly: volume.readOnly || m.readOnly === true, opaqueSubPath });
    }
    mounts.sort((a, b) => a.path.split("/").length - b.path.split("/").length);
    return { mounts, problems };
}

/** Where a path lives: under a mount (with the path inside the volume), or in the image's root filesystem. */
export type Location = { where: "mount"; mount: Mount; rel: string } | { where: "root"; path: string };

/** The overlay key of a location (volume files are shared between the containers that mount the volume). */
export function overlayKey(loc: Location): string {
    return loc.where === "mount" ? `vol:${loc.mount.volume.name}:${normalisePath(`${loc.mount.subPath}/${loc.rel}`)}` : `root:${loc.path}`;
}

/** The view of one container's files: its mounts, its image, and the overlay of writes. */
export class ContainerFs {
    /** Writes of this container (and, for volume keys, of the init containers before it). */
    readonly overlay: Map<string, Candidate[]>;
    /** Directories (as overlay key prefixes) whose content something unknown may have changed, with the reason. */
    readonly tainted: Map<string, string>;
    /** Directories the start-up creates (mkdir), so that `cp f dir` is read as a copy into the directory. */
    readonly dirs: Set<string>;

    constructor(
        readonly mounts: Mount[],
        readonly image: ImageKnowledge | undefined,
        readonly imageLabel: string,
        readonly readOnlyRoot: boolean,
        overlay?: Map<string, Candidate[]>,
        tainted?: Map<string, string>,
    ) {
        this.overlay = overlay ?? new Map();
        this.tainted = tainted ?? new Map();
        this.dirs = new Set();
    }

    /** A copy whose overlay can change independently (a snapshot for a process start). */
    snapshot(): ContainerFs {
        return new ContainerFs(this.mounts, this.image, this.imageLabel, this.readOnlyRoot, new Map(this.overlay), new Map(this.tainted));
    }

    locate(path: string): Location {
        const p = normalisePath(path);
        for (let i = this.mounts.length - 1; i >= 0; i--) {
            const m = this.mounts[i];
            if (p === m.path || p.startsWith(m.path === "/" ? "/" : `${m.path}/`)) {
                return { where: "mount", mount: m, rel: normalisePath(p.slice(m.path.length)) };
            }
        }
        return { where: "root", path: p };
    }

    /** True when the container can write at `path` (not a read-only mount, not a read-only root filesystem). */
    writable(path: string): boolean {
        const loc = this.locate(path);
        return loc.where === "mount" ? !loc.mount.readOnly : !this.readOnlyRoot;
    }

    /** Records a write (or, with `maybe`, a possible write) of `text` (undefined = content unknown). */
    write(path: string, text: string | undefined, source: string, maybe: boolean, append = false): boolean {
        if (/^\/(dev|proc|sys)\//.test(normalisePath(path))) {
            return true;
        }
        if (!this.writable(path)) {
            return false;
        }
        const key = overlayKey(this.locate(path));
        const value = text ?? ANY;
        let next: Candidate[];
        if (append) {
            const before = this.candidates(path);
            next = before.map((c) => ({ text: `${c?.text ?? ""}${value}`, source: c ? `${c.source} + ${source}` : source }));
        } else {
            next = [{ text: value, source }];
        }
        if (maybe) {
            next = [...this.candidates(path), ...next];
        }
        this.overlay.set(key, dedupe(next));
        return true;
    }

    /** Removes a file (rm), or with `maybe` makes it possibly absent. */
    remove(path: string, maybe: boolean): void {
        if (!this.writable(path)) {
            return;
        }
        const key = overlayKey(this.locate(path));
        this.overlay.set(key, maybe ? dedupe([...this.candidates(path), null]) : [null]);
    }

    /** Marks everything the container may write under `path` (or everywhere, without a path) as unknown. */
    taint(reason: string, path?: string): void {
        if (path !== undefined) {
            if (this.writable(path)) {
                this.tainted.set(overlayKey(this.locate(path)).replace(/\/$/, ""), reason);
            }
            return;
        }
        for (const m of this.mounts) {
            if (!m.readOnly) {
                this.tainted.set(`vol:${m.volume.name}:`, reason);
            }
        }
        if (!this.readOnlyRoot) {
            this.tainted.set("root:", reason);
        }
    }

    /** The reason something unknown may have written `path`, if any. */
    taintReason(path: string): string | undefined {
        const key = overlayKey(this.locate(path));
        for (const [prefix, reason] of this.tainted) {
            if (key === prefix || key.startsWith(prefix.endsWith(":") ? prefix : `${prefix}/`)) {
                return reason;
            }
        }
        return undefined;
    }

    isTaintedAt(path: string): boolean {
        return this.taintReason(path) !== undefined;
    }

    /** Adds what another container may write concurrently at an overlay key. */
    addConcurrent(key: string, cands: Candidate[]): void {
        const mine = this.overlay.get(key) ?? [{ text: BASE, source: "" }];
        this.overlay.set(key, dedupe([...mine, ...cands]));
    }

    /** The possible contents of `path` (null = absent), before unknown writes are considered. */
    candidates(path: string): Candidate[] {
        const r = this.readBase(path, false);
        const base: Candidate = r.state === "file" ? { text: r.text, source: r.source } : r.state === "absent" ? null : { text: ANY, source: r.reason };
        const o = this.overlay.get(overlayKey(this.locate(path)));
        if (o) {
            return o.map((c) => (c !== null && c.text === BASE ? base : c));
        }
        return [base];
    }

    /**
     * Reads a file. `optional`: a file the program reads only if it exists (a default option file); such a
     * file on persistent storage or in an image the pack does not know is taken as absent only when nothing
     * of this stack is seen writing it.
     */
    read(path: string, optional = false): FileRead[] {
        const loc = this.locate(path);
        const taint = this.taintReason(path);
        const o = this.overlay.get(overlayKey(loc));
        const out: FileRead[] = [];
        if (o) {
            for (const c of o) {
                out.push(c === null ? { state: "absent" } : c.text === BASE ? this.readBase(path, optional) : { state: "file", text: c.text, source: c.source });
            }
        } else {
            out.push(this.readBase(path, optional));
        }
        if (taint) {
            out.push({ state: "unknown", reason: taint });
        }
        return out;
    }

    /** What is at `path` before the start-up writes anything. */
    readBase(path: string, optional: boolean): FileRead {
        const loc = this.locate(path);
        if (loc.where === "root") {
            const known = this.image?.files?.get(loc.path);
            if (known !== undefined) {
                return { state: "file", text: known, source: `${loc.path} of image ${this.imageLabel}` };
            }
            return optional && this.image ? { state: "absent" } : { state: "unknown", reason: `${loc.path} would be a file of image ${this.imageLabel}, which the pack cannot see` };
        }
        const m = loc.mount;
        if (m.opaqueSubPath) {
            return { state: "unknown", reason: `${path} is on ${m.volume.label}, whose ${m.opaqueSubPath}` };
        }
        if (m.volume.files) {
            const rel = normalisePath(`${m.subPath}/${loc.rel}`);
            const f = m.volume.files.get(rel);
            if (f) {
                return { state: "file", text: f.text, source: f.source };
            }
            if (m.volume.opaque) {
                return { state: "unknown", reason: `${path} comes from ${m.volume.opaque.replace(/ is not part of this stack$/, "")}, which is not part of this stack` };
            }
            return { state: "absent" };
        }
        if (m.volume.opaque) {
            return { state: "unknown", reason: `${path} is on ${m.volume.label}: ${m.volume.opaque}` };
        }
        if (m.volume.persistent && !optional) {
            return { state: "unknown", reason: `${path} is on ${m.volume.label}, whose content the pack cannot see (only what this stack's containers write there)` };
        }
        return { state: "absent" };
    }

    /** The files directly in `dir`, sorted by name, or undefined with a reason when the directory cannot be listed. */
    list(dir: string): { files: string[] } | { unknown: string } {
        const d = normalisePath(dir);
        const loc = this.locate(d);
        const taint = this.taintReason(d);
        if (taint) {
            return { unknown: taint };
        }
        const names = new Set<string>();
        // Mounts directly below the directory.
        for (const m of this.mounts) {
            const parent = normalisePath(`${m.path}/..`);
            if (parent === d && m.path !== d) {
                names.add(m.path.slice(d === "/" ? 1 : d.length + 1));
            }
        }
        if (loc.where === "root") {
            const known = this.image?.listDir?.(loc.path);
            if (known === undefined) {
                return { unknown: `${d} is a directory of image ${this.imageLabel}, which the pack cannot list` };
            }
            known.forEach((n) => names.add(n));
        } else {
            const m = loc.mount;
            if (m.opaqueSubPath) {
                return { unknown: `${d} is on ${m.volume.label}, whose ${m.opaqueSubPath}` };
            }
            if (m.volume.opaque) {
                return { unknown: `${d} is on ${m.volume.label}: ${m.volume.opaque}` };
            }
            if (m.volume.files) {
                const prefix = normalisePath(`${m.subPath}/${loc.rel}`);
                for (const rel of m.volume.files.keys()) {
                    if (rel.startsWith(prefix === "/" ? "/" : `${prefix}/`)) {
                        const rest = rel.slice(prefix === "/" ? 1 : prefix.length + 1);
                        names.add(rest.split("/")[0]);
                    }
                }
            } else if (m.volume.persistent) {
                return { unknown: `${d} is on ${m.volume.label}, whose content the pack cannot see` };
            }
        }
        const prefixKey = overlayKey(loc);
        for (const [key, cands] of this.overlay) {
            if (key.startsWith(prefixKey.endsWith("/") ? prefixKey : `${prefixKey}/`)) {
                const rest = key.slice(prefixKey.length + (prefixKey.endsWith("/") ? 0 : 1));
                if (!rest.includes("/") && cands.some((c) => c !== null)) {
                    names.add(rest);
                }
            }
        }
        return { files: Array.from(names).sort() };
    }
}

function dedupe(cands: Candidate[]): Candidate[] {
    const seen = new Set<string>();
    const out: Candidate[] = [];
    for (const c of cands) {
        const k = c === null ? "\u0000absent" : c.text;
        if (!seen.has(k)) {
            seen.add(k);
            out.push(c);
        }
    }
    return out.length > 6 ? [{ text: ANY, source: "more writes than the pack follows" }] : out;
}

/** The volumes of a pod spec (plus a StatefulSet's claim templates), by name. */
export function podVolumes(podSpec: Obj, claimTemplates: string[], namespace: string, index: StackIndex, pod: PodFacts): Map<string, Volume> {
    const out = new Map<string, Volume>();
    for (const name of claimTemplates) {
        out.set(name, claimTemplateVolume(name));
    }
    for (const v of arr(podSpec.volumes)) {
        const r = rec(v);
        if (r && str(r.name)) {
            out.set(str(r.name)!, describeVolume(r, namespace, index, pod));
        }
    }
    return out;
}
