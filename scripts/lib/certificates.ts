// Real X.509 certificates for the offline render, made the way @pulumi/tls (terraform-provider-tls) makes
// them: a self-signed CA and certificates signed by it from a certificate request, with the requested
// subject, DNS names, key usages and validity, ECDSA P-256 with SHA-256. With them the rendered TLS settings
// can be run on real servers.
//
// The DER is written here with Node's crypto doing the keys, hashes and signatures: the few structures
// involved (RFC 5280 certificates, RFC 2986 requests) are built by the small encoder below. They are
// encoded byte for byte as @peculiar/x509 2.2.0 encoded them before (same name string types, extension
// order and criticality, key-usage bit strings, UTCTime before 2050, serials, key identifiers): only the
// time to make them changed. Loading @peculiar/x509 and its ASN.1 schemas cost an offline render about
// 150 ms, and each certificate another ~15 ms through WebCrypto.

import * as crypto from "crypto";

/** The subject fields the program sets (tls provider names). */
export interface Subject {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    country?: string;
    locality?: string;
    province?: string;
}

// ---- DER encoding -------------------------------------------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
    const n = content.length;
    let header: Buffer;
    if (n < 0x80) {
        header = Buffer.from([tag, n]);
    } else {
        const len: number[] = [];
        for (let v = n; v > 0; v = Math.floor(v / 256)) {
            len.unshift(v & 0xff);
        }
        header = Buffer.from([tag, 0x80 | len.length, ...len]);
    }
    return Buffer.concat([header, content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer, unusedBits = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

/** A non-negative INTEGER from big-endian bytes, minimal (leading zeros dropped, 0x00 added before a high bit). */
function positiveInteger(bytes: Buffer): Buffer {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) {
        i++;
    }
    let v = bytes.subarray(i);
    if (v.length === 0) {
        v = Buffer.from([0]);
    }
    if (v[0] > 0x7f) {
        v = Buffer.concat([Buffer.from([0]), v]);
    }
    return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
    const parts = dotted.split(".").map(Number);
    const out = [40 * parts[0] + parts[1]];
    for (const p of parts.slice(2)) {
        const bytes = [p & 0x7f];
        for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) {
            bytes.unshift(0x80 | (v & 0x7f));
        }
        out.push(...bytes);
    }
    return tlv(0x06, Buffer.from(out));
}

const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));

/** UTCTime for years before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5), whole seconds. */
function time(d: Date): Buffer {
    const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
    return d.getUTCFullYear() > 2049 ? tlv(0x18, Buffer.from(`${digits}Z`, "ascii")) : tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "ascii"));
}

// ---- DER reading (just enough to take certificate requests and certificates apart) -------------------

interface Element {
    tag: number;
    /** The whole element, header included. */
    raw: Buffer;
    content: Buffer;
}

function readElement(buf: Buffer, at = 0): Element {
    if (at + 2 > buf.length) {
        throw new Error("truncated DER");
    }
    const tag = buf[at];
    let len = buf[at + 1];
    let start = at + 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4 || start + n > buf.length) {
            throw new Error("unsupported DER length");
        }
        len = 0;
        for (let i = 0; i < n; i++) {
            len = len * 256 + buf[start + i];
        }
        start += n;
    }
    if (start + len > buf.length) {
        throw new Error("truncated DER");
    }
    return { tag, raw: buf.subarray(at, start + len), content: buf.subarray(start, start + len) };
}

function children(e: Element): Element[] {
    const out: Element[] = [];
    for (let at = 0; at < e.content.length; ) {
        const c = readElement(e.content, at);
        out.push(c);
        at += c.raw.length;
    }
    return out;
}

function expectTag(e: Element | undefined, tag: number, what: string): Element {
    if (!e || e.tag !== tag) {
        throw new Error(`not a valid ${what}`);
    }
    return e;
}

function fromPem(pem: string, label: string): Buffer {
    const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
    if (!m) {
        throw new Error(`no ${label} in the PEM text`);
    }
    return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}

function toPem(der: Buffer, label: string): string {
    const b64 = der.toString("base64");
    const lines: string[] = [];
    for (let i = 0; i < b64.length; i += 64) {
        lines.push(b64.slice(i, i + 64));
    }
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----`;
}

// ---- X.509 pieces -------------------------------------------------------------------------------------

/** terraform-provider-tls allowed_uses → key usage bits (RFC 5280 4.2.1.3) and extended key usages. */
const KEY_USAGES: Record<string, number> = {
    digital_signature: 0,
    content_commitment: 1,
    key_encipherment: 2,
    data_encipherment: 3,
    key_agreement: 4,
    cert_signing: 5,
    crl_signing: 6,
    encipher_only: 7,
    decipher_only: 8,
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
};

const EXT = {
    basicConstraints: "2.5.29.19",
    keyUsage: "2.5.29.15",
    extKeyUsage: "2.5.29.37",
    subjectKeyIdentifier: "2.5.29.14",
    authorityKeyIdentifier: "2.5.29.35",
    subjectAltName: "2.5.29.17",
};
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

function extension(id: string, critical: boolean, value: Buffer): Buffer {
    return critical ? sequence(oid(id), TRUE, octetString(value)) : sequence(oid(id), octetString(value));
}

/** The characters of ASN.1 PrintableString; other values are written as UTF8String. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** The subject as a Name: one RDN per field, in the order Go's pkix.Name prints them (C, O, OU, L, ST, CN). */
function subjectName(s: Subject): Buffer {
    const parts: [string, string | undefined][] = [
        ["2.5.4.6", s.country],
        ["2.5.4.10", s.organization],
        ["2.5.4.11", s.organizationalUnit],
        ["2.5.4.7", s.locality],
        ["2.5.4.8", s.province],
        ["2.5.4.3", s.commonName],
    ];
    return sequence(
        ...parts
            .filter(([, v]) => v !== undefined && v !== "")
            .map(([type, v]) => set(sequence(oid(type), tlv(PRINTABLE.test(v!) ? 0x13 : 0x0c, Buffer.from(v!, "utf8"))))),
    );
}

function subjectAltName(dnsNames: string[]): Buffer {
    return extension(EXT.subjectAltName, false, sequence(...dnsNames.map((d) => tlv(0x82, Buffer.from(d, "ascii")))));
}

function usageExtensions(allowedUses: string[], isCa: boolean): Buffer[] {
    const unknown = allowedUses.filter((u) => !(u in KEY_USAGES) && !(u in EXTENDED_KEY_USAGES));
    if (unknown.length > 0) {
        throw new Error(`allowed uses not known to the offline certificate maker: ${unknown.join(", ")}`);
    }
    const extensions = [extension(EXT.basicConstraints, true, isCa ? sequence(TRUE) : sequence())];
    const bits = new Set(allowedUses.filter((u) => u in KEY_USAGES).map((u) => KEY_USAGES[u]));
    if (bits.size > 0) {
        // A named bit list: bit 0 is the first octet's high bit, trailing zero bits are not encoded.
        const highest = Math.max(...bits);
        const octets = Buffer.alloc((highest >> 3) + 1);
        for (const b of bits) {
            octets[b >> 3] |= 0x80 >> (b & 7);
        }
        extensions.push(extension(EXT.keyUsage, true, bitString(octets, octets.length * 8 - (highest + 1))));
    }
    const extended = allowedUses.filter((u) => u in EXTENDED_KEY_USAGES).map((u) => oid(EXTENDED_KEY_USAGES[u]));
    if (extended.length > 0) {
        extensions.push(extension(EXT.extKeyUsage, false, sequence(...extended)));
    }
    return extensions;
}

/** An ECDSA P-256 private key and its public key (SubjectPublicKeyInfo DER). */
function keyPair(privateKeyPem: string): { privateKey: crypto.KeyObject; spki: Buffer } {
    const privateKey = crypto.createPrivateKey(privateKeyPem);
    if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
        throw new Error("the offline certificate maker signs with ECDSA P-256 keys only");
    }
    return { privateKey, spki: crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" }) };
}

/** RFC 5280 key identifier: SHA-1 of the SubjectPublicKeyInfo's key bits. */
function keyIdentifier(spki: Buffer): Buffer {
    const [, key] = children(expectTag(readElement(spki), 0x30, "public key"));
    const bits = expectTag(key, 0x03, "public key").content.subarray(1);
    return crypto.createHash("sha1").update(bits).digest();
}

function signed(toBeSigned: Buffer, key: crypto.KeyObject): Buffer {
    return sequence(toBeSigned, ECDSA_WITH_SHA256, bitString(crypto.sign("sha256", toBeSigned, { key, dsaEncoding: "der" })));
}

/** A random positive 128-bit serial number. */
function serialNumber(): Buffer {
    const bytes = crypto.randomBytes(16);
    bytes[0] &= 0x7f;
    return bytes;
}

/** Validity from `now` (whole seconds, as certificates hold it) for `hours`. */
function validity(hours: number, now: Date): { notBefore: Date; notAfter: Date } {
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const notAfter = new Date(now.getTime() + hours * 3600_000);
    notAfter.setUTCMilliseconds(0);
    return { notBefore, notAfter };
}

export interface IssuedCertificate {
    certPem: string;
    validityStartTime: string;
    validityEndTime: string;
}

function certificate(opts: {
    issuer: Buffer;
    subject: Buffer;
    spki: Buffer;
    validityPeriodHours: number;
    now: Date;
    extensions: Buffer[];
    signingKey: crypto.KeyObject;
}): IssuedCertificate {
    const { notBefore, notAfter } = validity(opts.validityPeriodHours, opts.now);
    const tbs = sequence(
        explicit(0, positiveInteger(Buffer.from([2]))),
        positiveInteger(serialNumber()),
        ECDSA_WITH_SHA256,
        opts.issuer,
        sequence(time(notBefore), time(notAfter)),
        opts.subject,
        opts.spki,
        explicit(3, sequence(...opts.extensions)),
    );
    return {
        certPem: toPem(signed(tbs, opts.signingKey), "CERTIFICATE") + "\n",
        validityStartTime: notBefore.toISOString(),
        validityEndTime: notAfter.toISOString(),
    };
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
    const { privateKey, spki } = keyPair(opts.privateKeyPem);
    const extensions = usageExtensions(opts.allowedUses, opts.isCaCertificate);
    extensions.push(extension(EXT.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))));
    if (opts.dnsNames?.length) {
        extensions.push(subjectAltName(opts.dnsNames));
    }
    const name = subjectName(opts.subject);
    return certificate({
        issuer: name,
        subject: name,
        spki,
        validityPeriodHours: opts.validityPeriodHours,
        now: opts.now ?? new Date(),
        extensions,
        signingKey: privateKey,
    });
}

/** tls.CertRequest: a PKCS#10 request for the key, with the subject and DNS names. */
export async function certificateRequest(opts: { privateKeyPem: string; subject: Subject; dnsNames: string[] }): Promise<string> {
    const { privateKey, spki } = keyPair(opts.privateKeyPem);
    const attributes = tlv(0xa0, sequence(oid(EXTENSION_REQUEST), set(sequence(subjectAltName(opts.dnsNames)))));
    const info = sequence(positiveInteger(Buffer.from([0])), subjectName(opts.subject), spki, attributes);
    return toPem(signed(info, privateKey), "CERTIFICATE REQUEST") + "\n";
}

/** A certificate request taken apart: its subject and public key, and its subjectAltName extension if any. */
function parseRequest(pem: string): { subject: Buffer; spki: Buffer; subjectAltName?: Buffer } {
    const what = "certificate request";
    const [info, algorithm, signature] = children(expectTag(readElement(fromPem(pem, "CERTIFICATE REQUEST")), 0x30, what));
    const [, subject, spki, attributes] = children(expectTag(info, 0x30, what));
    expectTag(subject, 0x30, what);
    expectTag(spki, 0x30, what);
    if (!expectTag(algorithm, 0x30, what).raw.equals(ECDSA_WITH_SHA256)) {
        throw new Error("the certificate request is not signed with ECDSA and SHA-256");
    }
    const verified = crypto.verify(
        "sha256",
        info.raw,
        { key: spki.raw, format: "der", type: "spki", dsaEncoding: "der" },
        expectTag(signature, 0x03, what).content.subarray(1),
    );
    if (!verified) {
        throw new Error("the certificate request's signature does not verify");
    }
    let san: Buffer | undefined;
    for (const attribute of attributes?.tag === 0xa0 ? children(attributes) : []) {
        const [type, values] = children(attribute);
        if (!type.raw.equals(oid(EXTENSION_REQUEST))) {
            continue;
        }
        for (const extensions of children(values)) {
            for (const ext of children(extensions)) {
                if (san === undefined && children(ext)[0].raw.equals(oid(EXT.subjectAltName))) {
                    san = ext.raw;
                }
            }
        }
    }
    return { subject: subject.raw, spki: spki.raw, subjectAltName: san };
}

/** The subject Name of a certificate (DER). */
function certificateSubject(pem: string): Buffer {
    const what = "certificate";
    const [tbs] = children(expectTag(readElement(fromPem(pem, "CERTIFICATE")), 0x30, what));
    const fields = children(expectTag(tbs, 0x30, what));
    // version [0] (optional), serial, signature algorithm, issuer, validity, subject
    const subject = fields[fields[0].tag === 0xa0 ? 5 : 4];
    return expectTag(subject, 0x30, what).raw;
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
    const request = parseRequest(opts.certRequestPem);
    const issuer = certificateSubject(opts.caCertPem);
    const ca = keyPair(opts.caPrivateKeyPem);
    const extensions = usageExtensions(opts.allowedUses, opts.isCaCertificate ?? false);
    if (request.subjectAltName) {
        extensions.push(request.subjectAltName);
    }
    extensions.push(extension(EXT.authorityKeyIdentifier, false, sequence(tlv(0x80, keyIdentifier(ca.spki)))));
    return certificate({
        issuer,
        subject: request.subject,
        spki: request.spki,
        validityPeriodHours: opts.validityPeriodHours,
        now: opts.now ?? new Date(),
        extensions,
        signingKey: ca.privateKey,
    });
}
