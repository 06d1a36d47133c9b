// A real Kubernetes control plane for tests (scripts/controlplane.sh: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and KWOK on 127.0.0.1): starting and always stopping it, kubectl
// with a time bound, server-side apply through the REST API (exact HTTP status, warnings, field manager),
// and bounded waits on what the controllers do. KWOK pods run no containers and their IPs are data only:
// nothing here ever connects to them.

import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, makeTempDir, removeTempDir, run, serversRequired, waitFor, type RunResult } from "../../scripts/lib/servers";


export const SCRIPT = path.join(ROOT, "scripts", "controlplane.sh");
export const BUILD_HINT = "bash scripts/controlplane.sh build";
export const BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok", "kwokctl"];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = any;

/** Where the build puts the binaries (the script derives it from the pinned versions). */
export function controlPlaneBinDir(): string {
    return execFileSync("bash", [SCRIPT, "bindir"], { encoding: "utf8", timeout: 10_000 }).trim();
}

/**
 * The control plane's bin directory when it is built. Otherwise: fails (throws) when serversRequired(),
 * else prints the reason and skips the suite. Call from a before() hook with its `this`.
 */
export function requireControlPlane(ctx: Mocha.Context): string {
    const bindir = controlPlaneBinDir();
    const missing = BINARIES.filter((b) => {
        try {
            fs.accessSync(path.join(bindir, b), fs.constants.X_OK);
            return false;
        } catch {
            return true;
        }
    });
    if (!fs.existsSync(path.join(path.dirname(bindir), ".complete"))) {
        missing.push(".complete");
    }
    if (missing.length > 0) {
        const reason = `control plane binaries missing in ${bindir} (${missing.join(", ")}; build them with \`${BUILD_HINT}\`)`;
        if (serversRequired()) {
            throw new Error(
                `${reason}; skipping the control-plane tests is not allowed here ` +
                    `(CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
            );
        }
        console.log(`      skipped: ${reason}`);
        ctx.skip();
    }
    return bindir;
}

// ---------------------------------------------------------------------------------------------------
// Starting and stopping

/** A REST answer: HTTP status, parsed body, and the warnings the server sent (Warning headers). */
export interface ApiResponse {
    status: number;
    body: Obj;
    warnings: string[];
}

/** The refusal (or acceptance) of one server-side apply. */
export interface ApplyOutcome {
    manifest: Manifest;
    status: number;
    /** The object as the server stored it (on success), or the Status it answered with. */
    body: Obj;
    warnings: string[];
}

interface Resource {
    plural: string;
    namespaced: boolean;
}

const live = new Set<ControlPlane>();

export class ControlPlane {
    private resources = new Map<string, Resource>();
    private agent: https.Agent;
    private server: URL;
    private stopped = false;

    private constructor(
        readonly dir: string,
        readonly bindir: string,
        /** Seconds `up` took. */
        readonly startSeconds: number,
    ) {
        const kc = YAML.parse(fs.readFileSync(this.kubeconfig, "utf8"));
        const b64 = (s: string) => Buffer.from(s, "base64");
        this.server = new URL(kc.clusters[0].cluster.server);
        this.agent = new https.Agent({
            keepAlive: true,
            maxSockets: 8,
            ca: b64(kc.clusters[0].cluster["certificate-authority-data"]),
            cert: b64(kc.users[0].user["client-certificate-data"]),
            key: b64(kc.users[0].user["client-key-data"]),
        });
        live.add(this);
    }

    get kubeconfig(): string {
        return path.join(this.dir, "kubeconfig");
    }

    /** Starts a control plane in a fresh temp dir (bounded by CONTROLPLANE_UP_TIMEOUT in the script and by timeoutMs here). */
    static async start(bindir: string, opts: { nodes?: number; timeoutMs?: number } = {}): Promise<ControlPlane> {
        const dir = makeTempDir("controlplane");
        const t0 = Date.now();
        const env = { ...process.env, CONTROLPLANE_NODES: String(opts.nodes ?? 3) };
        const r = await run("bash", [SCRIPT, "up", dir], { env, timeoutMs: opts.timeoutMs ?? 300_000 });
        if (r.code !== 0) {
            // `up` removes what it started when it fails; a timeout here killed it, so make sure.
            await run("bash", [SCRIPT, "down", dir], { timeoutMs: 60_000 });
            removeTempDir(dir);
            throw new Error(`controlplane.sh up failed (${describeRun(r)})`);
        }
        return new ControlPlane(dir, bindir, (Date.now() - t0) / 1000);
    }

    /** Stops every process and removes the directory; safe to call twice. Resolves with the processes left over (none expected). */
    async stop(): Promise<string[]> {
        if (this.stopped) {
            return [];
        }
        this.stopped = true;
        this.agent.destroy();
        const r = await run("bash", [SCRIPT, "down", this.dir], { timeoutMs: 90_000 });
        live.delete(this);
        removeTempDir(this.dir);
        if (r.code !== 0) {
            throw new Error(`controlplane.sh down failed (${describeRun(r)})`);
        }
        return processesUsing(this.dir);
    }

    /** The last lines of one component's log (etcd, kube-apiserver, ..., provisioner), for failure messages. */
    logTail(component: string, lines = 30): string {
        try {
            return fs.readFileSync(path.join(this.dir, "logs", `${component}.log`), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
        } catch {
            return "";
        }
    }

    // -----------------------------------------------------------------------------------------------
    // kubectl and REST

    /** kubectl against this control plane, bounded (default 60 s); never rejects for a non-zero exit. */
    kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
        return run(path.join(this.bindir, "kubectl"), ["--kubeconfig", this.kubeconfig, "--request-timeout=30s", ...args], {
            input: opts.input,
            timeoutMs: opts.timeoutMs ?? 60_000,
        });
    }

    /** kubectl … -o json, parsed; throws with kubectl's output on failure. */
    async kubectlJson(args: string[]): Promise<Obj> {
        const r = await this.kubectl([...args, "-o", "json"]);
        if (r.code !== 0) {
            throw new Error(`kubectl ${args.join(" ")}: ${describeRun(r)}`);
        }
        return JSON.parse(r.stdout);
    }

    /** One REST call, bounded (default 30 s). */
    api(method: string, apiPath: string, body?: string, contentType = "application/json", timeoutMs = 30_000): Promise<ApiResponse> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    agent: this.agent,
                    host: this.server.hostname,
                    port: this.server.port,
                    method,
                    path: apiPath,
                    // An explicit length: Node sends a DELETE body unframed otherwise, and the server reads it
                    // as the start of the next request on the kept-alive connection.
                    headers: {
                        Accept: "application/json",
                        ...(body !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) } : {}),
                    },
                    timeout: timeoutMs,
                },
                (res) => {
                    let data = "";
                    res.setEncoding("utf8");
                    res.on("data", (d: string) => (data += d));
                    res.on("end", () => {
                        let parsed: Obj = data;
                        try {
                            parsed = data ? JSON.parse(data) : undefined;
                        } catch {
                            // not JSON: keep the text
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed, warnings: parseWarnings(res.headers.warning) });
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath} timed out after ${timeoutMs} ms`)));
            req.on("error", reject);
            req.end(body);
        });
    }

    /** GET that must succeed; returns the body. */
    async get(apiPath: string): Promise<Obj> {
        const r = await this.api("GET", apiPath);
        if (r.status !== 200) {
            throw new Error(`GET ${apiPath}: HTTP ${r.status}: ${r.body?.message ?? JSON.stringify(r.body)}`);
        }
        return r.body;
    }

    /** The resource (plural, namespaced) of an apiVersion/kind, from the server's discovery. */
    async resource(apiVersion: string, kind: string): Promise<Resource> {
        const key = `${apiVersion}/${kind}`;
        if (!this.resources.has(key)) {
            const list = await this.get(apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
            for (const r of list.resources as { name: string; kind: string; namespaced: boolean }[]) {
                if (!r.name.includes("/")) {
                    this.resources.set(`${apiVersion}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
                }
            }
        }
        const found = this.resources.get(key);
        if (!found) {
            throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
        }
        return found;
    }

    /** REST path of an object (or, with name undefined, of its collection). */
    async objectPath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
        const r = await this.resource(apiVersion, kind);
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
        return `${base}${ns}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
    }

    /** The live object of a manifest, or undefined when it does not exist. */
    async getObject(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">): Promise<Obj | undefined> {
        const r = await this.api("GET", await this.objectPath(m.apiVersion, m.kind, m.metadata.namespace, m.metadata.name));
        if (r.status === 404) {
            return undefined;
        }
        if (r.status !== 200) {
            throw new Error(`GET ${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}: HTTP ${r.status}: ${r.body?.message}`);
        }
        return r.body;
    }

    /**
     * Server-side apply of one manifest (PATCH application/apply-patch+yaml; without `force` a field owned by
     * another manager is a conflict rather than taken over). Never throws for a refusal: returns it.
     */
    async applyOne(m: Manifest, fieldManager = "msa-infra", opts: { dryRun?: boolean; force?: boolean } = {}): Promise<ApplyOutcome> {
        const q = new URLSearchParams({ fieldManager, fieldValidation: "Strict" });
        if (opts.dryRun) {
            q.set("dryRun", "All");
        }
        if (opts.force) {
            q.set("force", "true");
        }
        const p = `${await this.objectPath(m.apiVersion, m.kind, m.metadata.namespace, m.metadata.name)}?${q}`;
        const r = await this.api("PATCH", p, JSON.stringify(m), "application/apply-patch+yaml");
        return { manifest: m, status: r.status, body: r.body, warnings: r.warnings };
    }

    /**
     * Server-side apply of every manifest in order (Namespaces come first in a render), one field manager.
     * Returns each outcome; throws listing the refusals when any object was not accepted.
     */
    async applyServerSide(manifests: Manifest[], fieldManager = "msa-infra", opts: { force?: boolean } = {}): Promise<ApplyOutcome[]> {
        const out: ApplyOutcome[] = [];
        for (const m of manifests) {
            out.push(await this.applyOne(m, fieldManager, opts));
        }
        const refused = out.filter((o) => o.status < 200 || o.status >= 300);
        if (refused.length > 0) {
            throw new Error(`server-side apply refused ${refused.length} object(s):\n${refused.map(describeOutcome).join("\n")}`);
        }
        return out;
    }

    /** Deletes an object with the given propagation (the Pulumi provider deletes with Foreground). */
    async deleteObject(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">, propagationPolicy = "Foreground"): Promise<ApiResponse> {
        const p = await this.objectPath(m.apiVersion, m.kind, m.metadata.namespace, m.metadata.name);
        return this.api("DELETE", p, JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy }));
    }

    /** Waits until Job `job` is Complete or Failed; resolves with the live Job and that condition. */
    async waitJobFinished(job: Pick<Manifest, "apiVersion" | "kind" | "metadata">, timeoutMs: number, intervalMs = 1000): Promise<{ j: Obj; cond: Obj }> {
        return waitFor(
            `Job ${job.metadata.namespace}/${job.metadata.name} finished`,
            async () => {
                const j = await this.getObject(job);
                const cond = (j?.status?.conditions ?? []).find((x: Obj) => (x.type === "Complete" || x.type === "Failed") && x.status === "True");
                return cond ? { j: j!, cond } : undefined;
            },
            { timeoutMs, intervalMs },
        );
    }

    /** Items of a collection (namespaced when namespace is given), optionally filtered by a label selector. */
    async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, fieldSelector?: string): Promise<Obj[]> {
        const r = await this.resource(apiVersion, kind);
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
        const q = new URLSearchParams();
        if (labelSelector) {
            q.set("labelSelector", labelSelector);
        }
        if (fieldSelector) {
            q.set("fieldSelector", fieldSelector);
        }
        const body = await this.get(`${base}${ns}/${r.plural}${q.size > 0 ? `?${q}` : ""}`);
        return body.items as Obj[];
    }

    // -----------------------------------------------------------------------------------------------
    // Bounded waits

    /** Waits until a StatefulSet is settled the way the Pulumi provider waits: observed, all replicas ready and updated, one revision. */
    async waitForStatefulSetReady(namespace: string, name: string, timeoutMs = 180_000): Promise<Obj> {
        return waitFor(
            `StatefulSet ${namespace}/${name} ready`,
            async () => {
                const sts = await this.get(`/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`);
                return statefulSetSettled(sts) ? sts : undefined;
            },
            { timeoutMs, intervalMs: 500 },
        ).catch((e: Error) => this.explainWait(e, namespace));
    }

    /** Waits until a StatefulSet has rolled to an updateRevision other than `previous` and is settled on it. */
    async waitForRollout(namespace: string, name: string, previous: string, timeoutMs = 180_000): Promise<Obj> {
        return waitFor(
            `StatefulSet ${namespace}/${name} rolled past revision ${previous}`,
            async () => {
                const sts = await this.get(`/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`);
                return sts.status?.updateRevision !== previous && statefulSetSettled(sts) ? sts : undefined;
            },
            { timeoutMs, intervalMs: 500 },
        ).catch((e: Error) => this.explainWait(e, namespace));
    }

    /**
     * Waits until the EndpointSlices of a Service list `expected` ready addresses (at least one when not
     * given). Returns the slices.
     */
    async waitForEndpoints(namespace: string, service: string, expected?: number, timeoutMs = 60_000): Promise<Obj[]> {
        return waitFor(
            `EndpointSlices of Service ${namespace}/${service} with ${expected ?? "some"} ready address(es)`,
            async () => {
                const slices = await this.list("discovery.k8s.io/v1", "EndpointSlice", namespace, `kubernetes.io/service-name=${service}`);
                const n = readyAddresses(slices).length;
                return (expected === undefined ? n > 0 : n === expected) ? slices : undefined;
            },
            { timeoutMs, intervalMs: 500 },
        );
    }

    /** Waits for an Event of `reason` about an object; returns the events found. */
    async waitForEvent(namespace: string, objectName: string, reason: string, timeoutMs = 60_000): Promise<Obj[]> {
        return waitFor(
            `a ${reason} event for ${namespace}/${objectName}`,
            async () => {
                const events = await this.list("v1", "Event", namespace, undefined, `involvedObject.name=${objectName},reason=${reason}`);
                return events.length > 0 ? events : undefined;
            },
            { timeoutMs, intervalMs: 500 },
        );
    }

    /** Waits until an object is gone (404). */
    async waitForGone(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">, timeoutMs = 120_000): Promise<void> {
        await waitFor(`${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name} gone`, async () => (await this.getObject(m)) === undefined, {
            timeoutMs,
            intervalMs: 500,
        });
    }

    /** A wait's timeout, with what the namespace looked like and the controllers' last words. */
    private async explainWait(e: Error, namespace: string): Promise<never> {
        const state = await this.kubectl(["get", "statefulsets,pods,pvc,events", "-n", namespace, "-o", "wide"]);
        throw new Error(
            `${e.message}\n--- kubectl get -n ${namespace}:\n${state.stdout}${state.stderr}` +
                `\n--- kube-controller-manager:\n${this.logTail("kube-controller-manager", 15)}\n--- provisioner:\n${this.logTail("provisioner", 10)}`,
        );
    }
}

/** Whether a StatefulSet is observed, has every replica ready and updated, and current == update revision. */
export function statefulSetSettled(sts: Obj): boolean {
    const want = sts.spec?.replicas ?? 1;
    const s = sts.status ?? {};
    return (
        (s.observedGeneration ?? 0) >= sts.metadata.generation &&
        (s.replicas ?? 0) === want &&
        (s.readyReplicas ?? 0) === want &&
        (s.updatedReplicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        s.currentRevision !== undefined &&
        s.currentRevision === s.updateRevision
    );
}

/** Addresses of the ready endpoints of some EndpointSlices. */
export function readyAddresses(slices: Obj[]): string[] {
    return slices.flatMap((s) => (s.endpoints ?? []).filter((e: Obj) => e.conditions?.ready !== false).flatMap((e: Obj) => e.addresses ?? []));
}

/** One line about an apply's outcome: object, HTTP status, the server's message. */
export function describeOutcome(o: ApplyOutcome): string {
    const m = o.manifest;
    const msg = o.status >= 200 && o.status < 300 ? "accepted" : (o.body?.message ?? JSON.stringify(o.body));
    return `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}: HTTP ${o.status} ${msg}`;
}

/** Warning header values (RFC 7234: `299 - "text"`), unquoted. */
function parseWarnings(h: string | string[] | undefined): string[] {
    if (h === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const v of Array.isArray(h) ? h : [h]) {
        // Several warnings may share one header, comma-separated; each is 299 - "..." with \" escapes.
        for (const m of v.matchAll(/\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)) {
            out.push(m[1].replace(/\\(.)/g, "$1"));
        }
    }
    return out;
}

/** Pids of processes whose command line mentions `dir` (what a stopped control plane must not leave). */
export function processesUsing(dir: string): string[] {
    const out: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
            if (cmd.includes(dir)) {
                out.push(`${pid} ${cmd.trim()}`);
            }
        } catch {
            // gone meanwhile
        }
    }
    return out;
}

// Safety net: a control plane a failed or interrupted run left behind is stopped with the test process.
process.on("exit", () => {
    for (const cp of live) {
        spawnSync("bash", [SCRIPT, "down", cp.dir], { timeout: 60_000, stdio: "ignore" });
    }
});
