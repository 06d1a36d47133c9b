// MariaDB's plan: the official image as a StatefulSet, a generated root password, declared application
// databases and users applied live by the reconcile Job (reconcile.ts), and the Restricted pod profile.

import { mariadbExporterContainer, mariadbMonitoring } from "../monitoring/mariadb";
import type { BackupAlert } from "../monitoring/rules";
import { IMAGE_USERS } from "../imageUsers";
import { tlsConnection } from "../connections";
import type { MariaDbConnection } from "../outputs";
import { backupContainer, backupCronJobPlan } from "../workload/operations";
import type { S3Settings } from "../config/backups";
import { s3ConfigObject, s3EndpointPort, withS3Step, type S3Upload } from "../backup/s3";
import {
    CronJobPlan,
    type DataEntryPlan,
    dataVolume,
    JobPlan,
    derived,
    generatedValue,
    mountObject,
    PlanContext,
    replicaPlacement,
    scratch,
    ServicePlan,
    tlsVolume,
    userSecretName,
} from "../workload/plan";
import { serviceHost } from "../dnsNames";
import { tlsReloaderContainer } from "../workload/tlsReload";
import {
    BINLOG_PREFIX,
    INIT_PASSWORD_REDACTED,
    MARIADB_APP,
    MARIADB_PATHS,
    MARIADB_PORT,
    MARIADB_PROBES,
    MARIADB_REPLICATED_READINESS,
    mariadbCloneScript,
    mariadbInitSql,
    mariadbJdbcUrl,
    mariadbPodHost,
    mariadbReadinessScript,
    mariadbRoleSql,
    mariadbServerConfig,
    mariadbStartScript,
    mariadbTlsReloadCommand,
    prepareVolumeScript,
} from "./files";
import { backupClientConfig, binlogArchiveScript, exporterClientConfig, FULL_BACKUP_PREFIX, MARIADB_BACKUP_PATHS, mariadbBackupScript } from "./backup";
import type { MariaDbSettings } from "./settings";
import { RECONCILE_PATHS, reconcileSecretFiles, reconcileSpecFiles, type OperationsPasswords } from "./reconcile";
import { sha256 } from "../hash";

/** Names of MariaDB's ConfigMap and Secrets. */
export const MARIADB_OBJECTS = {
    credentials: "mariadb-credentials",
    init: "mariadb-init",
    config: "mariadb-config",
    /** The backup account's option file and the backup scripts. */
    backupCredentials: "mariadb-backup-credentials",
    backupScripts: "mariadb-backup-scripts",
    /** mysqld_exporter's option file. */
    exporterCredentials: "mariadb-exporter-credentials",
    /** Replicated stacks: the start script, the clone script and the readiness script. */
    replication: "mariadb-replication",
    /** The reconcile Job's script and redacted statements (ConfigMap), its SQL and option files (Secret). */
    reconcile: "mariadb-reconcile",
    reconcileCredentials: "mariadb-reconcile-credentials",
};
/** The reconcile Job: plan id and name prefix (a hash of its spec and of what it mounts follows). */
export const MARIADB_RECONCILE_JOB = { id: "reconcile", name: "mariadb-reconcile" };
/** The mariadb client and bash: small. */
const RECONCILE_RESOURCES = { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } };
/** The backup CronJobs and their claims. */
export const MARIADB_BACKUP = {
    cronJob: "mariadb-backup",
    claim: "mariadb-backup",
    binlogCronJob: "mariadb-binlog-archive",
    binlogClaim: "mariadb-binlog-archive",
};
/** The Secret key of the root password. */
export const ROOT_PASSWORD_KEY = "root-password";

/** Ids of MariaDB's generated values (resources `${name}-<id>`). */
export const MARIADB_GENERATED = {
    rootPassword: "root-password",
    userPassword: (user: string) => `user-${user}-password`,
    backupPassword: "backup-password",
    exporterPassword: "exporter-password",
    replicationPassword: "replication-password",
    /** The reconcile Job's own account. */
    reconcilePassword: "reconcile-password",
};
const rootPassword = MARIADB_GENERATED.rootPassword;
const userPassword = MARIADB_GENERATED.userPassword;

/** Whether the stack runs a primary with replicas (mariadb.replicas > 1). */
export function mariadbReplicated(settings: MariaDbSettings): boolean {
    return settings.replicas > 1;
}

/** Ordinals of the replicas: every pod but the primary. */
export function mariadbReplicaOrdinals(settings: MariaDbSettings): number[] {
    return [...Array(settings.replicas).keys()].filter((i) => i !== settings.primary);
}

/** The label the StatefulSet controller puts on each pod with its name: the client Service selects the primary by it. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";

/** Resources of a backup run: a dump streams through gzip; bounded so a runaway job cannot starve the node. */
export const BACKUP_RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } };
/** A dump of tens of GiB takes an hour or two; past 6 hours it is stuck (and the next day's run never overlaps: Forbid). */
export const BACKUP_DEADLINE_SECONDS = 6 * 3600;
/** Copying a few minutes of binary logs takes seconds; half an hour means it is stuck. */
export const BINLOG_ARCHIVE_DEADLINE_SECONDS = 30 * 60;

/**
 * Decides every object of the MariaDB service. `platform.monitoring` (the stack's `monitoring` settings)
 * turns the exporter sidecar and the Prometheus Operator objects on.
 */
export function planMariaDb(settings: MariaDbSettings, platform: PlanContext): ServicePlan {
    const host = serviceHost(MARIADB_APP, settings.namespace);
    const tls = platform.tls.enabled;
    const monitoring = platform.monitoring;
    const backup = settings.backup.enabled;
    const pointInTime = settings.backup.pointInTime;
    const exporter = monitoring.exporters;
    const replicated = mariadbReplicated(settings);
    // Replicas replay the primary's binary log, so replication needs it whether or not backups archive it.
    const binlog = pointInTime || replicated;
    // Off-site copies: each backup Job uploads what it wrote (the claims become staging areas).
    const s3 = backup ? platform.backups?.s3 : undefined;
    const { backupPassword, exporterPassword, replicationPassword, reconcilePassword } = MARIADB_GENERATED;
    // The operations accounts the init SQL creates at every start. Their passwords are also set live by the
    // reconcile Job, so a rotation rolls no pod (init entries rollout: false; their redacted text rolls).
    const initUses = [
        ...(backup ? [backupPassword] : []),
        ...(exporter ? [exporterPassword] : []),
        ...(replicated ? [replicationPassword] : []),
    ];
    const users = settings.databases.map((db) => ({
        db,
        password: userPassword(db.user),
        jdbcUrl: mariadbJdbcUrl(host, MARIADB_PORT, db.name, tls),
    }));
    const initSql = (v: Readonly<Record<string, string>>) =>
        mariadbInitSql({
            reloader: tls,
            backup: backup ? v[backupPassword] : undefined,
            exporter: exporter ? v[exporterPassword] : undefined,
            binlog,
            replication: replicated ? v[replicationPassword] : undefined,
        });
    // The operations accounts the stack runs, with the id of each one's password.
    const operationIds = {
        ...(backup ? { backup: backupPassword } : {}),
        ...(exporter ? { exporter: exporterPassword } : {}),
        ...(replicated ? { replication: replicationPassword } : {}),
    } as Record<keyof OperationsPasswords, string | undefined>;
    const operations = (v: Readonly<Record<string, string>>): OperationsPasswords =>
        Object.fromEntries(Object.entries(operationIds).map(([k, id]) => [k, v[id!]]));
    const replicaHosts = replicated ? mariadbReplicaOrdinals(settings).map((i) => mariadbPodHost(i, settings.namespace)) : undefined;
    const reconcileUses = [rootPassword, reconcilePassword, ...users.map((u) => u.password), ...initUses];
    const reconcileSecret = (v: Readonly<Record<string, string>>) =>
        reconcileSecretFiles({
            namespace: settings.namespace,
            tls,
            root: v[rootPassword],
            reconcile: v[reconcilePassword],
            users: users.map((u) => ({ database: u.db.name, user: u.db.user, password: v[u.password] })),
            backup,
            operations: operations(v),
            replicas: replicaHosts,
        });
    const reconcileSpec = reconcileSpecFiles({
        users: users.map((u) => ({ database: u.db.name, user: u.db.user, password: "" })),
        backup,
        operations: Object.keys(operationIds) as (keyof OperationsPasswords)[],
        replicas: replicaHosts,
    });
    const backups: BackupAlert[] = [
        ...(backup
            ? [
                  {
                      job: backupCronJob({
                          id: "backup",
                          name: MARIADB_BACKUP.cronJob,
                          schedule: settings.backup.schedule,
                          script: "backup.sh",
                          claim: MARIADB_BACKUP.claim,
                          claimPath: MARIADB_BACKUP_PATHS.backup,
                          activeDeadlineSeconds: BACKUP_DEADLINE_SECONDS,
                          settings,
                          tls,
                          s3: s3 && {
                              settings: s3,
                              upload: {
                                  set: "full",
                                  dir: MARIADB_BACKUP_PATHS.full,
                                  glob: `${FULL_BACKUP_PREFIX}*.sql.gz`,
                                  companion: true,
                                  prune: true,
                                  // Archived binary logs older than the oldest kept dump can no longer be replayed.
                                  alsoOlder: pointInTime ? "binlogs" : undefined,
                              },
                          },
                      }),
                      what: "The MariaDB full backup",
                  },
              ]
            : []),
        ...(pointInTime
            ? [
                  {
                      job: backupCronJob({
                          id: "binlog-archive",
                          name: MARIADB_BACKUP.binlogCronJob,
                          schedule: settings.backup.binlogArchiveSchedule,
                          script: "binlog-archive.sh",
                          claim: MARIADB_BACKUP.binlogClaim,
                          claimPath: MARIADB_BACKUP_PATHS.binlogs,
                          activeDeadlineSeconds: BINLOG_ARCHIVE_DEADLINE_SECONDS,
                          settings,
                          tls,
                          // Pruned by the full backup's step, against the oldest dump it keeps.
                          s3: s3 && { settings: s3, upload: { set: "binlogs", dir: MARIADB_BACKUP_PATHS.binlogs, glob: `${BINLOG_PREFIX}[0-9]*`, prune: false } },
                      }),
                      what: "The MariaDB binary-log archive",
                  },
              ]
            : []),
    ];
    const roleSql = (role: Parameters<typeof mariadbRoleSql>[0], v: Readonly<Record<string, string>>) =>
        mariadbRoleSql(role.primary ? role : { ...role, password: v[replicationPassword] }).join("\n") + "\n";
    const primarySql = (v: Readonly<Record<string, string>>) => (replicated ? roleSql({ primary: true, semiSync: settings.semiSync }, v) : "") + initSql(v);
    const replicaSql = (v: Readonly<Record<string, string>>) => roleSql({ primary: false, of: settings.primary, namespace: settings.namespace, password: "", tls }, v) + initSql(v);
    const redacted = Object.fromEntries(initUses.map((id) => [id, INIT_PASSWORD_REDACTED]));
    const initFiles = (sql: (v: Readonly<Record<string, string>>) => string, key: string): DataEntryPlan[] => [
        { key, content: derived(initUses, sql), rollout: false },
        { key: key.replace(/\.sql$/, ".shown"), content: sql(redacted) },
    ];
    return {
        app: MARIADB_APP,
        component: "database",
        namespace: settings.namespace,
        image: settings.image,
        generated: [
            { id: rootPassword, kind: "password" },
            { id: reconcilePassword, kind: "password" },
            ...users.map((u) => ({ id: u.password, kind: "password" as const })),
            ...(backup ? [{ id: backupPassword, kind: "password" as const }] : []),
            ...(exporter ? [{ id: exporterPassword, kind: "password" as const }] : []),
            ...(replicated ? [{ id: replicationPassword, kind: "password" as const }] : []),
        ],
        objects: [
            {
                id: "credentials",
                kind: "Secret",
                name: MARIADB_OBJECTS.credentials,
                // Read by the image only when it initialises an empty data dir, and by the start and clone
                // scripts when they run; later rotations reach the server through the reconcile Job: no roll.
                data: [{ key: ROOT_PASSWORD_KEY, content: generatedValue(rootPassword), rollout: false }],
                protect: true,
            },
            ...users.map((u) => ({
                id: `user-${u.db.user}`,
                kind: "Secret" as const,
                name: userSecretName(MARIADB_APP, u.db.user),
                data: [
                    { key: "username", content: u.db.user },
                    { key: "password", content: generatedValue(u.password) },
                    { key: "database", content: u.db.name },
                    { key: "jdbc-url", content: u.jdbcUrl },
                ],
                protect: true,
            })),
            {
                id: "reconcile-credentials",
                kind: "Secret",
                name: MARIADB_OBJECTS.reconcileCredentials,
                // Mounted by the reconcile Job only: a change (a user declared, a password rotated) names a new Job.
                data: Object.keys(reconcileSecret(Object.fromEntries(reconcileUses.map((id) => [id, "x"])))).map((key) => ({
                    key,
                    content: derived(reconcileUses, (v) => reconcileSecret(v)[key]),
                    rollout: false,
                })),
                protect: false,
            },
            {
                id: "reconcile",
                kind: "ConfigMap",
                name: MARIADB_OBJECTS.reconcile,
                data: Object.entries(reconcileSpec).map(([key, content]) => ({ key, content, rollout: false })),
                protect: false,
            },
            {
                id: "init",
                kind: "Secret",
                name: MARIADB_OBJECTS.init,
                data: [
                    // The role first: the server stops executing init_file at the first failing statement, and an
                    // account statement that fails must not leave a replica without replication or a primary
                    // without semi-sync.
                    // The passwords in them change without a roll: the reconcile Job sets them live, and a pod that
                    // starts later reads the current file. Their redacted text (*.shown: the passwords replaced)
                    // rolls the pods on any other change (an account added, a privilege, the role statements).
                    ...initFiles(primarySql, "init.sql"),
                    // A replica runs the same accounts, then points replication at the primary.
                    ...(replicated ? initFiles(replicaSql, "init-replica.sql") : []),
                ],
                protect: false,
            },
            {
                id: "config",
                kind: "ConfigMap",
                name: MARIADB_OBJECTS.config,
                data: [
                    {
                        key: "my.cnf",
                        content: mariadbServerConfig({
                            memoryLimit: settings.resources.limits.memory,
                            tls,
                            binlog: pointInTime,
                            replication: replicated ? { semiSync: settings.semiSync } : undefined,
                        }),
                    },
                ],
                protect: false,
            },
            ...(replicated
                ? [
                      {
                          id: "replication",
                          kind: "ConfigMap" as const,
                          name: MARIADB_OBJECTS.replication,
                          data: [
                              { key: "start.sh", content: mariadbStartScript({ primary: settings.primary, namespace: settings.namespace, replicas: settings.replicas, tls }) },
                              { key: "clone.sh", content: mariadbCloneScript({ primary: settings.primary, namespace: settings.namespace, tls }) },
                              { key: "ready.sh", content: mariadbReadinessScript() },
                          ],
                          protect: false,
                      },
                  ]
                : []),
            ...(backup
                ? [
                      {
                          id: "backup-credentials",
                          kind: "Secret" as const,
                          name: MARIADB_OBJECTS.backupCredentials,
                          data: [
                              {
                                  key: "client.cnf",
                                  content: derived([backupPassword], (v) => backupClientConfig({ namespace: settings.namespace, password: v[backupPassword], tls })),
                              },
                          ],
                          protect: false,
                      },
                      {
                          id: "backup-scripts",
                          kind: "ConfigMap" as const,
                          name: MARIADB_OBJECTS.backupScripts,
                          data: [
                              { key: "backup.sh", content: mariadbBackupScript({ retentionDays: settings.backup.retentionDays, pointInTime }) },
                              ...(pointInTime ? [{ key: "binlog-archive.sh", content: binlogArchiveScript({ retentionDays: settings.backup.retentionDays + 1 }) }] : []),
                          ],
                          protect: false,
                      },
                      ...(s3 ? [s3ConfigObject(s3, { namespace: settings.namespace, app: MARIADB_APP })] : []),
                  ]
                : []),
            ...(exporter
                ? [
                      {
                          id: "exporter-credentials",
                          kind: "Secret" as const,
                          name: MARIADB_OBJECTS.exporterCredentials,
                          // The sidecar reloads it when the kubelet refreshes the file (mariadbExporterCommand): no roll.
                          data: [{ key: "my.cnf", content: derived([exporterPassword], (v) => exporterClientConfig(v[exporterPassword])), rollout: false }],
                          protect: false,
                      },
                  ]
                : []),
        ],
        tls,
        // Writes go to the primary only; replicas are reached by their pod names (mariadbConnection.readHosts).
        clientSelector: replicated ? { [POD_NAME_LABEL]: `${MARIADB_APP}-${settings.primary}` } : undefined,
        workload: {
            replicas: settings.replicas,
            // Not OrderedReady: while pod 0 is not Running and Ready (a dead primary's node, a pod stuck
            // terminating) the controller would recreate no other pod and roll nothing, and the promotion's
            // `pulumi up` would wait forever. New replicas wait for the primary in their clone init container.
            podManagementPolicy: "Parallel",
            terminationGracePeriodSeconds: 60,
            user: IMAGE_USERS.mariadb,
            // A node (or zone) loss takes at most one copy of the data.
            placement: replicaPlacement(settings.replicas, platform.environment),
            storage: { size: settings.storageSize, storageClass: platform.storageClass },
            initContainers: [
                {
                    name: "prepare-volume",
                    image: settings.image,
                    command: ["bash", "-c", prepareVolumeScript()],
                    ports: [],
                    env: [],
                    resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "64Mi" } },
                    mounts: [dataVolume(MARIADB_PATHS.data)],
                    probes: {},
                },
                ...(replicated
                    ? [
                          {
                              name: "clone-primary",
                              image: settings.image,
                              command: ["bash", MARIADB_PATHS.cloneScript],
                              ports: [],
                              env: [],
                              // It runs a temporary server and the load of the copy: the server's own resources.
                              resources: settings.resources,
                              mounts: [
                                  dataVolume(MARIADB_PATHS.data),
                                  scratch("tmp", MARIADB_PATHS.tmp),
                                  mountObject("replication", MARIADB_PATHS.replicationScripts, MARIADB_OBJECTS.replication),
                                  mountObject("credentials", MARIADB_PATHS.credentials, MARIADB_OBJECTS.credentials),
                                  ...(tls ? [tlsVolume(MARIADB_PATHS.tls)] : []),
                              ],
                              probes: {},
                          },
                      ]
                    : []),
            ],
            containers: [
                {
                    name: MARIADB_APP,
                    image: settings.image,
                    // Replicated: the start script gives each pod its server_id and role, then runs the entrypoint.
                    command: replicated ? ["bash", MARIADB_PATHS.startScript] : undefined,
                    // Replicas connect to the primary's client port.
                    ports: [{ name: "mysql", port: MARIADB_PORT, exposure: "client", ...(replicated ? { peers: true } : {}) }],
                    env: [
                        // Read from the mounted Secret file: the password is never an env value.
                        { name: "MARIADB_ROOT_PASSWORD_FILE", value: MARIADB_PATHS.rootPasswordFile },
                        // Run mariadb-upgrade after an image bump (and create the healthcheck user on old data dirs).
                        { name: "MARIADB_AUTO_UPGRADE", value: "1" },
                    ],
                    resources: settings.resources,
                    mounts: [
                        dataVolume(MARIADB_PATHS.data),
                        scratch("run", MARIADB_PATHS.socketDir),
                        scratch("tmp", MARIADB_PATHS.tmp),
                        mountObject("config", MARIADB_PATHS.config, MARIADB_OBJECTS.config),
                        mountObject("init", MARIADB_PATHS.init, MARIADB_OBJECTS.init),
                        mountObject("credentials", MARIADB_PATHS.credentials, MARIADB_OBJECTS.credentials),
                        ...(replicated ? [mountObject("replication", MARIADB_PATHS.replicationScripts, MARIADB_OBJECTS.replication)] : []),
                        ...(tls ? [tlsVolume(MARIADB_PATHS.tls)] : []),
                    ],
                    probes: {
                        // First initialisation (and an upgrade) may take minutes.
                        startup: { exec: { command: MARIADB_PROBES.startup }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 120 },
                        // Replicated: a replica is Ready only while it replicates (ready.sh); the primary as standalone.
                        readiness: { exec: { command: replicated ? MARIADB_REPLICATED_READINESS : MARIADB_PROBES.readiness }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                        liveness: { exec: { command: MARIADB_PROBES.liveness }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                    },
                },
                ...(tls
                    ? [
                          tlsReloaderContainer({
                              image: settings.image,
                              tlsMount: tlsVolume(MARIADB_PATHS.tls),
                              reload: mariadbTlsReloadCommand(),
                              mounts: [scratch("run", MARIADB_PATHS.socketDir)],
                          }),
                      ]
                    : []),
                ...(exporter
                    ? [
                          mariadbExporterContainer({
                              image: settings.exporterImage,
                              socket: scratch("run", MARIADB_PATHS.socketDir),
                              credentials: mountObject("exporter-credentials", MARIADB_BACKUP_PATHS.exporterDir, MARIADB_OBJECTS.exporterCredentials),
                          }),
                      ]
                    : []),
            ],
        },
        claims: [
            ...(backup ? [{ id: "backup-claim", name: MARIADB_BACKUP.claim, size: settings.backup.storageSize, storageClass: platform.storageClass }] : []),
            ...(pointInTime
                ? [{ id: "binlog-archive-claim", name: MARIADB_BACKUP.binlogClaim, size: settings.backup.binlogStorageSize, storageClass: platform.storageClass }]
                : []),
        ],
        jobs: [reconcileJob(settings, tls, sha256(JSON.stringify(reconcileSpec)))],
        cronJobs: backups.map((b) => b.job),
        jobEgressPorts: s3 ? [s3EndpointPort(s3)] : undefined,
        extraObjects: mariadbMonitoring({ namespace: settings.namespace, monitoring, backups, tls: platform.tls }),
    };
}

/**
 * The reconcile Job: runs once the StatefulSet is ready (Pulumi waits for it), with the mariadb image's client,
 * through the client Service (the primary), port 3306 (allow-jobs). Its name carries the hash of its spec and
 * of every entry it mounts, so a declared user or a rotated password is a new Job, and an unchanged stack runs
 * none. RECONCILE_SPEC (the redacted declaration's hash) is also in its spec, as Kafka's is.
 */
function reconcileJob(settings: MariaDbSettings, tls: boolean, specHash: string): JobPlan {
    return {
        id: MARIADB_RECONCILE_JOB.id,
        name: MARIADB_RECONCILE_JOB.name,
        afterWorkload: true,
        // A primary restarting meanwhile: retried, every run starts from what the server has.
        backoffLimit: 3,
        activeDeadlineSeconds: 600,
        containers: [
            {
                name: "reconcile",
                image: settings.image,
                command: ["bash", `${RECONCILE_PATHS.spec}/reconcile.sh`],
                ports: [],
                env: [{ name: "RECONCILE_SPEC", value: specHash.slice(0, 16) }],
                resources: RECONCILE_RESOURCES,
                mounts: [
                    mountObject("reconcile", RECONCILE_PATHS.spec, MARIADB_OBJECTS.reconcile, 0o555),
                    mountObject("reconcile-credentials", RECONCILE_PATHS.credentials, MARIADB_OBJECTS.reconcileCredentials),
                    ...(tls ? [tlsVolume(MARIADB_PATHS.tls)] : []),
                    scratch("tmp", RECONCILE_PATHS.tmp, "16Mi"),
                ],
                probes: {},
            },
        ],
    };
}

/** A backup CronJob: the mariadb image runs one of the mounted scripts against the service. */
function backupCronJob(o: {
    id: string;
    name: string;
    schedule: string;
    script: string;
    claim: string;
    claimPath: string;
    activeDeadlineSeconds: number;
    settings: MariaDbSettings;
    tls: boolean;
    s3?: { settings: S3Settings; upload: S3Upload };
}): CronJobPlan {
    const job = backupCronJobPlan({
        id: o.id,
        name: o.name,
        schedule: o.schedule,
        activeDeadlineSeconds: o.activeDeadlineSeconds,
        container: backupContainer({
            name: o.id,
            image: o.settings.image,
            command: ["bash", `/opt/backup/${o.script}`],
            resources: BACKUP_RESOURCES,
            target: { claim: o.claim, path: o.claimPath },
            scripts: mountObject("scripts", "/opt/backup", MARIADB_OBJECTS.backupScripts),
            credentials: mountObject("credentials", MARIADB_BACKUP_PATHS.clientDir, MARIADB_OBJECTS.backupCredentials),
            tls: o.tls ? tlsVolume(MARIADB_PATHS.tls) : undefined,
            tmpPath: MARIADB_BACKUP_PATHS.tmp,
        }),
    });
    return o.s3 ? withS3Step(job, o.s3.settings, { app: MARIADB_APP, upload: o.s3.upload }) : job;
}


export function mariadbConnection(settings: MariaDbSettings, platform: Pick<PlanContext, "tls">): MariaDbConnection {
    const host = serviceHost(MARIADB_APP, settings.namespace);
    const tls = platform.tls.enabled;
    return {
        host,
        port: MARIADB_PORT,
        namespace: settings.namespace,
        rootSecret: { name: MARIADB_OBJECTS.credentials, key: ROOT_PASSWORD_KEY },
        jdbcUrl: mariadbJdbcUrl(host, MARIADB_PORT, undefined, tls),
        databases: settings.databases.map((db) => ({
            database: db.name,
            user: db.user,
            secretName: userSecretName(MARIADB_APP, db.user),
            jdbcUrl: mariadbJdbcUrl(host, MARIADB_PORT, db.name, tls),
        })),
        tls: tlsConnection(platform.tls, MARIADB_APP),
        ...(mariadbReplicated(settings) ? readEndpoints(settings, tls) : {}),
    };
}

/**
 * The replicas by pod name, not by a Service: a Service selects pods by equal labels only, and nothing
 * labels a StatefulSet's pods by role without a controller writing to the API (which these pods never do),
 * so a Service could select all replicas only while there is exactly one. Pod names are also the names the
 * TLS certificate carries, so verify-full works.
 */
function readEndpoints(settings: MariaDbSettings, tls: boolean): Pick<MariaDbConnection, "readHost" | "readHosts" | "readJdbcUrl"> {
    const hosts = mariadbReplicaOrdinals(settings).map((i) => mariadbPodHost(i, settings.namespace));
    return {
        readHost: hosts[0],
        readHosts: hosts,
        readJdbcUrl: `jdbc:mariadb:loadbalance://${hosts.map((h) => `${h}:${MARIADB_PORT}`).join(",")}/${tls ? "?sslMode=verify-full" : ""}`,
    };
}
