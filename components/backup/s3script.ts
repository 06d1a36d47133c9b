// The S3 step of the backup Jobs and of the restores, as one POSIX sh script (s3.sh) that runs in a small curl
// image (busybox userland) and wherever curl and coreutils are. It speaks S3 with curl alone: requests are
// signed with --aws-sigv4, the credentials are read from the mounted Secret's files and handed to curl on its
// standard input (-K -), so they are never on a command line, in the environment or in a log.
//
// Why multipart uploads for every object: an object appears under its key only when CompleteMultipartUpload
// succeeds, whole; a failed or killed run leaves no object (and its upload is aborted), so nothing partial is
// ever under a final name, and files larger than one PUT (5 GiB) need no other path. Each part is checked by
// the server on arrival (Content-MD5 and the signed x-amz-content-sha256); the completed object is verified
// after the upload by its ETag (the MD5 of the parts' MD5s) and size, or read back and compared by sha256
// where the server's ETags are not MD5s (SSE-KMS, data-integrity ETags). A dump counts as complete in the
// bucket only once its `.sha256` companion is there, which is uploaded after the dump was verified.
//
// Query strings are written sorted and percent-encoded: curl before 8.x signs the query as given, so that is
// the only form both old and new curl sign the way S3 checks it.

import { S3_CREDENTIAL_KEYS } from "../config/backups";

/** The files of a completed dump or snapshot: `<name>` and `<name><COMPANION>` (the sha256 the backup wrote). */
export const S3_COMPANION = ".sha256";

/**
 * s3.sh. Reads its settings from s3.conf next to it (or $S3_CONF). Commands:
 *   backup SET DIR GLOB [--companion SUFFIX] [--prune [--older-than-oldest SET2]]
 *                                              what the backup Jobs run: upload, then prune
 *   upload SET DIR GLOB [--companion SUFFIX]   every file under DIR matching GLOB the bucket lacks (same key and
 *                                              size, and its companion), in name order; then prints a summary
 *   prune SET GLOB [--companion SUFFIX] [--older-than-oldest SET2]
 *                                              deletes objects of SET older than the retention days that are not
 *                                              among the newest retention-count complete ones (never the newest);
 *                                              with SET2, objects of SET2 older than the oldest kept one (less a day)
 *   list SET                                   key, size and time of every object of SET
 *   fetch-latest SET DIR [--before 'YYYY-MM-DD HH:MM:SS'] [--name NAME]
 *                                              the newest complete object of SET (taken at or before the time, UTC)
 *                                              and its companion into DIR, sha256-checked, and DIR/LATEST
 *   fetch-all SET DIR                          every object of SET into DIR (sub-paths kept), size-checked
 * Every failure exits 1 with one line `<log>: FAILED: <cause>` on stderr.
 */
export function s3Script(): string {
    // `@{` stands for the shell's `${` (a template literal cannot hold it).
    return String.raw`#!/bin/sh
# Off-site copies of the backups in S3, with curl only (see components/backup/s3script.ts for the why).
set -eu
umask 077
export LC_ALL=C TZ=UTC
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=/dev/null
. "@{S3_CONF:-$here/s3.conf}"
log="@{S3_LOG:-s3}"
say() { printf '%s: %s\n' "$log" "$*"; }
fail() { printf '%s: FAILED: %s\n' "$log" "$*" >&2; exit 1; }
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

work="" pending="" user_line="" cacert=""
cleanup() {
    rc=$?
    # A multipart upload that did not complete: abort it, so its parts do not linger (best effort).
    if [ -n "$pending" ]; then
        # shellcheck disable=SC2086 # $cacert is empty or two words
        printf '%s\n' "$user_line" | curl -q -sS -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" $cacert --connect-timeout 10 --max-time 60 \
            -X DELETE -H "x-amz-content-sha256: $EMPTY_SHA" -o /dev/null "@{pending}" 2>/dev/null || true
    fi
    [ -z "$work" ] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
work="$(mktemp -d "@{TMPDIR:-/tmp}/s3.XXXXXX")" || fail "cannot create a work directory in @{TMPDIR:-/tmp}"

# --- Credentials: from the mounted Secret's files, to curl on standard input only --------------------------
[ -z "@{S3_CA:-}" ] || cacert="--cacert $S3_CA"
for k in ${S3_CREDENTIAL_KEYS.accessKeyId} ${S3_CREDENTIAL_KEYS.secretAccessKey}; do
    [ -s "$S3_CREDENTIALS/$k" ] || fail "no credentials: $S3_CREDENTIALS/$k is missing or empty (create Secret $S3_SECRET with keys ${S3_CREDENTIAL_KEYS.accessKeyId} and ${S3_CREDENTIAL_KEYS.secretAccessKey} in this namespace)"
done
esc() { sed 's/[\\"]/\\&/g'; }
key_id="$(tr -d '\r\n' < "$S3_CREDENTIALS/${S3_CREDENTIAL_KEYS.accessKeyId}" | esc)"
secret="$(tr -d '\r\n' < "$S3_CREDENTIALS/${S3_CREDENTIAL_KEYS.secretAccessKey}" | esc)"
user_line="user = \"$key_id:$secret\""
unset secret

if [ "$S3_PATH_STYLE" = true ]; then
    base="$S3_ENDPOINT/$S3_BUCKET"
else
    base="@{S3_ENDPOINT%%://*}://$S3_BUCKET.@{S3_ENDPOINT#*://}"
fi
where="s3://$S3_BUCKET/$S3_PREFIX"

# enc STRING: percent-encoded as SigV4 canonical query strings want it (all but A-Z a-z 0-9 - . _ ~).
enc() {
    case "$1" in
        *[!A-Za-z0-9._~/-]*)
            printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '\n\n' | while read -r h; do
                [ -n "$h" ] || continue
                case "$h" in
                    3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a] | 2d | 2e | 5f | 7e) printf "\\$(printf %03o "0x$h")" ;;
                    *) printf '%%%s' "$(printf '%s' "$h" | tr a-f A-F)" ;;
                esac
            done ;;
        *) printf '%s' "$1" | sed 's:/:%2F:g' ;;
    esac
}
# hexbin HEX: the bytes HEX spells (lower-case hex).
hexbin() {
    # shellcheck disable=SC2059 # the format is the octal escapes of the bytes
    printf "$(printf '%s' "$1" | awk '{ for (i = 1; i < length($0); i += 2) printf "\\%03o", index("0123456789abcdef", substr($0, i, 1)) * 16 + index("0123456789abcdef", substr($0, i + 1, 1)) - 17 }')"
}

# req METHOD URL OUT [curl options]: one signed request; the status in $status, the body in OUT, headers in
# $work/headers. A transport failure (no connection, TLS, timeout) fails the run naming the cause.
req() {
    r_method="$1" r_url="$2" r_out="$3"
    shift 3
    if [ "$r_method" = HEAD ]; then set -- -I "$@"; else set -- -X "$r_method" "$@"; fi
    # S3 wants the payload's sha256 signed: the empty one unless the caller gives the body's.
    case " $* " in *x-amz-content-sha256*) ;; *) set -- "$@" -H "x-amz-content-sha256: $EMPTY_SHA" ;; esac
    # shellcheck disable=SC2086 # $cacert is empty or two words
    if ! status="$(printf '%s\n' "$user_line" | curl -q -sS -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" $cacert \
        --connect-timeout 10 --retry 2 --retry-delay 2 -D "$work/headers" -o "$r_out" -w '%{http_code}' "$@" "$r_url" 2>"$work/curl.err")"; then
        fail "cannot reach $S3_ENDPOINT: $(tail -n 1 "$work/curl.err" | sed 's/^curl: ([0-9]*) //')"
    fi
}
header() { tr -d '\r' < "$work/headers" | awk -v h="$1" 'BEGIN { h = tolower(h) } { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == h) { v = substr($0, i + 1); sub(/^ */, "", v); last = v } } END { print last }'; }
xml() { tr -d '\r\n' < "$2" | sed -n "s:.*<$1>\([^<]*\)</$1>.*:\1:p"; }
# refused WHAT BODY: the run fails with the S3 error, in one line.
refused() {
    code="$(xml Code "$2")"
    msg="$(xml Message "$2" | sed "s/&#39;/'/g; s/&quot;/\"/g; s/&#34;/\"/g")"
    case "$code" in
        InvalidAccessKeyId | SignatureDoesNotMatch | InvalidToken | ExpiredToken)
            fail "$S3_ENDPOINT refused the credentials of Secret $S3_SECRET ($code: $msg) while trying to $1" ;;
        AuthorizationHeaderMalformed) fail "$S3_ENDPOINT refused the request's signature ($code: $msg): check backups.s3.region" ;;
        AccessDenied) fail "the credentials of Secret $S3_SECRET may not $1 (AccessDenied: $msg)" ;;
        NoSuchBucket) fail "the bucket $S3_BUCKET does not exist at $S3_ENDPOINT (NoSuchBucket), so nothing could $1" ;;
        *) fail "could not $1: HTTP $status@{code:+ $code}@{msg:+: $msg}" ;;
    esac
}

# listing SET: every object under $S3_PREFIX/SET/, one "key<TAB>size<TAB>last-modified<TAB>etag" line each, in
# $work/list (all pages).
listing() {
    : > "$work/list"
    after=""
    while :; do
        q="list-type=2&prefix=$(enc "$S3_PREFIX/$1/")"
        [ -z "$after" ] || q="$q&start-after=$(enc "$after")"
        req GET "$base?$q" "$work/page"
        [ "$status" = 200 ] || refused "list $where/$1/" "$work/page"
        tr -d '\r\n' < "$work/page" | sed 's:<Contents>:\n:g' | awk -F '\t' '
            function f(n,   a, b) { a = index($0, "<" n ">"); if (!a) return ""; b = substr($0, a + length(n) + 2); return substr(b, 1, index(b, "</" n ">") - 1) }
            NR > 1 { e = f("ETag"); gsub(/&#34;|&quot;|"/, "", e); print f("Key") "\t" f("Size") "\t" f("LastModified") "\t" e }' > "$work/page.tsv"
        cat "$work/page.tsv" >> "$work/list"
        tr -d '\r\n' < "$work/page" | grep -q '<IsTruncated>true</IsTruncated>' || break
        after="$(tail -n 1 "$work/page.tsv" | cut -f1)"
        [ -n "$after" ] || fail "list $where/$1/: a truncated page without keys"
    done
}
# remote KEY: "size etag" of KEY in the last listing, or nothing.
remote() { awk -F '\t' -v k="$1" '$1 == k { print $2 " " $4 }' "$work/list"; }

# put FILE KEY: uploads FILE as KEY (multipart), then verifies the object; nothing is under KEY unless whole.
put() {
    p_file="$1" p_key="$2"
    p_url="$base/$p_key"
    p_size="$(wc -c < "$p_file" | tr -d ' ')"
    part_bytes=$((S3_PART_MIB * 1048576))
    parts=$(((p_size + part_bytes - 1) / part_bytes))
    [ "$parts" -ge 1 ] || parts=1
    [ "$parts" -le 10000 ] || fail "$p_file: $p_size bytes need more than 10000 parts of @{S3_PART_MIB}Mi; raise backups.s3.partSize"
    req POST "$p_url?uploads=" "$work/resp"
    [ "$status" = 200 ] || refused "start the upload of $p_key" "$work/resp"
    id="$(xml UploadId "$work/resp")"
    [ -n "$id" ] || fail "start the upload of $p_key: no UploadId in the answer"
    pending="$p_url?uploadId=$(enc "$id")"
    printf '<CompleteMultipartUpload>' > "$work/complete"
    : > "$work/md5s"
    n=1
    while [ "$n" -le "$parts" ]; do
        if [ "$parts" -eq 1 ]; then
            part="$p_file"
        else
            part="$work/part"
            dd if="$p_file" of="$part" bs=1048576 skip=$(((n - 1) * S3_PART_MIB)) count="$S3_PART_MIB" 2>/dev/null || fail "$p_file: cannot read part $n (into $work)"
        fi
        md5="$(md5sum < "$part" | cut -c1-32)"
        sha="$(sha256sum < "$part" | cut -c1-64)"
        req PUT "$p_url?partNumber=$n&uploadId=$(enc "$id")" "$work/resp" -T "$part" -H "Content-MD5: $(hexbin "$md5" | base64)" -H "x-amz-content-sha256: $sha"
        [ "$status" = 200 ] || refused "upload part $n of $p_key" "$work/resp"
        etag="$(header ETag | tr -d '"')"
        printf '<Part><PartNumber>%s</PartNumber><ETag>"%s"</ETag></Part>' "$n" "$etag" >> "$work/complete"
        printf '%s' "$md5" >> "$work/md5s"
        n=$((n + 1))
    done
    printf '</CompleteMultipartUpload>' >> "$work/complete"
    req POST "$pending" "$work/resp" --data-binary "@$work/complete" -H "Content-Type: application/xml" -H "x-amz-content-sha256: $(sha256sum < "$work/complete" | cut -c1-64)"
    # S3 may answer 200 with an error in the body.
    { [ "$status" = 200 ] && ! grep -q '<Error>' "$work/resp"; } || refused "complete the upload of $p_key" "$work/resp"
    pending=""
    expected="$(hexbin "$(cat "$work/md5s")" | md5sum | cut -c1-32)-$parts"
    verify "$p_file" "$p_key" "$p_size" "$expected"
}

# verify FILE KEY SIZE EXPECTED-ETAG: the object is FILE, by its size and ETag, or read back by sha256 where
# the server's ETag is not an MD5. A mismatch deletes the object and fails the run.
verify() {
    req HEAD "$base/$2" "$work/head"
    [ "$status" = 200 ] || fail "$2 is not readable after its upload (HTTP $status)"
    v_size="$(header Content-Length)"
    v_etag="$(header ETag | tr -d '"')"
    why=""
    if [ "$v_size" != "$3" ]; then
        why="$v_size bytes in the bucket, $3 here"
    elif [ "$v_etag" != "$4" ]; then
        if printf '%s' "$v_etag" | grep -Eq '^[0-9a-f]{32}(-[0-9]+)?$'; then
            why="ETag $v_etag, expected $4"
        else
            # Streamed into sha256sum: the scratch space holds one part, not the object.
            rm -f "$work/curl.rc"
            # shellcheck disable=SC2086 # $cacert is empty or two words
            v_sha="$({ printf '%s\n' "$user_line" | curl -q -sS -K - --aws-sigv4 "aws:amz:$S3_REGION:s3" $cacert --connect-timeout 10 \
                -H "x-amz-content-sha256: $EMPTY_SHA" -D "$work/headers" "$base/$2" 2>"$work/curl.err" || echo "$?" > "$work/curl.rc"; } | sha256sum | cut -c1-64)"
            [ ! -f "$work/curl.rc" ] || fail "cannot reach $S3_ENDPOINT: $(tail -n 1 "$work/curl.err" | sed 's/^curl: ([0-9]*) //')"
            status="$(tr -d '\r' < "$work/headers" | awk '/^HTTP\// { c = $2 } END { print c }')"
            [ "$status" = 200 ] || fail "could not read $2 back: HTTP $status"
            [ "$v_sha" = "$(sha256sum < "$1" | cut -c1-64)" ] || why="the object read back differs (sha256)"
        fi
    fi
    if [ -n "$why" ]; then
        req DELETE "$base/$2" "$work/resp" || true
        fail "$2 failed its check after the upload ($why); it was deleted"
    fi
}

delete() {
    req DELETE "$base/$1" "$work/resp"
    case "$status" in 200 | 204) ;; *) refused "delete $1" "$work/resp" ;; esac
}

# get KEY FILE SIZE: KEY into FILE (through a hidden partial file), its size checked.
get() {
    mkdir -p "$(dirname "$2")"
    g_partial="$(dirname "$2")/.partial-$(basename "$2")"
    req GET "$base/$1" "$g_partial"
    [ "$status" = 200 ] || refused "download $1" "$g_partial"
    g_size="$(wc -c < "$g_partial" | tr -d ' ')"
    [ "$g_size" = "$3" ] || fail "$1: downloaded $g_size bytes, the bucket lists $3"
    mv "$g_partial" "$2"
}

cmd_upload() {
    set_="$1" dir="$2" glob="$3"
    shift 3
    companion=""
    [ "@{1:-}" != --companion ] || companion="$2"
    [ -d "$dir" ] || fail "$dir: no such directory"
    listing "$set_"
    # Files older than the bucket's retention would be pruned at once (and come back at every run): skipped.
    find "$dir" -mindepth 1 -name '.*' -prune -o -type f -name "$glob" -mtime -"$S3_RETENTION_DAYS" -print | sort > "$work/local"
    uploaded=0 present=0
    while read -r f; do
        rel="@{f#"$dir"/}"
        key="$S3_PREFIX/$set_/$rel"
        size="$(wc -c < "$f" | tr -d ' ')"
        have="$(remote "$key")"
        if [ "@{have%% *}" = "$size" ] && { [ -z "$companion" ] || [ -n "$(remote "$key$companion")" ]; }; then
            present=$((present + 1))
            continue
        fi
        if [ -n "$companion" ] && [ ! -f "$f$companion" ]; then
            fail "$f has no $companion file: the backup did not complete, so it is not uploaded"
        fi
        put "$f" "$key"
        # The companion last: with it, the object counts as complete in the bucket.
        [ -z "$companion" ] || put "$f$companion" "$key$companion"
        uploaded=$((uploaded + 1))
        say "uploaded $rel ($size bytes) to $where/$set_/, verified"
    done < "$work/local"
    say "$uploaded uploaded, $present already in $where/$set_/"
}

cmd_prune() {
    set_="$1" glob="$2"
    shift 2
    companion="" also=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --companion) companion="$2"; shift 2 ;;
            --older-than-oldest) also="$2"; shift 2 ;;
            *) fail "prune: unknown argument $1" ;;
        esac
    done
    listing "$set_"
    now="$(date -u +%s)"
    cutoff="$(date -u -d "@$((now - S3_RETENTION_DAYS * 86400))" +%Y-%m-%dT%H:%M:%S)"
    # One line per object that matches GLOB: "time key complete", newest first.
    : > "$work/objects"
    while IFS="$(printf '\t')" read -r key size modified etag; do
        name="@{key##*/}"
        # shellcheck disable=SC2254 # GLOB is a pattern
        case "$name" in
            $glob) c=1; [ -z "$companion" ] || { [ -n "$(remote "$key$companion")" ] || c=0; }; printf '%s %s %s\n' "$modified" "$key" "$c" >> "$work/objects" ;;
        esac
    done < "$work/list"
    sort -r "$work/objects" | awk -v keep="$S3_RETENTION_COUNT" -v cutoff="$cutoff" '
        { if ($3 == 1 && kept < keep) { kept++; print "keep " $0 } else if ($1 < cutoff) print "drop " $0; else print "keep " $0 }' > "$work/decisions"
    removed=0
    while read -r what modified key c; do
        [ "$what" = drop ] || continue
        # The companion first: a half-pruned dump is an incomplete one, never a complete-looking one.
        [ -z "$companion" ] || [ -z "$(remote "$key$companion")" ] || delete "$key$companion"
        delete "$key"
        removed=$((removed + 1))
        say "pruned @{key#"$S3_PREFIX"/} (from $modified)"
    done < "$work/decisions"
    # Companions whose object is gone.
    if [ -n "$companion" ]; then
        while IFS="$(printf '\t')" read -r key size modified etag; do
            case "$key" in *"$companion") ;; *) continue ;; esac
            [ -z "$(remote "@{key%"$companion"}")" ] || continue
            if awk -v a="$modified" -v b="$cutoff" 'BEGIN { exit !(a < b) }'; then delete "$key"; fi
        done < "$work/list"
    fi
    kept="$(grep -c '^keep .* 1$' "$work/decisions" || true)"
    say "$removed pruned, $kept complete kept in $where/$set_/ (@{S3_RETENTION_COUNT} newest at least, the rest younger than @{S3_RETENTION_DAYS} days)"
    if [ -n "$also" ]; then
        oldest="$(grep '^keep .* 1$' "$work/decisions" | tail -n 1 | cut -d' ' -f2)"
        [ -n "$oldest" ] || { say "no complete object kept: nothing pruned in $where/$also/"; return 0; }
        # Objects of SET2 written before the oldest kept one (a day of margin) can no longer be replayed.
        limit="$(date -u -d "@$(($(date -u -d "$(printf '%s' "$oldest" | sed 's/T/ /; s/\..*//; s/Z$//')" +%s) - 86400))" +%Y-%m-%dT%H:%M:%S)"
        listing "$also"
        removed=0
        while IFS="$(printf '\t')" read -r key size modified etag; do
            if awk -v a="$modified" -v b="$limit" 'BEGIN { exit !(a < b) }'; then
                delete "$key"
                removed=$((removed + 1))
            fi
        done < "$work/list"
        say "$removed pruned in $where/$also/ (written before $limit, a day before the oldest kept one)"
    fi
}

cmd_list() {
    listing "$1"
    awk -F '\t' '{ print $1 "\t" $2 "\t" $3 }' "$work/list"
}

cmd_fetch_latest() {
    set_="$1" dir="$2"
    shift 2
    before="" name=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --before) before="$2"; shift 2 ;;
            --name) name="$2"; shift 2 ;;
            *) fail "fetch-latest: unknown argument $1" ;;
        esac
    done
    listing "$set_"
    # Names carry their UTC stamp (...-YYYYMMDDTHHMMSSZ.ext): "at or before" compares stamps.
    stamp=""
    [ -z "$before" ] || stamp="$(printf '%s' "$before" | sed -n 's/^\([0-9]\{4\}\)-\([0-9]\{2\}\)-\([0-9]\{2\}\)[ T]\([0-9]\{2\}\):\([0-9]\{2\}\):\([0-9]\{2\}\).*/\1\2\3T\4\5\6Z/p')"
    [ -z "$before" ] || [ -n "$stamp" ] || fail "--before $before: expected 'YYYY-MM-DD HH:MM:SS' (UTC)"
    chosen="$(awk -F '\t' -v c="${S3_COMPANION}" -v stamp="$stamp" -v name="$name" '
        { size[$1] = $2 }
        END {
            for (k in size) {
                if (substr(k, length(k) - length(c) + 1) == c || !((k c) in size)) continue
                n = k; sub(/.*\//, "", n)
                if (name != "" && n != name) continue
                s = n; if (!match(s, /[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z/)) continue
                s = substr(s, RSTART, RLENGTH)
                if (stamp != "" && s > stamp) continue
                if (s > best) { best = s; key = k }
            }
            if (key != "") print key "\t" size[key] "\t" size[key c]
        }' "$work/list")"
    [ -n "$chosen" ] || fail "no complete backup in $where/$set_/@{name:+ named $name}@{before:+ taken at or before $before UTC}"
    key="$(printf '%s' "$chosen" | cut -f1)"
    base_name="@{key##*/}"
    mkdir -p "$dir"
    get "$key" "$dir/$base_name" "$(printf '%s' "$chosen" | cut -f2)"
    get "$key${S3_COMPANION}" "$dir/$base_name${S3_COMPANION}" "$(printf '%s' "$chosen" | cut -f3)"
    (cd "$dir" && sha256sum -c "$base_name${S3_COMPANION}" > /dev/null 2>&1) || fail "$key: the downloaded file does not match its sha256"
    printf '%s\n' "$base_name" > "$dir/LATEST"
    say "fetched $base_name from $where/$set_/ into $dir, sha256 checked"
}

cmd_fetch_all() {
    set_="$1" dir="$2"
    listing "$set_"
    mkdir -p "$dir"
    count=0
    while IFS="$(printf '\t')" read -r key size modified etag; do
        get "$key" "$dir/@{key#"$S3_PREFIX/$set_/"}" "$size"
        count=$((count + 1))
    done < "$work/list"
    say "fetched $count object(s) of $where/$set_/ into $dir"
}

# The backup Jobs' step: upload, then (only after a good upload) the bucket's retention.
cmd_backup() {
    b_set="$1" b_dir="$2" b_glob="$3"
    shift 3
    b_companion="" b_prune=0 b_also=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --companion) b_companion="$2"; shift 2 ;;
            --prune) b_prune=1; shift ;;
            --older-than-oldest) b_also="$2"; shift 2 ;;
            *) fail "backup: unknown argument $1" ;;
        esac
    done
    cmd_upload "$b_set" "$b_dir" "$b_glob" @{b_companion:+--companion "$b_companion"}
    [ "$b_prune" = 1 ] || return 0
    cmd_prune "$b_set" "$b_glob" @{b_companion:+--companion "$b_companion"} @{b_also:+--older-than-oldest "$b_also"}
}

[ $# -ge 2 ] || fail "usage: s3.sh backup|upload|prune|list|fetch-latest|fetch-all SET ... (see components/backup/s3script.ts)"
command="$1"
shift
case "$command" in
    backup) [ $# -ge 3 ] || fail "usage: s3.sh backup SET DIR GLOB [--companion SUFFIX] [--prune [--older-than-oldest SET2]]"; cmd_backup "$@" ;;
    upload) [ $# -ge 3 ] || fail "usage: s3.sh upload SET DIR GLOB [--companion SUFFIX]"; cmd_upload "$@" ;;
    prune) [ $# -ge 2 ] || fail "usage: s3.sh prune SET GLOB [--companion SUFFIX] [--older-than-oldest SET2]"; cmd_prune "$@" ;;
    list) cmd_list "$1" ;;
    fetch-latest) [ $# -ge 2 ] || fail "usage: s3.sh fetch-latest SET DIR [--before 'YYYY-MM-DD HH:MM:SS'] [--name NAME]"; cmd_fetch_latest "$@" ;;
    fetch-all) [ $# -ge 2 ] || fail "usage: s3.sh fetch-all SET DIR"; cmd_fetch_all "$@" ;;
    *) fail "unknown command $command (backup, upload, prune, list, fetch-latest, fetch-all)" ;;
esac
`.split("@{").join("${");
}
