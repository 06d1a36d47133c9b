// The ACL reconcile Job's input and script: every pod's address (ConfigMap redis-acl-reconcile), the
// `ACL SETUSER` command files (Secret redis-acl, next to users.acl and made from the same entries) and a POSIX
// sh script the Redis image runs with its own redis-cli. Pure text builders.
//
// Why a Job and not a reload of the mounted file: the kubelet refreshes a mounted Secret only every 60-120 s,
// while Pulumi waits for this Job, so when `pulumi up` finishes every pod already has the declared users. The
// Job reads the same users.acl Secret the pods load at their start (its name carries that content, so a new
// user or a rotated password runs it again), so a pod that restarts later loads the same users.
//
// Two phases, so a run that stops half-way leaves every old password working:
//  1. on every pod: each declared line as `ACL SETUSER <name> <rules>` without `reset`, which creates a new
//     user and ADDS a new password hash (and key pattern) next to the old one;
//  2. only when phase 1 succeeded on every pod: `ACL SETUSER <name> reset <rules>` (exactly the declared
//     rules and password: the old password stops working) and `ACL DELUSER` of every user the file does not
//     declare (as a restart from the file would), then a check that each pod has exactly the declared users,
//     each `on` with exactly its declared password hash.
// The operations passwords are applied the same way (issue 20 item 4: no pod rolls for them either):
//  - the admin (`default`), `metrics`, `replication` and `sentinel` users are lines of users.acl like any user;
//  - between the phases, with a replicated Redis, every pod gets `CONFIG SET masteruser/masterauth` (Secret
//    redis-replication) and every Sentinel its users (Secret redis-sentinel-auth, phase 1 too) and then
//    `SENTINEL SET auth-user/auth-pass` and `SENTINEL CONFIG SET sentinel-user/sentinel-pass`: the replicas and
//    the Sentinels use the new passwords while the old ones still work;
//  - when an operations password changed, phase 2 waits until every pod's readiness probe reports that its
//    mounted password files are the new ones (MOUNTED_SECRETS_CHANNEL, files.ts): the probes, the certificate
//    reloader, the exporter and a restarting container all read those files, so none is left with a password
//    phase 2 removes. Phase 2 also resets the Sentinels' users.
// The Job logs in as its own `reconcile` user (Redis and Sentinel, Secret redis-reconcile), else as the admin
// (`default` on Redis, `admin` on the Sentinels): a rotated admin password is applied with the reconcile
// login, a rotated reconcile password with the admin's; both at once and it exits 1 naming the pod.
// Every command the Job sends is known at render time, so a reader of the manifests (the policy pack) can
// check that none of them removes a password: the SETUSER lines are rendered files fed to redis-cli as they
// are, and the only runtime value, the name of a user to delete (from the pod's ACL USERS), is one quoted
// argument of `ACL DELUSER`, never command text.
// A pod that does not answer fails the run before phase 2; the next run (the Job's retry, or the next
// `pulumi up`) starts again from what each pod has. Nothing secret is logged: user names only (the file holds
// SHA-256 hashes, never passwords, and error replies are printed with hashes masked).

import { podHost } from "../dnsNames";
import {
    MOUNTED_SECRETS_CHANNEL,
    mountedSecretsFingerprint,
    REDIS_CREDENTIALS_PATHS,
    REDIS_PATHS,
    REDIS_PORT,
    REDIS_REPLICATION_PATHS,
    METRICS_USER,
    RECONCILE_USER,
    REPLICATION_USER,
    SENTINEL_USER,
    type RedisAclEntry,
} from "./files";
import { SENTINEL_PATHS, SENTINEL_PORT, SENTINEL_USERS } from "./sentinel";
import { RECONCILE_WAIT, RECONCILE_WAIT_ENV } from "../reconcileWait";

/** Where the Job mounts its ConfigMap (the script and the pods' addresses), and its own password. */
export const REDIS_ACL_RECONCILE_PATHS = {
    dir: "/opt/redis-acl",
    script: "/opt/redis-acl/reconcile-acl.sh",
    pods: "/opt/redis-acl/pods",
    work: "/tmp/redis-acl",
    /** Secret redis-reconcile: the password of the Job's `reconcile` user (Redis and Sentinel). */
    reconcileDir: "/etc/redis/reconcile",
    reconcileFile: "/etc/redis/reconcile/password",
    /** Secret redis-sentinel-admin: the Sentinels' `admin`, the Job's other Sentinel login. */
    sentinelAdminDir: "/etc/redis/sentinel-admin",
    sentinelAdminFile: "/etc/redis/sentinel-admin/password",
};

/**
 * The keys of Secret redis-acl that hold the Job's command files. The Secret and not the ConfigMap: they
 * carry the password hashes of users.acl. The Sentinels' files use the same keys in Secret redis-sentinel-auth
 * (plus `auth`), and the replication commands the `auth` key of Secret redis-replication.
 */
export const REDIS_ACL_COMMAND_KEYS = { phase1: "reconcile-phase1.commands", phase2: "reconcile-phase2.commands", auth: "reconcile-auth.commands" };

/** How long phase 2 waits, at most, for every pod to report the new password files (the kubelet refreshes them within about a minute). */
export const MOUNTED_WAIT_SECONDS = 240;

/** The users whose password a process of the pod reads from a mounted file: phase 2 waits for the pods when one changes. */
const POD_READ_USERS = { redis: ["default", METRICS_USER, REPLICATION_USER, SENTINEL_USER], sentinel: [SENTINEL_USERS.clients, SENTINEL_USERS.peers] };

/**
 * The password files the readiness probe fingerprints, in order (the Redis container and the Job mount them at
 * these paths): every file through which a process of the pod reads an operations password.
 */
export function mountedSecretFiles(opts: { replicated: boolean; exporterFile?: string }): string[] {
    return [
        REDIS_PATHS.aclFile,
        REDIS_CREDENTIALS_PATHS.passwordFile,
        ...(opts.exporterFile ? [opts.exporterFile] : []),
        ...(opts.replicated ? [REDIS_REPLICATION_PATHS.file, SENTINEL_PATHS.authFile, SENTINEL_PATHS.authConf, SENTINEL_PATHS.aclFile] : []),
    ];
}

/**
 * redis-cli's stdin for each phase, one command a line in users.acl's order: phase 1 `ACL SETUSER <name>
 * <rules>` (creates the user or adds its new password hash and pattern next to the old ones), phase 2 `ACL
 * SETUSER <name> reset <rules>` (exactly the declared rules).
 */
export function aclSetuserCommands(entries: RedisAclEntry[], phase: 1 | 2): string {
    return entries.map((e) => `ACL SETUSER ${e.name} ${phase === 2 ? "reset " : ""}${e.rules}\n`).join("");
}

/**
 * `<pod name> <host>:<port>` of every pod, in ordinal order, and with Sentinels (replicated) their
 * `<host>:<port>` as a third word: the Job talks to each one directly (headless Service).
 */
export function aclReconcilePodsFile(opts: { app: string; namespace: string; replicas: number; sentinels?: boolean }): string {
    return Array.from({ length: opts.replicas }, (_, i) => {
        const host = podHost(opts.app, opts.namespace, i);
        return `${opts.app}-${i} ${host}:${REDIS_PORT}${opts.sentinels ? ` ${host}:${SENTINEL_PORT}` : ""}\n`;
    }).join("");
}

/** `${name}` in the script text (a template literal: keeps sh's braces apart from TypeScript's). */
const v = (name: string) => "${" + name + "}";

/**
 * The script. Its inputs: the ACL file and the command files (Secret redis-acl, mounted where the pods mount
 * it), the passwords it logs in with (files, read into REDISCLI_AUTH for redis-cli only: never on a command
 * line), the pods file, with Sentinels their command files, and with TLS the CA. Exits 0 when every pod (and
 * Sentinel) has exactly the declared users, 1 naming the pod and the step that failed otherwise.
 */
export function aclReconcileScript(opts: { tls: boolean; sentinels: boolean; fingerprintFiles: string[] }): string {
    const P = REDIS_ACL_RECONCILE_PATHS;
    const K = REDIS_ACL_COMMAND_KEYS;
    const cli = opts.tls ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt` : "redis-cli";
    const opsPattern = (names: string[]) => `^(${names.join("|")}) `;
    return `#!/bin/sh
# Applies the ACL file the pods load at start (${REDIS_PATHS.aclFile}) to every running pod, live${opts.sentinels ? ", with the\n# replication and Sentinel passwords" : ""}.
set -eu
umask 077
acl=${REDIS_PATHS.aclFile}
phase1=${REDIS_PATHS.acl}/${K.phase1}
phase2=${REDIS_PATHS.acl}/${K.phase2}
pods=${P.pods}
work=${P.work}
mkdir -p "$work"
started="$(date +%s)"
answer_s="${v(RECONCILE_WAIT_ENV + ":-" + RECONCILE_WAIT.seconds)}"
log() { echo "redis-acl: $*"; }
fail() { echo "redis-acl: $*" >&2; }
# What a reply may show of a rule: never a password hash.
mask() { sed 's/#[0-9a-f]\\{64\\}/#<hash>/g'; }

# The login of the next calls: user_ and the file holding its password (read at each call).
user_=""
pwfile_=""
# To host:port $1: the command given as the other arguments, else the commands on stdin; one reply line
# each. Errors come back as text, so callers check it.
cli() {
    to_="$1"
    shift
    REDISCLI_AUTH="$(cat "$pwfile_")" timeout 10 ${cli} --user "$user_" -h "${v("to_%:*")}" -p "${v("to_##*:")}" "$@" 2>&1
}
# Logs in to $1: as ${RECONCILE_USER}, else as the admin user $2 with the password in file $3. False when neither
# is accepted, or when $1 does not answer (refused_ tells which).
login() {
    refused_=""
    for c_ in "${RECONCILE_USER} ${P.reconcileFile}" "$2 $3"; do
        user_="${v("c_%% *")}"
        pwfile_="${v("c_#* ")}"
        [ -s "$pwfile_" ] || continue
        r_="$(cli "$1" PING)" || true
        case "$r_" in
            PONG) return 0 ;;
            *NOAUTH* | *WRONGPASS* | *NOPERM* | *"AUTH failed"*) refused_=1 ;;
            *) printf '%s\\n' "$r_" | head -1 | mask > "$work/noanswer"; return 1 ;;
        esac
    done
    return 1
}
# login, waiting for $1 to answer (on a fresh install this Job starts with the StatefulSet: the pod's name not
# resolving yet, the port closed, the dataset LOADING are retried until ${RECONCILE_WAIT.seconds} s after the Job's start, with a
# progress line). A refused login (WRONGPASS: both passwords wrong) is not waited on: false at once (refused_).
wait_login() {
    noted_=0
    while :; do
        if login "$@"; then
            [ "$noted_" -eq 0 ] || log "$1 answers after $(( $(date +%s) - started )) s"
            return 0
        fi
        [ -z "$refused_" ] || return 1
        waited_=$(( $(date +%s) - started ))
        if [ "$waited_" -ge "$answer_s" ]; then
            last_="$(cat "$work/noanswer")"
            echo "did not answer within $answer_s s of the Job's start; last error: $last_" > "$work/noanswer"
            return 1
        fi
        if [ "$noted_" -eq 0 ] || [ $((waited_ - noted_)) -ge ${RECONCILE_WAIT.progressSeconds} ]; then
            log "waiting for $1: $waited_ s of $answer_s s: $(cat "$work/noanswer")"
            noted_=$((waited_ > 0 ? waited_ : 1))
        fi
        sleep ${RECONCILE_WAIT.sleepSeconds}
    done
}
# Why login $1 (what it is) failed; $2: the admin login it tried.
login_failed() {
    if [ -n "$refused_" ]; then
        fail "$1: neither the ${RECONCILE_USER} account nor $2 is accepted (WRONGPASS; not waited on): rotate the admin and the reconcile password in separate pulumi ups (each is applied with the other's login); nothing was changed there"
    else
        fail "$1: $(cat "$work/noanswer")"
    fi
}
# Runs the commands of the rendered file $2 on $1, unchanged; true when every reply is OK.
apply() {
    n_="$(grep -c . "$2" || true)"
    [ "$n_" -gt 0 ] || return 0
    cli "$1" < "$2" > "$work/reply" || true
    ok_="$(grep -cx OK "$work/reply" || true)"
    if [ "$ok_" != "$n_" ]; then
        grep -vx OK "$work/reply" | grep . | head -3 | mask | sed "s/^/    /" >&2
        return 1
    fi
}
# "<name> <on|off> <hashes, sorted>" per user of an ACL file or of ACL LIST's reply (its lines look alike).
users_of() {
    awk '$1 == "user" { f = "off"; h = ""; for (i = 3; i <= NF; i++) { if ($i == "on" || $i == "off") f = $i; else if ($i ~ /^#/) h = h " " $i }
        n = split(h, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        s = ""; for (i = 1; i <= n; i++) s = s " " a[i]; print $2, f s }' "$1" | sort
}
# ACL LIST of $1 into file $2 (false when it does not answer it).
acl_list() {
    cli "$1" ACL LIST > "$2" || true
    grep -q '^user ' "$2"
}
# ACL USERS of $1 into file $2, a name a line (false when it does not answer it: \`default\` always exists).
acl_users() {
    cli "$1" ACL USERS > "$2" || true
    grep -qx default "$2"
}
# Deletes user $2 on $1 (the name an argument, never command text); true when the reply is a count.
deluser() {
    r_="$(cli "$1" ACL DELUSER "$2")" || true
    case "$r_" in
        "" | *[!0-9]*) printf '%s\\n' "$r_" | head -3 | mask | sed "s/^/    /" >&2; return 1 ;;
    esac
}
# Whether the users of pattern $3 differ between users_of files $1 and $2.
ops_differ() {
    grep -E "$3" "$1" > "$work/ops.a" || true
    grep -E "$3" "$2" > "$work/ops.b" || true
    ! cmp -s "$work/ops.a" "$work/ops.b"
}
# Phase 2 on $1 ($2: what it is, for the log) with declared users $3 (users_of form), the names $4 and the
# commands $5; before-state $6 (ACL LIST): exact rules, old passwords and undeclared users removed, checked.
phase2_on() {
    acl_users "$1" "$work/names" || { fail "$2 ($1): no ACL USERS before phase 2"; return 1; }
    # The users the file does not declare: deleted, as a restart from the file would.
    grep -vxF -f "$4" "$work/names" > "$work/undeclared" || true
    ok_=1
    apply "$1" "$5" || ok_=""
    if [ -n "$ok_" ]; then
        while IFS= read -r name; do
            [ -n "$name" ] || continue
            deluser "$1" "$name" || { ok_=""; break; }
        done < "$work/undeclared"
    fi
    if [ -z "$ok_" ]; then
        fail "$2 ($1): phase 2 (exact rules, old passwords and undeclared users removed) failed: the replies above"
        return 1
    fi
    acl_list "$1" "$work/after" || { fail "$2 ($1): no ACL LIST after phase 2"; return 1; }
    users_of "$work/after" > "$work/users"
    if ! cmp -s "$3" "$work/users"; then
        fail "$2 ($1): after the change its users differ from the declared ones: $(diff "$3" "$work/users" | grep '^[-+][^-+]' | cut -d' ' -f1 | tr '\\n' ' ')"
        return 1
    fi
    users_of "$6" > "$work/was"
    created="$(awk 'FILENAME == ARGV[1] { was[$1] = $0; next } !($1 in was) { printf " %s", $1 }' "$work/was" "$work/users")"
    changed="$(awk 'FILENAME == ARGV[1] { was[$1] = $0; next } ($1 in was) && was[$1] != $0 { printf " %s", $1 }' "$work/was" "$work/users")"
    removed="$(awk 'FILENAME == ARGV[1] { now[$1] = 1; next } !($1 in now) { printf " %s", $1 }' "$work/users" "$work/was")"
    log "$2: exactly the declared users; created:${v("created:- none")}; new password:${v("changed:- none")}; removed:${v("removed:- none")}"
}

[ -s "$acl" ] || { fail "$acl is missing or empty"; exit 1; }
[ -s "$phase1" ] && [ -s "$phase2" ] || { fail "$phase1 or $phase2 is missing or empty"; exit 1; }
users_of "$acl" > "$work/declared"
cut -d' ' -f1 "$work/declared" > "$work/declared.names"
log "declared users: $(tr '\\n' ' ' < "$work/declared.names")"
${
    opts.sentinels
        ? `s_acl=${SENTINEL_PATHS.aclFile}
s_phase1=${SENTINEL_PATHS.authConfDir}/${K.phase1}
s_phase2=${SENTINEL_PATHS.authConfDir}/${K.phase2}
s_switch=${SENTINEL_PATHS.authConfDir}/${K.auth}
r_switch=${REDIS_REPLICATION_PATHS.dir}/${K.auth}
users_of "$s_acl" > "$work/s.declared"
cut -d' ' -f1 "$work/s.declared" > "$work/s.declared.names"
`
        : ""
}
# Phase 1: the declared users created, new passwords added next to the old ones, on every pod${opts.sentinels ? " and Sentinel" : ""}.
failed=""
ops=""
while read -r pod addr saddr; do
    [ -n "$pod" ] || continue
    if ! wait_login "$addr" default ${REDIS_CREDENTIALS_PATHS.passwordFile}; then login_failed "$pod ($addr)" "the admin password"; failed="$failed $pod"; continue; fi
    if ! acl_list "$addr" "$work/$pod.before"; then
        fail "$pod ($addr): no ACL LIST: $(head -1 "$work/$pod.before" | mask)"
        failed="$failed $pod"
        continue
    fi
    users_of "$work/$pod.before" > "$work/$pod.was"
    ops_differ "$work/declared" "$work/$pod.was" '${opsPattern(POD_READ_USERS.redis)}' && ops=1
    if ! apply "$addr" "$phase1"; then
        fail "$pod ($addr): phase 1 (create users, add passwords) failed: the replies above"
        failed="$failed $pod"
    fi${
        opts.sentinels
            ? `
    if ! wait_login "$saddr" ${SENTINEL_USERS.admin} ${P.sentinelAdminFile}; then login_failed "sentinel of $pod ($saddr)" "the Sentinels' admin password"; failed="$failed $pod"; continue; fi
    if ! acl_list "$saddr" "$work/$pod.s.before"; then
        fail "sentinel of $pod ($saddr): no ACL LIST: $(head -1 "$work/$pod.s.before" | mask)"
        failed="$failed $pod"
        continue
    fi
    users_of "$work/$pod.s.before" > "$work/$pod.s.was"
    ops_differ "$work/s.declared" "$work/$pod.s.was" '${opsPattern(POD_READ_USERS.sentinel)}' && ops=1
    if ! apply "$saddr" "$s_phase1"; then
        fail "sentinel of $pod ($saddr): phase 1 (create users, add passwords) failed: the replies above"
        failed="$failed $pod"
    fi`
            : ""
    }
done < "$pods"
if [ -n "$failed" ]; then
    fail "not applied on:$failed; nothing was removed: every user and password that worked before still works on every pod; the next run completes the change"
    exit 1
fi
${
    opts.sentinels
        ? `# Every pod accepts the new passwords now: the replicas and the Sentinels switch to them.
while read -r pod addr saddr; do
    [ -n "$pod" ] || continue
    if ! login "$addr" default ${REDIS_CREDENTIALS_PATHS.passwordFile} || ! apply "$addr" "$r_switch"; then
        fail "$pod ($addr): CONFIG SET masteruser/masterauth failed"
        failed="$failed $pod"
    fi
    if ! login "$saddr" ${SENTINEL_USERS.admin} ${P.sentinelAdminFile} || ! apply "$saddr" "$s_switch"; then
        fail "sentinel of $pod ($saddr): SENTINEL SET auth-user/auth-pass or SENTINEL CONFIG SET sentinel-user/sentinel-pass failed"
        failed="$failed $pod"
    fi
done < "$pods"
if [ -n "$failed" ]; then
    fail "passwords not switched on:$failed; nothing was removed: the old passwords still work; the next run completes the change"
    exit 1
fi
`
        : ""
}
if [ -n "$ops" ]; then
    # An operations password changed: the old one goes only once every pod sees the new files.
    fp="$(${mountedSecretsFingerprint(opts.fingerprintFiles)})"
    wait_s="${v("MOUNTED_WAIT_SECONDS:-" + MOUNTED_WAIT_SECONDS)}"
    start="$(date +%s)"
    while read -r pod addr saddr; do
        [ -n "$pod" ] || continue
        left=$((wait_s - $(date +%s) + start))
        [ "$left" -gt 0 ] || left=1
        login "$addr" default ${REDIS_CREDENTIALS_PATHS.passwordFile} || true
        # The pod's readiness probe reports "<pod> <fingerprint>" every run; grep stops at the first match.
        if REDISCLI_AUTH="$(cat "$pwfile_")" timeout "$left" ${cli} --user "$user_" -h "${v("addr%:*")}" -p "${v("addr##*:")}" --raw SUBSCRIBE ${MOUNTED_SECRETS_CHANNEL} 2>/dev/null | grep -m 1 -qxF "$pod $fp"; then
            log "$pod: its mounted password files are the new ones ($(($(date +%s) - start)) s)"
        else
            fail "$pod ($addr): its readiness probe did not report the new password files within $wait_s s (the kubelet has not refreshed its Secrets, the probe does not pass, or the exporter's /-/reload does not answer)"
            failed="$failed $pod"
        fi
    done < "$pods"
    if [ -n "$failed" ]; then
        fail "not completed on:$failed; nothing was removed: old and new passwords both work; the next run completes the change"
        exit 1
    fi
fi

# Phase 2: exactly the declared users${opts.sentinels ? " on every pod and Sentinel" : " on every pod"}.
while read -r pod addr saddr; do
    [ -n "$pod" ] || continue
    if ! login "$addr" default ${REDIS_CREDENTIALS_PATHS.passwordFile}; then login_failed "$pod ($addr)" "the admin password"; failed="$failed $pod"; continue; fi
    phase2_on "$addr" "$pod" "$work/declared" "$work/declared.names" "$phase2" "$work/$pod.before" || { failed="$failed $pod"; continue; }${
        opts.sentinels
            ? `
    if ! login "$saddr" ${SENTINEL_USERS.admin} ${P.sentinelAdminFile}; then login_failed "sentinel of $pod ($saddr)" "the Sentinels' admin password"; failed="$failed $pod"; continue; fi
    phase2_on "$saddr" "sentinel of $pod" "$work/s.declared" "$work/s.declared.names" "$s_phase2" "$work/$pod.s.before" || { failed="$failed $pod"; continue; }`
            : ""
    }
done < "$pods"
if [ -n "$failed" ]; then
    fail "not completed on:$failed (see above); the next run completes the change"
    exit 1
fi
log "done: every pod has exactly the declared users"
`;
}
