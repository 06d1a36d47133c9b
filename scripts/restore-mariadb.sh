#!/usr/bin/env bash
# Restores a MariaDB full backup written by the mariadb-backup CronJob, and optionally replays the archived
# binary logs (mariadb-binlog-archive CronJob) up to a point in time. Runs wherever the mariadb client tools
# of the server's major version are (the mariadb image: see the README's runbook for the restore pod).
#
#   restore-mariadb.sh --defaults-extra-file ROOT.cnf --dump DIR/full/mariadb-full-<stamp>.sql.gz
#                      [--binlogs DIR] [--stop-datetime 'YYYY-MM-DD HH:MM:SS' (UTC) | --stop-position FILE:POS]
#                      [--keep-read-only]
#   restore-mariadb.sh --defaults-extra-file ROOT.cnf --latest DIR/full [--binlogs DIR] [...]
#
# ROOT.cnf is a client option file with the root account ([client] user, password, host/port or socket,
# ssl-ca): never a password on the command line.
#
# What it does, in order:
#   1. checks the dump before touching the server: its sha256 file, the gzip stream, the final
#      "-- Dump completed" line; with --binlogs, the binary-log position recorded in the dump and the
#      archived logs from that position on (the first one must exist, and the sequence must have no gap);
#   2. SET GLOBAL read_only = ON: application accounts (no READ ONLY ADMIN privilege) can no longer write, so
#      no one changes data that is being replaced, and no one writes into a half-restored database;
#   3. loads the dump (each backed-up database is dropped and re-created whole);
#   4. replays the archived binary logs from the dump's position to --stop-datetime / --stop-position, or to
#      their end (mariadb-binlog | mariadb, one stream, stopping at the first error);
#   5. SET GLOBAL read_only = OFF (unless --keep-read-only): only after every step succeeded. On any failure
#      the server stays read-only and the script exits non-zero; fix the cause and run it again (it is
#      idempotent: the dump replaces the databases whole).
# Afterwards take a new full backup (kubectl create job --from=cronjob/mariadb-backup ...): the archived
# binary logs after the restore point describe the timeline that was undone.
set -euo pipefail
export TZ=UTC LC_ALL=C

die() { printf 'restore-mariadb: %s\n' "$*" >&2; exit 1; }
say() { printf 'restore-mariadb: %s\n' "$*" >&2; }

cnf="" dump="" latest="" binlogs="" stop_datetime="" stop_position="" keep_read_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --defaults-extra-file) cnf="$2"; shift 2 ;;
        --dump) dump="$2"; shift 2 ;;
        --latest) latest="$2"; shift 2 ;;
        --binlogs) binlogs="$2"; shift 2 ;;
        --stop-datetime) stop_datetime="$2"; shift 2 ;;
        --stop-position) stop_position="$2"; shift 2 ;;
        --keep-read-only) keep_read_only=1; shift ;;
        -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$cnf" ] && [ -r "$cnf" ] || die "--defaults-extra-file: a readable client option file with the root account is required"
if [ -n "$latest" ]; then
    [ -z "$dump" ] || die "--dump and --latest exclude each other"
    [ -r "$latest/LATEST" ] || die "$latest/LATEST not found: no complete backup in $latest"
    dump="$latest/$(cat "$latest/LATEST")"
fi
[ -n "$dump" ] || die "--dump FILE or --latest DIR is required"
[ -z "$stop_datetime" ] || [ -z "$stop_position" ] || die "--stop-datetime and --stop-position exclude each other"
{ [ -z "$stop_datetime" ] && [ -z "$stop_position" ]; } || [ -n "$binlogs" ] || die "a stop point needs --binlogs"

mysql() { mariadb --defaults-extra-file="$cnf" --batch --skip-column-names "$@"; }

# --- 1. Check everything before the server is touched ---------------------------------------------------------
[ -r "$dump" ] || die "$dump: not found"
[ -r "$dump.sha256" ] || die "$dump.sha256: not found (the backup job writes it last; a dump without it is not trusted)"
(cd "$(dirname "$dump")" && sha256sum --check --status "$(basename "$dump").sha256") || die "$dump: the sha256 does not match"
gzip -t "$dump" || die "$dump: the gzip stream is damaged"
gzip -dc "$dump" | tail -n 1 | grep -q '^-- Dump completed' || die "$dump: incomplete (no final 'Dump completed' line)"
say "dump $dump verified"

replay=()
if [ -n "$binlogs" ]; then
    [ -d "$binlogs" ] || die "--binlogs $binlogs: not a directory"
    # --master-data=2 wrote the snapshot's position as a comment near the top of the dump.
    coords="$(gzip -dc "$dump" | head -n 60 | sed -n "s/^-- CHANGE MASTER TO MASTER_LOG_FILE='\([^']*\)', MASTER_LOG_POS=\([0-9]*\);.*/\1 \2/p" | head -n 1)"
    [ -n "$coords" ] || die "$dump records no binary-log position (taken without point-in-time archiving?)"
    start_file="${coords% *}"
    start_pos="${coords#* }"
    stop_file=""
    if [ -n "$stop_position" ]; then
        stop_file="${stop_position%:*}"
        stop_position="${stop_position##*:}"
        [[ "$stop_position" =~ ^[0-9]+$ ]] && [ -n "$stop_file" ] || die "--stop-position: expected FILE:POSITION"
    fi
    prefix="${start_file%.*}."
    n=$((10#${start_file##*.}))
    while :; do
        f="$(printf '%s%06d' "$prefix" "$n")"
        [ -f "$binlogs/$f" ] || break
        replay+=("$binlogs/$f")
        [ "$f" != "$stop_file" ] || break
        n=$((n + 1))
    done
    [ "${#replay[@]}" -gt 0 ] || die "$binlogs has no $start_file, where the dump's position is"
    [ -z "$stop_file" ] || [ "$(basename "${replay[-1]}")" = "$stop_file" ] || die "--stop-position: $stop_file is not in the archive after $start_file"
    # A newer file after a gap would be silently skipped: refuse.
    for later in "$binlogs/$prefix"*; do
        [ -e "$later" ] || continue
        last="$(basename "${replay[-1]}")"
        if [[ "$(basename "$later")" > "$last" ]] && [ -z "$stop_file" ] && [ "$(basename "$later")" != "$(printf '%s%06d' "$prefix" $((10#${last##*.} + 1)))" ]; then
            die "$binlogs: $(basename "$later") follows a gap after $last"
        fi
    done
    for f in "${replay[@]}"; do mariadb-binlog "$f" > /dev/null || die "$f: mariadb-binlog cannot read it"; done
    say "binary logs: from $start_file:$start_pos through $(basename "${replay[-1]}") (${#replay[@]} file(s))${stop_datetime:+, stopping before $stop_datetime UTC}${stop_position:+, stopping at $stop_file:$stop_position}"
fi

# --- 2. No application writes from here on ---------------------------------------------------------------------
mysql --execute="SET GLOBAL read_only = ON" || die "cannot set read_only (is the account root?)"
say "read_only is ON: application accounts cannot write until the restore has finished"
trap 'say "FAILED: the server stays read-only (SET GLOBAL read_only = OFF once it is repaired, or run this again)"' ERR

# --- 3. The dump ------------------------------------------------------------------------------------------------
gzip -dc "$dump" | mysql
say "dump loaded"

# --- 4. The binary logs -----------------------------------------------------------------------------------------
if [ "${#replay[@]}" -gt 0 ]; then
    args=(--start-position="$start_pos")
    [ -z "$stop_datetime" ] || args+=(--stop-datetime="$stop_datetime")
    [ -z "$stop_position" ] || args+=(--stop-position="$stop_position")
    # --start-position applies to the first file, --stop-position to the last.
    mariadb-binlog "${args[@]}" "${replay[@]}" | mysql
    say "binary logs replayed"
fi

# --- 5. Open for writes again -----------------------------------------------------------------------------------
trap - ERR
if [ "$keep_read_only" = 1 ]; then
    say "restore complete; read_only stays ON (--keep-read-only)"
else
    mysql --execute="SET GLOBAL read_only = OFF"
    say "restore complete; read_only is OFF"
fi
say "take a new full backup now: kubectl create job -n <namespace> --from=cronjob/mariadb-backup mariadb-backup-after-restore"
