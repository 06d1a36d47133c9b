// Topics on a running cluster, through the test client: a topic's partitions and configs, waiting for an
// ISR size, and one pod rolled the way the StatefulSet controller rolls it.

import type { Manifest } from "../../../scripts/lib/mockRuntime";
import type { KafkaNode } from "./pod";
import type { KafkaCluster } from "./cluster";

// ---------------------------------------------------------------------------------------------------
// Topics

export interface PartitionState {
    partition: number;
    leader: number;
    replicas: number[];
    isr: number[];
}

export interface TopicState {
    partitions: PartitionState[];
    configs: Record<string, string>;
}

export async function describeTopic(c: KafkaCluster, topic: string, admin = c.adminClient()): Promise<TopicState> {
    const r = await c.probeOrThrow().ok("describe-topic", [admin, topic, "10000"], 20_000);
    return { partitions: r.partitions as PartitionState[], configs: r.configs as Record<string, string> };
}

/** Waits until every partition of `topic` has `size` in-sync replicas (and a leader). */
export async function waitIsr(c: KafkaCluster, topic: string, size: number, timeoutMs: number): Promise<TopicState> {
    const admin = c.adminClient();
    let last: TopicState | undefined;
    await c.waitUntil(`ISR of ${size} for every partition of ${topic}`, timeoutMs, async () => {
        last = await describeTopic(c, topic, admin);
        return last.partitions.every((p) => p.isr.length === size && p.leader >= 0);
    });
    return last!;
}

/** What a roll waits for before it takes the next pod: the rendered readiness probe, or a TCP connect to the client port (the probe before issue 19). */
export type ReadyGate = "readiness" | "client-tcp";

/**
 * What the StatefulSet controller does to one pod in a rolling update: SIGTERM (bounded by
 * terminationGracePeriodSeconds), the pod recreated with the same volumes from `objects` (a changed
 * ConfigMap/Secret simulates the update being rolled out), then Ready: the rendered startup and readiness
 * probes run as the kubelet runs them (every `pollMs`, 1 s by default, finer than their periodSeconds), or
 * with `ready: "client-tcp"` a TCP connect to the client port. Then, stricter than the controller, waits until
 * the node is back in the ISR of every partition of `topic`. Returns how it stopped and the seconds each phase took.
 */
export async function rollNode(
    c: KafkaCluster,
    node: KafkaNode,
    opts: { topic: string; objects?: Manifest[]; isrTimeoutMs?: number; ready?: ReadyGate; pollMs?: number; readyTimeoutMs?: number },
): Promise<{ stopped: { code: number | null; signal: NodeJS.Signals | null; killed: boolean }; stopS: number; readyS: number; isrAfterReadyS: number; readyOutput: string }> {
    const t0 = Date.now();
    const stopped = await node.stop();
    const t1 = Date.now();
    node.start(opts.objects);
    const readyOutput = await waitReadyGate(node, opts.ready ?? "readiness", opts.readyTimeoutMs ?? 180_000, opts.pollMs ?? 1000);
    const t2 = Date.now();
    const admin = c.adminClient();
    await c.waitUntil(`${node.pod} back in the ISR of ${opts.topic}`, opts.isrTimeoutMs ?? 90_000, async () => {
        const d = await describeTopic(c, opts.topic, admin);
        return d.partitions.every((p) => p.isr.includes(node.ordinal));
    });
    const t3 = Date.now();
    return { stopped, stopS: (t1 - t0) / 1000, readyS: (t2 - t1) / 1000, isrAfterReadyS: (t3 - t2) / 1000, readyOutput };
}

/** Waits until `node` is Ready by `gate` (see rollNode); returns the readiness probe's last output. */
export async function waitReadyGate(node: KafkaNode, gate: ReadyGate, timeoutMs: number, pollMs = 1000): Promise<string> {
    if (gate === "client-tcp") {
        await node.waitListening(timeoutMs);
        return "client port accepts TCP";
    }
    const deadline = Date.now() + timeoutMs;
    await node.waitProbe("startup", timeoutMs, pollMs);
    return (await node.waitProbe("readiness", Math.max(1000, deadline - Date.now()), pollMs)).output;
}
