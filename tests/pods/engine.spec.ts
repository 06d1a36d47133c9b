// dev under the real Pulumi engine on the real nodes: `pulumi up` of the program's own index.ts (the
// Automation API's inline language server, stand-in random and tls plugins, everything else real, as in
// tests/e2e/program.spec.ts) against the control plane of the three real kubelet nodes. The kubernetes
// provider awaits each StatefulSet and the reconcile Jobs; here they complete only because the servers in
// the pods answer their probes and the Jobs' scripts reach them, so `up` returning is itself the proof.
// Then: no perpetual diff against the live objects, and an ordinary change (redis.maxmemoryPolicy) applied by
// `up` reaches the running server. The other pod suites apply renders server-side (same objects: the e2e
// suite checks render = applied); this one is the path users take.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { PreviewOptions, UpOptions } from "@pulumi/pulumi/automation";
import { makeTempDir, removeTempDir } from "../../scripts/lib/servers";
import type { ControlPlane, Obj } from "../helpers/controlplane";
import { automationErrorText, bounded, EngineHome, indexProgram, inlineStack, repoRoot, requireEngine } from "../helpers/engine";
import { realCluster } from "../helpers/nodes";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(600);

const NODES = 3;
const STACK = "dev";
/** The StatefulSets dev declares: namespace/name. */
const SETS = ["db/mariadb", "cache/redis", "messaging/kafka"];

describe("real pods: dev by the real Pulumi engine (`pulumi up` of index.ts) on real kubelets", function () {
    const cluster = realCluster(NODES);
    let cp: ControlPlane | undefined;
    let home: EngineHome | undefined;
    let dir = "";
    const env: Record<string, string> = {};

    /** `pulumi up` or `pulumi preview`; the operation must succeed. Returns what it printed. */
    async function engine(kind: "up" | "preview", opts: UpOptions & PreviewOptions = {}): Promise<string> {
        const s = await inlineStack(home!, { workDir: dir, stackName: STACK, program: indexProgram, env });
        const lines: string[] = [];
        const done = startClock(`${STACK} ${kind}`);
        try {
            if (kind === "up") await bounded(`${STACK} up`, 600_000, (signal) => s.up({ ...opts, onOutput: (o) => lines.push(o), signal }));
            else await bounded(`${STACK} preview`, 300_000, (signal) => s.preview({ ...opts, onOutput: (o) => lines.push(o), signal }));
        } catch (e) {
            const pods = await cp!.kubectl(["get", "pods", "-A", "-o", "wide"]);
            assert.fail(`${STACK} ${kind} failed:\n${lines.join("").slice(-6000)}\n${(automationErrorText(e) || String(e)).slice(-4000)}\n${pods.stdout}`);
        } finally {
            done();
        }
        return lines.join("");
    }

    const live = (ref: string): Promise<Obj | undefined> => {
        const [namespace, name] = ref.split("/");
        return cp!.getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace, name } });
    };

    async function redisConfig(key: string): Promise<string> {
        const r = await cp!.kubectl(["-n", "cache", "exec", "redis-0", "-c", "redis", "--", "sh", "-c", `REDISCLI_AUTH="$(cat /etc/redis/credentials/password)" redis-cli --raw CONFIG GET ${key}`]);
        assert.equal(r.code, 0, `redis-cli CONFIG GET in redis-0: ${r.stdout}${r.stderr}`);
        return r.stdout.trim().split("\n")[1] ?? "";
    }

    before(async function () {
        const cache = requireEngine(this, ["pulumi", "kubernetes"]);
        cp = cluster.cp;
        env.KUBECONFIG = cp.kubeconfig;
        home = await EngineHome.create(cache, "pods");
        // The project's files in a directory of their own (stack init writes its encryption salt there).
        dir = makeTempDir("pods-engine");
        for (const f of ["Pulumi.yaml", `Pulumi.${STACK}.yaml`]) fs.copyFileSync(path.join(repoRoot, f), path.join(dir, f));
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
        fs.symlinkSync(path.join(repoRoot, "index.ts"), path.join(dir, "index.ts"));
        await home.ok(["stack", "init", STACK], { cwd: dir });
    });

    after(function () {
        // The namespaces go with realCluster's cleanup; the state goes with the home.
        home?.dispose();
        if (dir) removeTempDir(dir);
    });

    it("up returns once every StatefulSet is Ready and every reconcile Job complete, because the servers answer", async function () {
        const t0 = Date.now();
        await engine("up");
        const seconds = (Date.now() - t0) / 1000;
        const lines: string[] = [];
        for (const ref of SETS) {
            const sts = await live(ref);
            assert.ok(sts, `StatefulSet ${ref} exists after up`);
            assert.equal(sts.status?.readyReplicas, sts.spec.replicas, `${ref} was not Ready when up returned`);
            const [namespace, name] = ref.split("/");
            for (let i = 0; i < sts.spec.replicas; i++) {
                const pod = await cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace, name: `${name}-${i}` } });
                const statuses: Obj[] = pod?.status?.containerStatuses ?? [];
                assert.ok(statuses.length > 0 && statuses.every((s) => s.ready && s.state?.running), `${namespace}/${name}-${i}: ${JSON.stringify(statuses.map((s) => s.state))}`);
                lines.push(`${namespace}/${name}-${i} on ${pod!.spec.nodeName} (restarts ${statuses.map((s) => s.restartCount).join("/")})`);
            }
        }
        const jobs = (await cp!.list("batch/v1", "Job")).filter((j: Obj) => ["db", "cache", "messaging"].includes(j.metadata.namespace));
        assert.ok(jobs.length >= 3, `a reconcile Job per service: ${jobs.map((j: Obj) => j.metadata.name).join(", ")}`);
        for (const j of jobs) assert.equal(j.status?.succeeded, 1, `Job ${j.metadata.namespace}/${j.metadata.name} had not completed when up returned`);
        console.log(`      up: ${seconds.toFixed(1)} s; ${lines.join(", ")}; Jobs complete: ${jobs.map((j: Obj) => j.metadata.name).join(", ")}`);
    });

    it("a preview --expect-no-changes right after passes against the live objects (no perpetual diff)", async function () {
        await engine("preview", { expectNoChanges: true, diff: true });
    });

    it("an ordinary change (redis.maxmemoryPolicy) rolls Redis, and up returns only when the new pod is Ready", async function () {
        const podBefore = await cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace: "cache", name: "redis-0" } });
        const before = await redisConfig("maxmemory-policy");
        const next = before === "allkeys-lru" ? "volatile-lru" : "allkeys-lru";
        await home!.ok(["config", "set", "--path", "msa-infra:redis.maxmemoryPolicy", next, "--stack", STACK], { cwd: dir });
        const t0 = Date.now();
        await engine("up");
        const seconds = (Date.now() - t0) / 1000;
        // Read at once: what up's return promised. (The provider's own await returned 9 s into this roll.)
        const sts = await live("cache/redis");
        const podAfter = await cp!.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace: "cache", name: "redis-0" } });
        assert.notEqual(podAfter?.metadata.uid, podBefore?.metadata.uid, "the change rolls redis-0 (else this proves no await)");
        assert.equal(sts?.status?.readyReplicas, sts?.spec.replicas, "Redis Ready when up returned");
        assert.equal(sts?.status?.currentRevision, sts?.status?.updateRevision, "the roll complete when up returned");
        assert.equal(await redisConfig("maxmemory-policy"), next, `maxmemory-policy in the running server (was ${before})`);
        console.log(`      up ${seconds.toFixed(1)} s: redis-0 replaced and Ready, maxmemory-policy ${before} -> ${next} in the running server`);
    });
});
