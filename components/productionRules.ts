// Rules that make a production stack safe by construction: checked after every key has been read, so a
// production stack that would be insecure or lose data is refused before anything is created.

import type { PlatformSettings } from "./config/platform";
import type { Reader } from "./config/reader";
import type { KafkaSettings } from "./kafka/settings";

/** What the rules read: the stack-wide settings and the services' settings they constrain. */
export interface ProductionRuleInput extends PlatformSettings {
    kafka: Pick<KafkaSettings, "clientAuth">;
}

export function checkProductionRules(r: Reader, config: ProductionRuleInput): void {
    if (config.environment !== "production") {
        return;
    }
    const why = "is not allowed when environment is production";
    if (config.kafka.clientAuth === "none") {
        r.problem("kafka.clientAuth", `"none" (PLAINTEXT without authentication) ${why}; use "sasl"`);
    }
    if (config.storageClass === "local-path") {
        r.problem(
            "storageClass",
            `"local-path" ${why} (node-local disks lose data with the node); set a replicated class such as longhorn`,
        );
    }
    if (!config.protect) {
        r.problem("protect", `false ${why}; stateful resources must be protected`);
    }
    if (config.deleteDataOnDestroy) {
        r.problem("deleteDataOnDestroy", `true ${why}; a production stack's data is never deleted by pulumi destroy`);
    }
    if (config.podSecurityLevel !== "restricted") {
        r.problem("podSecurityLevel", `${JSON.stringify(config.podSecurityLevel)} ${why}; expected restricted`);
    }
}
