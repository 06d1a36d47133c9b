// The reconcile Job of MariaDB: applies the declared application databases, their users, grants and
// password rotations (and root's password) to the running primary, through the client Service, without a
// restart. Pure text builders: the SQL it applies (Secret mariadb-reconcile), the same SQL with the
// password hashes left out (ConfigMap mariadb-reconcile: what an error message may show) and the script.
//
// The operations accounts' passwords (backup, exporter, replication; their accounts and privileges are the
// init SQL's, at every start) are also set here, so their rotation needs no restart either: ALTER USER IF
// EXISTS on the primary (replicas apply it by replication), then each replica's CHANGE MASTER gets the new
// replication password (the Job logs in to the replicas as root, through their pod names).
//
// Ownership: the users this Job created or adopted are recorded in RECONCILE_DATABASE.users (one row per
// user and its database). A recorded user no longer declared is dropped (DROP USER); its database and data
// stay, untouched. An account this Job never recorded (an operator's, made by hand) is never dropped.
//
// The Job's own account (RECONCILE_USER) is not in the init SQL (a rotation of its password would roll the
// StatefulSet): when its login is refused (the first run on a stack, or its password was rotated), the Job
// logs in once as root and (re)creates it. Root's own rotation is applied by the Job as RECONCILE_USER, so
// each of the two logins can repair the other; both rotated in one `pulumi up` cannot be applied (the Job
// says so and fails, and nothing changes).

import { createHash } from "crypto";
import { serviceHost } from "../dnsNames";
import { optionValue } from "./backup";
import { RECONCILE_WAIT, RECONCILE_WAIT_ENV } from "../reconcileWait";
import { MARIADB_APP, MARIADB_OPERATIONS_USERS, MARIADB_PATHS, MARIADB_PORT, REPLICATION_USER, sqlString } from "./files";

/** The Job's account. */
export const RECONCILE_USER = "reconcile";
/** Where the Job records which users it owns. Not a declarable database name. */
export const RECONCILE_DATABASE = "msa_reconcile";

/**
 * The Job account's privileges: CREATE USER (create, alter, drop accounts), and the database-level privileges
 * WITH GRANT OPTION (a GRANT ALL PRIVILEGES ON `db`.* needs them; a database that does not exist yet can
 * only be covered by *.*). No server administration: not SUPER, SHUTDOWN, FILE, PROCESS, replication, binary
 * log or READ_ONLY ADMIN, so a read-only server (a replica) refuses every change it tries.
 * MariaDB 10.11 has no privilege that creates accounts without also being able to alter any account
 * (MySQL's SYSTEM_USER): its password is as sensitive as root's, and kept like it (a Secret only the Job mounts).
 */
export const RECONCILE_PRIVILEGES = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
    "DELETE HISTORY",
    "CREATE USER",
];

/** Where the Job's pieces are mounted. */
export const RECONCILE_PATHS = {
    /** ConfigMap mariadb-reconcile: the script, the statements without secrets, the connection. */
    spec: "/opt/reconcile",
    /** Secret mariadb-reconcile: the SQL with password hashes and the two option files. */
    credentials: "/etc/mysql/reconcile",
    tmp: "/tmp",
};

/** One declared application database with its user's password (plain text: only ever in a Secret). */
export interface ReconcileUser {
    database: string;
    user: string;
    password: string;
}

/**
 * The mysql_native_password hash of a password (`*` and the upper-case hex of SHA1(SHA1(password))), what
 * the server stores: the SQL that goes to the server and into its binary log (which replicas apply and the
 * archive keeps) carries this, never the password.
 */
export function nativePasswordHash(password: string): string {
    const inner = createHash("sha1").update(password, "utf8").digest();
    return "*" + createHash("sha1").update(inner).digest("hex").toUpperCase();
}

/** In a database-level grant `_` and `%` are wildcards: escaped, or shop_a would match shopxa. */
export function grantDatabase(database: string): string {
    return `\`${database.replace(/[_%]/g, "\\$&")}\``;
}

/** A statement with its hash redacted, for messages: what the ConfigMap holds line for line. */
export interface ReconcileStatement {
    sql: string;
    shown: string;
}

function identified(account: string, password: string, create: boolean): ReconcileStatement {
    const hash = nativePasswordHash(password);
    const verb = create ? "CREATE USER IF NOT EXISTS" : "ALTER USER";
    return { sql: `${verb} ${account} IDENTIFIED BY PASSWORD ${sqlString(hash)};`, shown: `${verb} ${account} IDENTIFIED BY PASSWORD <hash>;` };
}

const plain = (sql: string): ReconcileStatement => ({ sql, shown: sql });

function account(user: string, host = "%"): string {
    return `${sqlString(user)}@${sqlString(host)}`;
}

/** The operations accounts' current passwords, for those the stack runs (undefined: not run). */
export interface OperationsPasswords {
    backup?: string;
    exporter?: string;
    replication?: string;
}

/** The account of each operations login, as the init SQL creates it. */
export const OPERATIONS_ACCOUNTS: Record<keyof OperationsPasswords, string> = {
    backup: account(MARIADB_OPERATIONS_USERS.backup.user, MARIADB_OPERATIONS_USERS.backup.host),
    exporter: account(MARIADB_OPERATIONS_USERS.exporter.user, MARIADB_OPERATIONS_USERS.exporter.host),
    replication: account(REPLICATION_USER),
};

/**
 * What the Job applies as RECONCILE_USER, one statement per line, each idempotent (a failed run is completed
 * by the next): root's password (both accounts), the operations accounts' passwords (IF EXISTS: the init SQL
 * creates them at start, and a replica that lacks one must not stop replicating on this statement), the
 * ownership table, then per declared database: the
 * database, its user (created, then its password set: a rotation), its grant, the backup account's read
 * grant (when backups are on) and the ownership row. Dropping undeclared users is the script's (it needs
 * the server's ownership rows). Not sql_log_bin 0: replicas get every change through replication.
 */
export function reconcileStatements(o: { root: string; users: ReconcileUser[]; backup: boolean; operations?: OperationsPasswords }): ReconcileStatement[] {
    const ops = o.operations ?? {};
    const out: ReconcileStatement[] = [
        identified(`IF EXISTS ${account("root")}`, o.root, false),
        identified(`IF EXISTS ${account("root", "localhost")}`, o.root, false),
        ...(Object.keys(OPERATIONS_ACCOUNTS) as (keyof OperationsPasswords)[])
            .filter((k) => ops[k] !== undefined)
            .map((k) => identified(`IF EXISTS ${OPERATIONS_ACCOUNTS[k]}`, ops[k]!, false)),
        plain(`CREATE DATABASE IF NOT EXISTS \`${RECONCILE_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`),
        plain(`CREATE TABLE IF NOT EXISTS \`${RECONCILE_DATABASE}\`.users (user VARCHAR(80) NOT NULL PRIMARY KEY, db VARCHAR(64) NOT NULL) ENGINE=InnoDB;`),
    ];
    for (const u of o.users) {
        const user = account(u.user);
        out.push(
            plain(`CREATE DATABASE IF NOT EXISTS \`${u.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`),
            identified(user, u.password, true),
            identified(user, u.password, false),
            plain(`GRANT ALL PRIVILEGES ON ${grantDatabase(u.database)}.* TO ${user};`),
            ...(o.backup
                ? [plain(`GRANT ${MARIADB_OPERATIONS_USERS.backup.databasePrivileges.join(", ")} ON ${grantDatabase(u.database)}.* TO ${account(MARIADB_OPERATIONS_USERS.backup.user, MARIADB_OPERATIONS_USERS.backup.host)};`)]
                : []),
            plain(`REPLACE INTO \`${RECONCILE_DATABASE}\`.users (user, db) VALUES (${sqlString(u.user)}, ${sqlString(u.database)});`),
        );
    }
    return out;
}

/** What the Job runs as root, only when its own login is refused: its account, exactly its privileges. */
export function reconcileAccountStatements(password: string): ReconcileStatement[] {
    const me = account(RECONCILE_USER);
    return [
        identified(me, password, true),
        identified(me, password, false),
        plain(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${me};`),
        plain(`GRANT ${RECONCILE_PRIVILEGES.join(", ")} ON *.* TO ${me} WITH GRANT OPTION;`),
    ];
}

const sqlText = (s: ReconcileStatement[]) => s.map((x) => x.sql).join("\n") + "\n";
const shownText = (s: ReconcileStatement[]) => s.map((x) => x.shown).join("\n") + "\n";

/** A client option file of the Job (host: the client Service, i.e. the primary; TLS verified when on). */
export function reconcileClientConfig(o: { user: string; password: string; namespace: string; tls: boolean }): string {
    const lines = ["[client]", `user = ${o.user}`, `password = ${optionValue(o.password)}`, `host = ${serviceHost(MARIADB_APP, o.namespace)}`, `port = ${MARIADB_PORT}`, "protocol = tcp", "connect-timeout = 10"];
    if (o.tls) lines.push(`ssl-ca = ${MARIADB_PATHS.tls}/ca.crt`, "ssl-verify-server-cert");
    return lines.join("\n") + "\n";
}

export interface ReconcileInput {
    namespace: string;
    tls: boolean;
    root: string;
    reconcile: string;
    users: ReconcileUser[];
    backup: boolean;
    operations?: OperationsPasswords;
    /** Replicated stacks: the replicas' pod host names (the Job points their replication at the new password). */
    replicas?: string[];
}

/**
 * What the Job runs on each replica, as root, between STOP SLAVE and START SLAVE: the replication password
 * only (every other CHANGE MASTER option stays). The plain password: CHANGE MASTER takes no hash, and the
 * statement is not written to any binary log.
 */
export function replicaPasswordStatement(password: string): ReconcileStatement {
    return { sql: `CHANGE MASTER TO MASTER_PASSWORD = ${sqlString(password)};`, shown: "CHANGE MASTER TO MASTER_PASSWORD = <password>;" };
}

/** Secret mariadb-reconcile: key → content (every value here is a credential or derived from one). */
export function reconcileSecretFiles(i: ReconcileInput): Record<string, string> {
    return {
        "apply.sql": sqlText(reconcileStatements(i)),
        "account.sql": sqlText(reconcileAccountStatements(i.reconcile)),
        "reconcile.cnf": reconcileClientConfig({ user: RECONCILE_USER, password: i.reconcile, namespace: i.namespace, tls: i.tls }),
        "root.cnf": reconcileClientConfig({ user: "root", password: i.root, namespace: i.namespace, tls: i.tls }),
        ...(i.operations?.replication !== undefined ? { "replica.sql": sqlText([replicaPasswordStatement(i.operations.replication)]) } : {}),
    };
}

/** ConfigMap mariadb-reconcile: the script, and what may be shown of the SQL (line N of apply.sql is line N of apply.shown). */
export function reconcileSpecFiles(i: Pick<ReconcileInput, "users" | "backup" | "replicas"> & { operations?: (keyof OperationsPasswords)[] }): Record<string, string> {
    // The shown text has no secret: derived from names only (the hashes are redacted).
    const operations = Object.fromEntries((i.operations ?? []).map((k) => [k, ""]));
    const shown = reconcileStatements({ root: "", users: i.users.map((u) => ({ ...u, password: "" })), backup: i.backup, operations });
    return {
        "reconcile.sh": MARIADB_RECONCILE_SCRIPT,
        "apply.shown": shownText(shown),
        "account.shown": shownText(reconcileAccountStatements("")),
        // <user> <database> per declared user: the script drops recorded users not listed here.
        declared: i.users.map((u) => `${u.user} ${u.database}\n`).join(""),
        backup: `${i.backup}\n`,
        // <host> <port> per replica: the Job gives each the replication password.
        ...(i.replicas?.length ? { replicas: i.replicas.map((h) => `${h} ${MARIADB_PORT}\n`).join(""), "replica.shown": shownText([replicaPasswordStatement("")]) } : {}),
    };
}

/**
 * The script (bash, in the mariadb image). Option files are read from the mounted Secret (passwords never on
 * a command line or in the environment). Steps:
 *  0. wait for the server to answer (RECONCILE_WAIT: a fresh install starts the Job with the server);
 *  1. log in as RECONCILE_USER; refused (1045, or 1698: first run, or its password rotated): log in as root and run
 *     account.sql; both refused: exit 1 (root and the Job's password rotated at once);
 *  2. refuse a read-only server (the client Service must reach the writable primary);
 *  3. apply.sql in one session, which stops at the first failing statement: exit 1 naming that statement
 *     (from apply.shown: no hash) and the server's error code;
 *  4. recorded users no longer declared: DROP USER (their database stays), the backup account's grant on
 *     a database no longer declared revoked, a user whose database changed loses its grant on the old one;
 *  5. replicated stacks, on each replica (as root, by pod name): STOP SLAVE, CHANGE MASTER TO MASTER_PASSWORD
 *     (replica.sql), START SLAVE if it ran, then wait (30 s at most) for its IO thread to log in to the
 *     primary: the new replication password proven. A replica that does not answer is skipped (a pod that is
 *     down reads the current password from its init SQL when it starts); one that answers and fails: exit 1.
 * Each step is idempotent: a failed run is completed by the next, and a run with nothing to do changes
 * nothing but re-setting the same password hashes.
 */
export const MARIADB_RECONCILE_SCRIPT = String.raw`#!/bin/bash
# Applies the declared MariaDB databases, users, grants and passwords to the primary (no restart).
set -euo pipefail
spec="$(dirname "$0")"
creds="${"${"}RECONCILE_CREDENTIALS:-${RECONCILE_PATHS.credentials}}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077
started="$(date +%s)"
me="--defaults-extra-file=$creds/reconcile.cnf"
run() { mariadb "$@" --batch --skip-column-names; }
# The server's error for a client run, without anything after 'near' (a syntax error quotes the statement).
reason() { sed -n 's/^\(ERROR [0-9]* ([0-9A-Z]*)\)\( at line [0-9]*\)\{0,1\}: \(.*\)$/\1: \3/p' "$1" | sed 's/ near .*$//' | head -n 1; }
line_of() { sed -n 's/^ERROR [0-9]* ([0-9A-Z]*) at line \([0-9]*\):.*$/\1/p' "$1" | head -n 1; }

# Wait for the server to answer (on a fresh install this Job starts with the StatefulSet): its name not
# resolving yet, the port closed, the server starting are retried for ${RECONCILE_WAIT.seconds} s at most. Access denied is an
# answer: handled below (root, then exit at once if root is refused too), never waited on. It is 1045, or 1698
# (seen on the first run of prod's render on real pods: 10.11 refused the not yet created "reconcile" with 1698,
# "Access denied for user" without "using password", where another unknown name got 1045).
host="$(sed -n 's/^host = //p' "$creds/reconcile.cnf")"
wait_s="${"${"}${RECONCILE_WAIT_ENV}:-${RECONCILE_WAIT.seconds}}"
noted=0
login=ok
until run "$me" --execute='SELECT 1' > /dev/null 2> "$work/login.err"; do
    if grep -Eq '^ERROR (1045|1698) ' "$work/login.err"; then login=refused; break; fi
    last="$(reason "$work/login.err")"
    last="${"${"}last:-$(head -n 1 "$work/login.err")}"
    waited=$(( $(date +%s) - started ))
    if [ "$waited" -ge "$wait_s" ]; then
        echo "reconcile: the server $host did not answer within $wait_s s; last error: $last" >&2
        exit 1
    fi
    if [ $((waited - noted)) -ge ${RECONCILE_WAIT.progressSeconds} ] || [ "$noted" -eq 0 ]; then
        echo "reconcile: waiting for the server $host ($waited s of $wait_s s): $last"
        noted=$((waited > 0 ? waited : 1))
    fi
    sleep ${RECONCILE_WAIT.sleepSeconds}
done
[ "$noted" -eq 0 ] || echo "reconcile: the server $host answers after $(( $(date +%s) - started )) s"
if [ "$login" = refused ]; then
    # First run, or the Job's password was rotated: root (re)creates the account.
    if ! run --defaults-extra-file="$creds/root.cnf" --execute='SELECT 1' > /dev/null 2> "$work/root.err"; then
        echo "reconcile: the server refuses both ${RECONCILE_USER} and root ($(reason "$work/root.err")): were both passwords rotated in one pulumi up? Rotate one, pulumi up, then the other." >&2
        exit 1
    fi
    if [ "$(run --defaults-extra-file="$creds/root.cnf" --execute='SELECT @@read_only')" != 0 ]; then
        echo "reconcile: the client Service reached a read-only server (a replica?): nothing changed" >&2
        exit 1
    fi
    if ! run --defaults-extra-file="$creds/root.cnf" < "$creds/account.sql" > /dev/null 2> "$work/account.err"; then
        n="$(line_of "$work/account.err")"
        echo "reconcile: failed as root at statement $n of account.sql: $(sed -n "${"${"}n:-0}p" "$spec/account.shown") -> $(reason "$work/account.err")" >&2
        exit 1
    fi
    echo "reconcile: (re)created the account ${RECONCILE_USER} as root"
fi
if [ "$(run "$me" --execute='SELECT @@read_only')" != 0 ]; then
    echo "reconcile: the client Service reached a read-only server (a replica?): nothing changed" >&2
    exit 1
fi

# Users recorded by earlier runs (none on the first run: the table does not exist yet).
run "$me" --execute="SELECT user, db FROM ${RECONCILE_DATABASE}.users" > "$work/recorded" 2> /dev/null || : > "$work/recorded"

if ! run "$me" < "$creds/apply.sql" > /dev/null 2> "$work/apply.err"; then
    n="$(line_of "$work/apply.err")"
    echo "reconcile: failed at statement $n of apply.sql: $(sed -n "${"${"}n:-0}p" "$spec/apply.shown") -> $(reason "$work/apply.err")" >&2
    echo "reconcile: the statements before it are applied, the rest are not; the next run applies them all again" >&2
    exit 1
fi
echo "reconcile: applied $(grep -c . "$spec/apply.shown") statements ($(grep -c . "$spec/declared" || true) declared users)"

# Recorded users no longer declared, and users whose database changed.
declared_db() { awk -v u="$1" '$1 == u { print $2 }' "$spec/declared"; }
is_declared_database() { awk -v d="$1" '$2 == d { found = 1 } END { exit !found }' "$spec/declared"; }
while read -r user db; do
    [ -n "$user" ] || continue
    if ! [[ "$user" =~ ^[a-z][a-z0-9_]{0,31}$ && "$db" =~ ^[a-z][a-z0-9_]{0,31}$ ]]; then
        echo "reconcile: skipped a malformed ownership row in ${RECONCILE_DATABASE}.users" >&2
        continue
    fi
    grant_db="${"$"}{db//_/\\_}"
    now="$(declared_db "$user")"
    statements=()
    # The row goes last: a run that fails midway leaves it, so the next run finishes the job.
    if [ "$(cat "$spec/backup")" = true ] && ! is_declared_database "$db"; then
        statements+=("REVOKE ${MARIADB_OPERATIONS_USERS.backup.databasePrivileges.join(", ")} ON \`$grant_db\`.* FROM '${MARIADB_OPERATIONS_USERS.backup.user}'@'${MARIADB_OPERATIONS_USERS.backup.host}';")
    fi
    if [ -z "$now" ]; then
        statements+=("DROP USER IF EXISTS '$user'@'%';" "DELETE FROM ${RECONCILE_DATABASE}.users WHERE user = '$user';")
    elif [ "$now" != "$db" ]; then
        statements+=("REVOKE ALL PRIVILEGES ON \`$grant_db\`.* FROM '$user'@'%';")
    fi
    for s in "${"$"}{statements[@]}"; do
        if ! run "$me" --execute="$s" < /dev/null > /dev/null 2> "$work/drop.err"; then
            # 1141: no such grant (revoked by an earlier run that failed later): already done.
            if grep -q '^ERROR 1141 ' "$work/drop.err"; then continue; fi
            echo "reconcile: failed: $s -> $(reason "$work/drop.err")" >&2
            exit 1
        fi
        echo "reconcile: $s"
    done
    if [ -z "$now" ]; then echo "reconcile: dropped user $user (no longer declared); its database $db and its data are kept"; fi
done < "$work/recorded"

# Replicated stacks: each replica's replication logs in with the password just set on the primary. A replica
# keeps its open connection to the primary across the ALTER USER; only its next connection needs the new one.
if [ -s "$spec/replicas" ] && [ -f "$creds/replica.sql" ]; then
    while read -r host port <&3; do
        [ -n "$host" ] || continue
        on() { mariadb --defaults-extra-file="$creds/root.cnf" --host="$host" --port="$port" "$@"; }
        # Root's password rotated in this run reaches the replica by replication: a 1045 is retried meanwhile.
        answered=""
        for _ in $(seq 1 30); do
            if on --batch --skip-column-names --execute='SELECT @@read_only' < /dev/null > "$work/ro" 2> "$work/replica.err"; then answered=1; break; fi
            grep -q '^ERROR 1045 ' "$work/replica.err" || break
            sleep 1
        done
        if [ -z "$answered" ]; then
            # A pod that is down (or not created yet) reads the current password from its init SQL when it starts.
            if grep -q '^ERROR 2[0-9][0-9][0-9] ' "$work/replica.err"; then
                echo "reconcile: replica $host did not answer ($(reason "$work/replica.err")): it takes the replication password from its init SQL at its next start"
                continue
            fi
            echo "reconcile: replica $host: cannot log in as root: $(reason "$work/replica.err"); the primary has the new replication password, this replica reconnects with the old one; the next run sets it" >&2
            exit 1
        fi
        if [ "$(cat "$work/ro")" != 1 ]; then
            echo "reconcile: $host is writable (not a replica): its replication is left alone"
            continue
        fi
        on --batch --execute='SHOW SLAVE STATUS\G' < /dev/null > "$work/status" 2> "$work/replica.err" || { echo "reconcile: replica $host: SHOW SLAVE STATUS -> $(reason "$work/replica.err")" >&2; exit 1; }
        io="$(sed -n 's/^ *Slave_IO_Running: //p' "$work/status")"
        sql_thread="$(sed -n 's/^ *Slave_SQL_Running: //p' "$work/status")"
        if [ -z "$io" ]; then
            echo "reconcile: replica $host has no replication configured: left alone (its init SQL configures it at its next start)"
            continue
        fi
        t0="$(date +%s%N)"
        # Both threads: CHANGE MASTER refuses to run while either runs. The SQL thread resumes from its own position.
        if ! on --execute='STOP SLAVE' < /dev/null > /dev/null 2> "$work/replica.err"; then
            echo "reconcile: replica $host: STOP SLAVE -> $(reason "$work/replica.err")" >&2
            exit 1
        fi
        if ! on < "$creds/replica.sql" > /dev/null 2> "$work/replica.err"; then
            echo "reconcile: replica $host: failed: $(cat "$spec/replica.shown") -> $(reason "$work/replica.err"); replication restarted as it was" >&2
            on --execute='START SLAVE' < /dev/null > /dev/null 2>&1 || true
            exit 1
        fi
        # Started again only if it ran (an operator's STOP SLAVE stays).
        if [ "$io" = No ] && [ "$sql_thread" = No ]; then
            echo "reconcile: replica $host: replication password set; its replication was stopped and stays stopped"
            continue
        fi
        if ! on --execute='START SLAVE' < /dev/null > /dev/null 2> "$work/replica.err"; then
            echo "reconcile: replica $host: START SLAVE -> $(reason "$work/replica.err")" >&2
            exit 1
        fi
        # The new password proven: the replica's IO thread logs in to the primary with it.
        state=""
        for _ in $(seq 1 60); do
            on --batch --execute='SHOW SLAVE STATUS\G' < /dev/null > "$work/status" 2> /dev/null || true
            state="$(sed -n 's/^ *Slave_IO_Running: //p' "$work/status")"
            [ "$state" = Yes ] && break
            if grep -q '^ *Last_IO_Errno: 1045$' "$work/status"; then break; fi
            sleep 0.5
        done
        if [ "$state" != Yes ]; then
            echo "reconcile: replica $host: replication does not reconnect with the new password: IO $state, last IO error $(sed -n 's/^ *Last_IO_Errno: //p' "$work/status"): $(sed -n 's/^ *Last_IO_Error: //p' "$work/status" | sed 's/ near .*$//')" >&2
            exit 1
        fi
        echo "reconcile: replica $host: replication reconnected with the current password in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    done 3< "$spec/replicas"
fi
echo "reconcile: done in $(( $(date +%s) - started )) s"
`;
