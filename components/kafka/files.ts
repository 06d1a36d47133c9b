// What Kafka reads: server.properties (a template filled in per pod), the JAAS file, the start script, the
// paths they are mounted at, and the derived sizes. Pure text builders.
//
// The properties are rendered here, not assembled by the image's KAFKA_* env translation, so none of the
// image's defaults (fixed cluster id, /tmp log dirs, localhost voters) can leak in.

import { percentOfMiB } from "../config/units";
import { ownPodHostShell, podHost } from "../dnsNames";
import { KAFKA_BROKER_IDENTITIES, replicationSettings, type KafkaBrokerIdentity, type KafkaClientAuth } from "./settings";

export const KAFKA_APP = "kafka";
const APP = KAFKA_APP;
export const KAFKA_PORTS = { client: 9092, controller: 9093, internal: 9094, probe: 9095 };
/**
 * The readiness probe's listener: SASL_PLAINTEXT (PLAIN, the broker's own login) bound to the pod's loopback
 * only, so no Service, NetworkPolicy or other pod reaches it and a JVM-less script can speak to it (no TLS).
 * Advertised as 127.0.0.1 on every broker: a Metadata request on it then names each partition's leader and
 * the unfenced brokers (clients never see it; they are answered with the endpoints of their own listener).
 */
export const KAFKA_PROBE_LISTENER = "PROBE";
export const KAFKA_PATHS = {
    data: "/var/lib/kafka/data",
    tmp: "/tmp",
    // kafka-run-class.sh writes server.log & co. to LOG_DIR.
    logs: "/opt/kafka/logs",
    // A sub-directory of the volume: a fresh ext4 volume's lost+found must not sit in a log dir.
    logDirs: "/var/lib/kafka/data/logs",
    template: "/mnt/kafka-config",
    runtime: "/opt/kafka/runtime",
    serverProperties: "/opt/kafka/runtime/server.properties",
    // The PEM key stores the start script builds (and the TLS reloader rebuilds) from the mounted certificate.
    // The CLIENT and INTERNAL listeners' path is also set as a dynamic per-broker config by the reloader (the
    // same value): changing it here needs `kafka-configs.sh --delete-config` of that override on every broker.
    keystore: "/opt/kafka/runtime/keystore.pem",
    controllerKeystore: "/opt/kafka/runtime/controller-keystore.pem",
    truststore: "/opt/kafka/runtime/truststore.pem",
    /** The CA the broker started with: the reloader and the liveness probe compare the mounted one with it. */
    startedCa: "/opt/kafka/runtime/started-ca.crt",
    /** The CA of the previous start, on the data volume: still trusted at the next start (see kafkaStartScript). */
    previousCa: "/var/lib/kafka/data/tls-previous-ca.crt",
    jaasDir: "/etc/kafka/jaas",
    jaas: "/etc/kafka/jaas/kafka_server_jaas.conf",
    tls: "/etc/kafka/tls",
    /** Secret kafka-user-admin, for the TLS reloader's and the reconcile Job's admin client. */
    admin: "/etc/kafka/admin",
    /** The application users' Secrets in the reconcile Job, one directory each (`<dir>/<user>/password`). */
    users: "/etc/kafka/users",
    /** ConfigMap kafka-reconcile (the reconcile Job's script and the declared topics and ACLs). */
    reconcile: "/mnt/kafka-reconcile",
};
/** Placeholders in the properties template, filled in per pod by the start script. */
export const NODE_ID_PLACEHOLDER = "@NODE_ID@";
export const POD_HOST_PLACEHOLDER = "@POD_HOST@";
/**
 * The mechanism of application users: salted credentials in the metadata log (the reconcile Job sets them
 * through the Admin API), so no broker file changes with them. SHA-512: the stronger of Kafka's two.
 */
export const KAFKA_SCRAM_MECHANISM = "SCRAM-SHA-512";
/** PBKDF2 iterations of each SCRAM credential (Kafka accepts 4096 to 16384; 4096 is RFC 7677's minimum). */
export const KAFKA_SCRAM_ITERATIONS = 8192;
export type KafkaClientMechanism = "PLAIN" | typeof KAFKA_SCRAM_MECHANISM;
/** Reserved SASL users: `broker` (and `broker-next`) for inter-broker and controller traffic, `admin` for operators. */
export const BROKER_USER = "broker";
export const ADMIN_USER = "admin";
/** The authorizer's principal for unauthenticated clients (clientAuth none). */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";
/** KRaft's ACL authorizer: ACLs live in the metadata log, so they need no ZooKeeper and reach every node. */
export const KAFKA_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
/** The listeners that carry TLS when the stack has it; CONTROLLER has a key store of its own (see the start script). */
export const KAFKA_LISTENERS = ["CLIENT", "INTERNAL", "CONTROLLER"] as const;
/** A CA change restarts the brokers one after another, this many seconds apart by ordinal (see kafkaLivenessCommand). */
export const KAFKA_CA_RESTART_STAGGER_SECONDS = 180;

export interface KafkaPropertiesOptions {
    replicas: number;
    namespace: string;
    clientAuth: KafkaClientAuth;
    tls: boolean;
}

/** `0@kafka-0.kafka-headless.<ns>.svc.cluster.local:9093,...`: node id = pod ordinal. */
export function quorumVoters(replicas: number, namespace: string): string {
    return Array.from(
        { length: replicas },
        (_, i) => `${i}@${podHost(APP, namespace, i)}:${KAFKA_PORTS.controller}`,
    ).join(",");
}

/** The client listener's security protocol. */
export function clientProtocol(clientAuth: KafkaClientAuth, tls: boolean): string {
    if (clientAuth === "none") {
        return tls ? "SSL" : "PLAINTEXT";
    }
    return tls ? "SASL_SSL" : "SASL_PLAINTEXT";
}

/** The principals the authorizer lets do anything: the operators' admin and both broker identities. */
export function kafkaSuperUsers(clientAuth: KafkaClientAuth): string[] {
    return [
        `User:${ADMIN_USER}`,
        ...KAFKA_BROKER_IDENTITIES.map((b) => `User:${b}`),
        // Without client authentication every client is ANONYMOUS: ACLs could tell nobody apart (development only).
        ...(clientAuth === "none" ? [ANONYMOUS_PRINCIPAL] : []),
    ];
}

/** server.properties template (no secrets: credentials come from the JAAS file in a Secret). */
export function kafkaServerProperties(opts: KafkaPropertiesOptions): string {
    const { replicationFactor, minInsyncReplicas } = replicationSettings(opts.replicas);
    const client = clientProtocol(opts.clientAuth, opts.tls);
    const peer = opts.tls ? "SASL_SSL" : "SASL_PLAINTEXT";
    const probe = `${KAFKA_PROBE_LISTENER}://127.0.0.1:${KAFKA_PORTS.probe}`;
    const props: [string, string | number][] = [
        ["process.roles", "broker,controller"],
        ["node.id", NODE_ID_PLACEHOLDER],
        ["controller.quorum.voters", quorumVoters(opts.replicas, opts.namespace)],
        ["listeners", `CLIENT://:${KAFKA_PORTS.client},INTERNAL://:${KAFKA_PORTS.internal},CONTROLLER://:${KAFKA_PORTS.controller},${probe}`],
        ["advertised.listeners", `CLIENT://${POD_HOST_PLACEHOLDER}:${KAFKA_PORTS.client},INTERNAL://${POD_HOST_PLACEHOLDER}:${KAFKA_PORTS.internal},${probe}`],
        ["listener.security.protocol.map", `CLIENT:${client},INTERNAL:${peer},CONTROLLER:${peer},${KAFKA_PROBE_LISTENER}:SASL_PLAINTEXT`],
        // One network thread for the probe's listener (one short connection per probe run), not num.network.threads.
        [`listener.name.${KAFKA_PROBE_LISTENER.toLowerCase()}.num.network.threads`, 1],
        ["inter.broker.listener.name", "INTERNAL"],
        ["controller.listener.names", "CONTROLLER"],
        // PLAIN for the brokers' and the admin's own logins: they live in the JAAS file, so they exist before
        // the cluster does and also work on the KRaft controller listener (SCRAM does not); TLS protects the
        // passwords on the client listener when enabled.
        ["sasl.enabled.mechanisms", "PLAIN"],
        // Application users log in with SCRAM-SHA-512 on the client listener: their credentials live in the
        // metadata log, set by the reconcile Job, so adding, rotating or removing one restarts no broker.
        // PLAIN stays enabled there for the admin and the users of kafka.plainUsers.
        // SCRAM's server side needs a login module of its own on the listener (the JAAS file's KafkaServer section
        // names PLAIN's): it takes no options, the credentials come from the metadata log.
        ...(opts.clientAuth === "sasl"
            ? ([
                  ["listener.name.client.sasl.enabled.mechanisms", `${KAFKA_SCRAM_MECHANISM},PLAIN`],
                  [`listener.name.client.${KAFKA_SCRAM_MECHANISM.toLowerCase()}.sasl.jaas.config`, "org.apache.kafka.common.security.scram.ScramLoginModule required;"],
              ] as [string, string][])
            : []),
        ["sasl.mechanism.inter.broker.protocol", "PLAIN"],
        ["sasl.mechanism.controller.protocol", "PLAIN"],
        ["log.dirs", KAFKA_PATHS.logDirs],
        ["num.partitions", 1],
        ["default.replication.factor", replicationFactor],
        ["min.insync.replicas", minInsyncReplicas],
        ["offsets.topic.replication.factor", replicationFactor],
        ["transaction.state.log.replication.factor", replicationFactor],
        ["transaction.state.log.min.isr", minInsyncReplicas],
        ["group.initial.rebalance.delay.ms", opts.replicas === 1 ? 0 : 3000],
        // Every request is authorized against the ACLs the reconcile Job declares; the brokers (inter-broker
        // and controller traffic) and the admin are super users, and what no ACL allows is denied.
        ["authorizer.class.name", KAFKA_AUTHORIZER],
        ["super.users", kafkaSuperUsers(opts.clientAuth).join(";")],
        ["allow.everyone.if.no.acl.found", "false"],
        // Topics come from kafka.topics (the reconcile Job) only. With auto-creation on, a broker that has not
        // yet seen a just-created topic answers a producer's metadata request with TOPIC_AUTHORIZATION_FAILED
        // (the user may not CREATE it), a fatal error for the send although the user has a grant; off, it
        // answers UNKNOWN_TOPIC_OR_PARTITION, which the producer retries. And a typo of a super user would
        // create an undeclared topic. Found by the real-Kafka suite (tests/servers/kafka/3-access.spec.ts).
        ["auto.create.topics.enable", "false"],
    ];
    if (opts.tls) {
        // PEM key stores built by the start script; the peers verify each other against the CA (host names
        // checked: every pod's name is in the certificate). No client certificates: clients log in with SASL.
        for (const l of KAFKA_LISTENERS) {
            const p = `listener.name.${l.toLowerCase()}.ssl`;
            props.push([`${p}.keystore.type`, "PEM"], [`${p}.keystore.location`, l === "CONTROLLER" ? KAFKA_PATHS.controllerKeystore : KAFKA_PATHS.keystore]);
            if (l !== "CLIENT") {
                props.push([`${p}.truststore.type`, "PEM"], [`${p}.truststore.location`, KAFKA_PATHS.truststore]);
            }
            props.push([`${p}.client.auth`, "none"]);
        }
    }
    return props.map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** The brokers' identities: the one they log in as, and the password of each (both are accepted). */
export interface BrokerLogins {
    login: KafkaBrokerIdentity;
    passwords: Record<KafkaBrokerIdentity, string>;
}

/**
 * The JAAS file (a Secret): the broker's own login plus every user the PLAIN mechanism accepts, both broker
 * identities included, so nodes that log in as either one authenticate during a rolling update. A plain
 * string is the password of a single `broker` identity.
 */
export function kafkaJaasConfig(brokers: string | BrokerLogins, users: { name: string; password: string }[]): string {
    const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    const b: { login: string; passwords: Record<string, string> } =
        typeof brokers === "string" ? { login: BROKER_USER, passwords: { [BROKER_USER]: brokers } } : brokers;
    const entries = [
        `    username=${q(b.login)}`,
        `    password=${q(b.passwords[b.login])}`,
        ...Object.entries(b.passwords).map(([id, pw]) => `    user_${id}=${q(pw)}`),
        ...users.map((u) => `    user_${u.name}=${q(u.password)}`),
    ];
    return `KafkaServer {\n    org.apache.kafka.common.security.plain.PlainLoginModule required\n${entries.join("\n")};\n};\n`;
}

/** A client's sasl.jaas.config line for one user (goes into that user's Secret): PLAIN's or SCRAM's module. */
export function clientJaasConfig(user: string, password: string, mechanism: KafkaClientMechanism = "PLAIN"): string {
    const module = mechanism === "PLAIN" ? "org.apache.kafka.common.security.plain.PlainLoginModule" : "org.apache.kafka.common.security.scram.ScramLoginModule";
    return `${module} required username="${user}" password="${password}";`;
}

/** The pod's own name through the headless Service, as the start script and the reloader compute it. */
function podHostLine(namespace: string): string {
    return `host="${ownPodHostShell(APP, namespace)}"`;
}

/**
 * Start script: node id from the pod ordinal, advertised host from the headless Service, storage formatted
 * once with the stack's cluster id (a formatted volume is left alone), then the broker replaces the shell.
 * With TLS it first builds the PEM key stores (an unencrypted PKCS#8 key followed by the certificate, the
 * only form Kafka's PEM key store reads without a key password) and the trust store: the CA of this start
 * plus, when it differs, the CA of the previous start (kept on the data volume). So during a CA change a
 * restarted broker still trusts the peers that have not restarted yet, whose quorum connections keep the
 * trust they started with (KRaft 3.8 builds the raft client's TLS context once). `javaAgentOption` (the
 * metrics agent, components/monitoring/kafka.ts) is added to the broker's KAFKA_OPTS only.
 */
export function kafkaStartScript(namespace: string, tls = false, javaAgentOption?: string): string {
    const p = KAFKA_PATHS;
    const tlsLines = tls
        ? [
              "umask 077",
              `cat ${p.tls}/tls.key ${p.tls}/tls.crt > ${p.keystore}`,
              `cp ${p.keystore} ${p.controllerKeystore}`,
              // -f: a restarted container finds the file of its previous start, read-only like the Secret file it copies.
              `cp -f ${p.tls}/ca.crt ${p.startedCa}`,
              `{ cat ${p.tls}/ca.crt; if [ -f ${p.previousCa} ] && ! cmp -s ${p.previousCa} ${p.tls}/ca.crt; then cat ${p.previousCa}; fi; } > ${p.truststore}`,
              `cp ${p.tls}/ca.crt ${p.previousCa}.new && mv -f ${p.previousCa}.new ${p.previousCa}`,
              "umask 022",
          ]
        : [];
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        'ordinal="${HOSTNAME##*-}"',
        'case "$ordinal" in ""|*[!0-9]*) echo "cannot derive the node id from HOSTNAME=$HOSTNAME" >&2; exit 1;; esac',
        podHostLine(namespace),
        `mkdir -p ${p.logDirs}`,
        `sed -e "s/${NODE_ID_PLACEHOLDER}/$ordinal/g" -e "s/${POD_HOST_PLACEHOLDER}/$host/g" ${p.template}/server.properties > ${p.serverProperties}`,
        ...tlsLines,
        // --cluster-id=VALUE: a generated id may begin with '-', which the tool's parser would take for a flag.
        `/opt/kafka/bin/kafka-storage.sh format --config ${p.serverProperties} --cluster-id="$CLUSTER_ID" --ignore-formatted`,
        // The metrics agent on the broker's JVM only: in the container's KAFKA_OPTS every admin tool run there
        // (the format above, kubectl exec) would start a second agent on the same port and fail.
        ...(javaAgentOption ? [`export KAFKA_OPTS="\${KAFKA_OPTS:+$KAFKA_OPTS }${javaAgentOption}"`] : []),
        `exec /opt/kafka/bin/kafka-server-start.sh ${p.serverProperties}`,
        "",
    ].join("\n");
}

/**
 * The broker container's liveness command: the controller port accepts connections (what the TCP probe
 * checked), and, with TLS, the mounted CA is still the one the broker started with or changed less than
 * `ordinal x KAFKA_CA_RESTART_STAGGER_SECONDS` ago. A CA change is the one renewal the broker cannot take
 * in place (the raft client's trust is fixed at start), so the kubelet restarts the brokers for it, one
 * after the other by ordinal, and the start script then trusts both CAs.
 */
export function kafkaLivenessCommand(tls: boolean): string[] {
    const p = KAFKA_PATHS;
    const caCheck = tls
        ? [
              `if [ -f ${p.startedCa} ] && ! cmp -s ${p.tls}/ca.crt ${p.startedCa}; then`,
              `    changed=$(( $(date +%s) - $(stat -L -c %Y ${p.tls}/ca.crt) ))`,
              `    if [ "$changed" -ge $(( \${HOSTNAME##*-} * \${KAFKA_CA_RESTART_STAGGER_SECONDS:-${KAFKA_CA_RESTART_STAGGER_SECONDS}} )) ]; then echo "the CA changed \${changed}s ago: restart to trust it on the controller listener"; exit 1; fi`,
              "fi",
          ]
        : [];
    return ["bash", "-c", [...caCheck, `exec 3<>/dev/tcp/127.0.0.1/${KAFKA_PORTS.controller}`].join("\n")];
}

/**
 * The broker container's readiness command (kafkaReadinessScript, as ready.sh in ConfigMap kafka-config). The
 * StatefulSet's rolling update waits for it before it stops the next broker, and the PDB counts a pod that
 * fails it as unavailable, so no node drain takes another broker meanwhile.
 */
export function kafkaReadinessCommand(): string[] {
    return ["bash", `${KAFKA_PATHS.template}/ready.sh`];
}

/**
 * Readiness of a Kafka node: the broker is RUNNING (unfenced: logs loaded, metadata caught up) and in the ISR
 * of every partition it replicates that has a leader. The TCP check it replaces passed as soon as the broker
 * was unfenced, while its followers still had to catch up: a rolling update then stopped the next broker and
 * partitions went under min.insync.replicas (tests/servers/kafka/5-roll-readiness.spec.ts measures both).
 * No JVM (a JVM per probe run costs seconds of CPU): bash speaks Kafka's protocol to the loopback PROBE
 * listener with the image's busybox od, dd, head, tr and awk, about 50 ms of CPU per run with a few dozen
 * partitions (measured by the same spec; tests/kafka/readiness.spec.ts runs it on busybox's tools too).
 */
export function kafkaReadinessScript(): string {
    return `#!/bin/bash
# Readiness of this Kafka node, run by the kubelet every periodSeconds (no JVM: bash and the image's busybox
# od, dd, head, tr, awk, sleep). Ready = the broker is RUNNING and in the ISR of every partition it replicates
# that has a leader. It asks the broker itself, on its loopback PROBE listener: SaslHandshake v1 and
# SaslAuthenticate v1 (PLAIN, the broker's own login from the JAAS file), then Metadata v5 for every topic.
# The listener accepts only once the broker is unfenced (RUNNING: logs loaded, metadata caught up); the
# answer lists the unfenced brokers (this one must be among them) and every partition's leader, replicas
# and ISR. Offline partitions (no leader) are not waited for: nobody can catch up on them, and waiting
# would keep every broker unready (no client endpoint, no drain, no roll) until they come back.
set -uo pipefail
export LC_ALL=C
port=${KAFKA_PORTS.probe}
jaas=${KAFKA_PATHS.jaas}
node="\${HOSTNAME##*-}"
fail() { echo "not ready: $*"; exit 1; }
case "$node" in "" | *[!0-9]*) fail "cannot derive the node id from HOSTNAME=$HOSTNAME" ;; esac

# The broker's own login: the first username="..." and password="..." of the JAAS file, unescaped.
unquote() {
    local s=$1 out="" i c
    for (( i = 0; i < \${#s}; i++ )); do
        c=\${s:i:1}
        if [ "$c" = '\\' ]; then i=$((i + 1)); c=\${s:i:1}; fi
        out+=$c
    done
    printf '%s' "$out"
}
user="" pass=""
[ -r "$jaas" ] || fail "cannot read $jaas"
while IFS= read -r line; do
    case "$line" in
        *'username="'*'"') [ -n "$user" ] || { user=$(unquote "\${line#*username=\\"}"); user=\${user%'"'}; } ;;
        *'password="'*'"') [ -n "$pass" ] || { pass=$(unquote "\${line#*password=\\"}"); pass=\${pass%'"'}; } ;;
    esac
done < "$jaas"
[ -n "$user" ] && [ -n "$pass" ] || fail "no username/password in $jaas"

# Requests are built as printf escapes (\\xHH per byte) in $out.
out=""
put8() { printf -v h '\\\\x%02x' "$(( $1 & 255 ))"; out+=$h; }
put16() { put8 $(( $1 >> 8 )); put8 "$1"; }
put32() { put8 $(( $1 >> 24 )); put8 $(( $1 >> 16 )); put8 $(( $1 >> 8 )); put8 "$1"; }
putbytes() { local s=$1 i c; for (( i = 0; i < \${#s}; i++ )); do printf -v c '%d' "'\${s:i:1}"; put8 "$c"; done; }
putstr() { put16 "\${#1}"; putbytes "$1"; }
corr=0
# send API VERSION: frames the body in $out with a v1 request header and writes it to the connection.
send() {
    local body=$out
    out=""
    corr=$((corr + 1))
    put16 "$1"; put16 "$2"; put32 "$corr"; putstr kafka-ready
    local msg=$out$body
    out=""
    put32 $(( \${#msg} / 4 ))
    printf "$out$msg" >&3 2>/dev/null || fail "the PROBE listener closed the connection"
    out=""
}
# size: waits (at most 3 s) for the next answer and reads its size into n.
size() {
    local i=0
    until read -r -t 0 <&3; do
        i=$((i + 1))
        [ "$i" -le 150 ] || fail "no answer on the PROBE listener within 3 s"
        sleep 0.02
    done
    set -- $(dd bs=1 count=4 <&3 2>/dev/null | od -An -v -tu1)
    [ $# -eq 4 ] || fail "the PROBE listener closed the connection"
    n=$(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 ))
    [ "$n" -ge 4 ] && [ "$n" -le 67108864 ] || fail "a malformed answer on the PROBE listener (size $n)"
}
# recv: a short answer's bytes after the correlation id, in decimal, in resp.
recv() {
    size
    resp=$(head -c "$n" <&3 | od -An -v -tu1 | tr -s ' \\n' '  ')
    set -- $resp
    [ $# -eq "$n" ] || fail "a truncated answer on the PROBE listener ($# of $n bytes)"
    shift 4
    resp=$*
}

exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || fail "the broker is not RUNNING: its listeners do not accept connections yet (starting, loading logs or catching up on metadata)"

putstr PLAIN                                  # SaslHandshake v1: mechanism PLAIN
send 17 1
recv
set -- $resp
[ "$1$2" = "00" ] || fail "SASL handshake refused (error $(( $1 * 256 + $2 )))"
put32 $(( \${#user} + \${#pass} + 2 )); put8 0; putbytes "$user"; put8 0; putbytes "$pass"   # SaslAuthenticate v1
send 36 1
recv
set -- $resp
[ "$1$2" = "00" ] || fail "SASL login as $user refused (error $(( $1 * 256 + $2 )))"
put32 -1; put8 0                                 # Metadata v5: every topic, no auto-creation
send 3 5
size
verdict=$(head -c "$n" <&3 | od -An -v -tu1 | awk -v self="$node" -v size="$n" '
    function i8() { return b[p++] }
    function i16(  v) { v = b[p] * 256 + b[p + 1]; p += 2; return v >= 32768 ? v - 65536 : v }
    function i32(  v) { v = ((b[p] * 256 + b[p + 1]) * 256 + b[p + 2]) * 256 + b[p + 3]; p += 4; return v >= 2147483648 ? v - 4294967296 : v }
    function str(  n, s, i) { n = i16(); s = ""; for (i = 0; i < n; i++) s = s sprintf("%c", b[p + i]); if (n > 0) p += n; return s }
    { for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
    END {
        if (n != size) { print "FAIL a truncated answer on the PROBE listener (" n " of " size " bytes)"; exit }
        p = 4                                                      # after the correlation id
        i32()                                                      # throttle_time_ms
        nb = i32(); for (i = 0; i < nb; i++) { id = i32(); str(); i32(); str(); if (id == self) unfenced = 1 }
        str(); i32()                                               # cluster_id, controller_id
        nt = i32()
        for (t = 0; t < nt; t++) {
            terr = i16(); topic = str(); i8(); np = i32()
            for (q = 0; q < np; q++) {
                i16(); part = i32(); leader = i32()
                mine = 0; nr = i32(); for (k = 0; k < nr; k++) if (i32() == self) mine = 1
                inisr = 0; ni = i32(); for (k = 0; k < ni; k++) if (i32() == self) inisr = 1
                no = i32(); for (k = 0; k < no; k++) i32()
                if (!mine) continue
                replicated++
                if (leader < 0) { offline++; continue }
                if (!inisr) { behind++; if (behind <= 3) ex = ex (ex == "" ? "" : ", ") topic "-" part }
            }
        }
        if (p != n) { print "FAIL a Metadata answer of " n " bytes parsed as " p; exit }
        if (!unfenced) { print "FAIL the broker is fenced (not among the unfenced brokers of its own metadata)"; exit }
        if (behind > 0) { print "FAIL catching up: not yet in the ISR of " behind " of the " replicated " partitions it replicates (" ex (behind > 3 ? ", ..." : "") ")"; exit }
        print "OK running, in the ISR of all " replicated + 0 " partitions it replicates" (offline > 0 ? " (" offline " offline partitions without a leader not counted)" : "")
    }')
exec 3>&-
case "$verdict" in
    "OK "*) echo "ready: \${verdict#OK }"; exit 0 ;;
    "FAIL "*) fail "\${verdict#FAIL }" ;;
    *) fail "no verdict from the Metadata answer" ;;
esac
`;
}

/**
 * What the tls-reloader container runs when tls.crt, tls.key or ca.crt changed: rebuild the key and trust
 * stores in place (each file renamed over the old one, so the broker never reads half of one), then write one
 * per-broker config record; applying any per-broker record makes the broker and its controller reload every
 * listener's key and trust store whose file changed (KAFKA-14136), so no restart is needed. The record sets
 * INTERNAL's key store location to the path it already has: since KAFKA-14136 the controller writes a record
 * for every key of a broker resource even when its value is unchanged, precisely to trigger these reloads
 * (proven on Kafka 3.8.1 for three renewals in a row: tests/servers/kafka/4-tls-renewal.spec.ts). The trust
 * store keeps the CAs trusted so far (a
 * new CA is added, none removed until the next start). After a CA change the CONTROLLER key store is left
 * as it is: the other voters' quorum connections trust only the CA they started with, so the new
 * certificate goes onto the controller listener at the restart kafkaLivenessCommand asks for.
 */
export function kafkaTlsReloadScript(namespace: string): string {
    const p = KAFKA_PATHS;
    // Unique certificates of a PEM bundle, in order (bash and awk: the image has both, and no openssl).
    const dedupe = `awk '/-----BEGIN CERTIFICATE-----/ { c = "" } { c = c $0 "\\n" } /-----END CERTIFICATE-----/ { if (!(c in seen)) { seen[c] = 1; printf "%s", c } }'`;
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        'ordinal="${HOSTNAME##*-}"',
        podHostLine(namespace),
        "umask 077",
        `{ cat ${p.tls}/ca.crt; cat ${p.truststore} 2>/dev/null || true; } | ${dedupe} > ${p.truststore}.new`,
        `cat ${p.tls}/tls.key ${p.tls}/tls.crt > ${p.keystore}.new`,
        `mv -f ${p.truststore}.new ${p.truststore}`,
        `mv -f ${p.keystore}.new ${p.keystore}`,
        `if cmp -s ${p.tls}/ca.crt ${p.startedCa}; then`,
        `    cp ${p.keystore} ${p.controllerKeystore}.new && mv -f ${p.controllerKeystore}.new ${p.controllerKeystore}`,
        "else",
        '    echo "tls-reloader: the CA changed: CLIENT and INTERNAL switch now; CONTROLLER keeps its certificate until the broker restarts (its liveness probe asks for it)"',
        "fi",
        // The admin's client config, built here from the mounted Secret: no password in args or env.
        "props=/tmp/admin.properties",
        `{ printf '%s\\n' security.protocol=SASL_SSL sasl.mechanism=PLAIN ssl.truststore.type=PEM ssl.truststore.location=${p.truststore}; printf 'sasl.jaas.config='; cat ${p.admin}/sasl.jaas.config; echo; } > "$props"`,
        `/opt/kafka/bin/kafka-configs.sh --bootstrap-server "$host:${KAFKA_PORTS.internal}" --command-config "$props" --entity-type brokers --entity-name "$ordinal" --alter --add-config "listener.name.internal.ssl.keystore.location=${p.keystore}"`,
        "",
    ].join("\n");
}

/** JVM options for the short-lived admin tools (reloader, reconcile Job): a small heap, quick start, no perf file. */
export const KAFKA_TOOL_ENV = {
    KAFKA_HEAP_OPTS: "-Xms32m -Xmx96m",
    KAFKA_JVM_PERFORMANCE_OPTS: "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true",
};

/**
 * log4j configuration: everything to stdout, where the kubelet rotates it. The image's default writes
 * server, controller, state-change and request logs into /opt/kafka/logs with hourly rolling and no
 * retention: a size-limited emptyDir fills and the pod is evicted (eviction ignores the PDB).
 */
export function kafkaLog4jProperties(): string {
    return [
        "log4j.rootLogger=INFO, stdout",
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
        // The default's per-logger levels, minus their file appenders.
        "log4j.logger.kafka=INFO",
        "log4j.logger.org.apache.kafka=INFO",
        "log4j.logger.kafka.request.logger=WARN",
        "log4j.logger.kafka.controller=INFO",
        "log4j.logger.kafka.log.LogCleaner=INFO",
        "log4j.logger.state.change.logger=INFO",
        "log4j.logger.kafka.authorizer.logger=INFO",
        "",
    ].join("\n");
}

/** JVM options that keep the broker's own output on stdout: log4j as above, GC pauses too (no GC log files). */
export const KAFKA_LOG_ENV = {
    KAFKA_LOG4J_OPTS: `-Dlog4j.configuration=file:${KAFKA_PATHS.template}/log4j.properties`,
    KAFKA_GC_LOG_OPTS: "-Xlog:gc:stdout:time,tags",
};

/** JVM heap in MiB: a share of the memory limit, leaving the rest to page cache and off-heap buffers. */
export function kafkaHeapMiB(memoryLimit: string, heapPercent: number): number {
    return Math.max(256, percentOfMiB(memoryLimit, heapPercent));
}
