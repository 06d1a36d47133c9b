import type { StackValidationPolicy } from "@pulumi/policy";
import { at, describeContainer, message, Obj, rec, recs, str } from "./k8s";
import { indexStack, lookup, StackIndex, volumesByName, withUnknowns, Workload } from "../reading";

const SA_TOKEN_SECRET = "kubernetes.io/service-account-token";

/** True when the stack has a Secret `name` in `namespace` that holds a ServiceAccount token. */
function isTokenSecret(index: StackIndex, namespace: string, name: string | undefined): boolean {
    const s = name ? lookup(index, "Secret", namespace, name) : undefined;
    return s !== undefined && (str(s.type) === SA_TOKEN_SECRET || str(at(s, "metadata", "annotations", "kubernetes.io/service-account.name")) !== undefined);
}

/** Ways other than automount in which the pod gets an API token: projected tokens and token Secrets. */
function explicitTokens(w: Workload, index: StackIndex): string[] {
    const out: string[] = [];
    const volumes = volumesByName(w.podSpec);
    const mountedBy = new Map<string, string[]>();
    for (const ref of w.containers) {
        for (const m of recs(ref.c.volumeMounts)) {
            const n = str(m.name);
            if (n) {
                mountedBy.set(n, [...(mountedBy.get(n) ?? []), describeContainer(ref)]);
            }
        }
        for (const e of recs(ref.c.env)) {
            const secret = str(at(e, "valueFrom", "secretKeyRef", "name"));
            if (isTokenSecret(index, w.namespace, secret)) {
                out.push(`${describeContainer(ref)} reads env ${str(e.name) ?? "?"} from ServiceAccount token Secret ${secret}`);
            }
        }
        for (const f of recs(ref.c.envFrom)) {
            const secret = str(at(f, "secretRef", "name"));
            if (isTokenSecret(index, w.namespace, secret)) {
                out.push(`${describeContainer(ref)} loads ServiceAccount token Secret ${secret} through envFrom`);
            }
        }
    }
    for (const [name, v] of volumes) {
        const users = mountedBy.get(name);
        if (!users) {
            continue;
        }
        const where = `mounted by ${users.join(", ")}`;
        const sources = recs(at(v, "projected", "sources"));
        if (sources.some((s) => rec(s.serviceAccountToken))) {
            out.push(`volume "${name}" projects a ServiceAccount token (${where})`);
        }
        const secrets = [str(at(v, "secret", "secretName")), ...sources.map((s) => str(at(s, "secret", "name")))];
        for (const secret of secrets) {
            if (isTokenSecret(index, w.namespace, secret)) {
                out.push(`volume "${name}" mounts ServiceAccount token Secret ${secret} (${where})`);
            }
        }
    }
    return out;
}

/**
 * Data workloads get no Kubernetes API token and no shared identity: every StatefulSet names its own
 * ServiceAccount (not "default") and does not mount a token. The automatic token is off when the pod
 * spec sets automountServiceAccountToken: false, or (pod field unset) when the ServiceAccount of this
 * stack sets it to false; the pod-level field wins in Kubernetes, so an explicit true there is a
 * violation whatever the ServiceAccount says. Tokens can also arrive explicitly, and those count too:
 * a projected serviceAccountToken volume, or a Secret of type kubernetes.io/service-account-token
 * mounted as a volume or read into env. A stack policy, because only the stack shows all the objects.
 */
export const statefulsetServiceAccount: StackValidationPolicy = {
    name: "statefulset-service-account",
    description: "StatefulSets use their own ServiceAccount and do not automount its API token.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const index = indexStack(args.resources, unknowns);
            for (const w of index.workloads) {
                if (w.kind !== "StatefulSet") {
                    continue;
                }
                unknowns.run(() => {
                    const problems: string[] = [];
                    const hints: string[] = [];
                    const saName = str(w.podSpec.serviceAccountName) ?? str(w.podSpec.serviceAccount);
                    if (!saName || saName === "default") {
                        problems.push(saName ? 'it uses the "default" ServiceAccount' : 'it sets no serviceAccountName, so it runs as the "default" ServiceAccount');
                        hints.push("create a dedicated ServiceAccount and set spec.template.spec.serviceAccountName");
                    }
                    const podLevel = w.podSpec.automountServiceAccountToken;
                    if (podLevel !== false) {
                        const sa: Obj | undefined = lookup(index, "ServiceAccount", w.namespace, saName || "default");
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
                    const tokens = explicitTokens(w, index);
                    if (tokens.length > 0) {
                        problems.push(...tokens);
                        hints.push("remove serviceAccountToken projections and ServiceAccount token Secrets from the pod; data services do not call the Kubernetes API");
                    }
                    if (problems.length > 0) {
                        reportViolation(message("statefulset", problems, hints), w.resource.urn);
                    }
                });
            }
        }),
};
