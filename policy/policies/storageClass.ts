import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { at, kindOf, message, Obj, POD_BEARING_KINDS, podSpecOf, rec, recs, resolveConfig, str } from "./k8s";

export interface StorageClassConfig {
    /** Storage classes claims may use; empty = any class that is not forbidden. */
    allowedStorageClasses: string[];
    /** Storage classes claims must not use. */
    forbiddenStorageClasses: string[];
    /** Accept claims without storageClassName (they get the cluster's default class). */
    allowDefaultStorageClass: boolean;
}

const configSchema: PolicyConfigSchema = {
    properties: {
        allowedStorageClasses: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Storage classes claims may use; empty = any class that is not forbidden.",
        },
        forbiddenStorageClasses: {
            type: "array",
            items: { type: "string" },
            default: ["local-path"],
            description: "Storage classes claims must not use. Default: local-path (node-local, data is lost with the node).",
        },
        allowDefaultStorageClass: {
            type: "boolean",
            default: false,
            description: "Accept claims without storageClassName, which get whatever class the cluster marks as default.",
        },
    },
};

const LEGACY_ANNOTATION = "volume.beta.kubernetes.io/storage-class";

/** The storage class a claim spec asks for: storageClassName, else the legacy annotation, else undefined (= default class). */
function claimClass(claim: Obj): string | undefined {
    return str(at(claim, "spec", "storageClassName")) ?? str(at(claim, "metadata", "annotations", LEGACY_ANNOTATION));
}

/** Returns the problem with one claim's storage class, or undefined. */
export function storageClassProblem(cls: string | undefined, cfg: StorageClassConfig): string | undefined {
    if (cls === undefined) {
        return cfg.allowDefaultStorageClass ? undefined : "sets no storageClassName, so it gets the cluster's default class";
    }
    if ((cfg.forbiddenStorageClasses ?? []).includes(cls)) {
        return `uses forbidden storage class "${cls}"`;
    }
    const allowed = cfg.allowedStorageClasses ?? [];
    if (allowed.length > 0 && !allowed.includes(cls)) {
        return `uses storage class "${cls}", which is not in the allowed list (${allowed.join(", ")})`;
    }
    return undefined;
}

/**
 * Persistent data lands only on approved storage: PersistentVolumeClaims, StatefulSet
 * volumeClaimTemplates and generic ephemeral volumes use an allowed, non-forbidden storage class,
 * and name it explicitly unless allowDefaultStorageClass is set.
 */
export const pvcStorageClass: ResourceValidationPolicy = {
    name: "pvc-storage-class",
    description: "PersistentVolumeClaims and StatefulSet volumeClaimTemplates name an allowed, non-forbidden storage class.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) => {
        const kind = kindOf(args.type, "PersistentVolumeClaim", ...POD_BEARING_KINDS);
        if (!kind) {
            return;
        }
        const cfg = resolveConfig<StorageClassConfig>(configSchema, () => args.getConfig());
        const claims: Array<[string, Obj]> = [];
        if (kind === "PersistentVolumeClaim") {
            const props = rec(args.props);
            if (props) {
                claims.push(["claim", props]);
            }
        } else {
            if (kind === "StatefulSet") {
                for (const t of recs(at(args.props, "spec", "volumeClaimTemplates"))) {
                    claims.push([`volumeClaimTemplate "${str(at(t, "metadata", "name")) ?? "?"}"`, t]);
                }
            }
            for (const v of recs(podSpecOf(kind, args.props)?.volumes)) {
                const t = rec(at(v, "ephemeral", "volumeClaimTemplate"));
                if (t) {
                    claims.push([`ephemeral volume "${str(v.name) ?? "?"}"`, t]);
                }
            }
        }
        const problems: string[] = [];
        for (const [label, claim] of claims) {
            const p = storageClassProblem(claimClass(claim), cfg);
            if (p) {
                problems.push(`${label} ${p}`);
            }
        }
        if (problems.length > 0) {
            const allowed = cfg.allowedStorageClasses ?? [];
            const hint = allowed.length > 0 ? `set spec.storageClassName to one of: ${allowed.join(", ")}` : "set spec.storageClassName to an approved class that is not forbidden";
            reportViolation(message("storage", problems, [hint]));
        }
    },
};
