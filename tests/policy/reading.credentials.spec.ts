// The shared reading module: where credentials hide (policy/reading/credentials.ts).

import * as assert from "assert";
import { findCommandLineCredentials, findConfigTextCredentials, findValueCredentials, isCredentialProperty, jaasHasLiteralPassword, urlCredential } from "../../policy/reading";

describe("reading: credentials", () => {
    it("finds credentials in connection URLs: user:password@ and password parameters, not references", () => {
        assert.strictEqual(urlCredential("redis://:p@ss@h:6379"), "a URL with user:password@");
        assert.strictEqual(urlCredential("amqp://u:%24ecret@h"), "a URL with user:password@");
        assert.strictEqual(urlCredential("jdbc:mariadb://h:3306/db?user=a&password=b"), "a URL with a password parameter");
        assert.strictEqual(urlCredential("jdbc:sqlserver://h;user=a;password=b"), "a URL with a password parameter");
        assert.strictEqual(urlCredential("postgres://u:$(PW)@h/db"), undefined);
        assert.strictEqual(urlCredential("https://user@example.com/x?token="), undefined);
        assert.strictEqual(urlCredential("http://h:8080/path@x"), undefined);
    });

    it("knows credential properties, with truststores and file locations exempt", () => {
        for (const k of ["ssl.keystore.password", "javax.net.ssl.keyStorePassword", "spring.datasource.password", "sasl.jaas.config", "oauth.client.secret", "aws.secretAccessKey"]) {
            assert.ok(isCredentialProperty(k), k);
        }
        for (const k of ["ssl.truststore.password", "javax.net.ssl.trustStorePassword", "ssl.keystore.location", "java.security.auth.login.config", "log.dirs", "password.encoder.cipher.algorithm"]) {
            assert.ok(!isCredentialProperty(k), k);
        }
    });

    it("finds inline JAAS passwords, also PlainLoginModule user_ entries, not config-provider references", () => {
        assert.ok(jaasHasLiteralPassword('PlainLoginModule required username="a" password="b";'));
        assert.ok(jaasHasLiteralPassword("KafkaServer { PlainLoginModule required user_admin='x'; };"));
        assert.ok(!jaasHasLiteralPassword('ScramLoginModule required username="a" password="${file:/s:pw}";'));
        assert.ok(!jaasHasLiteralPassword('Krb5LoginModule required useKeyTab=true keyTab="/k";'));
    });

    it("finds credentials in command lines: JVM properties, overrides, curl -u, sshpass", () => {
        assert.deepStrictEqual(findCommandLineCredentials(["java", "-Djavax.net.ssl.keyStorePassword=x", "-Dkey.store.location=/k"]), ["-Djavax.net.ssl.keyStorePassword"]);
        assert.deepStrictEqual(findCommandLineCredentials(["kafka-server-start.sh", "f", "--override", "ssl.key.password=x", "--override", "sasl.jaas.config=M required password=\"y\";"]), ["ssl.key.password=", "sasl.jaas.config="]);
        assert.deepStrictEqual(findCommandLineCredentials(["curl", "-u", "admin:x", "http://h"]), ["-u (user:password)"]);
        assert.deepStrictEqual(findCommandLineCredentials(["curl", "-u", "admin", "http://h"]), []);
        assert.deepStrictEqual(findCommandLineCredentials(["sshpass", "-p", "x", "ssh", "h"]), ["-p (sshpass)"]);
        assert.deepStrictEqual(findValueCredentials('-Xmx1g -Dspring.datasource.password="a b"'), ["-Dspring.datasource.password"]);
    });

    it("finds credentials in config text by format", () => {
        assert.deepStrictEqual(findConfigTextCredentials("a=1\nssl.key.password : \\\n  secret\n# password=x\n", "properties"), ["ssl.key.password="]);
        assert.deepStrictEqual(findConfigTextCredentials("[client]\nuser=a\npassword = 'x'\n[mysqld]\nport=3306\n", "mycnf"), ["password="]);
        assert.deepStrictEqual(findConfigTextCredentials("DB_PASSWORD_FILE=/s\nAUTH_ENABLED=yes\nexport API_KEY=k\n", "env"), ["API_KEY="]);
        assert.deepStrictEqual(findConfigTextCredentials("CREATE USER 'a'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('x');", "sql"), ["IDENTIFIED BY '<password>'"]);
        assert.deepStrictEqual(findConfigTextCredentials("CREATE USER 'a'@'%' IDENTIFIED BY PASSWORD '*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29';\n", "sql"), []);
    });
});
