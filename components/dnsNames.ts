// The in-cluster DNS names of a StatefulSet service: its client Service, its headless (governing) Service and
// each pod through the headless Service. The one home of these formats: config files, certificates and
// connection outputs all build names here, so a client's name is always one the certificate carries.

const CLUSTER_DOMAIN = "svc.cluster.local";

/** Name of the headless (governing) Service of a StatefulSet. */
export function headlessServiceName(app: string): string {
    return `${app}-headless`;
}

/** In-cluster host name of a service's client Service. */
export function serviceHost(app: string, namespace: string): string {
    return `${app}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** Stable host name of pod `ordinal` of the StatefulSet `app`, through its headless Service. */
export function podHost(app: string, namespace: string, ordinal: number | string): string {
    return `${app}-${ordinal}.${headlessServiceName(app)}.${namespace}.${CLUSTER_DOMAIN}`;
}

/**
 * The pod's own stable host name as a shell expression: the pod's hostname is `<app>-<ordinal>`, so
 * `${HOSTNAME}` followed by the headless domain is what podHost gives for that ordinal.
 */
export function ownPodHostShell(app: string, namespace: string): string {
    return `\${HOSTNAME}.${headlessServiceName(app)}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** Every name a service's certificate carries: the client Service's, the headless Service's and each pod's. */
export function serviceDnsNames(app: string, namespace: string, replicas: number): string[] {
    const headless = headlessServiceName(app);
    return [
        serviceHost(app, namespace),
        `${app}.${namespace}.svc`,
        `${app}.${namespace}`,
        `*.${headless}.${namespace}.${CLUSTER_DOMAIN}`,
        `${headless}.${namespace}.${CLUSTER_DOMAIN}`,
        ...Array.from({ length: replicas }, (_, i) => podHost(app, namespace, i)),
    ];
}
