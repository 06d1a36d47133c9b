// Real pods: prod's Redis (3 pods, a Sentinel in each, TLS, ACL users, required anti-affinity, zone spread,
// NetworkPolicies, enforced) as part of all of prod, deployed once by `pulumi up` for the prod suites to three real nodes
// (scripts/nodes.sh, tests/helpers/prodStack.ts), then the failure drills of issue 22 under a writer that runs in a client pod as an
// application does: it asks the Sentinels for the primary over TLS, writes as the `sessions` user and counts a
// write as acknowledged only when WAIT 1 says a replica has it. Each drill prints written / acknowledged /
// lost, the time to recover and the primary before and after, and fails if one acknowledged write is lost.
//
// The writer is redis-cli in busybox sh (the test image): one process per SET + WAIT on one connection, so a
// few dozen writes per second; `kubectl logs --timestamps` gives each reply's time. Test overrides of the
// prod stack file: tests/helpers/prodStack.ts (none for Redis beyond the exporters off and the nodes' resolver).
// Sizes are prod's: the nodes report this machine's memory, and requests are not reserved memory.

import * as assert from "assert";
import { type Manifest } from "../../scripts/lib/mockRuntime";
import { secretData } from "../../scripts/lib/rendered";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { Nodes, realCluster } from "../helpers/nodes";
import { inNamespaces, prodOnNodes, renderProdNamespace, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";
import { drillFigures, outages, parseWriterLog } from "../helpers/writerLog";

registerRealServerSummary(600);

const NS = "cache";
/** A namespace prod's allow-clients NetworkPolicy lets reach Redis (Pulumi.prod.yaml, allowedNamespaces). */
const CLIENT_NS = "order-service";
const NODES = 3;
const PODS = ["redis-0", "redis-1", "redis-2"];
const SELECTOR = "app.kubernetes.io/name=redis,app.kubernetes.io/instance=redis";
/** Acknowledged writes before a drill's failure: enough to lose some if replication lagged. */
const WARMUP_ACKS = 20;
/** A deleted pod's containers have all exited by then (the grace period is 30 s). */
const SHUTDOWN_BOUND_MS = 15_000;


/** The writer: what an application does with Sentinel, in busybox sh and redis-cli. */
const WRITER_SCRIPT = `
cli() { timeout 5 redis-cli --tls --cacert /etc/client/ca.crt "$@" 2>&1; }
sentinels="${PODS.map((p) => `${p}.redis-headless.${NS}.svc.cluster.local`).join(" ")}"
primary=""
n=0
while [ ! -e /work/stop ]; do
    if [ -z "$primary" ]; then
        for s in $sentinels; do
            a="$(REDISCLI_AUTH="$SENTINEL_PASSWORD" cli -h "$s" -p 26379 --raw SENTINEL get-master-addr-by-name redis | head -n 1)"
            case "$a" in *.svc.cluster.local) primary="$a"; echo "primary \${a%%.*}"; break ;; esac
        done
        if [ -z "$primary" ]; then echo "noprimary"; sleep 0.2; continue; fi
    fi
    out="$(printf 'SET session:%s-%s %s\\nWAIT 1 1000\\n' "$RUN" "$n" "$n" | REDISCLI_AUTH="$REDIS_PASSWORD" cli -h "$primary" -p 6379 --user "$REDIS_USER" --raw | tr '\\n' ' ')"
    case "$out" in
        "OK "[0-9]*) set -- $out; echo "ok $n \${primary%%.*} $2"; n=$((n + 1)) ;;
        *) echo "err $n \${primary%%.*} $out"; primary=""; sleep 0.2 ;;
    esac
done
echo "stopped $n"
`;

describe("real pods: prod's Redis with Sentinel on real kubelets, and its failure drills (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let nodes: Nodes | undefined;
    let prod: ProdDeployment;
    let objects: Manifest[] = [];
    let image = "";

    const pod = (name: string, ns = NS): Promise<Obj | undefined> => cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns } });
    const ready = (p: Obj | undefined): boolean => !!p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") && !p?.metadata?.deletionTimestamp;
    const nodeIndex = (nodeName: string): number => Number(/^real-node-(\d)$/.exec(nodeName)?.[1] ?? NaN);

    /** A command in a container of a Redis pod; the cli below reads the container's mounted password file. */
    async function exec(podName: string, container: "redis" | "sentinel", script: string): Promise<string> {
        const r = await cp!.kubectl(["-n", NS, "exec", podName, "-c", container, "--", "sh", "-c", script], { timeoutMs: 30_000 });
        if (r.code !== 0) throw new Error(`exec in ${podName}/${container}: ${describeRun(r)}`);
        return r.stdout;
    }
    // The admin password (Redis) or the Sentinel password, from the Secret file the container mounts (as its probes read it).
    const cli = (port: number, args: string) =>
        `REDISCLI_AUTH="$(cat ${port === 26379 ? "/etc/redis/sentinel-password/password" : "/etc/redis/credentials/password"})" redis-cli --tls --cacert /etc/redis/tls/ca.crt -h localhost -p ${port} --raw ${args}`;

    /** The primary the Sentinels name (asked in a Ready pod's Sentinel), confirmed by its ROLE. */
    async function primary(except: string[] = []): Promise<string> {
        return waitFor(
            "a primary named by a Sentinel and confirmed by ROLE",
            async () => {
                for (const name of PODS.filter((p) => !except.includes(p))) {
                    if (!ready(await pod(name))) continue;
                    const addr = (await exec(name, "sentinel", cli(26379, "SENTINEL get-master-addr-by-name redis")).catch(() => "")).split("\n")[0];
                    const p = addr.split(".")[0];
                    if (!PODS.includes(p) || except.includes(p)) continue;
                    const role = await exec(p, "redis", cli(6379, "ROLE")).catch(() => "");
                    if (role.startsWith("master\n")) return p;
                }
                return undefined;
            },
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
    }

    /** Every pod Ready, a primary with both replicas linked: the state each drill starts from and returns to. */
    async function settled(timeoutMs = 180_000): Promise<string> {
        return waitFor(
            "3 Ready pods and a primary with 2 linked replicas",
            async () => {
                for (const p of PODS) if (!ready(await pod(p))) return undefined;
                const pr = await primary();
                const info = await exec(pr, "redis", cli(6379, "INFO replication"));
                return /connected_slaves:2/.test(info) && (info.match(/state=online/g) ?? []).length === 2 ? pr : undefined;
            },
            { timeoutMs, intervalMs: 2000 },
        );
    }

    async function roleOf(p: string): Promise<string> {
        return (await exec(p, "redis", cli(6379, "ROLE"))).split("\n")[0];
    }

    /** A writer pod in the client namespace, on a node other than `avoid`; resolves once it has WARMUP_ACKS acknowledged writes. */
    async function startWriter(name: string, avoid: string[]): Promise<{ name: string; run: string }> {
        const run = randomToken(8);
        const m = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: CLIENT_NS, labels: { app: "redis-writer" } },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                terminationGracePeriodSeconds: 1,
                affinity: avoid.length
                    ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: avoid }] }] } } }
                    : undefined,
                securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "writer",
                        image,
                        imagePullPolicy: "IfNotPresent",
                        command: ["sh", "-c", WRITER_SCRIPT],
                        env: [
                            { name: "RUN", value: run },
                            { name: "REDIS_USER", valueFrom: { secretKeyRef: { name: "redis-client", key: "username" } } },
                            // Passwords reach redis-cli through REDISCLI_AUTH, never a command line.
                            { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-client", key: "password" } } },
                            { name: "SENTINEL_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-client", key: "sentinel-password" } } },
                        ],
                        volumeMounts: [
                            { name: "client", mountPath: "/etc/client", readOnly: true },
                            { name: "work", mountPath: "/work" },
                        ],
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                    },
                ],
                volumes: [
                    { name: "client", secret: { secretName: "redis-client", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    { name: "work", emptyDir: {} },
                ],
            },
        } as unknown as Manifest;
        const outcome = await cp!.applyOne(m);
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        await waitFor(
            `${WARMUP_ACKS} acknowledged writes by ${name}`,
            async () => parseWriterLog((await cp!.kubectl(["-n", CLIENT_NS, "logs", "--timestamps", name])).stdout).acked.length >= WARMUP_ACKS,
            { timeoutMs: 120_000, intervalMs: 1000 },
        ).catch(async (e: Error) => {
            const logs = await cp!.kubectl(["-n", CLIENT_NS, "logs", name, "--tail=10"]);
            throw new Error(`${e.message}\nwriter's last lines:\n${logs.stdout}${logs.stderr}`);
        });
        return { name, run };
    }

    /** Waits until the writer, after `since`, failed and then had a write acknowledged again; resolves with that time. */
    async function ackAfter(writer: string, since: number, timeoutMs = 180_000): Promise<number> {
        return waitFor(
            `a failed write after the failure, then an acknowledged one (SET + WAIT 1)`,
            async () => outages(parseWriterLog((await cp!.kubectl(["-n", CLIENT_NS, "logs", "--timestamps", writer])).stdout), since)[0]?.end,
            { timeoutMs, intervalMs: 1000 },
        );
    }

    /**
     * Stops the writer after a few more acknowledged writes, then compares its acknowledged keys with the
     * primary's keys; prints the figures and asserts that none is lost.
     */
    async function finish(
        label: string,
        w: { name: string; run: string },
        t0: number,
        before: string,
        extra: string[] | ((after: string) => string[] | Promise<string[]>),
    ): Promise<void> {
        const c = cp!;
        const after = await settled();
        // A few seconds of writes on the recovered set: they are checked too.
        await new Promise((r) => setTimeout(r, 3000));
        await c.kubectl(["-n", CLIENT_NS, "exec", w.name, "--", "touch", "/work/stop"]);
        await waitFor(`writer ${w.name} stopped`, async () => ["Succeeded", "Failed"].includes((await pod(w.name, CLIENT_NS))?.status?.phase), { timeoutMs: 30_000, intervalMs: 500 });
        const res = parseWriterLog((await c.kubectl(["-n", CLIENT_NS, "logs", "--timestamps", w.name])).stdout);
        const keys = new Set((await exec(after, "redis", cli(6379, `KEYS 'session:${w.run}-*'`))).split("\n").filter(Boolean));
        const lost = res.acked.filter((a) => !keys.has(`session:${w.run}-${a.n}`));
        const firstAck = res.acked.find((a) => a.at > t0);
        const ackedBefore = res.acked.filter((a) => a.at <= t0).length;
        console.log(
            [
                `      ${label}: primary before ${before}, after ${after}`,
                ...drillFigures(res, t0, lost.length, "SET + WAIT 1").map((l) => `        ${l}`),
                ...(typeof extra === "function" ? await extra(after) : extra).map((l) => `        ${l}`),
            ].join("\n"),
        );
        await c.deleteObject({ apiVersion: "v1", kind: "Pod", metadata: { name: w.name, namespace: CLIENT_NS } }, "Background");
        assert.ok(firstAck, "no write was acknowledged after the failure");
        assert.ok(ackedBefore >= WARMUP_ACKS, `the writer wrote enough before the failure: ${ackedBefore}`);
        assert.deepStrictEqual(lost.map((a) => `session:${w.run}-${a.n}`), [], `${label}: writes acknowledged by WAIT 1 were lost`);
    }

    before(async function () {
        cp = cluster.cp;
        nodes = cluster.nodes;
        // All of prod, deployed once for the prod suites (tests/helpers/prodStack.ts): this suite drills its Redis.
        prod = await prodOnNodes(cluster, this);
        objects = inNamespaces(prod.objects, [NS]);
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Obj;
        assert.ok(sts, "prod's render has no StatefulSet cache/redis");
        assert.strictEqual(sts.spec.replicas, 3);
        image = sts.spec.template.spec.containers[0].image;
    });

    it("the 3 pods are Ready on 3 nodes in 3 zones because redis-server and Sentinel answer the probes; the ACL Job completes", async function () {
        const c = cp!;
        try {
            await waitFor(
                "pods cache/redis-0..2 Ready",
                async () => {
                    for (const p of PODS) if (!ready(await pod(p))) return undefined;
                    return true;
                },
                { timeoutMs: 300_000, intervalMs: 1000 },
            );
        } catch (e) {
            const d = await c.kubectl(["-n", NS, "get", "pods", "-o", "wide"]);
            const ev = await c.kubectl(["-n", NS, "get", "events", "--sort-by=.lastTimestamp"]);
            throw new Error(`${(e as Error).message}\n${d.stdout}\n${ev.stdout.split("\n").slice(-15).join("\n")}`);
        }
        const readyS = prod.readySeconds.redis;
        const pods = await Promise.all(PODS.map((p) => pod(p)));
        const zones = await Promise.all(pods.map(async (p) => (await c.getObject({ apiVersion: "v1", kind: "Node", metadata: { name: p!.spec.nodeName } }))!.metadata.labels["topology.kubernetes.io/zone"]));
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("redis-acl-reconcile")) as Obj;
        assert.ok(job, "prod's render has the ACL reconcile Job");
        const finished = await c.waitJobFinished(job, 180_000);
        const roles = await Promise.all(PODS.map(roleOf));
        console.log(
            [
                `      all 3 pods Ready ${readyS.toFixed(1)} s after the apply: ${pods.map((p, i) => `${p!.metadata.name} on ${p!.spec.nodeName} (${zones[i]}, ${roles[i]}, restarts ${p!.status.containerStatuses.map((s: Obj) => s.restartCount).join("/")})`).join(", ")}`,
                `      Job ${job.metadata.name}: ${finished.cond.type} (${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods)`,
            ].join("\n"),
        );
        assert.strictEqual(new Set(pods.map((p) => p!.spec.nodeName)).size, 3, "required anti-affinity: one pod per node");
        assert.strictEqual(new Set(zones).size, 3, "zone spread: one pod per zone");
        for (const p of pods) {
            for (const s of p!.status.containerStatuses) assert.match(s.containerID, /^containerd:\/\//, `${p!.metadata.name}/${s.name} must be run by containerd`);
        }
        assert.strictEqual(finished.cond.type, "Complete", "the ACL reconcile Job failed");
        assert.deepStrictEqual([...roles].sort(), ["master", "slave", "slave"], "one primary and two replicas");

        // The application's side: a namespace the NetworkPolicy allow-clients admits, holding what the
        // platform hands an application (its user's credentials, the Sentinel password, the CA).
        const secret = (name: string) => secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === name)!);
        const user = secret("redis-user-sessions");
        const clientObjects = [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: CLIENT_NS } },
            {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name: "redis-client", namespace: CLIENT_NS },
                stringData: { username: user.username, password: user.password, "sentinel-password": secret("redis-sentinel-credentials").password, "ca.crt": secret("redis-tls")["ca.crt"] },
            },
        ] as unknown as Manifest[];
        const co = await c.applyServerSide(clientObjects);
        assert.deepStrictEqual(co.filter((o) => o.status >= 300).map(describeOutcome), []);
    });

    it("drill a: delete the primary's pod under the WAIT writer: its containers stop at once, 0 acknowledged writes lost (the pod back as the primary starts fenced), the set is whole again", async function () {
        const c = cp!;
        const done = startClock("drill a: delete the primary's pod");
        const before = await settled();
        const w = await startWriter("writer-a", []);
        const uid = (await pod(before))!.metadata.uid;
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pod", before, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        // Every container of the old pod has exited (the API object goes once the kubelet confirms).
        const gone = await waitFor(`the old ${before} gone`, async () => ((await pod(before))?.metadata?.uid !== uid ? Date.now() : undefined), { timeoutMs: 60_000, intervalMs: 250 });
        await ackAfter(w.name, t0);
        const back = await waitFor(`${before} recreated and Ready`, async () => (ready(await pod(before)) ? Date.now() : undefined), { timeoutMs: 180_000, intervalMs: 1000 });
        const role = await roleOf(before);
        // A race with the Sentinels' down-after (5 s): a pod back before the Sentinels start a failover finds
        // every record naming itself and starts as the primary again; one back later finds the new primary's
        // record and starts as its replica; one back in between starts as the primary, fenced (refusing
        // writes), and is then turned into a replica by the failover already under way without having taken
        // a write (docs/operations/failover.md). Its start script's lines say which happened.
        let startLines: string[] = [];
        await finish("drill a (delete the primary's pod)", w, t0, before, async (after) => {
            const startLog = (await c.kubectl(["-n", NS, "logs", before, "-c", "redis"])).stdout;
            startLines = startLog.split("\n").filter((l) => /^start-redis: /.test(l)).map((l) => l.replace(/ \(records of .*?\)/, "").slice(0, 300));
            return [
                `the old pod's containers all exited ${((gone - t0) / 1000).toFixed(1)} s after the deletion (grace period 30 s); ${before} back Ready ${((back - t0) / 1000).toFixed(1)} s after it, as ${role}`,
                after === before ? `no failover: ${before} is the primary again` : `Sentinel failed over to ${after}; ${before} is its replica`,
                ...startLines.map((l) => `${before}: ${l}`),
            ];
        });
        if (startLines.some((l) => /starts as the primary/.test(l))) assert.ok(startLines.some((l) => /starts as the primary, fenced/.test(l)), `${before} came back as the primary: it must start fenced`);
        done();
        // Each container stops on SIGTERM (redis-server and Sentinel save and exit at once); one that ignores
        // it holds the pod, its replacement and a rolling update for the whole grace period.
        assert.ok(gone - t0 < SHUTDOWN_BOUND_MS, `the deleted pod took ${gone - t0} ms to stop (bound ${SHUTDOWN_BOUND_MS} ms): a container ignores SIGTERM`);
    });

    it("drill b: delete every pod at once under the WAIT writer: all return Ready, 0 acknowledged writes lost (AOF)", async function () {
        const c = cp!;
        const done = startClock("drill b: delete every pod");
        const before = await settled();
        const w = await startWriter("writer-b", []);
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pods", "-l", SELECTOR, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        await ackAfter(w.name, t0);
        const allReady = await waitFor(
            "every pod recreated and Ready",
            async () => {
                for (const p of PODS) {
                    const o = await pod(p);
                    if (!ready(o) || Date.parse(o!.metadata.creationTimestamp) < t0 - 1000) return undefined;
                }
                return Date.now();
            },
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        await finish("drill b (delete every pod at once)", w, t0, before, [`all 3 recreated and Ready ${((allReady - t0) / 1000).toFixed(1)} s after the deletion`]);
        done();
    });

    it("drill d: a rolling update (maxmemoryPolicy changed through the render) under the WAIT writer: 0 acknowledged writes lost", async function () {
        const c = cp!;
        const done = startClock("drill d: rolling update");
        const before = await settled();
        const sts0 = await c.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "redis", namespace: NS } });
        const policy = "volatile-lru";
        // The deployed generated values: the same passwords. Secrets are not applied again (the TLS one may
        // hold a renewed certificate the render does not: tests/pods/tls-prod.spec.ts).
        const next = await renderProdNamespace(NS, prod, { redis: { maxmemoryPolicy: policy } });
        const key = (o: Manifest) => `${o.kind}/${o.metadata.name}`;
        const old = new Map(objects.map((o) => [key(o), JSON.stringify(o)]));
        const changed = next.filter((o) => o.kind !== "Secret" && old.get(key(o)) !== JSON.stringify(o));
        assert.deepStrictEqual(changed.map(key).sort(), ["ConfigMap/redis-config", "StatefulSet/redis"], "the option changes redis.conf and the pods' checksum only");
        const w = await startWriter("writer-d", []);
        const t0 = Date.now();
        const outcomes = await c.applyServerSide(changed, undefined, { force: true });
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), []);
        const rolled = await waitFor(
            "the StatefulSet rolled: every pod updated and Ready",
            async () => {
                const s = await c.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "redis", namespace: NS } });
                const st = s?.status ?? {};
                return st.updateRevision && st.updateRevision !== sts0!.status.currentRevision && st.currentRevision === st.updateRevision && st.updatedReplicas === 3 && st.readyReplicas === 3
                    ? Date.now()
                    : undefined;
            },
            { timeoutMs: 300_000, intervalMs: 1000 },
        );
        const policies = await Promise.all(PODS.map(async (p) => (await exec(p, "redis", cli(6379, "CONFIG GET maxmemory-policy"))).split("\n")[1]));
        await finish("drill d (rolling update)", w, t0, before, [`rolled in ${((rolled - t0) / 1000).toFixed(1)} s; maxmemory-policy now ${policies.join(", ")}`]);
        done();
        objects = next.map((o) => (o.kind === "Secret" ? objects.find((x) => key(x) === key(o))! : o));
        assert.deepStrictEqual(policies, [policy, policy, policy], "every pod runs the new option");
    });

    it("drill c: the primary's node lost (kubelet and runtime killed) and another pod deleted, under the WAIT writer: 0 acknowledged writes lost", async function () {
        const c = cp!;
        const done = startClock("drill c: lose a node, delete another pod");
        const before = await settled();
        const lostPod = (await pod(before))!;
        const lostNode = nodeIndex(lostPod.spec.nodeName);
        const victim = PODS.find((p) => p !== before)!;
        const w = await startWriter("writer-c", [lostPod.spec.nodeName]);
        const t0 = Date.now();
        await nodes!.stopNode(lostNode);
        const del = await c.kubectl(["-n", NS, "delete", "pod", victim, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const recovered = await ackAfter(w.name, t0);
        const newPrimary = await primary([before]);
        const victimBack = await waitFor(
            `${victim} recreated and Ready`,
            async () => {
                const p = await pod(victim);
                return ready(p) && Date.parse(p!.metadata.creationTimestamp) >= t0 - 1000 ? Date.now() : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        // What the API shows for the lost node's pod once the node controller has noticed.
        const noticed = await waitFor(
            `node ${lostPod.spec.nodeName} NotReady and ${before} not Ready`,
            async () => {
                const n = await c.getObject({ apiVersion: "v1", kind: "Node", metadata: { name: lostPod.spec.nodeName } });
                const nodeReady = n?.status?.conditions?.find((x: Obj) => x.type === "Ready")?.status;
                const p = await pod(before);
                const podReady = p?.status?.conditions?.find((x: Obj) => x.type === "Ready")?.status;
                return nodeReady !== "True" && podReady !== "True" ? { at: Date.now(), nodeReady, podReady, phase: p?.status?.phase } : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 1000 },
        );
        const endpoints = await c.kubectl(["-n", NS, "get", "endpointslices", "-l", "kubernetes.io/service-name=redis", "-o", "jsonpath={range .items[*].endpoints[*]}{.targetRef.name}={.conditions.ready} {end}"]);
        const tStart = Date.now();
        await nodes!.startNode(lostNode);
        const returned = await waitFor(
            `${before} Ready again on its node, as a replica`,
            async () => (ready(await pod(before)) && (await roleOf(before)) === "slave" ? Date.now() : undefined),
            { timeoutMs: 240_000, intervalMs: 1000 },
        );
        const restarts = (await pod(before))!.status.containerStatuses.map((s: Obj) => `${s.name} ${s.restartCount}`).join(", ");
        await finish("drill c (the primary's node lost, another pod deleted)", w, t0, before, [
            `node real-node-${lostNode} (${before}) killed and ${victim} deleted at once; first acknowledged write ${((recovered - t0) / 1000).toFixed(1)} s later, on ${newPrimary}; ${victim} back Ready after ${((victimBack - t0) / 1000).toFixed(1)} s`,
            `node NotReady and ${before} not Ready in the API after ${((noticed.at - t0) / 1000).toFixed(1)} s (node Ready=${noticed.nodeReady}, pod Ready=${noticed.podReady}, phase ${noticed.phase}); Service endpoints then: ${endpoints.stdout.trim()}`,
            `node started again: ${before} Ready as a replica ${((returned - tStart) / 1000).toFixed(1)} s after the start (same pod, restarts ${restarts})`,
        ]);
        done();
        assert.notStrictEqual(newPrimary, before, "Sentinel failed over away from the lost node");
    });
});
