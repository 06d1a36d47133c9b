// The drills' writer logs (tests/helpers/writerLog.ts): what counts as acknowledged, failed and lost time.
// The real-pod drills decide "0 acknowledged writes lost" from these numbers, so a misread line would hide a loss.

import * as assert from "assert";
import { drillFigures, outages, parseWriterLog, producerLog } from "./helpers/writerLog";

const T = (s: number) => `2026-12-07T10:00:${String(s).padStart(2, "0")}.250000000Z`;

describe("drill writer logs", () => {
    const log = [
        `${T(1)} ok 0 redis-0 1`,
        `${T(2)} ok 1 redis-0 0`,
        `${T(3)} err 2 redis-0 READONLY You can't write against a read only replica.`,
        `${T(4)} noprimary`,
        `${T(5)} err 3 redis-1 `,
        `${T(7)} ok 4 redis-1 1`,
        `${T(8)} stopped 5`,
        "not a log line",
    ].join("\n");

    it("counts only replies with an acknowledgement as acknowledged, and the rest by kind", () => {
        const r = parseWriterLog(log);
        assert.strictEqual(r.written, 3);
        assert.deepStrictEqual(r.acked.map((a) => [a.n, a.server]), [[0, "redis-0"], [4, "redis-1"]]);
        assert.strictEqual(r.unacked, 1);
        assert.deepStrictEqual(Object.fromEntries(r.errors), { "redis-0: READONLY": 1, "no primary found": 1, "redis-1: (no reply)": 1 });
        assert.strictEqual(r.acked[0].at, Date.parse("2026-12-07T10:00:01.250Z"), "nanosecond timestamps read to the millisecond");
    });

    it("an outage runs from the first failure after the event to the next acknowledged write", () => {
        const r = parseWriterLog(log);
        assert.deepStrictEqual(outages(r, Date.parse(T(0))), [{ start: Date.parse("2026-12-07T10:00:03.250Z"), end: Date.parse("2026-12-07T10:00:07.250Z") }]);
        assert.deepStrictEqual(outages(r, Date.parse(T(6))), [], "failures before the event do not count");
        const figures = drillFigures(r, Date.parse(T(2)), 0, "SET + WAIT 1").join("\n");
        assert.match(figures, /acknowledged \(SET \+ WAIT 1\) 2 \(1 before the failure\)/);
        assert.match(figures, /time to recover .*: 5\.0 s/);
    });

    it("reads VerifiableProducer's JSON: successes as acknowledged, errors by exception, other lines ignored", () => {
        const at = Date.parse("2026-12-07T10:00:00Z");
        const r = producerLog(
            [
                JSON.stringify({ timestamp: at, name: "startup_complete" }),
                JSON.stringify({ timestamp: at + 100, name: "producer_send_success", key: null, value: "4711.0", offset: 0, topic: "orders.events", partition: 2 }),
                JSON.stringify({ timestamp: at + 200, name: "producer_send_error", key: null, value: "4711.1", topic: "orders.events", exception: "class org.apache.kafka.common.errors.NotEnoughReplicasException", message: "..." }),
                JSON.stringify({ timestamp: at + 300, name: "producer_send_success", key: null, value: "4711.2", offset: 1, topic: "orders.events", partition: 0 }),
                "null",
                "[2026-12-07 10:00:00,000] WARN something the client logged",
                JSON.stringify({ timestamp: at + 400, name: "shutdown_complete" }),
            ].join("\n"),
        );
        assert.deepStrictEqual(r.acked.map((a) => [a.n, a.server, a.at]), [[0, "p2", at + 100], [2, "p0", at + 300]]);
        assert.deepStrictEqual(Object.fromEntries(r.errors), { "-: NotEnoughReplicasException": 1 });
        assert.deepStrictEqual(outages(r, at), [{ start: at + 200, end: at + 300 }]);
    });
});
