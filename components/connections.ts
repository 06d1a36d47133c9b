// Shapes shared by the services' connection outputs (the stack outputs service stacks read). Pure.

import type { TlsSettings } from "./config/platform";

import type { TlsConnection } from "./outputs";

/** The TLS part of a service's connection output. */
export function tlsConnection(settings: TlsSettings, app: string): TlsConnection {
    return settings.enabled ? { enabled: true, secretName: `${app}-tls`, caKey: "ca.crt" } : { enabled: false };
}
