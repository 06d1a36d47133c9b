// The shared reading module: a container's effective environment, the files it sees, and the stack index
// (policy/reading/environment.ts, fs.ts, stackIndex.ts, files.ts).

import * as assert from "assert";
import type { PolicyResource } from "@pulumi/policy";
import { typeToken } from "../../policy/policies/k8s";
import { ANY, ContainerFs, containerMounts, effectiveEnv, indexStack, knownValues, plain, podVolumes, secret, WORD } from "../../policy/reading";
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
            envFrom: [{ configMapRef: { name: "cm" } }, { prefix: "DB_", configMapRef: { name: "cm" } }, { secretRef: { name: "sec" } }, { prefix: "EXT_", configMapRef: { name: "missing" } }],
            env: [
                { name: "A", value: "from-env" },
                { name: "B", value: "$(A)-$(S)-$(NOPE)-$$(A)-$(EXT_X)" },
                { name: "C", valueFrom: { configMapKeyRef: { name: "cm", key: "A" } } },
                { name: "D", valueFrom: { secretKeyRef: { name: "sec", key: "T" } } },
                { name: "E", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "F", value: true },
            ],
        };
        const env = effectiveEnv(c, { namespace: "ns", index: index(objects), pod: { name: undefined, namespace: "ns", labels: {}, annotations: {}, serviceAccountName: undefined } });
        const values = Object.fromEntries(knownValues(env));
        // Values are symbolic: a Secret's content is marked as secret, a value from outside the stack is unknown.
        assert.deepStrictEqual(values, {
            A: "from-env",
            PASS: "p",
            "x.conf": "k v\n",
            DB_A: "from-cm",
            DB_PASS: "p",
            "DB_x.conf": "k v\n",
            S: secret("from-secret"),
            T: secret("plain"),
            B: `from-env-${secret("from-secret")}-$(NOPE)-$(A)-${ANY}`,
            C: "from-cm",
            D: secret("plain"),
            E: WORD,
            F: "true",
        });
        assert.strictEqual(env.vars.get("E")?.origin, "fieldRef");
        assert.strictEqual(env.vars.get("DB_PASS")?.origin, "envFrom");
        // A source outside the stack may define any variable under its prefix (and override earlier ones).
        assert.deepStrictEqual(env.unresolvedSources, [{ kind: "ConfigMap", name: "missing", prefix: "EXT_" }]);
        const later = effectiveEnv({ envFrom: [{ configMapRef: { name: "cm" } }, { configMapRef: { name: "missing" } }] }, { namespace: "ns", index: index(objects) });
        assert.strictEqual(later.vars.get("A")?.value, ANY);
    });

    it("reads a Secret's values as secrets, and pod metadata through the downward API as literals", () => {
        const env = effectiveEnv(
            {
                envFrom: [{ secretRef: { name: "sec" } }],
                env: [
                    { name: "P", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['db/pw']" } } },
                    { name: "Q", value: "x-$(P)" },
                ],
            },
            { namespace: "ns", index: index(objects), pod: { name: "p-0", namespace: "ns", labels: {}, annotations: { "db/pw": "hunter2" }, serviceAccountName: undefined } },
        );
        assert.strictEqual(env.vars.get("S")?.value, secret("from-secret"));
        assert.strictEqual(env.vars.get("Q")?.value, "x-hunter2");
    });
});

describe("reading: the files a container sees", () => {
    const podSpec = {
        volumes: [
            { name: "cfg", configMap: { name: "cm" } },
            { name: "one", configMap: { name: "cm", items: [{ key: "x.conf", path: "nested/y.conf" }] } },
            { name: "sec", projected: { sources: [{ secret: { name: "sec" } }, { downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } }] } },
            { name: "gone", configMap: { name: "not-in-stack" } },
            { name: "scratch", emptyDir: {} },
        ],
    };
    const c = {
        volumeMounts: [
            { name: "cfg", mountPath: "/etc/app/" },
            { name: "one", mountPath: "/etc/one" },
            { name: "one", mountPath: "/etc/deep", subPath: "nested" },
            { name: "cfg", mountPath: "/etc/app/x.conf", subPath: "A" },
            { name: "sec", mountPath: "/run/secrets" },
            { name: "gone", mountPath: "/opaque" },
            { name: "scratch", mountPath: "/scratch" },
        ],
    };
    const fs = () => {
        const volumes = podVolumes(podSpec, ["data"], "ns", index(objects), { name: undefined, namespace: "ns", labels: { app: "x" }, annotations: {}, serviceAccountName: undefined });
        return new ContainerFs(containerMounts({ ...c, volumeMounts: [...c.volumeMounts, { name: "data", mountPath: "/var/lib/data" }] }, volumes, (x) => x).mounts, undefined, "img", true);
    };
    const read = (f: ContainerFs, p: string) => f.read(p).map((r) => (r.state === "file" ? plain(r.text) : r.state === "unknown" ? `unknown: ${r.reason}` : "absent"));

    it("finds files through items, subPath (a file or a directory of the volume) and projected volumes; the deepest mount wins", () => {
        const f = fs();
        assert.deepStrictEqual(read(f, "/etc/app//./b.bin"), ["bin"]);
        assert.deepStrictEqual(read(f, "/etc/one/nested/y.conf"), ["k v\n"]);
        assert.deepStrictEqual(read(f, "/etc/deep/y.conf"), ["k v\n"]);
        assert.deepStrictEqual(read(f, "/etc/app/x.conf"), ["from-cm"], "the subPath mount onto the file wins over the directory mount");
        assert.deepStrictEqual(read(f, "/run/secrets/S"), ["from-secret"]);
        assert.deepStrictEqual(f.read("/run/secrets/S").map((r) => r.state === "file" && r.text), [secret("from-secret")]);
        assert.deepStrictEqual(read(f, "/run/secrets/labels"), ['app="x"']);
        assert.deepStrictEqual("files" in f.list("/etc/app") && f.list("/etc/app"), { files: ["A", "PASS", "b.bin", "x.conf"] });
    });

    it("says why it cannot see a file: an object outside the stack, a claim, an image file; an emptyDir starts empty", () => {
        const f = fs();
        assert.match(read(f, "/opaque/anything")[0], /^unknown: .*ConfigMap ns\/not-in-stack, which is not part of this stack/);
        assert.match(read(f, "/var/lib/data/redis.conf")[0], /^unknown: .*volume claim template "data", whose content the pack cannot see/);
        assert.match(read(f, "/etc/redis.conf")[0], /^unknown: .*a file of image img/);
        assert.deepStrictEqual(read(f, "/scratch/x"), ["absent"]);
        assert.ok(f.write("/scratch/x", "written", "test", false));
        assert.deepStrictEqual(read(f, "/scratch/x"), ["written"]);
        assert.ok(!f.write("/etc/app/PASS", "x", "test", false), "ConfigMap volumes are read-only");
    });
});
