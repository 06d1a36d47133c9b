// Kubernetes quantities (components/config/units.ts).

import * as assert from "assert";
import { cpuToMillis, quantityToBytes } from "../../components/config/units";

describe("stack config", () => {
    it("converts quantities", () => {
        assert.strictEqual(quantityToBytes("512Mi"), 512 * 2 ** 20);
        assert.strictEqual(quantityToBytes("1G"), 1e9);
        assert.strictEqual(cpuToMillis("250m"), 250);
        assert.strictEqual(cpuToMillis("1.5"), 1500);
        assert.throws(() => quantityToBytes("1 GB"), /not a Kubernetes quantity/);
    });
});
