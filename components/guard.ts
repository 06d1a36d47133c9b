// Decide first: before the program declares anything, the StatefulSets it plans are compared with the ones
// the last deployment recorded (stack output `statefulSets`, read back through a reference to this very
// stack). A change the API server would refuse, or that would replace a StatefulSet, stops `pulumi
// preview` and `pulumi up` here with the field, its cause and the safe procedure.

import * as pulumi from "@pulumi/pulumi";
import { SERVICE_NAMES, type ServiceName } from "./stackConfig";
import type { ServicePlans } from "./plans";
import type { StatefulSetRecord } from "./outputs";
import { checkImmutableChanges, statefulSetRecord } from "./workload/immutable";

/** The stack output that holds the guard's records. */
export const STATEFULSETS_OUTPUT = "statefulSets";

function isRecord(v: unknown): v is StatefulSetRecord {
    const r = v as StatefulSetRecord;
    return typeof r === "object" && r !== null && typeof r.statefulSet === "string" && typeof r.app === "string" && Array.isArray(r.claims);
}

/** The records of the last deployment of this stack (none on its first deployment). */
async function lastDeployed(): Promise<StatefulSetRecord[]> {
    const self = new pulumi.StackReference("last-deployment", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const details = await self.getOutputDetails(STATEFULSETS_OUTPUT);
    const value = details.value ?? details.secretValue;
    return Array.isArray(value) ? value.filter(isRecord) : [];
}

/**
 * The planned StatefulSets' records, after checking them against the last deployment. Throws
 * ImmutableFieldError (nothing has been declared yet) for a change not allowed by `allowReplacement`
 * (the stack's allowStatefulSetReplacement).
 */
export async function guardStatefulSets(plans: ServicePlans, allowReplacement: readonly ServiceName[]): Promise<StatefulSetRecord[]> {
    const planned = SERVICE_NAMES.map((service) => statefulSetRecord(plans[service]));
    checkImmutableChanges(await lastDeployed(), planned, allowReplacement);
    return planned;
}
