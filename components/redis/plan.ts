// Redis's plan: the official Alpine image as a single-instance StatefulSet, AOF persistence on the volume,
// ACL authentication (admin `default` user plus per-application users), and the Restricted pod profile.

import type { PlatformSettings } from "../config";
import { IMAGE_USERS } from "../podSecurity";
import { tlsConnection, TlsConnection } from "../tls";
import { dataVolume, derived, generatedValue, mountObject, scratch, serviceHost, ServicePlan, tlsVolume, userSecretName } from "../workload/plan";
import { tlsReloaderContainer } from "../workload/tlsReload";
import { REDIS_COMMAND, REDIS_PATHS, REDIS_PORT, redisAclFile, redisProbeCommand, redisServerConfig, redisTlsReloadCommand } from "./files";
import type { RedisSettings } from "./settings";

export const REDIS_APP = "redis";
/** Names of Redis's ConfigMap and Secrets. */
export const REDIS_OBJECTS = { credentials: "redis-credentials", acl: "redis-acl", config: "redis-config" };
/** The Secret key of the admin (`default` user) password. */
export const ADMIN_PASSWORD_KEY = "password";
/** Ids of Redis's generated values (resources `${name}-<id>`). */
export const REDIS_GENERATED = {
    adminPassword: "password",
    userPassword: (user: string) => `user-${user}-password`,
};

/** Decides every object of the Redis service. */
export function planRedis(settings: RedisSettings, platform: PlatformSettings): ServicePlan {
    const tls = platform.tls.enabled;
    const admin = REDIS_GENERATED.adminPassword;
    const users = settings.users.map((u) => ({ user: u, password: REDIS_GENERATED.userPassword(u.name) }));
    const probe = (kind: "readiness" | "liveness") => ({ exec: { command: redisProbeCommand(kind, tls) } });
    return {
        app: REDIS_APP,
        component: "cache",
        namespace: settings.namespace,
        image: settings.image,
        generated: [{ id: admin, kind: "password" }, ...users.map((u) => ({ id: u.password, kind: "password" as const }))],
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
                        content: derived([admin, ...users.map((u) => u.password)], (v) =>
                            redisAclFile(v[admin], users.map((u) => ({ name: u.user.name, keyPattern: u.user.keyPattern, password: v[u.password] }))),
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
            ],
        },
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
