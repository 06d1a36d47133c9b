// Policy no-plaintext-credentials: Credentials come only from Secrets: env, env values passed as options, command lines, scripts, probes and ConfigMaps.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import { commandWords } from "../../policy/policies/k8s";
import { findCommandLineCredentials, isCredentialName } from "../../policy/policies/noPlaintextCredentials";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    stack,
    withChange,
} from "./helpers";

describe("policy no-plaintext-credentials", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("recognises credential-looking names", () => {
            for (const n of ["MARIADB_ROOT_PASSWORD", "REDIS_PASSWORD", "API_KEY", "APIKEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "TLS_PRIVATE_KEY", "REDIS_AUTH", "DB_PASS", "MYSQL_PWD", "KAFKA_SASL_JAAS_CONFIG", "db-credentials"]) {
                assert.ok(isCredentialName(n), n);
            }
            for (const n of ["PWD", "HOME", "KAFKA_HEAP_OPTS", "AUTHOR", "PASSIVE_MODE", "MARIADB_USER", "REDIS_ADDR"]) {
                assert.ok(!isCredentialName(n), n);
            }
        });

        it("finds literal credentials on command lines but not references", () => {
            const cases: Array<[string[], string[]]> = [
                [["redis-server", "--requirepass", "hunter2"], ["--requirepass"]],
                [["redis-server", "--requirepass", "$(REDIS_PASSWORD)"], []],
                [["sh", "-c", "mysql -uroot -pS3cret -e 'select 1'"], ["-p<password>"]],
                [["sh", "-c", 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'], []],
                [["mysql", "--password", "orders"], []],
                [["mariadb", "--password=x"], ["--password"]],
                [["redis-cli", "-a", "x", "ping"], ["-a (redis-cli)"]],
                [["sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" ping'], []],
                [["app", "--password-file=/run/secrets/pw", "--token-file", "/t"], []],
                [["app", "-p8080"], []],
                [["sh", "-c", "PGPASSWORD=x psql"], ["PGPASSWORD="]],
                [["curl", "https://user:pw@example.com"], ["a URL with user:password@"]],
            ];
            for (const [words, expected] of cases) {
                assert.deepStrictEqual(findCommandLineCredentials(commandWords(words)), expected, words.join(" "));
            }
        });

        it("flags a plain env value without echoing it", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[1] = { name: "MARIADB_PASSWORD", value: "hunter2" };
            const vs = await expectOnly(objs, "no-plaintext-credentials", "env MARIADB_PASSWORD has a plain value");
            assert.ok(!vs.some((v) => v.message.includes("hunter2")));
        });

        it("accepts *_FILE with an absolute path only", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[0].value = "secrets/root-password";
            await expectOnly(objs, "no-plaintext-credentials", "env MARIADB_ROOT_PASSWORD_FILE has a plain value");
        });

        it("flags configMapKeyRef for credentials but accepts envFrom configMapRef", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[1].valueFrom = { configMapKeyRef: { name: "mariadb-config", key: "password" } };
            await expectOnly(objs, "no-plaintext-credentials", "reads a credential from ConfigMap mariadb-config");
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "mariadb"), "mariadb").envFrom = [{ configMapRef: { name: "mariadb-config" } }];
            await expectClean(objs2);
        });

        it("flags literal passwords in args and probes", async () => {
            const objs = stack();
            const redis = container(obj(objs, "StatefulSet", "redis"));
            redis.args = ["--requirepass", "hunter2"];
            redis.livenessProbe = { exec: { command: ["sh", "-c", "redis-cli -a hunter2 ping"] } };
            const vs = await expectOnly(objs, "no-plaintext-credentials", "command/args passes a literal credential via --requirepass");
            assert.ok(vs[0].message.includes("livenessProbe: sh -c script passes a literal credential via -a (redis-cli)"), vs[0].message);
            assert.ok(!vs[0].message.includes("hunter2"));
        });

        it("exempts names listed in allowedEnvNames", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "kafka")).env.push({ name: "TOKEN_TTL", value: "3600" });
            await expectOnly(objs, "no-plaintext-credentials", "env TOKEN_TTL has a plain value");
            await expectClean(objs, { "no-plaintext-credentials": { allowedEnvNames: ["TOKEN_TTL"] } });
        });
    });

    describe("one change to the baseline", () => {
        it("reads ConfigMaps: credential keys (also bare PASS under an envFrom prefix), inline JAAS, .env, .properties, my.cnf, SQL and scripts", async () => {
            const cm = (data: Record<string, string>) => withChange({ add: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "db" }, data }] });
            const cases: Array<[Record<string, string>, string]> = [
                [{ DB_PASSWORD: "hunter2" }, "key DB_PASSWORD holds a literal credential"],
                [{ PASS: "hunter2" }, "key PASS holds a literal credential"],
                [{ MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: "no" }, "allows an empty password (the image treats any non-empty value as yes)"],
                [{ "sasl.jaas.config": 'x.PlainLoginModule required username="a" password="b";' }, "key sasl.jaas.config has an inline JAAS password"],
                [{ "app.env": "export API_TOKEN='abc'\n" }, "file app.env holds a literal credential (API_TOKEN=)"],
                [{ "c.properties": "ssl.key.password = k\\\n  ey\n" }, "file c.properties holds a literal credential (ssl.key.password=)"],
                [{ "a.cnf": "[client]\npassword = \"x\"\n" }, "file a.cnf holds a literal credential (password=)"],
                [{ "b.cnf": "[mysqld]\nloose_skip_grant_tables\n" }, "file b.cnf sets skip-grant-tables in a server group, which turns authentication off for a server that reads it"],
                [{ "u.sql": "CREATE USER 'a'@'%' IDENTIFIED BY 'x';" }, "IDENTIFIED BY '<password>'"],
                [{ "run.sh": "#!/bin/sh\nexport PGPASSWORD=x\npsql -h db" }, "script run.sh passes a literal credential via PGPASSWORD="],
                [{ "links.yaml": "db: postgres://app:x@db:5432/app\n" }, "links.yaml holds a URL with a literal password"],
            ];
            for (const [data, text] of cases) {
                const vs = await expectOnly(cm(data), "no-plaintext-credentials", text);
                assert.deepStrictEqual([vs[0].kind, vs[0].name], ["ConfigMap", "x"]);
                assert.ok(!vs[0].message.includes("hunter2"));
            }
            await expectClean(cm({ DB_PASSWORD_FILE: "/run/secrets/db", AUTH_ENABLED: "true", "b.cnf": "[mysqld]\nskip-grant-tables\nskip-skip-grant-tables\n", "redis.conf": 'requirepass "from-a-template"\n' }));
            await expectClean(cm({ TOKEN_TTL: "3600" }), { "no-plaintext-credentials": { allowedEnvNames: ["TOKEN_TTL"] } });
        });

        it("reads options passed in env values: JVM system properties, JDBC password parameters, CLI flags", async () => {
            const env = (name: string, value: string) => withChange({ in: BASELINE.Pod, set: { "spec.containers.0.env": [{ name, value }] } });
            await expectOnly(env("KAFKA_OPTS", "-Xmx1g -Djavax.net.ssl.keyStorePassword=changeit"), "no-plaintext-credentials", "env KAFKA_OPTS passes a literal credential via -Djavax.net.ssl.keyStorePassword");
            await expectOnly(env("DB_URL", "jdbc:mariadb://db:3306/x?user=a&password=b"), "no-plaintext-credentials", "env DB_URL holds a URL with a literal password");
            await expectOnly(env("EXTRA_ARGS", "--requirepass hunter2"), "no-plaintext-credentials", "env EXTRA_ARGS passes a literal credential via --requirepass");
            await expectClean(env("JAVA_OPTS", "-Djavax.net.ssl.trustStorePassword=changeit -Djava.security.auth.login.config=/etc/jaas.conf"));
        });

        it("expands $(VAR) and shell variables before looking for literals, and reads here-documents", async () => {
            const cmd = (command: string[], env: unknown[] = []) => withChange({ in: BASELINE.Pod, set: { "spec.containers.0.command": command, "spec.containers.0.env": env } });
            await expectOnly(cmd(["sh", "-c", "redis-cli -a $(R) ping"], [{ name: "R", value: "hunter2" }]), "no-plaintext-credentials", "sh -c script passes a literal credential via -a (redis-cli)");
            await expectOnly(cmd(["sh", "-c", 'P=hunter2; mysql -uroot -p"$P"']), "no-plaintext-credentials", "-p<password>");
            await expectOnly(cmd(["sh", "-c", "cat > /tmp/c.cnf <<EOF\n[client]\npassword=x\nEOF\nmysql --defaults-file=/tmp/c.cnf"]), "no-plaintext-credentials", "written text with password=");
            await expectClean(cmd(["sh", "-c", 'redis-cli -a "$R" ping'], [{ name: "R", valueFrom: { secretKeyRef: { name: "s", key: "p" } } }]));
        });

        it("flags authentication switched off and literal probe headers", async () => {
            await expectOnly(withChange({ in: BASELINE.StatefulSet, set: { "spec.template.spec.containers.0.args": ["--skip-grant-tables"] } }), "no-plaintext-credentials", 'container "mariadb" runs MariaDB without authentication: mariadbd: skip-grant-tables (the command line) turns authentication off');
            await expectClean(withChange({ in: BASELINE.StatefulSet, set: { "spec.template.spec.containers.0.args": ["--skip-grant-tables", "--skip-skip-grant-tables"] } }));
            await expectOnly(
                withChange({ in: BASELINE.Pod, set: { "spec.containers.0.livenessProbe": { httpGet: { port: 80, httpHeaders: [{ name: "Authorization", value: "Bearer abc" }] } } } }),
                "no-plaintext-credentials",
                "livenessProbe sends a literal Authorization header",
            );
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("no-plaintext-credentials");
    });
});
