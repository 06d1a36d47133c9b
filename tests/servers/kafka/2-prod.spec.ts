// The prod stack's Kafka (3 combined broker+controller nodes, KRaft) as real Kafka 3.8.1: one network
// namespace per pod, the rendered start.sh/server.properties/JAAS unchanged but for the printed paths, one
// cluster shared by every proof below (see prodCluster.ts), TLS on every listener as rendered.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { dataKey, envValue } from "../../../scripts/lib/rendered";
import { randomToken } from "../../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../../helpers/servers";
import { clientJaasConfig, kafkaJaasConfig, type KafkaBrokerIdentity } from "../../../components/kafka";
import type { Manifest } from "../../../scripts/lib/mockRuntime";
import { hostLogDirs, metaProperties, parseBrokerJaas, registerKafkaTeardown, rollNode, waitIsr, withDataKey, withPassword, withUsername, type KafkaCluster } from "../../helpers/kafka";
import { prodCluster } from "./prodCluster";
import { kafkaRuleGroups } from "../../../components/monitoring/kafka";
import type { Sample } from "../../helpers/ops";
import { assertCleanStop, assertRefusedLogin, assertRefusedPlaintext, uniqueIds } from "./proofs";

registerRealServerSummary(180);

/** The container port named metrics, as rendered (the PodMonitor's port). */
function metricsPort(c: KafkaCluster): number {
    const p = (c.rendered.container.ports ?? []).find((x: { name?: string }) => x.name === "metrics");
    assert.ok(p, "the Kafka container renders a metrics port (kafka.jmxAgent with production's exporters)");
    return p.containerPort;
}

/** The kafka_* series the Kafka alert rules use (the rules as the plan renders them). */
function alertSeries(namespace: string): string[] {
    const exprs = kafkaRuleGroups(namespace, true, { enabled: false }).flatMap((g) => g.rules.map((r) => r.expr));
    return [...new Set(exprs.flatMap((e) => e.match(/\bkafka_[a-z_]+\b/g) ?? []))].sort();
}

/** The one sample of `name` in a scrape (these gauges carry no labels but the target's). */
function series(samples: Sample[], name: string): number | undefined {
    const found = samples.filter((s) => s.name === name);
    assert.ok(found.length <= 1, `${name}: ${found.length} samples`);
    return found[0]?.value;
}

/** What the alert expressions aggregate over the cluster's targets. */
function clusterSeries(scrapes: Sample[][]): { underReplicated: number; offlinePartitions: number; activeControllers: number } {
    const sum = (name: string) => scrapes.reduce((a, s) => a + (series(s, name) ?? 0), 0);
    const max = (name: string) => Math.max(0, ...scrapes.map((s) => series(s, name) ?? 0));
    return {
        underReplicated: sum("kafka_server_replicamanager_underreplicatedpartitions"),
        offlinePartitions: max("kafka_controller_kafkacontroller_offlinepartitionscount"),
        activeControllers: sum("kafka_controller_kafkacontroller_activecontrollercount"),
    };
}

/** Scrapes `nodes` until `ok` holds for the cluster's series; returns them. */
async function waitSeries(
    c: KafkaCluster,
    nodes: KafkaCluster["nodes"],
    ok: (s: ReturnType<typeof clusterSeries>) => boolean,
    timeoutMs: number,
): Promise<ReturnType<typeof clusterSeries>> {
    const deadline = Date.now() + timeoutMs;
    const port = metricsPort(c);
    for (;;) {
        const last = clusterSeries(await Promise.all(nodes.map(async (n) => (await n.scrape(port)).samples)));
        if (ok(last)) return last;
        if (Date.now() > deadline) throw new Error(`the scraped series never reached the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
}

/** Producer pace during failures: enough records to see a loss, little CPU on a 2-core machine. */
const STREAM_INTERVAL_MS = 20;
registerKafkaTeardown();

describe("Kafka prod stack on real Kafka 3.8.1 (3 nodes, KRaft)", function () {
    this.timeout(240_000);
    let c: KafkaCluster;
    let stopClock: () => void = () => undefined;
    let topic: string;
    let app: string;

    before(async function () {
        this.timeout(240_000);
        const t0 = Date.now();
        stopClock = startClock("kafka prod");
        ({ cluster: c } = await prodCluster(this));
        console.log(`      3-node cluster ready (waited ${((Date.now() - t0) / 1000).toFixed(1)} s here; it may have started during the dev proofs)`);
        topic = `orders-${randomToken(6).toLowerCase()}`;
        app = c.clientConfig(c.userJaas("orders"));
    });

    after(function () {
        stopClock();
    });

    it("formats every node with the generated cluster id; node.id is the pod ordinal", async function () {
        const id = envValue(c.rendered.objects, c.rendered.sts, c.rendered.container, "CLUSTER_ID");
        assert.strictEqual(id.source, `ConfigMap ${c.namespace}/kafka-config key cluster-id`);
        for (const n of c.nodes) {
            for (const dir of hostLogDirs(n)) {
                const meta = metaProperties(dir);
                assert.strictEqual(meta["cluster.id"], id.value, `${n.pod}: ${dir}/meta.properties cluster.id`);
                assert.strictEqual(meta["node.id"], String(n.ordinal), `${n.pod}: node.id`);
            }
        }
        const cl = await c.probeOrThrow().ok("cluster", [c.adminClient(), "10000"], 20_000);
        assert.strictEqual(cl.clusterId, id.value);
    });

    it("forms a KRaft quorum of the 3 rendered voters with an elected leader", async function () {
        const q = await c.probeOrThrow().ok("quorum", [c.adminClient(), "10000"], 20_000);
        const voters = (q.voters as { id: number }[]).map((v) => v.id).sort();
        assert.deepStrictEqual(voters, [0, 1, 2], `voters: ${JSON.stringify(q.voters)}`);
        assert.ok(voters.includes(q.leaderId as number), `leader ${q.leaderId} is a voter`);
        assert.deepStrictEqual(q.observers, [], "every node is a voter (combined broker+controller)");
    });

    it("advertises each pod's rendered DNS name on the client listener", async function () {
        const cl = await c.probeOrThrow().ok("cluster", [c.adminClient(), "10000"], 20_000);
        const nodes = (cl.nodes as { id: number; host: string; port: number }[]).sort((a, b) => a.id - b.id);
        assert.deepStrictEqual(
            nodes,
            c.nodes.map((n) => ({ id: n.ordinal, host: n.fqdn, port: c.clientPort })),
        );
    });

    it("creates a topic with the rendered defaults: replication factor 3, min.insync.replicas 2", async function () {
        await c.probeOrThrow().ok("create-topic", [c.adminClient(), topic, "3", "-1", "", "15000"], 30_000);
        const t = await waitIsr(c, topic, 3, 30_000);
        for (const p of t.partitions) assert.strictEqual(p.replicas.length, 3, `partition ${p.partition} replicas ${p.replicas}`);
        assert.strictEqual(t.configs["min.insync.replicas"], "2");
    });

    it("lets the application user of Secret kafka-user-orders produce with acks=all and consume back", async function () {
        const p = c.probeOrThrow();
        const r = await p.ok("produce", [app, topic, "first", "600", "30000"], 45_000);
        assert.deepStrictEqual(r.failed, []);
        assert.strictEqual((r.acked as string[]).length, 600);
        const consumed = await p.ok("consume", [app, topic, "30000"], 45_000);
        assert.deepStrictEqual(uniqueIds(consumed.values as string[]), new Set(r.acked as string[]));
    });

    it("refuses a wrong password with SaslAuthenticationException", async function () {
        await assertRefusedLogin(c, withPassword(c.userJaas("orders"), randomToken(24)));
    });

    it("refuses an unknown user with SaslAuthenticationException", async function () {
        await assertRefusedLogin(c, withUsername(c.userJaas("orders"), `nobody${randomToken(6).toLowerCase()}`));
    });

    it("refuses PLAINTEXT on the SASL_SSL client port", async function () {
        await assertRefusedPlaintext(c);
    });

    it("runs the JMX agent in every broker: the rendered metrics port serves every kafka_* series the alert rules use, with a healthy cluster's values", async function () {
        const port = metricsPort(c);
        const scrapes = await Promise.all(c.nodes.map((n) => n.scrape(port)));
        const used = alertSeries(c.namespace);
        assert.ok(used.length >= 3, `the rules use kafka_* series: ${used.join(", ")}`);
        for (const [i, s] of scrapes.entries()) {
            assert.strictEqual(s.status, 200, `${c.nodes[i].pod}: GET :${port}/metrics`);
            const names = new Set(s.samples.map((x) => x.name));
            for (const name of used) assert.ok(names.has(name), `${c.nodes[i].pod} exports ${name} (the alerts use it); it exports ${[...names].filter((n) => n.startsWith("kafka_")).join(", ")}`);
            assert.strictEqual(series(s.samples, "kafka_server_replicamanager_underreplicatedpartitions"), 0, `${c.nodes[i].pod}: no under-replicated partitions`);
        }
        const sums = clusterSeries(scrapes.map((s) => s.samples));
        console.log(`      scraped :${port}/metrics on ${c.nodes.length} pods: ${scrapes.map((s) => s.samples.length).join(", ")} samples; cluster: ${JSON.stringify(sums)}`);
        assert.strictEqual(sums.activeControllers, 1, "exactly one active KRaft controller (KafkaActiveControllerCount does not fire)");
        assert.strictEqual(sums.offlinePartitions, 0, "no offline partitions (KafkaOfflinePartitions does not fire)");
        assert.strictEqual(sums.underReplicated, 0, "no under-replicated partitions (KafkaUnderReplicatedPartitions does not fire)");
    });

    it("loses no acknowledged message when a node is killed -9 while producing with acks=all; the node rejoins and catches up", async function () {
        const p = c.probeOrThrow();
        const t = `kill9-${randomToken(6).toLowerCase()}`;
        await p.ok("create-topic", [c.adminClient(), t, "3", "-1", "", "15000"], 30_000);
        const before = await waitIsr(c, t, 3, 30_000);
        const stream = await p.startStream(app, t, "k9", STREAM_INTERVAL_MS, 100_000);
        await waitAcked(c, stream, 100, 30_000);
        // The leader of partition 0: its partitions must fail over while the producer keeps sending.
        const victim = c.nodes[before.partitions.find((x) => x.partition === 0)!.leader];
        const metaBefore = hostLogDirs(victim).map((d) => fs.readFileSync(path.join(d, "meta.properties"), "utf8"));
        const ackedAtKill = (await p.ok("stream-status", [stream], 10_000)).acked as number;
        await victim.kill9();
        await waitAcked(c, stream, ackedAtKill + 100, 60_000);
        // What the alerts see meanwhile, from the survivors' agents: partitions under-replicated, none offline,
        // and one active controller (a new one if the victim was it).
        const survivors = c.nodes.filter((n) => n !== victim);
        const down = await waitSeries(c, survivors, (s) => s.underReplicated > 0 && s.activeControllers === 1, 60_000);
        assert.strictEqual(down.offlinePartitions, 0, "RF 3 with one node down: no partition offline");
        // The kubelet restarts the container: same pod, same volumes.
        victim.start();
        await victim.waitListening();
        const after = await waitIsr(c, t, 3, 90_000);
        const healed = await waitSeries(c, c.nodes, (s) => s.underReplicated === 0 && s.activeControllers === 1, 60_000);
        const result = await p.ok("stream-stop", [stream, "60000"], 90_000);
        const acked = result.acked as string[];
        const failed = result.failed as [string, string, string][];
        const consumed = uniqueIds((await p.ok("consume", [app, t, "60000"], 90_000)).values as string[]);
        const lost = acked.filter((id) => !consumed.has(id));
        console.log(
            `      killed ${victim.pod} (leader of partition 0): ${result.sent} sent, ${acked.length} acknowledged, ${failed.length} failed` +
                `${failed.length ? ` (${[...new Set(failed.map((f) => f[1]))].join(", ")})` : ""}, ${consumed.size} consumed, ${lost.length} acknowledged but lost`,
        );
        console.log(`      metrics with ${victim.pod} down: ${JSON.stringify(down)}; after the rejoin: ${JSON.stringify(healed)}`);
        assert.deepStrictEqual(lost, [], "acknowledged (acks=all) but not consumed");
        assert.ok(acked.length >= ackedAtKill + 100, "the producer made progress with one node down");
        for (const x of after.partitions) assert.deepStrictEqual([...x.isr].sort(), [0, 1, 2], `partition ${x.partition} ISR after the rejoin`);
        assert.match(victim.lastLog(), /All of the log directories are already formatted\./, "the restarted node kept its formatted volume");
        assert.deepStrictEqual(hostLogDirs(victim).map((d) => fs.readFileSync(path.join(d, "meta.properties"), "utf8")), metaBefore, "meta.properties unchanged");
    });

    // The broker password rotation the README documents, as two rolling updates one node at a time (highest
    // ordinal first, as the StatefulSet controller does) while an acks=all producer runs. Secret kafka-jaas is
    // what the program renders (kafkaJaasConfig, checked against the render first) with a newly generated
    // broker-next password (step 1, `pulumi up --replace` of kafka-broker-next-password), then with
    // kafka.brokerLogin broker-next (step 2). A node is back only once it is in every ISR again, which needs
    // the inter-broker logins (INTERNAL, CONTROLLER) to work.
    describe("broker password rotation, two rolling updates (the README's procedure)", function () {
        const jaasKey = "kafka_server_jaas.conf";
        let rendered: ReturnType<typeof parseBrokerJaas>;
        let others: { name: string; password: string }[];
        let newNext: string;
        let step1Done = false;

        before(function () {
            const jaas = dataKey(c.rendered.objects, "Secret", c.namespace, "kafka-jaas", jaasKey);
            rendered = parseBrokerJaas(jaas);
            others = rendered.users.filter((u) => u.name !== "broker" && u.name !== "broker-next");
            // The JAAS file below is the program's: for the rendered values it gives the rendered file byte for byte.
            assert.strictEqual(render(rendered.login as KafkaBrokerIdentity, password("broker"), password("broker-next")), jaas);
            assert.strictEqual(rendered.login, "broker", "prod renders brokerLogin broker (the default)");
            newNext = randomToken(32);
        });

        const password = (id: string) => rendered.users.find((u) => u.name === id)!.password;
        const render = (login: KafkaBrokerIdentity, broker: string, next: string) => kafkaJaasConfig({ login, passwords: { broker, "broker-next": next } }, others);
        const objectsWith = (jaas: string) => withDataKey(c.rendered.objects, "Secret", c.namespace, "kafka-jaas", jaasKey, jaas);

        it("step 1: a new broker-next password, rolled out while the brokers log in as broker: no failed send, nothing lost; the new password is accepted, the old one refused", async function () {
            const before = clientJaasConfig("broker-next", newNext);
            await assertRefusedLogin(c, before);
            const r = await rollUnderProducer(c, app, objectsWith(render("broker", password("broker"), newNext)), "rotate1");
            console.log(`      rotation step 1 (new broker-next password): ${r.summary}`);
            assert.strictEqual(r.failed, 0, "failed sends (beyond the producer's own retries)");
            assert.deepStrictEqual(r.lost, [], "acknowledged but not consumed");
            const login = await c.probeOrThrow().call("cluster", [c.clientConfig(before), "15000"], 30_000);
            assert.strictEqual(login.ok, true, `broker-next logs in with its new password after the roll: ${login.error}: ${login.message}`);
            await assertRefusedLogin(c, clientJaasConfig("broker-next", password("broker-next")));
            step1Done = true;
        });

        it("step 2: kafka.brokerLogin broker-next, rolled out: every node logs in to the others with the new password; no failed send, nothing lost", async function () {
            assert.ok(step1Done, "step 1 did not complete");
            const step2 = render("broker-next", password("broker"), newNext);
            assert.match(step2, /^ {4}username="broker-next"$/m);
            const r = await rollUnderProducer(c, app, objectsWith(step2), "rotate2");
            console.log(`      rotation step 2 (brokerLogin broker-next): ${r.summary}`);
            assert.strictEqual(r.failed, 0, "failed sends (beyond the producer's own retries)");
            assert.deepStrictEqual(r.lost, [], "acknowledged but not consumed");
            for (const n of c.nodes) {
                const started = fs.readFileSync(path.join(n.dirOf("/etc/kafka/jaas"), jaasKey), "utf8");
                assert.strictEqual(parseBrokerJaas(started).login, "broker-next", `${n.pod} runs with the step-2 JAAS file`);
                assert.strictEqual(parseBrokerJaas(started).password, newNext, `${n.pod} logs in with the new password`);
            }
            // The quorum still has all three voters caught up: the controllers authenticate to each other as broker-next.
            const q = await c.probeOrThrow().ok("quorum", [c.adminClient(), "10000"], 20_000);
            assert.deepStrictEqual((q.voters as { id: number }[]).map((v) => v.id).sort(), [0, 1, 2]);
        });
    });
});

/**
 * Rolls every node (highest ordinal first) onto `objects` while a paced acks=all producer runs on a new
 * topic; then consumes it all back. Returns the counts and each node's timings.
 */
async function rollUnderProducer(c: KafkaCluster, app: string, objects: Manifest[], prefix: string): Promise<{ sent: number; acked: number; failed: number; lost: string[]; summary: string }> {
    const p = c.probeOrThrow();
    const t = `rotate-${prefix}-${randomToken(6).toLowerCase()}`;
    await p.ok("create-topic", [c.adminClient(), t, "3", "-1", "", "15000"], 30_000);
    await waitIsr(c, t, 3, 30_000);
    const stream = await p.startStream(app, t, prefix, STREAM_INTERVAL_MS, 100_000);
    await waitAcked(c, stream, 100, 30_000);
    const gaps: string[] = [];
    for (const node of [...c.nodes].reverse()) {
        const r = await rollNode(c, node, { topic: t, objects });
        assertCleanStop(node, r.stopped);
        assert.match(node.lastLog(), /All of the log directories are already formatted\./, `${node.pod}: the format step is a no-op on restart`);
        gaps.push(`${node.pod}: stopped in ${r.stopS.toFixed(1)} s, Ready ${r.readyS.toFixed(1)} s after start, back in every ISR ${r.isrAfterReadyS.toFixed(1)} s after Ready`);
        const status = await p.ok("stream-status", [stream], 10_000);
        assert.strictEqual(status.failed, 0, `failed sends after restarting ${node.pod}`);
    }
    const acked0 = (await p.ok("stream-status", [stream], 10_000)).acked as number;
    await waitAcked(c, stream, acked0 + 50, 30_000);
    const result = await p.ok("stream-stop", [stream, "60000"], 90_000);
    const acked = result.acked as string[];
    const failed = (result.failed as unknown[]).length;
    const consumed = uniqueIds((await p.ok("consume", [app, t, "60000"], 90_000)).values as string[]);
    const lost = acked.filter((id) => !consumed.has(id));
    return {
        sent: result.sent as number,
        acked: acked.length,
        failed,
        lost,
        summary: `${result.sent} sent, ${acked.length} acknowledged, ${failed} failed, ${consumed.size} consumed, ${lost.length} lost\n        ${gaps.join("\n        ")}`,
    };
}

/** Waits until the stream has at least `n` acknowledged records; fails on any failed send meanwhile. */
async function waitAcked(c: KafkaCluster, stream: string, n: number, timeoutMs: number): Promise<void> {
    await c.waitUntil(`${n} acknowledged records`, timeoutMs, async () => {
        const s = await c.probeOrThrow().ok("stream-status", [stream], 10_000);
        return (s.acked as number) >= n;
    });
}

