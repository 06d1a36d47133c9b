// The real-server tests' side of scripts/lib/servers.ts: a suite skips locally (with the reason printed) or
// fails in CI when a binary is missing, and the timing summary printed at the end of the run.

import { findBinary, serversRequired } from "../../scripts/lib/servers";

/**
 * Resolves every binary a suite needs. When one is missing: fails (throws, naming it) if serversRequired(),
 * otherwise prints the reason and skips the suite. Call from a before() hook with its `this`.
 */
export function requireBinaries(ctx: Mocha.Context, names: string[], hint: string): Record<string, string> {
    const found: Record<string, string> = {};
    const missing: string[] = [];
    for (const n of names) {
        const p = findBinary(n);
        if (p) {
            found[n] = p;
        } else {
            missing.push(n);
        }
    }
    if (missing.length > 0) {
        const reason = `${missing.join(", ")} not found on PATH or in /usr/sbin (${hint})`;
        if (serversRequired()) {
            throw new Error(
                `${reason}; skipping a real-server test is not allowed here ` +
                    `(CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
            );
        }
        console.log(`      skipped: ${reason}`);
        ctx.skip();
    }
    return found;
}

// ---------------------------------------------------------------------------------------------------
// Timing

const timings = new Map<string, number>();
let summaryRegistered = false;

/** Starts the clock of one real-server suite; the returned function stops it, records and prints it. */
export function startClock(label: string): () => void {
    const t0 = process.hrtime.bigint();
    let stopped = false;
    return () => {
        if (stopped) {
            return;
        }
        stopped = true;
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        timings.set(label, (timings.get(label) ?? 0) + ms);
        console.log(`      real-server tests (${label}): ${(ms / 1000).toFixed(1)} s`);
    };
}

/**
 * Registers, once, a root-level after() hook printing the total time of the real-server suites.
 * Call at the top level of a spec file (outside describe) so the hook lands on the root suite.
 */
export function registerRealServerSummary(budgetSeconds = 60): void {
    if (summaryRegistered) {
        return;
    }
    summaryRegistered = true;
    after(function () {
        if (timings.size === 0) {
            return;
        }
        const total = [...timings.values()].reduce((a, b) => a + b, 0) / 1000;
        const parts = [...timings].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ");
        console.log(`\n  real-server tests: ${total.toFixed(1)} s (${parts})`);
        if (total > budgetSeconds) {
            console.log(`  WARNING: the real-server tests took more than their ${budgetSeconds} s budget`);
        }
    });
}
