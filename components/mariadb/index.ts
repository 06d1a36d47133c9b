// MariaDB 10.11 as a component: plan (plan.ts) rendered by the shared renderer. Settings: settings.ts;
// the files the server reads: files.ts.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import { secretMap } from "../secrets";
import { planned } from "../workload/render";
import { StatefulService, StatefulServiceArgs } from "../workload/statefulService";
import type { MariaDbConnection } from "../outputs";
import { mariadbConnection, MARIADB_GENERATED, MARIADB_OBJECTS } from "./plan";
import type { MariaDbSettings } from "./settings";

export * from "./backup";
export * from "./files";
export * from "./plan";
export * from "./reconcile";
export * from "./settings";

/** The `mariadb` settings, their plan (planMariaDb) and the stack-wide context. */
export type MariaDbArgs = StatefulServiceArgs<MariaDbSettings>;

export class MariaDb extends StatefulService {
    public readonly rootPassword: random.RandomPassword;
    /** Generated password of each application user. */
    public readonly userPasswords: Record<string, random.RandomPassword>;
    /** Secret mariadb-credentials: the root password. */
    public readonly credentials: k8s.core.v1.Secret;
    /** Secret mariadb-init: the init SQL that reconciles the operations accounts at every start. */
    public readonly initScript: k8s.core.v1.Secret;
    /** ConfigMap mariadb-config: my.cnf. */
    public readonly config: k8s.core.v1.ConfigMap;
    /** Backup CronJobs (mariadb-backup, mariadb-binlog-archive) and their claims, by plan id. */
    public readonly cronJobs: ReadonlyMap<string, k8s.batch.v1.CronJob>;
    public readonly claims: ReadonlyMap<string, k8s.core.v1.PersistentVolumeClaim>;
    /** Connection details for clients (no secrets). */
    public readonly connection: MariaDbConnection;
    /** The root password and each application user's, as secret outputs. */
    public readonly rootPasswordValue: pulumi.Output<string>;
    public readonly userPasswordValues: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: MariaDbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:MariaDb", name, args, opts);
        const r = this.rendered;
        this.rootPassword = planned(r.passwords, MARIADB_GENERATED.rootPassword);
        this.userPasswords = Object.fromEntries(args.settings.databases.map((d) => [d.user, planned(r.passwords, MARIADB_GENERATED.userPassword(d.user))]));
        this.credentials = planned(r.secrets, MARIADB_OBJECTS.credentials);
        this.initScript = planned(r.secrets, MARIADB_OBJECTS.init);
        this.config = planned(r.configMaps, MARIADB_OBJECTS.config);
        this.cronJobs = r.cronJobs;
        this.claims = r.claims;
        this.connection = mariadbConnection(args.settings, args.platform);
        this.rootPasswordValue = pulumi.secret(this.rootPassword.result);
        this.userPasswordValues = secretMap(this.userPasswords);
        this.registerOutputs({ connection: this.connection });
    }
}
