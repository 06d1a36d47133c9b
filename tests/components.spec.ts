// Component tests: each ComponentResource instantiated alone under the Pulumi mock runtime, plus the pure
// helpers (labels, pod security, network policy rules, config-file text) without any runtime.

import * as assert from "assert";
import { parseStackConfig } from "../components/config";
import { Kafka, kafkaHeapMiB, kafkaJaasConfig, kafkaServerProperties, quorumVoters, replicationSettings } from "../components/kafka";
import { imageVersion, selectorLabels, standardLabels } from "../components/labels";
import { MariaDb, mariadbInitSql, mariadbJdbcUrl, mariadbServerConfig } from "../components/mariadb";
import { buildNetworkPolicies } from "../components/networkPolicies";
import { containerSecurityContext, IMAGE_USERS, podSecurityContext, podSecurityLabels } from "../components/podSecurity";
import { Redis, redisAclFile, redisProbeCommand, redisServerConfig } from "../components/redis";
import { RenderResult, runOffline } from "../scripts/lib/mockRuntime";
import { Any, containers, find } from "../scripts/lib/manifests";

const defaults = parseStackConfig({});
const platform = {
    environment: "development" as const,
    storageClass: "fast",
    podSecurityLevel: "restricted" as const,
    networkPolicies: { enabled: true, egress: false, allowedNamespaces: ["shop"] },
    tls: { enabled: false },
    protect: false,
    deleteDataOnDestroy: false,
};

function renderComponent(make: () => unknown): Promise<RenderResult> {
    return runOffline(() => {
        make();
        return {};
    }, { project: "msa-infra", stack: "unit", config: {} });
}

function childrenOf(r: RenderResult, componentType: string, name: string) {
    return r.resources.filter((x) => x.options.parent?.endsWith(`${componentType}::${name}`));
}

describe("MariaDb component", () => {
    let r: RenderResult;
    before(async () => {
        r = await renderComponent(
            () =>
                new MariaDb("maria", {
                    platform,
                    ...defaults.mariadb,
                    namespace: "sql",
                    databases: [
                        { name: "shop", user: "shop_app" },
                        { name: "billing", user: "billing" },
                    ],
                }),
        );
    });

    it("parents every child to the component, named `${name}-child`", () => {
        const children = childrenOf(r, "msa-infra:index:MariaDb", "maria");
        assert.ok(children.length >= 12);
        for (const c of children) {
            assert.match(c.name, /^maria-/);
        }
        assert.strictEqual(children.length, r.resources.filter((x) => x.custom).length);
    });

    it("generates one root password and one per application user, each in its own Secret", () => {
        const passwords = r.resources.filter((x) => x.type === "random:index/randomPassword:RandomPassword").map((x) => x.name);
        assert.deepStrictEqual(passwords.sort(), ["maria-root-password", "maria-user-billing-password", "maria-user-shop_app-password"]);
        const secret = find(r.objects, "Secret", "sql", "mariadb-user-shop-app") as Any;
        assert.deepStrictEqual(Object.keys(secret.stringData).sort(), ["database", "jdbc-url", "password", "username"]);
        assert.strictEqual(secret.stringData.password, "<redacted>");
    });

    it("uses the namespace, storage class and resources it was given", () => {
        const sts = find(r.objects, "StatefulSet", "sql", "mariadb") as Any;
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "fast");
        assert.deepStrictEqual(containers(sts).find((c: Any) => c.name === "mariadb").resources, {
            requests: defaults.mariadb.resources.requests,
            limits: defaults.mariadb.resources.limits,
        });
        assert.ok(r.objects.some((o) => o.kind === "NetworkPolicy" && o.metadata.name === "allow-clients"));
    });
});

describe("Redis component", () => {
    let r: RenderResult;
    before(async () => {
        r = await renderComponent(() => new Redis("cache", { platform, ...defaults.redis, users: [{ name: "carts", keyPattern: "cart:*" }] }));
    });

    it("mounts redis.conf from the ConfigMap and the ACL file from a Secret", () => {
        const sts = find(r.objects, "StatefulSet", "cache", "redis") as Any;
        const c = containers(sts)[0];
        assert.deepStrictEqual(c.command, ["redis-server", "/etc/redis/redis.conf"]);
        const volumes = Object.fromEntries(sts.spec.template.spec.volumes.map((v: Any) => [v.name, v]));
        assert.strictEqual(volumes.config.configMap.name, "redis-config");
        assert.strictEqual(volumes.acl.secret.secretName, "redis-acl");
        assert.match((find(r.objects, "ConfigMap", "cache", "redis-config") as Any).data["redis.conf"], /^aclfile \/etc\/redis\/acl\/users\.acl$/m);
    });

    it("creates a Secret per application user and no NetworkPolicy for peers it does not have", () => {
        find(r.objects, "Secret", "cache", "redis-user-carts");
        const names = r.objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.metadata.name);
        assert.deepStrictEqual(names.sort(), ["allow-clients", "default-deny-ingress"]);
    });
});

describe("Kafka component", () => {
    let r: RenderResult;
    before(async () => {
        r = await renderComponent(() => new Kafka("events", { platform, ...defaults.kafka, replicas: 3, users: [{ name: "shop" }] }));
    });

    it("runs 3 voters in parallel with node ids from the ordinal and a generated cluster id", () => {
        const sts = find(r.objects, "StatefulSet", "messaging", "kafka") as Any;
        assert.strictEqual(sts.spec.replicas, 3);
        assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
        const env = Object.fromEntries(containers(sts)[0].env.map((e: Any) => [e.name, e]));
        assert.deepStrictEqual(env.CLUSTER_ID.valueFrom.configMapKeyRef, { name: "kafka-config", key: "cluster-id" });
        assert.strictEqual(env.KAFKA_HEAP_OPTS.value, "-Xms1024m -Xmx1024m");
        const headless = find(r.objects, "Service", "messaging", "kafka-headless") as Any;
        assert.strictEqual(headless.spec.publishNotReadyAddresses, true);
    });

    it("allows quorum and inter-broker traffic only between Kafka pods", () => {
        const peers = find(r.objects, "NetworkPolicy", "messaging", "allow-peers") as Any;
        assert.deepStrictEqual(peers.spec.ingress[0].ports.map((p: Any) => p.port), [9093, 9094]);
        assert.deepStrictEqual(peers.spec.ingress[0].from, [{ podSelector: { matchLabels: selectorLabels("kafka") } }]);
    });
});

describe("pure helpers", () => {
    it("labels: selector labels stay stable across versions; the version label follows the image tag", () => {
        assert.deepStrictEqual(selectorLabels("redis"), { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" });
        assert.strictEqual(standardLabels("redis", "cache", "redis:7.2-alpine")["app.kubernetes.io/version"], "7.2-alpine");
        assert.strictEqual(imageVersion("registry:5000/apache/kafka:3.8.1@sha256:abc"), "3.8.1");
        assert.strictEqual(imageVersion("registry:5000/kafka"), "unversioned");
    });

    it("pod security: restricted profile for the given user", () => {
        assert.deepStrictEqual(podSecurityContext(IMAGE_USERS.redis), {
            runAsNonRoot: true,
            runAsUser: 999,
            runAsGroup: 1000,
            fsGroup: 1000,
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
        });
        const c = containerSecurityContext(IMAGE_USERS.kafka) as Any;
        assert.deepStrictEqual([c.runAsUser, c.allowPrivilegeEscalation, c.readOnlyRootFilesystem, c.capabilities.drop], [1000, false, true, ["ALL"]]);
        assert.strictEqual(podSecurityLabels("baseline")["pod-security.kubernetes.io/enforce"], "baseline");
        assert.strictEqual(podSecurityLabels("baseline")["pod-security.kubernetes.io/warn"], "restricted");
    });

    it("network policies: none when disabled; selector and egress rules when asked", () => {
        const traffic = { namespace: "db", podSelector: selectorLabels("mariadb"), clientPorts: [3306], peerPorts: [] };
        const off = { enabled: false, egress: false, allowedNamespaces: ["a"] };
        assert.deepStrictEqual(buildNetworkPolicies(traffic, off, {}), []);
        const on = buildNetworkPolicies(traffic, { enabled: true, egress: true, allowedNamespaces: ["a"], allowedNamespaceSelector: { team: "shop" } }, {});
        assert.deepStrictEqual(on.map((p) => p.metadata.name), ["default-deny-ingress", "allow-clients", "restrict-egress"]);
        const from = (on[1].spec as Any).ingress[0].from;
        assert.deepStrictEqual(from, [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "a" } } },
            { namespaceSelector: { matchLabels: { team: "shop" } } },
        ]);
    });

    it("redis.conf: AOF, ACL file, maxmemory from the limit, TLS on the same port", () => {
        const plain = redisServerConfig({ memoryLimit: "512Mi", maxmemoryPercent: 75, maxmemoryPolicy: "noeviction", tls: false });
        assert.match(plain, /^maxmemory 402653184$/m);
        assert.match(plain, /^port 6379$/m);
        const tls = redisServerConfig({ memoryLimit: "1Gi", maxmemoryPercent: 75, maxmemoryPolicy: "allkeys-lru", tls: true });
        assert.match(tls, /^port 0$/m);
        assert.match(tls, /^tls-port 6379$/m);
        assert.match(tls, /^maxmemory-policy allkeys-lru$/m);
    });

    it("redis ACL: hashed passwords; application users lose @dangerous and keep to their keys", () => {
        const acl = redisAclFile("adminpw", [{ name: "carts", keyPattern: "cart:*", password: "cartpw" }]);
        assert.ok(!acl.includes("adminpw") && !acl.includes("cartpw"));
        assert.match(acl, /^user default on #[0-9a-f]{64} ~\* &\* \+@all$/m);
        assert.match(acl, /^user carts on #[0-9a-f]{64} resetchannels ~cart:\* &cart:\* \+@all -@dangerous$/m);
    });

    it("redis probe: only PONG passes readiness; liveness also accepts LOADING; no password argument", () => {
        const readiness = redisProbeCommand("readiness", false)[2];
        assert.match(readiness, /case "\$reply" in PONG\) exit 0/);
        assert.match(redisProbeCommand("liveness", true)[2], /PONG\|LOADING\*\) exit 0/);
        assert.match(redisProbeCommand("liveness", true)[2], /--tls --cacert/);
        assert.doesNotMatch(readiness, / -a /);
    });

    it("my.cnf: buffer pool from the memory limit, init_file, TLS required when on", () => {
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^innodb_buffer_pool_size = 409M$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "1Gi", tls: false }), /^init_file = \/etc\/mysql\/init\/init\.sql$/m);
        assert.match(mariadbServerConfig({ memoryLimit: "4Gi", tls: true }), /^require_secure_transport = ON$/m);
    });

    it("init SQL: idempotent statements, one per line, quotes escaped", () => {
        const sql = mariadbInitSql("ro'ot", [{ database: "shop", user: "shop", password: "p\\w" }]);
        const lines = sql.trim().split("\n");
        assert.ok(lines.every((l) => l.endsWith(";")));
        assert.strictEqual(lines[0], "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'ro\\'ot';");
        assert.ok(lines.includes("CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY 'p\\\\w';"));
        assert.ok(lines.includes("GRANT ALL PRIVILEGES ON `shop`.* TO 'shop'@'%';"));
        // `_` is a wildcard in database-level grants: it must be escaped.
        const underscored = mariadbInitSql("r", [{ database: "shop_a", user: "shop_a", password: "x" }]);
        assert.ok(underscored.includes("GRANT ALL PRIVILEGES ON `shop\\_a`.* TO 'shop_a'@'%';"), underscored);
        assert.ok(lines.some((l) => l.startsWith("CREATE DATABASE IF NOT EXISTS `shop`")));
    });

    it("JDBC URL", () => {
        assert.strictEqual(mariadbJdbcUrl("h", 3306, "db", false), "jdbc:mariadb://h:3306/db");
        assert.strictEqual(mariadbJdbcUrl("h", 3306, undefined, true), "jdbc:mariadb://h:3306/?sslMode=verify-full");
    });

    for (const [replicas, rf, isr] of [
        [1, 1, 1],
        [3, 3, 2],
        [5, 3, 2],
        [7, 3, 2],
    ]) {
        it(`kafka: ${replicas} node(s) → RF ${rf}, min ISR ${isr}, ${replicas} voters`, () => {
            assert.deepStrictEqual(replicationSettings(replicas), { replicationFactor: rf, minInsyncReplicas: isr });
            const voters = quorumVoters(replicas, "messaging").split(",");
            assert.strictEqual(voters.length, replicas);
            voters.forEach((v, i) => assert.strictEqual(v, `${i}@kafka-${i}.kafka-headless.messaging.svc.cluster.local:9093`));
            const props = kafkaServerProperties({ replicas, namespace: "messaging", clientAuth: "sasl", tls: false });
            assert.match(props, new RegExp(`^offsets\\.topic\\.replication\\.factor=${rf}$`, "m"));
            assert.match(props, new RegExp(`^transaction\\.state\\.log\\.min\\.isr=${isr}$`, "m"));
        });
    }

    it("kafka: JAAS file lists the broker login and every user; heap from the memory limit", () => {
        const jaas = kafkaJaasConfig("b", [{ name: "shop", password: 's"1' }]);
        assert.match(jaas, /^KafkaServer \{$/m);
        assert.match(jaas, /username="broker"/);
        assert.match(jaas, /user_shop="s\\"1";/);
        assert.strictEqual(kafkaHeapMiB("2Gi", 50), 1024);
        assert.strictEqual(kafkaHeapMiB("300Mi", 25), 256);
    });
});
