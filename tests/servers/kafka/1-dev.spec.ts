// The dev stack's Kafka (1 combined broker+controller node) as real Kafka 3.8.1: the rendered start.sh,
// server.properties template and JAAS file run unchanged but for the paths printed in before() (see
// tests/helpers/kafka/), in a network namespace of its own so the advertised pod DNS name is the rendered one.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { envValue } from "../../../scripts/lib/rendered";
import { randomToken } from "../../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../../helpers/servers";
import {
    hostLogDirs,
    KafkaCluster,
    metaProperties,
    registerKafkaTeardown,
    renderKafka,
    requireKafka,
    stackConfig,
    withKafkaUsers,
    withPassword,
    withUsername,
    type KafkaRendered,
} from "../../helpers/kafka";
import { prewarmProdCluster } from "./prodCluster";
import { assertCleanStop, assertRefusedLogin, assertRefusedPlaintext, indent, uniqueIds } from "./proofs";

registerRealServerSummary(180);
registerKafkaTeardown();

describe("Kafka dev stack on real Kafka 3.8.1 (1 node)", function () {
    this.timeout(180_000);
    let rendered: KafkaRendered;
    let cluster: KafkaCluster | undefined;
    let stopClock: () => void = () => undefined;
    let topic: string;
    let produced: string[] = [];

    before(async function () {
        const dist = await requireKafka(this);
        // The prod proofs' 3-node cluster starts meanwhile: its start overlaps with the dev proofs' waits.
        prewarmProdCluster(dist);
        stopClock = startClock("kafka dev");
        // Pulumi.dev.yaml with a grant for the proofs' topics (the authorizer denies what no ACL allows).
        rendered = await renderKafka("dev", withKafkaUsers(stackConfig("dev"), [{ name: "orders", topics: [{ prefix: "orders-", access: ["read", "write"] }] }]));
        assert.strictEqual(rendered.replicas, 1, "dev renders one Kafka node");
        cluster = await KafkaCluster.start("dev", rendered, dist);
        console.log(`      paths substituted (everything else as rendered):\n${indent(cluster.describeSubstitutions())}`);
        // What Pulumi does once the StatefulSet is ready: the reconcile Job applies the declared ACLs.
        const job = await cluster.runReconcile();
        assert.strictEqual(job.code, 0, `the rendered reconcile Job failed:\n${job.stdout}\n${job.stderr}`);
        console.log(`      reconcile Job (${job.seconds.toFixed(1)} s, changes=${job.changes}); its paths substituted:\n${indent(job.substitutions.join("\n"))}`);
        topic = `orders-${randomToken(6).toLowerCase()}`;
    });

    after(async function () {
        try {
            await cluster?.teardown();
            if (cluster) assert.deepStrictEqual(cluster.leftovers(), [], "nothing of the dev cluster is left");
        } finally {
            stopClock();
        }
    });

    it("formats the storage with the generated cluster id (ConfigMap kafka-config key cluster-id) and reports it", async function () {
        const c = cluster!;
        const id = envValue(rendered.objects, rendered.sts, rendered.container, "CLUSTER_ID");
        assert.strictEqual(id.source, `ConfigMap ${rendered.namespace}/kafka-config key cluster-id`);
        const [node] = c.nodes;
        for (const dir of hostLogDirs(node)) {
            const meta = metaProperties(dir);
            assert.strictEqual(meta["cluster.id"], id.value, `${dir}/meta.properties cluster.id`);
            assert.strictEqual(meta["node.id"], "0", `${dir}/meta.properties node.id (the ordinal of ${node.pod})`);
        }
        assert.match(node.logs(), /Formatting .* with metadata\.version/, "the first start formatted the storage");
        const cl = await c.probeOrThrow().ok("cluster", [c.adminClient(), "10000"], 20_000);
        assert.strictEqual(cl.clusterId, id.value, "the cluster id the broker reports");
    });

    it("advertises the rendered pod DNS name and answers on the rendered bootstrap address", async function () {
        const c = cluster!;
        const cl = await c.probeOrThrow().ok("cluster", [c.adminClient(), "10000"], 20_000);
        assert.deepStrictEqual(cl.nodes, [{ id: 0, host: c.podFqdn(0), port: c.clientPort }]);
        assert.strictEqual(rendered.connection.bootstrapServers, `kafka.${rendered.namespace}.svc.cluster.local:${c.clientPort}`);
    });

    it("lets the application user of Secret kafka-user-orders produce with acks=all and consume back", async function () {
        const c = cluster!;
        const p = c.probeOrThrow();
        await p.ok("create-topic", [c.adminClient(), topic, "-1", "-1", "", "15000"], 30_000);
        const app = c.clientConfig(c.userJaas("orders"));
        const r = await p.ok("produce", [app, topic, "before-restart", "500", "30000"], 45_000);
        assert.deepStrictEqual(r.failed, [], "no failed sends");
        produced = r.acked as string[];
        assert.strictEqual(produced.length, 500, "every record acknowledged");
        const consumed = await p.ok("consume", [app, topic, "30000"], 45_000);
        assert.deepStrictEqual(uniqueIds(consumed.values as string[]), new Set(produced), "consumed exactly what was acknowledged");
    });

    it("refuses a wrong password with SaslAuthenticationException", async function () {
        const c = cluster!;
        await assertRefusedLogin(c, withPassword(c.userJaas("orders"), randomToken(24)));
    });

    it("refuses an unknown user with SaslAuthenticationException", async function () {
        const c = cluster!;
        await assertRefusedLogin(c, withUsername(c.userJaas("orders"), `nobody${randomToken(6).toLowerCase()}`));
    });

    it("refuses PLAINTEXT on the SASL client port", async function () {
        await assertRefusedPlaintext(cluster!);
    });

    it("keeps the data over a restart: no re-format, same meta.properties, the messages still there", async function () {
        const c = cluster!;
        assert.ok(produced.length > 0, "the produce test ran first");
        const [node] = c.nodes;
        const dirs = hostLogDirs(node);
        const before = dirs.map((d) => fs.readFileSync(path.join(d, "meta.properties"), "utf8"));
        assertCleanStop(node, await node.stop());
        node.start();
        await c.waitReady();
        const second = node.lastLog();
        assert.match(second, /All of the log directories are already formatted\./, "the format step is a no-op on a formatted volume");
        assert.doesNotMatch(second, /Formatting .* with metadata\.version/, "not formatted again");
        assert.deepStrictEqual(dirs.map((d) => fs.readFileSync(path.join(d, "meta.properties"), "utf8")), before, "meta.properties unchanged");
        const consumed = await c.probeOrThrow().ok("consume", [c.clientConfig(c.userJaas("orders")), topic, "30000"], 45_000);
        assert.deepStrictEqual(uniqueIds(consumed.values as string[]), new Set(produced), "the messages produced before the restart");
    });
});
