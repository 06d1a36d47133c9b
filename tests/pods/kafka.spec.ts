// Real pods: dev's Kafka (namespace messaging), rendered with its secrets and applied server-side to the test
// control plane, runs on real kubelets (three nodes, scripts/nodes.sh) from a test image built here from the
// Maven jars on Debian's Java 17 (tests/pods/IMAGES.md). Each broker/controller pod becomes Ready only because
// Kafka inside answers the render's probes (the startup/liveness TCP checks on the controller port and the
// ready.sh exec probe's SASL login and Metadata request on the loopback PROBE listener), under the render's
// Pod Security context, start script, ConfigMaps, JAAS Secret and claim. The render's reconcile Job creates the
// topic and the application user's SCRAM-SHA-512 credential; a client pod on another node produces and consumes
// through the Service with that user's login from its Secret, and a wrong password is refused. Then the broker
// pod is deleted: it comes back Ready and the messages are still there. Skips locally when the nodes cannot
// start (printed reason); fails in CI.
//
// Test stack override (same topology: dev's one combined broker+controller, SASL, authorizer): a declared topic
// and the orders user's grants on it (dev declares none, and the authorizer denies what is not granted), and a
// 768Mi memory limit instead of 2Gi (heap 50% = 384 MiB instead of 1 GiB): three nodes share the CI machine.

import * as assert from "assert";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { renderKafka, stackConfig, withKafkaUsers, type KafkaRendered } from "../helpers/kafka/rendered";
import { realCluster } from "../helpers/nodes";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(600);

const NODES = 3;
const TOPIC = "orders.events";
const USER = "orders";
const GROUP_PREFIX = "orders-";
const MESSAGES = 500;

function isReady(p: Obj | undefined): boolean {
    return !!p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True");
}

/**
 * The client an application would be, in the Kafka image (its console tools), on another node than the broker.
 * The user's login comes from its Secret as a mounted file and goes into a properties file in /tmp: never on a
 * command line, in the environment or in the log. It prints only counts and outcomes.
 */
function clientPod(k: KafkaRendered, name: string, opts: { produce: number; read: number; group: string; run: string; avoidNode: string }): Manifest {
    const conn = k.connection;
    const user = conn.users.find((u) => u.user === USER);
    assert.ok(user, `the render's kafkaConnection output has no user ${USER}`);
    const tls = conn.tls.enabled;
    const script = [
        "set -uo pipefail",
        "umask 077",
        "p=/tmp/client.properties",
        "{",
        `  echo "security.protocol=${conn.securityProtocol}"`,
        '  echo "sasl.mechanism=$(cat /etc/kafka/user/sasl.mechanism)"',
        "  printf 'sasl.jaas.config=%s\\n' \"$(cat /etc/kafka/user/sasl.jaas.config)\"",
        ...(tls ? ['  echo "ssl.truststore.type=PEM"', '  echo "ssl.truststore.location=/etc/kafka/ca/ca.crt"'] : []),
        '} > "$p"',
        `b=${conn.bootstrapServers}`,
        `t=${TOPIC}`,
        "bin=/opt/kafka/bin",
        `if [ ${opts.produce} -gt 0 ]; then`,
        `  seq 1 ${opts.produce} | sed 's/^/${opts.run}-/' | "$bin/kafka-console-producer.sh" --bootstrap-server "$b" --topic "$t" --producer.config "$p" ` +
            "--producer-property acks=all --producer-property enable.idempotence=true 2>/tmp/produce.err",
        '  echo "produce-exit: $?"',
        '  echo "produce-errors: $(grep -c ERROR /tmp/produce.err)"',
        '  grep ERROR /tmp/produce.err | head -n 3',
        "fi",
        // Stops after the messages expected, or 30 s without one.
        `"$bin/kafka-console-consumer.sh" --bootstrap-server "$b" --topic "$t" --consumer.config "$p" --group "${opts.group}" ` +
            `--from-beginning --max-messages ${opts.read} --timeout-ms 30000 >/tmp/read 2>/tmp/consume.err`,
        `echo "read: $(grep -c '^${opts.run}-' /tmp/read)"`,
        `echo "distinct: $(grep '^${opts.run}-' /tmp/read | sort -u | wc -l)"`,
        "grep -v -e TimeoutException -e 'Processed a total' /tmp/consume.err | grep ERROR | head -n 3",
        // The same login with a random wrong password (first run only): the broker must refuse it.
        `[ ${opts.produce} -gt 0 ] || exit 0`,
        "wrong=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \\n')",
        "sed \"s/password=\\\"[^\\\"]*\\\"/password=\\\"$wrong\\\"/\" \"$p\" > /tmp/wrong.properties",
        `"$bin/kafka-console-consumer.sh" --bootstrap-server "$b" --topic "$t" --consumer.config /tmp/wrong.properties --group "${opts.group}-wrong" ` +
            "--from-beginning --timeout-ms 20000 >/tmp/wrong.read 2>/tmp/wrong.err",
        'echo "wrong-exit: $? read: $(wc -l < /tmp/wrong.read)"',
        "echo \"wrong: $(grep -o 'Authentication failed[^:]*' /tmp/wrong.err | head -n 1)\"",
    ].join("\n");
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: k.namespace },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: [opts.avoidNode] }] }],
                    },
                },
            },
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image: k.container.image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["/bin/bash", "-c", script],
                    // Small client JVMs that start fast (as the render's reconcile Job runs its tools).
                    env: [
                        { name: "KAFKA_HEAP_OPTS", value: "-Xms32m -Xmx128m" },
                        { name: "KAFKA_JVM_PERFORMANCE_OPTS", value: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true" },
                    ],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "50m", memory: "192Mi" }, limits: { memory: "384Mi" } },
                    volumeMounts: [
                        { name: "user", mountPath: "/etc/kafka/user", readOnly: true },
                        { name: "tmp", mountPath: "/tmp" },
                        ...(tls ? [{ name: "ca", mountPath: "/etc/kafka/ca", readOnly: true }] : []),
                    ],
                },
            ],
            volumes: [
                { name: "user", secret: { secretName: user!.secretName, defaultMode: 0o440 } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                ...(tls ? [{ name: "ca", secret: { secretName: conn.tls.secretName, items: [{ key: conn.tls.caKey ?? "ca.crt", path: "ca.crt" }] } }] : []),
            ],
        },
    } as Manifest;
}

describe("real pods: dev's Kafka on real kubelets (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES);
    let cp: ControlPlane | undefined;
    let k: KafkaRendered;
    let objects: Manifest[] = [];
    const run = randomToken(8);
    const brokerNodes = new Map<string, string>();

    before(async function () {
        const config = withKafkaUsers(stackConfig("dev"), [{ name: USER, topics: [{ name: TOPIC, access: ["read", "write"] }], groups: [GROUP_PREFIX] }], {
            topics: [{ name: TOPIC, partitions: 3 }],
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "768Mi" } },
        });
        // A fresh random seed per run: the passwords are never stored or printed.
        k = await renderKafka("dev", config, randomToken(32));
        objects = k.objects.filter((o) => o.metadata.namespace === k.namespace || (o.kind === "Namespace" && o.metadata.name === k.namespace));
        cp = cluster.cp;
    });

    /** Waits for pod `name` Ready (and, with `notUid`, a new incarnation); explains a timeout with events and logs. */
    async function waitReady(name: string, timeoutMs: number, notUid?: string): Promise<Obj> {
        const c = cp!;
        try {
            return await waitFor(
                `pod ${k.namespace}/${name} Ready`,
                async () => {
                    const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: k.namespace } });
                    return isReady(p) && p!.metadata.uid !== notUid ? p : undefined;
                },
                { timeoutMs, intervalMs: 1000 },
            );
        } catch (e) {
            const d = await c.kubectl(["-n", k.namespace, "describe", "pod", name]);
            const log = await c.kubectl(["-n", k.namespace, "logs", name, "-c", "kafka", "--tail=15"]);
            throw new Error(`${(e as Error).message}\n${d.stdout.split("\n").slice(-15).join("\n")}\nlast log lines:\n${log.stdout}${log.stderr}`);
        }
    }

    /** Runs a client pod to its end; returns its log lines as a map (key: value) and the pod. */
    async function runClient(name: string, produce: number, group: string): Promise<{ out: Map<string, string>; log: string; pod: Obj; seconds: number }> {
        const c = cp!;
        const avoid = brokerNodes.get("kafka-0");
        assert.ok(avoid, "the broker's node is not known (the first test failed)");
        const outcome = await c.applyOne(clientPod(k, name, { produce, read: MESSAGES, group, run, avoidNode: avoid! }));
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        const t0 = Date.now();
        const pod = await waitFor(
            `pod ${k.namespace}/${name} finished`,
            async () => {
                const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: k.namespace } });
                return p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed" ? p : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 1000 },
        );
        const logs = await c.kubectl(["-n", k.namespace, "logs", name]);
        const out = new Map<string, string>();
        for (const line of logs.stdout.split("\n")) {
            const m = /^([a-z-]+): ?(.*)$/.exec(line);
            if (m && !out.has(m[1])) out.set(m[1], m[2]);
        }
        assert.notStrictEqual(pod.spec.nodeName, avoid, "the client must run on another node than the broker");
        assert.strictEqual(pod.status.phase, "Succeeded", `client pod ${name} failed: ${logs.stdout}${logs.stderr}`);
        return { out, log: logs.stdout, pod, seconds: (Date.now() - t0) / 1000 };
    }

    it("every broker/controller pod is Running and Ready because Kafka answers the render's probes", async function () {
        const c = cp!;
        const done = startClock("dev's Kafka applied until Ready");
        const t0 = Date.now();
        const outcomes = await c.applyServerSide(objects);
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused part of dev's Kafka render");
        for (let i = 0; i < k.replicas; i++) {
            const name = `kafka-${i}`;
            const pod = await waitReady(name, 420_000);
            const status = pod.status.containerStatuses.find((s: Obj) => s.name === "kafka");
            console.log(
                `      ${name} Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the apply, on ${pod.spec.nodeName}, pod IP ${pod.status.podIP}, ` +
                    `image ${status.image}, restarts ${status.restartCount}`,
            );
            assert.match(pod.spec.nodeName, /^real-node-\d$/, "the pod must run on a real node (there is no KWOK node)");
            assert.ok(status.ready && status.state.running, `container not running and ready: ${JSON.stringify(status.state)}`);
            assert.strictEqual(status.restartCount, 0, "Kafka restarted: it crashed or failed its liveness probe");
            assert.match(status.containerID, /^containerd:\/\//, "the container must be run by containerd, not faked");
            brokerNodes.set(name, pod.spec.nodeName);
            // The server's own view: the JVM as the render's user, with the render's heap, and ready.sh's verdict.
            const info = await c.kubectl([
                "-n", k.namespace, "exec", name, "-c", "kafka", "--",
                "bash", "-c", "id -u; tr '\\0' '\\n' < /proc/1/cmdline | grep -E '^-Xmx|^kafka.Kafka$|server.properties$'; grep VmRSS /proc/1/status; bash /mnt/kafka-config/ready.sh",
            ]);
            assert.strictEqual(info.code, 0, `exec into ${name}: ${describeRun(info)}`);
            console.log(`      inside ${name}: ${info.stdout.trim().split("\n").join(" | ")}`);
            assert.match(info.stdout, /^1000\n/, "Kafka must run as the render's runAsUser 1000");
            assert.match(info.stdout, /^kafka\.Kafka$/m, "PID 1 must be the Kafka JVM (start.sh execs it)");
            assert.match(info.stdout, /^\/opt\/kafka\/runtime\/server\.properties$/m, "Kafka must run with the properties start.sh wrote");
            assert.match(info.stdout, /^ready: running, in the ISR of all \d+ partitions/m);
        }
        done();
    });

    it("the render's reconcile Job completes: the topic and the SCRAM-SHA-512 user exist", async function () {
        const c = cp!;
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("kafka-reconcile")) as Obj;
        assert.ok(job, "dev's render has no kafka-reconcile Job");
        const done = startClock("Kafka reconcile Job");
        const t0 = Date.now();
        const finished = await c.waitJobFinished(job, 600_000, 2000);
        const pods = await c.list("v1", "Pod", k.namespace, `batch.kubernetes.io/job-name=${job.metadata.name}`);
        const decisive = pods.find((p: Obj) => p.status?.phase === (finished.cond.type === "Complete" ? "Succeeded" : "Failed")) ?? pods[0];
        const logs = await c.kubectl(["-n", k.namespace, "logs", decisive?.metadata?.name ?? `job/${job.metadata.name}`, "--tail=30"]);
        done();
        console.log(
            `      Job ${job.metadata.name}: ${finished.cond.type} after ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
                `(${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods)`,
        );
        for (const line of logs.stdout.trim().split("\n").filter((l) => l.startsWith("reconcile: "))) {
            console.log(`        ${line}`);
        }
        assert.strictEqual(finished.cond.type, "Complete", `the reconcile Job failed:\n${logs.stdout}${logs.stderr}`);
        // What the decisive run did or found done: a retried run finds the user and topic made by the failed one.
        assert.match(logs.stdout, new RegExp(`created SCRAM-SHA-512 user ${USER}|set the SCRAM-SHA-512 credentials of.* ${USER}`));
        assert.match(logs.stdout, /reconcile: done: changes=\d+ problems=0/);
        // Not asserted: applied together with the StatefulSet, the Job's first pods may start before the broker
        // is Ready (the Service has no endpoint yet) and fail; the Job's retries complete it. Counts printed above.
    });

    it("a client pod on another node produces and consumes through the Service as the SCRAM-SHA-512 user; a wrong password is refused", async function () {
        const done = startClock("client pod: produce, consume, wrong password");
        const r = await runClient("kafka-client", MESSAGES, `${GROUP_PREFIX}pods-${run}-1`);
        done();
        const o = r.out;
        console.log(
            `      client on ${r.pod.spec.nodeName} (broker on ${brokerNodes.get("kafka-0")}) through ${k.connection.bootstrapServers} ` +
                `(${k.connection.securityProtocol}${k.connection.tls.enabled ? ", TLS" : ""}), ${r.seconds.toFixed(1)} s: ` +
                `written ${MESSAGES} (acks=all), read ${o.get("read")} (${o.get("distinct")} distinct); wrong password: exit ${o.get("wrong-exit")}, "${o.get("wrong")}"`,
        );
        assert.strictEqual(o.get("produce-exit"), "0", `the producer failed:\n${r.log}`);
        assert.strictEqual(o.get("produce-errors"), "0", `the producer logged errors:\n${r.log}`);
        assert.strictEqual(o.get("read"), String(MESSAGES), `every message written must be read once:\n${r.log}`);
        assert.strictEqual(o.get("distinct"), String(MESSAGES));
        assert.match(o.get("wrong") ?? "", /^Authentication failed/, `a wrong password must be refused by the broker:\n${r.log}`);
        // (kafka-console-consumer 3.8 logs the SaslAuthenticationException and exits 0: the count is what tells.)
        assert.match(o.get("wrong-exit") ?? "", / read: 0$/, "the consumer with a wrong password must read nothing");
    });

    it("the broker pod deleted: a new one becomes Ready on its claim and every message is still consumable", async function () {
        const c = cp!;
        const name = "kafka-0";
        const before = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: k.namespace } });
        assert.ok(isReady(before), `${name} is not Ready before the drill`);
        const oldId = before!.status.containerStatuses.find((s: Obj) => s.name === "kafka").containerID;
        const done = startClock("broker pod deleted until Ready and consumed again");
        const t0 = Date.now();
        const del = await c.deleteObject(before!, "Background");
        assert.ok(del.status < 300, `DELETE pod ${name}: HTTP ${del.status}`);
        const pod = await waitReady(name, 420_000, before!.metadata.uid);
        const readySeconds = (Date.now() - t0) / 1000;
        const status = pod.status.containerStatuses.find((s: Obj) => s.name === "kafka");
        assert.notStrictEqual(status.containerID, oldId, "a new container must run");
        assert.strictEqual(status.restartCount, 0, "the new Kafka container restarted");
        brokerNodes.set(name, pod.spec.nodeName);
        const r = await runClient("kafka-client-after", 0, `${GROUP_PREFIX}pods-${run}-2`);
        done();
        console.log(
            `      ${name} deleted on ${before!.spec.nodeName}: new pod Ready after ${readySeconds.toFixed(1)} s on ${pod.spec.nodeName}; ` +
                `read ${r.out.get("read")} of the ${MESSAGES} written before (${r.out.get("distinct")} distinct) in ${r.seconds.toFixed(1)} s`,
        );
        assert.strictEqual(r.out.get("read"), String(MESSAGES), `every message written before the deletion must be read:\n${r.log}`);
        assert.strictEqual(r.out.get("distinct"), String(MESSAGES));
    });
});
