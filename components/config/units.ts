// Kubernetes quantities, as stack config writes them (`512Mi`, `1Gi`, `250m`), turned into numbers.

// Zero is refused (the lookahead): a 0 volume or memory limit is never meant, and Kubernetes would take it.
export const QUANTITY = /^(?![0.]+(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$)([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/;
export const CPU = /^(?![0.]+m?$)([0-9]+(\.[0-9]+)?)(m)?$/;

const MULTIPLIERS: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    m: 1e-3,
    "": 1,
};

/** Converts a Kubernetes quantity (`512Mi`, `1Gi`, `1500M`) to bytes. Throws on anything else. */
export function quantityToBytes(quantity: string): number {
    const m = QUANTITY.exec(quantity);
    if (!m) {
        throw new Error(`"${quantity}" is not a Kubernetes quantity`);
    }
    return Math.floor(parseFloat(m[1]) * MULTIPLIERS[m[3] ?? ""]);
}

/** Converts a CPU quantity (`250m`, `1`, `1.5`) to millicores. */
export function cpuToMillis(cpu: string): number {
    const m = CPU.exec(cpu);
    if (!m) {
        throw new Error(`"${cpu}" is not a CPU quantity`);
    }
    return m[3] === "m" ? parseFloat(m[1]) : parseFloat(m[1]) * 1000;
}

/** `percent` % of a memory quantity, in whole MiB (heap sizes, buffer pools). */
export function percentOfMiB(quantity: string, percent: number): number {
    return Math.floor((quantityToBytes(quantity) * percent) / 100 / 2 ** 20);
}
