// Unknown values (pulumi-policy's preview markers), read so that one unknown field only makes the checks
// that need it unverifiable.
//
// Under the Pulumi CLI the engine sends a value that is unknown during preview as a marker string, and
// pulumi-policy's proxy throws UnknownValueError when a policy reads it. If the error escapes, the whole
// policy is replaced by one advisory "can't run policy ... during preview" for that resource (or, for a
// stack policy, for the whole stack). A policy that let the first unknown escape would therefore stop
// checking everything else, and since the marker is a plain string, a container *named* like the marker
// would switch the checks off. Policies run their checks through an UnknownTracker instead: every check
// that touches an unknown is skipped and remembered, every other check still runs and reports, and at
// the very end the first remembered error is thrown so the engine still adds its advisory.

type UnknownValueErrorClass = new (...args: never[]) => Error;

/** pulumi-policy's UnknownValueError (an internal module, so loaded defensively). */
const unknownValueError: UnknownValueErrorClass | undefined = (() => {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return (require("@pulumi/policy/proxy") as { UnknownValueError: UnknownValueErrorClass }).UnknownValueError;
    } catch {
        return undefined;
    }
})();

/** True when `e` is pulumi-policy's UnknownValueError (a preview value was read). */
export function isUnknownValueError(e: unknown): e is Error {
    return unknownValueError !== undefined && e instanceof unknownValueError;
}

/** Collects UnknownValueErrors so that a policy can finish every check that does not need them. */
export class UnknownTracker {
    private first: Error | undefined;

    /** Runs `fn`; if it reads an unknown value, remembers the error and returns `fallback`. Other errors propagate. */
    read<T>(fn: () => T, fallback: T): T {
        try {
            return fn();
        } catch (e) {
            if (isUnknownValueError(e)) {
                this.first = this.first ?? e;
                return fallback;
            }
            throw e;
        }
    }

    /** Runs one check; an unknown value skips only this check. */
    run(fn: () => void): void {
        this.read(fn, undefined);
    }

    /** True once a check met an unknown value. */
    get sawUnknown(): boolean {
        return this.first !== undefined;
    }

    /** Throws the first remembered UnknownValueError, so the engine reports its "can't run during preview" advisory. */
    finish(): void {
        if (this.first) {
            throw this.first;
        }
    }
}

/** Runs a policy body with an UnknownTracker and rethrows the first unknown at the end. */
export function withUnknowns(body: (unknowns: UnknownTracker) => void): void {
    const unknowns = new UnknownTracker();
    body(unknowns);
    unknowns.finish();
}
