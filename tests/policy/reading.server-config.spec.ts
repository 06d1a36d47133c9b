// The shared reading module: server configuration as the software reads it (policy/reading/
// properties.ts, kafka.ts, redis.ts, mariadb.ts).

import * as assert from "assert";
import {
    aclFileUsers,
    applyAclRules,
    booleanOption,
    commandLineOptions,
    DEFAULT_USER_AT_START,
    envToProperty,
    parseImageRun,
    parseKafkaStart,
    parseOptionFile,
    parseProperties,
    parseRedisServerArgs,
    plaintextListeners,
    serverPropertiesFromEnv,
    splitRedisArgs,
} from "../../policy/reading";

describe("reading: Java properties", () => {
    it("reads =, : and whitespace separators, continuations, escapes and comments; the last key wins", () => {
        const text = "# c\n! c\na=1\nb : 2\nc 3\nd=one,\\\n    two,\\\n    three\nkey\\:x=y\\u0041\ne=\\\\\na=last\n   \n";
        assert.deepStrictEqual(Object.fromEntries(parseProperties(text)), { a: "last", b: "2", c: "3", d: "one,two,three", "key:x": "yA", e: "\\" });
    });
});

describe("reading: Kafka", () => {
    it("translates KAFKA_* env like the apache/kafka image (and Bitnami's KAFKA_CFG_*)", () => {
        assert.strictEqual(envToProperty("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"), "listener.security.protocol.map");
        assert.strictEqual(envToProperty("KAFKA_CFG_ADVERTISED_LISTENERS"), "advertised.listeners");
        assert.strictEqual(envToProperty("KAFKA_LOG_RETENTION_HOURS"), undefined, "not a listener setting");
        assert.strictEqual(envToProperty("KAFKA_CONFLUENT___SUPPORT_METRICS__ENABLE", { listenerKeysOnly: false }), "confluent-support.metrics_enable");
        assert.strictEqual(envToProperty("KAFKA_OPTS", { listenerKeysOnly: false }), undefined);
        const props = serverPropertiesFromEnv(new Map([["KAFKA_ADVERTISED_LISTENERS", "SASL_SSL://k-0.svc:9092"], ["KAFKA_HEAP_OPTS", "-Xmx1g"]]));
        assert.deepStrictEqual(Object.fromEntries(props), { "advertised.listeners": "SASL_SSL://k-0.svc:9092", listeners: "SASL_SSL://0.0.0.0:9092" });
    });

    it("applies Kafka's defaults to a complete configuration", () => {
        assert.deepStrictEqual(plaintextListeners(new Map([["process.roles", "broker"]])), []);
        assert.deepStrictEqual(plaintextListeners(new Map([["process.roles", "broker"]]), { kafkaDefaults: true }), ["PLAINTEXT"]);
        assert.deepStrictEqual(plaintextListeners(new Map([["listeners", "client://:9092"], ["listener.security.protocol.map", "client : sasl_ssl"]]), { kafkaDefaults: true }), []);
    });

    it("reads kafka-server-start.sh overrides and the image's run exports", () => {
        assert.deepStrictEqual(parseKafkaStart(["/opt/kafka/bin/kafka-server-start.sh", "-daemon", "/c/s.properties", "--override", "a=b", "--override=c=d=e"]), { file: "/c/s.properties", overrides: new Map([["a", "b"], ["c", "d=e"]]) });
        assert.deepStrictEqual(parseKafkaStart(["kafka-run-class.sh", "-name", "kafkaServer", "kafka.Kafka", "/s"])?.file, "/s");
        assert.strictEqual(parseKafkaStart(["kafka-topics.sh", "--list"]), undefined);
        assert.deepStrictEqual(parseImageRun(["/etc/kafka/docker/run", "KAFKA_LISTENERS=X://:1", "junk"]), new Map([["KAFKA_LISTENERS", "X://:1"]]));
    });
});

describe("reading: Redis", () => {
    it("splits config lines like sdssplitargs, refusing unbalanced quotes", () => {
        assert.deepStrictEqual(splitRedisArgs(`requirepass "a b\\x41\\n" 'c\\'d' e`), ["requirepass", "a bA\n", "c'd", "e"]);
        assert.deepStrictEqual(splitRedisArgs('requirepass ""'), ["requirepass", ""]);
        assert.strictEqual(splitRedisArgs('requirepass "x'), undefined);
        assert.strictEqual(splitRedisArgs('requirepass "x"y'), undefined);
    });

    it("takes the first argument as the config file (any name) and groups command-line directives", () => {
        const p = parseRedisServerArgs(["redis-server", "/etc/r.cfg", "--requirepass", "", "--user", "default", "on", "nopass", "--save", '""']);
        assert.strictEqual(p.configFile, "/etc/r.cfg");
        assert.deepStrictEqual(
            p.directives.map((d) => [d.name, d.args]),
            [
                ["requirepass", [""]],
                ["user", ["default", "on", "nopass"]],
                ["save", ['""']],
            ],
        );
        assert.strictEqual(parseRedisServerArgs(["redis-server", "--port", "1"]).configFile, undefined);
    });

    it("applies ACL rules in order and reads ACL files", () => {
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, [">pw"]), { enabled: true, nopass: false, hasPassword: true });
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, ["#abc", "nopass"]), { enabled: true, nopass: true, hasPassword: false });
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, ["off"]).enabled, false);
        const users = aclFileUsers("# c\nuser default off\nuser app on >x ~* +@all\n")!;
        assert.deepStrictEqual([users.get("default")?.enabled, users.get("app")?.hasPassword], [false, true]);
        assert.strictEqual(aclFileUsers("<redacted>"), undefined);
    });
});

describe("reading: MariaDB options", () => {
    it("reads option files: groups, includes, prefixes, underscores and quotes", () => {
        const { options, includes, includeDirs } = parseOptionFile("[client]\npassword='x'\n[mariadbd]\nskip_grant_tables\nrequire-secure-transport = ON\n!include /etc/x.cnf\n!includedir /etc/mysql/conf.d/\n", "f");
        assert.deepStrictEqual(
            options.map((o) => [o.group, o.name, o.value]),
            [
                ["client", "password", "x"],
                ["mariadbd", "skip-grant-tables", undefined],
                ["mariadbd", "require-secure-transport", "ON"],
            ],
        );
        assert.deepStrictEqual([includes, includeDirs], [["/etc/x.cnf"], ["/etc/mysql/conf.d/"]]);
    });

    it("evaluates boolean options with skip-/disable-/enable-/loose- prefixes, the last one winning", () => {
        const cl = (...args: string[]) => commandLineOptions(["mariadbd", ...args]);
        assert.deepStrictEqual(booleanOption(cl("--skip-grant-tables"), "skip-grant-tables")?.on, true);
        assert.deepStrictEqual(booleanOption(cl("--skip-grant-tables", "--skip-skip-grant-tables"), "skip_grant_tables")?.on, false);
        assert.deepStrictEqual(booleanOption(cl("--loose-skip-grant-tables=1"), "skip-grant-tables")?.on, true);
        assert.deepStrictEqual(booleanOption(cl("--require-secure-transport=ON", "--disable-require-secure-transport"), "require-secure-transport")?.on, false);
        assert.deepStrictEqual(booleanOption(cl("--enable-require_secure_transport"), "require-secure-transport")?.on, true);
        assert.strictEqual(booleanOption(cl("--port=3306"), "skip-grant-tables"), undefined);
    });
});
