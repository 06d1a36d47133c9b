// The shared reading module: server configuration as the software reads it (policy/reading/
// properties.ts, kafka.ts, redis.ts, mariadb.ts), from a start-up read by policy/reading/shellRun.ts.

import * as assert from "assert";
import {
    applyAclRules,
    booleanOption,
    commandLineOptions,
    ContainerFs,
    DEFAULT_USER_AT_START,
    envToProperty,
    imageKnowledge,
    parseImageRun,
    parseKafkaStart,
    parseOptionFile,
    parseProperties,
    plaintextListeners,
    Proc,
    readKafkaBroker,
    readMariaDbServer,
    readRedisCli,
    readRedisServer,
    secret,
    serverPropertiesFromEnv,
    splitRedisArgs,
    StartupRunner,
} from "../../policy/reading";

/** The server starts of `sh -c script` in a container of `image` whose root filesystem the script may write. */
function starts(script: string, image = "redis:7.2-alpine", env: Record<string, string> = {}): Proc[] {
    const fs = new ContainerFs([], imageKnowledge(image), image, false);
    const r = new StartupRunner({ fs, image: imageKnowledge(image), where: "t" });
    r.runArgv(["sh", "-c", script], new Map(Object.entries({ HOME: "/home/u", ...env })), "command", false, "/");
    return r.result.procs.filter((p) => p.kind === "server");
}
const redis = (script: string, env: Record<string, string> = {}) => readRedisServer(starts(script, "redis:7.2-alpine", env)[0]);

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

    it("builds the config like redis-server: the file, then the options; a lone --name takes the next word, whatever it is", () => {
        assert.deepStrictEqual(redis('printf "requirepass x\\n" > /r.cfg; exec redis-server /r.cfg --port 7000').problems, []);
        assert.deepStrictEqual(redis('printf "requirepass x\\n" > /r.cfg; exec redis-server /r.cfg --requirepass ""').problems, ["the command line sets an empty requirepass"]);
        assert.deepStrictEqual(redis("exec redis-server --requirepass --port").problems, [], "--port is requirepass's value");
        assert.deepStrictEqual(redis("exec redis-server --port 7000").ports, [7000]);
        assert.deepStrictEqual(redis("exec redis-server --port 0 --unixsocket /run/r.sock").problems, [], "no TCP listener, no network client");
        assert.match(redis('exec redis-server $X', { X: "\uE000" }).unknowns.join(), /cannot be expanded/);
    });

    it("takes the words after --replicaof as its two values, whatever they hold: a primary chosen at run time is only that", () => {
        const m = (script: string, env: Record<string, string> = {}) => redis(`echo "requirepass x" > /r.conf; ${script}`, env);
        const runtime = m('h="$(redis-cli -h s -p 26379 SENTINEL get-master-addr-by-name m | head -n 1)"; exec redis-server /r.conf --replicaof "${h%:*}" "${h##*:}" --replica-announce-ip "$(hostname -i)"');
        assert.deepStrictEqual([runtime.problems, runtime.unknowns, runtime.refuses], [[], [], undefined]);
        // Values from outside: still only the replica's primary; what guards the door is read as before.
        assert.deepStrictEqual(m('exec redis-server /r.conf --replicaof "$H" "$P" --requirepass ""', { H: "\uE000", P: "\uE000" }).problems, ["the command line sets an empty requirepass"]);
        assert.match(m('exec redis-server /r.conf --replicaof "$H" "$P" --requirepass "$X"', { H: "\uE000", P: "\uE000", X: "\uE000" }).unknowns.join(), /may be empty/);
        // Too few values: Redis refuses to start (redis-server 7.0: "wrong number of arguments").
        assert.match(m("exec redis-server /r.conf --replicaof h --requirepass y").refuses ?? "", /--replicaof gets 1 of its 2 arguments/);
        assert.match(m("exec redis-server /r.conf --replicaof h").refuses ?? "", /--replicaof gets 1 of its 2 arguments/);
        // A third word that may be an option is still unknown; an unknown option name is too.
        assert.match(m('exec redis-server /r.conf --replicaof h 1 "$X"', { X: "\uE000" }).unknowns.join(), /may be an option/);
        assert.match(m('exec redis-server /r.conf "--$X" y', { X: "\uE000" }).unknowns.join(), /cannot expand/);
    });

    it("reads includes in place, users after the config, and an aclfile instead of them", () => {
        assert.deepStrictEqual(redis('echo "requirepass x" > /a.conf; echo "include /a.conf" > /r.conf; exec redis-server /r.conf').problems, []);
        assert.match(redis('echo "requirepass x" > /r.conf; exec redis-server /r.conf --user default on nopass').problems.join(), /says nopass for the default user/);
        const acl = (text: string) => redis(`printf '${text}' > /u.acl; exec redis-server --aclfile /u.acl`);
        assert.deepStrictEqual(acl("user default off\\nuser app on >x\\n").problems, []);
        assert.match(acl("user app on >x\\n").problems.join(), /does not define the default user/);
        assert.match(acl("user default on nopass\\n").problems.join(), /lets the default user in with nopass/);
        assert.match(acl("# a comment\\n").refuses ?? "", /does not start with "user <name>"/, "Redis refuses such an ACL file and does not start");
        assert.match(acl("user a on >x\\nuser a off\\n").refuses ?? "", /defines user a twice/);
    });

    it("says when it cannot tell: a requirepass that may be empty, config text it cannot expand", () => {
        assert.match(redis('exec redis-server --requirepass "$P"', { P: secret(undefined) }).unknowns.join(), /may be empty/);
        assert.deepStrictEqual(redis('exec redis-server --requirepass "$P"', { P: secret("x") }).unknowns, []);
        assert.match(redis('echo "requirepass x" > /r.conf; echo "$(curl -s http://cfg)" >> /r.conf; exec redis-server /r.conf').unknowns.join(), /cannot expand/);
    });

    it("reads what a redis-cli call changes at runtime", () => {
        assert.match(readRedisCli(["redis-cli", "-h", "r", "CONFIG", "SET", "requirepass", ""], undefined).problem ?? "", /removes the default user's password/);
        assert.match(readRedisCli(["redis-cli", "ACL", "SETUSER", "default", "on", "nopass"], undefined).problem ?? "", /nopass/);
        assert.deepStrictEqual(readRedisCli(["redis-cli", "--tls", "--cacert", "/ca", "CONFIG", "SET", "tls-cert-file", "/x"], undefined), {});
        assert.deepStrictEqual(readRedisCli(["redis-cli", "--rdb", "/b/dump.rdb"], undefined), {});
        assert.match(readRedisCli(["redis-cli"], 'CONFIG SET requirepass ""\n').problem ?? "", /removes/);
    });

    it("applies ACL rules in order", () => {
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, [">pw"]), { enabled: true, nopass: false, hasPassword: true });
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, ["#abc", "nopass"]), { enabled: true, nopass: true, hasPassword: false });
        assert.deepStrictEqual(applyAclRules(DEFAULT_USER_AT_START, ["off"]).enabled, false);
    });
});

describe("reading: Kafka brokers from the start-up", () => {
    it("judges the file kafka-server-start.sh runs, with its --override settings, and only that", () => {
        const kafka = (script: string, env: Record<string, string> = {}) => readKafkaBroker(starts(script, "apache/kafka:3.8.1", env)[0]);
        const conf = "listeners=C://:9092,K://:9093\\nlistener.security.protocol.map=C:SASL_SSL,K:PLAINTEXT\\ncontroller.listener.names=K\\nprocess.roles=broker,controller\\n";
        assert.deepStrictEqual(kafka(`printf '${conf}' > /s.properties; exec kafka-server-start.sh /s.properties`).problems, []);
        assert.match(kafka(`printf '${conf}' > /s.properties; exec kafka-server-start.sh /s.properties --override listener.security.protocol.map=C:PLAINTEXT,K:SSL`).problems.join(), /listener C uses the PLAINTEXT/);
        assert.match(kafka("exec /opt/kafka/bin/kafka-server-start.sh /opt/kafka/config/kraft/server.properties").problems.join(), /listener PLAINTEXT/);
        assert.match(kafka("exec kafka-server-start.sh /x/s.properties").unknowns.join(), /would be a file of image/);
        // The image's own entrypoint: KAFKA_* env becomes broker settings.
        const run = readKafkaBroker(starts("exec /etc/kafka/docker/run", "apache/kafka:3.8.1", { KAFKA_LISTENERS: "C://:9092", KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "C:PLAINTEXT" })[0]);
        assert.match(run.problems.join(), /listener C uses the PLAINTEXT security protocol \(from the container's KAFKA_\* env/);
    });
});

describe("reading: MariaDB servers from the start-up", () => {
    const maria = (script: string, env: Record<string, string> = {}) => readMariaDbServer(starts(script, "mariadb:10.11", env)[0]);
    it("reads the option files mariadbd reads (the image's, conf.d, extra files, ~/.my.cnf) and the command line", () => {
        assert.deepStrictEqual(maria("exec docker-entrypoint.sh mariadbd").problems, []);
        assert.match(maria("exec docker-entrypoint.sh --skip-grant-tables").problems.join(), /skip-grant-tables \(the command line\)/);
        assert.deepStrictEqual(maria("exec mariadbd --skip-grant-tables --skip-skip-grant-tables").problems, []);
        assert.match(maria("printf '[mysqld]\\nskip_grant_tables\\n' > /x.cnf; exec mariadbd --defaults-extra-file=/x.cnf").problems.join(), /skip-grant-tables \(\/x\.cnf/);
        assert.deepStrictEqual(maria("printf '[mysqld]\\nskip_grant_tables\\n' > /x.cnf; exec mariadbd --no-defaults").problems, []);
        assert.deepStrictEqual(maria("exec mariadbd --skip-networking --skip-grant-tables").problems, [], "no TCP listener");
    });

    it("reads the image entrypoint's environment: ALLOW_EMPTY makes root passwordless", () => {
        assert.match(maria("exec docker-entrypoint.sh mariadbd", { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: "no" }).problems.join(), /creates root without a password/);
        assert.match(maria("exec docker-entrypoint.sh mariadbd", { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: secret(undefined) }).unknowns.join(), /if it is not empty/);
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
