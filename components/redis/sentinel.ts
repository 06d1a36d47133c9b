// What a replicated Redis (redis.replicas > 1) adds: sentinel.conf, the start scripts that decide a pod's
// role, and the Sentinel probe. Pure text builders.
//
// Every pod runs redis-server and a Sentinel. Which pod is the primary is not rendered: at every container
// start the scripts ask the Sentinels (the other pods' first) for the current primary, and only when none
// answers (a cold start of the whole set) is pod 0 the primary. Asking at every start, not once in an init
// container, matters: a restarted container does not re-run init containers, and a primary that crashed
// and came back would otherwise believe it still is one.

import { podHost } from "../dnsNames";
import { sha256 } from "../hash";
import { REDIS_PATHS, REDIS_PORT, REDIS_REPLICATION_PATHS, SENTINEL_USER } from "./files";

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
    /** Writable copy: Sentinel rewrites its config file with what it learns (epochs, replicas, peers). */
    runDir: "/run/sentinel",
    runFile: "/run/sentinel/sentinel.conf",
    /** Secret redis-sentinel-auth: what Sentinel authenticates with, included after the copy, and its ACL file. */
    authConfDir: "/etc/redis/sentinel-auth",
    authConf: "/etc/redis/sentinel-auth/sentinel-auth.conf",
    aclFile: "/etc/redis/sentinel-auth/users.acl",
    /** The Sentinel password (Secret redis-sentinel-credentials), read by the start scripts. */
    authDir: "/etc/redis/sentinel-password",
    authFile: "/etc/redis/sentinel-password/password",
};

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
 * and start-sentinel.sh replaces its address with the primary the other Sentinels report. Host names, not
 * IPs: a pod's IP changes when it is recreated.
 */
export function sentinelConfig(opts: { app: string; namespace: string; replicas: number; tls: boolean }): string {
    const m = SENTINEL_MASTER_NAME;
    const lines = [
        "bind * -::*",
        `dir ${SENTINEL_PATHS.runDir}`,
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
export const SENTINEL_USERS = { clients: "default", peers: "sentinels", admin: "admin" } as const;

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

/**
 * The Sentinel's ACL file (given on its command line): clients log in as `default` with the Sentinel
 * password (output redisSentinelPassword) and may only discover and subscribe; the other Sentinels log in as
 * `sentinels`, operators as `admin` (Secret redis-sentinel-admin), each with a password of its own. An ACL
 * file rather than requirepass, so no password is in a file Sentinel rewrites.
 */
export function sentinelAclFile(opts: { clientPassword: string; peerPassword: string; adminPassword: string }): string {
    const rules = (commands: string[]) => `-@all ${commands.map((c) => `+${c}`).join(" ")}`;
    return [
        `user ${SENTINEL_USERS.clients} on #${sha256(opts.clientPassword)} resetchannels &* ${rules(SENTINEL_CLIENT_COMMANDS)}`,
        `user ${SENTINEL_USERS.peers} on #${sha256(opts.peerPassword)} resetchannels ${rules(SENTINEL_PEER_COMMANDS)}`,
        `user ${SENTINEL_USERS.admin} on #${sha256(opts.adminPassword)} ~* &* +@all`,
        "",
    ].join("\n");
}

function cliPrefix(tls: boolean): string {
    return tls ? `redis-cli --tls --cacert ${REDIS_PATHS.tls}/ca.crt` : "redis-cli";
}

/**
 * common.sh, sourced by both start scripts: this pod's address (from its host name, which is the pod name)
 * and `find_master`, which prints the primary's host:port as the first Sentinel that answers reports it,
 * asking the other pods' Sentinels before this pod's own (which may have just started knowing nothing).
 */
export function redisCommonScript(opts: { app: string; namespace: string; replicas: number; tls: boolean }): string {
    const pods = Array.from({ length: opts.replicas }, (_, i) => i);
    const redisAddr = (i: number) => `${podHost(opts.app, opts.namespace, i)}:${REDIS_PORT}`;
    const sentinelAddr = (i: number) => `${podHost(opts.app, opts.namespace, i)}:${SENTINEL_PORT}`;
    return [
        `# Rendered for StatefulSet ${opts.app} in namespace ${opts.namespace} with ${opts.replicas} pods.`,
        `pod="$(hostname)"`,
        'case "$pod" in',
        // The other pods' Sentinels first, this pod's own last.
        ...pods.map((i) => `    ${opts.app}-${i}) self=${redisAddr(i)}; ask="${[...pods.filter((j) => j !== i), i].map(sentinelAddr).join(" ")}" ;;`),
        `    *) echo "$0: pod $pod is not one of the ${opts.replicas} pods this configuration was rendered for" >&2; exit 1 ;;`,
        "esac",
        `initial_master=${redisAddr(0)}`,
        "",
        "find_master() {",
        "    for s in $ask; do",
        // The password only in this command's environment, never on a command line.
        `        reply="$(REDISCLI_AUTH="$(cat ${SENTINEL_PATHS.authFile})" timeout 3 ${cliPrefix(opts.tls)} -h "\${s%:*}" -p "\${s##*:}" --raw SENTINEL get-master-addr-by-name ${SENTINEL_MASTER_NAME} 2>/dev/null)" || continue`,
        '        host="$(printf "%s\\n" "$reply" | sed -n 1p)"',
        '        port="$(printf "%s\\n" "$reply" | sed -n 2p)"',
        '        case "$port" in "" | *[!0-9]*) continue ;; esac',
        '        echo "$host:$port"',
        "        return 0",
        "    done",
        "    return 1",
        "}",
        "",
    ].join("\n");
}

/**
 * start-redis.sh, the Redis container's command: redis-server on the mounted redis.conf (the standalone
 * file), then the replication settings and the replication user's credentials (included), the announced
 * host name and, unless this pod is the primary, `replicaof`. Sentinel changes the role at run time; its
 * CONFIG REWRITE fails on the read-only file, which it tolerates, and the next start asks again.
 */
export function redisStartScript(): string {
    const p = REDIS_SCRIPT_PATHS;
    const server = `redis-server ${REDIS_PATHS.configFile} --include ${p.replicationConf} --include ${REDIS_REPLICATION_PATHS.file}`;
    return [
        "set -eu",
        `. ${p.common}`,
        'if master="$(find_master)"; then source="the Sentinels"; else master="$initial_master"; source="no Sentinel answered: pod 0 is the primary"; fi',
        'if [ "$master" = "$self" ]; then',
        '    echo "start-redis: $self starts as the primary ($source)"',
        `    exec ${server} --replica-announce-ip "\${self%:*}"`,
        "fi",
        'echo "start-redis: $self starts as a replica of $master ($source)"',
        `exec ${server} --replica-announce-ip "\${self%:*}" --replicaof "\${master%:*}" "\${master##*:}"`,
        "",
    ].join("\n");
}

/**
 * start-sentinel.sh, the Sentinel container's command. A container restart keeps the writable copy (the
 * emptyDir outlives the container) and with it what this Sentinel learnt; a new pod starts from the
 * rendered file with the primary the other Sentinels report.
 */
export function sentinelStartScript(opts: { replicas: number }): string {
    const p = SENTINEL_PATHS;
    return [
        "set -eu",
        `. ${REDIS_SCRIPT_PATHS.common}`,
        `conf=${p.runFile}`,
        // Sentinel writes what it learns (passwords included) into this file: the pod's user only.
        "umask 077",
        'if [ -s "$conf" ]; then',
        '    echo "start-sentinel: keeping the state of this pod\'s previous Sentinel"',
        "else",
        '    if master="$(find_master)"; then source="the other Sentinels"; else master="$initial_master"; source="no Sentinel answered: pod 0"; fi',
        `    sed "s|^sentinel monitor ${SENTINEL_MASTER_NAME} .*|sentinel monitor ${SENTINEL_MASTER_NAME} \${master%:*} \${master##*:} ${sentinelQuorum(opts.replicas)}|" ${p.template} > "$conf.tmp"`,
        '    echo "sentinel announce-ip ${self%:*}" >> "$conf.tmp"',
        '    mv "$conf.tmp" "$conf"',
        '    echo "start-sentinel: monitoring $master ($source)"',
        "fi",
        `exec redis-server ${p.runFile} --sentinel --include ${p.authConf} --aclfile ${p.aclFile}`,
        "",
    ].join("\n");
}

/** The Sentinel's liveness probe: PONG with the Sentinel password from REDISCLI_AUTH. */
export function sentinelProbeCommand(tls: boolean): string[] {
    const cli = tls ? `${cliPrefix(true)} -h localhost -p ${SENTINEL_PORT}` : `redis-cli -h 127.0.0.1 -p ${SENTINEL_PORT}`;
    return ["sh", "-c", `reply="$(${cli} ping 2>&1)"; case "$reply" in PONG) exit 0;; esac; echo "$reply"; exit 1`];
}
