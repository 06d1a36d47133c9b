// Real pods: prod's Kafka (3 combined broker+controller pods, one per node and zone, SASL_SSL with TLS on every
// listener, SCRAM-SHA-512 users, the authorizer, min.insync.replicas 2) as part of all of prod, deployed once by
// `pulumi up` for the prod suites to three real nodes (scripts/nodes.sh, tests/helpers/prodStack.ts), then the failure drills of
// issue 22 under a writer that runs in a client pod as an application does: Kafka's own VerifiableProducer
// (kafka-tools 3.8.1) with acks=all as the `orders` user through the bootstrap Service over TLS, which prints
// every acknowledgement and every refusal with its time. After each drill a consumer reads the whole topic
// back: each drill prints written / acknowledged / lost, the time to recover and the controller before and
// after, and fails if one acknowledged record is missing.
//
// Test overrides of the prod stack file (tests/helpers/prodStack.ts, PROD_ON_NODES), and why: a declared topic
// (3 partitions, replication factor 3) with the orders user's grants on it (prod declares none); a 768Mi memory
// limit instead of 4Gi (heap 50% = 384 MiB) and small requests, so three brokers fit beside the rest of prod on
// this machine; no exporters, no Prometheus Operator objects; NetworkPolicies enforced.

import * as assert from "assert";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { secretData } from "../../scripts/lib/rendered";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { renderKafka, type KafkaRendered } from "../helpers/kafka/rendered";
import { Nodes, realCluster } from "../helpers/nodes";
import { deployedConfig, inNamespaces, KAFKA_TOPIC, prodOnNodes, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";
import { drillFigures, outages, producerLog, type WriterResult } from "../helpers/writerLog";

registerRealServerSummary(1200);

const NS = "messaging";
/** A namespace prod's allow-clients NetworkPolicy lets reach Kafka (Pulumi.prod.yaml, allowedNamespaces). */
const CLIENT_NS = "order-service";
const NODES = 3;
const PODS = ["kafka-0", "kafka-1", "kafka-2"];
const TOPIC = KAFKA_TOPIC;
const USER = "orders";
const GROUP_PREFIX = "orders-";
/** Acknowledged records before a drill's failure. */
const WARMUP_ACKS = 40;
/** Records per second the writer offers. */
const THROUGHPUT = 20;

/** The client properties an application would use, from the user's Secret files (never on a command line). */
const CLIENT_PROPERTIES = [
    "umask 077",
    "p=/tmp/client.properties",
    "{",
    '  echo "security.protocol=$PROTOCOL"',
    '  echo "sasl.mechanism=$(cat /etc/kafka/user/sasl.mechanism)"',
    "  printf 'sasl.jaas.config=%s\\n' \"$(cat /etc/kafka/user/sasl.jaas.config)\"",
    '  echo "ssl.truststore.type=PEM"',
    '  echo "ssl.truststore.location=/etc/kafka/ca/ca.crt"',
    '} > "$p"',
].join("\n");

/** The writer: VerifiableProducer (acks=all) until /tmp/stop appears; its JSON lines carry each reply's time. */
const WRITER_SCRIPT = `${CLIENT_PROPERTIES}
/opt/kafka/bin/kafka-run-class.sh org.apache.kafka.tools.VerifiableProducer --bootstrap-server "$BOOTSTRAP" --topic ${TOPIC} \\
    --producer.config "$p" --acks -1 --throughput ${THROUGHPUT} --max-messages -1 --value-prefix "$PREFIX" 2>/tmp/producer.err &
pid=$!
while [ ! -e /tmp/stop ] && kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
kill "$pid" 2>/dev/null
wait "$pid"
echo "producer-exit: $?"
grep -E 'ERROR|Exception' /tmp/producer.err | head -n 3
`;

/** The reader: the whole topic from the beginning, until 10 s without a record. */
const READER_SCRIPT = `${CLIENT_PROPERTIES}
/opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server "$BOOTSTRAP" --topic ${TOPIC} --consumer.config "$p" --group "$GROUP" \\
    --from-beginning --timeout-ms 10000 2>/tmp/consumer.err
grep -v -e TimeoutException -e 'Processed a total' /tmp/consumer.err | grep ERROR | head -n 3
echo "reader-done"
`;

describe("real pods: prod's Kafka (3 brokers, TLS, SCRAM) on real kubelets, and its failure drills (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let nodes: Nodes | undefined;
    let prod: ProdDeployment;
    let k: KafkaRendered;
    let objects: Manifest[] = [];
    let heapPercent = 50;

    const pod = (name: string, ns = NS): Promise<Obj | undefined> => cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns } });
    const ready = (p: Obj | undefined): boolean => !!p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") && !p?.metadata?.deletionTimestamp;
    const nodeIndex = (nodeName: string): number => Number(/^real-node-(\d)$/.exec(nodeName)?.[1] ?? NaN);
    const key = (o: Manifest) => `${o.kind}/${o.metadata.name}`;

    /** Kafka as deployed with the drill's heapPercent, with the deployment's generated values (the same passwords). */
    const render = (): Promise<KafkaRendered> => renderKafka("prod", deployedConfig(prod, { kafka: { heapPercent } }), { generated: prod.generated, previousOutputs: prod.outputs });

    async function exec(podName: string, script: string, container = "kafka"): Promise<string> {
        const r = await cp!.kubectl(["-n", NS, "exec", podName, "-c", container, "--", "bash", "-c", script], { timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`exec in ${podName}: ${describeRun(r)}`);
        return r.stdout;
    }

    /** Every pod Ready and, by the render's own ready.sh, in the ISR of every partition it hosts; resolves with the active controller. */
    async function settled(timeoutMs = 300_000): Promise<string> {
        await waitFor(
            "3 Ready brokers, each in the ISR of all its partitions",
            async () => {
                for (const p of PODS) if (!ready(await pod(p))) return undefined;
                for (const p of PODS) {
                    const out = await exec(p, "bash /mnt/kafka-config/ready.sh").catch(() => "");
                    if (!/^ready: running, in the ISR of all \d+ partitions/m.test(out)) return undefined;
                }
                return true;
            },
            { timeoutMs, intervalMs: 3000 },
        ).catch(async (e: Error) => {
            const d = await cp!.kubectl(["-n", NS, "get", "pods", "-o", "wide"]);
            throw new Error(`${e.message}\n${d.stdout}`);
        });
        return controller();
    }

    /**
     * The KRaft leader by the quorum's own answer: kafka-metadata-quorum in a Ready broker pod's tls-reloader
     * container (the one that mounts the admin's login, as the render's reloader logs in) on the INTERNAL listener.
     */
    async function controller(): Promise<string> {
        for (const p of PODS) {
            if (!ready(await pod(p))) continue;
            const out = await exec(
                p,
                [
                    "umask 077; c=/tmp/drill-admin.properties",
                    "{ printf '%s\\n' security.protocol=SASL_SSL sasl.mechanism=PLAIN ssl.truststore.type=PEM ssl.truststore.location=/opt/kafka/runtime/truststore.pem; printf 'sasl.jaas.config='; cat /etc/kafka/admin/sasl.jaas.config; echo; } > $c",
                    'KAFKA_HEAP_OPTS="-Xms32m -Xmx96m" KAFKA_JVM_PERFORMANCE_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData" ' +
                        '/opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server "$HOSTNAME.kafka-headless.messaging.svc.cluster.local:9094" --command-config $c describe --status 2>/dev/null | sed -n "s/^LeaderId:[[:space:]]*//p"',
                ].join("\n"),
                "tls-reloader",
            ).catch(() => "");
            if (/^\d+$/.test(out.trim())) return `kafka-${out.trim()}`;
        }
        return "unknown";
    }

    const clientEnv = (extra: { name: string; value: string }[]) => [
        { name: "BOOTSTRAP", value: k.connection.bootstrapServers },
        { name: "PROTOCOL", value: k.connection.securityProtocol },
        // Small client JVMs that start fast (as the render's reconcile Job runs its tools).
        { name: "KAFKA_HEAP_OPTS", value: "-Xms32m -Xmx128m" },
        { name: "KAFKA_JVM_PERFORMANCE_OPTS", value: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true" },
        ...extra,
    ];

    function clientPod(name: string, script: string, env: { name: string; value: string }[], avoid: string[]): Manifest {
        return {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: CLIENT_NS, labels: { app: "kafka-drill" } },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                terminationGracePeriodSeconds: 5,
                affinity: avoid.length
                    ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: avoid }] }] } } }
                    : undefined,
                securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "client",
                        image: k.container.image,
                        imagePullPolicy: "IfNotPresent",
                        command: ["/bin/bash", "-c", script],
                        env: clientEnv(env),
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        resources: { requests: { cpu: "50m", memory: "192Mi" }, limits: { memory: "384Mi" } },
                        volumeMounts: [
                            { name: "user", mountPath: "/etc/kafka/user", readOnly: true },
                            { name: "ca", mountPath: "/etc/kafka/ca", readOnly: true },
                            { name: "tmp", mountPath: "/tmp" },
                        ],
                    },
                ],
                volumes: [
                    { name: "user", secret: { secretName: "kafka-client", items: [{ key: "sasl.mechanism", path: "sasl.mechanism" }, { key: "sasl.jaas.config", path: "sasl.jaas.config" }] } },
                    { name: "ca", secret: { secretName: "kafka-client", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                ],
            },
        } as unknown as Manifest;
    }

    async function writerLog(name: string): Promise<WriterResult> {
        return producerLog((await cp!.kubectl(["-n", CLIENT_NS, "logs", name])).stdout);
    }

    async function startWriter(name: string, avoid: string[]): Promise<{ name: string; prefix: number }> {
        const prefix = 1 + Math.floor(Math.random() * 1_000_000);
        const outcome = await cp!.applyOne(clientPod(name, WRITER_SCRIPT, [{ name: "PREFIX", value: String(prefix) }], avoid));
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        await waitFor(`${WARMUP_ACKS} acknowledged records by ${name}`, async () => (await writerLog(name)).acked.length >= WARMUP_ACKS, {
            timeoutMs: 180_000,
            intervalMs: 2000,
        }).catch(async (e: Error) => {
            const logs = await cp!.kubectl(["-n", CLIENT_NS, "logs", name, "--tail=10"]);
            throw new Error(`${e.message}\nwriter's last lines:\n${logs.stdout}${logs.stderr}`);
        });
        return { name, prefix };
    }

    async function ackAfter(writer: string, since: number, timeoutMs = 300_000): Promise<number> {
        return waitFor("a refused record after the failure, then an acknowledged one", async () => outages(await writerLog(writer), since)[0]?.end, { timeoutMs, intervalMs: 2000 });
    }

    /** Stops the writer, reads the topic back and compares; prints the figures and asserts no acknowledged record is lost. */
    async function finish(label: string, w: { name: string; prefix: number }, t0: number, before: string, extra: string[]): Promise<void> {
        const c = cp!;
        const after = await settled();
        await new Promise((r) => setTimeout(r, 3000));
        await c.kubectl(["-n", CLIENT_NS, "exec", w.name, "--", "touch", "/tmp/stop"]);
        await waitFor(`writer ${w.name} stopped`, async () => ["Succeeded", "Failed"].includes((await pod(w.name, CLIENT_NS))?.status?.phase), { timeoutMs: 60_000, intervalMs: 1000 });
        const res = await writerLog(w.name);
        const reader = `reader-${w.name}`;
        const outcome = await c.applyOne(clientPod(reader, READER_SCRIPT, [{ name: "GROUP", value: `${GROUP_PREFIX}check-${randomToken(6)}` }], []));
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        const done = await waitFor(`reader ${reader} finished`, async () => {
            const p = await pod(reader, CLIENT_NS);
            return ["Succeeded", "Failed"].includes(p?.status?.phase) ? p : undefined;
        }, { timeoutMs: 180_000, intervalMs: 1000 });
        const read = (await c.kubectl(["-n", CLIENT_NS, "logs", reader])).stdout;
        assert.strictEqual(done.status.phase, "Succeeded", `reader failed:\n${read.slice(-2000)}`);
        assert.match(read, /^reader-done$/m);
        const values = new Set(read.split("\n").filter((l) => l.startsWith(`${w.prefix}.`)).map((l) => Number(l.split(".")[1])));
        const lost = res.acked.filter((a) => !values.has(a.n));
        console.log(
            [
                `      ${label}: active controller before ${before}, after ${after}`,
                ...drillFigures(res, t0, lost.length, "acks=all").map((l) => `        ${l}`),
                `        records of this run read back: ${values.size}`,
                ...extra.map((l) => `        ${l}`),
            ].join("\n"),
        );
        for (const n of [w.name, reader]) await c.deleteObject({ apiVersion: "v1", kind: "Pod", metadata: { name: n, namespace: CLIENT_NS } }, "Background");
        assert.ok(res.acked.some((a) => a.at > t0), "no record was acknowledged after the failure");
        assert.ok(res.acked.filter((a) => a.at <= t0).length >= WARMUP_ACKS, "the writer wrote enough before the failure");
        assert.deepStrictEqual(lost.map((a) => a.n).slice(0, 20), [], `${label}: ${lost.length} records acknowledged with acks=all were lost`);
    }

    async function rolled(fromRevision: string, timeoutMs = 600_000): Promise<number> {
        return waitFor(
            "the StatefulSet rolled: every pod updated and Ready",
            async () => {
                const st = (await cp!.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "kafka", namespace: NS } }))?.status ?? {};
                return st.updateRevision && st.updateRevision !== fromRevision && st.currentRevision === st.updateRevision && st.updatedReplicas === 3 && st.readyReplicas === 3
                    ? Date.now()
                    : undefined;
            },
            { timeoutMs, intervalMs: 2000 },
        );
    }

    before(async function () {
        cp = cluster.cp;
        nodes = cluster.nodes;
        // All of prod, deployed once for the prod suites (tests/helpers/prodStack.ts): this suite drills its Kafka.
        prod = await prodOnNodes(cluster, this);
        // k for the connection's names; the objects (the CA clients trust included) are the deployed ones: TLS
        // keys are new at every render.
        k = await render();
        objects = inNamespaces(prod.objects, [NS]);
        assert.strictEqual(k.replicas, 3);
        assert.ok(k.connection.tls.enabled, "prod renders TLS for Kafka's clients");
    });

    it("3 brokers Ready on 3 nodes in 3 zones because Kafka answers the probes over TLS; the reconcile Job completes", async function () {
        const c = cp!;
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("kafka-reconcile")) as Obj;
        assert.ok(job, "prod's render has the reconcile Job");
        const finished = await c.waitJobFinished(job, 900_000, 2000);
        const leader = await settled();
        const pods = await Promise.all(PODS.map((p) => pod(p)));
        const zones = await Promise.all(
            pods.map(async (p) => (await c.getObject({ apiVersion: "v1", kind: "Node", metadata: { name: p!.spec.nodeName } }))!.metadata.labels["topology.kubernetes.io/zone"]),
        );
        console.log(
            [
                `      3 brokers Ready ${prod.readySeconds.kafka.toFixed(1)} s after prod's apply: ${pods.map((p, i) => `${p!.metadata.name} on ${p!.spec.nodeName} (${zones[i]}, restarts ${p!.status.containerStatuses.map((s: Obj) => s.restartCount).join("/")})`).join(", ")}; active controller ${leader}`,
                `      Job ${job.metadata.name}: ${finished.cond.type} (${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods)`,
            ].join("\n"),
        );
        assert.strictEqual(new Set(pods.map((p) => p!.spec.nodeName)).size, 3, "required anti-affinity: one broker per node");
        assert.strictEqual(new Set(zones).size, 3, "zone spread: one broker per zone");
        assert.strictEqual(finished.cond.type, "Complete", "the reconcile Job failed");

        const user = k.connection.users.find((u) => u.user === USER);
        assert.ok(user, `kafkaConnection has no user ${USER}`);
        const login = secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === user.secretName)!);
        const ca = secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === k.connection.tls.secretName)!)[k.connection.tls.caKey ?? "ca.crt"];
        const co = await c.applyServerSide([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: CLIENT_NS } },
            { apiVersion: "v1", kind: "Secret", metadata: { name: "kafka-client", namespace: CLIENT_NS }, stringData: { "sasl.mechanism": login["sasl.mechanism"], "sasl.jaas.config": login["sasl.jaas.config"], "ca.crt": ca } },
        ] as unknown as Manifest[]);
        assert.deepStrictEqual(co.filter((o) => o.status >= 300).map(describeOutcome), []);
    });

    it("drill a: delete the active controller's pod under the acks=all writer: 0 acknowledged records lost", async function () {
        const c = cp!;
        const done = startClock("drill a: delete the active controller's pod");
        const before = await settled();
        const victim = PODS.includes(before) ? before : "kafka-0";
        const w = await startWriter("writer-a", []);
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pod", victim, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const back = await waitFor(`${victim} recreated and Ready`, async () => {
            const p = await pod(victim);
            return ready(p) && Date.parse(p!.metadata.creationTimestamp) >= t0 - 1000 ? Date.now() : undefined;
        }, { timeoutMs: 420_000, intervalMs: 2000 });
        await finish("drill a (delete the active controller's pod)", w, t0, before, [`deleted ${victim}; back Ready ${((back - t0) / 1000).toFixed(1)} s after the deletion`]);
        done();
    });

    it("drill b: delete every broker pod at once under the acks=all writer: 0 acknowledged records lost", async function () {
        const c = cp!;
        const done = startClock("drill b: delete every broker pod");
        const before = await settled();
        const w = await startWriter("writer-b", []);
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pods", ...PODS, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const recovered = await ackAfter(w.name, t0, 600_000);
        await finish("drill b (delete every broker pod at once)", w, t0, before, [`first acknowledged record after the failure ${((recovered - t0) / 1000).toFixed(1)} s after it`]);
        done();
    });

    it("drill d: a rolling update (heapPercent changed through the render) under the acks=all writer: 0 acknowledged records lost", async function () {
        const c = cp!;
        const done = startClock("drill d: rolling update");
        const before = await settled();
        const from = (await c.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "kafka", namespace: NS } }))!.status.currentRevision;
        heapPercent = 45;
        const next = inNamespaces((await render()).objects, [NS]);
        const old = new Map(objects.map((o) => [key(o), JSON.stringify(o)]));
        // Secrets kept: their TLS keys are new at every render.
        const changed = next.filter((o) => o.kind !== "Secret" && old.get(key(o)) !== JSON.stringify(o));
        assert.ok(changed.some((o) => key(o) === "StatefulSet/kafka"), `the option changes the pods: ${changed.map(key).join(", ")}`);
        assert.ok(!changed.some((o) => o.kind === "PersistentVolumeClaim"), "no claim changes");
        const w = await startWriter("writer-d", []);
        const t0 = Date.now();
        const outcomes = await c.applyServerSide(changed, undefined, { force: true });
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), []);
        objects = next.map((o) => (o.kind === "Secret" ? objects.find((x) => key(x) === key(o))! : o));
        const at = await rolled(from);
        const heaps = await Promise.all(PODS.map((p) => exec(p, "tr '\\0' '\\n' < /proc/1/cmdline | grep '^-Xmx'").then((s) => s.trim())));
        await finish("drill d (rolling update)", w, t0, before, [`applied ${changed.map(key).sort().join(", ")}; rolled in ${((at - t0) / 1000).toFixed(1)} s; heaps now ${heaps.join(", ")}`]);
        done();
        assert.strictEqual(new Set(heaps).size, 1, "every broker runs the new heap");
    });

    it("drill c: a node lost (kubelet and runtime killed) and another broker pod deleted, under the acks=all writer: 0 acknowledged records lost", async function () {
        const c = cp!;
        const done = startClock("drill c: lose a node, delete another broker pod");
        const before = await settled();
        const lostPod = (await pod("kafka-2"))!;
        const lostNode = nodeIndex(lostPod.spec.nodeName);
        const victim = "kafka-1";
        const w = await startWriter("writer-c", [lostPod.spec.nodeName]);
        const t0 = Date.now();
        await nodes!.stopNode(lostNode);
        const del = await c.kubectl(["-n", NS, "delete", "pod", victim, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const recovered = await ackAfter(w.name, t0, 600_000);
        const tStart = Date.now();
        await nodes!.startNode(lostNode);
        // Ready again after the start: the API may not have marked it not Ready yet (the node controller's grace
        // period), so the Ready condition must have changed since the start.
        const back = await waitFor(
            "kafka-2 Ready again on its node",
            async () => {
                const p = await pod("kafka-2");
                const cond = p?.status?.conditions?.find((x: Obj) => x.type === "Ready");
                return ready(p) && Date.parse(cond.lastTransitionTime) >= tStart - 1000 ? Date.now() : undefined;
            },
            { timeoutMs: 420_000, intervalMs: 2000 },
        );
        await finish("drill c (a node lost, another broker pod deleted)", w, t0, before, [
            `node real-node-${lostNode} (kafka-2) killed and ${victim} deleted at once; first acknowledged record ${((recovered - t0) / 1000).toFixed(1)} s later`,
            `node started again: kafka-2 Ready ${((back - tStart) / 1000).toFixed(1)} s after the start`,
        ]);
        done();
    });
});
