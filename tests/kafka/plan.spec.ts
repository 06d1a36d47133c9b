// The Kafka plan (components/kafka/plan.ts, files.ts): authorizer, broker identities, the reconcile Job.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { kafkaJaasConfig, kafkaReadinessCommand, kafkaReadinessScript, kafkaServerProperties, planKafka, reconcileFiles, type KafkaClientAuth } from "../../components/kafka";
import { resolveContent, ServicePlan } from "../../components/workload/plan";

/** Resolves every derived content of a plan with distinct fake values. */
function resolved(plan: ServicePlan): Map<string, string> {
    const values = Object.fromEntries(plan.generated.map((g) => [g.id, `value-of-${g.id}`]));
    return new Map(plan.objects.flatMap((o) => o.data.map((d) => [`${o.name}/${d.key}`, resolveContent(d.content, values)] as [string, string])));
}

describe("Kafka plan: authorizer, broker identities, reconcile Job", () => {
    const declared = {
        replicas: 3,
        topics: [{ name: "orders.events", partitions: 6, retention: "3d", configs: { "max.message.bytes": 2097152 } }, { name: "audit" }],
        users: [{ name: "orders", topics: [{ prefix: "orders.", access: ["read", "write"] }, { name: "audit", access: ["write"] }], groups: ["orders-"] }, { name: "auth" }],
    };

    it("server.properties: StandardAuthorizer, the admin and both broker identities as super users, deny when no ACL matches", () => {
        for (const tls of [false, true]) {
            const props = kafkaServerProperties({ replicas: 3, namespace: "messaging", clientAuth: "sasl", tls });
            assert.match(props, /^authorizer\.class\.name=org\.apache\.kafka\.metadata\.authorizer\.StandardAuthorizer$/m);
            assert.match(props, /^super\.users=User:admin;User:broker;User:broker-next$/m);
            assert.match(props, /^allow\.everyone\.if\.no\.acl\.found=false$/m);
            // Declared topics only: auto-creation would turn a producer's first send to a just-created topic
            // into a TopicAuthorizationException (the user may not CREATE it) and let a super user's typo create one.
            assert.match(props, /^auto\.create\.topics\.enable=false$/m);
            const peer = tls ? "SASL_SSL" : "SASL_PLAINTEXT";
            // PROBE: the readiness probe's loopback listener, authenticated but without TLS (a JVM-less script speaks to it).
            assert.match(props, new RegExp(`^listener\\.security\\.protocol\\.map=CLIENT:${peer},INTERNAL:${peer},CONTROLLER:${peer},PROBE:SASL_PLAINTEXT$`, "m"));
            assert.match(props, /^listeners=.*,PROBE:\/\/127\.0\.0\.1:9095$/m);
            for (const l of ["client", "internal", "controller"]) {
                assert.strictEqual(new RegExp(`^listener\\.name\\.${l}\\.ssl\\.keystore\\.location=`, "m").test(props), tls, `${l} key store with tls ${tls}`);
            }
        }
        // Without client authentication nobody can be told apart: ANONYMOUS must be a super user or nothing works.
        assert.match(kafkaServerProperties({ replicas: 1, namespace: "m", clientAuth: "none", tls: false }), /^super\.users=User:admin;User:broker;User:broker-next;User:ANONYMOUS$/m);
    });

    it("the JAAS file accepts both broker identities and logs in as kafka.brokerLogin", () => {
        for (const login of ["broker", "broker-next"] as const) {
            const jaas = kafkaJaasConfig({ login, passwords: { broker: "pw-broker", "broker-next": "pw-next" } }, [{ name: "admin", password: "pw-admin" }]);
            assert.match(jaas, new RegExp(`^    username="${login}"$`, "m"));
            assert.match(jaas, new RegExp(`^    password="${login === "broker" ? "pw-broker" : "pw-next"}"$`, "m"));
            assert.match(jaas, /^    user_broker="pw-broker"$/m);
            assert.match(jaas, /^    user_broker-next="pw-next"$/m);
            assert.match(jaas, /^    user_admin="pw-admin";$/m);
        }
        const config = parseStackConfig({ kafka: { brokerLogin: "broker-next" } });
        const jaas = resolved(planKafka(config.kafka, config)).get("kafka-jaas/kafka_server_jaas.conf")!;
        assert.match(jaas, /^    username="broker-next"$/m);
        assert.match(jaas, /^    password="value-of-broker-next-password"$/m);
        assert.match(jaas, /^    user_broker="value-of-broker-password"$/m);
    });

    it("the reconcile Job logs in as admin from the mounted Secret through the client listener, with its protocol", () => {
        const cases: [KafkaClientAuth, boolean, string][] = [
            ["sasl", false, "SASL_PLAINTEXT"],
            ["sasl", true, "SASL_SSL"],
            ["none", false, "PLAINTEXT"],
            ["none", true, "SSL"],
        ];
        for (const [clientAuth, tls, protocol] of cases) {
            const f = reconcileFiles({ namespace: "messaging", tls, clientAuth, topics: [], users: [], deleteUndeclaredTopics: false });
            assert.strictEqual(f.bootstrap, "kafka.messaging.svc.cluster.local:9092\n", `${clientAuth}/${tls}`);
            const props = f["client.properties"];
            assert.match(props, new RegExp(`^security\\.protocol=${protocol}$`, "m"));
            assert.strictEqual(/^sasl\.mechanism=PLAIN$/m.test(props), clientAuth === "sasl", `${clientAuth}: SASL mechanism`);
            assert.strictEqual(/^ssl\.truststore\.location=\/etc\/kafka\/tls\/ca\.crt$/m.test(props), tls, `tls ${tls}: the mounted CA`);
        }
        const config = parseStackConfig({ tls: { enabled: true }, kafka: declared });
        const plan = planKafka(config.kafka, config);
        assert.strictEqual(plan.jobs!.length, 1);
        const [job] = plan.jobs!;
        assert.strictEqual(job.afterWorkload, true, "runs once the brokers are ready");
        const [c] = job.containers;
        assert.deepStrictEqual(c.command, ["/bin/bash", "/mnt/kafka-reconcile/reconcile.sh"]);
        assert.deepStrictEqual(
            c.mounts.map((m) => [m.path, m.source.kind === "object" ? m.source.object : m.source.kind]),
            [
                ["/mnt/kafka-reconcile", "kafka-reconcile"],
                ["/etc/kafka/admin", "kafka-user-admin"],
                // Each user's Secret: the SCRAM password the Job sets (and the Job's name follows its content).
                ...config.kafka.users.map((u) => [`/etc/kafka/users/${u.name}`, `kafka-user-${u.name}`]),
                ["/etc/kafka/tls", "tls"],
                ["/tmp", "scratch"],
            ],
        );
        assert.ok(config.kafka.users.length > 0, "the declaration has users");
        // No credential in the Job's env: only the declaration's hash and the JVM options.
        assert.deepStrictEqual(c.env.map((e) => e.name), ["RECONCILE_SPEC", "KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS"]);
        assert.ok(c.env.every((e) => !("from" in e && e.from)), "no env from a Secret");
        assert.match(String(reconcileFiles({ namespace: "m", tls: true, clientAuth: "sasl", topics: [], users: [], deleteUndeclaredTopics: false })["reconcile.sh"]), /cat \/etc\/kafka\/admin\/sasl\.jaas\.config/);
    });

    it("renders the declared topics, their configs and the users' ACLs as the script's input files; a changed declaration is a new Job", () => {
        const config = parseStackConfig({ kafka: declared });
        const plan = planKafka(config.kafka, config);
        const files = resolved(plan);
        assert.strictEqual(files.get("kafka-reconcile/topics"), "orders.events 6 3\naudit 1 3\n");
        assert.strictEqual(files.get("kafka-reconcile/topic-configs"), "orders.events max.message.bytes=2097152\norders.events retention.ms=259200000\n");
        assert.strictEqual(
            files.get("kafka-reconcile/acls"),
            ["GROUP PREFIXED orders- User:orders READ", "TOPIC LITERAL audit User:orders WRITE", "TOPIC PREFIXED orders. User:orders READ", "TOPIC PREFIXED orders. User:orders WRITE", ""].join("\n"),
        );
        assert.strictEqual(files.get("kafka-reconcile/super-users"), "User:admin\nUser:broker\nUser:broker-next\n");
        assert.strictEqual(files.get("kafka-reconcile/delete-undeclared-topics"), "false\n");
        // The Job's spec carries the declaration's hash: a changed declaration changes the Job (a new object).
        const spec = (p: typeof plan) => p.jobs![0].containers[0].env.find((e) => e.name === "RECONCILE_SPEC")!;
        const changed = parseStackConfig({ kafka: { ...declared, topics: [{ ...declared.topics[0], partitions: 12 }, declared.topics[1]] } });
        assert.notDeepStrictEqual(spec(planKafka(changed.kafka, changed)), spec(plan));
        assert.deepStrictEqual(spec(planKafka(parseStackConfig({ kafka: declared }).kafka, config)), spec(plan));
        // Nothing of the declaration rolls the brokers.
        assert.ok(plan.objects.find((o) => o.name === "kafka-reconcile")!.data.every((d) => d.rollout === false));
    });

    it("readiness is ready.sh (RUNNING and in every ISR), one failure enough; startup waits for the controller port; ready.sh changes roll nothing", () => {
        const config = parseStackConfig({ kafka: { replicas: 3 } });
        const plan = planKafka(config.kafka, config);
        const broker = plan.workload.containers[0];
        assert.deepStrictEqual(broker.probes.readiness?.exec?.command, kafkaReadinessCommand());
        assert.strictEqual(broker.probes.readiness?.failureThreshold, 1, "a broker that fell out of an ISR is unready at the next run");
        assert.ok((broker.probes.readiness?.timeoutSeconds ?? 0) > 3, "the script's own wait for an answer (3 s) fits in the probe's timeout");
        assert.deepStrictEqual(broker.probes.startup?.tcpSocket, { port: "controller" });
        const config2 = plan.objects.find((o) => o.name === "kafka-config")!;
        const ready = config2.data.find((d) => d.key === "ready.sh")!;
        assert.strictEqual(ready.content, kafkaReadinessScript());
        assert.strictEqual(ready.rollout, false);
    });
});
