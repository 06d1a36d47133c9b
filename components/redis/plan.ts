// Redis's plan: the official Alpine image as a single-instance StatefulSet, AOF persistence on the volume,
// ACL authentication (admin `default` user plus per-application users), and the Restricted pod profile.

import type { PlatformSettings } from "../config";
import { backupsEnabled, exportersEnabled, MONITORING_DEFAULTS, MonitoringSettings } from "../config/operations";
import { redisMonitoring } from "../monitoring/redis";
import { IMAGE_USERS } from "../podSecurity";
import { tlsConnection, TlsConnection } from "../tls";
import { ContainerPlan, dataVolume, derived, generatedValue, mountObject, scratch, serviceHost, ServicePlan, tlsVolume, userSecretName } from "../workload/plan";
import { tlsReloaderContainer } from "../workload/tlsReload";
import { REDIS_COMMAND, REDIS_PATHS, REDIS_PORT, redisAclFile, redisProbeCommand, redisServerConfig, redisTlsReloadCommand } from "./files";
import { exporterPasswordFile, REDIS_BACKUP_PATHS, redisBackupScript } from "./backup";
import { METRICS_USER } from "./files";
import type { RedisSettings } from "./settings";

export const REDIS_APP = "redis";
/** Names of Redis's ConfigMap and Secrets. */
export const REDIS_OBJECTS = {
    credentials: "redis-credentials",
    acl: "redis-acl",
    config: "redis-config",
    backupScripts: "redis-backup-scripts",
    exporterCredentials: "redis-exporter-credentials",
};
/** The backup CronJob and its claim. */
export const REDIS_BACKUP = { cronJob: "redis-backup", claim: "redis-backup" };
/** The exporter sidecar's metrics port. */
export const REDIS_EXPORTER_PORT = 9121;
/** A snapshot streams at network speed; past an hour it is stuck. */
export const REDIS_BACKUP_DEADLINE_SECONDS = 3600;
/** The Secret key of the admin (`default` user) password. */
export const ADMIN_PASSWORD_KEY = "password";
/** Ids of Redis's generated values (resources `${name}-<id>`). */
export const REDIS_GENERATED = {
    adminPassword: "password",
    userPassword: (user: string) => `user-${user}-password`,
    metricsPassword: "metrics-password",
};

/**
 * Decides every object of the Redis service. `platform.monitoring` (the stack's `monitoring` settings) turns
 * the exporter sidecar and the Prometheus Operator objects on; absent, its defaults apply.
 */
export function planRedis(settings: RedisSettings, platform: PlatformSettings & { monitoring?: MonitoringSettings }): ServicePlan {
    const tls = platform.tls.enabled;
    const monitoring = platform.monitoring ?? MONITORING_DEFAULTS;
    const exporter = exportersEnabled(monitoring, platform.environment);
    const backup = backupsEnabled(settings.backup, platform.environment);
    const metrics = REDIS_GENERATED.metricsPassword;
    const admin = REDIS_GENERATED.adminPassword;
    const users = settings.users.map((u) => ({ user: u, password: REDIS_GENERATED.userPassword(u.name) }));
    const probe = (kind: "readiness" | "liveness") => ({ exec: { command: redisProbeCommand(kind, tls) } });
    return {
        app: REDIS_APP,
        component: "cache",
        namespace: settings.namespace,
        image: settings.image,
        generated: [
            { id: admin, kind: "password" },
            ...users.map((u) => ({ id: u.password, kind: "password" as const })),
            ...(exporter ? [{ id: metrics, kind: "password" as const }] : []),
        ],
        objects: [
            { id: "credentials", kind: "Secret", name: REDIS_OBJECTS.credentials, data: [{ key: ADMIN_PASSWORD_KEY, content: generatedValue(admin) }], protect: true },
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
                        content: derived([admin, ...users.map((u) => u.password), ...(exporter ? [metrics] : [])], (v) =>
                            redisAclFile(
                                v[admin],
                                users.map((u) => ({ name: u.user.name, keyPattern: u.user.keyPattern, password: v[u.password] })),
                                { metricsPassword: exporter ? v[metrics] : undefined },
                            ),
                        ),
                    },
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
                  ]
                : []),
            ...(exporter
                ? [
                      {
                          id: "exporter-credentials",
                          kind: "Secret" as const,
                          name: REDIS_OBJECTS.exporterCredentials,
                          data: [{ key: "password.json", content: derived([metrics], (v) => exporterPasswordFile({ user: METRICS_USER, password: v[metrics], tls })) }],
                          protect: false,
                      },
                  ]
                : []),
        ],
        tls,
        workload: {
            replicas: settings.replicas,
            podManagementPolicy: "OrderedReady",
            terminationGracePeriodSeconds: 30,
            user: IMAGE_USERS.redis,
            spreadAcrossNodes: false,
            storage: { size: settings.storageSize, storageClass: platform.storageClass },
            containers: [
                {
                    name: REDIS_APP,
                    image: settings.image,
                    command: REDIS_COMMAND,
                    ports: [{ name: "redis", port: REDIS_PORT, exposure: "client" }],
                    // Probes authenticate as the admin through REDISCLI_AUTH, read from the Secret.
                    env: [{ name: "REDISCLI_AUTH", from: { object: REDIS_OBJECTS.credentials, key: ADMIN_PASSWORD_KEY } }],
                    resources: settings.resources,
                    mounts: [
                        dataVolume(REDIS_PATHS.data),
                        scratch("tmp", REDIS_PATHS.tmp),
                        mountObject("config", REDIS_PATHS.config, REDIS_OBJECTS.config),
                        mountObject("acl", REDIS_PATHS.acl, REDIS_OBJECTS.acl),
                        ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : []),
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
                              env: [{ name: "REDISCLI_AUTH", from: { object: REDIS_OBJECTS.credentials, key: ADMIN_PASSWORD_KEY } }],
                          }),
                      ]
                    : []),
                ...(exporter ? [redisExporterContainer(settings, tls)] : []),
            ],
        },
        claims: backup ? [{ id: "backup-claim", name: REDIS_BACKUP.claim, size: settings.backup.storageSize, storageClass: platform.storageClass }] : [],
        cronJobs: backup
            ? [
                  {
                      id: "backup",
                      name: REDIS_BACKUP.cronJob,
                      schedule: settings.backup.schedule,
                      concurrencyPolicy: "Forbid",
                      startingDeadlineSeconds: 600,
                      successfulJobsHistoryLimit: 3,
                      failedJobsHistoryLimit: 3,
                      job: {
                          backoffLimit: 1,
                          activeDeadlineSeconds: REDIS_BACKUP_DEADLINE_SECONDS,
                          containers: [
                              {
                                  name: "backup",
                                  image: settings.image,
                                  command: ["sh", "/opt/backup/backup.sh"],
                                  ports: [],
                                  env: [],
                                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                                  mounts: [
                                      { volume: "target", path: REDIS_BACKUP_PATHS.backup, source: { kind: "pvc", claim: REDIS_BACKUP.claim } },
                                      mountObject("scripts", "/opt/backup", REDIS_OBJECTS.backupScripts),
                                      mountObject("credentials", REDIS_BACKUP_PATHS.credentialsDir, REDIS_OBJECTS.credentials),
                                      ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : []),
                                      scratch("tmp", REDIS_BACKUP_PATHS.tmp),
                                  ],
                                  probes: {},
                              },
                          ],
                      },
                  },
              ]
            : [],
        extraObjects: redisMonitoring({
            namespace: settings.namespace,
            monitoring,
            backup,
            exporter,
            schedule: settings.backup.schedule,
            backupDeadlineSeconds: REDIS_BACKUP_DEADLINE_SECONDS,
        }),
    };
}

/** The redis_exporter sidecar: the metrics ACL user, its password from a mounted file, no CONFIG command. */
function redisExporterContainer(settings: RedisSettings, tls: boolean): ContainerPlan {
    return {
        name: "redis-exporter",
        image: settings.exporterImage,
        command: [
            "/redis_exporter",
            `--redis.addr=${tls ? "rediss" : "redis"}://localhost:${REDIS_PORT}`,
            `--redis.user=${METRICS_USER}`,
            `--redis.password-file=${REDIS_BACKUP_PATHS.exporterFile}`,
            // CONFIG GET * would print every setting; maxmemory and maxclients come from INFO.
            "--config-command=-",
            `--web.listen-address=:${REDIS_EXPORTER_PORT}`,
            "--connection-timeout=5s",
            ...(tls ? [`--tls-ca-cert-file=${REDIS_PATHS.tls}/ca.crt`, `--tls-server-name=${serviceHost(REDIS_APP, settings.namespace)}`] : []),
        ],
        ports: [{ name: "metrics", port: REDIS_EXPORTER_PORT, exposure: "metrics" }],
        env: [],
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        mounts: [mountObject("exporter-credentials", REDIS_BACKUP_PATHS.exporterDir, REDIS_OBJECTS.exporterCredentials), ...(tls ? [tlsVolume(REDIS_PATHS.tls)] : [])],
        probes: { liveness: { tcpSocket: { port: "metrics" }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 } },
    };
}

export interface RedisAppConnection {
    user: string;
    keyPattern: string;
    secretName: string;
}

/** What clients need to reach Redis (no secrets): the `redisConnection` stack output. */
export interface RedisConnection {
    host: string;
    port: number;
    namespace: string;
    /** Secret and key holding the admin (`default` user) password. */
    passwordSecret: { name: string; key: string };
    /** redis:// or rediss:// (TLS) URL without credentials. */
    url: string;
    users: RedisAppConnection[];
    tls: TlsConnection;
}

export function redisConnection(settings: RedisSettings, platform: PlatformSettings): RedisConnection {
    const host = serviceHost(REDIS_APP, settings.namespace);
    return {
        host,
        port: REDIS_PORT,
        namespace: settings.namespace,
        passwordSecret: { name: REDIS_OBJECTS.credentials, key: ADMIN_PASSWORD_KEY },
        url: `${platform.tls.enabled ? "rediss" : "redis"}://${host}:${REDIS_PORT}`,
        users: settings.users.map((u) => ({ user: u.name, keyPattern: u.keyPattern, secretName: userSecretName(REDIS_APP, u.name) })),
        tls: tlsConnection(platform.tls, REDIS_APP),
    };
}
