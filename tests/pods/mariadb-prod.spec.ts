// Real pods: prod's MariaDB (a primary and a semi-synchronous replica on two nodes in two zones, TLS required,
// the reconcile Job, the backup and binary-log archive CronJobs, NetworkPolicies, enforced) as part of all of
// prod, deployed once by `pulumi up` for the prod suites to three real nodes (scripts/nodes.sh, tests/helpers/prodStack.ts), then the failure
// drills of issue 22 under a writer that runs in a client pod as an application does: it connects through the
// client Service over TLS (verifying the server's name), writes one row per transaction as the `orders` user
// and counts a write as acknowledged when its COMMIT returned: with semi-sync on, that is after the replica
// has it in its relay log (or after the 10 s fallback when no replica answers). Each drill prints written /
// acknowledged / lost, the time to recover and the primary before and after, and fails if one acknowledged
// write is missing from the primary, or from the replica once it has caught up.
//
// The writer is the mariadb client in bash (the test image): one process per write, a TLS handshake each, so
// a few writes per second. Test overrides of the prod stack file, and why: the MariaDB resources are scaled
// down (768Mi limit, so two pods, their Jobs and the writer fit beside the rest of prod on this machine); the
// rest as in tests/helpers/prodStack.ts.
//
// Drill c is the documented promotion (docs/operations/failover.md): the primary's node is lost, the operator
// runs scripts/promote-mariadb.sh through kubectl, then records the promotion (mariadb.primary) and applies
// the render again, as `pulumi config set --path mariadb.primary 1 && pulumi up` would.

import * as assert from "assert";
import * as path from "path";
import { ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { secretData } from "../../scripts/lib/rendered";
import { describeRun, randomToken, run, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { Nodes, realCluster } from "../helpers/nodes";
import { inNamespaces, prodOnNodes, renderProdNamespace, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";
import { drillFigures, outages, parseWriterLog } from "../helpers/writerLog";

registerRealServerSummary(900);

const NS = "db";
/** A namespace prod's allow-clients NetworkPolicy lets reach MariaDB (Pulumi.prod.yaml, allowedNamespaces). */
const CLIENT_NS = "order-service";
const NODES = 3;
const PODS = ["mariadb-0", "mariadb-1"];
/** Acknowledged writes before a drill's failure. */
const WARMUP_ACKS = 15;
/** The test's scale-down of prod's resources (the drill d rolling update raises the limit). */
const RESOURCES = (limit: string) => ({ requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: limit } });

/** The writer: one transaction per write through the client Service, over TLS with the server's name verified. */
const WRITER_SCRIPT = `
cli() { MYSQL_PWD="$APP_PASSWORD" timeout 15 mariadb --ssl-ca=/etc/client/ca.crt --ssl-verify-server-cert --connect-timeout=2 -h mariadb.${NS}.svc.cluster.local -P 3306 -u "$APP_USER" --batch --skip-column-names "$APP_DATABASE" "$@" 2>&1; }
until out="$(cli -e "CREATE TABLE IF NOT EXISTS drill (run VARCHAR(16) NOT NULL, n INT NOT NULL, PRIMARY KEY (run, n)) ENGINE=InnoDB")"; do
    echo "err 0 - $out" | tr '\\n' ' '; echo; sleep 0.5
done
n=0
while [ ! -e /work/stop ]; do
    out="$(cli -e "INSERT INTO drill (run, n) VALUES ('$RUN', $n); SELECT @@hostname" | tr '\\n' ' ')"
    case "$out" in
        "mariadb-"[0-9]" ") echo "ok $n \${out% } 1" ;;
        # The client's error number (ERROR_2003: cannot connect, ERROR_2013: lost during the query, ...).
        *) code="$(echo "$out" | grep -o 'ERROR [0-9]*' | head -n 1 | tr ' ' _)"; echo "err $n - \${code:-$out}"; sleep 0.2 ;;
    esac
    # A write that failed may still have committed (a reply lost): its number is never reused.
    n=$((n + 1))
done
echo "stopped $n"
`;

describe("real pods: prod's MariaDB with a semi-sync replica on real kubelets, and its failure drills (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let nodes: Nodes | undefined;
    let prod: ProdDeployment;
    let objects: Manifest[] = [];
    let image = "";
    /** The pod `mariadb.primary` names in the applied render. */
    let primary = "mariadb-0";
    let memoryLimit = "768Mi";

    const pod = (name: string, ns = NS): Promise<Obj | undefined> => cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns } });
    const ready = (p: Obj | undefined): boolean => !!p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") && !p?.metadata?.deletionTimestamp;
    const nodeIndex = (nodeName: string): number => Number(/^real-node-(\d)$/.exec(nodeName)?.[1] ?? NaN);
    const replicaOf = (p: string) => PODS.find((x) => x !== p)!;
    const render = (primaryOrdinal: number, limit: string) =>
        renderProdNamespace(NS, prod, { mariadb: { primary: primaryOrdinal, resources: RESOURCES(limit) } });
    const key = (o: Manifest) => `${o.kind}/${o.metadata.name}`;

    /** SQL as root inside a server's container, over its socket; the password is read from the mounted Secret there. */
    async function sql(podName: string, statement: string): Promise<string> {
        const r = await cp!.kubectl(
            [
                "-n", NS, "exec", podName, "-c", "mariadb", "--", "bash", "-c",
                `MYSQL_PWD="$(cat /etc/mysql/credentials/root-password)" mariadb -uroot --protocol=socket --batch --skip-column-names -e "${statement}"`,
            ],
            { timeoutMs: 30_000 },
        );
        if (r.code !== 0) throw new Error(`SQL in ${podName}: ${describeRun(r)}`);
        return r.stdout.trim();
    }
    const status = async (podName: string, names: string[]): Promise<Record<string, string>> =>
        Object.fromEntries(
            (await sql(podName, `SHOW GLOBAL STATUS WHERE Variable_name IN (${names.map((n) => `'${n}'`).join(",")})`)).split("\n").map((l) => l.split("\t") as [string, string]),
        );
    const replication = async (podName: string): Promise<{ io: string; sql: string; master: string; errno: string }> => {
        const r = await cp!.kubectl(
            [
                "-n", NS, "exec", podName, "-c", "mariadb", "--", "bash", "-c",
                `MYSQL_PWD="$(cat /etc/mysql/credentials/root-password)" mariadb -uroot --protocol=socket -e 'SHOW SLAVE STATUS\\G'`,
            ],
            { timeoutMs: 30_000 },
        );
        if (r.code !== 0) throw new Error(`SHOW SLAVE STATUS in ${podName}: ${describeRun(r)}`);
        const field = (f: string) => new RegExp(`^\\s*${f}: (.*)$`, "m").exec(r.stdout)?.[1] ?? "";
        return { io: field("Slave_IO_Running"), sql: field("Slave_SQL_Running"), master: field("Master_Host").split(".")[0], errno: field("Last_IO_Errno") };
    };

    /** Both pods Ready, the rendered primary writable with semi-sync on and a semi-sync client, the other replicating from it. */
    async function settled(timeoutMs = 240_000): Promise<string> {
        return waitFor(
            `both pods Ready, ${primary} writable with a semi-sync replica, ${replicaOf(primary)} replicating from it`,
            async () => {
                for (const p of PODS) if (!ready(await pod(p))) return undefined;
                const replica = replicaOf(primary);
                const [ro, rro] = await Promise.all([sql(primary, "SELECT @@read_only"), sql(replica, "SELECT @@read_only")]).catch(() => ["?", "?"]);
                if (ro !== "0" || rro !== "1") return undefined;
                const rep = await replication(replica).catch(() => undefined);
                if (rep?.io !== "Yes" || rep.sql !== "Yes" || rep.master !== primary) return undefined;
                const st = await status(primary, ["Rpl_semi_sync_master_status", "Rpl_semi_sync_master_clients"]).catch(() => ({}) as Record<string, string>);
                return st.Rpl_semi_sync_master_status === "ON" && Number(st.Rpl_semi_sync_master_clients) >= 1 ? primary : undefined;
            },
            { timeoutMs, intervalMs: 2000 },
        ).catch(async (e: Error) => {
            const d = await cp!.kubectl(["-n", NS, "get", "pods", "-o", "wide"]);
            const logs = await Promise.all(PODS.map((p) => cp!.kubectl(["-n", NS, "logs", p, "-c", "mariadb", "--tail=8"])));
            throw new Error(`${e.message}\n${d.stdout}\n${logs.map((l, i) => `${PODS[i]}:\n${l.stdout}${l.stderr}`).join("\n")}`);
        });
    }

    async function writerLog(name: string) {
        return parseWriterLog((await cp!.kubectl(["-n", CLIENT_NS, "logs", "--timestamps", name])).stdout);
    }

    /** A writer pod in the client namespace, on a node other than `avoid`; resolves once it has WARMUP_ACKS acknowledged writes. */
    async function startWriter(name: string, avoid: string[]): Promise<{ name: string; run: string }> {
        const run = randomToken(8);
        const secretEnv = (env: string, k: string) => ({ name: env, valueFrom: { secretKeyRef: { name: "mariadb-client", key: k } } });
        const m = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: CLIENT_NS, labels: { app: "mariadb-writer" } },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                terminationGracePeriodSeconds: 1,
                affinity: avoid.length
                    ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: avoid }] }] } } }
                    : undefined,
                securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                    {
                        name: "writer",
                        image,
                        imagePullPolicy: "IfNotPresent",
                        command: ["bash", "-c", WRITER_SCRIPT],
                        // The password reaches the client through MYSQL_PWD, never a command line.
                        env: [{ name: "RUN", value: run }, secretEnv("APP_USER", "username"), secretEnv("APP_PASSWORD", "password"), secretEnv("APP_DATABASE", "database")],
                        volumeMounts: [
                            { name: "client", mountPath: "/etc/client", readOnly: true },
                            { name: "work", mountPath: "/work" },
                        ],
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                    },
                ],
                volumes: [
                    { name: "client", secret: { secretName: "mariadb-client", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    { name: "work", emptyDir: {} },
                ],
            },
        } as unknown as Manifest;
        const outcome = await cp!.applyOne(m);
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        await waitFor(`${WARMUP_ACKS} acknowledged writes by ${name}`, async () => (await writerLog(name)).acked.length >= WARMUP_ACKS, {
            timeoutMs: 120_000,
            intervalMs: 1000,
        }).catch(async (e: Error) => {
            const logs = await cp!.kubectl(["-n", CLIENT_NS, "logs", name, "--tail=10"]);
            throw new Error(`${e.message}\nwriter's last lines:\n${logs.stdout}${logs.stderr}`);
        });
        return { name, run };
    }

    /** Waits until the writer, after `since`, failed and then had a write acknowledged again; resolves with that time. */
    async function ackAfter(writer: string, since: number, timeoutMs = 240_000): Promise<number> {
        return waitFor("a failed write after the failure, then an acknowledged one", async () => outages(await writerLog(writer), since)[0]?.end, { timeoutMs, intervalMs: 1000 });
    }

    /**
     * Stops the writer after a few more acknowledged writes, then compares its acknowledged numbers with the
     * primary's rows, and the replica's once it has caught up; prints the figures and asserts none is lost.
     */
    async function finish(label: string, w: { name: string; run: string }, t0: number, before: string, extra: string[]): Promise<void> {
        const c = cp!;
        const after = await settled();
        await new Promise((r) => setTimeout(r, 3000));
        await c.kubectl(["-n", CLIENT_NS, "exec", w.name, "--", "touch", "/work/stop"]);
        await waitFor(`writer ${w.name} stopped`, async () => ["Succeeded", "Failed"].includes((await pod(w.name, CLIENT_NS))?.status?.phase), { timeoutMs: 60_000, intervalMs: 500 });
        const res = await writerLog(w.name);
        const query = `SELECT n FROM orders.drill WHERE run = '${w.run}'`;
        const onPrimary = new Set((await sql(after, query)).split("\n").filter(Boolean).map(Number));
        // The replica has caught up when it holds as many of this run's rows as the primary.
        const replica = replicaOf(after);
        const onReplica = await waitFor(
            `${replica} caught up with ${after}`,
            async () => {
                const rows = new Set((await sql(replica, query)).split("\n").filter(Boolean).map(Number));
                return rows.size >= onPrimary.size ? rows : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 1000 },
        );
        const lost = res.acked.filter((a) => !onPrimary.has(a.n));
        const lostOnReplica = res.acked.filter((a) => !onReplica.has(a.n));
        const ackedBefore = res.acked.filter((a) => a.at <= t0).length;
        const servers = [...new Set(res.acked.filter((a) => a.at > t0).map((a) => a.server))];
        console.log(
            [
                `      ${label}: primary before ${before}, after ${after} (acknowledged after the failure by ${servers.join(", ") || "none"})`,
                ...drillFigures(res, t0, lost.length, "COMMIT returned, semi-sync").map((l) => `        ${l}`),
                `        rows of this run: ${onPrimary.size} on ${after}, ${onReplica.size} on ${replica}; acknowledged missing on ${replica}: ${lostOnReplica.length}`,
                ...extra.map((l) => `        ${l}`),
            ].join("\n"),
        );
        await c.deleteObject({ apiVersion: "v1", kind: "Pod", metadata: { name: w.name, namespace: CLIENT_NS } }, "Background");
        assert.ok(
            res.acked.some((a) => a.at > t0),
            "no write was acknowledged after the failure",
        );
        assert.ok(ackedBefore >= WARMUP_ACKS, `the writer wrote enough before the failure: ${ackedBefore}`);
        assert.deepStrictEqual(lost.map((a) => a.n), [], `${label}: acknowledged writes missing on the primary ${after}`);
        assert.deepStrictEqual(lostOnReplica.map((a) => a.n), [], `${label}: acknowledged writes missing on the replica ${replica}`);
    }

    /**
     * Applies what changed between the deployed render and `next`, as `pulumi up` would, except the TLS Secret:
     * it may hold a renewed certificate the render does not (tests/pods/tls-prod.spec.ts). The other Secrets
     * come from the deployed stack's generated values, so a changed one is a real change (e.g. the init SQL
     * naming a new primary).
     */
    const isTls = (o: Manifest) => o.kind === "Secret" && /-tls$/.test(o.metadata.name);
    async function applyChanges(next: Manifest[]): Promise<string[]> {
        const old = new Map(objects.map((o) => [key(o), JSON.stringify(o)]));
        const changed = next.filter((o) => !isTls(o) && old.get(key(o)) !== JSON.stringify(o));
        const outcomes = await cp!.applyServerSide(changed, undefined, { force: true });
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), []);
        objects = next.map((o) => (isTls(o) ? objects.find((x) => key(x) === key(o))! : o));
        return changed.map(key).sort();
    }

    /** Waits until the StatefulSet has rolled from `fromRevision`: every pod updated and Ready. */
    async function rolled(fromRevision: string, timeoutMs = 300_000): Promise<number> {
        return waitFor(
            "the StatefulSet rolled: every pod updated and Ready",
            async () => {
                const st = (await cp!.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "mariadb", namespace: NS } }))?.status ?? {};
                return st.updateRevision && st.updateRevision !== fromRevision && st.currentRevision === st.updateRevision && st.updatedReplicas === 2 && st.readyReplicas === 2
                    ? Date.now()
                    : undefined;
            },
            { timeoutMs, intervalMs: 1000 },
        );
    }
    const revision = async () => (await cp!.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "mariadb", namespace: NS } }))!.status.currentRevision as string;

    before(async function () {
        cp = cluster.cp;
        nodes = cluster.nodes;
        // All of prod, deployed once for the prod suites (tests/helpers/prodStack.ts): this suite drills its MariaDB.
        prod = await prodOnNodes(cluster, this);
        objects = inNamespaces(prod.objects, [NS]);
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "mariadb") as Obj;
        assert.ok(sts, "prod's render has no StatefulSet db/mariadb");
        assert.strictEqual(sts.spec.replicas, 2);
        image = sts.spec.template.spec.containers[0].image;
    });

    it("both pods are Ready on 2 nodes in 2 zones because mariadbd answers the probes; TLS required, semi-sync on; the reconcile Job completes", async function () {
        const c = cp!;
        await settled(360_000);
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("mariadb-reconcile")) as Obj;
        assert.ok(job, "prod's render has the reconcile Job");
        const finished = await c.waitJobFinished(job, 300_000);
        const pods = await Promise.all(PODS.map((p) => pod(p)));
        const zones = await Promise.all(
            pods.map(async (p) => (await c.getObject({ apiVersion: "v1", kind: "Node", metadata: { name: p!.spec.nodeName } }))!.metadata.labels["topology.kubernetes.io/zone"]),
        );
        const secure = await Promise.all(PODS.map((p) => sql(p, "SELECT @@require_secure_transport")));
        console.log(
            [
                `      both pods Ready ${prod.readySeconds.mariadb.toFixed(1)} s after prod's apply: ${pods.map((p, i) => `${p!.metadata.name} on ${p!.spec.nodeName} (${zones[i]}, restarts ${p!.status.containerStatuses.map((s: Obj) => s.restartCount).join("/")})`).join(", ")}`,
                `      require_secure_transport ${secure.join("/")}; Job ${job.metadata.name}: ${finished.cond.type} (${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods)`,
            ].join("\n"),
        );
        assert.strictEqual(new Set(pods.map((p) => p!.spec.nodeName)).size, 2, "required anti-affinity: one pod per node");
        assert.strictEqual(new Set(zones).size, 2, "zone spread: the two pods in two zones");
        for (const p of pods) {
            for (const s of p!.status.containerStatuses) assert.match(s.containerID, /^containerd:\/\//, `${p!.metadata.name}/${s.name} must be run by containerd`);
        }
        assert.deepStrictEqual(secure, ["1", "1"], "prod requires TLS on every server");
        assert.strictEqual(finished.cond.type, "Complete", "the reconcile Job failed");

        // The application's side: a namespace allow-clients admits, holding what the platform hands an
        // application (its user's credentials and the CA).
        const user = secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === "mariadb-user-orders")!);
        const ca = secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === "mariadb-tls")!)["ca.crt"];
        const co = await c.applyServerSide([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: CLIENT_NS } },
            { apiVersion: "v1", kind: "Secret", metadata: { name: "mariadb-client", namespace: CLIENT_NS }, stringData: { username: user.username, password: user.password, database: user.database, "ca.crt": ca } },
        ] as unknown as Manifest[]);
        assert.deepStrictEqual(co.filter((o) => o.status >= 300).map(describeOutcome), []);
    });

    it("drill a: delete the primary's pod under the semi-sync writer: it returns on its volume as the primary, 0 acknowledged writes lost", async function () {
        const c = cp!;
        const done = startClock("drill a: delete the primary's pod");
        const before = await settled();
        const w = await startWriter("writer-a", []);
        const uid = (await pod(before))!.metadata.uid;
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pod", before, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const gone = await waitFor(`the old ${before} gone`, async () => ((await pod(before))?.metadata?.uid !== uid ? Date.now() : undefined), { timeoutMs: 90_000, intervalMs: 250 });
        await ackAfter(w.name, t0);
        await finish("drill a (delete the primary's pod)", w, t0, before, [`the old pod's containers all exited ${((gone - t0) / 1000).toFixed(1)} s after the deletion`]);
        done();
    });

    it("drill b: delete both pods at once under the semi-sync writer: both return, 0 acknowledged writes lost", async function () {
        const c = cp!;
        const done = startClock("drill b: delete both pods");
        const before = await settled();
        const w = await startWriter("writer-b", []);
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pods", ...PODS, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        await ackAfter(w.name, t0);
        const both = await waitFor(
            "both pods recreated and Ready",
            async () => {
                for (const p of PODS) {
                    const o = await pod(p);
                    if (!ready(o) || Date.parse(o!.metadata.creationTimestamp) < t0 - 1000) return undefined;
                }
                return Date.now();
            },
            { timeoutMs: 300_000, intervalMs: 1000 },
        );
        await finish("drill b (delete both pods at once)", w, t0, before, [`both recreated and Ready ${((both - t0) / 1000).toFixed(1)} s after the deletion`]);
        done();
    });

    it("drill d: a rolling update (the memory limit, so innodb_buffer_pool_size, changed through the render) under the semi-sync writer: 0 acknowledged writes lost", async function () {
        const done = startClock("drill d: rolling update");
        const before = await settled();
        const from = await revision();
        memoryLimit = "896Mi";
        const next = await render(Number(primary.split("-")[1]), memoryLimit);
        const w = await startWriter("writer-d", []);
        const t0 = Date.now();
        const changed = await applyChanges(next);
        assert.ok(changed.includes("StatefulSet/mariadb") && changed.includes("ConfigMap/mariadb-config"), `the option changes my.cnf and the pods: ${changed.join(", ")}`);
        assert.ok(!changed.some((k) => k.startsWith("PersistentVolumeClaim/")), `no claim changes: ${changed.join(", ")}`);
        const at = await rolled(from);
        const pools = await Promise.all(PODS.map((p) => sql(p, "SELECT @@innodb_buffer_pool_size")));
        await finish("drill d (rolling update)", w, t0, before, [`applied ${changed.join(", ")}; rolled in ${((at - t0) / 1000).toFixed(1)} s; innodb_buffer_pool_size now ${pools.join(", ")}`]);
        done();
        assert.strictEqual(new Set(pools).size, 1, "both pods run the new option");
    });

    it("drill c: the primary's node lost (kubelet and runtime killed), the replica promoted by scripts/promote-mariadb.sh and recorded: 0 acknowledged writes lost, the old primary follows", async function () {
        const c = cp!;
        const done = startClock("drill c: lose the primary's node, promote");
        const before = await settled();
        const promoted = replicaOf(before);
        const lostPod = (await pod(before))!;
        const lostNode = nodeIndex(lostPod.spec.nodeName);
        const w = await startWriter("writer-c", [lostPod.spec.nodeName]);
        const from = await revision();
        const t0 = Date.now();
        await nodes!.stopNode(lostNode);
        // The operator confirms the primary is gone (its node is down), then promotes.
        const env = { ...process.env, PATH: `${c.bindir}:${process.env.PATH}`, KUBECONFIG: c.kubeconfig };
        const promote = await run("bash", [path.join(ROOT, "scripts/promote-mariadb.sh"), "--namespace", NS, "--replicas", "2"], { env, timeoutMs: 300_000 });
        const tPromoted = Date.now();
        assert.strictEqual(promote.code, 0, `promote-mariadb.sh: ${describeRun(promote)}`);
        // Recorded as `pulumi config set --path mariadb.primary <n> && pulumi up` records it: the render applied again.
        primary = promoted;
        const changed = await applyChanges(await render(Number(promoted.split("-")[1]), memoryLimit));
        const recovered = await ackAfter(w.name, t0);
        const tStart = Date.now();
        await nodes!.startNode(lostNode);
        const at = await rolled(from, 420_000);
        const rep = await replication(before);
        await finish("drill c (the primary's node lost, the replica promoted)", w, t0, before, [
            `node real-node-${lostNode} (${before}) killed; promote-mariadb.sh done ${((tPromoted - t0) / 1000).toFixed(1)} s later; applied ${changed.join(", ")}`,
            `first acknowledged write after the failure ${((recovered - t0) / 1000).toFixed(1)} s after it, on ${promoted}`,
            `node started again: the StatefulSet rolled ${((at - tStart) / 1000).toFixed(1)} s after the start; ${before} replicates from ${rep.master} (IO ${rep.io}, SQL ${rep.sql})`,
            `promote-mariadb.sh said: ${promote.stdout.trim().split("\n").slice(-3).join(" | ")}`,
        ]);
        done();
        assert.strictEqual(rep.master, promoted, `${before} must follow the promoted ${promoted}`);
    });
});
