// Rules that make a production stack safe by construction: checked after every key has been read, so a
// production stack that would be insecure or lose data is refused before anything is created.

import type { BackupsSettings } from "./config/backups";
import type { MonitoringSettings } from "./config/operations";
import type { PlatformSettings } from "./config/platform";
import type { Reader } from "./config/reader";
import type { KafkaSettings } from "./kafka/settings";
import type { MariaDbSettings } from "./mariadb/settings";
import type { RedisSettings } from "./redis/settings";

/** What the rules read: the stack-wide settings and the services' settings they constrain. */
export interface ProductionRuleInput extends PlatformSettings {
    kafka: Pick<KafkaSettings, "clientAuth" | "image" | "jmxAgent">;
    mariadb: Pick<MariaDbSettings, "image" | "exporterImage">;
    redis: Pick<RedisSettings, "image" | "exporterImage">;
    backups?: BackupsSettings;
}

/**
 * An image reference that names one release: a digest, or a tag with major.minor.patch (`10.11.11`,
 * `7.2.7-alpine`, `v0.20.0`). A floating tag (`10.11`, `7.2-alpine`) moves with every upstream release, and
 * with imagePullPolicy IfNotPresent each node keeps whichever release it pulled first.
 */
export function namesOneRelease(image: string): boolean {
    if (image.includes("@sha256:")) {
        return true;
    }
    const nameAndTag = image.slice(image.lastIndexOf("/") + 1);
    const colon = nameAndTag.indexOf(":");
    return colon !== -1 && /^v?[0-9]+\.[0-9]+\.[0-9]+([-._+][A-Za-z0-9._-]+)?$/.test(nameAndTag.slice(colon + 1));
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
    const images: [string, string | undefined][] = [
        ["mariadb.image", config.mariadb.image],
        ["mariadb.exporterImage", config.mariadb.exporterImage],
        ["redis.image", config.redis.image],
        ["redis.exporterImage", config.redis.exporterImage],
        ["kafka.image", config.kafka.image],
        ["kafka.jmxAgent.image", config.kafka.jmxAgent?.image],
        ["backups.s3.image", config.backups?.s3?.image],
    ];
    for (const [key, image] of images) {
        if (image !== undefined && !namesOneRelease(image)) {
            r.problem(
                key,
                `${JSON.stringify(image)}: a floating tag ${why} (nodes would run whichever release each pulled first); ` +
                    "name one release: a tag with major.minor.patch such as mariadb:10.11.11 or redis:7.2.7-alpine, or a digest (@sha256:...)",
            );
        }
    }
}

/**
 * What a valid production stack should still be told at preview: a stack without the Prometheus Operator
 * renders no alert rule, so failed backups, broken replication and expiring certificates stay silent.
 */
export function productionWarnings(config: Pick<PlatformSettings, "environment"> & { monitoring: Pick<MonitoringSettings, "prometheusOperator"> }): string[] {
    if (config.environment !== "production" || config.monitoring.prometheusOperator) {
        return [];
    }
    return [
        "msa-infra:monitoring.prometheusOperator is false in a production stack: no PrometheusRule or PodMonitor is rendered, " +
            "so failed backups, broken replication, full volumes and expiring certificates raise no alert. Install the Prometheus " +
            "Operator and set monitoring.prometheusOperator: true (docs/operations/monitoring.md).",
    ];
}
