// The Kafka ComponentResource (components/kafka/index.ts) instantiated alone under the Pulumi mock runtime.

import * as assert from "assert";
import { Kafka, planKafka } from "../../components/kafka";
import { selectorLabels } from "../../components/labels";
import { RenderResult } from "../../scripts/lib/mockRuntime";
import { Any, containers, find } from "../../scripts/lib/manifests";
import { context, defaults, platform, renderComponent } from "../helpers/component";

describe("Kafka component", () => {
    let r: RenderResult;
    before(async () => {
        const settings = { ...defaults.kafka, replicas: 3, users: [{ name: "shop", topics: [], groups: [] }] };
        r = await renderComponent(() => new Kafka("events", { settings, plan: planKafka(settings, context), platform }));
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
