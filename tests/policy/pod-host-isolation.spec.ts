// Policy pod-host-isolation: Pods share no host namespaces and mount no host paths or ports.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import { formatReport } from "../../policy/runner";
import {
    BASELINE,
    expectClean,
    expectOnly,
    fixture,
    itCatchesClassCorpus,
    obj,
    ofPolicy,
    POD_BEARING_BASELINES,
    podSpec,
    run,
    stack,
    withChange,
} from "./helpers";

describe("policy pod-host-isolation", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("flags hostNetwork, hostPID, hostIPC, hostPath volumes and hostPorts", async () => {
            const objs = stack();
            const spec = podSpec(obj(objs, "StatefulSet", "mariadb"));
            spec.hostNetwork = true;
            spec.volumes.push({ name: "host", hostPath: { path: "/var/lib/mysql-host" } });
            await expectOnly(objs, "pod-host-isolation", 'hostNetwork is true; volume "host" is a hostPath (/var/lib/mysql-host)');
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "pod-host-isolation");
            assert.ok(vs.some((v) => v.kind === "DaemonSet" && /hostPID is true; hostIPC is true; container "agent" binds hostPort 9100/.test(v.message)));
        });

        it("accepts hostNetwork: false", async () => {
            const objs = stack();
            podSpec(obj(objs, "StatefulSet", "mariadb")).hostNetwork = false;
            await expectClean(objs);
        });
    });

    describe("one change to the baseline", () => {
        for (const kind of POD_BEARING_BASELINES) {
            it(`checks the pod spec of a ${kind}`, async () => {
                const objs = withChange({ in: BASELINE[kind], edit: (o) => (podSpec(o).hostPID = true) });
                const vs = await expectOnly(objs, "pod-host-isolation", "hostPID is true");
                assert.strictEqual(vs[0].kind, kind);
            });
        }

        it("flags a hostPort on a sidecar and a hostPort written as a string", async () => {
            const sidecar = { name: "proxy", image: "busybox:1.36.1", restartPolicy: "Always", ports: [{ containerPort: 8080, hostPort: "8080" }] };
            const objs = withChange({ in: BASELINE.Pod, set: { "spec.initContainers": [sidecar] } });
            const vs = ofPolicy(await run(objs), "pod-host-isolation");
            assert.ok(vs.some((v) => v.message.includes('sidecar container "proxy" binds hostPort 8080')), formatReport(vs));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("pod-host-isolation");
    });
});
