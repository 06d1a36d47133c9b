// The immutable-field guard. The API server refuses to change most of a StatefulSet's spec (claim
// templates, selector, service name, pod management policy), and Pulumi would turn such a change into a
// replacement. The program records those fields of every StatefulSet as a stack output and, before it
// declares anything, compares the planned ones with what the last deployment recorded: a difference stops
// the run with the field, the config key behind it and the safe procedure. Pure, except the error class.

import * as pulumi from "@pulumi/pulumi";
import { QUANTITY, quantityToBytes } from "../config/units";
import { headlessServiceName } from "../dnsNames";
import type { StatefulSetRecord } from "../outputs";
import type { ServicePlan } from "./plan";
import { selectorLabels } from "../labels";

/** What the API server will not change on a StatefulSet, as the plan decides it. */

/** The record of a plan's StatefulSet (what renderService creates from it). */
export function statefulSetRecord(plan: ServicePlan): StatefulSetRecord {
    return {
        statefulSet: `${plan.namespace}/${plan.app}`,
        app: plan.app,
        serviceName: headlessServiceName(plan.app),
        selector: selectorLabels(plan.app),
        podManagementPolicy: plan.workload.podManagementPolicy,
        claims: [{ name: "data", storageClassName: plan.workload.storage.storageClass, accessModes: ["ReadWriteOnce"], storage: plan.workload.storage.size }],
        ...(plan.workload.fixedReplicas ? { fixedReplicas: plan.workload.replicas } : {}),
    };
}

export interface ImmutableChange {
    statefulSet: string;
    app: string;
    /** The StatefulSet field, as the API server names its parts. */
    field: string;
    before: string;
    after: string;
    /** The stack config key that changed it, or the program itself. */
    cause: string;
    /** What to do instead. */
    procedure: string;
    /**
     * Replacing the StatefulSet would not make the change safe (the pods keep their data and their roles), so
     * allowStatefulSetReplacement does not let it through. Default false.
     */
    refusedAlways?: boolean;
}

const ORPHAN_REPLACE =
    "the StatefulSet object itself must be replaced while its pods and claims stay: delete it without its pods " +
    "(kubectl delete statefulset -n <namespace> <name> --cascade=orphan), unprotect it if the stack is protected (pulumi state unprotect <urn>), " +
    "then run `pulumi up` once with msa-infra:allowStatefulSetReplacement listing the service; the new StatefulSet adopts the running pods " +
    "and their PersistentVolumeClaims and rolls them to its template";

function storageProcedure(app: string, before: string, after: string): string {
    // A recorded size that is no quantity (edited state) never counts as growth.
    const grows = QUANTITY.test(after) && QUANTITY.test(before) && quantityToBytes(after) > quantityToBytes(before);
    if (!grows) {
        return `volumes cannot shrink: keep ${before}, or move the data to a new stack (back up, restore) - nothing in place can make ${app}'s volumes smaller`;
    }
    return (
        `grow the existing volumes first: for each pod i, kubectl patch pvc data-${app}-<i> -p '{"spec":{"resources":{"requests":{"storage":"${after}"}}}}' ` +
        `(the StorageClass must allow volume expansion), then ${ORPHAN_REPLACE}`
    );
}

/** A label map as text that does not depend on key order (stack outputs come back with sorted keys). */
function labelsText(labels: Record<string, string>): string {
    return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The immutable fields that differ between the last deployment's records and the planned ones. */
export function immutableChanges(previous: StatefulSetRecord[], planned: StatefulSetRecord[]): ImmutableChange[] {
    const changes: ImmutableChange[] = [];
    for (const next of planned) {
        const prev = previous.find((p) => p.statefulSet === next.statefulSet);
        if (!prev) {
            continue; // a new StatefulSet (or a stack deployed before the guard existed)
        }
        const base = { statefulSet: next.statefulSet, app: next.app };
        const program = "a change in the program (not in stack config)";
        if (prev.serviceName !== next.serviceName) {
            changes.push({ ...base, field: "spec.serviceName", before: prev.serviceName, after: next.serviceName, cause: program, procedure: ORPHAN_REPLACE });
        }
        if (labelsText(prev.selector) !== labelsText(next.selector)) {
            changes.push({ ...base, field: "spec.selector", before: labelsText(prev.selector), after: labelsText(next.selector), cause: program, procedure: ORPHAN_REPLACE });
        }
        if (prev.podManagementPolicy !== next.podManagementPolicy) {
            const cause =
                next.podManagementPolicy === "Parallel"
                    ? "this version of the program: with Parallel the controller replaces and rolls pods while pod 0 is down, which OrderedReady never did"
                    : program;
            changes.push({ ...base, field: "spec.podManagementPolicy", before: prev.podManagementPolicy, after: next.podManagementPolicy, cause, procedure: ORPHAN_REPLACE });
        }
        for (const claim of next.claims) {
            const old = prev.claims.find((c) => c.name === claim.name);
            const at = `spec.volumeClaimTemplates[${claim.name}].spec`;
            if (!old) {
                changes.push({ ...base, field: `spec.volumeClaimTemplates[${claim.name}]`, before: "(absent)", after: JSON.stringify(claim), cause: program, procedure: ORPHAN_REPLACE });
                continue;
            }
            if (old.storage !== claim.storage) {
                changes.push({ ...base, field: `${at}.resources.requests.storage`, before: old.storage, after: claim.storage, cause: `msa-infra:${next.app}.storageSize`, procedure: storageProcedure(next.app, old.storage, claim.storage) });
            }
            if (old.storageClassName !== claim.storageClassName) {
                changes.push({
                    ...base,
                    field: `${at}.storageClassName`,
                    before: old.storageClassName,
                    after: claim.storageClassName,
                    cause: "msa-infra:storageClass",
                    procedure:
                        `the data lives on volumes of class ${old.storageClassName}: keep storageClass at ${old.storageClassName} for this stack, ` +
                        `or migrate (back up, then restore into a stack whose volumes are ${claim.storageClassName}); replacing the StatefulSet would keep the old volumes anyway`,
                });
            }
            if (JSON.stringify(old.accessModes) !== JSON.stringify(claim.accessModes)) {
                changes.push({ ...base, field: `${at}.accessModes`, before: JSON.stringify(old.accessModes), after: JSON.stringify(claim.accessModes), cause: program, procedure: ORPHAN_REPLACE });
            }
        }
        if (prev.fixedReplicas !== undefined && next.fixedReplicas !== undefined && prev.fixedReplicas !== next.fixedReplicas) {
            changes.push({
                ...base,
                field: "spec.replicas",
                before: String(prev.fixedReplicas),
                after: String(next.fixedReplicas),
                cause: `msa-infra:${next.app}.replicas`,
                procedure:
                    `a KRaft quorum of static voters cannot change its size: every node's controller.quorum.voters names ${prev.fixedReplicas} voters, ` +
                    `and nodes with ${prev.fixedReplicas}-voter and ${next.fixedReplicas}-voter lists side by side during the roll could elect two leaders. ` +
                    `Keep ${next.app}.replicas at ${prev.fixedReplicas}; to run ${next.fixedReplicas} brokers, deploy a new cluster of that size (another stack), ` +
                    "mirror the topics to it (MirrorMaker 2), move the clients, then retire this one",
                refusedAlways: true,
            });
        }
        for (const old of prev.claims.filter((o) => !next.claims.some((c) => c.name === o.name))) {
            changes.push({ ...base, field: `spec.volumeClaimTemplates[${old.name}]`, before: JSON.stringify(old), after: "(absent)", cause: program, procedure: ORPHAN_REPLACE });
        }
    }
    return changes;
}

/** The stop message: every change, its cause and its procedure, and how to go ahead deliberately. */
export function formatImmutableChanges(changes: ImmutableChange[]): string {
    const lines = ["StatefulSet fields that the API server does not change in place would change; nothing was applied:"];
    for (const c of changes) {
        lines.push(`  - StatefulSet ${c.statefulSet}: ${c.field}: ${c.before} → ${c.after} (from ${c.cause})`, `    safe procedure: ${c.procedure}`);
    }
    const apps = [...new Set(changes.filter((c) => !c.refusedAlways).map((c) => c.app))];
    if (apps.length > 0) {
        lines.push(
            `To go ahead once the procedure is done, run one \`pulumi up\` with msa-infra:allowStatefulSetReplacement: [${apps.join(", ")}] and remove it afterwards.`,
        );
    }
    if (changes.some((c) => c.refusedAlways)) {
        lines.push("A KRaft quorum's size (spec.replicas) cannot change in place, with or without allowStatefulSetReplacement.");
    }
    return lines.join("\n");
}

/** The guard's verdict as a RunError: the CLI prints the message without a stack trace. */
export class ImmutableFieldError extends pulumi.RunError {
    constructor(public readonly changes: ImmutableChange[]) {
        super(formatImmutableChanges(changes));
        this.name = "ImmutableFieldError";
    }
}

/** Throws ImmutableFieldError for the changes not allowed by `allowReplacement` (service names). */
export function checkImmutableChanges(previous: StatefulSetRecord[], planned: StatefulSetRecord[], allowReplacement: readonly string[]): void {
    const refused = immutableChanges(previous, planned).filter((c) => c.refusedAlways || !allowReplacement.includes(c.app));
    if (refused.length > 0) {
        throw new ImmutableFieldError(refused);
    }
}

/**
 * The record of a StatefulSet manifest (as rendered, or read back from the cluster): lets the guard's
 * comparison be checked against the API server's own verdict on the same objects.
 */
export function statefulSetRecordFromManifest(m: {
    metadata: { name: string; namespace?: string };
    spec?: unknown;
}): StatefulSetRecord {
    const spec = (m.spec ?? {}) as {
        serviceName?: string;
        selector?: { matchLabels?: Record<string, string> };
        podManagementPolicy?: string;
        volumeClaimTemplates?: { metadata?: { name?: string }; spec?: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } } }[];
    };
    return {
        statefulSet: `${m.metadata.namespace ?? "default"}/${m.metadata.name}`,
        app: m.metadata.name,
        serviceName: spec.serviceName ?? "",
        selector: { ...(spec.selector?.matchLabels ?? {}) },
        // The API server's default, so a manifest that leaves it out compares as it is stored.
        podManagementPolicy: spec.podManagementPolicy ?? "OrderedReady",
        claims: (spec.volumeClaimTemplates ?? []).map((t) => ({
            name: t.metadata?.name ?? "",
            storageClassName: t.spec?.storageClassName ?? "",
            accessModes: [...(t.spec?.accessModes ?? [])],
            storage: t.spec?.resources?.requests?.storage ?? "",
        })),
    };
}
