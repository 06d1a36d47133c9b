// Shared plumbing of the operations tests: the rendered CronJobs and sidecars as the pods get them (their
// command, the scripts and option files behind their mounts), running a rendered script with only its mount
// paths replaced, the Go tools built from the module proxy, and a scrape of a Prometheus text endpoint.

import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { decodeConfigValue } from "../../components/stackConfig";
import { readProjectName, readStackFile, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { find, type Any } from "../../scripts/lib/manifests";
import { mountedFile, type Container } from "../../scripts/lib/rendered";
import { run, serversRequired } from "../../scripts/lib/servers";

/** A CronJob as a workload (spec.template), so the resolvers of rendered.ts read its pod. */
export function cronJobAsWorkload(cron: Manifest): Manifest {
    return { ...cron, spec: { template: (cron.spec as Any).jobTemplate.spec.template } };
}

export interface RenderedRun {
    cron: Manifest;
    workload: Manifest;
    container: Container;
    /** The script the container runs ([bash|sh, <path>]), resolved through its ConfigMap mount. */
    scriptPath: string;
    script: string;
    scriptSource: string;
}

/** The single container of a rendered CronJob and the script on its command line. */
export function renderedCronJob(objects: Manifest[], namespace: string, name: string): RenderedRun {
    const cron = find(objects, "CronJob", namespace, name);
    const workload = cronJobAsWorkload(cron);
    const containers: Container[] = (workload.spec as Any).template.spec.containers;
    assert.strictEqual(containers.length, 1, `CronJob ${name}: one container`);
    const c = containers[0];
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    assert.ok(argv.length === 2 && ["bash", "sh"].includes(argv[0]), `CronJob ${name}: expected [bash|sh, script], got ${JSON.stringify(argv)}`);
    const file = mountedFile(objects, workload, c, argv[1]);
    return { cron, workload, container: c, scriptPath: argv[1], script: file.value, scriptSource: file.source };
}

/** The value of a file mounted into a rendered container (ConfigMap or Secret key). */
export function fileOf(objects: Manifest[], workload: Manifest, c: Container, containerPath: string): string {
    return mountedFile(objects, workload, c, containerPath).value;
}

/**
 * The script with pod paths replaced by local ones (longest first, so /backup/full is not cut by /backup),
 * and a one-line account of what was replaced (printed by the tests).
 */
export function localizeScript(script: string, paths: Record<string, string>): { text: string; replaced: string } {
    // One pass (a replaced path is never replaced again), longest alternatives first.
    const order = Object.keys(paths).sort((a, b) => b.length - a.length);
    const used = new Set<string>();
    const pattern = new RegExp(order.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
    const text = script.replace(pattern, (m) => {
        used.add(`${m} → ${paths[m]}`);
        return paths[m];
    });
    return { text, replaced: [...used].join(", ") };
}

/** A client option file with some [client] options replaced (e.g. the service host by 127.0.0.1:port). */
export function rewriteClientOptions(text: string, overrides: Record<string, string>): string {
    const seen = new Set<string>();
    const lines = text.replace(/\n$/, "").split("\n").map((line) => {
        const m = /^\s*([A-Za-z_-]+)\s*(=|$)/.exec(line);
        if (m && m[1] in overrides) {
            seen.add(m[1]);
            return `${m[1]} = ${overrides[m[1]]}`;
        }
        return line;
    });
    for (const [k, v] of Object.entries(overrides)) if (!seen.has(k)) lines.push(`${k} = ${v}`);
    return lines.join("\n") + "\n";
}

/** `key = value` options of an option-file group. */
export function clientOptions(text: string, group = "client"): Record<string, string> {
    const out: Record<string, string> = {};
    let current = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            current = header[1];
            continue;
        }
        const m = /^([A-Za-z_-]+)\s*(?:=\s*(.*))?$/.exec(line);
        if (current === group && m) out[m[1]] = m[2] ?? "";
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------
// Go tools built from the module proxy (scripts/go-tools.sh)

export const BUILD_SCRIPT = path.join(ROOT, "scripts", "go-tools.sh");

/** The path of a built tool, or: fail (CI) / skip with the reason (locally). */
export async function requireTool(ctx: Mocha.Context, tool: "promtool" | "redis_exporter" | "actionlint" | "versitygw" | "crds"): Promise<string> {
    const r = await run("bash", [BUILD_SCRIPT, "path", tool], { timeoutMs: 10_000 });
    if (r.code === 0 && r.stdout.trim() !== "") return r.stdout.trim();
    const reason = `${tool} is not built (bash scripts/go-tools.sh ${tool})`;
    if (serversRequired()) throw new Error(`${reason}; skipping is not allowed here (CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`);
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

/**
 * The metrics-agent image the tests render `kafka.jmxAgent` with: a name only (no image is pulled here); the
 * real-Kafka harness stands in for it with the agent jar from Maven Central at `jar`.
 */
export const TEST_JMX_AGENT = { image: "registry.test/platform/jmx-prometheus-javaagent:1.0.1", jar: "/jmx_prometheus_javaagent.jar" };

// ---------------------------------------------------------------------------------------------------
// Prometheus text format

export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

/** Parses the Prometheus text exposition format (the lines that carry samples). */
export function parseMetrics(text: string): Sample[] {
    const out: Sample[] = [];
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
        if (!m) continue;
        const labels: Record<string, string> = {};
        for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
        out.push({ name: m[1], labels, value: Number(m[4]) });
    }
    return out;
}

/** GET http://<host>:port/path with a time bound (host default 127.0.0.1). */
export function httpGet(port: number, urlPath = "/metrics", timeoutMs = 10_000, host = "127.0.0.1"): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host, port, path: urlPath, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${host}:${port}${urlPath} timed out`)));
        req.on("error", reject);
    });
}

/** The value of the one sample `name` (with `labels` matching), or undefined. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return found.length === 0 ? undefined : found[0].value;
}

/** Writes a file readable only by `uid` (chown when running as root). */
export function writePrivate(file: string, content: string, owner?: { uid: number; gid: number }): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, content, { mode: 0o600 });
    if (owner && process.getuid?.() === 0) fs.chownSync(file, owner.uid, owner.gid);
}

/**
 * The prod stack's config (Pulumi.prod.yaml, prefix stripped) with TLS off: the test clients reach
 * 127.0.0.1, which no rendered certificate names. Prod is where backups and exporters are on by default.
 */
export function prodWithoutTls(): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    config.tls = { enabled: false };
    return config;
}
