import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, kindOf, message, namespaceOf, Obj, rec, recs, resolveConfig, str, strs } from "./k8s";
import { DataPortsConfig, dataPortsSchema } from "./dataServiceExposure";
import { asPortNumber, namedContainerPorts, objectsOfKind, openSource, PodReading, readKafkaBroker, readMariaDbServer, readRedisServer, selectorMatches, StackIndex, withUnknowns, Workload } from "../reading";
import { readWholeStack } from "./verdicts";

export { openSource } from "../reading";

/** Workloads of `namespace` whose pod labels a selector selects (a Service's plain map or a LabelSelector). */
function selectedWorkloads(index: StackIndex, namespace: string, selector: unknown, plainMap: boolean): Workload[] {
    return index.workloads.filter((w) => {
        if (w.namespace !== namespace) {
            return false;
        }
        const labels = rec(w.podMeta?.labels);
        return plainMap ? selectorMatches({ matchLabels: rec(selector) ?? {} }, labels) : selectorMatches(selector, labels);
    });
}

function namedPortsOf(workloads: readonly Workload[]): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const named = namedContainerPorts(workloads.flatMap((w) => w.containers.map((c) => c.c)));
    for (const [name, ports] of named) {
        out.set(
            name,
            ports.filter((p) => p.protocol === "TCP").map((p) => p.port),
        );
    }
    return out;
}

/** The TCP ports the data servers of a workload listen on, as their configuration says (redis port 7000...). */
function serverPorts(pod: PodReading | undefined): Map<number, string> {
    const out = new Map<number, string>();
    for (const c of pod?.containers ?? []) {
        for (const p of c.run.procs) {
            if (p.kind !== "server") {
                continue;
            }
            const v = p.server === "redis" ? readRedisServer(p) : p.server === "kafka" ? readKafkaBroker(p) : readMariaDbServer(p);
            if (v.ports !== "unknown") {
                v.ports.forEach((n) => out.set(n, p.server === "redis" ? "Redis" : p.server === "kafka" ? "Kafka" : "MariaDB"));
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
 * No data port is open to all sources. A NetworkPolicy ingress rule must not admit everyone to a
 * data port: no `from`, a peer whose namespaceSelector (and podSelector) select every namespace (`{}`,
 * only NotIn/DoesNotExist requirements, Exists on kubernetes.io/metadata.name), or ipBlocks that
 * together admit the public internet (0.0.0.0/0, ::/0, 0.0.0.0/1 + 128.0.0.0/1, ::ffff:0:0/96, any /8
 * of public space). Rules without ports cover all ports; named ports resolve through the container
 * ports of the pods the NetworkPolicy selects. An externally exposed Service (NodePort,
 * LoadBalancer, externalIPs) must not reach a data port through a named targetPort either (numeric
 * ports are data-service-exposure's): the name resolves to the container port of the selected pods.
 */
export const networkPolicyDataPorts: StackValidationPolicy = {
    name: "network-policy-data-ports",
    description: "No NetworkPolicy ingress rule or exposed Service opens a data port to all sources (no from, selectors matching every namespace, internet CIDRs, named ports).",
    enforcementLevel: "mandatory",
    configSchema: dataPortsSchema,
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const cfg = resolveConfig<DataPortsConfig>(dataPortsSchema, () => args.getConfig());
            const dataPorts = cfg.dataPorts ?? [];
            const stack = readWholeStack(args.resources, unknowns);
            const index = stack.index;
            for (const r of args.resources) {
                unknowns.run(() => {
                    const np = rec(r.props);
                    if (!kindOf(r.type, "NetworkPolicy") || !np) {
                        return;
                    }
                    const spec = rec(np.spec) ?? {};
                    const types = spec.policyTypes === undefined ? ["Ingress"] : strs(spec.policyTypes);
                    if (!types.includes("Ingress")) {
                        return;
                    }
                    const ns = namespaceOf(np);
                    const selected = selectedWorkloads(index, ns, spec.podSelector, false);
                    const named = namedPortsOf(selected.length > 0 ? selected : index.workloads.filter((w) => w.namespace === ns));
                    const problems: string[] = [];
                    // The configured data ports, and the ports the selected pods' data servers really listen on.
                    const listening = new Set<number>(dataPorts);
                    for (const w of selected) {
                        serverPorts(stack.pods.get(w)).forEach((_, n) => listening.add(n));
                    }
                    recs(spec.ingress).forEach((rule, i) => {
                        const why = openSource(rule);
                        const ports = why ? coveredDataPorts(rule, Array.from(listening), named) : [];
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
                });
            }
            for (const svc of objectsOfKind(index, "Service")) {
                unknowns.run(() => {
                    const spec = rec(svc.props.spec) ?? {};
                    const type = str(spec.type) ?? "ClusterIP";
                    const exposedBy = [type === "NodePort" || type === "LoadBalancer" ? `type ${type}` : undefined, arr(spec.externalIPs).length > 0 ? "externalIPs" : undefined].filter(
                        (x): x is string => x !== undefined,
                    );
                    if (exposedBy.length === 0 || type === "ExternalName") {
                        return;
                    }
                    if (rec(spec.selector) === undefined) {
                        // No selector: the Service sends traffic to the addresses and ports of its Endpoints/EndpointSlices.
                        const endpointPorts = objectsOfKind(index, "Endpoints")
                            .filter((e) => e.namespace === svc.namespace && e.name === svc.name)
                            .flatMap((e) => recs(e.props.subsets).flatMap((ss) => recs(ss.ports).map((p) => asPortNumber(p.port))));
                        const slicePorts = objectsOfKind(index, "EndpointSlice")
                            .filter((e) => e.namespace === svc.namespace && str(rec(rec(e.props.metadata)?.labels)?.["kubernetes.io/service-name"]) === svc.name)
                            .flatMap((e) => recs(e.props.ports).map((p) => asPortNumber(p.port)));
                        const ports = [...endpointPorts, ...slicePorts].filter((n): n is number => n !== undefined);
                        const servers = new Map<number, string>();
                        index.workloads.filter((w) => w.namespace === svc.namespace).forEach((w) => serverPorts(stack.pods.get(w)).forEach((k, n) => servers.set(n, k)));
                        const hits = Array.from(new Set(ports.filter((n) => dataPorts.includes(n) || servers.has(n))));
                        if (hits.length > 0) {
                            reportViolation(
                                message("service", [`it has no selector, and its Endpoints/EndpointSlices send the traffic it receives (exposed by ${exposedBy.join(" and ")}) to port(s) ${hits.join(", ")}, where data servers listen`], [
                                    "use type ClusterIP (or a headless Service) without externalIPs for data ports, whatever the Service's own port; reach the data service from outside through kubectl port-forward or an authenticated proxy",
                                ]),
                                svc.resource.urn,
                            );
                        }
                        return;
                    }
                    const selected = selectedWorkloads(index, svc.namespace, spec.selector, true);
                    const named = namedPortsOf(selected);
                    const servers = new Map<number, string>();
                    selected.forEach((w) => serverPorts(stack.pods.get(w)).forEach((k, n) => servers.set(n, k)));
                    const problems: string[] = [];
                    for (const p of recs(spec.ports)) {
                        const target = p.targetPort ?? p.port;
                        if (dataPorts.includes(asPortNumber(p.port) ?? -1) || dataPorts.includes(asPortNumber(target) ?? -1)) {
                            continue; // a configured data port as a number: data-service-exposure reports it
                        }
                        const numbers = typeof target === "string" && !/^\d+$/.test(target) ? (named.get(target) ?? []) : [asPortNumber(target)].filter((n): n is number => n !== undefined);
                        const hits = numbers.filter((n) => dataPorts.includes(n));
                        const listening = numbers.filter((n) => servers.has(n) && !dataPorts.includes(n));
                        if (hits.length > 0) {
                            problems.push(`port ${String(p.port)} (targetPort "${String(target)}") reaches data port(s) ${Array.from(new Set(hits)).join(", ")} of the selected pods and is exposed by ${exposedBy.join(" and ")}`);
                        } else if (listening.length > 0) {
                            problems.push(`port ${String(p.port)} (targetPort ${String(target)}) reaches the port ${listening.map((n) => `${n} where ${servers.get(n)} listens`).join(", ")} in the selected pods and is exposed by ${exposedBy.join(" and ")}`);
                        }
                    }
                    if (problems.length > 0) {
                        reportViolation(
                            message("service", problems, ["use type ClusterIP (or a headless Service) without externalIPs for data ports, whatever the port is named; reach the data service from outside through kubectl port-forward or an authenticated proxy"]),
                            svc.resource.urn,
                        );
                    }
                });
            }
        }),
};
