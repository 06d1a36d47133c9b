// Real nodes (scripts/nodes.sh: kubelet, containerd, runc, CNI bridge, kube-proxy, clusterdns) joined to a test
// control plane (tests/helpers/controlplane.ts), so pods run their containers and become Ready because the
// servers inside answer their probes. Starting and always stopping them, and the skip rule of the other
// real-system suites: skip locally with the reason printed, fail when CI=true or MSA_REQUIRE_SERVERS=1.

import * as path from "path";
import { ROOT } from "../../scripts/lib/mockRuntime";
import { describeRun, run, serversRequired } from "../../scripts/lib/servers";
import { ControlPlane, requireControlPlane } from "./controlplane";
import { startClock } from "./servers";

export const NODES_SCRIPT = path.join(ROOT, "scripts", "nodes.sh");
export const NODES_BUILD_HINT = "bash scripts/nodes.sh build (as root, with Debian's containerd, runc, containernetworking-plugins, socat)";

/** What `nodes.sh up` runs besides the nodes themselves. */
export interface NodeOptions {
    /** kube-network-policies on every node (NODES_NETWORK_POLICIES=1): NetworkPolicies are enforced. */
    networkPolicies?: boolean;
    /** The test images the nodes import (NODES_IMAGES; the pause image always): default all. Each costs seconds per node. */
    images?: ("redis" | "mariadb" | "kafka")[];
}

function nodesEnv(count: number, opts: NodeOptions): NodeJS.ProcessEnv {
    return { ...process.env, NODES_COUNT: String(count), NODES_NETWORK_POLICIES: opts.networkPolicies ? "1" : "0", NODES_IMAGES: (opts.images ?? []).join(" ") };
}

/** Skips (locally) or fails (CI) when something `nodes.sh up` needs is missing. Call from before() with its `this`. */
export async function requireNodes(ctx: Mocha.Context, opts: NodeOptions = {}): Promise<void> {
    const r = await run("bash", [NODES_SCRIPT, "check"], { env: nodesEnv(1, opts), timeoutMs: 30_000 });
    if (r.code === 0) {
        return;
    }
    const reason = `real nodes cannot start here: missing ${r.stdout.trim().split("\n").join("; ")} (${NODES_BUILD_HINT})`;
    if (serversRequired()) {
        throw new Error(
            `${reason}; skipping the real-pod tests is not allowed here ` +
                `(CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
        );
    }
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

export class Nodes {
    private stopped = false;

    private constructor(
        readonly cp: ControlPlane,
        readonly count: number,
        /** Seconds `up` took. */
        readonly startSeconds: number,
    ) {}

    /** Starts `count` real nodes (real-node-0..) on the control plane; on failure `up` has removed them already. */
    static async start(cp: ControlPlane, count = 1, timeoutMs = 300_000, opts: NodeOptions = {}): Promise<Nodes> {
        const t0 = Date.now();
        const r = await run("bash", [NODES_SCRIPT, "up", cp.dir], { env: nodesEnv(count, opts), timeoutMs });
        if (r.code !== 0) {
            // A timeout killed `up` before its own cleanup ran.
            await run("bash", [NODES_SCRIPT, "down", cp.dir], { timeoutMs: 120_000 });
            throw new Error(`nodes.sh up failed (${describeRun(r)})`);
        }
        return new Nodes(cp, count, (Date.now() - t0) / 1000);
    }

    /** Node i lost at once (`nodes.sh stop-node`): kubelet, runtime, containers and kube-proxy killed. */
    async stopNode(i: number): Promise<void> {
        const r = await run("bash", [NODES_SCRIPT, "stop-node", this.cp.dir, String(i)], { timeoutMs: 60_000 });
        if (r.code !== 0) {
            throw new Error(`nodes.sh stop-node ${i} failed (${describeRun(r)})`);
        }
    }

    /** Node i back on its kept state (`nodes.sh start-node`), until the node is Ready. */
    async startNode(i: number): Promise<void> {
        const r = await run("bash", [NODES_SCRIPT, "start-node", this.cp.dir, String(i)], { timeoutMs: 240_000 });
        if (r.code !== 0) {
            throw new Error(`nodes.sh start-node ${i} failed (${describeRun(r)})`);
        }
    }

    /** Stops every node process, container, mount, network namespace and link; safe to call twice. */
    async stop(): Promise<void> {
        if (this.stopped) {
            return;
        }
        this.stopped = true;
        const r = await run("bash", [NODES_SCRIPT, "down", this.cp.dir], { timeoutMs: 120_000 });
        if (r.code !== 0) {
            throw new Error(`nodes.sh down failed (${describeRun(r)})`);
        }
    }
}

/** A pod suite's cluster: `cp` and `nodes` are set once the suite's first before() hook has run. */
export interface RealCluster {
    cp: ControlPlane;
    nodes: Nodes;
}

/**
 * Registers, in the calling describe(), the hooks that start a control plane without KWOK nodes and `count` real
 * nodes before the suite's tests (skipping as requireNodes does) and stop both after them, nodes first (they run
 * in the control plane's directory, which its stop removes); fails if a process outlives them.
 */
export function realCluster(count: number, opts: NodeOptions = {}): RealCluster {
    const cluster = {} as RealCluster;
    before(async function () {
        const bindir = requireControlPlane(this);
        await requireNodes(this, opts);
        const done = startClock(`control plane (0 KWOK nodes) and ${count} real nodes up${opts.networkPolicies ? " (NetworkPolicies enforced)" : ""}`);
        cluster.cp = await ControlPlane.start(bindir, { nodes: 0 });
        cluster.nodes = await Nodes.start(cluster.cp, count, undefined, opts);
        done();
        console.log(`      control plane up in ${cluster.cp.startSeconds.toFixed(1)} s, ${count} real nodes in ${cluster.nodes.startSeconds.toFixed(1)} s`);
    });
    after(async function () {
        try {
            await cluster.nodes?.stop();
        } finally {
            const left = (await cluster.cp?.stop()) ?? [];
            if (left.length) throw new Error(`processes left after the control plane stopped: ${left.join(", ")}`);
        }
    });
    return cluster;
}
