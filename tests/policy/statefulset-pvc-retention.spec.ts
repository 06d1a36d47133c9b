// Policy statefulset-pvc-retention: StatefulSets retain their claims explicitly.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import {
    BASELINE,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    stack,
    withChange,
} from "./helpers";

describe("policy statefulset-pvc-retention", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("requires an explicit Retain for whenDeleted and whenScaled", async () => {
            const objs = stack();
            delete obj(objs, "StatefulSet", "mariadb").spec.persistentVolumeClaimRetentionPolicy;
            await expectOnly(objs, "statefulset-pvc-retention", "persistentVolumeClaimRetentionPolicy.whenDeleted is not set (the implicit Retain default must be stated explicitly)");
            const objs2 = stack();
            obj(objs2, "StatefulSet", "kafka").spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete";
            await expectOnly(objs2, "statefulset-pvc-retention", "whenScaled is Delete");
        });

        it("ignores StatefulSets without volumeClaimTemplates", async () => {
            const objs = stack();
            const sts = obj(objs, "StatefulSet", "mariadb");
            delete sts.spec.persistentVolumeClaimRetentionPolicy;
            delete sts.spec.volumeClaimTemplates;
            await expectClean(objs);
        });
    });

    describe("one change to the baseline", () => {
        it("compares the policy values exactly, as the API server does", async () => {
            await expectOnly(withChange({ in: BASELINE.StatefulSet, set: { "spec.persistentVolumeClaimRetentionPolicy.whenDeleted": "retain" } }), "statefulset-pvc-retention", "whenDeleted is retain");
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("statefulset-pvc-retention");
    });
});
