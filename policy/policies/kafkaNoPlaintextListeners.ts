import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { ContainerRef, describeContainer, message, resolveConfig, str } from "./k8s";
import {
    BUNDLED_CONFIG_PATHS,
    BUNDLED_DEFAULT_CONFIG,
    effectiveArgv,
    effectiveEnv,
    envToProperty,
    findFile,
    imageBase,
    IMAGE_MOUNTED_CONFIG,
    indexStack,
    invocations,
    isOpaque,
    knownValues,
    mountedFiles,
    normalisePath,
    parseImageRun,
    parseKafkaStart,
    parseProperties,
    plaintextListeners,
    serverPropertiesFromEnv,
    setsListeners,
    StackIndex,
    withUnknowns,
    Workload,
} from "../reading";

export { parseProperties, plaintextListeners } from "../reading";

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

/** Images whose own entrypoint configures the broker from env and falls back to a PLAINTEXT default. */
const BROKER_IMAGES = new Set(["kafka", "kafka-native", "cp-kafka", "cp-server", "confluent-local"]);

/** One configuration a broker may run with, and where it comes from (for messages). */
interface Candidate {
    source: string;
    props: Map<string, string>;
    /** Fill absent settings with Kafka's defaults (this is the broker's whole configuration). */
    complete: boolean;
    /** The image's bundled default configuration. */
    bundled?: boolean;
}

function merge(...maps: Array<ReadonlyMap<string, string>>): Map<string, string> {
    const out = new Map<string, string>();
    maps.forEach((m) => m.forEach((v, k) => out.set(k, v)));
    return out;
}

/** The configurations a container's Kafka broker may run with (empty when it runs no broker). */
function candidates(w: Workload, ref: ContainerRef, index: StackIndex): Candidate[] {
    const brokerImage = BROKER_IMAGES.has(imageBase(str(ref.c.image)));
    const env = effectiveEnv(ref.c, { namespace: w.namespace, index });
    const vars = knownValues(env);
    const mounted = mountedFiles(ref.c, { podSpec: w.podSpec, namespace: w.namespace, index });
    const readFile = (p: string) => {
        const f = findFile(p, mounted);
        return f && !isOpaque(f) ? f.text : undefined;
    };
    const { argv } = effectiveArgv(ref.c, { family: brokerImage ? "apache-kafka" : "other", vars });
    const invs = invocations(argv, { vars, readFile });
    const starts = invs.map((inv) => parseKafkaStart(inv.argv)).filter((s): s is NonNullable<typeof s> => s !== undefined);
    const runs = invs.map((inv) => parseImageRun(inv.argv)).filter((r): r is Map<string, string> => r !== undefined);

    // Env as the image sees it: the container env plus `run NAME=value` exports.
    const imageEnv = merge(vars, ...runs);
    const listenerEnv = new Map<string, string>();
    for (const [name, value] of imageEnv) {
        const key = envToProperty(name);
        if (key) {
            listenerEnv.set(key, value);
        }
    }
    const overrides = merge(...starts.map((s) => s.overrides));
    const out: Candidate[] = [];
    const seen = new Set<string>();

    // Every mounted file that sets listeners, whatever its name (the broker may run a copy of it).
    for (const f of mounted.files) {
        if (f.text === undefined) {
            continue;
        }
        const props = parseProperties(f.text);
        if (setsListeners(props)) {
            seen.add(f.path);
            out.push({ source: `${f.path} (${f.source}) with env overrides`, props: merge(props, listenerEnv, overrides), complete: false });
        }
    }
    // Configs written by the start script itself (`cat > server.properties <<EOF`).
    for (const inv of invs) {
        for (const doc of inv.heredocs) {
            const props = parseProperties(doc);
            if (setsListeners(props)) {
                out.push({ source: `a here-document in ${inv.via}`, props: merge(props, listenerEnv, overrides), complete: false });
            }
        }
    }
    const generated = out.length > 0;
    // The file named on kafka-server-start.sh is the broker's whole configuration.
    for (const s of starts) {
        if (s.file === undefined) {
            continue;
        }
        const f = findFile(s.file, mounted);
        if (f && !isOpaque(f) && f.text !== undefined) {
            if (!seen.has(f.path)) {
                seen.add(f.path);
                out.push({ source: `${f.path} (${f.source}), run by kafka-server-start.sh`, props: merge(parseProperties(f.text), listenerEnv, s.overrides), complete: true });
            }
        } else if (!f && !generated && BUNDLED_CONFIG_PATHS.some((p) => normalisePath(p) === normalisePath(s.file!) || s.file!.endsWith(p))) {
            out.push({ source: `the image's bundled ${s.file}, run by kafka-server-start.sh`, props: merge(BUNDLED_DEFAULT_CONFIG, s.overrides), complete: true, bundled: true });
        }
    }
    // The image's own entrypoint: /mnt/shared/config/server.properties + KAFKA_* env, else the bundled default.
    if (brokerImage && runs.length > 0) {
        const shared = findFile(IMAGE_MOUNTED_CONFIG, mounted);
        const serverEnv = serverPropertiesFromEnv(imageEnv);
        if (shared && !isOpaque(shared) && shared.text !== undefined) {
            if (!seen.has(shared.path)) {
                out.push({ source: `${shared.path} (${shared.source}) with env overrides`, props: merge(parseProperties(shared.text), serverEnv), complete: true });
            }
        } else if (serverEnv.size > 0) {
            out.push({ source: "the container env", props: serverEnv, complete: true });
        } else if (!generated && !(shared && isOpaque(shared))) {
            out.push({ source: "the image's bundled default configuration", props: new Map(BUNDLED_DEFAULT_CONFIG), complete: true, bundled: true });
        }
    }
    if (out.length === 0 && listenerEnv.size > 0) {
        out.push({ source: "the container env", props: listenerEnv, complete: false });
    }
    return out;
}

/**
 * Kafka client listeners are not PLAINTEXT unless the stack allows it (allowPlaintext). For every
 * container the policy works out the configurations its broker may run with: every mounted file that
 * sets listeners (any name and path; Java properties syntax with `:`/whitespace separators and line
 * continuations), the file named on `kafka-server-start.sh` with its `--override`s, configs a start
 * script writes through a here-document, and for the apache/kafka image's own entrypoint
 * /mnt/shared/config/server.properties plus the KAFKA_* env translation (env, envFrom, valueFrom and
 * `run NAME=value`), or its bundled PLAINTEXT default when nothing is given. Env overrides files, as
 * the images do; a complete configuration gets Kafka's defaults for absent settings
 * (listeners=PLAINTEXT://:9092). Any listener other than the controller listener(s) that maps to
 * PLAINTEXT, or a PLAINTEXT:// listener without a map entry, is a violation.
 *
 * A stack policy (not a resource policy) because server.properties lives in a ConfigMap.
 */
export const kafkaNoPlaintextListeners: StackValidationPolicy = {
    name: "kafka-no-plaintext-listeners",
    description: "Kafka brokers expose no PLAINTEXT listener other than the controller listener unless the stack allows it.",
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const cfg = resolveConfig<KafkaNoPlaintextConfig>(configSchema, () => args.getConfig());
            if (cfg.allowPlaintext) {
                return;
            }
            const index = indexStack(args.resources, unknowns);
            for (const w of index.workloads) {
                for (const ref of w.containers) {
                    unknowns.run(() => {
                        const problems: string[] = [];
                        for (const c of candidates(w, ref, index)) {
                            const names = plaintextListeners(c.props, { kafkaDefaults: c.complete });
                            if (names.length === 0) {
                                continue;
                            }
                            problems.push(
                                c.bundled && c.source === "the image's bundled default configuration"
                                    ? "no listener configuration found (env or mounted server.properties), so the image's default PLAINTEXT listener is used"
                                    : `listener ${names.join(", ")} uses the PLAINTEXT security protocol (from ${c.source})`,
                            );
                        }
                        if (problems.length > 0) {
                            reportViolation(
                                message(describeContainer(ref), Array.from(new Set(problems)), [
                                    "map client and inter-broker listeners to SASL_SSL, SSL or SASL_PLAINTEXT in listener.security.protocol.map (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP), or set allowPlaintext: true in this stack's policy config (dev only)",
                                ]),
                                w.resource.urn,
                            );
                        }
                    });
                }
            }
        }),
};
