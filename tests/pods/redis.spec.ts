// Real pods: dev's Redis, rendered with its secrets and applied server-side to the test control plane, runs
// on real kubelets (three nodes, scripts/nodes.sh: containerd, runc, CNI bridge, kube-proxy, cluster DNS) from a test image
// built here from Debian's redis-server (tests/pods/IMAGES.md). The pod becomes Ready only because
// redis-server inside answers the render's exec probes, under the render's Pod Security context (restricted:
// non-root 999, read-only root, fsGroup, dropped capabilities), its ConfigMap and ACL Secret mounts and its
// claim. A client pod on another node then writes and reads through the Service's DNS name and ClusterIP
// as an application does. Skips locally when the nodes cannot start (printed reason); fails in CI.

import * as assert from "assert";
import { REDIS_CREDENTIALS_PATHS } from "../../components/redis/files";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { realCluster } from "../helpers/nodes";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(300);

const NS = "cache";
const NODES = 3;

/** A pod the namespace's Pod Security (restricted) admits: the client that an application would be. */
function clientPod(name: string, image: string, script: string, avoidNode: string): Manifest {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            // On another node than the server: the path crosses the nodes' routes, not one bridge.
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: [avoidNode] }] }],
                    },
                },
            },
            securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["sh", "-c", script],
                    env: [
                        { name: "REDIS_USER", valueFrom: { secretKeyRef: { name: "redis-user-sessions", key: "username" } } },
                        // redis-cli reads the password from REDISCLI_AUTH: never on a command line.
                        { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "redis-user-sessions", key: "password" } } },
                    ],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                },
            ],
        },
    } as Manifest;
}

describe("real pods: dev's Redis on real kubelets (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES);
    let cp: ControlPlane | undefined;
    let objects: Manifest[] = [];
    let image = "";
    let redisNode = "";

    before(async function () {
        cp = cluster.cp;
        // A fresh random seed per run: the passwords are never stored or printed.
        objects = (await renderStack("dev", { withSecrets: true, seed: randomToken(32) })).objects.filter(
            (o) => o.metadata.namespace === NS || (o.kind === "Namespace" && o.metadata.name === NS),
        );
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Obj;
        assert.ok(sts, "dev's render has no StatefulSet cache/redis");
        image = sts.spec.template.spec.containers[0].image;
    });

    it("the Redis pod is Running and Ready because redis-server answers the render's probes", async function () {
        const c = cp!;
        const done = startClock("dev's Redis applied until Ready");
        const outcomes = await c.applyServerSide(objects);
        const refused = outcomes.filter((o) => o.status >= 300);
        assert.deepStrictEqual(refused.map(describeOutcome), [], "the server refused part of dev's Redis render");
        const t0 = Date.now();
        let pod: Obj;
        try {
            pod = await waitFor(
                "pod cache/redis-0 Ready",
                async () => {
                    const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "redis-0", namespace: NS } });
                    return p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") ? p : undefined;
                },
                { timeoutMs: 180_000, intervalMs: 1000 },
            );
        } catch (e) {
            // The events say what the kubelet saw; the last run's log says why the server stopped.
            const d = await c.kubectl(["-n", NS, "describe", "pod", "redis-0"]);
            const prev = await c.kubectl(["-n", NS, "logs", "redis-0", "-c", "redis", "--previous", "--tail=5"]);
            throw new Error(`${(e as Error).message}\n${d.stdout.split("\n").slice(-12).join("\n")}\nlast log lines:\n${prev.stdout}${prev.stderr}`);
        }
        done();
        const status = pod.status.containerStatuses[0];
        console.log(
            `      redis-0 Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s on ${pod.spec.nodeName}, pod IP ${pod.status.podIP}, ` +
                `image ${status.image}, restarts ${status.restartCount}`,
        );
        assert.match(pod.spec.nodeName, /^real-node-\d$/, "the pod must run on a real node (there is no KWOK node)");
        redisNode = pod.spec.nodeName;
        assert.ok(status.ready && status.state.running, `container not running and ready: ${JSON.stringify(status.state)}`);
        assert.strictEqual(status.restartCount, 0, "redis-server restarted: it crashed or failed its liveness probe");
        assert.match(status.containerID, /^containerd:\/\//, "the container must be run by containerd, not faked");
        // The server's own view: really redis-server, as the render's user, with the render's configuration.
        const info = await c.kubectl(["-n", NS, "exec", "redis-0", "-c", "redis", "--", "sh", "-c", `id -u; REDISCLI_AUTH="$(cat ${REDIS_CREDENTIALS_PATHS.passwordFile})" redis-cli -h 127.0.0.1 info server | grep -E '^(redis_version|config_file):'`]);
        assert.strictEqual(info.code, 0, `exec into redis-0: ${describeRun(info)}`);
        console.log(`      inside redis-0: uid ${info.stdout.trim().split(/\s+/).join(" ")}`);
        assert.match(info.stdout, /^999\n/, "redis-server must run as the render's runAsUser 999");
        assert.match(info.stdout, /config_file:\/etc\/redis\/redis\.conf/);
    });

    it("the render's ACL reconcile Job completes: busybox sh, awk and redis-cli reach redis-0 by its headless DNS name", async function () {
        const c = cp!;
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("redis-acl-reconcile")) as Obj;
        if (!job) {
            this.skip(); // a render without the Job (none before the live ACL change landed)
        }
        const done = startClock("ACL reconcile Job");
        const t0 = Date.now();
        const finished = await c.waitJobFinished(job, 180_000);
        // The log of the pod that decided the outcome (kubectl logs job/... may pick a failed earlier one).
        const pods = await c.list("v1", "Pod", NS, `batch.kubernetes.io/job-name=${job.metadata.name}`);
        const decisive = pods.find((p: Obj) => p.status?.phase === (finished.cond.type === "Complete" ? "Succeeded" : "Failed")) ?? pods[0];
        const logs = await c.kubectl(["-n", NS, "logs", decisive?.metadata?.name ?? `job/${job.metadata.name}`, "--tail=20"]);
        done();
        console.log(
            `      Job ${job.metadata.name}: ${finished.cond.type} after ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
                `(${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods); last line: ` +
                `${logs.stdout.trim().split("\n").pop()}`,
        );
        assert.strictEqual(finished.cond.type, "Complete", `the ACL Job failed:\n${logs.stdout}${logs.stderr}`);
        // Not asserted: applied together with the StatefulSet, the Job's first pod may start before redis-0
        // has a DNS record (the headless Service publishes ready pods only) and fail once; the Job's retry
        // completes it. The count is printed above.
    });

    it("a client pod writes and reads through the Service (cluster DNS and ClusterIP) with the sessions user", async function () {
        const c = cp!;
        const done = startClock("client pod through the Service");
        const svc = await c.getObject({ apiVersion: "v1", kind: "Service", metadata: { name: "redis", namespace: NS } });
        assert.ok(svc?.spec?.clusterIP, "Service cache/redis has no ClusterIP");
        const value = randomToken(24);
        const host = `redis.${NS}.svc.cluster.local`;
        // Written then read through the Service name; a second GET straight to the ClusterIP proves kube-proxy's rules.
        const script =
            `set -e; ` +
            `redis-cli -h ${host} -p 6379 --user "$REDIS_USER" --no-auth-warning SET session:real-pod ${value} >/dev/null; ` +
            `echo "name: $(redis-cli -h ${host} -p 6379 --user "$REDIS_USER" --no-auth-warning GET session:real-pod)"; ` +
            `echo "ip: $(redis-cli -h ${svc.spec.clusterIP} -p 6379 --user "$REDIS_USER" --no-auth-warning GET session:real-pod)"; ` +
            `echo "denied: $(redis-cli -h ${host} -p 6379 --user "$REDIS_USER" --no-auth-warning GET other:key 2>&1)"`;
        assert.ok(redisNode, "the first test did not find the Redis pod's node");
        const outcome = await c.applyOne(clientPod("redis-client", image, script, redisNode));
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        const t0 = Date.now();
        const pod = await waitFor(
            "pod cache/redis-client finished",
            async () => {
                const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "redis-client", namespace: NS } });
                return p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed" ? p : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
        const logs = await c.kubectl(["-n", NS, "logs", "redis-client"]);
        done();
        console.log(
            `      client pod ${pod.status.phase} on ${pod.spec.nodeName} (Redis on ${redisNode}) after ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
                `Service ${host} = ${svc.spec.clusterIP}`,
        );
        assert.notStrictEqual(pod.spec.nodeName, redisNode, "the client must run on another node than the server");
        assert.strictEqual(pod.status.phase, "Succeeded", `client pod failed: ${logs.stdout}${logs.stderr}`);
        const lines = logs.stdout.trim().split("\n");
        assert.strictEqual(lines[0], `name: ${value}`, "GET through the Service's DNS name");
        assert.strictEqual(lines[1], `ip: ${value}`, "GET through the Service's ClusterIP");
        // The ACL is real too: the sessions user may only touch session:*.
        assert.match(lines[2] ?? "", /NOPERM/, `a key outside session:* must be refused: ${lines[2]}`);
    });
});
