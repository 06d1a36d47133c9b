// Redis's configuration files (components/redis/files.ts): the ACL file, the probes, and maxmemory with
// everything that depends on it.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { planRedis, redisAclFile, redisProbeCommand, redisServerConfig, replicaOutputBufferBytes, replicationConfig } from "../../components/redis";
import { resolveContent, ServicePlan } from "../../components/workload/plan";

/** Resolves every derived content of a plan with distinct fake values. */
function resolved(plan: ServicePlan): Map<string, string> {
    const values = Object.fromEntries(plan.generated.map((g) => [g.id, `value-of-${g.id}`]));
    return new Map(plan.objects.flatMap((o) => o.data.map((d) => [`${o.name}/${d.key}`, resolveContent(d.content, values)] as [string, string])));
}

describe("pure helpers", () => {
    it("redis ACL: hashed passwords; application users lose @dangerous and keep to their keys", () => {
        const acl = redisAclFile("adminpw", [{ name: "carts", keyPattern: "cart:*", password: "cartpw" }]);
        assert.ok(!acl.includes("adminpw") && !acl.includes("cartpw"));
        assert.match(acl, /^user default on #[0-9a-f]{64} ~\* &\* \+@all$/m);
        assert.match(acl, /^user carts on #[0-9a-f]{64} resetchannels ~cart:\* &cart:\* \+@all -@dangerous$/m);
    });

    it("redis probe: only PONG passes readiness; liveness also accepts LOADING and an auth refusal; the password file read at each run, no password argument", () => {
        const readiness = redisProbeCommand("readiness", false)[2];
        assert.match(readiness, /case "\$reply" in PONG\) exit 0/);
        const liveness = redisProbeCommand("liveness", true)[2];
        // A refused password still proves the server answers: a rotation never restarts a pod.
        assert.match(liveness, /PONG\|LOADING\*\|\*NOAUTH\*\|\*WRONGPASS\*\) exit 0/);
        assert.match(liveness, /--tls --cacert/);
        for (const p of [readiness, liveness]) {
            assert.match(p, /REDISCLI_AUTH="\$\(cat \/etc\/redis\/credentials\/password\)" redis-cli/);
            assert.doesNotMatch(p, / -a /);
        }
        // With a report: the fingerprint of the files, the exporter reloaded first, then PUBLISH on the channel.
        const reporting = redisProbeCommand("readiness", false, { files: ["/a", "/b"], exporterReload: "wget -q -O /dev/null http://127.0.0.1:9121/-/reload" })[2];
        assert.match(reporting, /case "\$reply" in PONG\) ;; \*\) echo "\$reply"; exit 1;; esac/);
        assert.match(reporting, /cat \/a \/b 2>\/dev\/null \| sha256sum \| cut -c1-16/);
        assert.ok(reporting.indexOf("/-/reload && echo") > 0 && reporting.indexOf("/-/reload") < reporting.indexOf("PUBLISH"), "the fingerprint is recorded only once the exporter reloaded");
        assert.match(reporting, /PUBLISH msa:mounted-secrets "\$\(hostname\) \$\(cat \/tmp\/\.mounted-secrets/);
    });
});

// maxmemory, from the memory limit and redis.maxmemoryPercent: the redis.conf line, the plan wiring the setting
// through, and the replicas' output buffers kept within the headroom above it. (The accepted range of
// redis.maxmemoryPercent is checked with the other settings errors in tests/config/settings.spec.ts.)
describe("Redis maxmemory", () => {
    it("redis.conf: AOF, ACL file, maxmemory from the limit, TLS on the same port", () => {
        const plain = redisServerConfig({ memoryLimit: "512Mi", maxmemoryPercent: 75, maxmemoryPolicy: "noeviction", tls: false });
        assert.match(plain, /^maxmemory 402653184$/m);
        assert.match(plain, /^port 6379$/m);
        const tls = redisServerConfig({ memoryLimit: "1Gi", maxmemoryPercent: 75, maxmemoryPolicy: "allkeys-lru", tls: true });
        assert.match(tls, /^port 0$/m);
        assert.match(tls, /^tls-port 6379$/m);
        assert.match(tls, /^maxmemory-policy allkeys-lru$/m);
    });

    it("wires replicas through and sizes Redis maxmemory from redis.maxmemoryPercent", () => {
        const config = parseStackConfig({ redis: { maxmemoryPercent: 50 } });
        const redis = planRedis(config.redis, config);
        assert.strictEqual(redis.workload.replicas, config.redis.replicas);
        const conf = resolved(redis).get("redis-config/redis.conf")!;
        assert.match(conf, new RegExp(`^maxmemory ${512 * 2 ** 20 / 2}$`, "m"));
    });

    it("sizing: the replicas' output buffers together take at most half the headroom above maxmemory", () => {
        // prod: 2Gi limit, maxmemory 50% → 1Gi headroom; 2 replicas → 256Mi each (hard), soft half of it.
        assert.strictEqual(replicaOutputBufferBytes({ memoryLimit: "2Gi", maxmemoryPercent: 50, replicas: 3 }), 256 * 1024 * 1024);
        assert.strictEqual(replicaOutputBufferBytes({ memoryLimit: "512Mi", maxmemoryPercent: 50, replicas: 5 }), 32 * 1024 * 1024);
        for (const [limit, pct, n] of [["512Mi", 50, 3], ["2Gi", 75, 7], ["1Gi", 10, 5]] as const) {
            const buffer = replicaOutputBufferBytes({ memoryLimit: limit, maxmemoryPercent: pct, replicas: n });
            const conf = replicationConfig({ memoryLimit: limit, maxmemoryPercent: pct, replicas: n, tls: false });
            const maxmemory = Number(/^maxmemory (\d+)$/m.exec(redisServerConfig({ memoryLimit: limit, maxmemoryPercent: pct, maxmemoryPolicy: "noeviction", tls: false }))![1]);
            const limitBytes = Number(/^(\d+)/.exec(limit)![1]) * (limit.endsWith("Gi") ? 1024 ** 3 : 1024 ** 2);
            assert.ok(maxmemory + (n - 1) * buffer <= maxmemory + (limitBytes - maxmemory) / 2, `${limit} ${pct}% ${n}`);
            assert.match(conf, new RegExp(`^client-output-buffer-limit replica ${buffer} ${Math.floor(buffer / 2)} 60$`, "m"));
        }
    });
});
