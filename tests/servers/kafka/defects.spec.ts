// Defects of the current configuration, as tests of the CORRECT behaviour: they fail today and pass once the
// lead fixes the component (each test says what it expects). Run on real Kafka 3.8.1 like the other proofs.

import * as assert from "assert";
import { randomToken } from "../../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../../helpers/servers";
import {
    clusterIdStartingWithDash,
    formatBytes,
    hostLogDirs,
    KafkaCluster,
    metaProperties,
    registerKafkaTeardown,
    renderKafka,
    requireKafka,
    rollNode,
    withDataKey,
} from "../../helpers/kafka";
import { prodBaseline, prodCluster } from "./prodCluster";
import { assertCleanStop, uniqueIds } from "./proofs";

registerRealServerSummary(180);
registerKafkaTeardown();

/** The bound the issue sets for what a broker writes outside its data volume over a run. */
const OUTSIDE_DATA_LIMIT = 4 * 2 ** 20;
/**
 * What may appear outside the data volume while the cluster works, on any one node: logs go to stdout,
 * so only the JVM's fixed-size perf-data file of a new process (32 KiB) and small runtime files remain.
 */
const OUTSIDE_DATA_GROWTH_LIMIT = 64 * 1024;

describe("Kafka defects (assert the correct behaviour; fail until the component is fixed)", function () {
    this.timeout(240_000);

    describe("(a) a generated cluster id that begins with '-'", function () {
        let cluster: KafkaCluster | undefined;
        let stopClock: () => void = () => undefined;

        after(async function () {
            try {
                await cluster?.teardown();
                if (cluster) assert.deepStrictEqual(cluster.leftovers(), [], "nothing of the cluster is left");
            } finally {
                stopClock();
            }
        });

        it("formats the storage with it and starts (kafka-storage.sh must get it as --cluster-id=<id> or an id without a leading '-')", async function () {
            const dist = await requireKafka(this);
            stopClock = startClock("kafka defects (a)");
            const r = await renderKafka("dev");
            const id = clusterIdStartingWithDash();
            // The rendered objects with ConfigMap kafka-config's cluster-id replaced: what one stack in 64 gets.
            const objects = withDataKey(r.objects, "ConfigMap", r.namespace, "kafka-config", "cluster-id", id);
            const forced = { ...r, objects };
            cluster = await KafkaCluster.start("defect-a", forced, dist);
            const [node] = cluster.nodes;
            for (const dir of hostLogDirs(node)) assert.strictEqual(metaProperties(dir)["cluster.id"], id, `${dir}/meta.properties cluster.id`);
            const cl = await cluster.probeOrThrow().ok("cluster", [cluster.adminClient(), "10000"], 20_000);
            assert.strictEqual(cl.clusterId, id, "the cluster id the broker reports");
        });
    });

    describe("(b) what a broker writes outside its data volume", function () {
        let stopClock: () => void = () => undefined;

        after(function () {
            stopClock();
        });

        it(`stays ≤ ${formatBytes(OUTSIDE_DATA_LIMIT)} per node over the run, and no file there grows by more than ${formatBytes(OUTSIDE_DATA_GROWTH_LIMIT)} while the cluster works (logs go to stdout)`, async function () {
            const { cluster: c } = await prodCluster(this);
            stopClock = startClock("kafka defects (b)");
            const baseline = prodBaseline(c);
            // The window since the cluster was first ready must include a broker start (run alone, this test
            // makes one) and some traffic, so that a file logger would have something to write.
            const topic = `outside-${randomToken(6).toLowerCase()}`;
            const p = c.probeOrThrow();
            await p.ok("create-topic", [c.adminClient(), topic, "3", "-1", "", "15000"], 30_000);
            if (c.nodes.every((n, i) => n.starts === baseline[i].starts)) {
                const r = await rollNode(c, c.nodes[c.nodes.length - 1], { topic });
                assertCleanStop(c.nodes[c.nodes.length - 1], r.stopped);
            }
            const app = c.clientConfig(c.userJaas("orders"));
            const produced = await p.ok("produce", [app, topic, "outside", "1000", "30000"], 45_000);
            assert.deepStrictEqual(produced.failed, []);
            assert.strictEqual(uniqueIds((await p.ok("consume", [app, topic, "30000"], 45_000)).values as string[]).size, 1000);

            const report: string[] = [];
            const failures: string[] = [];
            c.nodes.forEach((n, i) => {
                const now = n.outsideData();
                const grown = now.files
                    .map((f) => ({ path: f.path, grown: f.bytes - (baseline[i].files.get(f.path) ?? 0) }))
                    .filter((f) => f.grown > 0)
                    .sort((a, b) => b.grown - a.grown);
                const vols = Object.entries(now.byVolume)
                    .map(([v, b]) => `${v} ${formatBytes(b)}`)
                    .join(", ");
                report.push(`${n.pod}: ${formatBytes(now.total)} outside the data volume (${vols}); at first ready ${formatBytes(baseline[i].total)}; ${n.starts} start(s)`);
                for (const f of grown.slice(0, 6)) report.push(`    +${formatBytes(f.grown)} ${f.path}`);
                if (now.total > OUTSIDE_DATA_LIMIT) failures.push(`${n.pod}: ${formatBytes(now.total)} > ${formatBytes(OUTSIDE_DATA_LIMIT)}`);
                for (const f of grown) if (f.grown > OUTSIDE_DATA_GROWTH_LIMIT) failures.push(`${n.pod}: ${f.path} grew by ${formatBytes(f.grown)}`);
            });
            console.log(`      ${report.join("\n      ")}`);
            assert.deepStrictEqual(failures, [], "written outside the data volume (the pod's emptyDirs, 256Mi each, count against eviction)");
        });
    });
});
