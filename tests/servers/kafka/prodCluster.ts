// The prod stack's 3-node cluster, started once and shared by every prod proof (2-prod.spec.ts and the
// measurement in defects.spec.ts): a 3-node start costs most of the Kafka budget, so 1-dev.spec.ts also
// starts it in the background (prewarmProdCluster) while the dev proofs run.

import * as assert from "assert";
import { sharedCluster, KafkaCluster, renderKafka, requireKafka, stackConfig, withKafkaUsers, type KafkaDist, type KafkaRendered, type ReconcileRun } from "../../helpers/kafka";
import { envValue } from "../../../scripts/lib/rendered";
import { TEST_JMX_AGENT } from "../../helpers/ops";
import { indent } from "./proofs";

export const PROD = "prod";

/** What each node had written outside its data volume once the cluster was first ready. */
export interface OutsideBaseline {
    starts: number;
    total: number;
    files: Map<string, number>;
}
const baselines = new WeakMap<KafkaCluster, OutsideBaseline[]>();
const described = new WeakSet<KafkaCluster>();
const firstReconciles = new WeakMap<KafkaCluster, ReconcileRun>();

/** The reconcile Job's run when the shared cluster was first ready. */
export function firstReconcile(c: KafkaCluster): ReconcileRun {
    const r = firstReconciles.get(c);
    if (!r) throw new Error("the cluster's first reconcile run was not recorded");
    return r;
}

export function prodBaseline(c: KafkaCluster): OutsideBaseline[] {
    const b = baselines.get(c);
    if (!b) throw new Error("no baseline recorded for this cluster");
    return b;
}

/** Topic prefixes the `orders` user may read and write in the proofs (each proof makes its own topic). */
export const ORDERS_PREFIXES = ["orders-", "kill9-", "roll-", "outside-", "rotate-"];
/** Consumer group prefix of the `orders` user. */
export const ORDERS_GROUP_PREFIX = "orders-";

/** Topics the prod proofs declare (kafka.topics), which the reconcile Job creates at the cluster's start. */
export const DECLARED_TOPICS = [
    { name: "orders-declared", partitions: 3, replicationFactor: 3, retention: "1d", configs: { "max.message.bytes": 2097152 } },
    { name: "orders-compacted", cleanupPolicy: "compact" },
];

/**
 * Pulumi.prod.yaml with the proofs' grants: `orders` reads and writes ORDERS_PREFIXES, `auth` has no
 * grant (so it is denied everything), DECLARED_TOPICS, and the metrics agent (kafka.jmxAgent, which
 * production's exporters then run); `kafka` overrides keys of kafka (the reconcile proof's changed declarations).
 */
export function prodTestConfig(kafka: Record<string, unknown> = {}): Record<string, unknown> {
    return withKafkaUsers(
        stackConfig("prod"),
        [
            { name: "orders", topics: ORDERS_PREFIXES.map((prefix) => ({ prefix, access: ["read", "write"] })), groups: [ORDERS_GROUP_PREFIX] },
            { name: "auth" },
        ],
        { topics: DECLARED_TOPICS, jmxAgent: TEST_JMX_AGENT, ...kafka },
    );
}

/** Starts the shared prod cluster without waiting for it (a failure surfaces in prodCluster()). */
export function prewarmProdCluster(dist: KafkaDist): void {
    void startShared(dist).catch(() => undefined);
}

function startShared(dist: KafkaDist): Promise<KafkaCluster> {
    return sharedCluster(PROD, async () => {
        // The prod stack as it is (TLS on every listener, real certificates from the generated CA), with the
        // grants the proofs' topics need: the authorizer denies what no ACL allows.
        const rendered = await renderKafka("prod", prodTestConfig());
        assert.strictEqual(rendered.replicas, 3, "prod renders three Kafka nodes");
        assert.strictEqual(rendered.connection.securityProtocol, "SASL_SSL", "prod renders TLS on the client listener");
        const c = await KafkaCluster.start(PROD, rendered, dist);
        // What Pulumi does once the StatefulSet is ready: the reconcile Job creates the declared topics and ACLs.
        try {
            const r = await c.runReconcile();
            assert.strictEqual(r.code, 0, `the rendered reconcile Job failed:\n${r.stdout}\n${r.stderr}`);
            firstReconciles.set(c, r);
        } catch (e) {
            await c.teardown();
            throw e;
        }
        baselines.set(
            c,
            c.nodes.map((n) => {
                const o = n.outsideData();
                return { starts: n.starts, total: o.total, files: new Map(o.files.map((f) => [f.path, f.bytes])) };
            }),
        );
        return c;
    });
}

/** The shared prod cluster (started now if nobody started it); skips or fails like requireKafka. */
export async function prodCluster(ctx: Mocha.Context): Promise<{ cluster: KafkaCluster; rendered: KafkaRendered }> {
    const dist = await requireKafka(ctx);
    const c = await startShared(dist);
    if (!described.has(c)) {
        described.add(c);
        const heap = envValue(c.rendered.objects, c.rendered.sts, c.rendered.container, "KAFKA_HEAP_OPTS").value;
        console.log(
            `      prod rendered as Pulumi.prod.yaml (TLS on, certificates from the generated CA) with the proofs' grants: client listener ${c.rendered.connection.securityProtocol}\n` +
                `      heap as rendered on each of the 3 JVMs: ${heap}\n` +
                `      paths substituted (everything else as rendered):\n${indent(c.describeSubstitutions())}`,
        );
    }
    return { cluster: c, rendered: c.rendered };
}
