// What every stateful service component shares: a ComponentResource whose children the shared renderer
// creates from the service's plan. Each service's component adds the handles and outputs of its own.

import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformContext } from "../platform";
import type { ServicePlan } from "./plan";
import { RenderedService, renderService } from "./render";

export interface StatefulServiceArgs<Settings> {
    /** The service's validated settings (its `read<Service>Settings`), for the connection output and handles. */
    settings: Settings;
    /** The service's plan, decided once from `settings` by its planner: the guard checked this same plan. */
    plan: ServicePlan;
    /** The stack-wide settings: storage class, pod security, NetworkPolicies, TLS and its CA, protection. */
    platform: PlatformContext;
}

export abstract class StatefulService extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** The client Service and the headless (governing) Service that names each pod. */
    public readonly service: k8s.core.v1.Service;
    public readonly headlessService: k8s.core.v1.Service;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    public readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
    /** Everything the renderer created, by plan id or object name. */
    protected readonly rendered: RenderedService;

    protected constructor(type: string, name: string, args: StatefulServiceArgs<unknown>, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        const r = renderService(this, name, args.plan, args.platform);
        this.rendered = r;
        this.namespace = r.namespace;
        this.serviceAccount = r.serviceAccount;
        this.service = r.service;
        this.headlessService = r.headlessService;
        this.statefulSet = r.statefulSet;
        this.disruptionBudget = r.disruptionBudget;
        this.networkPolicies = r.networkPolicies;
    }
}
