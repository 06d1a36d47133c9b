// Policy pvc-storage-class: Claims use an approved storage class.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import {
    BASELINE,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    podSpec,
    stack,
    withChange,
} from "./helpers";

describe("policy pvc-storage-class", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("forbids local-path by default on volumeClaimTemplates and PVCs", async () => {
            const objs = stack();
            obj(objs, "StatefulSet", "redis").spec.volumeClaimTemplates[0].spec.storageClassName = "local-path";
            obj(objs, "PersistentVolumeClaim", "mariadb-backup").spec.storageClassName = "local-path";
            const vs = await expectOnly(objs, "pvc-storage-class", 'volumeClaimTemplate "data" uses forbidden storage class "local-path"');
            // grouped by object in load order: cache.yaml sorts before db-backup-pvc.json
            assert.deepStrictEqual(vs.map((v) => `${v.kind} ${v.name}`), ["StatefulSet redis", "PersistentVolumeClaim mariadb-backup"]);
        });

        it("flags a missing storageClassName unless allowDefaultStorageClass", async () => {
            const objs = stack();
            delete obj(objs, "StatefulSet", "kafka").spec.volumeClaimTemplates[0].spec.storageClassName;
            await expectOnly(objs, "pvc-storage-class", "sets no storageClassName, so it gets the cluster's default class");
            await expectClean(objs, { "pvc-storage-class": { allowDefaultStorageClass: true } });
        });

        it("honours the allowed list, the forbidden list and the legacy annotation", async () => {
            const objs = stack();
            const pvc = obj(objs, "PersistentVolumeClaim", "mariadb-backup");
            delete pvc.spec.storageClassName;
            pvc.metadata.annotations = { "volume.beta.kubernetes.io/storage-class": "fast-ssd" };
            await expectClean(objs);
            await expectOnly(objs, "pvc-storage-class", 'uses storage class "fast-ssd", which is not in the allowed list (longhorn)', { "pvc-storage-class": { allowedStorageClasses: ["longhorn"] } });
            pvc.metadata.annotations["volume.beta.kubernetes.io/storage-class"] = "local-path";
            await expectClean(objs, { "pvc-storage-class": { forbiddenStorageClasses: [] } });
        });

        it("checks generic ephemeral volumes", async () => {
            const objs = stack();
            podSpec(obj(objs, "Deployment", "redis-exporter")).volumes = [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: { storageClassName: "local-path" } } } }];
            await expectOnly(objs, "pvc-storage-class", 'ephemeral volume "scratch" uses forbidden storage class');
        });
    });

    describe("one change to the baseline", () => {
        it("checks generic ephemeral volumes of a PodTemplate", async () => {
            await expectOnly(
                withChange({ in: BASELINE.PodTemplate, set: { "template.spec.volumes": [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: { storageClassName: "local-path" } } } }] } }),
                "pvc-storage-class",
                'ephemeral volume "scratch" uses forbidden storage class "local-path"',
            );
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("pvc-storage-class");
    });
});
