// Test-only stand-in for pulumi-resource-random (the version package.json pins for @pulumi/random), for
// the two resource types this program uses. Mirrors terraform-provider-random 3.x (internal/provider/
// resource_password.go, resource_id.go, internal/random/string.go), which pulumi-random bridges:
//
// RandomPassword: inputs length (required, >= 1 and >= minUpper + minLower + minNumeric + minSpecial),
//   special/upper/lower/numeric (default true; `number` is numeric's deprecated twin, they may not differ),
//   minUpper/minLower/minNumeric/minSpecial (default 0), overrideSpecial (replaces the special characters
//   !@#$%&*()-_=+[]{}<>:? when special is true), keepers. Every input change replaces the resource, except
//   overrideSpecial "" -> null, and keepers changes that only add keys with null values. Outputs: result
//   (secret), id "none". Not produced: bcryptHash (the program never reads it; the real one is a bcrypt hash).
// RandomId: inputs byteLength (required, >= 1), prefix, keepers; every change replaces. Outputs b64Url,
//   b64Std, hex, dec (each with the prefix in front) and id (b64Url without the prefix).

import * as crypto from "crypto";
import { bool, changedKeys, isUnknown, same, serve, str, stringMap, wholeNumber, type CheckFailure, type Props, type ResourceType } from "./provider";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
export const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/**
 * keepers' replacement rule (mapplanmodifiers.RequiresReplaceIfValuesNotNull): any change replaces, except
 * one that only adds keys with null values (what the old SDK stored as an absent map or key).
 */
export function keepersReplace(olds: unknown, news: unknown): boolean {
    if (isUnknown(news)) {
        return true;
    }
    if (same(olds ?? null, news ?? null)) {
        return false;
    }
    const o = (olds ?? null) as Props | null;
    const n = (news ?? null) as Props | null;
    if (n === null) {
        // Removing the map: config null vs a state map. The modifier compares config with state: not equal,
        // state not null, and every state key is missing from the config: replace.
        return o !== null && Object.keys(o).length > 0;
    }
    if (o === null) {
        return Object.values(n).some((v) => v !== null);
    }
    for (const [k, v] of Object.entries(n)) {
        if (!(k in o) && v === null) continue;
        if (same(v, o[k])) continue;
        return true;
    }
    return Object.keys(o).some((k) => !(k in n));
}

function generatePassword(p: Props): string {
    const special = typeof p.overrideSpecial === "string" && p.overrideSpecial !== "" ? p.overrideSpecial : DEFAULT_SPECIAL;
    let chars = "";
    if (p.upper) chars += UPPER;
    if (p.lower) chars += LOWER;
    if (p.numeric) chars += NUMERIC;
    if (p.special) chars += special;
    const pick = (set: string, n: number): string[] => Array.from({ length: n }, () => set[crypto.randomInt(set.length)]);
    // The minimums first (from their own sets, as the real provider does, whatever the flags), then the rest
    // from every enabled set, then a shuffle.
    const out = [
        ...pick(NUMERIC, p.minNumeric as number),
        ...pick(LOWER, p.minLower as number),
        ...pick(UPPER, p.minUpper as number),
        ...pick(special, p.minSpecial as number),
    ];
    const rest = (p.length as number) - out.length;
    if (rest > 0) {
        if (chars === "") {
            throw new Error("upper, lower, numeric and special are all false: no characters to make a password from");
        }
        out.push(...pick(chars, rest));
    }
    for (let i = out.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

const PASSWORD_INPUTS = ["keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number", "numeric", "overrideSpecial", "special", "upper"] as const;

export const randomPassword: ResourceType = {
    token: "random:index/randomPassword:RandomPassword",
    inputs: PASSWORD_INPUTS,
    secretOutputs: ["result", "bcryptHash"],
    check(n) {
        const f: CheckFailure[] = [];
        const length = wholeNumber(f, n, "length", { required: true, min: 1 });
        const mins = ["minUpper", "minLower", "minNumeric", "minSpecial"].map((k) => wholeNumber(f, n, k, { min: 0 }));
        for (const k of ["special", "upper", "lower", "number", "numeric"]) bool(f, n, k);
        str(f, n, "overrideSpecial");
        stringMap(f, n, "keepers");
        if (length !== undefined && mins.every((m) => !isUnknown(m))) {
            const sum = mins.reduce<number>((a, m) => a + (m ?? 0), 0);
            if (length < sum) {
                f.push({ property: "length", reason: `length (${length}) must be >= minUpper + minLower + minNumeric + minSpecial (${sum})` });
            }
        }
        if (typeof n.number === "boolean" && typeof n.numeric === "boolean" && n.number !== n.numeric) {
            f.push({ property: "numeric", reason: "number and numeric are both set, to different values (number is deprecated: use numeric)" });
        }
        return f;
    },
    normalize(n) {
        const numeric = n.numeric ?? n.number ?? true;
        return {
            ...n,
            special: n.special ?? true,
            upper: n.upper ?? true,
            lower: n.lower ?? true,
            numeric,
            number: n.number ?? numeric,
            minUpper: n.minUpper ?? 0,
            minLower: n.minLower ?? 0,
            minNumeric: n.minNumeric ?? 0,
            minSpecial: n.minSpecial ?? 0,
        };
    },
    replaces(o, n) {
        const plain = changedKeys(o, n, ["length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number", "numeric", "special", "upper"]);
        const overrideSpecial =
            (isUnknown(n.overrideSpecial) || !same(o.overrideSpecial ?? null, n.overrideSpecial ?? null)) && !(o.overrideSpecial === "" && n.overrideSpecial === undefined)
                ? ["overrideSpecial"]
                : [];
        return [...(keepersReplace(o.keepers, n.keepers) ? ["keepers"] : []), ...plain, ...overrideSpecial];
    },
    async create(n) {
        return { id: "none", outputs: { result: generatePassword(n) } };
    },
};

export const randomId: ResourceType = {
    token: "random:index/randomId:RandomId",
    inputs: ["byteLength", "keepers", "prefix"],
    secretOutputs: [],
    check(n) {
        const f: CheckFailure[] = [];
        wholeNumber(f, n, "byteLength", { required: true, min: 1 });
        str(f, n, "prefix");
        stringMap(f, n, "keepers");
        return f;
    },
    normalize: (n) => ({ ...n }),
    replaces(o, n) {
        return [...(keepersReplace(o.keepers, n.keepers) ? ["keepers"] : []), ...changedKeys(o, n, ["byteLength", "prefix"])];
    },
    async create(n) {
        const bytes = crypto.randomBytes(n.byteLength as number);
        const prefix = typeof n.prefix === "string" ? n.prefix : "";
        const id = bytes.toString("base64url");
        return {
            id,
            outputs: {
                b64Url: prefix + id,
                b64Std: prefix + bytes.toString("base64"),
                hex: prefix + bytes.toString("hex"),
                dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(),
            },
        };
    },
};

export const RANDOM_TYPES: readonly ResourceType[] = [randomPassword, randomId];

if (require.main === module) {
    void serve("random", RANDOM_TYPES, process.argv.slice(2));
}
