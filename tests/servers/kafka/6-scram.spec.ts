// Application users on SCRAM-SHA-512, applied live by the rendered reconcile Job on real Kafka 3.8.1 (the dev
// stack, 1 node): the one-time roll that enables SCRAM on the client listener while a PLAIN client of a
// kafka.plainUsers user keeps producing, then a user created, rotated and deleted by Job runs alone (the
// broker's process is the same throughout), a failed run and its completion, and refused input.

import * as assert from "assert";
import { randomToken } from "../../../scripts/lib/servers";
import { dataKey } from "../../../scripts/lib/rendered";
import { registerRealServerSummary, startClock } from "../../helpers/servers";
import { KafkaCluster, registerKafkaTeardown, renderKafka, requireKafka, stackConfig, withDataKey, withPassword, type KafkaRendered, type ReconcileRun } from "../../helpers/kafka";
import { clientJaasConfig } from "../../../components/kafka";
import type { Manifest } from "../../../scripts/lib/mockRuntime";
import { indent, uniqueIds, SASL_AUTH_FAILED } from "./proofs";

registerRealServerSummary(180);
registerKafkaTeardown();

const TOPIC = "orders-scram";
const SCRAM_LINE = /^listener\.name\.client\.sasl\.enabled\.mechanisms=.*\n/m;

/** The dev stack with the users given, one topic each team's prefix grants, orders still accepted on PLAIN. */
function devConfig(users: string[]): Record<string, unknown> {
    const config = stackConfig("dev");
    return {
        ...config,
        kafka: {
            ...((config.kafka as object | undefined) ?? {}),
            topics: [{ name: TOPIC }],
            users: users.map((u) => ({ name: u, topics: [{ prefix: "orders-", access: ["read", "write"] }] })),
            plainUsers: ["orders"],
        },
    };
}

function describeRun(r: ReconcileRun): string {
    return `exit ${r.code} after ${r.seconds.toFixed(1)} s, changes=${r.changes}\n${indent((r.stdout + r.stderr).trim())}`;
}

describe("Kafka SCRAM-SHA-512 users applied live by the reconcile Job (real Kafka 3.8.1, dev: 1 node)", function () {
    this.timeout(240_000);
    const seed = randomToken(16);
    let one: KafkaRendered;
    let c: KafkaCluster | undefined;
    let stopClock: () => void = () => undefined;
    let brokerPid: number | undefined;
    let stream = "";

    const scramJaas = (r: KafkaRendered, user: string) => dataKey(r.objects, "Secret", r.namespace, `kafka-user-${user}`, "sasl.jaas.config");
    const password = (r: KafkaRendered, user: string) => dataKey(r.objects, "Secret", r.namespace, `kafka-user-${user}`, "password");
    /** produce 20 and consume them back as `jaas`; the time from the start to the last record consumed. */
    async function roundTrip(jaas: string, what: string, overrides: Record<string, string> = {}): Promise<number> {
        const t0 = Date.now();
        const cfg = c!.clientConfig(jaas, { "max.block.ms": "15000", ...overrides });
        const prefix = `${what}-${randomToken(4)}`;
        const r = await c!.probeOrThrow().ok("produce", [cfg, TOPIC, prefix, "20", "20000"], 45_000);
        assert.deepStrictEqual(r.failed, [], `${what}: failed sends`);
        const got = uniqueIds(((await c!.probeOrThrow().ok("consume", [cfg, TOPIC, "20000"], 45_000)).values as string[]).filter((v) => v.startsWith(prefix)));
        assert.strictEqual(got.size, 20, `${what}: consumed its 20 records`);
        return Date.now() - t0;
    }
    async function refused(jaas: string, what: string, error = SASL_AUTH_FAILED): Promise<void> {
        const r = await c!.probeOrThrow().call("cluster", [c!.clientConfig(jaas), "15000"], 30_000);
        assert.strictEqual(r.ok, false, `${what}: the login was accepted`);
        assert.strictEqual(r.error, error, `${what}: ${r.error}: ${r.message}`);
    }
    function sameBroker(): void {
        assert.strictEqual(c!.nodes[0].process?.child.pid, brokerPid, "the broker's process is the one started by the roll (no restart)");
        assert.ok(c!.nodes[0].running, "the broker runs");
    }

    before(async function () {
        const dist = await requireKafka(this);
        stopClock = startClock("kafka scram");
        one = await renderKafka("dev", devConfig(["orders"]), seed);
        // The broker as it ran before SCRAM: the same render without the client listener's SCRAM line (what
        // the program rendered before it), the JAAS file with orders on PLAIN (what kafka.plainUsers keeps).
        const props = dataKey(one.objects, "ConfigMap", one.namespace, "kafka-config", "server.properties");
        assert.match(props, SCRAM_LINE);
        const before = withDataKey(one.objects, "ConfigMap", one.namespace, "kafka-config", "server.properties", props.replace(SCRAM_LINE, ""));
        c = await KafkaCluster.start("scram", { ...one, objects: before }, dist);
        const job = await c.runReconcile(one.objects);
        console.log(`      first reconcile Job run: ${describeRun(job)}`);
        assert.strictEqual(job.code, 0);
    });

    after(async function () {
        try {
            await c?.teardown();
        } finally {
            stopClock();
        }
    });

    it("migration: the one-time roll enables SCRAM-SHA-512; a PLAIN client of kafka.plainUsers keeps producing through it, nothing acknowledged is lost", async function () {
        const p = c!.probeOrThrow();
        const plain = clientJaasConfig("orders", password(one, "orders"), "PLAIN");
        // Today's brokers: SCRAM is not a mechanism of the client listener.
        await refused(scramJaas(one, "orders"), "SCRAM before the roll", "org.apache.kafka.common.errors.UnsupportedSaslMechanismException");
        stream = await p.startStream(c!.clientConfig(plain, { "delivery.timeout.ms": "120000", "max.block.ms": "60000" }), TOPIC, "plain", 50, 100_000);
        await new Promise((r) => setTimeout(r, 2000));
        const t0 = Date.now();
        const node = c!.nodes[0];
        await node.stop();
        node.start(one.objects);
        await c!.waitReady();
        const rolled = Date.now() - t0;
        brokerPid = node.process?.child.pid;
        const ms = await roundTrip(scramJaas(one, "orders"), "orders-scram");
        // Clients that mix the two (the Secret's new ScramLoginModule line with their own sasl.mechanism=PLAIN, or
        // their own PlainLoginModule line with the output's SCRAM-SHA-512): the module only holds the login, so both work.
        const mixed = [
            await roundTrip(scramJaas(one, "orders"), "orders-scram-module-on-plain", { "sasl.mechanism": "PLAIN" }),
            await roundTrip(plain, "orders-plain-module-on-scram", { "sasl.mechanism": "SCRAM-SHA-512" }),
        ];
        const status = await p.ok("stream-status", [stream], 10_000);
        console.log(`      roll (stop, start with SCRAM on the client listener, ready): ${(rolled / 1000).toFixed(1)} s; orders on SCRAM after it: produce+consume in ${ms} ms (ScramLoginModule on PLAIN: ${mixed[0]} ms, PlainLoginModule on SCRAM: ${mixed[1]} ms); the PLAIN stream so far: ${status.sent} sent, ${status.acked} acknowledged, ${status.failed} failed`);
        assert.strictEqual(status.failed, 0, "PLAIN sends failed across the roll");
    });

    it("a user added to kafka.users logs in with SCRAM after one Job run, the broker not restarted", async function () {
        const two = await renderKafka("dev", devConfig(["orders", "payments"]), seed);
        assert.strictEqual(password(two, "orders"), password(one, "orders"), "one seed: the same passwords");
        await refused(scramJaas(two, "payments"), "payments before the Job");
        const t0 = Date.now();
        const job = await c!.runReconcile(two.objects);
        console.log(`      add payments: ${describeRun(job)}`);
        assert.strictEqual(job.code, 0);
        assert.match(job.stdout, /^reconcile: created SCRAM-SHA-512 user payments$/m);
        const ms = await roundTrip(scramJaas(two, "payments"), "payments");
        console.log(`      payments: Job ${job.seconds.toFixed(1)} s, then produce+consume in ${ms} ms; config to first use ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.doesNotMatch(job.stdout + job.stderr, new RegExp(password(two, "payments")), "the password is not in the Job's log");
        sameBroker();
    });

    it("rotation: a new password in the user's Secret, one Job run: the new one works, the old one is refused", async function () {
        const two = await renderKafka("dev", devConfig(["orders", "payments"]), seed);
        const old = scramJaas(two, "payments");
        const pw = randomToken(32);
        // What `pulumi up --replace <urn of kafka-user-payments-password>` renders: the Secret's new password.
        let objects: Manifest[] = withDataKey(two.objects, "Secret", two.namespace, "kafka-user-payments", "password", pw);
        objects = withDataKey(objects, "Secret", two.namespace, "kafka-user-payments", "sasl.jaas.config", withPassword(old, pw));
        const job = await c!.runReconcile(objects);
        console.log(`      rotate payments: ${describeRun(job)}`);
        assert.strictEqual(job.code, 0);
        assert.doesNotMatch(job.stdout + job.stderr, new RegExp(pw), "the password is not in the Job's log");
        const ms = await roundTrip(withPassword(old, pw), "payments-rotated");
        await refused(old, "payments' old password");
        console.log(`      new password: produce+consume in ${ms} ms; the old one: ${SASL_AUTH_FAILED}`);
        sameBroker();
    });

    it("a failed run names its step and exits non-zero, keeping what it did; the next run completes it", async function () {
        const two = await renderKafka("dev", devConfig(["orders", "payments", "billing"]), seed);
        // A topic the broker must refuse: replication factor 3 on one node (config would refuse it; the file is patched).
        const bad = `orders-bad-${randomToken(4).toLowerCase()}`;
        const topics = dataKey(two.objects, "ConfigMap", two.namespace, "kafka-reconcile", "topics");
        const failing = await c!.runReconcile(withDataKey(two.objects, "ConfigMap", two.namespace, "kafka-reconcile", "topics", `${topics}${bad} 1 3\n`));
        console.log(`      with an impossible topic: ${describeRun(failing)}`);
        assert.notStrictEqual(failing.code, 0);
        assert.match(failing.stderr, new RegExp(`reconcile: failed while applying topic ${bad} \\(exit \\d+\\)`));
        // Applied before the failed step: billing's credential (it logs in); not yet: its grant (the ACL step).
        const billing = c!.clientConfig(scramJaas(two, "billing"), { "max.block.ms": "10000" });
        const login = await c!.probeOrThrow().call("cluster", [billing, "15000"], 30_000);
        assert.strictEqual(login.ok, true, `billing logs in after the failed run: ${login.error}: ${login.message}`);
        const denied = await c!.probeOrThrow().call("consume", [billing, TOPIC, "10000"], 30_000);
        assert.strictEqual(denied.error, "org.apache.kafka.common.errors.TopicAuthorizationException", `${denied.error}: ${denied.message}`);
        const next = await c!.runReconcile(two.objects);
        console.log(`      the next run: ${describeRun(next)}`);
        assert.strictEqual(next.code, 0);
        assert.match(next.stdout, /^reconcile: add ACL: ALLOW User:billing READ,WRITE on TOPIC PREFIXED:orders-$/m);
        const ms = await roundTrip(scramJaas(two, "billing"), "billing-completed");
        console.log(`      after the failed run billing logged in but was denied ${TOPIC}; after the next run: produce+consume in ${ms} ms`);
        sameBroker();
    });

    it("refuses a user name that is not one (exit 2, naming scram-users), before changing anything", async function () {
        const two = await renderKafka("dev", devConfig(["orders"]), seed);
        const users = dataKey(two.objects, "ConfigMap", two.namespace, "kafka-reconcile", "scram-users");
        const r = await c!.runReconcile(withDataKey(two.objects, "ConfigMap", two.namespace, "kafka-reconcile", "scram-users", `${users}x;reboot /etc/kafka/users/orders/password\n`));
        console.log(`      hostile scram-users: ${describeRun(r)}`);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /^reconcile: refused: scram-users: 'x\\;reboot' is not a user name/m);
        assert.doesNotMatch(r.stdout, /reconcile: (created|deleted)/);
    });

    it("deletion: users removed from kafka.users are refused after one Job run; the PLAIN client lost nothing throughout", async function () {
        const p = c!.probeOrThrow();
        const gone = await renderKafka("dev", devConfig(["orders"]), seed);
        const job = await c!.runReconcile(gone.objects);
        console.log(`      remove payments and billing: ${describeRun(job)}`);
        assert.strictEqual(job.code, 0);
        assert.match(job.stdout, /^reconcile: deleted SCRAM-SHA-512 user payments: no longer declared$/m);
        const two = await renderKafka("dev", devConfig(["orders", "payments", "billing"]), seed);
        await refused(scramJaas(two, "billing"), "billing after its removal");
        await roundTrip(scramJaas(gone, "orders"), "orders-after-removals");
        sameBroker();
        const result = await p.ok("stream-stop", [stream, "60000"], 90_000);
        const acked = result.acked as string[];
        const consumed = uniqueIds(((await p.ok("consume", [c!.clientConfig(scramJaas(gone, "orders")), TOPIC, "60000"], 90_000)).values as string[]).filter((v) => v.startsWith("plain-")));
        const lost = acked.filter((id) => !consumed.has(id));
        console.log(`      the PLAIN client (orders, kafka.plainUsers) through the roll and every Job run: ${result.sent} sent, ${acked.length} acknowledged, ${(result.failed as unknown[]).length} failed, ${lost.length} acknowledged but lost`);
        assert.deepStrictEqual(result.failed, []);
        assert.deepStrictEqual(lost, []);
        assert.ok(acked.length > 100, "the PLAIN client made progress");
    });
});
