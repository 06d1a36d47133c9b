// Real X.509 certificates for the offline render, made the way @pulumi/tls (terraform-provider-tls) makes
// them: a self-signed CA and certificates signed by it from a certificate request, with the requested
// subject, DNS names, key usages and validity, ECDSA P-256 with SHA-256. With them the rendered TLS settings
// can be run on real servers. Built with @peculiar/x509 (WebCrypto) rather than hand-written ASN.1.

import "reflect-metadata"; // @peculiar/x509's dependency injection needs the Reflect metadata API
import * as crypto from "crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/** The subject fields the program sets (tls provider names). */
export interface Subject {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    country?: string;
    locality?: string;
    province?: string;
}

/** terraform-provider-tls allowed_uses → key usage bits and extended key usages. */
const KEY_USAGES: Record<string, number> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
    server_auth: x509.ExtendedKeyUsage.serverAuth,
    client_auth: x509.ExtendedKeyUsage.clientAuth,
    code_signing: x509.ExtendedKeyUsage.codeSigning,
    email_protection: x509.ExtendedKeyUsage.emailProtection,
    timestamping: x509.ExtendedKeyUsage.timeStamping,
    ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

function subjectName(s: Subject): string {
    // Order as Go's pkix.Name prints it: C, O, OU, L, ST, CN.
    const parts: [string, string | undefined][] = [
        ["C", s.country],
        ["O", s.organization],
        ["OU", s.organizationalUnit],
        ["L", s.locality],
        ["ST", s.province],
        ["CN", s.commonName],
    ];
    return parts
        .filter(([, v]) => v !== undefined && v !== "")
        .map(([k, v]) => `${k}=${v!.replace(/([,+"\\<>;=])/g, "\\$1")}`)
        .join(", ");
}

async function keyPair(privateKeyPem: string): Promise<KeyPair> {
    const key = crypto.createPrivateKey(privateKeyPem);
    const pkcs8 = key.export({ type: "pkcs8", format: "der" });
    const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
    const subtle = crypto.webcrypto.subtle;
    return {
        privateKey: (await subtle.importKey("pkcs8", pkcs8, ALGORITHM, true, ["sign"])) as unknown as KeyPair["privateKey"],
        publicKey: (await subtle.importKey("spki", spki, ALGORITHM, true, ["verify"])) as unknown as KeyPair["publicKey"],
    };
}

function usageExtensions(allowedUses: string[], isCa: boolean): x509.Extension[] {
    const unknown = allowedUses.filter((u) => !(u in KEY_USAGES) && !(u in EXTENDED_KEY_USAGES));
    if (unknown.length > 0) {
        throw new Error(`allowed uses not known to the offline certificate maker: ${unknown.join(", ")}`);
    }
    const bits = allowedUses.reduce((acc, u) => acc | (KEY_USAGES[u] ?? 0), 0);
    const extended = allowedUses.filter((u) => u in EXTENDED_KEY_USAGES).map((u) => EXTENDED_KEY_USAGES[u]);
    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true)];
    if (bits !== 0) {
        extensions.push(new x509.KeyUsagesExtension(bits, true));
    }
    if (extended.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(extended, false));
    }
    return extensions;
}

/** A random positive 128-bit serial number, as hex. */
function serialNumber(): string {
    const bytes = crypto.randomBytes(16);
    bytes[0] &= 0x7f;
    return bytes.toString("hex");
}

function validity(hours: number, now: Date): { notBefore: Date; notAfter: Date } {
    return { notBefore: now, notAfter: new Date(now.getTime() + hours * 3600_000) };
}

export interface IssuedCertificate {
    certPem: string;
    validityStartTime: string;
    validityEndTime: string;
}

function issued(cert: x509.X509Certificate): IssuedCertificate {
    return { certPem: cert.toString("pem") + "\n", validityStartTime: cert.notBefore.toISOString(), validityEndTime: cert.notAfter.toISOString() };
}

/** tls.SelfSignedCert: a certificate for the key, signed by itself (the generated CA). */
export async function selfSignedCertificate(opts: {
    privateKeyPem: string;
    subject: Subject;
    validityPeriodHours: number;
    allowedUses: string[];
    isCaCertificate: boolean;
    dnsNames?: string[];
    now?: Date;
}): Promise<IssuedCertificate> {
    const keys = await keyPair(opts.privateKeyPem);
    const extensions = usageExtensions(opts.allowedUses, opts.isCaCertificate);
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
    if (opts.dnsNames?.length) {
        extensions.push(new x509.SubjectAlternativeNameExtension(opts.dnsNames.map((d) => ({ type: "dns" as const, value: d }))));
    }
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: subjectName(opts.subject),
        ...validity(opts.validityPeriodHours, opts.now ?? new Date()),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions,
    });
    return issued(cert);
}

/** tls.CertRequest: a PKCS#10 request for the key, with the subject and DNS names. */
export async function certificateRequest(opts: { privateKeyPem: string; subject: Subject; dnsNames: string[] }): Promise<string> {
    const keys = await keyPair(opts.privateKeyPem);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(opts.subject),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions: [new x509.SubjectAlternativeNameExtension(opts.dnsNames.map((d) => ({ type: "dns" as const, value: d })))],
    });
    return csr.toString("pem") + "\n";
}

/** tls.LocallySignedCert: the request's subject, names and key, signed by the CA. */
export async function locallySignedCertificate(opts: {
    certRequestPem: string;
    caPrivateKeyPem: string;
    caCertPem: string;
    validityPeriodHours: number;
    allowedUses: string[];
    isCaCertificate?: boolean;
    now?: Date;
}): Promise<IssuedCertificate> {
    const csr = new x509.Pkcs10CertificateRequest(opts.certRequestPem);
    if (!(await csr.verify())) {
        throw new Error("the certificate request's signature does not verify");
    }
    const ca = new x509.X509Certificate(opts.caCertPem);
    const caKeys = await keyPair(opts.caPrivateKeyPem);
    const extensions = usageExtensions(opts.allowedUses, opts.isCaCertificate ?? false);
    const san = csr.extensions.find((e) => e instanceof x509.SubjectAlternativeNameExtension);
    if (san) {
        extensions.push(san);
    }
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey));
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: csr.subject,
        issuer: ca.subject,
        ...validity(opts.validityPeriodHours, opts.now ?? new Date()),
        publicKey: csr.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALGORITHM,
        extensions,
    });
    return issued(cert);
}
