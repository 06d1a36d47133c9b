import type { StackValidationPolicy } from "@pulumi/policy";
import { message, str } from "./k8s";
import { indexStack } from "./stack";

/**
 * Data workloads get no Kubernetes API token and no shared identity: every StatefulSet names its own
 * ServiceAccount (not "default") and does not mount the token, either through
 * automountServiceAccountToken: false on the pod spec, or (pod field unset) through a ServiceAccount
 * of this stack that sets it to false. The pod-level field wins in Kubernetes, so an explicit true
 * there is a violation whatever the ServiceAccount says. A stack policy, because only the stack
 * shows both objects.
 */
export const statefulsetServiceAccount: StackValidationPolicy = {
    name: "statefulset-service-account",
    description: "StatefulSets use their own ServiceAccount and do not automount its API token.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const index = indexStack(args.resources);
        for (const w of index.workloads) {
            if (w.kind !== "StatefulSet") {
                continue;
            }
            const problems: string[] = [];
            const hints: string[] = [];
            const saName = str(w.podSpec.serviceAccountName) ?? str(w.podSpec.serviceAccount);
            if (!saName || saName === "default") {
                problems.push(saName ? 'it uses the "default" ServiceAccount' : 'it sets no serviceAccountName, so it runs as the "default" ServiceAccount');
                hints.push("create a dedicated ServiceAccount and set spec.template.spec.serviceAccountName");
            }
            const podLevel = w.podSpec.automountServiceAccountToken;
            if (podLevel !== false) {
                const sa = index.objects.get(`ServiceAccount/${w.namespace}/${saName || "default"}`);
                if (podLevel === true) {
                    problems.push("the pod spec sets automountServiceAccountToken: true");
                } else if (!sa) {
                    problems.push(`automountServiceAccountToken is not false on the pod spec and ServiceAccount ${w.namespace}/${saName || "default"} is not part of this stack`);
                } else if (sa.automountServiceAccountToken !== false) {
                    problems.push(`neither the pod spec nor ServiceAccount ${w.namespace}/${saName || "default"} sets automountServiceAccountToken: false`);
                }
                if (podLevel === true || !sa || sa.automountServiceAccountToken !== false) {
                    hints.push("set spec.template.spec.automountServiceAccountToken: false");
                }
            }
            if (problems.length > 0) {
                reportViolation(message("statefulset", problems, hints), w.resource.urn);
            }
        }
    },
};
