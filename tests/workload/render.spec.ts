// The renderer's run-to-completion workloads and standalone volumes (Jobs, CronJobs, claims, extra
// objects), under the mock runtime: hardened like the StatefulSet's pods, Jobs named by their content.

import * as assert from "assert";
import { parseStackConfig } from "../../components/stackConfig";
import { planRedis } from "../../components/redis";
import { ContainerPlan, planProblems, ServicePlan } from "../../components/workload/plan";
import type { RenderResult } from "../../scripts/lib/mockRuntime";
import { Any, find } from "../../scripts/lib/manifests";
import { renderPlan } from "../helpers/renderPlan";

const config = parseStackConfig({ protect: true });

function runner(command: string): ContainerPlan {
    return {
        name: "run",
        image: "redis:7.2-alpine",
        command: ["sh", "-c", command],
        ports: [],
        env: [],
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
        mounts: [{ volume: "backup", path: "/backup", source: { kind: "pvc", claim: "redis-backup" } }],
        probes: {},
    };
}

function withWorkloads(command: string): ServicePlan {
    return {
        ...planRedis(config.redis, config),
        claims: [{ id: "backup", name: "redis-backup", size: "1Gi", storageClass: "local-path" }],
        jobs: [{ id: "seed", name: "redis-seed", containers: [runner(command)], backoffLimit: 2, activeDeadlineSeconds: 600, afterWorkload: true }],
        cronJobs: [
            {
                id: "nightly",
                name: "redis-nightly",
                schedule: "0 3 * * *",
                concurrencyPolicy: "Forbid",
                startingDeadlineSeconds: 600,
                successfulJobsHistoryLimit: 3,
                failedJobsHistoryLimit: 3,
                job: { containers: [runner("echo nightly")], backoffLimit: 1, activeDeadlineSeconds: 3600 },
            },
        ],
        extraObjects: [{ id: "rule", apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", name: "redis", body: { spec: { groups: [] } } }],
    };
}

const render = (plan: ServicePlan): Promise<RenderResult> => renderPlan(plan, config);

describe("renderer: Jobs, CronJobs, claims and extra objects", () => {
    let r: RenderResult;
    before(async () => {
        assert.deepStrictEqual(planProblems(withWorkloads("echo once")), []);
        r = await render(withWorkloads("echo once"));
    });

    it("names a Job by its content, so a changed Job is a new object; the same content keeps the name", async () => {
        const name = r.objects.find((o) => o.kind === "Job")!.metadata.name;
        assert.match(name, /^redis-seed-[0-9a-f]{8}$/);
        const same = await render(withWorkloads("echo once"));
        const other = await render(withWorkloads("echo twice"));
        assert.strictEqual(same.objects.find((o) => o.kind === "Job")!.metadata.name, name);
        assert.notStrictEqual(other.objects.find((o) => o.kind === "Job")!.metadata.name, name);
    });

    it("runs a Job again when a password in a Secret it mounts is rotated; one that mounts none keeps its name", async () => {
        const plan = withWorkloads("echo once");
        const credentials = plan.objects.find((o) => o.kind === "Secret" && o.data.some((d) => typeof d.content !== "string"))!;
        const job = plan.jobs![0];
        const mounting: ServicePlan = {
            ...plan,
            jobs: [{ ...job, containers: [{ ...job.containers[0], mounts: [...job.containers[0].mounts, { volume: "credentials", path: "/credentials", source: { kind: "object", object: credentials.name } }] }] }],
        };
        const jobName = (res: RenderResult) => res.objects.find((o) => o.kind === "Job")!.metadata.name;
        const before = await renderPlan(mounting, config, "a");
        const again = await renderPlan(mounting, config, "a");
        const rotated = await renderPlan(mounting, config, "b");
        assert.strictEqual(jobName(again), jobName(before));
        assert.notStrictEqual(jobName(rotated), jobName(before), `mounting ${credentials.name}, a rotated password must rename (re-run) the Job`);
        const plain = await renderPlan(plan, config, "a");
        const plainRotated = await renderPlan(plan, config, "b");
        assert.strictEqual(jobName(plainRotated), jobName(plain));
    });

    it("runs Job and CronJob pods hardened, once (restartPolicy Never), with the claim mounted", () => {
        const job = r.objects.find((o) => o.kind === "Job") as Any;
        const cron = find(r.objects, "CronJob", "cache", "redis-nightly") as Any;
        for (const spec of [job.spec.template.spec, cron.spec.jobTemplate.spec.template.spec]) {
            assert.strictEqual(spec.restartPolicy, "Never");
            assert.strictEqual(spec.automountServiceAccountToken, false);
            assert.strictEqual(spec.securityContext.runAsNonRoot, true);
            assert.strictEqual(spec.containers[0].securityContext.readOnlyRootFilesystem, true);
            assert.deepStrictEqual(spec.volumes, [{ name: "backup", persistentVolumeClaim: { claimName: "redis-backup" } }]);
        }
        assert.deepStrictEqual([cron.spec.schedule, cron.spec.concurrencyPolicy, cron.spec.startingDeadlineSeconds], ["0 3 * * *", "Forbid", 600]);
        assert.deepStrictEqual([job.spec.backoffLimit, job.spec.activeDeadlineSeconds], [2, 600]);
    });

    it("creates the claim protected like the data, and the extra object in the namespace", () => {
        const pvc = r.resources.find((x) => x.type === "kubernetes:core/v1:PersistentVolumeClaim")!;
        assert.strictEqual(pvc.options.protect, true);
        assert.strictEqual((find(r.objects, "PersistentVolumeClaim", "cache", "redis-backup") as Any).spec.resources.requests.storage, "1Gi");
        find(r.objects, "PrometheusRule", "cache", "redis");
    });

    it("refuses a plan whose job mounts a claim it does not define, or the StatefulSet's claim template", () => {
        const bad = withWorkloads("x");
        bad.claims = [];
        bad.jobs![0].containers[0].mounts.push({ volume: "data", path: "/data", source: { kind: "claim" } });
        const problems = planProblems(bad);
        assert.ok(problems.some((p) => /mounts the claim redis-backup, which the plan does not define/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /mounts the StatefulSet's claim template/.test(p)));
    });
});

describe("StatefulSet rollout await", () => {
    // pulumi-kubernetes' own StatefulSet await returns at once on an update (it reads the status before the
    // controller has seen the new generation: pulumi-kubernetes#3329, seen on real pods in
    // tests/pods/engine.spec.ts); the jsonpath conditions of pulumi.com/waitFor wait for observedGeneration first.
    for (const replicas of [1, 3]) {
        it(`waits for ${replicas} updated, ready and current replica(s), the StatefulSet's own count`, async () => {
            const r = await render(planRedis({ ...config.redis, replicas }, config));
            const sts = find(r.objects, "StatefulSet", "cache", "redis") as Any;
            assert.strictEqual(sts.spec.replicas, replicas);
            assert.deepStrictEqual(JSON.parse(sts.metadata.annotations["pulumi.com/waitFor"]), [
                `jsonpath={.status.updatedReplicas}=${replicas}`,
                `jsonpath={.status.readyReplicas}=${replicas}`,
                `jsonpath={.status.currentReplicas}=${replicas}`,
            ]);
        });
    }
});
