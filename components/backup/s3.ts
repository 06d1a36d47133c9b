// Off-site backups: what a service's backup CronJob becomes with the stack's S3 target (`msa-infra:backups.s3`,
// read by config/backups.ts). The backup container (the dump, the binary-log copy, the RDB
// snapshot) still writes to its claim, which becomes the staging area; it runs first, as the Job's init
// container, and the S3 step (s3.sh in a small curl image) runs after it succeeded: it uploads what the bucket
// lacks, verifies it, and applies the bucket's retention. Without `backups.s3` nothing changes.
//
// The credentials are a Secret the program does not generate (keys access-key-id and secret-access-key, in
// each namespace whose service takes backups): the stack never holds the keys of the bucket, and rotating
// them is a `kubectl apply` of the Secret.

import type { S3Settings } from "../config/backups";
import type { ContainerPlan, CronJobPlan, DataObjectPlan } from "../workload/plan";
import { mountObject, scratch } from "../workload/plan";
import { S3_COMPANION, s3Script } from "./s3script";

export { S3_COMPANION, s3Script } from "./s3script";

/** Where the S3 step finds its script, settings, CA and credentials. */
export const S3_PATHS = {
    dir: "/opt/backup-s3",
    script: "/opt/backup-s3/s3.sh",
    conf: "/opt/backup-s3/s3.conf",
    ca: "/opt/backup-s3/ca.crt",
    credentials: "/etc/backup-s3",
    tmp: "/tmp",
};

/** The key prefix of one service's backups: `<prefix>/<namespace>/<app>`. */
export function s3ServicePrefix(s3: Pick<S3Settings, "prefix">, namespace: string, app: string): string {
    return [s3.prefix, namespace, app].filter((p) => p !== "").join("/");
}

/** The ConfigMap with s3.sh, s3.conf and the CA: `<app>-backup-s3`. */
export function s3ObjectName(app: string): string {
    return `${app}-backup-s3`;
}

/** s3.conf: shell assignments of validated values (none needs quoting beyond single quotes). */
export function s3Conf(s3: S3Settings, o: { namespace: string; app: string }): string {
    const values: [string, string | number][] = [
        ["S3_ENDPOINT", s3.endpoint],
        ["S3_BUCKET", s3.bucket],
        ["S3_PREFIX", s3ServicePrefix(s3, o.namespace, o.app)],
        ["S3_REGION", s3.region],
        ["S3_PATH_STYLE", String(s3.pathStyle)],
        ["S3_SECRET", s3.credentialsSecret],
        ["S3_CREDENTIALS", S3_PATHS.credentials],
        ["S3_CA", s3.ca ? S3_PATHS.ca : ""],
        ["S3_PART_MIB", s3.partMiB],
        ["S3_RETENTION_DAYS", s3.retentionDays],
        ["S3_RETENTION_COUNT", s3.retentionCount],
        ["S3_LOG", `${o.app}-s3`],
    ];
    return ["# The S3 target of this service's backups (msa-infra:backups.s3), read by s3.sh.", ...values.map(([k, v]) => `${k}='${v}'`), ""].join("\n");
}

/** The service's S3 ConfigMap. */
export function s3ConfigObject(s3: S3Settings, o: { namespace: string; app: string }): DataObjectPlan {
    return {
        id: "backup-s3",
        kind: "ConfigMap",
        name: s3ObjectName(o.app),
        data: [
            { key: "s3.sh", content: s3Script() },
            { key: "s3.conf", content: s3Conf(s3, o) },
            ...(s3.ca ? [{ key: "ca.crt", content: s3.ca }] : []),
        ],
        protect: false,
    };
}

/** The port the S3 endpoint listens on (for the jobs' egress NetworkPolicy). */
export function s3EndpointPort(s3: Pick<S3Settings, "endpoint">): number {
    const m = /:([0-9]+)$/.exec(s3.endpoint.replace(/^https?:\/\//, ""));
    return m ? Number(m[1]) : s3.endpoint.startsWith("https://") ? 443 : 80;
}

/** What a backup Job uploads: the files under `dir` matching `glob`, as set `set` of the service's prefix. */
export interface S3Upload {
    set: string;
    dir: string;
    glob: string;
    /** A complete backup is `<file>` and `<file><companion>`. */
    companion?: boolean;
    /** Prune the set in the bucket after the upload (and `alsoOlder`'s objects older than its oldest kept one). */
    prune: boolean;
    alsoOlder?: string;
}

/** The uploader's resources: curl and the hashes of one part at a time. */
export const S3_STEP_RESOURCES = { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } };

/**
 * The backup CronJob with its S3 step: the backup container becomes the Job's init container (a failed dump
 * fails the Job before anything is uploaded), and the uploader runs after it on the same staging claim.
 */
export function withS3Step(job: CronJobPlan, s3: S3Settings, o: { app: string; upload: S3Upload }): CronJobPlan {
    const u = o.upload;
    // The staging claim: where the backup container wrote.
    const target = job.job.containers.flatMap((c) => c.mounts).find((m) => m.source.kind === "pvc");
    if (!target) {
        throw new Error(`${job.name}: the backup container mounts no claim to upload from`);
    }
    const command = [
        "sh",
        S3_PATHS.script,
        "backup",
        u.set,
        u.dir,
        u.glob,
        ...(u.companion ? ["--companion", S3_COMPANION] : []),
        ...(u.prune ? ["--prune", ...(u.alsoOlder ? ["--older-than-oldest", u.alsoOlder] : [])] : []),
    ];
    const uploader: ContainerPlan = {
        name: "s3-upload",
        image: s3.image,
        command,
        ports: [],
        env: [],
        resources: S3_STEP_RESOURCES,
        mounts: [
            { ...target, readOnly: true },
            mountObject("backup-s3", S3_PATHS.dir, s3ObjectName(o.app)),
            { volume: "s3-credentials", path: S3_PATHS.credentials, source: { kind: "externalSecret", secret: s3.credentialsSecret }, readOnly: true },
            // One part at a time, plus the listings.
            scratch("s3-tmp", S3_PATHS.tmp, `${s3.partMiB + 32}Mi`),
        ],
        probes: {},
    };
    return { ...job, job: { ...job.job, initContainers: [...(job.job.initContainers ?? []), ...job.job.containers], containers: [uploader] } };
}
