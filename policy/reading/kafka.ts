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
