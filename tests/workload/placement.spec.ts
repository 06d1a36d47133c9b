// The shared renderer's placement hook and peer-reachable client ports, on a plain plan with the field
// set: anti-affinity and zone spread in the pod template, and client ports that also open to the
// service's own pods (NetworkPolicies). Any replicated service uses these; Redis is only the carrier.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { planMariaDb } from "../../components/mariadb";
import { buildPodSpec, PodReferences } from "../../components/workload/podTemplate";
import type { ServicePlan } from "../../components/workload/plan";
import type { RenderResult } from "../../scripts/lib/mockRuntime";
import { Any, find } from "../../scripts/lib/manifests";
import { renderPlan } from "../helpers/renderPlan";

const config = parseStackConfig({ networkPolicies: { enabled: true, egress: true, allowedNamespaces: ["clients"] } });
const base = planMariaDb(config.mariadb, config);
const selector = { "app.kubernetes.io/name": "mariadb" };
const refs: PodReferences = { serviceAccountName: "mariadb", objects: new Map(base.objects.map((o) => [o.name, { kind: o.kind, name: o.name }])) };
const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };

describe("pod template: placement", () => {
    it("required: anti-affinity on the host name, and a ScheduleAnyway zone spread with maxSkew 1", () => {
        const spec = buildPodSpec({ ...base.workload, placement: { nodeSpread: "required", zoneSpread: true } }, selector, refs) as Record<string, any>;
        assert.deepStrictEqual(spec.affinity, { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } });
        assert.deepStrictEqual(spec.topologySpreadConstraints, [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
        ]);
    });

    it("preferred: weighted anti-affinity; no zone spread unless asked", () => {
        const spec = buildPodSpec({ ...base.workload, placement: { nodeSpread: "preferred", zoneSpread: false } }, selector, refs) as Record<string, any>;
        assert.deepStrictEqual(spec.affinity, { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } });
        assert.strictEqual(spec.topologySpreadConstraints, undefined);
    });

    it("none without a placement", () => {
        const spec = buildPodSpec({ ...base.workload, placement: undefined }, selector, refs) as Record<string, any>;
        assert.strictEqual(spec.affinity, undefined);
        assert.strictEqual(spec.topologySpreadConstraints, undefined);
    });
});

const render = (plan: ServicePlan): Promise<RenderResult> => renderPlan(plan, config);

describe("renderer: a client port the pods also use among themselves", () => {
    const withPeers = (peers: boolean): ServicePlan => ({
        ...base,
        workload: {
            ...base.workload,
            containers: base.workload.containers.map((c, i) => (i === 0 ? { ...c, ports: c.ports.map((p) => (p.exposure === "client" ? { ...p, peers } : p)) } : c)),
        },
    });

    it("opens to the service's own pods (ingress and egress) as well as to the clients", async () => {
        const r = await render(withPeers(true));
        const peers = find(r.objects, "NetworkPolicy", "db", "allow-peers") as Any;
        assert.deepStrictEqual(peers.spec.ingress, [{ from: [{ podSelector: { matchLabels: peers.spec.podSelector.matchLabels } }], ports: [{ protocol: "TCP", port: 3306 }] }]);
        const egress = find(r.objects, "NetworkPolicy", "db", "restrict-egress") as Any;
        assert.ok(egress.spec.egress.some((e: Any) => e.ports?.some((p: Any) => p.port === 3306) && e.to?.[0]?.podSelector), JSON.stringify(egress.spec.egress));
        const clients = find(r.objects, "NetworkPolicy", "db", "allow-clients") as Any;
        assert.deepStrictEqual(clients.spec.ingress[0].ports, [{ protocol: "TCP", port: 3306 }]);
        // The headless Service lists the port once.
        const headless = find(r.objects, "Service", "db", "mariadb-headless") as Any;
        assert.deepStrictEqual(headless.spec.ports.map((p: Any) => p.port), [3306]);
    });

    it("stays closed to the service's own pods without the flag", async () => {
        const r = await render(withPeers(false));
        assert.ok(!r.objects.some((o) => o.kind === "NetworkPolicy" && o.metadata.name === "allow-peers"), "no allow-peers policy");
    });
});

describe("placement invariants of the rendered stacks", function () {
    this.timeout(120_000);
    let prod: RenderResult;
    let dev: RenderResult;
    before(async () => {
        const { renderStack } = await import("../../scripts/lib/mockRuntime");
        prod = await renderStack("prod");
        dev = await renderStack("dev");
    });

    // The scheduler may never put two pods of a replicated service on one node in production: for Kafka
    // that is two voters of three, for Redis two Sentinels of three, for MariaDB the primary and a replica.
    for (const [namespace, app] of [["messaging", "kafka"], ["cache", "redis"], ["db", "mariadb"]]) {
        it(`prod: no two ${app} pods on one node (required anti-affinity on the host name, selecting exactly its pods), spread over zones`, () => {
            const sts = find(prod.objects, "StatefulSet", namespace, app) as Any;
            assert.ok(sts.spec.replicas > 1, `${app} is replicated in prod`);
            const pod = sts.spec.template.spec;
            const required = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
            const onHost = required.filter((t: Any) => t.topologyKey === "kubernetes.io/hostname");
            assert.strictEqual(onHost.length, 1, JSON.stringify(pod.affinity));
            const labels = sts.spec.template.metadata.labels;
            assert.ok(Object.entries<string>(onHost[0].labelSelector.matchLabels).every(([k, v]) => labels[k] === v), "the term selects the service's own pods");
            assert.deepStrictEqual(onHost[0].labelSelector.matchLabels, sts.spec.selector.matchLabels);
            assert.ok((pod.topologySpreadConstraints ?? []).some((c: Any) => c.topologyKey === "topology.kubernetes.io/zone"));
            const pdb = find(prod.objects, "PodDisruptionBudget", namespace, app) as Any;
            assert.strictEqual(pdb.spec.maxUnavailable, 1, "a drain takes one pod at a time: the quorum keeps its majority");
        });
    }

    it("dev: single pods carry no placement rules (a one-node cluster runs them)", () => {
        for (const [namespace, app] of [["messaging", "kafka"], ["cache", "redis"], ["db", "mariadb"]]) {
            const pod = (find(dev.objects, "StatefulSet", namespace, app) as Any).spec.template.spec;
            assert.strictEqual(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, undefined, app);
        }
    });
});

describe("priorityClassName", function () {
    this.timeout(120_000);
    it("puts the stack's PriorityClass on every data service's pods, not on backup or reconcile pods", async () => {
        const { renderStack } = await import("../../scripts/lib/mockRuntime");
        const r = await renderStack("prod", { config: { ...prodConfig(), priorityClassName: "data-critical" } });
        const sts = r.objects.filter((o) => o.kind === "StatefulSet") as Any[];
        assert.deepStrictEqual(sts.map((s) => s.spec.template.spec.priorityClassName), ["data-critical", "data-critical", "data-critical"]);
        const runs = r.objects.filter((o) => o.kind === "CronJob" || o.kind === "Job") as Any[];
        assert.ok(runs.length > 0);
        for (const j of runs) {
            const pod = j.kind === "CronJob" ? j.spec.jobTemplate.spec.template.spec : j.spec.template.spec;
            assert.strictEqual(pod.priorityClassName, undefined, `${j.kind} ${j.metadata.name}`);
        }
        const plain = await renderStack("prod");
        assert.ok(plain.objects.filter((o) => o.kind === "StatefulSet").every((s: Any) => !("priorityClassName" in s.spec.template.spec)), "none by default");
    });

    it("refuses a name that is not a PriorityClass name, naming the key", () => {
        assert.throws(() => parseStackConfig({ priorityClassName: "Data_Critical" }), /priorityClassName: "Data_Critical".*PriorityClass name/);
    });
});

/** prod's stack config, keys without the project prefix. */
function prodConfig(): Record<string, unknown> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readStackFile, ROOT } = require("../../scripts/lib/mockRuntime");
    const raw: Record<string, string> = readStackFile(ROOT, "prod");
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^msa-infra:/, ""), (() => { try { return JSON.parse(v); } catch { return v; } })()]));
}
