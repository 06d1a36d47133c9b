// Immutable StatefulSet fields: what the API server refuses to change in place. The program's guard
// (which must catch these before anything is applied) is checked against these refusals. Each case is
// applied to a real control plane (controlplane.ts) by tests/e2e/controlplane.spec.ts.

import type { Manifest } from "../../scripts/lib/mockRuntime";
import type { ControlPlane, Obj } from "./controlplane";

export interface ImmutableCase {
    /** The field path a guard should name. */
    field: string;
    /** Changes the field on a copy of a rendered StatefulSet. */
    mutate(sts: Obj): void;
}

function firstClaim(sts: Obj): Obj {
    const t = sts.spec.volumeClaimTemplates?.[0];
    if (!t) {
        throw new Error(`StatefulSet ${sts.metadata.name} has no volumeClaimTemplates`);
    }
    return t;
}

/** Doubles a quantity such as 10Gi (keeps the unit). */
function doubled(q: string): string {
    const m = /^(\d+)([A-Za-z]*)$/.exec(q);
    if (!m) {
        throw new Error(`cannot double quantity ${q}`);
    }
    return `${Number(m[1]) * 2}${m[2]}`;
}

export const IMMUTABLE_STATEFULSET_CASES: ImmutableCase[] = [
    {
        field: "spec.volumeClaimTemplates[0].spec.resources.requests.storage",
        mutate: (s) => {
            const req = firstClaim(s).spec.resources.requests;
            req.storage = doubled(req.storage);
        },
    },
    {
        field: "spec.volumeClaimTemplates[0].spec.storageClassName",
        mutate: (s) => {
            const spec = firstClaim(s).spec;
            spec.storageClassName = spec.storageClassName === "longhorn" ? "local-path" : "longhorn";
        },
    },
    {
        field: "spec.volumeClaimTemplates[0].spec.accessModes",
        mutate: (s) => {
            firstClaim(s).spec.accessModes = ["ReadWriteOncePod"];
        },
    },
    {
        field: "spec.volumeClaimTemplates",
        mutate: (s) => {
            const extra = structuredClone(firstClaim(s));
            extra.metadata.name = "extra";
            s.spec.volumeClaimTemplates.push(extra);
        },
    },
    {
        field: "spec.serviceName",
        mutate: (s) => {
            s.spec.serviceName = `${s.spec.serviceName}-renamed`;
        },
    },
    {
        // The template's labels change too, so the only error is the selector's immutability (not a mismatch).
        field: "spec.selector",
        mutate: (s) => {
            s.spec.selector.matchLabels["msa-infra.test/selector"] = "changed";
            s.spec.template.metadata.labels = { ...(s.spec.template.metadata.labels ?? {}), "msa-infra.test/selector": "changed" };
        },
    },
    {
        field: "spec.podManagementPolicy",
        mutate: (s) => {
            s.spec.podManagementPolicy = s.spec.podManagementPolicy === "Parallel" ? "OrderedReady" : "Parallel";
        },
    },
];

/** What the server said to an immutable-field change. */
export interface Refusal {
    field: string;
    status: number;
    reason: string | undefined;
    message: string;
    causes: { field?: string; message?: string; reason?: string }[];
}

/**
 * Applies (server-side, dry run by default so nothing is stored even if the server were to accept) a copy
 * of a rendered StatefulSet with one immutable field changed, as the given field manager, and returns the
 * server's answer. The StatefulSet must exist on the server already (a create has no immutable fields).
 */
export async function applyImmutableChange(
    cp: ControlPlane,
    sts: Manifest,
    c: ImmutableCase,
    opts: { fieldManager?: string; dryRun?: boolean } = {},
): Promise<Refusal> {
    const changed = structuredClone(sts) as Obj;
    c.mutate(changed);
    const o = await cp.applyOne(changed as Manifest, opts.fieldManager ?? "msa-infra", { dryRun: opts.dryRun ?? true });
    return {
        field: c.field,
        status: o.status,
        reason: o.body?.reason,
        message: o.body?.message ?? "",
        causes: o.body?.details?.causes ?? [],
    };
}

/** The part of the server's message for a StatefulSet spec change it forbids (Kubernetes 1.34 wording). */
export const FORBIDDEN_STATEFULSET_UPDATE = "Forbidden: updates to statefulset spec for fields other than";
