#!/bin/bash
# docker-entrypoint.sh of the MariaDB test image (scripts/node-images.sh), written here to the official
# mariadb image's documented contract, the parts the renders use: MARIADB_* variables (each also as *_FILE,
# MYSQL_* as aliases), first start of an empty datadir (mariadb-install-db, time zones, root for
# MARIADB_ROOT_HOST, the healthcheck accounts and $DATADIR/.my-healthcheck.cnf, MARIADB_DATABASE/USER,
# /docker-entrypoint-initdb.d), MARIADB_AUTO_UPGRADE on an existing one. What it does not do is listed in
# tests/pods/IMAGES.md; it refuses those inputs by name rather than ignore them.
set -eo pipefail
shopt -s nullglob

log() { local t="$1"; shift; printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$t" "$*"; }
note() { log Note "$@"; }
fail() { log ERROR "$@" >&2; exit 1; }

# NAME [DEFAULT]: NAME, else the contents of the file NAME_FILE names, else DEFAULT; NAME_FILE is unset after.
from_env() {
    local name="$1" file="${1}_FILE" value="${2:-}"
    if [ -n "${!name:-}" ] && [ -n "${!file:-}" ]; then fail "Both $name and $file are set (but are exclusive)"; fi
    if [ -n "${!name:-}" ]; then value="${!name}"; elif [ -n "${!file:-}" ]; then value="$(<"${!file}")"; fi
    export "$name=$value"
    unset "$file"
}
# SUFFIX [DEFAULT]: MARIADB_SUFFIX, with MYSQL_SUFFIX as its alias; both hold the same value after.
from_env_alias() {
    local old="MYSQL_$1" new="MARIADB_$1"
    from_env "$old" "${2:-}"
    from_env "$new" "${!old}"
    export "$old=${!new}"
}

# NAME SERVER...: the value `mariadbd --verbose --help` prints for NAME (config files and compiled defaults).
server_value() {
    local name="$1"; shift
    "$@" --verbose --help 2>/dev/null | awk -v n="$name" '$1 == n && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

# [--no-password] CLIENT-ARGS...: the client as root over the socket; the password goes through the
# environment, never on a command line.
sql() {
    local pw="$MARIADB_ROOT_PASSWORD"
    if [ "$1" = --no-password ]; then pw=; shift; fi
    MYSQL_PWD="$pw" mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} "$@"
}

# A SQL string literal's contents: backslash and quote escaped, newlines as \n.
literal() { local s="${1//\\/\\\\}"; s="${s//$'\n'/\\n}"; printf '%s' "${s//\'/\\\'}"; }

# SERVER...: a server on the socket only, for initialisation and upgrades.
temp_start() {
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF --expire-logs-days=0 \
        --loose-innodb_buffer_pool_load_at_startup=0 &
    TEMP_PID=$!
    note "Waiting for server startup"
    local nopw=()
    [ -n "$DATABASE_EXISTS" ] || nopw=(--no-password)
    # 60 s, not the official 30: the test machines are shared and loaded.
    for _ in $(seq 60); do
        if sql "${nopw[@]}" --database=mysql <<<'SELECT 1' &>/dev/null; then return 0; fi
        kill -0 "$TEMP_PID" 2>/dev/null || fail "the temporary server exited (its log is above)"
        sleep 1
    done
    fail "Unable to start server."
}
temp_stop() { kill "$TEMP_PID"; wait "$TEMP_PID"; }

# The healthcheck accounts (USAGE unless MARIADB_HEALTHCHECK_GRANTS) with a new random password, written to
# $DATADIR/.my-healthcheck.cnf for healthcheck.sh. Prints the SQL.
healthcheck_accounts() {
    local pw grants="${MARIADB_HEALTHCHECK_GRANTS:-USAGE}" host
    pw="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    for host in 127.0.0.1 ::1 localhost; do
        printf "CREATE USER IF NOT EXISTS healthcheck@'%s' IDENTIFIED BY '%s';\n" "$host" "$pw"
        printf "SET PASSWORD FOR healthcheck@'%s' = PASSWORD('%s');\n" "$host" "$pw"
        printf "GRANT %s ON *.* TO healthcheck@'%s';\n" "$grants" "$host"
    done
    (umask 077; printf '[mariadb-client]\nport=%s\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' "$PORT" "$SOCKET" "$pw" >"$DATADIR/.my-healthcheck.cnf")
}

init_database() { # SERVER...
    ls /docker-entrypoint-initdb.d/ >/dev/null
    for f in /docker-entrypoint-initdb.d/*.tar.gz /docker-entrypoint-initdb.d/*.tar.xz /docker-entrypoint-initdb.d/*.tar.zst; do
        fail "$f: restoring a mariadb-backup archive is not supported by this test image (no mariadb-backup)"
    done
    if [ -z "$MARIADB_ROOT_PASSWORD$MARIADB_ROOT_PASSWORD_HASH$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
        fail "Database is uninitialized and password option is not specified: set one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ] && [ -n "$MARIADB_ROOT_PASSWORD$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
        fail "Cannot specify MARIADB_ROOT_PASSWORD_HASH and another MARIADB_ROOT_PASSWORD* option."
    fi
    if [ -n "$MARIADB_PASSWORD" ] && [ -n "$MARIADB_PASSWORD_HASH" ]; then fail "Cannot specify MARIADB_PASSWORD_HASH and MARIADB_PASSWORD option."; fi

    note "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal "${@:2}" --skip-test-db \
        --old-mode=UTF8_IS_UTF8MB3 --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0
    note "Database files initialized"
    note "Starting temporary server"
    temp_start "$@"
    note "Temporary server started."

    if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ]; then
        mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo | sql --no-password --database=mysql
    fi
    if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
        MARIADB_ROOT_PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        export MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD="$MARIADB_ROOT_PASSWORD"
        note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
    fi
    local rootpw root_auth root_create='' root_local='' localhost_user='' database='' user=''
    rootpw="$(literal "$MARIADB_ROOT_PASSWORD")"
    if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then root_auth="IDENTIFIED BY PASSWORD '$MARIADB_ROOT_PASSWORD_HASH'"; else
        root_auth="IDENTIFIED BY '$rootpw'"; root_local="SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$rootpw');"; fi
    if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
        root_create="CREATE USER 'root'@'$MARIADB_ROOT_HOST' $root_auth; GRANT ALL ON *.* TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION; GRANT PROXY ON ''@'%' TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
    fi
    if [ -n "$MARIADB_MYSQL_LOCALHOST_USER" ]; then
        localhost_user="CREATE USER mysql@localhost IDENTIFIED VIA unix_socket;"
        [ -z "$MARIADB_MYSQL_LOCALHOST_GRANTS" ] || localhost_user+=" GRANT $MARIADB_MYSQL_LOCALHOST_GRANTS ON *.* TO mysql@localhost;"
    fi
    [ -z "$MARIADB_DATABASE" ] || { note "Creating database $MARIADB_DATABASE"; database="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"; }
    if [ -n "$MARIADB_USER" ] && [ -n "$MARIADB_PASSWORD$MARIADB_PASSWORD_HASH" ]; then
        note "Creating user $MARIADB_USER"
        if [ -n "$MARIADB_PASSWORD_HASH" ]; then user="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY PASSWORD '$MARIADB_PASSWORD_HASH';"
        else user="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(literal "$MARIADB_PASSWORD")';"; fi
        [ -z "$MARIADB_DATABASE" ] || user+=" GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'%';"
    fi
    note "Securing system users (equivalent to running mysql_secure_installation)"
    sql --no-password --database=mysql --binary-mode <<SQL
SET @orig_sql_log_bin = @@SESSION.SQL_LOG_BIN;
SET @@SESSION.SQL_LOG_BIN = 0;
SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\'');
$root_local
$root_create
$localhost_user
$(healthcheck_accounts)
SET @@SESSION.SQL_LOG_BIN = @orig_sql_log_bin;
$database
$user
SQL
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                # shellcheck disable=SC1090 # the user's init scripts, known only at run time
                if [ -x "$f" ]; then note "$0: running $f"; "$f"; else note "$0: sourcing $f"; . "$f"; fi ;;
            *.sql) note "$0: running $f"; sql <"$f" ;;
            *.sql.gz) note "$0: running $f"; gzip -dc "$f" | sql ;;
            *.sql.zst) note "$0: running $f"; zstd -dc "$f" | sql ;;
            *.sql.xz) fail "$f: .sql.xz is not supported by this test image (no xz)" ;;
            *) log Warn "$0: ignoring $f" >&2 ;;
        esac
    done
    if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
        sql --no-password --binary-mode <<<"SET @@SESSION.SQL_LOG_BIN=0; SET PASSWORD FOR 'root'@'localhost' = '$MARIADB_ROOT_PASSWORD_HASH';"
    fi
    note "Stopping temporary server"
    temp_stop
    note "MariaDB init process done. Ready for start up."
}

# True when the datadir was written by an older major.minor release, or lacks the healthcheck option file.
upgrade_needed() {
    [ -f "$DATADIR/mysql_upgrade_info" ] || { note "MariaDB upgrade information missing, assuming required"; return 0; }
    local new old
    IFS='.-' read -ra new <<<"$(mariadbd --version | sed -n 's/.*Ver \([0-9.]*\).*/\1/p')"
    IFS='.-' read -ra old <"$DATADIR/mysql_upgrade_info" || true
    if [ "${#old[@]}" -lt 2 ] || [ "${old[0]}" -lt "${new[0]}" ] || { [ "${old[0]}" -eq "${new[0]}" ] && [ "${old[1]}" -lt "${new[1]}" ]; }; then return 0; fi
    [ -f "$DATADIR/.my-healthcheck.cnf" ] || { note "MariaDB healthcheck configuration file missing, assuming desirable"; return 0; }
    return 1
}

upgrade() { # SERVER...
    if [ -z "$MARIADB_AUTO_UPGRADE" ] || [ "$MARIADB_AUTO_UPGRADE" = 0 ]; then
        note "MariaDB upgrade (mariadb-upgrade or creating healthcheck users) required, but skipped due to \$MARIADB_AUTO_UPGRADE setting"
        return
    fi
    local opts=(--skip-grant-tables --loose-innodb_buffer_pool_dump_at_shutdown=0 --skip-slave-start)
    note "Starting temporary server"
    temp_start "$@" "${opts[@]}"
    if [ "$MARIADB_DISABLE_UPGRADE_BACKUP" != 1 ]; then
        local previous=unknown_version
        [ ! -r "$DATADIR/mysql_upgrade_info" ] || read -r -d '' previous <"$DATADIR/mysql_upgrade_info" || true
        note "Backing up system database to system_mysql_backup_${previous:-unknown_version}.sql.zst"
        mariadb-dump --skip-lock-tables --replace --databases mysql --socket="$SOCKET" | zstd >"$DATADIR/system_mysql_backup_${previous:-unknown_version}.sql.zst" ||
            fail "Unable backup system database for upgrade from $previous."
    fi
    if [ ! -f "$DATADIR/.my-healthcheck.cnf" ]; then
        note "Creating healthcheck users"
        sql --no-password --binary-mode <<SQL
SET @@SESSION.SQL_LOG_BIN = 0;
SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
FLUSH PRIVILEGES;
$(healthcheck_accounts)
SQL
        temp_stop
        # FLUSH PRIVILEGES cannot be undone: a fresh temporary server for the upgrade itself.
        upgrade_needed || return 0
        temp_start "$@" "${opts[@]}"
    fi
    note "Starting mariadb-upgrade"
    mariadb-upgrade --upgrade-system-tables
    temp_stop
    note "Finished mariadb-upgrade"
}

main() {
    if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
    local a help=
    for a in "$@"; do case "$a" in -'?' | --help | --print-defaults | -V | --version) help=1 ;; esac; done
    if [ "$1" != mariadbd ] && [ "$1" != mysqld ] || [ -n "$help" ]; then exec "$@"; fi

    note "Entrypoint script for MariaDB Server ${MARIADB_VERSION} started."
    local errors
    errors="$("$@" --verbose --help 2>&1 >/dev/null)" || fail "mariadbd failed while attempting to check config: $* --verbose --help: $errors"
    DATADIR="$(server_value datadir "$@")" DATADIR="${DATADIR%/}"
    SOCKET="$(server_value socket "$@")"
    PORT="$(server_value port "$@")"
    from_env_alias ROOT_HOST %
    from_env_alias DATABASE
    from_env_alias USER
    from_env_alias PASSWORD
    from_env_alias ROOT_PASSWORD
    from_env MARIADB_PASSWORD_HASH
    from_env MARIADB_ROOT_PASSWORD_HASH
    : "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
    : "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
    : "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
    local v f
    for v in MARIADB_REPLICATION_USER MARIADB_REPLICATION_PASSWORD MARIADB_REPLICATION_PASSWORD_HASH MARIADB_MASTER_HOST; do
        f="${v}_FILE"
        if [ -n "${!v:-}${!f:-}" ]; then
            fail "$v: the entrypoint's replication setup is not implemented in this test image (tests/pods/IMAGES.md)"
        fi
    done
    DATABASE_EXISTS=
    [ ! -d "$DATADIR/mysql" ] || DATABASE_EXISTS=true
    mkdir -p "$DATADIR"

    if [ "$(id -u)" = 0 ]; then
        # As the official image: own the datadir and socket directory, then run as mysql (setpriv, not gosu).
        find "$DATADIR" \! -user mysql -exec chown mysql: '{}' +
        find "${SOCKET%/*}" -maxdepth 0 \! -user mysql -exec chown mysql: '{}' \;
        note "Switching to dedicated user 'mysql'"
        exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$DATABASE_EXISTS" ]; then
        init_database "$@"
    elif upgrade_needed; then
        upgrade "$@"
    fi
    exec "$@"
}

main "$@"
