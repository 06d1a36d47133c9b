// Redis 7.2 as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the server reads: files.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import { secretMap } from "../secrets";
import { planned } from "../workload/render";
import { StatefulService, StatefulServiceArgs } from "../workload/statefulService";
import type { RedisConnection } from "../outputs";
import { redisConnection, REDIS_GENERATED, REDIS_OBJECTS } from "./plan";
import type { RedisSettings } from "./settings";

export * from "./aclReconcile";
export * from "./backup";
export * from "./files";
export * from "./plan";
export * from "./sentinel";
export * from "./settings";

/** The `redis` settings, their plan (planRedis) and the stack-wide context. */
export type RedisArgs = StatefulServiceArgs<RedisSettings>;

export class Redis extends StatefulService {
    /** The admin (`default` user) password. */
    public readonly password: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    /** Secret redis-credentials: the admin password. */
    public readonly credentials: k8s.core.v1.Secret;
    /** Secret redis-acl: the ACL file and the ACL Job's command files made from it. */
    public readonly acl: k8s.core.v1.Secret;
    /** ConfigMap redis-config: redis.conf. */
    public readonly config: k8s.core.v1.ConfigMap;
    /** Connection details for clients (no secrets). */
    public readonly connection: RedisConnection;
    /** The admin password and each application user's, as secret outputs. */
    public readonly passwordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;
    /** The password clients authenticate to the Sentinels with (secret), when redis.replicas > 1. */
    public readonly sentinelPasswordValue?: pulumi.Output<string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Redis", name, args, opts);
        const r = this.rendered;
        this.password = planned(r.passwords, REDIS_GENERATED.adminPassword);
        this.userPasswords = Object.fromEntries(args.settings.users.map((u) => [u.name, planned(r.passwords, REDIS_GENERATED.userPassword(u.name))]));
        this.credentials = planned(r.secrets, REDIS_OBJECTS.credentials);
        this.acl = planned(r.secrets, REDIS_OBJECTS.acl);
        this.config = planned(r.configMaps, REDIS_OBJECTS.config);
        this.connection = redisConnection(args.settings, args.platform);
        this.passwordValue = pulumi.secret(this.password.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        // Only a replicated Redis runs Sentinels and so generates their password.
        const sentinelPassword = r.passwords.get(REDIS_GENERATED.sentinelPassword);
        this.sentinelPasswordValue = sentinelPassword ? pulumi.secret(sentinelPassword.result) : undefined;
        this.registerOutputs({ connection: this.connection });
    }
}
