// Stack-wide settings: the environment, where data lives, how pods and traffic are locked down, and TLS.
// Together they form the platform context every service component receives.

import { isIP } from "net";
import { DNS_LABEL, Reader } from "./reader";

export const ENVIRONMENTS = ["development", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Pod Security Standard levels, strictest first. */
export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

export const ISSUER_KINDS = ["Issuer", "ClusterIssuer"] as const;
export type IssuerKind = (typeof ISSUER_KINDS)[number];

export interface NetworkPolicySettings {
    /** Create NetworkPolicies (default-deny ingress plus allow rules). Default false; true in production. */
    enabled: boolean;
    /** Also restrict egress to DNS and the service's own peers. Default false. */
    egress: boolean;
    /** Namespaces whose pods may reach the client ports. Default none. */
    allowedNamespaces: string[];
    /** A namespace label selector (matchLabels) whose namespaces may reach the client ports. Default none. */
    allowedNamespaceSelector?: { [label: string]: string };
    /** Namespace of the monitoring stack (Prometheus, exporters). Default none. */
    monitoringNamespace?: string;
    /** Where the pods' DNS resolver is, for the egress rule. Default: the pods of namespace kube-system. */
    dns?: DnsPeers;
}

/** The cluster resolver as an egress peer: its pods' namespace, and addresses outside the pod network. */
export interface DnsPeers {
    /** Namespace of the resolver's pods (CoreDNS). Default kube-system. */
    namespace: string;
    /**
     * CIDRs of a resolver that is not a pod (NodeLocal DNSCache's link-local address, a resolver on the
     * nodes' host network): a namespace selector cannot match those. Default none.
     */
    cidrs: string[];
}

export const DEFAULT_DNS_PEERS: DnsPeers = { namespace: "kube-system", cidrs: [] };

export interface TlsSettings {
    /** Serve every client port over TLS. Default false. */
    enabled: boolean;
    /** A cert-manager Issuer or ClusterIssuer to sign the certificates; without one a CA is generated. */
    issuer?: { name: string; kind: IssuerKind };
}

/** The platform context: the stack-wide settings every service applies. */
export interface PlatformSettings {
    /** development or production; production enforces the rules in production.ts. Default development. */
    environment: Environment;
    /** StorageClass of every data volume. Default "local-path" (K3s). */
    storageClass: string;
    /** Protect stateful resources from deletion and replacement. Default false; true in production. */
    protect: boolean;
    /** Pod Security level the namespaces enforce. Default "restricted". */
    podSecurityLevel: PodSecurityLevel;
    /** NetworkPolicies of the stack. */
    networkPolicies: NetworkPolicySettings;
    /** TLS of the stack. */
    tls: TlsSettings;
    /**
     * Let `pulumi destroy` delete the data: the namespaces, and with them every volume claim, go with the
     * stack. Default false: destroy keeps each namespace with its claims (and their data). Refused in production.
     */
    deleteDataOnDestroy: boolean;
    /**
     * PriorityClass of the data services' pods (it must exist in the cluster), so that under node pressure
     * they are scheduled first and evicted last. Default none (the cluster's default priority).
     */
    priorityClassName?: string;
}

/** Keys of the platform settings at the top level of the stack config. */
export const PLATFORM_KEYS = ["environment", "storageClass", "protect", "podSecurityLevel", "networkPolicies", "tls", "deleteDataOnDestroy", "priorityClassName"] as const;

export const PLATFORM_DEFAULTS = { storageClass: "local-path", podSecurityLevel: "restricted" as PodSecurityLevel };

function readNetworkPolicies(r: Reader, value: unknown, production: boolean): NetworkPolicySettings {
    const np = r.object("networkPolicies", value, ["enabled", "egress", "allowedNamespaces", "allowedNamespaceSelector", "monitoringNamespace", "dns"]);
    const allowedNamespaces = r
        .list("networkPolicies.allowedNamespaces", np.allowedNamespaces)
        .map((n, i) => r.string(`networkPolicies.allowedNamespaces[${i}]`, n, "", DNS_LABEL, "a namespace name"))
        .filter((n) => n !== "");
    let allowedNamespaceSelector: { [label: string]: string } | undefined;
    if (np.allowedNamespaceSelector !== undefined) {
        const sel = np.allowedNamespaceSelector;
        if (
            typeof sel !== "object" ||
            sel === null ||
            Array.isArray(sel) ||
            Object.keys(sel).length === 0 ||
            Object.values(sel).some((v) => typeof v !== "string")
        ) {
            r.fail("networkPolicies.allowedNamespaceSelector", sel, "a non-empty map of label: value (matchLabels)");
        } else {
            allowedNamespaceSelector = sel as { [label: string]: string };
        }
    }
    const settings: NetworkPolicySettings = {
        enabled: r.boolean("networkPolicies.enabled", np.enabled, production),
        egress: r.boolean("networkPolicies.egress", np.egress, false),
        allowedNamespaces,
        allowedNamespaceSelector,
        monitoringNamespace:
            np.monitoringNamespace === undefined
                ? undefined
                : r.string("networkPolicies.monitoringNamespace", np.monitoringNamespace, "", DNS_LABEL, "a namespace name"),
        dns: readDnsPeers(r, np.dns),
    };
    if (settings.enabled && allowedNamespaces.length === 0 && !allowedNamespaceSelector) {
        r.problem(
            "networkPolicies",
            "enabled but neither allowedNamespaces nor allowedNamespaceSelector is set, so no client could connect; list the client namespaces",
        );
    }
    return settings;
}

function readDnsPeers(r: Reader, value: unknown): DnsPeers {
    const dns = r.object("networkPolicies.dns", value, ["namespace", "cidrs"]);
    return {
        namespace: r.string("networkPolicies.dns.namespace", dns.namespace, DEFAULT_DNS_PEERS.namespace, DNS_LABEL, "a namespace name"),
        cidrs: r
            .list("networkPolicies.dns.cidrs", dns.cidrs)
            .filter((c, i) => {
                const ok = typeof c === "string" && isCidr(c);
                if (!ok) r.fail(`networkPolicies.dns.cidrs[${i}]`, c, "an IPv4 or IPv6 CIDR such as 169.254.20.10/32");
                return ok;
            }) as string[],
    };
}

/** `address/prefix` with an IPv4 (prefix 0-32) or IPv6 (0-128) address. */
function isCidr(value: string): boolean {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!m) return false;
    const family = isIP(m[1]);
    const prefix = Number(m[2]);
    return (family === 4 && prefix <= 32) || (family === 6 && prefix <= 128);
}

function readTls(r: Reader, value: unknown): TlsSettings {
    const raw = r.object("tls", value, ["enabled", "issuer"]);
    let issuer: TlsSettings["issuer"];
    if (raw.issuer !== undefined) {
        const iss = r.object("tls.issuer", raw.issuer, ["name", "kind"]);
        issuer = {
            name: r.required("tls.issuer.name", iss.name, DNS_LABEL, "the name of a cert-manager Issuer or ClusterIssuer"),
            kind: r.oneOf("tls.issuer.kind", iss.kind, "ClusterIssuer", ISSUER_KINDS),
        };
    }
    return { enabled: r.boolean("tls.enabled", raw.enabled, false), issuer };
}

/** A lower-case RFC 1123 subdomain, as PriorityClass names are. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Reads the platform settings from the raw top-level config. */
export function readPlatformSettings(r: Reader, raw: Record<string, unknown>): PlatformSettings {
    const environment = r.oneOf<Environment>("environment", raw.environment, "development", ENVIRONMENTS);
    const production = environment === "production";
    const networkPolicies = readNetworkPolicies(r, raw.networkPolicies, production);
    const tls = readTls(r, raw.tls);
    return {
        environment,
        storageClass: r.string("storageClass", raw.storageClass, PLATFORM_DEFAULTS.storageClass, DNS_LABEL, "a StorageClass name"),
        protect: r.boolean("protect", raw.protect, production),
        podSecurityLevel: r.oneOf<PodSecurityLevel>("podSecurityLevel", raw.podSecurityLevel, PLATFORM_DEFAULTS.podSecurityLevel, POD_SECURITY_LEVELS),
        networkPolicies,
        tls,
        deleteDataOnDestroy: r.boolean("deleteDataOnDestroy", raw.deleteDataOnDestroy, false),
        ...(raw.priorityClassName === undefined
            ? {}
            : { priorityClassName: r.string("priorityClassName", raw.priorityClassName, "", DNS_SUBDOMAIN, "a PriorityClass name (lower-case DNS subdomain)") }),
    };
}
