import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, isEmptySelector, kindOf, message, namespaceOf, Obj, rec, strs } from "./k8s";
import { indexStack } from "./stack";

/** True when a NetworkPolicy denies all ingress to every pod of its namespace. */
export function isDefaultDenyIngress(np: Obj): boolean {
    const spec = rec(np.spec);
    if (!spec || !isEmptySelector(spec.podSelector)) {
        return false;
    }
    // Without policyTypes Kubernetes implies Ingress; with it, Ingress must be listed.
    const types = spec.policyTypes === undefined ? ["Ingress"] : strs(spec.policyTypes);
    return types.includes("Ingress") && arr(spec.ingress).length === 0;
}

/**
 * Every namespace that runs a StatefulSet has a default-deny ingress NetworkPolicy (empty
 * podSelector, policyTypes containing Ingress, no ingress rules), so data pods only accept the
 * traffic that other policies explicitly allow. Reported once per namespace, not tied to one
 * object: the message starts with `namespace "<ns>"` (the offline runner prints `Namespace <ns>/-`).
 */
export const namespaceDefaultDenyIngress: StackValidationPolicy = {
    name: "namespace-default-deny-ingress",
    description: "Every namespace that runs a StatefulSet has a default-deny ingress NetworkPolicy.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const index = indexStack(args.resources);
        const statefulSets = new Map<string, string[]>();
        for (const w of index.workloads) {
            if (w.kind === "StatefulSet") {
                statefulSets.set(w.namespace, [...(statefulSets.get(w.namespace) ?? []), w.name]);
            }
        }
        const protectedNamespaces = new Set<string>();
        for (const r of args.resources) {
            const np = rec(r.props);
            if (kindOf(r.type, "NetworkPolicy") && np && isDefaultDenyIngress(np)) {
                protectedNamespaces.add(namespaceOf(np));
            }
        }
        for (const [ns, names] of Array.from(statefulSets.entries()).sort(([a], [b]) => a.localeCompare(b))) {
            if (!protectedNamespaces.has(ns)) {
                reportViolation(
                    message(`namespace "${ns}"`, [`runs StatefulSet ${names.join(", ")} but has no default-deny ingress NetworkPolicy`], [
                        `add a NetworkPolicy in namespace ${ns} with podSelector: {}, policyTypes: [Ingress] and no ingress rules, then allow the clients explicitly`,
                    ]),
                );
            }
        }
    },
};
