#!/bin/bash
# healthcheck.sh of the MariaDB test image (scripts/node-images.sh), written here to the official image's
# documented contract, the tests the renders' probes use: --connect, --innodb_initialized (and
# --innodb_buffer_pool_loaded, --no-connect), with --defaults-file, --defaults-extra-file,
# --defaults-group-suffix, --no-defaults and --datadir. Arguments run in order; the first failing test
# fails the check; without a connect test, one runs last. Galera, replication, mariadbupgrade and --su
# are not implemented: asking for them fails, naming the option (tests/pods/IMAGES.md).
set -eo pipefail

declare -A def=()
nodefaults=
connected=
datadir=/var/lib/mysql
if [ -f "$datadir/.my-healthcheck.cnf" ]; then def[extra_file]="$datadir/.my-healthcheck.cnf"; fi

client() {
    mariadb ${nodefaults:+--no-defaults} ${def[file]:+--defaults-file=${def[file]}} \
        ${def[extra_file]:+--defaults-extra-file=${def[extra_file]}} ${def[group_suffix]:+--defaults-group-suffix=${def[group_suffix]}} \
        --batch --skip-column-names "$@"
}

# The server listens on TCP. Over the socket first (that works under require_secure_transport too); then
# TCP to localhost, where an authentication error still proves a listening server.
connect() {
    local s
    s="$(client --protocol=socket -e 'select @@skip_networking' 2>/dev/null)" || true
    case "$s" in 0 | 1) connected="$s"; return "$s" ;; esac
    s="$(client -h localhost --protocol=tcp --skip-print-query-on-error -e 'select @@skip_networking' 2>&1)" || true
    case "$s" in
        0 | "ERROR 1820 (HY000)"* | "ERROR 4151 (HY000)"* | "ERROR 1226 (42000)"* | ERROR\ 1[0-9][0-9][0-9]\ \(28000\)*) connected=0 ;;
        1 | "ERROR 2002 (HY000)"*) connected=1 ;;
        *) echo "Unknown error $s" >&2; connected=1 ;;
    esac
    return "$connected"
}

# InnoDB finished its recovery (may pass early in a start: pair it with --connect).
innodb_initialized() {
    [ "$(client --protocol=socket -e "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')")" = 1 ]
}

innodb_buffer_pool_loaded() {
    [[ "$(client --protocol=socket -e "select VARIABLE_VALUE from information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'")" =~ 'load completed' ]]
}

[ $# -gt 0 ] || { echo "At least one argument required" >&2; exit 1; }
while [ $# -gt 0 ]; do
    test=
    case "$1" in
        --datadir=*) datadir="${1#*=}" ;;
        --datadir) shift; datadir="$1" ;;
        --no-defaults) def=(); nodefaults=1 ;;
        --defaults-file=* | --defaults-extra-file=* | --defaults-group-suffix=*)
            n="${1#--defaults-}"; n="${n%%=*}"; def[${n//-/_}]="${1#*=}"; nodefaults= ;;
        --no-connect) connected=0 ;;
        --connect | --innodb_initialized | --innodb_buffer_pool_loaded) test="${1#--}" ;;
        *) echo "healthcheck: $1 is not implemented in this test image (accepted: --connect, --innodb_initialized, --innodb_buffer_pool_loaded, --no-connect, --datadir, --defaults-file, --defaults-extra-file, --defaults-group-suffix, --no-defaults)" >&2; exit 1 ;;
    esac
    if [ -n "$test" ] && ! "$test"; then
        echo "healthcheck $test failed" >&2
        exit 1
    fi
    shift
done
if [ "$connected" != 0 ]; then
    connect
fi
