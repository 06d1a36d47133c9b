// The rendered certificate reloader (components/workload/tlsReload.ts) run against a real server: a renewed
// certificate is written the way kubelet updates a Secret volume, and the test waits until the server
// presents it. Also mints the renewal: a new CA and a certificate for the same names (the harder case,
// in which the old CA no longer signs what the server still serves).

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { certificateRequest, locallySignedCertificate, selfSignedCertificate } from "../../scripts/lib/certificates";
import type { Container } from "../../scripts/lib/rendered";
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
