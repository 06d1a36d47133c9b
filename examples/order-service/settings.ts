// The order service's stack config (`order-service:*`), validated with messages that name the key.

/** The order service's settings. */
export interface OrderServiceSettings {
    /** The backbone stack to read, `<org>/msa-infra/<stack>`. Required. */
    backbone: string;
    /** Container image with an explicit tag. Required. */
    image: string;
    /** Namespace created for the service. Default "order-service" (allowed by the backbone's NetworkPolicies). */
    namespace: string;
    /** Pods of the Deployment. Default 1. */
    replicas: number;
    /** The backbone's MariaDB database and user of the service. Default "orders". */
    database: string;
    /** The backbone's Kafka SASL user. Default "orders". */
    kafkaUser: string;
    /** The backbone's Redis ACL user. Default "sessions". */
    redisUser: string;
}

export const ORDER_SERVICE_DEFAULTS = { namespace: "order-service", replicas: 1, database: "orders", kafkaUser: "orders", redisUser: "sessions" };

const STACK_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const IMAGE_WITH_TAG = /^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME = /^[A-Za-z0-9_]{1,64}$/;

/** Reads raw config (key without the `order-service:` prefix → string); throws listing every problem. */
export function readOrderServiceSettings(raw: Record<string, string | undefined>): OrderServiceSettings {
    const problems: string[] = [];
    const get = (key: string, rule: RegExp, accepted: string, fallback?: string): string => {
        const v = raw[key] ?? fallback;
        if (v === undefined) {
            problems.push(`order-service:${key}: required; expected ${accepted}`);
            return "";
        }
        if (!rule.test(v) || (key === "image" && v.endsWith(":latest"))) {
            problems.push(`order-service:${key}: ${JSON.stringify(v)} is not accepted; expected ${accepted}`);
        }
        return v;
    };
    const d = ORDER_SERVICE_DEFAULTS;
    const replicasText = get("replicas", /^[1-9][0-9]?$/, "an integer from 1 to 99", String(d.replicas));
    const settings: OrderServiceSettings = {
        backbone: get("backbone", STACK_NAME, "a stack name <org>/<project>/<stack>, e.g. organization/msa-infra/dev"),
        image: get("image", IMAGE_WITH_TAG, "an image with an explicit tag other than latest, or a digest"),
        namespace: get("namespace", DNS_LABEL, "a DNS label", d.namespace),
        replicas: Number(replicasText),
        database: get("database", NAME, "a database name of the backbone's mariadb.databases", d.database),
        kafkaUser: get("kafkaUser", NAME, "a user of the backbone's kafka.users", d.kafkaUser),
        redisUser: get("redisUser", NAME, "a user of the backbone's redis.users", d.redisUser),
    };
    for (const key of Object.keys(raw)) {
        if (!["backbone", "image", "namespace", "replicas", "database", "kafkaUser", "redisUser"].includes(key)) {
            problems.push(`order-service:${key}: unknown key`);
        }
    }
    if (problems.length > 0) throw new Error(`invalid order-service config:\n  ${problems.join("\n  ")}`);
    return settings;
}
