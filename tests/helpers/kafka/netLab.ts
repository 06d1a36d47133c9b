// The network of a real-Kafka run: a bridge of its own and one network namespace per pod (a veth into the
// bridge, an address of a private /24 checked to be unused, /etc/netns/<ns>/hosts with the cluster's names).

import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";

// ---------------------------------------------------------------------------------------------------
// The network: a bridge, one namespace per pod

export const liveLabs = new Set<NetLab>();

/** `a.b.c.0/24` not overlapping any route or address of the root namespace. */
function pickSubnet(): string {
    const routes: { dst: string }[] = JSON.parse(execFileSync("ip", ["-j", "-4", "route", "show", "table", "all"], { encoding: "utf8" }) || "[]");
    const addrs: { addr_info?: { local: string; prefixlen: number }[] }[] = JSON.parse(execFileSync("ip", ["-j", "-4", "addr"], { encoding: "utf8" }) || "[]");
    const nets: [number, number][] = [];
    const toInt = (ip: string) => ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    const add = (cidr: string) => {
        if (cidr === "default") return; // the default route says nothing about what is in use
        const [ip, len] = cidr.split("/");
        const bits = len === undefined ? 32 : Number(len);
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        nets.push([(toInt(ip) & mask) >>> 0, mask]);
    };
    for (const r of routes) add(r.dst);
    for (const a of addrs) for (const i of a.addr_info ?? []) add(`${i.local}/${i.prefixlen}`);
    for (let tries = 0; tries < 200; tries++) {
        const b = 64 + crypto.randomInt(190);
        const c = crypto.randomInt(256);
        const base = toInt(`10.${b}.${c}.0`);
        const mask = (~0 << 8) >>> 0;
        const overlaps = nets.some(([n, m]) => ((base & m) >>> 0) === n || ((n & mask) >>> 0) === base);
        if (!overlaps) return `10.${b}.${c}`;
    }
    throw new Error("no unused 10.x.y.0/24 found");
}

function ipq(args: string[]): void {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** The namespaces, veths, bridge and hosts files of one run. */
export class NetLab {
    readonly id = crypto.randomBytes(3).toString("hex");
    readonly subnet = pickSubnet();
    readonly bridge = `msak-${this.id}`;
    readonly namespaces: string[] = [];
    private madeEtcNetns = false;

    constructor() {
        liveLabs.add(this);
        ipq(["link", "add", this.bridge, "type", "bridge"]);
        ipq(["addr", "add", `${this.rootAddress}/24`, "dev", this.bridge]);
        ipq(["link", "set", this.bridge, "up"]);
    }

    /** The root namespace's address on the bridge: where the tests' client connects from. */
    get rootAddress(): string {
        return `${this.subnet}.1`;
    }

    address(i: number): string {
        return `${this.subnet}.${10 + i}`;
    }

    nsName(i: number): string {
        return `msa-kafka-${this.id}-${i}`;
    }

    /** Namespace for pod i with its address, and its /etc/netns/<ns>/hosts. */
    addPod(i: number, hosts: string): string {
        const ns = this.nsName(i);
        const host = `msak${this.id}h${i}`;
        const peer = `msak${this.id}n${i}`;
        ipq(["netns", "add", ns]);
        this.namespaces.push(ns);
        ipq(["link", "add", host, "type", "veth", "peer", "name", peer]);
        ipq(["link", "set", peer, "netns", ns]);
        ipq(["-n", ns, "link", "set", peer, "name", "eth0"]);
        ipq(["-n", ns, "addr", "add", `${this.address(i)}/24`, "dev", "eth0"]);
        ipq(["-n", ns, "link", "set", "eth0", "up"]);
        ipq(["-n", ns, "link", "set", "lo", "up"]);
        ipq(["link", "set", host, "master", this.bridge, "up"]);
        if (!fs.existsSync("/etc/netns")) {
            fs.mkdirSync("/etc/netns");
            this.madeEtcNetns = true;
        }
        fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
        fs.writeFileSync(`/etc/netns/${ns}/hosts`, hosts);
        return ns;
    }

    /** Synchronous so the exit handler can use it: kills what is left inside, deletes everything. */
    destroy(): void {
        for (const ns of this.namespaces) {
            try {
                const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] })
                    .split(/\s+/)
                    .filter(Boolean);
                for (const p of pids) {
                    try {
                        process.kill(Number(p), "SIGKILL");
                    } catch {
                        // gone
                    }
                }
            } catch {
                // namespace already gone
            }
            try {
                ipq(["netns", "del", ns]); // its eth0 goes with it, and so the veth peer on the bridge
            } catch {
                // already gone
            }
            fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
        }
        // A namespace whose last process is still dying outlives its name, and its veth with it: delete the
        // root-side ends explicitly (that removes each pair).
        for (let i = 0; i < this.namespaces.length; i++) {
            try {
                ipq(["link", "del", `msak${this.id}h${i}`]);
            } catch {
                // went with its namespace
            }
        }
        try {
            ipq(["link", "del", this.bridge]);
        } catch {
            // already gone
        }
        if (this.madeEtcNetns) {
            try {
                fs.rmdirSync("/etc/netns");
            } catch {
                // someone else's namespaces live there too
            }
        }
        liveLabs.delete(this);
    }

    /** What of this run is still there (for the end-of-suite assertion). */
    leftovers(): string[] {
        const out: string[] = [];
        const listed = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        for (const line of listed.split("\n")) if (line.startsWith(`msa-kafka-${this.id}-`)) out.push(`network namespace ${line.split(" ")[0]}`);
        const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
        for (const line of links.split("\n")) if (line.includes(`msak${this.id}`) || line.includes(this.bridge)) out.push(`link ${line.split(":")[1]?.trim()}`);
        for (const ns of this.namespaces) if (fs.existsSync(`/etc/netns/${ns}`)) out.push(`/etc/netns/${ns}`);
        return out;
    }
}
