// prod's NetworkPolicies enforced by kube-network-policies on the real nodes (tests/helpers/nodes.ts enforces
// them on the shared cluster): client pods in the namespaces prod allows, in others, and inside the services'
// own namespaces each open a TCP connection to one pod of each service on each of its ports (pod IPs, so a
// blocked DNS lookup cannot pass for a blocked port). What connects is compared, pair by pair, with the
// offline evaluator's verdict (tests/helpers/netpol.ts) on prod's render and the pods' live labels. The
// writers of the prod drills (order-service) and the example's Deployment are the allowed clients' other half;
// this is the half that must not connect.

import * as assert from "assert";
import { describeRun, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { connectionAllowed, type Pod } from "../helpers/netpol";
import { realCluster } from "../helpers/nodes";
import { prodOnNodes, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(300);

const NODES = 3;
/** Seconds one connection attempt may take: an allowed one connects well within it, a dropped SYN never does. */
const ATTEMPT_SECONDS = 4;

/** One pod of each service and the ports it serves (exporters are off on the nodes: tests/helpers/prodStack.ts). */
const TARGETS = [
    { namespace: "db", pod: "mariadb-0", ports: { mysql: 3306 } },
    { namespace: "cache", pod: "redis-0", ports: { redis: 6379, sentinel: 26379 } },
    { namespace: "messaging", pod: "kafka-0", ports: { client: 9092, controller: 9093 } },
];

interface Client {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    why: string;
}

const CLIENTS: Client[] = [
    { name: "orders", namespace: "order-service", labels: { app: "orders" }, why: "allowedNamespaces" },
    { name: "auth", namespace: "auth-service", labels: { app: "auth" }, why: "allowedNamespaces" },
    { name: "prometheus", namespace: "monitoring", labels: { app: "prometheus" }, why: "monitoringNamespace (no exporter sidecars)" },
    { name: "guest", namespace: "guest", labels: { app: "orders" }, why: "not listed" },
    { name: "debug", namespace: "messaging", labels: { app: "debug" }, why: "inside messaging, not a broker" },
    { name: "debug", namespace: "db", labels: { app: "debug" }, why: "inside db, not a server" },
];

/** A pod any Pod Security level admits; prints `<target>/<port> <connects|blocked>` per attempt. */
function clientPod(c: Client, image: string, attempts: { key: string; ip: string; port: number }[]): Obj {
    const script = attempts
        .map((a) => `if timeout ${ATTEMPT_SECONDS + 2} nc -w ${ATTEMPT_SECONDS} ${a.ip} ${a.port} -e /bin/true 2>/dev/null; then echo "${a.key} connects"; else echo "${a.key} blocked"; fi`)
        .join("; ");
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `netpol-${c.name}`, namespace: c.namespace, labels: c.labels },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    // The pause lets every node's controller learn the new pod's address before its first packet.
                    command: ["sh", "-c", `sleep 2; ${script}`],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
                },
            ],
        },
    };
}

describe("real pods: prod's NetworkPolicies enforced, who reaches MariaDB, Redis and Kafka", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let prod: ProdDeployment;
    const created: Obj[] = [];

    before(async function () {
        cp = cluster.cp;
        prod = await prodOnNodes(cluster, this);
    });

    after(async function () {
        // prod stays (the drill suites share it): only this suite's pods and its own namespaces go.
        if (!cp) return;
        for (const o of created.reverse()) await cp.deleteObject(o, "Background");
    });

    it("each client connects exactly when the offline evaluator says prod's rendered policies allow it", async function () {
        const c = cp!;
        const targets = await Promise.all(
            TARGETS.map(async (t) => {
                const live = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: t.pod, namespace: t.namespace } });
                assert.ok(live?.status?.podIP, `pod ${t.namespace}/${t.pod} has no IP`);
                return { ...t, live };
            }),
        );
        const attempts = targets.flatMap((t) => Object.entries(t.ports).map(([name, port]) => ({ key: `${t.pod}/${name}`, ip: t.live.status.podIP as string, port, target: t })));
        const sts = prod.objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Obj;
        const image = sts.spec.template.spec.containers[0].image as string;

        const existing = new Set((await c.list("v1", "Namespace")).map((n: Obj) => n.metadata.name as string));
        const manifests: Obj[] = [];
        for (const ns of [...new Set(CLIENTS.map((x) => x.namespace))].filter((n) => !existing.has(n))) {
            manifests.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
        }
        manifests.push(...CLIENTS.map((x) => clientPod(x, image, attempts)));
        const done = startClock("NetworkPolicy client pods run their attempts");
        const t0 = Date.now();
        const applied = await c.applyServerSide(manifests as never);
        created.push(...manifests);
        assert.deepStrictEqual(applied.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused a client");
        const clientPods = () => Promise.all(CLIENTS.map((x) => c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: `netpol-${x.name}`, namespace: x.namespace } })));
        await waitFor(
            "every client pod finished",
            async () => {
                const pods = await clientPods();
                return pods.every((p) => p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed") ? pods : undefined;
            },
            { timeoutMs: 240_000, intervalMs: 1000 },
        ).catch(async (e: Error) => {
            const states = (await clientPods()).map((p, i) => `${CLIENTS[i].namespace}/${CLIENTS[i].name}: ${p?.status?.phase ?? "absent"} ${JSON.stringify(p?.status?.containerStatuses?.[0]?.state ?? {})}`);
            throw new Error(`${e.message}\n${states.join("\n")}`);
        });
        done();

        // The namespaces' labels as the API server holds them (kubernetes.io/metadata.name set by it).
        const nsLabels = new Map((await c.list("v1", "Namespace")).map((n: Obj) => [n.metadata.name as string, (n.metadata.labels ?? {}) as Record<string, string>]));
        const rows: { client: Client; seen: Map<string, boolean>; expected: Map<string, boolean>; log: string }[] = [];
        for (const client of CLIENTS) {
            const logs = await c.kubectl(["-n", client.namespace, "logs", `netpol-${client.name}`]);
            assert.strictEqual(logs.code, 0, `logs of ${client.namespace}/netpol-${client.name}: ${describeRun(logs)}`);
            const seen = new Map<string, boolean>();
            for (const m of logs.stdout.matchAll(/^(\S+) (connects|blocked)$/gm)) seen.set(m[1], m[2] === "connects");
            const from: Pod = { namespace: client.namespace, labels: client.labels, namespaceLabels: nsLabels.get(client.namespace) };
            const expected = new Map(
                attempts.map((a) => {
                    const to: Pod = { namespace: a.target.namespace, labels: a.target.live.metadata.labels, namespaceLabels: nsLabels.get(a.target.namespace) };
                    return [a.key, connectionAllowed(prod.objects, from, to, a.port, "TCP")];
                }),
            );
            rows.push({ client, seen, expected, log: logs.stdout.trim().replace(/\n/g, " | ") });
        }

        const mark = (b: boolean | undefined) => (b === undefined ? "?" : b ? "yes" : "-");
        console.log(`      clients finished in ${((Date.now() - t0) / 1000).toFixed(1)} s; each cell: connected (offline verdict)`);
        console.log(`      ${"client".padEnd(26)} ${attempts.map((a) => a.key.padEnd(20)).join("")}why`);
        for (const r of rows) {
            const cells = attempts.map((a) => `${mark(r.seen.get(a.key))} (${mark(r.expected.get(a.key))})${r.seen.get(a.key) === r.expected.get(a.key) ? "" : " <--"}`.padEnd(20));
            console.log(`      ${`${r.client.namespace}/${r.client.name}`.padEnd(26)} ${cells.join("")}${r.client.why}`);
        }
        for (const r of rows) assert.strictEqual(r.seen.size, attempts.length, `${r.client.namespace}/${r.client.name} did not report every attempt: ${r.log}`);
        const verdicts = rows.flatMap((r) => [...r.expected.values()]);
        assert.ok(verdicts.includes(true) && verdicts.includes(false), "the matrix needs allowed and denied pairs");
        const differ = rows.flatMap((r) =>
            attempts.filter((a) => r.seen.get(a.key) !== r.expected.get(a.key)).map((a) => `${r.client.namespace}/${r.client.name} -> ${a.key}: seen ${mark(r.seen.get(a.key))}, offline ${mark(r.expected.get(a.key))}`),
        );
        assert.deepStrictEqual(differ, [], "real enforcement and the offline evaluator disagree");
        // The promise prod's stack file makes, independent of the evaluator: only order-service and auth-service
        // reach the data ports, and monitoring, since no exporter sidecar runs here (it then scrapes through the
        // client ports: components/networkPolicies.ts); nobody outside the brokers reaches the controller port.
        const reachData = ["order-service", "auth-service", "monitoring"];
        for (const r of rows) {
            const allowedNs = reachData.includes(r.client.namespace);
            for (const key of ["mariadb-0/mysql", "redis-0/redis", "kafka-0/client"]) assert.strictEqual(r.seen.get(key), allowedNs, `${r.client.namespace}/${r.client.name} -> ${key}`);
            assert.strictEqual(r.seen.get("kafka-0/controller"), false, `${r.client.namespace}/${r.client.name} reached the KRaft controller port`);
        }
    });
});
