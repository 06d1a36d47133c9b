// The Kafka the tests run, read from a render of a stack: config changes a test makes, the StatefulSet,
// its container and the connection output, and copies of the objects with one key changed.

import * as crypto from "crypto";
import { decodeConfigValue } from "../../../components/stackConfig";
import { readProjectName, readStackFile, renderStack, ROOT, type Manifest, type RegisteredResource, type RenderOptions } from "../../../scripts/lib/mockRuntime";
import { find, type Any } from "../../../scripts/lib/manifests";
import { container, dataKey, onlyObject, output, type Container } from "../../../scripts/lib/rendered";

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * A stack's own config (Pulumi.<stack>.yaml, prefix stripped), to be changed by a test (e.g. grants for the
 * topics the test creates) and rendered with renderKafka(stack, config).
 */
export function stackConfig(stack: string): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const raw = readStackFile(ROOT, stack);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    return config;
}

/** The stack's config with `kafka.users` replaced (the authorizer denies what no grant allows). */
export function withKafkaUsers(config: Record<string, unknown>, users: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...config, kafka: { ...((config.kafka as object | undefined) ?? {}), users, ...extra } };
}

/** What the harness reads from a render: the Kafka StatefulSet, its container and connection output. */
export interface KafkaRendered {
    objects: Manifest[];
    namespace: string;
    sts: Manifest;
    container: Container;
    replicas: number;
    connection: KafkaConnection;
    /** Every resource of the render (renderKafka only): e.g. the generated CA's key, to issue a renewal from it. */
    resources?: RegisteredResource[];
}

export interface KafkaConnection {
    namespace: string;
    bootstrapServers: string;
    securityProtocol: string;
    saslMechanism?: string;
    adminSecret: { name: string; key: string };
    users: { user: string; secretName: string }[];
    /** The client listener's TLS: the Secret clients take the CA from (kafka-tls, key ca.crt). */
    tls: { enabled: boolean; secretName?: string; caKey?: string };
}

/** Renders run one at a time: the mock runtime is not re-entrant, and a cluster may render in the background. */
let renderQueue: Promise<unknown> = Promise.resolve();

/** `from`: a seed (renders of one seed share their passwords) or a deployed stack's generated values; else random. */
export function renderKafka(stack: string, config?: Record<string, unknown>, from?: string | Pick<RenderOptions, "seed" | "generated" | "previousOutputs">): Promise<KafkaRendered> {
    const next = renderQueue.then(async () => {
        const r = await renderStack(stack, { withSecrets: true, config, ...(typeof from === "string" ? { seed: from } : (from ?? {})) });
        return { ...kafkaRendered(r.objects, output<KafkaConnection>(r.outputs, "kafkaConnection")), resources: r.resources };
    });
    renderQueue = next.catch(() => undefined);
    return next;
}

export function kafkaRendered(objects: Manifest[], connection: KafkaConnection): KafkaRendered {
    const sts = onlyObject(objects, "StatefulSet", connection.namespace);
    return { objects, namespace: connection.namespace, sts, container: container(sts, "kafka"), replicas: (sts as Any).spec.replicas, connection };
}

/** A copy of the objects with one ConfigMap/Secret key replaced (e.g. a forced cluster id, a new JAAS file). */
export function withDataKey(objects: Manifest[], kind: "ConfigMap" | "Secret", namespace: string, name: string, key: string, value: string): Manifest[] {
    const copy: Manifest[] = JSON.parse(JSON.stringify(objects));
    const obj = find(copy, kind, namespace, name) as Any;
    dataKey(copy, kind, namespace, name, key); // throws when the key does not exist
    if (kind === "ConfigMap") {
        obj.data[key] = value;
    } else if (obj.stringData && key in obj.stringData) {
        obj.stringData[key] = value;
    } else {
        obj.data[key] = Buffer.from(value).toString("base64");
    }
    return copy;
}

/** A 16-byte id in Kafka's format (22 chars of URL-safe base64) that begins with '-'. */
export function clusterIdStartingWithDash(): string {
    for (;;) {
        const id = crypto.randomBytes(16).toString("base64url");
        const forced = "-" + id.slice(1);
        if (Buffer.from(forced, "base64url").length === 16 && /^-[A-Za-z0-9_-]{21}$/.test(forced)) return forced;
    }
}
