// The local side of every backup: the claim a backup writes to first (the only copy without `backups.s3`, the
// staging area with it). A full claim is the failure operators meet most, and the tools' own messages (gzip's
// "No space left on device", a dump's broken pipe) do not say which volume or what to change.

/**
 * Shell (bash and busybox sh) defining `staging_full DIR`: when the volume of DIR has under 1 MiB free, one
 * line `<log>: FAILED: the staging volume DIR is full ...` on stderr. Called by the scripts' EXIT traps on
 * failure, before the partial file is removed (the space it took is the evidence).
 */
export function stagingFullFunction(o: { log: string; sizeKey: string; retentionKey: string }): string {
    return (
        `staging_full() { df -Pk "$1" 2>/dev/null | awk -v dir="$1" 'NR == 2 && $4 < 1024 { printf "${o.log}: FAILED: the staging volume %s is full (%d KiB free of %d KiB); ` +
        `earlier backups are untouched; raise ${o.sizeKey} or lower ${o.retentionKey}\\n", dir, $4, $2 }' >&2; }`
    );
}
