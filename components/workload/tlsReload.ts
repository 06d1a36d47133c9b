// Certificate renewal that reaches the running server. A renewed certificate only changes the mounted
// Secret (kubelet refreshes the files within about a minute): nothing restarts the pod, and the servers
// read their certificates at start. A small helper container in the pod watches the files and, when they
// change, asks the server to reload them in place (Redis CONFIG SET tls-*, MariaDB FLUSH SSL), so both
// sources of certificates are covered: the generated CA (renewed by `pulumi up` in the last 30 days) and
// cert-manager (which rotates the Secret on its own schedule).

import type { ResourceSettings } from "../config/service";
import type { ContainerPlan, EnvPlan, MountPlan } from "./plan";
import { scratch } from "./plan";

export const TLS_RELOADER = "tls-reloader";
/** How often the helper compares the mounted files with what the server loaded. */
export const TLS_RELOAD_INTERVAL_SECONDS = 30;
/** A stuck loop (no heartbeat for this long) is restarted by its liveness probe. */
const HEARTBEAT_STALE_SECONDS = 6 * TLS_RELOAD_INTERVAL_SECONDS;
/** A shell loop and a client call: small, bounded. */
export const TLS_RELOADER_RESOURCES: ResourceSettings = { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } };

/**
 * The helper's script (POSIX sh, so it runs in every image): the fingerprint of tls.crt, tls.key and
 * ca.crt at start is what the server loaded; whenever it differs, `reload` runs until it succeeds. A
 * heartbeat file feeds the liveness probe. It is its container's PID 1, which the kernel spares every
 * signal it has no handler for: without the trap SIGTERM did nothing, and each pod deletion or rolling
 * update waited the whole grace period (30 s per pod, measured in tests/pods/redis-prod.spec.ts). The sleep
 * runs in the background so that `wait` returns as soon as the signal arrives.
 */
export function tlsReloaderScript(reload: string): string {
    return [
        "set -u",
        "trap 'exit 0' TERM INT",
        'fingerprint() { cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | sha256sum | cut -d" " -f1; }',
        `reload() { ${reload}; }`,
        'loaded="$(fingerprint)"',
        "while :; do",
        '    now="$(fingerprint)"',
        '    if [ "$now" != "$loaded" ]; then',
        '        if reload; then loaded="$now"; echo "tls-reloader: the certificate changed; the server reloaded it"; else echo "tls-reloader: reloading the certificate failed; retrying" >&2; fi',
        "    fi",
        "    date +%s > /tmp/heartbeat",
        '    sleep "$TLS_RELOAD_INTERVAL_SECONDS" &',
        "    wait $!",
        "done",
    ].join("\n");
}

/** The liveness command: the loop wrote its heartbeat recently. */
export const TLS_RELOADER_LIVENESS = [
    "sh",
    "-c",
    `test "$(( $(date +%s) - $(cat /tmp/heartbeat 2>/dev/null || echo 0) ))" -lt ${HEARTBEAT_STALE_SECONDS}`,
];

/** The helper container: the service's own image (nothing else to pull), the certificate mounted read-only. */
export function tlsReloaderContainer(opts: {
    image: string;
    /** Where the service mounts its certificate; mounted at the same path here. */
    tlsMount: MountPlan;
    /** Shell command that makes the server reload its certificate; exits 0 on success. */
    reload: string;
    /** Extra environment (credentials for the reload command, as Secret references). */
    env?: EnvPlan[];
    /** Extra mounts (the server's socket directory). */
    mounts?: MountPlan[];
}): ContainerPlan {
    return {
        name: TLS_RELOADER,
        image: opts.image,
        command: ["sh", "-c", tlsReloaderScript(opts.reload)],
        ports: [],
        env: [
            { name: "TLS_DIR", value: opts.tlsMount.path },
            { name: "TLS_RELOAD_INTERVAL_SECONDS", value: String(TLS_RELOAD_INTERVAL_SECONDS) },
            ...(opts.env ?? []),
        ],
        resources: TLS_RELOADER_RESOURCES,
        mounts: [opts.tlsMount, ...(opts.mounts ?? []), scratch("reloader-tmp", "/tmp", "16Mi")],
        probes: { liveness: { exec: { command: TLS_RELOADER_LIVENESS }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 } },
    };
}
