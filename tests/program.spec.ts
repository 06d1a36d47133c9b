// Whole-program tests: the real index.ts for the real stack files, run under the offline (mock) runtime.

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackConfig } from "../components/stackConfig";
import { IMAGE_USERS } from "../components/imageUsers";
import { Manifest, REDACTED, RenderResult, renderStack, ROOT, secretFieldPaths } from "../scripts/lib/mockRuntime";
import { Any, containers, find, ofKind, podSpec } from "../scripts/lib/manifests";
import { connectionAllowed, Pod } from "./helpers/netpol";
import { validateManifest } from "./helpers/schema";

const stacks: Record<string, { redacted: RenderResult; revealed: RenderResult }> = {};

before(async function () {
    this.timeout(120000);
    for (const stack of ["dev", "prod"]) {
        stacks[stack] = { redacted: await renderStack(stack), revealed: await renderStack(stack, { withSecrets: true }) };
    }
});

const SERVICES = [
    { app: "mariadb", ns: "db", port: 3306, size: "10Gi", image: "mariadb:10.11", user: IMAGE_USERS.mariadb },
    { app: "redis", ns: "cache", port: 6379, size: "5Gi", image: "redis:7.2-alpine", user: IMAGE_USERS.redis },
    { app: "kafka", ns: "messaging", port: 9092, size: "10Gi", image: "apache/kafka:3.8.1", user: IMAGE_USERS.kafka },
];

describe("program: dev stack keeps the seed's promises", () => {
    for (const s of SERVICES) {
        it(`${s.app}: namespace ${s.ns}, StatefulSet and Service ${s.app} on ${s.port}, ${s.size} on local-path, ${s.image}`, () => {
            const objects = stacks.dev.redacted.objects;
            find(objects, "Namespace", undefined, s.ns);
            const sts = find(objects, "StatefulSet", s.ns, s.app) as Any;
            assert.strictEqual(containers(sts)[0].image, s.image);
            const claim = sts.spec.volumeClaimTemplates[0];
            assert.strictEqual(claim.spec.resources.requests.storage, s.size);
            assert.strictEqual(claim.spec.storageClassName, "local-path");
            const svc = find(objects, "Service", s.ns, s.app) as Any;
            assert.strictEqual(svc.spec.type, "ClusterIP");
            assert.deepStrictEqual(svc.spec.ports.map((p: Any) => p.port), [s.port]);
            const headless = find(objects, "Service", s.ns, `${s.app}-headless`) as Any;
            assert.strictEqual(headless.spec.clusterIP, "None");
            assert.strictEqual(sts.spec.serviceName, `${s.app}-headless`);
        });
    }

    it("Kafka runs KRaft (no ZooKeeper) with the controller on 9093", () => {
        const cm = find(stacks.dev.redacted.objects, "ConfigMap", "messaging", "kafka-config") as Any;
        const props: string = cm.data["server.properties"];
        assert.match(props, /^process\.roles=broker,controller$/m);
        assert.match(props, /CONTROLLER:\/\/:9093/);
        assert.doesNotMatch(props, /zookeeper/i);
        const headless = find(stacks.dev.redacted.objects, "Service", "messaging", "kafka-headless") as Any;
        assert.ok(headless.spec.ports.some((p: Any) => p.port === 9093));
    });

    it("Redis persists with AOF (appendonly yes, everysec) on /data", () => {
        const conf: string = (find(stacks.dev.redacted.objects, "ConfigMap", "cache", "redis-config") as Any).data["redis.conf"];
        assert.match(conf, /^appendonly yes$/m);
        assert.match(conf, /^appendfsync everysec$/m);
        assert.match(conf, /^dir \/data$/m);
        const mounts = containers(find(stacks.dev.redacted.objects, "StatefulSet", "cache", "redis"))[0].volumeMounts;
        assert.ok(mounts.some((m: Any) => m.name === "data" && m.mountPath === "/data"));
    });
});

describe("program: prod stack", () => {
    it("uses its own storage class, 3 Kafka voters, protection and TLS", () => {
        const objects = stacks.prod.redacted.objects;
        for (const sts of ofKind(objects, "StatefulSet") as Any[]) {
            assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "longhorn");
        }
        assert.strictEqual((find(objects, "StatefulSet", "messaging", "kafka") as Any).spec.replicas, 3);
        for (const name of ["mariadb-tls", "redis-tls", "kafka-tls"]) {
            assert.ok(objects.some((o) => o.kind === "Secret" && o.metadata.name === name), name);
        }
        const props: string = (find(objects, "ConfigMap", "messaging", "kafka-config") as Any).data["server.properties"];
        assert.match(props, /CLIENT:SASL_SSL/);
    });

    it("alerts on each certificate's expiry from the certificate's own end of validity; no warning about the Operator", () => {
        const objects = stacks.prod.revealed.objects;
        for (const { app, ns } of SERVICES) {
            const crt = (find(objects, "Secret", ns, `${app}-tls`) as Any).stringData["tls.crt"] as string;
            const notAfter = Math.floor(Date.parse(new crypto.X509Certificate(crt).validTo) / 1000);
            const groups = (find(objects, "PrometheusRule", ns, `${app}-alerts`) as Any).spec.groups as Any[];
            const recording = groups.find((g) => g.name === `${app}-certificate`).rules.find((r: Any) => r.record);
            assert.deepStrictEqual(recording, { record: "msa_infra_tls_certificate_not_after_seconds", expr: `vector(${notAfter})`, labels: { namespace: ns, secret: `${app}-tls` } });
        }
        assert.ok(!stacks.prod.redacted.warnings.some((w) => /monitoring\.prometheusOperator/.test(w)), stacks.prod.redacted.warnings.join("\n"));
    });

    it("warns, naming the key, when a production stack declares no Prometheus Operator (no alert rule is rendered)", async () => {
        const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config as Record<string, unknown>;
        const config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^msa-infra:/, ""), v]));
        const r = await renderStack("prod", { config: { ...config, monitoring: { prometheusOperator: false } } });
        assert.ok(r.warnings.some((w) => /msa-infra:monitoring\.prometheusOperator is false in a production stack: no PrometheusRule/.test(w)), r.warnings.join("\n"));
        assert.deepStrictEqual(ofKind(r.objects, "PrometheusRule"), []);
    });

    it("protects namespaces, StatefulSets, generated credentials and the cluster id; dev protects nothing", () => {
        const protectedNames = (r: RenderResult) => r.resources.filter((x) => x.options.protect).map((x) => `${x.type}::${x.name}`);
        const prod = protectedNames(stacks.prod.redacted);
        for (const expected of [
            "kubernetes:core/v1:Namespace::mariadb-namespace",
            "kubernetes:apps/v1:StatefulSet::kafka-statefulset",
            "random:index/randomPassword:RandomPassword::mariadb-root-password",
            "random:index/randomId:RandomId::kafka-cluster-id",
            "kubernetes:core/v1:Secret::mariadb-credentials",
        ]) {
            assert.ok(prod.includes(expected), `${expected} is not protected`);
        }
        assert.deepStrictEqual(protectedNames(stacks.dev.redacted), []);
    });
});

describe("program: pulumi destroy keeps the data unless the stack opts in", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every namespace (which takes its volume claims with it) is retained on destroy`, () => {
            const namespaces = stacks[stack].redacted.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace");
            assert.strictEqual(namespaces.length, 3);
            for (const n of namespaces) {
                assert.strictEqual(n.options.retainOnDelete, true, `${n.name} is deleted by pulumi destroy, and its claims with it`);
            }
        });
    }

    it("dev with deleteDataOnDestroy: true lets destroy delete the namespaces (an explicit opt-in); production refuses it", async () => {
        const raw = Object.fromEntries(Object.entries(YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config).map(([k, v]) => [k.replace(/^msa-infra:/, ""), v]));
        const r = await renderStack("dev", { config: { ...raw, deleteDataOnDestroy: true } });
        for (const n of r.resources.filter((x) => x.type === "kubernetes:core/v1:Namespace")) {
            assert.strictEqual(n.options.retainOnDelete, false, n.name);
        }
        assert.throws(
            () => parseStackConfig({ environment: "production", storageClass: "longhorn", networkPolicies: { allowedNamespaces: ["a"] }, deleteDataOnDestroy: true }),
            /msa-infra:deleteDataOnDestroy: true is not allowed when environment is production/,
        );
    });
});

describe("program: every rendered object", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: validates against the Kubernetes OpenAPI schema`, async () => {
            const objects = stacks[stack].redacted.objects;
            assert.ok(objects.length > 20);
            // The Prometheus Operator's kinds have no built-in schema: tests/monitoring/operations.spec.ts
            // validates them against the Operator's CRDs.
            for (const o of objects.filter((x) => !x.apiVersion.startsWith("monitoring.coreos.com/"))) {
                await validateManifest(o);
            }
        });

        it(`${stack}: has an explicit name and the app.kubernetes.io labels`, () => {
            for (const o of stacks[stack].redacted.objects) {
                assert.ok(o.metadata.name, `${o.kind} without metadata.name`);
                assert.strictEqual(o.metadata.labels?.["app.kubernetes.io/part-of"], "msa-infra", `${o.kind} ${o.metadata.name}`);
                assert.strictEqual(o.metadata.labels?.["app.kubernetes.io/managed-by"], "pulumi");
            }
        });
    }
});

describe("program: workloads", () => {
    for (const stack of ["dev", "prod"]) {
        for (const s of SERVICES) {
            it(`${stack}/${s.app}: hardened pod and containers for the image's real user`, () => {
                const sts = find(stacks[stack].redacted.objects, "StatefulSet", s.ns, s.app);
                const pod = podSpec(sts);
                assert.strictEqual(pod.automountServiceAccountToken, false);
                assert.strictEqual(pod.enableServiceLinks, false);
                assert.strictEqual(pod.serviceAccountName, s.app);
                assert.strictEqual(pod.securityContext.runAsNonRoot, true);
                assert.strictEqual(pod.securityContext.fsGroup, s.user.fsGroup);
                assert.strictEqual(pod.securityContext.seccompProfile.type, "RuntimeDefault");
                assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);
                for (const c of containers(sts)) {
                    const sc = c.securityContext;
                    assert.strictEqual(sc.runAsNonRoot, true);
                    assert.strictEqual(sc.runAsUser, s.user.uid);
                    assert.strictEqual(sc.runAsGroup, s.user.gid);
                    assert.strictEqual(sc.allowPrivilegeEscalation, false);
                    assert.strictEqual(sc.privileged, false);
                    assert.strictEqual(sc.readOnlyRootFilesystem, true);
                    assert.deepStrictEqual(sc.capabilities.drop, ["ALL"]);
                    assert.strictEqual(sc.seccompProfile.type, "RuntimeDefault");
                    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory && c.resources.limits.cpu);
                }
                // The server container has every probe; a helper only liveness (its readiness must not take the
                // pod out of its Services); an init container none (Kubernetes refuses probes there).
                for (const c of pod.containers) {
                    const expected = c.name === s.app ? ["startupProbe", "readinessProbe", "livenessProbe"] : ["livenessProbe"];
                    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
                        assert.strictEqual(Boolean(c[probe]), expected.includes(probe), `${s.app}/${c.name}: ${probe}`);
                    }
                }
                for (const c of pod.initContainers ?? []) {
                    assert.ok(!c.startupProbe && !c.readinessProbe && !c.livenessProbe, `init container ${c.name} has no probes`);
                }
                assert.ok(pod.containers.some((c: Any) => c.name === s.app), `${s.app} runs a container named ${s.app}`);
                // Every writable path is a mounted volume (the root filesystem is read-only).
                for (const v of pod.volumes.filter((v: Any) => v.emptyDir)) {
                    assert.ok(v.emptyDir.sizeLimit, `emptyDir ${v.name} has no sizeLimit`);
                }
                find(stacks[stack].redacted.objects, "ServiceAccount", s.ns, s.app);
                assert.strictEqual((find(stacks[stack].redacted.objects, "ServiceAccount", s.ns, s.app) as Any).automountServiceAccountToken, false);
            });

            it(`${stack}/${s.app}: volumes are retained and immutable-field changes are replacements, not failed updates`, () => {
                const sts = find(stacks[stack].redacted.objects, "StatefulSet", s.ns, s.app) as Any;
                assert.deepStrictEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
                // Deleting the StatefulSet deletes its pods (the provider's foreground propagation); the claims stay.
                assert.strictEqual(sts.metadata.annotations?.["pulumi.com/deletionPropagationPolicy"], undefined);
                const registered = stacks[stack].redacted.resources.find((r) => r.name === `${s.app}-statefulset`)!;
                assert.ok(registered.options.replaceOnChanges?.includes("spec.volumeClaimTemplates"));
                assert.strictEqual(registered.options.deleteBeforeReplace, true);
                assert.match(registered.options.parent ?? "", new RegExp(`msa-infra:index:[A-Za-z]+::${s.app}$`));
            });

            it(`${stack}/${s.app}: namespace enforces the configured Pod Security level`, () => {
                const ns = find(stacks[stack].redacted.objects, "Namespace", undefined, s.ns);
                assert.strictEqual(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
                assert.strictEqual(ns.metadata.labels?.["pod-security.kubernetes.io/audit"], "restricted");
                assert.strictEqual(ns.metadata.labels?.["pod-security.kubernetes.io/warn"], "restricted");
            });
        }
    }

    it("MariaDB gets its root password from a mounted Secret file, never a literal", () => {
        const c = podSpec(find(stacks.dev.redacted.objects, "StatefulSet", "db", "mariadb")).containers.find((x: Any) => x.name === "mariadb");
        const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e]));
        assert.strictEqual(env.MARIADB_ROOT_PASSWORD, undefined);
        assert.strictEqual(env.MARIADB_ROOT_PASSWORD_FILE.value, "/etc/mysql/credentials/root-password");
        const pod = podSpec(find(stacks.dev.redacted.objects, "StatefulSet", "db", "mariadb"));
        const credentials = pod.volumes.find((v: Any) => v.name === "credentials");
        assert.strictEqual(credentials.secret.secretName, "mariadb-credentials");
        assert.ok(c.volumeMounts.some((m: Any) => m.name === "credentials" && m.mountPath === "/etc/mysql/credentials"));
    });

    it("Redis probes authenticate with the admin password file mounted from the Secret, read at each run (no password in the environment)", () => {
        const spec = podSpec(find(stacks.prod.redacted.objects, "StatefulSet", "cache", "redis"));
        const c = spec.containers.find((x: Any) => x.name === "redis");
        assert.ok(!(c.env ?? []).some((e: Any) => e.name === "REDISCLI_AUTH"), "REDISCLI_AUTH in the environment: a container reads it only at its start");
        const mount = c.volumeMounts.find((m: Any) => m.mountPath === "/etc/redis/credentials");
        assert.strictEqual(spec.volumes.find((v: Any) => v.name === mount.name).secret.secretName, "redis-credentials");
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
            assert.match(probe.exec.command[2], /REDISCLI_AUTH="\$\(cat \/etc\/redis\/credentials\/password\)" redis-cli/);
            assert.doesNotMatch(JSON.stringify(probe), / -a /);
        }
    });

    it("Kafka: node id from the pod ordinal, stable generated cluster id, log dirs on the volume", () => {
        const cm = find(stacks.prod.revealed.objects, "ConfigMap", "messaging", "kafka-config") as Any;
        assert.match(cm.data["start.sh"], /ordinal="\$\{HOSTNAME##\*-\}"/);
        assert.match(cm.data["server.properties"], /^node\.id=@NODE_ID@$/m);
        assert.match(cm.data["server.properties"], /^log\.dirs=\/var\/lib\/kafka\/data\/logs$/m);
        assert.match(cm.data["cluster-id"], /^[A-Za-z0-9_-]{22}$/);
        assert.notStrictEqual(cm.data["cluster-id"], "5L6g3nShT-eMCtK--X86sw");
        const id = stacks.prod.redacted.resources.find((r) => r.type === "random:index/randomId:RandomId")!;
        // No keepers: nothing in the stack config can regenerate it.
        assert.deepStrictEqual(id.inputs, { byteLength: 16 });
    });
});

describe("program: secrets", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: generated values appear only inside Secrets`, () => {
            const { revealed } = stacks[stack];
            assert.ok(revealed.generatedSecrets.length >= 6);
            for (const o of revealed.objects.filter((x) => x.kind !== "Secret")) {
                const text = JSON.stringify(o);
                for (const secret of revealed.generatedSecrets) {
                    assert.ok(!text.includes(secret), `${o.kind} ${o.metadata.name} contains generated secret material`);
                }
                assert.deepStrictEqual(secretFieldPaths(o), []);
            }
            // ...and they do reach the Secrets when revealed.
            const secretsText = JSON.stringify(revealed.objects.filter((x) => x.kind === "Secret"));
            assert.ok(revealed.generatedSecrets.filter((s) => !s.startsWith("-----")).every((s) => secretsText.includes(s)));
        });

        it(`${stack}: redacted by default, and no secret in plain env values, args or annotations`, () => {
            const { redacted } = stacks[stack];
            for (const s of redacted.objects.filter((x) => x.kind === "Secret") as Any[]) {
                for (const v of Object.values(s.stringData ?? {})) {
                    assert.strictEqual(v, REDACTED);
                }
            }
            for (const sts of ofKind(redacted.objects, "StatefulSet")) {
                for (const c of containers(sts)) {
                    for (const e of c.env ?? []) {
                        if (/PASSWORD|SECRET|AUTH|TOKEN/.test(e.name)) {
                            assert.ok(e.valueFrom?.secretKeyRef || /_FILE$/.test(e.name), `${e.name} is a plain value`);
                        }
                    }
                }
            }
        });

        it(`${stack}: credentials are stack outputs only as secrets; connection outputs hold none`, () => {
            const { redacted, revealed } = stacks[stack];
            for (const key of ["mariadbRootPassword", "redisPassword", "kafkaAdminPassword", "mariadbUserPasswords", "redisUserPasswords", "kafkaUserPasswords"]) {
                assert.strictEqual(redacted.outputs[key], REDACTED, `${key} is not a secret output`);
            }
            const plain = JSON.stringify([redacted.outputs.mariadbConnection, redacted.outputs.redisConnection, redacted.outputs.kafkaConnection]);
            assert.ok(!plain.includes(REDACTED));
            for (const secret of revealed.generatedSecrets) {
                assert.ok(!JSON.stringify(revealed.outputs.mariadbConnection).includes(secret));
            }
            assert.strictEqual(typeof revealed.outputs.mariadbRootPassword, "string");
            assert.strictEqual((revealed.outputs.mariadbRootPassword as string).length, 32);
        });
    }

    it("the seed's password-on-the-command-line pattern appears nowhere", () => {
        for (const stack of ["dev", "prod"]) {
            const text = JSON.stringify(stacks[stack].revealed.objects);
            assert.doesNotMatch(text, /-prootpassword|rootpassword123|--requirepass|mysqldump -u root -p/);
        }
    });
});

describe("program: outputs a service stack needs", () => {
    it("dev: host, port, namespace, Secret references and ready connection strings", () => {
        const o = stacks.dev.redacted.outputs as Any;
        assert.deepStrictEqual(
            [o.mariadbConnection.host, o.mariadbConnection.port, o.mariadbConnection.namespace],
            ["mariadb.db.svc.cluster.local", 3306, "db"],
        );
        assert.strictEqual(o.mariadbConnection.jdbcUrl, "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/");
        assert.deepStrictEqual(o.mariadbConnection.rootSecret, { name: "mariadb-credentials", key: "root-password" });
        assert.strictEqual(o.mariadbConnection.databases[0].jdbcUrl, "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/orders");
        assert.strictEqual(o.redisConnection.host, "redis.cache.svc.cluster.local");
        assert.strictEqual(o.redisConnection.port, 6379);
        assert.strictEqual(o.kafkaConnection.bootstrapServers, "kafka.messaging.svc.cluster.local:9092");
        assert.strictEqual(o.kafkaConnection.securityProtocol, "SASL_PLAINTEXT");
    });

    it("prod: TLS endpoints say which Secret and CA to use", () => {
        const o = stacks.prod.redacted.outputs as Any;
        assert.deepStrictEqual(o.redisConnection.tls, { enabled: true, secretName: "redis-tls", caKey: "ca.crt" });
        assert.strictEqual(o.redisConnection.url, "rediss://redis.cache.svc.cluster.local:6379");
        assert.match(o.mariadbConnection.jdbcUrl, /sslMode=verify-full/);
        assert.strictEqual(o.kafkaConnection.securityProtocol, "SASL_SSL");
        assert.match(o.tlsCaCertificate, /BEGIN CERTIFICATE/);
    });
});

describe("program: NetworkPolicies as a connectivity matrix", () => {
    const pod = (namespace: string, app?: string): Pod => ({
        namespace,
        labels: app ? { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app } : { app: "client" },
    });
    const cases: [string, Pod, Pod, number, string, boolean][] = [
        ["allowed client namespace → MariaDB", pod("order-service"), pod("db", "mariadb"), 3306, "TCP", true],
        ["allowed client namespace → Redis", pod("auth-service"), pod("cache", "redis"), 6379, "TCP", true],
        ["allowed client namespace → Kafka client port", pod("order-service"), pod("messaging", "kafka"), 9092, "TCP", true],
        ["monitoring → Redis metrics port (exporter sidecar)", pod("monitoring"), pod("cache", "redis"), 9121, "TCP", true],
        ["monitoring → MariaDB metrics port (exporter sidecar)", pod("monitoring"), pod("db", "mariadb"), 9104, "TCP", true],
        ["monitoring → Redis client port (the exporter is a sidecar)", pod("monitoring"), pod("cache", "redis"), 6379, "TCP", false],
        ["allowed client namespace → Redis metrics port", pod("auth-service"), pod("cache", "redis"), 9121, "TCP", false],
        ["other pod in db → MariaDB", pod("db"), pod("db", "mariadb"), 3306, "TCP", false],
        ["other namespace → MariaDB", pod("default"), pod("db", "mariadb"), 3306, "TCP", false],
        ["other namespace → Kafka", pod("payments"), pod("messaging", "kafka"), 9092, "TCP", false],
        ["client namespace → Kafka controller port", pod("order-service"), pod("messaging", "kafka"), 9093, "TCP", false],
        ["client namespace → Kafka inter-broker port", pod("order-service"), pod("messaging", "kafka"), 9094, "TCP", false],
        ["client namespace → MariaDB on another port", pod("order-service"), pod("db", "mariadb"), 4444, "TCP", false],
        ["Kafka broker → Kafka controller (quorum)", pod("messaging", "kafka"), pod("messaging", "kafka"), 9093, "TCP", true],
        ["Kafka broker → Kafka inter-broker", pod("messaging", "kafka"), pod("messaging", "kafka"), 9094, "TCP", true],
        ["other pod in messaging → Kafka controller", pod("messaging"), pod("messaging", "kafka"), 9093, "TCP", false],
        ["Kafka → cluster DNS (UDP)", pod("messaging", "kafka"), pod("kube-system", "coredns"), 53, "UDP", true],
        ["MariaDB → cluster DNS (TCP)", pod("db", "mariadb"), pod("kube-system", "coredns"), 53, "TCP", true],
        ["MariaDB → Kafka (egress restricted)", pod("db", "mariadb"), pod("messaging", "kafka"), 9092, "TCP", false],
        ["MariaDB replica → MariaDB primary (replication, clone)", pod("db", "mariadb"), pod("db", "mariadb"), 3306, "TCP", true],
        ["MariaDB → MariaDB exporter port", pod("db", "mariadb"), pod("db", "mariadb"), 9104, "TCP", false],
        ["Redis → outside world", pod("cache", "redis"), pod("internet"), 443, "TCP", false],
        ["allowed client namespace → Redis Sentinel", pod("order-service"), pod("cache", "redis"), 26379, "TCP", true],
        ["Redis pod → Redis Sentinel (the Sentinels among themselves)", pod("cache", "redis"), pod("cache", "redis"), 26379, "TCP", true],
        ["Redis pod → Redis (replication)", pod("cache", "redis"), pod("cache", "redis"), 6379, "TCP", true],
        ["other namespace → Redis Sentinel", pod("payments"), pod("cache", "redis"), 26379, "TCP", false],
        ["other pod in cache → Redis Sentinel", pod("cache"), pod("cache", "redis"), 26379, "TCP", false],
        ["monitoring → Redis Sentinel", pod("monitoring"), pod("cache", "redis"), 26379, "TCP", false],
        ["Redis pod → Kafka (egress restricted to its peers)", pod("cache", "redis"), pod("messaging", "kafka"), 9092, "TCP", false],
    ];
    for (const [title, from, to, port, protocol, expected] of cases) {
        it(`prod: ${title} is ${expected ? "allowed" : "denied"}`, () => {
            assert.strictEqual(connectionAllowed(stacks.prod.redacted.objects, from, to, port, protocol), expected);
        });
    }
    // The backup pods, with the labels their CronJobs give them (egress is restricted in prod).
    const backupPods: [string, string, string, number][] = [
        ["db", "mariadb-backup", "mariadb", 3306],
        ["db", "mariadb-binlog-archive", "mariadb", 3306],
        ["cache", "redis-backup", "redis", 6379],
    ];
    for (const [namespace, cronJob, app, port] of backupPods) {
        it(`prod: CronJob ${cronJob}'s pods reach ${app}:${port}, are not selected by its Service, and reach nothing else`, () => {
            const objects = stacks.prod.redacted.objects;
            const labels: Record<string, string> = (find(objects, "CronJob", namespace, cronJob) as Any).spec.jobTemplate.spec.template.metadata.labels;
            const jobPod: Pod = { namespace, labels };
            assert.strictEqual(connectionAllowed(objects, jobPod, pod(namespace, app), port, "TCP"), true);
            assert.strictEqual(connectionAllowed(objects, jobPod, pod("messaging", "kafka"), 9092, "TCP"), false);
            const selector: Record<string, string> = (find(objects, "Service", namespace, app) as Any).spec.selector;
            assert.ok(!Object.entries(selector).every(([k, v]) => labels[k] === v), `Service ${app} selects the backup pods: ${JSON.stringify(labels)}`);
        });
    }

    it("prod: the Kafka reconcile Job's pods reach the address its ConfigMap names (the client Service, 9092), not the peer ports", () => {
        const objects = stacks.prod.redacted.objects;
        const jobs = ofKind(objects, "Job").filter((j) => j.metadata.namespace === "messaging" && j.metadata.name.startsWith("kafka-reconcile-"));
        assert.strictEqual(jobs.length, 1, "one reconcile Job");
        const labels: Record<string, string> = (jobs[0] as Any).spec.template.metadata.labels;
        const jobPod: Pod = { namespace: "messaging", labels };
        const bootstrap: string = (find(objects, "ConfigMap", "messaging", "kafka-reconcile") as Any).data.bootstrap.trim();
        assert.strictEqual(bootstrap, "kafka.messaging.svc.cluster.local:9092");
        const props: string = (find(objects, "ConfigMap", "messaging", "kafka-reconcile") as Any).data["client.properties"];
        assert.match(props, new RegExp(`^security\\.protocol=${(stacks.prod.redacted.outputs as Any).kafkaConnection.securityProtocol}$`, "m"), "the client listener's protocol");
        const port = Number(bootstrap.split(":")[1]);
        assert.strictEqual(connectionAllowed(objects, jobPod, pod("messaging", "kafka"), port, "TCP"), true);
        for (const peerPort of [9093, 9094]) assert.strictEqual(connectionAllowed(objects, jobPod, pod("messaging", "kafka"), peerPort, "TCP"), false, `port ${peerPort}`);
        assert.strictEqual(connectionAllowed(objects, jobPod, pod("db", "mariadb"), 3306, "TCP"), false);
    });

    it("prod: every data namespace has a default-deny ingress policy", () => {
        for (const ns of ["db", "cache", "messaging"]) {
            const deny = find(stacks.prod.redacted.objects, "NetworkPolicy", ns, "default-deny-ingress") as Any;
            assert.deepStrictEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress"] });
        }
    });

    it("dev: NetworkPolicies are off, so any namespace reaches the services", () => {
        assert.strictEqual(ofKind(stacks.dev.redacted.objects, "NetworkPolicy").length, 0);
        assert.ok(connectionAllowed(stacks.dev.redacted.objects, pod("default"), pod("db", "mariadb"), 3306));
    });
});

describe("program: config changes", () => {
    it("a change of replicas or sizes does not touch the cluster id or the passwords' inputs", async () => {
        const base = await renderStack("dev");
        const changed = await renderStack("dev", { config: { kafka: { replicas: 3, storageSize: "20Gi" }, redis: { storageSize: "8Gi" } } });
        for (const type of ["random:index/randomId:RandomId", "random:index/randomPassword:RandomPassword"]) {
            const inputs = (r: RenderResult) => r.resources.filter((x) => x.type === type).map((x) => [x.name, x.inputs]);
            assert.deepStrictEqual(inputs(changed).filter(([n]) => inputs(base).some(([m]) => m === n)), inputs(base).filter(([n]) => inputs(changed).some(([m]) => m === n)));
        }
        const props: string = (find(changed.objects, "ConfigMap", "messaging", "kafka-config") as Any).data["server.properties"];
        assert.match(props, /^controller\.quorum\.voters=0@kafka-0\.kafka-headless\.messaging\.svc\.cluster\.local:9093,1@kafka-1\..*,2@kafka-2\./m);
        assert.match(props, /^min\.insync\.replicas=2$/m);
    });

    it("an invented stack with PLAINTEXT Kafka in development renders a PLAINTEXT client listener", async () => {
        const r = await renderStack("sandbox", { config: { kafka: { clientAuth: "none" } } });
        const props: string = (find(r.objects, "ConfigMap", "messaging", "kafka-config") as Any).data["server.properties"];
        assert.match(props, /CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT/);
        assert.strictEqual((r.outputs.kafkaConnection as Any).securityProtocol, "PLAINTEXT");
    });

    it("a cert-manager Issuer in config yields Certificates instead of generated keys", async () => {
        const r = await renderStack("issuer", { config: { tls: { enabled: true, issuer: { name: "platform-ca", kind: "ClusterIssuer" } } } });
        const certs = r.objects.filter((o) => o.kind === "Certificate") as Any[];
        assert.deepStrictEqual(certs.map((c) => c.metadata.name).sort(), ["kafka-tls", "mariadb-tls", "redis-tls"]);
        assert.deepStrictEqual(certs[0].spec.issuerRef, { name: "platform-ca", kind: "ClusterIssuer", group: "cert-manager.io" });
        assert.ok(!r.resources.some((x) => x.type.startsWith("tls:")));
    });

    it("invalid config stops before anything is registered", async () => {
        await assert.rejects(renderStack("broken", { config: { kafka: { replicas: 4 } } }), /msa-infra:kafka\.replicas: 4/);
    });
});

export type { Manifest };
