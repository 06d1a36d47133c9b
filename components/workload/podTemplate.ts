// The pod template builder: turns planned containers and mounts into the Kubernetes pod spec, hardened for
// the Restricted profile. Pure (it only reads the plan and the names it is given), so StatefulSets today and
// backup CronJobs or exporter workloads later share one way of building pods.

import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { containerSecurityContext, hardenedPodFields } from "../podSecurity";
import { allContainers, ContainerPlan, DataObjectPlan, EnvPlan, MountPlan, PlacementPlan, StatefulSetPlan } from "./plan";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type PodSpec = k8s.types.input.core.v1.PodSpec;

/** Secret volumes are readable by the pod's user and group only. */
export const SECRET_FILE_MODE = 0o440;

/** What the pod refers to by name, as the created resources report it (so references are dependencies). */
export interface PodReferences {
    serviceAccountName: pulumi.Input<string>;
    /** The plan's ConfigMaps and Secrets by metadata.name, with the name output of the created object. */
    objects: ReadonlyMap<string, { kind: DataObjectPlan["kind"]; name: pulumi.Input<string> }>;
    /** Name of the TLS Secret, when the plan issues a certificate. */
    tlsSecretName?: pulumi.Input<string>;
    /** The plan's standalone PersistentVolumeClaims by metadata.name, with the created object's name output. */
    claims?: ReadonlyMap<string, pulumi.Input<string>>;
}

function objectRef(refs: PodReferences, name: string): { kind: DataObjectPlan["kind"]; name: pulumi.Input<string> } {
    const found = refs.objects.get(name);
    if (!found) {
        throw new Error(`the pod refers to ${name}, which is not an object of the plan`);
    }
    return found;
}

function envVar(e: EnvPlan, refs: PodReferences) {
    if ("value" in e) {
        return { name: e.name, value: e.value };
    }
    const o = objectRef(refs, e.from.object);
    const ref = { name: o.name, key: e.from.key };
    return { name: e.name, valueFrom: o.kind === "Secret" ? { secretKeyRef: ref } : { configMapKeyRef: ref } };
}

/** One container: the planned command, ports, env, mounts and probes, plus the hardened security context. */
export function buildContainer(c: ContainerPlan, user: StatefulSetPlan["user"], refs: PodReferences): Container {
    return {
        name: c.name,
        image: c.image,
        imagePullPolicy: "IfNotPresent",
        command: c.command,
        // Empty lists are left out: the API server stores them as absent, and a diff against [] never settles.
        ports: c.ports.length > 0 ? c.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })) : undefined,
        env: c.env.length > 0 ? c.env.map((e) => envVar(e, refs)) : undefined,
        resources: { requests: { ...c.resources.requests }, limits: { ...c.resources.limits } },
        securityContext: containerSecurityContext(user),
        volumeMounts: c.mounts.map((m) => (m.readOnly ? { name: m.volume, mountPath: m.path, readOnly: true } : { name: m.volume, mountPath: m.path })),
        startupProbe: c.probes.startup,
        readinessProbe: c.probes.readiness,
        livenessProbe: c.probes.liveness,
    };
    // (Absent probes are left out of the object: undefined values are not serialised.)
}

function volumeFor(m: MountPlan, refs: PodReferences): Volume | undefined {
    switch (m.source.kind) {
        case "claim":
            return undefined; // the StatefulSet's claim template of the same name
        case "scratch":
            return { name: m.volume, emptyDir: { sizeLimit: m.source.sizeLimit } };
        case "tls":
            if (refs.tlsSecretName === undefined) {
                throw new Error(`volume ${m.volume} mounts the TLS Secret, but no certificate was issued`);
            }
            return { name: m.volume, secret: { secretName: refs.tlsSecretName, defaultMode: SECRET_FILE_MODE } };
        case "pvc": {
            const claim = refs.claims?.get(m.source.claim);
            if (claim === undefined) {
                throw new Error(`volume ${m.volume} mounts the claim ${m.source.claim}, which is not a claim of the plan`);
            }
            return { name: m.volume, persistentVolumeClaim: { claimName: claim } };
        }
        case "externalSecret":
            return { name: m.volume, secret: { secretName: m.source.secret, defaultMode: SECRET_FILE_MODE, optional: true } };
        case "object": {
            const o = objectRef(refs, m.source.object);
            return o.kind === "Secret"
                ? { name: m.volume, secret: { secretName: o.name, defaultMode: m.source.defaultMode ?? SECRET_FILE_MODE } }
                : { name: m.volume, configMap: m.source.defaultMode === undefined ? { name: o.name } : { name: o.name, defaultMode: m.source.defaultMode } };
        }
    }
}

/** The pod's volumes: one per mounted volume name, in the order the containers first mount them. */
export function buildVolumes(containers: ContainerPlan[], refs: PodReferences): Volume[] {
    const seen = new Set<string>();
    const volumes: Volume[] = [];
    for (const m of containers.flatMap((c) => c.mounts)) {
        if (seen.has(m.volume)) {
            continue;
        }
        seen.add(m.volume);
        const v = volumeFor(m, refs);
        if (v) {
            volumes.push(v);
        }
    }
    return volumes;
}

/** A placement plan as pod anti-affinity (per node) and a topology spread constraint (per zone). */
export function placementFields(placement: PlacementPlan, selector: Record<string, string>): Pick<PodSpec, "affinity" | "topologySpreadConstraints"> {
    const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };
    return {
        affinity: {
            podAntiAffinity:
                placement.nodeSpread === "required"
                    ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
                    : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
        },
        topologySpreadConstraints: placement.zoneSpread
            ? [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }]
            : undefined,
    };
}

/** The pod spec of a planned workload. */
export function buildPodSpec(workload: StatefulSetPlan, selector: Record<string, string>, refs: PodReferences): PodSpec {
    const init = workload.initContainers ?? [];
    return {
        ...hardenedPodFields(workload.user, refs.serviceAccountName),
        terminationGracePeriodSeconds: workload.terminationGracePeriodSeconds,
        ...(workload.placement ? placementFields(workload.placement, selector) : {}),
        initContainers: init.length > 0 ? init.map((c) => buildContainer(c, workload.user, refs)) : undefined,
        containers: workload.containers.map((c) => buildContainer(c, workload.user, refs)),
        volumes: buildVolumes(allContainers(workload), refs),
    };
}

/** A pod annotation that changes when mounted content changes, so the pods roll: `checksum/<volume>`. */
export interface ChecksumSource {
    annotation: string;
    /** metadata.name of the mounted object. */
    object: string;
    /** Keys whose content goes into the checksum, in order. */
    keys: string[];
}

/**
 * The checksum annotations of a workload: one per mounted object with entries that roll the pods. A Job
 * (`everyEntry`) counts every entry it mounts: it reads them all when it runs.
 */
export function checksumSources(containers: ContainerPlan[], objects: DataObjectPlan[], everyEntry = false): ChecksumSource[] {
    const byName = new Map(objects.map((o) => [o.name, o]));
    const seen = new Set<string>();
    const sources: ChecksumSource[] = [];
    for (const m of containers.flatMap((c) => c.mounts)) {
        if (m.source.kind !== "object" || seen.has(m.volume)) {
            continue;
        }
        seen.add(m.volume);
        const keys = (byName.get(m.source.object)?.data ?? []).filter((d) => everyEntry || d.rollout !== false).map((d) => d.key);
        if (keys.length > 0) {
            sources.push({ annotation: `checksum/${m.volume}`, object: m.source.object, keys });
        }
    }
    return sources;
}

/** The pod spec of a Job or CronJob run: the same hardening, run once (a failed run is a new pod). */
export function buildRunPodSpec(containers: ContainerPlan[], user: StatefulSetPlan["user"], refs: PodReferences, initContainers: ContainerPlan[] = []): PodSpec {
    return {
        ...hardenedPodFields(user, refs.serviceAccountName),
        restartPolicy: "Never",
        initContainers: initContainers.length > 0 ? initContainers.map((c) => buildContainer(c, user, refs)) : undefined,
        containers: containers.map((c) => buildContainer(c, user, refs)),
        volumes: buildVolumes([...initContainers, ...containers], refs),
    };
}
