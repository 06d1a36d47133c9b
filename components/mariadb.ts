// MariaDB 10.11 as a single-instance StatefulSet on the official image, with a generated root password,
// declared application databases/users reconciled at every start, and the Restricted pod profile.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { MariaDbDatabase, NetworkPolicySettings, PodSecurityLevel, ResourceSettings, TlsSettings } from "./config";
import { quantityToBytes } from "./config";
import { selectorLabels, standardLabels } from "./labels";
import { containerSecurityContext, hardenedPodFields, IMAGE_USERS } from "./podSecurity";
import { contentChecksum, generatedPassword, secretValue } from "./secrets";
import { CertificateAuthority, createServiceCertificate } from "./tls";
import {
    containerResources,
    createDisruptionBudget,
    createNamespace,
    createNetworkPolicies,
    createSecret,
    createServiceAccount,
    createServices,
    createUserCredential,
    dataVolumeClaim,
    headlessServiceName,
    PVC_RETENTION,
    scratchVolumes,
    STATEFULSET_ANNOTATIONS,
    statefulSetOptions,
} from "./workload";

export const MARIADB_PORT = 3306;
const APP = "mariadb";
/** Where the pieces are mounted in the container. */
export const MARIADB_PATHS = {
    data: "/var/lib/mysql",
    config: "/etc/mysql/conf.d",
    init: "/etc/mysql/init",
    initFile: "/etc/mysql/init/init.sql",
    credentials: "/etc/mysql/credentials",
    rootPasswordFile: "/etc/mysql/credentials/root-password",
    tls: "/etc/mysql/tls",
};

/** Probe commands; healthcheck.sh ships in the image and logs in with the healthcheck user it created. */
export const MARIADB_PROBES = {
    startup: ["healthcheck.sh", "--connect", "--innodb_initialized"],
    readiness: ["healthcheck.sh", "--connect", "--innodb_initialized"],
    liveness: ["healthcheck.sh", "--connect"],
};

/** Server options (my.cnf text). The InnoDB buffer pool takes 40% of the memory limit. */
export function mariadbServerConfig(opts: { memoryLimit: string; tls: boolean }): string {
    const bufferPoolMiB = Math.max(128, Math.floor((quantityToBytes(opts.memoryLimit) * 0.4) / 2 ** 20));
    const lines = [
        "[mariadbd]",
        "character-set-server = utf8mb4",
        "collation-server = utf8mb4_unicode_ci",
        "skip-name-resolve",
        "max_connections = 200",
        `innodb_buffer_pool_size = ${bufferPoolMiB}M`,
        // Reconciles the declared application users at every start (idempotent SQL from a Secret).
        `init_file = ${MARIADB_PATHS.initFile}`,
    ];
    if (opts.tls) {
        lines.push(
            `ssl_cert = ${MARIADB_PATHS.tls}/tls.crt`,
            `ssl_key = ${MARIADB_PATHS.tls}/tls.key`,
            `ssl_ca = ${MARIADB_PATHS.tls}/ca.crt`,
            // TCP clients must use TLS; the local socket (probes) stays usable.
            "require_secure_transport = ON",
        );
    }
    return lines.join("\n") + "\n";
}

/** One application database with its user's password (plain text: only ever placed in a Secret). */
export interface MariaDbGrant {
    database: string;
    user: string;
    password: string;
}

function sqlString(value: string): string {
    return "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

/**
 * The init SQL run by the server at every start (init_file): creates the declared databases and users and
 * resets their passwords and grants, so it is idempotent and a rotated password reaches the database.
 * root@'%' gets the current root password too (root@localhost, used by the image's own setup, is left alone).
 * One statement per line and no comments: init_file is read statement by statement.
 */
export function mariadbInitSql(rootPassword: string, grants: MariaDbGrant[]): string {
    const lines = [`ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY ${sqlString(rootPassword)};`];
    for (const g of grants) {
        const user = `${sqlString(g.user)}@'%'`;
        lines.push(
            `CREATE DATABASE IF NOT EXISTS \`${g.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`,
            `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${sqlString(g.password)};`,
            `ALTER USER ${user} IDENTIFIED BY ${sqlString(g.password)};`,
            // In a database-level grant `_` and `%` are wildcards: escape them, or shop_a would match shopxa.
            `GRANT ALL PRIVILEGES ON \`${g.database.replace(/[_%]/g, "\\$&")}\`.* TO ${user};`,
        );
    }
    return lines.join("\n") + "\n";
}

/** JDBC URL for MariaDB Connector/J; with TLS the server certificate is verified. */
export function mariadbJdbcUrl(host: string, port: number, database: string | undefined, tls: boolean): string {
    return `jdbc:mariadb://${host}:${port}/${database ?? ""}${tls ? "?sslMode=verify-full" : ""}`;
}

export interface MariaDbArgs {
    /** Namespace to create for MariaDB. Default in stack config: "db". */
    namespace: string;
    /** Image reference with an explicit tag. Default "mariadb:10.11". */
    image: string;
    /** StorageClass of the data volume. Default "local-path" (K3s). */
    storageClass: string;
    /** Size of the data volume. Default "10Gi". */
    storageSize: string;
    /** Container requests and limits; the buffer pool is sized from the memory limit. */
    resources: ResourceSettings;
    /** Application databases, each with its own user, password and Secret. Default none. */
    databases: MariaDbDatabase[];
    /** Pod Security level enforced on the namespace. Default "restricted". */
    podSecurityLevel: PodSecurityLevel;
    /** NetworkPolicy settings of the stack. Default off in development, on in production. */
    networkPolicies: NetworkPolicySettings;
    /** TLS settings of the stack. Default off. */
    tls: TlsSettings;
    /** Generated CA, used when TLS is on and no Issuer is configured. */
    ca?: CertificateAuthority;
    /** Protect the namespace, StatefulSet, passwords and credential Secrets. Default false (true in production). */
    protect: boolean;
}

/** Connection details of one application database. */
export interface MariaDbAppConnection {
    database: string;
    user: string;
    secretName: string;
    jdbcUrl: string;
}

export class MariaDb extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly rootPassword: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    public readonly credentials: k8s.core.v1.Secret;
    public readonly userSecrets: k8s.core.v1.Secret[];
    public readonly initScript: k8s.core.v1.Secret;
    public readonly config: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** In-cluster host name of the client Service. */
    public readonly host: string;
    public readonly port: number;
    /** Secret (in the MariaDB namespace) and key holding the root password. */
    public readonly rootSecret: { name: string; key: string };
    /** JDBC URL without a database. */
    public readonly jdbcUrl: string;
    /** TLS Secret name when TLS is on. */
    public readonly tlsSecretName?: string;
    public readonly applications: MariaDbAppConnection[];

    constructor(name: string, args: MariaDbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:MariaDb", name, {}, opts);
        const ns = args.namespace;
        const labels = standardLabels(APP, "database", args.image);
        const selector = selectorLabels(APP);
        const user = IMAGE_USERS.mariadb;
        this.host = `${APP}.${ns}.svc.cluster.local`;
        this.port = MARIADB_PORT;
        const tlsOn = args.tls.enabled;

        this.namespace = createNamespace(name, ns, args.podSecurityLevel, labels, this, args.protect);
        this.serviceAccount = createServiceAccount(name, APP, this.namespace.metadata.name, labels, this);

        this.rootPassword = generatedPassword(`${name}-root-password`, this, args.protect);
        this.rootSecret = { name: "mariadb-credentials", key: "root-password" };
        this.credentials = createSecret(
            `${name}-credentials`,
            this.rootSecret.name,
            this.namespace.metadata.name,
            labels,
            { [this.rootSecret.key]: secretValue(this.rootPassword) },
            this,
            args.protect,
        );

        this.userPasswords = {};
        this.userSecrets = [];
        this.applications = [];
        const grants: pulumi.Output<MariaDbGrant>[] = [];
        for (const db of args.databases) {
            const jdbcUrl = mariadbJdbcUrl(this.host, this.port, db.name, tlsOn);
            const credential = createUserCredential(
                name,
                APP,
                db.user,
                this.namespace.metadata.name,
                labels,
                () => ({ database: db.name, "jdbc-url": jdbcUrl }),
                this,
                args.protect,
            );
            this.userPasswords[db.user] = credential.password;
            this.userSecrets.push(credential.secret);
            this.applications.push({ database: db.name, user: db.user, secretName: credential.secretName, jdbcUrl });
            grants.push(secretValue(credential.password).apply((password) => ({ database: db.name, user: db.user, password })));
        }
        const initSql = pulumi
            .all([secretValue(this.rootPassword), pulumi.all(grants)])
            .apply(([root, g]) => mariadbInitSql(root, g));
        this.initScript = createSecret(
            `${name}-init`,
            "mariadb-init",
            this.namespace.metadata.name,
            labels,
            { "init.sql": initSql },
            this,
            false,
        );

        const serverConfig = mariadbServerConfig({ memoryLimit: args.resources.limits.memory, tls: tlsOn });
        this.config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: { name: "mariadb-config", namespace: this.namespace.metadata.name, labels }, data: { "my.cnf": serverConfig } },
            { parent: this },
        );

        const clientPorts = [{ name: "mysql", port: MARIADB_PORT }];
        const services = createServices(name, APP, this.namespace.metadata.name, labels, selector, clientPorts, [], this);
        this.service = services.service;
        this.headlessService = services.headless;

        if (tlsOn) {
            this.tlsSecretName = createServiceCertificate(
                name,
                { app: APP, namespaceName: ns, namespace: this.namespace.metadata.name, replicas: 1, labels, settings: args.tls, ca: args.ca },
                this,
            );
        }
        this.jdbcUrl = mariadbJdbcUrl(this.host, this.port, undefined, tlsOn);

        const volumes: k8s.types.input.core.v1.Volume[] = [
            ...scratchVolumes(["run", "tmp"]),
            { name: "config", configMap: { name: "mariadb-config" } },
            { name: "init", secret: { secretName: "mariadb-init", defaultMode: 0o440 } },
            { name: "credentials", secret: { secretName: this.rootSecret.name, defaultMode: 0o440 } },
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: "data", mountPath: MARIADB_PATHS.data },
            { name: "run", mountPath: "/run/mysqld" },
            { name: "tmp", mountPath: "/tmp" },
            { name: "config", mountPath: MARIADB_PATHS.config, readOnly: true },
            { name: "init", mountPath: MARIADB_PATHS.init, readOnly: true },
            { name: "credentials", mountPath: MARIADB_PATHS.credentials, readOnly: true },
        ];
        if (this.tlsSecretName) {
            volumes.push({ name: "tls", secret: { secretName: this.tlsSecretName, defaultMode: 0o440 } });
            mounts.push({ name: "tls", mountPath: MARIADB_PATHS.tls, readOnly: true });
        }

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            {
                metadata: { name: APP, namespace: this.namespace.metadata.name, labels, annotations: STATEFULSET_ANNOTATIONS },
                spec: {
                    serviceName: headlessServiceName(APP),
                    replicas: 1,
                    selector: { matchLabels: selector },
                    podManagementPolicy: "OrderedReady",
                    updateStrategy: { type: "RollingUpdate" },
                    persistentVolumeClaimRetentionPolicy: PVC_RETENTION,
                    template: {
                        metadata: {
                            labels,
                            annotations: {
                                "checksum/config": contentChecksum(serverConfig),
                                "checksum/init": contentChecksum(initSql),
                            },
                        },
                        spec: {
                            ...hardenedPodFields(user, APP),
                            terminationGracePeriodSeconds: 60,
                            containers: [
                                {
                                    name: APP,
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    ports: [{ name: "mysql", containerPort: MARIADB_PORT, protocol: "TCP" }],
                                    env: [
                                        // Read from the mounted Secret file: the password is never an env value.
                                        { name: "MARIADB_ROOT_PASSWORD_FILE", value: MARIADB_PATHS.rootPasswordFile },
                                        // Run mariadb-upgrade after an image bump (and create the healthcheck user on old data dirs).
                                        { name: "MARIADB_AUTO_UPGRADE", value: "1" },
                                    ],
                                    resources: containerResources(args.resources),
                                    securityContext: containerSecurityContext(user),
                                    volumeMounts: mounts,
                                    startupProbe: {
                                        exec: { command: MARIADB_PROBES.startup },
                                        periodSeconds: 5,
                                        timeoutSeconds: 5,
                                        // First initialisation (and an upgrade) may take minutes.
                                        failureThreshold: 120,
                                    },
                                    readinessProbe: {
                                        exec: { command: MARIADB_PROBES.readiness },
                                        periodSeconds: 10,
                                        timeoutSeconds: 5,
                                        failureThreshold: 3,
                                    },
                                    livenessProbe: {
                                        exec: { command: MARIADB_PROBES.liveness },
                                        periodSeconds: 10,
                                        timeoutSeconds: 5,
                                        failureThreshold: 6,
                                    },
                                },
                            ],
                            volumes,
                        },
                    },
                    volumeClaimTemplates: [dataVolumeClaim(args.storageClass, args.storageSize, selector)],
                },
            },
            statefulSetOptions(this, args.protect, [this.credentials, this.initScript, this.config, this.serviceAccount]),
        );
        this.disruptionBudget = createDisruptionBudget(name, APP, this.namespace.metadata.name, labels, selector, this);
        this.networkPolicies = createNetworkPolicies(
            name,
            { namespace: ns, podSelector: selector, clientPorts: [MARIADB_PORT], peerPorts: [] },
            args.networkPolicies,
            labels,
            this,
        );

        this.registerOutputs({
            host: this.host,
            port: this.port,
            jdbcUrl: this.jdbcUrl,
            rootSecret: this.rootSecret,
            applications: this.applications,
        });
    }
}
