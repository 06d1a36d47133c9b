// Prod's stack file as the real-pod suites run it (tests/pods/consumer.spec.ts and *-prod.spec.ts): the same
// topology, TLS, auth and NetworkPolicies, with the overrides named here. Always overridden, and why:
// monitoring.exporters off (no exporter images are built for the nodes, tests/pods/IMAGES.md);
// monitoring.prometheusOperator off (no Prometheus Operator CRDs on the test control plane);
// networkPolicies.dns names the nodes' resolver, which is not a pod (clusterdns on the host bridge).
// PROD_ON_NODES scales MariaDB and Kafka down so all of prod fits this machine, and gives Kafka a topic.
//
// prod's NetworkPolicies are enforced (kube-network-policies on every node, tests/helpers/nodes.ts): the
// drills' writers run in order-service as prod allows, and tests/pods/netpol-prod.spec.ts checks who else
// connects. Enforcement needs the test kubelets in their nodes' network namespaces, as on a real node: from
// the host, their TCP probes (Kafka's startup probe) arrived as forwarded traffic and were dropped (found on
// 2026-12-07: the three brokers never started).
//
// The prod suites share one deployment of all of prod (prodOnNodes), made by the real engine: `pulumi up` of
// index.ts (inline language server, stand-in random and tls plugins, as in tests/e2e/program.spec.ts) with
// that config. Each suite drills its own service on it: it renders its namespace again with the deployed
// stack's generated values (the same passwords and keys) and its change on top, and applies that server-side
// (force: the engine's field manager owns the fields). Starting prod takes minutes; four starts were most of
// test:pods.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { makeTempDir, removeTempDir } from "../../scripts/lib/servers";
import { readStackFile, renderStack, ROOT, type Manifest, type RenderResult } from "../../scripts/lib/mockRuntime";
import type { Obj } from "./controlplane";
import { automationErrorText, bounded, EngineHome, indexProgram, inlineStack, requireEngine } from "./engine";
import type { RealCluster } from "./nodes";
import { generatedValues, type StateResource } from "./programStack";
import { startClock } from "./servers";

/** The namespaces of prod's three services. */
export const PROD_NAMESPACES = ["db", "cache", "messaging"];
/** The topic PROD_ON_NODES gives Kafka, with user `orders` allowed to read and write it. */
export const KAFKA_TOPIC = "orders.events";

/** The pod suites' changes to prod's services: MariaDB and Kafka at 768Mi, Kafka's topic and its users' grants. */
export const PROD_ON_NODES: Record<string, Record<string, unknown>> = {
    mariadb: { resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "768Mi" } } },
    kafka: {
        resources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { cpu: "2", memory: "768Mi" } },
        users: [{ name: "orders", topics: [{ name: KAFKA_TOPIC, access: ["read", "write"] }], groups: ["orders-"] }, { name: "auth", topics: [], groups: [] }],
        topics: [{ name: KAFKA_TOPIC, partitions: 3, replicationFactor: 3 }],
    },
};

/**
 * The prod stack file's config (keys without the project prefix), each service's settings merged with
 * `overrides[service]`; with `dnsCidr`, networkPolicies.dns.cidrs names that resolver.
 */
export function prodConfig(overrides: Record<string, Record<string, unknown>> = {}, dnsCidr?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) {
        let value: unknown = v;
        try {
            value = JSON.parse(v);
        } catch {
            // a plain string
        }
        out[k.replace(/^msa-infra:/, "")] = value;
    }
    out.monitoring = { ...((out.monitoring ?? {}) as Record<string, unknown>), exporters: false, prometheusOperator: false };
    if (dnsCidr) out.networkPolicies = { ...((out.networkPolicies ?? {}) as Record<string, unknown>), dns: { cidrs: [dnsCidr] } };
    for (const [service, o] of Object.entries(overrides)) out[service] = { ...((out[service] ?? {}) as Record<string, unknown>), ...o };
    return out;
}

/** The objects of namespaces `ns` (and the Namespaces), without Prometheus Operator kinds. */
export function inNamespaces(objects: Manifest[], ns: string[]): Manifest[] {
    return objects.filter(
        (o) => !o.apiVersion.startsWith("monitoring.coreos.com/") && (ns.includes(o.metadata.namespace ?? "") || (o.kind === "Namespace" && ns.includes(o.metadata.name))),
    );
}

/** All of prod as `pulumi up` applied it to the nodes, and how it came up. */
export interface ProdDeployment {
    /** The deployed stack's generated values (passwords, keys): every later render of a namespace uses them. */
    generated: ReadonlyMap<string, Record<string, unknown>>;
    /** The deployed stack's outputs (what the program's guard reads through its StackReference). */
    outputs: Record<string, unknown>;
    /** The nodes' resolver (networkPolicies.dns.cidrs). */
    dnsCidr: string;
    /** The render of the deployed config with the deployed generated values: what `up` applied. */
    render: RenderResult;
    /** The applied objects: prod's three namespaces. */
    objects: Manifest[];
    /** Seconds from the start of `up` until each StatefulSet had all its replicas Ready; `up`'s own time. */
    readySeconds: Record<string, number>;
    upSeconds: number;
}

let deployment: { cluster: RealCluster["cp"]; promise: Promise<ProdDeployment> } | undefined;

/**
 * All of prod (PROD_ON_NODES) deployed by `pulumi up` of index.ts to the suite's cluster once, Ready, its
 * reconcile Jobs complete. Skips (locally) or fails (CI) without the engine, as requireEngine does: call
 * from a hook or test with its `this`.
 */
export function prodOnNodes(cluster: RealCluster, ctx: Mocha.Context): Promise<ProdDeployment> {
    const cache = requireEngine(ctx, ["pulumi", "kubernetes"]);
    if (deployment?.cluster !== cluster.cp) deployment = { cluster: cluster.cp, promise: deployProd(cluster, cache) };
    return deployment.promise;
}

/** prod's config as deployed, with `overrides` on top of each service's (a drill's change). */
export function deployedConfig(d: ProdDeployment, overrides: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
    const merged: Record<string, Record<string, unknown>> = { ...PROD_ON_NODES };
    for (const [service, o] of Object.entries(overrides)) merged[service] = { ...(merged[service] ?? {}), ...o };
    return prodConfig(merged, d.dnsCidr);
}

/** Namespace `ns` of prod rendered again as deployed plus `overrides`, with the deployment's generated values. */
export async function renderProdNamespace(ns: string, d: ProdDeployment, overrides: Record<string, Record<string, unknown>> = {}): Promise<Manifest[]> {
    const r = await renderStack("prod", { withSecrets: true, generated: d.generated, previousOutputs: d.outputs, config: deployedConfig(d, overrides) });
    return inNamespaces(r.objects, [ns]);
}

/** The prod stack of a project directory of its own (the repository's index.ts), with `config` as its config. */
async function prodProject(home: EngineHome, config: Record<string, unknown>): Promise<string> {
    const dir = makeTempDir("prod-on-nodes");
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.symlinkSync(path.join(ROOT, "index.ts"), path.join(dir, "index.ts"));
    await home.ok(["stack", "init", "prod"], { cwd: dir });
    // stack init wrote the encryption salt: the config goes next to it, structured values as they are.
    const file = path.join(dir, "Pulumi.prod.yaml");
    const stackFile = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
    stackFile.config = Object.fromEntries(Object.entries(config).map(([k, v]) => [`msa-infra:${k}`, v]));
    fs.writeFileSync(file, YAML.stringify(stackFile));
    return dir;
}

async function deployProd(cluster: RealCluster, cache: string): Promise<ProdDeployment> {
    const c = cluster.cp;
    const dnsCidr = cluster.nodes.dnsCidr();
    const config = prodConfig(PROD_ON_NODES, dnsCidr);
    const home = await EngineHome.create(cache, "prod-on-nodes");
    let dir = "";
    try {
        dir = await prodProject(home, config);
        const stack = await inlineStack(home, { workDir: dir, stackName: "prod", program: indexProgram, env: { KUBECONFIG: c.kubeconfig } });
        const done = startClock("all of prod by pulumi up until Ready");
        const t0 = Date.now();
        const lines: string[] = [];
        let upSeconds = 0;
        let upFailure = "";
        const up = bounded("prod up", 900_000, (signal) => stack.up({ onOutput: (o) => lines.push(o), signal })).then(
            () => (upSeconds = (Date.now() - t0) / 1000),
            (e) => (upFailure = automationErrorText(e) || String(e)),
        );
        // While up runs: when each StatefulSet became Ready (up itself returns after the last one).
        const readyAt: Record<string, number> = {};
        const sets = [
            { namespace: "db", name: "mariadb" },
            { namespace: "cache", name: "redis" },
            { namespace: "messaging", name: "kafka" },
        ];
        let upDone = false;
        void up.then(() => (upDone = true));
        while (!upDone) {
            for (const s of sets) {
                const live = await c.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: s });
                if (readyAt[s.name] === undefined && live && live.status?.readyReplicas === live.spec.replicas) readyAt[s.name] = (Date.now() - t0) / 1000;
            }
            await new Promise((r) => setTimeout(r, 2000));
        }
        await up;
        done();
        if (upFailure) {
            const pods = await c.kubectl(["get", "pods", "-A", "-o", "wide"]);
            throw new Error(`prod up failed:\n${lines.join("").slice(-6000)}\n${upFailure.slice(-4000)}\n${pods.stdout}`);
        }
        const exported = await home.ok(["stack", "export", "--show-secrets", "--stack", "prod"], { cwd: dir });
        const generated = generatedValues((JSON.parse(exported.stdout) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? []);
        const outputs = await home.json<Record<string, unknown>>(["stack", "output", "--stack", "prod", "--show-secrets"], { cwd: dir });
        const render = await renderStack("prod", { withSecrets: true, generated, previousOutputs: outputs, config });
        const objects = inNamespaces(render.objects, PROD_NAMESPACES);
        // up awaited each StatefulSet (pulumi.com/waitFor) and each reconcile Job: check, do not trust.
        for (const s of objects.filter((o) => o.kind === "StatefulSet") as Obj[]) {
            const live = await c.getObject(s);
            assert.strictEqual(live?.status?.readyReplicas, s.spec.replicas, `${s.metadata.namespace}/${s.metadata.name} Ready when up returned`);
            readyAt[s.metadata.name] ??= upSeconds;
        }
        const jobs = objects.filter((o) => o.kind === "Job") as Obj[];
        assert.strictEqual(jobs.length, 3, "a reconcile Job per service");
        for (const j of jobs) assert.strictEqual((await c.getObject(j))?.status?.succeeded, 1, `Job ${j.metadata.namespace}/${j.metadata.name} complete when up returned`);
        return { generated, outputs, dnsCidr, render, objects, readySeconds: readyAt, upSeconds };
    } finally {
        // Nothing later runs the engine on this stack: the drills change prod server-side.
        home.dispose();
        if (dir) removeTempDir(dir);
    }
}
