#!/usr/bin/env bash
# Restores a MariaDB full backup written by the mariadb-backup CronJob, and optionally replays the archived
# binary logs (mariadb-binlog-archive CronJob) up to a point in time. Runs wherever the mariadb client tools
# of the server's major version are (the mariadb image: docs/operations/backup-restore.md has the restore pod).
#
#   restore-mariadb.sh --defaults-extra-file ROOT.cnf --dump DIR/full/mariadb-full-<stamp>.sql.gz
#                      [--binlogs DIR] [--stop-datetime 'YYYY-MM-DD HH:MM:SS' (UTC) | --stop-position FILE:POS]
#                      [--keep-read-only]
#   (FILE: a log's path under DIR, e.g. server-2/mariadb-bin.000004, or its name alone where one server has it)
#   restore-mariadb.sh --defaults-extra-file ROOT.cnf --latest DIR/full [--binlogs DIR] [...]
#   restore-mariadb.sh --defaults-extra-file ROOT.cnf --s3 S3DIR [--s3-dump NAME] [--s3-binlogs] [...]
#
# --s3 S3DIR restores from the bucket of `backups.s3` instead of a claim: S3DIR holds s3.sh and s3.conf (the
# ConfigMap mariadb-backup-s3) and s3.conf names the credentials directory (the Secret). The newest complete
# dump (with a stop point: the newest taken at or before --stop-datetime; or --s3-dump NAME) is downloaded and
# sha256-checked, and with a stop point or --s3-binlogs the archived binary logs too, into a directory under
# $TMPDIR (it needs room for them); then everything below runs on them. Needs curl (s3.sh signs with it).
#
# ROOT.cnf is a client option file with the root account ([client] user, password, host/port or socket,
# ssl-ca): never a password on the command line.
#
# What it does, in order:
#   1. checks the dump before touching the server: its sha256 file, the gzip stream, the final
#      "-- Dump completed" line; with --binlogs, the GTID position recorded in the dump and the archived logs
#      from that position on (see "Across promotions"; each server's logs must follow each other without a
#      gap, and mariadb-binlog must read every one);
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
#
# Across promotions: the archive holds one directory per server (server-<server_id>, and moved-aside
# server-<id>.until-<stamp>; logs at DIR's top level, archived before those directories, count as one more
# server). Each server numbers its logs from 000001, so positions are GTIDs, not file names. The replay
# follows the server archived last (the current primary), from the first of its logs that starts at or
# before the dump's GTID position; where its archive starts later (a replica promoted after the dump keeps
# only days of logs), the server whose logs reach that start supplies what comes before (through that GTID,
# then the current server's logs after it), and so on back to the dump. A promoted server's logs hold the
# transactions it replicated, so the replay is the timeline the promotion kept; an old primary's
# transactions that no replica received are not replayed.
set -euo pipefail
export TZ=UTC LC_ALL=C

die() { printf 'restore-mariadb: %s\n' "$*" >&2; exit 1; }
say() { printf 'restore-mariadb: %s\n' "$*" >&2; }

cnf="" dump="" latest="" binlogs="" stop_datetime="" stop_position="" keep_read_only=0 s3="" s3_dump="" s3_binlogs=0
while [ $# -gt 0 ]; do
    case "$1" in
        --defaults-extra-file) cnf="$2"; shift 2 ;;
        --dump) dump="$2"; shift 2 ;;
        --latest) latest="$2"; shift 2 ;;
        --binlogs) binlogs="$2"; shift 2 ;;
        --stop-datetime) stop_datetime="$2"; shift 2 ;;
        --stop-position) stop_position="$2"; shift 2 ;;
        --keep-read-only) keep_read_only=1; shift ;;
        --s3) s3="$2"; shift 2 ;;
        --s3-dump) s3_dump="$2"; shift 2 ;;
        --s3-binlogs) s3_binlogs=1; shift ;;
        -h | --help) sed -n '2,46p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$cnf" ] && [ -r "$cnf" ] || die "--defaults-extra-file: a readable client option file with the root account is required"
if [ -n "$s3" ]; then
    # From the bucket: download into a local directory, then restore from it as from the claims.
    [ -z "$dump$latest$binlogs" ] || die "--s3 replaces --dump, --latest and --binlogs"
    [ -r "$s3/s3.sh" ] && [ -r "$s3/s3.conf" ] || die "--s3 $s3: expected s3.sh and s3.conf there (ConfigMap mariadb-backup-s3)"
    s3_work="$(mktemp -d "${TMPDIR:-/tmp}/restore-mariadb.XXXXXX")"
    trap 'rm -rf "$s3_work"' EXIT
    fetch=(fetch-latest full "$s3_work/full")
    [ -z "$stop_datetime" ] || fetch+=(--before "$stop_datetime")
    [ -z "$s3_dump" ] || fetch+=(--name "$s3_dump")
    sh "$s3/s3.sh" "${fetch[@]}" >&2 || die "no dump from S3 (the line above says why); the server was not touched"
    latest="$s3_work/full"
    if [ -n "$stop_datetime$stop_position" ] || [ "$s3_binlogs" = 1 ]; then
        sh "$s3/s3.sh" fetch-all binlogs "$s3_work/binlogs" >&2 || die "no binary logs from S3 (the line above says why); the server was not touched"
        binlogs="$s3_work/binlogs"
    fi
fi
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

# The GTID list $1 with one GTID per domain, the highest sequence number (a Gtid_list event names one per
# domain and server), domains in order.
gtid_pos() { tr ', ' '\n' <<< "$1" | awk -F- 'NF == 3 && $3 ~ /^[0-9]+$/ { if (!($1 in s) || $3 + 0 > s[$1] + 0) { s[$1] = $3; g[$1] = $0 } } END { for (d in g) print g[d] }' | sort -t- -k1,1n | paste -sd, -; }
# Whether position $1 is at or before position $2 in every domain of $1.
gtid_le() { awk -v a="$1" -v b="$2" 'BEGIN { n = split(b, B, ","); for (i = 1; i <= n; i++) { split(B[i], p, "-"); s[p[1]] = p[3] } n = split(a, A, ","); for (i = 1; i <= n; i++) { split(A[i], p, "-"); if (p[3] + 0 > s[p[1]] + 0) exit 1 } }'; }
# The position each log starts from: its Gtid_list event (what the server had logged before it). Read once
# for every archived log, here in the script's own shell (so that a failure stops the script).
declare -A starts=()
read_start() {
    local header
    header="$(mariadb-binlog --stop-position=4096 "$1" 2>/dev/null || true)"
    grep -q 'Gtid list \[' <<< "$header" || die "$1: no Gtid_list event in its header (not a binary log, or damaged)"
    starts[$1]="$(gtid_pos "$(sed -n '/Gtid list \[/{s/.*Gtid list \[\(.*\)\]$/\1/p;q}' <<< "$header")")"
}
log_start() { echo "${starts[$1]}"; }
# The position after a log: its last GTID in each domain (or where it started).
log_end() { gtid_pos "$(log_start "$1"),$(mariadb-binlog "$1" 2>/dev/null | sed -n 's/.*[[:space:]]GTID \([0-9]*-[0-9]*-[0-9]*\).*/\1/p' | paste -sd, -)"; }
# The logs of one server's directory, in order (zero-padded numbers: the glob's order); the first, the last.
logs_in() { printf '%s\n' "$1/$prefix"[0-9]*; }
first_log() { local a=("$1/$prefix"[0-9]*); echo "${a[0]}"; }
last_log() { local a=("$1/$prefix"[0-9]*); echo "${a[-1]}"; }
# A directory as the messages name it.
label() { if [ "$1" = "$binlogs" ]; then echo "(top level)"; else echo "${1#"$binlogs"/}"; fi; }

segments=() plan_files=() stop_file=""
if [ -n "$binlogs" ]; then
    [ -d "$binlogs" ] || die "--binlogs $binlogs: not a directory"
    binlogs="${binlogs%/}"
    # --master-data=2 wrote the snapshot's position as comments: the file near the top, the GTID at the end.
    # (head stops reading early: gzip's SIGPIPE is not a failure.)
    dump_head="$( { gzip -dc "$dump" || true; } | head -n 60)"
    dump_tail="$(gzip -dc "$dump" | tail -n 40)"
    start_file="$(sed -n "s/^-- CHANGE MASTER TO MASTER_LOG_FILE='\([^']*\)', MASTER_LOG_POS=[0-9]*;.*/\1/p" <<< "$dump_head")"
    [ -n "$start_file" ] || die "$dump records no binary-log position (taken without point-in-time archiving?)"
    prefix="${start_file%.*}."
    grep -q "^-- SET GLOBAL gtid_slave_pos='" <<< "$dump_tail" || die "$dump records no GTID position"
    g0="$(gtid_pos "$(sed -n "s/^-- SET GLOBAL gtid_slave_pos='\([^']*\)';$/\1/p" <<< "$dump_tail")")"

    # Every server's logs: the top level and each directory under it.
    series=()
    for d in "$binlogs" "$binlogs"/*/; do
        d="${d%/}"
        if compgen -G "$d/${prefix}[0-9]*" > /dev/null; then series+=("$d"); fi
    done
    [ "${#series[@]}" -gt 0 ] || die "$binlogs holds no $prefix* logs"
    for d in "${series[@]}"; do
        mapfile -t all < <(logs_in "$d")
        for f in "${all[@]}"; do read_start "$f"; done
    done
    # The server archived last is the current primary.
    current="" newest=0
    for d in "${series[@]}"; do
        t="$(stat -c %Y "$d/$prefix"[0-9]* | sort -n | tail -n 1)"
        if [ "$t" -gt "$newest" ]; then current="$d" newest="$t"; fi
    done

    # From the current server back to the dump: each segment is DIR|after|through (exclusive start, inclusive end).
    need="$g0" to="" s="$current" used=" $current "
    while :; do
        st="$(log_start "$(first_log "$s")")"
        if gtid_le "$st" "$need"; then segments=("$s|$need|$to" ${segments[@]+"${segments[@]}"}); break; fi
        segments=("$s|$st|$to" ${segments[@]+"${segments[@]}"})
        # $s's archive starts after the position needed: another server's logs must reach its start.
        to="$st" p=""
        for d in "${series[@]}"; do
            [[ "$used" != *" $d "* ]] || continue
            gtid_le "$to" "$(log_end "$(last_log "$d")")" || continue
            if [ -z "$p" ] || gtid_le "$(log_start "$(first_log "$d")")" "$(log_start "$(first_log "$p")")"; then p="$d"; fi
        done
        [ -n "$p" ] || die "the archive does not reach back to the dump: $(label "$s") starts at GTID $st, the dump is at ${g0:-(empty)}, and no other server's logs reach $st"
        used+="$p " s="$p"
    done

    # --stop-position FILE:POS: the segment of FILE's server is the last one, FILE its last log.
    stop_dir=""
    if [ -n "$stop_position" ]; then
        stop_file="${stop_position%:*}"
        stop_position="${stop_position##*:}"
        [[ "$stop_position" =~ ^[0-9]+$ ]] && [ -n "$stop_file" ] || die "--stop-position: expected FILE:POSITION"
        if [[ "$stop_file" == */* ]]; then
            stop_file="$binlogs/$stop_file"
        else
            found=()
            for d in "${series[@]}"; do [ ! -f "$d/$stop_file" ] || found+=("$d/$stop_file"); done
            [ "${#found[@]}" -le 1 ] || die "--stop-position: $stop_file is in several servers' directories ($(for f in "${found[@]}"; do label "$(dirname "$f")"; done | paste -sd, -)): name it as DIR/$stop_file"
            stop_file="${found[0]:-$binlogs/$stop_file}"
        fi
        [ -f "$stop_file" ] || die "--stop-position: $stop_file is not in the archive"
        stop_dir="$(dirname "$stop_file")"
        kept=()
        for seg in "${segments[@]}"; do
            kept+=("$seg")
            [ "${seg%%|*}" != "$stop_dir" ] || break
        done
        [ "${kept[-1]%%|*}" = "$stop_dir" ] || die "--stop-position: $(label "$stop_dir") is not on the replay's way from the dump to the current server ($(for seg in "${segments[@]}"; do label "${seg%%|*}"; done | paste -sd, -))"
        segments=("${kept[@]}")
    fi

    # Each segment's logs: from the last one that starts at or before its start position, without a gap, up
    # to the one holding its end position (or the stop file).
    plan_after=() plan_through=() plan_files=()
    for seg in "${segments[@]}"; do
        IFS='|' read -r d after through <<< "$seg"
        mapfile -t all < <(logs_in "$d")
        k=0
        for ((i = 0; i < ${#all[@]}; i++)); do
            if gtid_le "$(log_start "${all[$i]}")" "$after"; then k=$i; fi
        done
        gtid_le "$(log_start "${all[$k]}")" "$after" || die "$(label "$d") has no log that starts at or before GTID ${after:-(empty)}"
        files=("${all[$k]}")
        for ((i = k + 1; i < ${#all[@]}; i++)); do
            [ "${files[-1]}" != "$stop_file" ] || break
            [ -z "$through" ] || ! gtid_le "$through" "$(log_start "${all[$i]}")" || break
            prev="${files[-1]##*.}" next="${all[$i]##*.}"
            [ "$((10#$next))" = "$((10#$prev + 1))" ] || die "$(label "$d"): ${all[$i]##*/} follows a gap after ${files[-1]##*/}"
            files+=("${all[$i]}")
        done
        [ "$d" != "$stop_dir" ] || [ "${files[-1]}" = "$stop_file" ] || die "--stop-position: ${stop_file##*/} comes before the dump's position in $(label "$d")"
        for f in "${files[@]}"; do mariadb-binlog "$f" > /dev/null || die "$f: mariadb-binlog cannot read it"; done
        plan_after+=("$after") plan_through+=("$through")
        plan_files+=("$(printf '%s\n' "${files[@]}")")
        say "binary logs: $(label "$d") ${files[0]##*/} … ${files[-1]##*/} (${#files[@]} file(s)), after GTID ${after:-(none)}${through:+ through $through}"
    done
    say "replay: ${#plan_files[@]} server(s)' logs in turn${stop_datetime:+, stopping before $stop_datetime UTC}${stop_position:+, stopping at ${stop_file#"$binlogs"/}:$stop_position}"
fi

# --- 2. No application writes from here on ---------------------------------------------------------------------
mysql --execute="SET GLOBAL read_only = ON" || die "cannot set read_only (is the account root?)"
say "read_only is ON: application accounts cannot write until the restore has finished"
trap 'say "FAILED: the server stays read-only (SET GLOBAL read_only = OFF once it is repaired, or run this again)"' ERR

# --- 3. The dump ------------------------------------------------------------------------------------------------
gzip -dc "$dump" | mysql
say "dump loaded"

# --- 4. The binary logs -----------------------------------------------------------------------------------------
for ((n = 0; n < ${#plan_files[@]}; n++)); do
    after="${plan_after[$n]}" through="${plan_through[$n]}"
    mapfile -t files <<< "${plan_files[$n]}"
    args=()
    [ -z "$after" ] || args+=(--start-position="$after")
    [ -z "$stop_datetime" ] || args+=(--stop-datetime="$stop_datetime")
    # The stop file ends the last segment; a GTID ends an earlier server's part.
    if [ -n "$stop_file" ] && [ "${files[-1]}" = "$stop_file" ]; then args+=(--stop-position="$stop_position")
    elif [ -n "$through" ]; then args+=(--stop-position="$through"); fi
    mariadb-binlog "${args[@]}" "${files[@]}" | mysql
done
[ "${#plan_files[@]}" -eq 0 ] || say "binary logs replayed"

# --- 5. Open for writes again -----------------------------------------------------------------------------------
trap - ERR
if [ "$keep_read_only" = 1 ]; then
    say "restore complete; read_only stays ON (--keep-read-only)"
else
    mysql --execute="SET GLOBAL read_only = OFF"
    say "restore complete; read_only is OFF"
fi
say "take a new full backup now: kubectl create job -n <namespace> --from=cronjob/mariadb-backup mariadb-backup-after-restore"
