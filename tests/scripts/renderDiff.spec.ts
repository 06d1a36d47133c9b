// The render diff: field changes, immutable fields and replacements, deletions and URN changes (pure), and
// the `npm run diff` command's contract as a user runs it.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { ROOT } from "../../scripts/lib/mockRuntime";
import { diffRenders, fieldChanges, formatDiff, isDangerous, isImmutable } from "../../scripts/lib/renderDiff";
import { JOB_SERIES_ANNOTATION } from "../../components/labels";

function sts(patch: (s: Record<string, any>) => void = () => undefined): Manifest {
    const s: Record<string, any> = {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "kafka", namespace: "messaging" },
        spec: {
            replicas: 3,
            serviceName: "kafka-headless",
            template: { spec: { containers: [{ name: "kafka", image: "apache/kafka:3.8.1" }, { name: "exporter", image: "x:1" }] } },
            volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { resources: { requests: { storage: "10Gi" } } } }],
        },
    };
    patch(s);
    return s as Manifest;
}

const file = "messaging/statefulset-kafka.yaml";
const side = (...objects: [string, Manifest][]) => ({ objects: new Map(objects) });

describe("render diff (pure)", () => {
    it("addresses list items by name and reports only what changed", () => {
        const changes = fieldChanges(sts(), sts((s) => (s.spec.template.spec.containers[0].image = "apache/kafka:3.8.2")));
        assert.deepStrictEqual(changes, [{ path: "spec.template.spec.containers[kafka].image", before: "apache/kafka:3.8.1", after: "apache/kafka:3.8.2" }]);
    });

    it("an image bump is an update that rolls the pods; a replica change is an update that does not", () => {
        const bump = diffRenders(side([file, sts()]), side([file, sts((s) => (s.spec.template.spec.containers[0].image = "k:2"))]));
        assert.deepStrictEqual([bump.objects[0].change, bump.objects[0].rollsPods], ["update", true]);
        assert.strictEqual(isDangerous(bump), false);
        const scale = diffRenders(side([file, sts()]), side([file, sts((s) => (s.spec.replicas = 5))]));
        assert.deepStrictEqual([scale.objects[0].change, scale.objects[0].rollsPods], ["update", false]);
    });

    for (const [field, patch] of [
        ["spec.volumeClaimTemplates[data].spec.resources.requests.storage", (s: Record<string, any>) => (s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = "20Gi")],
        ["spec.serviceName", (s: Record<string, any>) => (s.spec.serviceName = "other")],
        ["spec.podManagementPolicy", (s: Record<string, any>) => (s.spec.podManagementPolicy = "Parallel")],
        ["spec.selector", (s: Record<string, any>) => (s.spec.selector = { matchLabels: { a: "b" } })],
    ] as const) {
        it(`a StatefulSet ${field} change is immutable: a replacement, flagged dangerous`, () => {
            const d = diffRenders(side([file, sts()]), side([file, sts(patch)]));
            assert.strictEqual(d.objects[0].change, "replace");
            assert.ok(d.objects[0].fields.some((f) => f.path.startsWith(field) && f.immutable), JSON.stringify(d.objects[0].fields));
            assert.strictEqual(isDangerous(d), true);
            assert.match(formatDiff(d), /REPLACEMENT/);
        });
    }

    it("immutability follows the API server's rules for the kinds we render", () => {
        assert.strictEqual(isImmutable("StatefulSet", "spec.template.spec.containers[x].image", 1, 2), false);
        assert.strictEqual(isImmutable("StatefulSet", "spec.updateStrategy.type", 1, 2), false);
        assert.strictEqual(isImmutable("StatefulSet", "metadata.labels.x", 1, 2), false);
        assert.strictEqual(isImmutable("PersistentVolumeClaim", "spec.resources.requests.storage", "10Gi", "20Gi"), false);
        assert.strictEqual(isImmutable("PersistentVolumeClaim", "spec.resources.requests.storage", "20Gi", "10Gi"), true);
        assert.strictEqual(isImmutable("Secret", "type", "Opaque", "kubernetes.io/tls"), true);
        assert.strictEqual(isImmutable("ConfigMap", "data.x", "a", "b"), false);
    });

    it("deletions, creations and removed URNs are reported; a removed protected URN says it is refused", () => {
        const d = diffRenders(
            { objects: new Map([[file, sts()]]), resources: ["urn:a protect", "urn:b"] },
            { objects: new Map([["db/secret-x.yaml", { apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "db" } }]]), resources: ["urn:b deleteBeforeReplace", "urn:c"] },
        );
        assert.deepStrictEqual(d.objects.map((o) => o.change).sort(), ["create", "delete"]);
        assert.deepStrictEqual(d.resources.map((r) => `${r.change} ${r.urn}`).sort(), ["added urn:c", "options urn:b", "removed urn:a"]);
        assert.match(formatDiff(d), /urn:a .*protected, so `pulumi up` refuses/);
        assert.strictEqual(isDangerous(d), true);
    });

    it("a content-named Job replaced by the next of its series is a re-run, not a deletion; an unpaired one is still deleted", () => {
        const job = (name: string, series: string | undefined, spec: string) =>
            ({
                apiVersion: "batch/v1",
                kind: "Job",
                metadata: { name, namespace: "messaging", ...(series ? { annotations: { [JOB_SERIES_ANNOTATION]: series } } : {}) },
                spec: { template: { spec: { containers: [{ name: "reconcile", env: [{ name: "RECONCILE_SPEC", value: spec }] }] } } },
            }) as Manifest;
        const d = diffRenders(
            side(["messaging/job-kafka-reconcile-aaaa.yaml", job("kafka-reconcile-aaaa", "kafka-reconcile", "1")]),
            side(["messaging/job-kafka-reconcile-bbbb.yaml", job("kafka-reconcile-bbbb", "kafka-reconcile", "2")]),
        );
        assert.deepStrictEqual(
            d.objects.map((o) => [o.change, o.name, o.replaces]),
            [["rerun", "kafka-reconcile-bbbb", "kafka-reconcile-aaaa"]],
        );
        assert.strictEqual(isDangerous(d), false);
        assert.match(formatDiff(d), /↻ Job messaging\/kafka-reconcile-bbbb {2}\(runs again: replaces Job kafka-reconcile-aaaa by design/);
        assert.match(formatDiff(d), /RECONCILE_SPEC\]\.value: "1" → "2"/);
        // Without the series annotation (another series, or any other Job) a deletion stays a deletion.
        const unpaired = diffRenders(
            side(["messaging/job-a.yaml", job("a", undefined, "1")]),
            side(["messaging/job-b.yaml", job("b", "kafka-reconcile", "2")]),
        );
        assert.deepStrictEqual(unpaired.objects.map((o) => o.change).sort(), ["create", "delete"]);
        assert.strictEqual(isDangerous(unpaired), true);
    });

    it("shows config files as a line diff", () => {
        const cm = (text: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" }, data: { "redis.conf": text } }) as Manifest;
        const d = diffRenders(side(["n/configmap-c.yaml", cm("a\nb\nc\n")]), side(["n/configmap-c.yaml", cm("a\nB\nc\n")]));
        assert.match(formatDiff(d), /^ {8}- b$/m);
        assert.match(formatDiff(d), /^ {8}\+ B$/m);
    });
});

describe("npm run diff", function () {
    this.timeout(180_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "msa-diff-spec-"));
    const stack = `test-diff-${process.pid}`;
    const stackFile = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const run = (script: string, args: string[]) =>
        spawnSync(process.execPath, ["-r", "./scripts/lib/register.js", `scripts/${script}.ts`, ...args], {
            cwd: ROOT,
            encoding: "utf8",
            timeout: 120_000,
        });
    const writeStack = (kafka: Record<string, unknown>) =>
        fs.writeFileSync(stackFile, YAML.stringify({ config: { "msa-infra:kafka": kafka, "msa-infra:redis": { users: [{ name: "carts" }] } } }));
    after(() => {
        fs.rmSync(stackFile, { force: true });
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("exits 0 against a seeded render of the same config, 1 for an in-place change, 3 for an immutable one", () => {
        writeStack({ replicas: 3 });
        const out = path.join(tmp, "before");
        // 1: the policy pack's default (all mandatory) flags this unprotected test stack; it still renders.
        assert.ok([0, 1].includes(run("render", ["--stack", stack, "--out", out, "--seed", "s1"]).status ?? -1));
        const same = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(same.status, 0, same.stderr + same.stdout);
        assert.match(same.stdout, /No changes\./);
        writeStack({ replicas: 3, heapPercent: 40 });
        const update = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(update.status, 1, update.stderr + update.stdout);
        assert.match(update.stdout, /~ StatefulSet messaging\/kafka {2}\(update, rolls the pods\)/);
        assert.match(update.stdout, /KAFKA_HEAP_OPTS\]\.value: "-Xms1024m -Xmx1024m" → "-Xms819m -Xmx819m"/);
        writeStack({ replicas: 3, storageSize: "20Gi" });
        const replace = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(replace.status, 3, replace.stderr + replace.stdout);
        assert.match(replace.stdout, /spec\.volumeClaimTemplates\[data\]\.spec\.resources\.requests\.storage: "10Gi" → "20Gi" {2}\[immutable\]/);
    });

    it("exits 1 for a new topic with a grant and a new user (the reconcile Job runs again), 3 when a user's Secret goes", () => {
        const base = { replicas: 1, clientAuth: "sasl", users: [{ name: "orders" }] };
        writeStack(base);
        const out = path.join(tmp, "weekly");
        assert.ok([0, 1].includes(run("render", ["--stack", stack, "--out", out, "--seed", "s1"]).status ?? -1));
        writeStack({
            ...base,
            topics: [{ name: "orders.events", partitions: 3 }],
            users: [{ name: "orders", topics: [{ name: "orders.events", access: ["write"] }] }, { name: "billing", topics: [{ name: "orders.events", access: ["read"] }], groups: ["billing"] }],
        });
        const added = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(added.status, 1, added.stderr + added.stdout);
        assert.match(added.stdout, /↻ Job messaging\/kafka-reconcile-[0-9a-f]{8} {2}\(runs again: replaces Job kafka-reconcile-[0-9a-f]{8} by design/);
        assert.doesNotMatch(added.stdout, /DELETE/);
        writeStack({ ...base, users: [] });
        const removed = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(removed.status, 3, removed.stderr + removed.stdout);
        assert.match(removed.stdout, /- Secret messaging\/kafka-user-orders {2}\(DELETE\)/);
    });

    it("exits 1 for a new MariaDB database+user: MariaDB's StatefulSet is untouched, its reconcile Job runs again", () => {
        const withDatabases = (databases: { name: string; user: string }[]) =>
            fs.writeFileSync(stackFile, YAML.stringify({ config: { "msa-infra:mariadb": { databases }, "msa-infra:kafka": { replicas: 1 } } }));
        withDatabases([{ name: "orders", user: "orders" }]);
        const out = path.join(tmp, "mariadb");
        assert.ok([0, 1].includes(run("render", ["--stack", stack, "--out", out, "--seed", "s1"]).status ?? -1));
        withDatabases([{ name: "orders", user: "orders" }, { name: "billing", user: "billing" }]);
        const added = run("diff", ["--stack", stack, "--against", out]);
        assert.strictEqual(added.status, 1, added.stderr + added.stdout);
        assert.match(added.stdout, /↻ Job db\/mariadb-reconcile-[0-9a-f]{8} {2}\(runs again: replaces Job mariadb-reconcile-[0-9a-f]{8} by design/);
        assert.match(added.stdout, /\+ Secret db\/mariadb-user-billing {2}\(create\)/);
        assert.doesNotMatch(added.stdout, /StatefulSet db\/mariadb|DELETE/, added.stdout);
    });

    it("exits 2 with usage for a missing --against, and names an --against that is neither a render nor a commit", () => {
        const none = run("diff", ["--stack", "dev"]);
        assert.strictEqual(none.status, 2);
        assert.match(none.stderr, /--against is required\nusage: npm run diff/);
        const bad = run("diff", ["--stack", "dev", "--against", "no-such-ref-or-dir"]);
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /--against no-such-ref-or-dir: neither a render directory nor a git commit/);
    });
});
