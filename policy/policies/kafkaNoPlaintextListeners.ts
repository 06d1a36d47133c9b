import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { describeContainer, message, resolveConfig } from "./k8s";
import { envToProperty, isKnown, plain, plaintextListeners, programName, readKafkaBroker, readKafkaConfigsCli, resolvePath, serversOf, withUnknowns } from "../reading";
import { answersFor, cannotVerify, readWholeStack, runs, unknownReasons } from "./verdicts";

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

const FIX_LISTENERS =
    "map client and inter-broker listeners to SASL_SSL, SSL or SASL_PLAINTEXT in listener.security.protocol.map (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP), or set allowPlaintext: true in this stack's policy config (dev only)";

/**
 * Kafka client listeners are not PLAINTEXT unless the stack allows it (allowPlaintext). Every broker a
 * container starts (reading/startup.ts) is judged on the configuration it really runs with (reading/kafka.ts):
 * the file named on kafka-server-start.sh (mounted, or written by the start-up: cat, cp, sed, here-documents)
 * with its --override settings, or for the apache/kafka image's own entrypoint the mounted
 * /mnt/shared/config/server.properties plus the KAFKA_* env (else its bundled PLAINTEXT default), then
 * Kafka's defaults for what is left out (listeners=PLAINTEXT://:9092). A listener other than the controller
 * listener(s) that maps to PLAINTEXT is a violation, and so is a kafka-configs.sh --alter that adds one to a
 * broker at runtime. In a data namespace, what the pack cannot follow is reported as "cannot verify".
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
            const stack = readWholeStack(args.resources, unknowns);
            for (const [w, pod] of stack.pods) {
                if (!runs(w)) {
                    continue;
                }
                for (const c of pod.containers) {
                    unknowns.run(() => {
                        const problems: string[] = [];
                        const unverifiable: string[] = [];
                        for (const p of serversOf(c, "kafka")) {
                            const v = readKafkaBroker(p);
                            if (v.refuses) {
                                continue;
                            }
                            const where = `the broker${p.via === "command" ? "" : ` started by ${p.via}`}${p.maybe ? " (on some paths of the start-up)" : ""}`;
                            problems.push(...v.problems.map((x) => `${where}: ${x}`));
                            unverifiable.push(...v.unknowns.map((x) => `${where}: ${x}`));
                        }
                        for (const p of c.run.procs) {
                            if (!/^kafka-configs(\.sh)?$/.test(programName(plain(p.argv[0] ?? "")))) {
                                continue;
                            }
                            const readFile = (path: string): string | undefined => {
                                if (!isKnown(path)) {
                                    return undefined;
                                }
                                const reads = p.fs.read(resolvePath(isKnown(p.cwd) ? p.cwd : "/", path));
                                return reads.length === 1 && reads[0].state === "file" ? reads[0].text : undefined;
                            };
                            const r = readKafkaConfigsCli(p.argv, readFile);
                            if (r.problem) {
                                problems.push(`${p.via}: ${r.problem}`);
                            } else if (r.unknown && answersFor("kafka", c, w.namespace, stack)) {
                                unverifiable.push(`${p.via}: ${r.unknown}`);
                            }
                        }
                        if (answersFor("kafka", c, w.namespace, stack)) {
                            unverifiable.push(...unknownReasons(c));
                        }
                        // Listener settings in env that this start-up does not read: the manifest says PLAINTEXT,
                        // and the image's own entrypoint would use them. Stated as what it is.
                        const imageRun = serversOf(c, "kafka").some((p) => p.entrypoint === "apache-kafka");
                        if (!imageRun && (c.suggests.has("kafka") || serversOf(c, "kafka").length > 0)) {
                            const props = new Map<string, string>();
                            const from = new Map<string, string>();
                            for (const v of c.env.vars.values()) {
                                const key = envToProperty(v.name);
                                if (key && isKnown(plain(v.value))) {
                                    props.set(key, plain(v.value));
                                    from.set(key, v.name);
                                }
                            }
                            // Controller listeners are allowed on PLAINTEXT; the env names them (or the map is all there is).
                            const named = plaintextListeners(new Map([...props, ["process.roles", "controller"]]));
                            if (named.length > 0) {
                                const vars = ["listeners", "advertised.listeners", "listener.security.protocol.map"].filter((k) => props.has(k)).map((k) => from.get(k)!);
                                problems.push(
                                    `env ${vars.join(", ")} set${vars.length === 1 ? "s" : ""} listener ${named.join(", ")} to PLAINTEXT; this start-up does not read ${vars.length === 1 ? "it" : "them"} (only the apache/kafka image's own entrypoint turns KAFKA_* variables into broker settings), so the manifest says PLAINTEXT for a broker that would take it from its entrypoint`,
                                );
                            }
                        }
                        if (problems.length > 0) {
                            reportViolation(message(describeContainer(c.ref), Array.from(new Set(problems)), [FIX_LISTENERS]), w.resource.urn);
                        }
                        if (unverifiable.length > 0) {
                            reportViolation(cannotVerify(c.ref, "Kafka has no PLAINTEXT client listener", unverifiable, "kafka"), w.resource.urn);
                        }
                    });
                }
            }
        }),
};
