// Policy namespace-pod-security-labels: Namespaces carry the Pod Security labels.
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
    stack,
    withChange,
} from "./helpers";

describe("policy namespace-pod-security-labels", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("requires enforce, audit and warn at restricted by default", async () => {
            const objs = stack();
            const labels = obj(objs, "Namespace", "db").metadata.labels;
            delete labels["pod-security.kubernetes.io/warn"];
            labels["pod-security.kubernetes.io/enforce"] = "baseline";
            const vs = await expectOnly(objs, "namespace-pod-security-labels", "label pod-security.kubernetes.io/warn is missing");
            assert.ok(vs[0].message.includes("pod-security.kubernetes.io/enforce=baseline is weaker than restricted"));
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["Namespace", "", "db"]);
        });

        it("follows the level knob (privileged < baseline < restricted)", async () => {
            const objs = stack();
            const labels = obj(objs, "Namespace", "cache").metadata.labels;
            for (const mode of ["enforce", "audit", "warn"]) {
                labels[`pod-security.kubernetes.io/${mode}`] = "baseline";
            }
            await expectClean(objs, { "namespace-pod-security-labels": { level: "baseline" } });
            await expectClean(objs, { "namespace-pod-security-labels": { level: "privileged" } });
            labels["pod-security.kubernetes.io/audit"] = "privileged";
            await expectOnly(objs, "namespace-pod-security-labels", "audit=privileged is weaker than baseline", { "namespace-pod-security-labels": { level: "baseline" } });
            labels["pod-security.kubernetes.io/audit"] = "strict";
            await expectOnly(objs, "namespace-pod-security-labels", "audit=strict is not a Pod Security level");
        });
    });

    describe("one change to the baseline", () => {
        it("reads label values as written: a capitalised level is not a level", async () => {
            const objs = withChange({ in: BASELINE.Namespace, edit: (o) => (o.metadata.labels["pod-security.kubernetes.io/audit"] = "Restricted") });
            await expectOnly(objs, "namespace-pod-security-labels", "audit=Restricted is not a Pod Security level");
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("namespace-pod-security-labels");
    });
});
