// The prod stack's 3-node cluster, started once and shared by every prod proof (2-prod.spec.ts and the
// measurement in defects.spec.ts): a 3-node start costs most of the Kafka budget, so 1-dev.spec.ts also
// starts it in the background (prewarmProdCluster) while the dev proofs run.

import * as assert from "assert";
import { sharedCluster, KafkaCluster, prodConfigWithoutTls, renderKafka, requireKafka, type KafkaDist, type KafkaRendered } from "../helpers/kafka";
import { envValue } from "../helpers/rendered";
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

export function prodBaseline(c: KafkaCluster): OutsideBaseline[] {
    const b = baselines.get(c);
    if (!b) throw new Error("no baseline recorded for this cluster");
    return b;
}

/** Starts the shared prod cluster without waiting for it (a failure surfaces in prodCluster()). */
export function prewarmProdCluster(dist: KafkaDist): void {
    void startShared(dist).catch(() => undefined);
}

function startShared(dist: KafkaDist): Promise<KafkaCluster> {
    return sharedCluster(PROD, async () => {
        // TLS off for now: offline renders carry placeholder certificates, which no TLS handshake accepts;
        // the client listener is SASL_PLAINTEXT here until the hardening issue provides real ones.
        const rendered = await renderKafka("prod", prodConfigWithoutTls());
        assert.strictEqual(rendered.replicas, 3, "prod renders three Kafka nodes");
        const c = await KafkaCluster.start(PROD, rendered, dist);
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
            `      prod rendered with tls.enabled=false (placeholder certificates offline): client listener ${c.rendered.connection.securityProtocol}\n` +
                `      heap as rendered on each of the 3 JVMs: ${heap}\n` +
                `      paths substituted (everything else as rendered):\n${indent(c.describeSubstitutions())}`,
        );
    }
    return { cluster: c, rendered: c.rendered };
}
