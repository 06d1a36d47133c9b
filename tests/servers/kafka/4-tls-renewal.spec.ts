// Certificate renewal on the shared prod cluster (issue 19 item 5): a new server certificate from the SAME
// generated CA is written into each pod's TLS Secret volume (what kubelet does when the Secret changes), the
// rendered tls-reload.sh runs as the pod's tls-reloader container runs it, and every TLS listener of the pod
// (CLIENT, INTERNAL and, the CA being unchanged, CONTROLLER) must then serve the new certificate without a
// restart. Three times in a row: the reload rides on a per-broker config record, and a reloader whose record
// reached the brokers only once would serve the first renewal and never the next ones. Measured on 3.8.1:
// the script's record (the same key store path every time) reaches the broker at every renewal, since
// KAFKA-14136 the controller writes a record for every key of a broker resource, changed or not; a script
// that writes no record (the reload rebuilds the key stores only) leaves every listener serving the old
// certificate, which this drill reports.

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { KAFKA_PORTS } from "../../../components/kafka/files";
import { find, podSpec, type Any } from "../../../scripts/lib/manifests";
import { commandLine, configMapData, container, mountedFile, secretData } from "../../../scripts/lib/rendered";
import { run, type RunResult } from "../../../scripts/lib/servers";
import { registerRealServerSummary, startClock } from "../../helpers/servers";
import { ABS_PATH, SYSTEM_PATH, registerKafkaTeardown, type KafkaCluster, type KafkaNode } from "../../helpers/kafka";
import { generatedCa, renewFromSameCa } from "../../helpers/tlsReload";
import { prodCluster } from "./prodCluster";
import { indent } from "./proofs";

registerRealServerSummary(180);
registerKafkaTeardown();

const LISTENERS = [
    { name: "CLIENT", port: KAFKA_PORTS.client },
    { name: "INTERNAL", port: KAFKA_PORTS.internal },
    { name: "CONTROLLER", port: KAFKA_PORTS.controller },
];
/** Renewals in a row: the second is the one an unchanged record would lose; the third returns to the first name. */
const RENEWALS = [1, 2, 3];
/** How long a listener may take to serve the renewed certificate once the reload script has returned. */
const SERVED_WITHIN_MS = 20_000;

/** Replaces files of a Secret volume the way kubelet does (each appears whole), keeping owner and mode. */
function replaceSecretFiles(dir: string, files: Record<string, string>): void {
    for (const [name, content] of Object.entries(files)) {
        const target = path.join(dir, name);
        const st = fs.statSync(target);
        const tmp = path.join(dir, `..${name}.new`);
        fs.writeFileSync(tmp, content);
        fs.chownSync(tmp, st.uid, st.gid);
        fs.chmodSync(tmp, st.mode & 0o7777);
        fs.renameSync(tmp, target);
    }
}

/** The serial of the certificate `node` serves on `port` (TLS with its FQDN as SNI, verified against the CA). */
function servedSerial(node: KafkaNode, port: number, ca: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: node.address, port, servername: node.fqdn, ca, timeout: 5000 });
        s.once("secureConnect", () => {
            const serial = s.getPeerCertificate().serialNumber;
            s.destroy();
            resolve(serial);
        });
        s.once("timeout", () => {
            s.destroy();
            reject(new Error(`TLS to ${node.pod}:${port} timed out`));
        });
        s.once("error", reject);
    });
}

/**
 * Runs the reload command of the rendered tls-reloader container once, as that container would in `node`'s
 * pod: the command its script's reload() runs, its env, its volumes (tls, runtime: the pod's, shared with the
 * broker; config and admin: projected for it; /tmp: its own emptyDir), in the pod's network and a new
 * mount/UTS namespace with hostname = pod name, as the securityContext's user. Paths substituted as the harness
 * does for the broker: /opt/kafka/bin (the distribution, bound read-only at the image dir) and each mount path.
 */
async function runReloader(c: KafkaCluster, node: KafkaNode, label: string): Promise<RunResult & { seconds: number }> {
    const objects = c.rendered.objects;
    const sts = c.rendered.sts;
    const rc = container(sts, "tls-reloader");
    const loop = commandLine(rc).join(" ");
    const reload = /^reload\(\) \{ (.*); \}$/m.exec(loop)?.[1];
    if (!reload) throw new Error("the tls-reloader's script has no reload() { ...; } line");
    const brokerMounts = c.rendered.container.volumeMounts ?? [];
    const root = path.join(node.root, `reloader-${label}`);
    fs.mkdirSync(root, { mode: 0o711 });
    const subs: { from: string; to: string }[] = [{ from: "/opt/kafka/bin", to: path.join(c.imageDir, "bin") }];
    const projected: { dir: string; files: { name: string; content: string; mode: number; configMap: boolean }[] }[] = [];
    let tmpDir = "";
    const fsGroup: number = podSpec(sts).securityContext?.fsGroup;
    for (const m of rc.volumeMounts ?? []) {
        const vol = (podSpec(sts).volumes ?? []).find((v: Any) => v.name === m.name);
        const shared = brokerMounts.some((b) => b.name === m.name && b.mountPath === m.mountPath);
        if (m.mountPath === "/tmp") {
            assert.ok(!shared && vol?.emptyDir, "the reloader's /tmp is its own emptyDir");
            tmpDir = path.join(root, "tmp");
            fs.mkdirSync(tmpDir, { mode: 0o777 });
            fs.chmodSync(tmpDir, 0o777);
            continue;
        }
        if (vol?.configMap || (vol?.secret && !shared)) {
            // Projected for this container (the config's paths rewritten for it, as for the broker's).
            const dir = path.join(root, m.mountPath.replace(/^\//, "").replace(/\//g, "-"));
            const src = vol.configMap ?? vol.secret;
            const keys = vol.configMap ? Object.keys(configMapData(find(objects, "ConfigMap", c.namespace, src.name))) : Object.keys(secretData(find(objects, "Secret", c.namespace, src.secretName)));
            projected.push({
                dir,
                files: keys.map((k) => ({ name: k, content: mountedFile(objects, sts, rc, path.posix.join(m.mountPath, k)).value, mode: src.defaultMode ?? 0o644, configMap: !!vol.configMap })),
            });
            subs.push({ from: m.mountPath, to: dir });
        } else {
            // The pod's volume, the same directory the broker mounts (tls: the Secret kubelet updates; runtime).
            assert.ok(shared, `the reloader's ${m.mountPath} is the broker's volume`);
            subs.push({ from: m.mountPath, to: node.dirOf(m.mountPath) });
        }
    }
    const textual = [...subs].sort((a, b) => b.from.length - a.from.length);
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`(?<![\\w./-])(${textual.map((x) => esc(x.from)).join("|")})(?=/|[^\\w.-]|$)`, "g");
    const rewrite = (t: string) => t.replace(re, (m) => textual.find((x) => x.from === m)!.to);
    for (const p of projected) {
        fs.mkdirSync(p.dir, { recursive: true, mode: 0o755 });
        for (const f of p.files) {
            const file = path.join(p.dir, f.name);
            fs.writeFileSync(file, f.configMap ? rewrite(f.content) : f.content);
            fs.chownSync(file, 0, fsGroup);
            fs.chmodSync(file, f.mode);
        }
    }
    const script = path.join(projected.find((p) => p.files.some((f) => f.name === "tls-reload.sh"))!.dir, "tls-reload.sh");
    for (const p of fs.readFileSync(script, "utf8").match(ABS_PATH) ?? []) {
        assert.ok(p.startsWith(c.runDir + "/") || SYSTEM_PATH.test(p), `tls-reload.sh names ${p}, which the drill does not provide`);
    }
    const env: Record<string, string> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOSTNAME: node.pod, MSA_POD: node.pod };
    for (const e of rc.env ?? []) {
        if (e.value === undefined) throw new Error(`the tls-reloader's env ${e.name} is not a literal`);
        env[e.name] = rewrite(e.value);
    }
    const sc = (rc as Any).securityContext ?? {};
    const psc = podSpec(sts).securityContext ?? {};
    const uid = sc.runAsUser ?? psc.runAsUser;
    const gid = sc.runAsGroup ?? psc.runAsGroup ?? uid;
    const runDir = c.runDir;
    const setup = [
        "set -euo pipefail",
        'hostname "$MSA_POD"',
        "mount --make-rprivate /",
        ...(runDir.startsWith("/tmp/")
            ? [`mkdir -p "${tmpDir}/${path.basename(runDir)}"`, `mount --bind "${runDir}" "${tmpDir}/${path.basename(runDir)}"`, `mount --rbind "${tmpDir}" /tmp`]
            : [`mount --bind "${tmpDir}" /tmp`]),
        `mount --bind "${c.dist.dir}" "${c.imageDir}"`,
        `mount -o remount,bind,ro "${c.imageDir}"`,
        ...(sc.readOnlyRootFilesystem === true ? ["mount -o remount,bind,ro /"] : []),
        `exec setpriv --reuid=${uid} --regid=${gid} --groups=${fsGroup} --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"`,
    ].join("\n");
    const t0 = Date.now();
    const r = await run("ip", ["netns", "exec", node.ns, "unshare", "--uts", "--", "/bin/bash", "-c", setup, "pod-setup", "sh", "-c", rewrite(reload)], { env, cwd: "/", timeoutMs: 120_000 });
    return { ...r, seconds: (Date.now() - t0) / 1000 };
}

describe("Kafka prod: a renewed certificate reaches every TLS listener, renewal after renewal (rendered tls-reload.sh, no restart)", function () {
    this.timeout(600_000);
    let stopClock: () => void = () => undefined;
    after(() => stopClock());

    it("serves the new certificate from the same CA on CLIENT, INTERNAL and CONTROLLER of every broker after each of three renewals in a row", async function () {
        const { cluster: c } = await prodCluster(this);
        stopClock = startClock("kafka tls renewal");
        const ca = generatedCa(c.rendered, c.namespace, "kafka");
        const rows: string[] = [];
        const failures: string[] = [];
        const tlsDirOf = (n: KafkaNode) => n.dirOf("/etc/kafka/tls");
        for (const n of c.nodes) {
            for (const l of LISTENERS) assert.strictEqual(await servedSerial(n, l.port, ca.caCert), new crypto.X509Certificate(fs.readFileSync(path.join(tlsDirOf(n), "tls.crt"), "utf8")).serialNumber, `${n.pod} ${l.name} serves the mounted certificate before any renewal`);
        }
        for (const renewal of RENEWALS) {
            for (const n of c.nodes) {
                const dir = tlsDirOf(n);
                const before = fs.readFileSync(path.join(dir, "tls.crt"), "utf8");
                const caBefore = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
                const next = await renewFromSameCa(before, ca);
                replaceSecretFiles(dir, { "tls.crt": next.cert, "tls.key": next.key });
                assert.strictEqual(fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), caBefore, "ca.crt unchanged (same CA)");
                const r = await runReloader(c, n, `${renewal}`);
                assert.strictEqual(r.code, 0, `${n.pod} renewal ${renewal}: tls-reload.sh failed (${r.code}, ${r.signal}):\n${r.stdout}\n${r.stderr}`);
                const ended = Date.now();
                const said = r.stdout.trim().split("\n").filter((l) => l.startsWith("tls-reloader:")).join(" | ");
                // Each listener polled until it serves the new serial (bounded).
                const served = await Promise.all(
                    LISTENERS.map(async (l) => {
                        let last = "";
                        for (;;) {
                            try {
                                last = await servedSerial(n, l.port, ca.caCert);
                            } catch (e) {
                                last = `error: ${(e as Error).message}`;
                            }
                            const ms = Date.now() - ended;
                            if (last === next.serial) return { l, serial: last, ms, ok: true };
                            if (ms > SERVED_WITHIN_MS) return { l, serial: last, ms, ok: false };
                            await new Promise((res) => setTimeout(res, 200));
                        }
                    }),
                );
                rows.push(
                    `renewal ${renewal}, ${n.pod}: new serial ${next.serial}; tls-reload.sh ${r.seconds.toFixed(1)} s (${said})\n` +
                        served.map((s) => `    ${s.l.name.padEnd(10)} :${s.l.port} ${s.ok ? `serves the new serial ${s.ms} ms after the script returned` : `still serves ${s.serial} ${(SERVED_WITHIN_MS / 1000).toFixed(0)} s after the script returned`}`).join("\n"),
                );
                for (const s of served) if (!s.ok) failures.push(`renewal ${renewal}: ${n.pod} ${s.l.name} (:${s.l.port}) still serves ${s.serial}, not the renewed ${next.serial}`);
            }
        }
        console.log(`      ${RENEWALS.length} renewals from the same CA, each written into the pod's TLS Secret volume then the rendered tls-reload.sh run once as the tls-reloader would:\n${indent(rows.join("\n"))}`);
        assert.deepStrictEqual(failures, [], "every listener of every broker serves the renewed certificate after each renewal");
        // The brokers kept running: no restart was needed.
        for (const n of c.nodes) assert.ok(n.running, `${n.pod} still runs`);
    });
});
