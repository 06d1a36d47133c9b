// Two certificate renewals in a row on prod's real pods. For each service a new key and certificate from the
// SAME generated CA (what `pulumi up` issues in a certificate's last 30 days: tests/helpers/tlsReload.ts)
// replace tls.crt and tls.key in its Secret; kubelet refreshes the mounted files, each pod's tls-reloader
// reloads MariaDB, Redis and Kafka's three listeners in place, and Redis's start script restarts Sentinel,
// pod after pod (Sentinel cannot reload: docs/operations/known-limits.md). Every TLS listener of every pod
// must then serve the new certificate: its serial is read through `kubectl port-forward` (the pod's own
// loopback, so NetworkPolicies do not stand in the way) with openssl s_client, `-starttls mysql` for MariaDB.
// No container may restart. The second renewal is the one a reloader that works once would miss.

import * as assert from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { KAFKA_PORTS } from "../../components/kafka/files";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { secretData } from "../../scripts/lib/rendered";
import { run, waitFor } from "../../scripts/lib/servers";
import { ControlPlane, describeOutcome, type Obj } from "../helpers/controlplane";
import { realCluster } from "../helpers/nodes";
import { prodOnNodes, type ProdDeployment } from "../helpers/prodStack";
import { registerRealServerSummary, startClock } from "../helpers/servers";
import { generatedCa, renewFromSameCa } from "../helpers/tlsReload";

registerRealServerSummary(300);

const NODES = 3;
const RENEWALS = 2;
/**
 * How long after the Secret's update every listener may take: kubelet refreshes a Secret volume at its pod's
 * next sync (about a minute), the reloaders look every 30 s, and Sentinel restarts 10 s apart per pod.
 */
const SERVED_WITHIN_MS = 240_000;

interface Listener {
    name: string;
    port: number;
    /** openssl s_client -starttls protocol, for a server that starts TLS inside its own protocol. */
    starttls?: string;
}

const SERVICES: { namespace: string; app: string; listeners: Listener[] }[] = [
    { namespace: "db", app: "mariadb", listeners: [{ name: "mysql", port: 3306, starttls: "mysql" }] },
    {
        namespace: "cache",
        app: "redis",
        listeners: [
            { name: "redis", port: 6379 },
            { name: "sentinel", port: 26379 },
        ],
    },
    {
        namespace: "messaging",
        app: "kafka",
        listeners: [
            { name: "CLIENT", port: KAFKA_PORTS.client },
            { name: "INTERNAL", port: KAFKA_PORTS.internal },
            { name: "CONTROLLER", port: KAFKA_PORTS.controller },
        ],
    },
];

/** Local ports forwarded to `ports` of a pod by one `kubectl port-forward`, until `close()`. */
async function portForward(cp: ControlPlane, namespace: string, pod: string, ports: number[]): Promise<{ local: Map<number, number>; close: () => void }> {
    const child = spawn(path.join(cp.bindir, "kubectl"), ["--kubeconfig", cp.kubeconfig, "-n", namespace, "port-forward", "--address", "127.0.0.1", `pod/${pod}`, ...ports.map((p) => `:${p}`)], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    const local = new Map<number, number>();
    let out = "";
    const close = () => child.kill("SIGTERM");
    try {
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`port-forward to ${namespace}/${pod} gave no ports in 20 s: ${out}`)), 20_000);
            const onData = (b: Buffer) => {
                out += b.toString();
                for (const m of out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)) local.set(Number(m[2]), Number(m[1]));
                if (ports.every((p) => local.has(p))) {
                    clearTimeout(timer);
                    resolve();
                }
            };
            child.stdout.on("data", onData);
            child.stderr.on("data", onData);
            child.once("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`port-forward to ${namespace}/${pod} exited (${code}): ${out}`));
            });
        });
    } catch (e) {
        close();
        throw e;
    }
    return { local, close };
}

/** The serial of the certificate served on 127.0.0.1:`port`, or the reason there is none. */
async function servedSerial(port: number, starttls?: string): Promise<string> {
    const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...(starttls ? ["-starttls", starttls] : [])], { timeoutMs: 15_000, input: "" });
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
    if (!pem) return `no certificate (exit ${r.code}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""})`;
    return new crypto.X509Certificate(pem).serialNumber;
}

describe("real pods: two certificate renewals in a row reach every TLS listener of prod's MariaDB, Redis and Kafka", function () {
    const cluster = realCluster(NODES, { keepNamespaces: true });
    let cp: ControlPlane | undefined;
    let prod: ProdDeployment;

    before(async function () {
        cp = cluster.cp;
        prod = await prodOnNodes(cluster, this);
    });

    /** The StatefulSet's pods (not its Jobs'). */
    async function statefulPods(s: (typeof SERVICES)[number]): Promise<Obj[]> {
        return (await cp!.list("v1", "Pod", s.namespace)).filter((p: Obj) => new RegExp(`^${s.app}-\\d+$`).test(p.metadata.name));
    }

    /** Each pod of each service with its serving serials, one port-forward per pod. */
    async function serials(): Promise<Map<string, string>> {
        const out = new Map<string, string>();
        for (const s of SERVICES) {
            const pods = (await statefulPods(s)).filter((p: Obj) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
            for (const p of pods) {
                const pf = await portForward(cp!, s.namespace, p.metadata.name, s.listeners.map((l) => l.port));
                try {
                    for (const l of s.listeners) out.set(`${p.metadata.name}/${l.name}`, await servedSerial(pf.local.get(l.port)!, l.starttls));
                } finally {
                    pf.close();
                }
            }
        }
        return out;
    }

    /** Every container's restart count, by pod/container. */
    async function restarts(): Promise<Map<string, number>> {
        const out = new Map<string, number>();
        for (const s of SERVICES) {
            for (const p of await statefulPods(s)) {
                for (const st of p.status?.containerStatuses ?? []) out.set(`${p.metadata.name}/${st.name}`, st.restartCount);
            }
        }
        return out;
    }

    it(`renewed ${RENEWALS} times, each listener of each pod serves the new certificate, no container restarted`, async function () {
        const c = cp!;
        const restartsBefore = await restarts();
        const before = await serials();
        const secretOf = (s: (typeof SERVICES)[number]) => prod.objects.find((o) => o.kind === "Secret" && o.metadata.namespace === s.namespace && o.metadata.name === `${s.app}-tls`) as Manifest;
        // Before any renewal each listener serves the deployed certificate (else the check proves nothing).
        for (const s of SERVICES) {
            const deployed = new crypto.X509Certificate(secretData(secretOf(s))["tls.crt"]).serialNumber;
            for (const [k, serial] of before) if (k.startsWith(`${s.app}-`)) assert.strictEqual(serial, deployed, `${k} serves the deployed certificate before the renewals`);
        }
        const replicas = (s: (typeof SERVICES)[number]) => (prod.objects.find((o) => o.kind === "StatefulSet" && o.metadata.namespace === s.namespace && o.metadata.name === s.app) as Obj).spec.replicas as number;
        const listeners = SERVICES.reduce((n, s) => n + replicas(s) * s.listeners.length, 0);
        assert.strictEqual(before.size, listeners, `every listener of every pod answered: ${[...before.keys()].join(", ")}`);

        for (let round = 1; round <= RENEWALS; round++) {
            const done = startClock(`renewal ${round}: Secrets updated until every listener serves the new certificate`);
            const expected = new Map<string, string>();
            const renewed: Manifest[] = [];
            for (const s of SERVICES) {
                const current = secretOf(s);
                const data = secretData(current);
                const next = await renewFromSameCa(data["tls.crt"], generatedCa(prod.render, s.namespace, s.app));
                expected.set(s.app, next.serial);
                const b64 = (v: string) => Buffer.from(v).toString("base64");
                renewed.push({ ...current, stringData: undefined, data: { ...Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])), "tls.crt": b64(next.cert), "tls.key": b64(next.key) } } as Manifest);
            }
            const t0 = Date.now();
            const outcomes = await c.applyServerSide(renewed, undefined, { force: true });
            assert.deepStrictEqual(outcomes.filter((o) => o.status >= 300).map(describeOutcome), [], "the server refused a renewed Secret");
            // The deployment's objects stay what is deployed: the drill suites after this one keep these Secrets.
            for (const r of renewed) prod.objects[prod.objects.findIndex((o) => o.kind === "Secret" && o.metadata.namespace === r.metadata.namespace && o.metadata.name === r.metadata.name)] = r;

            const firstServed = new Map<string, number>();
            let last = new Map<string, string>();
            await waitFor(
                `every listener serving renewal ${round}`,
                async () => {
                    last = await serials();
                    for (const [k, serial] of last) if (serial === expected.get(k.replace(/-\d+\/.*$/, "")) && !firstServed.has(k)) firstServed.set(k, (Date.now() - t0) / 1000);
                    return last.size === listeners && [...last].every(([k, serial]) => serial === expected.get(k.replace(/-\d+\/.*$/, ""))) ? true : undefined;
                },
                { timeoutMs: SERVED_WITHIN_MS, intervalMs: 5000 },
            ).catch((e: Error) => {
                const stale = [...last].filter(([k, serial]) => serial !== expected.get(k.replace(/-\d+\/.*$/, ""))).map(([k, serial]) => `${k}: ${serial}`);
                throw new Error(`${e.message}; still old or failing: ${stale.join("; ")}`);
            });
            done();
            const slowest = [...firstServed].sort((a, b) => b[1] - a[1]);
            console.log(
                `      renewal ${round}: all ${firstServed.size} listeners serve the new certificate ${((Date.now() - t0) / 1000).toFixed(0)} s after the Secrets changed; ` +
                    `first seen per listener: ${[...firstServed].map(([k, s]) => `${k} ${s.toFixed(0)} s`).join(", ")} (slowest ${slowest[0][0]})`,
            );
        }
        const restartsAfter = await restarts();
        const restarted = [...restartsAfter].filter(([k, n]) => n !== restartsBefore.get(k)).map(([k, n]) => `${k}: ${restartsBefore.get(k)} -> ${n}`);
        assert.deepStrictEqual(restarted, [], "no container restarted during the renewals");
    });
});
