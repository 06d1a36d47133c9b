// Stack config of Kafka (`msa-infra:kafka`): what can be set, its defaults, and how it is validated.

import { IDENTIFIER, IDENTIFIER_ACCEPTED, Reader } from "../config/reader";
import { readServiceSettings, ServiceSettings } from "../config/service";

/** Client listener authentication: SASL/PLAIN, or none (PLAINTEXT; development only). */
export const KAFKA_CLIENT_AUTH = ["sasl", "none"] as const;
export type KafkaClientAuth = (typeof KAFKA_CLIENT_AUTH)[number];

export interface KafkaUser {
    /** SASL user name. */
    name: string;
}

export interface KafkaSettings extends ServiceSettings {
    /** Combined broker+controller nodes: 1, or an odd number from 3 to 9 for a quorum. Default 1. */
    replicas: number;
    /** Application SASL users, each with a generated password and a Secret. Default none. */
    users: KafkaUser[];
    /** Client listener authentication. Default "sasl"; "none" is refused in production. */
    clientAuth: KafkaClientAuth;
    /** JVM heap as a percentage of the memory limit (the rest is page cache and off-heap). Default 50. */
    heapPercent: number;
}

/** The seed's Kafka: namespace messaging, apache/kafka:3.8.1, one KRaft node, 10Gi. */
export const KAFKA_DEFAULTS: KafkaSettings = {
    namespace: "messaging",
    image: "apache/kafka:3.8.1",
    replicas: 1,
    storageSize: "10Gi",
    resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
    users: [],
    clientAuth: "sasl",
    heapPercent: 50,
};

/** SASL users the brokers themselves use. */
const RESERVED_USERS = ["admin", "broker"];

export function readKafkaSettings(r: Reader, value: unknown): KafkaSettings {
    const { raw, settings } = readServiceSettings(r, {
        key: "kafka",
        value,
        defaults: KAFKA_DEFAULTS,
        extraKeys: ["users", "clientAuth", "heapPercent"],
        replicas: {
            max: 9,
            accepted: "1 or an odd number from 3 to 9 (a KRaft quorum needs a majority)",
            valid: (n) => n % 2 === 1,
        },
    });
    const users = r.list("kafka.users", raw.users).map((u, i) => {
        const o = r.object(`kafka.users[${i}]`, u, ["name"]);
        return { name: r.required(`kafka.users[${i}].name`, o.name, IDENTIFIER, IDENTIFIER_ACCEPTED) };
    });
    r.unique("kafka.users[].name", users.map((u) => u.name));
    for (const u of users) {
        if (RESERVED_USERS.includes(u.name)) {
            r.fail("kafka.users[].name", u.name, "a name other than admin or broker (reserved)");
        }
    }
    return {
        ...settings,
        users,
        clientAuth: r.oneOf<KafkaClientAuth>("kafka.clientAuth", raw.clientAuth, KAFKA_DEFAULTS.clientAuth, KAFKA_CLIENT_AUTH),
        heapPercent: r.integer("kafka.heapPercent", raw.heapPercent, KAFKA_DEFAULTS.heapPercent, { min: 25, max: 75 }),
    };
}
