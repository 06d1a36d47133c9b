// Policy redis-requires-auth: Redis servers require a password, as redis-server reads its configuration.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import * as path from "path";
import { formatReport } from "../../policy/runner";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    find,
    fixture,
    FIXTURES,
    isUnverifiable,
    itCatchesClassCorpus,
    Json,
    obj,
    ofPolicy,
    podSpec,
    overlay,
    run,
    stack,
    withChange,
} from "./helpers";

describe("policy redis-requires-auth", () => {
    describe("moved from tests/policy.spec.ts", () => {
        function redisStack(): { objs: Json[]; conf: Json; redis: Json } {
            const objs = stack();
            return { objs, conf: obj(objs, "ConfigMap", "redis-config"), redis: container(obj(objs, "StatefulSet", "redis")) };
        }

        it("flags a mounted redis.conf that sets neither requirepass nor aclfile", async () => {
            const { objs, conf } = redisStack();
            conf.data["redis.conf"] = "dir /data\nappendonly yes\n# requirepass is commented out\n";
            await expectOnly(objs, "redis-requires-auth", "neither its config (/etc/redis/redis.conf) nor its command line sets requirepass or aclfile, so the default user has no password");
        });

        it("accepts requirepass in the config file and flags nopass or an empty requirepass", async () => {
            const { objs, conf } = redisStack();
            conf.data["redis.conf"] = 'dir /data\nrequirepass "s3cret-from-a-template"\n';
            await expectClean(objs);
            conf.data["redis.conf"] = "requirepass x\nuser default on nopass ~* +@all\n";
            await expectOnly(objs, "redis-requires-auth", "says nopass");
            conf.data["redis.conf"] = 'requirepass ""\n';
            await expectOnly(objs, "redis-requires-auth", "sets an empty requirepass");
        });

        it("flags an ACL file that lets the default user in without a password", async () => {
            const { objs } = redisStack();
            obj(objs, "Secret", "redis-acl").stringData["users.acl"] = "user default on nopass ~* +@all\n";
            await expectOnly(objs, "redis-requires-auth", "ACL file /etc/redis/acl/users.acl (Secret cache/redis-acl key users.acl) lets the default user in with nopass");
        });

        it("cannot verify a config file whose ConfigMap is not in the stack", async () => {
            const { objs, conf } = redisStack();
            objs.splice(objs.indexOf(conf), 1);
            await expectOnly(objs, "redis-requires-auth", "comes from ConfigMap cache/redis-config, which is not part of this stack");
        });

        it("accepts --requirepass from an env reference and flags a redis image with no auth at all", async () => {
            const { objs, redis } = redisStack();
            redis.command = ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"];
            redis.env.push({ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-acl", key: "users.acl" } } });
            await expectClean(objs);
            delete redis.command;
            await expectOnly(objs, "redis-requires-auth", 'container "redis" runs Redis that lets clients in without a password: redis-server: it has no config file and no --requirepass or --aclfile');
            // An image whose entrypoint the pack does not know: not a claim, but unverifiable.
            redis.image = "registry.example.com/mirror/redis:7.2.5";
            await expectOnly(objs, "redis-requires-auth", 'container "redis": cannot verify that Redis requires a password: the image\'s entrypoint: it sets no command, and image registry.example.com/mirror/redis:7.2.5 is not one whose entrypoint the pack knows');
        });

        it("checks any image that runs redis-server, and skips helpers and clients", async () => {
            const { objs, redis } = redisStack();
            redis.image = "ghcr.io/acme/cache-server:1.0";
            redis.command = ["redis-server", "--port", "6379"];
            await expectOnly(objs, "redis-requires-auth", "no --requirepass");
            const objs2 = stack();
            podSpec(obj(objs2, "StatefulSet", "mariadb")).initContainers[0].image = "redis:7.2-alpine";
            await expectClean(objs2);
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "redis-requires-auth");
            assert.deepStrictEqual(vs, [], "redis-cli init container is not a server");
        });

        it("reads the mounted file through a subPath mount", async () => {
            const vs = ofPolicy(await run(fixture("redis-nopass.yaml")), "redis-requires-auth");
            assert.strictEqual(vs.length, 1);
            assert.ok(vs[0].message.includes("/usr/local/etc/redis/redis.conf (ConfigMap cache/redis-config key redis.conf) says nopass"), vs[0].message);
        });
    });

    describe("one change to the baseline", () => {
        it("reads the config file under any name and follows include globs", async () => {
            const objs = withChange({
                in: "ConfigMap cache/redis-config",
                edit: (o) => {
                    o.data["main.cfg"] = 'requirepass "x"\ninclude /etc/redis/*.conf\n';
                    o.data["redis.conf"] = "user default on nopass ~* +@all\n";
                },
            });
            find(objs, "StatefulSet cache/redis").spec.template.spec.containers[0].command = ["redis-server", "/etc/redis/main.cfg"];
            await expectOnly(objs, "redis-requires-auth", "/etc/redis/redis.conf (ConfigMap cache/redis-config key redis.conf) says nopass");
        });

        it("applies command-line directives after the file, and the last requirepass wins", async () => {
            const set = (command: string[], conf?: string) => {
                const objs = withChange({ in: "StatefulSet cache/redis", set: { "spec.template.spec.containers.0.command": command } });
                if (conf !== undefined) {
                    find(objs, "ConfigMap cache/redis-config").data["redis.conf"] = conf;
                }
                return objs;
            };
            await expectOnly(set(["redis-server", "/etc/redis/redis.conf", "--requirepass", ""], "dir /data\n"), "redis-requires-auth", "the command line sets an empty requirepass");
            // With an aclfile the users (default included) come from the ACL file, so requirepass does not matter.
            await expectClean(set(["redis-server", "/etc/redis/redis.conf", "--requirepass", ""]));
            await expectClean(set(["redis-server", "/etc/redis/redis.conf"], 'requirepass ""\nrequirepass "x"\n'));
            await expectOnly(set(["redis-server", "/etc/redis/redis.conf"], 'requirepass "x"\nrequirepass ""\n'), "redis-requires-auth", "sets an empty requirepass");
            await expectOnly(set(["redis-server", "/etc/redis/redis.conf", "--user", "default", "on", "nopass"], 'requirepass "x"\n'), "redis-requires-auth", "the command line says nopass for the default user");
        });

        it("requires the ACL file to define the default user", async () => {
            const objs = withChange({ in: BASELINE.Secret, edit: (o) => (o.stringData["users.acl"] = "user app on >pw ~* +@all\n") });
            await expectOnly(objs, "redis-requires-auth", "ACL file /etc/redis/acl/users.acl (Secret cache/redis-acl key users.acl) does not define the default user, so it keeps nopass");
        });

        it("checks sidecars and the image's entrypoint, and skips a redis image that only sleeps", async () => {
            const sidecar = { name: "cache", image: "redis:7.2-alpine", restartPolicy: "Always", args: ["--port", "6380"] };
            // (The bare sidecar also trips the resource and security-context policies; only the Redis finding matters here.)
            const vs = ofPolicy(await run(withChange({ in: BASELINE.Pod, set: { "spec.initContainers": [sidecar] } })), "redis-requires-auth");
            assert.ok(vs.some((v) => v.message.startsWith('sidecar container "cache" runs Redis that lets clients in without a password: redis-server: it has no config file and no --requirepass')), formatReport(vs));
            await expectClean(withChange({ in: BASELINE.Pod, set: { "spec.containers.0.image": "redis:7.2-alpine" } }));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("redis-requires-auth");

        it("states the claim, not a 'cannot verify', when the unknown words are a runtime-chosen primary's host and port", async () => {
            const file = path.join(FIXTURES, "violating", "classes", "redis-replicaof-runtime-then-empty-requirepass.yaml");
            const vs = await expectOnly(overlay(file), "redis-requires-auth", "redis-server started by /etc/redis/start.sh: the command line sets an empty requirepass");
            assert.ok(!vs.some(isUnverifiable), formatReport(vs));
        });

        it("reads a password kept in a function's local variable as gone once the function returns", async () => {
            const file = path.join(FIXTURES, "violating", "classes", "redis-function-local-password.yaml");
            await expectOnly(overlay(file), "redis-requires-auth", "redis-server started by /etc/redis/start.sh: the command line sets an empty requirepass");
        });
    });
});
