import * as assert from "assert";
import { ConfigError, cpuToMillis, decodeConfigValue, parseStackConfig, quantityToBytes } from "../../components/config";

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return (e as ConfigError).problems;
    }
    assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe("stack config", () => {
    it("defaults to the seed's names, images, ports and sizes on local-path", () => {
        const c = parseStackConfig({});
        assert.strictEqual(c.environment, "development");
        assert.strictEqual(c.storageClass, "local-path");
        assert.deepStrictEqual(
            [c.mariadb.namespace, c.mariadb.image, c.mariadb.storageSize],
            ["db", "mariadb:10.11", "10Gi"],
        );
        assert.deepStrictEqual([c.redis.namespace, c.redis.image, c.redis.storageSize], ["cache", "redis:7.2-alpine", "5Gi"]);
        assert.deepStrictEqual([c.kafka.namespace, c.kafka.image, c.kafka.storageSize], ["messaging", "apache/kafka:3.8.1", "10Gi"]);
        assert.strictEqual(c.kafka.replicas, 1);
        assert.strictEqual(c.protect, false);
        assert.strictEqual(c.networkPolicies.enabled, false);
        assert.strictEqual(c.podSecurityLevel, "restricted");
        assert.strictEqual(c.kafka.clientAuth, "sasl");
    });

    it("production turns protection and NetworkPolicies on by default", () => {
        const c = parseStackConfig({
            environment: "production",
            storageClass: "longhorn",
            networkPolicies: { allowedNamespaces: ["orders"] },
        });
        assert.strictEqual(c.protect, true);
        assert.strictEqual(c.networkPolicies.enabled, true);
    });

    const bad: [string, Record<string, unknown>, RegExp][] = [
        ["unknown top-level key", { storgeClass: "x" }, /msa-infra:storgeClass: unknown key; accepted keys are .*storageClass/],
        ["unknown nested key", { redis: { storage: "5Gi" } }, /msa-infra:redis\.storage: unknown key; accepted keys are .*storageSize/],
        ["even Kafka replicas", { kafka: { replicas: 2 } }, /msa-infra:kafka\.replicas: 2 is not valid; expected 1 or an odd number/],
        ["too many Kafka replicas", { kafka: { replicas: 11 } }, /msa-infra:kafka\.replicas: 11/],
        ["too many MariaDB replicas", { mariadb: { replicas: 6 } }, /msa-infra:mariadb\.replicas: 6 is not valid; expected 1 \(standalone\) or 2 to 5/],
        ["bad storage size", { redis: { storageSize: "5GB" } }, /msa-infra:redis\.storageSize: "5GB" is not valid; expected a quantity such as 10Gi/],
        ["bad memory", { kafka: { resources: { limits: { memory: "lots" } } } }, /msa-infra:kafka\.resources\.limits\.memory: "lots"/],
        ["request above limit", { redis: { resources: { requests: { memory: "1Gi" } } } }, /requests\.memory 1Gi exceeds limits\.memory 512Mi/],
        ["image without tag", { mariadb: { image: "mariadb" } }, /msa-infra:mariadb\.image: "mariadb" is not valid; expected an image reference with an explicit tag/],
        ["bad environment", { environment: "prod" }, /msa-infra:environment: "prod" is not valid; expected one of development, production/],
        ["non-boolean protect", { protect: "yes" }, /msa-infra:protect: "yes" is not valid; expected true or false/],
        ["bad pod security level", { podSecurityLevel: "strict" }, /podSecurityLevel: "strict" is not valid; expected one of restricted, baseline, privileged/],
        ["bad database name", { mariadb: { databases: [{ name: "Orders-DB", user: "orders" }] } }, /mariadb\.databases\[0\]\.name: "Orders-DB"/],
        ["duplicate user", { mariadb: { databases: [{ name: "a", user: "u" }, { name: "b", user: "u" }] } }, /"u" is declared twice/],
        ["reserved MariaDB user", { mariadb: { databases: [{ name: "a", user: "root" }] } }, /other than root/],
        ["reserved Kafka user", { kafka: { users: [{ name: "broker" }] } }, /other than admin or broker/],
        ["redis default user", { redis: { users: [{ name: "default" }] } }, /other than default/],
        ["bad key pattern", { redis: { users: [{ name: "a", keyPattern: "a b" }] } }, /keyPattern: "a b"/],
        ["bad client auth", { kafka: { clientAuth: "scram" } }, /kafka\.clientAuth: "scram" is not valid; expected one of sasl, none/],
        ["policies with no clients", { networkPolicies: { enabled: true } }, /networkPolicies: enabled but neither allowedNamespaces nor allowedNamespaceSelector/],
        ["shared namespace", { redis: { namespace: "db" } }, /each service needs its own namespace/],
        ["bad namespace", { kafka: { namespace: "Messaging" } }, /kafka\.namespace: "Messaging" is not valid; expected a DNS-1123 label/],
        ["redis memory share out of range", { redis: { maxmemoryPercent: 95 } }, /msa-infra:redis\.maxmemoryPercent: 95 is not valid; expected an integer from 10 to 90/],
        ["even Redis replicas", { redis: { replicas: 2 } }, /msa-infra:redis\.replicas: 2 is not valid; expected 1 \(standalone\) or an odd number from 3 to 7/],
        ["issuer without name", { tls: { enabled: true, issuer: { kind: "Issuer" } } }, /tls\.issuer\.name/],
    ];
    for (const [title, raw, expected] of bad) {
        it(`rejects ${title}`, () => {
            const found = problems(raw);
            assert.ok(found.some((p) => expected.test(p)), `no problem matched ${expected}:\n${found.join("\n")}`);
        });
    }

    it("rejects PLAINTEXT, local-path and unprotected stacks in production, all at once", () => {
        const found = problems({
            environment: "production",
            protect: false,
            kafka: { clientAuth: "none" },
            networkPolicies: { allowedNamespaces: ["orders"] },
        });
        assert.ok(found.some((p) => /kafka\.clientAuth: "none" \(PLAINTEXT without authentication\) is not allowed when environment is production/.test(p)));
        assert.ok(found.some((p) => /storageClass: "local-path" is not allowed when environment is production/.test(p)));
        assert.ok(found.some((p) => /protect: false is not allowed when environment is production/.test(p)));
    });

    it("accepts PLAINTEXT in development", () => {
        assert.strictEqual(parseStackConfig({ kafka: { clientAuth: "none" } }).kafka.clientAuth, "none");
    });

    it("accepts 3 and 5 Kafka replicas", () => {
        assert.strictEqual(parseStackConfig({ kafka: { replicas: 3 } }).kafka.replicas, 3);
        assert.strictEqual(parseStackConfig({ kafka: { replicas: 5 } }).kafka.replicas, 5);
    });

    it("the error message lists every problem with its key", () => {
        try {
            parseStackConfig({ kafka: { replicas: 4 }, redis: { storageSize: "x" } });
            assert.fail("expected an error");
        } catch (e) {
            const message = (e as Error).message;
            assert.match(message, /Invalid stack configuration \(2 problems\)/);
            assert.match(message, /msa-infra:kafka\.replicas: 4/);
            assert.match(message, /msa-infra:redis\.storageSize: "x"/);
        }
    });

    describe("Kafka topics and grants", () => {
        const topic = (t: Record<string, unknown>, replicas = 3) => ({ kafka: { replicas, topics: [{ name: "orders.events", ...t }] } });
        const user = (u: Record<string, unknown>) => ({ kafka: { users: [{ name: "orders", ...u }] } });
        const badKafka: [string, Record<string, unknown>, RegExp][] = [
            ["a topic name with a space", topic({ name: "orders events" }), /kafka\.topics\[0\]\.name: "orders events" is not valid; expected a topic name of at most 249 characters/],
            ["a topic name of 250 characters", topic({ name: "a".repeat(250) }), /kafka\.topics\[0\]\.name: "a{250}" is not valid/],
            ["the topic name ..", topic({ name: ".." }), /kafka\.topics\[0\]\.name: "\.\." is not valid/],
            ["an internal topic name", topic({ name: "__consumer_offsets" }), /kafka\.topics\[0\]\.name: "__consumer_offsets" is not valid; .*not starting with __/],
            ["a topic without a name", { kafka: { topics: [{ partitions: 3 }] } }, /kafka\.topics\[0\]\.name/],
            ["a topic declared twice", { kafka: { topics: [{ name: "a" }, { name: "a" }] } }, /"a" is declared twice/],
            ["topics that collide in Kafka's metric names", { kafka: { topics: [{ name: "a.b" }, { name: "a_b" }] } }, /"a_b" collides with "a\.b"/],
            ["0 partitions", topic({ partitions: 0 }), /kafka\.topics\[0\]\.partitions: 0 is not valid/],
            ["a replication factor above kafka.replicas", topic({ replicationFactor: 3 }, 1), /kafka\.topics\[0\]\.replicationFactor: 3 is not valid; expected an integer from 1 to 1 \(kafka\.replicas\)/],
            ["a replication factor below the default min ISR", topic({ replicationFactor: 1 }), /kafka\.topics\[0\]\.replicationFactor: 1 is not valid; expected an integer from 2 \(min\.insync\.replicas/],
            ["min.insync.replicas above the replication factor", topic({ replicationFactor: 2, configs: { "min.insync.replicas": 3 } }), /kafka\.topics\[0\]\.configs\.min\.insync\.replicas: "3" is not valid; expected an integer from 1 to 2 \(the replication factor\)/],
            ["an unknown topic config", topic({ configs: { "retention.hours": 12 } }), /kafka\.topics\[0\]\.configs\.retention\.hours: unknown topic config; accepted: compression\.type/],
            ["retention.ms under configs", topic({ configs: { "retention.ms": 1000 } }), /configs\.retention\.ms: not accepted here: set it with retention/],
            ["a non-numeric config value", topic({ configs: { "max.message.bytes": "big" } }), /configs\.max\.message\.bytes: "big" is not valid; expected an integer from 0 to 2147483647/],
            ["a config value that is not one of its values", topic({ configs: { "compression.type": "brotli" } }), /configs\.compression\.type: "brotli" is not valid; expected one of uncompressed, zstd/],
            ["a ratio above 1", topic({ configs: { "min.cleanable.dirty.ratio": 1.5 } }), /configs\.min\.cleanable\.dirty\.ratio: 1\.5 is not valid; expected a number from 0 to 1/],
            ["a retention in words", topic({ retention: "7 days" }), /kafka\.topics\[0\]\.retention: "7 days" is not valid; expected milliseconds/],
            ["a retention below -1", topic({ retention: -2 }), /kafka\.topics\[0\]\.retention: -2 is not valid/],
            ["an unknown cleanup policy", topic({ cleanupPolicy: "compacted" }), /cleanupPolicy: "compacted" is not valid; expected one of delete, compact, compact,delete/],
            ["an unknown topic key", topic({ retentionMs: 1 }), /kafka\.topics\[0\]\.retentionMs: unknown key/],
            ["a grant with both name and prefix", user({ topics: [{ name: "a", prefix: "a", access: ["read"] }] }), /kafka\.users\[0\]\.topics\[0\]: needs exactly one of name .* or prefix/],
            ["a grant with neither name nor prefix", user({ topics: [{ access: ["read"] }] }), /kafka\.users\[0\]\.topics\[0\]: needs exactly one of name/],
            ["a grant without access", user({ topics: [{ name: "a" }] }), /kafka\.users\[0\]\.topics\[0\]\.access: missing; expected a list of read and\/or write/],
            ["a grant of an unknown access", user({ topics: [{ name: "a", access: ["read", "delete"] }] }), /topics\[0\]\.access\[1\]: "delete" is not valid; expected one of read, write/],
            ["a grant on a bad topic name", user({ topics: [{ name: "a b", access: ["read"] }] }), /kafka\.users\[0\]\.topics\[0\]\.name: "a b" is not valid/],
            ["a grant on a bad prefix", user({ topics: [{ prefix: "a*", access: ["read"] }] }), /kafka\.users\[0\]\.topics\[0\]\.prefix: "a\*" is not valid; expected a topic name prefix/],
            ["a bad consumer group prefix", user({ groups: ["orders group"] }), /kafka\.users\[0\]\.groups\[0\]: "orders group" is not valid; expected a consumer group name prefix/],
            ["the reserved user broker-next", { kafka: { users: [{ name: "broker_next" }] } }, /other than admin or broker \(reserved, as are broker-next and broker_next\)/],
            ["an unknown broker login", { kafka: { brokerLogin: "broker2" } }, /kafka\.brokerLogin: "broker2" is not valid; expected one of broker, broker-next/],
            ["a non-boolean deleteUndeclaredTopics", { kafka: { deleteUndeclaredTopics: "yes" } }, /kafka\.deleteUndeclaredTopics: "yes" is not valid; expected true or false/],
        ];
        for (const [title, raw, expected] of badKafka) {
            it(`rejects ${title}`, () => {
                const found = problems(raw);
                assert.ok(found.some((p) => expected.test(p)), `no problem matched ${expected}:\n${found.join("\n")}`);
            });
        }

        it("defaults a topic to 1 partition and RF min(3, kafka.replicas); reads retention durations; sorts and dedupes access", () => {
            const c = parseStackConfig({
                kafka: {
                    replicas: 3,
                    topics: [
                        { name: "orders.events" },
                        { name: "orders.state", partitions: 6, replicationFactor: 3, retention: "7d", cleanupPolicy: "compact", configs: { "max.message.bytes": 2097152, "unclean.leader.election.enable": false } },
                        { name: "audit", retention: -1 },
                    ],
                    users: [{ name: "orders", topics: [{ prefix: "orders.", access: ["write", "read", "write"] }, { name: "audit", access: "write" }], groups: ["orders-"] }],
                },
            });
            assert.deepStrictEqual(c.kafka.topics, [
                { name: "orders.events", partitions: 1, replicationFactor: 3, configs: {} },
                { name: "orders.state", partitions: 6, replicationFactor: 3, retentionMs: 7 * 86_400_000, cleanupPolicy: "compact", configs: { "max.message.bytes": "2097152", "unclean.leader.election.enable": "false" } },
                { name: "audit", partitions: 1, replicationFactor: 3, retentionMs: -1, configs: {} },
            ]);
            assert.deepStrictEqual(c.kafka.users, [
                {
                    name: "orders",
                    topics: [
                        { pattern: "prefixed", name: "orders.", access: ["read", "write"] },
                        { pattern: "literal", name: "audit", access: ["write"] },
                    ],
                    groups: ["orders-"],
                },
            ]);
            assert.strictEqual(parseStackConfig({ kafka: { topics: [{ name: "a" }] } }).kafka.topics![0].replicationFactor, 1, "one node: RF 1");
            assert.strictEqual(c.kafka.brokerLogin, "broker");
            assert.strictEqual(c.kafka.deleteUndeclaredTopics, false);
        });
    });

    it("decodes Pulumi config strings", () => {
        assert.deepStrictEqual(decodeConfigValue('{"replicas":3}'), { replicas: 3 });
        assert.strictEqual(decodeConfigValue("true"), true);
        assert.strictEqual(decodeConfigValue("local-path"), "local-path");
    });

    it("converts quantities", () => {
        assert.strictEqual(quantityToBytes("512Mi"), 512 * 2 ** 20);
        assert.strictEqual(quantityToBytes("1G"), 1e9);
        assert.strictEqual(cpuToMillis("250m"), 250);
        assert.strictEqual(cpuToMillis("1.5"), 1500);
        assert.throws(() => quantityToBytes("1 GB"), /not a Kubernetes quantity/);
    });
});
