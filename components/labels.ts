// Recommended Kubernetes labels (app.kubernetes.io/*), shared by every object this program creates.

/** Value of app.kubernetes.io/part-of on every object. */
export const PART_OF = "msa-infra";

/** The labels that select a service's pods. Kept minimal and stable: selectors are immutable. */
export function selectorLabels(app: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": app,
    };
}

/** Full label set for an object of `app`; `version` is the image tag, so upgrades show in the labels. */
export function standardLabels(app: string, component: string, image: string): Record<string, string> {
    return {
        ...selectorLabels(app),
        "app.kubernetes.io/version": imageVersion(image),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** The tag of an image reference (`mariadb:10.11` → `10.11`), trimmed to a valid label value. */
export function imageVersion(image: string): string {
    const withoutDigest = image.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    const tag = colon === -1 ? "unversioned" : withoutDigest.slice(colon + 1);
    return tag.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 63);
}

/**
 * Labels of the pods a service's Jobs and CronJobs run (backups, reconcilers): the service's name with an
 * instance of their own, so the service's Services, PodDisruptionBudget and StatefulSet do not select them.
 */
export function runLabels(app: string, run: string, image: string): Record<string, string> {
    return { ...standardLabels(app, run, image), "app.kubernetes.io/instance": `${app}-${run}` };
}

/** Selects every pod of `app`: its servers and the pods of its Jobs and CronJobs. */
export function appPodsSelector(app: string): Record<string, string> {
    return { "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": PART_OF };
}

/**
 * Annotation on a Job named by its content (`<series>-<hash>`): the series it belongs to. A changed Job is a
 * new object that replaces the previous one by design; the render diff pairs the two by this value.
 */
export const JOB_SERIES_ANNOTATION = "msa-infra/job-series";
