// Redis's plan: the official Alpine image as a StatefulSet, AOF persistence on the volume, ACL
// authentication (admin `default` user plus per-application users), and the Restricted pod profile. With
// redis.replicas > 1, every pod also runs a Sentinel, replicas authenticate to the primary as `replication`,
// Sentinels to Redis as `sentinel`, and clients to the Sentinels with their own password (sentinel.ts).

import { RECONCILE_WAIT } from "../reconcileWait";
import { REDIS_EXPORTER_RELOAD, redisExporterContainer, redisMonitoring } from "../monitoring/redis";
import { IMAGE_USERS } from "../imageUsers";
import { tlsConnection } from "../connections";
import type { RedisConnection } from "../outputs";
import { backupContainer, backupCronJobPlan } from "../workload/operations";
import { s3ConfigObject, s3EndpointPort, withS3Step } from "../backup/s3";
import { ContainerPlan, dataVolume, DataObjectPlan, derived, generatedValue, JobPlan, mountObject, PlanContext, replicaPlacement, scratch, ServicePlan, tlsVolume, userSecretName } from "../workload/plan";
import { serviceHost } from "../dnsNames";
import { tlsReloaderContainer } from "../workload/tlsReload";
import {
    REDIS_APP,
    REDIS_COMMAND,
    REDIS_PATHS,
    REDIS_PORT,
    redisAclEntries,
    redisAclText,
    REDIS_CREDENTIALS_PATHS,
    redisProbeCommand,
    redisServerConfig,
    redisTlsReloadCommand,
    type RedisAclEntry,
} from "./files";
import {
    aclReconcilePodsFile,
    aclReconcileScript,
    aclSetuserCommands,
    mountedSecretFiles,
    MOUNTED_WAIT_SECONDS,
    REDIS_ACL_COMMAND_KEYS,
    REDIS_ACL_RECONCILE_PATHS,
} from "./aclReconcile";
import { exporterPasswordFile, RDB_BACKUP_PREFIX, REDIS_BACKUP_PATHS, redisBackupScript } from "./backup";
import { METRICS_USER, REDIS_REPLICATION_PATHS, redisReplicationAuthCommand, redisReplicationAuthFile, replicationConfig } from "./files";
import {
    REDIS_SCRIPT_PATHS,
    redisCommonScript,
    redisStartScript,
    SENTINEL_MASTER_NAME,
    SENTINEL_PATHS,
    SENTINEL_PORT,
    SENTINEL_USERS,
    sentinelAclEntries,
    sentinelAclFile,
    sentinelAuthCommands,
    sentinelAuthConfig,
    sentinelConfig,
    sentinelHosts,
    sentinelProbeCommand,
    sentinelStartScript,
} from "./sentinel";
import type { RedisSettings } from "./settings";

/** Names of Redis's ConfigMap and Secrets. */
export const REDIS_OBJECTS = {
    credentials: "redis-credentials",
    acl: "redis-acl",
    config: "redis-config",
    backupScripts: "redis-backup-scripts",
    exporterCredentials: "redis-exporter-credentials",
    /** Replicated only: the replication user's masteruser/masterauth lines. */
    replication: "redis-replication",
    /** Replicated only: Sentinel's ACL file and the passwords it authenticates with. */
    sentinelAuth: "redis-sentinel-auth",
    /** Replicated only: the password clients authenticate to the Sentinels with (key `password`). */
    sentinelCredentials: "redis-sentinel-credentials",
    /** Replicated only: the operators' Sentinel user `admin` (keys `username`, `password`). */
    sentinelAdmin: "redis-sentinel-admin",
    /** Replicated only: the start scripts of both containers and sentinel.conf (no passwords). */
    scripts: "redis-scripts",
    /** The ACL reconcile Job's script and the pods' addresses (aclReconcile.ts). */
    aclReconcile: "redis-acl-reconcile",
    /** The password of the ACL Job's own `reconcile` user (key `password`): read by the Job only. */
    reconcile: "redis-reconcile",
};
/** The ACL reconcile Job: plan id and name prefix (a hash of its spec and of what it mounts follows). */
export const REDIS_ACL_JOB = { id: "acl-reconcile", name: "redis-acl-reconcile" };
/** The backup CronJob and its claim. */
export const REDIS_BACKUP = { cronJob: "redis-backup", claim: "redis-backup" };
/** A snapshot streams at network speed; past an hour it is stuck. */
export const REDIS_BACKUP_DEADLINE_SECONDS = 3600;
/** The Secret key of the admin (`default` user) password. */
export const ADMIN_PASSWORD_KEY = "password";
/** Ids of Redis's generated values (resources `${name}-<id>`). */
export const REDIS_GENERATED = {
    adminPassword: "password",
    userPassword: (user: string) => `user-${user}-password`,
    metricsPassword: "metrics-password",
    replicationPassword: "replication-password",
    /** What clients authenticate to the Sentinels with (their `default` user: discovery and events only). */
    sentinelPassword: "sentinel-password",
    /** What the Sentinels authenticate to Redis with (ACL user `sentinel`). */
    sentinelUserPassword: "sentinel-user-password",
    /** What the Sentinels authenticate to each other with (Sentinel ACL user `sentinels`). */
    sentinelPeerPassword: "sentinel-peer-password",
    /** The operators' Sentinel user `admin` (SENTINEL FAILOVER, RESET): Secret redis-sentinel-admin only. */
    sentinelAdminPassword: "sentinel-admin-password",
    /** The ACL Job's own login (`reconcile`, on Redis and on the Sentinels): Secret redis-reconcile only. */
    reconcilePassword: "reconcile-password",
};

/** Whether the settings ask for a primary with replicas and Sentinels. */
export function redisReplicated(settings: Pick<RedisSettings, "replicas">): boolean {
    return settings.replicas > 1;
}

/**
 * Decides every object of the Redis service. `platform.monitoring` (the stack's `monitoring` settings) turns
 * the exporter sidecar and the Prometheus Operator objects on.
 */
export function planRedis(settings: RedisSettings, platform: PlanContext): ServicePlan {
    const tls = platform.tls.enabled;
    const monitoring = platform.monitoring;
    const exporter = monitoring.exporters;
    const backup = settings.backup.enabled;
    // Off-site copies: the Job uploads the snapshot it wrote (the claim becomes a staging area).
    const s3 = backup ? platform.backups?.s3 : undefined;
    const localJob = backup
        ? backupCronJobPlan({
              id: "backup",
              name: REDIS_BACKUP.cronJob,
              schedule: settings.backup.schedule,
              activeDeadlineSeconds: REDIS_BACKUP_DEADLINE_SECONDS,
              container: backupContainer({
                  name: "backup",
                  image: settings.image,
                  command: ["sh", "/opt/backup/backup.sh"],
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                  target: { claim: REDIS_BACKUP.claim, path: REDIS_BACKUP_PATHS.backup },
                  scripts: mountObject("scripts", "/opt/backup", REDIS_OBJECTS.backupScripts),
                  credentials: mountObject("credentials", REDIS_BACKUP_PATHS.credentialsDir, REDIS_OBJECTS.credentials),
                  tls: tls ? tlsVolume(REDIS_PATHS.tls) : undefined,
                  tmpPath: REDIS_BACKUP_PATHS.tmp,
              }),
          })
        : undefined;
    const backupJob =
        localJob && s3
            ? withS3Step(localJob, s3, { app: REDIS_APP, upload: { set: "rdb", dir: REDIS_BACKUP_PATHS.backup, glob: `${RDB_BACKUP_PREFIX}*.rdb`, companion: true, prune: true } })
            : localJob;
    const metrics = REDIS_GENERATED.metricsPassword;
    const admin = REDIS_GENERATED.adminPassword;
    const users = settings.users.map((u) => ({ user: u, password: REDIS_GENERATED.userPassword(u.name) }));
    const replicated = redisReplicated(settings);
    // The files the readiness probe reports on (the ACL Job waits for them before removing an old password).
    const fingerprintFiles = mountedSecretFiles({ replicated, exporterFile: exporter ? REDIS_BACKUP_PATHS.exporterFile : undefined });
    const probe = (kind: "readiness" | "liveness") => ({
        exec: { command: redisProbeCommand(kind, tls, kind === "readiness" ? { files: fingerprintFiles, exporterReload: exporter ? REDIS_EXPORTER_RELOAD : undefined } : undefined) },
    });
    const G = REDIS_GENERATED;
    // The declared users, built once: users.acl and the ACL Job's command files are views of these entries.
    const aclInputs = [admin, G.reconcilePassword, ...users.map((u) => u.password), ...(exporter ? [metrics] : []), ...(replicated ? [G.replicationPassword, G.sentinelUserPassword] : [])];
    const aclContent = (view: (entries: RedisAclEntry[]) => string) =>
        derived(aclInputs, (v) =>
            view(
                redisAclEntries(
                    v[admin],
                    users.map((u) => ({ name: u.user.name, keyPattern: u.user.keyPattern, password: v[u.password] })),
                    {
                        metricsPassword: exporter ? v[metrics] : undefined,
                        replicationPassword: replicated ? v[G.replicationPassword] : undefined,
                        sentinelPassword: replicated ? v[G.sentinelUserPassword] : undefined,
                        reconcilePassword: v[G.reconcilePassword],
                    },
                ),
            ),
        );
    const exporterCredentials = mountObject("exporter-credentials", REDIS_BACKUP_PATHS.exporterDir, REDIS_OBJECTS.exporterCredentials);
    return {
        app: REDIS_APP,
        component: "cache",
        namespace: settings.namespace,
        image: settings.image,
        generated: [
            { id: admin, kind: "password" },
            { id: G.reconcilePassword, kind: "password" },
            ...users.map((u) => ({ id: u.password, kind: "password" as const })),
            ...(exporter ? [{ id: metrics, kind: "password" as const }] : []),
            ...(replicated
                ? [G.replicationPassword, G.sentinelPassword, G.sentinelUserPassword, G.sentinelPeerPassword, G.sentinelAdminPassword].map((id) => ({
                      id,
                      kind: "password" as const,
                  }))
                : []),
        ],
        objects: [
            {
                id: "credentials",
                kind: "Secret",
                name: REDIS_OBJECTS.credentials,
                // Read at each use (probes, certificate reloader, start script, Jobs) and applied by the ACL Job: no roll.
                data: [{ key: ADMIN_PASSWORD_KEY, content: generatedValue(admin), rollout: false }],
                protect: true,
            },
            {
                id: "reconcile",
                kind: "Secret",
                name: REDIS_OBJECTS.reconcile,
                data: [{ key: ADMIN_PASSWORD_KEY, content: generatedValue(G.reconcilePassword) }],
                protect: true,
            },
            ...users.map((u) => ({
                id: `user-${u.user.name}`,
                kind: "Secret" as const,
                name: userSecretName(REDIS_APP, u.user.name),
                data: [
                    { key: "username", content: u.user.name },
                    { key: "password", content: generatedValue(u.password) },
                    { key: "key-pattern", content: u.user.keyPattern },
                ],
                protect: true,
            })),
            {
                id: "acl",
                kind: "Secret",
                name: REDIS_OBJECTS.acl,
                data: [
                    {
                        key: "users.acl",
                        // Applied to the running pods by the ACL reconcile Job (aclReconcile.ts), and loaded by
                        // a pod at its start: a new user or password rolls no pod.
                        rollout: false,
                        content: aclContent(redisAclText),
                    },
                    // The Job's ACL SETUSER commands, made from the same entries as users.acl. Read by the Job only.
                    { key: REDIS_ACL_COMMAND_KEYS.phase1, rollout: false, content: aclContent((e) => aclSetuserCommands(e, 1)) },
                    { key: REDIS_ACL_COMMAND_KEYS.phase2, rollout: false, content: aclContent((e) => aclSetuserCommands(e, 2)) },
                ],
                protect: false,
            },
            {
                id: "acl-reconcile",
                kind: "ConfigMap",
                name: REDIS_OBJECTS.aclReconcile,
                data: [
                    { key: "reconcile-acl.sh", content: aclReconcileScript({ tls, sentinels: replicated, fingerprintFiles }), rollout: false },
                    { key: "pods", content: aclReconcilePodsFile({ app: REDIS_APP, namespace: settings.namespace, replicas: settings.replicas, sentinels: replicated }), rollout: false },
                ],
                protect: false,
            },
            {
                id: "config",
                kind: "ConfigMap",
                name: REDIS_OBJECTS.config,
                data: [
                    {
                        key: "redis.conf",
                        content: redisServerConfig({
                            memoryLimit: settings.resources.limits.memory,
                            maxmemoryPercent: settings.maxmemoryPercent,
                            maxmemoryPolicy: settings.maxmemoryPolicy,
                            tls,
                        }),
                    },
                ],
                protect: false,
            },
            ...(backup
                ? [
                      {
                          id: "backup-scripts",
                          kind: "ConfigMap" as const,
                          name: REDIS_OBJECTS.backupScripts,
                          data: [{ key: "backup.sh", content: redisBackupScript({ namespace: settings.namespace, retentionDays: settings.backup.retentionDays, tls }) }],
                          protect: false,
                      },
                      ...(s3 ? [s3ConfigObject(s3, { namespace: settings.namespace, app: REDIS_APP })] : []),
                  ]
                : []),
            ...(exporter
                ? [
                      {
                          id: "exporter-credentials",
                          kind: "Secret" as const,
                          name: REDIS_OBJECTS.exporterCredentials,
                          // Reloaded by the exporter when the readiness probe sees it change (its /-/reload), applied by the ACL Job: no roll.
                          data: [{ key: "password.json", rollout: false, content: derived([metrics], (v) => exporterPasswordFile({ user: METRICS_USER, password: v[metrics], tls })) }],
                          protect: false,
                      },
                  ]
                : []),
            ...(replicated ? replicationObjects(settings, tls) : []),
        ],
        tls,
        workload: {
            replicas: settings.replicas,
            // Not OrderedReady: while pod 0 is not Running and Ready (a dead node, a pod stuck terminating) the
            // controller would recreate no other pod and roll nothing. The start scripts decide roles themselves.
            podManagementPolicy: "Parallel",
            terminationGracePeriodSeconds: 30,
            user: IMAGE_USERS.redis,
            placement: replicaPlacement(settings.replicas, platform.environment),
            storage: { size: settings.storageSize, storageClass: platform.storageClass },
            containers: [
                {
                    name: REDIS_APP,
                    image: settings.image,
                    // Replicated: the start script decides the role, then runs redis-server (sentinel.ts).
                    command: replicated ? ["sh", REDIS_SCRIPT_PATHS.startRedis] : REDIS_COMMAND,
                    ports: [replicated ? { name: "redis", port: REDIS_PORT, exposure: "client", peers: true } : { name: "redis", port: REDIS_PORT, exposure: "client" }],
                    // Probes and the start script read the admin password from the mounted Secret at each use.
                    env: [],
                    resources: settings.resources,
                    mounts: [
                        dataVolume(REDIS_PATHS.data),
                        scratch("tmp", REDIS_PATHS.tmp),
                        mountObject("config", REDIS_PATHS.config, REDIS_OBJECTS.config),
                        mountObject("acl", REDIS_PATHS.acl, REDIS_OBJECTS.acl),
                        mountObject("credentials", REDIS_CREDENTIALS_PATHS.dir, REDIS_OBJECTS.credentials),
                        ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : []),
                        // The exporter's and the Sentinel's password files too: the readiness probe fingerprints them.
                        ...(exporter ? [exporterCredentials] : []),
                        ...(replicated
                            ? [
                                  mountObject("scripts", REDIS_SCRIPT_PATHS.dir, REDIS_OBJECTS.scripts),
                                  mountObject("replication", REDIS_REPLICATION_PATHS.dir, REDIS_OBJECTS.replication),
                                  mountObject("sentinel-password", SENTINEL_PATHS.authDir, REDIS_OBJECTS.sentinelCredentials),
                                  mountObject("sentinel-auth", SENTINEL_PATHS.authConfDir, REDIS_OBJECTS.sentinelAuth),
                              ]
                            : []),
                    ],
                    probes: {
                        // Replaying a large AOF takes a while: give startup up to 10 minutes.
                        startup: { ...probe("liveness"), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 120 },
                        readiness: { ...probe("readiness"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                        liveness: { ...probe("liveness"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                    },
                },
                ...(tls
                    ? [
                          tlsReloaderContainer({
                              image: settings.image,
                              tlsMount: tlsVolume(REDIS_PATHS.tls),
                              reload: redisTlsReloadCommand(),
                              mounts: [mountObject("credentials", REDIS_CREDENTIALS_PATHS.dir, REDIS_OBJECTS.credentials)],
                          }),
                      ]
                    : []),
                ...(exporter
                    ? [
                          redisExporterContainer({
                              image: settings.exporterImage,
                              namespace: settings.namespace,
                              credentials: exporterCredentials,
                              tls: tls ? tlsVolume(REDIS_PATHS.tls) : undefined,
                          }),
                      ]
                    : []),
                ...(replicated ? [sentinelContainer(settings, tls)] : []),
            ],
        },
        claims: backup ? [{ id: "backup-claim", name: REDIS_BACKUP.claim, size: settings.backup.storageSize, storageClass: platform.storageClass }] : [],
        jobs: [aclReconcileJob(settings, tls, { replicated, exporter })],
        cronJobs: backupJob ? [backupJob] : [],
        jobEgressPorts: s3 ? [s3EndpointPort(s3)] : undefined,
        extraObjects: redisMonitoring({
            namespace: settings.namespace,
            monitoring,
            backups: backupJob ? [{ job: backupJob, what: "The Redis RDB backup" }] : [],
            tls: platform.tls,
        }),
    };
}

/**
 * The ACL reconcile Job: once the StatefulSet is ready (Pulumi waits for it, then for the Job), it applies
 * users.acl to every pod, and with Sentinels the replication and Sentinel passwords (aclReconcile.ts). Its
 * name carries the content it mounts, so any rotated password is a new Job that runs again; an unchanged one
 * does not run again. It mounts every password file the pods mount, at the same paths, to compare the pods'
 * reports with them.
 */
function aclReconcileJob(settings: RedisSettings, tls: boolean, o: { replicated: boolean; exporter: boolean }): JobPlan {
    const P = REDIS_ACL_RECONCILE_PATHS;
    return {
        id: REDIS_ACL_JOB.id,
        name: REDIS_ACL_JOB.name,
        afterWorkload: true,
        // A pod restarting meanwhile fails a run before any old password is removed; the retry starts again
        // from what each pod has.
        backoffLimit: 3,
        // The whole Job (every retry): a full wait for the pods, phase 2's wait for the mounted files, the work.
        activeDeadlineSeconds: RECONCILE_WAIT.seconds + MOUNTED_WAIT_SECONDS + RECONCILE_WAIT.workSeconds,
        containers: [
            {
                name: "acl-reconcile",
                image: settings.image,
                command: ["sh", P.script],
                ports: [],
                env: [{ name: "MOUNTED_WAIT_SECONDS", value: String(MOUNTED_WAIT_SECONDS) }],
                resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                mounts: [
                    mountObject("acl-reconcile", P.dir, REDIS_OBJECTS.aclReconcile, 0o555),
                    mountObject("acl", REDIS_PATHS.acl, REDIS_OBJECTS.acl),
                    mountObject("credentials", REDIS_CREDENTIALS_PATHS.dir, REDIS_OBJECTS.credentials),
                    mountObject("reconcile", P.reconcileDir, REDIS_OBJECTS.reconcile),
                    ...(o.exporter ? [mountObject("exporter-credentials", REDIS_BACKUP_PATHS.exporterDir, REDIS_OBJECTS.exporterCredentials)] : []),
                    ...(o.replicated
                        ? [
                              mountObject("replication", REDIS_REPLICATION_PATHS.dir, REDIS_OBJECTS.replication),
                              mountObject("sentinel-password", SENTINEL_PATHS.authDir, REDIS_OBJECTS.sentinelCredentials),
                              mountObject("sentinel-auth", SENTINEL_PATHS.authConfDir, REDIS_OBJECTS.sentinelAuth),
                              mountObject("sentinel-admin", P.sentinelAdminDir, REDIS_OBJECTS.sentinelAdmin),
                          ]
                        : []),
                    ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : []),
                    scratch("tmp", REDIS_BACKUP_PATHS.tmp, "16Mi"),
                ],
                probes: {},
            },
        ],
    };
}

/** The Secrets and the ConfigMap a replicated Redis adds. */
function replicationObjects(settings: RedisSettings, tls: boolean): DataObjectPlan[] {
    const G = REDIS_GENERATED;
    const topology = { app: REDIS_APP, namespace: settings.namespace, replicas: settings.replicas, tls };
    type SentinelPasswords = Parameters<typeof sentinelAclEntries>[0];
    const sentinelAcl = (view: (o: SentinelPasswords) => string) =>
        derived([G.sentinelPassword, G.sentinelPeerPassword, G.sentinelAdminPassword, G.reconcilePassword], (v) =>
            view({ clientPassword: v[G.sentinelPassword], peerPassword: v[G.sentinelPeerPassword], adminPassword: v[G.sentinelAdminPassword], reconcilePassword: v[G.reconcilePassword] }),
        );
    return [
        {
            id: "replication",
            kind: "Secret",
            name: REDIS_OBJECTS.replication,
            // Read by redis-server at its start; the ACL Job applies a new one to the running pods (CONFIG SET): no roll.
            data: [
                { key: "replication.conf", rollout: false, content: derived([G.replicationPassword], (v) => redisReplicationAuthFile(v[G.replicationPassword])) },
                { key: REDIS_ACL_COMMAND_KEYS.auth, rollout: false, content: derived([G.replicationPassword], (v) => redisReplicationAuthCommand(v[G.replicationPassword])) },
            ],
            protect: false,
        },
        {
            id: "sentinel-auth",
            kind: "Secret",
            name: REDIS_OBJECTS.sentinelAuth,
            // Read by Sentinel at its start; the ACL Job applies a change to the running Sentinels: no roll.
            data: [
                {
                    key: "sentinel-auth.conf",
                    rollout: false,
                    content: derived([G.sentinelPeerPassword, G.sentinelUserPassword], (v) =>
                        sentinelAuthConfig({ peerPassword: v[G.sentinelPeerPassword], sentinelUserPassword: v[G.sentinelUserPassword] }),
                    ),
                },
                { key: "users.acl", rollout: false, content: sentinelAcl(sentinelAclFile) },
                // The ACL Job's commands for the Sentinels, made from the same entries and passwords. Read by the Job only.
                { key: REDIS_ACL_COMMAND_KEYS.phase1, rollout: false, content: sentinelAcl((o) => aclSetuserCommands(sentinelAclEntries(o), 1)) },
                { key: REDIS_ACL_COMMAND_KEYS.phase2, rollout: false, content: sentinelAcl((o) => aclSetuserCommands(sentinelAclEntries(o), 2)) },
                {
                    key: REDIS_ACL_COMMAND_KEYS.auth,
                    rollout: false,
                    content: derived([G.sentinelPeerPassword, G.sentinelUserPassword], (v) =>
                        sentinelAuthCommands({ peerPassword: v[G.sentinelPeerPassword], sentinelUserPassword: v[G.sentinelUserPassword] }),
                    ),
                },
            ],
            protect: false,
        },
        {
            id: "sentinel-credentials",
            kind: "Secret",
            name: REDIS_OBJECTS.sentinelCredentials,
            // Read at each use (the Sentinel probe, the start scripts) and applied by the ACL Job: no roll.
            data: [{ key: ADMIN_PASSWORD_KEY, content: generatedValue(G.sentinelPassword), rollout: false }],
            protect: true,
        },
        {
            id: "sentinel-admin",
            kind: "Secret",
            name: REDIS_OBJECTS.sentinelAdmin,
            // Read by operators (kubectl) and the ACL Job, not by the pods: a new admin password reaches the
            // Sentinels through the Job (users.acl of Secret redis-sentinel-auth).
            data: [
                { key: "username", content: SENTINEL_USERS.admin, rollout: false },
                { key: ADMIN_PASSWORD_KEY, content: generatedValue(G.sentinelAdminPassword), rollout: false },
            ],
            protect: true,
        },
        {
            id: "scripts",
            kind: "ConfigMap",
            name: REDIS_OBJECTS.scripts,
            data: [
                { key: "common.sh", content: redisCommonScript(topology) },
                { key: "start-redis.sh", content: redisStartScript() },
                { key: "start-sentinel.sh", content: sentinelStartScript({ replicas: settings.replicas, tls }) },
                { key: "sentinel.conf", content: sentinelConfig(topology) },
                {
                    key: "replication.conf",
                    content: replicationConfig({ memoryLimit: settings.resources.limits.memory, maxmemoryPercent: settings.maxmemoryPercent, replicas: settings.replicas, tls }),
                },
            ],
            protect: false,
        },
    ];
}

/**
 * The Sentinel of a replicated Redis's pod: same image, its own port, its working config on the data volume
 * (the pod's record of the primary, read by start-redis.sh at the next start).
 */
function sentinelContainer(settings: RedisSettings, tls: boolean): ContainerPlan {
    return {
        name: "sentinel",
        image: settings.image,
        command: ["sh", REDIS_SCRIPT_PATHS.startSentinel],
        ports: [{ name: "sentinel", port: SENTINEL_PORT, exposure: "client", peers: true }],
        // The liveness probe reads the Sentinel password from the mounted Secret at each run.
        env: [],
        resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
        mounts: [
            mountObject("scripts", REDIS_SCRIPT_PATHS.dir, REDIS_OBJECTS.scripts),
            mountObject("sentinel-auth", SENTINEL_PATHS.authConfDir, REDIS_OBJECTS.sentinelAuth),
            mountObject("sentinel-password", SENTINEL_PATHS.authDir, REDIS_OBJECTS.sentinelCredentials),
            // Sentinel's working copy lives on the data volume: it is this pod's record of the primary, and
            // must outlive the pod (sentinel.ts).
            dataVolume(REDIS_PATHS.data),
            ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : []),
        ],
        probes: { liveness: { exec: { command: sentinelProbeCommand(tls) }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 } },
    };
}


export function redisConnection(settings: RedisSettings, platform: Pick<PlanContext, "tls">): RedisConnection {
    const host = serviceHost(REDIS_APP, settings.namespace);
    return {
        host,
        port: REDIS_PORT,
        namespace: settings.namespace,
        passwordSecret: { name: REDIS_OBJECTS.credentials, key: ADMIN_PASSWORD_KEY },
        url: `${platform.tls.enabled ? "rediss" : "redis"}://${host}:${REDIS_PORT}`,
        users: settings.users.map((u) => ({ user: u.name, keyPattern: u.keyPattern, secretName: userSecretName(REDIS_APP, u.name) })),
        tls: tlsConnection(platform.tls, REDIS_APP),
        ...(redisReplicated(settings)
            ? {
                  sentinel: {
                      hosts: sentinelHosts(REDIS_APP, settings.namespace, settings.replicas),
                      masterName: SENTINEL_MASTER_NAME,
                      passwordSecret: { name: REDIS_OBJECTS.sentinelCredentials, key: ADMIN_PASSWORD_KEY },
                  },
              }
            : {}),
    };
}
