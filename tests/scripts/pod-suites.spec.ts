// test:pods runs its suites in the order tests/pods/mocharc.json lists them (they share one cluster, and the
// prod suites one deployment of prod: tests/helpers/nodes.ts, prodStack.ts), so a suite left out of that list
// would never run. This keeps the list whole.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../scripts/lib/mockRuntime";

describe("test:pods suite list", () => {
    it("tests/pods/mocharc.json lists every tests/pods/*.spec.ts once, the prod suites last", () => {
        const listed = (JSON.parse(fs.readFileSync(path.join(ROOT, "tests", "pods", "mocharc.json"), "utf8")) as { spec: string[] }).spec;
        const files = fs
            .readdirSync(path.join(ROOT, "tests", "pods"))
            .filter((f) => f.endsWith(".spec.ts"))
            .map((f) => `tests/pods/${f}`);
        assert.deepStrictEqual([...listed].sort(), files.sort(), "the list and the suites on disk differ");
        // The prod suites keep prod deployed (keepNamespaces) in namespaces the dev suites also use: last.
        const firstProd = listed.findIndex((f) => /consumer|-prod\./.test(f));
        assert.ok(listed.slice(firstProd).every((f) => /consumer|-prod\./.test(f)), `the prod suites come last: ${listed.join(", ")}`);
    });
});
