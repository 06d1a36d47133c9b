// The msa-infra-security policy list. Pure: importing this module starts no server, so tests,
// the offline runner and policy/index.ts (the only place that calls `new PolicyPack`) share it.

import type { Policies } from "@pulumi/policy";
import { containerImages } from "./containerImages";
import { containerResources } from "./containerResources";
import { containerSecurityContext } from "./containerSecurityContext";
import { dataServiceExposure } from "./dataServiceExposure";
import { kafkaNoPlaintextListeners } from "./kafkaNoPlaintextListeners";
import { namespaceDefaultDenyIngress } from "./namespaceDefaultDenyIngress";
import { namespacePodSecurityLabels } from "./namespacePodSecurity";
import { networkPolicyDataPorts } from "./networkPolicyDataPorts";
import { noPlaintextCredentials } from "./noPlaintextCredentials";
import { podHostIsolation } from "./podHostIsolation";
import { redisRequiresAuth } from "./redisRequiresAuth";
import { statefulsetPvcRetention } from "./statefulsetPvcRetention";
import { statefulsetServiceAccount } from "./statefulsetServiceAccount";
import { pvcStorageClass } from "./storageClass";

/** Pack name; policy/index.ts passes the same literal to `new PolicyPack`. */
export const PACK_NAME = "msa-infra-security";
/** Pack-level enforcement level; policy/index.ts passes the same literal to `new PolicyPack`. */
export const PACK_ENFORCEMENT_LEVEL = "mandatory";

function register(list: Policies): Policies {
    const seen = new Set<string>();
    for (const p of list) {
        if (seen.has(p.name)) {
            throw new Error(`Another policy with the name "${p.name}" already exists`);
        }
        seen.add(p.name);
    }
    return Object.freeze([...list]) as Policies;
}

/** All policies of the pack, resource policies first, then stack policies. */
export const policies: Policies = register([
    containerSecurityContext,
    podHostIsolation,
    containerResources,
    containerImages,
    noPlaintextCredentials,
    namespacePodSecurityLabels,
    dataServiceExposure,
    pvcStorageClass,
    statefulsetPvcRetention,
    statefulsetServiceAccount,
    namespaceDefaultDenyIngress,
    networkPolicyDataPorts,
    redisRequiresAuth,
    kafkaNoPlaintextListeners,
]);

export {
    containerImages,
    containerResources,
    containerSecurityContext,
    dataServiceExposure,
    kafkaNoPlaintextListeners,
    namespaceDefaultDenyIngress,
    namespacePodSecurityLabels,
    networkPolicyDataPorts,
    noPlaintextCredentials,
    podHostIsolation,
    pvcStorageClass,
    redisRequiresAuth,
    statefulsetPvcRetention,
    statefulsetServiceAccount,
};
