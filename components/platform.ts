// The platform context: the stack-wide settings every service component applies (storage class, pod
// security level, NetworkPolicies, TLS and its CA, protection), passed down as one typed object.

import { PLATFORM_KEYS, type PlatformSettings } from "./config/platform";
import type { CertificateAuthority } from "./tls";

export interface PlatformContext extends PlatformSettings {
    /** The generated CA that signs the service certificates when TLS is on and no Issuer is configured. */
    ca?: CertificateAuthority;
}

/** The platform context of a validated stack config. */
export function platformContext(config: PlatformSettings, ca?: CertificateAuthority): PlatformContext {
    const settings = Object.fromEntries(PLATFORM_KEYS.map((k) => [k, config[k]])) as unknown as PlatformSettings;
    return { ...settings, ca };
}
