// How long a reconcile Job (MariaDB's, Redis' ACL, Kafka's) waits for its server(s) to answer before it does
// anything. On a fresh install Pulumi applies the Job with its StatefulSet, so the Job's first pod usually
// starts before the server does: its name does not resolve yet (headless Service), the port is closed, or the
// server is not yet accepting logins. Each script retries the connection until this bound, with a one-line
// progress message, instead of failing and spending the Job's backoffLimit (a Job that fails out needs
// `pulumi up --replace`). A refused login (a wrong password) is never waited on: the script exits at once
// naming it. The one home of these numbers: scripts render them, tests/*/reconcileWait checks the Jobs'
// activeDeadlineSeconds against them.

export const RECONCILE_WAIT = {
    /** The bound: the server must answer within this many seconds of the script's start (a slow image pull, a slow disk). */
    seconds: 300,
    /** Between two connection attempts. */
    sleepSeconds: 2,
    /** A progress line at most this often while waiting (host and last error; never a secret). */
    progressSeconds: 15,
    /** What a Job's activeDeadlineSeconds must leave for the work itself after a full wait. */
    workSeconds: 120,
};

/** The environment variable a test sets to shorten the bound (the Jobs do not set it: the bound above applies). */
export const RECONCILE_WAIT_ENV = "RECONCILE_WAIT_SECONDS";
