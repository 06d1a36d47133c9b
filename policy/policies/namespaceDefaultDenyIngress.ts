import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, isEmptySelector, kindOf, message, namespaceOf, Obj, rec, strs } from "./k8s";
import { indexStack, objectsOfKind, withUnknowns } from "../reading";

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
 * traffic that other policies explicitly allow. Every namespace that runs workloads is declared in
 * the stack as a Namespace object: otherwise its Pod Security labels (namespace-pod-security-labels)
 * cannot be verified and the pods run under whatever the cluster's namespace happens to enforce.
 * Reported once per namespace, not tied to one object: the message starts with `namespace "<ns>"`
 * (the offline runner prints `Namespace <ns>/-`).
 */
export const namespaceDefaultDenyIngress: StackValidationPolicy = {
    name: "namespace-default-deny-ingress",
    description: "Every namespace that runs a StatefulSet has a default-deny ingress NetworkPolicy, and every namespace with workloads is declared in the stack.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const index = indexStack(args.resources, unknowns);
            const statefulSets = new Map<string, string[]>();
            const running = new Map<string, string[]>();
            for (const w of index.workloads) {
                if (w.kind === "StatefulSet") {
                    statefulSets.set(w.namespace, [...(statefulSets.get(w.namespace) ?? []), w.name]);
                }
                // A PodTemplate runs nothing by itself.
                if (w.kind !== "PodTemplate") {
                    running.set(w.namespace, [...(running.get(w.namespace) ?? []), `${w.kind} ${w.name}`]);
                }
            }
            const declared = new Set(objectsOfKind(index, "Namespace").map((n) => n.name));
            const protectedNamespaces = new Set<string>();
            for (const r of args.resources) {
                unknowns.run(() => {
                    const np = rec(r.props);
                    if (kindOf(r.type, "NetworkPolicy") && np && isDefaultDenyIngress(np)) {
                        protectedNamespaces.add(namespaceOf(np));
                    }
                });
            }
            const namespaces = Array.from(new Set([...statefulSets.keys(), ...running.keys()])).sort((a, b) => a.localeCompare(b));
            for (const ns of namespaces) {
                const problems: string[] = [];
                const hints: string[] = [];
                const names = statefulSets.get(ns);
                if (names && !protectedNamespaces.has(ns)) {
                    problems.push(`runs StatefulSet ${names.join(", ")} but has no default-deny ingress NetworkPolicy`);
                    hints.push(`add a NetworkPolicy in namespace ${ns} with podSelector: {}, policyTypes: [Ingress] and no ingress rules, then allow the clients explicitly`);
                }
                if (!declared.has(ns)) {
                    problems.push(`runs ${running.get(ns)!.join(", ")} but is not declared in this stack, so its Pod Security labels cannot be verified`);
                    hints.push(`declare Namespace ${ns} in the stack with the pod-security.kubernetes.io/enforce, audit and warn labels`);
                }
                if (problems.length > 0) {
                    reportViolation(message(`namespace "${ns}"`, problems, hints));
                }
            }
        }),
};
