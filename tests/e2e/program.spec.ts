// The program's own index.ts under the real Pulumi engine, dev and prod, against the test control plane.
//
// Real: the Pulumi CLI and pulumi-resource-kubernetes (built from the Go module proxy), the engine's plans,
// diffs, secrets (passphrase provider, file backend), protect/retainOnDelete, the policy pack run by the
// engine, server-side apply against a real kube-apiserver with its controllers (StatefulSets, Jobs, claims
// bound by the test provisioner), and KWOK marking pods Ready and Job pods Succeeded, so the provider's
// awaits complete as on a cluster.
// Stand-ins: the random and tls provider plugins (tools/pulumi/standins, tests/standins: the Go module proxy
// refuses the real ones) and the Node.js language host (the Automation API's in-process language server runs
// the program, as in engine.smoke.spec.ts). No container runs.
//
// One control plane (3 nodes, the Prometheus Operator's CRDs) serves both stacks, dev first: dev's last
// destroy (with deleteDataOnDestroy) removes its namespaces before prod declares the same ones.

import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, OpType, PreviewOptions, UpOptions } from "@pulumi/pulumi/automation";
import { manifestPath, renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { diffRenders } from "../../scripts/lib/renderDiff";
import { describeRun, makeTempDir, removeTempDir, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, requireControlPlane, type Obj } from "../helpers/controlplane";
import { automationErrorText, bounded, copyProject, EngineHome, indexProgram, inlineStack, repoRoot, requireEngine } from "../helpers/engine";
import { requireTool } from "../helpers/ops";
import { pulumiSteps, runbookBlock } from "../helpers/runbooks";
import {
    appliedObjects,
    asApplied,
    decodeExported,
    differences,
    documentedOutputs,
    generatedValues,
    nameOfUrn,
    notContained,
    objectKey,
    type StateResource,
} from "../helpers/programStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(600);

const EXAMPLE = path.join(repoRoot, "examples", "order-service");
const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

/** What one engine operation printed and did. */
interface OpResult {
    out: string;
    /** The Automation API's error text (with the CLI's output), or "" when the operation succeeded. */
    failure: string;
    /** The operations on each resource, by URN (`same` included; from the engine's events, in order). */
    ops: Map<string, OpType[]>;
    /** The preview's or update's change summary. */
    summary: Record<string, number>;
}

describe("the program (index.ts) under the real Pulumi engine: stand-in random and tls plugins, everything else real", function () {
    let cp: ControlPlane | undefined;
    let home: EngineHome | undefined;
    let dir = "";
    let launcher = "";
    let stopClock: (() => void) | undefined;
    const env: Record<string, string> = {};
    const timings: string[] = [];

    const h = (): EngineHome => {
        assert.ok(home, "engine home not set up");
        return home;
    };
    const plane = (): ControlPlane => {
        assert.ok(cp, "control plane not started");
        return cp;
    };

    /** The program, fresh each run (it reads its stack config when called). */
    const program = indexProgram;

    /** `pulumi up` or `pulumi preview` of a stack through the inline language server; never throws for a failed operation. */
    async function engine(stack: string, kind: "up" | "preview", opts: UpOptions & PreviewOptions = {}, timeoutMs = 400_000): Promise<OpResult> {
        const s = await inlineStack(h(), { workDir: dir, stackName: stack, program, env });
        const lines: string[] = [];
        const ops = new Map<string, OpType[]>();
        const onEvent = (e: EngineEvent) => {
            const m = e.resOutputsEvent?.metadata ?? (kind === "preview" ? e.resourcePreEvent?.metadata : undefined);
            if (m) ops.set(m.urn, [...(ops.get(m.urn) ?? []), m.op]);
        };
        const t0 = Date.now();
        let failure = "";
        let summary: Record<string, number> = {};
        try {
            if (kind === "up") {
                const r = await bounded(`${stack} up`, timeoutMs, (signal) => s.up({ ...opts, onOutput: (o) => lines.push(o), onEvent, signal }));
                summary = (r.summary.resourceChanges ?? {}) as Record<string, number>;
            } else {
                const r = await bounded(`${stack} preview`, timeoutMs, (signal) => s.preview({ ...opts, onOutput: (o) => lines.push(o), onEvent, signal }));
                summary = r.changeSummary as Record<string, number>;
            }
        } catch (e) {
            failure = automationErrorText(e) || String(e);
        }
        timings.push(`${stack} ${kind}${opts.policyPacks ? " +pack" : ""}${opts.replace ? " --replace" : ""} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return { out: lines.join(""), failure, ops, summary };
    }

    /** The URNs an operation changed (anything but `same` and `read`). */
    const changed = (r: OpResult): string[] =>
        [...r.ops]
            .filter(([, ops]) => ops.some((op) => op !== "same" && op !== "read"))
            .map(([urn]) => urn)
            .sort();
    /** The resources an operation replaced, by name. */
    const replaced = (r: OpResult): string[] =>
        [...r.ops]
            .filter(([, ops]) => ops.includes("replace"))
            .map(([urn]) => nameOfUrn(urn))
            .sort();

    /** Like engine(), but the operation must succeed. */
    async function engineOk(stack: string, kind: "up" | "preview", opts: UpOptions & PreviewOptions = {}): Promise<OpResult> {
        const r = await engine(stack, kind, opts);
        assert.equal(r.failure, "", `${stack} ${kind} failed:\n${r.out.slice(-6000)}\n${r.failure.slice(-4000)}`);
        return r;
    }

    /**
     * The rotation runbook of docs/operations/rotate-passwords.md, its lines as written (tests/helpers/runbooks.ts
     * pulumiSteps): `<urn>` is the password's urn as the block's `pulumi stack --show-urns` lists it; the CLI gets
     * `--stack` (and `--yes` for state changes), `up --replace` runs through the engine with the same list.
     */
    async function rotateByRunbook(stack: "dev" | "prod", password: string): Promise<{ urn: string; up: OpResult }> {
        const steps = pulumiSteps(runbookBlock("docs/operations/rotate-passwords.md", "rotate-password"), { protected: stack === "prod" });
        let urn: string | undefined;
        let up: OpResult | undefined;
        const fill = (a: string) => {
            if (a !== "<urn>") return a;
            assert.ok(urn, "the runbook uses <urn> before a step lists it");
            return urn;
        };
        for (const s of steps) {
            if ("cli" in s) {
                const args = s.cli.map(fill);
                const out = (await h().ok([...args, ...(args[0] === "state" ? ["--yes"] : []), "--stack", stack], { cwd: dir })).stdout;
                if (args[1] === "--show-urns") {
                    urn = new RegExp(`urn:pulumi:${stack}::msa-infra::\\S+RandomPassword::${password}(?=\\s|$)`, "m").exec(out)?.[0];
                    assert.ok(urn, `pulumi stack --show-urns does not list ${password}:\n${out}`);
                }
            } else {
                assert.ok(!up, "the runbook runs one up");
                up = await engineOk(stack, "up", { replace: s.up.replace.map(fill) });
            }
        }
        assert.ok(urn && up, "the runbook lists the urns and runs up --replace");
        return { urn, up };
    }

    /** The stack's resources as exported, secrets in plain text (decoded where read). */
    async function state(stack: string): Promise<StateResource[]> {
        const r = await h().ok(["stack", "export", "--show-secrets", "--stack", stack], { cwd: dir });
        return (JSON.parse(r.stdout) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? [];
    }

    async function outputs(stack: string, showSecrets = false): Promise<Record<string, unknown>> {
        return h().json<Record<string, unknown>>(["stack", "output", "--stack", stack, ...(showSecrets ? ["--show-secrets"] : [])], { cwd: dir });
    }

    async function config(stack: string, args: string[]): Promise<void> {
        await h().ok(["config", ...args, "--stack", stack], { cwd: dir });
    }

    /** Runs `fn` with a config value set, then puts the stack file back exactly as it was. */
    async function withConfig<T>(stack: string, key: string, value: string, fn: () => Promise<T>): Promise<T> {
        const file = path.join(dir, `Pulumi.${stack}.yaml`);
        const saved = fs.readFileSync(file, "utf8");
        await config(stack, ["set", "--path", key, value]);
        try {
            return await fn();
        } finally {
            fs.writeFileSync(file, saved);
        }
    }

    /**
     * What a stack holds, by URN: each resource's inputs, outputs and options, without the bookkeeping any run
     * rewrites (timestamps, and the reads of the guard's StackReference, which every run makes).
     */
    async function holdings(stack: string): Promise<Record<string, unknown>> {
        const rs = (await state(stack)).filter((r) => r.type !== "pulumi:pulumi:StackReference");
        return Object.fromEntries(rs.map((r) => [r.urn, { inputs: r.inputs, outputs: r.outputs, protect: r.protect ?? false, retainOnDelete: r.retainOnDelete ?? false }]));
    }

    const stateFile = (stack: string) => path.join(h().stateDir, ".pulumi", "stacks", "msa-infra", `${stack}.json`);

    async function secretValue(ns: string, name: string, key: string): Promise<string | undefined> {
        const s = await plane().getObject({ apiVersion: "v1", kind: "Secret", metadata: { namespace: ns, name } });
        const v = s?.data?.[key] as string | undefined;
        return v === undefined ? undefined : b64(v);
    }

    async function statefulSet(ns: string, name: string): Promise<Obj | undefined> {
        return plane().getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: ns, name } });
    }

    /** The render of the stack's current config with the deployed stack's generated values. */
    async function renderLikeDeployed(stack: string): Promise<Manifest[]> {
        const resources = await state(stack);
        const r = await renderStack(stack, { projectDir: dir, withSecrets: true, generated: generatedValues(resources), previousOutputs: await outputs(stack, true) });
        return r.objects;
    }

    before(async function () {
        this.timeout(600_000);
        const cache = requireEngine(this, ["pulumi", "kubernetes"]);
        const bindir = requireControlPlane(this);
        const crds = await requireTool(this, "crds");
        stopClock = startClock("program under the engine");
        cp = await ControlPlane.start(bindir, { nodes: 3 });
        env.KUBECONFIG = cp.kubeconfig;
        // prod declares the Prometheus Operator: its cluster has the CRDs of the kinds prod renders.
        for (const kind of ["podmonitors", "prometheusrules"]) {
            const applied = await cp.kubectl(["apply", "--server-side", "-f", path.join(crds, `monitoring.coreos.com_${kind}.yaml`)]);
            assert.equal(applied.code, 0, describeRun(applied));
            // Polled: `kubectl wait` fails at once on a CRD whose status has no conditions yet.
            const c = cp;
            await waitFor(
                `CRD ${kind}.monitoring.coreos.com Established`,
                async () =>
                    ((await c.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${kind}.monitoring.coreos.com`)).status?.conditions ?? []).some(
                        (x: Obj) => x.type === "Established" && x.status === "True",
                    ),
                { timeoutMs: 60_000, intervalMs: 250 },
            );
        }
        home = await EngineHome.create(cache, "program");
        // The project's own files in a directory of their own (stack init writes the encryption salt, the
        // tests set config): the program itself is the repository's index.ts.
        dir = makeTempDir("program");
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.dev.policy.json", "Pulumi.prod.policy.json"]) {
            fs.copyFileSync(path.join(repoRoot, f), path.join(dir, f));
        }
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
        // The offline render of this directory's stack files runs the same program.
        fs.symlinkSync(path.join(repoRoot, "index.ts"), path.join(dir, "index.ts"));
        await h().ok(["stack", "init", "dev"], { cwd: dir });
        await h().ok(["stack", "init", "prod"], { cwd: dir });
        launcher = await h().policyLauncher(path.join(repoRoot, "policy"));
    });

    after(async function () {
        this.timeout(200_000);
        try {
            console.log(`      engine operations: ${timings.join(", ")}`);
            home?.dispose();
            removeTempDir(dir);
            if (cp) {
                const left = await cp.stop();
                assert.deepEqual(left, [], "control plane processes outlived `down`");
            }
        } finally {
            stopClock?.();
        }
    });

    // -----------------------------------------------------------------------------------------------
    // Checks shared by dev and prod

    /** stack output: the documented outputs (docs/service-teams/stack-outputs.md) exactly, passwords secret, equal to the cluster's Secrets; no password in the state file. */
    async function checkOutputs(stack: string): Promise<void> {
        const documented = documentedOutputs(repoRoot);
        const shown = await outputs(stack);
        assert.deepEqual(Object.keys(shown).sort(), documented.map((d) => d.name).sort(), "the stack's outputs are not the documented ones (docs/service-teams/stack-outputs.md)");
        for (const d of documented) {
            assert.equal(shown[d.name] === "[secret]", d.secret, `${d.name}: ${d.secret ? "not secret" : "secret"}, unlike docs/service-teams/stack-outputs.md says`);
            const value = shown[d.name];
            if (d.fields.length > 0 && typeof value === "object" && value !== null && !Array.isArray(value)) {
                const undocumented = Object.keys(value).filter((k) => !d.fields.includes(k));
                assert.deepEqual(undocumented, [], `${d.name} has fields docs/service-teams/stack-outputs.md does not name`);
            }
        }
        const o = await outputs(stack, true);
        const passwords: string[] = [];
        const same = async (what: string, value: unknown, ns: string, secret: string, key: string) => {
            assert.equal(typeof value, "string", `${what} is not a string`);
            assert.equal(value, await secretValue(ns, secret, key), `${what} differs from Secret ${ns}/${secret} ${key}`);
            passwords.push(value as string);
        };
        const m = o.mariadbConnection as Obj;
        await same("mariadbRootPassword", o.mariadbRootPassword, m.namespace, m.rootSecret.name, m.rootSecret.key);
        for (const db of m.databases as Obj[]) await same(`mariadbUserPasswords.${db.user}`, (o.mariadbUserPasswords as Obj)[db.user], m.namespace, db.secretName, "password");
        assert.deepEqual(Object.keys(o.mariadbUserPasswords as Obj).sort(), (m.databases as Obj[]).map((d) => d.user).sort());
        const r = o.redisConnection as Obj;
        await same("redisPassword", o.redisPassword, r.namespace, r.passwordSecret.name, r.passwordSecret.key);
        for (const u of r.users as Obj[]) await same(`redisUserPasswords.${u.user}`, (o.redisUserPasswords as Obj)[u.user], r.namespace, u.secretName, "password");
        if (r.sentinel) {
            await same("redisSentinelPassword", o.redisSentinelPassword, r.namespace, r.sentinel.passwordSecret.name, r.sentinel.passwordSecret.key);
        } else {
            assert.equal(o.redisSentinelPassword, "");
        }
        const k = o.kafkaConnection as Obj;
        await same("kafkaAdminPassword", o.kafkaAdminPassword, k.namespace, k.adminSecret.name, k.adminSecret.key);
        for (const u of k.users as Obj[]) await same(`kafkaUserPasswords.${u.user}`, (o.kafkaUserPasswords as Obj)[u.user], k.namespace, u.secretName, "password");
        for (const c of [m, r, k]) {
            if (c.tls.enabled) {
                assert.equal(await secretValue(c.namespace, c.tls.secretName, c.tls.caKey), o.tlsCaCertificate, `${c.namespace}: the CA in ${c.tls.secretName} is not tlsCaCertificate`);
            }
        }
        assert.equal(o.tlsCaCertificate !== "", m.tls.enabled);
        // The state file on the backend: every password and private key encrypted, the passphrase nowhere.
        const file = fs.readFileSync(stateFile(stack), "utf8");
        assert.ok(passwords.length >= 6, `only ${passwords.length} passwords checked`);
        for (const p of passwords) assert.ok(!file.includes(p), "a password is in the state file in plain text");
        const keys = (await state(stack)).filter((x) => x.type === "tls:index/privateKey:PrivateKey").map((x) => (decodeExported(x.outputs) as Obj).privateKeyPem as string);
        for (const key of keys) assert.ok(!file.includes(key.split("\n")[1]), "a private key is in the state file in plain text");
        assert.ok(!file.includes(h().passphrase), "the passphrase is in the state file");
        assert.match(file, /"ciphertext"/);
    }

    /** The render, with the stack's generated values, is what `up` applied: object by object, and on the server. */
    async function checkRenderAgrees(stack: string): Promise<void> {
        const rendered = await renderLikeDeployed(stack);
        const applied = appliedObjects(await state(stack));
        assert.deepEqual(rendered.map(objectKey).sort(), [...applied.keys()].sort(), "the render and the stack hold different objects");
        const differ: string[] = [];
        for (const m of rendered) {
            const a = applied.get(objectKey(m))!.manifest;
            const d = differences(asApplied(m), a);
            if (d.length > 0) differ.push(`${objectKey(m)}:\n  ${d.slice(0, 8).join("\n  ")}`);
            const live = await plane().getObject(m);
            assert.ok(live, `${objectKey(m)} is not on the server`);
            if (m.kind === "Secret") {
                assert.deepEqual(live.data ?? {}, (a as Obj).data ?? {}, `${objectKey(m)}: the server's data is not what was applied`);
            } else {
                const written = Object.fromEntries(Object.entries(m).filter(([key]) => !["apiVersion", "kind", "metadata"].includes(key)));
                const nc = notContained(written, live);
                if (nc.length > 0) differ.push(`${objectKey(m)} on the server:\n  ${nc.slice(0, 8).join("\n  ")}`);
                assert.deepEqual(notContained(m.metadata.labels ?? {}, live.metadata.labels ?? {}), [], `${objectKey(m)}: labels`);
            }
        }
        assert.deepEqual(differ, [], `the render and what up applied differ:\n${differ.join("\n")}`);
    }

    /** Runs `pulumi preview --expect-no-changes`. */
    async function expectNoChanges(stack: string): Promise<void> {
        const r = await engine(stack, "preview", { expectNoChanges: true, diff: true });
        assert.equal(r.failure, "", `a preview right after up wants changes (a perpetual diff):\n${r.out.slice(-8000)}`);
    }

    // -----------------------------------------------------------------------------------------------

    describe("dev", function () {
        let devObjects: Manifest[] = [];
        let consumerDir = "";
        const consumer = () =>
            inlineStack(h(), {
                workDir: consumerDir,
                stackName: "dev",
                env,
                program: async () => {
                    const entry = path.join(consumerDir, "index.ts");
                    delete require.cache[require.resolve(entry)];
                    // eslint-disable-next-line @typescript-eslint/no-require-imports
                    return require(entry);
                },
            });

        after(function () {
            removeTempDir(consumerDir);
        });

        it("preview with the policy pack (advisory) prints the plan and the pack's report", async function () {
            const r = await engineOk("dev", "preview", { policyPacks: [launcher], policyPackConfigs: [path.join(dir, "Pulumi.dev.policy.json")] });
            assert.ok((r.summary.create ?? 0) > 30, `the plan creates ${r.summary.create} resources:\n${r.out}`);
            assert.match(r.out, /\+ +kubernetes:apps\/v1:StatefulSet +mariadb-statefulset +create/);
            const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, "policy", "package.json"), "utf8")) as { version: string }).version;
            assert.match(r.out, new RegExp(`Policies:\\s+\\S+ msa-infra-security@v${version.replace(/\./g, "\\.")} \\(local: `), r.out);
        });

        it("up creates every object; the provider awaits the StatefulSets and the reconcile Job", async function () {
            const r = await engineOk("dev", "up");
            assert.ok((r.summary.create ?? 0) > 30, JSON.stringify(r.summary));
            devObjects = await renderLikeDeployed("dev");
            for (const sts of devObjects.filter((o) => o.kind === "StatefulSet")) {
                const live = await statefulSet(sts.metadata.namespace as string, sts.metadata.name);
                assert.equal(live?.status?.readyReplicas, (sts.spec as Obj).replicas, `${objectKey(sts)} was not ready when up returned`);
            }
            for (const job of devObjects.filter((o) => o.kind === "Job")) {
                const live = await plane().getObject(job);
                assert.equal(live?.status?.succeeded, 1, `${objectKey(job)} had not completed when up returned`);
            }
        });

        it("a preview --expect-no-changes right after passes (no perpetual diff)", async function () {
            await expectNoChanges("dev");
        });

        it("stack output: exactly the documented outputs, passwords secret and equal to the cluster's Secrets, none in the state file", async function () {
            await checkOutputs("dev");
        });

        it("the render (mock runtime) and the objects up applied agree object by object", async function () {
            await checkRenderAgrees("dev");
        });

        it("examples/order-service reads the outputs through a real StackReference to this stack: up, its Secret holds the backbone's passwords", async function () {
            consumerDir = copyProject(EXAMPLE, "order-service");
            fs.rmSync(path.join(consumerDir, "tests"), { recursive: true, force: true });
            await h().ok(["stack", "init", "dev"], { cwd: consumerDir });
            const lines: string[] = [];
            let failure = "";
            try {
                const up = await bounded("consumer up", 300_000, async (signal) => (await consumer()).up({ onOutput: (o) => lines.push(o), signal }));
                assert.equal(up.summary.result, "succeeded");
            } catch (e) {
                failure = automationErrorText(e);
            }
            assert.equal(failure, "", `${lines.join("")}\n${failure}`);
            const c = plane();
            // Its pods pass Pod Security restricted: the Deployment becomes available.
            const d = await c.getObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: "order-service", name: "order-service" } });
            assert.equal(d.status.availableReplicas, 1, JSON.stringify(d.status));
            const mine = (await c.getObject({ apiVersion: "v1", kind: "Secret", metadata: { namespace: "order-service", name: "order-service-backbone" } })).data as Record<string, string>;
            assert.equal(b64(mine.SPRING_DATASOURCE_PASSWORD), await secretValue("db", "mariadb-user-orders", "password"));
            assert.equal(b64(mine.SPRING_DATA_REDIS_PASSWORD), await secretValue("cache", "redis-user-sessions", "password"));
            assert.ok(b64(mine.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG).includes(`password="${await secretValue("messaging", "kafka-user-orders", "password")}"`));
            assert.equal(b64(mine.SPRING_DATASOURCE_URL), "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/orders");
            const exported = (await h().ok(["stack", "export", "--stack", "dev"], { cwd: consumerDir })).stdout;
            for (const p of Object.values((await outputs("dev", true)).mariadbUserPasswords as Record<string, string>)) {
                assert.ok(!exported.includes(p), "a backbone password is in the consumer's state in plain text");
            }
        });

        it("the consumer: a second preview --expect-no-changes passes; destroy removes its namespace and leaves the backbone's alone", async function () {
            await bounded("consumer preview", 240_000, async (signal) => (await consumer()).preview({ expectNoChanges: true, signal }));
            await h().ok(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: consumerDir, env, timeoutMs: 180_000 });
            await plane().waitForGone({ apiVersion: "v1", kind: "Namespace", metadata: { name: "order-service" } }, 180_000);
            assert.ok(await secretValue("db", "mariadb-user-orders", "password"));
        });

        it("an ordinary change (redis.maxmemoryPolicy) changes and rolls exactly what the render diff says", async function () {
            const generated = generatedValues(await state("dev"));
            const previous = await outputs("dev", true);
            const side = async () =>
                new Map((await renderStack("dev", { projectDir: dir, withSecrets: true, generated, previousOutputs: previous })).objects.map((m) => [manifestPath(m), m]));
            const beforeRender = await side();
            await config("dev", ["set", "--path", "msa-infra:redis.maxmemoryPolicy", "allkeys-lru"]);
            const diff = diffRenders({ objects: beforeRender }, { objects: await side() });
            assert.ok(diff.objects.length > 0 && diff.objects.every((o) => o.change === "update"), JSON.stringify(diff.objects.map((o) => [o.file, o.change])));
            const revisions = new Map<string, string>();
            for (const sts of devObjects.filter((o) => o.kind === "StatefulSet")) {
                revisions.set(objectKey(sts), (await statefulSet(sts.metadata.namespace as string, sts.metadata.name))?.status?.updateRevision);
            }
            const r = await engineOk("dev", "up");
            const applied = appliedObjects(await state("dev"));
            const changedByEngine = changed(r);
            const saidByDiff = diff.objects.map((o) => applied.get(`${o.kind} ${o.namespace ?? "-"}/${o.name}`)?.urn ?? `(no URN for ${o.file})`).sort();
            assert.deepEqual(changedByEngine, saidByDiff, "the engine changed other resources than the render diff said");
            for (const urn of changedByEngine) assert.deepEqual(r.ops.get(urn), ["update"], urn);
            for (const sts of devObjects.filter((o) => o.kind === "StatefulSet")) {
                const rolls = diff.objects.some((o) => o.kind === "StatefulSet" && o.name === sts.metadata.name && o.rollsPods);
                const ns = sts.metadata.namespace as string;
                if (rolls) {
                    await plane().waitForRollout(ns, sts.metadata.name, revisions.get(objectKey(sts))!, 120_000);
                } else {
                    assert.equal((await statefulSet(ns, sts.metadata.name))?.status?.updateRevision, revisions.get(objectKey(sts)), `${objectKey(sts)} rolled`);
                }
            }
            assert.ok(diff.objects.some((o) => o.rollsPods), "the change rolls nothing: pick a change that does");
            await checkRenderAgrees("dev");
        });

        it("a password rotation by the documented runbook (docs/operations/rotate-passwords.md) reaches the Secret and runs the reconcile Job again, without rolling the server", async function () {
            const old = await outputs("dev", true);
            const revision = (await statefulSet("db", "mariadb"))?.status?.updateRevision as string;
            const reconcileJobs = async () => (await plane().list("batch/v1", "Job", "db")).map((j: Obj) => j.metadata.name as string).filter((n: string) => n.startsWith("mariadb-reconcile-"));
            const jobsBefore = await reconcileJobs();
            const { urn, up: r } = await rotateByRunbook("dev", "mariadb-user-orders-password");
            assert.ok(r.ops.get(urn)?.includes("replace"), `the password was not replaced: ${r.ops.get(urn)}`);
            const now = await outputs("dev", true);
            const pw = (now.mariadbUserPasswords as Record<string, string>).orders;
            assert.notEqual(pw, (old.mariadbUserPasswords as Record<string, string>).orders);
            assert.match(pw, /^[A-Za-z0-9]{32}$/);
            assert.equal(await secretValue("db", "mariadb-user-orders", "password"), pw);
            // The reconcile Job applies it to the running server (it mounts the Secret, so its name changed); the
            // init SQL no longer holds application users, so the pods keep their revision.
            assert.ok(!(await secretValue("db", "mariadb-init", "init.sql"))?.includes(pw));
            const jobsAfter = await reconcileJobs();
            assert.equal(jobsAfter.length, 1, `one reconcile Job: ${jobsAfter.join(", ")}`);
            assert.notDeepEqual(jobsAfter, jobsBefore, "the rotation did not make a new reconcile Job");
            assert.equal((await statefulSet("db", "mariadb"))?.status?.updateRevision, revision, "the rotation rolled the MariaDB pods");
            // Nothing else was regenerated.
            for (const k of ["mariadbRootPassword", "redisPassword", "kafkaAdminPassword", "kafkaUserPasswords", "redisUserPasswords"]) {
                assert.deepEqual(now[k], old[k], `${k} changed`);
            }
            // The password, and the reconcile Job that applies it (it mounts the Secret: a new Job by name).
            assert.deepEqual(replaced(r), ["mariadb-reconcile", "mariadb-user-orders-password"]);
        });

        it("destroy: the workloads go, the namespaces and claims stay (deleteDataOnDestroy set but not yet applied by an up); a later up re-attaches the claims; then destroy deletes them", async function () {
            this.timeout(900_000);
            const c = plane();
            const claims = async (ns: string) => new Map((await c.list("v1", "PersistentVolumeClaim", ns)).map((p: Obj) => [p.metadata.name as string, p.metadata.uid as string]));
            const kept = { db: await claims("db"), cache: await claims("cache") };
            assert.ok(kept.db.has("data-mariadb-0") && kept.cache.has("data-redis-0"), JSON.stringify([...kept.db.keys(), ...kept.cache.keys()]));
            // Setting deleteDataOnDestroy alone changes nothing: destroy runs no program, it acts on what the last
            // up recorded (the namespaces' retainOnDelete).
            await config("dev", ["set", "msa-infra:deleteDataOnDestroy", "true"]);
            const d = await h().run(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: dir, env, timeoutMs: 300_000 });
            assert.equal(d.code, 0, describeRun(d));
            assert.deepEqual(await state("dev"), []);
            for (const ns of ["db", "cache", "messaging"]) {
                assert.ok(await c.getObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }), `namespace ${ns} was deleted`);
                assert.deepEqual(await c.list("apps/v1", "StatefulSet", ns), [], `StatefulSets left in ${ns}`);
            }
            assert.deepEqual(await claims("db"), kept.db, "MariaDB's claims did not outlive destroy");
            assert.deepEqual(await claims("cache"), kept.cache, "Redis's claims did not outlive destroy");
            // docs/operations/deploy.md: Kafka's claims go before re-creating a destroyed stack (a new cluster id).
            for (const name of (await claims("messaging")).keys()) {
                await c.deleteObject({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: "messaging", name } }, "Background");
            }
            await engineOk("dev", "up");
            assert.deepEqual(await claims("db"), kept.db, "up did not re-attach MariaDB's claims by name");
            assert.deepEqual(await claims("cache"), kept.cache, "up did not re-attach Redis's claims by name");
            const d2 = await h().run(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: dir, env, timeoutMs: 300_000 });
            assert.equal(d2.code, 0, describeRun(d2));
            for (const ns of ["db", "cache", "messaging"]) {
                await c.waitForGone({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, 240_000);
            }
            for (const pv of await c.list("v1", "PersistentVolume")) {
                assert.ok(!["db", "cache", "messaging"].includes(pv.spec.claimRef?.namespace) || pv.status.phase !== "Bound", `${pv.metadata.name} is still bound`);
            }
        });
    });

    describe("prod", function () {
        let objects: Manifest[] = [];

        it("preview with the policy pack (mandatory) prints the plan and the pack's report, no violation", async function () {
            const r = await engineOk("prod", "preview", { policyPacks: [launcher], policyPackConfigs: [path.join(dir, "Pulumi.prod.policy.json")] });
            assert.ok((r.summary.create ?? 0) > 80, JSON.stringify(r.summary));
            assert.match(r.out, /Policies:\s+\S+ msa-infra-security@v\S+ \(local: /, r.out);
            assert.doesNotMatch(r.out, /mandatory/, r.out);
        });

        it("a deliberately weakened variant (no NetworkPolicies) is refused by the pack in preview; an up without a preview applies it first", async function () {
            const pack = { policyPacks: [launcher], policyPackConfigs: [path.join(dir, "Pulumi.prod.policy.json")] };
            const refused = (text: string) => {
                for (const ns of ["db", "cache", "messaging"]) {
                    assert.match(text, new RegExp(`\\[mandatory\\] +namespace-default-deny-ingress[\\s\\S]*namespace "${ns}": runs StatefulSet \\S+ but has no default-deny ingress NetworkPolicy`), text);
                }
            };
            await withConfig("prod", "msa-infra:networkPolicies.enabled", "false", async () => {
                const preview = await engine("prod", "preview", pack);
                assert.notEqual(preview.failure, "", `the pack let the weakened prod through:\n${preview.out}`);
                refused(`${preview.out}\n${preview.failure}`);
                assert.deepEqual(await state("prod"), [], "a preview applied something");
                // `up` as the Automation API (and so pulumi/actions) runs it, --skip-preview: the pack's stack
                // policies judge the stack once its resources are registered, so the update applies first and
                // fails after. This is why the deploy workflow previews with the pack before each up.
                const up = await engine("prod", "up", pack);
                assert.notEqual(up.failure, "", "the weakened up succeeded");
                refused(`${up.out}\n${up.failure}`);
                const applied = (await state("prod")).filter((r) => r.type.startsWith("kubernetes:") && r.custom !== false);
                assert.ok(applied.length > 50, `the failed up applied ${applied.length} objects`);
                assert.ok(await plane().getObject({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: "db", name: "mariadb" } }));
                console.log(`      the weakened prod's up (no preview) applied ${applied.length} objects before the pack failed it`);
            });
        });

        it("up brings prod to its declaration; StatefulSets ready with one pod per node, the reconcile Job awaited", async function () {
            const r = await engineOk("prod", "up");
            assert.ok((r.summary.create ?? 0) >= 20, `the NetworkPolicies missing from the weakened update: ${JSON.stringify(r.summary)}`);
            objects = await renderLikeDeployed("prod");
            const c = plane();
            for (const sts of objects.filter((o) => o.kind === "StatefulSet")) {
                const ns = sts.metadata.namespace as string;
                const live = await statefulSet(ns, sts.metadata.name);
                const replicas = (sts.spec as Obj).replicas as number;
                assert.equal(live?.status?.readyReplicas, replicas, `${objectKey(sts)} was not ready when up returned`);
                const selector = Object.entries((sts.spec as Obj).selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(",");
                const pods = await c.list("v1", "Pod", ns, selector);
                assert.equal(new Set(pods.map((p: Obj) => p.spec.nodeName)).size, replicas, `${objectKey(sts)}: pods share nodes`);
            }
            for (const job of objects.filter((o) => o.kind === "Job")) {
                assert.equal((await c.getObject(job))?.status?.succeeded, 1, `${objectKey(job)} had not completed`);
            }
        });

        it("a preview --expect-no-changes right after passes (no perpetual diff)", async function () {
            await expectNoChanges("prod");
        });

        it("stack output: exactly the documented outputs, passwords secret and equal to the cluster's Secrets, none in the state file", async function () {
            await checkOutputs("prod");
        });

        it("the render (mock runtime) and the objects up applied agree object by object", async function () {
            await checkRenderAgrees("prod");
        });

        /** Rewrites the state (export, change, import) as time passing would leave it: `edit` changes resources in place. */
        async function editState(edit: (resources: StateResource[]) => void): Promise<void> {
            const exported = JSON.parse((await h().ok(["stack", "export", "--stack", "prod"], { cwd: dir })).stdout) as { deployment: { resources: StateResource[] } };
            edit(exported.deployment.resources);
            const file = path.join(h().dir, "prod-state-edit.json");
            fs.writeFileSync(file, JSON.stringify(exported), { mode: 0o600 });
            await h().ok(["stack", "import", "--file", file, "--stack", "prod"], { cwd: dir });
            fs.rmSync(file);
        }
        /** Ten days before the end of its validity: inside a 30-day renewal window. Only the state says so (what the provider reads). */
        const intoRenewalWindow = (name: string) => (resources: StateResource[]) => {
            const r = resources.find((x) => /^tls:index\/(locallySignedCert|selfSignedCert)/.test(x.type) && nameOfUrn(x.urn) === name);
            assert.ok(r?.outputs, `no ${name} in the state`);
            r.outputs.validityEndTime = new Date(Date.now() + 10 * 24 * 3600_000).toISOString();
        };

        it("certificates inside their renewal window are renewed by the next up and reach the servers' Secrets; nothing restarts", async function () {
            const services = [
                { app: "mariadb", ns: "db" },
                { app: "redis", ns: "cache" },
                { app: "kafka", ns: "messaging" },
            ];
            const certs = services.map((x) => `${x.app}-tls-cert`).sort();
            const old = new Map<string, string | undefined>();
            const revisions = new Map<string, string>();
            for (const x of services) {
                old.set(x.app, await secretValue(x.ns, `${x.app}-tls`, "tls.crt"));
                revisions.set(x.app, (await statefulSet(x.ns, x.app))?.status?.updateRevision);
            }
            await editState((resources) => certs.forEach((c) => intoRenewalWindow(c)(resources)));
            const preview = await engineOk("prod", "preview", { diff: true });
            assert.deepEqual(replaced(preview), certs, `the preview does not renew exactly the certificates:\n${preview.out}`);
            assert.match(preview.out, /readyForRenewal/);
            const r = await engineOk("prod", "up");
            assert.deepEqual(replaced(r), certs);
            const ca = new crypto.X509Certificate((await outputs("prod", true)).tlsCaCertificate as string);
            for (const x of services) {
                const renewed = await secretValue(x.ns, `${x.app}-tls`, "tls.crt");
                const before = old.get(x.app);
                assert.ok(before && renewed && renewed !== before, `Secret ${x.ns}/${x.app}-tls still holds the old certificate`);
                const cert = new crypto.X509Certificate(renewed);
                assert.ok(cert.verify(ca.publicKey), `${x.app}: the renewed certificate is not signed by the stack's CA`);
                assert.ok(new Date(cert.validTo).getTime() > Date.now() + 360 * 24 * 3600_000, `${x.app}: renewed until ${cert.validTo}`);
                const host = `${x.app}.${x.ns}.svc.cluster.local`;
                assert.equal(cert.checkHost(host), host);
                assert.notEqual(new crypto.X509Certificate(before).serialNumber, cert.serialNumber);
                // The pods keep running: the tls-reloader picks the new files up (docs/operations/certificates.md).
                assert.equal((await statefulSet(x.ns, x.app))?.status?.updateRevision, revisions.get(x.app), `the renewal rolled ${x.app}`);
            }
            await expectNoChanges("prod");
        });

        it("the protected CA inside its renewal window is not renewed: the engine refuses to replace it, naming it", async function () {
            const original = (await h().ok(["stack", "export", "--stack", "prod"], { cwd: dir })).stdout;
            await editState(intoRenewalWindow("platform-ca-cert"));
            try {
                const r = await engine("prod", "preview");
                assert.match(`${r.out}\n${r.failure}`, /unable to replace resource "urn:pulumi:prod::msa-infra::\S+SelfSignedCert::platform-ca-cert"\s+as it is currently marked for protection/);
            } finally {
                const file = path.join(h().dir, "prod-state-original.json");
                fs.writeFileSync(file, original, { mode: 0o600 });
                await h().ok(["stack", "import", "--file", file, "--stack", "prod"], { cwd: dir });
                fs.rmSync(file);
            }
        });

        it("a password rotation in a protected stack: up --replace alone is refused; after pulumi state unprotect it goes through, protected again", async function () {
            const urn = (await state("prod")).find((r) => r.type === "random:index/randomPassword:RandomPassword" && nameOfUrn(r.urn) === "mariadb-user-orders-password")?.urn;
            assert.ok(urn);
            const old = (await outputs("prod", true)).mariadbUserPasswords as Record<string, string>;
            const refused = await engine("prod", "up", { replace: [urn] });
            assert.match(`${refused.out}\n${refused.failure}`, /unable to replace resource "[^"]+mariadb-user-orders-password"\s+as it is currently marked for protection/);
            assert.deepEqual((await outputs("prod", true)).mariadbUserPasswords, old);
            const revision = (await statefulSet("db", "mariadb"))?.status?.updateRevision as string;
            // The runbook as the page has it: show-urns, state unprotect, up --replace.
            const { urn: listed, up: r } = await rotateByRunbook("prod", "mariadb-user-orders-password");
            assert.equal(listed, urn, "the urn the runbook lists is the password's");
            // The password, and the reconcile Job that applies it (it mounts the Secret: a new Job by name).
            assert.deepEqual(replaced(r), ["mariadb-reconcile", "mariadb-user-orders-password"]);
            const pw = ((await outputs("prod", true)).mariadbUserPasswords as Record<string, string>).orders;
            assert.notEqual(pw, old.orders);
            assert.equal(await secretValue("db", "mariadb-user-orders", "password"), pw);
            assert.equal((await state("prod")).find((x) => x.urn === urn)?.protect, true, "the new password is not protected");
            // Applied live by the reconcile Job: the MariaDB pods keep their revision.
            assert.equal((await statefulSet("db", "mariadb"))?.status?.updateRevision, revision, "the rotation rolled the MariaDB pods");
        });

        it("a change that needs replacement (kafka.storageSize) is stopped by the guard before anything is applied", async function () {
            const beforeState = await holdings("prod");
            const sts = await statefulSet("messaging", "kafka");
            await withConfig("prod", "msa-infra:kafka.storageSize", "100Gi", async () => {
                const r = await engine("prod", "up");
                const text = `${r.out}\n${r.failure}`;
                assert.notEqual(r.failure, "", `up went through:\n${text}`);
                assert.match(text, /StatefulSet fields that the API server does not change in place would change; nothing was applied/, text);
                assert.match(text, /StatefulSet messaging\/kafka: spec\.volumeClaimTemplates\[data\]\.spec\.resources\.requests\.storage: 50Gi → 100Gi \(from msa-infra:kafka\.storageSize\)/, text);
                assert.deepEqual(changed(r), [], "the engine changed resources");
                assert.deepEqual(differences(beforeState, await holdings("prod")), [], "the stack's resources changed");
                assert.equal((await statefulSet("messaging", "kafka"))?.metadata?.resourceVersion, sts?.metadata?.resourceVersion);
            });
        });

        it("destroy refuses the protected resources (StatefulSets, namespaces, claims, credentials, passwords stay) after deleting the unprotected ones; the next up restores them", async function () {
            const beforeDestroy = await state("prod");
            const d = await h().run(["destroy", "--yes", "--skip-preview", "--stack", "prod"], { cwd: dir, env, timeoutMs: 300_000 });
            const text = `${d.stdout}${d.stderr}`;
            assert.notEqual(d.code, 0, `destroy of a protected stack succeeded:\n${text}`);
            assert.match(text, /cannot be deleted\s+because it is protected/, text);
            const left = new Set((await state("prod")).map((r) => r.urn));
            const protectedOnes = beforeDestroy.filter((r) => r.protect);
            assert.ok(protectedOnes.length > 20);
            for (const r of protectedOnes) assert.ok(left.has(r.urn), `${r.urn} was deleted although protected`);
            const c = plane();
            for (const m of objects.filter((o) => ["StatefulSet", "Namespace"].includes(o.kind) || (o.kind === "Secret" && /credentials|user-|admin|jaas/.test(o.metadata.name)))) {
                const r = beforeDestroy.find((x) => x.type.startsWith("kubernetes:") && objectKey(decodeExported(x.inputs) as Manifest) === objectKey(m));
                if (r?.protect) assert.ok(await c.getObject(m), `${objectKey(m)} was deleted`);
            }
            for (const claim of ["data-mariadb-0", "data-mariadb-1"]) {
                assert.ok(await c.getObject({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: "db", name: claim } }), claim);
            }
            // What destroy did delete before it stopped: the unprotected objects (reported, and in docs/operations/deploy.md).
            const deleted = beforeDestroy.filter((r) => !left.has(r.urn) && r.type.startsWith("kubernetes:"));
            const kinds = new Map<string, number>();
            for (const r of deleted) kinds.set(r.type.split(":").pop()!, (kinds.get(r.type.split(":").pop()!) ?? 0) + 1);
            console.log(
                `      prod destroy deleted ${deleted.length} unprotected objects (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}; ` +
                    `Secrets: ${deleted.filter((r) => r.type.endsWith(":Secret")).map((r) => nameOfUrn(r.urn)).join(", ")}) and kept ${left.size} resources`,
            );
            assert.ok(deleted.every((r) => !r.protect));
            // Recovery: the next up declares them again.
            const up = await engineOk("prod", "up");
            assert.equal(up.summary.create, deleted.length, JSON.stringify(up.summary));
            await expectNoChanges("prod");
        });
    });
});
