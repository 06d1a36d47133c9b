// Shared, pure helpers for writing the msa-infra CrossGuard policies: everything of
// reading/objects.ts (re-exported, so a policy imports one toolkit), plus how a policy resolves its
// config and words its messages.

import type { PolicyConfigSchema } from "@pulumi/policy";
import { nameOf, namespaceOf, rec } from "../reading/objects";
import type { ContainerRef } from "../reading/objects";

export * from "../reading/objects";

/** `container "x"`, `init container "x"`, `sidecar container "x"` or `ephemeral container "x"` for messages. */
export function describeContainer(ref: ContainerRef): string {
    const prefix =
        ref.role === "initContainer" ? (ref.sidecar ? "sidecar container" : "init container") : ref.role === "ephemeralContainer" ? "ephemeral container" : "container";
    return `${prefix} "${ref.name}"`;
}

/** `StatefulSet db/mariadb` for messages. */
export function describeObject(kind: string, props: unknown): string {
    const ns = namespaceOf(props, kind);
    return `${kind} ${ns ? `${ns}/` : ""}${nameOf(props) || "<unnamed>"}`;
}

/**
 * Resolves a policy's configuration: the defaults declared in its configSchema, overridden by what
 * the engine hands over. The Pulumi CLI already fills schema defaults in (ReconcilePolicyPackConfig);
 * doing it here as well keeps the schema the single source of truth when a runner does not.
 */
export function resolveConfig<T extends object>(schema: PolicyConfigSchema, getConfig: () => object): T {
    const out: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(schema.properties)) {
        if (prop.default !== undefined) {
            out[key] = JSON.parse(JSON.stringify(prop.default));
        }
    }
    const given = rec(getConfig()) ?? {};
    for (const key of Object.keys(given)) {
        if (key !== "enforcementLevel" && given[key] !== undefined) {
            out[key] = given[key];
        }
    }
    return out as T;
}

/** Every violation message ends with a remediation hint introduced by this marker. */
export const FIX = "Fix:";

/** Joins problems and their hints into one message: `<subject>: p1; p2. Fix: h1; h2.` */
export function message(subject: string, problems: string[], hints: string[]): string {
    const uniqueHints = Array.from(new Set(hints));
    return `${subject}: ${problems.join("; ")}. ${FIX} ${uniqueHints.join("; ")}.`;
}

/**
 * Splits a command (command + args, or a probe's exec.command) into words. Elements with whitespace
 * (e.g. the script of `sh -c "..."`) are split further with a small quote-aware tokenizer, so
 * `redis-cli -a secret ping` inside a shell string is seen as four words.
 */
export function commandWords(parts: unknown[]): string[] {
    const out: string[] = [];
    for (const p of parts) {
        if (typeof p !== "string") {
            continue;
        }
        if (!/\s/.test(p)) {
            out.push(unquote(p));
            continue;
        }
        const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
        let m: RegExpExecArray | null;
        while ((m = re.exec(p)) !== null) {
            out.push(m[1] ?? m[2] ?? unquote(m[3]));
        }
    }
    return out;
}

function unquote(w: string): string {
    // Words like `-p"$PASS"` or `--requirepass='x'` keep their prefix, only the quotes go.
    return w.replace(/^(.*?)(["'])(.*)\2$/, "$1$3");
}
