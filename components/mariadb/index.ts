// MariaDB 10.11 as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the server reads: files.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import type { MonitoringSettings } from "../config/operations";
import type { PlatformContext } from "../platform";
import { secretMap } from "../secrets";
import { renderService } from "../workload/render";
import { mariadbConnection, MariaDbConnection, MARIADB_GENERATED, MARIADB_OBJECTS, planMariaDb } from "./plan";
import type { MariaDbSettings } from "./settings";

export * from "./backup";
export * from "./files";
export * from "./plan";
export * from "./settings";

export interface MariaDbArgs extends MariaDbSettings {
    /** The stack-wide settings: storage class, pod security, NetworkPolicies, TLS and its CA, protection. */
    platform: PlatformContext;
    /** The stack's `monitoring` settings (exporter sidecar, Prometheus Operator objects). Default: their defaults. */
    monitoring?: MonitoringSettings;
}

export class MariaDb extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly rootPassword: random.RandomPassword;
    /** Generated password of each application user. */
    public readonly userPasswords: Record<string, random.RandomPassword>;
    /** Secret mariadb-credentials: the root password. */
    public readonly credentials: k8s.core.v1.Secret;
    /** Secret mariadb-init: the init SQL that reconciles users at every start. */
    public readonly initScript: k8s.core.v1.Secret;
    /** ConfigMap mariadb-config: my.cnf. */
    public readonly config: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** Backup CronJobs (mariadb-backup, mariadb-binlog-archive) and their claims, by plan id. */
    public readonly cronJobs: ReadonlyMap<string, k8s.batch.v1.CronJob>;
    public readonly claims: ReadonlyMap<string, k8s.core.v1.PersistentVolumeClaim>;
    /** Connection details for clients (no secrets). */
    public readonly connection: MariaDbConnection;
    /** The root password and each application user's, as secret outputs. */
    public readonly rootPasswordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: MariaDbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:MariaDb", name, {}, opts);
        const plan = planMariaDb(args, { ...args.platform, monitoring: args.monitoring });
        const r = renderService(this, name, plan, args.platform);
        this.namespace = r.namespace;
        this.serviceAccount = r.serviceAccount;
        this.rootPassword = r.generated.get(MARIADB_GENERATED.rootPassword) as random.RandomPassword;
        this.userPasswords = Object.fromEntries(args.databases.map((d) => [d.user, r.generated.get(MARIADB_GENERATED.userPassword(d.user)) as random.RandomPassword]));
        this.credentials = r.objects.get(MARIADB_OBJECTS.credentials) as k8s.core.v1.Secret;
        this.initScript = r.objects.get(MARIADB_OBJECTS.init) as k8s.core.v1.Secret;
        this.config = r.objects.get(MARIADB_OBJECTS.config) as k8s.core.v1.ConfigMap;
        this.service = r.service;
        this.headlessService = r.headlessService;
        this.statefulSet = r.statefulSet;
        this.disruptionBudget = r.disruptionBudget;
        this.networkPolicies = r.networkPolicies;
        this.cronJobs = r.cronJobs;
        this.claims = r.claims;
        this.connection = mariadbConnection(args, args.platform);
        this.rootPasswordValue = pulumi.secret(this.rootPassword.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        this.registerOutputs({ connection: this.connection });
    }
}
