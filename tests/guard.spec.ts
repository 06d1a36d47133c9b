// The immutable-field guard: the comparison itself (pure), and the program stopping before it declares
// anything when stack config would change a StatefulSet field the API server does not change in place.
// (tests/e2e/controlplane.spec.ts checks the comparison against the real API server's refusals.)

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { decodeConfigValue, parseStackConfig } from "../components/stackConfig";
import { planKafka } from "../components/kafka";
import { planMariaDb } from "../components/mariadb";
import {
    checkImmutableChanges,
    ImmutableFieldError,
    immutableChanges,
    statefulSetRecord,
} from "../components/workload/immutable";
import type { StatefulSetRecord } from "../components/outputs";
import { RegisteredResource, renderStack, ROOT } from "../scripts/lib/mockRuntime";

function stackConfig(stack: string): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^msa-infra:/, ""), typeof v === "string" ? decodeConfigValue(v) : v]));
}

function planMariaDbOf(raw: Record<string, unknown>) {
    const config = parseStackConfig(raw);
    return planMariaDb(config.mariadb, config);
}

function kafkaRecord(raw: Record<string, unknown>): StatefulSetRecord {
    const config = parseStackConfig(raw);
    return statefulSetRecord(planKafka(config.kafka, config));
}

describe("immutable-field guard (pure)", () => {
    const base = kafkaRecord({ kafka: { storageSize: "10Gi" } });

    it("finds nothing when only mutable settings change (image, heap, users)", () => {
        const next = kafkaRecord({ kafka: { storageSize: "10Gi", image: "apache/kafka:3.8.2", heapPercent: 40, users: [{ name: "a" }] } });
        assert.deepStrictEqual(immutableChanges([base], [next]), []);
    });

    it("refuses a new KRaft quorum size even with allowStatefulSetReplacement, naming the key and the migration", () => {
        const three = kafkaRecord({ kafka: { storageSize: "10Gi", replicas: 3 } });
        const five = kafkaRecord({ kafka: { storageSize: "10Gi", replicas: 5 } });
        assert.strictEqual(three.fixedReplicas, 3);
        const [c, ...rest] = immutableChanges([three], [five]);
        assert.deepStrictEqual(rest, []);
        assert.deepStrictEqual([c.field, c.before, c.after, c.cause], ["spec.replicas", "3", "5", "msa-infra:kafka.replicas"]);
        assert.match(c.procedure, /Keep kafka\.replicas at 3; to run 5 brokers, deploy a new cluster/);
        assert.throws(() => checkImmutableChanges([three], [five], ["kafka"]), (e: ImmutableFieldError) => {
            assert.match(e.message, /spec\.replicas: 3 → 5 \(from msa-infra:kafka\.replicas\)/);
            assert.match(e.message, /cannot change in place, with or without allowStatefulSetReplacement/);
            assert.doesNotMatch(e.message, /run one `pulumi up` with msa-infra:allowStatefulSetReplacement/);
            return true;
        });
        assert.throws(() => checkImmutableChanges([base], [three], []), /spec\.replicas: 1 → 3/, "1 → 3 is a new quorum too");
        // A record from before the guard knew the quorum size (no fixedReplicas) is not refused: the next one has it.
        const { fixedReplicas: _, ...older } = three;
        assert.deepStrictEqual(immutableChanges([older], [five]), []);
        // MariaDB and Redis replica counts change in place.
        assert.strictEqual(statefulSetRecord(planMariaDbOf({ mariadb: { replicas: 2 } })).fixedReplicas, undefined);
    });

    it("names a grown volume with its config key and the expand-then-replace procedure", () => {
        const [c] = immutableChanges([base], [kafkaRecord({ kafka: { storageSize: "20Gi" } })]);
        assert.strictEqual(c.field, "spec.volumeClaimTemplates[data].spec.resources.requests.storage");
        assert.deepStrictEqual([c.before, c.after, c.cause], ["10Gi", "20Gi", "msa-infra:kafka.storageSize"]);
        assert.match(c.procedure, /kubectl patch pvc data-kafka-<i> .*"storage":"20Gi"/);
        assert.match(c.procedure, /allowStatefulSetReplacement/);
    });

    it("says a volume cannot shrink, and a class change means migrating the data", () => {
        const [shrink] = immutableChanges([base], [kafkaRecord({ kafka: { storageSize: "5Gi" } })]);
        assert.match(shrink.procedure, /volumes cannot shrink/);
        const [klass] = immutableChanges([base], [kafkaRecord({ storageClass: "fast", kafka: { storageSize: "10Gi" } })]);
        assert.strictEqual(klass.field, "spec.volumeClaimTemplates[data].spec.storageClassName");
        assert.strictEqual(klass.cause, "msa-infra:storageClass");
        assert.match(klass.procedure, /migrate \(back up, then restore/);
    });

    it("catches program-side changes: service name, selector, pod management policy, claim templates", () => {
        const changed: StatefulSetRecord = {
            ...base,
            serviceName: "kafka-peers",
            selector: { app: "other" },
            podManagementPolicy: "OrderedReady",
            claims: [...base.claims, { ...base.claims[0], name: "extra" }],
        };
        const fields = immutableChanges([base], [changed]).map((c) => c.field);
        assert.deepStrictEqual(fields, ["spec.serviceName", "spec.selector", "spec.podManagementPolicy", "spec.volumeClaimTemplates[extra]"]);
    });

    it("names why OrderedReady → Parallel (MariaDB and Redis stacks deployed before) and the orphan-and-adopt procedure", () => {
        const before = statefulSetRecord(planMariaDbOf({}));
        assert.strictEqual(before.podManagementPolicy, "Parallel");
        const [c, ...rest] = immutableChanges([{ ...before, podManagementPolicy: "OrderedReady" }], [before]);
        assert.deepStrictEqual(rest, []);
        assert.deepStrictEqual([c.field, c.before, c.after], ["spec.podManagementPolicy", "OrderedReady", "Parallel"]);
        assert.match(c.cause, /replaces and rolls pods while pod 0 is down/);
        assert.match(c.procedure, /--cascade=orphan/);
        assert.ok(!c.refusedAlways, "allowStatefulSetReplacement lets it through once the procedure is done");
    });

    it("compares selectors by content, not key order (stack outputs come back sorted)", () => {
        const reordered = { ...base, selector: Object.fromEntries(Object.entries(base.selector).reverse()) };
        assert.deepStrictEqual(immutableChanges([reordered], [base]), []);
    });

    it("ignores StatefulSets the last deployment did not have, and lets listed services through", () => {
        assert.deepStrictEqual(immutableChanges([], [base]), []);
        const grown = kafkaRecord({ kafka: { storageSize: "20Gi" } });
        assert.throws(() => checkImmutableChanges([base], [grown], []), ImmutableFieldError);
        assert.doesNotThrow(() => checkImmutableChanges([base], [grown], ["kafka"]));
        assert.throws(() => checkImmutableChanges([base], [grown], ["redis"]), /allowStatefulSetReplacement: \[kafka\]/);
    });
});

describe("immutable-field guard in the program", function () {
    this.timeout(120_000);

    it("stops a prod run that would grow Kafka's volumes before it declares anything, naming field, key and procedure", async () => {
        const first = await renderStack("prod", { seed: "guard" });
        const previous = { statefulSets: first.outputs.statefulSets };
        const raw = stackConfig("prod");
        const grown = { ...raw, kafka: { ...(raw.kafka as object), storageSize: "100Gi" } };
        const declared: RegisteredResource[] = [];
        await assert.rejects(renderStack("prod", { config: grown, previousOutputs: previous, onRegister: (r) => declared.push(r) }), (e: Error) => {
            assert.ok(e instanceof ImmutableFieldError, `expected the guard's error, got ${e}`);
            assert.match(e.message, /StatefulSet messaging\/kafka: spec\.volumeClaimTemplates\[data\]\.spec\.resources\.requests\.storage: 50Gi → 100Gi \(from msa-infra:kafka\.storageSize\)/);
            assert.match(e.message, /safe procedure: grow the existing volumes first/);
            return true;
        });
        // Only the read of the last deployment's outputs happened: no provider, no Kubernetes object.
        assert.deepStrictEqual(
            declared.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"),
            ["pulumi:pulumi:StackReference"],
            `declared before the guard stopped the run: ${declared.map((r) => `${r.type}::${r.name}`).join(", ")}`,
        );
    });

    it("stops a prod run that would change the KRaft quorum from 3 to 5 voters, even with allowStatefulSetReplacement", async () => {
        const first = await renderStack("prod", { seed: "guard" });
        const previous = { statefulSets: first.outputs.statefulSets };
        const raw = stackConfig("prod");
        const five = { ...raw, kafka: { ...(raw.kafka as object), replicas: 5 }, allowStatefulSetReplacement: ["kafka"] };
        const declared: RegisteredResource[] = [];
        await assert.rejects(renderStack("prod", { config: five, previousOutputs: previous, onRegister: (r) => declared.push(r) }), (e: Error) => {
            assert.ok(e instanceof ImmutableFieldError, `expected the guard's error, got ${e}`);
            assert.match(e.message, /StatefulSet messaging\/kafka: spec\.replicas: 3 → 5 \(from msa-infra:kafka\.replicas\)/);
            return true;
        });
        assert.deepStrictEqual(declared.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack"), ["pulumi:pulumi:StackReference"]);
    });

    it("lets the same run through with allowStatefulSetReplacement, and an ordinary change through without it", async () => {
        const first = await renderStack("dev", { seed: "guard" });
        const previous = { statefulSets: first.outputs.statefulSets };
        const raw = stackConfig("dev");
        const grown = { ...raw, redis: { ...(raw.redis as object), storageSize: "8Gi" }, allowStatefulSetReplacement: ["redis"] };
        const allowed = await renderStack("dev", { config: grown, previousOutputs: previous });
        assert.ok(allowed.objects.some((o) => o.kind === "StatefulSet" && o.metadata.name === "redis"));
        const ordinary = { ...raw, redis: { ...(raw.redis as object), maxmemoryPolicy: "allkeys-lru" } };
        await renderStack("dev", { config: ordinary, previousOutputs: previous });
    });

    it("records every StatefulSet's immutable fields as the statefulSets output", async () => {
        const r = await renderStack("dev", { seed: "guard" });
        const records = r.outputs.statefulSets as StatefulSetRecord[];
        assert.deepStrictEqual(records.map((x) => x.statefulSet).sort(), ["cache/redis", "db/mariadb", "messaging/kafka"]);
        for (const o of r.objects.filter((x) => x.kind === "StatefulSet")) {
            const rec = records.find((x) => x.statefulSet === `${o.metadata.namespace}/${o.metadata.name}`)!;
            const spec = o.spec as { serviceName: string; podManagementPolicy: string; volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] };
            assert.deepStrictEqual([rec.serviceName, rec.podManagementPolicy, rec.claims[0].storage], [spec.serviceName, spec.podManagementPolicy, spec.volumeClaimTemplates[0].spec.resources.requests.storage]);
        }
    });

    it("rejects an unknown service in allowStatefulSetReplacement", () => {
        assert.throws(() => parseStackConfig({ allowStatefulSetReplacement: ["postgres"] }), /allowStatefulSetReplacement\[0\]: "postgres" is not valid; expected one of mariadb, redis, kafka/);
    });
});
