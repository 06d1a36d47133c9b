// What a replicated Redis (redis.replicas > 1) adds: sentinel.conf, the start scripts that decide a pod's
// role, and the Sentinel probe. Pure text builders.
//
// Every pod runs redis-server and a Sentinel. Which pod is the primary is not rendered: at every container
// start the scripts decide it from records, and decide it again at the next start (a restarted container
// does not re-run init containers, and a primary that crashed and came back would otherwise believe it
// still is one). A record is what a pod's Sentinel knows of the primary: its address and the config-epoch
// it was elected in. Sentinel rewrites its config file at every change, and that file lives on the pod's
// data volume, so a record survives every restart, a cold start of all pods included; the start scripts
// take the record with the highest config-epoch (docs/operations/failover.md, "Redis high availability": the rules, and what
// happens when only some pods come back).

import { podHost } from "../dnsNames";
import { sha256 } from "../hash";
import { MIN_REPLICAS_TO_WRITE, RECONCILE_USER, REDIS_CREDENTIALS_PATHS, REDIS_PATHS, REDIS_PORT, REDIS_REPLICATION_PATHS, SENTINEL_USER, type RedisAclEntry } from "./files";

export const SENTINEL_PORT = 26379;
/** The name clients ask the Sentinels for (SENTINEL get-master-addr-by-name). */
export const SENTINEL_MASTER_NAME = "redis";
/**
 * A primary that has not answered for this long is subjectively down; with a quorum agreeing, the
 * Sentinels fail over. 5 s keeps a failover within seconds while riding out a GC-free Redis's short stalls.
 */
export const SENTINEL_DOWN_AFTER_MS = 5000;
/** A failover that has not completed in this long is retried (by the same or another Sentinel). */
export const SENTINEL_FAILOVER_TIMEOUT_MS = 60_000;

export const SENTINEL_PATHS = {
    /** The rendered sentinel.conf, without passwords (ConfigMap redis-scripts). */
    template: "/etc/redis/scripts/sentinel.conf",
    /**
     * Sentinel's working copy, on the data volume (mounted in the Sentinel container too): Sentinel rewrites
     * it with what it learns (epochs, the primary, replicas, peers), and it is this pod's record at the next
     * start. start-sentinel.sh builds it anew from the template at every start, keeping only the state.
     */
    stateDir: `${REDIS_PATHS.data}/sentinel`,
    stateFile: `${REDIS_PATHS.data}/sentinel/sentinel.conf`,
    /** Secret redis-sentinel-auth: what Sentinel authenticates with, included after the copy, and its ACL file. */
    authConfDir: "/etc/redis/sentinel-auth",
    authConf: "/etc/redis/sentinel-auth/sentinel-auth.conf",
    aclFile: "/etc/redis/sentinel-auth/users.acl",
    /** The Sentinel password (Secret redis-sentinel-credentials), read by the start scripts. */
    authDir: "/etc/redis/sentinel-password",
    authFile: "/etc/redis/sentinel-password/password",
};

/**
 * How long a starting pod waits for every pod's record before it decides with the records it has (a
 * majority at least, to become the primary). In a cold start the Sentinels answer within a second: they load
 * no data.
 */
export const RECORD_WAIT_SECONDS = 10;
/** How long a Sentinel on a new volume (no record) waits for another Sentinel's record before it takes pod 0. */
export const FRESH_SENTINEL_WAIT_SECONDS = 5;
/**
 * A Sentinel that had a ping answered within this long sees the primary up: it pings every second, so this
 * means it has heard from the restarted server, and its 5 s down-after cannot run out before the next ping.
 */
export const FENCE_PING_REPLY_MS = 2000;
/**
 * The longest a returning primary stays fenced (refusing writes) waiting for the Sentinels' all-clear: a
 * failover under way has completed or been abandoned by then (failover-timeout).
 */
export const FENCE_MAX_SECONDS = SENTINEL_FAILOVER_TIMEOUT_MS / 1000;
/** An RDB base larger than this holds keys; a smaller one is read with redis-check-rdb to count them. */
export const SMALL_RDB_BYTES = 65536;

export const REDIS_SCRIPT_PATHS = {
    dir: "/etc/redis/scripts",
    common: "/etc/redis/scripts/common.sh",
    startRedis: "/etc/redis/scripts/start-redis.sh",
    startSentinel: "/etc/redis/scripts/start-sentinel.sh",
    /** The replication settings every pod adds to redis.conf (replicationConfig). */
    replicationConf: "/etc/redis/scripts/replication.conf",
};

/** Sentinels needed to agree that the primary is down and to authorise a failover: a majority. */
export function sentinelQuorum(replicas: number): number {
    return Math.floor(replicas / 2) + 1;
}

/** host:port of every pod's Sentinel, in ordinal order (the `redisConnection.sentinel.hosts` output). */
export function sentinelHosts(app: string, namespace: string, replicas: number): string[] {
    return Array.from({ length: replicas }, (_, i) => `${podHost(app, namespace, i)}:${SENTINEL_PORT}`);
}

/**
 * sentinel.conf as rendered (no passwords: those are in sentinelAuthConfig): the monitor line names pod 0,
 * and start-sentinel.sh replaces its address with the primary of this pod's record (or of the other
 * Sentinels'). Host names, not IPs: a pod's IP changes when it is recreated.
 */
export function sentinelConfig(opts: { app: string; namespace: string; replicas: number; tls: boolean }): string {
    const m = SENTINEL_MASTER_NAME;
    const lines = [
        "bind * -::*",
        `dir ${SENTINEL_PATHS.stateDir}`,
        // Before the monitor line: it names a host, which is refused unless host names are resolved.
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
    ];
    if (opts.tls) {
        lines.push(
            "port 0",
            `tls-port ${SENTINEL_PORT}`,
            `tls-cert-file ${REDIS_PATHS.tls}/tls.crt`,
            `tls-key-file ${REDIS_PATHS.tls}/tls.key`,
            `tls-ca-cert-file ${REDIS_PATHS.tls}/ca.crt`,
            "tls-auth-clients no",
            // Sentinel's own connections (to Redis and to the other Sentinels) use TLS too.
            "tls-replication yes",
        );
    } else {
        lines.push(`port ${SENTINEL_PORT}`);
    }
    lines.push(
        `sentinel monitor ${m} ${podHost(opts.app, opts.namespace, 0)} ${REDIS_PORT} ${sentinelQuorum(opts.replicas)}`,
        `sentinel down-after-milliseconds ${m} ${SENTINEL_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${m} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
        // One replica at a time resyncs with a new primary; the others keep serving reads.
        `sentinel parallel-syncs ${m} 1`,
    );
    return lines.join("\n") + "\n";
}

/** The Sentinels' users: clients (`default`), the Sentinels among themselves, and operators. */
export const SENTINEL_USERS = { clients: "default", peers: "sentinels", admin: "admin", reconcile: RECONCILE_USER } as const;

/**
 * What a client of the Sentinels may do: discover the primary, its replicas and the other Sentinels, check
 * the quorum, and subscribe to their events (+switch-master). Nothing that changes a Sentinel: no SENTINEL SET, REMOVE,
 * MONITOR, CONFIG SET, FAILOVER, RESET, no ACL, no PUBLISH. (CLIENT SETINFO, which 7.2 clients send, is left
 * out: Redis 7.0 refuses the rule, and clients ignore its error.)
 */
export const SENTINEL_CLIENT_COMMANDS = [
    "ping",
    "hello",
    "client|setname",
    "sentinel|get-master-addr-by-name",
    "sentinel|master",
    "sentinel|masters",
    "sentinel|replicas",
    "sentinel|slaves",
    "sentinel|sentinels",
    // Read-only health check: can the Sentinels reach a majority to fail over.
    "sentinel|ckquorum",
    "subscribe",
    "psubscribe",
    "unsubscribe",
    "punsubscribe",
];
/** What one Sentinel sends another: PING, its connection name, and the vote on whether the primary is down. */
export const SENTINEL_PEER_COMMANDS = ["ping", "client|setname", "sentinel|is-master-down-by-addr"];

/**
 * sentinel-auth.conf, included on Sentinel's command line after its writable config, so the rendered
 * passwords win over whatever Sentinel rewrote: the user and password for the other Sentinels and the ACL
 * user Sentinel authenticates to Redis as.
 */
export function sentinelAuthConfig(opts: { peerPassword: string; sentinelUserPassword: string }): string {
    return [
        `sentinel sentinel-user ${SENTINEL_USERS.peers}`,
        `sentinel sentinel-pass ${opts.peerPassword}`,
        `sentinel auth-user ${SENTINEL_MASTER_NAME} ${SENTINEL_USER}`,
        `sentinel auth-pass ${SENTINEL_MASTER_NAME} ${opts.sentinelUserPassword}`,
        "",
    ].join("\n");
}

/** The Sentinels' `reconcile` user: the ACL Job's login (the same password as Redis's `reconcile`, aclReconcile.ts). */
export const SENTINEL_RECONCILE_COMMANDS = ["ping", "acl", "sentinel|set", "sentinel|config"];

/**
 * The Sentinel's users (its ACL file, given on its command line): clients log in as `default` with the
 * Sentinel password (output redisSentinelPassword) and may only discover and subscribe; the other Sentinels
 * log in as `sentinels`, operators as `admin` (Secret redis-sentinel-admin), the ACL Job as `reconcile`, each
 * with a password of its own. An ACL file rather than requirepass, so no password is in a file Sentinel
 * rewrites. The ACL Job's commands are made from the same entries.
 */
export function sentinelAclEntries(opts: { clientPassword: string; peerPassword: string; adminPassword: string; reconcilePassword: string }): RedisAclEntry[] {
    const rules = (commands: string[]) => `-@all ${commands.map((c) => `+${c}`).join(" ")}`;
    return [
        { name: SENTINEL_USERS.clients, rules: `on #${sha256(opts.clientPassword)} resetchannels &* ${rules(SENTINEL_CLIENT_COMMANDS)}` },
        { name: SENTINEL_USERS.peers, rules: `on #${sha256(opts.peerPassword)} resetchannels ${rules(SENTINEL_PEER_COMMANDS)}` },
        { name: SENTINEL_USERS.admin, rules: `on #${sha256(opts.adminPassword)} ~* &* +@all` },
        { name: SENTINEL_USERS.reconcile, rules: `on #${sha256(opts.reconcilePassword)} resetchannels ${rules(SENTINEL_RECONCILE_COMMANDS)}` },
    ];
}

/** The Sentinel's ACL file (sentinelAclEntries as a file). */
export function sentinelAclFile(opts: { clientPassword: string; peerPassword: string; adminPassword: string; reconcilePassword: string }): string {
    return sentinelAclEntries(opts).map((e) => `user ${e.name} ${e.rules}\n`).join("");
}

/**
 * What the ACL Job sends each Sentinel to apply sentinel-auth.conf live (SENTINEL SET and SENTINEL CONFIG SET
 * make Sentinel rewrite its working file; the start script takes them from sentinel-auth.conf again at the
 * next start): the user and password it authenticates to Redis with, and to the other Sentinels with.
 */
export function sentinelAuthCommands(opts: { peerPassword: string; sentinelUserPassword: string }): string {
    return [
        `SENTINEL CONFIG SET sentinel-user ${SENTINEL_USERS.peers}`,
        `SENTINEL CONFIG SET sentinel-pass ${opts.peerPassword}`,
        `SENTINEL SET ${SENTINEL_MASTER_NAME} auth-user ${SENTINEL_USER}`,
        `SENTINEL SET ${SENTINEL_MASTER_NAME} auth-pass ${opts.sentinelUserPassword}`,
        "",
    ].join("\n");
}

function cliPrefix(tls: boolean): string {
    return tls ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt` : "redis-cli";
}

/**
 * common.sh, sourced by both start scripts: this pod's address and ordinal (from its host name, which is
 * the pod name), every pod's Redis and Sentinel, and the records:
 * - `sentinel_record host:port` prints a Sentinel's record, `<config-epoch> <host>:<port>` of the primary it
 *   names (SENTINEL master, with the clients' Sentinel password);
 * - `file_record` prints the record this pod's Sentinel last wrote (its config file on the data volume);
 * - `gather_records` asks every pod's Sentinel (this pod's file when its own does not answer) and sets
 *   `answered`, `best_epoch`, `best_master` (the highest config-epoch; on a tie, the lowest ordinal's) and
 *   `records` (for the log line).
 */
export function redisCommonScript(opts: { app: string; namespace: string; replicas: number; tls: boolean }): string {
    const pods = Array.from({ length: opts.replicas }, (_, i) => i);
    const redisAddr = (i: number) => `${podHost(opts.app, opts.namespace, i)}:${REDIS_PORT}`;
    const sentinelAddr = (i: number) => `${podHost(opts.app, opts.namespace, i)}:${SENTINEL_PORT}`;
    const m = SENTINEL_MASTER_NAME;
    return `# Rendered for StatefulSet ${opts.app} in namespace ${opts.namespace} with ${opts.replicas} pods.
pod="$(hostname)"
case "$pod" in
${pods.map((i) => `    ${opts.app}-${i}) self=${redisAddr(i)}; ordinal=${i} ;;`).join("\n")}
    *) echo "$0: pod $pod is not one of the ${opts.replicas} pods this configuration was rendered for" >&2; exit 1 ;;
esac
# Every pod's Redis and Sentinel, in ordinal order.
redis_hosts="${pods.map(redisAddr).join(" ")}"
sentinel_hosts="${pods.map(sentinelAddr).join(" ")}"
app=${opts.app}
pods=${opts.replicas}
quorum=${sentinelQuorum(opts.replicas)}
initial_master=${redisAddr(0)}
sentinel_state=${SENTINEL_PATHS.stateFile}

# redis-cli to host:port (the first argument), bounded to 3 s; the password comes from REDISCLI_AUTH (set by
# the caller: admin_cli, sentinel_record). Error
# replies are printed like answers: callers check what they read.
cli() {
    to_="$1"
    shift
    timeout 3 ${cliPrefix(opts.tls)} -h "\${to_%:*}" -p "\${to_##*:}" --raw "$@" 2>/dev/null
}

# cli as Redis's admin, the password read from the mounted Secret at each call (a rotated one is used at once).
admin_cli() {
    REDISCLI_AUTH="$(cat ${REDIS_CREDENTIALS_PATHS.passwordFile})" cli "$@"
}

# The pod name of a Redis address.
pod_name() {
    i_=0
    for r_ in $redis_hosts; do
        if [ "$r_" = "$1" ]; then echo "${opts.app}-$i_"; return; fi
        i_=$((i_ + 1))
    done
    echo "$1"
}

# A Sentinel's record: "<config-epoch> <host>:<port>" of the primary it names; none while that Sentinel is
# failing over (between the promotion and the switch it reports the new epoch with the old address). The
# password only in this command's environment, never on a command line.
sentinel_record() {
    reply_="$(REDISCLI_AUTH="$(cat ${SENTINEL_PATHS.authFile})" cli "$1" SENTINEL master ${m})" || return 1
    printf '%s\\n' "$reply_" | awk 'NR % 2 { k = $0; next } { v[k] = $0 } END { if (v["config-epoch"] !~ /^[0-9]+$/ || v["port"] !~ /^[0-9]+$/ || v["ip"] == "" || v["flags"] ~ /failover_in_progress/) exit 1; print v["config-epoch"], v["ip"] ":" v["port"] }'
}

# The record this pod's Sentinel last wrote.
file_record() {
    [ -s "$sentinel_state" ] || return 1
    awk '$1 == "sentinel" && $2 == "monitor" && $3 == "${m}" { a = $4 ":" $5 } $1 == "sentinel" && $2 == "config-epoch" && $3 == "${m}" { e = $4 } END { if (a == "") exit 1; print (e == "" ? 0 : e), a }' "$sentinel_state"
}

gather_records() {
    answered=0
    best_epoch=-1
    best_master=""
    records=""
    i_=0
    for s_ in $sentinel_hosts; do
        r_="$(sentinel_record "$s_")" || { [ "$i_" = "$ordinal" ] && r_="$(file_record)"; } || r_=""
        if [ -n "$r_" ]; then
            answered=$((answered + 1))
            records="$records ${opts.app}-$i_: $(pod_name "\${r_#* }") at config-epoch \${r_%% *};"
            if [ "\${r_%% *}" -gt "$best_epoch" ]; then
                best_epoch="\${r_%% *}"
                best_master="\${r_#* }"
            fi
        else
            records="$records ${opts.app}-$i_: no answer;"
        fi
        i_=$((i_ + 1))
    done
}
`;
}

/**
 * start-redis.sh, the Redis container's command. It decides this pod's role from the records
 * (gather_records: up to RECORD_WAIT_SECONDS for every pod's, then the ones it has) and from its own volume,
 * logs the decision and why in one line, and runs redis-server on the mounted redis.conf (the standalone
 * file) with the replication settings and the replication user's credentials included, the announced host
 * name and, on a replica, `replicaof`:
 * - The record with the highest config-epoch names the primary P: the primary the Sentinels last elected,
 *   whose data is the newest (a failover needs a majority of Sentinels, so the records of a majority of pods
 *   include the newest one).
 * - P itself starts as the primary when its volume holds data and a majority of pods answered; alone it
 *   waits (a pod alone may be the one that missed a failover). It starts fenced: redis-server refuses every
 *   write (min-replicas-to-write above the replicas there are) until every Sentinel that answers, a quorum
 *   at least, names P with no failover of it started and has had a ping answered by it within
 *   FENCE_PING_REPLY_MS; then it takes MIN_REPLICAS_TO_WRITE again. The Sentinels may have marked P down
 *   while its pod was away and promote a replica moments after P is back: without the fence P would take
 *   writes meanwhile, WAIT-acknowledged by a replica that is then made to follow the promoted one, and lost.
 *   Demoted while fenced, P has taken no write; still fenced after FENCE_MAX_SECONDS, it takes writes and
 *   says why loudly.
 * - P without data (a new volume, or an AOF without a key) never becomes the primary over a pod that holds
 *   data: it does not start redis-server while another pod's holds keys, so the Sentinels fail over to one
 *   of those, and it then starts as that primary's replica. Only when every other pod answers that it holds
 *   no key either (a new set) does P start as the primary.
 * - Every other pod starts as P's replica. One that may hold less than its peers (no data, a record older
 *   than the newest, or fewer than a majority of records) starts with replica-priority 0, so Sentinel never
 *   promotes it over a replica that holds the newest data, and gets the default back once it has synced
 *   with its primary.
 * While fenced or at priority 0, redis-server runs as this script's child and the script passes the
 * kubelet's SIGTERM on.
 * Sentinel changes the role at run time; its CONFIG REWRITE fails on the read-only file, which it tolerates,
 * and the next start decides again.
 */
export function redisStartScript(): string {
    const p = REDIS_SCRIPT_PATHS;
    const aof = REDIS_PATHS.aofDir;
    return `set -eu
. ${p.common}

# redis-server as this container runs it, with this start's role as arguments.
serve() {
    exec redis-server ${REDIS_PATHS.configFile} --include ${p.replicationConf} --include ${REDIS_REPLICATION_PATHS.file} --replica-announce-ip "\${self%:*}" "$@"
}

# What this pod's volume holds: fresh (no AOF: a new volume), empty (an AOF without a key) or data. The
# files are the ones the AOF manifest lists as base and increments; a non-empty increment or a large base
# holds data, a small RDB base is read with redis-check-rdb.
volume_data() {
    manifest_="$(ls ${aof}/*.manifest 2>/dev/null | head -n 1)"
    if [ -z "$manifest_" ]; then echo fresh; return; fi
    for f_ in $(awk '$1 == "file" && $5 == "type" && ($6 == "b" || $6 == "i") { print $2 }' "$manifest_"); do
        f_="${aof}/$f_"
        [ -s "$f_" ] || continue
        case "$f_" in
            *.rdb)
                if [ $(($(wc -c < "$f_"))) -gt ${SMALL_RDB_BYTES} ]; then echo data; return; fi
                n_="$(redis-check-rdb "$f_" 2>/dev/null | sed -n 's/^\\[info\\] \\([0-9]*\\) keys read$/\\1/p')"
                if [ "$n_" != 0 ]; then echo data; return; fi
                ;;
            *) echo data; return ;;
        esac
    done
    echo empty
}

# Another pod's key count ("loading" while it loads its AOF); fails when its Redis does not answer.
keys_of() {
    k_="$(admin_cli "$1" DBSIZE)" || return 1
    case "$k_" in
        LOADING*) echo loading ;;
        "" | *[!0-9]*) return 1 ;;
        *) echo "$k_" ;;
    esac
}

# redis-server as this shell's child with the arguments after the first; the first names a check the shell
# runs every second until it succeeds, then the shell waits for redis-server (passing SIGTERM on).
serve_watched() {
    check_="$1"
    shift
    (serve "$@") &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT
    while kill -0 "$child" 2>/dev/null; do
        if "$check_"; then break; fi
        sleep 1
    done
    while :; do
        status=0
        wait "$child" || status=$?
        kill -0 "$child" 2>/dev/null || exit "$status"
    done
}

# A replica with replica-priority 0 until its first sync: the default priority back once the link to its
# primary is up.
synced() {
    case "$(admin_cli "$self" INFO replication)" in
        *master_link_status:up*) ;;
        *) return 1 ;;
    esac
    [ "$(admin_cli "$self" CONFIG SET replica-priority 100)" = OK ] || return 1
    echo "start-redis: $self has synced with its primary: replica-priority 100, a failover candidate again"
}

# Whether the Sentinel at host:port sees this pod as the primary it monitors, with no failover of it
# started, and had a ping answered within ${FENCE_PING_REPLY_MS} ms: 0 yes; 1 no, the reason printed; 2 no answer.
sentinel_sees_self_up() {
    reply_="$(REDISCLI_AUTH="$(cat ${SENTINEL_PATHS.authFile})" cli "$1" SENTINEL master ${SENTINEL_MASTER_NAME})" || return 2
    printf '%s\\n' "$reply_" | awk -v self="$self" 'NR % 2 { k = $0; next } { v[k] = $0 } END {
        if (v["ip"] == "" || v["port"] == "") exit 2
        if (v["ip"] ":" v["port"] != self) { print "names " v["ip"] ":" v["port"] " at config-epoch " v["config-epoch"]; exit 1 }
        if (v["flags"] ~ /s_down|o_down|failover_in_progress/) { print "has flags " v["flags"]; exit 1 }
        if (v["last-ok-ping-reply"] !~ /^[0-9]+$/ || v["last-ok-ping-reply"] + 0 > ${FENCE_PING_REPLY_MS}) { print "last had a ping answered " v["last-ok-ping-reply"] " ms ago"; exit 1 }
    }'
}

# The fence of a starting primary (see above): lifted once the Sentinels give the all-clear, or when the
# Sentinels demoted this pod (it took no write), or after ${FENCE_MAX_SECONDS} s.
fence_lifted() {
    case "$(admin_cli "$self" ROLE | head -n 1)" in
        slave) lift_="demoted by the Sentinels while fenced: it took no write" ;;
        master)
            clear_=0
            doubt_=""
            i_=0
            for s_ in $sentinel_hosts; do
                st_=0
                r_="$(sentinel_sees_self_up "$s_")" || st_=$?
                case "$st_" in
                    0) clear_=$((clear_ + 1)) ;;
                    1) doubt_="$doubt_ the Sentinel of $app-$i_ $r_;" ;;
                esac
                i_=$((i_ + 1))
            done
            if [ -z "$doubt_" ] && [ "$clear_" -ge "$quorum" ]; then
                lift_="$clear_ Sentinels see it up with no failover started"
            elif [ $(($(date +%s) - fenced_since)) -ge ${FENCE_MAX_SECONDS} ]; then
                lift_="STILL IN DOUBT after ${FENCE_MAX_SECONDS} s, taking writes anyway (Sentinels clear: $clear_ of $pods;$doubt_)"
            else
                note "$self is the primary, fenced (refusing writes): Sentinels clear: $clear_ of $pods, a quorum is $quorum;$doubt_"
                return 1
            fi
            ;;
        *) return 1 ;;
    esac
    [ "$(admin_cli "$self" CONFIG SET min-replicas-to-write ${MIN_REPLICAS_TO_WRITE})" = OK ] || return 1
    echo "start-redis: $self fence lifted after $(($(date +%s) - fenced_since)) s: $lift_"
}

# This pod as the primary, fenced until fence_lifted.
serve_fenced() {
    fenced_since="$(date +%s)"
    serve_watched fence_lifted --min-replicas-to-write $pods
}

data="$(volume_data)"
# This pod's own record as its Sentinel left it, read before that Sentinel learns anything new.
own="$(file_record)" || own=""
started="$(date +%s)"
said=""
# A waiting line once, not at every round.
note() {
    if [ "$1" != "$said" ]; then echo "start-redis: $1"; fi
    said="$1"
}

while :; do
    gather_records
    if [ "$answered" -lt "$pods" ] && [ $(($(date +%s) - started)) -lt ${RECORD_WAIT_SECONDS} ]; then
        sleep 1
        continue
    fi
    if [ -z "$best_master" ]; then
        best_master="$initial_master"
        best_epoch=0
    fi
    why="records of $answered of $pods pods:$records the highest config-epoch, $best_epoch, names $(pod_name "$best_master")"
    if [ "$best_master" = "$self" ]; then
        if [ "$data" = data ]; then
            if [ "$answered" -ge "$quorum" ]; then
                echo "start-redis: $self starts as the primary, fenced until the Sentinels give the all-clear ($why; this pod holds data)"
                serve_fenced
            fi
            note "$self waits: $why, but a primary needs the records of $quorum pods"
        else
            with_data=""
            unknown=""
            for r in $redis_hosts; do
                [ "$r" != "$self" ] || continue
                if k="$(keys_of "$r")"; then
                    [ "$k" = 0 ] || with_data="$with_data $(pod_name "$r")"
                else
                    unknown="$unknown $(pod_name "$r")"
                fi
            done
            if [ -n "$with_data" ]; then
                note "$self does not start: $why, but this pod holds no data ($data) and$with_data do; the Sentinels fail over to one of them"
            elif [ -z "$unknown" ]; then
                echo "start-redis: $self starts as the primary, fenced until the Sentinels give the all-clear ($why; no pod holds data: a new set)"
                serve_fenced
            else
                note "$self waits: $why; this pod holds no data ($data) and$unknown did not answer whether they do"
            fi
        fi
        sleep 2
        continue
    fi
    lower=""
    if [ "$data" != data ]; then
        lower="this pod holds no data ($data)"
    elif [ -n "$own" ] && [ "\${own%% *}" -lt "$best_epoch" ]; then
        lower="this pod's record is from config-epoch \${own%% *}"
    elif [ "$answered" -lt "$quorum" ]; then
        lower="fewer than $quorum pods answered"
    fi
    if [ -z "$lower" ]; then
        echo "start-redis: $self starts as a replica of $best_master ($why)"
        serve --replicaof "\${best_master%:*}" "\${best_master##*:}"
    fi
    echo "start-redis: $self starts as a replica of $best_master ($why), with replica-priority 0 until its first sync: $lower"
    serve_watched synced --replicaof "\${best_master%:*}" "\${best_master##*:}" --replica-priority 0
done
`;
}

/**
 * start-sentinel.sh, the Sentinel container's command. It builds Sentinel's working copy anew from the
 * rendered file at every start (so a changed sentinel.conf takes effect), monitoring the primary of this
 * pod's record with its config-epoch and keeping the Sentinel's own state (its id, the epochs it voted in).
 * On a new volume it takes the other Sentinels' record with the highest config-epoch, waiting up to
 * FRESH_SENTINEL_WAIT_SECONDS for one; without any, pod 0 (a new set). Every other pod is listed as a known
 * replica, so whichever Sentinel leads a failover knows the candidates.
 */
export function sentinelStartScript(opts: { replicas: number; tls: boolean }): string {
    const p = SENTINEL_PATHS;
    const m = SENTINEL_MASTER_NAME;
    return `set -eu
. ${REDIS_SCRIPT_PATHS.common}
# Sentinel writes what it learns (passwords included) into this file: the pod's user only.
umask 077
mkdir -p ${p.stateDir}
if own="$(file_record)"; then
    epoch="\${own%% *}"
    master="\${own#* }"
    source="the record this pod's Sentinel left"
    # Its id and the epochs it voted in: a Sentinel must not vote twice in one epoch.
    state="$(grep -E '^sentinel (myid|current-epoch|leader-epoch ${m}) ' "$sentinel_state" || true)"
else
    epoch=-1
    master=""
    state=""
    tries=0
    while [ -z "$master" ] && [ "$tries" -lt ${FRESH_SENTINEL_WAIT_SECONDS} ]; do
        i=0
        for s in $sentinel_hosts; do
            if [ "$i" != "$ordinal" ] && r="$(sentinel_record "$s")" && [ "\${r%% *}" -gt "$epoch" ]; then
                epoch="\${r%% *}"
                master="\${r#* }"
            fi
            i=$((i + 1))
        done
        [ -n "$master" ] || sleep 1
        tries=$((tries + 1))
    done
    if [ -n "$master" ]; then
        source="a new volume: the other Sentinels' record"
    else
        epoch=0
        master="$initial_master"
        source="a new volume and no other Sentinel answered: pod 0"
    fi
fi
{
    sed "s|^sentinel monitor ${m} .*|sentinel monitor ${m} \${master%:*} \${master##*:} ${sentinelQuorum(opts.replicas)}|" ${p.template}
    echo "sentinel announce-ip \${self%:*}"
    echo "sentinel config-epoch ${m} $epoch"
    if [ -n "$state" ]; then printf '%s\\n' "$state"; fi
    for r in $redis_hosts; do
        if [ "$r" != "$master" ]; then echo "sentinel known-replica ${m} \${r%:*} \${r##*:}"; fi
    done
} > "$sentinel_state.tmp"
mv "$sentinel_state.tmp" "$sentinel_state"
echo "start-sentinel: monitoring $master at config-epoch $epoch ($source)"
${opts.tls ? sentinelTlsRestartLoop() : `exec ${sentinelCommand()}`}
`;
}

/** The Sentinel process, on the state file the start script wrote. */
function sentinelCommand(): string {
    return `redis-server "$sentinel_state" --sentinel --include ${SENTINEL_PATHS.authConf} --aclfile ${SENTINEL_PATHS.aclFile}`;
}

/** How often the start script looks at the certificate files, and how far apart the pods restart Sentinel. */
export const SENTINEL_TLS_CHECK_SECONDS = 10;
export const SENTINEL_TLS_STAGGER_SECONDS = 10;

/**
 * With TLS, the start script stays Sentinel's parent: Sentinel builds its TLS context once and has no CONFIG
 * SET, so a renewed certificate (the Secret volume's files change) needs a new process. The script restarts
 * it on the state file it keeps on the volume, pod i after i × SENTINEL_TLS_STAGGER_SECONDS, so the quorum
 * loses one Sentinel at a time, for a second. SIGTERM is passed on; a Sentinel that exits by itself ends the
 * container (the kubelet restarts it).
 */
function sentinelTlsRestartLoop(): string {
    const tls = REDIS_PATHS.tls;
    return `certs() { cat ${tls}/tls.crt ${tls}/tls.key ${tls}/ca.crt 2>/dev/null | md5sum; }
stopping=0
pid=""
trap 'stopping=1; if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi' TERM INT
while :; do
    seen="$(certs)"
    ${sentinelCommand()} &
    pid=$!
    restart=0
    while [ "$stopping" = 0 ] && kill -0 "$pid" 2>/dev/null; do
        sleep ${SENTINEL_TLS_CHECK_SECONDS} & wait $! || true
        if [ "$stopping" = 0 ] && [ "$(certs)" != "$seen" ]; then
            sleep $((ordinal * ${SENTINEL_TLS_STAGGER_SECONDS})) & wait $! || true
            echo "start-sentinel: the TLS certificate files changed: restarting Sentinel to load them"
            restart=1
            kill -TERM "$pid" 2>/dev/null || true
            break
        fi
    done
    status=0
    wait "$pid" || status=$?
    if [ "$stopping" = 1 ] || [ "$restart" = 0 ]; then exit "$status"; fi
done`;
}

/**
 * The Sentinel's liveness probe: PING with the Sentinel password, read from the mounted Secret at each run.
 * PONG passes, and so does an authentication refusal (Sentinel answered: a password being rotated must not
 * restart it).
 */
export function sentinelProbeCommand(tls: boolean): string[] {
    const cli = tls ? `${cliPrefix(true)} -h localhost -p ${SENTINEL_PORT}` : `redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT}`;
    return ["sh", "-c", `reply="$(REDISCLI_AUTH="$(cat ${SENTINEL_PATHS.authFile})" ${cli} ping 2>&1)"; case "$reply" in PONG|*NOAUTH*|*WRONGPASS*) exit 0;; esac; echo "$reply"; exit 1`];
}
