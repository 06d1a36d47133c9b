// The renderer: turns a service plan into its Kubernetes objects, as children of the service's component.
// ConfigMaps and Secrets come with their volumes, mounts and checksums; Services and NetworkPolicies from
// the planned ports; objects refer to each other through their outputs, so Pulumi orders them itself.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { appPodsSelector, JOB_SERIES_ANNOTATION, runLabels, selectorLabels, standardLabels } from "../labels";
import { buildNetworkPolicies } from "../networkPolicies";
import type { PlatformContext } from "../platform";
import { podSecurityLabels } from "../podSecurity";
import { sha256 } from "../hash";
import { contentChecksum, generatedPassword } from "../secrets";
import { createServiceCertificate } from "../tls";
import { buildPodSpec, buildRunPodSpec, checksumSources, PodReferences } from "./podTemplate";
import { headlessServiceName } from "../dnsNames";
import { allContainers, CERTIFICATE_NOT_AFTER_TOKEN, ContainerPlan, Content, planProblems, PortPlan, portsExposed, ServicePlan } from "./plan";

/** PVCs outlive the StatefulSet and scale-downs: only a person deletes data. */
export const PVC_RETENTION = { whenDeleted: "Retain", whenScaled: "Retain" };

/** StatefulSet fields the API server refuses to change; a change means a new StatefulSet. */
export const STATEFULSET_IMMUTABLE_FIELDS = ["spec.volumeClaimTemplates", "spec.selector", "spec.serviceName", "spec.podManagementPolicy"];

/**
 * Options that keep a StatefulSet's data safe. The program's guard (components/guard.ts) stops changes to
 * immutable fields before anything is applied; a replacement happens only when the stack allows it
 * (allowStatefulSetReplacement), after the guard's procedure, and then:
 * - it is a replacement, not a failed update; with `protect` it is refused;
 * - the old object is deleted first (the name is explicit); its claims stay (retention policy Retain), and
 *   a StatefulSet the procedure already deleted with --cascade=orphan leaves its pods to the new one.
 * Deleting a StatefulSet deletes its pods (the provider's foreground propagation), never its claims.
 */
export function statefulSetOptions(parent: pulumi.Resource, protect: boolean): pulumi.CustomResourceOptions {
    return { parent, protect, deleteBeforeReplace: true, replaceOnChanges: STATEFULSET_IMMUTABLE_FIELDS };
}

/**
 * When `pulumi up` may call a StatefulSet ready: every replica updated to the new template, Ready, and the
 * rollout recorded as complete (currentReplicas counts the pods at the current revision, set to the update's
 * when it is done). The provider's own StatefulSet await reads the status before the controller has seen
 * the new generation and returns at once on an update (pulumi-kubernetes#3329; seen on real pods: `up`
 * returned 9 s into a Redis roll with its only pod down); its jsonpath conditions wait until
 * status.observedGeneration reaches the object's generation first.
 */
export function rolloutAwaitAnnotation(replicas: number): Record<string, string> {
    const fields = ["updatedReplicas", "readyReplicas", "currentReplicas"];
    return { "pulumi.com/waitFor": JSON.stringify(fields.map((f) => `jsonpath={.status.${f}}=${replicas}`)) };
}

/** Everything the renderer created for one service, each kind in its own typed map. */
export interface RenderedService {
    namespace: k8s.core.v1.Namespace;
    serviceAccount: k8s.core.v1.ServiceAccount;
    /** Generated passwords and KRaft cluster ids, by plan id. */
    passwords: ReadonlyMap<string, random.RandomPassword>;
    clusterIds: ReadonlyMap<string, random.RandomId>;
    /** Secrets and ConfigMaps, by metadata.name. */
    secrets: ReadonlyMap<string, k8s.core.v1.Secret>;
    configMaps: ReadonlyMap<string, k8s.core.v1.ConfigMap>;
    service: k8s.core.v1.Service;
    headlessService: k8s.core.v1.Service;
    /** Name of the TLS Secret when the plan issues a certificate. */
    tlsSecretName?: pulumi.Output<string>;
    statefulSet: k8s.apps.v1.StatefulSet;
    disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** Standalone PersistentVolumeClaims, Jobs, CronJobs and other objects, by plan id. */
    claims: ReadonlyMap<string, k8s.core.v1.PersistentVolumeClaim>;
    jobs: ReadonlyMap<string, k8s.batch.v1.Job>;
    cronJobs: ReadonlyMap<string, k8s.batch.v1.CronJob>;
    extraObjects: ReadonlyMap<string, k8s.apiextensions.CustomResource>;
}

function servicePorts(ports: PortPlan[]) {
    return ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" }));
}

/** Renders `plan` as children of `parent`, each named `${name}-<role>`. Throws on an unsound plan. */
export function renderService(parent: pulumi.ComponentResource, name: string, plan: ServicePlan, platform: PlatformContext): RenderedService {
    const problems = planProblems(plan);
    if (problems.length > 0) {
        throw new pulumi.ResourceError(`${name}: the service plan is not sound:\n  - ${problems.join("\n  - ")}`, parent);
    }
    for (const w of plan.warnings ?? []) void pulumi.log.warn(w, parent);
    const opts = (protect = false): pulumi.CustomResourceOptions => ({ parent, protect: protect && platform.protect });
    // Objects whose deletion deletes data (a namespace takes its volume claims with it; a standalone claim is
    // data) stay in the cluster on `pulumi destroy`, unless the stack opts in to deleting the data.
    const dataOpts = (): pulumi.CustomResourceOptions => ({ ...opts(true), retainOnDelete: !platform.deleteDataOnDestroy });
    const labels = standardLabels(plan.app, plan.component, plan.image);
    const selector = selectorLabels(plan.app);

    // The namespace is protected: deleting it deletes the data volumes with it.
    const namespace = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: plan.namespace, labels: { ...labels, ...podSecurityLabels(platform.podSecurityLevel) } } },
        dataOpts(),
    );
    const ns = namespace.metadata.name;
    const meta = (objectName: pulumi.Input<string>) => ({ name: objectName, namespace: ns, labels });

    // Data services do not talk to the API server: their ServiceAccount never mounts a token.
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-serviceaccount`,
        { metadata: meta(plan.app), automountServiceAccountToken: false },
        opts(),
    );

    const passwords = new Map<string, random.RandomPassword>();
    const clusterIds = new Map<string, random.RandomId>();
    const values = new Map<string, pulumi.Output<string>>();
    for (const g of plan.generated) {
        if (g.kind === "clusterId") {
            // 16 random bytes, URL-safe base64 without padding: the format `kafka-storage.sh random-uuid` prints.
            const id = new random.RandomId(`${name}-${g.id}`, { byteLength: 16 }, opts(true));
            clusterIds.set(g.id, id);
            values.set(g.id, id.b64Url);
        } else {
            const password = generatedPassword(`${name}-${g.id}`, parent, platform.protect);
            passwords.set(g.id, password);
            values.set(g.id, pulumi.secret(password.result));
        }
    }
    const resolve = (content: Content): pulumi.Input<string> =>
        typeof content === "string"
            ? content
            : pulumi.all(content.uses.map((id) => values.get(id)!)).apply((vals) => content.render(Object.fromEntries(content.uses.map((id, i) => [id, vals[i]]))));

    const contents = new Map<string, Map<string, pulumi.Input<string>>>();
    const secrets = new Map<string, k8s.core.v1.Secret>();
    const configMaps = new Map<string, k8s.core.v1.ConfigMap>();
    for (const o of plan.objects) {
        const data = new Map(o.data.map((d) => [d.key, resolve(d.content)]));
        contents.set(o.name, data);
        if (o.kind === "Secret") {
            const secret = new k8s.core.v1.Secret(
                `${name}-${o.id}`,
                { metadata: meta(o.name), type: "Opaque", stringData: Object.fromEntries([...data].map(([k, v]) => [k, pulumi.secret(v)])) },
                opts(o.protect),
            );
            secrets.set(o.name, secret);
        } else {
            const configMap = new k8s.core.v1.ConfigMap(`${name}-${o.id}`, { metadata: meta(o.name), data: Object.fromEntries(data) }, opts(o.protect));
            configMaps.set(o.name, configMap);
        }
    }

    // The headless (governing) Service gives each pod a stable DNS name and publishes not-ready pods, so
    // peers find each other during a cold start (a Kafka quorum cannot become ready before its voters resolve).
    const clientPorts = portsExposed(plan, "client");
    const peerPorts = portsExposed(plan, "peer");
    const headlessService = new k8s.core.v1.Service(
        `${name}-headless`,
        {
            metadata: meta(headlessServiceName(plan.app)),
            spec: { clusterIP: "None", publishNotReadyAddresses: true, selector, ports: servicePorts([...clientPorts, ...peerPorts]) },
        },
        opts(),
    );
    const service = new k8s.core.v1.Service(
        `${name}-service`,
        { metadata: meta(plan.app), spec: { type: "ClusterIP", selector: { ...selector, ...plan.clientSelector }, ports: servicePorts(clientPorts) } },
        opts(),
    );

    const certificate = plan.tls
        ? createServiceCertificate(
              name,
              { app: plan.app, namespaceName: plan.namespace, namespace: ns, replicas: plan.workload.replicas, labels, settings: platform.tls, ca: platform.ca },
              parent,
          )
        : undefined;
    const tlsSecretName = certificate?.secretName;

    // Volumes of their own (backup targets): protected like the data, as they hold data.
    const claims = new Map(
        (plan.claims ?? []).map((c) => [
            c.id,
            new k8s.core.v1.PersistentVolumeClaim(
                `${name}-${c.id}`,
                {
                    metadata: meta(c.name),
                    spec: { accessModes: ["ReadWriteOnce"], storageClassName: c.storageClass, resources: { requests: { storage: c.size } } },
                },
                dataOpts(),
            ),
        ]),
    );

    const refs: PodReferences = {
        serviceAccountName: serviceAccount.metadata.name,
        objects: new Map(plan.objects.map((o) => [o.name, { kind: o.kind, name: (secrets.get(o.name) ?? configMaps.get(o.name))!.metadata.name }])),
        tlsSecretName,
        claims: new Map((plan.claims ?? []).map((c) => [c.name, claims.get(c.id)!.metadata.name])),
    };
    const checksums = (containers: ContainerPlan[], everyEntry = false) =>
        checksumSources(containers, plan.objects, everyEntry).map((s) => {
            const data = contents.get(s.object)!;
            return [s.annotation, contentChecksum(pulumi.all(s.keys.map((k) => data.get(k)!)).apply((parts) => parts.join("")))] as const;
        });
    const annotations = Object.fromEntries(checksums(allContainers(plan.workload)));
    const w = plan.workload;
    const statefulSet = new k8s.apps.v1.StatefulSet(
        `${name}-statefulset`,
        {
            metadata: { ...meta(plan.app), annotations: rolloutAwaitAnnotation(w.replicas) },
            spec: {
                serviceName: headlessService.metadata.name,
                replicas: w.replicas,
                selector: { matchLabels: selector },
                podManagementPolicy: w.podManagementPolicy,
                updateStrategy: { type: "RollingUpdate" },
                persistentVolumeClaimRetentionPolicy: PVC_RETENTION,
                template: {
                    metadata: { labels, annotations },
                    spec: { ...buildPodSpec(w, selector, refs), ...(platform.priorityClassName ? { priorityClassName: platform.priorityClassName } : {}) },
                },
                volumeClaimTemplates: [
                    {
                        metadata: { name: "data", labels: selector },
                        spec: { accessModes: ["ReadWriteOnce"], storageClassName: w.storage.storageClass, resources: { requests: { storage: w.storage.size } } },
                    },
                ],
            },
        },
        statefulSetOptions(parent, platform.protect),
    );

    // At most one pod down at a time during voluntary disruptions (node drains).
    const disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        { metadata: meta(plan.app), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
        opts(),
    );
    const networkPolicies = buildNetworkPolicies(
        {
            namespace: plan.namespace,
            podSelector: selector,
            clientPorts: clientPorts.map((p) => p.port),
            // Client ports the pods also use among themselves are peer ports too (Redis replication, Sentinel).
            peerPorts: [...peerPorts, ...clientPorts.filter((p) => p.peers)].map((p) => p.port),
            metricsPorts: portsExposed(plan, "metrics").map((p) => p.port),
            jobPodSelector: (plan.jobs ?? []).length + (plan.cronJobs ?? []).length > 0 ? appPodsSelector(plan.app) : undefined,
            jobEgressPorts: plan.jobEgressPorts,
        },
        platform.networkPolicies,
        labels,
    ).map(
        // The namespace output, not its name: a policy must wait for its namespace to exist.
        (policy) => new k8s.networking.v1.NetworkPolicy(`${name}-${policy.metadata.name}`, { ...policy, metadata: { ...policy.metadata, namespace: ns } }, opts()),
    );

    // The pods of a Job or CronJob: labels of their own (not selected by the service), the hardened spec.
    const runPodTemplate = (id: string, containers: ContainerPlan[], initContainers?: ContainerPlan[]) => ({
        metadata: { labels: runLabels(plan.app, id, plan.image) },
        spec: buildRunPodSpec(containers, w.user, refs, initContainers),
    });
    const jobs = new Map(
        (plan.jobs ?? []).map((j) => {
            // A Job's pod template cannot change: a changed Job is a new object, named by its content. The
            // content includes what it mounts (as the StatefulSet's checksums do), so a rotated password in a
            // mounted Secret runs the Job again: that is how a rotation reaches a live server.
            const mounted = checksums(j.containers, true).map(([, sum]) => sum);
            const jobName = pulumi
                .all(mounted)
                .apply((sums) => `${j.name}-${sha256(JSON.stringify(j) + sums.join("")).slice(0, 8)}`);
            return [
                j.id,
                new k8s.batch.v1.Job(
                    `${name}-${j.id}`,
                    {
                        metadata: { ...meta(jobName), annotations: { [JOB_SERIES_ANNOTATION]: j.name } },
                        spec: {
                            backoffLimit: j.backoffLimit,
                            activeDeadlineSeconds: j.activeDeadlineSeconds,
                            template: runPodTemplate(j.id, j.containers),
                        },
                    },
                    { ...opts(), dependsOn: j.afterWorkload ? [statefulSet] : [] },
                ),
            ] as const;
        }),
    );
    const cronJobs = new Map(
        (plan.cronJobs ?? []).map((c) => [
            c.id,
            new k8s.batch.v1.CronJob(
                `${name}-${c.id}`,
                {
                    metadata: meta(c.name),
                    spec: {
                        schedule: c.schedule,
                        concurrencyPolicy: c.concurrencyPolicy,
                        startingDeadlineSeconds: c.startingDeadlineSeconds,
                        successfulJobsHistoryLimit: c.successfulJobsHistoryLimit,
                        failedJobsHistoryLimit: c.failedJobsHistoryLimit,
                        jobTemplate: {
                            metadata: { labels: runLabels(plan.app, c.id, plan.image) },
                            spec: {
                                backoffLimit: c.job.backoffLimit,
                                activeDeadlineSeconds: c.job.activeDeadlineSeconds,
                                template: runPodTemplate(c.id, c.job.containers, c.job.initContainers),
                            },
                        },
                    },
                },
                opts(),
            ),
        ]),
    );
    const extraObjects = new Map(
        (plan.extraObjects ?? []).map((x) => [
            x.id,
            new k8s.apiextensions.CustomResource(
                `${name}-${x.id}`,
                { apiVersion: x.apiVersion, kind: x.kind, metadata: { ...meta(x.name), labels: { ...labels, ...x.labels } }, ...withCertificateDate(x.body, certificate?.notAfter) },
                opts(),
            ),
        ]),
    );

    return {
        namespace,
        serviceAccount,
        passwords,
        clusterIds,
        secrets,
        configMaps,
        service,
        headlessService,
        tlsSecretName,
        statefulSet,
        disruptionBudget,
        networkPolicies,
        claims,
        jobs,
        cronJobs,
        extraObjects,
    };
}

/** The handle the plan declared under `key`; a missing one is a defect of the program, named with its key. */
export function planned<T>(handles: ReadonlyMap<string, T>, key: string): T {
    const handle = handles.get(key);
    if (handle === undefined) {
        throw new Error(`the rendered service has no ${key}: its plan does not declare it`);
    }
    return handle;
}

/**
 * An extra object's body with the generated certificate's end of validity (Unix seconds) in place of
 * CERTIFICATE_NOT_AFTER_TOKEN (the alert rules' recording rule); unchanged when the body holds no token.
 */
function withCertificateDate(body: Record<string, unknown>, notAfter: pulumi.Output<string> | undefined): Record<string, pulumi.Input<unknown>> {
    const text = JSON.stringify(body);
    if (!text.includes(CERTIFICATE_NOT_AFTER_TOKEN)) {
        return body;
    }
    if (notAfter === undefined) {
        throw new Error(`a rule needs the certificate's end of validity (${CERTIFICATE_NOT_AFTER_TOKEN}), but the service has no generated certificate`);
    }
    const resolved = notAfter.apply((date) => {
        const seconds = Math.floor(Date.parse(date) / 1000);
        if (!Number.isFinite(seconds)) {
            throw new Error(`the certificate's end of validity ${JSON.stringify(date)} is not a date`);
        }
        return JSON.parse(text.split(CERTIFICATE_NOT_AFTER_TOKEN).join(String(seconds))) as Record<string, unknown>;
    });
    return Object.fromEntries(Object.keys(body).map((k) => [k, resolved.apply((b) => b[k])]));
}
