// Kafka broker configuration as the broker ends up with it.
//
// - server.properties files are read like java.util.Properties (properties.ts), under any name and path;
// - `kafka-server-start.sh <file> [--override key=value]...` reads that file, then the overrides;
// - the apache/kafka image (3.8: CMD /etc/kafka/docker/run, KafkaDockerWrapper) turns every KAFKA_* env
//   var except a few JVM/log4j ones into a property (strip KAFKA_, lower-case, `_` -> `.`, `___` -> `-`,
//   `__` -> `_`), appends them to /mnt/shared/config/server.properties if that is mounted, and falls back to
//   its bundled config (a PLAINTEXT listener) when neither gives anything; `run` also exports `NAME=value`
//   arguments. Bitnami's KAFKA_CFG_* form maps the same way;
// - settings absent from the final file take Kafka's defaults: listeners=PLAINTEXT://:9092 and the
//   protocol map PLAINTEXT/SSL/SASL_PLAINTEXT/SASL_SSL to themselves.

import { parseProperties } from "./properties";
import type { Proc } from "./shellRun";
import { resolvePath } from "./fs";
import { hasFreeUnknown, isKnown, plain, show, splitBalanced } from "./sym";


/** Broker properties that decide the listeners' security protocols. */
export const LISTENER_KEYS = ["listeners", "advertised.listeners", "listener.security.protocol.map", "controller.listener.names"];
/** Listener names that Kafka maps to themselves when no map entry exists. */
const PROTOCOLS = new Set(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]);

/** KAFKA_* variables the apache/kafka image does not turn into server properties. */
export const EXCLUDED_SERVER_ENV = new Set([
    "KAFKA_VERSION",
    "KAFKA_HEAP_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_JMX_HOSTNAME",
    "KAFKA_JMX_PORT",
    "KAFKA_LOG_DIR",
    "KAFKA_HOME",
]);

/** The image's bundled configuration (config/kraft/server.properties of Kafka 3.8), listener part. */
export const BUNDLED_DEFAULT_CONFIG = new Map([
    ["process.roles", "broker,controller"],
    ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
    ["advertised.listeners", "PLAINTEXT://localhost:9092"],
    ["controller.listener.names", "CONTROLLER"],
    ["listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"],
]);

/** Paths under which images ship a default server.properties (not mounted = the bundled default). */
export const BUNDLED_CONFIG_PATHS = [
    "/opt/kafka/config/kraft/server.properties",
    "/opt/kafka/config/server.properties",
    "/etc/kafka/docker/server.properties",
    "config/kraft/server.properties",
    "config/server.properties",
];

/** The directory whose server.properties the apache/kafka image reads. */
export const IMAGE_MOUNTED_CONFIG = "/mnt/shared/config/server.properties";

/**
 * KAFKA_LISTENERS / KAFKA_CFG_LISTENERS -> listeners (the apache/kafka and Bitnami env mapping); undefined
 * for variables the image does not translate. With `listenerKeysOnly` (default), only listener settings.
 */
export function envToProperty(name: string, opts: { listenerKeysOnly?: boolean } = {}): string | undefined {
    if (!name.startsWith("KAFKA_") || EXCLUDED_SERVER_ENV.has(name)) {
        return undefined;
    }
    const rest = name.startsWith("KAFKA_CFG_") ? name.slice("KAFKA_CFG_".length) : name.slice("KAFKA_".length);
    if (rest === "") {
        return undefined;
    }
    const key = rest.toLowerCase().replace(/_/g, ".").replace(/\.\.\./g, "-").replace(/\.\./g, "_");
    return opts.listenerKeysOnly === false || LISTENER_KEYS.includes(key) ? key : undefined;
}

/** Listener names in a `NAME://host:port,...` list. */
export function listenerNames(value: string): string[] {
    return value
        .split(",")
        .map((l) => /^\s*([A-Za-z0-9_-]+):\/\//.exec(l)?.[1]?.toUpperCase())
        .filter((n): n is string => n !== undefined);
}

/** `A:SSL, B:PLAINTEXT` -> {A: SSL, B: PLAINTEXT}. */
export function protocolMap(value: string): Map<string, string> {
    const map = new Map<string, string>();
    for (const pair of value.split(",")) {
        const m = /^\s*([A-Za-z0-9_-]+)\s*:\s*([A-Za-z_]+)\s*$/.exec(pair);
        if (m) {
            map.set(m[1].toUpperCase(), m[2].toUpperCase());
        }
    }
    return map;
}

export interface PlaintextOptions {
    /** Fill settings the configuration leaves out with Kafka's defaults (for a broker's complete configuration). */
    kafkaDefaults?: boolean;
}

/** Returns the non-controller listeners that end up PLAINTEXT in one effective configuration. */
export function plaintextListeners(props: Map<string, string>, opts: PlaintextOptions = {}): string[] {
    const effective = new Map(props);
    if (opts.kafkaDefaults) {
        if (!effective.has("listeners")) {
            effective.set("listeners", "PLAINTEXT://:9092");
        }
        if (!effective.has("listener.security.protocol.map")) {
            effective.set("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL");
        }
    }
    const map = protocolMap(effective.get("listener.security.protocol.map") ?? "");
    const controllers = new Set((effective.get("controller.listener.names") ?? "").split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== ""));
    const used = [...listenerNames(effective.get("listeners") ?? ""), ...listenerNames(effective.get("advertised.listeners") ?? "")];
    const candidates = used.length > 0 ? used : Array.from(map.keys());
    const out = new Set<string>();
    for (const name of candidates) {
        if (controllers.has(name)) {
            continue;
        }
        const protocol = map.get(name) ?? (PROTOCOLS.has(name) ? name : undefined);
        if (protocol === "PLAINTEXT") {
            out.add(name);
        }
    }
    return Array.from(out);
}

/** True when a properties text sets any listener setting. */
export function setsListeners(props: Map<string, string>): boolean {
    return LISTENER_KEYS.some((k) => props.has(k));
}

/** Reads properties text (re-exported for callers that only need this module). */
export function readProperties(text: string): Map<string, string> {
    return parseProperties(text);
}

/** A `kafka-server-start.sh` start found in a command line: its config file and `--override` settings. */
export interface KafkaStart {
    file?: string;
    overrides: Map<string, string>;
}

/** Parses `kafka-server-start.sh [-daemon] <file> [--override k=v]...` (also `kafka-run-class.sh kafka.Kafka <file> ...`). */
export function parseKafkaStart(argv: readonly string[]): KafkaStart | undefined {
    const prog = argv[0]?.split("/").pop() ?? "";
    let i: number;
    if (prog === "kafka-server-start.sh" || prog === "kafka-server-start") {
        i = 1;
    } else if ((prog === "kafka-run-class.sh" || prog === "kafka-run-class") && argv.includes("kafka.Kafka")) {
        i = argv.indexOf("kafka.Kafka") + 1;
    } else {
        return undefined;
    }
    while (argv[i] === "-daemon") {
        i++;
    }
    const file = argv[i] !== undefined && !argv[i].startsWith("--") ? argv[i] : undefined;
    const overrides = new Map<string, string>();
    for (let j = file === undefined ? i : i + 1; j < argv.length; j++) {
        const w = argv[j];
        const inline = /^--override=(.*)$/s.exec(w);
        const kv = inline ? inline[1] : w === "--override" ? argv[++j] : undefined;
        const m = kv !== undefined ? /^([^=]+)=(.*)$/s.exec(kv) : null;
        if (m) {
            overrides.set(m[1].trim(), m[2]);
        }
    }
    return { file, overrides };
}

/** The apache/kafka entrypoint's own start (`/etc/kafka/docker/run [NAME=value]...`): exported variables. */
export function parseImageRun(argv: readonly string[]): Map<string, string> | undefined {
    if (argv.length === 0 || !/(^|\/)etc\/kafka\/docker\/run$/.test(argv[0])) {
        return undefined;
    }
    const out = new Map<string, string>();
    for (const w of argv.slice(1)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
        if (m) {
            out.set(m[1], m[2]);
        }
    }
    return out;
}

/**
 * Server properties the apache/kafka image builds from an environment (name -> value), including the
 * entrypoint's derivation of `listeners` from `advertised.listeners` when only the latter is set.
 */
export function serverPropertiesFromEnv(env: ReadonlyMap<string, string>): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, value] of env) {
        const key = envToProperty(name, { listenerKeysOnly: false });
        if (key) {
            out.set(key, value);
        }
    }
    // /etc/kafka/docker/configure: KAFKA_LISTENERS defaults to KAFKA_ADVERTISED_LISTENERS with hosts replaced by 0.0.0.0.
    const advertised = out.get("advertised.listeners");
    if (!out.has("listeners") && advertised) {
        out.set("listeners", advertised.replace(/:\/\/[^:,]*:/g, "://0.0.0.0:"));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// A broker start, read from the start-up (shellRun.ts): its configuration as the broker ends up with it.


/** Kafka's defaults for the listener settings. */
const KAFKA_DEFAULTS = new Map([
    ["listeners", "PLAINTEXT://:9092"],
    ["listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"],
]);

export interface KafkaVerdict {
    /** True claims: the listeners that end up PLAINTEXT and where the setting comes from. */
    problems: string[];
    unknowns: string[];
    refuses?: string;
    /** TCP ports of its listeners, or "unknown". */
    ports: number[] | "unknown";
}

/** Properties text read as java.util.Properties; undefined (with the reason) when a listener setting cannot be known. */
function propertiesOf(text: string, origin: string, unknowns: string[]): Map<string, string> | undefined {
    // A line the pack cannot expand may hold any key; only lines of the listener keys matter, but a free
    // unknown may also break lines, so any free unknown makes the whole text unknown.
    if (hasFreeUnknown(text.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
        unknowns.push(`${origin} contains text the pack cannot expand`);
        return undefined;
    }
    return parseProperties(splitBalanced(text, /\n/).join("\n"));
}

function listenerProblems(props: Map<string, string>, source: string, unknowns: string[]): { problems: string[]; ports: number[] | "unknown" } {
    const effective = new Map(props);
    for (const [k, v] of KAFKA_DEFAULTS) {
        if (!effective.has(k)) {
            effective.set(k, v);
        }
    }
    for (const k of LISTENER_KEYS) {
        const v = effective.get(k);
        if (v !== undefined && /\$\{[^}]*:/.test(plain(v)) && effective.has("config.providers")) {
            unknowns.push(`${k} (from ${source}) is read through a config provider (${show(v)}), whose value the pack cannot see`);
            return { problems: [], ports: "unknown" };
        }
    }
    const names = [...listenerNames(plain(effective.get("listeners") ?? "")), ...listenerNames(plain(effective.get("advertised.listeners") ?? ""))];
    const rawNames = [effective.get("listeners") ?? "", effective.get("advertised.listeners") ?? ""].join(",");
    for (const entry of plain(rawNames).split(",")) {
        const m = /^\s*([^:]*):\/\//.exec(entry);
        if (m && !isKnown(m[1])) {
            unknowns.push(`a listener name in ${source} cannot be expanded`);
            return { problems: [], ports: "unknown" };
        }
    }
    const mapText = plain(effective.get("listener.security.protocol.map") ?? "");
    if (!isKnown(mapText)) {
        unknowns.push(`listener.security.protocol.map (from ${source}) cannot be expanded`);
        return { problems: [], ports: "unknown" };
    }
    const map = protocolMap(mapText);
    const roles = plain(effective.get("process.roles") ?? "");
    const controllers = new Set(
        /controller/.test(roles)
            ? plain(effective.get("controller.listener.names") ?? "")
                  .split(",")
                  .map((s) => s.trim().toUpperCase())
                  .filter((s) => s !== "")
            : [],
    );
    const out = new Set<string>();
    for (const name of names.length > 0 ? names : Array.from(map.keys())) {
        if (controllers.has(name)) {
            continue;
        }
        const protocol = map.get(name) ?? (["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(name) ? name : undefined);
        if (protocol === "PLAINTEXT") {
            out.add(name);
        }
    }
    const ports: number[] = [];
    let portsKnown = true;
    for (const entry of plain(effective.get("listeners") ?? "").split(",")) {
        const m = /:(\d+|[\uE000-\uE005]+)\s*$/.exec(entry.trim());
        if (m && /^\d+$/.test(m[1])) {
            ports.push(Number(m[1]));
        } else if (entry.trim() !== "") {
            portsKnown = false;
        }
    }
    const problems = out.size > 0 ? [`listener ${Array.from(out).join(", ")} uses the PLAINTEXT security protocol (from ${source})`] : [];
    return { problems, ports: portsKnown ? ports : "unknown" };
}

/** Judges one broker start: kafka-server-start.sh <file> [--override k=v]..., or the apache/kafka image's run. */
export function readKafkaBroker(proc: Proc): KafkaVerdict {
    const unknowns: string[] = [];
    const verdict: KafkaVerdict = { problems: [], unknowns, ports: "unknown" };
    const read = (path: string, optional: boolean): { text?: string; source?: string; absent?: boolean } | undefined => {
        const reads = proc.fs.read(resolvePath(isKnown(proc.cwd) ? proc.cwd : "/", path), optional);
        const texts = reads.filter((r) => r.state === "file") as Array<{ text: string; source: string }>;
        const why = reads.find((r) => r.state === "unknown") as { reason: string } | undefined;
        if (why) {
            unknowns.push(`${path}: ${why.reason}`);
            return undefined;
        }
        if (texts.length === 0) {
            return { absent: true };
        }
        if (new Set(texts.map((t) => t.text)).size > 1 || texts.length < reads.length) {
            unknowns.push(`${path} may be written with different contents by the start-up`);
            return undefined;
        }
        return { text: texts[0].text, source: `${path} (${texts[0].source})` };
    };
    if (proc.entrypoint === "apache-kafka") {
        const open = (proc.openEnv ?? []).filter((o) => "KAFKA_".startsWith(o.prefix) || o.prefix.startsWith("KAFKA_"));
        if (open.length > 0) {
            unknowns.push("an envFrom source outside this stack may set KAFKA_* variables, which the image turns into broker settings");
            return verdict;
        }
        const fromEnv = new Map<string, string>();
        for (const [name, value] of proc.env) {
            const key = envToProperty(name, { listenerKeysOnly: false });
            if (key) {
                if (LISTENER_KEYS.includes(key) && hasFreeUnknown(value.replace(/\uE002[^\uE003]*\uE003/g, "x"))) {
                    unknowns.push(`${name} comes from a value the pack cannot see`);
                    return verdict;
                }
                fromEnv.set(key, value);
            }
        }
        const advertised = fromEnv.get("advertised.listeners");
        if (!fromEnv.has("listeners") && advertised) {
            fromEnv.set("listeners", advertised.replace(/:\/\/[^:,]*:/g, "://0.0.0.0:"));
        }
        const mounted = read(IMAGE_MOUNTED_CONFIG, true);
        if (!mounted) {
            return verdict;
        }
        let props: Map<string, string>;
        let source: string;
        if (mounted.text !== undefined) {
            const base = propertiesOf(mounted.text, mounted.source!, unknowns);
            if (!base) {
                return verdict;
            }
            props = new Map([...base, ...fromEnv]);
            source = fromEnv.size > 0 ? `${mounted.source} with the container's KAFKA_* env` : mounted.source!;
            if (mounted.text.trim() === "" && fromEnv.size === 0) {
                props = parseProperties(BUNDLED_CONFIG_TEXT);
                source = "the image's bundled default configuration (nothing mounted or set in env)";
            }
        } else if (fromEnv.size > 0) {
            props = fromEnv;
            source = "the container's KAFKA_* env (the image's own entrypoint)";
        } else {
            props = parseProperties(BUNDLED_CONFIG_TEXT);
            source = "the image's bundled default configuration (no listener settings in env or a mounted server.properties)";
        }
        const r = listenerProblems(props, source, unknowns);
        verdict.problems.push(...r.problems);
        verdict.ports = r.ports;
        return verdict;
    }
    const start = parseKafkaStart(proc.argv.map((a) => a));
    if (!start) {
        unknowns.push("the broker's arguments cannot be read");
        return verdict;
    }
    if (proc.argv.some((a) => a === "\uE004")) {
        unknowns.push("the broker gets arguments the pack cannot expand");
        return verdict;
    }
    if (start.file === undefined) {
        verdict.refuses = "kafka-server-start.sh needs a config file";
        return verdict;
    }
    if (!isKnown(plain(start.file))) {
        unknowns.push(`the broker's config file path (${show(start.file)}) cannot be expanded`);
        return verdict;
    }
    const f = read(plain(start.file), false);
    if (!f) {
        return verdict;
    }
    if (f.absent) {
        verdict.refuses = `its config file ${plain(start.file)} is not there`;
        return verdict;
    }
    const base = propertiesOf(f.text!, f.source!, unknowns);
    if (!base) {
        return verdict;
    }
    for (const [k, v] of start.overrides) {
        if (!isKnown(plain(k)) || (LISTENER_KEYS.includes(plain(k)) && hasFreeUnknown(v.replace(/\uE002[^\uE003]*\uE003/g, "x")))) {
            unknowns.push(`an --override of the broker cannot be expanded (${show(k)})`);
            return verdict;
        }
        base.set(plain(k), v);
    }
    const r = listenerProblems(base, start.overrides.size > 0 ? `${f.source} with --override` : f.source!, unknowns);
    verdict.problems.push(...r.problems);
    verdict.ports = r.ports;
    return verdict;
}

/** The image's bundled config as text (the listener part). */
const BUNDLED_CONFIG_TEXT = Array.from(BUNDLED_DEFAULT_CONFIG)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");

/** kafka-configs.sh --alter on brokers: listener settings it adds at runtime. */
export function readKafkaConfigsCli(argv: string[], readFile: (path: string) => string | undefined): { problem?: string; unknown?: string } {
    const words = argv.map(plain);
    if (!words.includes("--alter")) {
        return {};
    }
    const typeIdx = words.indexOf("--entity-type");
    const brokers = words.includes("--broker") || words.includes("--broker-defaults") || words.includes("--broker-logger") || (typeIdx >= 0 && /^brokers?$/.test(words[typeIdx + 1] ?? ""));
    if (!brokers) {
        if (argv.includes("\uE004") && typeIdx < 0) {
            return { unknown: "kafka-configs.sh --alter gets arguments the pack cannot expand, so whether it changes broker listeners is not known" };
        }
        return {};
    }
    const settings: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (words[i] === "--add-config" && argv[i + 1] !== undefined) {
            settings.push(argv[i + 1]);
        } else if (words[i].startsWith("--add-config=")) {
            settings.push(argv[i].slice(argv[i].indexOf("=") + 1));
        } else if (words[i] === "--add-config-file" && argv[i + 1] !== undefined) {
            const text = readFile(plain(argv[i + 1]));
            if (text === undefined) {
                return { unknown: "kafka-configs.sh --add-config-file reads settings the pack cannot see" };
            }
            settings.push(...Array.from(parseProperties(text)).map(([k, v]) => `${k}=${v}`));
        }
    }
    if (argv.includes("\uE004")) {
        return { unknown: "kafka-configs.sh --alter on brokers gets arguments the pack cannot expand" };
    }
    for (const s of settings) {
        if (!isKnown(plain(s))) {
            return { unknown: "kafka-configs.sh --alter on brokers sets values the pack cannot expand" };
        }
        // k=v,k2=[a,b] (square brackets group a list)
        const text = plain(s);
        const re = /([A-Za-z0-9._-]+)=(\[[^\]]*\]|[^,]*)/g;
        let m: RegExpExecArray | null;
        while ((m = re.exec(text)) !== null) {
            const key = m[1].replace(/^listener\.name\.[^.]+\./, "");
            const value = m[2].replace(/^\[|\]$/g, "");
            if (key === "listener.security.protocol.map" && /:\s*PLAINTEXT\b/i.test(value)) {
                return { problem: `kafka-configs.sh --alter maps a listener to PLAINTEXT at runtime (${m[1]})` };
            }
            if ((key === "listeners" || key === "advertised.listeners") && /(^|,)\s*PLAINTEXT:\/\//i.test(value)) {
                return { problem: `kafka-configs.sh --alter adds a PLAINTEXT listener at runtime (${m[1]})` };
            }
        }
    }
    return {};
}
