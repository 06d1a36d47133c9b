// The log of a drill's writer pod (tests/pods/*-prod.spec.ts), read with `kubectl logs --timestamps`: one line
// per write, `ok <n> <server> <acks>` when the server answered it (acks ≥ 1: acknowledged as the service's
// durability promise defines it), `err <n> <server> <reply>` when it did not, `noprimary` when the writer
// found no server to write to. The drills compare the acknowledged numbers with what the servers hold.

export interface LogLine {
    at: number;
    text: string;
}

export interface WriterResult {
    /** Writes the server answered with success. */
    written: number;
    /** Writes acknowledged (acks ≥ 1), with the time of the reply and the server that took them. */
    acked: { n: number; at: number; server: string }[];
    /** Writes answered but not acknowledged (acks 0): e.g. SET OK with WAIT 0. */
    unacked: number;
    /** Failed writes by kind: the server and the reply's first word. */
    errors: Map<string, number>;
    lines: LogLine[];
}

export function parseWriterLog(text: string): WriterResult {
    const lines: LogLine[] = [];
    for (const raw of text.split("\n")) {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (.*)$/.exec(raw);
        if (!m) continue;
        lines.push({ at: Date.parse(`${m[1]}${(m[2] ?? ".0").slice(0, 4)}Z`), text: m[3] });
    }
    const res: WriterResult = { written: 0, acked: [], unacked: 0, errors: new Map(), lines };
    for (const l of lines) {
        const f = l.text.split(" ");
        if (f[0] === "ok") {
            res.written++;
            if (Number(f[3]) >= 1) res.acked.push({ n: Number(f[1]), at: l.at, server: f[2] });
            else res.unacked++;
        } else if (f[0] === "err" || f[0] === "noprimary") {
            // The error's kind: its first word (READONLY, ERROR, Could, ...), or the empty reply of a timeout.
            const kind = f[0] === "noprimary" ? "no primary found" : `${f[2]}: ${f.slice(3).join(" ").split(/[ :]/)[0] || "(no reply)"}`;
            res.errors.set(kind, (res.errors.get(kind) ?? 0) + 1);
        }
    }
    return res;
}

/** Stretches after `since` from a failed write to the next acknowledged one: when the writer could not write. */
export function outages(res: WriterResult, since: number): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    let start: number | undefined;
    for (const l of res.lines) {
        if (l.at <= since) continue;
        const f = l.text.split(" ");
        if ((f[0] === "err" || f[0] === "noprimary") && start === undefined) start = l.at;
        if (f[0] === "ok" && Number(f[3]) >= 1 && start !== undefined) {
            out.push({ start, end: l.at });
            start = undefined;
        }
    }
    return out;
}

/**
 * The figures a drill prints: written, acknowledged (before the failure), lost, time to recover, the longest
 * stretch without an acknowledged write, the errors; `lost` are the acknowledged numbers the server lacks.
 */
export function drillFigures(res: WriterResult, t0: number, lost: number, ackName: string): string[] {
    const outs = outages(res, t0);
    const lastOut = outs[outs.length - 1];
    const secs = (ms: number) => (ms / 1000).toFixed(1);
    let gap = 0;
    let prev = t0;
    for (const a of res.acked.filter((x) => x.at > t0)) {
        gap = Math.max(gap, a.at - prev);
        prev = a.at;
    }
    const ackedBefore = res.acked.filter((a) => a.at <= t0).length;
    return [
        `written ${res.written}, acknowledged (${ackName}) ${res.acked.length} (${ackedBefore} before the failure), answered but not acknowledged ${res.unacked}; lost ${lost} acknowledged`,
        `time to recover (failure → writes acknowledged again after the last failed one): ${lastOut ? secs(lastOut.end - t0) : "no write failed"} s; ` +
            `writer unable to write ${outs.length} time(s), longest ${secs(Math.max(0, ...outs.map((o) => o.end - o.start)))} s; longest gap between acknowledged writes ${secs(gap)} s`,
        `writer's errors meanwhile: ${JSON.stringify(Object.fromEntries(res.errors))}`,
    ];
}

/**
 * Kafka's VerifiableProducer (kafka-tools) output as a writer log: one JSON line per record with the time of
 * its answer, `producer_send_success` (acknowledged with the --acks given) or `producer_send_error`; values
 * are `<prefix>.<n>`. Other lines (its startup and shutdown records, a shell's) are ignored.
 */
export function producerLog(text: string): WriterResult {
    const lines: string[] = [];
    for (const raw of text.split("\n")) {
        let j: { name?: string; timestamp?: number; value?: string; partition?: number; exception?: string };
        try {
            j = JSON.parse(raw);
        } catch {
            continue;
        }
        if (!j || typeof j !== "object") continue;
        const n = Number(String(j.value ?? "").split(".")[1]);
        if (!j.timestamp || !Number.isInteger(n)) continue;
        const at = new Date(j.timestamp).toISOString();
        if (j.name === "producer_send_success") lines.push(`${at} ok ${n} p${j.partition} 1`);
        else if (j.name === "producer_send_error") lines.push(`${at} err ${n} - ${String(j.exception ?? "").split(".").pop()}`);
    }
    return parseWriterLog(lines.join("\n"));
}
