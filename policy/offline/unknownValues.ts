// Unknown values offline. Under the Pulumi CLI, pulumi-policy wraps props in a proxy that throws
// UnknownValueError when a policy reads a value that is unknown during preview (a marker string). The
// runner wraps props in a proxy that behaves the same (same UnknownValueError, same message), except
// that a string read from a manifest file is never an unknown: only values handed to evaluate()
// programmatically (a simulated preview) are; a file cannot switch checks off.

interface ProxyModule {
    UnknownValueError: new (sentinel: string, props: PropertyKey[]) => Error;
    isSpecialProxy: string;
    getSpecialProxyTarget: string;
    unknownBooleanValue: string;
    unknownNumberValue: string;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownAssetValue: string;
    unknownArchiveValue: string;
    unknownObjectValue: string;
}

/** pulumi-policy's proxy module (internal, so loaded defensively; no unknowns at all if it moves). */
const proxyModule: ProxyModule | undefined = (() => {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require("@pulumi/policy/proxy") as ProxyModule;
    } catch {
        return undefined;
    }
})();

/** The strings pulumi-policy treats as "unknown during preview". */
const UNKNOWN_MARKERS: ReadonlySet<unknown> = new Set(
    proxyModule
        ? [
              proxyModule.unknownBooleanValue,
              proxyModule.unknownNumberValue,
              proxyModule.unknownStringValue,
              proxyModule.unknownArrayValue,
              proxyModule.unknownAssetValue,
              proxyModule.unknownArchiveValue,
              proxyModule.unknownObjectValue,
          ]
        : [],
);

/**
 * Places (object, key) where a manifest *file* holds a string equal to an unknown marker. Such a string
 * is data (a hostile or accidental container name, say), not a preview value: the offline runner has no
 * engine, so nothing read from a file can be unknown.
 */
const fileLiterals = new WeakMap<object, Set<string>>();

export function recordFileLiterals(v: unknown): void {
    if (typeof v !== "object" || v === null) {
        return;
    }
    for (const [k, x] of Object.entries(v)) {
        if (UNKNOWN_MARKERS.has(x)) {
            const set = fileLiterals.get(v) ?? new Set<string>();
            set.add(k);
            fileLiterals.set(v, set);
        } else {
            recordFileLiterals(x);
        }
    }
}

/** Deep copy of manifest data that carries the file-literal marks over to the copy. */
export function copyForPolicies(v: unknown, literals: WeakMap<object, Set<string>>): unknown {
    if (typeof v !== "object" || v === null) {
        return v;
    }
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) {
        return structuredClone(v);
    }
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    for (const [k, x] of Object.entries(v)) {
        (out as Record<string, unknown>)[k] = copyForPolicies(x, literals);
    }
    const marks = fileLiterals.get(v);
    if (marks) {
        literals.set(out, new Set(Array.from(marks).filter((k) => (v as Record<string, unknown>)[k] === (out as Record<string, unknown>)[k])));
    }
    return out;
}

/**
 * pulumi-policy's unknownCheckingProxy, reimplemented so that marker strings read from a file are not
 * unknown (see fileLiterals). Reading a real unknown throws pulumi-policy's own UnknownValueError, with
 * the same message, so policies and the CLI see no difference.
 */
export function unknownCheckingProxy<T>(target: T, literals: WeakMap<object, Set<string>>, path: PropertyKey[] = []): T {
    if (!proxyModule || !(target instanceof Object)) {
        return target;
    }
    const pm = proxyModule;
    return new Proxy(target as unknown as object, {
        get: (obj, prop) => {
            if (prop === pm.isSpecialProxy) {
                return true;
            } else if (prop === pm.getSpecialProxyTarget) {
                return obj;
            }
            const field = (obj as Record<PropertyKey, unknown>)[prop];
            const props = path.concat([prop]);
            if (UNKNOWN_MARKERS.has(field) && !(typeof prop === "string" && literals.get(obj)?.has(prop))) {
                throw new pm.UnknownValueError(field as string, props);
            }
            // The Proxy invariant for non-configurable, non-writable data properties (see pulumi-policy).
            const desc = Object.getOwnPropertyDescriptor(obj, prop);
            if (desc && "value" in desc && desc.configurable === false && desc.writable === false) {
                return field;
            }
            return unknownCheckingProxy(field, literals, props);
        },
    }) as unknown as T;
}
