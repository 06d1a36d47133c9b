// The order service: a consumer of the msa-infra backbone. It reads the backbone's connection outputs and
// its user passwords (secret outputs) through a StackReference, keeps them in its own Secret, and runs a
// Deployment that takes its settings from that Secret (and the backbone's CA, with TLS).
//
//   msa-infra/<stack> outputs ──StackReference──► Secret order-service-backbone ──envFrom──► Deployment
//                                              └► ConfigMap order-service-backbone-ca (TLS) ─volume─┘

import * as k8s from "@pulumi/kubernetes";
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { BACKBONE_OUTPUTS, BackboneOutputs, CA_DIR, serviceCredentials } from "./backbone";
import { readOrderServiceSettings } from "./settings";

const config = new pulumi.Config("order-service");
const settings = readOrderServiceSettings(
    Object.fromEntries(["backbone", "image", "namespace", "replicas", "database", "kafkaUser", "redisUser"].map((k) => [k, config.get(k)]).filter(([, v]) => v !== undefined)),
);

const backbone = new pulumi.StackReference("backbone", { name: settings.backbone });
const outputs = pulumi
    .all(BACKBONE_OUTPUTS.map((name) => backbone.requireOutput(name)))
    .apply((values) => Object.fromEntries(BACKBONE_OUTPUTS.map((name, i) => [name, values[i]])) as unknown as BackboneOutputs);
// The passwords are secret outputs of the backbone; everything derived from them stays secret.
const credentials = pulumi.secret(outputs.apply((o) => serviceCredentials(o, settings)));

const labels = { "app.kubernetes.io/name": "order-service", "app.kubernetes.io/part-of": "order-service" };
const namespace = new k8s.core.v1.Namespace("namespace", {
    metadata: {
        name: settings.namespace,
        labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" },
    },
});
const ns = namespace.metadata.name;

const secret = new k8s.core.v1.Secret("backbone-credentials", {
    metadata: { name: "order-service-backbone", namespace: ns, labels },
    type: "Opaque",
    stringData: credentials.apply((c) => c.env),
});
const caPem = outputs.apply((o) => serviceCredentials(o, settings).caPem ?? "");
const ca = new k8s.core.v1.ConfigMap("backbone-ca", { metadata: { name: "order-service-backbone-ca", namespace: ns, labels }, data: { "ca.crt": caPem } });

const deployment = new k8s.apps.v1.Deployment("order-service", {
    metadata: { name: "order-service", namespace: ns, labels },
    spec: {
        replicas: settings.replicas,
        selector: { matchLabels: labels },
        template: {
            metadata: {
                labels,
                // A changed credential (a rotated backbone password) rolls the pods: envFrom is read at start.
                annotations: { "checksum/backbone": credentials.apply((c) => createHash("sha256").update(JSON.stringify(c)).digest("hex")) },
            },
            spec: {
                automountServiceAccountToken: false,
                securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "order-service",
                        image: settings.image,
                        ports: [{ name: "http", containerPort: 8080 }],
                        envFrom: [{ secretRef: { name: secret.metadata.name } }],
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                        volumeMounts: [{ name: "backbone-ca", mountPath: CA_DIR, readOnly: true }],
                        readinessProbe: { httpGet: { path: "/actuator/health/readiness", port: "http" }, periodSeconds: 10 },
                    },
                ],
                volumes: [{ name: "backbone-ca", configMap: { name: ca.metadata.name } }],
            },
        },
    },
});

export const secretName = secret.metadata.name;
export const deploymentName = deployment.metadata.name;
