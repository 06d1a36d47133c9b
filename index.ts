// msa-infra: the stateful backbone of the platform.
//
//   stack config ──► validated PlatformConfig (components/stackConfig)
//                        │
//                        ├── plans: each service decided once (components/plans)
//                        │
//                        ├── guard: the planned StatefulSets vs the last deployment (components/guard)
//                        │
//   Kubernetes provider (server-side apply) + platform context (storage, pod security, NetworkPolicies, TLS)
//     ├── namespace db         : MariaDb  (mariadb.db.svc.cluster.local:3306)
//     ├── namespace cache      : Redis    (redis.cache.svc.cluster.local:6379)
//     └── namespace messaging  : Kafka    (kafka.messaging.svc.cluster.local:9092, controller 9093)
//
// Service stacks read the outputs below through a StackReference.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./components/stackConfig";
import { guardStatefulSets } from "./components/guard";
import { Kafka } from "./components/kafka";
import { MariaDb } from "./components/mariadb";
import { platformContext } from "./components/platform";
import { planServices } from "./components/plans";
import { productionWarnings } from "./components/productionRules";
import { Redis } from "./components/redis";
import type { BackboneOutputs } from "./components/outputs";
import { CertificateAuthority } from "./components/tls";

/** The stack outputs as the program returns them: each one an Input of its documented type. */
type ProgramOutputs = { [K in keyof BackboneOutputs]: pulumi.Input<BackboneOutputs[K]> };

export = async () => {
    const config = loadStackConfig();
    for (const warning of productionWarnings(config)) void pulumi.log.warn(warning);
    const plans = planServices(config);
    // Before anything is declared: a change the API server would refuse stops the run here.
    const statefulSets = await guardStatefulSets(plans, config.allowStatefulSetReplacement);

    const provider = new k8s.Provider("k8s", {
        kubeconfig: config.kubeconfig,
        context: config.kubeContext,
        enableServerSideApply: true,
        // Config and credential changes update in place instead of replacing (and re-creating) the objects.
        enableConfigMapMutable: true,
        enableSecretMutable: true,
    });
    const ca =
        config.tls.enabled && !config.tls.issuer ? new CertificateAuthority("platform-ca", { protect: config.protect }, { provider }) : undefined;
    const platform = platformContext(config, ca);

    const mariadb = new MariaDb("mariadb", { settings: config.mariadb, plan: plans.mariadb, platform }, { provider });
    const redis = new Redis("redis", { settings: config.redis, plan: plans.redis, platform }, { provider });
    const kafka = new Kafka("kafka", { settings: config.kafka, plan: plans.kafka, platform }, { provider });

    return {
        // Connection details (no secrets): host, port, namespace, credential Secrets, connection strings.
        mariadbConnection: mariadb.connection,
        redisConnection: redis.connection,
        kafkaConnection: kafka.connection,
        // PEM of the generated CA that signs the service certificates (public; empty without TLS or with an Issuer).
        tlsCaCertificate: ca ? ca.certPem : "",
        // Generated credentials: secret outputs only.
        mariadbRootPassword: mariadb.rootPasswordValue,
        mariadbUserPasswords: mariadb.userPasswordValues,
        redisPassword: redis.passwordValue,
        redisUserPasswords: redis.userPasswordValues,
        // The Sentinels' client password (redis.replicas > 1; empty for a standalone Redis).
        redisSentinelPassword: redis.sentinelPasswordValue ?? pulumi.secret(""),
        kafkaAdminPassword: kafka.adminPasswordValue,
        kafkaUserPasswords: kafka.userPasswordValues,
        // What the guard compares the next run with: each StatefulSet's immutable fields as deployed.
        statefulSets,
    } satisfies ProgramOutputs;
};
