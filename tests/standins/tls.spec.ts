// The tls stand-in (tools/pulumi/standins/tls.ts) against what pulumi-tls / terraform-provider-tls document for
// PrivateKey, CertRequest, SelfSignedCert and LocallySignedCert: inputs and defaults, which changes replace,
// secret outputs, the validity window and early renewal (readyForRenewal), and certificates a TLS client
// accepts (Node's X509Certificate checks the chain, names and usages).

import * as assert from "assert";
import * as crypto from "crypto";
import { TLS_TYPES } from "../../tools/pulumi/standins/tls";
import { UNKNOWN, type Props } from "../../tools/pulumi/standins/provider";
import { Driver, plain, secretKeysOf } from "./helpers";

const KEY = "tls:index/privateKey:PrivateKey";
const CSR = "tls:index/certRequest:CertRequest";
const SELF = "tls:index/selfSignedCert:SelfSignedCert";
const LOCAL = "tls:index/locallySignedCert:LocallySignedCert";
const HOUR = 3600_000;

/** What components/tls.ts declares (the CA and one service certificate). */
async function chain(d: Driver, opts: { validity?: number; early?: number } = {}) {
    const caKey = await d.create(KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const ca = await d.create(SELF, {
        privateKeyPem: caKey.outs.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: 24 * 365 * 10,
        earlyRenewalHours: 24 * 30,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        subject: { commonName: "msa-infra CA", organization: "msa-infra" },
    });
    const key = await d.create(KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const dnsNames = ["redis.cache.svc.cluster.local", "redis-0.redis-headless.cache.svc.cluster.local"];
    const csr = await d.create(CSR, { privateKeyPem: key.outs.privateKeyPem, dnsNames, subject: { commonName: dnsNames[0], organization: "msa-infra" } });
    const certInputs: Props = {
        certRequestPem: csr.outs.certRequestPem,
        caPrivateKeyPem: caKey.outs.privateKeyPem,
        caCertPem: ca.outs.certPem,
        validityPeriodHours: opts.validity ?? 24 * 365,
        earlyRenewalHours: opts.early ?? 24 * 30,
        allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
    };
    const cert = await d.create(LOCAL, certInputs);
    return { caKey, ca, key, csr, cert, certInputs, dnsNames };
}

describe("tls stand-in", () => {
    const d = new Driver("5.6.1", TLS_TYPES);

    it("PrivateKey: an ECDSA P-256 key as SEC1 and PKCS#8 PEM (both secret) and its public key; id = SHA-1 of the public PEM", async () => {
        const { id, outs } = await d.create(KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const sec1 = plain(outs, "privateKeyPem") as string;
        const pkcs8 = plain(outs, "privateKeyPemPkcs8") as string;
        assert.match(sec1, /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----\n$/);
        assert.match(pkcs8, /^-----BEGIN PRIVATE KEY-----\n/);
        const k = crypto.createPrivateKey(sec1);
        assert.strictEqual(k.asymmetricKeyDetails?.namedCurve, "prime256v1");
        assert.strictEqual(crypto.createPrivateKey(pkcs8).export({ type: "pkcs8", format: "pem" }), k.export({ type: "pkcs8", format: "pem" }));
        assert.strictEqual(crypto.createPublicKey(k).export({ type: "spki", format: "pem" }), outs.publicKeyPem);
        assert.strictEqual(id, crypto.createHash("sha1").update((outs.publicKeyPem as string).trim()).digest("hex"));
        assert.deepStrictEqual(secretKeysOf(outs), ["privateKeyPem", "privateKeyPemPkcs8"]);
    });

    it("PrivateKey: what the stand-in does not make is refused by name (RSA, ED25519, and the default curve P224)", async () => {
        assert.match((await d.failures(KEY, { algorithm: "RSA" })).join(), /algorithm: "RSA" is not implemented by this test stand-in/);
        assert.match((await d.failures(KEY, { algorithm: "ECDSA" })).join(), /ecdsaCurve: "P224" \(the default\) is not implemented/);
        assert.match((await d.failures(KEY, { algorithm: "DSA" })).join(), /algorithm: "DSA" is not accepted \(accepted: RSA, ECDSA, ED25519\)/);
        const { outs } = await d.create(KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        assert.deepStrictEqual(await d.diff(KEY, outs, { algorithm: "ECDSA", ecdsaCurve: "P256" }), { changes: false, replaces: [] });
        assert.deepStrictEqual((await d.diff(KEY, outs, { algorithm: "ECDSA", ecdsaCurve: UNKNOWN })).replaces, ["ecdsaCurve"]);
    });

    it("SelfSignedCert: the CA is a CA for its key, valid from now for validityPeriodHours; readyForRenewal false; id = serial", async () => {
        const { caKey, ca } = await chain(d);
        const x = new crypto.X509Certificate(ca.outs.certPem as string);
        assert.strictEqual(x.ca, true);
        assert.strictEqual(x.subject, "O=msa-infra\nCN=msa-infra CA");
        assert.ok(x.checkPrivateKey(crypto.createPrivateKey(plain(caKey.outs, "privateKeyPem") as string)));
        assert.ok(x.verify(x.publicKey), "self-signed");
        assert.strictEqual(Date.parse(ca.outs.validityStartTime as string), Math.floor(d.now.getTime() / 1000) * 1000);
        assert.strictEqual(Date.parse(ca.outs.validityEndTime as string), d.now.getTime() + 24 * 365 * 10 * HOUR);
        assert.strictEqual(new Date(x.validTo).getTime(), Date.parse(ca.outs.validityEndTime as string));
        assert.strictEqual(ca.outs.readyForRenewal, false);
        assert.strictEqual(ca.id, BigInt(`0x${x.serialNumber}`).toString());
        assert.deepStrictEqual(secretKeysOf(ca.outs), ["privateKeyPem"]);
    });

    it("LocallySignedCert: signed by the CA for the request's key, names and subject, with the allowed uses; the CA key stays secret", async () => {
        const { ca, key, cert, dnsNames } = await chain(d);
        const x = new crypto.X509Certificate(cert.outs.certPem as string);
        const caX = new crypto.X509Certificate(ca.outs.certPem as string);
        assert.ok(x.verify(caX.publicKey), "not signed by the CA");
        assert.ok(x.checkIssued(caX));
        assert.ok(x.checkPrivateKey(crypto.createPrivateKey(plain(key.outs, "privateKeyPem") as string)), "not for the request's key");
        assert.strictEqual(x.ca, false);
        for (const n of dnsNames) assert.strictEqual(x.checkHost(n), n);
        assert.strictEqual(x.checkHost("other.cache.svc.cluster.local"), undefined);
        assert.strictEqual(x.subject, `O=msa-infra\nCN=${dnsNames[0]}`);
        assert.deepStrictEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"], "extended key usage serverAuth");
        assert.strictEqual(Date.parse(cert.outs.validityEndTime as string) - Date.parse(cert.outs.validityStartTime as string), 24 * 365 * HOUR);
        assert.strictEqual(cert.id, BigInt(`0x${x.serialNumber}`).toString());
        assert.deepStrictEqual(secretKeysOf(cert.outs), ["caPrivateKeyPem"]);
    });

    it("early renewal: outside the window nothing changes; from validityEndTime - earlyRenewalHours on, the next diff replaces (readyForRenewal)", async () => {
        const { cert, certInputs } = await chain(d);
        const start = d.now;
        try {
            const windowOpens = Date.parse(cert.outs.validityEndTime as string) - 24 * 30 * HOUR;
            d.now = new Date(windowOpens - 60_000);
            assert.deepStrictEqual(await d.diff(LOCAL, cert.outs, certInputs), { changes: false, replaces: [] });
            assert.strictEqual((await d.read(LOCAL, cert.outs)).readyForRenewal, false);
            d.now = new Date(windowOpens);
            assert.deepStrictEqual(await d.diff(LOCAL, cert.outs, certInputs), { changes: true, replaces: ["readyForRenewal"] });
            // A refresh records it in the state, as the real provider's Read does.
            assert.strictEqual((await d.read(LOCAL, cert.outs)).readyForRenewal, true);
            // A longer renewal window asked for now brings the certificate into it at once.
            d.now = new Date(windowOpens - 48 * HOUR);
            assert.deepStrictEqual((await d.diff(LOCAL, cert.outs, { ...certInputs, earlyRenewalHours: 24 * 30 + 72 })).replaces, ["readyForRenewal"]);
        } finally {
            d.now = start;
        }
    });

    it("earlyRenewalHours changes in place; earlyRenewalHours >= validityPeriodHours is ready for renewal from the start", async () => {
        const { cert, certInputs } = await chain(d);
        const r = await d.diff(LOCAL, cert.outs, { ...certInputs, earlyRenewalHours: 24 });
        assert.deepStrictEqual(r, { changes: true, replaces: [] });
        const updated = await d.update(LOCAL, cert.outs, { ...certInputs, earlyRenewalHours: 24 });
        assert.strictEqual(updated.earlyRenewalHours, 24);
        assert.strictEqual(updated.certPem, cert.outs.certPem, "an in-place update keeps the certificate");
        const always = await chain(d, { validity: 24, early: 24 });
        assert.strictEqual(always.cert.outs.readyForRenewal, true);
        assert.deepStrictEqual((await d.diff(LOCAL, always.cert.outs, always.certInputs)).replaces, ["readyForRenewal"]);
    });

    it("every other input change replaces: a new key, request or CA, validityPeriodHours, allowedUses, isCaCertificate", async () => {
        const { cert, certInputs, ca, caKey, csr } = await chain(d);
        const other = await chain(d);
        const cases: [Props, string][] = [
            [{ certRequestPem: other.csr.outs.certRequestPem }, "certRequestPem"],
            [{ certRequestPem: UNKNOWN }, "certRequestPem"],
            [{ caCertPem: other.ca.outs.certPem }, "caCertPem"],
            [{ caPrivateKeyPem: other.caKey.outs.privateKeyPem }, "caPrivateKeyPem"],
            [{ validityPeriodHours: 24 * 90 }, "validityPeriodHours"],
            [{ allowedUses: ["server_auth"] }, "allowedUses"],
            [{ isCaCertificate: true }, "isCaCertificate"],
        ];
        for (const [change, key] of cases) {
            assert.deepStrictEqual((await d.diff(LOCAL, cert.outs, { ...certInputs, ...change })).replaces, [key], key);
        }
        // Upstream of the certificate: a new key replaces the request, a renamed subject the CA.
        const csrInputs = { privateKeyPem: other.key.outs.privateKeyPem, dnsNames: csr.outs.dnsNames, subject: csr.outs.subject };
        assert.deepStrictEqual((await d.diff(CSR, csr.outs, csrInputs)).replaces, ["privateKeyPem"]);
        assert.deepStrictEqual((await d.diff(CSR, csr.outs, { ...csrInputs, privateKeyPem: csr.outs.privateKeyPem, dnsNames: ["x"] })).replaces, ["dnsNames"]);
        const caInputs: Props = { ...ca.outs, privateKeyPem: caKey.outs.privateKeyPem };
        for (const k of ["certPem", "keyAlgorithm", "readyForRenewal", "validityStartTime", "validityEndTime"]) delete caInputs[k];
        assert.deepStrictEqual(await d.diff(SELF, ca.outs, caInputs), { changes: false, replaces: [] });
        assert.deepStrictEqual((await d.diff(SELF, ca.outs, { ...caInputs, subject: { commonName: "other CA" } })).replaces, ["subject"]);
    });

    it("refuses what it does not implement, naming the input: IP SANs, unknown or unimplemented allowed uses, subject fields", async () => {
        const { certInputs, key } = await chain(d);
        assert.match((await d.failures(LOCAL, { ...certInputs, allowedUses: ["serverAuth"] })).join(), /allowedUses: "serverAuth" is not accepted/);
        assert.match((await d.failures(LOCAL, { ...certInputs, allowedUses: ["ipsec_user"] })).join(), /"ipsec_user" is not implemented by this test stand-in/);
        assert.match((await d.failures(LOCAL, { ...certInputs, setSubjectKeyId: true })).join(), /setSubjectKeyId is not implemented/);
        assert.match((await d.failures(LOCAL, { ...certInputs, validityPeriodHours: -1 })).join(), /validityPeriodHours: -1 is less than 0/);
        assert.match((await d.failures(CSR, { privateKeyPem: key.outs.privateKeyPem, ipAddresses: ["10.0.0.1"] })).join(), /ipAddresses is not implemented/);
        assert.match((await d.failures(CSR, { privateKeyPem: key.outs.privateKeyPem, subject: { postalCode: "1" } })).join(), /subject\.postalCode is not implemented/);
        assert.match((await d.failures(CSR, { privateKeyPem: "not a key" })).join(), /privateKeyPem: not a valid PEM private key/);
        assert.match((await d.failures(LOCAL, { ...certInputs, certRequestPem: undefined })).join(), /certRequestPem is required/);
    });
});
