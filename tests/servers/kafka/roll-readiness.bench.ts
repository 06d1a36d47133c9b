// `npm run bench:kafka-roll`: the roll step of 5-roll-readiness.spec.ts at a realistic size, not in CI (it
// writes gigabytes and takes many minutes on 2 cores). The shared prod cluster (3 nodes, RF 3, min ISR 2)
// gets one topic of KAFKA_BENCH_PARTITIONS partitions (default 600) filled with KAFKA_BENCH_PREFILL_GIB
// (default 3: every broker holds a full copy), then each gate rolls kafka-2 with KAFKA_BENCH_BACKLOG_GIB
// (default 1) written while it is down and stops kafka-1 the moment kafka-2 is Ready: first Ready = a TCP
// connect to the client port (the readiness before issue 19 item 4), then the rendered readiness probe.
// Prints the under-min-ISR window of each; asserts nothing but that the steps complete.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { randomToken } from "../../../scripts/lib/servers";
import { registerKafkaTeardown, waitIsr } from "../../helpers/kafka";
import { prodCluster } from "./prodCluster";
import { describeStep, rollStep, type StepResult } from "./rollDrill";
import { indent } from "./proofs";

registerKafkaTeardown();

const GIB = 2 ** 30;
const num = (name: string, dflt: number) => {
    const v = process.env[name];
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
    return n;
};
const PARTITIONS = num("KAFKA_BENCH_PARTITIONS", 600);
const PREFILL = num("KAFKA_BENCH_PREFILL_GIB", 3) * GIB;
const BACKLOG = num("KAFKA_BENCH_BACKLOG_GIB", 1) * GIB;
const TIMEOUT_MS = 1_800_000;

describe(`Kafka roll readiness at size: ${PARTITIONS} partitions, ${PREFILL / GIB} GiB per broker, ${BACKLOG / GIB} GiB written while the rolled broker is down`, function () {
    this.timeout(7_200_000);

    it("measures the under-min-ISR window of a roll step, Ready by TCP (before) and by the rendered readiness probe (after)", async function () {
        const { cluster: c } = await prodCluster(this);
        const p = c.probeOrThrow();
        const admin = c.adminClient();
        const topic = `roll-bench-${randomToken(6).toLowerCase()}`;
        await p.ok("create-topic", [admin, topic, String(PARTITIONS), "-1", "", "60000"], 120_000);
        await waitIsr(c, topic, 3, 300_000);
        const t0 = Date.now();
        const fill = await p.ok("fill", [admin, topic, String(PREFILL), "65536", String(TIMEOUT_MS * 2)], TIMEOUT_MS * 2 + 60_000);
        assert.strictEqual(fill.failed, 0, String(fill.firstError));
        const disk = c.nodes.map((n) => `${n.pod} ${(dirBytes(n.dataDir) / GIB).toFixed(2)} GiB`).join(", ");
        console.log(`      prefill: ${((fill.ackedBytes as number) / GIB).toFixed(2)} GiB in ${((Date.now() - t0) / 1000).toFixed(0)} s over ${PARTITIONS} partitions; data volumes: ${disk}`);
        const app = c.clientConfig(c.userJaas("orders"));
        const [, next, first] = c.nodes;
        const results: StepResult[] = [];
        for (const gate of ["client-tcp", "readiness"] as const) {
            const r = await rollStep(c, { topic, gate, first, next, backlogBytes: BACKLOG, recordSize: 65536, minIsr: 2, app, pollMs: gate === "client-tcp" ? 250 : 1000, timeoutMs: TIMEOUT_MS });
            results.push(r);
            console.log(indent(describeStep(r, first, next)));
        }
        const [before, after] = results;
        console.log(
            `      BENCH window before → after: ${before.underMinMax} → ${after.underMinMax} partitions under min.insync.replicas for ${before.underMinMs} → ${after.underMinMs} ms; ` +
                `Ready ${before.isrFullAfterReadyMs} → ${after.isrFullAfterReadyMs} ms before the ISR was full; NotEnoughReplicas refusals ${before.strict.notEnoughReplicas} → ${after.strict.notEnoughReplicas}; ` +
                `longest acks=all wait ${before.app.maxLatencyMs} → ${after.app.maxLatencyMs} ms; failed acks=all sends ${before.app.failed} → ${after.app.failed}`,
        );
    });
});

/** Bytes allocated on disk under `dir`. */
function dirBytes(dir: string): number {
    let sum = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) sum += dirBytes(p);
        else sum += fs.statSync(p).blocks * 512; // allocated: the index files are sparse (10 MiB each, mostly holes)
    }
    return sum;
}
