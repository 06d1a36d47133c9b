// The reconcile Job's input and script: the declared topics and ACLs as plain text files (ConfigMap
// kafka-reconcile) and a bash script the Kafka image runs with its own admin tools. Pure text builders.
//
// Ownership: topics are created and kept as declared, never deleted unless kafka.deleteUndeclaredTopics is
// true, and then never another tool's internal topics (names starting with _, Kafka Streams' -changelog and
// -repartition, Kafka Connect's and MirrorMaker's own). ACLs: the ACLs of the shape this program writes
// (ALLOW, any host, READ or WRITE on a topic or group, for a named `User:<name>` that is not a super user)
// belong to it. PLAIN users exist only through the JAAS file this program renders, so those principals are
// exactly the users it declares now or declared before; their ACLs are made to match the declaration (a user
// removed from config loses its ACLs). Any other ACL is an operator's and is left alone: a DENY, a wildcard
// `User:*`, another host, another operation or resource type. New ACLs are added before old ones are
// removed, so a changed grant never passes through a moment without it.

import { serviceHost } from "../dnsNames";
import { ADMIN_USER, clientProtocol, KAFKA_APP, KAFKA_PATHS, KAFKA_PORTS, KAFKA_SCRAM_ITERATIONS, KAFKA_SCRAM_MECHANISM, kafkaSuperUsers } from "./files";
import { RESERVED_USERS } from "./settings";
import { RECONCILE_WAIT, RECONCILE_WAIT_ENV } from "../reconcileWait";
import type { KafkaClientAuth, KafkaTopic, KafkaUser } from "./settings";

/** One ACL binding as the script compares them: `<TYPE> <PATTERN> <name> <principal> <OPERATION>` (ALLOW, any host). */
export interface AclBinding {
    resourceType: "TOPIC" | "GROUP";
    patternType: "LITERAL" | "PREFIXED";
    name: string;
    principal: string;
    operation: "READ" | "WRITE";
}

/** The ACLs a user's grants mean: READ and/or WRITE on its topics (both imply DESCRIBE; WRITE also allows
 * idempotent producing), READ on its consumer group prefixes (joining, committing offsets). */
export function userAcls(user: KafkaUser): AclBinding[] {
    const principal = `User:${user.name}`;
    const out: AclBinding[] = [];
    for (const g of user.topics) {
        for (const a of g.access) {
            out.push({ resourceType: "TOPIC", patternType: g.pattern === "prefixed" ? "PREFIXED" : "LITERAL", name: g.name, principal, operation: a === "read" ? "READ" : "WRITE" });
        }
    }
    for (const prefix of user.groups) {
        out.push({ resourceType: "GROUP", patternType: "PREFIXED", name: prefix, principal, operation: "READ" });
    }
    return out;
}

function sortedUnique(lines: string[]): string[] {
    return [...new Set(lines)].sort();
}

/** Every declared ACL, one line each, sorted (the script compares it with what the cluster has). */
export function declaredAclsFile(users: KafkaUser[]): string {
    const lines = users.flatMap(userAcls).map((b) => `${b.resourceType} ${b.patternType} ${b.name} ${b.principal} ${b.operation}`);
    return sortedUnique(lines).map((l) => `${l}\n`).join("");
}

/** The configs a topic declares, as Kafka names them (retention and cleanupPolicy included). */
export function topicConfigs(t: KafkaTopic): Record<string, string> {
    const c: Record<string, string> = { ...t.configs };
    if (t.retentionMs !== undefined) c["retention.ms"] = String(t.retentionMs);
    if (t.cleanupPolicy !== undefined) c["cleanup.policy"] = t.cleanupPolicy;
    return Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `<name> <partitions> <replication factor>` per declared topic. */
export function declaredTopicsFile(topics: KafkaTopic[]): string {
    return topics.map((t) => `${t.name} ${t.partitions} ${t.replicationFactor}\n`).join("");
}

/** `<topic> <key>=<value>` per declared topic config (values are validated: no spaces, no '='). */
export function declaredTopicConfigsFile(topics: KafkaTopic[]): string {
    return sortedUnique(topics.flatMap((t) => Object.entries(topicConfigs(t)).map(([k, v]) => `${t.name} ${k}=${v}`)))
        .map((l) => `${l}\n`)
        .join("");
}

/**
 * The admin client's settings without its login (the script appends sasl.jaas.config from the mounted
 * Secret when the listener takes SASL): the CLIENT listener, the one port NetworkPolicies open to the
 * namespace's Job pods (allow-jobs); INTERNAL and CONTROLLER are reachable from the brokers only.
 */
export function reconcileClientProperties(clientAuth: KafkaClientAuth, tls: boolean): string {
    const lines = [`security.protocol=${clientProtocol(clientAuth, tls)}`];
    if (clientAuth === "sasl") {
        lines.push("sasl.mechanism=PLAIN");
    }
    if (tls) {
        lines.push("ssl.truststore.type=PEM", `ssl.truststore.location=${KAFKA_PATHS.tls}/ca.crt`);
    }
    return lines.map((l) => `${l}\n`).join("");
}

/** Bootstrap address of the Job: the client Service, on the CLIENT listener. */
export function reconcileBootstrap(namespace: string): string {
    return `${serviceHost(KAFKA_APP, namespace)}:${KAFKA_PORTS.client}`;
}

export interface ReconcileInput {
    namespace: string;
    tls: boolean;
    clientAuth: KafkaClientAuth;
    topics: KafkaTopic[];
    users: KafkaUser[];
    deleteUndeclaredTopics: boolean;
}

/** The ConfigMap kafka-reconcile: file name → content. */
export function reconcileFiles(input: ReconcileInput): Record<string, string> {
    return {
        "reconcile.sh": RECONCILE_SCRIPT,
        bootstrap: `${reconcileBootstrap(input.namespace)}\n`,
        "client.properties": reconcileClientProperties(input.clientAuth, input.tls),
        topics: declaredTopicsFile(input.topics),
        "topic-configs": declaredTopicConfigsFile(input.topics),
        acls: declaredAclsFile(input.users),
        // Principals whose ACLs are not this program's to manage (they need none: the authorizer lets them do anything).
        "super-users": kafkaSuperUsers(input.clientAuth).map((p) => `${p}\n`).join(""),
        "delete-undeclared-topics": `${input.deleteUndeclaredTopics}\n`,
        // `<user> <password file>` per SCRAM user: its Secret's password key, as mounted into the Job.
        "scram-users": input.clientAuth === "sasl" ? input.users.map((u) => `${u.name} ${scramPasswordFile(u.name)}\n`).join("") : "",
    };
}

/** Where the reconcile Job reads a user's password: its Secret (key password), mounted at KAFKA_PATHS.users/<user>. */
export function scramPasswordFile(user: string): string {
    return `${scramUserDir(user)}/password`;
}
export function scramUserDir(user: string): string {
    return `${KAFKA_PATHS.users}/${user}`;
}

/** `${name}` in the script text (the script is a template literal: this keeps bash's braces apart from TypeScript's). */
const v = (name: string) => "${" + name + "}";

/**
 * The script (bash and awk, both in the Kafka image). Reads the cluster with three tool runs (topics, topic
 * configs, ACLs) and changes only what differs, so a run with nothing to do changes nothing. The admin's
 * login goes from the mounted Secret into a file in the Job's emptyDir: never into args or env. Exits
 * non-zero when a declaration cannot be applied (fewer partitions than the topic has).
 */
export const RECONCILE_SCRIPT = String.raw`#!/bin/bash
# Reconciles Kafka's topics and ACLs with the stack's declaration (ConfigMap kafka-reconcile, mounted here).
# -E: the ERR trap below also fires in the tool functions (kt, kc, ka), where a failing tool run ends the Job.
set -Eeuo pipefail
spec="$(dirname "$0")"
work=/tmp/reconcile
mkdir -p "$work"
umask 077
props="$work/admin.properties"
# Without client authentication (development only) the listener takes no login: ANONYMOUS is a super user then.
{ cat "$spec/client.properties"; if grep -q '^sasl.mechanism=' "$spec/client.properties"; then printf 'sasl.jaas.config='; cat ${KAFKA_PATHS.admin}/sasl.jaas.config; echo; fi; } > "$props"
bootstrap="$(cat "$spec/bootstrap")"
bin=/opt/kafka/bin
kt() { "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --command-config "$props" "$@"; }
kc() { "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$props" "$@"; }
ka() { "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$props" "$@"; }
changes=0
problems=0
change() { changes=$((changes + 1)); echo "reconcile: $*"; }
problem() { problems=$((problems + 1)); echo "reconcile: cannot apply: $*" >&2; }
# A failing tool run ends the Job (set -e): name the step it was, so the log says what is left to do. Every
# run starts from what the cluster has, so the next one (the Job's retry, or the next pulumi up) completes it.
step="starting"
trap 'echo "reconcile: failed while $step (exit $?); what was applied before stays, the next run completes the rest" >&2' ERR
# A user's password is in a file of this emptyDir only while its kafka-configs run lasts, also when that run fails.
cred="$work/scram-credential.properties"
trap 'rm -f "$cred"' EXIT
# Bad input exits 2 before anything is changed.
refuse() { echo "reconcile: refused: $*" >&2; trap - ERR; exit 2; }
# Lines of file $1 that are not in file $2. (FILENAME, not NR == FNR: that is also true in $1 when $2 is empty.)
minus() { awk 'FILENAME == ARGV[1] { seen[$0] = 1; next } !($0 in seen)' "$2" "$1"; }

# --- the SCRAM users' passwords (checked before anything is changed) ------------------------------------
scram_mech=${KAFKA_SCRAM_MECHANISM}
while read -r u f rest; do
    [ -n "$u" ] || continue
    # The names come from validated stack config; checked again, as they become kafka-configs arguments.
    [[ "$u" =~ ^[a-z][a-z0-9_]{0,31}$ ]] || refuse "scram-users: '$(printf '%q' "$u")' is not a user name (accepted: [a-z][a-z0-9_]{0,31}, as kafka.users[].name)"
    [[ "$f" =~ ^/[A-Za-z0-9._/-]+$ && -z "$rest" ]] || refuse "scram-users: the line of user $u is not '<user> <absolute path of its password file>'"
    [ -r "$f" ] || refuse "scram-users: no password for user $u: $f is missing (the Secret of user $u is not mounted)"
    # One line of printable ASCII without spaces (generated passwords are alphanumeric): it goes into a properties file.
    [ "$(wc -l < "$f")" -eq 0 ] && [ -s "$f" ] && LC_ALL=C grep -q '^[!-~]*$' "$f" || refuse "scram-users: the password of user $u ($f) is empty or holds other than printable ASCII without spaces"
done < "$spec/scram-users"

# --- wait for the brokers -------------------------------------------------------------------------------
# On a fresh install this Job starts with the StatefulSet: the client Service's name not resolving yet, no
# broker ready ("Timed out waiting for a node assignment") are retried until ${RECONCILE_WAIT.seconds} s after the start, with
# short admin timeouts (a probe run takes ~10 s at most). A refused login (SaslAuthenticationException: a wrong
# admin password) is never waited on: the Job exits at once naming it.
step="waiting for the brokers"
probe="$work/probe.properties"
{ cat "$props"; echo "default.api.timeout.ms=10000"; echo "request.timeout.ms=5000"; } > "$probe"
started="$(date +%s)"
wait_s="${v(RECONCILE_WAIT_ENV + ":-" + RECONCILE_WAIT.seconds)}"
noted=0
until "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --command-config "$probe" --list > "$work/probe.out" 2>&1; do
    if grep -qE 'SaslAuthenticationException|Authentication failed' "$work/probe.out"; then
        echo "reconcile: the brokers at $bootstrap refuse the admin's login: $(grep -m 1 -E 'SaslAuthenticationException|Authentication failed' "$work/probe.out" | cut -c 1-300); a wrong password is not waited on (the admin password of Secret kafka-user-admin is not the one the brokers load)" >&2
        trap - ERR
        exit 1
    fi
    last="$(grep -m 1 -E 'Error|Exception' "$work/probe.out" | cut -c 1-300 || true)"
    [ -n "$last" ] || last="$(head -n 1 "$work/probe.out" | cut -c 1-300)"
    waited=$(( $(date +%s) - started ))
    if [ "$waited" -ge "$wait_s" ]; then
        echo "reconcile: the brokers at $bootstrap did not answer within $wait_s s; last error: $last" >&2
        trap - ERR
        exit 1
    fi
    if [ "$noted" -eq 0 ] || [ $((waited - noted)) -ge ${RECONCILE_WAIT.progressSeconds} ]; then
        echo "reconcile: waiting for the brokers at $bootstrap ($waited s of $wait_s s): $last"
        noted=$((waited > 0 ? waited : 1))
    fi
    sleep ${RECONCILE_WAIT.sleepSeconds}
done
[ "$noted" -eq 0 ] || echo "reconcile: the brokers at $bootstrap answer after $(( $(date +%s) - started )) s"

# --- what the cluster has -----------------------------------------------------------------------------
step="reading the cluster's SCRAM users"
# <user> per user with a ${KAFKA_SCRAM_MECHANISM} credential ("SCRAM credential configs for user-principal 'x' are SCRAM-SHA-512=iterations=8192").
kc --describe --entity-type users | awk -v m="$scram_mech" '
    /^SCRAM credential configs for user-principal / {
        u = $0; sub(/^SCRAM credential configs for user-principal ./, "", u); sub(/. are .*$/, "", u)
        if (index($0, " are " m "=") > 0 || index($0, ", " m "=") > 0) print u }' | sort > "$work/scram.now"
step="reading the cluster's topics"
# <name> <partitions> <replication factor> per topic (Kafka's internal topics left out).
kt --describe --exclude-internal | awk -F'\t' '$1 ~ /^Topic: / && $3 ~ /^PartitionCount: / {
    sub(/^Topic: /, "", $1); sub(/^PartitionCount: /, "", $3); sub(/^ReplicationFactor: /, "", $4); print $1, $3, $4 }' | sort > "$work/topics.now"
step="reading the cluster's topic configs"
# <topic> <key>=<value> per topic-level config (only the topic's own: broker defaults are not listed).
kc --describe --entity-type topics | awk '
    /^Dynamic configs for topic / { t = $5; next }
    /^  [^ ]+=/ && t != "" { print t, $1 }' | sort > "$work/configs.now"
step="reading the cluster's ACLs"
# <TYPE> <PATTERN> <name> <principal> <host> <OPERATION> <PERMISSION> per ACL.
ka --list | awk '
    function field(s, k,    i, n, f) { n = split(s, f, ", "); for (i = 1; i <= n; i++) if (index(f[i], k "=") == 1) return substr(f[i], length(k) + 2); return "" }
    /^Current ACLs for resource / { r = $0; sub(/.*ResourcePattern\(/, "", r); sub(/\)` + "`" + String.raw`.*/, "", r)
        type = field(r, "resourceType"); name = field(r, "name"); pat = field(r, "patternType"); next }
    /\(principal=/ { a = $0; sub(/^[ \t]*\(/, "", a); sub(/\)[ \t]*$/, "", a)
        print type, pat, name, field(a, "principal"), field(a, "host"), field(a, "operation"), field(a, "permissionType") }' | sort > "$work/acls.now"

# --- SCRAM users: set -----------------------------------------------------------------------------------
# Every declared user's credential is set from its Secret on every run: SCRAM stores only a salted hash, so
# a changed password cannot be told from an unchanged one; the Job runs only when its declaration or a
# mounted Secret changed (its name follows both). Setting the same password again changes nothing for
# clients (a new salt; connections already logged in stay). The password goes through a file in this
# emptyDir only (kafka-configs --add-config-file), never through args, env or the log.
set_users=""
while read -r u f; do
    [ -n "$u" ] || continue
    step="setting the $scram_mech credential of user $u"
    { printf '%s=iterations=%s,password=' "$scram_mech" ${KAFKA_SCRAM_ITERATIONS}; sed 's/\\/\\\\/g' "$f"; echo; } > "$cred"
    kc --alter --entity-type users --entity-name "$u" --add-config-file "$cred" > /dev/null
    rm -f "$cred"
    if grep -qxF -- "$u" "$work/scram.now"; then
        set_users="$set_users $u"
    else
        change "created $scram_mech user $u"
    fi
done < "$spec/scram-users"
[ -z "$set_users" ] || echo "reconcile: set the $scram_mech credentials of$set_users from their Secrets (a rotated password takes effect now)"

# --- topics ----------------------------------------------------------------------------------------------
while read -r name partitions rf; do
    [ -n "$name" ] || continue
    step="applying topic $name"
    awk -v t="$name" '$1 == t { print $2 }' "$spec/topic-configs" > "$work/want.properties"
    now="$(awk -v t="$name" '$1 == t { print $2, $3 }' "$work/topics.now")"
    if [ -z "$now" ]; then
        args=()
        while read -r kv; do args+=(--config "$kv"); done < "$work/want.properties"
        kt --create --if-not-exists --topic "$name" --partitions "$partitions" --replication-factor "$rf" "${v('args[@]')}"
        change "created topic $name: $partitions partitions, replication factor $rf, configs: $(tr '\n' ' ' < "$work/want.properties")"
        continue
    fi
    have_partitions="$(echo "$now" | cut -d' ' -f1)"
    have_rf="$(echo "$now" | cut -d' ' -f2)"
    if [ "$have_partitions" -lt "$partitions" ]; then
        kt --alter --topic "$name" --partitions "$partitions"
        change "raised the partitions of $name from $have_partitions to $partitions"
    elif [ "$have_partitions" -gt "$partitions" ]; then
        problem "$name has $have_partitions partitions, the stack declares $partitions: Kafka cannot remove partitions (declare $have_partitions, or delete and recreate the topic)"
    fi
    if [ "$have_rf" != "$rf" ]; then
        echo "reconcile: warning: $name has replication factor $have_rf, the stack declares $rf: it is applied only when a topic is created (kafka-reassign-partitions.sh changes it)" >&2
    fi
    # Exactly the declared topic configs: an override no longer declared goes back to the broker default.
    awk -v t="$name" '$1 == t { print $2 }' "$work/configs.now" > "$work/have.properties"
    if ! cmp -s "$work/want.properties" "$work/have.properties"; then
        remove="$(cut -d= -f1 "$work/have.properties" | awk 'FILENAME == ARGV[1] { keep[$0] = 1; next } !($0 in keep)' <(cut -d= -f1 "$work/want.properties") - | awk '{ printf "%s%s", (NR > 1 ? "," : ""), $0 }')"
        args=()
        if [ -s "$work/want.properties" ]; then args+=(--add-config-file "$work/want.properties"); fi
        if [ -n "$remove" ]; then args+=(--delete-config "$remove"); fi
        kc --alter --entity-type topics --entity-name "$name" "${v('args[@]')}" > /dev/null
        change "set the configs of $name: $(tr '\n' ' ' < "$work/want.properties")$([ -z "$remove" ] || echo "(removed: $remove)")"
    fi
done < "$spec/topics"

# Topics the stack does not declare: kept, unless the stack lets this Job delete them. Other tools' internal
# topics are never this Job's to delete: Schema Registry's _schemas (any name starting with _), Kafka Streams'
# <app>-...-changelog and -repartition, Kafka Connect's connect-configs/-offsets/-status, MirrorMaker's mm2-*,
# *.internal and heartbeats.
undeclared="$(awk 'FILENAME == ARGV[1] { declared[$1] = 1; next } !($1 in declared) && $1 !~ /^__/ { print $1 }' "$spec/topics" "$work/topics.now")"
for t in $undeclared; do
    if [[ "$t" =~ ^_|-changelog$|-repartition$|^connect-(configs|offsets|status)$|^mm2-|[.]internal$|^heartbeats$ ]]; then
        echo "reconcile: kept topic $t: not declared, but another tool's internal topic"
    elif [ "$(cat "$spec/delete-undeclared-topics")" = "true" ]; then
        step="deleting topic $t"
        # --topic is a regular expression: the name's dots match only dots.
        kt --delete --if-exists --topic "^$(echo "$t" | sed 's/[.]/[.]/g')$"
        change "deleted topic $t: not declared, and kafka.deleteUndeclaredTopics is true"
    else
        echo "reconcile: kept topic $t: not declared (kafka.deleteUndeclaredTopics is false)"
    fi
done

# --- ACLs ------------------------------------------------------------------------------------------------
# This program's ACLs: those of the shape it writes (ALLOW from any host, READ or WRITE on a topic or group) for
# named User principals other than the super users. Everything else (a DENY, User:*, a host, another
# operation or resource type) is an operator's, and stays.
awk 'FILENAME == ARGV[1] { su[$1] = 1; next }
    $4 ~ /^User:./ && $4 != "User:*" && !($4 in su) && $5 == "*" && $7 == "ALLOW" && ($6 == "READ" || $6 == "WRITE") && ($1 == "TOPIC" || $1 == "GROUP")' \
    "$spec/super-users" "$work/acls.now" > "$work/acls.have"
# The declaration as the listing shows it: allowed from any host.
awk '{ print $1, $2, $3, $4, "*", $5, "ALLOW" }' "$spec/acls" > "$work/acls.want"
minus "$work/acls.want" "$work/acls.have" > "$work/acls.add"
minus "$work/acls.have" "$work/acls.want" > "$work/acls.remove"
# kafka-acls applies every operation it is given to every resource it is given: one run per principal,
# resource type, pattern type, host, permission and set of operations, with all the resources sharing them.
acl_runs() {
    awk '{ k = $4 " " $1 " " $2 " " $5 " " $7 " " $3; ops[k] = ops[k] (ops[k] == "" ? "" : ",") $6 }
        END { for (k in ops) { split(k, f, " "); print f[1], f[2], f[3], f[4], f[5], ops[k], f[6] } }' "$1" |
        sort | awk '{ k = $1 " " $2 " " $3 " " $4 " " $5 " " $6; names[k] = names[k] " " $7 } END { for (k in names) print k names[k] }' | sort
}
apply_acls() {
    local action="$1" file="$2" principal type pattern host perm ops names
    acl_runs "$file" > "$work/acls.runs"
    while read -r principal type pattern host perm ops names; do
        args=("--$action" --resource-pattern-type "$(echo "$pattern" | tr 'A-Z' 'a-z')")
        if [ "$perm" = "ALLOW" ]; then args+=(--allow-principal "$principal" --allow-host "$host"); else args+=(--deny-principal "$principal" --deny-host "$host"); fi
        for op in $(echo "$ops" | tr ',' ' '); do args+=(--operation "$op"); done
        case "$type" in
            TOPIC) for n in $names; do args+=(--topic "$n"); done ;;
            GROUP) for n in $names; do args+=(--group "$n"); done ;;
            TRANSACTIONAL_ID) for n in $names; do args+=(--transactional-id "$n"); done ;;
            CLUSTER) args+=(--cluster) ;;
            *) echo "reconcile: warning: left $principal's $type ACLs alone ($names): not a resource type this program manages" >&2; continue ;;
        esac
        if [ "$action" = "remove" ]; then args+=(--force); fi
        ka "${v('args[@]')}" > /dev/null
        change "$action ACL: $perm $principal $ops on $type $pattern:$names"
    done < "$work/acls.runs"
}
# Add first: a grant that changes shape (a topic's name to a prefix) is never missing in between.
step="adding ACLs"
apply_acls add "$work/acls.add"
step="removing ACLs"
apply_acls remove "$work/acls.remove"

# --- SCRAM users: delete ---------------------------------------------------------------------------------
# A ${KAFKA_SCRAM_MECHANISM} credential of a user the stack no longer declares is deleted: that user's new logins are
# refused (connections already open stay until they close: Kafka does not end them). The brokers' and the
# admin's logins are PLAIN (the JAAS file), never a SCRAM credential this Job would touch; other SCRAM
# mechanisms (SCRAM-SHA-256) are an operator's and stay.
while read -r u; do
    [ -n "$u" ] || continue
    case " ${RESERVED_USERS.join(" ")} " in *" $u "*) echo "reconcile: kept the $scram_mech credential of $u: a reserved login" >&2; continue ;; esac
    step="deleting the $scram_mech credential of user $u"
    kc --alter --entity-type users --entity-name "$u" --delete-config "$scram_mech" > /dev/null
    change "deleted $scram_mech user $u: no longer declared"
done < <(minus "$work/scram.now" <(cut -d' ' -f1 "$spec/scram-users"))

echo "reconcile: done: changes=$changes problems=$problems"
[ "$problems" -eq 0 ]
`;

/** The admin user the Job logs in as (its Secret is mounted, never put into env or args). */
export const RECONCILE_USER = ADMIN_USER;
