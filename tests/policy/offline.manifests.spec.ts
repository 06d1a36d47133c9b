// The offline runner's manifest loader (policy/offline/manifests.ts): files and directories, Lists,
// JSON arrays and multi-document YAML, and the ManifestError that names the file.

import * as assert from "assert";
import * as path from "path";
import { loadManifests, ManifestError } from "../../policy/runner";
import { withTempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join("tests", "fixtures", "policy");

describe("policy runner", () => {
    describe("loadManifests", () => {
        it("reads directories recursively in sorted order, only .yaml/.yml/.json, flattening Lists and multi-doc files", () => {
            const objs = loadManifests([path.join(ROOT, FIXTURES, "compliant")]) as Array<{ kind: string; metadata: { name: string; namespace?: string } }>;
            const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
            // 00-namespaces.yaml (3 docs + an empty one), cache.yaml (List), db-backup-pvc.json, db.yaml, messaging.json (List); README.txt ignored
            assert.deepStrictEqual(ids.slice(0, 4), ["Namespace//db", "Namespace//cache", "Namespace//messaging", "ServiceAccount/cache/redis"]);
            assert.strictEqual(ids.length, 3 + 7 + 1 + 8 + 6);
            assert.strictEqual(ids.indexOf("PersistentVolumeClaim/db/mariadb-backup"), 10);
            assert.strictEqual(ids[ids.length - 1], "NetworkPolicy/messaging/allow-peers");
        });

        it("flattens *List kinds, JSON arrays and YAML documents that are lists, and skips empty files", () => {
            const files = {
                "a.yml": "apiVersion: v1\nkind: ConfigMapList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: one }\n",
                "b.json": JSON.stringify([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "two" } }]),
                "c.yaml": "# nothing here\n",
                "d.json": "",
                "sub/e.yaml": "---\n---\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: { name: three }\n",
                "sub/ignored.txt": "kind: nope",
            };
            const names = withTempDir(files, (dir) => (loadManifests([dir]) as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name));
            assert.deepStrictEqual(names, ["one", "two", "three"]);
        });

        it("throws ManifestError naming the file and line on YAML syntax errors", () => {
            const file = path.join(ROOT, FIXTURES, "broken", "syntax-error.yaml");
            assert.throws(() => loadManifests([file]), (e: unknown) => e instanceof ManifestError && e.file === file && /syntax-error\.yaml: YAML syntax error at line 7/.test(e.message));
        });

        it("throws ManifestError for objects without kind, apiVersion or metadata.name, and for missing paths", () => {
            assert.throws(() => loadManifests([path.join(ROOT, FIXTURES, "broken", "no-kind.yaml")]), /no-kind\.yaml: document 1 has no kind/);
            withTempDir({ "x.json": '{"kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {}}]}' }, (dir) => {
                assert.throws(() => loadManifests([dir]), /x\.json: document item 1 has no metadata\.name/);
            });
            withTempDir({ "bad.json": "{ nope" }, (dir) => {
                assert.throws(() => loadManifests([dir]), /bad\.json: JSON syntax error/);
            });
            assert.throws(() => loadManifests(["does/not/exist.yaml"]), (e: unknown) => e instanceof ManifestError && e.message === "does/not/exist.yaml: cannot read: no such file or directory");
        });
    });
});
