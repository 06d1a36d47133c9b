// Real nodes (scripts/nodes.sh: kubelet, containerd, runc, CNI bridge, kube-proxy, clusterdns) joined to a test
// control plane (tests/helpers/controlplane.ts), so pods run their containers and become Ready because the
// servers inside answer their probes. Starting and always stopping them, and the skip rule of the other
// real-system suites: skip locally with the reason printed, fail when CI=true or MSA_REQUIRE_SERVERS=1.

import * as fs from "fs";
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
    private readonly stoppedNodes = new Set<number>();

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

    /**
     * The cluster DNS's address as a CIDR (clusterdns on the host bridge, 10.A.0.1: not a pod, so an egress
     * rule reaches it only by networkPolicies.dns.cidrs).
     */
    dnsCidr(): string {
        const net = /^net="?(10\.\d+)"?$/m.exec(fs.readFileSync(path.join(this.cp.dir, "nodes", "state"), "utf8"))?.[1];
        if (!net) throw new Error(`no net=10.A line in ${path.join(this.cp.dir, "nodes", "state")}`);
        return `${net}.0.1/32`;
    }

    /** Node i lost at once (`nodes.sh stop-node`): kubelet, runtime, containers and kube-proxy killed. */
    async stopNode(i: number): Promise<void> {
        this.stoppedNodes.add(i);
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
        this.stoppedNodes.delete(i);
    }

    /** Starts every node stopNode() left stopped (a drill that failed before its own startNode). */
    async startStopped(): Promise<void> {
        for (const i of [...this.stoppedNodes]) await this.startNode(i);
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

/** The cluster the pod suites share, and what it was started with. */
let shared: { key: string; cluster: RealCluster; startedAt: number } | undefined;

async function stopShared(): Promise<void> {
    if (!shared) return;
    const { cluster } = shared;
    shared = undefined;
    try {
        await cluster.nodes.stop();
    } finally {
        const left = await cluster.cp.stop();
        if (left.length) throw new Error(`processes left after the control plane stopped: ${left.join(", ")}`);
    }
}

// The last cluster stops after every suite of the run (a root-level hook: this module is loaded with the specs).
if (typeof after === "function") after(stopShared);

/**
 * Registers, in the calling describe(), the hooks that give the suite a control plane without KWOK nodes and
 * `count` real nodes (skipping as requireNodes does), NetworkPolicies enforced unless `networkPolicies: false`
 * (a namespace without policies is open, as on any cluster). Suites asking for the same count and enforcement share
 * one cluster, started by the first of them (with every test image) and stopped after the run, nodes first;
 * a suite asking for something else stops it and starts its own. A cluster start costs tens of seconds, and
 * the pod suites are most of CI's time. After the suite, nodes a drill left stopped are started again and,
 * unless `keepNamespaces`, the namespaces the suite created are deleted (and waited for), so the next suite
 * starts from the same empty cluster; the prod suites keep theirs (they share one deployment of prod,
 * tests/helpers/prodStack.ts).
 */
export function realCluster(count: number, opts: Omit<NodeOptions, "images"> & { keepNamespaces?: boolean } = {}): RealCluster {
    const cluster = {} as RealCluster;
    const enforce = opts.networkPolicies ?? true;
    const key = `${count} nodes, NetworkPolicies ${enforce ? "enforced" : "not enforced"}`;
    const nodeOptions: NodeOptions = { networkPolicies: enforce };
    let namespacesBefore: Set<string> | undefined;
    before(async function () {
        const bindir = requireControlPlane(this);
        await requireNodes(this, nodeOptions);
        if (shared && shared.key !== key) await stopShared();
        if (shared) {
            console.log(`      the cluster of an earlier suite (${key}, up ${((Date.now() - shared.startedAt) / 1000).toFixed(0)} s)`);
        } else {
            const done = startClock(`control plane (0 KWOK nodes) and ${key} up`);
            const cp = await ControlPlane.start(bindir, { nodes: 0 });
            let nodes: Nodes;
            try {
                nodes = await Nodes.start(cp, count, undefined, nodeOptions);
            } catch (e) {
                await cp.stop();
                throw e;
            }
            done();
            shared = { key, cluster: { cp, nodes }, startedAt: Date.now() };
            console.log(`      control plane up in ${cp.startSeconds.toFixed(1)} s, ${count} real nodes in ${nodes.startSeconds.toFixed(1)} s`);
        }
        cluster.cp = shared.cluster.cp;
        cluster.nodes = shared.cluster.nodes;
        namespacesBefore = new Set((await cluster.cp.list("v1", "Namespace")).map((n) => n.metadata.name as string));
    });
    after(async function () {
        if (!cluster.cp || shared?.cluster.cp !== cluster.cp) return;
        await cluster.nodes.startStopped();
        if (opts.keepNamespaces || !namespacesBefore) return;
        const created = (await cluster.cp.list("v1", "Namespace")).map((n) => n.metadata.name as string).filter((n) => !namespacesBefore!.has(n));
        if (created.length === 0) return;
        const t0 = Date.now();
        const r = await cluster.cp.kubectl(["delete", "namespace", ...created, "--wait=true", "--timeout=240s"], { timeoutMs: 260_000 });
        if (r.code !== 0) {
            // The next suite cannot start from an empty cluster: it gets a new one.
            await stopShared();
            throw new Error(`the suite's namespaces ${created.join(", ")} were not deleted: ${describeRun(r)}`);
        }
        console.log(`      the suite's namespaces deleted in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${created.join(", ")}`);
    });
    return cluster;
}
