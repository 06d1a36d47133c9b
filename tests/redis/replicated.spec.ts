// A replicated Redis (redis.replicas > 1) without a runtime: the settings it accepts and refuses, and the
// plan it makes (Sentinel in every pod, ACL users, Secrets, placement, ports, outputs). The real processes
// are in tests/servers/redis/sentinel.spec.ts.

import { PINNED_IMAGES } from "../helpers/config";
import * as assert from "assert";
import { PlatformSettings } from "../../components/config/platform";
import { ConfigError, parseStackConfig } from "../../components/stackConfig";
import {
    planRedis,
    REDIS_GENERATED,
    REDIS_OBJECTS,
    redisAclFile,
    redisConnection,
    replicationConfig,
    sentinelConfig,
    sentinelQuorum,
} from "../../components/redis";
import { planProblems, portsExposed, resolveContent, ServicePlan } from "../../components/workload/plan";
import { sentinelStartScript } from "../../components/redis/sentinel";

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(raw);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

/** Every generated value as a distinct test-local token, so a text shows which value went where. */
function values(plan: ServicePlan): Record<string, string> {
    return Object.fromEntries(plan.generated.map((g, i) => [g.id, `gen-${g.id}-${i}-${Math.random().toString(36).slice(2)}`]));
}

function entry(plan: ServicePlan, object: string, key: string, v: Record<string, string>): string {
    const o = plan.objects.find((x) => x.name === object);
    assert.ok(o, `the plan has ${object}`);
    const d = o.data.find((x) => x.key === key);
    assert.ok(d, `${object} has key ${key}`);
    return resolveContent(d.content, v);
}

describe("redis.replicas: accepted and refused values", () => {
    for (const n of [1, 3, 5, 7]) {
        it(`accepts ${n}`, () => assert.strictEqual(parseStackConfig({ redis: { replicas: n } }).redis.replicas, n));
    }
    for (const [n, why] of [
        [2, "even: no majority survives a split"],
        [4, "even"],
        [9, "more than 7"],
        [0, "no pod"],
        [1.5, "not an integer"],
    ] as const) {
        it(`refuses ${n} (${why}), naming the key, the value and what is accepted`, () => {
            const found = problems({ redis: { replicas: n } });
            assert.ok(
                found.some((p) => new RegExp(`^msa-infra:redis\\.replicas: ${String(n).replace(".", "\\.")} is not valid; expected 1 \\(standalone\\) or an odd number from 3 to 7`).test(p)),
                found.join("\n"),
            );
        });
    }
    it("reserves the replication and sentinel ACL user names", () => {
        for (const name of ["replication", "sentinel"]) {
            const found = problems({ redis: { users: [{ name }] } });
            assert.ok(found.some((p) => p.includes(`redis.users[].name: "${name}" is not valid`) && /replication and sentinel/.test(p)), found.join("\n"));
        }
    });
    it("defaults to 1 (standalone) in development and production alike", () => {
        assert.strictEqual(parseStackConfig({}).redis.replicas, 1);
    });
});

describe("Redis plan, replicated", () => {
    const platform = (extra: Record<string, unknown> = {}) => parseStackConfig({ tls: { enabled: true }, ...extra }) as PlatformSettings & ReturnType<typeof parseStackConfig>;
    const config3 = parseStackConfig({ tls: { enabled: true }, redis: { replicas: 3 } });
    const plan3 = planRedis(config3.redis, config3);
    const v = values(plan3);

    it("is sound, and standalone plans have none of it", () => {
        assert.deepStrictEqual(planProblems(plan3), []);
        const one = planRedis(platform().redis, platform());
        for (const id of [REDIS_GENERATED.replicationPassword, REDIS_GENERATED.sentinelPassword, REDIS_GENERATED.sentinelUserPassword]) {
            assert.ok(!one.generated.some((g) => g.id === id), `standalone generates ${id}`);
            assert.ok(plan3.generated.some((g) => g.id === id && g.kind === "password"), `replicated generates ${id}`);
        }
        assert.deepStrictEqual(one.workload.containers.map((c) => c.name), ["redis", "tls-reloader"]);
        assert.strictEqual(one.workload.placement, undefined);
        assert.strictEqual(redisConnection(platform().redis, platform()).sentinel, undefined);
        // redis.conf is the standalone file in both: the replication settings come in on the command line.
        assert.strictEqual(entry(plan3, REDIS_OBJECTS.config, "redis.conf", v), entry(one, REDIS_OBJECTS.config, "redis.conf", values(one)));
    });

    it("runs a Sentinel next to every redis-server, reachable by clients and by the other pods", () => {
        assert.deepStrictEqual(plan3.workload.containers.map((c) => c.name), ["redis", "tls-reloader", "sentinel"]);
        const clientPorts = portsExposed(plan3, "client");
        assert.deepStrictEqual(clientPorts.map((p) => [p.name, p.port, p.peers]), [["redis", 6379, true], ["sentinel", 26379, true]]);
        assert.strictEqual(plan3.workload.replicas, 3);
        // The StatefulSet's immutable fields are those of the standalone plan: going 1 → 3 replaces nothing.
        const one = planRedis(platform().redis, platform());
        assert.strictEqual(plan3.workload.podManagementPolicy, one.workload.podManagementPolicy);
        assert.deepStrictEqual(plan3.workload.storage, one.workload.storage);
    });

    it("puts every password in a Secret and none in a ConfigMap, an env value or a command line", () => {
        const secrets = plan3.objects.filter((o) => o.kind === "Secret");
        const configMaps = plan3.objects.filter((o) => o.kind === "ConfigMap");
        const passwords = plan3.generated.filter((g) => g.kind === "password").map((g) => v[g.id]);
        for (const o of configMaps) {
            for (const d of o.data) {
                const text = resolveContent(d.content, v);
                for (const p of passwords) assert.ok(!text.includes(p), `ConfigMap ${o.name} key ${d.key} holds a password`);
            }
        }
        for (const c of plan3.workload.containers) {
            for (const p of passwords) {
                assert.ok(!(c.command ?? []).some((a) => a.includes(p)), `${c.name}'s command line holds a password`);
                assert.ok(!c.env.some((e) => "value" in e && e.value.includes(p)), `${c.name}'s env holds a password`);
            }
        }
        const where = (id: string) => secrets.filter((o) => o.data.some((d) => resolveContent(d.content, v).includes(v[id]))).map((o) => o.name);
        assert.deepStrictEqual(where(REDIS_GENERATED.replicationPassword), [REDIS_OBJECTS.replication]);
        assert.deepStrictEqual(where(REDIS_GENERATED.sentinelUserPassword), [REDIS_OBJECTS.sentinelAuth]);
        // The ACL file holds only hashes: the clients' password is in their Secret alone, the peers' in the auth file.
        assert.deepStrictEqual(where(REDIS_GENERATED.sentinelPassword), [REDIS_OBJECTS.sentinelCredentials]);
        assert.deepStrictEqual(where(REDIS_GENERATED.sentinelPeerPassword), [REDIS_OBJECTS.sentinelAuth]);
        assert.deepStrictEqual(where(REDIS_GENERATED.sentinelAdminPassword), [REDIS_OBJECTS.sentinelAdmin]);
        // The Sentinel probe reads the password file at each run: nothing in the environment.
        const sentinel = plan3.workload.containers.find((c) => c.name === "sentinel")!;
        assert.deepStrictEqual(sentinel.env, []);
    });

    it("ACL: replication may PSYNC, REPLCONF and PING only; sentinel only the commands Sentinel sends, on its hello channel", () => {
        const acl = entry(plan3, REDIS_OBJECTS.acl, "users.acl", v);
        assert.match(acl, /^user replication on #[0-9a-f]{64} resetkeys resetchannels -@all \+psync \+replconf \+ping$/m);
        assert.match(
            acl,
            /^user sentinel on #[0-9a-f]{64} resetkeys resetchannels &__sentinel__:hello -@all \+multi \+slaveof \+ping \+exec \+subscribe \+config\|rewrite \+role \+publish \+info \+client\|setname \+client\|kill \+script\|kill$/m,
        );
        assert.ok(!acl.includes(v[REDIS_GENERATED.replicationPassword]), "hashes, not passwords, in the ACL file");
        assert.doesNotMatch(redisAclFile("a", []), /replication|sentinel/);
    });

    it("replication.conf: TLS replication, a bounded write window; the replication user's credentials in a Secret; AOF everywhere", () => {
        assert.match(entry(plan3, REDIS_OBJECTS.config, "redis.conf", v), /^appendonly yes$/m);
        const conf = entry(plan3, REDIS_OBJECTS.scripts, "replication.conf", v);
        assert.match(conf, /^replica-read-only yes$/m);
        assert.match(conf, /^tls-replication yes$/m);
        assert.match(conf, /^min-replicas-to-write 1$/m);
        assert.match(conf, /^min-replicas-max-lag 10$/m);
        assert.doesNotMatch(conf, /^replicaof/m, "the role is decided at start, not rendered");
        assert.strictEqual(entry(plan3, REDIS_OBJECTS.replication, "replication.conf", v), `masteruser replication\nmasterauth ${v[REDIS_GENERATED.replicationPassword]}\n`);
        assert.doesNotMatch(replicationConfig({ memoryLimit: "512Mi", maxmemoryPercent: 50, replicas: 3, tls: false }), /tls-replication/);
    });

    it("sentinel.conf: a majority quorum, host names, TLS, and no password (those are in Secret redis-sentinel-auth)", () => {
        assert.deepStrictEqual([1, 3, 5, 7].map(sentinelQuorum), [1, 2, 3, 4]);
        for (const n of [3, 5, 7]) {
            const text = sentinelConfig({ app: "redis", namespace: "cache", replicas: n, tls: true });
            assert.match(text, new RegExp(`^sentinel monitor redis redis-0\\.redis-headless\\.cache\\.svc\\.cluster\\.local 6379 ${Math.floor(n / 2) + 1}$`, "m"));
            assert.ok(text.indexOf("sentinel resolve-hostnames yes") < text.indexOf("sentinel monitor"), "host names resolve before the monitor line names one");
            assert.match(text, /^tls-port 26379$/m);
            assert.match(text, /^port 0$/m);
            assert.match(text, /^tls-replication yes$/m);
            assert.doesNotMatch(text, /requirepass|auth-pass/);
        }
        const scripts = plan3.objects.find((o) => o.name === REDIS_OBJECTS.scripts)!;
        assert.strictEqual(scripts.kind, "ConfigMap");
        const auth = entry(plan3, REDIS_OBJECTS.sentinelAuth, "sentinel-auth.conf", v);
        assert.match(auth, new RegExp(`^sentinel auth-user redis sentinel\nsentinel auth-pass redis ${v[REDIS_GENERATED.sentinelUserPassword]}$`, "m"));
        // The Sentinels authenticate to each other as `sentinels` with their own password, not the clients'.
        assert.match(auth, new RegExp(`^sentinel sentinel-user sentinels\nsentinel sentinel-pass ${v[REDIS_GENERATED.sentinelPeerPassword]}$`, "m"));
        assert.ok(!auth.includes(v[REDIS_GENERATED.sentinelPassword]), "the clients' password is not what the Sentinels use among themselves");
        const acl = entry(plan3, REDIS_OBJECTS.sentinelAuth, "users.acl", v).split("\n");
        assert.match(acl[0], /^user default on #[0-9a-f]{64} resetchannels &\* -@all \+ping /);
        assert.doesNotMatch(acl[0], /@all \+@all|\+acl|\+publish|\+sentinel\|set|\+sentinel\|remove|\+sentinel\|config|\+sentinel\|failover|\+sentinel\|reset|~\*/);
        assert.match(acl[1], /^user sentinels on #[0-9a-f]{64} resetchannels -@all \+ping \+client\|setname \+sentinel\|is-master-down-by-addr$/);
        assert.match(acl[2], /^user admin on #[0-9a-f]{64} ~\* &\* \+@all$/);
        const hashes = acl.slice(0, 3).map((l) => /#([0-9a-f]{64})/.exec(l)![1]);
        assert.strictEqual(new Set(hashes).size, 3, "three users, three passwords");
    });

    it("start scripts: each pod knows its ordinal and every pod's Redis and Sentinel; the records are on the data volume, which both containers mount", () => {
        const common = entry(plan3, REDIS_OBJECTS.scripts, "common.sh", v);
        const h = (i: number) => `redis-${i}.redis-headless.cache.svc.cluster.local`;
        assert.ok(common.includes(`    redis-1) self=${h(1)}:6379; ordinal=1 ;;`), common);
        assert.ok(common.includes(`redis_hosts="${h(0)}:6379 ${h(1)}:6379 ${h(2)}:6379"`));
        assert.ok(common.includes(`sentinel_hosts="${h(0)}:26379 ${h(1)}:26379 ${h(2)}:26379"`));
        assert.match(common, /^quorum=2$/m);
        assert.ok(common.includes(`initial_master=${h(0)}:6379`));
        assert.match(common, /^sentinel_state=\/data\/sentinel\/sentinel\.conf$/m);
        // The Sentinel password only in the command's environment; each record with its config-epoch.
        assert.match(common, /REDISCLI_AUTH="\$\(cat \/etc\/redis\/sentinel-password\/password\)" cli "\$1" SENTINEL master redis/);
        assert.match(common, /timeout 3 redis-cli --tls --cacert \/etc\/redis\/tls\/ca\.crt -h/);
        const start = entry(plan3, REDIS_OBJECTS.scripts, "start-redis.sh", v);
        assert.match(
            start,
            /exec redis-server \/etc\/redis\/redis\.conf --include \/etc\/redis\/scripts\/replication\.conf --include \/etc\/redis\/replication\/replication\.conf --replica-announce-ip "\$\{self%:\*\}" "\$@"$/m,
        );
        assert.match(start, /ls \/data\/appendonlydir\/\*\.manifest/, "the volume's AOF decides whether the pod holds data");
        assert.match(start, /redis-check-rdb/);
        assert.match(start, /serve --replicaof "\$\{best_master%:\*\}" "\$\{best_master##\*:\}"$/m);
        assert.match(start, /serve_watched synced --replicaof .* --replica-priority 0$/m);
        // A starting primary is fenced (refusing writes) until the Sentinels give the all-clear; the behaviour is
        // proven on real Sentinels (tests/servers/redis/sentinel.spec.ts, "comes back while the Sentinels hold it down").
        assert.strictEqual((start.match(/^ {16}serve_fenced$/gm) ?? []).length, 2, "both ways to start as the primary are fenced");
        assert.match(start, /serve_watched fence_lifted --min-replicas-to-write \$pods$/m);
        assert.match(start, /CONFIG SET min-replicas-to-write 1\)/);
        const sentinel = entry(plan3, REDIS_OBJECTS.scripts, "start-sentinel.sh", v);
        // With TLS the script stays Sentinel's parent and restarts it when the certificate files change
        // (tests/servers/redis/sentinel.spec.ts renews twice on real Sentinels); without TLS it execs Sentinel.
        assert.match(sentinel, /^ {4}redis-server "\$sentinel_state" --sentinel --include \/etc\/redis\/sentinel-auth\/sentinel-auth\.conf --aclfile \/etc\/redis\/sentinel-auth\/users\.acl &$/m);
        assert.match(sentinel, /sleep \$\(\(ordinal \* 10\)\)/);
        assert.doesNotMatch(sentinel, /^exec redis-server/m);
        assert.match(sentinelStartScript({ replicas: 3, tls: false }), /^exec redis-server "\$sentinel_state" --sentinel --include \/etc\/redis\/sentinel-auth\/sentinel-auth\.conf --aclfile \/etc\/redis\/sentinel-auth\/users\.acl$/m);
        assert.match(sentinel, /sentinel monitor redis \$\{master%:\*\} \$\{master##\*:\} 2\|/);
        assert.match(sentinel, /grep -E '\^sentinel \(myid\|current-epoch\|leader-epoch redis\) '/);
        assert.match(entry(plan3, REDIS_OBJECTS.scripts, "sentinel.conf", v), /^dir \/data\/sentinel$/m);
        // Both containers mount the claim: Sentinel's working copy is this pod's record and outlives the pod.
        for (const name of ["redis", "sentinel"]) {
            const c = plan3.workload.containers.find((x) => x.name === name)!;
            assert.ok(c.mounts.some((m) => m.path === "/data" && m.source.kind === "claim"), `${name} mounts the data volume`);
            assert.ok(!c.mounts.some((m) => m.source.kind === "scratch" && m.path.includes("sentinel")), `${name}: no Sentinel state in an emptyDir`);
        }
    });

    it("placement: one pod per node required in production, preferred in development, spread over zones", () => {
        const prod = parseStackConfig({
            environment: "production",
            storageClass: "longhorn",
            protect: true,
            networkPolicies: { allowedNamespaces: ["a"] },
            mariadb: { image: PINNED_IMAGES.mariadb },
            redis: { image: PINNED_IMAGES.redis, replicas: 3 },
        });
        assert.deepStrictEqual(planRedis(prod.redis, prod).workload.placement, { nodeSpread: "required", zoneSpread: true });
        assert.deepStrictEqual(plan3.workload.placement, { nodeSpread: "preferred", zoneSpread: true });
    });

    it("outputs: the Sentinels' host:port, the master name and the Sentinel password's Secret; the standalone fields unchanged", () => {
        const conn = redisConnection(config3.redis, config3);
        const one = redisConnection(platform().redis, platform());
        assert.deepStrictEqual({ ...conn, sentinel: undefined }, { ...one, sentinel: undefined });
        assert.deepStrictEqual(conn.sentinel, {
            hosts: [0, 1, 2].map((i) => `redis-${i}.redis-headless.cache.svc.cluster.local:26379`),
            masterName: "redis",
            passwordSecret: { name: "redis-sentinel-credentials", key: "password" },
        });
        const five = parseStackConfig({ redis: { replicas: 5, namespace: "kv" } });
        assert.strictEqual(redisConnection(five.redis, five).sentinel!.hosts[4], "redis-4.redis-headless.kv.svc.cluster.local:26379");
    });
});
