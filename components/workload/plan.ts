// A service plan: everything a stateful service consists of, decided as plain data before any resource
// exists (the awsx "decide first, then create" split). plan.ts of each service builds one from validated
// settings; render.ts turns it into Kubernetes objects. Plans are unit-tested without any Pulumi runtime.

import type { BackupsSettings } from "../config/backups";
import type { MonitoringSettings } from "../config/operations";
import type { Environment, PlatformSettings } from "../config/platform";
import type { ResourceSettings } from "../config/service";
import type { ImageUser } from "../imageUsers";

/** What a service's planner reads besides the service's own settings: the stack-wide settings and monitoring. */
export interface PlanContext extends PlatformSettings {
    monitoring: MonitoringSettings;
    /** Off-site copies of the backups (`backups.s3`). Default none. */
    backups?: BackupsSettings;
}

/** Who may reach a port: clients (client Service, client namespaces), the service's own pods only, or monitoring. */
export const EXPOSURES = ["client", "peer", "metrics"] as const;
export type Exposure = (typeof EXPOSURES)[number];

/** A TCP port of the service's containers; its Services and NetworkPolicies are derived from these. */
export interface PortPlan {
    name: string;
    port: number;
    exposure: Exposure;
    /**
     * A client port the service's own pods also use among themselves (Redis replicas replicate through the
     * client port; Sentinels talk to each other on theirs): the peer NetworkPolicies open it too. Default false.
     */
    peers?: boolean;
}

/** Values generated once and kept (encrypted) in the stack state. */
export const GENERATED_KINDS = ["password", "clusterId"] as const;
export type GeneratedKind = (typeof GENERATED_KINDS)[number];

export interface GeneratedValuePlan {
    /** Referenced by content and env; the resource is named `${name}-${id}`. */
    id: string;
    /** A password (secret), or a KRaft cluster id (16 random bytes, URL-safe base64; not secret). */
    kind: GeneratedKind;
}

/** Text derived from generated values once they exist. */
export interface DerivedContent {
    /** Ids of the generated values `render` reads. */
    uses: string[];
    render: (values: Readonly<Record<string, string>>) => string;
}

/** Text known now, or derived from generated values. */
export type Content = string | DerivedContent;

/** Content made from generated values. */
export function derived(uses: string[], render: (values: Readonly<Record<string, string>>) => string): DerivedContent {
    return { uses, render };
}

/** The value of one generated value, as content. */
export function generatedValue(id: string): DerivedContent {
    return derived([id], (v) => v[id]);
}

/** Resolves content with plain values (tests, and the renderer once the values are known). */
export function resolveContent(content: Content, values: Readonly<Record<string, string>>): string {
    return typeof content === "string" ? content : content.render(values);
}

export interface DataEntryPlan {
    key: string;
    content: Content;
    /**
     * Restart the pods when this entry changes (it is part of the mount's `checksum/<volume>` annotation).
     * Default true; false where the server does not read the entry after its first start.
     */
    rollout?: boolean;
}

/** A ConfigMap or Secret of the service. */
export interface DataObjectPlan {
    /** The resource is named `${name}-${id}`. */
    id: string;
    kind: "ConfigMap" | "Secret";
    /** metadata.name: pods and clients address the object by it. */
    name: string;
    data: DataEntryPlan[];
    /** Protect the object with the stack's protect flag (credentials the data depends on). */
    protect: boolean;
}

/** Where a mounted volume's content comes from. */
export type VolumeSource =
    /** The pod's persistent volume (the StatefulSet's claim template of the same name). */
    | { kind: "claim" }
    /** A size-limited emptyDir for a path the image writes on a read-only root filesystem. */
    | { kind: "scratch"; sizeLimit: string }
    /** A ConfigMap or Secret of the plan, by metadata.name. Secrets default to mode 0440. */
    | { kind: "object"; object: string; defaultMode?: number }
    /** The service's TLS Secret (tls.crt, tls.key, ca.crt). */
    | { kind: "tls" }
    /** A standalone PersistentVolumeClaim of the plan (a backup target), by metadata.name. */
    | { kind: "pvc"; claim: string }
    /**
     * A Secret the program does not create (the S3 credentials the operator provides), mode 0440, optional: a
     * missing Secret leaves the directory empty and the script names it, instead of a pod stuck pending.
     */
    | { kind: "externalSecret"; secret: string };

/** A volume mount; mounting a volume is what declares it (the pod's volumes are derived from the mounts). */
export interface MountPlan {
    volume: string;
    path: string;
    source: VolumeSource;
    readOnly?: boolean;
}

/** An environment variable: a literal, or one key of a ConfigMap or Secret of the plan. */
export type EnvPlan = { name: string; value: string } | { name: string; from: { object: string; key: string } };

/** A probe in the Kubernetes shape (exec or tcpSocket plus thresholds). */
export interface ProbePlan {
    exec?: { command: string[] };
    tcpSocket?: { port: string };
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}

export interface ContainerPlan {
    name: string;
    image: string;
    /** Overrides the image's entrypoint; default: the image's own. */
    command?: string[];
    ports: PortPlan[];
    env: EnvPlan[];
    resources: ResourceSettings;
    mounts: MountPlan[];
    /**
     * The server container has all three; a helper container only liveness (its readiness must not take
     * the pod out of its Services); an init container none (Kubernetes refuses probes there).
     */
    probes: { startup?: ProbePlan; readiness?: ProbePlan; liveness?: ProbePlan };
}

export const POD_MANAGEMENT_POLICIES = ["OrderedReady", "Parallel"] as const;
export type PodManagementPolicy = (typeof POD_MANAGEMENT_POLICIES)[number];

/** Node-spread strength: `required` leaves a pod Pending rather than put it next to another of the set. */
export const NODE_SPREADS = ["required", "preferred"] as const;
export type NodeSpread = (typeof NODE_SPREADS)[number];

/** Where the pods of a replicated workload may run, so one node or zone loss takes only part of the set. */
export interface PlacementPlan {
    /** Pod anti-affinity on kubernetes.io/hostname: at most one pod per node (required), or preferably. */
    nodeSpread: NodeSpread;
    /**
     * Spread over topology.kubernetes.io/zone with maxSkew 1 and ScheduleAnyway: best effort, so a cluster
     * without zone labels, or with fewer zones than pods, still schedules every pod.
     */
    zoneSpread: boolean;
}

/**
 * Where a replicated set's pods go: one per node, required in production (a node loss then takes one pod:
 * never a primary and its replica, never two Kafka voters) and preferred elsewhere (a one-node development
 * cluster still runs every pod); spread over zones where the nodes have zone labels. None for a single pod.
 */
export function replicaPlacement(replicas: number, environment: Environment): PlacementPlan | undefined {
    return replicas > 1 ? { nodeSpread: environment === "production" ? "required" : "preferred", zoneSpread: true } : undefined;
}

export interface StatefulSetPlan {
    replicas: number;
    /**
     * The replica count cannot change on a deployed set: it is written into every pod's configuration (Kafka's
     * static KRaft voter list), so pods with the old and the new count would coexist during the roll. The
     * guard refuses the change. Default false.
     */
    fixedReplicas?: boolean;
    podManagementPolicy: PodManagementPolicy;
    terminationGracePeriodSeconds: number;
    /** The image's non-root user: the pod's and every container's identity. */
    user: ImageUser;
    /** Anti-affinity and topology spread of the pods. Default none. */
    placement?: PlacementPlan;
    /** Run to completion, in order, before the containers start (preparing the volume). */
    initContainers?: ContainerPlan[];
    /** The server container first, then helper containers. */
    containers: ContainerPlan[];
    /** The persistent volume every pod gets (claim template "data"). */
    storage: { size: string; storageClass: string };
}

/**
 * Stands in, in an extra object's body (an alert rule), for the service's generated certificate's end of
 * validity in Unix seconds: the plan is pure, the date comes from the certificate resource; the renderer
 * puts it in.
 */
export const CERTIFICATE_NOT_AFTER_TOKEN = "__CERTIFICATE_NOT_AFTER_SECONDS__";

/** A run-to-completion workload in the service's namespace, with the same hardened pods. */
export interface JobPlan {
    /** The resource is named `${name}-${id}`. */
    id: string;
    /**
     * metadata.name prefix: a hash of the Job's spec and of the content it mounts (the entries that would
     * roll a StatefulSet) is appended, because a Job's pod template cannot be changed, so a changed Job, or
     * one whose mounted Secret now holds a rotated password, is a new object that runs again (Pulumi creates
     * it and deletes the old one).
     */
    name: string;
    containers: ContainerPlan[];
    backoffLimit: number;
    activeDeadlineSeconds: number;
    /** Start only once the service's StatefulSet is ready (Pulumi awaits it), e.g. to configure the running service. */
    afterWorkload: boolean;
}

/** A scheduled workload (backups), with the same hardened pods. */
export interface CronJobPlan {
    /** The resource is named `${name}-${id}`. */
    id: string;
    /** metadata.name. */
    name: string;
    schedule: string;
    /** Never two at once: a slow backup is not overtaken by the next one. */
    concurrencyPolicy: "Forbid";
    /** A run that could not start this long after its time is skipped (and counts as missed). */
    startingDeadlineSeconds: number;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    /** Init containers run first, in order, each to success (a backup step before its upload). */
    job: { initContainers?: ContainerPlan[]; containers: ContainerPlan[]; backoffLimit: number; activeDeadlineSeconds: number };
}

/** A PersistentVolumeClaim of its own (not a StatefulSet claim template): e.g. where backups go. */
export interface ClaimPlan {
    /** The resource is named `${name}-${id}`. */
    id: string;
    name: string;
    size: string;
    storageClass: string;
}

/** Another Kubernetes object the service needs (a custom resource such as a PrometheusRule). */
export interface ExtraObjectPlan {
    /** The resource is named `${name}-${id}`. */
    id: string;
    apiVersion: string;
    kind: string;
    name: string;
    /** Everything but apiVersion, kind and metadata. */
    body: Record<string, unknown>;
    /** Labels added to the standard ones (e.g. the ones a Prometheus instance selects rules by). Default none. */
    labels?: Record<string, string>;
}

export interface ServicePlan {
    /** Names the StatefulSet, Services, ServiceAccount and PDB, and selects the pods. */
    app: string;
    /** app.kubernetes.io/component of every object. */
    component: string;
    namespace: string;
    /** The main image (its tag is the app.kubernetes.io/version label). */
    image: string;
    generated: GeneratedValuePlan[];
    objects: DataObjectPlan[];
    /** Issue a certificate for the service's Services and pods (mounted where a container mounts `tls`). */
    tls: boolean;
    /**
     * Labels added to the app selector of the client Service, so it reaches only some of the pods (MariaDB:
     * the primary's pod name). The headless Service and the NetworkPolicies still cover every pod. Default none.
     */
    clientSelector?: Record<string, string>;
    workload: StatefulSetPlan;
    jobs?: JobPlan[];
    cronJobs?: CronJobPlan[];
    claims?: ClaimPlan[];
    extraObjects?: ExtraObjectPlan[];
    /** TCP ports the Jobs' pods reach outside the cluster (the S3 endpoint), opened when egress is restricted. Default none. */
    jobEgressPorts?: number[];
    /** What the stack should be told about the plan (e.g. a feature it asked for that cannot run); logged as warnings. */
    warnings?: string[];
}

/** Every container of the plan, in every workload. */
export function planContainers(plan: ServicePlan): ContainerPlan[] {
    return [
        ...allContainers(plan.workload),
        ...(plan.jobs ?? []).flatMap((j) => j.containers),
        ...(plan.cronJobs ?? []).flatMap((c) => [...(c.job.initContainers ?? []), ...c.job.containers]),
    ];
}

/** Every container of a workload plan: init containers first. */
export function allContainers(workload: StatefulSetPlan): ContainerPlan[] {
    return [...(workload.initContainers ?? []), ...workload.containers];
}

/** The ports of a plan with a given exposure, in declaration order. */
export function portsExposed(plan: ServicePlan, exposure: Exposure): PortPlan[] {
    return plan.workload.containers.flatMap((c) => c.ports).filter((p) => p.exposure === exposure);
}

/** Problems that make a plan unrenderable; empty when it is sound. Checked by the renderer and the tests. */
export function planProblems(plan: ServicePlan): string[] {
    const problems: string[] = [];
    const generated = new Map(plan.generated.map((g) => [g.id, g.kind]));
    const objects = new Map(plan.objects.map((o) => [o.name, o]));
    for (const o of plan.objects) {
        for (const entry of o.data) {
            if (typeof entry.content === "string") {
                continue;
            }
            for (const id of entry.content.uses) {
                const kind = generated.get(id);
                if (!kind) {
                    problems.push(`${o.kind} ${o.name} key ${entry.key} uses ${id}, which the plan does not generate`);
                } else if (kind === "password" && o.kind !== "Secret") {
                    problems.push(`${o.kind} ${o.name} key ${entry.key} would carry the password ${id}; passwords belong in Secrets`);
                }
            }
        }
    }
    const [server, ...helpers] = plan.workload.containers;
    if (!server || !server.probes.startup || !server.probes.readiness || !server.probes.liveness) {
        problems.push("the server container (the first) needs startup, readiness and liveness probes");
    }
    for (const h of helpers) {
        if (!h.probes.liveness || h.probes.readiness || h.probes.startup) {
            problems.push(`helper container ${h.name} needs a liveness probe and no readiness or startup probe`);
        }
    }
    for (const c of plan.workload.initContainers ?? []) {
        if (c.probes.liveness || c.probes.readiness || c.probes.startup || c.ports.length > 0) {
            problems.push(`init container ${c.name} may have no probes and no ports`);
        }
    }
    const names = allContainers(plan.workload).map((c) => c.name);
    if (new Set(names).size !== names.length) {
        problems.push(`container names repeat: ${names.join(", ")}`);
    }
    for (const c of [...(plan.jobs ?? []).flatMap((j) => j.containers), ...(plan.cronJobs ?? []).flatMap((j) => [...(j.job.initContainers ?? []), ...j.job.containers])]) {
        if (c.probes.liveness || c.probes.readiness || c.probes.startup || c.ports.length > 0) {
            problems.push(`job container ${c.name} may have no probes and no ports`);
        }
        if (c.mounts.some((m) => m.source.kind === "claim")) {
            problems.push(`job container ${c.name} mounts the StatefulSet's claim template, which only its pods have`);
        }
    }
    const claims = new Set((plan.claims ?? []).map((c) => c.name));
    for (const c of planContainers(plan)) {
        for (const m of c.mounts) {
            if (m.source.kind === "pvc" && !claims.has(m.source.claim)) {
                problems.push(`container ${c.name} mounts the claim ${m.source.claim}, which the plan does not define`);
            }
        }
    }
    for (const c of planContainers(plan)) {
        for (const m of c.mounts) {
            if (m.source.kind === "object" && !objects.has(m.source.object)) {
                problems.push(`container ${c.name} mounts ${m.source.object}, which the plan does not define`);
            }
            if (m.source.kind === "tls" && !plan.tls) {
                problems.push(`container ${c.name} mounts the TLS Secret, but the plan issues no certificate`);
            }
        }
        for (const e of c.env) {
            if ("from" in e) {
                const o = objects.get(e.from.object);
                if (!o || !o.data.some((d) => d.key === e.from.key)) {
                    problems.push(`container ${c.name} env ${e.name} refers to ${e.from.object} key ${e.from.key}, which the plan does not define`);
                }
            }
        }
    }
    const volumes = new Map<string, string>();
    for (const m of allContainers(plan.workload).flatMap((c) => c.mounts)) {
        const source = JSON.stringify(m.source);
        if (volumes.has(m.volume) && volumes.get(m.volume) !== source) {
            problems.push(`volume ${m.volume} is mounted from two different sources`);
        }
        volumes.set(m.volume, source);
    }
    return problems;
}

/** `<app>-user-<user>` with `_` turned into `-` (Secret names are DNS names). */
export function userSecretName(app: string, user: string): string {
    return `${app}-user-${user.replace(/_/g, "-")}`;
}

/** Scratch space for a path the image writes; 256Mi unless the plan says otherwise. */
export function scratch(volume: string, path: string, sizeLimit = "256Mi"): MountPlan {
    return { volume, path, source: { kind: "scratch", sizeLimit } };
}

/** A read-only mount of one of the plan's ConfigMaps or Secrets. */
export function mountObject(volume: string, path: string, object: string, defaultMode?: number): MountPlan {
    return { volume, path, source: defaultMode === undefined ? { kind: "object", object } : { kind: "object", object, defaultMode }, readOnly: true };
}

/** The persistent data volume (claim template `data`). */
export function dataVolume(path: string): MountPlan {
    return { volume: "data", path, source: { kind: "claim" } };
}

/** The service certificate, read-only. */
export function tlsVolume(path: string): MountPlan {
    return { volume: "tls", path, source: { kind: "tls" }, readOnly: true };
}
