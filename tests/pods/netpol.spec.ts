// NetworkPolicies enforced by a real implementation: dev's Redis rendered with networkPolicies on (the keys
// prod sets: allowedNamespaces, allowedNamespaceSelector, monitoringNamespace) runs on three real nodes
// (scripts/nodes.sh) with kube-network-policies on every node (NODES_NETWORK_POLICIES=1). Client pods in
// allowed and disallowed namespaces, with and without the backup/reconcile Jobs' labels, each try PING and a
// SET/GET to redis-0's own address (its headless name) and through the Service's ClusterIP. The matrix seen
// is printed and compared pair by pair with the offline evaluator's verdict (tests/helpers/netpol.ts) on the
// same render, so that model is checked against a real implementation. MSA_NETPOL_ENFORCE=0 runs the same
// matrix with enforcement off: it must fail (everyone connects). Skips locally when the nodes cannot start.

import * as assert from "assert";
import { readStackFile, renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, randomToken, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { connectionAllowed, type Pod } from "../helpers/netpol";
import { realCluster } from "../helpers/nodes";
import { registerRealServerSummary, startClock } from "../helpers/servers";

registerRealServerSummary(300);

const NS = "cache";
const NODES = 3;
const PORT = 6379;
/** Seconds one attempt may take: an allowed connection answers well within it, a dropped SYN never does. */
const ATTEMPT_SECONDS = 4;
const ENFORCE = process.env.MSA_NETPOL_ENFORCE !== "0";
/** A client namespace admitted by label (allowedNamespaceSelector), not by name. */
const CLIENT_NS_LABEL = { "example.com/redis-client": "true" };

/** dev's stack file with the NetworkPolicy keys prod sets (egress stays off: see the docs' test:pods section). */
function stackConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = Object.fromEntries(
        Object.entries(readStackFile(ROOT, "dev")).map(([k, v]) => [k.replace(/^msa-infra:/, ""), v]),
    );
    config.networkPolicies = {
        enabled: true,
        allowedNamespaces: ["order-service"],
        allowedNamespaceSelector: CLIENT_NS_LABEL,
        monitoringNamespace: "monitoring",
    };
    return config;
}

interface Client {
    name: string;
    namespace: string;
    /** Labels of the namespace as applied (the API server sets kubernetes.io/metadata.name itself). */
    namespaceLabels: Record<string, string>;
    labels: Record<string, string>;
    why: string;
    /** On the server's node (the packets cross its bridge only) or on another one (they cross the routes). */
    sameNode: boolean;
}

function namespace(name: string, labels: Record<string, string>): Manifest {
    return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } } as Manifest;
}

/** A client pod that any Pod Security level admits; prints one line per path: `<path> <exit> <reply>`. */
function clientPod(c: Client, image: string, secret: string, serverNode: string): Manifest {
    const key = `session:netpol:${c.namespace}:${c.name}`;
    const value = randomToken(12);
    // Each command is bounded by busybox timeout (a dropped SYN leaves redis-cli retrying for minutes); not
    // one timeout around a sub-shell, whose killed shell would leave redis-cli holding the output pipe open.
    const cli = (host: string, args: string) => `timeout ${ATTEMPT_SECONDS} redis-cli -h ${host} -p ${PORT} --user "$REDIS_USER" --no-auth-warning ${args}`;
    const attempt = (path: string, host: string) =>
        `out=$( { ${cli(host, "PING")} && ${cli(host, `SET ${key} ${value}`)} && ${cli(host, `GET ${key}`)}; } 2>&1); ` +
        `rc=$?; echo "${path} $rc $(echo $out)"; `;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: c.name, namespace: c.namespace, labels: c.labels },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            affinity: {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: c.sameNode ? "In" : "NotIn", values: [serverNode] }] }],
                    },
                },
            },
            securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "client",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    // The pause lets every node's controller learn the new pod's address (from the API server)
                    // before its first packet, as a real client's start-up would.
                    command: ["sh", "-c", `sleep 2; ${attempt("pod", `redis-0.redis-headless.${NS}.svc.cluster.local`)}${attempt("service", `redis.${NS}.svc.cluster.local`)}echo "expect ${value}"`],
                    env: [
                        { name: "REDIS_USER", valueFrom: { secretKeyRef: { name: secret, key: "username" } } },
                        { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: secret, key: "password" } } },
                    ],
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                },
            ],
        },
    } as Manifest;
}

interface Seen {
    client: Client;
    node: string;
    pod: boolean;
    service: boolean;
    expected: boolean;
    lines: string[];
}

describe(`real pods: NetworkPolicies enforced by kube-network-policies (${ENFORCE ? "on" : "OFF: this run must fail"})`, function () {
    const cluster = realCluster(NODES, { networkPolicies: ENFORCE });
    let cp: ControlPlane | undefined;
    let objects: Manifest[] = [];
    let image = "";

    before(async function () {
        cp = cluster.cp;
        objects = (await renderStack("dev", { config: stackConfig() as never, withSecrets: true, seed: randomToken(32) })).objects.filter(
            (o) => o.metadata.namespace === NS || (o.kind === "Namespace" && o.metadata.name === NS),
        );
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Obj;
        assert.ok(sts, "the render has no StatefulSet cache/redis");
        image = sts.spec.template.spec.containers[0].image;
        assert.ok(objects.some((o) => o.kind === "NetworkPolicy"), "networkPolicies.enabled rendered no NetworkPolicy");
    });

    it("each client connects exactly when the offline evaluator says the rendered policies allow it", async function () {
        const c = cp!;
        let done = startClock("Redis with NetworkPolicies applied until Ready");
        const outcomes = await c.applyServerSide(objects);
        assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused part of the render");
        // Ready through exec probes: policies do not judge them (no packet leaves the pod).
        const server: Obj = await waitFor(
            "pod cache/redis-0 Ready",
            async () => {
                const p = await c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "redis-0", namespace: NS } });
                return p?.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") ? p : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 1000 },
        );
        done();
        const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Obj;
        const target: Pod = { namespace: NS, labels: sts.spec.template.metadata.labels };
        // The Jobs' labels, as the render's allow-jobs policy names them (the reconcile Job's pods carry them).
        const allowJobs = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "allow-jobs") as Obj;
        assert.ok(allowJobs, "the render has no allow-jobs policy");
        const jobLabels: Record<string, string> = allowJobs.spec.ingress[0].from[0].podSelector.matchLabels;

        // Two of them (one allowed, one not) next to the server: that path never leaves its node's bridge.
        const clients: Client[] = [
            { name: "orders", namespace: "order-service", namespaceLabels: {}, labels: { app: "orders" }, why: "allowedNamespaces", sameNode: false },
            { name: "shop", namespace: "shop", namespaceLabels: CLIENT_NS_LABEL, labels: { app: "shop" }, why: "allowedNamespaceSelector", sameNode: true },
            { name: "prometheus", namespace: "monitoring", namespaceLabels: {}, labels: { app: "prometheus" }, why: "monitoringNamespace (no exporter)", sameNode: false },
            { name: "guest", namespace: "guest", namespaceLabels: {}, labels: { app: "orders" }, why: "not listed", sameNode: true },
            // A manifest cannot claim another namespace's name: the API server resets this label.
            { name: "impostor", namespace: "impostor", namespaceLabels: { "kubernetes.io/metadata.name": "order-service" }, labels: { app: "orders" }, why: "forged name label", sameNode: false },
            { name: "debug", namespace: NS, namespaceLabels: {}, labels: { app: "debug" }, why: "same namespace, default deny", sameNode: false },
            { name: "job-like", namespace: NS, namespaceLabels: {}, labels: { ...jobLabels }, why: "same namespace, the Jobs' labels", sameNode: false },
        ];
        const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === "redis-user-sessions") as Obj;
        assert.ok(secret, "the render has no Secret redis-user-sessions");
        const manifests: Manifest[] = [];
        for (const ns of [...new Set(clients.filter((x) => x.namespace !== NS).map((x) => x.namespace))]) {
            manifests.push(namespace(ns, clients.find((x) => x.namespace === ns)!.namespaceLabels));
            // The sessions user's credentials, copied as an application's deployment would carry them.
            manifests.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "redis-user-sessions", namespace: ns }, type: "Opaque", data: secret.data, stringData: secret.stringData } as Manifest);
        }
        manifests.push(...clients.map((x) => clientPod(x, image, "redis-user-sessions", server.spec.nodeName)));
        done = startClock("client pods run their attempts");
        const t0 = Date.now();
        const applied = await c.applyServerSide(manifests);
        assert.deepStrictEqual(applied.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused a client");
        const clientPods = () => Promise.all(clients.map((x) => c.getObject({ apiVersion: "v1", kind: "Pod", metadata: { name: x.name, namespace: x.namespace } })));
        let finished: Obj[];
        try {
            finished = await waitFor(
                "every client pod finished",
                async () => {
                    const pods = await clientPods();
                    return pods.every((p) => p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed") ? pods : undefined;
                },
                { timeoutMs: 180_000, intervalMs: 1000 },
            );
        } catch (e) {
            // Where each one is: phase, node, the container's waiting/terminated reason.
            const states = (await clientPods()).map(
                (p, i) => `${clients[i].namespace}/${clients[i].name}: ${p?.status?.phase ?? "absent"} on ${p?.spec?.nodeName ?? "-"} ${JSON.stringify(p?.status?.containerStatuses?.[0]?.state ?? p?.status?.conditions ?? {})}`,
            );
            throw new Error(`${(e as Error).message}\n${states.join("\n")}`);
        }
        const clientSeconds = (Date.now() - t0) / 1000;
        done();

        const seen: Seen[] = [];
        for (const [i, client] of clients.entries()) {
            const logs = await c.kubectl(["-n", client.namespace, "logs", client.name]);
            assert.strictEqual(logs.code, 0, `logs of ${client.namespace}/${client.name}: ${describeRun(logs)}`);
            const lines = logs.stdout.trim().split("\n");
            const value = (lines.find((l) => l.startsWith("expect ")) ?? "").slice("expect ".length);
            // Connected: PING answered PONG, the SET said OK and the GET returned the value, all within the bound.
            const ok = (path: string) => {
                const line = lines.find((l) => l.startsWith(`${path} `)) ?? "";
                return new RegExp(`^${path} 0 PONG OK ${value}\\s*$`).test(line);
            };
            const from: Pod = { namespace: client.namespace, labels: client.labels, namespaceLabels: client.namespaceLabels };
            seen.push({ client, node: finished[i].spec.nodeName, pod: ok("pod"), service: ok("service"), expected: connectionAllowed(objects, from, target, PORT, "TCP"), lines });
        }
        const mark = (b: boolean) => (b ? "connects" : "blocked ");
        console.log(`      Redis redis-0 on ${server.spec.nodeName} (${server.status.podIP}); NetworkPolicies ${ENFORCE ? "enforced by kube-network-policies" : "NOT enforced"}; clients finished in ${clientSeconds.toFixed(1)} s`);
        console.log(`      ${"client".padEnd(26)} ${"node".padEnd(12)} ${"offline".padEnd(9)} ${"pod IP".padEnd(9)} ${"Service".padEnd(9)} why`);
        for (const s of seen) {
            const agree = s.pod === s.expected && s.service === s.expected ? "" : "  <-- differs";
            console.log(
                `      ${`${s.client.namespace}/${s.client.name}`.padEnd(26)} ${s.node.padEnd(12)} ${mark(s.expected).padEnd(9)} ${mark(s.pod).padEnd(9)} ${mark(s.service).padEnd(9)} ${s.client.why}${agree}`,
            );
        }
        for (const s of seen) {
            assert.strictEqual(s.node === server.spec.nodeName, s.client.sameNode, `${s.client.namespace}/${s.client.name} ran on ${s.node}`);
        }
        // The matrix must say something: both verdicts occur.
        assert.ok(seen.some((s) => s.expected) && seen.some((s) => !s.expected), "the matrix needs allowed and denied clients");
        const differ = seen.filter((s) => s.pod !== s.expected || s.service !== s.expected);
        assert.deepStrictEqual(
            differ.map((s) => `${s.client.namespace}/${s.client.name}: offline ${mark(s.expected).trim()}, pod IP ${mark(s.pod).trim()}, Service ${mark(s.service).trim()} [${s.lines.join(" | ")}]`),
            [],
            "real enforcement and the offline evaluator disagree",
        );
        // A blocked attempt is a timeout (the SYN is dropped), not a refusal: redis-cli's output is empty or an error.
        for (const s of seen.filter((x) => !x.expected)) {
            for (const line of s.lines.filter((l) => /^(pod|service) /.test(l))) {
                assert.doesNotMatch(line, /PONG/, `${s.client.namespace}/${s.client.name} got an answer: ${line}`);
            }
        }
    });

    it("the render's ACL reconcile Job reaches Redis through allow-jobs", async function () {
        const c = cp!;
        const job = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("redis-acl-reconcile")) as Obj;
        if (!job) {
            this.skip();
        }
        const finished = await c.waitJobFinished(job, 180_000);
        console.log(`      Job ${job.metadata.name}: ${finished.cond.type} (${finished.j.status.succeeded ?? 0} succeeded, ${finished.j.status.failed ?? 0} failed pods)`);
        assert.strictEqual(finished.cond.type, "Complete", "the ACL Job must reach Redis: allow-jobs admits its pods");
    });
});
