// Every service decided once, from the validated stack config: the guard checks these plans against the
// last deployment and the components render these same plans, so what was checked is what is declared.

import { planKafka } from "./kafka/plan";
import { planMariaDb } from "./mariadb/plan";
import { planRedis } from "./redis/plan";
import type { PlatformConfig, ServiceName } from "./stackConfig";
import type { ServicePlan } from "./workload/plan";

export type ServicePlans = Record<ServiceName, ServicePlan>;

export function planServices(config: PlatformConfig): ServicePlans {
    return {
        mariadb: planMariaDb(config.mariadb, config),
        redis: planRedis(config.redis, config),
        kafka: planKafka(config.kafka, config),
    };
}
