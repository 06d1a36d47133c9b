// The shared reading module: a container's effective environment and the stack index (policy/reading/
// environment.ts, stackIndex.ts, files.ts).

import * as assert from "assert";
import type { PolicyResource } from "@pulumi/policy";
import { typeToken } from "../../policy/policies/k8s";
import { effectiveEnv, findFile, globFiles, indexStack, isOpaque, knownValues, mountedFiles } from "../../policy/reading";
import { Json } from "./helpers";

function index(objs: Json[]) {
    const resources = objs.map((o) => ({ type: typeToken(o.apiVersion, o.kind), props: o, urn: o.metadata.name, name: o.metadata.name }) as unknown as PolicyResource);
    return indexStack(resources);
}

const objects: Json[] = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "ns" }, data: { A: "from-cm", PASS: "p", "x.conf": "k v\n" }, binaryData: { "b.bin": Buffer.from("bin").toString("base64") } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "sec", namespace: "ns" }, data: { S: Buffer.from("from-secret").toString("base64") }, stringData: { T: "plain" } },
];

describe("reading: effective environment", () => {
    it("applies envFrom first (later sources win, prefixes apply), then env, with $(VAR) expansion in order", () => {
        const c = {
            envFrom: [{ configMapRef: { name: "cm" } }, { prefix: "DB_", configMapRef: { name: "cm" } }, { secretRef: { name: "sec" } }, { configMapRef: { name: "missing" } }],
            env: [
                { name: "A", value: "from-env" },
                { name: "B", value: "$(A)-$(S)-$(NOPE)-$$(A)" },
                { name: "C", valueFrom: { configMapKeyRef: { name: "cm", key: "A" } } },
                { name: "D", valueFrom: { secretKeyRef: { name: "sec", key: "T" } } },
                { name: "E", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "F", value: true },
            ],
        };
        const env = effectiveEnv(c, { namespace: "ns", index: index(objects) });
        const values = Object.fromEntries(knownValues(env));
        assert.deepStrictEqual(values, { A: "from-env", PASS: "p", "x.conf": "k v\n", DB_A: "from-cm", DB_PASS: "p", "DB_x.conf": "k v\n", S: "from-secret", T: "plain", B: "from-env-from-secret-$(NOPE)-$(A)", C: "from-cm", D: "plain", F: "true" });
        assert.strictEqual(env.vars.get("E")?.origin, "fieldRef");
        assert.strictEqual(env.vars.get("DB_PASS")?.origin, "envFrom");
        assert.deepStrictEqual(env.unresolvedSources, [{ kind: "ConfigMap", name: "missing", prefix: "" }]);
    });

    it("resolves nothing without a stack index (resource policies): only literals are known", () => {
        const env = effectiveEnv({ env: [{ name: "A", value: "a" }, { name: "C", valueFrom: { configMapKeyRef: { name: "cm", key: "A" } } }], envFrom: [{ configMapRef: { name: "cm" } }] }, { namespace: "ns" });
        assert.deepStrictEqual(Object.fromEntries(knownValues(env)), { A: "a" });
    });
});

describe("reading: mounted files", () => {
    const podSpec = {
        volumes: [
            { name: "cfg", configMap: { name: "cm" } },
            { name: "one", configMap: { name: "cm", items: [{ key: "x.conf", path: "nested/y.conf" }] } },
            { name: "sec", projected: { sources: [{ secret: { name: "sec" } }] } },
            { name: "gone", configMap: { name: "not-in-stack" } },
        ],
    };
    const c = {
        volumeMounts: [
            { name: "cfg", mountPath: "/etc/app/" },
            { name: "one", mountPath: "/etc/one" },
            { name: "cfg", mountPath: "/etc/redis/redis.conf", subPath: "x.conf" },
            { name: "sec", mountPath: "/run/secrets" },
            { name: "gone", mountPath: "/opaque" },
        ],
    };

    it("finds files by path through items, subPath and projected volumes, and marks unknown sources", () => {
        const m = mountedFiles(c, { podSpec, namespace: "ns", index: index(objects) });
        assert.strictEqual((findFile("/etc/app//./x.conf", m) as { text: string }).text, "k v\n");
        assert.strictEqual((findFile("/etc/app/b.bin", m) as { text: string }).text, "bin");
        assert.strictEqual((findFile("/etc/one/nested/y.conf", m) as { source: string }).source, "ConfigMap ns/cm key x.conf");
        assert.strictEqual((findFile("/etc/redis/redis.conf", m) as { text: string }).text, "k v\n");
        assert.strictEqual((findFile("/run/secrets/S", m) as { text: string }).text, "from-secret");
        assert.ok(isOpaque(findFile("/opaque/anything", m)));
        assert.strictEqual(findFile("/nowhere", m), undefined);
        assert.deepStrictEqual(globFiles("/etc/app/*.conf", m).map((f) => f.path), ["/etc/app/x.conf"]);
    });
});
