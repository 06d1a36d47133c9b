// Kafka 3.8.1 (KRaft) as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the broker reads: files.ts; the topic and ACL reconcile Job's script and input: reconcile.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import { KAFKA_JMX_OBJECT } from "../monitoring/kafka";
import { secretMap } from "../secrets";
import { planned } from "../workload/render";
import { StatefulService, StatefulServiceArgs } from "../workload/statefulService";
import type { KafkaConnection } from "../outputs";
import { kafkaConnection, KAFKA_GENERATED, KAFKA_OBJECTS, KAFKA_RECONCILE_JOB } from "./plan";
import type { KafkaSettings } from "./settings";

export * from "./files";
export * from "./plan";
export * from "./reconcile";
export * from "./settings";

/** The `kafka` settings, their plan (planKafka) and the stack-wide context. */
export type KafkaArgs = StatefulServiceArgs<KafkaSettings>;

export class Kafka extends StatefulService {
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
    /** Connection details for clients (no secrets). */
    public readonly connection: KafkaConnection;
    /** The admin password and each application user's, as secret outputs. */
    public readonly adminPasswordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Kafka", name, args, opts);
        const r = this.rendered;
        this.clusterId = planned(r.clusterIds, KAFKA_GENERATED.clusterId);
        this.brokerPassword = planned(r.passwords, KAFKA_GENERATED.brokerPassword);
        this.brokerNextPassword = planned(r.passwords, KAFKA_GENERATED.brokerNextPassword);
        this.adminPassword = planned(r.passwords, KAFKA_GENERATED.adminPassword);
        this.userPasswords = Object.fromEntries(args.settings.users.map((u) => [u.name, planned(r.passwords, KAFKA_GENERATED.userPassword(u.name))]));
        this.jaas = planned(r.secrets, KAFKA_OBJECTS.jaas);
        this.adminSecret = planned(r.secrets, KAFKA_OBJECTS.admin);
        this.config = planned(r.configMaps, KAFKA_OBJECTS.config);
        this.reconcileConfig = planned(r.configMaps, KAFKA_OBJECTS.reconcile);
        this.reconcileJob = planned(r.jobs, KAFKA_RECONCILE_JOB.id);
        this.jmxExporterConfig = r.configMaps.get(KAFKA_JMX_OBJECT);
        this.connection = kafkaConnection(args.settings, args.platform);
        this.adminPasswordValue = pulumi.secret(this.adminPassword.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        this.registerOutputs({ connection: this.connection });
    }
}
