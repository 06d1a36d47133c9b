// A small NetworkPolicy evaluator (matchLabels selectors, TCP/UDP ports) used to test the rendered
// policies as a connectivity matrix: who may connect to whom, on which port.

import type { Manifest } from "../../scripts/lib/mockRuntime";

export interface Pod {
    namespace: string;
    labels: Record<string, string>;
    /** The namespace's own labels; kubernetes.io/metadata.name is always its name, as the API server sets it. */
    namespaceLabels?: Record<string, string>;
}

interface Selector {
    matchLabels?: Record<string, string>;
    matchExpressions?: unknown[];
}

interface Peer {
    podSelector?: Selector;
    namespaceSelector?: Selector;
    ipBlock?: unknown;
}

interface Rule {
    from?: Peer[];
    to?: Peer[];
    ports?: { protocol?: string; port?: number | string }[];
}

interface PolicySpec {
    podSelector?: Selector;
    policyTypes?: string[];
    ingress?: Rule[];
    egress?: Rule[];
}

function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
    if (selector?.matchExpressions?.length) {
        throw new Error("matchExpressions are not supported by this evaluator");
    }
    return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function namespaceLabels(pod: Pod): Record<string, string> {
    // The API server overwrites this label with the name, whatever a manifest says.
    return { ...pod.namespaceLabels, "kubernetes.io/metadata.name": pod.namespace };
}

function peerMatches(peer: Peer, policyNamespace: string, other: Pod): boolean {
    if (peer.ipBlock) {
        return false; // pod-to-pod traffic in these tests never comes from an ipBlock
    }
    const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, namespaceLabels(other)) : other.namespace === policyNamespace;
    const podOk = peer.podSelector ? matches(peer.podSelector, other.labels) : true;
    return nsOk && podOk;
}

function portMatches(rule: Rule, port: number, protocol: string): boolean {
    if (!rule.ports || rule.ports.length === 0) {
        return true;
    }
    return rule.ports.some((p) => (p.protocol ?? "TCP") === protocol && (p.port === undefined || Number(p.port) === port));
}

function direction(policies: Manifest[], subject: Pod, other: Pod, port: number, protocol: string, kind: "Ingress" | "Egress"): boolean {
    const selecting = policies.filter((p) => {
        if (p.kind !== "NetworkPolicy") {
            return false;
        }
        const spec = p.spec as PolicySpec;
        const types = spec.policyTypes ?? (kind === "Ingress" ? ["Ingress"] : []);
        return p.metadata.namespace === subject.namespace && types.includes(kind) && matches(spec.podSelector, subject.labels);
    });
    if (selecting.length === 0) {
        return true; // not isolated in this direction
    }
    return selecting.some((p) => {
        const spec = p.spec as PolicySpec;
        const rules = (kind === "Ingress" ? spec.ingress : spec.egress) ?? [];
        return rules.some((r) => {
            const peers = kind === "Ingress" ? r.from : r.to;
            const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, subject.namespace, other));
            return peerOk && portMatches(r, port, protocol);
        });
    });
}

/** Whether `from` may open a connection to `to` on `port`, given every NetworkPolicy in `objects`. */
export function connectionAllowed(objects: Manifest[], from: Pod, to: Pod, port: number, protocol = "TCP"): boolean {
    return direction(objects, from, to, port, protocol, "Egress") && direction(objects, to, from, port, protocol, "Ingress");
}
