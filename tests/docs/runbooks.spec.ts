// The restore runbooks of docs/operations/backup-restore.md against the program: the pods they apply pass the
// policy pack at prod's mandatory levels (Pod Security "restricted" fields, resources, images) next to the prod
// render, mount claims and Secrets the render creates, run as the service's image user, carry the labels the
// NetworkPolicies let through, and call the restore scripts with options the scripts accept. What the scripts do
// with the files is proven on real servers (tests/servers/{mariadb,redis}/backup.spec.ts); this keeps the steps
// around them from naming things that do not exist (as the README's old `restore-pod.json` did). Also: the
// rotation runbook of rotate-passwords.md holds only steps tests/e2e/program.spec.ts can run.
import * as assert from "assert";
import * as path from "path";
import { evaluate, loadPolicyConfig } from "../../policy/runner";
import { Manifest, renderStack } from "../../scripts/lib/mockRuntime";
import { appliedManifests, commandLines, DOCS_ROOT, pulumiSteps, runbookBlock, runbookNames, scriptOptions } from "../helpers/runbooks";

const PAGE = "docs/operations/backup-restore.md";
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const find = (objects: Manifest[], kind: string, namespace: string, name: string): Any | undefined =>
    (objects as Any[]).find((o) => o.kind === kind && o.metadata?.namespace === namespace && o.metadata?.name === name);

/** Whether a NetworkPolicy podSelector's matchLabels select these labels. */
const selects = (matchLabels: Record<string, string>, labels: Record<string, string>) => Object.entries(matchLabels).every(([k, v]) => labels[k] === v);

interface Expect {
    runbook: string;
    namespace: string;
    /** The StatefulSet whose pod user, image and claims the restore pod must match. */
    app: string;
    script: string;
    /** A client port the pod must be allowed to reach (MariaDB's restore talks to the server), if any. */
    reachesPort?: number;
}

const RUNBOOKS: Expect[] = [
    { runbook: "restore-mariadb", namespace: "db", app: "mariadb", script: "scripts/restore-mariadb.sh", reachesPort: 3306 },
    { runbook: "restore-redis", namespace: "cache", app: "redis", script: "scripts/restore-redis.sh" },
];

describe(`${PAGE}: the restore runbooks fit the program`, function () {
    let prod: Manifest[];
    before(async function () {
        this.timeout(120_000);
        prod = (await renderStack("prod", { seed: "runbooks" })).objects;
    });

    it("tags exactly the restore runbooks this spec checks", function () {
        assert.deepStrictEqual(runbookNames(PAGE).filter((n) => n.startsWith("restore-")).sort(), RUNBOOKS.map((r) => r.runbook).sort());
    });

    for (const e of RUNBOOKS) {
        describe(e.runbook, function () {
            const block = runbookBlock(PAGE, e.runbook);
            const pods = appliedManifests(block) as Any[];

            it("applies one pod, which passes the policy pack at prod's levels beside the prod render", async function () {
                assert.strictEqual(pods.length, 1);
                assert.strictEqual(pods[0].kind, "Pod");
                assert.strictEqual(pods[0].metadata.namespace, e.namespace);
                const config = loadPolicyConfig(path.join(DOCS_ROOT, "Pulumi.prod.policy.json"));
                const violations = (await evaluate([...prod, pods[0]], config)).filter((v) => v.kind === "Pod" || v.name === pods[0].metadata.name);
                assert.deepStrictEqual(violations, [], "the restore pod breaks the prod policies");
            });

            it("runs as the service's image user, with the service's image, mounting claims and Secrets the render creates", function () {
                const pod = pods[0];
                const sts = find(prod, "StatefulSet", e.namespace, e.app)!;
                const stsPod = sts.spec.template.spec;
                for (const k of ["runAsUser", "runAsGroup", "fsGroup"]) {
                    assert.strictEqual(pod.spec.securityContext[k], stsPod.securityContext[k], `securityContext.${k} as the ${e.app} pods`);
                }
                const image = (stsPod.containers as Any[]).find((c) => c.name === e.app)!.image as string;
                assert.strictEqual(pod.spec.containers[0].image.split(":")[0], image.split(":")[0], "the service's image");
                const claimTemplate = sts.spec.volumeClaimTemplates[0].metadata.name;
                for (const v of pod.spec.volumes as Any[]) {
                    if (v.persistentVolumeClaim) {
                        const claim = v.persistentVolumeClaim.claimName as string;
                        const isDataClaim = new RegExp(`^${claimTemplate}-${e.app}-\\d+$`).test(claim);
                        assert.ok(isDataClaim || find(prod, "PersistentVolumeClaim", e.namespace, claim), `claim ${claim} exists in the prod render (or is a data claim of ${e.app})`);
                    }
                    if (v.secret) assert.ok(find(prod, "Secret", e.namespace, v.secret.secretName), `Secret ${v.secret.secretName} exists in the prod render`);
                }
            });

            if (e.reachesPort) {
                it(`carries labels a NetworkPolicy lets reach port ${e.reachesPort}`, function () {
                    const labels = pods[0].metadata.labels as Record<string, string>;
                    const allowed = (prod as Any[]).some(
                        (o) =>
                            o.kind === "NetworkPolicy" &&
                            o.metadata.namespace === e.namespace &&
                            (o.spec.ingress ?? []).some(
                                (rule: Any) =>
                                    (rule.ports ?? []).some((p: Any) => p.port === e.reachesPort) &&
                                    (rule.from ?? []).some((f: Any) => f.podSelector && !f.namespaceSelector && selects(f.podSelector.matchLabels ?? {}, labels)),
                            ),
                    );
                    assert.ok(allowed, `no NetworkPolicy in ${e.namespace} admits a pod labelled ${JSON.stringify(labels)} to port ${e.reachesPort}`);
                });
            }

            it("copies the script that exists and calls it with options it accepts; names objects the render has", function () {
                const lines = commandLines(block);
                const copy = lines.find((l) => / cp scripts\//.test(l));
                assert.ok(copy, "the block copies the restore script into the pod");
                assert.ok(copy!.includes(`cp ${e.script} `), `it copies ${e.script}`);
                const accepted = scriptOptions(e.script);
                const call = lines.find((l) => l.includes(`/tmp/${path.basename(e.script)} `))!;
                assert.ok(call, "the block runs the copied script");
                for (const opt of call.match(/ --[a-z0-9-]+/g) ?? []) assert.ok(accepted.has(opt.trim()), `${e.script} accepts ${opt.trim()}`);
                for (const l of lines) {
                    const sts = / statefulset ([a-z0-9-]+)/.exec(l);
                    if (sts) assert.ok(find(prod, "StatefulSet", e.namespace, sts[1]), `StatefulSet ${sts[1]} exists`);
                    const cron = /cronjob\/([a-z0-9-]+)/.exec(l);
                    if (cron) assert.ok(find(prod, "CronJob", e.namespace, cron[1]), `CronJob ${cron[1]} exists`);
                    const label = /-l ([a-z0-9./-]+)=([a-z0-9-]+)/.exec(l);
                    if (label) {
                        const labels = find(prod, "StatefulSet", e.namespace, e.app)!.spec.template.metadata.labels;
                        assert.strictEqual(labels[label[1]], label[2], `the ${e.app} pods carry ${label[1]}=${label[2]}`);
                    }
                }
            });
        });
    }
});

describe("docs/operations/rotate-passwords.md: the rotation runbook is one tests/e2e/program.spec.ts can run", function () {
    // The engine run is in npm run test:e2e; this fails in npm test already when the block holds a step it cannot run.
    it("lists the urns, unprotects in a protected stack only, replaces the urn", function () {
        const block = runbookBlock("docs/operations/rotate-passwords.md", "rotate-password");
        assert.deepStrictEqual(pulumiSteps(block, { protected: false }), [{ cli: ["stack", "--show-urns"] }, { up: { replace: ["<urn>"] } }]);
        assert.deepStrictEqual(pulumiSteps(block, { protected: true }), [{ cli: ["stack", "--show-urns"] }, { cli: ["state", "unprotect", "<urn>"] }, { up: { replace: ["<urn>"] } }]);
    });

    it("refuses a step it cannot run, by its line", function () {
        assert.throws(() => pulumiSteps("pulumi up --target '<urn>'\n", { protected: false }), /pulumi up --target '<urn>': only --replace <urn> is understood here/);
        assert.throws(() => pulumiSteps("pulumi state delete '<urn>'\n", { protected: false }), /a step this test cannot run: pulumi state delete '<urn>'/);
        assert.throws(() => pulumiSteps("kubectl get pods\n", { protected: false }), /a step this test cannot run: kubectl get pods/);
    });
});
