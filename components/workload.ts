// Building blocks every stateful service shares: its namespace, ServiceAccount, Services, disruption
// budget, NetworkPolicies and the StatefulSet safety options. Each creates children of the calling component.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import type { NetworkPolicySettings, PodSecurityLevel, ResourceSettings } from "./config";
import { buildNetworkPolicies, ServiceTraffic } from "./networkPolicies";
import { podSecurityLabels } from "./podSecurity";
import { generatedPassword, secretValue } from "./secrets";

/** A named TCP port of a service. */
export interface ServicePort {
    name: string;
    port: number;
}

/** Name of the headless (governing) Service of a StatefulSet. */
export function headlessServiceName(app: string): string {
    return `${app}-headless`;
}

/** The namespace of a service, labelled for Pod Security admission. Protected: deleting it deletes the data. */
export function createNamespace(
    name: string,
    namespace: string,
    level: PodSecurityLevel,
    labels: Record<string, string>,
    parent: pulumi.Resource,
    protect: boolean,
): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: namespace, labels: { ...labels, ...podSecurityLabels(level) } } },
        { parent, protect },
    );
}

/** A dedicated ServiceAccount that never mounts an API token: data services do not talk to the API. */
export function createServiceAccount(
    name: string,
    app: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    parent: pulumi.Resource,
): k8s.core.v1.ServiceAccount {
    return new k8s.core.v1.ServiceAccount(
        `${name}-serviceaccount`,
        { metadata: { name: app, namespace, labels }, automountServiceAccountToken: false },
        { parent },
    );
}

/**
 * The client Service (`<app>`, ClusterIP) and the headless governing Service (`<app>-headless`) that gives
 * each pod a stable DNS name. The headless one publishes not-ready pods so peers find each other during a
 * cold start (a Kafka quorum cannot become ready before its voters resolve).
 */
export function createServices(
    name: string,
    app: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    selector: Record<string, string>,
    clientPorts: ServicePort[],
    peerPorts: ServicePort[],
    parent: pulumi.Resource,
): { service: k8s.core.v1.Service; headless: k8s.core.v1.Service } {
    const ports = (list: ServicePort[]) => list.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" }));
    const headless = new k8s.core.v1.Service(
        `${name}-headless`,
        {
            metadata: { name: headlessServiceName(app), namespace, labels },
            spec: {
                clusterIP: "None",
                publishNotReadyAddresses: true,
                selector,
                ports: ports([...clientPorts, ...peerPorts]),
            },
        },
        { parent },
    );
    const service = new k8s.core.v1.Service(
        `${name}-service`,
        { metadata: { name: app, namespace, labels }, spec: { type: "ClusterIP", selector, ports: ports(clientPorts) } },
        { parent },
    );
    return { service, headless };
}

/** At most one pod down at a time during voluntary disruptions (node drains). */
export function createDisruptionBudget(
    name: string,
    app: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    selector: Record<string, string>,
    parent: pulumi.Resource,
): k8s.policy.v1.PodDisruptionBudget {
    return new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        { metadata: { name: app, namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
        { parent },
    );
}

/** The NetworkPolicies of one service (none when the stack switches them off). */
export function createNetworkPolicies(
    name: string,
    traffic: ServiceTraffic,
    settings: NetworkPolicySettings,
    labels: Record<string, string>,
    parent: pulumi.Resource,
): k8s.networking.v1.NetworkPolicy[] {
    return buildNetworkPolicies(traffic, settings, labels).map(
        (policy) => new k8s.networking.v1.NetworkPolicy(`${name}-${policy.metadata.name}`, policy, { parent }),
    );
}

/** A ReadWriteOnce volume claim template named `data`. */
export function dataVolumeClaim(storageClass: string, size: string, labels: Record<string, string>) {
    return {
        metadata: { name: "data", labels },
        spec: { accessModes: ["ReadWriteOnce"], storageClassName: storageClass, resources: { requests: { storage: size } } },
    };
}

/** Container resources in the Kubernetes shape. */
export function containerResources(r: ResourceSettings) {
    return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/**
 * Options that keep a StatefulSet's data safe:
 * - changes to immutable fields (volume claim templates, selector, service name, pod management) show up in
 *   preview as a replacement instead of failing mid-update; with `protect` that replacement is refused;
 * - the replacement deletes the old object first (the name is explicit) and orphans its pods and volumes,
 *   so the new StatefulSet adopts the running pods instead of killing them all at once.
 */
export function statefulSetOptions(parent: pulumi.Resource, protect: boolean, dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions {
    return {
        parent,
        protect,
        dependsOn,
        deleteBeforeReplace: true,
        replaceOnChanges: ["spec.volumeClaimTemplates", "spec.selector", "spec.serviceName", "spec.podManagementPolicy"],
    };
}

/** Annotations on every StatefulSet: orphan pods on delete/replace (see statefulSetOptions). */
export const STATEFULSET_ANNOTATIONS = { "pulumi.com/deletionPropagationPolicy": "orphan" };

/** PVCs outlive the StatefulSet and scale-downs: only a person deletes data. */
export const PVC_RETENTION = { whenDeleted: "Retain", whenScaled: "Retain" };

/** emptyDir volumes for the paths an image must write on a read-only root filesystem. */
export function scratchVolumes(names: string[]) {
    return names.map((n) => ({ name: n, emptyDir: { sizeLimit: "256Mi" } }));
}

/** A Secret with string data; all values are wrapped as Pulumi secrets. */
export function createSecret(
    name: string,
    secretName: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    data: Record<string, pulumi.Input<string>>,
    parent: pulumi.Resource,
    protect: boolean,
): k8s.core.v1.Secret {
    const stringData: Record<string, pulumi.Output<string>> = {};
    for (const [k, v] of Object.entries(data)) {
        stringData[k] = pulumi.secret(v);
    }
    return new k8s.core.v1.Secret(
        name,
        { metadata: { name: secretName, namespace, labels }, type: "Opaque", stringData },
        { parent, protect },
    );
}

/** A generated credential of one application user and the Secret that hands it to that application. */
export interface UserCredential {
    password: random.RandomPassword;
    secret: k8s.core.v1.Secret;
    /** `<app>-user-<user>` with `_` turned into `-` (Secret names are DNS names). */
    secretName: string;
}

/**
 * Generates `user`'s password and stores it, with whatever else `data` derives from it, in Secret
 * `<app>-user-<user>`. Children are named `${name}-user-<user>` and `${name}-user-<user>-password`.
 */
export function createUserCredential(
    name: string,
    app: string,
    user: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    data: (password: pulumi.Output<string>) => Record<string, pulumi.Input<string>>,
    parent: pulumi.Resource,
    protect: boolean,
): UserCredential {
    const password = generatedPassword(`${name}-user-${user}-password`, parent, protect);
    const secretName = `${app}-user-${user.replace(/_/g, "-")}`;
    const secret = createSecret(
        `${name}-user-${user}`,
        secretName,
        namespace,
        labels,
        { username: user, password: secretValue(password), ...data(secretValue(password)) },
        parent,
        protect,
    );
    return { password, secret, secretName };
}
