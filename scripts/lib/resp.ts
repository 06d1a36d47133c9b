// RESP2, the Redis wire protocol: reply parsing and command encoding, shared by the memory measurement's
// pipelining client (redisMemory.ts) and the real-server tests' client (tests/helpers/redis.ts).

/** An error reply (`-ERR ...`, `-NOAUTH ...`): a value, not a thrown error, so callers can assert on it. */
export class RespError {
    constructor(readonly message: string) {}
}
export type Reply = string | number | null | RespError | Reply[];

/** The reply starting at `pos`, with the position after it; undefined while `buf` holds only part of it. */
export function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
    const nl = buf.indexOf("\r\n", pos);
    if (nl < 0) {
        return undefined;
    }
    const type = buf[pos];
    const line = () => buf.toString("utf8", pos + 1, nl);
    switch (type) {
        case 0x2b: // +
            return [line(), nl + 2];
        case 0x2d: // -
            return [new RespError(line()), nl + 2];
        case 0x3a: // :
            return [Number(line()), nl + 2];
        case 0x24: {
            // $
            const len = Number(line());
            if (len < 0) {
                return [null, nl + 2];
            }
            if (buf.length < nl + 2 + len + 2) {
                return undefined;
            }
            return [buf.toString("utf8", nl + 2, nl + 2 + len), nl + 2 + len + 2];
        }
        case 0x2a: {
            // *
            const n = Number(line());
            if (n < 0) {
                return [null, nl + 2];
            }
            const items: Reply[] = [];
            let p = nl + 2;
            for (let i = 0; i < n; i++) {
                const r = parseReply(buf, p);
                if (!r) {
                    return undefined;
                }
                items.push(r[0]);
                p = r[1];
            }
            return [items, p];
        }
        default:
            throw new Error(`unexpected RESP type ${JSON.stringify(String.fromCharCode(type))}`);
    }
}

/** Commands as one RESP2 request buffer (arrays of bulk strings), ready to pipeline. */
export function encodeCommands(cmds: string[][]): Buffer {
    const parts: string[] = [];
    for (const args of cmds) {
        parts.push(`*${args.length}\r\n`);
        for (const a of args) {
            parts.push(`$${Buffer.byteLength(a)}\r\n`, a, "\r\n");
        }
    }
    return Buffer.from(parts.join(""), "utf8");
}
