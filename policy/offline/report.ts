// The report: one line per violation and a count line, as scripts/policy.ts and the render command
// print it, and whether it fails the run.

/** One reported violation, as printed by formatReport. */
export interface Violation {
    enforcementLevel: "mandatory" | "advisory";
    policyName: string;
    kind: string;
    /** "" for cluster-scoped objects and for stack findings not tied to a namespace. */
    namespace: string;
    /** "-" for stack findings not tied to one object. */
    name: string;
    message: string;
}

/** One line per violation plus a count line, e.g. `3 violations (2 mandatory, 1 advisory)`. */
export function formatReport(violations: readonly Violation[]): string {
    const lines = violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.kind} ${v.namespace}/${v.name}: ${v.message.replace(/\s*\n\s*/g, " ")}`);
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const n = violations.length;
    lines.push(n === 0 ? "0 violations" : `${n} violation${n === 1 ? "" : "s"} (${mandatory} mandatory, ${n - mandatory} advisory)`);
    return lines.join("\n");
}

/** True when at least one violation is mandatory (the runner then exits 1). */
export function hasMandatory(violations: readonly Violation[]): boolean {
    return violations.some((v) => v.enforcementLevel === "mandatory");
}
