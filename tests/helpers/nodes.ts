// Real nodes (scripts/nodes.sh: kubelet, containerd, runc, CNI bridge, kube-proxy, clusterdns) joined to a test
// control plane (tests/helpers/controlplane.ts), so pods run their containers and become Ready because the
// servers inside answer their probes. Starting and always stopping them, and the skip rule of the other
// real-system suites: skip locally with the reason printed, fail when CI=true or MSA_REQUIRE_SERVERS=1.

import * as path from "path";
import { ROOT } from "../../scripts/lib/mockRuntime";
import { describeRun, run, serversRequired } from "../../scripts/lib/servers";
import type { ControlPlane } from "./controlplane";

export const NODES_SCRIPT = path.join(ROOT, "scripts", "nodes.sh");
export const NODES_BUILD_HINT = "bash scripts/nodes.sh build (as root, with Debian's containerd, runc, containernetworking-plugins, socat)";

/** What `nodes.sh up` runs besides the nodes themselves. */
export interface NodeOptions {
    /** kube-network-policies on every node (NODES_NETWORK_POLICIES=1): NetworkPolicies are enforced. */
    networkPolicies?: boolean;
}

function nodesEnv(count: number, opts: NodeOptions): NodeJS.ProcessEnv {
    return { ...process.env, NODES_COUNT: String(count), NODES_NETWORK_POLICIES: opts.networkPolicies ? "1" : "0" };
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
