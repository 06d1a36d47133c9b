import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, Obj, podBearing, podMetaOf, rec, str, strs } from "./k8s";
import { withUnknowns } from "../reading";

/** Seccomp profile types accepted: the runtime's default, or a node-local (custom, stricter) profile. */
const ACCEPTED_SECCOMP = ["RuntimeDefault", "Localhost"];

/** The value at `path` of the container's securityContext, else of the pod's (Kubernetes: the container wins). */
function effective(sc: Obj, podSc: Obj, ...path: string[]): unknown {
    const own = at(sc, ...path);
    return own !== undefined && own !== null ? own : at(podSc, ...path);
}

/**
 * Every container (init, sidecar and ephemeral containers too) of every pod-bearing kind runs hardened:
 * non-root, unprivileged (no privileged flag, no Windows HostProcess), no privilege escalation, all
 * capabilities dropped, a RuntimeDefault seccomp profile, no unconfined AppArmor profile, the default
 * /proc mount and a read-only root filesystem. These are the Pod Security "restricted" rules plus
 * readOnlyRootFilesystem, checked before the admission controller would reject the pod at runtime.
 */
export const containerSecurityContext: ResourceValidationPolicy = {
    name: "container-security-context",
    description: "Containers run as non-root, unprivileged, without privilege escalation, with all capabilities dropped, RuntimeDefault seccomp and a read-only root filesystem.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const target = podBearing(args.type, args.props);
            if (!target) {
                return;
            }
            const { podSpec, kind } = target;
            const podSc = unknowns.read(() => rec(podSpec.securityContext) ?? {}, {});
            const annotations = unknowns.read(() => rec(at(podMetaOf(kind, args.props), "annotations")) ?? {}, {});
            for (const ref of containersOf(podSpec)) {
                unknowns.run(() => {
                    const sc = rec(ref.c.securityContext) ?? {};
                    const problems: string[] = [];
                    const hints: string[] = [];

                    const runAsNonRoot = effective(sc, podSc, "runAsNonRoot");
                    if (runAsNonRoot !== true) {
                        problems.push("runAsNonRoot is not true");
                        hints.push("set securityContext.runAsNonRoot: true on the pod or the container");
                    }
                    const runAsUser = effective(sc, podSc, "runAsUser");
                    if (runAsUser === 0 || runAsUser === "0") {
                        problems.push("runAsUser is 0 (root)");
                        hints.push("set securityContext.runAsUser to a non-zero UID");
                    }
                    if (sc.privileged === true) {
                        problems.push("privileged is true");
                        hints.push("remove securityContext.privileged or set it to false");
                    }
                    if (effective(sc, podSc, "windowsOptions", "hostProcess") === true) {
                        problems.push("windowsOptions.hostProcess is true (a privileged Windows container)");
                        hints.push("remove securityContext.windowsOptions.hostProcess");
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
                    const seccomp = str(effective(sc, podSc, "seccompProfile", "type"));
                    if (!seccomp || !ACCEPTED_SECCOMP.includes(seccomp)) {
                        problems.push(seccomp ? `seccompProfile is ${seccomp}` : "no seccompProfile");
                        hints.push("set securityContext.seccompProfile.type: RuntimeDefault on the pod or the container");
                    }
                    // AppArmor: the field (1.30+) wins over the legacy per-container annotation.
                    const appArmor = str(effective(sc, podSc, "appArmorProfile", "type")) ?? str(annotations[`container.apparmor.security.beta.kubernetes.io/${ref.name}`]);
                    if (appArmor !== undefined && appArmor.toLowerCase() === "unconfined") {
                        problems.push("the AppArmor profile is Unconfined");
                        hints.push("use the RuntimeDefault (or a Localhost) AppArmor profile");
                    }
                    const procMount = str(sc.procMount);
                    if (procMount !== undefined && procMount !== "Default") {
                        problems.push(`procMount is ${procMount}`);
                        hints.push("remove securityContext.procMount (Default masks /proc)");
                    }
                    if (sc.readOnlyRootFilesystem !== true) {
                        problems.push("readOnlyRootFilesystem is not true");
                        hints.push("set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes on paths that must be writable");
                    }
                    if (problems.length > 0) {
                        reportViolation(message(describeContainer(ref), problems, hints));
                    }
                });
            }
        }),
};
