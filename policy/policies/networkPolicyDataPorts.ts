import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, at, containersOf, isEmptySelector, kindOf, message, namespaceOf, Obj, rec, recs, resolveConfig, str, strs } from "./k8s";
import { DataPortsConfig, dataPortsSchema } from "./dataServiceExposure";
import { indexStack, StackIndex } from "./stack";

/** Why an ingress rule admits every source, or undefined when its peers are restricted. */
export function openSource(rule: Obj): string | undefined {
    const from = rule.from;
    if (from === undefined || from === null || (Array.isArray(from) && arr(from).length === 0)) {
        return "it has no from, so every source";
    }
    for (const peer of recs(from)) {
        const cidr = str(at(peer, "ipBlock", "cidr"));
        if (cidr === "0.0.0.0/0" || cidr === "::/0") {
            return `ipBlock ${cidr}`;
        }
        if (peer.namespaceSelector !== undefined && peer.namespaceSelector !== null && isEmptySelector(peer.namespaceSelector) && isEmptySelector(peer.podSelector)) {
            return "namespaceSelector {} without a podSelector, so every pod of every namespace";
        }
    }
    return undefined;
}

function namedPorts(index: StackIndex, namespace: string): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const w of index.workloads) {
        if (w.namespace !== namespace) {
            continue;
        }
        for (const ref of containersOf(w.podSpec)) {
            for (const p of recs(ref.c.ports)) {
                const n = str(p.name);
                if (n && typeof p.containerPort === "number") {
                    out.set(n, [...(out.get(n) ?? []), p.containerPort]);
                }
            }
        }
    }
    return out;
}

/** The data ports a rule's `ports` list covers (absent/empty list = all ports). */
export function coveredDataPorts(rule: Obj, dataPorts: readonly number[], named: Map<string, number[]>): number[] {
    const entries = recs(rule.ports);
    if (arr(rule.ports).length === 0) {
        return [...dataPorts];
    }
    const covered = new Set<number>();
    for (const e of entries) {
        const protocol = str(e.protocol) ?? "TCP";
        if (protocol !== "TCP") {
            continue;
        }
        const port = e.port;
        if (port === undefined || port === null) {
            dataPorts.forEach((p) => covered.add(p));
        } else if (typeof port === "number") {
            const end = typeof e.endPort === "number" ? e.endPort : port;
            dataPorts.filter((p) => p >= port && p <= end).forEach((p) => covered.add(p));
        } else if (typeof port === "string") {
            const numeric = /^\d+$/.test(port) ? [Number(port)] : named.get(port) ?? [];
            numeric.filter((p) => dataPorts.includes(p)).forEach((p) => covered.add(p));
        }
    }
    return Array.from(covered).sort((a, b) => a - b);
}

/**
 * No NetworkPolicy opens a data port to all sources: an ingress rule without `from`, with a peer
 * `namespaceSelector: {}` and no podSelector, or with ipBlock 0.0.0.0/0 or ::/0 must not cover a
 * data port (rules without ports cover all ports; named ports are resolved through the container
 * ports of the stack's workloads in the same namespace). A stack policy for that resolution.
 */
export const networkPolicyDataPorts: StackValidationPolicy = {
    name: "network-policy-data-ports",
    description: "No NetworkPolicy ingress rule opens a data port to all sources (no from, an empty namespaceSelector or 0.0.0.0/0).",
    enforcementLevel: "mandatory",
    configSchema: dataPortsSchema,
    validateStack: (args, reportViolation) => {
        const cfg = resolveConfig<DataPortsConfig>(dataPortsSchema, () => args.getConfig());
        const dataPorts = cfg.dataPorts ?? [];
        const index = indexStack(args.resources);
        for (const r of args.resources) {
            const np = rec(r.props);
            if (!kindOf(r.type, "NetworkPolicy") || !np) {
                continue;
            }
            const spec = rec(np.spec) ?? {};
            const types = spec.policyTypes === undefined ? ["Ingress"] : strs(spec.policyTypes);
            if (!types.includes("Ingress")) {
                continue;
            }
            const named = namedPorts(index, namespaceOf(np));
            const problems: string[] = [];
            recs(spec.ingress).forEach((rule, i) => {
                const why = openSource(rule);
                const ports = why ? coveredDataPorts(rule, dataPorts, named) : [];
                if (why && ports.length > 0) {
                    problems.push(`ingress rule #${i + 1} opens data port(s) ${ports.join(", ")} to all sources (${why})`);
                }
            });
            if (problems.length > 0) {
                reportViolation(
                    message("networkpolicy", problems, ["restrict `from` to the client namespaces and pods (namespaceSelector with matchLabels such as kubernetes.io/metadata.name, plus a podSelector) and list only the needed ports"]),
                    r.urn,
                );
            }
        }
    },
};
