// The offline runner's report (policy/offline/report.ts): one line per violation, the count line and
// whether the run fails.

import * as assert from "assert";
import { formatReport, hasMandatory, Violation } from "../../policy/runner";

describe("policy runner", () => {
    describe("formatReport and hasMandatory", () => {
        const v = (level: "mandatory" | "advisory", namespace: string, name: string, kind = "StatefulSet"): Violation => ({
            enforcementLevel: level,
            policyName: "container-images",
            kind,
            namespace,
            name,
            message: "container \"x\": bad.\nFix: do better.",
        });

        it("prints one line per violation and a count line", () => {
            assert.strictEqual(formatReport([]), "0 violations");
            assert.strictEqual(
                formatReport([v("mandatory", "db", "mariadb"), v("advisory", "", "db", "Namespace"), v("mandatory", "db", "-", "Namespace")]),
                [
                    'mandatory container-images StatefulSet db/mariadb: container "x": bad. Fix: do better.',
                    'advisory container-images Namespace /db: container "x": bad. Fix: do better.',
                    'mandatory container-images Namespace db/-: container "x": bad. Fix: do better.',
                    "3 violations (2 mandatory, 1 advisory)",
                ].join("\n"),
            );
            assert.strictEqual(formatReport([v("advisory", "db", "a")]).split("\n")[1], "1 violation (0 mandatory, 1 advisory)");
        });

        it("hasMandatory is true only with a mandatory violation", () => {
            assert.strictEqual(hasMandatory([]), false);
            assert.strictEqual(hasMandatory([v("advisory", "db", "a")]), false);
            assert.strictEqual(hasMandatory([v("advisory", "db", "a"), v("mandatory", "db", "b")]), true);
        });
    });
});
