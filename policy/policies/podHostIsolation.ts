import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, message, podBearing, rec, recs, str } from "./k8s";

/**
 * Pods stay inside their own Linux namespaces and off the node's filesystem: no hostNetwork,
 * hostPID or hostIPC, no hostPath volumes and no hostPort on any container. Any of these lets a
 * compromised data service reach the node or its neighbours.
 */
export const podHostIsolation: ResourceValidationPolicy = {
    name: "pod-host-isolation",
    description: "Pods do not share the node's network, PID or IPC namespaces and mount no hostPath volumes or hostPorts.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const target = podBearing(args.type, args.props);
        if (!target) {
            return;
        }
        const { podSpec } = target;
        const problems: string[] = [];
        const hints: string[] = [];
        for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
            if (podSpec[field] === true) {
                problems.push(`${field} is true`);
                hints.push(`remove spec.${field} (or set it to false)`);
            }
        }
        for (const v of recs(podSpec.volumes)) {
            if (rec(v.hostPath)) {
                problems.push(`volume "${str(v.name) ?? "?"}" is a hostPath (${str(at(v, "hostPath", "path")) ?? "?"})`);
                hints.push("replace hostPath volumes with a PersistentVolumeClaim, emptyDir, configMap or secret volume");
            }
        }
        for (const ref of containersOf(podSpec)) {
            for (const p of recs(ref.c.ports)) {
                if (p.hostPort !== undefined && p.hostPort !== null && p.hostPort !== 0) {
                    problems.push(`${describeContainer(ref)} binds hostPort ${String(p.hostPort)}`);
                    hints.push("remove hostPort and expose the port through a ClusterIP Service");
                }
            }
        }
        if (problems.length > 0) {
            reportViolation(message("pod spec", problems, hints));
        }
    },
};
