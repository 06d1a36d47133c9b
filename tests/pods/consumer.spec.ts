// Real pods: all of prod (MariaDB with its replica, Redis with Sentinel, three Kafka brokers; TLS, auth and
// NetworkPolicies) deployed by `pulumi up` of index.ts to three real nodes (tests/helpers/prodStack.ts), then
// the example service stack (examples/order-service) rendered on prod's real stack outputs, as `pulumi up` of the service would
// after a StackReference: its Namespace, its Secret of Spring Boot settings, the CA ConfigMap and its
// Deployment. The Deployment is applied as rendered except for its container: no Spring Boot image is built
// here, so three client containers stand in for the application's three connections, each with the example's
// envFrom (the one Secret), its CA mount and its security context, each reading only the SPRING_* settings,
// as the application would. Each writes a value through its service's Service over TLS (verifying the
// server's name against the backbone's CA) and reads it back; the pod is Ready only when all three did.
//
// Test overrides of the stacks, and why: MariaDB and Kafka scaled down (768Mi limits) so the whole of prod
// fits this machine; a Kafka topic with the orders user's grants (prod declares none); the example at one
// replica; the rest as in tests/helpers/prodStack.ts. prod's NetworkPolicies are enforced: the example's
// namespace is one prod allows.

import * as assert from "assert";
import * as path from "path";
import { readStackFile, ROOT, runOffline, type Manifest } from "../../scripts/lib/mockRuntime";
import { randomToken, waitFor } from "../../scripts/lib/servers";
import { CA_FILE } from "../../examples/order-service/backbone";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { realCluster } from "../helpers/nodes";
import { KAFKA_TOPIC, prodOnNodes, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(900);

const NODES = 3;
const EXAMPLE_DIR = path.join(ROOT, "examples", "order-service");
const TOPIC = KAFKA_TOPIC;

/** MariaDB from SPRING_DATASOURCE_URL (jdbc:mariadb://host:port/db?sslMode=verify-full&serverSslCert=<CA>). */
const MARIADB_CLIENT = `
u="\${SPRING_DATASOURCE_URL#jdbc:mariadb://}"; hp="\${u%%/*}"; rest="\${u#*/}"; db="\${rest%%\\?*}"
ca=""; case "$SPRING_DATASOURCE_URL" in *serverSslCert=*) ca="\${SPRING_DATASOURCE_URL##*serverSslCert=}"; ca="\${ca%%&*}" ;; esac
sql() { MYSQL_PWD="$SPRING_DATASOURCE_PASSWORD" mariadb \${ca:+--ssl-ca="$ca" --ssl-verify-server-cert} -h "\${hp%:*}" -P "\${hp##*:}" -u "$SPRING_DATASOURCE_USERNAME" --batch --skip-column-names "$db" -e "$1"; }
until sql "CREATE TABLE IF NOT EXISTS consumer (run VARCHAR(16) PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB" 2>/tmp/err; do echo "mariadb-waiting: $(head -c 200 /tmp/err)"; sleep 2; done
sql "INSERT INTO consumer VALUES ('$RUN', 'order-$RUN')"
echo "mariadb-read: $(sql "SELECT v FROM consumer WHERE run = '$RUN'")"
echo "mariadb-tls: $(sql "SHOW SESSION STATUS LIKE 'Ssl_version'" | cut -f2)"
touch /tmp/done
exec sleep 100000
`;

/** Redis through the Sentinels (SPRING_DATA_REDIS_SENTINEL_*) or SPRING_DATA_REDIS_URL, with TLS when SPRING_DATA_REDIS_SSL_ENABLED. */
const REDIS_CLIENT = `
tls=""; [ "\${SPRING_DATA_REDIS_SSL_ENABLED:-}" = true ] && tls="--tls --cacert ${CA_FILE}"
host=""
until [ -n "$host" ]; do
    if [ -n "\${SPRING_DATA_REDIS_SENTINEL_NODES:-}" ]; then
        for s in $(echo "$SPRING_DATA_REDIS_SENTINEL_NODES" | tr ',' ' '); do
            a="$(REDISCLI_AUTH="$SPRING_DATA_REDIS_SENTINEL_PASSWORD" redis-cli $tls -h "\${s%:*}" -p "\${s##*:}" --raw SENTINEL get-master-addr-by-name "$SPRING_DATA_REDIS_SENTINEL_MASTER" 2>/dev/null | tr '\\n' ' ')"
            set -- $a
            if [ -n "\${2:-}" ]; then host="$1"; port="$2"; break; fi
        done
    else
        hp="\${SPRING_DATA_REDIS_URL#*://}"; host="\${hp%:*}"; port="\${hp##*:}"
    fi
    [ -n "$host" ] || { echo "redis-waiting: no Sentinel named a primary"; sleep 2; }
done
r() { REDISCLI_AUTH="$SPRING_DATA_REDIS_PASSWORD" redis-cli $tls -h "$host" -p "$port" --user "$SPRING_DATA_REDIS_USERNAME" --raw "$@"; }
until [ "$(r SET "session:consumer-$RUN" "order-$RUN" 2>&1)" = OK ]; do echo "redis-waiting: SET refused"; sleep 2; done
echo "redis-primary: \${host%%.*}"
echo "redis-read: $(r GET "session:consumer-$RUN")"
echo "redis-outside-pattern: $(r SET "other:$RUN" x 2>&1 | head -c 60)"
touch /tmp/done
exec sleep 100000
`;

/** Kafka from SPRING_KAFKA_* (the Spring Boot names of the client properties), acks=all, then read back. */
const KAFKA_CLIENT = `
umask 077
p=/tmp/client.properties
{
    echo "security.protocol=$SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL"
    echo "sasl.mechanism=$SPRING_KAFKA_PROPERTIES_SASL_MECHANISM"
    printf 'sasl.jaas.config=%s\\n' "$SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG"
    if [ -n "\${SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION:-}" ]; then
        echo "ssl.truststore.type=$SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_TYPE"
        echo "ssl.truststore.location=$SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION"
    fi
} > "$p"
bin=/opt/kafka/bin
seq 1 10 | sed "s/^/$RUN-/" | "$bin/kafka-console-producer.sh" --bootstrap-server "$SPRING_KAFKA_BOOTSTRAP_SERVERS" --topic ${TOPIC} --producer.config "$p" \\
    --producer-property acks=all 2>/tmp/produce.err
echo "kafka-produce-exit: $? errors: $(grep -c ERROR /tmp/produce.err)"
"$bin/kafka-console-consumer.sh" --bootstrap-server "$SPRING_KAFKA_BOOTSTRAP_SERVERS" --topic ${TOPIC} --consumer.config "$p" --group "orders-consumer-$RUN" \\
    --from-beginning --max-messages 10 --timeout-ms 60000 >/tmp/read 2>/tmp/consume.err
echo "kafka-read: $(grep -c "^$RUN-" /tmp/read)"
touch /tmp/done
exec sleep 100000
`;

describe("real pods: all of prod on real kubelets, and the example order-service Deployment writing to each service over TLS", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let prod: ProdDeployment;
    let objects: Manifest[] = [];
    const run = randomToken(8);

    const image = (ns: string, name: string) =>
        (objects.find((o) => o.kind === "StatefulSet" && o.metadata.namespace === ns && o.metadata.name === name) as Obj).spec.template.spec.containers[0].image as string;

    it("pulumi up of prod returns with MariaDB, Redis and Kafka Ready on the nodes and their reconcile Jobs complete", async function () {
        cp = cluster.cp;
        prod = await prodOnNodes(cluster, this);
        objects = prod.objects;
        console.log(
            `      up ${prod.upSeconds.toFixed(1)} s; Ready after its start: ${Object.entries(prod.readySeconds).map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(", ")}; ` +
                `Jobs complete: ${objects.filter((o) => o.kind === "Job").map((j) => j.metadata.name).join(", ")}`,
        );
    });

    it("the example's Deployment, its three connections as client containers, writes to and reads from MariaDB, Redis and Kafka through their Services with TLS", async function () {
        const c = cp!;
        const done = startClock("example order-service Deployment until Ready");
        const service = await runOffline(
            () => {
                const entry = path.join(EXAMPLE_DIR, "index.ts");
                delete require.cache[require.resolve(entry)];
                return require(entry);
            },
            { project: "order-service", stack: "prod", config: readStackFile(EXAMPLE_DIR, "prod"), withSecrets: true, previousOutputs: prod.outputs },
        );
        const deployment = service.objects.find((o) => o.kind === "Deployment") as Obj;
        assert.ok(deployment, "the example renders a Deployment");
        const spec = deployment.spec.template.spec;
        const app = spec.containers[0];
        assert.ok(
            app.volumeMounts.some((m: Obj) => `${m.mountPath}/ca.crt` === CA_FILE),
            "prod's example mounts the backbone's CA",
        );
        const client = (name: string, img: string, shell: string, script: string, extraEnv: { name: string; value: string }[] = []) => ({
            ...app,
            name,
            image: img,
            imagePullPolicy: "IfNotPresent",
            command: [shell, "-c", script],
            ports: undefined,
            env: [{ name: "RUN", value: run }, ...extraEnv],
            readinessProbe: { exec: { command: ["cat", "/tmp/done"] }, periodSeconds: 2 },
            volumeMounts: [...app.volumeMounts, { name: `tmp-${name}`, mountPath: "/tmp" }],
        });
        const kafkaJvm = [
            { name: "KAFKA_HEAP_OPTS", value: "-Xms32m -Xmx128m" },
            { name: "KAFKA_JVM_PERFORMANCE_OPTS", value: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true" },
        ];
        deployment.spec.replicas = 1;
        spec.containers = [
            client("mariadb", image("db", "mariadb"), "bash", MARIADB_CLIENT),
            client("redis", image("cache", "redis"), "sh", REDIS_CLIENT),
            client("kafka", image("messaging", "kafka"), "bash", KAFKA_CLIENT, kafkaJvm),
        ];
        spec.volumes = [...spec.volumes, ...["mariadb", "redis", "kafka"].map((n) => ({ name: `tmp-${n}`, emptyDir: { sizeLimit: "64Mi" } }))];
        const t0 = Date.now();
        const outcomes = await c.applyServerSide(service.objects);
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused part of the example's render");
        const ns = deployment.metadata.namespace;
        const pod = await waitFor(
            "the example's pod Ready (each client container wrote and read)",
            async () => {
                const d = await c.getObject(deployment);
                if (d?.status?.readyReplicas !== 1) return undefined;
                return (await c.list("v1", "Pod", ns, "app.kubernetes.io/name=order-service")).find((p: Obj) => !p.metadata.deletionTimestamp);
            },
            { timeoutMs: 420_000, intervalMs: 2000 },
        ).catch(async (e: Error) => {
            const d = await c.kubectl(["-n", ns, "describe", "pods"]);
            const logs = await Promise.all(["mariadb", "redis", "kafka"].map((n) => c.kubectl(["-n", ns, "logs", "deployment/order-service", "-c", n, "--tail=5"])));
            throw new Error(`${e.message}\n${d.stdout.split("\n").slice(-20).join("\n")}\n${logs.map((l) => l.stdout + l.stderr).join("\n")}`);
        });
        const logs = new Map<string, string>();
        for (const n of ["mariadb", "redis", "kafka"]) {
            const r = await c.kubectl(["-n", ns, "logs", pod.metadata.name, "-c", n]);
            for (const line of r.stdout.split("\n")) {
                const m = /^([a-z-]+): ?(.*)$/.exec(line);
                if (m && !m[1].endsWith("-waiting")) logs.set(m[1], m[2]);
            }
        }
        done();
        console.log(
            `      ${ns}/${pod.metadata.name} Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the apply, on ${pod.spec.nodeName}: ` +
                [...logs].map(([k, v]) => `${k}=${v}`).join("; "),
        );
        assert.strictEqual(logs.get("mariadb-read"), `order-${run}`, "MariaDB: the row written through the Service, read back");
        assert.match(logs.get("mariadb-tls") ?? "", /^TLSv1\.[23]$/, "MariaDB: the session is TLS");
        assert.strictEqual(logs.get("redis-read"), `order-${run}`, "Redis: the key written on the primary the Sentinels name, read back");
        assert.match(logs.get("redis-primary") ?? "", /^redis-\d$/);
        assert.match(logs.get("redis-outside-pattern") ?? "", /NOPERM/, "Redis: the user is held to its key pattern");
        assert.strictEqual(logs.get("kafka-produce-exit"), "0 errors: 0", "Kafka: 10 records written with acks=all");
        assert.strictEqual(logs.get("kafka-read"), "10", "Kafka: the 10 records read back");
    });
});
