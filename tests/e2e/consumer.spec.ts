// examples/order-service under the real Pulumi engine and the real kubernetes provider, against the test
// control plane: it reads the backbone's outputs through a StackReference on the file backend, creates its
// Namespace, Secret and Deployment (awaited to available, its pods admitted by Pulumi Security `restricted`),
// shows no change on a second preview, and destroys cleanly.
//
// The backbone side is a stand-in, and says so: the backbone's own program needs the pulumi-random and
// pulumi-tls providers, which the Go module proxy refuses (tools/pulumi/versions.env), so it cannot run
// under the engine here. Its dev render (generated passwords filled in) is applied to the control plane by
// server-side apply, and a stack named msa-infra/dev on the same backend exports that render's outputs,
// with the same outputs secret as the program makes them. Everything on the consumer's side is real.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { renderStack, type RenderResult } from "../../scripts/lib/mockRuntime";
import { ControlPlane, requireControlPlane } from "../helpers/controlplane";
import { automationErrorText, bounded, copyProject, EngineHome, inlineStack, repoRoot, requireEngine } from "../helpers/engine";
import { makeTempDir, removeTempDir } from "../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(600);

const EXAMPLE = path.join(repoRoot, "examples", "order-service");
/** The backbone's outputs that index.ts makes secret. */
const SECRET_OUTPUTS = ["mariadbRootPassword", "mariadbUserPasswords", "redisPassword", "redisUserPasswords", "redisSentinelPassword", "kafkaAdminPassword", "kafkaUserPasswords"];

const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

describe("examples/order-service on the real engine and a real API server (backbone outputs from a stand-in stack)", function () {
    let cp: ControlPlane | undefined;
    let home: EngineHome | undefined;
    let backboneDir = "";
    let consumerDir = "";
    let stopClock: (() => void) | undefined;
    let backbone: RenderResult;
    const env: Record<string, string> = {};

    const h = (): EngineHome => {
        assert.ok(home, "engine home not set up");
        return home;
    };
    const consumer = () =>
        inlineStack(h(), {
            workDir: consumerDir,
            stackName: "dev",
            env,
            program: async () => {
                const entry = path.join(consumerDir, "index.ts");
                delete require.cache[require.resolve(entry)];
                return require(entry);
            },
        });

    before(async function () {
        this.timeout(400_000);
        const cache = requireEngine(this, ["pulumi", "kubernetes"]);
        const bindir = requireControlPlane(this);
        stopClock = startClock("consumer");
        cp = await ControlPlane.start(bindir, { nodes: 1 });
        env.KUBECONFIG = cp.kubeconfig;
        home = await EngineHome.create(cache, "consumer");

        backbone = await renderStack("dev", { withSecrets: true });
        await cp.applyServerSide(backbone.objects);

        // The stand-in backbone stack: project msa-infra, stack dev, on this home's file backend.
        backboneDir = makeTempDir("backbone");
        fs.writeFileSync(path.join(backboneDir, "Pulumi.yaml"), "name: msa-infra\nruntime: nodejs\n");
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(backboneDir, "node_modules"), "dir");
        await h().ok(["stack", "init", "dev"], { cwd: backboneDir });
        const outputs = backbone.outputs;
        const standIn = await inlineStack(h(), {
            workDir: backboneDir,
            stackName: "dev",
            program: async () => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, SECRET_OUTPUTS.includes(k) ? pulumi.secret(v) : v])),
        });
        const up = await bounded("stand-in up", 240_000, (signal) => standIn.up({ signal }));
        assert.equal(up.summary.result, "succeeded");

        consumerDir = copyProject(EXAMPLE, "order-service");
        fs.rmSync(path.join(consumerDir, "tests"), { recursive: true, force: true });
        await h().ok(["stack", "init", "dev"], { cwd: consumerDir });
    });

    after(async function () {
        this.timeout(300_000);
        try {
            if (home && consumerDir) {
                await h().run(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: consumerDir, env, timeoutMs: 240_000 });
            }
            if (home && backboneDir) {
                await h().run(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: backboneDir, timeoutMs: 120_000 });
            }
        } finally {
            home?.dispose();
            removeTempDir(backboneDir);
            removeTempDir(consumerDir);
            if (cp) {
                const left = await cp.stop();
                assert.deepEqual(left, [], "control plane processes outlived `down`");
            }
            stopClock?.();
        }
    });

    it("the stand-in backbone stack keeps every password output secret", async function () {
        const shown = await h().json<Record<string, unknown>>(["stack", "output", "--stack", "dev"], { cwd: backboneDir });
        for (const k of SECRET_OUTPUTS) assert.equal(shown[k], "[secret]", `${k} is not secret`);
        assert.equal((shown.mariadbConnection as { host: string }).host, "mariadb.db.svc.cluster.local");
    });

    it("up: reads the outputs through the StackReference, its pods pass Pod Security restricted, the Deployment becomes available", async function () {
        const lines: string[] = [];
        let failure = "";
        try {
            const up = await bounded("consumer up", 300_000, async (signal) => (await consumer()).up({ onOutput: (o) => lines.push(o), signal }));
            assert.equal(up.summary.result, "succeeded");
        } catch (e) {
            failure = automationErrorText(e);
        }
        assert.equal(failure, "", `${lines.join("")}\n${failure}`);
        const c = cp!;
        const d = await c.getObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: "order-service", name: "order-service" } });
        assert.equal(d.status.availableReplicas, 1, JSON.stringify(d.status));
        const pods = await c.list("v1", "Pod", "order-service");
        assert.equal(pods.length, 1, "the restricted namespace admitted the service's pod");
    });

    it("the Secret in the cluster holds exactly the passwords of the backbone's Secrets in the cluster", async function () {
        const c = cp!;
        const get = async (ns: string, name: string) => (await c.getObject({ apiVersion: "v1", kind: "Secret", metadata: { namespace: ns, name } })).data as Record<string, string>;
        const mine = await get("order-service", "order-service-backbone");
        assert.equal(b64(mine.SPRING_DATASOURCE_PASSWORD), b64((await get("db", "mariadb-user-orders")).password));
        assert.equal(b64(mine.SPRING_DATA_REDIS_PASSWORD), b64((await get("cache", "redis-user-sessions")).password));
        assert.ok(b64(mine.SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG).includes(`password="${b64((await get("messaging", "kafka-user-orders")).password)}"`));
        assert.equal(b64(mine.SPRING_DATASOURCE_URL), "jdbc:mariadb://mariadb.db.svc.cluster.local:3306/orders");
    });

    it("keeps the passwords out of the consumer's state in plain text", async function () {
        const exported = (await h().ok(["stack", "export", "--stack", "dev"], { cwd: consumerDir })).stdout;
        const passwords = Object.values((backbone.outputs.mariadbUserPasswords ?? {}) as Record<string, string>);
        assert.ok(passwords.length > 0);
        for (const p of passwords) assert.ok(!exported.includes(p), "a backbone password is in the consumer's state in plain text");
        assert.match(exported, /"ciphertext"/);
    });

    it("a second preview --expect-no-changes passes (no perpetual diff)", async function () {
        const lines: string[] = [];
        await bounded("consumer preview", 240_000, async (signal) => (await consumer()).preview({ expectNoChanges: true, onOutput: (o) => lines.push(o), signal }));
    });

    it("destroy removes the service's namespace and leaves the backbone's alone", async function () {
        await h().ok(["destroy", "--yes", "--skip-preview", "--stack", "dev"], { cwd: consumerDir, env, timeoutMs: 240_000 });
        const c = cp!;
        await c.waitForGone({ apiVersion: "v1", kind: "Namespace", metadata: { name: "order-service" } }, 180_000);
        assert.ok(await c.getObject({ apiVersion: "v1", kind: "Secret", metadata: { namespace: "db", name: "mariadb-user-orders" } }));
    });
});
