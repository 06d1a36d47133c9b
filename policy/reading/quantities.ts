// Kubernetes resource quantities (`500m`, `1Gi`, `2e3`, `0.5`), enough to tell zero from non-zero and
// to compare sizes.

const SUFFIXES: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};

/** The value of a quantity (number or string), or undefined when it is not a valid quantity. */
export function parseQuantity(v: unknown): number | undefined {
    if (typeof v === "number") {
        return Number.isFinite(v) ? v : undefined;
    }
    if (typeof v !== "string") {
        return undefined;
    }
    const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?\s*$/.exec(v);
    if (!m) {
        return undefined;
    }
    const base = Number(m[1]);
    if (m[2]) {
        return base * 10 ** Number(m[2].slice(1));
    }
    return base * SUFFIXES[m[3] ?? ""];
}
