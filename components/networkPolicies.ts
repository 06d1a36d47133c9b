// NetworkPolicy rules for the data namespaces, as pure functions: the components turn each returned
// manifest into a k8s.networking.v1.NetworkPolicy. Peers are namespaces, matched by the
// kubernetes.io/metadata.name label that the API server sets on every namespace.

import type * as k8s from "@pulumi/kubernetes";
import type { NetworkPolicySettings } from "./config";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

export interface NetworkPolicyManifest {
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: NetworkPolicySpec;
}

/** What a service listens on and whom it talks to. */
export interface ServiceTraffic {
    /** Namespace of the service. */
    namespace: string;
    /** Labels selecting the service's pods. */
    podSelector: Record<string, string>;
    /** Ports clients connect to (allowed from the configured client namespaces and monitoring). */
    clientPorts: number[];
    /** Ports the service's own pods use among themselves (Kafka quorum and inter-broker). */
    peerPorts: number[];
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function tcp(ports: number[]) {
    return ports.map((port) => ({ protocol: "TCP", port }));
}

function namespacePeer(name: string): NetworkPolicyPeer {
    return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: name } } };
}

/** Builds the NetworkPolicies for one service; empty when the stack has them switched off. */
export function buildNetworkPolicies(
    traffic: ServiceTraffic,
    settings: NetworkPolicySettings,
    labels: Record<string, string>,
): NetworkPolicyManifest[] {
    if (!settings.enabled) {
        return [];
    }
    const meta = (name: string) => ({ name, namespace: traffic.namespace, labels });
    const policies: NetworkPolicyManifest[] = [
        {
            // Nothing reaches any pod in the namespace unless a rule below allows it.
            metadata: meta("default-deny-ingress"),
            spec: { podSelector: {}, policyTypes: ["Ingress"] },
        },
    ];

    const clients: NetworkPolicyPeer[] = settings.allowedNamespaces.map(namespacePeer);
    if (settings.allowedNamespaceSelector) {
        clients.push({ namespaceSelector: { matchLabels: { ...settings.allowedNamespaceSelector } } });
    }
    if (settings.monitoringNamespace) {
        // Exporters (mysqld-exporter, redis_exporter, kafka-exporter) run in the monitoring namespace
        // and scrape the services through their client ports.
        clients.push(namespacePeer(settings.monitoringNamespace));
    }
    policies.push({
        metadata: meta("allow-clients"),
        spec: {
            podSelector: { matchLabels: traffic.podSelector },
            policyTypes: ["Ingress"],
            ingress: [{ from: clients, ports: tcp(traffic.clientPorts) }],
        },
    });

    if (traffic.peerPorts.length > 0) {
        policies.push({
            metadata: meta("allow-peers"),
            spec: {
                podSelector: { matchLabels: traffic.podSelector },
                policyTypes: ["Ingress"],
                ingress: [{ from: [{ podSelector: { matchLabels: traffic.podSelector } }], ports: tcp(traffic.peerPorts) }],
            },
        });
    }

    if (settings.egress) {
        const egress: EgressRule[] = [
            {
                // DNS through the cluster resolver, on both protocols.
                to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: "kube-system" } } }],
                ports: [
                    { protocol: "UDP", port: 53 },
                    { protocol: "TCP", port: 53 },
                ],
            },
        ];
        if (traffic.peerPorts.length > 0) {
            egress.push({ to: [{ podSelector: { matchLabels: traffic.podSelector } }], ports: tcp(traffic.peerPorts) });
        }
        policies.push({
            metadata: meta("restrict-egress"),
            spec: { podSelector: {}, policyTypes: ["Egress"], egress },
        });
    }
    return policies;
}
