import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, podBearing, rec, str, strs } from "./k8s";

/** Seccomp profile types accepted: the runtime's default, or a node-local (custom, stricter) profile. */
const ACCEPTED_SECCOMP = ["RuntimeDefault", "Localhost"];

/**
 * Every container (init and ephemeral containers too) of every pod-bearing kind runs hardened:
 * non-root, unprivileged, no privilege escalation, all capabilities dropped, a RuntimeDefault seccomp
 * profile and a read-only root filesystem. These are the Pod Security "restricted" rules plus
 * readOnlyRootFilesystem, checked before the admission controller would reject the pod at runtime.
 */
export const containerSecurityContext: ResourceValidationPolicy = {
    name: "container-security-context",
    description: "Containers run as non-root, unprivileged, without privilege escalation, with all capabilities dropped, RuntimeDefault seccomp and a read-only root filesystem.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const target = podBearing(args.type, args.props);
        if (!target) {
            return;
        }
        const { podSpec } = target;
        const podSc = rec(podSpec.securityContext) ?? {};
        for (const ref of containersOf(podSpec)) {
            const sc = rec(ref.c.securityContext) ?? {};
            const problems: string[] = [];
            const hints: string[] = [];

            // Container-level settings win over pod-level ones (Kubernetes semantics).
            const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
            if (runAsNonRoot !== true) {
                problems.push("runAsNonRoot is not true");
                hints.push("set securityContext.runAsNonRoot: true on the pod or the container");
            }
            const runAsUser = sc.runAsUser ?? podSc.runAsUser;
            if (runAsUser === 0 || runAsUser === "0") {
                problems.push("runAsUser is 0 (root)");
                hints.push("set securityContext.runAsUser to a non-zero UID");
            }
            if (sc.privileged === true) {
                problems.push("privileged is true");
                hints.push("remove securityContext.privileged or set it to false");
            }
            if (sc.allowPrivilegeEscalation !== false) {
                problems.push("allowPrivilegeEscalation is not false");
                hints.push("set securityContext.allowPrivilegeEscalation: false");
            }
            const drop = strs(at(sc, "capabilities", "drop")).map((c) => c.toUpperCase());
            if (!drop.includes("ALL")) {
                problems.push("capabilities.drop does not contain ALL");
                hints.push('set securityContext.capabilities.drop: ["ALL"]');
            }
            const added = strs(at(sc, "capabilities", "add")).filter((c) => c.toUpperCase().replace(/^CAP_/, "") !== "NET_BIND_SERVICE");
            if (added.length > 0) {
                problems.push(`capabilities.add grants ${added.join(", ")}`);
                hints.push("remove capabilities.add (only NET_BIND_SERVICE is tolerated)");
            }
            const seccomp = str(at(sc, "seccompProfile", "type")) ?? str(at(podSc, "seccompProfile", "type"));
            if (!seccomp || !ACCEPTED_SECCOMP.includes(seccomp)) {
                problems.push(seccomp ? `seccompProfile is ${seccomp}` : "no seccompProfile");
                hints.push("set securityContext.seccompProfile.type: RuntimeDefault on the pod or the container");
            }
            if (sc.readOnlyRootFilesystem !== true) {
                problems.push("readOnlyRootFilesystem is not true");
                hints.push("set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes on paths that must be writable");
            }
            if (problems.length > 0) {
                reportViolation(message(describeContainer(ref), problems, hints));
            }
        }
    },
};
