// Resolvers over the manifests renderStack returns, on top of the plain accessors in manifests.ts: what a
// container actually sees (an env value, a mounted file) through the program's own wiring (env valueFrom →
// Secret/ConfigMap key, volumeMount → volume → Secret/ConfigMap key), so the tests use the values the cluster
// would give the container and never copies of them.

import * as path from "path";
import { REDACTED, type Manifest } from "./mockRuntime";
import { find, podSpec, type Any } from "./manifests";

export interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: {
        secretKeyRef?: { name: string; key: string };
        configMapKeyRef?: { name: string; key: string };
    };
}

export interface Container {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    env?: EnvVar[];
    ports?: { name?: string; containerPort: number; protocol?: string }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
    readinessProbe?: Any;
    livenessProbe?: Any;
    startupProbe?: Any;
}

/** The data of a ConfigMap. */
export function configMapData(cm: Manifest): Record<string, string> {
    if (cm.kind !== "ConfigMap") {
        throw new Error(`${cm.metadata.name} is a ${cm.kind}, not a ConfigMap`);
    }
    return { ...((cm.data as Record<string, string> | undefined) ?? {}) };
}

/** The data of a Secret (stringData, or data base64-decoded); refuses redacted values. */
export function secretData(secret: Manifest): Record<string, string> {
    if (secret.kind !== "Secret") {
        throw new Error(`${secret.metadata.name} is a ${secret.kind}, not a Secret`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries((secret.data as Record<string, string> | undefined) ?? {})) {
        out[k] = Buffer.from(v, "base64").toString("utf8");
    }
    Object.assign(out, (secret.stringData as Record<string, string> | undefined) ?? {});
    for (const [k, v] of Object.entries(out)) {
        if (v === REDACTED) {
            throw new Error(`Secret ${secret.metadata.name} key ${k} is redacted: render with { withSecrets: true }`);
        }
    }
    return out;
}

/** One key of a ConfigMap or Secret, by kind/namespace/name; throws listing the keys when missing. */
export function dataKey(objects: Manifest[], kind: "ConfigMap" | "Secret", namespace: string, name: string, key: string): string {
    const obj = find(objects, kind, namespace, name);
    const data = kind === "Secret" ? secretData(obj) : configMapData(obj);
    if (!(key in data)) {
        throw new Error(`${kind} ${namespace}/${name} has no key ${key}; keys: ${Object.keys(data).join(", ")}`);
    }
    return data[key];
}

/** A container of a workload (the only one when no name is given). */
export function container(sts: Manifest, name?: string): Container {
    const containers: Container[] = podSpec(sts).containers ?? [];
    const found = name === undefined ? containers : containers.filter((c) => c.name === name);
    if (found.length !== 1) {
        throw new Error(`${sts.kind} ${sts.metadata.name}: expected one container${name ? ` named ${name}` : ""}, found ${found.length}`);
    }
    return found[0];
}

/** The full command line of a container (command + args), as the kubelet would run it. */
export function commandLine(c: Container): string[] {
    return [...(c.command ?? []), ...(c.args ?? [])];
}

/** Where a value a test resolved came from, for messages. */
export interface Resolved {
    value: string;
    source: string;
}

/** The value of an env variable of a container: literal, or from the referenced Secret/ConfigMap key. */
export function envValue(objects: Manifest[], sts: Manifest, c: Container, name: string): Resolved {
    const ns = sts.metadata.namespace ?? "default";
    const env = (c.env ?? []).find((e) => e.name === name);
    if (!env) {
        throw new Error(`container ${c.name} of ${sts.metadata.name} has no env ${name}; env: ${(c.env ?? []).map((e) => e.name).join(", ")}`);
    }
    if (env.value !== undefined) {
        return { value: env.value, source: `env ${name} (literal)` };
    }
    const s = env.valueFrom?.secretKeyRef;
    if (s) {
        return { value: dataKey(objects, "Secret", ns, s.name, s.key), source: `Secret ${ns}/${s.name} key ${s.key}` };
    }
    const m = env.valueFrom?.configMapKeyRef;
    if (m) {
        return { value: dataKey(objects, "ConfigMap", ns, m.name, m.key), source: `ConfigMap ${ns}/${m.name} key ${m.key}` };
    }
    throw new Error(`env ${name} of ${c.name}: unsupported source ${JSON.stringify(env.valueFrom)}`);
}

/** The volume mount that holds a container path (the longest matching mountPath, as nested mounts overlay). */
export function mountFor(sts: Manifest, c: Container, containerPath: string): { mountPath: string; volume: Any } {
    const mounts = (c.volumeMounts ?? [])
        .filter((m) => containerPath === m.mountPath || containerPath.startsWith(m.mountPath.replace(/\/$/, "") + "/"))
        .sort((a, b) => b.mountPath.length - a.mountPath.length);
    if (mounts.length === 0) {
        throw new Error(`${containerPath} is not on any volume mount of container ${c.name}`);
    }
    const m = mounts[0];
    const volume = (podSpec(sts).volumes ?? []).find((v: Any) => v.name === m.name);
    const claim = ((sts as Any).spec.volumeClaimTemplates ?? []).find((t: Any) => t.metadata?.name === m.name);
    if (!volume && !claim) {
        throw new Error(`mount ${m.mountPath} of ${c.name} refers to volume ${m.name}, which is neither a volume nor a claim template`);
    }
    return { mountPath: m.mountPath, volume: volume ?? { name: m.name, persistentVolumeClaimTemplate: claim } };
}

/**
 * The content of a file the container reads, resolved through its mounts: the file must live on a
 * ConfigMap or Secret volume, and its name (with `items` honoured) must be a key of that object.
 */
export function mountedFile(objects: Manifest[], sts: Manifest, c: Container, containerPath: string): Resolved {
    const ns = sts.metadata.namespace ?? "default";
    const { mountPath, volume } = mountFor(sts, c, containerPath);
    const rel = path.posix.relative(mountPath, containerPath);
    const items: { key: string; path: string }[] | undefined = volume.configMap?.items ?? volume.secret?.items;
    const key = items ? items.find((i) => i.path === rel)?.key : rel;
    if (volume.configMap) {
        if (key === undefined) throw new Error(`${containerPath}: no item of ConfigMap ${volume.configMap.name} maps to ${rel}`);
        return { value: dataKey(objects, "ConfigMap", ns, volume.configMap.name, key), source: `ConfigMap ${ns}/${volume.configMap.name} key ${key}` };
    }
    if (volume.secret) {
        if (key === undefined) throw new Error(`${containerPath}: no item of Secret ${volume.secret.secretName} maps to ${rel}`);
        return { value: dataKey(objects, "Secret", ns, volume.secret.secretName, key), source: `Secret ${ns}/${volume.secret.secretName} key ${key}` };
    }
    throw new Error(`${containerPath} is on volume ${volume.name}, which is not a ConfigMap or Secret volume`);
}

/** The mount path of a volume claim template (the persistent data volume) in a container. */
export function persistentMountPath(sts: Manifest, c: Container): string {
    const claims: string[] = ((sts as Any).spec.volumeClaimTemplates ?? []).map((t: Any) => t.metadata?.name);
    const mounts = (c.volumeMounts ?? []).filter((m) => claims.includes(m.name));
    if (mounts.length !== 1) {
        throw new Error(`${sts.metadata.name}: expected one mount of a volume claim template, found ${mounts.length}`);
    }
    return mounts[0].mountPath;
}

/** A stack output by name. */
export function output<T>(outputs: Record<string, unknown>, name: string): T {
    if (!(name in outputs)) {
        throw new Error(`no stack output ${name}; outputs: ${Object.keys(outputs).join(", ")}`);
    }
    return outputs[name] as T;
}

/** The only object of a kind in a namespace (e.g. the StatefulSet of a component). */
export function onlyObject(objects: Manifest[], kind: string, namespace: string): Manifest {
    const found = objects.filter((o) => o.kind === kind && o.metadata.namespace === namespace);
    if (found.length !== 1) {
        throw new Error(`expected one ${kind} in namespace ${namespace}, found ${found.map((o) => o.metadata.name).join(", ") || "none"}`);
    }
    return found[0];
}
