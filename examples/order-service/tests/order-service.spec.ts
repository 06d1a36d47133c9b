// The order service on its own (this directory copied anywhere, `npm ci && npm test`): its settings, its
// credentials function on the backbone's outputs (tests/fixtures: the backbone's dev and prod outputs, with
// placeholders for secrets, kept current by the backbone's repository), and its program under Pulumi's mocks
// with the StackReference answering those outputs.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BACKBONE_OUTPUTS, CA_FILE, serviceCredentials, type BackboneOutputs } from "../backbone";
import { ORDER_SERVICE_DEFAULTS, readOrderServiceSettings } from "../settings";

/** How a secret value reaches the mocks (Pulumi's wire format: a special signature key). */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

const WANTED = { database: "orders", kafkaUser: "orders", redisUser: "sessions" };
const STACKS = ["dev", "prod"] as const;

/** A value with every secret wrapper replaced by what it wraps (parts of the pod template are secret). */
function unwrapSecrets(v: any): any {
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (typeof v !== "object" || v === null) return v;
    if (v[SECRET_SIGNATURE] === SECRET_VALUE) return unwrapSecrets(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
}

function fixture(stack: string): BackboneOutputs & Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", `backbone-${stack}.json`), "utf8"));
}

describe("order-service: settings", function () {
    it("requires the backbone and an image, refuses latest and unknown keys, names each key", function () {
        assert.throws(() => readOrderServiceSettings({}), (e: Error) => /order-service:backbone: required/.test(e.message) && /order-service:image: required/.test(e.message));
        assert.throws(() => readOrderServiceSettings({ backbone: "msa-infra/dev", image: "x/y:latest", replicas: "0", colour: "blue" }), (e: Error) =>
            ["order-service:backbone: \"msa-infra/dev\"", "order-service:image: \"x/y:latest\"", "order-service:replicas: \"0\"", "order-service:colour: unknown key"].every((m) => e.message.includes(m)),
        );
        const s = readOrderServiceSettings({ backbone: "organization/msa-infra/dev", image: "ghcr.io/example/order-service:1.4.2" });
        assert.deepStrictEqual({ namespace: s.namespace, replicas: s.replicas }, { namespace: ORDER_SERVICE_DEFAULTS.namespace, replicas: 1 });
    });
});

describe("order-service: credentials from the backbone's outputs", function () {
    for (const stack of STACKS) {
        it(`${stack}: reads only outputs the backbone has, and takes each user's password from its secret output`, function () {
            const o = fixture(stack);
            for (const name of BACKBONE_OUTPUTS) assert.ok(name in o, `the backbone has no output ${name}`);
            const { env } = serviceCredentials(o, WANTED);
            assert.strictEqual(env.SPRING_DATASOURCE_PASSWORD, o.mariadbUserPasswords.orders);
            assert.strictEqual(env.SPRING_DATA_REDIS_PASSWORD, o.redisUserPasswords.sessions);
            assert.ok(env.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG.includes(`username="orders" password="${o.kafkaUserPasswords.orders}"`));
            // The mechanism the backbone names, with its login module (SCRAM-SHA-512 for application users).
            assert.strictEqual(env.SPRING_KAFKA_PROPERTIES_SASL_MECHANISM, "SCRAM-SHA-512");
            assert.match(env.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG, /^org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule required /);
            assert.strictEqual(env.SPRING_DATASOURCE_URL.split("?")[0], "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/orders");
            assert.strictEqual(env.SPRING_KAFKA_BOOTSTRAP_SERVERS, "kafka.messaging.svc.cluster.local:9092");
        });

        it(`${stack}: names the missing user and what the backbone has, instead of a half-configured service`, function () {
            assert.throws(() => serviceCredentials(fixture(stack), { ...WANTED, database: "billing" }), /order-service:database: the backbone has no MariaDB database "billing" \(it has: orders, auth\)/);
            assert.throws(() => serviceCredentials(fixture(stack), { ...WANTED, kafkaUser: "payments" }), /order-service:kafkaUser: the backbone has no Kafka user "payments"/);
        });
    }

    it("prod: trusts the backbone's CA on every connection and writes to Redis through Sentinel; dev: plain connections", function () {
        const prod = fixture("prod");
        const { env, caPem } = serviceCredentials(prod, WANTED);
        assert.strictEqual(caPem, prod.tlsCaCertificate);
        assert.match(env.SPRING_DATASOURCE_URL, new RegExp(`\\?sslMode=verify-full&serverSslCert=${CA_FILE}$`));
        assert.strictEqual(env.SPRING_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION, CA_FILE);
        assert.strictEqual(env.SPRING_DATA_REDIS_URL, undefined);
        assert.strictEqual(env.SPRING_DATA_REDIS_SENTINEL_NODES, prod.redisConnection.sentinel!.hosts.join(","));
        assert.strictEqual(env.SPRING_DATA_REDIS_SENTINEL_PASSWORD, prod.redisSentinelPassword);
        const dev = serviceCredentials(fixture("dev"), WANTED);
        assert.strictEqual(dev.caPem, undefined);
        assert.strictEqual(dev.env.SPRING_DATA_REDIS_URL, "redis://redis.cache.svc.cluster.local:6379");
    });
});

describe("order-service: the program under Pulumi's mocks, its StackReference answering the backbone's outputs", function () {
    for (const stack of STACKS) {
        it(`${stack}: one Secret with the credentials (secret), a restricted Deployment that reads it, the CA mounted`, async function () {
            const outputs = fixture(stack);
            const created: { type: string; name: string; inputs: Record<string, any> }[] = [];
            await pulumi.runtime.setMocks(
                {
                    newResource: (args) => {
                        created.push({ type: args.type, name: args.name, inputs: args.inputs });
                        // A StackReference reads the referenced stack's outputs: here, the fixture.
                        const state = args.type === "pulumi:pulumi:StackReference" ? { ...args.inputs, outputs, secretOutputNames: [] } : args.inputs;
                        return { id: `${args.name}-id`, state };
                    },
                    call: (args) => args.inputs,
                },
                "order-service",
                stack,
                false,
            );
            pulumi.runtime.setAllConfig({
                "order-service:backbone": `organization/msa-infra/${stack}`,
                "order-service:image": "ghcr.io/example/order-service:1.4.2",
            });
            const entry = require.resolve("../index");
            delete require.cache[entry];
            const program = require(entry);
            const settled = (o: pulumi.Output<string>) => new Promise((resolve) => o.apply(resolve));
            assert.strictEqual(await settled(program.secretName), "order-service-backbone");
            assert.strictEqual(await settled(program.deploymentName), "order-service");

            const byType = (type: string) => created.filter((r) => r.type === type);
            assert.strictEqual(byType("pulumi:pulumi:StackReference")[0].inputs.name, `organization/msa-infra/${stack}`);
            const secret = byType("kubernetes:core/v1:Secret")[0].inputs;
            // The mocks see a secret input wrapped with Pulumi's secret signature: the credentials stay secret.
            assert.strictEqual(secret.stringData[SECRET_SIGNATURE], SECRET_VALUE, "the Secret's data is a secret input");
            assert.deepStrictEqual(secret.stringData.value, serviceCredentials(outputs, WANTED).env);
            const deployment = unwrapSecrets(byType("kubernetes:apps/v1:Deployment")[0].inputs);
            const pod = deployment.spec.template.spec;
            assert.deepStrictEqual(pod.containers[0].envFrom, [{ secretRef: { name: "order-service-backbone" } }]);
            assert.strictEqual(pod.securityContext.runAsNonRoot, true);
            assert.deepStrictEqual(pod.containers[0].securityContext.capabilities.drop, ["ALL"]);
            assert.strictEqual(byType("kubernetes:core/v1:ConfigMap")[0].inputs.data["ca.crt"], serviceCredentials(outputs, WANTED).caPem ?? "");
            assert.strictEqual(byType("kubernetes:core/v1:Namespace")[0].inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        });
    }
});
