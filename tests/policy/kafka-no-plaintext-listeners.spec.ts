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
    itCatchesClassCorpus,
    Json,
    obj,
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
            const vs = await expectOnly(objs, "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol (from /mnt/kafka-config/server.properties (ConfigMap messaging/kafka-config key server.properties)");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["StatefulSet", "messaging", "kafka"]);
            await expectClean(objs, { "kafka-no-plaintext-listeners": { allowPlaintext: true } });
            await expectClean(objs, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });

        it("accepts a PLAINTEXT controller listener", async () => {
            const { objs, conf } = kafkaStack();
            conf.data["server.properties"] = conf.data["server.properties"].replace("CONTROLLER:SASL_PLAINTEXT", "CONTROLLER:PLAINTEXT");
            await expectClean(objs);
        });

        it("lets env override the file, including the Bitnami KAFKA_CFG_ form", async () => {
            const { objs, kafka } = kafkaStack();
            kafka.env.push({ name: "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP", value: "CLIENT:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT" });
            await expectOnly(objs, "kafka-no-plaintext-listeners", "listener INTERNAL uses the PLAINTEXT security protocol");
        });

        it("flags a PLAINTEXT:// listener configured through env only", async () => {
            const vs = await expectOnly(fixture("kafka-plaintext.yaml"), "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the container env)");
            assert.strictEqual(vs.length, 1);
        });

        it("flags a kafka image left at its default PLAINTEXT configuration", async () => {
            const { objs, kafka } = kafkaStack();
            delete kafka.command;
            kafka.volumeMounts = kafka.volumeMounts.filter((m: Json) => m.name !== "config");
            await expectOnly(objs, "kafka-no-plaintext-listeners", "the image's default PLAINTEXT listener is used");
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
                    },
                });
            const base = "listeners=CLIENT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n";
            await expectOnly(conf(`${base}listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,\\\n  CLIENT:PLAINTEXT\n`), "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol");
            await expectOnly(conf(`${base}listener.security.protocol.map CONTROLLER:SASL_PLAINTEXT,CLIENT:PLAINTEXT\n`), "kafka-no-plaintext-listeners", "listener CLIENT");
            await expectOnly(conf(`${base}listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:PLAINTEXT\n`, "broker.cfg"), "kafka-no-plaintext-listeners", "/mnt/kafka-config/broker.cfg");
            await expectClean(conf(`${base}listener.security.protocol.map: CONTROLLER:SASL_PLAINTEXT,\\\n  CLIENT:SASL_SSL\n`));
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
            await expectOnly(bundled, "kafka-no-plaintext-listeners", "the image's bundled /opt/kafka/config/kraft/server.properties");
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
            await expectOnly(env([["KAFKA_PROCESS_ROLES", "broker,controller"], ["KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"]]), "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the container env)");
            await expectClean(env([["KAFKA_ADVERTISED_LISTENERS", "CLIENT://k:9092"], ["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"], ["KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"]]));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("kafka-no-plaintext-listeners");
    });
});
