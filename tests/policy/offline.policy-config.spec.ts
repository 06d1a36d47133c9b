// The offline runner's policy config (policy/offline/policyConfig.ts): reading a config file and
// rejecting what the pack does not accept, naming the file, the policy and the key.

import * as assert from "assert";
import * as path from "path";
import { loadPolicyConfig, PolicyConfigError } from "../../policy/runner";
import { withTempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "..", "..");

describe("policy runner", () => {
    describe("loadPolicyConfig", () => {
        it("returns {} without a file and reads the stack configs", () => {
            assert.deepStrictEqual(loadPolicyConfig(), {});
            assert.strictEqual(loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json")).all, "mandatory");
        });

        it("rejects bad knobs, unknown keys, unknown policies, bad levels and bad JSON, naming file, policy and key", () => {
            const cases: Array<[unknown, RegExp]> = [
                [{ "pvc-storage-class": { allowedStorageClasses: "longhorn" } }, /policy "pvc-storage-class", key "allowedStorageClasses": expected an array of strings, got "longhorn"/],
                [{ "namespace-pod-security-labels": { level: "strict" } }, /key "level": expected one of "privileged", "baseline", "restricted", got "strict"/],
                [{ "data-service-exposure": { dataPorts: [0] } }, /key "dataPorts": expected an array of integers between 1 and 65535, got \[0\]/],
                [{ "kafka-no-plaintext-listeners": { allowPlainText: true } }, /policy "kafka-no-plaintext-listeners": unknown key "allowPlainText" \(accepted: allowPlaintext, enforcementLevel\)/],
                [{ "statefulset-pvc-retention": { keep: true } }, /unknown key "keep" \(accepted: enforcementLevel only, this policy has no knobs\)/],
                [{ "no-such-policy": "advisory" }, /unknown policy "no-such-policy" \(policies: container-security-context, /],
                [{ all: "loud" }, /"all": "loud" is not an enforcement level \(accepted: advisory, mandatory, remediate, disabled\)/],
                [{ "container-images": { enforcementLevel: "warn" } }, /policy "container-images", key "enforcementLevel": "warn" is not accepted/],
                [[1, 2], /must be a JSON object/],
            ];
            for (const [config, expected] of cases) {
                withTempDir({ "cfg.json": JSON.stringify(config) }, (dir) => {
                    const file = path.join(dir, "cfg.json");
                    assert.throws(
                        () => loadPolicyConfig(file),
                        (e: unknown) => e instanceof PolicyConfigError && e.file === file && e.message.startsWith(`${file}: `) && expected.test(e.message),
                        JSON.stringify(config),
                    );
                });
            }
            assert.throws(() => loadPolicyConfig("nope.json"), /nope\.json: cannot read: no such file or directory/);
            withTempDir({ "broken.json": "{ all: " }, (dir) => assert.throws(() => loadPolicyConfig(path.join(dir, "broken.json")), /broken\.json: JSON syntax error/));
        });
    });
});
