// The offline runner's evaluation (policy/offline/evaluate.ts, with the levels of enforcementLevels.ts
// and the unknown-checking proxy of unknownValues.ts): disabled policies are skipped, a marker string read
// from a file is data, a marker set programmatically is still an unknown preview value.

import * as assert from "assert";
import * as path from "path";
import { evaluate, formatReport, loadManifests } from "../../policy/runner";
import { withTempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join("tests", "fixtures", "policy");

describe("policy runner", () => {
    describe("evaluate", () => {
        it("evaluate() with a config object skips disabled policies", async () => {
            const objs = loadManifests([path.join(ROOT, FIXTURES, "violating", "kafka-plaintext.yaml")]);
            assert.strictEqual((await evaluate(objs)).length, 1);
            assert.deepStrictEqual(await evaluate(objs, { "kafka-no-plaintext-listeners": "disabled" }), []);
        });
    });
});

describe("policy runner: unknown markers in manifest files", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

    it("reads a marker string from a file as data, so it cannot switch checks off", async () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "p", namespace: "db" },
            spec: { containers: [{ name: unknownStringValue, image: unknownStringValue, securityContext: { privileged: true } }] },
        };
        const vs = await withTempDir({ "p.json": JSON.stringify(pod) }, (dir) => evaluate(loadManifests([dir])));
        assert.ok(vs.length > 0 && vs.every((v) => v.enforcementLevel === "mandatory"), formatReport(vs));
        assert.ok(vs.some((v) => v.policyName === "container-security-context" && v.message.includes("privileged is true")));
        assert.ok(vs.some((v) => v.policyName === "container-images" && v.message.includes("has no tag")));
    });

    it("still treats a marker set programmatically (a simulated preview value) as unknown", async () => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const objs = loadManifests([path.join(ROOT, FIXTURES, "compliant")]) as Array<Record<string, any>>;
        objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === "mariadb")!.spec.template.spec.containers[0].image = unknownStringValue;
        const vs = await evaluate(objs);
        assert.ok(vs.some((v) => v.enforcementLevel === "advisory" && v.policyName === "container-images" && /during preview/.test(v.message)), formatReport(vs));
    });
});
