// Labels (components/labels.ts).

import * as assert from "assert";
import { imageVersion, selectorLabels, standardLabels } from "../components/labels";

describe("pure helpers", () => {
    it("labels: selector labels stay stable across versions; the version label follows the image tag", () => {
        assert.deepStrictEqual(selectorLabels("redis"), { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis" });
        assert.strictEqual(standardLabels("redis", "cache", "redis:7.2-alpine")["app.kubernetes.io/version"], "7.2-alpine");
        assert.strictEqual(imageVersion("registry:5000/apache/kafka:3.8.1@sha256:abc"), "3.8.1");
        assert.strictEqual(imageVersion("registry:5000/kafka"), "unversioned");
    });
});
