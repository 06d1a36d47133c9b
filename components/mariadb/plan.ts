// MariaDB's plan: the official image as a single-instance StatefulSet, a generated root password, declared
// application databases and users reconciled by init SQL at every start, and the Restricted pod profile.

import type { PlatformSettings } from "../config";
import { IMAGE_USERS } from "../podSecurity";
import { tlsConnection, TlsConnection } from "../tls";
import {
    dataVolume,
    derived,
    generatedValue,
    mountObject,
    scratch,
    serviceHost,
    ServicePlan,
    tlsVolume,
    userSecretName,
} from "../workload/plan";
import { tlsReloaderContainer } from "../workload/tlsReload";
import {
    MARIADB_PATHS,
    MARIADB_PORT,
    MARIADB_PROBES,
    mariadbInitSql,
    mariadbJdbcUrl,
    mariadbServerConfig,
    mariadbTlsReloadCommand,
    prepareVolumeScript,
} from "./files";
import type { MariaDbSettings } from "./settings";

export const MARIADB_APP = "mariadb";
/** Names of MariaDB's ConfigMap and Secrets. */
export const MARIADB_OBJECTS = { credentials: "mariadb-credentials", init: "mariadb-init", config: "mariadb-config" };
/** The Secret key of the root password. */
export const ROOT_PASSWORD_KEY = "root-password";

/** Ids of MariaDB's generated values (resources `${name}-<id>`). */
export const MARIADB_GENERATED = {
    rootPassword: "root-password",
    userPassword: (user: string) => `user-${user}-password`,
};
const rootPassword = MARIADB_GENERATED.rootPassword;
const userPassword = MARIADB_GENERATED.userPassword;

/** Decides every object of the MariaDB service. */
export function planMariaDb(settings: MariaDbSettings, platform: PlatformSettings): ServicePlan {
    const host = serviceHost(MARIADB_APP, settings.namespace);
    const tls = platform.tls.enabled;
    const users = settings.databases.map((db) => ({
        db,
        password: userPassword(db.user),
        jdbcUrl: mariadbJdbcUrl(host, MARIADB_PORT, db.name, tls),
    }));
    return {
        app: MARIADB_APP,
        component: "database",
        namespace: settings.namespace,
        image: settings.image,
        generated: [{ id: rootPassword, kind: "password" }, ...users.map((u) => ({ id: u.password, kind: "password" as const }))],
        objects: [
            {
                id: "credentials",
                kind: "Secret",
                name: MARIADB_OBJECTS.credentials,
                // Read by the image only when it initialises an empty data dir; later rotations reach the
                // server through init.sql, which does roll the pods.
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
                id: "init",
                kind: "Secret",
                name: MARIADB_OBJECTS.init,
                data: [
                    {
                        key: "init.sql",
                        content: derived([rootPassword, ...users.map((u) => u.password)], (v) =>
                            mariadbInitSql(
                                v[rootPassword],
                                users.map((u) => ({ database: u.db.name, user: u.db.user, password: v[u.password] })),
                                { reloader: tls },
                            ),
                        ),
                    },
                ],
                protect: false,
            },
            {
                id: "config",
                kind: "ConfigMap",
                name: MARIADB_OBJECTS.config,
                data: [{ key: "my.cnf", content: mariadbServerConfig({ memoryLimit: settings.resources.limits.memory, tls }) }],
                protect: false,
            },
        ],
        tls,
        workload: {
            replicas: settings.replicas,
            podManagementPolicy: "OrderedReady",
            terminationGracePeriodSeconds: 60,
            user: IMAGE_USERS.mariadb,
            spreadAcrossNodes: false,
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
            ],
            containers: [
                {
                    name: MARIADB_APP,
                    image: settings.image,
                    ports: [{ name: "mysql", port: MARIADB_PORT, exposure: "client" }],
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
                        ...(tls ? [tlsVolume(MARIADB_PATHS.tls)] : []),
                    ],
                    probes: {
                        // First initialisation (and an upgrade) may take minutes.
                        startup: { exec: { command: MARIADB_PROBES.startup }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 120 },
                        readiness: { exec: { command: MARIADB_PROBES.readiness }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
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
            ],
        },
    };
}

/** Connection details of one application database. */
export interface MariaDbAppConnection {
    database: string;
    user: string;
    secretName: string;
    jdbcUrl: string;
}

/** What clients need to reach MariaDB (no secrets): the `mariadbConnection` stack output. */
export interface MariaDbConnection {
    /** In-cluster host name of the client Service. */
    host: string;
    port: number;
    namespace: string;
    /** Secret (in the MariaDB namespace) and key holding the root password. */
    rootSecret: { name: string; key: string };
    /** JDBC URL without a database. */
    jdbcUrl: string;
    databases: MariaDbAppConnection[];
    tls: TlsConnection;
}

export function mariadbConnection(settings: MariaDbSettings, platform: PlatformSettings): MariaDbConnection {
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
    };
}
