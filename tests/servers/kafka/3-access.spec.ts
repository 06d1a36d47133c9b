// The prod stack's TLS on the peer listeners, the authorizer, and the rendered reconcile Job, on the shared
// 3-node cluster (prodCluster.ts): the grants and topics come from prodTestConfig (Pulumi.prod.yaml with the
// proofs' kafka.users and kafka.topics), the ACLs from the Job's run when the cluster was first ready.

import * as assert from "assert";
import * as net from "net";
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../../../components/stackConfig";
import { reconcileFiles } from "../../../components/kafka";
import type { Manifest } from "../../../scripts/lib/mockRuntime";
import { configMapData } from "../../../scripts/lib/rendered";
import { find } from "../../../scripts/lib/manifests";
import { randomToken, run } from "../../../scripts/lib/servers";
import { registerRealServerSummary, requireBinaries, startClock } from "../../helpers/servers";
import { describeTopic, registerKafkaTeardown, withDataKey, type KafkaCluster, type ReconcileRun } from "../../helpers/kafka";
import { DECLARED_TOPICS, firstReconcile, prodCluster, prodTestConfig } from "./prodCluster";
import { indent, uniqueIds } from "./proofs";

registerRealServerSummary(180);
registerKafkaTeardown();

const TOPIC_DENIED = "org.apache.kafka.common.errors.TopicAuthorizationException";
const TIMEOUT = "org.apache.kafka.common.errors.TimeoutException";

/**
 * A clear-text Kafka client on `host:port`: one ApiVersions v0 request (the first request any client sends,
 * answered before SASL authentication on a SASL_PLAINTEXT listener), then whatever comes back until the broker
 * closes the connection (bounded). Returns the bytes received and whether the broker closed it.
 */
function clearTextApiVersions(host: string, port: number, timeoutMs: number): Promise<{ bytes: Buffer; closed: boolean; answered: boolean }> {
    const correlationId = 0x4d53414b;
    const clientId = Buffer.from("msa-cleartext");
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    body.writeInt16BE(18, 0); // ApiVersions
    body.writeInt16BE(0, 2);
    body.writeInt32BE(correlationId, 4);
    body.writeInt16BE(clientId.length, 8);
    clientId.copy(body, 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = net.connect({ host, port });
        const timer = setTimeout(() => {
            s.destroy();
            done(false);
        }, timeoutMs);
        const done = (closed: boolean) => {
            clearTimeout(timer);
            const bytes = Buffer.concat(chunks);
            resolve({ bytes, closed, answered: bytes.length >= 8 && bytes.readInt32BE(4) === correlationId });
        };
        s.once("connect", () => s.write(Buffer.concat([size, body])));
        s.on("data", (d: Buffer) => chunks.push(d));
        s.once("close", () => done(true));
        s.once("error", (e: NodeJS.ErrnoException) => {
            if (e.code === "ECONNRESET") return; // a reset is a close
            clearTimeout(timer);
            reject(e);
        });
    });
}

/** The objects with ConfigMap kafka-reconcile as the program renders it for prodTestConfig(kafka). */
function declared(c: KafkaCluster, kafka: Record<string, unknown>): Manifest[] {
    const cfg = parseStackConfig(prodTestConfig(kafka));
    const files = reconcileFiles({
        namespace: cfg.kafka.namespace,
        tls: cfg.tls.enabled,
        clientAuth: cfg.kafka.clientAuth,
        topics: cfg.kafka.topics,
        users: cfg.kafka.users,
        deleteUndeclaredTopics: cfg.kafka.deleteUndeclaredTopics,
    });
    let objects = c.rendered.objects;
    for (const [key, value] of Object.entries(files)) objects = withDataKey(objects, "ConfigMap", c.namespace, "kafka-reconcile", key, value);
    return objects;
}

function describeRun(r: ReconcileRun): string {
    return `exit ${r.code} after ${r.seconds.toFixed(1)} s, changes=${r.changes} problems=${r.problems}\n${indent((r.stdout + r.stderr).trim())}`;
}

describe("Kafka prod stack: TLS on every listener, the authorizer, the reconcile Job (real Kafka 3.8.1, 3 nodes)", function () {
    this.timeout(240_000);
    let c: KafkaCluster;
    let stopClock: () => void = () => undefined;
    let orders: string;
    let auth: string;

    before(async function () {
        this.timeout(240_000);
        ({ cluster: c } = await prodCluster(this));
        stopClock = startClock("kafka access");
        orders = c.clientConfig(c.userJaas("orders"), { "max.block.ms": "10000" });
        auth = c.clientConfig(c.userJaas("auth"), { "max.block.ms": "10000" });
    });

    after(function () {
        stopClock();
    });

    describe("TLS", function () {
        it("INTERNAL (9094) and CONTROLLER (9093) serve the rendered certificate, verified against the CA for the pod's name; SASL without TLS gets nowhere", async function () {
            const { openssl } = requireBinaries(this, ["openssl"], "openssl shows the peer listeners' handshake");
            const rendered = fs.readFileSync(path.join(c.nodes[0].dirOf("/etc/kafka/tls"), "tls.crt"), "utf8");
            const fingerprint = async (pem: string) => {
                const r = await run(openssl, ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem });
                return r.stdout.trim();
            };
            for (const port of [9093, 9094]) {
                for (const n of c.nodes) {
                    const r = await run(openssl, ["s_client", "-connect", `${n.address}:${port}`, "-servername", n.fqdn, "-verify_hostname", n.fqdn, "-CAfile", c.caFile(), "-verify_return_error", "-showcerts"], { input: "", timeoutMs: 15_000 });
                    assert.match(r.stdout, /Verify return code: 0 \(ok\)/, `${n.pod}:${port}: ${r.stdout.slice(-400)} ${r.stderr.slice(-400)}`);
                    const served = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(r.stdout)![0];
                    const own = fs.readFileSync(path.join(n.dirOf("/etc/kafka/tls"), "tls.crt"), "utf8");
                    assert.strictEqual(await fingerprint(served), await fingerprint(own), `${n.pod}:${port} serves the certificate of its Secret volume`);
                }
            }
            assert.ok(rendered.includes("BEGIN CERTIFICATE"));
            // A clear-text client on each peer port: no Kafka answer (a SASL_PLAINTEXT listener answers
            // ApiVersions before authentication), the connection closed, and the broker logs the failed TLS handshake.
            const from = c.lab.rootAddress.replace(/\./g, "\\.");
            for (const port of [9093, 9094]) {
                for (const n of c.nodes) {
                    const mark = n.logs().length;
                    const r = await clearTextApiVersions(n.address, port, 10_000);
                    assert.strictEqual(r.answered, false, `${n.pod}:${port} answered a clear-text ApiVersions request`);
                    assert.strictEqual(r.closed, true, `${n.pod}:${port} kept a clear-text connection open`);
                    assert.ok(r.bytes.length === 0 || r.bytes[0] === 0x15, `${n.pod}:${port} sent ${r.bytes.length} bytes that are not a TLS alert: ${r.bytes.subarray(0, 16).toString("hex")}`);
                    await c.waitUntil(`${n.pod}'s log of the clear-text client on ${port}`, 10_000, async () =>
                        new RegExp(`Failed authentication with /${from} .*\\(SSL handshake failed\\)`).test(n.logs().slice(mark)),
                    );
                }
            }
            console.log(`      9093 and 9094 on each of the ${c.nodes.length} nodes: TLS verified against the CA for the pod's name, the served certificate is the pod's; a clear-text client gets no answer and is logged as a failed SSL handshake`);
            // The admin's SASL login in clear on the INTERNAL port: the broker expects a TLS handshake and drops it.
            const clear = c.clientConfig(c.userJaas("admin"), { "bootstrap.servers": `${c.nodes[0].fqdn}:9094`, "security.protocol": "SASL_PLAINTEXT", "default.api.timeout.ms": "3000", "request.timeout.ms": "2000" });
            const refused = await c.probeOrThrow().call("cluster", [clear, "3000"], 30_000);
            assert.strictEqual(refused.ok, false, "SASL_PLAINTEXT on 9094 was served");
            const tls = c.clientConfig(c.userJaas("admin"), { "bootstrap.servers": `${c.nodes[0].fqdn}:9094` });
            const served = await c.probeOrThrow().call("cluster", [tls, "10000"], 30_000);
            assert.strictEqual(served.ok, true, `SASL_SSL on 9094: ${served.error}: ${served.message}`);
        });
    });

    describe("authorizer", function () {
        it("lets orders produce to and consume its own topic; denies it another team's topic (TopicAuthorizationException)", async function () {
            const p = c.probeOrThrow();
            const own = `orders-authz-${randomToken(6).toLowerCase()}`;
            const other = `payments-${randomToken(6).toLowerCase()}`;
            for (const t of [own, other]) await p.ok("create-topic", [c.adminClient(), t, "1", "-1", "", "15000"], 30_000);
            const r = await p.ok("produce", [orders, own, "own", "50", "20000"], 45_000);
            assert.deepStrictEqual(r.failed, []);
            assert.strictEqual(uniqueIds((await p.ok("consume", [orders, own, "20000"], 45_000)).values as string[]).size, 50);
            const denied = await p.ok("produce", [orders, other, "other", "1", "15000"], 45_000);
            assert.deepStrictEqual((denied.failed as string[][]).map((f) => f[1]), [TOPIC_DENIED], `produce to ${other}: ${JSON.stringify(denied.failed)}`);
            const read = await p.call("consume", [orders, other, "10000"], 30_000);
            assert.strictEqual(read.ok, false);
            assert.strictEqual(read.error, TOPIC_DENIED, `${read.error}: ${read.message}`);
            console.log(`      orders: 50/50 acknowledged on ${own}; on ${other}: produce ${denied.failed && (denied.failed as string[][])[0][1]}, consume ${read.error}`);
        });

        it("denies a user without grants (auth) on every topic, and orders may neither delete a topic nor add an ACL", async function () {
            const p = c.probeOrThrow();
            const denied = await p.ok("produce", [auth, DECLARED_TOPICS[0].name, "auth", "1", "15000"], 45_000);
            assert.deepStrictEqual((denied.failed as string[][]).map((f) => f[1]), [TOPIC_DENIED]);
            const read = await p.call("consume", [auth, DECLARED_TOPICS[0].name, "10000"], 30_000);
            assert.strictEqual(read.error, TOPIC_DENIED, `${read.error}: ${read.message}`);
            const del = await c.runTool("kafka-topics.sh", orders, ["--delete", "--topic", DECLARED_TOPICS[0].name]);
            assert.notStrictEqual(del.code, 0, "orders deleted a topic");
            assert.match(del.stdout + del.stderr, /TopicAuthorizationException|Authorization failed/);
            const acl = await c.runTool("kafka-acls.sh", orders, ["--add", "--allow-principal", "User:orders", "--operation", "ALL", "--topic", "*"]);
            assert.match(acl.stdout + acl.stderr, /ClusterAuthorizationException|Cluster authorization failed/, "orders added an ACL");
            const topics = await c.runTool("kafka-topics.sh", c.adminClient(), ["--list"]);
            assert.match(topics.stdout, new RegExp(`^${DECLARED_TOPICS[0].name}$`, "m"), "the topic is still there");
        });

        it("denies orders a consumer group outside its prefix (GroupAuthorizationException) and allows one inside it", async function () {
            const suffix = randomToken(6).toLowerCase();
            // The first group lookup of the cluster creates __consumer_offsets (50 partitions, RF 3): give it time.
            const patient = c.clientConfig(c.userJaas("orders"), { "default.api.timeout.ms": "90000", "request.timeout.ms": "30000" });
            const own = await c.runTool("kafka-consumer-groups.sh", patient, ["--describe", "--group", `orders-${suffix}`, "--timeout", "90000"], 150_000);
            const denied = await c.runTool("kafka-consumer-groups.sh", orders, ["--describe", "--group", `payments-${suffix}`]);
            assert.match(denied.stdout + denied.stderr, /GroupAuthorizationException/, `payments-${suffix}: ${denied.stdout}${denied.stderr}`);
            assert.doesNotMatch(own.stdout + own.stderr, /AuthorizationException/, `orders-${suffix}: ${own.stdout}${own.stderr}`);
            assert.match(own.stdout + own.stderr, new RegExp(`Consumer group 'orders-${suffix}' does not exist`));
            console.log(`      orders: group payments-${suffix} GroupAuthorizationException; group orders-${suffix} described (does not exist)`);
        });

        it("creates no topic on a producer's first send (only kafka.topics does): a granted user waits for it instead of being denied, a super user's typo creates nothing", async function () {
            const p = c.probeOrThrow();
            const absent = `orders-absent-${randomToken(6).toLowerCase()}`;
            const quick = { "max.block.ms": "5000" };
            // With auto-creation on, the broker answers TOPIC_AUTHORIZATION_FAILED for a topic it does not know
            // to a user who may not CREATE it: fatal for the send, although orders has a grant on orders-*.
            const r = await p.ok("produce", [c.clientConfig(c.userJaas("orders"), quick), absent, "absent", "1", "15000"], 45_000);
            assert.deepStrictEqual((r.failed as string[][]).map((f) => f[1]), [TIMEOUT], `orders producing to the absent ${absent}: ${JSON.stringify(r.failed)}`);
            const typo = `orders-typo-${randomToken(6).toLowerCase()}`;
            const a = await p.ok("produce", [c.clientConfig(c.userJaas("admin"), quick), typo, "typo", "1", "15000"], 45_000);
            assert.deepStrictEqual((a.failed as string[][]).map((f) => f[1]), [TIMEOUT], `admin producing to the absent ${typo}: ${JSON.stringify(a.failed)}`);
            const topics = await c.runTool("kafka-topics.sh", c.adminClient(), ["--list"]);
            assert.strictEqual(topics.code, 0, topics.stderr);
            for (const t of [absent, typo]) assert.doesNotMatch(topics.stdout, new RegExp(`^${t}$`, "m"), `${t} was created by a producer`);
            console.log(`      orders → ${absent}: ${String((r.failed as string[][])[0][2])}; admin → ${typo}: not created`);
        });
    });

    describe("the rendered reconcile Job", function () {
        it("created the declared topics with their partitions, replication factor and configs, and the users' ACLs", async function () {
            const first = firstReconcile(c);
            console.log(`      first run (when the cluster was ready): ${describeRun(first)}\n      paths substituted:\n${indent(first.substitutions.join("\n"))}`);
            assert.strictEqual(first.code, 0);
            // What the tests below change is what the program renders: the unchanged declaration is the render.
            assert.deepStrictEqual(configMapData(find(declared(c, {}), "ConfigMap", c.namespace, "kafka-reconcile")), configMapData(find(c.rendered.objects, "ConfigMap", c.namespace, "kafka-reconcile")));
            const d = await describeTopic(c, "orders-declared");
            assert.strictEqual(d.partitions.length, 3);
            for (const x of d.partitions) assert.strictEqual(x.replicas.length, 3);
            assert.strictEqual(d.configs["retention.ms"], "86400000");
            assert.strictEqual(d.configs["max.message.bytes"], "2097152");
            assert.strictEqual((await describeTopic(c, "orders-compacted")).configs["cleanup.policy"], "compact");
            const acls = await c.runTool("kafka-acls.sh", c.adminClient(), ["--list", "--principal", "User:orders"]);
            for (const line of [/resourceType=TOPIC, name=orders-, patternType=PREFIXED[\s\S]*?operation=READ/, /resourceType=GROUP, name=orders-, patternType=PREFIXED/]) assert.match(acls.stdout, line);
        });

        it("changes nothing on a second run", async function () {
            const r = await c.runReconcile();
            console.log(`      second run: ${describeRun(r)}`);
            assert.strictEqual(r.code, 0);
            assert.strictEqual(r.changes, 0);
        });

        it("raises the partitions and adds a grant; removing the grant removes its ACL (the user is denied again)", async function () {
            const p = c.probeOrThrow();
            const grant = { name: "auth", topics: [{ name: "orders-declared", access: ["read"] }] };
            const ordersUser = (prodTestConfig().kafka as { users: unknown[] }).users[0];
            const raised = [{ ...DECLARED_TOPICS[0], partitions: 6 }, DECLARED_TOPICS[1]];
            const r1 = await c.runReconcile(declared(c, { topics: raised, users: [ordersUser, grant] }));
            console.log(`      partitions 3 → 6 and a read grant for auth: ${describeRun(r1)}`);
            assert.strictEqual(r1.code, 0);
            assert.match(r1.stdout, /raised the partitions of orders-declared from 3 to 6/);
            assert.strictEqual((await describeTopic(c, "orders-declared")).partitions.length, 6);
            // An ACL reaches each broker's authorizer through the metadata log: a broker can still answer with the
            // previous ACLs for a moment after the Job's change is committed (seen once in CI under load), as any
            // client would see; the read is retried a few times, and how many tries it took is printed.
            const untilAnswer = async (args: string[], wanted: (x: { ok?: boolean; error?: string }) => boolean) => {
                let x = await p.call("consume", args, 30_000);
                let tries = 1;
                for (; !wanted(x) && tries < 4; tries++) {
                    await new Promise((r) => setTimeout(r, 2000));
                    x = await p.call("consume", args, 30_000);
                }
                console.log(`      ${args[1]} read as auth: ${x.ok ? "allowed" : x.error} after ${tries} tr${tries === 1 ? "y" : "ies"}`);
                return x;
            };
            const granted = await untilAnswer([auth, "orders-declared", "15000"], (x) => x.ok === true);
            assert.strictEqual(granted.ok, true, `auth reads with its grant: ${granted.error}: ${granted.message}`);
            const r2 = await c.runReconcile(declared(c, { topics: raised }));
            console.log(`      the grant removed: ${describeRun(r2)}`);
            assert.strictEqual(r2.code, 0);
            assert.strictEqual(r2.changes, 1, "one ACL removed, nothing else");
            assert.match(r2.stdout, /remove ACL: ALLOW User:auth READ on TOPIC LITERAL:orders-declared$/m);
            const acls = await c.runTool("kafka-acls.sh", c.adminClient(), ["--list", "--principal", "User:auth"]);
            assert.doesNotMatch(acls.stdout, /principal=User:auth/);
            const again = await untilAnswer([auth, "orders-declared", "10000"], (x) => x.error === TOPIC_DENIED);
            assert.strictEqual(again.error, TOPIC_DENIED, `${again.error}: ${again.message}`);
        });

        it("refuses to lower the partitions (clear message, non-zero exit) and keeps a topic no longer declared", async function () {
            const r = await c.runReconcile(declared(c, { topics: [{ ...DECLARED_TOPICS[0], partitions: 2 }] }));
            console.log(`      partitions 6 → 2, orders-compacted no longer declared: ${describeRun(r)}`);
            assert.notStrictEqual(r.code, 0);
            assert.match(r.stderr, /cannot apply: orders-declared has 6 partitions, the stack declares 2: Kafka cannot remove partitions/);
            assert.match(r.stdout, /kept topic orders-compacted: not declared \(kafka\.deleteUndeclaredTopics is false\)/);
            assert.strictEqual((await describeTopic(c, "orders-declared")).partitions.length, 6);
            assert.strictEqual((await describeTopic(c, "orders-compacted")).partitions.length, 1);
        });
    });
});
