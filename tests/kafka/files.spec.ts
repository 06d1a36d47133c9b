// Kafka has no real server here (no JVM, no apache/kafka image): the generated server properties are checked
// by the invariants a KRaft cluster of N combined broker+controller nodes needs, on the program's own output
// (renderStack with kafka.replicas = 1, 3, 5, and the prod stack file), and the rendered start.sh is run
// under bash with the Kafka scripts stubbed, to see what each pod would actually start with.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { kafkaHeapMiB, kafkaJaasConfig, kafkaServerProperties, KAFKA_PROBE_LISTENER, quorumVoters, replicationSettings } from "../../components/kafka";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { find, podSpec, type Any } from "../../scripts/lib/manifests";
import { commandLine, configMapData, container, envValue, onlyObject, output, persistentMountPath, secretData, type Container } from "../../scripts/lib/rendered";
import { describeRun, makeTempDir, removeTempDir, run } from "../../scripts/lib/servers";
import { requireBinaries } from "../helpers/servers";

/** The apache/kafka image's built-in default cluster id (/etc/kafka/docker/...): must never be used. */
const IMAGE_DEFAULT_CLUSTER_ID = "5L6g3nShT-eMCtK--X86sw";
const NODE_ID = "@NODE_ID@";
const POD_HOST = "@POD_HOST@";

interface KafkaRendered {
    label: string;
    replicas: number;
    objects: Manifest[];
    namespace: string;
    sts: Manifest;
    container: Container;
    config: Record<string, string>;
    configMapName: string;
    template: string;
    props: Map<string, string>;
    startScript: string;
    clusterId: { value: string; source: string };
}

function parseProperties(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of text.split("\n")) {
        const t = line.trim();
        if (t === "" || t.startsWith("#") || t.startsWith("!")) continue;
        const i = t.indexOf("=");
        assert.ok(i > 0, `server.properties: cannot parse ${JSON.stringify(line)}`);
        const key = t.slice(0, i).trim();
        assert.ok(!out.has(key), `server.properties sets ${key} twice`);
        out.set(key, t.slice(i + 1).trim());
    }
    return out;
}

function prop(props: Map<string, string>, key: string): string {
    const v = props.get(key);
    assert.ok(v !== undefined, `server.properties has no ${key}`);
    return v;
}

function intProp(props: Map<string, string>, key: string): number {
    const v = Number(prop(props, key));
    assert.ok(Number.isInteger(v), `${key}=${props.get(key)} is not an integer`);
    return v;
}

/** `NAME://host:port,...` → [{ name, host, port }]. */
function listeners(value: string): { name: string; host: string; port: number }[] {
    return value.split(",").map((l) => {
        const m = /^([A-Z_][A-Z0-9_]*):\/\/([^:]*):(\d+)$/.exec(l.trim());
        assert.ok(m, `cannot parse listener ${JSON.stringify(l)}`);
        return { name: m[1], host: m[2], port: Number(m[3]) };
    });
}

async function loadKafka(label: string, stack: string, config?: Record<string, unknown>): Promise<KafkaRendered> {
    const r = await renderStack(stack, { withSecrets: true, config });
    const conn = output<{ namespace: string }>(r.outputs, "kafkaConnection");
    const sts = onlyObject(r.objects, "StatefulSet", conn.namespace);
    const c = container(sts, "kafka");
    const clusterId = envValue(r.objects, sts, c, "CLUSTER_ID");
    // The template lives on the ConfigMap volume the start script reads it from.
    const cmMatch = /^ConfigMap [^/]+\/(\S+) key cluster-id$/.exec(clusterId.source);
    assert.ok(cmMatch, `CLUSTER_ID should come from a ConfigMap key cluster-id, comes from ${clusterId.source}`);
    const cm = find(r.objects, "ConfigMap", conn.namespace, cmMatch[1]);
    const data = configMapData(cm);
    return {
        label,
        replicas: (sts as Any).spec.replicas,
        objects: r.objects,
        namespace: conn.namespace,
        sts,
        container: c,
        config: data,
        configMapName: cm.metadata.name,
        template: data["server.properties"],
        props: parseProperties(data["server.properties"]),
        startScript: data["start.sh"],
        clusterId,
    };
}

/** The FQDN of pod `ordinal` through the StatefulSet's governing (headless) Service. */
function podFqdn(k: KafkaRendered, ordinal: number): string {
    return `${k.sts.metadata.name}-${ordinal}.${(k.sts as Any).spec.serviceName}.${k.namespace}.svc.cluster.local`;
}

/**
 * What the start script does to the template for one pod, read from the script itself: the ordinal is the
 * suffix of HOSTNAME after the last '-', the host is the `host="${HOSTNAME}..."` line, and the `sed -e
 * "s/<placeholder>/$<var>/g"` expressions say which placeholder gets which.
 */
function substituteLikeStartScript(k: KafkaRendered, hostname: string): string {
    const script = k.startScript;
    assert.match(script, /^ordinal="\$\{HOSTNAME##\*-\}"$/m, "start.sh derives the ordinal from HOSTNAME");
    const hostLine = /^host="\$\{HOSTNAME\}([^"]*)"$/m.exec(script);
    assert.ok(hostLine, "start.sh builds host from HOSTNAME");
    const vars: Record<string, string> = { ordinal: hostname.slice(hostname.lastIndexOf("-") + 1), host: `${hostname}${hostLine[1]}` };
    const sedLine = script.split("\n").find((l) => /^sed /.test(l));
    assert.ok(sedLine, "start.sh has a sed line");
    const exprs = [...sedLine.matchAll(/-e "s\/([^/]+)\/\$(\w+)\/g"/g)];
    assert.deepStrictEqual(exprs.map((e) => e[1]).sort(), [NODE_ID, POD_HOST].sort(), `sed substitutes both placeholders: ${sedLine}`);
    let text = k.template;
    for (const [, placeholder, variable] of exprs) {
        assert.ok(variable in vars, `sed uses $${variable}, which this test does not know`);
        text = text.split(placeholder).join(vars[variable]);
    }
    return text;
}

// Rendered once per case in before(); the it() blocks below read them.
const CASES: { label: string; stack: string; config?: Record<string, unknown>; replicas: number }[] = [
    { label: "replicas 1", stack: "dev", config: { kafka: { replicas: 1 } }, replicas: 1 },
    { label: "replicas 3", stack: "dev", config: { kafka: { replicas: 3 } }, replicas: 3 },
    { label: "replicas 5", stack: "dev", config: { kafka: { replicas: 5 } }, replicas: 5 },
    { label: "prod stack file (3 voters, TLS)", stack: "prod", replicas: 3 },
];

describe("Kafka (no broker available): the generated server properties by invariants", function () {
    const rendered = new Map<string, KafkaRendered>();

    before(async function () {
        for (const c of CASES) {
            rendered.set(c.label, await loadKafka(c.label, c.stack, c.config));
        }
    });

    for (const c of CASES) {
        const N = c.replicas;
        const k = () => rendered.get(c.label)!;

        describe(c.label, function () {
            it(`runs ${N} pod(s) and lists exactly ${N} quorum voter(s): <i>@kafka-<i>.kafka-headless.<ns>.svc.cluster.local:<controller port>`, function () {
                assert.strictEqual(k().replicas, N);
                const headless = find(k().objects, "Service", k().namespace, (k().sts as Any).spec.serviceName);
                assert.strictEqual((headless.spec as Any).clusterIP, "None", "the governing Service is headless");
                const controllerName = prop(k().props, "controller.listener.names");
                const controllerPort = listeners(prop(k().props, "listeners")).find((l) => l.name === controllerName)?.port;
                assert.ok(controllerPort, `the controller listener ${controllerName} is in listeners`);
                const expected = Array.from({ length: N }, (_, i) => `${i}@${podFqdn(k(), i)}:${controllerPort}`);
                assert.deepStrictEqual(prop(k().props, "controller.quorum.voters").split(","), expected);
                if (k().namespace === "messaging") {
                    // The literal shape the platform documents.
                    assert.deepStrictEqual(expected, Array.from({ length: N }, (_, i) => `${i}@kafka-${i}.kafka-headless.messaging.svc.cluster.local:9093`));
                }
                const portByName = new Map((k().container.ports ?? []).map((p) => [p.name, p.containerPort]));
                assert.strictEqual(portByName.get("controller"), controllerPort, "container port 'controller' = controller listener port");
                assert.ok(!k().props.has("controller.quorum.bootstrap.servers"), "static quorum only (voters), no dynamic bootstrap");
            });

            it("gives each pod node.id = its ordinal and its own FQDN as advertised host (start script substitution); node ids are unique voters", function () {
                const ids = new Set<number>();
                const voterIds = prop(k().props, "controller.quorum.voters")
                    .split(",")
                    .map((v) => Number(v.split("@")[0]));
                for (let i = 0; i < N; i++) {
                    const pod = `${k().sts.metadata.name}-${i}`;
                    const props = parseProperties(substituteLikeStartScript(k(), pod));
                    for (const [key, v] of props) {
                        assert.ok(!v.includes(NODE_ID) && !v.includes(POD_HOST), `${pod}: placeholder left in ${key}=${v}`);
                    }
                    const id = intProp(props, "node.id");
                    assert.strictEqual(id, i, `${pod}: node.id`);
                    ids.add(id);
                    for (const l of listeners(prop(props, "advertised.listeners"))) {
                        // The readiness probe's listener is the pod's own loopback, advertised as such.
                        assert.strictEqual(l.host, l.name === KAFKA_PROBE_LISTENER ? "127.0.0.1" : podFqdn(k(), i), `${pod}: advertised ${l.name} host`);
                    }
                    const ownVoter = prop(props, "controller.quorum.voters").split(",").find((v) => v.startsWith(`${id}@`));
                    assert.strictEqual(ownVoter?.split("@")[1].split(":")[0], podFqdn(k(), i), `${pod}: its voter entry is its own address`);
                }
                assert.strictEqual(ids.size, N, "node ids are unique");
                assert.deepStrictEqual([...ids].sort(), voterIds.sort(), "every node is a voter and every voter a node");
            });

            it("maps every listener to a protocol; the controller listener is listened on but not advertised; the inter-broker one is both", function () {
                const props = k().props;
                const map = new Map(
                    prop(props, "listener.security.protocol.map")
                        .split(",")
                        .map((e) => e.split(":") as [string, string]),
                );
                const listened = listeners(prop(props, "listeners"));
                const advertised = listeners(prop(props, "advertised.listeners"));
                for (const l of [...listened, ...advertised]) {
                    assert.ok(map.has(l.name), `listener ${l.name} has no entry in listener.security.protocol.map`);
                }
                const listenedNames = new Set(listened.map((l) => l.name));
                const advertisedNames = new Set(advertised.map((l) => l.name));
                assert.strictEqual(listenedNames.size, listened.length, "listener names are unique");
                assert.strictEqual(new Set(listened.map((l) => l.port)).size, listened.length, "listener ports are unique");
                for (const name of prop(props, "controller.listener.names").split(",")) {
                    assert.ok(listenedNames.has(name), `controller listener ${name} is in listeners`);
                    assert.ok(!advertisedNames.has(name), `controller listener ${name} must not be in advertised.listeners`);
                }
                const inter = prop(props, "inter.broker.listener.name");
                assert.ok(listenedNames.has(inter), `inter.broker.listener.name ${inter} is in listeners`);
                assert.ok(advertisedNames.has(inter), `inter.broker.listener.name ${inter} is advertised (brokers reach each other through it)`);
                for (const a of advertised) {
                    assert.strictEqual(a.port, listened.find((l) => l.name === a.name)?.port, `${a.name}: advertised port = listened port`);
                }
                // SASL listeners need an enabled mechanism, and the controller/inter-broker mechanisms must be enabled.
                const enabled = new Set(prop(props, "sasl.enabled.mechanisms").split(","));
                for (const key of ["sasl.mechanism.controller.protocol", "sasl.mechanism.inter.broker.protocol"]) {
                    assert.ok(enabled.has(prop(props, key)), `${key}=${props.get(key)} is not in sasl.enabled.mechanisms`);
                }
                // Every listener port is a container port, but the readiness probe's: bound to the pod's loopback
                // (no Service, NetworkPolicy or other pod reaches it), SASL like the others, advertised as loopback.
                const containerPorts = new Set((k().container.ports ?? []).map((p) => p.containerPort));
                for (const l of listened) {
                    if (l.name === KAFKA_PROBE_LISTENER) {
                        assert.strictEqual(l.host, "127.0.0.1", `${l.name} listens on the loopback only`);
                        assert.ok(!containerPorts.has(l.port), `${l.name} port ${l.port} is not a container port`);
                        assert.strictEqual(map.get(l.name), "SASL_PLAINTEXT", `${l.name} authenticates (PLAIN, the broker's login)`);
                    } else {
                        assert.ok(containerPorts.has(l.port), `listener ${l.name} port ${l.port} is a container port`);
                        assert.notStrictEqual(l.host, "127.0.0.1", `listener ${l.name} is reachable from other pods`);
                    }
                }
                assert.ok(listenedNames.has(KAFKA_PROBE_LISTENER) && advertisedNames.has(KAFKA_PROBE_LISTENER), "the readiness probe's listener is listened on and advertised");
            });

            it(`keeps replication settings within ${N} broker(s)`, function () {
                const props = k().props;
                const rfKeys = ["default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"];
                for (const key of rfKeys) {
                    const rf = intProp(props, key);
                    assert.ok(rf >= 1 && rf <= N, `${key}=${rf} must be between 1 and ${N}`);
                }
                const pairs: [string, string][] = [
                    ["min.insync.replicas", "default.replication.factor"],
                    ["transaction.state.log.min.isr", "transaction.state.log.replication.factor"],
                ];
                for (const [isrKey, rfKey] of pairs) {
                    const isr = intProp(props, isrKey);
                    const rf = intProp(props, rfKey);
                    if (N >= 3) {
                        assert.ok(isr >= 1 && isr < rf, `${isrKey}=${isr} must be below ${rfKey}=${rf} (one broker may be down)`);
                    } else {
                        assert.strictEqual(isr, 1, `${isrKey} with a single broker`);
                    }
                }
            });

            it("puts log.dirs on the data volume (/var/lib/kafka/data)", function () {
                const mount = persistentMountPath(k().sts, k().container);
                assert.strictEqual(mount, "/var/lib/kafka/data");
                for (const dir of prop(k().props, "log.dirs").split(",")) {
                    assert.ok(dir.startsWith(mount + "/") || dir === mount, `log dir ${dir} is not under the data volume ${mount}`);
                    assert.ok(!dir.startsWith("/tmp"), `log dir ${dir} is in /tmp`);
                }
            });

            it("takes CLUSTER_ID from ConfigMap kafka-config key cluster-id: 22-char URL-safe base64, not the image default", function () {
                const { value, source } = k().clusterId;
                assert.strictEqual(source, `ConfigMap ${k().namespace}/kafka-config key cluster-id`);
                assert.match(value, /^[A-Za-z0-9_-]{22}$/, `cluster id ${value}`);
                assert.strictEqual(Buffer.from(value, "base64url").length, 16, "16 bytes (a UUID's size), as kafka-storage.sh random-uuid prints");
                assert.notStrictEqual(value, IMAGE_DEFAULT_CLUSTER_ID, "the apache/kafka image's default cluster id");
                assert.ok(!k().template.includes(IMAGE_DEFAULT_CLUSTER_ID) && !k().startScript.includes(IMAGE_DEFAULT_CLUSTER_ID));
                // --cluster-id=VALUE, so an id that begins with '-' is not taken for a flag.
                assert.match(k().startScript, /--cluster-id="\$CLUSTER_ID"/, "start.sh formats the storage with $CLUSTER_ID");
            });
        });
    }

    it("generates a different cluster id for each independent stack (a generated value, not a constant)", function () {
        const ids = [...rendered.values()].map((k) => k.clusterId.value);
        assert.strictEqual(new Set(ids).size, ids.length, `cluster ids: ${ids.join(", ")}`);
    });

    it("runs the rendered start.sh under bash (Kafka scripts stubbed, paths in a temp dir): per-pod properties, storage formatted once with the cluster id, broker started", async function () {
        const bins = requireBinaries(this, ["bash", "sed"], "bash and sed run the start script");
        for (const label of ["replicas 3", "prod stack file (3 voters, TLS)"]) {
            const k = rendered.get(label)!;
            const tmp = makeTempDir("kafka");
            try {
                const argv = commandLine(k.container);
                assert.strictEqual(path.basename(argv[0]), "bash", `container command: ${JSON.stringify(argv)}`);
                const scriptPath = argv[1];
                // Every absolute path the script touches moves under the temp dir (one regex pass, so no path is
                // rewritten twice): container mounts are recreated there with their ConfigMap/Secret keys as files,
                // as the kubelet does; the image's bin dir gets stubs; any other path (e.g. the TLS dir when TLS is
                // off) is sandboxed too and simply does not exist, as in the pod.
                const mounts = (k.container.volumeMounts ?? []).map((m) => m.mountPath);
                const body = k.startScript.replace(/^#!.*\n/, "");
                const used = body.match(/(?<![\w}$])\/[A-Za-z0-9_.\/-]+/g) ?? [];
                const under = (p: string, r: string) => p === r || p.startsWith(r + "/");
                const absent = used.filter((p) => !mounts.some((m) => under(p, m)) && !under(p, "/opt/kafka/bin")).map((p) => path.posix.dirname(p));
                const roots = [...new Set([...mounts, "/opt/kafka/bin", ...absent])].sort((a, b) => b.length - a.length);
                for (const p of used) assert.ok(roots.some((r) => under(p, r)), `start.sh uses ${p}, which this test cannot sandbox`);
                const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
                const rewrite = (t: string) => t.replace(new RegExp(`(${roots.map(esc).join("|")})(?=/|\\b|$)`, "g"), (m) => tmp + m);
                for (const m of [...mounts, "/opt/kafka/bin"]) fs.mkdirSync(tmp + m, { recursive: true });
                for (const m of k.container.volumeMounts ?? []) {
                    const vol = podSpec(k.sts).volumes?.find((v: Any) => v.name === m.name);
                    const data = vol?.configMap
                        ? configMapData(find(k.objects, "ConfigMap", k.namespace, vol.configMap.name))
                        : vol?.secret
                          ? secretData(find(k.objects, "Secret", k.namespace, vol.secret.secretName))
                          : {};
                    for (const [key, value] of Object.entries(data)) fs.writeFileSync(path.join(tmp + m.mountPath, key), value);
                }
                assert.ok(fs.existsSync(tmp + scriptPath), `${scriptPath} comes from a ConfigMap/Secret mount`);
                const script = path.join(tmp, "start.sh");
                fs.writeFileSync(script, rewrite(k.startScript), { mode: 0o755 });
                const out = path.join(tmp, "stub-out");
                fs.mkdirSync(out);
                const stub = (name: string, body: string) => fs.writeFileSync(path.join(tmp, "opt/kafka/bin", name), `#!/bin/bash\nset -eu\n${body}\n`, { mode: 0o755 });
                stub("kafka-storage.sh", 'printf "%s\\n" "$@" > "$STUB_OUT/storage.args"');
                stub("kafka-server-start.sh", 'printf "%s\\n" "$@" > "$STUB_OUT/start.args"; cp "$1" "$STUB_OUT/started.properties"');

                const clusterId = k.clusterId.value;
                for (let i = 0; i < k.replicas; i++) {
                    const pod = `${k.sts.metadata.name}-${i}`;
                    const env = { PATH: `${path.dirname(bins.sed)}:/usr/bin:/bin`, HOSTNAME: pod, CLUSTER_ID: clusterId, STUB_OUT: out, HOME: tmp };
                    const r = await run(bins.bash, [script], { env, timeoutMs: 10_000 });
                    assert.strictEqual(r.code, 0, `${label} ${pod}: start.sh ${describeRun(r)}`);
                    const started = fs.readFileSync(path.join(out, "started.properties"), "utf8");
                    assert.strictEqual(started, substituteLikeStartScript(k, pod), `${pod}: the properties the broker starts with`);
                    const props = parseProperties(started);
                    assert.strictEqual(intProp(props, "node.id"), i, `${pod}: node.id`);
                    for (const l of listeners(prop(props, "advertised.listeners"))) assert.strictEqual(l.host, l.name === KAFKA_PROBE_LISTENER ? "127.0.0.1" : podFqdn(k, i));
                    const startArgs = fs.readFileSync(path.join(out, "start.args"), "utf8").trim().split("\n");
                    assert.strictEqual(startArgs.length, 1, `kafka-server-start.sh args: ${startArgs.join(" ")}`);
                    const storage = fs.readFileSync(path.join(out, "storage.args"), "utf8").trim().split("\n");
                    assert.deepStrictEqual(storage, ["format", "--config", startArgs[0], `--cluster-id=${clusterId}`, "--ignore-formatted"], `${pod}: kafka-storage.sh`);
                    for (const dir of prop(props, "log.dirs").split(",")) assert.ok(fs.statSync(tmp + dir).isDirectory(), `${pod}: start.sh creates ${dir}`);
                    const keystore = props.get("listener.name.client.ssl.keystore.location");
                    if (keystore) {
                        // With TLS, start.sh writes the PEM key store where the properties point, on a writable mount:
                        // an unencrypted PKCS#8 key (Kafka reads no other key format, and no ssl.key.password is set)
                        // followed by the certificate.
                        assert.ok(!mountForReadOnly(k, keystore), `${keystore} is on a read-only mount`);
                        assert.strictEqual(props.get("listener.name.client.ssl.keystore.type"), "PEM");
                        const pem = fs.readFileSync(tmp + keystore, "utf8");
                        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----/, `${pod}: key store ${keystore}`);
                        assert.ok(!props.has("listener.name.client.ssl.key.password"), "unencrypted key: no key password");
                    }
                }
                const bad = await run(bins.bash, [script], { env: { PATH: "/usr/bin:/bin", HOSTNAME: "kafka", CLUSTER_ID: clusterId, STUB_OUT: out, HOME: tmp }, timeoutMs: 10_000 });
                assert.notStrictEqual(bad.code, 0, "a HOSTNAME without an ordinal must stop the script");
                assert.match(bad.stderr, /cannot derive the node id/);
            } finally {
                removeTempDir(tmp);
            }
        }
    });

    it("rejects replicas 2 and 4 in config validation, with an error naming kafka.replicas", async function () {
        for (const replicas of [2, 4]) {
            await assert.rejects(renderStack("dev", { config: { kafka: { replicas } } }), (e: Error) => {
                assert.match(e.message, /kafka\.replicas/, `replicas ${replicas}: ${e.message}`);
                return true;
            });
        }
    });
});

function mountForReadOnly(k: KafkaRendered, file: string): boolean {
    const m = (k.container.volumeMounts ?? []).filter((v) => file.startsWith(v.mountPath + "/")).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    assert.ok(m, `${file} is on no mount`);
    return m.readOnly === true;
}


describe("pure helpers", () => {
    for (const [replicas, rf, isr] of [
        [1, 1, 1],
        [3, 3, 2],
        [5, 3, 2],
        [7, 3, 2],
    ]) {
        it(`kafka: ${replicas} node(s) → RF ${rf}, min ISR ${isr}, ${replicas} voters`, () => {
            assert.deepStrictEqual(replicationSettings(replicas), { replicationFactor: rf, minInsyncReplicas: isr });
            const voters = quorumVoters(replicas, "messaging").split(",");
            assert.strictEqual(voters.length, replicas);
            voters.forEach((v, i) => assert.strictEqual(v, `${i}@kafka-${i}.kafka-headless.messaging.svc.cluster.local:9093`));
            const props = kafkaServerProperties({ replicas, namespace: "messaging", clientAuth: "sasl", tls: false });
            assert.match(props, new RegExp(`^offsets\\.topic\\.replication\\.factor=${rf}$`, "m"));
            assert.match(props, new RegExp(`^transaction\\.state\\.log\\.min\\.isr=${isr}$`, "m"));
        });
    }

    it("kafka: JAAS file lists the broker login and every user; heap from the memory limit", () => {
        const jaas = kafkaJaasConfig("b", [{ name: "shop", password: 's"1' }]);
        assert.match(jaas, /^KafkaServer \{$/m);
        assert.match(jaas, /username="broker"/);
        assert.match(jaas, /user_shop="s\\"1";/);
        assert.strictEqual(kafkaHeapMiB("2Gi", 50), 1024);
        assert.strictEqual(kafkaHeapMiB("300Mi", 25), 256);
    });
});
