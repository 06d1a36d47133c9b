// The tls-reloader's script is its container's PID 1, and the kernel delivers a PID 1 no signal it has no
// handler for: a loop without a TERM trap ignored the kubelet's SIGTERM, and every pod deletion and rolling
// update of prod's Redis, MariaDB and Kafka waited the whole grace period (30 s per pod, found by
// tests/pods/redis-prod.spec.ts). Here the rendered script runs as PID 1 of a new PID namespace, under each
// shell the images have (busybox sh: redis:7.2-alpine; dash and bash: the Debian/Ubuntu mariadb image), and
// must exit promptly on SIGTERM.

import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { tlsReloaderScript } from "../../components/workload/tlsReload";

/** A PID and mount namespace of our own (as root, or as a mapped root in a user namespace). */
const UNSHARE = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount"];

function shells(): { name: string; argv: string[] }[] {
    const out: { name: string; argv: string[] }[] = [];
    const has = (p: string) => fs.existsSync(p);
    if (has("/bin/busybox")) out.push({ name: "busybox sh", argv: ["/bin/busybox", "sh"] });
    if (has("/bin/dash")) out.push({ name: "dash", argv: ["/bin/dash"] });
    if (has("/bin/bash")) out.push({ name: "bash", argv: ["/bin/bash"] });
    return out;
}

function childOf(pid: number): number | undefined {
    try {
        const c = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
        return c ? Number(c) : undefined;
    } catch {
        return undefined;
    }
}

describe("tls-reloader: exits on SIGTERM as its container's PID 1", function () {
    let dir = "";

    before(function () {
        const probe = spawnSync("unshare", [...UNSHARE, "true"], { encoding: "utf8" });
        if (probe.status !== 0) {
            console.log(`      skipped: no PID namespace here (unshare ${UNSHARE.join(" ")}: ${(probe.stderr || probe.error?.message || "").trim()})`);
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-reloader-"));
        for (const f of ["tls.crt", "tls.key", "ca.crt"]) fs.writeFileSync(path.join(dir, f), `${f}\n`);
    });

    after(function () {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const sh of shells()) {
        it(`${sh.name}: SIGTERM ends the loop within 3 s (the reload interval is 30 s)`, async function () {
            // A private /tmp (the pod's scratch volume) for the heartbeat; then the script replaces the shell as PID 1.
            const script = tlsReloaderScript("true");
            const child = spawn(
                "unshare",
                [...UNSHARE, ...sh.argv, "-c", 'mount -t tmpfs tmpfs /tmp && exec "$@"', "pid1", ...sh.argv, "-c", script],
                { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TLS_DIR: dir, TLS_RELOAD_INTERVAL_SECONDS: "30" }, stdio: ["ignore", "pipe", "pipe"] },
            );
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
            try {
                // The loop reaches its sleep: give the shell a moment to start and read the files.
                let pid1: number | undefined;
                for (let i = 0; i < 50 && !pid1; i++) {
                    await new Promise((r) => setTimeout(r, 100));
                    pid1 = childOf(child.pid!);
                }
                assert.ok(pid1, `no PID 1 under unshare: ${stderr}`);
                await new Promise((r) => setTimeout(r, 700));
                const t0 = Date.now();
                process.kill(pid1, "SIGTERM");
                const result = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
                assert.ok(result, `${sh.name}: the reloader still runs 3 s after SIGTERM (as PID 1 it ignores a signal it does not trap)`);
                assert.strictEqual(result.code, 0, `exit status (stderr: ${stderr})`);
                console.log(`      ${sh.name}: exited ${Date.now() - t0} ms after SIGTERM`);
            } finally {
                if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
                await exited;
            }
        });
    }
});
