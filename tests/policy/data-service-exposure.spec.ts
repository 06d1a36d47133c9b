// Policy data-service-exposure: Services that expose a data port stay ClusterIP.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import { formatReport } from "../../policy/runner";
import {
    BASELINE,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    run,
    stack,
    withChange,
} from "./helpers";

describe("policy data-service-exposure", () => {
    describe("moved from tests/policy.spec.ts", () => {
        for (const type of ["NodePort", "LoadBalancer"]) {
            it(`flags a ${type} Service on a data port`, async () => {
                const objs = stack();
                obj(objs, "Service", "mariadb").spec.type = type;
                const vs = await expectOnly(objs, "data-service-exposure", `type ${type} exposes data port(s) 3306`);
                assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["Service", "db", "mariadb"]);
            });
        }

        it("flags externalIPs and ignores non-data ports and ExternalName", async () => {
            const objs = stack();
            obj(objs, "Service", "redis-headless").spec.externalIPs = ["198.51.100.7"];
            await expectOnly(objs, "data-service-exposure", "externalIPs (198.51.100.7)");
            const web = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "db" }, spec: { type: "LoadBalancer", ports: [{ port: 443, targetPort: 8443 }] } };
            const ext = { apiVersion: "v1", kind: "Service", metadata: { name: "ext", namespace: "db" }, spec: { type: "ExternalName", externalName: "db.example.com", ports: [{ port: 3306 }] } };
            await expectClean([...stack(), web, ext]);
            await expectOnly([...stack(), web], "data-service-exposure", "type LoadBalancer exposes data port(s) 443", { "data-service-exposure": { dataPorts: [443] } });
        });
    });

    describe("one change to the baseline", () => {
        it("reads ports written as strings and leaves named targetPorts to network-policy-data-ports", async () => {
            await expectOnly(withChange({ in: BASELINE.Service, set: { "spec.type": "NodePort", "spec.ports": [{ port: "3306" }] } }), "data-service-exposure", "type NodePort exposes data port(s) 3306");
            const vs = await run(withChange({ in: BASELINE.Service, set: { "spec.type": "LoadBalancer", "spec.ports": [{ port: 80, targetPort: "mysql" }] } }));
            assert.deepStrictEqual(Array.from(new Set(vs.map((v) => v.policyName))), ["network-policy-data-ports"], formatReport(vs));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("data-service-exposure");
    });
});
