// The validation toolkit for stack config: a Reader collects every problem (the key, the bad value and
// what is accepted) so that one run reports them all (stackConfig.ts's ConfigError hands them to the user).
// Pure: settings and plans that use it load no Pulumi SDK.

/** The Pulumi project name; stack config keys live under `msa-infra:`. */
export const PROJECT = "msa-infra";

/** Kubernetes object and namespace names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Names that end up inside SQL identifiers, ACL rules and JAAS files: kept boring on purpose. */
export const IDENTIFIER = /^[a-z][a-z0-9_]{0,31}$/;
export const IDENTIFIER_ACCEPTED = "a lower-case identifier ([a-z][a-z0-9_]{0,31})";
/** An image reference with an explicit tag or digest: [registry/]repo[:tag][@sha256:...] */
export const IMAGE =
    /^[a-z0-9]+([._\-/][a-z0-9]+)*(:[0-9]+\/[a-z0-9]+([._\-/][a-z0-9]+)*)?((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;

function show(value: unknown): string {
    return JSON.stringify(value);
}

/** Collects problems while reading raw config values; every method returns a usable fallback on error. */
export class Reader {
    readonly problems: string[] = [];

    /** Records `key: value is not valid; expected accepted`. */
    fail(key: string, value: unknown, accepted: string): void {
        this.problems.push(`${PROJECT}:${key}: ${show(value)} is not valid; expected ${accepted}`);
    }

    /** Records a problem that is not about one bad value (a combination of keys, a production rule). */
    problem(key: string, message: string): void {
        this.problems.push(`${PROJECT}:${key}: ${message}`);
    }

    /** An object with only the allowed keys (absent → {}). */
    object(key: string, value: unknown, allowedKeys: readonly string[]): Record<string, unknown> {
        if (value === undefined || value === null) {
            return {};
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            this.fail(key, value, `an object with keys ${allowedKeys.join(", ")}`);
            return {};
        }
        for (const k of Object.keys(value)) {
            if (!allowedKeys.includes(k)) {
                this.problems.push(`${PROJECT}:${key}.${k}: unknown key; accepted keys are ${allowedKeys.join(", ")}`);
            }
        }
        return value as Record<string, unknown>;
    }

    string(key: string, value: unknown, fallback: string, pattern?: RegExp, accepted?: string): string {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "string" || value.length === 0 || (pattern && !pattern.test(value))) {
            this.fail(key, value, accepted ?? "a non-empty string");
            return fallback;
        }
        return value;
    }

    required(key: string, value: unknown, pattern: RegExp, accepted: string): string {
        if (value === undefined || value === null) {
            this.problems.push(`${PROJECT}:${key}: missing; expected ${accepted}`);
            return "";
        }
        return this.string(key, value, "", pattern, accepted);
    }

    optionalString(key: string, value: unknown): string | undefined {
        if (value === undefined || value === null || value === "") {
            return undefined;
        }
        if (typeof value !== "string") {
            this.fail(key, value, "a string");
            return undefined;
        }
        return value;
    }

    oneOf<T extends string>(key: string, value: unknown, fallback: T, allowed: readonly T[]): T {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "string" || !allowed.includes(value as T)) {
            this.fail(key, value, `one of ${allowed.join(", ")}`);
            return fallback;
        }
        return value as T;
    }

    boolean(key: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "boolean") {
            this.fail(key, value, "true or false");
            return fallback;
        }
        return value;
    }

    integer(key: string, value: unknown, fallback: number, range: { min: number; max: number; accepted?: string }): number {
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
            this.fail(key, value, range.accepted ?? `an integer from ${range.min} to ${range.max}`);
            return fallback;
        }
        return value;
    }

    list(key: string, value: unknown): unknown[] {
        if (value === undefined || value === null) {
            return [];
        }
        if (!Array.isArray(value)) {
            this.fail(key, value, "a list");
            return [];
        }
        return value;
    }

    /** Reports names declared more than once. */
    unique(key: string, names: string[]): void {
        const seen = new Set<string>();
        for (const n of names) {
            if (seen.has(n)) {
                this.problems.push(`${PROJECT}:${key}: ${show(n)} is declared twice; names must be unique`);
            }
            seen.add(n);
        }
    }
}
