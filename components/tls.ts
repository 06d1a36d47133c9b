// TLS for the client endpoints: a certificate per service, issued by a cert-manager Issuer named in
// stack config, or signed by a CA this program generates with @pulumi/tls when no Issuer is given.
// Either way the result is a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { TlsSettings } from "./config/platform";
import { serviceDnsNames } from "./dnsNames";

/** Validity of generated certificates: one year for servers, ten for the CA; re-run `up` to renew. */
const SERVER_CERT_HOURS = 24 * 365;
const CA_CERT_HOURS = 24 * 365 * 10;

export interface CertificateAuthorityArgs {
    /** Common name of the generated CA. Default "msa-infra CA". */
    commonName?: string;
    /** Protect the CA key from `pulumi destroy` (clients trust it). Default false. */
    protect?: boolean;
}

/** A self-signed CA whose certificate clients trust (exported as a stack output). */
export class CertificateAuthority extends pulumi.ComponentResource {
    public readonly key: tls.PrivateKey;
    public readonly certificate: tls.SelfSignedCert;
    /** PEM of the CA certificate (public). */
    public readonly certPem: pulumi.Output<string>;

    constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("msa-infra:index:CertificateAuthority", name, {}, opts);
        const protect = args.protect ?? false;
        this.key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this, protect });
        this.certificate = new tls.SelfSignedCert(
            `${name}-cert`,
            {
                privateKeyPem: this.key.privateKeyPem,
                isCaCertificate: true,
                validityPeriodHours: CA_CERT_HOURS,
                earlyRenewalHours: 24 * 30,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                subject: { commonName: args.commonName ?? "msa-infra CA", organization: "msa-infra" },
            },
            { parent: this, protect },
        );
        this.certPem = this.certificate.certPem;
        this.registerOutputs({ certPem: this.certPem });
    }
}

export interface ServiceCertificateArgs {
    /** The service's app name: the Secret is `<app>-tls`, the names are its Services' and pods'. */
    app: string;
    /** Namespace name of the service (for the DNS names). */
    namespaceName: string;
    /** Namespace of the resulting Secret (the Namespace resource's name output, so it is created first). */
    namespace: pulumi.Input<string>;
    /** Pods of the StatefulSet, each of which gets its own DNS name in the certificate. */
    replicas: number;
    /** Labels for the Secret / Certificate. */
    labels: Record<string, string>;
    /** Stack TLS settings: the Issuer to use, if any. */
    settings: TlsSettings;
    /** The generated CA, required when no Issuer is configured. */
    ca?: CertificateAuthority;
}

/** What a service's certificate gives the renderer. */
export interface ServiceCertificate {
    /** The Secret's name, as an output of what creates it, so pods that mount it depend on it. */
    secretName: pulumi.Output<string>;
    /** A generated certificate's end of validity (RFC 3339); cert-manager's certificates report theirs as a metric. */
    notAfter?: pulumi.Output<string>;
}

/** Creates the TLS Secret `<app>-tls` for one service, as children of `parent`. */
export function createServiceCertificate(name: string, args: ServiceCertificateArgs, parent: pulumi.Resource): ServiceCertificate {
    const secretName = `${args.app}-tls`;
    const dnsNames = serviceDnsNames(args.app, args.namespaceName, args.replicas);
    if (args.settings.issuer) {
        const certificate = new k8s.apiextensions.CustomResource(
            `${name}-certificate`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name: secretName, namespace: args.namespace, labels: args.labels },
                spec: {
                    secretName: secretName,
                    dnsNames: dnsNames,
                    issuerRef: { name: args.settings.issuer.name, kind: args.settings.issuer.kind, group: "cert-manager.io" },
                    privateKey: { algorithm: "ECDSA", size: 256, encoding: "PKCS8", rotationPolicy: "Always" },
                    usages: ["server auth", "digital signature", "key encipherment"],
                },
            },
            { parent },
        );
        // cert-manager writes the Secret; depending on the Certificate is the closest the program can get.
        return { secretName: certificate.metadata.name.apply(() => secretName) };
    }
    if (!args.ca) {
        throw new pulumi.ResourceError(`${name}: TLS is enabled without an Issuer, so a generated CA is required`, parent);
    }
    const key = new tls.PrivateKey(`${name}-tls-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });
    const request = new tls.CertRequest(
        `${name}-tls-request`,
        { privateKeyPem: key.privateKeyPem, dnsNames: dnsNames, subject: { commonName: dnsNames[0], organization: "msa-infra" } },
        { parent },
    );
    const cert = new tls.LocallySignedCert(
        `${name}-tls-cert`,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: args.ca.key.privateKeyPem,
            caCertPem: args.ca.certPem,
            validityPeriodHours: SERVER_CERT_HOURS,
            earlyRenewalHours: 24 * 30,
            allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
        },
        { parent },
    );
    const secret = new k8s.core.v1.Secret(
        `${name}-tls`,
        {
            metadata: { name: secretName, namespace: args.namespace, labels: args.labels },
            type: "kubernetes.io/tls",
            stringData: {
                "tls.crt": cert.certPem,
                // PKCS#8 so every server (MariaDB, Redis, Kafka's PEM key store) reads the same file.
                "tls.key": pulumi.secret(key.privateKeyPemPkcs8),
                "ca.crt": args.ca.certPem,
            },
        },
        { parent },
    );
    return { secretName: secret.metadata.name, notAfter: cert.validityEndTime };
}
