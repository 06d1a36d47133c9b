// Prod's stack file as the real-pod suites run it (tests/pods/consumer.spec.ts and *-prod.spec.ts): the same
// topology, TLS, auth and NetworkPolicies, with the overrides named here. Always overridden, and why:
// monitoring.exporters off (no exporter images are built for the nodes, tests/pods/IMAGES.md); the Prometheus
// Operator's objects are left out (no CRDs on the test control plane); networkPolicies.dns names the nodes'
// resolver, which is not a pod (clusterdns on the host bridge). PROD_ON_NODES scales MariaDB and Kafka down so
// all of prod fits this machine, and gives Kafka a topic to write to.
//
// prod's NetworkPolicies are enforced (kube-network-policies on every node, tests/helpers/nodes.ts): the
// drills' writers run in order-service as prod allows, and tests/pods/netpol-prod.spec.ts checks who else
// connects. Enforcement needs the test kubelets in their nodes' network namespaces, as on a real node: from
// the host, their TCP probes (Kafka's startup probe) arrived as forwarded traffic and were dropped (found on
// 2026-12-07: the three brokers never started).
//
// The prod suites share one deployment of all of prod (prodOnNodes): it is applied once per cluster and each
// suite drills its own service on it, rendering its namespace again with the same seed (the same passwords)
// and its change on top. Starting prod takes minutes; four starts were most of test:pods.

import * as assert from "assert";
import { randomToken, waitFor } from "../../scripts/lib/servers";
import { readStackFile, renderStack, ROOT, type Manifest, type RenderResult } from "../../scripts/lib/mockRuntime";
import { describeOutcome, type Obj } from "./controlplane";
import type { RealCluster } from "./nodes";
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
    out.monitoring = { ...((out.monitoring ?? {}) as Record<string, unknown>), exporters: false };
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

/** All of prod as applied to the nodes, and how it came up. */
export interface ProdDeployment {
    /** The render's seed: every later render of a namespace uses it, so passwords stay the same. */
    seed: string;
    /** The nodes' resolver (networkPolicies.dns.cidrs). */
    dnsCidr: string;
    render: RenderResult;
    /** The applied objects: prod's three namespaces. */
    objects: Manifest[];
    /** Seconds from the apply until each StatefulSet had all its replicas Ready. */
    readySeconds: Record<string, number>;
}

let deployment: { cluster: RealCluster["cp"]; promise: Promise<ProdDeployment> } | undefined;

/** All of prod (PROD_ON_NODES) applied to the suite's cluster once and Ready, its reconcile Jobs complete. */
export function prodOnNodes(cluster: RealCluster): Promise<ProdDeployment> {
    if (deployment?.cluster !== cluster.cp) deployment = { cluster: cluster.cp, promise: deployProd(cluster) };
    return deployment.promise;
}

/** prod's config as deployed, with `overrides` on top of each service's (a drill's change). */
export function deployedConfig(d: ProdDeployment, overrides: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
    const merged: Record<string, Record<string, unknown>> = { ...PROD_ON_NODES };
    for (const [service, o] of Object.entries(overrides)) merged[service] = { ...(merged[service] ?? {}), ...o };
    return prodConfig(merged, d.dnsCidr);
}

/** Namespace `ns` of prod rendered again as deployed plus `overrides`, with the deployment's seed. */
export async function renderProdNamespace(ns: string, d: ProdDeployment, overrides: Record<string, Record<string, unknown>> = {}): Promise<Manifest[]> {
    const r = await renderStack("prod", { withSecrets: true, seed: d.seed, config: deployedConfig(d, overrides) });
    return inNamespaces(r.objects, [ns]);
}

async function deployProd(cluster: RealCluster): Promise<ProdDeployment> {
    const c = cluster.cp;
    // A fresh random seed per run: the passwords are never stored or printed.
    const seed = randomToken(32);
    const dnsCidr = cluster.nodes.dnsCidr();
    const render = await renderStack("prod", { withSecrets: true, seed, config: prodConfig(PROD_ON_NODES, dnsCidr) });
    const objects = inNamespaces(render.objects, PROD_NAMESPACES);
    const done = startClock("all of prod applied until Ready");
    const t0 = Date.now();
    const outcomes = await c.applyServerSide(objects);
    assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused part of prod's render");
    const sets = objects.filter((o) => o.kind === "StatefulSet") as Obj[];
    const jobs = objects.filter((o) => o.kind === "Job") as Obj[];
    const readyAt: Record<string, number> = {};
    let failedJob: string | undefined;
    await waitFor(
        "every StatefulSet Ready and every reconcile Job complete",
        async () => {
            for (const s of sets) {
                const live = await c.getObject(s);
                if (readyAt[s.metadata.name] === undefined && live?.status?.readyReplicas === s.spec.replicas) readyAt[s.metadata.name] = (Date.now() - t0) / 1000;
            }
            let complete = 0;
            for (const j of jobs) {
                const conditions: Obj[] = (await c.getObject(j))?.status?.conditions ?? [];
                const failed = conditions.find((x) => x.type === "Failed" && x.status === "True");
                if (failed) failedJob = `Job ${j.metadata.namespace}/${j.metadata.name} failed: ${failed.message}`;
                if (conditions.some((x) => x.type === "Complete" && x.status === "True")) complete++;
            }
            return failedJob || (Object.keys(readyAt).length === sets.length && complete === jobs.length) ? true : undefined;
        },
        { timeoutMs: 900_000, intervalMs: 3000 },
    ).catch(async (e: Error) => {
        const pods = await c.kubectl(["get", "pods", "-A", "-o", "wide"]);
        throw new Error(`${e.message}\n${pods.stdout}`);
    });
    done();
    if (failedJob) throw new Error(failedJob);
    assert.strictEqual(sets.length, 3, "a StatefulSet per service");
    assert.strictEqual(jobs.length, 3, "a reconcile Job per service");
    return { seed, dnsCidr, render, objects, readySeconds: readyAt };
}
