// Pod security contexts and namespace labels (components/podSecurity.ts).

import * as assert from "assert";
import { IMAGE_USERS } from "../components/imageUsers";
import { containerSecurityContext, podSecurityContext, podSecurityLabels } from "../components/podSecurity";
import { Any } from "../scripts/lib/manifests";

describe("pure helpers", () => {
    it("pod security: restricted profile for the given user", () => {
        assert.deepStrictEqual(podSecurityContext(IMAGE_USERS.redis), {
            runAsNonRoot: true,
            runAsUser: 999,
            runAsGroup: 1000,
            fsGroup: 1000,
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
        });
        const c = containerSecurityContext(IMAGE_USERS.kafka) as Any;
        assert.deepStrictEqual([c.runAsUser, c.allowPrivilegeEscalation, c.readOnlyRootFilesystem, c.capabilities.drop], [1000, false, true, ["ALL"]]);
        assert.strictEqual(podSecurityLabels("baseline")["pod-security.kubernetes.io/enforce"], "baseline");
        assert.strictEqual(podSecurityLabels("baseline")["pod-security.kubernetes.io/warn"], "restricted");
    });
});
