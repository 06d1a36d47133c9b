// Kafka's settings (components/kafka/settings.ts): declared topics and the users' grants, accepted with their
// defaults or refused naming the key.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { problems } from "../helpers/config";

describe("stack config", () => {
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
            [
                "a grant on a topic that is not declared, naming the grant and the declared topics",
                { kafka: { topics: [{ name: "orders.events" }], users: [{ name: "orders", topics: [{ prefix: "orders.", access: ["read"] }, { name: "order.events", access: ["write"] }] }] } },
                /kafka\.users\[0\]\.topics\[1\]\.name: "order\.events" \(a grant of user orders\) is not a declared topic; kafka\.topics declares "orders\.events"\. Declare it under kafka\.topics, or grant a prefix/,
            ],
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
});
