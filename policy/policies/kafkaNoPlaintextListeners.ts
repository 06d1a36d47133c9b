import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { arr, at, containersOf, describeContainer, message, Obj, rec, resolveConfig, str } from "./k8s";
import { envEntries, imageBase, indexStack, keyText, mountedFiles, StackIndex } from "./stack";

export interface KafkaNoPlaintextConfig {
    /** Accept PLAINTEXT client listeners (dev clusters only). */
    allowPlaintext: boolean;
}

const configSchema: PolicyConfigSchema = {
    properties: {
        allowPlaintext: {
            type: "boolean",
            default: false,
            description: "Accept PLAINTEXT (unauthenticated, unencrypted) client listeners; for dev stacks only.",
        },
    },
};

/** Broker properties that decide the listeners' security protocols. */
const LISTENER_KEYS = ["listeners", "advertised.listeners", "listener.security.protocol.map", "controller.listener.names"];
/** Listener names that Kafka maps to themselves when no map entry exists. */
const PROTOCOLS = new Set(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]);
/** Images whose default configuration (no command, no listener settings) opens a PLAINTEXT listener. */
const KAFKA_BROKER_IMAGES = new Set(["kafka", "kafka-native"]);

/** Parses Java .properties text (key=value or key: value, # and ! comments). */
export function parseProperties(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith("!")) {
            continue;
        }
        const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
        if (m) {
            out.set(m[1], m[2].trim());
        }
    }
    return out;
}

/** KAFKA_LISTENERS / KAFKA_CFG_LISTENERS -> listeners (the apache/kafka and Bitnami env mapping). */
export function envToProperty(name: string): string | undefined {
    const m = /^KAFKA_(?:CFG_)?([A-Z0-9_]+)$/.exec(name);
    const key = m ? m[1].toLowerCase().replace(/_/g, ".") : undefined;
    return key && LISTENER_KEYS.includes(key) ? key : undefined;
}

/** Listener names in a `NAME://host:port,...` list. */
function listenerNames(value: string): string[] {
    return value
        .split(",")
        .map((l) => /^\s*([A-Za-z0-9_]+):\/\//.exec(l)?.[1]?.toUpperCase())
        .filter((n): n is string => n !== undefined);
}

/** Returns the non-controller listeners that end up PLAINTEXT in one effective configuration. */
export function plaintextListeners(props: Map<string, string>): string[] {
    const map = new Map<string, string>();
    for (const pair of (props.get("listener.security.protocol.map") ?? "").split(",")) {
        const m = /^\s*([A-Za-z0-9_]+)\s*:\s*([A-Za-z_]+)\s*$/.exec(pair);
        if (m) {
            map.set(m[1].toUpperCase(), m[2].toUpperCase());
        }
    }
    const controllers = new Set((props.get("controller.listener.names") ?? "").split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== ""));
    const used = [...listenerNames(props.get("listeners") ?? ""), ...listenerNames(props.get("advertised.listeners") ?? "")];
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

/** Listener settings from env, envFrom ConfigMaps and configMapKeyRef values. */
function envSettings(c: Obj, namespace: string, index: StackIndex): Map<string, string> {
    const out = new Map<string, string>();
    for (const from of arr(c.envFrom)) {
        const name = str(at(from, "configMapRef", "name"));
        const cm = name ? index.objects.get(`ConfigMap/${namespace}/${name}`) : undefined;
        const prefix = str(rec(from)?.prefix) ?? "";
        for (const [k, v] of Object.entries(rec(cm?.data) ?? {})) {
            const key = envToProperty(prefix + k);
            if (key && typeof v === "string") {
                out.set(key, v);
            }
        }
    }
    for (const [name, entry] of envEntries(c)) {
        const key = envToProperty(name);
        if (!key) {
            continue;
        }
        let value = str(entry.value);
        const ref = rec(at(entry, "valueFrom", "configMapKeyRef"));
        if (value === undefined && ref) {
            const cm = index.objects.get(`ConfigMap/${namespace}/${str(ref.name) ?? ""}`);
            value = cm ? keyText("ConfigMap", cm, str(ref.key) ?? "") : undefined;
        }
        if (value !== undefined) {
            out.set(key, value);
        }
    }
    return out;
}

/**
 * Kafka client listeners are not PLAINTEXT unless the stack allows it (allowPlaintext). For every
 * container, the policy reads the listener settings from env (KAFKA_LISTENERS,
 * KAFKA_ADVERTISED_LISTENERS, KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, KAFKA_CONTROLLER_LISTENER_NAMES
 * and their Bitnami KAFKA_CFG_ forms, also via envFrom/configMapKeyRef) and from every mounted
 * ConfigMap/Secret `*.properties` file that sets listeners; env overrides the file as the images
 * do. Any listener other than the controller listener(s) that maps to PLAINTEXT, or a PLAINTEXT://
 * listener without a map entry, is a violation. A kafka/kafka-native image run with its default
 * command and no listener settings at all is flagged too, since its built-in listener is PLAINTEXT.
 *
 * A stack policy (not a resource policy) because server.properties lives in a ConfigMap.
 */
export const kafkaNoPlaintextListeners: StackValidationPolicy = {
    name: "kafka-no-plaintext-listeners",
    description: "Kafka brokers expose no PLAINTEXT listener other than the controller listener unless the stack allows it.",
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, reportViolation) => {
        const cfg = resolveConfig<KafkaNoPlaintextConfig>(configSchema, () => args.getConfig());
        if (cfg.allowPlaintext) {
            return;
        }
        const index = indexStack(args.resources);
        for (const w of index.workloads) {
            for (const ref of containersOf(w.podSpec, ["container", "initContainer"])) {
                const env = envSettings(ref.c, w.namespace, index);
                const files = mountedFiles(ref.c, w.podSpec, w.namespace, index).files.filter(
                    (f) => f.path.endsWith(".properties") && f.text !== undefined && Array.from(parseProperties(f.text).keys()).some((k) => LISTENER_KEYS.includes(k)),
                );
                const problems: string[] = [];
                const configs: Array<[string, Map<string, string>]> = files.map((f) => [`${f.path} (${f.source}) with env overrides`, new Map([...parseProperties(f.text ?? ""), ...env])]);
                if (configs.length === 0 && env.size > 0) {
                    configs.push(["the container env", env]);
                }
                for (const [source, props] of configs) {
                    const names = plaintextListeners(props);
                    if (names.length > 0) {
                        problems.push(`listener ${names.join(", ")} uses the PLAINTEXT security protocol (from ${source})`);
                    }
                }
                if (configs.length === 0 && ref.role === "container" && KAFKA_BROKER_IMAGES.has(imageBase(ref.c.image)) && arr(ref.c.command).length === 0) {
                    problems.push("no listener configuration found (env or mounted server.properties), so the image's default PLAINTEXT listener is used");
                }
                if (problems.length > 0) {
                    reportViolation(
                        message(describeContainer(ref), problems, [
                            "map client and inter-broker listeners to SASL_SSL, SSL or SASL_PLAINTEXT in listener.security.protocol.map (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP), or set allowPlaintext: true in this stack's policy config (dev only)",
                        ]),
                        w.resource.urn,
                    );
                }
            }
        }
    },
};
