// NetworkPolicy peers and ports by what they match, not by how they are spelled.
//
// - CIDRs are parsed into address ranges (IPv4, IPv6, IPv4-mapped and NAT64 IPv6 that embed IPv4), the
//   `except` ranges are subtracted, and the peers of one rule are united. A rule is open to everyone when
//   what it admits covers at least a /8 worth of public IPv4 space or a /16 of public IPv6 space (the
//   internet, however it is split up: 0.0.0.0/0, 0.0.0.0/1 + 128.0.0.0/1, ::ffff:0:0/96 ...). Private,
//   loopback, link-local, CGNAT, documentation and multicast ranges do not count.
// - Label selectors select by meaning: `{}` selects everything; a selector whose every requirement is
//   negative (NotIn, DoesNotExist) selects everything except some; `Exists` on
//   kubernetes.io/metadata.name (a label every namespace has) selects every namespace.
// - Named ports resolve to the container ports of the pods a selector selects.

import { arr, at, isEmptySelector, keys, Obj, rec, recs, str, strs } from "./objects";

// ---------------------------------------------------------------------------------------------
// Address ranges

/** An inclusive address range; `v6` ranges use 128-bit values. */
interface Range {
    v6: boolean;
    start: bigint;
    end: bigint;
}

function parseIPv4(s: string): bigint | undefined {
    const parts = s.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
        return undefined;
    }
    return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function parseIPv6(s: string): bigint | undefined {
    let text = s;
    let tail: bigint[] = [];
    const lastColon = text.lastIndexOf(":");
    if (text.includes(".")) {
        const v4 = parseIPv4(text.slice(lastColon + 1));
        if (v4 === undefined) {
            return undefined;
        }
        tail = [v4 >> 16n, v4 & 0xffffn];
        text = `${text.slice(0, lastColon + 1)}`;
        text = text.endsWith("::") ? text : text.slice(0, -1);
    }
    const halves = text.split("::");
    if (halves.length > 2) {
        return undefined;
    }
    const parse = (h: string): bigint[] | undefined => {
        if (h === "") {
            return [];
        }
        const groups = h.split(":");
        if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
            return undefined;
        }
        return groups.map((g) => BigInt(parseInt(g, 16)));
    };
    const head = parse(halves[0]);
    const rest = halves.length === 2 ? parse(halves[1]) : [];
    if (!head || !rest) {
        return undefined;
    }
    const given = head.length + rest.length + tail.length;
    if ((halves.length === 1 && given !== 8) || given > 8) {
        return undefined;
    }
    const groups = [...head, ...Array(8 - given).fill(0n), ...rest, ...tail];
    return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses a CIDR (host bits may be set, as Go's net.ParseCIDR allows); undefined if malformed. */
export function parseCidr(cidr: string): Range | undefined {
    const m = /^\s*([^/\s]+)\/(\d{1,3})\s*$/.exec(cidr);
    if (!m) {
        return undefined;
    }
    const bits = Number(m[2]);
    const v6 = m[1].includes(":");
    const addr = v6 ? parseIPv6(m[1]) : parseIPv4(m[1]);
    const width = v6 ? 128 : 32;
    if (addr === undefined || bits > width) {
        return undefined;
    }
    const hostBits = BigInt(width - bits);
    const start = (addr >> hostBits) << hostBits;
    return { v6, start, end: start + (1n << hostBits) - 1n };
}

function subtract(ranges: Range[], cut: Range): Range[] {
    const out: Range[] = [];
    for (const r of ranges) {
        if (r.v6 !== cut.v6 || cut.end < r.start || cut.start > r.end) {
            out.push(r);
            continue;
        }
        if (cut.start > r.start) {
            out.push({ v6: r.v6, start: r.start, end: cut.start - 1n });
        }
        if (cut.end < r.end) {
            out.push({ v6: r.v6, start: cut.end + 1n, end: r.end });
        }
    }
    return out;
}

function intersect(a: Range, b: Range): Range | undefined {
    if (a.v6 !== b.v6) {
        return undefined;
    }
    const start = a.start > b.start ? a.start : b.start;
    const end = a.end < b.end ? a.end : b.end;
    return start <= end ? { v6: a.v6, start, end } : undefined;
}

/** IPv6 ranges that embed IPv4 addresses: IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96). */
const EMBEDDED_V4 = ["::ffff:0:0/96", "64:ff9b::/96"].map((c) => parseCidr(c)!);

/** Turns IPv6 ranges that embed IPv4 into the IPv4 ranges they reach. */
function withEmbeddedV4(ranges: Range[]): Range[] {
    const out = [...ranges];
    for (const r of ranges) {
        for (const e of EMBEDDED_V4) {
            const i = intersect(r, e);
            if (i) {
                out.push({ v6: false, start: i.start - e.start, end: i.end - e.start });
            }
        }
    }
    return out;
}

const NON_PUBLIC_V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"].map(
    (c) => parseCidr(c)!,
);
const PUBLIC_V6 = parseCidr("2000::/3")!;
const NON_PUBLIC_V6 = ["2001:db8::/32", "2002::/16"].map((c) => parseCidr(c)!);
/** A /8 of IPv4 and a /16 of IPv6: more than that is "the internet". */
const OPEN_V4 = 1n << 24n;
const OPEN_V6 = 1n << 112n;

function size(ranges: Range[]): bigint {
    return ranges.reduce((acc, r) => acc + (r.end - r.start + 1n), 0n);
}

function merge(ranges: Range[]): Range[] {
    const sorted = [...ranges].sort((a, b) => (a.v6 !== b.v6 ? (a.v6 ? 1 : -1) : a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const out: Range[] = [];
    for (const r of sorted) {
        const last = out[out.length - 1];
        if (last && last.v6 === r.v6 && r.start <= last.end + 1n) {
            if (r.end > last.end) {
                last.end = r.end;
            }
        } else {
            out.push({ ...r });
        }
    }
    return out;
}

/** The address ranges an ipBlock admits (cidr minus except); undefined when the cidr is malformed. */
export function ipBlockRanges(ipBlock: unknown): Range[] | undefined {
    const cidr = parseCidr(str(at(ipBlock, "cidr")) ?? "");
    if (!cidr) {
        return undefined;
    }
    let ranges = [cidr];
    for (const ex of strs(at(ipBlock, "except"))) {
        const cut = parseCidr(ex);
        if (cut) {
            ranges = subtract(ranges, cut);
        }
    }
    return ranges;
}

/** True when the ranges admit the public internet (a /8 of public IPv4 or a /16 of public IPv6, however split). */
export function admitsInternet(ranges: Range[]): boolean {
    const all = merge(withEmbeddedV4(ranges));
    let v4 = all.filter((r) => !r.v6);
    for (const np of NON_PUBLIC_V4) {
        v4 = subtract(v4, np);
    }
    let v6 = all.filter((r) => r.v6).map((r) => intersect(r, PUBLIC_V6)).filter((r): r is Range => r !== undefined);
    for (const np of NON_PUBLIC_V6) {
        v6 = subtract(v6, np);
    }
    return size(v4) >= OPEN_V4 || size(v6) >= OPEN_V6;
}

// ---------------------------------------------------------------------------------------------
// Label selectors

/** The label that every namespace carries with its own name (Kubernetes 1.21+). */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** True when a label selector matches the given labels (Kubernetes LabelSelector semantics). */
export function selectorMatches(selector: unknown, labels: Obj | undefined): boolean {
    const sel = rec(selector);
    if (selector === undefined || selector === null) {
        return true;
    }
    if (!sel) {
        return false;
    }
    const l = labels ?? {};
    for (const k of keys(sel.matchLabels)) {
        if (str(l[k]) !== str(at(sel, "matchLabels", k))) {
            return false;
        }
    }
    for (const e of recs(sel.matchExpressions)) {
        const key = str(e.key) ?? "";
        const values = strs(e.values);
        const has = Object.prototype.hasOwnProperty.call(l, key);
        const v = str(l[key]);
        switch (str(e.operator)) {
            case "In":
                if (!has || !values.includes(v ?? "")) {
                    return false;
                }
                break;
            case "NotIn":
                if (has && values.includes(v ?? "")) {
                    return false;
                }
                break;
            case "Exists":
                if (!has) {
                    return false;
                }
                break;
            case "DoesNotExist":
                if (has) {
                    return false;
                }
                break;
            default:
                return false;
        }
    }
    return true;
}

/**
 * True when a selector selects everything, or everything except some: `{}`, or only negative
 * requirements (NotIn, DoesNotExist), or `Exists` on a label every object of the kind carries
 * (`universalKeys`, e.g. kubernetes.io/metadata.name for namespaces).
 */
export function selectsAlmostEverything(selector: unknown, universalKeys: readonly string[] = []): boolean {
    if (selector === undefined || selector === null) {
        return true;
    }
    const sel = rec(selector);
    if (!sel) {
        return false;
    }
    if (keys(sel.matchLabels).length > 0) {
        return false;
    }
    return recs(sel.matchExpressions).every((e) => {
        const op = str(e.operator);
        return op === "NotIn" || op === "DoesNotExist" || (op === "Exists" && universalKeys.includes(str(e.key) ?? ""));
    });
}

/** Why one NetworkPolicy ingress peer admits every source, or undefined. */
export function openPeer(peer: Obj): string | undefined {
    if (peer.ipBlock !== undefined && peer.ipBlock !== null) {
        const ranges = ipBlockRanges(peer.ipBlock);
        return ranges && admitsInternet(ranges) ? `ipBlock ${str(at(peer, "ipBlock", "cidr"))}` : undefined;
    }
    const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
    const hasPods = peer.podSelector !== undefined && peer.podSelector !== null;
    if (!hasNs && !hasPods) {
        // The API rejects an empty peer; read it as what it would mean, no restriction.
        return "an empty peer, so every source";
    }
    if (hasNs && selectsAlmostEverything(peer.namespaceSelector, [NAMESPACE_NAME_LABEL]) && (!hasPods || selectsAlmostEverything(peer.podSelector))) {
        return isEmptySelector(peer.namespaceSelector) && !hasPods
            ? "namespaceSelector {} without a podSelector, so every pod of every namespace"
            : "a namespaceSelector and podSelector that select (almost) every pod of every namespace";
    }
    return undefined;
}

/** Why an ingress rule admits every source, or undefined when its peers are restricted. */
export function openSource(rule: Obj): string | undefined {
    const from = rule.from;
    if (from === undefined || from === null || (Array.isArray(from) && arr(from).length === 0)) {
        return "it has no from, so every source";
    }
    const peers = recs(from);
    for (const peer of peers) {
        const why = openPeer(peer);
        if (why) {
            return why;
        }
    }
    // Several narrow-looking ipBlocks can add up to the internet (0.0.0.0/1 + 128.0.0.0/1).
    const blocks = peers.filter((p) => p.ipBlock !== undefined && p.ipBlock !== null);
    const union = blocks.flatMap((p) => ipBlockRanges(p.ipBlock) ?? []);
    if (blocks.length > 1 && admitsInternet(union)) {
        return `ipBlocks ${blocks.map((p) => str(at(p, "ipBlock", "cidr"))).join(" + ")} together`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// Ports

/** `port` / `targetPort` / NetworkPolicy `port` as a number when it is one (int or digit string). */
export function asPortNumber(v: unknown): number | undefined {
    if (typeof v === "number" && Number.isInteger(v)) {
        return v;
    }
    if (typeof v === "string" && /^\d+$/.test(v)) {
        return Number(v);
    }
    return undefined;
}

/** Container port numbers by port name, over the given containers (TCP unless the protocol says otherwise). */
export function namedContainerPorts(containers: readonly Obj[]): Map<string, Array<{ port: number; protocol: string }>> {
    const out = new Map<string, Array<{ port: number; protocol: string }>>();
    for (const c of containers) {
        for (const p of recs(c.ports)) {
            const n = str(p.name);
            const port = asPortNumber(p.containerPort);
            if (n && port !== undefined) {
                out.set(n, [...(out.get(n) ?? []), { port, protocol: str(p.protocol) ?? "TCP" }]);
            }
        }
    }
    return out;
}
