// One step of a rolling update as the StatefulSet controller takes it, measured (issue 19 item 4): broker A is
// stopped, a backlog is written while it is down, A is started again and, the moment A is Ready by `gate`, the
// next broker B is stopped (and recreated at once, as the controller deletes a pod and creates it anew).
// Meanwhile one admin client samples the topic's ISRs every 200 ms, and two paced acks=all producers write to
// it: the application's (default retries and delivery timeout) and a strict one (no retries), whose refusals
// show each write the brokers turned down with NotEnoughReplicas while a partition was under its minimum ISR.
// Shared by 5-roll-readiness.spec.ts (CI size) and roll-readiness.bench.ts (gigabytes, many partitions).

import type { KafkaCluster, KafkaNode } from "../../helpers/kafka";
import { waitIsr, waitReadyGate, type ReadyGate } from "../../helpers/kafka";

/** The ISR watch's sample: [epoch ms, partitions under min ISR, under-replicated, then per broker 0..2: partitions it is out of the ISR of]. */
type Sample = number[];

export interface StepOptions {
    topic: string;
    gate: ReadyGate;
    /** The broker rolled (A), and the one the roll takes next (B). */
    first: KafkaNode;
    next: KafkaNode;
    /** Bytes written (acks=all, incompressible records of recordSize) while A is down. */
    backlogBytes: number;
    recordSize?: number;
    /** The topic's min.insync.replicas. */
    minIsr: number;
    /** The application's client config (a user with write access to the topic). */
    app: string;
    /** How often the gate's probe runs while waiting (ms). */
    pollMs?: number;
    /** Bound for each wait (Ready, ISR full). */
    timeoutMs?: number;
}

export interface StepResult {
    gate: ReadyGate;
    /** A's stop (SIGTERM to exit), the backlog's write, A's start to Ready. */
    stopMs: number;
    backlog: { bytes: number; ms: number };
    readyAfterStartMs: number;
    readyOutput: string;
    /** Partitions A replicates but was not in the ISR of at the Ready moment (first sample after it). */
    behindAtReady: number;
    /** From Ready to A back in every ISR (0 when it already was). */
    isrFullAfterReadyMs: number;
    /** Partitions under min.insync.replicas: the most at once, and for how long any was (ms, 200 ms samples). */
    underMinMax: number;
    underMinMs: number;
    /** The application's producer: records sent, acknowledged, failed (after its retries), its longest wait for an ack. */
    app: { sent: number; acked: number; failed: number; maxLatencyMs: number; failures: string[] };
    /** The strict producer (no retries): writes refused for too few in-sync replicas, and other refusals (leader moves). */
    strict: { sent: number; notEnoughReplicas: number; other: number };
    samples: number;
    watchErrors: number;
}

/** Runs one step (see the file comment) and waits until every partition has its full ISR again. */
export async function rollStep(c: KafkaCluster, o: StepOptions): Promise<StepResult> {
    const p = c.probeOrThrow();
    const admin = c.adminClient();
    const timeoutMs = o.timeoutMs ?? 180_000;
    const rf = c.nodes.length;
    await waitIsr(c, o.topic, rf, timeoutMs);
    const strictCfg = c.clientConfig(c.userJaas("orders"), { retries: "0", "enable.idempotence": "false", "delivery.timeout.ms": "30000", "request.timeout.ms": "15000" });
    const watch = await p.startLong("isr-watch-start", [admin, o.topic, "200", String(o.minIsr)]);
    const app = await p.startStream(o.app, o.topic, `app-${o.gate}`, 20, 100_000);
    const strict = await p.startStream(strictCfg, o.topic, `strict-${o.gate}`, 20, 100_000);
    try {
        const t0 = Date.now();
        await o.first.stop();
        const tStopped = Date.now();
        const fill = await p.ok("fill", [admin, o.topic, String(o.backlogBytes), String(o.recordSize ?? 16384), String(timeoutMs * 4)], timeoutMs * 5);
        if ((fill.failed as number) > 0) throw new Error(`the backlog's writes failed: ${fill.firstError}`);
        const tStart = Date.now();
        o.first.start();
        const readyOutput = await waitReadyGate(o.first, o.gate, timeoutMs, o.pollMs ?? 1000);
        const tReady = Date.now();
        // The StatefulSet controller: A is Ready, so B's pod is deleted (SIGTERM) and created anew.
        await o.next.stop();
        o.next.start();
        await waitReadyGate(o.next, "readiness", timeoutMs, 1000);
        await waitIsr(c, o.topic, rf, timeoutMs);
        // A little traffic with every ISR full, so the producers' last sends are acknowledged before they stop.
        await new Promise((r) => setTimeout(r, 2000));
        const appRun = await p.ok("stream-stop", [app, "60000"], 90_000);
        const strictRun = await p.ok("stream-stop", [strict, "60000"], 90_000);
        const w = await p.ok("isr-watch-stop", [watch, "10000"], 20_000);
        const samples = w.samples as Sample[];
        const a = 3 + o.first.ordinal;
        const atReady = samples.find((s) => s[0] >= tReady);
        const fullAfter = samples.find((s) => s[0] >= tReady && s[a] === 0);
        let underMinMs = 0;
        for (let i = 1; i < samples.length; i++) if (samples[i - 1][1] > 0) underMinMs += samples[i][0] - samples[i - 1][0];
        const appFailed = appRun.failed as [string, string, string][];
        const strictFailed = strictRun.failed as [string, string, string][];
        const notEnough = strictFailed.filter((f) => /NotEnoughReplicas/.test(f[1])).length;
        return {
            gate: o.gate,
            stopMs: tStopped - t0,
            backlog: { bytes: fill.ackedBytes as number, ms: fill.ms as number },
            readyAfterStartMs: tReady - tStart,
            readyOutput,
            behindAtReady: atReady ? atReady[a] : -1,
            isrFullAfterReadyMs: fullAfter ? Math.max(0, fullAfter[0] - tReady) : -1,
            underMinMax: Math.max(0, ...samples.map((s) => s[1])),
            underMinMs,
            app: {
                sent: appRun.sent as number,
                acked: (appRun.acked as string[]).length,
                failed: appFailed.length,
                maxLatencyMs: appRun.maxLatencyMs as number,
                failures: [...new Set(appFailed.map((f) => f[1]))],
            },
            strict: { sent: strictRun.sent as number, notEnoughReplicas: notEnough, other: strictFailed.length - notEnough },
            samples: samples.length,
            watchErrors: w.errors as number,
        };
    } catch (e) {
        for (const id of [app, strict]) await p.call("stream-stop", [id, "5000"], 20_000).catch(() => undefined);
        await p.call("isr-watch-stop", [watch, "5000"], 20_000).catch(() => undefined);
        throw e;
    }
}

/** One line per step for the test output. */
export function describeStep(r: StepResult, first: KafkaNode, next: KafkaNode): string {
    const gate = r.gate === "client-tcp" ? "TCP connect to the client port (the readiness before this change)" : "the rendered readiness probe (ready.sh)";
    return [
        `Ready by ${gate}:`,
        `  ${first.pod}: stopped in ${(r.stopMs / 1000).toFixed(1)} s; ${(r.backlog.bytes / 2 ** 20).toFixed(0)} MiB written while it was down (${(r.backlog.ms / 1000).toFixed(1)} s); Ready ${(r.readyAfterStartMs / 1000).toFixed(1)} s after its start (${r.readyOutput})`,
        `  at Ready, ${first.pod} was not yet in the ISR of ${r.behindAtReady} partition(s); in all of them ${r.isrFullAfterReadyMs} ms after Ready`,
        `  ${next.pod} stopped at that moment: ${r.underMinMax} partition(s) under min.insync.replicas at most, for ${r.underMinMs} ms in all (${r.samples} samples, ${r.watchErrors} sampling errors)`,
        `  acks=all producer (default retries): ${r.app.sent} sent, ${r.app.acked} acknowledged, ${r.app.failed} failed${r.app.failures.length ? ` (${r.app.failures.join(", ")})` : ""}, longest wait for an ack ${r.app.maxLatencyMs} ms`,
        `  acks=all producer without retries: ${r.strict.sent} sent, ${r.strict.notEnoughReplicas} refused with NotEnoughReplicas, ${r.strict.other} other refusals (leader moves)`,
    ].join("\n");
}
