// End-to-end: the dev and prod stacks, rendered with their secrets, on a real Kubernetes control plane
// (scripts/controlplane.sh: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK as the
// kubelet). What the server decides is real: server-side apply and validation, Pod Security admission of
// the pods the StatefulSet controller creates, scheduling, claim binding, EndpointSlices, rollouts and the
// refusal of immutable StatefulSet fields. No container runs (KWOK marks pods Ready), and nothing connects
// to a pod IP. One control plane serves the whole file; the stacks' namespaces are removed between stacks.
// Skips locally when the binaries are not built (`bash scripts/controlplane.sh build`); fails in CI.

import * as assert from "assert";
import { immutableChanges, statefulSetRecordFromManifest } from "../../components/workload/immutable";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import * as YAML from "yaml";
import { ROOT, renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { ControlPlane, describeOutcome, readyAddresses, requireControlPlane, type ApplyOutcome, type Obj } from "../helpers/controlplane";
import { applyImmutableChange, FORBIDDEN_STATEFULSET_UPDATE, IMMUTABLE_STATEFULSET_CASES } from "../helpers/immutableStatefulSet";
import { registerRealServerSummary, startClock } from "../helpers/servers";
import { requireTool } from "../helpers/ops";
import { describeRun } from "../../scripts/lib/servers";

registerRealServerSummary(600);

const FIELD_MANAGER = "msa-infra";

/** The stack file's config, keys without the project prefix (what RenderOptions.config takes). */
function stackConfig(stack: string): Record<string, Obj> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    return Object.fromEntries(Object.entries((doc.config ?? {}) as Record<string, unknown>).map(([k, v]) => [k.replace(/^msa-infra:/, ""), v]));
}

/**
 * Renders a stack with its secrets. The seed is random per test run (never stored or printed), so the
 * passwords are as unguessable as OS randomness, yet the base and the updated render agree on every
 * password the way Pulumi's state would keep them.
 */
async function render(stack: string, seed: string, config?: Record<string, unknown>): Promise<Manifest[]> {
    return (await renderStack(stack, { withSecrets: true, seed, config })).objects;
}

const key = (m: Pick<Manifest, "kind" | "metadata">) => `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`;
const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
const selectorOf = (labels: Record<string, string>) =>
    Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");

/** Empty lists and maps we wrote that the server stores as absent (Go's omitempty): the same object, noted once. */
const droppedEmpty = new Set<string>();

/**
 * Paths where `wrote` is not contained in `live` (the server may add defaults, never drop or change what we
 * wrote). An empty list or map that the server leaves out is equivalent and only recorded in droppedEmpty.
 */
function notContained(wrote: unknown, live: unknown, at = ""): string[] {
    if (live === undefined && wrote !== null && typeof wrote === "object" && Object.keys(wrote).length === 0) {
        droppedEmpty.add(at.replace(/\[\d+\]/g, "[]"));
        return [];
    }
    if (Array.isArray(wrote)) {
        if (!Array.isArray(live) || live.length !== wrote.length) {
            return [`${at}: wrote ${JSON.stringify(wrote)}, server has ${JSON.stringify(live)}`];
        }
        return wrote.flatMap((w, i) => notContained(w, live[i], `${at}[${i}]`));
    }
    if (wrote !== null && typeof wrote === "object") {
        if (live === null || typeof live !== "object") {
            return [`${at}: wrote ${JSON.stringify(wrote)}, server has ${JSON.stringify(live)}`];
        }
        return Object.entries(wrote).flatMap(([k, w]) => notContained(w, (live as Record<string, unknown>)[k], `${at}.${k}`));
    }
    return isDeepStrictEqual(wrote, live) ? [] : [`${at}: wrote ${JSON.stringify(wrote)}, server has ${JSON.stringify(live)}`];
}

/** Paths the server added to what we wrote (defaults), for the log. */
function addedByServer(wrote: unknown, live: unknown, at = ""): string[] {
    if (live !== null && typeof live === "object" && !Array.isArray(live)) {
        const w = (wrote ?? {}) as Record<string, unknown>;
        return Object.entries(live as Record<string, unknown>).flatMap(([k, v]) =>
            k in w ? addedByServer(w[k], v, `${at}.${k}`) : [`${at}.${k}=${JSON.stringify(v)}`],
        );
    }
    if (Array.isArray(live) && Array.isArray(wrote)) {
        return live.flatMap((v, i) => addedByServer(wrote[i], v, `${at}[${i}]`));
    }
    return [];
}

/**
 * A copy of a StatefulSet weakened for the admission test: its own name and instance label (so it joins no
 * Service or PDB of the stack) and an emptyDir instead of claim templates (so it leaves no claim behind).
 */
function weakenedCopy(sts: Manifest, suffix: string, weaken: (spec: Obj) => void): Manifest {
    const copy = structuredClone(sts) as Obj;
    const name = `${sts.metadata.name}-${suffix}`;
    copy.metadata = { name, namespace: sts.metadata.namespace, labels: { ...(sts.metadata.labels ?? {}), "app.kubernetes.io/instance": name } };
    copy.spec.selector.matchLabels["app.kubernetes.io/instance"] = name;
    copy.spec.template.metadata.labels["app.kubernetes.io/instance"] = name;
    const claims: Obj[] = copy.spec.volumeClaimTemplates ?? [];
    delete copy.spec.volumeClaimTemplates;
    copy.spec.template.spec.volumes = [...(copy.spec.template.spec.volumes ?? []), ...claims.map((c) => ({ name: c.metadata.name, emptyDir: {} }))];
    weaken(copy.spec.template.spec);
    return copy as Manifest;
}

interface Weakening {
    name: string;
    /** The lowest Pod Security level that refuses it. */
    refusedFrom: "baseline" | "restricted";
    weaken(podSpec: Obj): void;
    /** What the admission message must say. */
    expect: RegExp;
}

const WEAKENINGS: Weakening[] = [
    {
        name: "root",
        refusedFrom: "restricted",
        weaken: (p) => {
            delete p.securityContext?.runAsNonRoot;
            for (const c of [...(p.initContainers ?? []), ...p.containers]) {
                delete c.securityContext?.runAsNonRoot;
            }
        },
        expect: /runAsNonRoot != true/,
    },
    {
        // privileged: true with allowPrivilegeEscalation: false would be refused by validation already, so
        // the escalation setting goes too: the refusal below is Pod Security's.
        name: "privileged",
        refusedFrom: "baseline",
        weaken: (p) => {
            const c = p.containers[0];
            c.securityContext = { ...(c.securityContext ?? {}), privileged: true };
            delete c.securityContext.allowPrivilegeEscalation;
        },
        expect: /privileged \(container "[^"]+" must not set securityContext\.privileged=true\)/,
    },
];

const LEVELS = ["privileged", "baseline", "restricted"];

describe("control plane: the rendered stacks on a real Kubernetes API server", function () {
    let cp: ControlPlane | undefined;
    let stopClock: (() => void) | undefined;
    const seed = crypto.randomBytes(24).toString("hex");
    const warnings = new Map<string, string[]>();

    const plane = (): ControlPlane => {
        if (!cp) {
            throw new Error("the control plane did not start");
        }
        return cp;
    };

    before(async function () {
        this.timeout(400_000);
        const bindir = requireControlPlane(this);
        stopClock = startClock("control plane");
        cp = await ControlPlane.start(bindir, { nodes: 3 });
        const version = await cp.get("/version");
        console.log(`      control plane ${version.gitVersion} up in ${cp.startSeconds.toFixed(1)} s (${cp.dir})`);
        // prod declares the Prometheus Operator (monitoring.prometheusOperator): its cluster has the CRDs of
        // the kinds prod renders. The Operator's own CRD files, from the Go module proxy (scripts/go-tools.sh).
        const crds = await requireTool(this, "crds");
        for (const kind of ["podmonitors", "prometheusrules"]) {
            const file = path.join(crds, `monitoring.coreos.com_${kind}.yaml`);
            const applied = await cp.kubectl(["apply", "--server-side", "-f", file]);
            assert.strictEqual(applied.code, 0, describeRun(applied));
            const established = await cp.kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${kind}.monitoring.coreos.com`], { timeoutMs: 70_000 });
            assert.strictEqual(established.code, 0, describeRun(established));
        }
    });

    after(async function () {
        this.timeout(150_000);
        try {
            if (cp) {
                const dir = cp.dir;
                const left = await cp.stop();
                assert.deepStrictEqual(left, [], `processes of the control plane in ${dir} outlived \`down\``);
                assert.ok(!fs.existsSync(dir), `${dir} is still there after \`down\``);
            }
        } finally {
            stopClock?.();
            if (droppedEmpty.size > 0) {
                console.log(`      empty lists/maps in the render that the server stores as absent: ${[...droppedEmpty].sort().join(", ")}`);
            }
            for (const [k, w] of warnings) {
                console.log(`      server warnings (${k}):\n${w.map((x) => `        ${x}`).join("\n")}`);
            }
        }
    });

    for (const stack of ["dev", "prod"]) {
        describe(`${stack} stack`, function () {
            let objects: Manifest[] = [];
            let statefulSets: Manifest[] = [];
            let namespaces: string[] = [];
            let firstApply: ApplyOutcome[] = [];

            before(async function () {
                this.timeout(120_000);
                if (!cp) {
                    this.skip();
                }
                objects = await render(stack, seed, stackConfig(stack));
                statefulSets = ofKind(objects, "StatefulSet");
                namespaces = ofKind(objects, "Namespace").map((n) => n.metadata.name);
                assert.ok(statefulSets.length > 0 && namespaces.length > 0, `the ${stack} render has no StatefulSet or Namespace`);
            });

            after(async function () {
                // The stacks share namespace names: remove this stack's before the next one.
                this.timeout(240_000);
                if (!cp) {
                    return;
                }
                const t0 = Date.now();
                for (const ns of namespaces) {
                    const d = await cp.deleteObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, "Background");
                    assert.ok(d.status === 200 || d.status === 202, `delete namespace ${ns}: HTTP ${d.status} ${JSON.stringify(d.body)}`);
                }
                for (const ns of namespaces) {
                    const nsObj = { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } };
                    try {
                        await cp.waitForGone(nsObj, 180_000);
                    } catch (e) {
                        // What the namespace controller is still waiting for.
                        const conditions = ((await cp.getObject(nsObj))?.status?.conditions ?? []).filter((x: Obj) => x.status === "True");
                        const left = await cp.kubectl(["get", "pods,pvc", "-n", ns, "-o", "wide"]);
                        throw new Error(`${(e as Error).message}\n${JSON.stringify(conditions)}\n${left.stdout}${left.stderr}\n${cp.logTail("kube-controller-manager", 10)}`);
                    }
                }
                console.log(`      ${stack}: namespaces ${namespaces.join(", ")} removed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            });

            it("accepts every object by server-side apply, all fields owned by one field manager", async function () {
                const c = plane();
                firstApply = await c.applyServerSide(objects, FIELD_MANAGER);
                const w = firstApply.flatMap((o) => o.warnings.map((x) => `${key(o.manifest)}: ${x}`));
                if (w.length > 0) {
                    warnings.set(`${stack}, first apply`, w);
                }
                for (const o of firstApply) {
                    assert.ok(o.status === 200 || o.status === 201, describeOutcome(o));
                    const live = await c.getObject(o.manifest);
                    assert.ok(live, `${key(o.manifest)} is not on the server after its apply`);
                    const appliers = [...new Set((live.metadata.managedFields ?? []).filter((f: Obj) => f.operation === "Apply").map((f: Obj) => f.manager))];
                    assert.deepStrictEqual(appliers, [FIELD_MANAGER], `${key(o.manifest)}: appliers ${appliers.join(", ")}`);
                    // What we wrote is what is stored (Secrets aside: stringData is folded into data).
                    if (o.manifest.kind !== "Secret") {
                        const spec = (o.manifest as Obj).spec;
                        if (spec !== undefined) {
                            assert.deepStrictEqual(notContained(spec, live.spec, "spec"), [], `${key(o.manifest)} was stored differently`);
                        }
                    }
                }
                assert.deepStrictEqual(w, [], `the server warned about the ${stack} render:\n${w.join("\n")}`);
            });

            it("admits the StatefulSet controller's pods under the namespaces' Pod Security enforce level; every StatefulSet reaches its ready replicas", async function () {
                const c = plane();
                for (const ns of ofKind(objects, "Namespace")) {
                    const live = await c.getObject(ns);
                    const enforce = ns.metadata.labels?.["pod-security.kubernetes.io/enforce"];
                    assert.ok(enforce && LEVELS.includes(enforce), `Namespace ${ns.metadata.name} sets no Pod Security enforce level`);
                    assert.strictEqual(live.metadata.labels["pod-security.kubernetes.io/enforce"], enforce);
                }
                const nodes = await c.list("v1", "Node");
                for (const sts of statefulSets) {
                    const ns = sts.metadata.namespace as string;
                    const live = await c.waitForStatefulSetReady(ns, sts.metadata.name, 240_000);
                    const spec = sts.spec as Obj;
                    const pods = await c.list("v1", "Pod", ns, selectorOf(spec.selector.matchLabels));
                    assert.strictEqual(pods.length, spec.replicas, `${key(sts)}: ${pods.length} pods for ${spec.replicas} replicas`);
                    for (const p of pods) {
                        assert.strictEqual(p.metadata.ownerReferences?.[0]?.uid, live.metadata.uid, `pod ${p.metadata.name} is not the StatefulSet's`);
                        assert.strictEqual(p.status.phase, "Running", `pod ${p.metadata.name} is ${p.status.phase}`);
                        const ready = (p.status.conditions ?? []).find((x: Obj) => x.type === "Ready");
                        assert.strictEqual(ready?.status, "True", `pod ${p.metadata.name} is not Ready`);
                    }
                    // Each ordinal's claim is bound with the class and size the template asks for.
                    for (let i = 0; i < spec.replicas; i++) {
                        for (const t of spec.volumeClaimTemplates ?? []) {
                            const pvc = await c.getObject({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: ns, name: `${t.metadata.name}-${sts.metadata.name}-${i}` } });
                            assert.ok(pvc, `no claim ${t.metadata.name}-${sts.metadata.name}-${i}`);
                            assert.strictEqual(pvc.status.phase, "Bound");
                            assert.strictEqual(pvc.spec.storageClassName, t.spec.storageClassName);
                            assert.strictEqual(pvc.status.capacity.storage, t.spec.resources.requests.storage);
                        }
                    }
                    // Replicated brokers are meant for separate machines: with enough nodes, each gets its own.
                    if (spec.replicas > 1 && spec.replicas <= nodes.length && spec.template.spec.affinity?.podAntiAffinity) {
                        const on = new Set(pods.map((p) => p.spec.nodeName));
                        assert.strictEqual(on.size, spec.replicas, `${key(sts)}: pods share nodes (${pods.map((p) => `${p.metadata.name}@${p.spec.nodeName}`).join(", ")})`);
                    }
                }
            });

            it("has a weakened variant of a StatefulSet refused by the real Pod Security admission", async function () {
                const c = plane();
                const base = statefulSets.find((s) => s.metadata.name === "redis") ?? statefulSets[0];
                const ns = base.metadata.namespace as string;
                const level = ofKind(objects, "Namespace").find((n) => n.metadata.name === ns)?.metadata.labels?.["pod-security.kubernetes.io/enforce"] ?? "privileged";
                const cases = WEAKENINGS.filter((w) => LEVELS.indexOf(level) >= LEVELS.indexOf(w.refusedFrom));
                assert.ok(cases.length > 0, `namespace ${ns} enforces ${level}: nothing to refuse`);
                for (const w of cases) {
                    const weak = weakenedCopy(base, `weak-${w.name}`, w.weaken);
                    const o = await c.applyOne(weak, "msa-infra-e2e");
                    // The StatefulSet itself is accepted (enforce acts on pods); the warn level flags its template.
                    assert.ok(o.status === 201 || o.status === 200, describeOutcome(o));
                    assert.ok(
                        o.warnings.some((x) => /would violate PodSecurity/.test(x) && w.expect.test(x)),
                        `no Pod Security warning for ${w.name} on apply: ${o.warnings.join(" | ") || "none"}`,
                    );
                    const events = await c.waitForEvent(ns, weak.metadata.name, "FailedCreate");
                    const msg = events.map((e) => e.message as string).join("\n");
                    assert.match(msg, new RegExp(`violates PodSecurity "${level}:latest"`), msg);
                    assert.match(msg, w.expect, msg);
                    const pods = await c.list("v1", "Pod", ns, `app.kubernetes.io/instance=${weak.metadata.name}`);
                    assert.strictEqual(pods.length, 0, `pods of ${weak.metadata.name} were admitted`);
                    const d = await c.deleteObject(weak);
                    assert.ok(d.status === 200 || d.status === 202, `delete ${weak.metadata.name}: HTTP ${d.status}`);
                    await c.waitForGone(weak, 60_000);
                }
            });

            it("gives every Service ready endpoints; PDBs and NetworkPolicies read back as written", async function () {
                const c = plane();
                for (const svc of ofKind(objects, "Service")) {
                    const ns = svc.metadata.namespace as string;
                    const selector = (svc.spec as Obj).selector as Record<string, string>;
                    const pods = await c.list("v1", "Pod", ns, selectorOf(selector));
                    assert.ok(pods.length > 0, `Service ${ns}/${svc.metadata.name} selects no pod`);
                    const slices = await c.waitForEndpoints(ns, svc.metadata.name, pods.length);
                    const podIps = pods.map((p) => p.status.podIP).sort();
                    assert.deepStrictEqual(readyAddresses(slices).sort(), podIps, `endpoints of ${ns}/${svc.metadata.name}`);
                    const portNames = new Set(slices.flatMap((s) => (s.ports ?? []).map((p: Obj) => p.name)));
                    for (const p of (svc.spec as Obj).ports as Obj[]) {
                        assert.ok(portNames.has(p.name ?? ""), `EndpointSlices of ${ns}/${svc.metadata.name} lack port ${p.name}`);
                    }
                }
                for (const pdb of ofKind(objects, "PodDisruptionBudget")) {
                    const live = await c.getObject(pdb);
                    assert.deepStrictEqual(notContained(pdb.spec, live.spec, "spec"), [], key(pdb));
                    const ns = pdb.metadata.namespace as string;
                    const pods = await c.list("v1", "Pod", ns, selectorOf((pdb.spec as Obj).selector.matchLabels));
                    // The disruption controller counts the pods the budget covers: the selector is right.
                    const status = await waitForPdb(c, pdb, pods.length);
                    assert.strictEqual(status.expectedPods, pods.length, `${key(pdb)} covers ${status.expectedPods} pods, not ${pods.length}`);
                }
                for (const np of ofKind(objects, "NetworkPolicy")) {
                    const live = await c.getObject(np);
                    assert.deepStrictEqual(notContained(np.spec, live.spec, "spec"), [], key(np));
                    const added = addedByServer(np.spec, live.spec, "spec");
                    if (added.length > 0) {
                        console.log(`      ${key(np)}: the server defaulted ${added.join(", ")}`);
                    }
                }
            });

            it("changes nothing when the same render is applied again (no resourceVersion moves)", async function () {
                const c = plane();
                assert.ok(firstApply.length === objects.length, "the first apply did not run");
                const before = new Map<string, { rv: string; generation: number | undefined }>();
                for (const m of objects) {
                    const live = await c.getObject(m);
                    before.set(key(m), { rv: live.metadata.resourceVersion, generation: live.metadata.generation });
                }
                const again = await c.applyServerSide(objects, FIELD_MANAGER);
                const w = again.flatMap((o) => o.warnings.map((x) => `${key(o.manifest)}: ${x}`));
                if (w.length > 0) {
                    warnings.set(`${stack}, second apply`, w);
                }
                // The apply's own answer carries the stored version: a no-op apply returns the old one, so a
                // controller writing status meanwhile cannot blur the comparison.
                const moved = again
                    .filter((o) => o.body.metadata.resourceVersion !== before.get(key(o.manifest))?.rv || o.body.metadata.generation !== before.get(key(o.manifest))?.generation)
                    .map((o) => `${key(o.manifest)}: resourceVersion ${before.get(key(o.manifest))?.rv} -> ${o.body.metadata.resourceVersion}`);
                assert.deepStrictEqual(moved, [], `re-applying the same ${stack} render changed objects`);
                for (const o of again) {
                    assert.strictEqual(o.status, 200, describeOutcome(o));
                }
            });

            it("refuses every immutable StatefulSet field change (the oracle of the program's guard)", async function () {
                const c = plane();
                const seen: string[] = [];
                for (const sts of statefulSets) {
                    for (const ic of IMMUTABLE_STATEFULSET_CASES) {
                        const r = await applyImmutableChange(c, sts, ic);
                        assert.strictEqual(r.status, 422, `${key(sts)} ${ic.field}: HTTP ${r.status} ${r.message}`);
                        assert.strictEqual(r.reason, "Invalid", `${key(sts)} ${ic.field}: ${r.reason} ${r.message}`);
                        assert.ok(r.message.includes(FORBIDDEN_STATEFULSET_UPDATE), `${key(sts)} ${ic.field}: ${r.message}`);
                        seen.push(`${sts.metadata.name} ${ic.field}: ${r.message}`);
                        // The program's guard, given the same two objects, stops on the same field (the server
                        // only says "spec"; the guard names the part).
                        const mutated = structuredClone(sts) as Obj;
                        ic.mutate(mutated);
                        const guard = immutableChanges([statefulSetRecordFromManifest(sts)], [statefulSetRecordFromManifest(mutated as Manifest)]);
                        const expected = ic.field.replace("volumeClaimTemplates[0]", "volumeClaimTemplates[data]");
                        assert.ok(
                            guard.some((g) => g.field === expected || g.field.startsWith(`${expected}[`) || g.field.startsWith(`${expected}.`)),
                            `${key(sts)} ${ic.field}: the server refuses it, the guard must too; the guard found ${JSON.stringify(guard.map((g) => g.field))}`,
                        );
                    }
                    // The control: the same machinery with a change the server allows is accepted, so the
                    // refusals above are about the fields and not the helper.
                    const allowed = structuredClone(sts) as Obj;
                    allowed.spec.template.metadata.annotations = { ...(allowed.spec.template.metadata.annotations ?? {}), "msa-infra.test/allowed": "yes" };
                    allowed.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
                    const ok = await c.applyOne(allowed as Manifest, FIELD_MANAGER, { dryRun: true });
                    assert.strictEqual(ok.status, 200, describeOutcome(ok));
                    assert.deepStrictEqual(
                        immutableChanges([statefulSetRecordFromManifest(sts)], [statefulSetRecordFromManifest(allowed as Manifest)]),
                        [],
                        `${key(sts)}: the server accepts the control change, so the guard must let it through`,
                    );
                }
                if (stack === "dev") {
                    console.log(`      the server's refusals (${stack}):\n${[...new Set(seen.map((s) => s.replace(/^\S+ /, "")))].map((s) => `        ${s}`).join("\n")}`);
                }
            });

            it("stops config changes to claim size or class before anything is applied (the program's guard); the server refuses the same objects", async function () {
                const c = plane();
                const cfg = stackConfig(stack);
                const base = await renderStack(stack, { withSecrets: true, seed, config: cfg });
                const previousOutputs = { statefulSets: base.outputs.statefulSets };
                const kafka = { ...(cfg.kafka ?? {}) };
                const size = (base.objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "kafka")!.spec as Obj).volumeClaimTemplates[0].spec.resources.requests.storage as string;
                const changes: [string, Record<string, unknown>, RegExp][] = [
                    ["kafka.storageSize", { ...cfg, kafka: { ...kafka, storageSize: `${parseInt(size, 10) * 2}Gi` } }, /messaging\/kafka: spec\.volumeClaimTemplates\[data\]\.spec\.resources\.requests\.storage: .*from msa-infra:kafka\.storageSize/],
                    ["storageClass", { ...cfg, storageClass: stack === "prod" ? "fast-ssd" : "standard" }, /spec\.volumeClaimTemplates\[data\]\.spec\.storageClassName: .*from msa-infra:storageClass/],
                ];
                for (const [what, config, expected] of changes) {
                    const declared: string[] = [];
                    await assert.rejects(
                        renderStack(stack, { withSecrets: true, seed, config, previousOutputs, onRegister: (r) => declared.push(r.type) }),
                        (e: Error) => expected.test(e.message) && /safe procedure: /.test(e.message),
                        `${what}: the program must stop`,
                    );
                    assert.deepStrictEqual(declared.filter((t) => !/^pulumi:pulumi:(Stack|StackReference)$/.test(t)), [], `${what}: nothing declared before the guard`);
                    // The oracle: the same change rendered without the guard's memory, sent to the real server.
                    const unguarded = await renderStack(stack, { withSecrets: true, seed, config });
                    for (const sts of unguarded.objects.filter((o) => o.kind === "StatefulSet")) {
                        const before = objects.find((o) => key(o) === key(sts))!;
                        const differs = immutableChanges([statefulSetRecordFromManifest(before)], [statefulSetRecordFromManifest(sts)]).length > 0;
                        const r = await c.applyOne(sts, FIELD_MANAGER, { dryRun: true });
                        if (differs) {
                            assert.strictEqual(r.status, 422, `${what} ${key(sts)}: the guard stops it, so the server must refuse it: ${describeOutcome(r)}`);
                            assert.ok(JSON.stringify(r.body).includes(FORBIDDEN_STATEFULSET_UPDATE), `${what} ${key(sts)}: ${describeOutcome(r)}`);
                        } else {
                            assert.strictEqual(r.status, 200, `${what} ${key(sts)}: the guard lets it through, so the server must accept it: ${describeOutcome(r)}`);
                        }
                    }
                }
            });

            it("rolls an ordinary update (image tag, server option, database user) to new revisions without deleting a claim", async function () {
                const c = plane();
                const cfg = stackConfig(stack);
                const mariadb = { ...(cfg.mariadb ?? {}) };
                const redis = { ...(cfg.redis ?? {}) };
                mariadb.image = "mariadb:10.11.10";
                mariadb.databases = [...(mariadb.databases ?? []), { name: "billing", user: "billing" }];
                redis.maxmemoryPolicy = redis.maxmemoryPolicy === "allkeys-lru" ? "volatile-lru" : "allkeys-lru";
                const fresh = await render(stack, seed, { ...cfg, mariadb, redis });
                // TLS keys are generated anew by every render; Pulumi's state keeps them, so the update does too.
                const updated = fresh.map((m) => (m.kind === "Secret" && m.type === "kubernetes.io/tls" ? (objects.find((o) => key(o) === key(m)) ?? m) : m));

                const templateOf = (list: Manifest[], s: Manifest) => (list.find((o) => key(o) === key(s))?.spec as Obj)?.template;
                const changed = statefulSets.filter((s) => !isDeepStrictEqual(templateOf(objects, s), templateOf(updated, s))).map((s) => s.metadata.name);
                assert.deepStrictEqual(changed.sort(), ["mariadb", "redis"], "the update should change the MariaDB and Redis pod templates only");

                const claimsBefore = new Map<string, string>();
                for (const ns of namespaces) {
                    for (const pvc of await c.list("v1", "PersistentVolumeClaim", ns)) {
                        claimsBefore.set(`${ns}/${pvc.metadata.name}`, pvc.metadata.uid);
                    }
                }
                assert.ok(claimsBefore.size > 0, "no claims before the update");
                const revisions = new Map<string, string>();
                for (const s of statefulSets) {
                    revisions.set(s.metadata.name, (await c.getObject(s)).status.updateRevision);
                }

                await c.applyServerSide(updated, FIELD_MANAGER);
                for (const s of statefulSets.filter((x) => changed.includes(x.metadata.name))) {
                    const ns = s.metadata.namespace as string;
                    const live = await c.waitForRollout(ns, s.metadata.name, revisions.get(s.metadata.name) as string, 240_000);
                    const pods = await c.list("v1", "Pod", ns, selectorOf((s.spec as Obj).selector.matchLabels));
                    for (const p of pods) {
                        assert.strictEqual(p.metadata.labels["controller-revision-hash"], live.status.updateRevision, `pod ${p.metadata.name} is not on the new revision`);
                    }
                    const image = (templateOf(updated, s) as Obj).spec.containers[0].image;
                    assert.strictEqual(live.spec.template.spec.containers[0].image, image);
                }
                for (const s of statefulSets.filter((x) => !changed.includes(x.metadata.name))) {
                    const live = await c.getObject(s);
                    assert.strictEqual(live.status.updateRevision, revisions.get(s.metadata.name), `${key(s)} rolled although its template did not change`);
                }
                const added = updated.filter((m) => !objects.some((o) => key(o) === key(m)));
                assert.ok(added.some((m) => m.kind === "Secret" && m.metadata.name === "mariadb-user-billing"), "the added user's Secret is not in the update");
                for (const m of added) {
                    assert.ok(await c.getObject(m), `${key(m)} was not created`);
                }
                for (const [name, uid] of claimsBefore) {
                    const [ns, n] = name.split("/");
                    const pvc = await c.getObject({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: ns, name: n } });
                    assert.ok(pvc, `claim ${name} was deleted by the update`);
                    assert.strictEqual(pvc.metadata.uid, uid, `claim ${name} was replaced by the update`);
                    assert.strictEqual(pvc.status.phase, "Bound", `claim ${name} is ${pvc.status.phase}`);
                }
                objects = updated;
            });

            it("moves a MariaDB or Redis StatefulSet deployed with OrderedReady to Parallel by the guard's procedure: the same pods and claims, adopted", async function () {
                const c = plane();
                const migrated: string[] = [];
                for (const s of statefulSets.filter((x) => (x.spec as Obj).podManagementPolicy === "Parallel" && ["mariadb", "redis"].includes(x.metadata.name))) {
                    const ns = s.metadata.namespace as string;
                    const selector = selectorOf((s.spec as Obj).selector.matchLabels);
                    const podUids = async () => new Map((await c.list("v1", "Pod", ns, selector)).map((p) => [p.metadata.name as string, p.metadata.uid as string]));
                    const claimUids = async () => (await c.list("v1", "PersistentVolumeClaim", ns)).map((p) => `${p.metadata.name}=${p.metadata.uid}`).sort();
                    const pods0 = await podUids();
                    const claims0 = await claimUids();
                    assert.ok(pods0.size > 0, `${key(s)} has no pods`);
                    // Delete without the pods, apply `next`, wait until the new object owns every pod and they are ready.
                    const orphanAndAdopt = async (next: Manifest) => {
                        const d = await c.deleteObject(s, "Orphan");
                        assert.ok(d.status === 200 || d.status === 202, `delete ${key(s)} --cascade=orphan: HTTP ${d.status} ${d.body?.message}`);
                        await c.waitForGone(s, 60_000);
                        const applied = await c.applyOne(next, FIELD_MANAGER);
                        assert.strictEqual(applied.status, 201, describeOutcome(applied));
                        const uid = (await c.getObject(s)).metadata.uid;
                        const deadline = Date.now() + 120_000;
                        for (;;) {
                            const pods = await c.list("v1", "Pod", ns, selector);
                            if (pods.length === pods0.size && pods.every((p) => (p.metadata.ownerReferences ?? []).some((o: Obj) => o.uid === uid && o.controller))) break;
                            assert.ok(Date.now() < deadline, `${key(s)}: pods not adopted after 120 s: ${JSON.stringify(pods.map((p) => [p.metadata.name, p.metadata.ownerReferences]))}`);
                            await new Promise((r) => setTimeout(r, 500));
                        }
                        await c.waitForStatefulSetReady(ns, s.metadata.name, 120_000);
                    };
                    /**
                     * The failure this change is about: pod 0 stuck terminating (a finalizer stands in for a dead
                     * node's pod) and the last pod deleted. Returns whether the controller recreated the last pod
                     * within `waitMs` while pod 0 was still stuck; then lets pod 0 go and waits for the whole set.
                     */
                    const lastPodRecreatedWhilePod0Stuck = async (waitMs: number): Promise<boolean> => {
                        const app = s.metadata.name;
                        const last = `${app}-${pods0.size - 1}`;
                        const k = async (args: string[]) => {
                            const r = await c.kubectl([...args, "-n", ns]);
                            assert.strictEqual(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
                        };
                        await k(["patch", "pod", `${app}-0`, "--type=merge", "-p", JSON.stringify({ metadata: { finalizers: ["msa-infra.test/hold"] } })]);
                        await k(["delete", "pod", `${app}-0`, "--wait=false"]);
                        const lastUid = (await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace: ns, name: last } })).metadata.uid;
                        await k(["delete", "pod", last, "--wait=false"]);
                        let recreated = false;
                        const deadline = Date.now() + waitMs;
                        while (!recreated && Date.now() < deadline) {
                            const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace: ns, name: last } });
                            recreated = !!p && p.metadata.uid !== lastUid && !p.metadata.deletionTimestamp;
                            if (!recreated) await new Promise((r) => setTimeout(r, 500));
                        }
                        const pod0 = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { namespace: ns, name: `${app}-0` } });
                        assert.ok(pod0?.metadata.deletionTimestamp, `${app}-0 should still be terminating`);
                        await k(["patch", "pod", `${app}-0`, "--type=merge", "-p", JSON.stringify({ metadata: { finalizers: null } })]);
                        await c.waitForStatefulSetReady(ns, app, 120_000);
                        return recreated;
                    };
                    // A stack deployed before: the same StatefulSet with OrderedReady, adopting the running pods.
                    const old = structuredClone(objects.find((o) => key(o) === key(s))!) as Obj;
                    old.spec.podManagementPolicy = "OrderedReady";
                    await orphanAndAdopt(old as Manifest);
                    const multi = pods0.size > 1;
                    if (multi) {
                        assert.strictEqual(await lastPodRecreatedWhilePod0Stuck(15_000), false, `${key(s)} with OrderedReady: expected no replacement while pod 0 is stuck`);
                    }
                    const pods1 = await podUids();
                    // What the guard stops, the server refuses: the policy cannot change in place.
                    const inPlace = await c.applyOne(objects.find((o) => key(o) === key(s))!, FIELD_MANAGER, { dryRun: true });
                    assert.strictEqual(inPlace.status, 422, describeOutcome(inPlace));
                    // The guard's procedure: delete without the pods, then the new StatefulSet adopts them.
                    await orphanAndAdopt(objects.find((o) => key(o) === key(s))!);
                    assert.strictEqual((await c.getObject(s)).spec.podManagementPolicy, "Parallel");
                    assert.deepStrictEqual(await podUids(), pods1, `${key(s)}: a pod was recreated by the migration`);
                    assert.deepStrictEqual(await claimUids(), claims0, `${key(s)}: a claim changed`);
                    if (multi) {
                        assert.strictEqual(await lastPodRecreatedWhilePod0Stuck(30_000), true, `${key(s)} with Parallel: the last pod must come back while pod 0 is stuck`);
                    }
                    migrated.push(`${key(s)} (${pods0.size} pods${multi ? "; with pod 0 stuck terminating, the last pod was replaced under Parallel, not under OrderedReady" : ""})`);
                }
                assert.ok(migrated.length === 2, `expected MariaDB and Redis, migrated ${migrated.join(", ")}`);
                console.log(`      OrderedReady → Parallel by orphan-and-adopt, pods and claims unchanged: ${migrated.join(", ")}`);
            });

            it("deletes a StatefulSet the way the provider does (foreground) and keeps its claims", async function () {
                const c = plane();
                for (const s of statefulSets) {
                    const ns = s.metadata.namespace as string;
                    const pvcs = (await c.list("v1", "PersistentVolumeClaim", ns)).map((p) => p.metadata.uid as string);
                    const d = await c.deleteObject(s, "Foreground");
                    assert.ok(d.status === 200 || d.status === 202, `delete ${key(s)}: HTTP ${d.status} ${d.body?.message}`);
                    // Foreground deletion waits for the garbage collector to remove the pods first.
                    await c.waitForGone(s, 120_000);
                    const pods = await c.list("v1", "Pod", ns, selectorOf((s.spec as Obj).selector.matchLabels));
                    assert.strictEqual(pods.length, 0, `${key(s)} left pods behind`);
                    const after = (await c.list("v1", "PersistentVolumeClaim", ns)).map((p) => p.metadata.uid as string);
                    assert.deepStrictEqual(after.sort(), pvcs.sort(), `${key(s)}: claims changed on delete (whenDeleted: Retain)`);
                }
            });
        });
    }
});

/** Waits until the disruption controller has observed a PDB and counted `expected` pods. */
async function waitForPdb(c: ControlPlane, pdb: Manifest, expected: number): Promise<Obj> {
    const deadline = Date.now() + 60_000;
    for (;;) {
        const live = await c.getObject(pdb);
        const s = live.status ?? {};
        if ((s.observedGeneration ?? 0) >= live.metadata.generation && s.expectedPods === expected && s.currentHealthy === expected) {
            return s;
        }
        if (Date.now() > deadline) {
            throw new Error(`${key(pdb)}: status ${JSON.stringify(s)} after 60 s (expected ${expected} pods)`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}
