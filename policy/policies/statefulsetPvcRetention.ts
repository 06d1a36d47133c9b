import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, kindOf, message, recs, str } from "./k8s";

/**
 * StatefulSets with volumeClaimTemplates state persistentVolumeClaimRetentionPolicy
 * {whenDeleted: Retain, whenScaled: Retain} explicitly. Kubernetes defaults to Retain today, but an
 * explicit value documents the intent, survives a changed default and is visible in review; a
 * Delete here destroys the database on `pulumi destroy` or a scale-down.
 */
export const statefulsetPvcRetention: ResourceValidationPolicy = {
    name: "statefulset-pvc-retention",
    description: "StatefulSets with volumeClaimTemplates explicitly retain their PersistentVolumeClaims when deleted and when scaled down.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!kindOf(args.type, "StatefulSet") || recs(at(args.props, "spec", "volumeClaimTemplates")).length === 0) {
            return;
        }
        const policy = at(args.props, "spec", "persistentVolumeClaimRetentionPolicy");
        const problems: string[] = [];
        for (const field of ["whenDeleted", "whenScaled"]) {
            const v = str(at(policy, field));
            if (v === undefined) {
                problems.push(`persistentVolumeClaimRetentionPolicy.${field} is not set (the implicit Retain default must be stated explicitly)`);
            } else if (v !== "Retain") {
                problems.push(`persistentVolumeClaimRetentionPolicy.${field} is ${v}, which deletes the data volumes`);
            }
        }
        if (problems.length > 0) {
            reportViolation(message("statefulset", problems, ["set spec.persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}"]));
        }
    },
};
