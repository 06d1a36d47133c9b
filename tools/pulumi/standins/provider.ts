// Shared plumbing of the test-only stand-ins for the pulumi-resource-random and pulumi-resource-tls plugins,
// which the Go module proxy refuses to serve (tools/pulumi/versions.env). Each stand-in is a resource plugin
// served by @pulumi/pulumi's own provider server (`@pulumi/pulumi/provider`): scripts/pulumi-engine.sh env
// registers a small executable wrapper for it in the engine's isolated PULUMI_HOME, never on a user's PATH.
//
// A resource type here implements what the real provider documents for the properties this program uses:
// its inputs and defaults, which input changes replace the resource, the outputs, which outputs are secret.
// Anything else (another resource type, an input the stand-in does not implement) is refused by Check with a
// message naming it, so a program cannot silently get a different behaviour than the real plugin's.
// Semantics are mirrored from the real providers' sources, cited per type (terraform-provider-random 3.x
// and terraform-provider-tls 4.x, which pulumi-random 4.21 and pulumi-tls 5.6 bridge).

import type * as pulumiProvider from "@pulumi/pulumi/provider";

/** What the engine sends for a value not known yet (preview of a value computed by another resource). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
// The marker the engine and SDK put on secret values once the provider accepts secrets (sdk/nodejs/runtime/rpc.ts).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, unknown>;

export interface CheckFailure {
    property: string;
    reason: string;
}

/** A value wrapped as a secret. */
export function secret(value: unknown): Props {
    return { [SIG_KEY]: SECRET_SIG, value };
}

export function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Props)[SIG_KEY] === SECRET_SIG;
}

/** The value with every secret marker removed (recursively). */
export function reveal(v: unknown): unknown {
    if (isSecret(v)) {
        return reveal(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(reveal);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    }
    return v;
}

/** Whether the value is, or holds, a value not known yet. */
export function isUnknown(v: unknown): boolean {
    if (v === UNKNOWN) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(isUnknown);
    }
    if (typeof v === "object" && v !== null) {
        return Object.values(v).some(isUnknown);
    }
    return false;
}

/** Deep equality of plain JSON values (key order ignored). */
export function same(a: unknown, b: unknown): boolean {
    if (a === b) {
        return true;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        return a.length === b.length && a.every((x, i) => same(x, b[i]));
    }
    if (typeof a === "object" && typeof b === "object" && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
        const ka = Object.keys(a).filter((k) => (a as Props)[k] !== undefined);
        const kb = Object.keys(b).filter((k) => (b as Props)[k] !== undefined);
        return ka.length === kb.length && ka.every((k) => same((a as Props)[k], (b as Props)[k]));
    }
    return false;
}

/** One resource type of a stand-in. Every function gets values with the secret markers removed. */
export interface ResourceType {
    /** The Pulumi type token, e.g. random:index/randomPassword:RandomPassword. */
    token: string;
    /** Every input property the stand-in implements; any other input set by a program is refused. */
    inputs: readonly string[];
    /** Output properties that are secret (the real schema's Sensitive attributes; the SDK marks them too). */
    secretOutputs: readonly string[];
    /** Input problems. Unknown values (UNKNOWN) must pass: they are checked again once known. */
    check(news: Props): CheckFailure[];
    /** The inputs with the provider's defaults filled in (the values a plan and the state hold). */
    normalize(inputs: Props): Props;
    /** The properties whose change replaces the resource; `olds` is the state, `news` the normalized inputs. */
    replaces(olds: Props, news: Props, now: Date): string[];
    /** Creates the resource: its id and computed outputs (beside the normalized inputs). */
    create(inputs: Props, now: Date): Promise<{ id: string; outputs: Props }>;
    /** Computed outputs after an in-place update (default: the old ones unchanged). */
    update?(olds: Props, news: Props, now: Date): Props;
    /** The state as a refresh reads it (default: unchanged). */
    read?(state: Props, now: Date): Props;
}

/** The type token of a URN (urn:pulumi:stack::project::[parent$]type::name). */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    return (parts[2] ?? "").split("$").pop() ?? "";
}

/** Inputs the program set, without the ones it left out (undefined/null). */
function present(props: Props): Props {
    return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined && v !== null));
}

/** The property names of a value that are secret at top level. */
function secretKeys(props: Props): Set<string> {
    return new Set(Object.entries(props).filter(([, v]) => isSecret(v)).map(([k]) => k));
}

/** Outputs with the given keys (and those that were secret inputs) wrapped as secrets. */
function markSecrets(outputs: Props, keys: Iterable<string>): Props {
    const out = { ...outputs };
    for (const k of keys) {
        if (out[k] !== undefined && !isSecret(out[k])) {
            out[k] = secret(out[k]);
        }
    }
    return out;
}

export interface StandInOptions {
    /** The clock (tests move it; the plugin uses the real one). */
    now?: () => Date;
}

/**
 * The provider the server runs: dispatches by the URN's type token, removes secret markers before the type
 * sees values, and puts them back on the outputs (secret inputs stay secret, and the type's secret outputs).
 */
export function standInProvider(version: string, types: readonly ResourceType[], opts: StandInOptions = {}): pulumiProvider.Provider {
    const now = opts.now ?? (() => new Date());
    const byToken = new Map(types.map((t) => [t.token, t]));
    const typeOf = (urn: string): ResourceType => {
        const t = byToken.get(typeOfUrn(urn));
        if (!t) {
            throw new Error(
                `resource type ${typeOfUrn(urn)} is not implemented by this test stand-in (implemented: ${[...byToken.keys()].join(", ")})`,
            );
        }
        return t;
    };
    return {
        version,
        async check(urn, _olds, news) {
            const token = typeOfUrn(urn);
            const t = byToken.get(token);
            if (!t) {
                return {
                    inputs: news,
                    failures: [{ property: "", reason: `resource type ${token} is not implemented by this test stand-in (implemented: ${[...byToken.keys()].join(", ")})` }],
                };
            }
            const given = present(news as Props);
            const unsupported = Object.keys(given).filter((k) => !t.inputs.includes(k) && !k.startsWith("__"));
            const failures: CheckFailure[] = unsupported.map((k) => ({
                property: k,
                reason: `${k} is not implemented by this test stand-in of ${t.token} (implemented inputs: ${t.inputs.join(", ")})`,
            }));
            failures.push(...t.check(reveal(given) as Props));
            return { inputs: given, failures };
        },
        async diff(_id, urn, olds, news) {
            const t = typeOf(urn);
            const o = reveal(olds) as Props;
            const n = t.normalize(reveal(present(news as Props)) as Props);
            const changed = t.inputs.filter((k) => isUnknown(n[k]) || !same(o[k], n[k]));
            const replaces = t.replaces(o, n, now());
            return { changes: changed.length > 0 || replaces.length > 0, replaces, deleteBeforeReplace: false };
        },
        async create(urn, inputs) {
            const t = typeOf(urn);
            const given = present(inputs as Props);
            const normalized = t.normalize(reveal(given) as Props);
            const { id, outputs } = await t.create(normalized, now());
            return { id, outs: markSecrets({ ...normalized, ...outputs }, [...t.secretOutputs, ...secretKeys(given)]) };
        },
        async update(_id, urn, olds, news) {
            const t = typeOf(urn);
            const given = present(news as Props);
            const o = reveal(olds) as Props;
            const normalized = t.normalize(reveal(given) as Props);
            const computed = Object.fromEntries(Object.entries(o).filter(([k]) => !t.inputs.includes(k)));
            const outputs = t.update ? t.update(o, normalized, now()) : computed;
            return { outs: markSecrets({ ...computed, ...normalized, ...outputs }, [...t.secretOutputs, ...secretKeys(given)]) };
        },
        async read(id, urn, props) {
            const t = typeOf(urn);
            const state = (props ?? {}) as Props;
            const updated = t.read ? t.read(reveal(state) as Props, now()) : reveal(state);
            return { id, props: markSecrets(updated as Props, [...t.secretOutputs, ...secretKeys(state)]) };
        },
        async delete() {
            // Nothing outside the state: like the real providers, deleting only drops the state.
        },
    };
}

/** Runs a stand-in as a resource plugin: `<entry> --standin-version X [engine args]`. */
export async function serve(name: string, types: readonly ResourceType[], argv: string[]): Promise<void> {
    const i = argv.indexOf("--standin-version");
    const version = i >= 0 ? argv[i + 1] : undefined;
    if (!version) {
        process.stderr.write(`pulumi-resource-${name} (test stand-in): --standin-version VERSION is required\n`);
        process.exit(2);
    }
    const rest = argv.filter((_, j) => j !== i && j !== i + 1);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { main } = require("@pulumi/pulumi/provider") as typeof import("@pulumi/pulumi/provider");
    await main(standInProvider(version, types), rest);
}

// ---- small validation helpers --------------------------------------------------------------------------

/** A whole number input (unknown passes). */
export function wholeNumber(failures: CheckFailure[], props: Props, key: string, opts: { required?: boolean; min?: number } = {}): number | undefined {
    const v = props[key];
    if (v === undefined || v === null) {
        if (opts.required) {
            failures.push({ property: key, reason: `${key} is required` });
        }
        return undefined;
    }
    if (isUnknown(v)) {
        return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) {
        failures.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not a whole number` });
        return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
        failures.push({ property: key, reason: `${key}: ${v} is less than ${opts.min}` });
    }
    return v;
}

/** A boolean input (unknown passes). */
export function bool(failures: CheckFailure[], props: Props, key: string): void {
    const v = props[key];
    if (v !== undefined && v !== null && !isUnknown(v) && typeof v !== "boolean") {
        failures.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not true or false` });
    }
}

/** A string input (unknown passes). */
export function str(failures: CheckFailure[], props: Props, key: string, opts: { required?: boolean; oneOf?: readonly string[] } = {}): void {
    const v = props[key];
    if (v === undefined || v === null) {
        if (opts.required) {
            failures.push({ property: key, reason: `${key} is required` });
        }
        return;
    }
    if (isUnknown(v)) {
        return;
    }
    if (typeof v !== "string") {
        failures.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not a string` });
    } else if (opts.oneOf && !opts.oneOf.includes(v)) {
        failures.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not accepted (accepted: ${opts.oneOf.join(", ")})` });
    }
}

/** A map of strings input (unknown passes). */
export function stringMap(failures: CheckFailure[], props: Props, key: string): void {
    const v = props[key];
    if (v === undefined || v === null || isUnknown(v)) {
        return;
    }
    if (typeof v !== "object" || Array.isArray(v)) {
        failures.push({ property: key, reason: `${key}: ${JSON.stringify(v)} is not a map of strings` });
        return;
    }
    for (const [k, x] of Object.entries(v as Props)) {
        if (x !== null && !isUnknown(x) && typeof x !== "string") {
            failures.push({ property: `${key}.${k}`, reason: `${key}.${k}: ${JSON.stringify(x)} is not a string` });
        }
    }
}

/** Replacement for a change of any of `keys` (an unknown new value counts as a change). */
export function changedKeys(olds: Props, news: Props, keys: readonly string[]): string[] {
    return keys.filter((k) => isUnknown(news[k]) || !same(olds[k], news[k]));
}
