// The Redis ComponentResource (components/redis/index.ts) instantiated alone under the Pulumi mock runtime.

import * as assert from "assert";
import { planRedis, Redis } from "../../components/redis";
import { RenderResult } from "../../scripts/lib/mockRuntime";
import { Any, containers, find } from "../../scripts/lib/manifests";
import { context, defaults, platform, renderComponent } from "../helpers/component";

describe("Redis component", () => {
    let r: RenderResult;
    before(async () => {
        const settings = { ...defaults.redis, users: [{ name: "carts", keyPattern: "cart:*" }] };
        r = await renderComponent(() => new Redis("cache", { settings, plan: planRedis(settings, context), platform }));
    });

    it("mounts redis.conf from the ConfigMap and the ACL file from a Secret", () => {
        const sts = find(r.objects, "StatefulSet", "cache", "redis") as Any;
        const c = containers(sts)[0];
        assert.deepStrictEqual(c.command, ["redis-server", "/etc/redis/redis.conf"]);
        const volumes = Object.fromEntries(sts.spec.template.spec.volumes.map((v: Any) => [v.name, v]));
        assert.strictEqual(volumes.config.configMap.name, "redis-config");
        assert.strictEqual(volumes.acl.secret.secretName, "redis-acl");
        assert.match((find(r.objects, "ConfigMap", "cache", "redis-config") as Any).data["redis.conf"], /^aclfile \/etc\/redis\/acl\/users\.acl$/m);
    });

    it("creates a Secret per application user and no NetworkPolicy for peers it does not have (allow-jobs: the ACL Job reaches the pods)", () => {
        find(r.objects, "Secret", "cache", "redis-user-carts");
        const names = r.objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.metadata.name);
        assert.deepStrictEqual(names.sort(), ["allow-clients", "allow-jobs", "default-deny-ingress"]);
    });
});
