// Policy container-security-context: Every container runs hardened: non-root, unprivileged, no escalation, capabilities dropped, seccomp, AppArmor, /proc and a read-only root.
// "moved from tests/policy.spec.ts" holds the original assertions unchanged; "one change to the baseline"
// adds cases built from the shared baseline (tests/policy/helpers.ts) with a single change each; the class
// corpus cases are the manifests of tests/fixtures/policy/violating/classes that name this policy.

import * as assert from "assert";
import { formatReport } from "../../policy/runner";
import {
    BASELINE,
    container,
    expectClean,
    expectOnly,
    fixture,
    itCatchesClassCorpus,
    obj,
    ofPolicy,
    parseYaml,
    POD_BEARING_BASELINES,
    podSpec,
    run,
    stack,
    UNKNOWN_STRING,
    withChange,
} from "./helpers";

describe("policy container-security-context", () => {
    describe("moved from tests/policy.spec.ts", () => {
        it("accepts runAsNonRoot and seccomp at pod level only", async () => {
            const objs = stack();
            const c = container(obj(objs, "StatefulSet", "mariadb"), "mariadb");
            delete c.securityContext.runAsNonRoot;
            await expectClean(objs);
        });

        it("flags a container without runAsNonRoot at either level", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).securityContext.runAsNonRoot;
            await expectOnly(objs, "container-security-context", 'container "redis": runAsNonRoot is not true');
        });

        it("lets the container's seccomp profile win over the pod's", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "kafka")).securityContext.seccompProfile = { type: "Unconfined" };
            await expectOnly(objs, "container-security-context", "seccompProfile is Unconfined");
            const objs2 = stack();
            const sts = obj(objs2, "StatefulSet", "kafka");
            delete podSpec(sts).securityContext.seccompProfile;
            container(sts).securityContext.seccompProfile = { type: "RuntimeDefault" };
            await expectClean(objs2);
        });

        it("checks init containers", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "init-perms").securityContext.readOnlyRootFilesystem = false;
            await expectOnly(objs, "container-security-context", 'init container "init-perms": readOnlyRootFilesystem is not true');
        });

        it("checks the CronJob pod spec under jobTemplate", async () => {
            const objs = stack();
            container(obj(objs, "CronJob", "mariadb-backup")).securityContext.privileged = true;
            const vs = await expectOnly(objs, "container-security-context", "privileged is true");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["CronJob", "db", "mariadb-backup"]);
        });

        it("flags privilege escalation, kept capabilities, added capabilities and UID 0", async () => {
            const objs = stack();
            const sc = container(obj(objs, "Deployment", "redis-exporter")).securityContext;
            delete sc.allowPrivilegeEscalation;
            sc.capabilities = { drop: ["NET_RAW"], add: ["SYS_ADMIN", "NET_BIND_SERVICE"] };
            sc.runAsUser = 0;
            const vs = await expectOnly(objs, "container-security-context", "allowPrivilegeEscalation is not false");
            for (const text of ["capabilities.drop does not contain ALL", "capabilities.add grants SYS_ADMIN", "runAsUser is 0"]) {
                assert.ok(vs[0].message.includes(text), text);
            }
            assert.ok(!vs[0].message.split("Fix:")[0].includes("NET_BIND_SERVICE"), "NET_BIND_SERVICE may be added");
        });

        it("checks ephemeral containers and every pod-bearing kind of the violating fixture", async () => {
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "container-security-context");
            assert.ok(vs.some((v) => v.kind === "Pod" && v.message.includes('ephemeral container "debugger"') && v.message.includes("privileged is true")));
            assert.deepStrictEqual(Array.from(new Set(vs.map((v) => v.kind))).sort(), ["CronJob", "DaemonSet", "Deployment", "Job", "Pod"]);
        });
    });

    describe("one change to the baseline", () => {
        for (const kind of POD_BEARING_BASELINES) {
            it(`checks every container of a ${kind}`, async () => {
                const objs = withChange({ in: BASELINE[kind], edit: (o) => (container(o).securityContext.privileged = true) });
                const vs = await expectOnly(objs, "container-security-context", "privileged is true");
                assert.strictEqual(vs[0].kind, kind);
            });
        }

        it("holds sidecars (init containers with restartPolicy: Always) to the same rules and names them", async () => {
            const objs = withChange({
                in: BASELINE.Pod,
                edit: (o) => (o.spec.initContainers = [{ ...structuredClone(o.spec.containers[0]), name: "proxy", restartPolicy: "Always", securityContext: { readOnlyRootFilesystem: true } }]),
            });
            await expectOnly(objs, "container-security-context", 'sidecar container "proxy": allowPrivilegeEscalation is not false');
        });

        it("flags a Windows HostProcess container, an unmasked /proc and an Unconfined AppArmor profile", async () => {
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.securityContext.windowsOptions": { hostProcess: true } } }), "container-security-context", "windowsOptions.hostProcess is true");
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.containers.0.securityContext.procMount": "Unmasked" } }), "container-security-context", "procMount is Unmasked");
            await expectOnly(withChange({ in: BASELINE.Pod, set: { "spec.containers.0.securityContext.appArmorProfile": { type: "Unconfined" } } }), "container-security-context", "AppArmor profile is Unconfined");
            await expectOnly(
                withChange({ in: BASELINE.Pod, set: { "metadata.annotations": { "container.apparmor.security.beta.kubernetes.io/tool": "unconfined" } } }),
                "container-security-context",
                "AppArmor profile is Unconfined",
            );
            await expectClean(withChange({ in: BASELINE.Pod, set: { "spec.securityContext.appArmorProfile": { type: "RuntimeDefault" }, "spec.containers.0.securityContext.procMount": "Default" } }));
        });

        it("reads YAML 1.1 booleans as kubectl does: privileged: yes is true, runAsNonRoot: yes is fine", async () => {
            const pod = (sc: string) =>
                `apiVersion: v1\nkind: Pod\nmetadata: { name: yaml-pod, namespace: db }\nspec:\n  securityContext: { runAsNonRoot: yes, seccompProfile: { type: RuntimeDefault } }\n  containers:\n    - name: c\n      image: busybox:1.36.1\n      securityContext: { ${sc}, allowPrivilegeEscalation: no, readOnlyRootFilesystem: on, capabilities: { drop: [ALL] } }\n      resources: { requests: { cpu: 1m, memory: 1Mi }, limits: { memory: 2Mi } }\n`;
            await expectClean(withChange({ add: parseYaml(pod("privileged: off")) }));
            await expectOnly(withChange({ add: parseYaml(pod("privileged: yes")) }), "container-security-context", "privileged is true");
        });

        it("checks a container named like pulumi-policy's unknown marker instead of giving up", async () => {
            const objs = withChange({ in: BASELINE.Pod, edit: (o) => Object.assign(o.spec.containers[0], { name: UNKNOWN_STRING, securityContext: { privileged: true } }) });
            const vs = await run(objs);
            assert.ok(vs.some((v) => v.enforcementLevel === "mandatory" && v.policyName === "container-security-context" && v.message.includes("privileged is true")), formatReport(vs));
        });
    });

    describe("class corpus", () => {
        itCatchesClassCorpus("container-security-context");
    });
});
