// What a broker left on its volumes: meta.properties of a log dir, the server.properties it was started
// with, its log dirs on this machine, and byte counts for messages.

import * as fs from "fs";
import * as path from "path";
import type { KafkaNode } from "./pod";

/** meta.properties of a log dir, parsed. */
export function metaProperties(logDir: string): Record<string, string> {
    const text = fs.readFileSync(path.join(logDir, "meta.properties"), "utf8");
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([^#=][^=]*)=(.*)$/.exec(line.trim());
        if (m) out[m[1]] = m[2];
    }
    return out;
}

/** The properties file the broker was last started with (the start script's `kafka-server-start.sh <file>`). */
export function startedProperties(node: KafkaNode): string {
    const script = fs.readFileSync(node.startScriptPath(), "utf8");
    const m = /kafka-server-start\.sh\s+(\S+)/.exec(script);
    if (!m) throw new Error(`${node.pod}: start script runs no kafka-server-start.sh`);
    return fs.readFileSync(m[1], "utf8");
}

/** The host dirs of the broker's log.dirs (paths already substituted). */
export function hostLogDirs(node: KafkaNode): string[] {
    const m = /^log\.dirs=(.*)$/m.exec(startedProperties(node));
    if (!m) throw new Error(`${node.pod}: no log.dirs in the started server.properties`);
    return m[1].split(",").map((d) => d.trim());
}

export function formatBytes(n: number): string {
    return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
