// Service plans and the pod template builder, without any Pulumi runtime: every plan the settings can
// produce is sound, and the pure builders turn mounts into volumes and checksums as documented.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { planKafka } from "../../components/kafka";
import { planMariaDb } from "../../components/mariadb";
import { planRedis } from "../../components/redis";
import { buildPodSpec, buildVolumes, checksumSources, PodReferences } from "../../components/workload/podTemplate";
import { planProblems, portsExposed, resolveContent, ServicePlan } from "../../components/workload/plan";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Every combination of the settings that change a plan's shape. */
function* variants(): Generator<{ title: string; plans: ServicePlan[] }> {
    for (const tls of [false, true]) {
        for (const replicas of [1, 3, 5]) {
            for (const users of [0, 1, 3]) {
                const names = Array.from({ length: users }, (_, i) => `app_${i}`);
                const config = parseStackConfig({
                    tls: { enabled: tls },
                    mariadb: { databases: names.map((n) => ({ name: n, user: n })) },
                    redis: { users: names.map((n) => ({ name: n })) },
                    kafka: { replicas, users: names.map((n) => ({ name: n })) },
                });
                yield {
                    title: `tls ${tls}, kafka replicas ${replicas}, ${users} users`,
                    plans: [planMariaDb(config.mariadb, config), planRedis(config.redis, config), planKafka(config.kafka, config)],
                };
            }
        }
    }
}

/** Resolves every derived content of a plan with distinct fake values. */
function resolved(plan: ServicePlan): Map<string, string> {
    const values = Object.fromEntries(plan.generated.map((g) => [g.id, `value-of-${g.id}`]));
    return new Map(plan.objects.flatMap((o) => o.data.map((d) => [`${o.name}/${d.key}`, resolveContent(d.content, values)] as [string, string])));
}

describe("service plans", () => {
    for (const v of variants()) {
        it(`are sound for ${v.title}`, () => {
            for (const plan of v.plans) {
                assert.deepStrictEqual(planProblems(plan), [], plan.app);
                const ids = plan.generated.map((g) => g.id);
                assert.strictEqual(new Set(ids).size, ids.length, `${plan.app}: generated ids are unique`);
                const names = plan.objects.map((o) => o.name);
                assert.strictEqual(new Set(names).size, names.length, `${plan.app}: object names are unique`);
                for (const n of names) {
                    assert.ok(DNS_LABEL.test(n) && n.length <= 63, `${n} is a DNS label`);
                }
                const ports = plan.workload.containers.flatMap((c) => c.ports);
                assert.strictEqual(new Set(ports.map((p) => p.name)).size, ports.length, `${plan.app}: port names are unique`);
                assert.ok(portsExposed(plan, "client").length >= 1, `${plan.app} has a client port`);
                // Every generated password reaches at least one Secret, and no ConfigMap.
                const text = resolved(plan);
                for (const g of plan.generated.filter((x) => x.kind === "password")) {
                    const holders = [...text].filter(([, t]) => t.includes(`value-of-${g.id}`)).map(([k]) => k.split("/")[0]);
                    assert.ok(holders.length > 0, `${g.id} is used`);
                    for (const h of holders) {
                        assert.strictEqual(plan.objects.find((o) => o.name === h)?.kind, "Secret", `${g.id} is only in Secrets`);
                    }
                }
                const tlsMounts = plan.workload.containers.flatMap((c) => c.mounts).filter((m) => m.source.kind === "tls");
                assert.strictEqual(tlsMounts.length > 0, plan.tls, `${plan.app}: the certificate is mounted exactly when TLS is on`);
            }
            const kafka = v.plans[2];
            assert.strictEqual(kafka.workload.placement !== undefined, kafka.workload.replicas > 1, "replicated Kafka places its voters one per node");
        });
    }

    it("planProblems catches a password in a ConfigMap, an unknown mount and an env ref to a missing key", () => {
        const config = parseStackConfig({});
        const plan = planRedis(config.redis, config);
        const broken: ServicePlan = {
            ...plan,
            objects: plan.objects.map((o) => (o.kind === "ConfigMap" ? { ...o, data: [...o.data, { key: "leak", content: { uses: ["password"], render: (v) => v.password } }] } : o)),
            workload: {
                ...plan.workload,
                containers: plan.workload.containers.map((c) => ({
                    ...c,
                    mounts: [...c.mounts, { volume: "x", path: "/x", source: { kind: "object" as const, object: "nowhere" } }],
                    env: [...c.env, { name: "E", from: { object: "redis-credentials", key: "nokey" } }],
                })),
            },
        };
        const problems = planProblems(broken);
        assert.ok(problems.some((p) => /ConfigMap redis-config key leak would carry the password password/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /mounts nowhere, which the plan does not define/.test(p)));
        assert.ok(problems.some((p) => /env E refers to redis-credentials key nokey/.test(p)));
    });
});

describe("pod template builder", () => {
    const config = parseStackConfig({ tls: { enabled: true } });
    const plan = planMariaDb(config.mariadb, config);
    const refs: PodReferences = {
        serviceAccountName: "mariadb",
        objects: new Map(plan.objects.map((o) => [o.name, { kind: o.kind, name: o.name }])),
        tlsSecretName: "mariadb-tls",
    };

    it("derives the volumes from the mounts, in mount order, without the claim; Secrets get mode 0440", () => {
        const volumes = buildVolumes(plan.workload.containers, refs) as { name: string; secret?: { defaultMode: number }; configMap?: unknown; emptyDir?: unknown }[];
        // The server's mounts first; the tls-reloader adds only its own scratch space (tls and run are shared).
        assert.deepStrictEqual(volumes.map((v) => v.name), ["run", "tmp", "config", "init", "credentials", "tls", "reloader-tmp"]);
        assert.ok(volumes.filter((v) => v.secret).every((v) => v.secret!.defaultMode === 0o440));
        assert.ok(!volumes.some((v) => v.name === "data"));
    });

    it("hardens the pod and names the ServiceAccount it was given", () => {
        const spec = buildPodSpec(plan.workload, { app: "mariadb" }, refs) as Record<string, any>;
        assert.strictEqual(spec.serviceAccountName, "mariadb");
        assert.strictEqual(spec.automountServiceAccountToken, false);
        assert.strictEqual(spec.containers[0].securityContext.readOnlyRootFilesystem, true);
        assert.strictEqual(spec.affinity, undefined);
    });

    it("checksums the mounted objects' entries that roll the pods (not the root password file, not the passwords of init.sql: its redacted text)", () => {
        assert.deepStrictEqual(checksumSources(plan.workload.containers, plan.objects), [
            { annotation: "checksum/config", object: "mariadb-config", keys: ["my.cnf"] },
            { annotation: "checksum/init", object: "mariadb-init", keys: ["init.shown"] },
        ]);
        const kafka = planKafka(config.kafka, config);
        assert.deepStrictEqual(checksumSources(kafka.workload.containers, kafka.objects), [
            { annotation: "checksum/config", object: "kafka-config", keys: ["server.properties", "start.sh", "log4j.properties"] },
            { annotation: "checksum/jaas", object: "kafka-jaas", keys: ["kafka_server_jaas.conf"] },
        ]);
    });
});
