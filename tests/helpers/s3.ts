// A real S3 server for the off-site backup tests: versitygw (built from the module proxy by scripts/go-tools.sh)
// with its POSIX backend in a temp dir, on 127.0.0.1, over https with a CA made here (so the stack's
// `backups.s3.ca` is proven too) or plain http; a generated access key and secret (in its environment, never
// on a command line). And the pod's S3 step as the curl image runs it: the rendered s3.sh and s3.conf under
// busybox sh with busybox's applets and curl on PATH (curlimages/curl is Alpine: busybox and curl), with only
// the mount paths replaced.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { S3_PATHS } from "../../components/backup/s3";
import { configMapData } from "../../scripts/lib/rendered";
import { find } from "../../scripts/lib/manifests";
import type { Manifest } from "../../scripts/lib/mockRuntime";
import { describeRun, freePort, randomToken, run, startServer, waitFor, type RunResult, type ServerProcess } from "../../scripts/lib/servers";

const EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface S3Server {
    endpoint: string;
    root: string;
    accessKey: string;
    secret: string;
    /** The CA that signed the server's certificate (https only). */
    caPem?: string;
    caFile?: string;
    process: ServerProcess;
}

/** Starts versitygw on a free port; `dataIntegrityEtag` makes its ETags checksums instead of MD5s (like SSE-KMS). */
export async function startVersityGw(binary: string, dir: string, opts: { tls: boolean; dataIntegrityEtag?: boolean; label: string }): Promise<S3Server> {
    const root = path.join(dir, `${opts.label}-root`);
    fs.mkdirSync(root, { recursive: true });
    const port = await freePort();
    const accessKey = `AK${randomToken(18).toUpperCase()}`;
    const secret = randomToken(40);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secret, VGW_QUIET: "true" };
    let caPem: string | undefined;
    let caFile: string | undefined;
    if (opts.tls) {
        const t = path.join(dir, `${opts.label}-tls`);
        fs.mkdirSync(t);
        const ossl = async (args: string[]) => {
            const r = await run("openssl", args, { cwd: t, timeoutMs: 20_000 });
            assert.strictEqual(r.code, 0, `openssl ${args[0]}: ${describeRun(r)}`);
        };
        await ossl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=msa-test-s3-ca", "-days", "2"]);
        await ossl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
        fs.writeFileSync(path.join(t, "ext"), "subjectAltName=IP:127.0.0.1\n");
        await ossl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext"]);
        Object.assign(env, { VGW_CERT: path.join(t, "server.crt"), VGW_KEY: path.join(t, "server.key") });
        caFile = path.join(t, "ca.crt");
        caPem = fs.readFileSync(caFile, "utf8");
    }
    const args = ["--port", `127.0.0.1:${port}`, "posix", ...(opts.dataIntegrityEtag ? ["--data-integrity-etag"] : []), root];
    const proc = startServer(`versitygw (${opts.label})`, binary, args, { logFile: path.join(dir, `${opts.label}.log`), env });
    const server: S3Server = { endpoint: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`, root, accessKey, secret, caPem, caFile, process: proc };
    await waitFor(`versitygw (${opts.label}) to answer`, async () => (await s3Request(server, "GET", "/")).status === 200, { server: proc, timeoutMs: 20_000 });
    return server;
}

/** One signed request with Debian's curl (the credentials on its standard input): status and body. */
export async function s3Request(server: S3Server, method: string, urlPath: string, extra: string[] = []): Promise<{ status: number; body: string; run: RunResult }> {
    const r = await run(
        "curl",
        ["-q", "-sS", "-K", "-", "--aws-sigv4", "aws:amz:us-east-1:s3", ...(server.caFile ? ["--cacert", server.caFile] : []), "-X", method, "-H", `x-amz-content-sha256: ${EMPTY_SHA}`, "-w", "\n%{http_code}", ...extra, `${server.endpoint}${urlPath}`],
        { input: `user = "${server.accessKey}:${server.secret}"\n`, timeoutMs: 20_000 },
    );
    const lines = r.stdout.split("\n");
    return { status: Number(lines.pop()), body: lines.join("\n"), run: r };
}

export async function createBucket(server: S3Server, bucket: string): Promise<void> {
    const r = await s3Request(server, "PUT", `/${bucket}`);
    assert.strictEqual(r.status, 200, `create bucket ${bucket}: ${describeRun(r.run)}`);
}

/** Every key under `prefix` with its size, from the server's own listing. */
export async function listKeys(server: S3Server, bucket: string, prefix: string): Promise<Map<string, number>> {
    const r = await s3Request(server, "GET", `/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
    assert.strictEqual(r.status, 200, `list ${prefix}: ${r.body}`);
    const out = new Map<string, number>();
    for (const m of r.body.matchAll(/<Contents>(.*?)<\/Contents>/g)) {
        out.set(/<Key>(.*?)<\/Key>/.exec(m[1])![1], Number(/<Size>(.*?)<\/Size>/.exec(m[1])![1]));
    }
    return out;
}

/** Multipart uploads not completed nor aborted (parts that would linger). */
export async function openUploads(server: S3Server, bucket: string): Promise<string[]> {
    const r = await s3Request(server, "GET", `/${bucket}?uploads=`);
    assert.strictEqual(r.status, 200, `list uploads: ${r.body}`);
    return [...r.body.matchAll(/<Key>(.*?)<\/Key>/g)].map((m) => m[1]);
}

/** Sets an object's last-modified time (the POSIX backend reports the file's mtime): how old a backup is. */
export function ageObject(server: S3Server, bucket: string, key: string, days: number): void {
    const when = new Date(Date.now() - days * 86_400_000);
    fs.utimesSync(path.join(server.root, bucket, key), when, when);
}

/**
 * The curl image's userland: busybox's applets and curl, in one PATH directory. `curlShim` (a bash script
 * given the real curl as $REAL_CURL) stands in for curl, to inject a fault.
 */
export async function curlImagePath(dir: string, curlShim?: string): Promise<string> {
    const bin = path.join(dir, "curl-image-bin");
    fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
    const list = await run("busybox", ["--list"]);
    assert.strictEqual(list.code, 0, "busybox --list");
    for (const applet of list.stdout.split("\n").filter((a) => a !== "" && a !== "curl")) {
        const link = path.join(bin, applet);
        if (!fs.existsSync(link)) fs.symlinkSync("/usr/bin/busybox", link);
    }
    const curl = path.join(bin, "curl");
    fs.rmSync(curl, { force: true });
    if (curlShim) {
        fs.writeFileSync(curl, `#!/bin/bash\nREAL_CURL=/usr/bin/curl\n${curlShim}\n`, { mode: 0o755 });
    } else {
        fs.symlinkSync("/usr/bin/curl", curl);
    }
    return bin;
}

/** The rendered S3 step of a CronJob: the uploader container's argv and the ConfigMap it mounts. */
export interface RenderedS3Step {
    argv: string[];
    files: Record<string, string>;
}

export function renderedS3Step(objects: Manifest[], namespace: string, cronJob: string, configMap: string): RenderedS3Step {
    const cron = find(objects, "CronJob", namespace, cronJob) as Manifest & { spec: { jobTemplate: { spec: { template: { spec: { containers: { name: string; command: string[] }[] } } } } } };
    const containers = cron.spec.jobTemplate.spec.template.spec.containers;
    assert.deepStrictEqual(containers.map((c) => c.name), ["s3-upload"], `${cronJob}: the S3 step is the Job's container`);
    return { argv: containers[0].command, files: configMapData(find(objects, "ConfigMap", namespace, configMap)) };
}

/**
 * Runs the rendered S3 step (or, with `argv`, another s3.sh command) as the pod would: s3.sh and s3.conf from
 * the ConfigMap in a directory standing for its mount, the credentials in one standing for the Secret's, the
 * given pod paths replaced in the argv. `conf` overrides s3.conf values (bad-input cases).
 */
export async function runS3(o: {
    dir: string;
    step: RenderedS3Step;
    credentials: { accessKey: string; secret: string };
    paths: Record<string, string>;
    argv?: string[];
    conf?: Record<string, string>;
    bin: string;
    owner?: { uid: number; gid: number };
}): Promise<RunResult> {
    const mount = path.join(o.dir, "backup-s3");
    const creds = path.join(o.dir, "s3-credentials");
    const tmp = path.join(o.dir, "s3-tmp");
    for (const d of [mount, creds, tmp]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    let conf = o.step.files["s3.conf"].split(S3_PATHS.credentials).join(creds).split(S3_PATHS.ca).join(path.join(mount, "ca.crt"));
    for (const [k, v] of Object.entries(o.conf ?? {})) {
        assert.match(conf, new RegExp(`^${k}=`, "m"), `s3.conf has ${k}`);
        conf = conf.replace(new RegExp(`^${k}=.*$`, "m"), `${k}='${v}'`);
    }
    for (const [k, v] of Object.entries(o.step.files)) fs.writeFileSync(path.join(mount, k), k === "s3.conf" ? conf : v);
    fs.writeFileSync(path.join(creds, "access-key-id"), o.credentials.accessKey);
    fs.writeFileSync(path.join(creds, "secret-access-key"), `${o.credentials.secret}\n`);
    if (o.owner && process.getuid?.() === 0) {
        for (const d of [mount, creds, tmp]) {
            fs.chownSync(d, o.owner.uid, o.owner.gid);
            for (const f of fs.readdirSync(d)) fs.chownSync(path.join(d, f), o.owner.uid, o.owner.gid);
        }
    }
    const argv = (o.argv ?? o.step.argv).map((a) => o.paths[a] ?? (a === S3_PATHS.script ? path.join(mount, "s3.sh") : a));
    assert.strictEqual(argv[0], "sh");
    return run(path.join(o.bin, "sh"), argv.slice(1), { env: { PATH: o.bin, TMPDIR: tmp, HOME: tmp }, uid: o.owner?.uid, gid: o.owner?.gid, timeoutMs: 120_000 });
}
