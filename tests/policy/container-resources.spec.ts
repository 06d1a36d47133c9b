// Policy container-resources: Containers declare requests and a memory limit.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    itCatchesClassCorpus,
    obj,
    stack,
    withChange,
} from "./helpers";

describe("policy container-resources", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("requires a memory limit", async () => {
            const objs = stack();
            delete container(obj(objs, "StatefulSet", "redis")).resources.limits;
            await expectOnly(objs, "container-resources", 'container "redis": missing resources limits.memory');
        });

        it("requires CPU and memory requests on init containers too", async () => {
            const objs = stack();
            delete container(obj(objs, "StatefulSet", "mariadb"), "init-perms").resources.requests;
            await expectOnly(objs, "container-resources", 'init container "init-perms": missing resources requests.cpu, requests.memory');
        });

        it("requires a CPU limit only with requireCpuLimit", async () => {
            const vs = await expectOnly(stack(), "container-resources", "limits.cpu", { "container-resources": { requireCpuLimit: true } });
            assert.ok(!vs.some((v) => v.name === "mariadb" && v.message.startsWith('container "mariadb"')), "mariadb sets a CPU limit");
        });
    });

    describe("one change to the baseline", () => {
        it("counts a zero memory limit and a zero CPU request as missing", async () => {
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.containers.0.resources.limits.memory": "0" } }), "container-resources", "resources limits.memory is 0");
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.containers.0.resources.requests.cpu": "0.0" } }), "container-resources", "resources requests.cpu is 0");
        });

        it("accepts pod-level resources (spec.resources) for containers that set none", async () => {
            await expectClean(
                withChange({
                    in: BASELINE.Pod,
                    edit: (o) => {
                        delete o.spec.containers[0].resources;
                        o.spec.resources = { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } };
                    },
                }),
            );
        });

        it("requires resources on sidecars and PodTemplates", async () => {
            await expectOnly(
                withChange({ in: BASELINE.Pod, set: { "spec.initContainers": [{ name: "proxy", image: "busybox:1.36.1", restartPolicy: "Always", securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } } }] } }),
                "container-resources",
                'sidecar container "proxy": missing resources requests.cpu, requests.memory, limits.memory',
            );
            await expectOnly(withChange({ in: BASELINE.PodTemplate, set: { "template.spec.containers.0.resources": undefined } }), "container-resources", 'container "tool": missing resources');
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("container-resources");
    });
});
