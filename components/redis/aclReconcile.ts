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
// Every command the Job sends is known at render time, so a reader of the manifests (the policy pack) can
// check that none of them removes a password: the SETUSER lines are rendered files fed to redis-cli as they
// are, and the only runtime value, the name of a user to delete (from the pod's ACL USERS), is one quoted
// argument of `ACL DELUSER`, never command text.
// A pod that does not answer fails the run before phase 2; the next run (the Job's retry, or the next
// `pulumi up`) starts again from what each pod has. Nothing secret is logged: user names only (the file holds
// SHA-256 hashes, never passwords, and error replies are printed with hashes masked).

import { podHost } from "../dnsNames";
import { REDIS_PATHS, REDIS_PORT, type RedisAclEntry } from "./files";
import { REDIS_BACKUP_PATHS } from "./backup";

/** Where the Job mounts its ConfigMap (the script and the pods' addresses). */
export const REDIS_ACL_RECONCILE_PATHS = {
    dir: "/opt/redis-acl",
    script: "/opt/redis-acl/reconcile-acl.sh",
    pods: "/opt/redis-acl/pods",
    work: "/tmp/redis-acl",
};

/**
 * The keys of Secret redis-acl that hold the Job's command files. The Secret and not the ConfigMap: they
 * carry the password hashes of users.acl.
 */
export const REDIS_ACL_COMMAND_KEYS = { phase1: "reconcile-phase1.commands", phase2: "reconcile-phase2.commands" };

/**
 * redis-cli's stdin for each phase, one command a line in users.acl's order: phase 1 `ACL SETUSER <name>
 * <rules>` (creates the user or adds its new password hash and pattern next to the old ones), phase 2 `ACL
 * SETUSER <name> reset <rules>` (exactly the declared rules).
 */
export function aclSetuserCommands(entries: RedisAclEntry[], phase: 1 | 2): string {
    return entries.map((e) => `ACL SETUSER ${e.name} ${phase === 2 ? "reset " : ""}${e.rules}\n`).join("");
}

/** `<pod name> <host>:<port>` of every pod, in ordinal order: the Job talks to each one directly (headless Service). */
export function aclReconcilePodsFile(opts: { app: string; namespace: string; replicas: number }): string {
    return Array.from({ length: opts.replicas }, (_, i) => `${opts.app}-${i} ${podHost(opts.app, opts.namespace, i)}:${REDIS_PORT}\n`).join("");
}

/** `${name}` in the script text (a template literal: keeps sh's braces apart from TypeScript's). */
const v = (name: string) => "${" + name + "}";

/**
 * The script. Its inputs: the ACL file and the command files (Secret redis-acl, mounted where the pods mount it), the admin
 * password (Secret redis-credentials, read into REDISCLI_AUTH for redis-cli only: never on a command line),
 * the pods file, and with TLS the CA. Exits 0 when every pod has exactly the declared users, 1 naming the pod
 * and the step that failed otherwise.
 */
export function aclReconcileScript(opts: { tls: boolean }): string {
    const P = REDIS_ACL_RECONCILE_PATHS;
    const cli = opts.tls ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt` : "redis-cli";
    return `#!/bin/sh
# Applies the ACL file the pods load at start (${REDIS_PATHS.aclFile}) to every running pod, live.
set -eu
umask 077
acl=${REDIS_PATHS.aclFile}
phase1=${REDIS_PATHS.acl}/${REDIS_ACL_COMMAND_KEYS.phase1}
phase2=${REDIS_PATHS.acl}/${REDIS_ACL_COMMAND_KEYS.phase2}
pods=${P.pods}
work=${P.work}
mkdir -p "$work"
REDISCLI_AUTH="$(cat ${REDIS_BACKUP_PATHS.passwordFile})"
export REDISCLI_AUTH
log() { echo "redis-acl: $*"; }
fail() { echo "redis-acl: $*" >&2; }
# What a reply may show of a rule: never a password hash.
mask() { sed 's/#[0-9a-f]\\{64\\}/#<hash>/g'; }

# To host:port $1: the command given as the other arguments, else the commands on stdin; one reply line
# each. Errors come back as text, so callers check it.
cli() {
    to_="$1"
    shift
    timeout 10 ${cli} -h "${v("to_%:*")}" -p "${v("to_##*:")}" "$@" 2>&1
}
# Runs the commands of the rendered file $2 on $1, unchanged; true when every reply is OK (ACL SETUSER).
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
# ACL LIST of pod $1 into file $2 (false when the pod does not answer it).
acl_list() {
    cli "$1" ACL LIST > "$2" || true
    grep -q '^user ' "$2"
}
# ACL USERS of pod $1 into file $2, a name a line (false when the pod does not answer it: \`default\` always exists).
acl_users() {
    cli "$1" ACL USERS > "$2" || true
    grep -qx default "$2"
}
# Deletes user $2 on pod $1 (the name an argument, never command text); true when the reply is a count.
deluser() {
    r_="$(cli "$1" ACL DELUSER "$2")" || true
    case "$r_" in
        "" | *[!0-9]*) printf '%s\n' "$r_" | head -3 | mask | sed "s/^/    /" >&2; return 1 ;;
    esac
}

[ -s "$acl" ] || { fail "$acl is missing or empty"; exit 1; }
[ -s "$phase1" ] && [ -s "$phase2" ] || { fail "$phase1 or $phase2 is missing or empty"; exit 1; }
users_of "$acl" > "$work/declared"
cut -d' ' -f1 "$work/declared" > "$work/declared.names"
log "declared users: $(tr '\\n' ' ' < "$work/declared.names")"

failed=""
while read -r pod addr; do
    [ -n "$pod" ] || continue
    if ! acl_list "$addr" "$work/$pod.before"; then
        fail "$pod ($addr): no ACL LIST: $(head -1 "$work/$pod.before" | mask)"
        failed="$failed $pod"
        continue
    fi
    if ! apply "$addr" "$phase1"; then
        fail "$pod ($addr): phase 1 (create users, add passwords) failed: the replies above"
        failed="$failed $pod"
    fi
done < "$pods"
if [ -n "$failed" ]; then
    fail "not applied on:$failed; nothing was removed: every user and password that worked before still works on every pod; the next run completes the change"
    exit 1
fi

while read -r pod addr; do
    [ -n "$pod" ] || continue
    acl_users "$addr" "$work/$pod.names" || { fail "$pod ($addr): no ACL USERS before phase 2"; failed="$failed $pod"; continue; }
    # The users the file does not declare: deleted, as a restart from the file would.
    grep -vxF -f "$work/declared.names" "$work/$pod.names" > "$work/$pod.undeclared" || true
    ok=1
    apply "$addr" "$phase2" || ok=""
    if [ -n "$ok" ]; then
        while IFS= read -r name; do
            [ -n "$name" ] || continue
            deluser "$addr" "$name" || { ok=""; break; }
        done < "$work/$pod.undeclared"
    fi
    if [ -z "$ok" ]; then
        fail "$pod ($addr): phase 2 (exact rules, old passwords and undeclared users removed) failed: the replies above"
        failed="$failed $pod"
        continue
    fi
    acl_list "$addr" "$work/$pod.after" || { fail "$pod ($addr): no ACL LIST after phase 2"; failed="$failed $pod"; continue; }
    users_of "$work/$pod.after" > "$work/$pod.users"
    if ! cmp -s "$work/declared" "$work/$pod.users"; then
        fail "$pod ($addr): after the change its users differ from the declared ones: $(diff "$work/declared" "$work/$pod.users" | grep '^[-+][^-+]' | cut -d' ' -f1 | tr '\\n' ' ')"
        failed="$failed $pod"
        continue
    fi
    users_of "$work/$pod.before" > "$work/$pod.was"
    created="$(awk 'FILENAME == ARGV[1] { was[$1] = $0; next } !($1 in was) { printf " %s", $1 }' "$work/$pod.was" "$work/$pod.users")"
    changed="$(awk 'FILENAME == ARGV[1] { was[$1] = $0; next } ($1 in was) && was[$1] != $0 { printf " %s", $1 }' "$work/$pod.was" "$work/$pod.users")"
    removed="$(awk 'FILENAME == ARGV[1] { now[$1] = 1; next } !($1 in now) { printf " %s", $1 }' "$work/$pod.users" "$work/$pod.was")"
    log "$pod: exactly the declared users; created:${v("created:- none")}; new password:${v("changed:- none")}; removed:${v("removed:- none")}"
done < "$pods"
if [ -n "$failed" ]; then
    fail "not completed on:$failed (see above); the next run completes the change"
    exit 1
fi
log "done: every pod has exactly the declared users"
`;
}
