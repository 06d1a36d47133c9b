// Kafka application users on SCRAM-SHA-512 (issue 20, item 3): kafka.plainUsers, the client listener's
// mechanisms, the users' Secrets and the reconcile Job's mounts, and the point of it all: adding, rotating or
// removing a user leaves the StatefulSet's pod template as it was (no broker restarts), on dev and prod.
// tests/kafka/reconcile.spec.ts runs the script; tests/servers/kafka/6-scram.spec.ts runs it on real Kafka.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { clientJaasConfig, kafkaConnection, kafkaServerProperties, planKafka, reconcileFiles } from "../../components/kafka";
import { renderStack } from "../../scripts/lib/mockRuntime";
import { find, type Any } from "../../scripts/lib/manifests";
import { dataKey } from "../../scripts/lib/rendered";
import { userSecretName } from "../../components/workload/plan";
import { stackConfig } from "../helpers/kafka";
import { problems } from "../helpers/config";

const users = [{ name: "orders" }, { name: "auth" }];

describe("Kafka SCRAM-SHA-512 users", () => {
    describe("kafka.plainUsers", () => {
        it("defaults to none and takes names of declared users", () => {
            assert.deepStrictEqual(parseStackConfig({ kafka: { users } }).kafka.plainUsers, []);
            assert.deepStrictEqual(parseStackConfig({ kafka: { users, plainUsers: ["auth"] } }).kafka.plainUsers, ["auth"]);
        });

        const bad: [string, Record<string, unknown>, RegExp][] = [
            ["a name that is not a declared user", { kafka: { users, plainUsers: ["payments"] } }, /kafka\.plainUsers\[0\]: "payments" is not valid; expected the name of a user of kafka\.users \(orders, auth\)/],
            ["an injection attempt", { kafka: { users, plainUsers: ['orders";rm -rf /'] } }, /kafka\.plainUsers\[0\]: "orders\\";rm -rf \/" is not valid; expected the name of a user of kafka\.users/],
            ["a reserved login", { kafka: { users, plainUsers: ["admin"] } }, /kafka\.plainUsers\[0\]: "admin" is not valid/],
            ["a name twice", { kafka: { users, plainUsers: ["orders", "orders"] } }, /kafka\.plainUsers: "orders" is declared twice/],
            ["not a list", { kafka: { users, plainUsers: "orders" } }, /kafka\.plainUsers: "orders" is not valid; expected a list/],
            ["a number", { kafka: { users, plainUsers: [7] } }, /kafka\.plainUsers\[0\]: 7 is not valid/],
            ["without SASL", { kafka: { users, clientAuth: "none", plainUsers: ["orders"] } }, /kafka\.plainUsers: lists orders, but kafka\.clientAuth is none/],
        ];
        for (const [what, raw, message] of bad) {
            it(`refuses ${what}, naming the key`, () => {
                const found = problems(raw);
                assert.ok(found.some((p) => message.test(p)), `${JSON.stringify(found)} has no match for ${message}`);
            });
        }
    });

    describe("the brokers and the users' Secrets", () => {
        it("the client listener takes SCRAM-SHA-512 and PLAIN; INTERNAL, CONTROLLER and PROBE take PLAIN only", () => {
            const props = kafkaServerProperties({ replicas: 3, namespace: "messaging", clientAuth: "sasl", tls: true });
            assert.match(props, /^sasl\.enabled\.mechanisms=PLAIN$/m);
            assert.match(props, /^listener\.name\.client\.sasl\.enabled\.mechanisms=SCRAM-SHA-512,PLAIN$/m);
            assert.match(props, /^listener\.name\.client\.scram-sha-512\.sasl\.jaas\.config=org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule required;$/m);
            assert.match(props, /^sasl\.mechanism\.inter\.broker\.protocol=PLAIN$/m);
            assert.match(props, /^sasl\.mechanism\.controller\.protocol=PLAIN$/m);
            assert.doesNotMatch(kafkaServerProperties({ replicas: 1, namespace: "messaging", clientAuth: "none", tls: false }), /SCRAM/);
        });

        it("the JAAS file holds the admin and kafka.plainUsers only; every user's Secret names SCRAM-SHA-512 and its login module", () => {
            const config = parseStackConfig({ kafka: { users, plainUsers: ["orders"] } });
            const plan = planKafka(config.kafka, config);
            const values = Object.fromEntries(plan.generated.map((g) => [g.id, `pw-${g.id}`]));
            const content = (obj: string, key: string) => {
                const c = plan.objects.find((o) => o.name === obj)!.data.find((d) => d.key === key)!.content;
                return typeof c === "string" ? c : c.render(values);
            };
            const jaas = content("kafka-jaas", "kafka_server_jaas.conf");
            assert.match(jaas, /user_admin=/);
            assert.match(jaas, /user_orders="pw-user-orders-password"/);
            assert.doesNotMatch(jaas, /user_auth=/, "auth is not accepted on PLAIN");
            for (const u of ["orders", "auth"]) {
                assert.strictEqual(content(`kafka-user-${u}`, "sasl.mechanism"), "SCRAM-SHA-512");
                assert.strictEqual(content(`kafka-user-${u}`, "sasl.jaas.config"), clientJaasConfig(u, `pw-user-${u}-password`, "SCRAM-SHA-512"));
            }
            assert.match(content("kafka-user-auth", "sasl.jaas.config"), /^org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule required username="auth"/);
            assert.strictEqual(content("kafka-user-admin", "sasl.mechanism"), "PLAIN");
            const conn = kafkaConnection(config.kafka, config);
            assert.strictEqual(conn.saslMechanism, "SCRAM-SHA-512");
            assert.deepStrictEqual(conn.users, [
                { user: "orders", secretName: "kafka-user-orders", plainAccepted: true },
                { user: "auth", secretName: "kafka-user-auth" },
            ]);
            assert.strictEqual(kafkaConnection(parseStackConfig({ kafka: { clientAuth: "none" } }).kafka, config).saslMechanism, undefined);
        });

        it("the reconcile Job mounts each user's Secret (a volume name that is a DNS label), the script reads the password from it", () => {
            const config = parseStackConfig({ kafka: { users: [{ name: "order_events" }] } });
            const [job] = planKafka(config.kafka, config).jobs!;
            const m = job.containers[0].mounts.find((x) => x.path === "/etc/kafka/users/order_events")!;
            assert.strictEqual(m.volume, "user-order-events");
            assert.deepStrictEqual(m.source, { kind: "object", object: userSecretName("kafka", "order_events") });
            assert.strictEqual(reconcileFiles({ namespace: "m", tls: false, clientAuth: "sasl", topics: [], users: config.kafka.users, deleteUndeclaredTopics: false })["scram-users"], "order_events /etc/kafka/users/order_events/password\n");
        });
    });

    describe("adding a user with a topic, rotating or removing a user restarts no broker", () => {
        for (const stack of ["dev", "prod"]) {
            it(`${stack}: the StatefulSet's pod template is unchanged; the reconcile Job (a new name) applies it`, async function () {
                this.timeout(120_000);
                const base = stackConfig(stack);
                const kafka = base.kafka as { users: { name: string }[]; topics?: unknown[] };
                const grown = {
                    ...base,
                    kafka: { ...kafka, topics: [...(kafka.topics ?? []), { name: "payments-events" }], users: [...kafka.users, { name: "payments", topics: [{ name: "payments-events", access: ["read", "write"] }] }] },
                };
                const shrunk = { ...base, kafka: { ...kafka, users: kafka.users.slice(1), plainUsers: ((kafka as { plainUsers?: string[] }).plainUsers ?? []).filter((u) => u !== kafka.users[0].name) } };
                const seed = "scram";
                // One render at a time (the mock runtime is not re-entrant).
                const before = await renderStack(stack, { config: base, seed });
                const added = await renderStack(stack, { config: grown, seed });
                const sts = (r: typeof before) => find(r.objects, "StatefulSet", "messaging", "kafka") as Any;
                const job = (r: typeof before) => r.objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("kafka-reconcile-"))!.metadata.name;
                assert.deepStrictEqual(sts(added).spec.template, sts(before).spec.template, "a new user with a topic");
                const removed = await renderStack(stack, { config: shrunk, seed });
                assert.notStrictEqual(job(added), job(before), "a new reconcile Job runs");
                assert.ok(dataKey(added.objects, "ConfigMap", "messaging", "kafka-reconcile", "scram-users").includes("payments /etc/kafka/users/payments/password"));
                // Removing a user that kafka.plainUsers listed is the one-time roll of the JAAS file (declared).
                assert.notDeepStrictEqual(sts(removed).spec.template.metadata.annotations["checksum/jaas"], sts(before).spec.template.metadata.annotations["checksum/jaas"]);
                assert.deepStrictEqual({ ...sts(removed).spec.template, metadata: {} }, { ...sts(before).spec.template, metadata: {} });
                // A rotated password (a new seed for the user's password only is what --replace does): the Job's
                // name follows the Secret's content it mounts; the StatefulSet does not mount it.
                const generated = new Map([["random:index/randomPassword:RandomPassword::kafka-user-payments-password", { result: "Rotated0123456789abcdefABCDEF" }]]);
                const rotated = await renderStack(stack, { config: grown, seed, generated });
                assert.deepStrictEqual(sts(rotated).spec.template, sts(added).spec.template, "a rotated user password");
                assert.notStrictEqual(job(rotated), job(added), "the rotation runs the Job again");
            });
        }
    });
});
