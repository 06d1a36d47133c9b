// NetworkPolicy rules for the data namespaces, as pure functions: the components turn each returned
// manifest into a k8s.networking.v1.NetworkPolicy. Peers are namespaces, matched by the
// kubernetes.io/metadata.name label that the API server sets on every namespace.

import type * as k8s from "@pulumi/kubernetes";
import { DEFAULT_DNS_PEERS, type NetworkPolicySettings } from "./config/platform";

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
    /** Ports the metrics exporters listen on (only the monitoring namespace reaches them). Default none. */
    metricsPorts?: number[];
    /**
     * Labels selecting the pods of the service's Jobs and CronJobs (backups, reconcilers), which reach the
     * client ports from inside the namespace. Default: the service has no such pods.
     */
    jobPodSelector?: Record<string, string>;
    /** TCP ports the jobs' pods reach outside the cluster (an S3 endpoint, wherever it is). Default none. */
    jobEgressPorts?: number[];
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
    const metricsPorts = traffic.metricsPorts ?? [];
    if (settings.monitoringNamespace && metricsPorts.length === 0) {
        // No exporter next to the server: one in the monitoring namespace scrapes through the client ports.
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

    if (metricsPorts.length > 0 && settings.monitoringNamespace) {
        // The exporter sidecars: only the monitoring namespace, only their ports. Without a monitoring
        // namespace nobody reaches them (default deny).
        policies.push({
            metadata: meta("allow-metrics"),
            spec: {
                podSelector: { matchLabels: traffic.podSelector },
                policyTypes: ["Ingress"],
                ingress: [{ from: [namespacePeer(settings.monitoringNamespace)], ports: tcp(metricsPorts) }],
            },
        });
    }
    const jobs = traffic.jobPodSelector;
    if (jobs) {
        // default-deny-ingress closes the client ports to same-namespace pods too: open them to the jobs' pods.
        policies.push({
            metadata: meta("allow-jobs"),
            spec: {
                podSelector: { matchLabels: traffic.podSelector },
                policyTypes: ["Ingress"],
                ingress: [{ from: [{ podSelector: { matchLabels: jobs } }], ports: tcp(traffic.clientPorts) }],
            },
        });
    }

    if (settings.egress) {
        const dns = settings.dns ?? DEFAULT_DNS_PEERS;
        const egress: EgressRule[] = [
            {
                // DNS through the cluster resolver, on both protocols: its pods' namespace, and the addresses
                // of a resolver that is not a pod (networkPolicies.dns.cidrs).
                to: [namespacePeer(dns.namespace), ...dns.cidrs.map((cidr) => ({ ipBlock: { cidr } }))],
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
        if (jobs) {
            policies.push({
                metadata: meta("allow-jobs-egress"),
                spec: {
                    podSelector: { matchLabels: jobs },
                    policyTypes: ["Egress"],
                    egress: [
                        { to: [{ podSelector: { matchLabels: traffic.podSelector } }], ports: tcp(traffic.clientPorts) },
                        // Off-site backups: the endpoint's port, to any address (its IPs are the provider's).
                        ...((traffic.jobEgressPorts ?? []).length > 0 ? [{ ports: tcp(traffic.jobEgressPorts!) }] : []),
                    ],
                },
            });
        }
    }
    return policies;
}
