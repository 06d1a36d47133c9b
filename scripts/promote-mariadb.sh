#!/usr/bin/env bash
# Promotes the most advanced MariaDB replica to primary after the primary is lost, then tells you the
# `pulumi up` that makes it permanent. Scripted, not automatic: see docs/operations/failover.md ("Why failover is a
# scripted promotion").
#
#   promote-mariadb.sh [--namespace db] --replicas N            pods through kubectl exec (root over the socket)
#   promote-mariadb.sh --defaults-dir DIR --replicas N          pod i through DIR/i.cnf ([client] options;
#                                                              port-forwards, or the real-server tests)
#   add --dry-run to only report the pods' positions and the choice; --replacing P names the primary being
#   replaced (mariadb.primary) when the replicas do not agree on the pod they replicate from.
#
# Steps: every reachable pod is asked for read_only and its GTID positions; a reachable writable pod stops
# the script (the primary is alive: promoting would make two). The primary being replaced is the pod the
# replicas replicate from. Each replica stops receiving (IO thread) and applies what it already received
# (bounded wait); the one with the highest GTID position in every domain wins (ties: the lowest ordinal).
# The server marks itself promoted: a file `mariadb-promotion` in its datadir, written by the server
# (SELECT ... INTO DUMPFILE, so it works in both modes), naming it and the primary it replaces. Until the
# `pulumi up` that records the promotion, the pods' start.sh reads it: the promoted pod restarts as the
# primary, and the replaced primary, when it returns, refuses to start while the promoted pod answers.
# Then it stops replication, forgets its old primary and becomes writable; the other replicas are re-pointed
# at it at once (their user and password are kept). Exit codes: 0 promoted (or dry run), 1 refused or
# failed, 2 usage.
set -euo pipefail

namespace=db
replicas=""
defaults_dir=""
dry_run=0
wait_seconds=120
replacing=""
# The promotion marker's file name in the datadir (components/mariadb/files.ts, PROMOTION_MARKER).
marker=mariadb-promotion
usage() { echo "usage: $0 [--namespace NS | --defaults-dir DIR] --replicas N [--replacing P] [--dry-run] [--wait SECONDS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --namespace) namespace="${2:?}"; shift 2 ;;
        --defaults-dir) defaults_dir="${2:?}"; shift 2 ;;
        --replicas) replicas="${2:?}"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --wait) wait_seconds="${2:?}"; shift 2 ;;
        --replacing) replacing="${2:?}"; shift 2 ;;
        *) usage ;;
    esac
done
case "$replicas" in ""|*[!0-9]*) usage ;; esac
case "$replacing" in *[!0-9]*) usage ;; esac

# One statement on pod $2, with the client option $1. Credentials stay in files: the pod's mounted Secret
# (kubectl mode) or the option file (defaults-dir mode).
client() {
    if [ -n "$defaults_dir" ]; then
        mariadb --defaults-extra-file="$defaults_dir/$2.cnf" --connect-timeout=5 --batch "$1" --execute="$3"
    else
        # shellcheck disable=SC2016 # expanded inside the pod
        kubectl exec -n "$namespace" "mariadb-$2" -c mariadb -- bash -c \
            'MYSQL_PWD="$(cat /etc/mysql/credentials/root-password)" exec mariadb -uroot --protocol=socket --connect-timeout=5 --batch "$1" --execute="$0"' "$3" "$1"
    fi
}
# Tab-separated rows without headers.
sql() { client --skip-column-names "$1" "$2"; }
# SHOW SLAVE STATUS as `Field: value` lines (without column names the vertical format has no field names).
slave_status() { client --column-names "$1" "SHOW SLAVE STATUS\\G"; }

# Where the other replicas reach pod $1: its stable DNS name, or the host and port of its option file.
address() {
    if [ -n "$defaults_dir" ]; then
        local host port
        host="$(sed -n 's/^host *= *//p' "$defaults_dir/$1.cnf" | tail -n 1)"
        port="$(sed -n 's/^port *= *//p' "$defaults_dir/$1.cnf" | tail -n 1)"
        echo "MASTER_HOST = '$host', MASTER_PORT = ${port:-3306}"
    else
        echo "MASTER_HOST = 'mariadb-$1.mariadb-headless.$namespace.svc.cluster.local', MASTER_PORT = 3306"
    fi
}

# Sequence number of domain $2 in the GTID list $1 (0 when absent).
seq_of() { tr ',' '\n' <<< "$1" | awk -F- -v d="$2" '$1 == d { print $3; found = 1 } END { if (!found) print 0 }'; }
domains() { tr ',' '\n' <<< "$1" | awk -F- 'NF == 3 { print $1 }'; }

# The pod whose address is $1 (as address() prints it), or nothing.
ordinal_at() {
    local j
    for ((j = 0; j < replicas; j++)); do
        if [ "$(address "$j")" = "$1" ]; then echo "$j"; return; fi
    done
}

replica_ordinals=()
declare -A sources=()
for ((i = 0; i < replicas; i++)); do
    if ! state="$(sql "$i" "SELECT @@read_only, @@gtid_current_pos" 2>/dev/null)"; then
        echo "mariadb-$i: unreachable"
        continue
    fi
    read -r ro pos <<< "$state"
    if [ "$ro" != 1 ]; then
        echo "mariadb-$i is writable (a primary is alive): promoting another pod would give two primaries. Stop it, or set it read-only, first." >&2
        exit 1
    fi
    status="$(slave_status "$i")"
    master="MASTER_HOST = '$(sed -n 's/^ *Master_Host: *//p' <<< "$status")', MASTER_PORT = $(sed -n 's/^ *Master_Port: *//p' <<< "$status")"
    source="$(ordinal_at "$master")"
    echo "mariadb-$i: replica at ${pos:-(empty)}, of $([ -n "$source" ] && echo "mariadb-$source" || echo "an unknown primary ($master)")"
    [ -z "$source" ] || sources[$source]=1
    replica_ordinals+=("$i")
done
if [ "${#replica_ordinals[@]}" -eq 0 ]; then echo "no reachable replica to promote" >&2; exit 1; fi
if [ -z "$replacing" ]; then
    known="${!sources[*]}"
    if [ "${#sources[@]}" -ne 1 ]; then
        echo "cannot tell which primary is being replaced (the replicas replicate from: ${known:-no known pod}): pass --replacing <mariadb.primary>" >&2
        exit 1
    fi
    replacing="$known"
fi
echo "replacing: mariadb-$replacing"

# What each replica received must be applied before positions are compared (and before any write).
declare -A position
for i in "${replica_ordinals[@]}"; do
    # Nothing more arrives (the old primary may still send); a stopped SQL thread applies what is in the relay log.
    [ "$dry_run" = 1 ] || sql "$i" "STOP SLAVE IO_THREAD; START SLAVE SQL_THREAD" > /dev/null
    deadline=$((SECONDS + wait_seconds))
    while :; do
        io_pos="$(sql "$i" "SELECT @@gtid_slave_pos")"
        received="$(slave_status "$i" | sed -n 's/^ *Gtid_IO_Pos: *//p')"
        if [ -z "$received" ] || [ "$dry_run" = 1 ]; then break; fi
        applied=1
        for d in $(domains "$received"); do
            if [ "$(seq_of "$io_pos" "$d")" -lt "$(seq_of "$received" "$d")" ]; then applied=0; fi
        done
        [ "$applied" = 1 ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then echo "mariadb-$i did not apply its relay log within ${wait_seconds}s (received $received, applied $io_pos)" >&2; exit 1; fi
        sleep 0.5
    done
    position[$i]="$(sql "$i" "SELECT @@gtid_current_pos")"
    echo "mariadb-$i: applied ${position[$i]:-(empty)}"
done

best=""
for i in "${replica_ordinals[@]}"; do
    if [ -z "$best" ]; then best="$i"; continue; fi
    ahead=0; behind=0
    for d in $(domains "${position[$i]},${position[$best]}" | sort -u); do
        a="$(seq_of "${position[$i]}" "$d")"; b="$(seq_of "${position[$best]}" "$d")"
        [ "$a" -gt "$b" ] && ahead=1
        [ "$a" -lt "$b" ] && behind=1
    done
    if [ "$ahead" = 1 ] && [ "$behind" = 1 ]; then
        echo "mariadb-$i (${position[$i]}) and mariadb-$best (${position[$best]}) each hold transactions the other lacks: choose by hand" >&2
        exit 1
    fi
    [ "$ahead" = 1 ] && best="$i"
done
echo "most advanced: mariadb-$best at ${position[$best]:-(empty)}"
if [ "$best" = "$replacing" ]; then echo "mariadb-$best is the primary being replaced: nothing to promote" >&2; exit 1; fi
if [ "$dry_run" = 1 ]; then exit 0; fi

# The marker first: from here on, a restart of mariadb-$best keeps it the primary, and mariadb-$replacing
# refuses to start while mariadb-$best answers. Written by the server (FILE privilege; secure_file_priv is
# unset in the image and in Debian's server, so the datadir is allowed) as one line without a newline.
text="holder=$best replaced=$replacing"
existing="$(sql "$best" "SELECT IFNULL(LOAD_FILE(CONCAT(@@datadir, '$marker')), '')")"
if [ -n "$existing" ] && [[ "$existing" != "$text "* ]]; then
    # A marker of an earlier promotion that no restart removed yet (INTO DUMPFILE never overwrites).
    if [ -n "$defaults_dir" ]; then
        echo "mariadb-$best holds the marker of an earlier promotion ($existing): remove $marker from its datadir, then run this again" >&2
        exit 1
    fi
    kubectl exec -n "$namespace" "mariadb-$best" -c mariadb -- rm -f "$(sql "$best" "SELECT @@datadir")$marker"
    existing=""
fi
if [ -z "$existing" ]; then
    if ! sql "$best" "EXECUTE IMMEDIATE CONCAT('SELECT ', QUOTE(CONCAT('$text gtid=', @@gtid_current_pos, ' at=', DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ'))), ' INTO DUMPFILE ', QUOTE(CONCAT(@@datadir, '$marker')))" > /dev/null; then
        echo "mariadb-$best: the promotion marker could not be written (see the error above; secure_file_priv must allow the datadir): not promoted, still read-only. Its replication is stopped: START SLAVE resumes it." >&2
        exit 1
    fi
    # The server does not fsync the file; in kubectl mode it is synced to the volume (best effort).
    if [ -z "$defaults_dir" ]; then
        file="$(sql "$best" "SELECT @@datadir")$marker"
        kubectl exec -n "$namespace" "mariadb-$best" -c mariadb -- sync "$file" "${file%/*}" || echo "mariadb-$best: could not sync $file (it reaches the disk within the kernel's writeback interval)" >&2
    fi
fi
echo "mariadb-$best: marked promoted ($(sql "$best" "SELECT LOAD_FILE(CONCAT(@@datadir, '$marker'))"))"

sql "$best" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF" > /dev/null
echo "mariadb-$best: promoted (replication stopped, writable)"
for i in "${replica_ordinals[@]}"; do
    [ "$i" = "$best" ] && continue
    sql "$i" "STOP SLAVE; CHANGE MASTER TO $(address "$best"), MASTER_USE_GTID = current_pos; START SLAVE" > /dev/null
    echo "mariadb-$i: now replicates from mariadb-$best"
done
cat <<EOF
Until the next step, mariadb-$replacing refuses to start while mariadb-$best answers, and mariadb-$best restarts
as the primary. The client Service still selects mariadb-$replacing: writers wait until the next step.
Next, make it permanent (re-points the client Service; every other pod, the old primary included when it
returns, restarts as a replica of mariadb-$best):
    pulumi config set --path mariadb.primary $best && pulumi up
EOF
