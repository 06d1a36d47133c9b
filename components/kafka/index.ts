// Kafka 3.8.1 (KRaft) as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the broker reads: files.ts; the topic and ACL reconcile Job's script and input: reconcile.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import type { MonitoringSettings } from "../config/operations";
import { KAFKA_JMX_OBJECT } from "../monitoring/kafka";
import type { PlatformContext } from "../platform";
import { secretMap } from "../secrets";
import { renderService } from "../workload/render";
import { kafkaConnection, KafkaConnection, KAFKA_GENERATED, KAFKA_OBJECTS, KAFKA_RECONCILE_JOB, planKafka } from "./plan";
import type { KafkaSettings } from "./settings";

export * from "./files";
export * from "./plan";
export * from "./reconcile";
export * from "./settings";

export interface KafkaArgs extends KafkaSettings {
    /** The stack-wide settings: storage class, pod security, NetworkPolicies, TLS and its CA, protection. */
    platform: PlatformContext;
    /** The stack's `monitoring` settings (the JMX agent with kafka.jmxAgent, Prometheus Operator objects). Default: their defaults. */
    monitoring?: MonitoringSettings;
}

export class Kafka extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** The KRaft cluster id: generated once, never regenerated (it is written into every formatted volume). */
    public readonly clusterId: random.RandomId;
    /** The password of the `broker` identity. */
    public readonly brokerPassword: random.RandomPassword;
    /** The password of the `broker-next` identity (both are accepted; `kafka.brokerLogin` picks the one used). */
    public readonly brokerNextPassword: random.RandomPassword;
    public readonly adminPassword: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    /** Secret kafka-jaas: the users the brokers accept. */
    public readonly jaas: k8s.core.v1.Secret;
    /** Secret kafka-user-admin: the admin's client credentials. */
    public readonly adminSecret: k8s.core.v1.Secret;
    /** ConfigMap kafka-config: server.properties template, start script, cluster id, TLS reload script. */
    public readonly config: k8s.core.v1.ConfigMap;
    /** ConfigMap kafka-reconcile: the declared topics and ACLs and the script that applies them. */
    public readonly reconcileConfig: k8s.core.v1.ConfigMap;
    /** The Job that applies the declared topics and ACLs once the brokers are ready. */
    public readonly reconcileJob: k8s.batch.v1.Job;
    /** ConfigMap kafka-jmx-exporter: the metrics agent's rules (only when the agent runs). */
    public readonly jmxExporterConfig?: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** Connection details for clients (no secrets). */
    public readonly connection: KafkaConnection;
    /** The admin password and each application user's, as secret outputs. */
    public readonly adminPasswordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Kafka", name, {}, opts);
        const r = renderService(this, name, planKafka(args, { ...args.platform, monitoring: args.monitoring }), args.platform);
        this.namespace = r.namespace;
        this.serviceAccount = r.serviceAccount;
        this.clusterId = r.generated.get(KAFKA_GENERATED.clusterId) as random.RandomId;
        this.brokerPassword = r.generated.get(KAFKA_GENERATED.brokerPassword) as random.RandomPassword;
        this.brokerNextPassword = r.generated.get(KAFKA_GENERATED.brokerNextPassword) as random.RandomPassword;
        this.adminPassword = r.generated.get(KAFKA_GENERATED.adminPassword) as random.RandomPassword;
        this.userPasswords = Object.fromEntries(args.users.map((u) => [u.name, r.generated.get(KAFKA_GENERATED.userPassword(u.name)) as random.RandomPassword]));
        this.jaas = r.objects.get(KAFKA_OBJECTS.jaas) as k8s.core.v1.Secret;
        this.adminSecret = r.objects.get(KAFKA_OBJECTS.admin) as k8s.core.v1.Secret;
        this.config = r.objects.get(KAFKA_OBJECTS.config) as k8s.core.v1.ConfigMap;
        this.reconcileConfig = r.objects.get(KAFKA_OBJECTS.reconcile) as k8s.core.v1.ConfigMap;
        this.reconcileJob = r.jobs.get(KAFKA_RECONCILE_JOB.id)!;
        this.jmxExporterConfig = r.objects.get(KAFKA_JMX_OBJECT) as k8s.core.v1.ConfigMap | undefined;
        this.service = r.service;
        this.headlessService = r.headlessService;
        this.statefulSet = r.statefulSet;
        this.disruptionBudget = r.disruptionBudget;
        this.networkPolicies = r.networkPolicies;
        this.connection = kafkaConnection(args, args.platform);
        this.adminPasswordValue = pulumi.secret(this.adminPassword.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        this.registerOutputs({ connection: this.connection });
    }
}
