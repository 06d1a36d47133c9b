// The order service against the backbone's REAL outputs: the msa-infra program rendered for dev and prod
// (generated passwords filled in), its outputs fed to the service's credentials function and, under the
// mock runtime, to the service's program as its StackReference's outputs. The values the service keeps
// must be exactly what the backbone's own Secrets and the brokers' JAAS file hold. And what the example
// takes along when a team copies it: its copy of the output types and its fixtures are the backbone's own.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { readStackFile, renderStack, runOffline, type Manifest, type RenderResult } from "../../scripts/lib/mockRuntime";
import { dataKey } from "../../scripts/lib/rendered";
import { find } from "../../scripts/lib/manifests";
import { BACKBONE_OUTPUTS, CA_FILE, serviceCredentials, type BackboneOutputs } from "../../examples/order-service/backbone";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const PROJECT_DIR = path.resolve(__dirname, "..", "..", "examples", "order-service");
const WANTED = { database: "orders", kafkaUser: "orders", redisUser: "sessions" };

describe("examples/order-service: a service stack on the backbone's outputs", function () {
    this.timeout(120_000);
    const backbone: Record<string, RenderResult> = {};

    before(async function () {
        backbone.dev = await renderStack("dev", { withSecrets: true });
        backbone.prod = await renderStack("prod", { withSecrets: true });
    });

    for (const stack of ["dev", "prod"]) {
        describe(`on the ${stack} backbone`, function () {
            const outputs = (): BackboneOutputs => backbone[stack].outputs as unknown as BackboneOutputs;
            const objects = (): Manifest[] => backbone[stack].objects;

            it("reads only outputs the backbone has", function () {
                for (const name of BACKBONE_OUTPUTS) assert.ok(name in backbone[stack].outputs, `the backbone has no output ${name}`);
            });

            it("takes each password the backbone's own Secrets hold, and the brokers accept the Kafka login", function () {
                const { env } = serviceCredentials(outputs(), WANTED);
                assert.strictEqual(env.SPRING_DATASOURCE_PASSWORD, dataKey(objects(), "Secret", "db", "mariadb-user-orders", "password"));
                assert.strictEqual(env.SPRING_DATA_REDIS_PASSWORD, dataKey(objects(), "Secret", "cache", "redis-user-sessions", "password"));
                const kafkaPassword = dataKey(objects(), "Secret", "messaging", "kafka-user-orders", "password");
                assert.ok(env.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG.includes(`username="orders" password="${kafkaPassword}"`));
                const jaas = dataKey(objects(), "Secret", "messaging", "kafka-jaas", "kafka_server_jaas.conf");
                assert.ok(jaas.includes(`user_orders="${kafkaPassword}"`), "the brokers' JAAS file accepts that password");
                assert.strictEqual(env.SPRING_DATASOURCE_USERNAME, "orders");
                assert.strictEqual(env.SPRING_DATA_REDIS_USERNAME, "sessions");
                assert.strictEqual(env.SPRING_DATASOURCE_URL.split("?")[0], "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/orders");
                assert.strictEqual(env.SPRING_KAFKA_BOOTSTRAP_SERVERS, "kafka.messaging.svc.cluster.local:9092");
            });

            it("names the missing user and what the backbone has, instead of a half-configured service", function () {
                assert.throws(() => serviceCredentials(outputs(), { ...WANTED, database: "billing" }), /order-service:database: the backbone has no MariaDB database "billing" \(it has: orders, auth\)/);
                assert.throws(() => serviceCredentials(outputs(), { ...WANTED, kafkaUser: "payments" }), /order-service:kafkaUser: the backbone has no Kafka user "payments"/);
            });
        });
    }

    it("prod: trusts the backbone's CA on every connection (JDBC verify-full with the CA, Kafka PEM trust store, rediss)", function () {
        const o = backbone.prod.outputs as unknown as BackboneOutputs;
        const { env, caPem } = serviceCredentials(o, WANTED);
        assert.ok(caPem && caPem.includes("BEGIN CERTIFICATE"));
        assert.strictEqual(caPem, dataKey(backbone.prod.objects, "Secret", "db", "mariadb-tls", "ca.crt"), "the CA that signed the servers' certificates");
        assert.match(env.SPRING_DATASOURCE_URL, new RegExp(`\\?sslMode=verify-full&serverSslCert=${CA_FILE}$`));
        assert.strictEqual(env.SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL, "SASL_SSL");
        assert.strictEqual(env.SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION, CA_FILE);
        assert.strictEqual(env.SPRING_DATA_REDIS_URL, undefined, "prod Redis runs with Sentinel: no direct URL (the Service reaches replicas too)");
        assert.strictEqual(env.SPRING_DATA_REDIS_SENTINEL_MASTER, "redis");
        assert.deepStrictEqual(env.SPRING_DATA_REDIS_SENTINEL_NODES.split(","), [0, 1, 2].map((i) => `redis-${i}.redis-headless.cache.svc.cluster.local:26379`));
        assert.strictEqual(env.SPRING_DATA_REDIS_SENTINEL_PASSWORD, dataKey(backbone.prod.objects, "Secret", "cache", "redis-sentinel-credentials", "password"));
        assert.strictEqual(env.SPRING_DATA_REDIS_SSL_ENABLED, "true");
        const dev = serviceCredentials(backbone.dev.outputs as unknown as BackboneOutputs, WANTED);
        assert.strictEqual(dev.caPem, undefined);
        assert.strictEqual(dev.env.SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL, "SASL_PLAINTEXT");
        assert.strictEqual(dev.env.SPRING_DATA_REDIS_URL, "redis://redis.cache.svc.cluster.local:6379");
        assert.strictEqual(dev.env.SPRING_DATA_REDIS_SENTINEL_NODES, undefined);
    });

    describe("the service's program, its StackReference answering with the backbone's outputs", function () {
        for (const stack of ["dev", "prod"]) {
            it(`${stack}: one Secret with the credentials (secret in the state), a restricted Deployment that reads it, the CA mounted`, async function () {
                const run = (withSecrets: boolean) =>
                    runOffline(
                        () => {
                            const entry = path.join(PROJECT_DIR, "index.ts");
                            delete require.cache[require.resolve(entry)];
                            return require(entry);
                        },
                        { project: "order-service", stack, config: readStackFile(PROJECT_DIR, stack), withSecrets, previousOutputs: backbone[stack].outputs },
                    );
                const shown = await run(true);
                const expected = serviceCredentials(backbone[stack].outputs as unknown as BackboneOutputs, WANTED);
                const secret = find(shown.objects, "Secret", "order-service", "order-service-backbone") as Any;
                assert.deepStrictEqual(secret.stringData, expected.env);
                const ref = shown.resources.find((r) => r.type === "pulumi:pulumi:StackReference");
                assert.strictEqual((ref?.inputs as Any).name, `organization/msa-infra/${stack}`);

                const hidden = await run(false);
                const redacted = find(hidden.objects, "Secret", "order-service", "order-service-backbone") as Any;
                for (const [k, v] of Object.entries<string>(redacted.stringData)) assert.strictEqual(v, "<redacted>", `${k} is a secret output`);

                const d = find(shown.objects, "Deployment", "order-service", "order-service") as Any;
                const pod = d.spec.template.spec;
                assert.deepStrictEqual(pod.containers[0].envFrom, [{ secretRef: { name: "order-service-backbone" } }]);
                assert.strictEqual(pod.securityContext.runAsNonRoot, true);
                assert.deepStrictEqual(pod.containers[0].securityContext.capabilities.drop, ["ALL"]);
                assert.strictEqual((find(shown.objects, "ConfigMap", "order-service", "order-service-backbone-ca") as Any).data["ca.crt"], expected.caPem ?? "");
                assert.strictEqual((find(shown.objects, "Namespace", undefined, "order-service") as Any).metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            });
        }
    });

    describe("what a copy of the example takes along", function () {
        it("backbone-outputs.ts is the backbone's components/outputs.ts, unchanged", function () {
            const source = fs.readFileSync(path.join(__dirname, "..", "..", "components", "outputs.ts"), "utf8");
            assert.strictEqual(fs.readFileSync(path.join(PROJECT_DIR, "backbone-outputs.ts"), "utf8"), source, "copy components/outputs.ts to examples/order-service/backbone-outputs.ts");
        });

        for (const stack of ["dev", "prod"]) {
            it(`tests/fixtures/backbone-${stack}.json is the ${stack} backbone's outputs, secrets and the CA as placeholders`, function () {
                const file = path.join(PROJECT_DIR, "tests", "fixtures", `backbone-${stack}.json`);
                const expected = fixtureOf(backbone[stack]);
                if (process.env.MSA_WRITE_EXAMPLE_FIXTURES === "1") fs.writeFileSync(file, JSON.stringify(expected, null, 2) + "\n");
                assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), expected, `${file} is stale: rerun this spec with MSA_WRITE_EXAMPLE_FIXTURES=1`);
            });
        }
    });
});

/**
 * The outputs of a render as the example's own tests take them: each secret output's values replaced by
 * `example-secret:<output>.<key>` (no generated password leaves the repository), the CA by a placeholder PEM.
 */
function fixtureOf(render: RenderResult): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(render.outputs)) {
        if (!render.secretOutputs.includes(name)) {
            out[name] = name === "tlsCaCertificate" && value !== "" ? "-----BEGIN CERTIFICATE-----\nexample-ca\n-----END CERTIFICATE-----\n" : value;
        } else if (typeof value === "object" && value !== null) {
            out[name] = Object.fromEntries(Object.keys(value).map((k) => [k, `example-secret:${name}.${k}`]));
        } else {
            out[name] = value === "" ? "" : `example-secret:${name}`;
        }
    }
    return out;
}
