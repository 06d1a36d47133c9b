// Policy kafka-no-plaintext-listeners: Kafka brokers have no PLAINTEXT client listener, as the broker reads its configuration.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import * as path from "path";
import { loadPolicyConfig } from "../../policy/runner";
import { parseProperties, plaintextListeners } from "../../policy/policies/kafkaNoPlaintextListeners";
import {
    container,
    expectClean,
    expectOnly,
    fixture,
    FIXTURES,
    itCatchesClassCorpus,
    Json,
    obj,
    overlay,
    ROOT,
    stack,
    withChange,
} from "./helpers";

describe("policy kafka-no-plaintext-listeners", () => {
    describe("moved from tests/policy.spec.ts", () => {
        function kafkaStack(): { objs: Json[]; conf: Json; kafka: Json } {
            const objs = stack();
            return { objs, conf: obj(objs, "ConfigMap", "kafka-config"), kafka: container(obj(objs, "StatefulSet", "kafka")) };
        }

        it("parses properties and ignores the controller listener", () => {
            const props = parseProperties("# c\nlisteners=CLIENT://:9092,CONTROLLER://:9093\nlistener.security.protocol.map = CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT\ncontroller.listener.names=CONTROLLER\n");
            assert.deepStrictEqual(plaintextListeners(props), []);
            props.set("listener.security.protocol.map", "CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            assert.deepStrictEqual(plaintextListeners(props), ["CLIENT"]);
            assert.deepStrictEqual(plaintextListeners(new Map([["listeners", "PLAINTEXT://:9092,SSL://:9093"]])), ["PLAINTEXT"]);
        });

        it("flags a PLAINTEXT client listener in the mounted server.properties unless allowPlaintext", async () => {
            const { objs, conf } = kafkaStack();
            conf.data["server.properties"] = conf.data["server.properties"].replace("CLIENT:SASL_PLAINTEXT", "CLIENT:PLAINTEXT");
            const vs = await expectOnly(objs, "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol (from /opt/kafka/runtime/server.properties (written by /mnt/kafka-config/start.sh)");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["StatefulSet", "messaging", "kafka"]);
            await expectClean(objs, { "kafka-no-plaintext-listeners": { allowPlaintext: true } });
            await expectClean(objs, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });

        it("accepts a PLAINTEXT controller listener", async () => {
            const { objs, conf } = kafkaStack();
            conf.data["server.properties"] = conf.data["server.properties"].replace("CONTROLLER:SASL_PLAINTEXT", "CONTROLLER:PLAINTEXT");
            await expectClean(objs);
        });

        it("states PLAINTEXT listener settings in env that the start-up does not read (the Bitnami KAFKA_CFG_ form too), without claiming the broker uses them", async () => {
            const { objs, kafka } = kafkaStack();
            kafka.env.push({ name: "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP", value: "CLIENT:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT" });
            const vs = await expectOnly(objs, "kafka-no-plaintext-listeners", "env KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP sets listener INTERNAL to PLAINTEXT; this start-up does not read it");
            assert.ok(!vs.some((v) => v.message.includes("listener INTERNAL uses")), vs[0].message);
            // A PLAINTEXT controller listener in such env is allowed, as it is in the broker's own config.
            const { objs: ok, kafka: k2 } = kafkaStack();
            k2.env.push({ name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", value: "CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT" }, { name: "KAFKA_CONTROLLER_LISTENER_NAMES", value: "CONTROLLER" });
            await expectClean(ok);
        });

        it("flags a PLAINTEXT:// listener configured through env only", async () => {
            const vs = await expectOnly(fixture("kafka-plaintext.yaml"), "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the container's KAFKA_* env");
            assert.strictEqual(vs.length, 1);
        });

        it("flags a kafka image left at its default PLAINTEXT configuration", async () => {
            const { objs, kafka } = kafkaStack();
            delete kafka.command;
            kafka.volumeMounts = kafka.volumeMounts.filter((m: Json) => m.name !== "config");
            await expectOnly(objs, "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the image's bundled default configuration");
        });
    });

    describe("one change to the baseline", () => {
        it("reads server.properties as Java does: continuations, whitespace separators, any file name", async () => {
            const conf = (text: string, key = "server.properties") =>
                withChange({
                    in: "ConfigMap messaging/kafka-config",
                    edit: (o) => {
                        delete o.data["server.properties"];
                        o.data[key] = text;
                        o.data["start.sh"] = o.data["start.sh"].replace(/server\.properties /, `${key} `);
                    },
                });
            const base = "listeners=CLIENT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\nprocess.roles=broker,controller\n";
            await expectOnly(conf(`${base}listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,\\\n  CLIENT:PLAINTEXT\n`), "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol");
            await expectOnly(conf(`${base}listener.security.protocol.map CONTROLLER:SASL_PLAINTEXT,CLIENT:PLAINTEXT\n`), "kafka-no-plaintext-listeners", "listener CLIENT");
            await expectOnly(conf(`${base}listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:PLAINTEXT\n`, "broker.cfg"), "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol");
            await expectClean(conf(`${base}listener.security.protocol.map: CONTROLLER:SASL_PLAINTEXT,\\\n  CLIENT:SASL_SSL\n`));
        });

        it("judges the file the broker runs, not every mounted file that mentions listeners", async () => {
            const objs = withChange({ in: "ConfigMap messaging/kafka-config", edit: (o) => (o.data["client-example.properties"] = "listeners=PLAINTEXT://:9092\n") });
            await expectClean(objs);
            // A start script that fails on a missing file under set -e starts no broker: nothing to judge.
            const missing = withChange({ in: "ConfigMap messaging/kafka-config", edit: (o) => delete o.data["server.properties"] });
            await expectClean(missing);
        });

        it("says it cannot verify a broker whose config the pack cannot see, and claims nothing", async () => {
            const objs = withChange({
                in: "StatefulSet messaging/kafka",
                edit: (o) => (container(o).command = ["/opt/kafka/bin/kafka-server-start.sh", "/var/lib/kafka/data/server.properties"]),
            });
            const vs = await expectOnly(objs, "kafka-no-plaintext-listeners", "cannot verify that Kafka has no PLAINTEXT client listener: the broker: /var/lib/kafka/data/server.properties: /var/lib/kafka/data/server.properties is on the volume claim template");
            assert.ok(vs.every((v) => !v.message.includes("uses the PLAINTEXT")), vs[0].message);
        });

        it("applies kafka-server-start.sh --override and the Kafka defaults of the file it runs", async () => {
            const start = (script: string) => withChange({ in: "ConfigMap messaging/kafka-config", edit: (o) => (o.data["start.sh"] = script) });
            await expectOnly(
                start("exec /opt/kafka/bin/kafka-server-start.sh /mnt/kafka-config/server.properties --override listener.security.protocol.map=CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"),
                "kafka-no-plaintext-listeners",
                "listener CLIENT uses the PLAINTEXT security protocol",
            );
            const bundled = withChange({
                in: "StatefulSet messaging/kafka",
                edit: (o) => {
                    container(o).command = ["/opt/kafka/bin/kafka-server-start.sh", "/opt/kafka/config/kraft/server.properties"];
                    container(o).volumeMounts = container(o).volumeMounts.filter((m: Json) => m.name !== "config");
                },
            });
            await expectOnly(bundled, "kafka-no-plaintext-listeners", "/opt/kafka/config/kraft/server.properties of image apache/kafka:3.8.1");
        });

        it("reads the apache/kafka image's env translation, with Kafka's default listener when none is set", async () => {
            const env = (vars: Array<[string, string]>) =>
                withChange({
                    in: "StatefulSet messaging/kafka",
                    edit: (o) => {
                        const c = container(o);
                        delete c.command;
                        c.volumeMounts = c.volumeMounts.filter((m: Json) => m.name !== "config");
                        c.env.push(...vars.map(([name, value]) => ({ name, value })));
                    },
                });
            await expectOnly(env([["KAFKA_PROCESS_ROLES", "broker,controller"], ["KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"]]), "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the container's KAFKA_* env");
            await expectClean(env([["KAFKA_ADVERTISED_LISTENERS", "CLIENT://k:9092"], ["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"], ["KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"]]));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("kafka-no-plaintext-listeners");

        it("reads `local` outside a function in bash as assigning nothing: the PLAINTEXT fallback is what the broker gets", async () => {
            const file = path.join(FIXTURES, "violating", "classes", "kafka-local-outside-function.yaml");
            await expectOnly(overlay(file), "kafka-no-plaintext-listeners", "the broker started by /mnt/kafka-config/start.sh: listener CLIENT, INTERNAL uses the PLAINTEXT security protocol");
        });
    });
});
