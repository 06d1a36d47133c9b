// Redis 7.2 as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the server reads: files.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import type { MonitoringSettings } from "../config/operations";
import type { PlatformContext } from "../platform";
import { secretMap } from "../secrets";
import { renderService } from "../workload/render";
import { planRedis, redisConnection, RedisConnection, REDIS_GENERATED, REDIS_OBJECTS } from "./plan";
import type { RedisSettings } from "./settings";

export * from "./backup";
export * from "./files";
export * from "./plan";
export * from "./sentinel";
export * from "./settings";

export interface RedisArgs extends RedisSettings {
    /** The stack-wide settings: storage class, pod security, NetworkPolicies, TLS and its CA, protection. */
    platform: PlatformContext;
    /** The stack's `monitoring` settings (exporter sidecar, Prometheus Operator objects). Default: their defaults. */
    monitoring?: MonitoringSettings;
}

export class Redis extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** The admin (`default` user) password. */
    public readonly password: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    /** Secret redis-credentials: the admin password. */
    public readonly credentials: k8s.core.v1.Secret;
    /** Secret redis-acl: the ACL file. */
    public readonly acl: k8s.core.v1.Secret;
    /** ConfigMap redis-config: redis.conf. */
    public readonly config: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** Connection details for clients (no secrets). */
    public readonly connection: RedisConnection;
    /** The admin password and each application user's, as secret outputs. */
    public readonly passwordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;
    /** The password clients authenticate to the Sentinels with (secret), when redis.replicas > 1. */
    public readonly sentinelPasswordValue?: pulumi.Output<string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Redis", name, {}, opts);
        const r = renderService(this, name, planRedis(args, { ...args.platform, monitoring: args.monitoring }), args.platform);
        this.namespace = r.namespace;
        this.serviceAccount = r.serviceAccount;
        this.password = r.generated.get(REDIS_GENERATED.adminPassword) as random.RandomPassword;
        this.userPasswords = Object.fromEntries(args.users.map((u) => [u.name, r.generated.get(REDIS_GENERATED.userPassword(u.name)) as random.RandomPassword]));
        this.credentials = r.objects.get(REDIS_OBJECTS.credentials) as k8s.core.v1.Secret;
        this.acl = r.objects.get(REDIS_OBJECTS.acl) as k8s.core.v1.Secret;
        this.config = r.objects.get(REDIS_OBJECTS.config) as k8s.core.v1.ConfigMap;
        this.service = r.service;
        this.headlessService = r.headlessService;
        this.statefulSet = r.statefulSet;
        this.disruptionBudget = r.disruptionBudget;
        this.networkPolicies = r.networkPolicies;
        this.connection = redisConnection(args, args.platform);
        this.passwordValue = pulumi.secret(this.password.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        const sentinelPassword = r.generated.get(REDIS_GENERATED.sentinelPassword) as random.RandomPassword | undefined;
        this.sentinelPasswordValue = sentinelPassword ? pulumi.secret(sentinelPassword.result) : undefined;
        this.registerOutputs({ connection: this.connection });
    }
}
