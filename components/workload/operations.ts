// The operations pieces every service builds the same way: metrics exporter sidecars and backup CronJobs.
// A service's plan says what differs (image, flags, scripts, mounts); the shape and the limits live here.

import type { ResourceSettings } from "../config/service";
import { ContainerPlan, CronJobPlan, MountPlan, scratch } from "./plan";

/** An exporter sidecar: small and bounded, whatever it exports. */
export const EXPORTER_RESOURCES: ResourceSettings = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } };

/**
 * A metrics exporter next to the server, serving on the port named `metrics` (which only the monitoring
 * namespace may reach). Its liveness probe only checks that it listens: a server that is down is what the
 * exporter must report, not a reason to restart the exporter.
 */
export function exporterSidecar(o: { name: string; image: string; command: string[]; port: number; mounts: MountPlan[] }): ContainerPlan {
    return {
        name: o.name,
        image: o.image,
        command: o.command,
        ports: [{ name: "metrics", port: o.port, exposure: "metrics" }],
        env: [],
        resources: EXPORTER_RESOURCES,
        mounts: o.mounts,
        probes: { liveness: { tcpSocket: { port: "metrics" }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 } },
    };
}

/**
 * A backup run's container: the service's image runs one of the mounted scripts against the service, with
 * the backup claim mounted at `target.path`, its credentials read-only, and scratch space for temporary files.
 */
export function backupContainer(o: {
    name: string;
    image: string;
    command: string[];
    resources: ResourceSettings;
    target: { claim: string; path: string };
    scripts: MountPlan;
    credentials: MountPlan;
    /** The TLS Secret's mount, when the service requires TLS. */
    tls?: MountPlan;
    tmpPath: string;
}): ContainerPlan {
    return {
        name: o.name,
        image: o.image,
        command: o.command,
        ports: [],
        env: [],
        resources: o.resources,
        mounts: [
            { volume: "target", path: o.target.path, source: { kind: "pvc", claim: o.target.claim } },
            o.scripts,
            o.credentials,
            ...(o.tls ? [o.tls] : []),
            scratch("tmp", o.tmpPath),
        ],
        probes: {},
    };
}

/**
 * A backup CronJob with the run policy every service's backups share: never two at once, a run that could
 * not start within 10 minutes of its time (a node down) is skipped and counts as missed, three runs of each
 * outcome kept, and one retry before the Job fails (and the backup alert fires).
 */
export function backupCronJobPlan(o: { id: string; name: string; schedule: string; activeDeadlineSeconds: number; container: ContainerPlan }): CronJobPlan {
    return {
        id: o.id,
        name: o.name,
        schedule: o.schedule,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        job: { backoffLimit: 1, activeDeadlineSeconds: o.activeDeadlineSeconds, containers: [o.container] },
    };
}
