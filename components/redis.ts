// Redis 7.2 as a single-instance StatefulSet on the official Alpine image: AOF persistence on the volume,
// ACL authentication (admin `default` user plus per-application users), and the Restricted pod profile.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { NetworkPolicySettings, PodSecurityLevel, RedisUser, ResourceSettings, TlsSettings } from "./config";
import { quantityToBytes } from "./config";
import { selectorLabels, standardLabels } from "./labels";
import { containerSecurityContext, hardenedPodFields, IMAGE_USERS } from "./podSecurity";
import { contentChecksum, generatedPassword, secretValue, sha256 } from "./secrets";
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

export const REDIS_PORT = 6379;
const APP = "redis";
export const REDIS_PATHS = {
    data: "/data",
    config: "/etc/redis",
    configFile: "/etc/redis/redis.conf",
    acl: "/etc/redis/acl",
    aclFile: "/etc/redis/acl/users.acl",
    tls: "/etc/redis/tls",
};

/** The command line of the Redis container: the server reads everything else from redis.conf. */
export const REDIS_COMMAND = ["redis-server", REDIS_PATHS.configFile];

/** redis.conf text. maxmemory is 75% of the memory limit, so Redis refuses writes before the kernel kills it. */
export function redisServerConfig(opts: { memoryLimit: string; maxmemoryPolicy: string; tls: boolean }): string {
    const maxmemory = Math.floor(quantityToBytes(opts.memoryLimit) * 0.75);
    const lines = [
        "bind * -::*",
        // Belt and braces: should the ACL file ever leave `default` without a password, only loopback may connect.
        "protected-mode yes",
        "dir /data",
        "appendonly yes",
        "appendfsync everysec",
        'appenddirname "appendonlydir"',
        // AOF is the persistence; no RDB snapshots on top of it.
        'save ""',
        `aclfile ${REDIS_PATHS.aclFile}`,
        `maxmemory ${maxmemory}`,
        `maxmemory-policy ${opts.maxmemoryPolicy}`,
    ];
    if (opts.tls) {
        lines.push(
            "port 0",
            `tls-port ${REDIS_PORT}`,
            `tls-cert-file ${REDIS_PATHS.tls}/tls.crt`,
            `tls-key-file ${REDIS_PATHS.tls}/tls.key`,
            `tls-ca-cert-file ${REDIS_PATHS.tls}/ca.crt`,
            // Clients authenticate with passwords, not client certificates.
            "tls-auth-clients no",
        );
    } else {
        lines.push(`port ${REDIS_PORT}`);
    }
    return lines.join("\n") + "\n";
}

/** An ACL user with its plain password (hashed into the ACL file; the file lives in a Secret anyway). */
export interface RedisAclUser {
    name: string;
    keyPattern: string;
    password: string;
}

/**
 * users.acl text. `default` is the admin (all commands, all keys). Application users get only their key and
 * channel pattern and every command except the @dangerous category (FLUSHALL, FLUSHDB, CONFIG, DEBUG,
 * SHUTDOWN, KEYS, ACL, ...). Passwords are stored as SHA-256 hashes (`#<hex>`).
 */
export function redisAclFile(adminPassword: string, users: RedisAclUser[]): string {
    const lines = [`user default on #${sha256(adminPassword)} ~* &* +@all`];
    for (const u of users) {
        lines.push(`user ${u.name} on #${sha256(u.password)} resetchannels ~${u.keyPattern} &${u.keyPattern} +@all -@dangerous`);
    }
    return lines.join("\n") + "\n";
}

/**
 * Probe script. It authenticates through REDISCLI_AUTH (never a command-line password) and checks the reply:
 * redis-cli exits 0 even on NOAUTH, so only PONG counts. Liveness also accepts LOADING, so a big AOF being
 * replayed does not get the pod killed.
 */
export function redisProbeCommand(kind: "readiness" | "liveness", tls: boolean): string[] {
    const cli = tls
        ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt -h localhost -p ${REDIS_PORT}`
        : `redis-cli -h 127.0.0.1 -p ${REDIS_PORT}`;
    const accepted = kind === "liveness" ? "PONG|LOADING*" : "PONG";
    return ["sh", "-c", `reply="$(${cli} ping 2>&1)"; case "$reply" in ${accepted}) exit 0;; esac; echo "$reply"; exit 1`];
}

export interface RedisArgs {
    /** Namespace to create for Redis. Default in stack config: "cache". */
    namespace: string;
    /** Image reference with an explicit tag. Default "redis:7.2-alpine". */
    image: string;
    /** StorageClass of the data volume. Default "local-path" (K3s). */
    storageClass: string;
    /** Size of the data volume. Default "5Gi". */
    storageSize: string;
    /** Container requests and limits; maxmemory is derived from the memory limit. */
    resources: ResourceSettings;
    /** Application ACL users, each with a key pattern, its own password and Secret. Default none. */
    users: RedisUser[];
    /** maxmemory-policy. Default "noeviction" (sessions must not silently disappear). */
    maxmemoryPolicy: string;
    /** Pod Security level enforced on the namespace. Default "restricted". */
    podSecurityLevel: PodSecurityLevel;
    /** NetworkPolicy settings of the stack. */
    networkPolicies: NetworkPolicySettings;
    /** TLS settings of the stack. Default off. */
    tls: TlsSettings;
    /** Generated CA, used when TLS is on and no Issuer is configured. */
    ca?: CertificateAuthority;
    /** Protect the namespace, StatefulSet, passwords and credential Secrets. Default false (true in production). */
    protect: boolean;
}

export interface RedisAppConnection {
    user: string;
    keyPattern: string;
    secretName: string;
}

export class Redis extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly password: random.RandomPassword;
    public readonly userPasswords: Record<string, random.RandomPassword>;
    public readonly credentials: k8s.core.v1.Secret;
    public readonly userSecrets: k8s.core.v1.Secret[];
    public readonly acl: k8s.core.v1.Secret;
    public readonly config: k8s.core.v1.ConfigMap;
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    public readonly host: string;
    public readonly port: number;
    /** Secret and key holding the admin (`default` user) password. */
    public readonly passwordSecret: { name: string; key: string };
    public readonly tlsSecretName?: string;
    public readonly applications: RedisAppConnection[];

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:Redis", name, {}, opts);
        const ns = args.namespace;
        const labels = standardLabels(APP, "cache", args.image);
        const selector = selectorLabels(APP);
        const user = IMAGE_USERS.redis;
        const tlsOn = args.tls.enabled;
        this.host = `${APP}.${ns}.svc.cluster.local`;
        this.port = REDIS_PORT;

        this.namespace = createNamespace(name, ns, args.podSecurityLevel, labels, this, args.protect);
        this.serviceAccount = createServiceAccount(name, APP, this.namespace.metadata.name, labels, this);

        this.password = generatedPassword(`${name}-password`, this, args.protect);
        this.passwordSecret = { name: "redis-credentials", key: "password" };
        this.credentials = createSecret(
            `${name}-credentials`,
            this.passwordSecret.name,
            this.namespace.metadata.name,
            labels,
            { [this.passwordSecret.key]: secretValue(this.password) },
            this,
            args.protect,
        );

        this.userPasswords = {};
        this.userSecrets = [];
        this.applications = [];
        const aclUsers: pulumi.Output<RedisAclUser>[] = [];
        for (const u of args.users) {
            const credential = createUserCredential(
                name,
                APP,
                u.name,
                this.namespace.metadata.name,
                labels,
                () => ({ "key-pattern": u.keyPattern }),
                this,
                args.protect,
            );
            this.userPasswords[u.name] = credential.password;
            this.userSecrets.push(credential.secret);
            this.applications.push({ user: u.name, keyPattern: u.keyPattern, secretName: credential.secretName });
            aclUsers.push(secretValue(credential.password).apply((password) => ({ name: u.name, keyPattern: u.keyPattern, password })));
        }
        const aclText = pulumi.all([secretValue(this.password), pulumi.all(aclUsers)]).apply(([admin, users]) => redisAclFile(admin, users));
        this.acl = createSecret(`${name}-acl`, "redis-acl", this.namespace.metadata.name, labels, { "users.acl": aclText }, this, false);

        const serverConfig = redisServerConfig({
            memoryLimit: args.resources.limits.memory,
            maxmemoryPolicy: args.maxmemoryPolicy,
            tls: tlsOn,
        });
        this.config = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            { metadata: { name: "redis-config", namespace: this.namespace.metadata.name, labels }, data: { "redis.conf": serverConfig } },
            { parent: this },
        );

        const services = createServices(name, APP, this.namespace.metadata.name, labels, selector, [{ name: "redis", port: REDIS_PORT }], [], this);
        this.service = services.service;
        this.headlessService = services.headless;

        if (tlsOn) {
            this.tlsSecretName = createServiceCertificate(
                name,
                { app: APP, namespaceName: ns, namespace: this.namespace.metadata.name, replicas: 1, labels, settings: args.tls, ca: args.ca },
                this,
            );
        }

        const volumes: k8s.types.input.core.v1.Volume[] = [
            ...scratchVolumes(["tmp"]),
            { name: "config", configMap: { name: "redis-config" } },
            { name: "acl", secret: { secretName: "redis-acl", defaultMode: 0o440 } },
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: "data", mountPath: REDIS_PATHS.data },
            { name: "tmp", mountPath: "/tmp" },
            { name: "config", mountPath: REDIS_PATHS.config, readOnly: true },
            { name: "acl", mountPath: REDIS_PATHS.acl, readOnly: true },
        ];
        if (this.tlsSecretName) {
            volumes.push({ name: "tls", secret: { secretName: this.tlsSecretName, defaultMode: 0o440 } });
            mounts.push({ name: "tls", mountPath: REDIS_PATHS.tls, readOnly: true });
        }
        const probe = (kind: "readiness" | "liveness") => ({ exec: { command: redisProbeCommand(kind, tlsOn) } });

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
                            annotations: { "checksum/config": contentChecksum(serverConfig), "checksum/acl": contentChecksum(aclText) },
                        },
                        spec: {
                            ...hardenedPodFields(user, APP),
                            terminationGracePeriodSeconds: 30,
                            containers: [
                                {
                                    name: APP,
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: REDIS_COMMAND,
                                    ports: [{ name: "redis", containerPort: REDIS_PORT, protocol: "TCP" }],
                                    env: [
                                        // Probes authenticate as the admin through REDISCLI_AUTH, read from the Secret.
                                        {
                                            name: "REDISCLI_AUTH",
                                            valueFrom: { secretKeyRef: { name: this.passwordSecret.name, key: this.passwordSecret.key } },
                                        },
                                    ],
                                    resources: containerResources(args.resources),
                                    securityContext: containerSecurityContext(user),
                                    volumeMounts: mounts,
                                    // Replaying a large AOF takes a while: give startup up to 10 minutes.
                                    startupProbe: { ...probe("liveness"), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 120 },
                                    readinessProbe: { ...probe("readiness"), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                                    livenessProbe: { ...probe("liveness"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
                                },
                            ],
                            volumes,
                        },
                    },
                    volumeClaimTemplates: [dataVolumeClaim(args.storageClass, args.storageSize, selector)],
                },
            },
            statefulSetOptions(this, args.protect, [this.credentials, this.acl, this.config, this.serviceAccount]),
        );
        this.disruptionBudget = createDisruptionBudget(name, APP, this.namespace.metadata.name, labels, selector, this);
        this.networkPolicies = createNetworkPolicies(
            name,
            { namespace: ns, podSelector: selector, clientPorts: [REDIS_PORT], peerPorts: [] },
            args.networkPolicies,
            labels,
            this,
        );

        this.registerOutputs({ host: this.host, port: this.port, passwordSecret: this.passwordSecret, applications: this.applications });
    }
}
