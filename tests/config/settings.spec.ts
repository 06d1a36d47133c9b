// Stack config (components/config/): defaults, production rules, every settings error with its key, config
// strings decoded. Kafka topics and grants are in tests/kafka/settings.spec.ts, quantities in units.spec.ts.

import * as assert from "assert";
import { decodeConfigValue, parseStackConfig } from "../../components/stackConfig";
import { PINNED_IMAGES, problems } from "../helpers/config";

describe("stack config", () => {
    it("defaults to the seed's names, images, ports and sizes on local-path", () => {
        const c = parseStackConfig({});
        assert.strictEqual(c.environment, "development");
        assert.strictEqual(c.storageClass, "local-path");
        assert.deepStrictEqual(
            [c.mariadb.namespace, c.mariadb.image, c.mariadb.storageSize],
            ["db", "mariadb:10.11", "10Gi"],
        );
        assert.deepStrictEqual([c.redis.namespace, c.redis.image, c.redis.storageSize], ["cache", "redis:7.2-alpine", "5Gi"]);
        assert.deepStrictEqual([c.kafka.namespace, c.kafka.image, c.kafka.storageSize], ["messaging", "apache/kafka:3.8.1", "10Gi"]);
        assert.strictEqual(c.kafka.replicas, 1);
        assert.strictEqual(c.protect, false);
        assert.strictEqual(c.networkPolicies.enabled, false);
        assert.strictEqual(c.podSecurityLevel, "restricted");
        assert.strictEqual(c.kafka.clientAuth, "sasl");
    });

    it("production turns protection and NetworkPolicies on by default", () => {
        const c = parseStackConfig({
            environment: "production",
            storageClass: "longhorn",
            networkPolicies: { allowedNamespaces: ["orders"] },
            mariadb: { image: PINNED_IMAGES.mariadb },
            redis: { image: PINNED_IMAGES.redis },
        });
        assert.strictEqual(c.protect, true);
        assert.strictEqual(c.networkPolicies.enabled, true);
    });

    const bad: [string, Record<string, unknown>, RegExp][] = [
        ["unknown top-level key", { storgeClass: "x" }, /msa-infra:storgeClass: unknown key; accepted keys are .*storageClass/],
        ["unknown nested key", { redis: { storage: "5Gi" } }, /msa-infra:redis\.storage: unknown key; accepted keys are .*storageSize/],
        ["even Kafka replicas", { kafka: { replicas: 2 } }, /msa-infra:kafka\.replicas: 2 is not valid; expected 1 or an odd number/],
        ["too many Kafka replicas", { kafka: { replicas: 11 } }, /msa-infra:kafka\.replicas: 11/],
        ["too many MariaDB replicas", { mariadb: { replicas: 6 } }, /msa-infra:mariadb\.replicas: 6 is not valid; expected 1 \(standalone\) or 2 to 5/],
        ["bad storage size", { redis: { storageSize: "5GB" } }, /msa-infra:redis\.storageSize: "5GB" is not valid; expected a quantity above zero such as 10Gi/],
        ["a zero storage size", { mariadb: { storageSize: "0Gi" } }, /msa-infra:mariadb\.storageSize: "0Gi" is not valid; expected a quantity above zero/],
        ["a zero memory limit", { kafka: { resources: { limits: { memory: "0" } } } }, /msa-infra:kafka\.resources\.limits\.memory: "0" is not valid; expected a memory quantity above zero/],
        ["a zero CPU request", { redis: { resources: { requests: { cpu: "0.0" } } } }, /msa-infra:redis\.resources\.requests\.cpu: "0\.0" is not valid; expected a CPU quantity above zero/],
        ["a zero backup volume", { mariadb: { backup: { storageSize: "0Mi" } } }, /msa-infra:mariadb\.backup\.storageSize: "0Mi" is not valid; expected a quantity above zero/],
        ["bad memory", { kafka: { resources: { limits: { memory: "lots" } } } }, /msa-infra:kafka\.resources\.limits\.memory: "lots"/],
        ["request above limit", { redis: { resources: { requests: { memory: "1Gi" } } } }, /requests\.memory 1Gi exceeds limits\.memory 512Mi/],
        ["image without tag", { mariadb: { image: "mariadb" } }, /msa-infra:mariadb\.image: "mariadb" is not valid; expected an image reference with an explicit tag/],
        ["bad environment", { environment: "prod" }, /msa-infra:environment: "prod" is not valid; expected one of development, production/],
        ["non-boolean protect", { protect: "yes" }, /msa-infra:protect: "yes" is not valid; expected true or false/],
        ["bad pod security level", { podSecurityLevel: "strict" }, /podSecurityLevel: "strict" is not valid; expected one of restricted, baseline, privileged/],
        ["bad database name", { mariadb: { databases: [{ name: "Orders-DB", user: "orders" }] } }, /mariadb\.databases\[0\]\.name: "Orders-DB"/],
        ["duplicate user", { mariadb: { databases: [{ name: "a", user: "u" }, { name: "b", user: "u" }] } }, /"u" is declared twice/],
        ["reserved MariaDB user", { mariadb: { databases: [{ name: "a", user: "root" }] } }, /other than root/],
        // The reconcile Job applies these names to the live server: no system schema, no Job account, no quoting tricks.
        ["the reconcile Job's user", { mariadb: { databases: [{ name: "a", user: "reconcile" }] } }, /mariadb\.databases\[\]\.user: "reconcile" is not valid; expected an application user name other than .*reconcile/],
        ["the mysql schema as a database", { mariadb: { databases: [{ name: "mysql", user: "a" }] } }, /mariadb\.databases\[\]\.name: "mysql" is not valid; expected an application database name other than mysql, sys/],
        ["the reconcile Job's record as a database", { mariadb: { databases: [{ name: "msa_reconcile", user: "a" }] } }, /mariadb\.databases\[\]\.name: "msa_reconcile" is not valid/],
        ["a quote in a MariaDB user", { mariadb: { databases: [{ name: "a", user: "x'@'%" }] } }, /mariadb\.databases\[0\]\.user: "x'@'%" is not valid; expected a lower-case identifier/],
        ["a backtick in a MariaDB database", { mariadb: { databases: [{ name: "a`; DROP DATABASE mysql; --", user: "a" }] } }, /mariadb\.databases\[0\]\.name: "a`; DROP DATABASE mysql; --" is not valid/],
        ["reserved Kafka user", { kafka: { users: [{ name: "broker" }] } }, /other than admin or broker/],
        ["redis default user", { redis: { users: [{ name: "default" }] } }, /other than default/],
        ["bad key pattern", { redis: { users: [{ name: "a", keyPattern: "a b" }] } }, /keyPattern: "a b"/],
        ["bad client auth", { kafka: { clientAuth: "scram" } }, /kafka\.clientAuth: "scram" is not valid; expected one of sasl, none/],
        ["policies with no clients", { networkPolicies: { enabled: true } }, /networkPolicies: enabled but neither allowedNamespaces nor allowedNamespaceSelector/],
        ["shared namespace", { redis: { namespace: "db" } }, /each service needs its own namespace/],
        ["bad namespace", { kafka: { namespace: "Messaging" } }, /kafka\.namespace: "Messaging" is not valid; expected a DNS-1123 label/],
        ["redis memory share out of range", { redis: { maxmemoryPercent: 95 } }, /msa-infra:redis\.maxmemoryPercent: 95 is not valid; expected an integer from 10 to 90/],
        ["even Redis replicas", { redis: { replicas: 2 } }, /msa-infra:redis\.replicas: 2 is not valid; expected 1 \(standalone\) or an odd number from 3 to 7/],
        ["issuer without name", { tls: { enabled: true, issuer: { kind: "Issuer" } } }, /tls\.issuer\.name/],
        ["a DNS CIDR without prefix", { networkPolicies: { dns: { cidrs: ["169.254.20.10"] } } }, /networkPolicies\.dns\.cidrs\[0\]: "169\.254\.20\.10" is not valid; expected an IPv4 or IPv6 CIDR/],
        ["a DNS CIDR with a prefix too long", { networkPolicies: { dns: { cidrs: ["10.0.0.0/8", "10.1.0.1/33"] } } }, /networkPolicies\.dns\.cidrs\[1\]: "10\.1\.0\.1\/33" is not valid/],
        ["a DNS namespace that is no name", { networkPolicies: { dns: { namespace: "Kube System" } } }, /networkPolicies\.dns\.namespace: "Kube System" is not valid; expected a namespace name/],
        ["an unknown DNS key", { networkPolicies: { dns: { port: 5353 } } }, /networkPolicies\.dns\.port: unknown key; accepted keys are namespace, cidrs/],
    ];
    for (const [title, raw, expected] of bad) {
        it(`rejects ${title}`, () => {
            const found = problems(raw);
            assert.ok(found.some((p) => expected.test(p)), `no problem matched ${expected}:\n${found.join("\n")}`);
        });
    }

    it("rejects PLAINTEXT, local-path and unprotected stacks in production, all at once", () => {
        const found = problems({
            environment: "production",
            protect: false,
            kafka: { clientAuth: "none" },
            networkPolicies: { allowedNamespaces: ["orders"] },
        });
        assert.ok(found.some((p) => /kafka\.clientAuth: "none" \(PLAINTEXT without authentication\) is not allowed when environment is production/.test(p)));
        assert.ok(found.some((p) => /storageClass: "local-path" is not allowed when environment is production/.test(p)));
        assert.ok(found.some((p) => /protect: false is not allowed when environment is production/.test(p)));
    });

    it("refuses floating image tags in production, naming each key; accepts major.minor.patch tags and digests", () => {
        const base = { environment: "production", storageClass: "longhorn", networkPolicies: { allowedNamespaces: ["orders"] } };
        const found = problems({ ...base, kafka: { image: "apache/kafka:3.8", jmxAgent: { image: "registry.example.com/jmx:latest" } } });
        assert.ok(found.some((p) => /msa-infra:mariadb\.image: "mariadb:10\.11": a floating tag is not allowed when environment is production .*major\.minor\.patch/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /msa-infra:redis\.image: "redis:7\.2-alpine": a floating tag/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /msa-infra:kafka\.image: "apache\/kafka:3\.8": a floating tag/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /msa-infra:kafka\.jmxAgent\.image: "registry\.example\.com\/jmx:latest": a floating tag/.test(p)), found.join("\n"));
        assert.ok(!found.some((p) => /exporterImage/.test(p)), "the exporters' default tags name one release");
        const digest = `registry.example.com:5000/mariadb@sha256:${"a".repeat(64)}`;
        const c = parseStackConfig({ ...base, mariadb: { image: digest }, redis: { image: "redis:7.2.7-alpine" } });
        assert.strictEqual(c.mariadb.image, digest);
        // Development keeps the seed's floating defaults.
        assert.strictEqual(parseStackConfig({}).mariadb.image, "mariadb:10.11");
    });

    it("accepts PLAINTEXT in development", () => {
        assert.strictEqual(parseStackConfig({ kafka: { clientAuth: "none" } }).kafka.clientAuth, "none");
    });

    it("networkPolicies.dns: kube-system unless set; a namespace and CIDRs (IPv4 and IPv6) when set", () => {
        assert.deepStrictEqual(parseStackConfig({}).networkPolicies.dns, { namespace: "kube-system", cidrs: [] });
        assert.deepStrictEqual(parseStackConfig({ networkPolicies: { dns: { cidrs: ["169.254.20.10/32", "fd00::/8"] } } }).networkPolicies.dns, {
            namespace: "kube-system",
            cidrs: ["169.254.20.10/32", "fd00::/8"],
        });
        assert.deepStrictEqual(parseStackConfig({ networkPolicies: { dns: { namespace: "coredns" } } }).networkPolicies.dns, { namespace: "coredns", cidrs: [] });
    });

    it("accepts 3 and 5 Kafka replicas", () => {
        assert.strictEqual(parseStackConfig({ kafka: { replicas: 3 } }).kafka.replicas, 3);
        assert.strictEqual(parseStackConfig({ kafka: { replicas: 5 } }).kafka.replicas, 5);
    });

    it("the error message lists every problem with its key", () => {
        try {
            parseStackConfig({ kafka: { replicas: 4 }, redis: { storageSize: "x" } });
            assert.fail("expected an error");
        } catch (e) {
            const message = (e as Error).message;
            assert.match(message, /Invalid stack configuration \(2 problems\)/);
            assert.match(message, /msa-infra:kafka\.replicas: 4/);
            assert.match(message, /msa-infra:redis\.storageSize: "x"/);
        }
    });

    it("decodes Pulumi config strings", () => {
        assert.deepStrictEqual(decodeConfigValue('{"replicas":3}'), { replicas: 3 });
        assert.strictEqual(decodeConfigValue("true"), true);
        assert.strictEqual(decodeConfigValue("local-path"), "local-path");
    });
});
