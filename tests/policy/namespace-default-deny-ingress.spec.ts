// Policy namespace-default-deny-ingress: Namespaces with StatefulSets have default-deny ingress; namespaces with workloads are declared.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import * as path from "path";
import { formatReport, loadPolicyConfig } from "../../policy/runner";
import {
    BASELINE,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    ofPolicy,
    ROOT,
    run,
    stack,
    withChange,
} from "./helpers";

describe("policy namespace-default-deny-ingress", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("requires a default-deny ingress policy where a StatefulSet runs, reported per namespace", async () => {
            const objs = stack();
            objs.splice(objs.indexOf(obj(objs, "NetworkPolicy", "default-deny-ingress", "db")), 1);
            const vs = await expectOnly(objs, "namespace-default-deny-ingress", 'namespace "db": runs StatefulSet mariadb but has no default-deny ingress NetworkPolicy');
            assert.deepStrictEqual([vs.length, vs[0].kind, vs[0].namespace, vs[0].name], [1, "Namespace", "db", "-"]);
        });

        it("does not count policies with a pod selector or ingress rules as default-deny", async () => {
            for (const spec of [
                { podSelector: { matchLabels: { app: "x" } }, policyTypes: ["Ingress"] },
                { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] },
                { podSelector: {}, policyTypes: ["Egress"] },
            ]) {
                const objs = stack();
                obj(objs, "NetworkPolicy", "default-deny-ingress", "messaging").spec = spec;
                const vs = ofPolicy(await run(objs), "namespace-default-deny-ingress");
                assert.deepStrictEqual(vs.map((v) => `${v.kind} ${v.namespace}/${v.name}`), ["Namespace messaging/-"], JSON.stringify(spec));
            }
        });

        it("accepts an omitted policyTypes (Kubernetes implies Ingress) and is off in dev", async () => {
            const objs = stack();
            delete obj(objs, "NetworkPolicy", "default-deny-ingress", "messaging").spec.policyTypes;
            await expectClean(objs);
            const noPolicies = stack().filter((o) => o.kind !== "NetworkPolicy");
            await expectClean(noPolicies, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });
    });

    describe("one change to the baseline", () => {
        it("reports workloads in a namespace the stack does not declare", async () => {
            const vs = await expectOnly(withChange({ in: BASELINE.Pod, set: { "metadata.namespace": "tools" } }), "namespace-default-deny-ingress", 'namespace "tools": runs Pod baseline-pod but is not declared in this stack, so its Pod Security labels cannot be verified');
            assert.deepStrictEqual([vs.length, vs[0].kind, vs[0].namespace, vs[0].name], [1, "Namespace", "tools", "-"]);
            await expectClean(withChange({ in: BASELINE.PodTemplate, set: { "metadata.namespace": "templates" } }));
        });

        it("reports a missing default-deny policy and an undeclared namespace in one finding", async () => {
            const objs = withChange({ remove: ["Namespace /db", "NetworkPolicy db/default-deny-ingress"] });
            const vs = ofPolicy(await run(objs), "namespace-default-deny-ingress");
            assert.strictEqual(vs.length, 1, formatReport(vs));
            assert.match(vs[0].message, /^namespace "db": runs StatefulSet mariadb but has no default-deny ingress NetworkPolicy; runs .* but is not declared in this stack/);
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("namespace-default-deny-ingress");
    });
});
