// Pod hardening for the Restricted Pod Security Standard: one helper builds the pod and container
// security settings for every workload, from the real user of each official image.

import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PodSecurityLevel } from "./config/platform";
import type { ImageUser } from "./imageUsers";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** Pod-level settings: non-root user, fsGroup so fresh volumes are writable, RuntimeDefault seccomp. */
export function podSecurityContext(user: ImageUser): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: user.uid,
        runAsGroup: user.gid,
        fsGroup: user.fsGroup,
        // Only walk the volume when its root is not ours yet: large data dirs start faster.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level settings: nothing to escalate to, no capabilities, read-only root filesystem. */
export function containerSecurityContext(user: ImageUser): SecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: user.uid,
        runAsGroup: user.gid,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Pod spec fields every data workload shares: its own ServiceAccount, no API token, no service links. */
export function hardenedPodFields(user: ImageUser, serviceAccountName: pulumi.Input<string>) {
    return {
        serviceAccountName,
        automountServiceAccountToken: false,
        // Service links inject KAFKA_PORT & co; the Kafka image turns KAFKA_* variables into properties.
        enableServiceLinks: false,
        securityContext: podSecurityContext(user),
    };
}

/**
 * Namespace labels that make the API server enforce a Pod Security level. Audit and warn always use
 * restricted, so a relaxed stack still reports what would break under the strict level.
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    };
}
