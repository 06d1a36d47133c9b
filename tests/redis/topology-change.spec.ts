// Standalone ↔ replicated Redis as a render diff: what `pulumi up` would do to the cluster when
// redis.replicas changes. Going up (1 → 3, 3 → 5) only updates in place and creates; nothing is replaced,
// so the StatefulSet and its claims (pod 0's data) stay. Going back (3 → 1) replaces nothing either; it
// deletes only the Sentinel and replication objects, and the claims of the removed pods stay (Retain).

import * as assert from "assert";
import { manifestPath, readStackFile, renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { diffRenders, type RenderDiff } from "../../scripts/lib/renderDiff";

async function renderWithRedisReplicas(stack: string, replicas: number): Promise<{ objects: Map<string, Manifest> }> {
    const config = readStackFile(ROOT, stack);
    const redis = JSON.parse(config["msa-infra:redis"] ?? "{}");
    const r = await renderStack(stack, {
        seed: "topology-change",
        // The stack file's values as they are (strings pass through), with redis.replicas replaced.
        config: { ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^msa-infra:/, ""), v])), redis: { ...redis, replicas } },
    });
    return { objects: new Map(r.objects.map((m) => [manifestPath(m), JSON.parse(JSON.stringify(m)) as Manifest])) };
}

function summary(d: RenderDiff): string[] {
    return d.objects.map((o) => `${o.change} ${o.file}`);
}

describe("redis.replicas changes as a render diff (what pulumi up would do)", function () {
    this.timeout(120_000);

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: 1 → 3 and 3 → 5 update in place and create; no replacement, no deletion`, async () => {
            const one = await renderWithRedisReplicas(stack, 1);
            const three = await renderWithRedisReplicas(stack, 3);
            const five = await renderWithRedisReplicas(stack, 5);
            for (const [label, d] of [["1 → 3", diffRenders(one, three)], ["3 → 5", diffRenders(three, five)]] as const) {
                const bad = d.objects.filter((o) => o.change === "replace" || o.change === "delete");
                assert.deepStrictEqual(bad.map((o) => `${o.change} ${o.file}`), [], `${stack} ${label}: ${summary(d).join(", ")}`);
                const sts = d.objects.find((o) => o.file === "cache/statefulset-redis.yaml");
                assert.strictEqual(sts?.change, "update", `${stack} ${label}: the StatefulSet is updated in place`);
                assert.ok(!sts!.fields.some((f) => f.path.startsWith("spec.volumeClaimTemplates") || f.path.startsWith("spec.selector")), `${stack} ${label}: claims and selector unchanged`);
            }
            const created = diffRenders(one, three).objects.filter((o) => o.change === "create").map((o) => o.file).sort();
            assert.deepStrictEqual(
                created.filter((f) => f.startsWith("cache/") && !f.includes("networkpolicy")),
                [
                    "cache/configmap-redis-scripts.yaml",
                    "cache/secret-redis-replication.yaml",
                    "cache/secret-redis-sentinel-admin.yaml",
                    "cache/secret-redis-sentinel-auth.yaml",
                    "cache/secret-redis-sentinel-credentials.yaml",
                ],
            );
        });
    }

    it("prod: 3 → 1 replaces nothing; it deletes only the Sentinel and replication objects", async () => {
        const d = diffRenders(await renderWithRedisReplicas("prod", 3), await renderWithRedisReplicas("prod", 1));
        assert.deepStrictEqual(d.objects.filter((o) => o.change === "replace").map((o) => o.file), []);
        assert.deepStrictEqual(
            d.objects.filter((o) => o.change === "delete").map((o) => o.file).sort(),
            [
                "cache/configmap-redis-scripts.yaml",
                "cache/networkpolicy-allow-peers.yaml",
                "cache/secret-redis-replication.yaml",
                "cache/secret-redis-sentinel-admin.yaml",
                "cache/secret-redis-sentinel-auth.yaml",
                "cache/secret-redis-sentinel-credentials.yaml",
            ],
        );
    });
});
