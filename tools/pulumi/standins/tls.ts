// Test-only stand-in for pulumi-resource-tls (the version package.json pins for @pulumi/tls), for the four
// resource types this program uses, with the certificates made by scripts/lib/certificates.ts (the offline
// render's maker: ECDSA P-256 keys and signatures from Node's crypto). Mirrors terraform-provider-tls 4.x
// (internal/provider/resource_private_key.go, resource_cert_request.go, resource_self_signed_cert.go,
// resource_locally_signed_cert.go, common_cert.go), which pulumi-tls bridges:
//
// - Every input change replaces the resource, except earlyRenewalHours (updated in place). A PEM input
//   (privateKeyPem, certRequestPem, caPrivateKeyPem, caCertPem) replaces when it changes.
// - Validity: the certificate is valid from its creation for validityPeriodHours; validityStartTime and
//   validityEndTime (RFC 3339) say so; id is the serial number (decimal).
// - Early renewal: a certificate whose validityEndTime minus earlyRenewalHours (default 0) has passed is
//   replaced by the next `up` (the diff says readyForRenewal), without a refresh; readyForRenewal is true from
//   creation when earlyRenewalHours >= validityPeriodHours or validityPeriodHours is 0, and a refresh sets it
//   once the renewal window is reached.
// - Secret outputs: privateKeyPem and privateKeyPemPkcs8 (PrivateKey), privateKeyPem (CertRequest,
//   SelfSignedCert), caPrivateKeyPem (LocallySignedCert).
// Implemented only for what the program uses: ECDSA P256 keys (the real default curve is P224: a key without
// ecdsaCurve is refused rather than made differently), subjects with commonName, organization,
// organizationalUnit, country, locality, province; DNS names; the allowed uses certificates.ts encodes.
// Refused by Check, naming the input: RSA and ED25519 keys, ipAddresses, uris, the write-only (`Wo`) inputs,
// subject key id / authority key id / path length options. Not produced: the OpenSSH forms and fingerprints
// of PrivateKey. Extensions are those of certificates.ts (a self-signed certificate always carries a subject
// key identifier, a locally signed one an authority key identifier).

import * as crypto from "crypto";
import { certificateRequest, locallySignedCertificate, selfSignedCertificate, type Subject } from "../../../scripts/lib/certificates";
import { bool, changedKeys, isUnknown, same, serve, str, wholeNumber, type CheckFailure, type Props, type ResourceType } from "./provider";

/** Every allowed use terraform-provider-tls accepts (common_cert.go keyUsages and extendedKeyUsages). */
export const TLS_ALLOWED_USES = [
    "any_extended",
    "cert_signing",
    "client_auth",
    "code_signing",
    "content_commitment",
    "crl_signing",
    "data_encipherment",
    "decipher_only",
    "digital_signature",
    "email_protection",
    "encipher_only",
    "ipsec_end_system",
    "ipsec_tunnel",
    "ipsec_user",
    "key_agreement",
    "key_encipherment",
    "microsoft_commercial_code_signing",
    "microsoft_kernel_code_signing",
    "microsoft_server_gated_crypto",
    "netscape_server_gated_crypto",
    "ocsp_signing",
    "server_auth",
    "timestamping",
];
/** The ones certificates.ts encodes. */
const IMPLEMENTED_USES = new Set([
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "cert_signing",
    "crl_signing",
    "encipher_only",
    "decipher_only",
    "server_auth",
    "client_auth",
    "code_signing",
    "email_protection",
    "timestamping",
    "ocsp_signing",
]);
const SUBJECT_FIELDS = ["commonName", "organization", "organizationalUnit", "country", "locality", "province"];
const REAL_SUBJECT_FIELDS = [...SUBJECT_FIELDS, "streetAddresses", "postalCode", "serialNumber"];

/** hashForState: the id the real provider gives keys and requests (SHA-1 hex of the trimmed text). */
function hashForState(value: string): string {
    return value === "" ? "" : crypto.createHash("sha1").update(value.trim()).digest("hex");
}

/** common.go's PEM test for requireReplaceIfStateContainsPEMString. */
const PEM = /^-----BEGIN [A-Za-z ]+-----\n[\s\S]+\n-----END [A-Za-z ]+-----\n?$/;

/** A PEM input replaces when it changes and the state holds a PEM (requireReplaceIfStateContainsPEMString). */
function pemReplaces(o: Props, n: Props, keys: readonly string[]): string[] {
    return keys.filter((k) => (isUnknown(n[k]) || !same(o[k], n[k])) && typeof o[k] === "string" && PEM.test(o[k] as string));
}

function checkSubject(f: CheckFailure[], n: Props): void {
    const s = n.subject;
    if (s === undefined || s === null || isUnknown(s)) {
        return;
    }
    if (typeof s !== "object" || Array.isArray(s)) {
        f.push({ property: "subject", reason: `subject: ${JSON.stringify(s)} is not an object` });
        return;
    }
    for (const [k, v] of Object.entries(s as Props)) {
        if (v === undefined || v === null || v === "") continue;
        if (!REAL_SUBJECT_FIELDS.includes(k)) {
            f.push({ property: `subject.${k}`, reason: `subject.${k} is not a subject field (accepted: ${REAL_SUBJECT_FIELDS.join(", ")})` });
        } else if (!SUBJECT_FIELDS.includes(k)) {
            f.push({ property: `subject.${k}`, reason: `subject.${k} is not implemented by this test stand-in (implemented: ${SUBJECT_FIELDS.join(", ")})` });
        } else if (!isUnknown(v) && typeof v !== "string") {
            f.push({ property: `subject.${k}`, reason: `subject.${k}: ${JSON.stringify(v)} is not a string` });
        }
    }
}

function checkStringList(f: CheckFailure[], n: Props, key: string): void {
    const v = n[key];
    if (v === undefined || v === null || isUnknown(v)) return;
    if (!Array.isArray(v) || v.some((x) => !isUnknown(x) && typeof x !== "string")) {
        f.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not a list of strings` });
    }
}

function checkAllowedUses(f: CheckFailure[], n: Props): void {
    const v = n.allowedUses;
    if (v === undefined || v === null) {
        f.push({ property: "allowedUses", reason: "allowedUses is required" });
        return;
    }
    checkStringList(f, n, "allowedUses");
    if (!Array.isArray(v)) return;
    for (const u of v) {
        if (isUnknown(u) || typeof u !== "string") continue;
        if (!TLS_ALLOWED_USES.includes(u)) {
            f.push({ property: "allowedUses", reason: `allowedUses: ${JSON.stringify(u)} is not accepted (accepted: ${TLS_ALLOWED_USES.join(", ")})` });
        } else if (!IMPLEMENTED_USES.has(u)) {
            f.push({ property: "allowedUses", reason: `allowedUses: ${JSON.stringify(u)} is not implemented by this test stand-in (implemented: ${[...IMPLEMENTED_USES].join(", ")})` });
        }
    }
}

/** A PEM input: required, and when known, the kind of key or document the stand-in can use. */
function checkPem(f: CheckFailure[], n: Props, key: string, kind: "ec-key" | "csr" | "cert"): void {
    str(f, n, key, { required: true });
    const v = n[key];
    if (typeof v !== "string" || isUnknown(v)) return;
    try {
        if (kind === "ec-key") {
            const k = crypto.createPrivateKey(v);
            if (k.asymmetricKeyType !== "ec" || k.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
                f.push({ property: key, reason: `${key}: a ${k.asymmetricKeyType} key; this test stand-in signs with ECDSA P256 keys only` });
            }
        } else if (kind === "cert") {
            new crypto.X509Certificate(v);
        } else if (!/-----BEGIN CERTIFICATE REQUEST-----/.test(v)) {
            f.push({ property: key, reason: `${key}: no CERTIFICATE REQUEST in the PEM text` });
        }
    } catch (e) {
        f.push({ property: key, reason: `${key}: not a valid PEM ${kind === "cert" ? "certificate" : "private key"} (${(e as Error).message})` });
    }
}

/** The real provider's planned readyForRenewal at creation (attribute_plan_modifier_bool.ReadyForRenewal). */
function renewAtOnce(n: Props): boolean {
    return n.validityPeriodHours === 0 || (n.earlyRenewalHours as number) >= (n.validityPeriodHours as number);
}

/** Whether a certificate in the state is inside its renewal window now (modifyPlanIfCertificateReadyForRenewal). */
export function inRenewalWindow(validityEndTime: unknown, earlyRenewalHours: unknown, now: Date): boolean {
    if (typeof validityEndTime !== "string" || isUnknown(validityEndTime)) return false;
    const end = Date.parse(validityEndTime);
    if (Number.isNaN(end)) return false;
    const early = typeof earlyRenewalHours === "number" ? earlyRenewalHours : 0;
    return end - early * 3600_000 <= now.getTime();
}

function serialOf(certPem: string): string {
    return BigInt(`0x${new crypto.X509Certificate(certPem).serialNumber}`).toString();
}

function subjectOf(n: Props): Subject {
    return Object.fromEntries(Object.entries((n.subject ?? {}) as Props).filter(([k, v]) => SUBJECT_FIELDS.includes(k) && typeof v === "string" && v !== "")) as Subject;
}

export const privateKey: ResourceType = {
    token: "tls:index/privateKey:PrivateKey",
    inputs: ["algorithm", "ecdsaCurve", "rsaBits"],
    secretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
    check(n) {
        const f: CheckFailure[] = [];
        str(f, n, "algorithm", { required: true, oneOf: ["RSA", "ECDSA", "ED25519"] });
        str(f, n, "ecdsaCurve", { oneOf: ["P224", "P256", "P384", "P521"] });
        wholeNumber(f, n, "rsaBits", { min: 1 });
        if (n.algorithm !== undefined && !isUnknown(n.algorithm) && n.algorithm !== "ECDSA" && ["RSA", "ED25519"].includes(n.algorithm as string)) {
            f.push({ property: "algorithm", reason: `algorithm: ${JSON.stringify(n.algorithm)} is not implemented by this test stand-in (implemented: ECDSA with ecdsaCurve P256)` });
        }
        if (n.algorithm === "ECDSA" && !isUnknown(n.ecdsaCurve) && (n.ecdsaCurve ?? "P224") !== "P256") {
            f.push({
                property: "ecdsaCurve",
                reason: `ecdsaCurve: ${JSON.stringify(n.ecdsaCurve ?? "P224")}${n.ecdsaCurve === undefined ? " (the default)" : ""} is not implemented by this test stand-in (implemented: P256)`,
            });
        }
        return f;
    },
    normalize: (n) => ({ ...n, ecdsaCurve: n.ecdsaCurve ?? "P224", rsaBits: n.rsaBits ?? 2048 }),
    replaces: (o, n) => changedKeys(o, n, ["algorithm", "ecdsaCurve", "rsaBits"]),
    async create() {
        const { privateKey: key, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
        return {
            id: hashForState(publicKeyPem),
            outputs: {
                privateKeyPem: key.export({ type: "sec1", format: "pem" }).toString(),
                privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }).toString(),
                publicKeyPem,
            },
        };
    },
};

export const certRequest: ResourceType = {
    token: "tls:index/certRequest:CertRequest",
    inputs: ["dnsNames", "privateKeyPem", "subject"],
    secretOutputs: ["privateKeyPem"],
    check(n) {
        const f: CheckFailure[] = [];
        checkPem(f, n, "privateKeyPem", "ec-key");
        checkStringList(f, n, "dnsNames");
        checkSubject(f, n);
        return f;
    },
    normalize: (n) => ({ ...n }),
    replaces: (o, n) => [...pemReplaces(o, n, ["privateKeyPem"]), ...changedKeys(o, n, ["dnsNames", "subject"])],
    async create(n) {
        const pem = await certificateRequest({ privateKeyPem: n.privateKeyPem as string, subject: subjectOf(n), dnsNames: (n.dnsNames ?? []) as string[] });
        return { id: hashForState(pem), outputs: { certRequestPem: pem, keyAlgorithm: "ECDSA" } };
    },
};

function certificateChecks(f: CheckFailure[], n: Props): void {
    wholeNumber(f, n, "validityPeriodHours", { required: true, min: 0 });
    wholeNumber(f, n, "earlyRenewalHours", { min: 0 });
    bool(f, n, "isCaCertificate");
    checkAllowedUses(f, n);
}

const certificateDefaults = (n: Props): Props => ({ ...n, earlyRenewalHours: n.earlyRenewalHours ?? 0, isCaCertificate: n.isCaCertificate ?? false });

/** Computed outputs shared by both certificate types. */
function certificateOutputs(issued: { certPem: string; validityStartTime: string; validityEndTime: string }, n: Props): Props {
    return { ...issued, readyForRenewal: renewAtOnce(n) };
}

export const selfSignedCert: ResourceType = {
    token: "tls:index/selfSignedCert:SelfSignedCert",
    inputs: ["allowedUses", "dnsNames", "earlyRenewalHours", "isCaCertificate", "privateKeyPem", "subject", "validityPeriodHours"],
    secretOutputs: ["privateKeyPem"],
    check(n) {
        const f: CheckFailure[] = [];
        checkPem(f, n, "privateKeyPem", "ec-key");
        checkStringList(f, n, "dnsNames");
        checkSubject(f, n);
        certificateChecks(f, n);
        return f;
    },
    normalize: certificateDefaults,
    replaces(o, n, now) {
        return [
            ...pemReplaces(o, n, ["privateKeyPem"]),
            ...changedKeys(o, n, ["allowedUses", "dnsNames", "isCaCertificate", "subject", "validityPeriodHours"]),
            ...(inRenewalWindow(o.validityEndTime, n.earlyRenewalHours, now) ? ["readyForRenewal"] : []),
        ];
    },
    async create(n, now) {
        const issued = await selfSignedCertificate({
            privateKeyPem: n.privateKeyPem as string,
            subject: subjectOf(n),
            validityPeriodHours: n.validityPeriodHours as number,
            allowedUses: n.allowedUses as string[],
            isCaCertificate: n.isCaCertificate === true,
            dnsNames: n.dnsNames as string[] | undefined,
            now,
        });
        return { id: serialOf(issued.certPem), outputs: { ...certificateOutputs(issued, n), keyAlgorithm: "ECDSA" } };
    },
    update: (_o, n) => ({ readyForRenewal: renewAtOnce(n) }),
    read: (s, now) => ({ ...s, readyForRenewal: s.readyForRenewal === true || inRenewalWindow(s.validityEndTime, s.earlyRenewalHours, now) }),
};

export const locallySignedCert: ResourceType = {
    token: "tls:index/locallySignedCert:LocallySignedCert",
    inputs: ["allowedUses", "caCertPem", "caPrivateKeyPem", "certRequestPem", "earlyRenewalHours", "isCaCertificate", "validityPeriodHours"],
    secretOutputs: ["caPrivateKeyPem"],
    check(n) {
        const f: CheckFailure[] = [];
        checkPem(f, n, "certRequestPem", "csr");
        checkPem(f, n, "caPrivateKeyPem", "ec-key");
        checkPem(f, n, "caCertPem", "cert");
        certificateChecks(f, n);
        return f;
    },
    normalize: certificateDefaults,
    replaces(o, n, now) {
        return [
            ...pemReplaces(o, n, ["caCertPem", "caPrivateKeyPem", "certRequestPem"]),
            ...changedKeys(o, n, ["allowedUses", "isCaCertificate", "validityPeriodHours"]),
            ...(inRenewalWindow(o.validityEndTime, n.earlyRenewalHours, now) ? ["readyForRenewal"] : []),
        ];
    },
    async create(n, now) {
        const issued = await locallySignedCertificate({
            certRequestPem: n.certRequestPem as string,
            caPrivateKeyPem: n.caPrivateKeyPem as string,
            caCertPem: n.caCertPem as string,
            validityPeriodHours: n.validityPeriodHours as number,
            allowedUses: n.allowedUses as string[],
            isCaCertificate: n.isCaCertificate === true,
            now,
        });
        return { id: serialOf(issued.certPem), outputs: { ...certificateOutputs(issued, n), caKeyAlgorithm: "ECDSA" } };
    },
    update: (_o, n) => ({ readyForRenewal: renewAtOnce(n) }),
    read: (s, now) => ({ ...s, readyForRenewal: s.readyForRenewal === true || inRenewalWindow(s.validityEndTime, s.earlyRenewalHours, now) }),
};

export const TLS_TYPES: readonly ResourceType[] = [privateKey, certRequest, selfSignedCert, locallySignedCert];

if (require.main === module) {
    void serve("tls", TLS_TYPES, process.argv.slice(2));
}
