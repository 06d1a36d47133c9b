// The rendered certificate reloader (components/workload/tlsReload.ts) run against a real server: a renewed
// certificate is written the way kubelet updates a Secret volume, and the test waits until the server
// presents it. Also mints the renewal: a new CA and a certificate for the same names (the harder case,
// in which the old CA no longer signs what the server still serves).

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { certificateRequest, locallySignedCertificate, selfSignedCertificate } from "../../scripts/lib/certificates";
import type { Manifest, RegisteredResource } from "../../scripts/lib/mockRuntime";
import { dataKey, type Container } from "../../scripts/lib/rendered";
import { startServer, type ServerProcess } from "../../scripts/lib/servers";

/** A renewed certificate for the names of `current`, from a new CA. */
export async function renewedCertificate(current: string): Promise<{ cert: string; key: string; ca: string; serial: string }> {
    const names = new crypto.X509Certificate(current).subjectAltName!.split(", ").map((n) => n.replace(/^DNS:/, ""));
    const pem = (k: crypto.KeyObject) => k.export({ type: "pkcs8", format: "pem" }).toString();
    const caKey = pem(crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    const ca = await selfSignedCertificate({ privateKeyPem: caKey, subject: { commonName: "renewal CA", organization: "msa-infra" }, validityPeriodHours: 24, allowedUses: ["cert_signing"], isCaCertificate: true });
    const key = pem(crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    const csr = await certificateRequest({ privateKeyPem: key, subject: { commonName: names[0], organization: "msa-infra" }, dnsNames: names });
    const cert = await locallySignedCertificate({ certRequestPem: csr, caPrivateKeyPem: caKey, caCertPem: ca.certPem, validityPeriodHours: 24, allowedUses: ["server_auth", "digital_signature", "key_encipherment"] });
    return { cert: cert.certPem, key, ca: ca.certPem, serial: new crypto.X509Certificate(cert.certPem).serialNumber };
}

/** A value of a registered resource's inputs (secret inputs arrive wrapped: { <sig>: ..., value }). */
function plain(v: unknown): string {
    const u = v !== null && typeof v === "object" && "value" in (v as object) ? (v as { value: unknown }).value : v;
    if (typeof u !== "string") throw new Error(`expected a string input, got ${JSON.stringify(u)?.slice(0, 80)}`);
    return u;
}

/** The generated CA that signed `app`'s certificate in a render (its key, certificate and allowed uses): what `pulumi up` renews with. */
export function generatedCa(render: { resources?: RegisteredResource[]; objects: Manifest[] }, namespace: string, app: string): { caKey: string; caCert: string; allowedUses: string[] } {
    const cert = (render.resources ?? []).find((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && r.name === `${app}-tls-cert`);
    if (!cert) throw new Error(`the render has no LocallySignedCert ${app}-tls-cert (keep the render's resources)`);
    const caCert = dataKey(render.objects, "Secret", namespace, `${app}-tls`, "ca.crt");
    assert.strictEqual(plain(cert.inputs.caCertPem).trim(), caCert.trim(), "the Secret's ca.crt is the CA that signed the rendered certificate");
    return { caKey: plain(cert.inputs.caPrivateKeyPem), caCert, allowedUses: cert.inputs.allowedUses as string[] };
}

/** A new key and certificate for the subject and DNS names of `current`, signed by the same CA (a renewal in the last 30 days). */
export async function renewFromSameCa(current: string, ca: { caKey: string; caCert: string; allowedUses: string[] }): Promise<{ cert: string; key: string; serial: string }> {
    const x = new crypto.X509Certificate(current);
    const names = x.subjectAltName!.split(", ").map((n) => n.replace(/^DNS:/, ""));
    const field = (k: string) => x.subject.split("\n").find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
    const key = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const csr = await certificateRequest({ privateKeyPem: key, subject: { commonName: field("CN"), organization: field("O") }, dnsNames: names });
    const issued = await locallySignedCertificate({ certRequestPem: csr, caPrivateKeyPem: ca.caKey, caCertPem: ca.caCert, validityPeriodHours: 24, allowedUses: ca.allowedUses });
    const serial = new crypto.X509Certificate(issued.certPem).serialNumber;
    assert.strictEqual(new crypto.X509Certificate(issued.certPem).subjectAltName, x.subjectAltName, "the renewal has the same DNS names");
    return { cert: issued.certPem, key, serial };
}

/** Replaces the three files the way kubelet updates a Secret volume: each file appears whole, at once. */
export function writeCertificateFiles(dir: string, files: { cert: string; key: string; ca: string }, owner?: { uid: number; gid: number }): void {
    for (const [name, content] of [
        ["tls.crt", files.cert],
        ["tls.key", files.key],
        ["ca.crt", files.ca],
    ]) {
        const tmp = path.join(dir, `.${name}.new`);
        fs.writeFileSync(tmp, content, { mode: 0o640 });
        if (owner) fs.chownSync(tmp, owner.uid, owner.gid);
        fs.renameSync(tmp, path.join(dir, name));
    }
}

/**
 * Starts the rendered reloader container's command with only the paths the machine cannot have replaced
 * (`substitutions`: pod path → local path, applied to the script and to env values) and a 1-second interval.
 */
export function startReloader(opts: {
    container: Container;
    substitutions: [string, string][];
    env: NodeJS.ProcessEnv;
    logFile: string;
    uid?: number;
    gid?: number;
}): ServerProcess {
    const argv = [...(opts.container.command ?? []), ...(opts.container.args ?? [])];
    assert.ok(argv.length === 3 && argv[0] === "sh" && argv[1] === "-c", `tls-reloader: expected [sh, -c, script], got ${JSON.stringify(argv)}`);
    const local = (text: string) => opts.substitutions.reduce((t, [from, to]) => t.split(from).join(to), text);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: "C", ...opts.env };
    for (const e of opts.container.env ?? []) {
        if (e.value !== undefined) env[e.name] = local(e.value);
    }
    // The one timing change: poll every second instead of the rendered interval.
    assert.ok(env.TLS_RELOAD_INTERVAL_SECONDS, "the reloader has a TLS_RELOAD_INTERVAL_SECONDS");
    env.TLS_RELOAD_INTERVAL_SECONDS = "1";
    return startServer("tls-reloader", "sh", ["-c", local(argv[2])], { logFile: opts.logFile, env, uid: opts.uid, gid: opts.gid });
}

/** The reloader's liveness probe, with the same substitutions. */
export function reloaderLivenessCommand(container: Container, substitutions: [string, string][]): string[] {
    const cmd: string[] = container.livenessProbe?.exec?.command;
    assert.ok(Array.isArray(cmd), "tls-reloader has an exec liveness probe");
    return cmd.map((part) => substitutions.reduce((t, [from, to]) => t.split(from).join(to), part));
}
