// The reconcile Jobs' wait (components/reconcileWait.ts) and their activeDeadlineSeconds: a Job whose script
// waits the whole bound for its server must still have time for its work before Kubernetes ends it, and
// each script renders the bound (one home: RECONCILE_WAIT).

import * as assert from "assert";
import { renderStack } from "../scripts/lib/mockRuntime";
import { configMapData } from "../scripts/lib/rendered";
import { RECONCILE_WAIT, RECONCILE_WAIT_ENV } from "../components/reconcileWait";
import { MOUNTED_WAIT_SECONDS } from "../components/redis/aclReconcile";

const RECONCILE_JOBS = /^(mariadb-reconcile|redis-acl-reconcile|kafka-reconcile)-/;

describe("reconcile Jobs wait for their server within their deadline", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: each reconcile Job's activeDeadlineSeconds >= the wait (${RECONCILE_WAIT.seconds} s) + ${RECONCILE_WAIT.workSeconds} s of work; its script waits with that bound`, async () => {
            const r = await renderStack(stack, { seed: "reconcile-wait" });
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            const jobs = r.objects.filter((o: any) => o.kind === "Job" && RECONCILE_JOBS.test(o.metadata.name)) as any[];
            assert.deepStrictEqual(jobs.map((j) => j.metadata.name.replace(/-[0-9a-z]+$/, "")).sort(), ["kafka-reconcile", "mariadb-reconcile", "redis-acl-reconcile"]);
            for (const j of jobs) {
                // activeDeadlineSeconds bounds the whole Job (every retry). Redis' phase 2 also waits for the pods' mounted files.
                const deadline = j.spec.activeDeadlineSeconds as number;
                const needed = RECONCILE_WAIT.seconds + RECONCILE_WAIT.workSeconds + (j.metadata.name.startsWith("redis-") ? MOUNTED_WAIT_SECONDS : 0);
                assert.ok(deadline >= needed, `${j.metadata.name}: activeDeadlineSeconds ${deadline} < ${needed}`);
                const cms = (j.spec.template.spec.volumes as { configMap?: { name: string } }[]).filter((v) => v.configMap).map((v) => v.configMap!.name);
                const scripts = cms
                    .map((name) => configMapData(r.objects.find((o: any) => o.kind === "ConfigMap" && o.metadata.name === name && o.metadata.namespace === j.metadata.namespace)!))
                    .flatMap((d) => Object.values(d))
                    .filter((t) => t.startsWith("#!"));
                assert.ok(
                    scripts.some((t) => t.includes(`${RECONCILE_WAIT_ENV}:-${RECONCILE_WAIT.seconds}}"`)),
                    `${j.metadata.name}: no mounted script waits with the bound ${RECONCILE_WAIT_ENV}:-${RECONCILE_WAIT.seconds}`,
                );
            }
        });
    }
});
