// Real pods: dev's MariaDB, rendered with its secrets and applied server-side to the test control plane, runs
// on real kubelets (three nodes, scripts/nodes.sh) from a test image built here from Debian's MariaDB 10.11
// (tests/pods/IMAGES.md). The pod becomes Ready only because mariadbd inside answers the render's
// healthcheck.sh probes, after the render's prepare-volume init container, the image's first-start
// initialisation (root from the credentials Secret, the healthcheck accounts) and under the render's Pod
// Security context (restricted: uid 999, read-only root, fsGroup, dropped capabilities). Then: the reconcile
// Job creates the application users, a client pod on another node writes and reads through the Service as
// the orders application, root's generated password works and a wrong one is refused, and a deleted pod
// comes back Ready with its data. Skips locally when the nodes cannot start (printed reason); fails in CI.

import * as assert from "assert";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { realCluster } from "../helpers/nodes";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(420);

const NS = "db";
const NODES = 3;
const POD = "mariadb-0";
const APP_SECRET = "mariadb-user-orders";
const ROWS = 200;

/** A pod the namespace's Pod Security (restricted) admits, on another node than `avoidNode`: the client an application would be. */
function clientPod(name: string, image: string, script: string, avoidNode: string): Manifest {
    const secretEnv = (env: string, secret: string, key: string) => ({ name: env, valueFrom: { secretKeyRef: { name: secret, key } } });
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "NotIn", values: [avoidNode] }] }],
                    },
                },
            },
            securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["bash", "-c", script],
                    // The passwords reach the client through the environment (MYSQL_PWD per call), never a command line.
                    env: [
                        secretEnv("APP_USER", APP_SECRET, "username"),
                        secretEnv("APP_PASSWORD", APP_SECRET, "password"),
                        secretEnv("APP_DATABASE", APP_SECRET, "database"),
                        secretEnv("ROOT_PASSWORD", "mariadb-credentials", "root-password"),
                    ],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                },
            ],
        },
    } as Manifest;
}

describe("real pods: dev's MariaDB on real kubelets (scripts/nodes.sh)", function () {
    const cluster = realCluster(NODES);
    let cp: ControlPlane | undefined;
    let objects: Manifest[] = [];
    let image = "";
    let serverNode = "";
    let tls = false;

    const getPod = () => cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: POD, namespace: NS } });
    const isReady = (p: Obj | undefined) => p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True");

    /** Waits until mariadb-0 (optionally a new one, not `oldUid`) is Ready; on timeout the events and the last log lines say why. */
    async function waitReady(label: string, oldUid?: string, timeoutMs = 300_000): Promise<Obj> {
        const c = cp!;
        try {
            return await waitFor(
                label,
                async () => {
                    const p = await getPod();
                    return p && p.metadata.uid !== oldUid && isReady(p) ? p : undefined;
                },
                { timeoutMs, intervalMs: 1000 },
            );
        } catch (e) {
            const d = await c.kubectl(["-n", NS, "describe", "pod", POD]);
            const log = await c.kubectl(["-n", NS, "logs", POD, "-c", "mariadb", "--tail=15"]);
            const prev = await c.kubectl(["-n", NS, "logs", POD, "-c", "mariadb", "--previous", "--tail=8"]);
            throw new Error(
                `${(e as Error).message}\n${d.stdout.split("\n").slice(-14).join("\n")}\nlog:\n${log.stdout}${log.stderr}\nprevious run:\n${prev.stdout}${prev.stderr}`,
            );
        }
    }

    /** SQL as root inside the server's container, over its socket; the password is read from the mounted Secret there, not passed. */
    async function rootSql(sql: string): Promise<string> {
        const r = await cp!.kubectl([
            "-n", NS, "exec", POD, "-c", "mariadb", "--", "bash", "-c",
            `MYSQL_PWD="$(cat /etc/mysql/credentials/root-password)" mariadb -uroot --protocol=socket --batch --skip-column-names -e "${sql}"`,
        ]);
        assert.strictEqual(r.code, 0, `root SQL in ${POD}: ${describeRun(r)}`);
        return r.stdout.trim();
    }

    before(async function () {
        cp = cluster.cp;
        // A fresh random seed per run: the passwords are never stored or printed.
        objects = (await renderStack("dev", { withSecrets: true, seed: randomToken(32) })).objects.filter(
            (o) => o.metadata.namespace === NS || (o.kind === "Namespace" && o.metadata.name === NS),
        );
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "mariadb") as Obj;
        assert.ok(sts, "dev's render has no StatefulSet db/mariadb");
        image = sts.spec.template.spec.containers[0].image;
        const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "mariadb-config") as Obj;
        const cnf = Object.values(config?.data ?? {}).join("\n");
        tls = /^\s*(ssl[-_]cert|require[-_]secure[-_]transport)\b/m.test(cnf);
    });

    it("the MariaDB pod is Running and Ready because mariadbd answers the render's healthcheck.sh probes", async function () {
        const c = cp!;
        const done = startClock("dev's MariaDB applied until Ready");
        const outcomes = await c.applyServerSide(objects);
        const refused = outcomes.filter((o) => o.status >= 300);
        assert.deepStrictEqual(refused.map(describeOutcome), [], "the server refused part of dev's MariaDB render");
        const t0 = Date.now();
        const pod = await waitReady(`pod ${NS}/${POD} Ready`);
        done();
        const status = pod.status.containerStatuses[0];
        const init = pod.status.initContainerStatuses?.[0];
        console.log(
            `      ${POD} Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s on ${pod.spec.nodeName}, pod IP ${pod.status.podIP}, ` +
                `image ${status.image}, restarts ${status.restartCount}; init container ${init?.name} exit ${init?.state?.terminated?.exitCode}`,
        );
        assert.match(pod.spec.nodeName, /^real-node-\d$/, "the pod must run on a real node (there is no KWOK node)");
        serverNode = pod.spec.nodeName;
        assert.ok(status.ready && status.state.running, `container not running and ready: ${JSON.stringify(status.state)}`);
        assert.strictEqual(status.restartCount, 0, "mariadbd restarted: it crashed or failed its liveness probe");
        assert.match(status.containerID, /^containerd:\/\//, "the container must be run by containerd, not faked");
        assert.strictEqual(init?.state?.terminated?.exitCode, 0, "the prepare-volume init container must have run and succeeded");
        // The server's own view, through the probes' account and option file (written by the image's first start).
        const info = await c.kubectl([
            "-n", NS, "exec", POD, "-c", "mariadb", "--", "bash", "-c",
            "id -u; mariadb --defaults-extra-file=/var/lib/mysql/mariadb-data/.my-healthcheck.cnf --protocol=socket --batch --skip-column-names " +
                "-e 'SELECT CURRENT_USER(), @@version, @@datadir, @@require_secure_transport'",
        ]);
        assert.strictEqual(info.code, 0, `exec into ${POD}: ${describeRun(info)}`);
        const [uid, row] = info.stdout.trim().split("\n");
        console.log(`      inside ${POD}: uid ${uid}; ${row.split("\t").join(", ")}`);
        assert.strictEqual(uid, "999", "mariadbd must run as the render's runAsUser 999");
        const [user, version, datadir, secure] = row.split("\t");
        assert.strictEqual(user, "healthcheck@localhost", "the probes log in as the image's healthcheck account");
        assert.match(version, /^10\.11\./);
        assert.strictEqual(datadir, "/var/lib/mysql/mariadb-data/", "the render's datadir (a subdirectory: lost+found stays out)");
        assert.strictEqual(secure === "1", tls, `require_secure_transport ${secure} but the render ${tls ? "configures" : "does not configure"} TLS`);
    });

    it("the render's reconcile Job completes: bash, mariadb and the generated credentials create the application users", async function () {
        const c = cp!;
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("mariadb-reconcile")) as Obj;
        assert.ok(job, "dev's render has no mariadb-reconcile Job");
        const done = startClock("reconcile Job");
        const t0 = Date.now();
        const finished = await c.waitJobFinished(job, 300_000);
        // The log of the pod that decided the outcome (kubectl logs job/... may pick a failed earlier one).
        const pods = await c.list("v1", "Pod", NS, `batch.kubernetes.io/job-name=${job.metadata.name}`);
        const decisive = pods.find((p: Obj) => p.status?.phase === (finished.cond.type === "Complete" ? "Succeeded" : "Failed")) ?? pods[0];
        const logs = await c.kubectl(["-n", NS, "logs", decisive?.metadata?.name ?? `job/${job.metadata.name}`, "--tail=20"]);
        done();
        console.log(
            `      Job ${job.metadata.name}: ${finished.cond.type} after ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
                `(${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods); log:\n` +
                logs.stdout.trim().split("\n").map((l) => `        ${l}`).join("\n"),
        );
        assert.strictEqual(finished.cond.type, "Complete", `the reconcile Job failed:\n${logs.stdout}${logs.stderr}`);
        assert.match(logs.stdout, /reconcile: applied \d+ statements \(2 declared users\)/);
        // Not asserted: applied together with the StatefulSet (as the engine does: nothing orders them), the
        // Job's first pods may run before mariadb-0 answers and fail; the Job's retries complete it. Printed above.
    });

    it("a client pod on another node writes and reads through the Service as the orders user; root's password works, a wrong one is refused", async function () {
        const c = cp!;
        assert.ok(serverNode, "the first test did not find the MariaDB pod's node");
        assert.ok(!tls, "dev renders TLS now: this client must then connect with --ssl and the render's CA");
        const done = startClock("client pod through the Service");
        const svc = await c.getObject({ apiVersion: "v1", kind: "Service", metadata: { name: "mariadb", namespace: NS } });
        assert.ok(svc?.spec?.clusterIP, "Service db/mariadb has no ClusterIP");
        const host = `mariadb.${NS}.svc.cluster.local`;
        const value = randomToken(24);
        const app = `MYSQL_PWD="$APP_PASSWORD" mariadb -h ${host} -P 3306 -u "$APP_USER" --batch --skip-column-names "$APP_DATABASE"`;
        const script = [
            "set -euo pipefail",
            `${app} -e "CREATE TABLE IF NOT EXISTS drill (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB"`,
            // One multi-row INSERT per 50 rows; each autocommits, as an application's writes would.
            `for i in $(seq 1 ${ROWS / 50}); do ${app} -e "INSERT INTO drill (v) VALUES $(printf "('${value}'),%.0s" $(seq 1 49))('${value}')"; done`,
            `echo "user: $(${app} -e 'SELECT CURRENT_USER()')"`,
            `echo "rows: $(${app} -e "SELECT COUNT(*) FROM drill WHERE v = '${value}'")"`,
            `echo "ip: $(MYSQL_PWD="$APP_PASSWORD" mariadb -h ${svc.spec.clusterIP} -P 3306 -u "$APP_USER" --batch --skip-column-names "$APP_DATABASE" -e 'SELECT COUNT(*) FROM drill')"`,
            `echo "ssl: $(${app} -e "SHOW SESSION STATUS LIKE 'Ssl_cipher'" | cut -f2)"`,
            `echo "denied: $(${app} --skip-print-query-on-error -e 'SELECT COUNT(*) FROM mysql.user' 2>&1 || true)"`,
            `echo "root: $(MYSQL_PWD="$ROOT_PASSWORD" mariadb -h ${host} -u root --batch --skip-column-names -e 'SELECT CURRENT_USER()' 2>&1)"`,
            `echo "wrong: $(MYSQL_PWD="$ROOT_PASSWORD-wrong" mariadb -h ${host} -u root --batch --skip-column-names -e 'SELECT 1' 2>&1 || true)"`,
        ].join("\n");
        const t0 = Date.now();
        const outcome = await c.applyOne(clientPod("mariadb-client", image, script, serverNode));
        assert.ok(outcome.status < 300, describeOutcome(outcome));
        const pod = await waitFor(
            `pod ${NS}/mariadb-client finished`,
            async () => {
                const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "mariadb-client", namespace: NS } });
                return p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed" ? p : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        const logs = await c.kubectl(["-n", NS, "logs", "mariadb-client"]);
        done();
        console.log(
            `      client pod ${pod.status.phase} on ${pod.spec.nodeName} (MariaDB on ${serverNode}) after ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
                `Service ${host} = ${svc.spec.clusterIP}; TLS ${tls ? "rendered" : "not rendered by dev"}\n` +
                logs.stdout.trim().split("\n").map((l) => `        ${l}`).join("\n"),
        );
        assert.notStrictEqual(pod.spec.nodeName, serverNode, "the client must run on another node than the server");
        assert.strictEqual(pod.status.phase, "Succeeded", `client pod failed: ${logs.stdout}${logs.stderr}`);
        const line = (k: string) => (logs.stdout.split("\n").find((l) => l.startsWith(`${k}: `)) ?? "").slice(k.length + 2);
        assert.strictEqual(line("user"), "orders@%", "the orders application's account from its Secret");
        assert.strictEqual(line("rows"), String(ROWS), "rows written and read back through the Service's DNS name");
        assert.strictEqual(line("ip"), String(ROWS), "rows read through the Service's ClusterIP");
        assert.strictEqual(line("ssl"), "", "no TLS session: dev renders none");
        // The grants are real too: the application may not read the system schema.
        assert.match(line("denied"), /ERROR 1142 .*SELECT command denied/, "the orders user must not read mysql.user");
        assert.strictEqual(line("root"), "root@%", "root logs in over the network with the generated password");
        assert.match(line("wrong"), /^ERROR 1045 \(28000\): Access denied for user 'root'/, "a wrong root password must be refused");
    });

    it("a deleted MariaDB pod comes back Ready on its volume with every row", async function () {
        const c = cp!;
        const done = startClock("pod deleted until Ready again");
        const before = await getPod();
        const rowsBefore = Number(await rootSql("SELECT COUNT(*) FROM orders.drill"));
        assert.strictEqual(rowsBefore, ROWS, "the rows the client wrote");
        const t0 = Date.now();
        const del = await c.kubectl(["-n", NS, "delete", "pod", POD, "--wait=false"]);
        assert.strictEqual(del.code, 0, describeRun(del));
        const pod = await waitReady(`a new pod ${NS}/${POD} Ready`, before.metadata.uid);
        const seconds = (Date.now() - t0) / 1000;
        const rowsAfter = Number(await rootSql("SELECT COUNT(*) FROM orders.drill"));
        const log = await c.kubectl(["-n", NS, "logs", POD, "-c", "mariadb"]);
        done();
        const status = pod.status.containerStatuses[0];
        const entrypoint = log.stdout.split("\n").filter((l) => l.includes("[Entrypoint]"));
        console.log(
            `      ${POD} deleted on ${before.spec.nodeName}; back Ready after ${seconds.toFixed(1)} s on ${pod.spec.nodeName}, ` +
                `restarts ${status.restartCount}; rows before ${rowsBefore}, after ${rowsAfter}; entrypoint said: ` +
                entrypoint.map((l) => l.replace(/^.*\[Entrypoint\]: /, "")).join(" | "),
        );
        assert.strictEqual(rowsAfter, rowsBefore, "rows lost across the pod's deletion");
        assert.strictEqual(pod.spec.nodeName, before.spec.nodeName, "the claim's local volume pins the pod to its node");
        assert.strictEqual(status.restartCount, 0);
        assert.ok(!log.stdout.includes("Initializing database files"), "the entrypoint must not initialise a datadir that exists");
    });
});
