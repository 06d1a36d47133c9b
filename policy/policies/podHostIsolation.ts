import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, containersOf, describeContainer, kindOf, message, podBearing, rec, recs, str } from "./k8s";
import { withUnknowns } from "../reading";

/**
 * Pods stay inside their own Linux namespaces and off the node's filesystem: no hostNetwork,
 * hostPID or hostIPC, no hostPath volumes (nor hostPath PersistentVolumes for them to claim) and no
 * hostPort on any container (init, sidecar and ephemeral containers included). Any of these lets a
 * compromised data service reach the node or its neighbours.
 */
export const podHostIsolation: ResourceValidationPolicy = {
    name: "pod-host-isolation",
    description: "Pods do not share the node's network, PID or IPC namespaces and mount no hostPath volumes or hostPorts.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            if (kindOf(args.type, "PersistentVolume")) {
                // A PersistentVolume of type hostPath hands a node directory to whichever pod claims it.
                const hostPath = str(at(args.props, "spec", "hostPath", "path"));
                if (hostPath !== undefined) {
                    reportViolation(message("persistentvolume", [`is a hostPath volume (${hostPath}), so the pod that claims it mounts the node's filesystem`], ["use a storage class that provisions network or block storage instead of hostPath PersistentVolumes"]));
                }
                return;
            }
            const target = podBearing(args.type, args.props);
            if (!target) {
                return;
            }
            const { podSpec } = target;
            const problems: string[] = [];
            const hints: string[] = [];
            for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
                unknowns.run(() => {
                    if (podSpec[field] === true) {
                        problems.push(`${field} is true`);
                        hints.push(`remove spec.${field} (or set it to false)`);
                    }
                });
            }
            for (const v of recs(podSpec.volumes)) {
                unknowns.run(() => {
                    if (rec(v.hostPath)) {
                        problems.push(`volume "${str(v.name) ?? "?"}" is a hostPath (${str(at(v, "hostPath", "path")) ?? "?"})`);
                        hints.push("replace hostPath volumes with a PersistentVolumeClaim, emptyDir, configMap or secret volume");
                    }
                });
            }
            for (const ref of containersOf(podSpec)) {
                for (const p of recs(ref.c.ports)) {
                    unknowns.run(() => {
                        if (p.hostPort !== undefined && p.hostPort !== null && p.hostPort !== 0 && p.hostPort !== "0") {
                            problems.push(`${describeContainer(ref)} binds hostPort ${String(p.hostPort)}`);
                            hints.push("remove hostPort and expose the port through a ClusterIP Service");
                        }
                    });
                }
            }
            if (problems.length > 0) {
                reportViolation(message("pod spec", problems, hints));
            }
        }),
};
