// Shapes shared by the services' connection outputs (the stack outputs service stacks read). Pure.

import type { TlsSettings } from "./config/platform";

/** TLS details of a service's connection output: where clients find the CA. */
export type TlsConnection = { enabled: true; secretName: string; caKey: "ca.crt" } | { enabled: false };

/** The TLS part of a service's connection output. */
export function tlsConnection(settings: TlsSettings, app: string): TlsConnection {
    return settings.enabled ? { enabled: true, secretName: `${app}-tls`, caKey: "ca.crt" } : { enabled: false };
}
