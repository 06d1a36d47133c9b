// How the server policies (redis-requires-auth, kafka-no-plaintext-listeners, no-plaintext-credentials for
// MariaDB) turn the shared reading into verdicts: a true claim when the reading proves a problem, and in a
// data namespace an honest "cannot verify … to make it verifiable, …" when the reading cannot tell; never a
// pass on what was not read, never a claim the reading did not prove.

import type { PolicyResource } from "@pulumi/policy";
import { ContainerRef, describeContainer, FIX } from "./k8s";
import { ContainerReading, dataNamespaces, indexStack, PodReading, readStack, ServerKind, StackIndex, UnknownTracker, Workload } from "../reading";

/** The stack as the server policies see it: every workload read once, and the data namespaces. */
export interface StackReading {
    index: StackIndex;
    pods: Map<Workload, PodReading>;
    data: Map<string, Set<ServerKind>>;
}

/** The last stack read, by the props of its resources: the stack policies of one evaluation share one reading. */
let last: { props: unknown[]; reading: StackReading } | undefined;

export function readWholeStack(resources: readonly PolicyResource[], unknowns: UnknownTracker): StackReading {
    const props = resources.map((r) => r.props);
    if (last && last.props.length === props.length && last.props.every((p, i) => p === props[i])) {
        return last.reading;
    }
    const index = indexStack(resources, unknowns);
    const pods = readStack(index, unknowns);
    const reading = { index, pods, data: dataNamespaces(index, pods) };
    if (!unknowns.sawUnknown) {
        last = { props, reading };
    }
    return reading;
}

/**
 * True when `kind`'s policy answers for what cannot be followed in this container: the container is in a
 * data namespace, and the container or its namespace points at that service, or at no service at all.
 */
export function answersFor(kind: ServerKind, c: ContainerReading, namespace: string, stack: StackReading): boolean {
    const ns = stack.data.get(namespace);
    if (!ns) {
        return false;
    }
    const hints = new Set<ServerKind>([...c.suggests, ...ns]);
    return hints.size === 0 || hints.has(kind);
}

const SERVICE_NAMES: Record<ServerKind, string> = { redis: "Redis", mariadb: "MariaDB", kafka: "Kafka" };

/** Reason patterns and the way a team makes such a reason go away (the first matching pattern of a reason applies). */
const HINTS: Array<[RegExp, (service: string) => string]> = [
    [/not part of this stack|outside this stack|envFrom source/, () => "declare the ConfigMap or Secret it reads in this stack, so that its content can be read"],
    [/entrypoint the pack knows|not one whose entrypoint/, () => "set the container's command (and args) explicitly, or use an image whose start-up the pack knows (redis, valkey, mariadb, mysql, apache/kafka, busybox, alpine, debian, ubuntu)"],
    [/a program the pack does not know|Java program|Java class|nc -e|awk runs|sed runs|sed -f|alias|enable -f|script the pack does not read/, (s) => `run only programs the pack knows in a data namespace: start ${s} and the tools around it directly or from a shell script in a ConfigMap, and move other programs to a workload outside the data namespaces`],
    [/PersistentVolumeClaim|hostPath|image volume|a file of image|ClusterTrustBundle|volume's content|HOME is not known/, () => "mount the configuration from a ConfigMap or Secret of this stack instead of a volume or an image file the pack cannot read"],
    [/different contents|written by|copies files|unpacks|downloads|may write anywhere|shares the volume|are both mounted/, () => "read the configuration from a ConfigMap or Secret mount instead of a file the start-up or another container changes"],
    [/cannot expand|cannot be expanded|may be an option|may be empty|value the pack cannot/, () => "give the setting as a literal or from a Secret of this stack (quoted where a shell expands it), not from command output or runtime values"],
    [/syntax|too deeply|nests/, () => "simplify the start-up script (plain POSIX sh or bash, no eval of generated text)"],
];

/** Turns reasons into the ways a team makes them verifiable. */
export function verifiabilityHints(reasons: readonly string[], kind: ServerKind): string[] {
    const hints = new Set<string>();
    for (const r of reasons) {
        const hit = HINTS.find(([re]) => re.test(r));
        hints.add(hit ? hit[1](SERVICE_NAMES[kind]) : `start ${SERVICE_NAMES[kind]} with a command and a configuration the pack can read (policy/README.md, "Making a workload verifiable")`);
    }
    return Array.from(hints);
}

/** `container "x" in StatefulSet ns/name: cannot verify that <what>: <reasons>. Fix: to make it verifiable, <hints>.` */
export function cannotVerify(ref: ContainerRef, what: string, reasons: readonly string[], kind: ServerKind): string {
    const uniq = Array.from(new Set(reasons));
    const shown = uniq.slice(0, 4);
    const more = uniq.length > shown.length ? `; and ${uniq.length - shown.length} more` : "";
    return `${describeContainer(ref)}: cannot verify that ${what}: ${shown.join("; ")}${more}. ${FIX} to make it verifiable, ${verifiabilityHints(uniq, kind).join("; or ")}.`;
}

/** Where an unknown point is, for messages: `(command) reason` or `(/etc/start.sh) reason`. */
export function unknownReasons(c: ContainerReading): string[] {
    return [...c.run.unknowns.map((u) => (u.via === "command" ? u.reason : `${u.via}: ${u.reason}`)), ...c.mountProblems];
}

/** True for a workload kind whose pods run (a PodTemplate only describes one). */
export function runs(w: Workload): boolean {
    return w.kind !== "PodTemplate";
}
