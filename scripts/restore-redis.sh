#!/bin/sh
# Restores a Redis RDB snapshot written by the redis-backup CronJob into a stopped Redis's data directory.
# POSIX sh: runs in the redis image (a restore pod that mounts the data claim and the backup claim, see the
# restore steps in docs/operations/backup-restore.md) or anywhere redis-check-rdb is.
#
#   restore-redis.sh --data /data --rdb /backup/redis-<stamp>.rdb
#   restore-redis.sh --data /data --latest /backup
#   restore-redis.sh --data /data --s3 S3DIR [--s3-rdb NAME]
#
# --s3 S3DIR restores from the bucket of `backups.s3`: S3DIR holds s3.sh and s3.conf (the ConfigMap
# redis-backup-s3), which names the credentials directory (the Secret). The newest complete snapshot (or
# --s3-rdb NAME) is downloaded into a directory under $TMPDIR and sha256-checked first. Needs curl.
#
# Redis runs with AOF persistence, and at start it loads the AOF, not dump.rdb. So the snapshot becomes the
# base of a new AOF (Redis 7's multi-part AOF accepts an RDB file as its base): the manifest names it, with
# an empty increment.
#   1. checks the snapshot before touching anything: its sha256 file and redis-check-rdb;
#   2. builds the new AOF directory next to the current one (appendonlydir.restoring);
#   3. renames the current AOF directory to appendonlydir.before-restore-<stamp> (kept: the way back), then
#      the new one into place. An interrupted run is completed by running it again (step 3 resumes);
#   4. with Sentinel (redis.replicas 3 or more), rewrites this pod's record (sentinel/sentinel.conf on the
#      claim: the primary its Sentinel last knew, with its config-epoch) to name this pod at a config-epoch
#      above any other pod's (the time in seconds), so that at the next start this pod is the primary and
#      the others copy the restored data (docs/operations/failover.md).
# Redis must be stopped (scaled to 0) while this runs: it only reads its files at start, so the service is
# either the old data or the restored data, never half of each. Start it afterwards.
set -eu

die() { printf 'restore-redis: %s\n' "$*" >&2; exit 1; }
say() { printf 'restore-redis: %s\n' "$*" >&2; }

data="" rdb="" latest="" aofdir="appendonlydir" aofname="appendonly.aof" s3="" s3_rdb=""
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --rdb) rdb="$2"; shift 2 ;;
        --latest) latest="$2"; shift 2 ;;
        --appenddirname) aofdir="$2"; shift 2 ;;
        --appendfilename) aofname="$2"; shift 2 ;;
        --s3) s3="$2"; shift 2 ;;
        --s3-rdb) s3_rdb="$2"; shift 2 ;;
        -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$data" ] && [ -d "$data" ] || die "--data DIR: the Redis data directory (the data claim) is required"
if [ -n "$s3" ]; then
    # From the bucket: download into a local directory, then restore from it as from the claim.
    [ -z "$rdb$latest" ] || die "--s3 replaces --rdb and --latest"
    [ -r "$s3/s3.sh" ] && [ -r "$s3/s3.conf" ] || die "--s3 $s3: expected s3.sh and s3.conf there (ConfigMap redis-backup-s3)"
    s3_work="$(mktemp -d "${TMPDIR:-/tmp}/restore-redis.XXXXXX")"
    trap 'rm -rf "$s3_work"' EXIT
    if [ -n "$s3_rdb" ]; then
        sh "$s3/s3.sh" fetch-latest rdb "$s3_work" --name "$s3_rdb" >&2 || die "no snapshot from S3 (the line above says why); nothing was changed"
    else
        sh "$s3/s3.sh" fetch-latest rdb "$s3_work" >&2 || die "no snapshot from S3 (the line above says why); nothing was changed"
    fi
    latest="$s3_work"
fi
if [ -n "$latest" ]; then
    [ -z "$rdb" ] || die "--rdb and --latest exclude each other"
    [ -r "$latest/LATEST" ] || die "$latest/LATEST not found: no complete backup in $latest"
    rdb="$latest/$(cat "$latest/LATEST")"
fi
[ -n "$rdb" ] || die "--rdb FILE or --latest DIR is required"

current="$data/$aofdir"
staging="$data/$aofdir.restoring"

# An interrupted run left the new directory staged and the old one moved away: finish it.
if [ ! -e "$current" ] && [ -d "$staging" ] && [ -f "$staging/.complete" ]; then
    rm -f "$staging/.complete"
    mv "$staging" "$current"
    say "completed an interrupted restore: $current is in place"
    exit 0
fi

# --- 1. Check the snapshot ---------------------------------------------------------------------------------
[ -r "$rdb" ] || die "$rdb: not found"
[ -r "$rdb.sha256" ] || die "$rdb.sha256: not found (the backup job writes it last; a snapshot without it is not trusted)"
(cd "$(dirname "$rdb")" && sha256sum -c -s "$(basename "$rdb").sha256" 2>/dev/null || sha256sum --check --status "$(basename "$rdb").sha256") || die "$rdb: the sha256 does not match"
redis-check-rdb "$rdb" >/dev/null 2>&1 || die "$rdb: redis-check-rdb refuses it"
say "snapshot $rdb verified"

# --- 2. The new AOF directory --------------------------------------------------------------------------------
rm -rf "$staging"
mkdir -m 0750 "$staging"
cp "$rdb" "$staging/$aofname.1.base.rdb"
: > "$staging/$aofname.1.incr.aof"
printf 'file %s seq 1 type b\nfile %s seq 1 type i\n' "$aofname.1.base.rdb" "$aofname.1.incr.aof" > "$staging/$aofname.manifest"
touch "$staging/.complete"

# --- 3. Swap -------------------------------------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
if [ -e "$current" ]; then
    mv "$current" "$current.before-restore-$stamp"
    say "the previous AOF is kept as $current.before-restore-$stamp (delete it once the restore is confirmed)"
fi
rm -f "$staging/.complete"
mv "$staging" "$current"
say "restored $rdb into $current"

# --- 4. The record (replicated Redis only) -------------------------------------------------------------------
record="$data/sentinel/sentinel.conf"
if [ -f "$record" ]; then
    epoch="$(date -u +%s)"
    awk -v epoch="$epoch" '
        $1 == "sentinel" && $2 == "announce-ip" { self = $3 }
        { lines[NR] = $0 }
        END {
            if (self == "") { print "no announce-ip line" > "/dev/stderr"; exit 1 }
            for (i = 1; i <= NR; i++) {
                split(lines[i], f, " ")
                if (f[1] == "sentinel" && f[2] == "monitor") { name = f[3]; print "sentinel monitor " name " " self " " f[5] " " f[6]; continue }
                if (f[1] == "sentinel" && (f[2] == "config-epoch" || f[2] == "current-epoch" || f[2] == "leader-epoch")) continue
                print lines[i]
            }
            print "sentinel current-epoch " epoch
            if (name == "") { print "no monitor line" > "/dev/stderr"; exit 1 }
            print "sentinel config-epoch " name " " epoch
        }' "$record" > "$record.restoring" || die "$record: cannot rewrite this pod's record"
    mv "$record.restoring" "$record"
    say "this pod's record names it the primary at config-epoch $epoch: it is the primary at the next start"
fi
say "start Redis now"
