// What the pack knows about programs by name: the data servers it guards, the admin clients that can change
// a running server's settings, the shells and wrappers whose arguments name another program, and the
// utilities that start no other program. Everything else is a program the pack cannot follow, and a
// start-up that runs one is unverifiable (the program might start a server or change its files).
//
// Knowing a utility by its name is a trust in standard names (a `cat` is cat); the README says so. It never
// makes a server look safe: a server is recognised by its own name wherever it runs.

export type ServerKind = "redis" | "mariadb" | "kafka";

/** Redis-compatible servers (and Sentinel). */
export const REDIS_SERVERS = new Set(["redis-server", "redis-sentinel", "valkey-server", "valkey-sentinel", "keydb-server", "keydb-sentinel", "redis-stack-server"]);
/** MariaDB/MySQL servers and their safe wrappers (which start the server with the same options). */
export const MARIADB_SERVERS = new Set(["mariadbd", "mysqld", "mariadbd-safe", "mysqld_safe", "mariadb-safe"]);
/** Kafka broker starters. */
export const KAFKA_STARTERS = new Set(["kafka-server-start.sh", "kafka-server-start"]);

export const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "hush", "rbash"]);

/** Programs that run their remaining arguments as a command (parsed in shellRun.ts). */
export const WRAPPERS = new Set([
    "exec",
    "env",
    "nohup",
    "nice",
    "ionice",
    "taskset",
    "chrt",
    "timeout",
    "stdbuf",
    "setsid",
    "time",
    "tini",
    "tini-static",
    "dumb-init",
    "catatonit",
    "gosu",
    "su-exec",
    "chpst",
    "setpriv",
    "runuser",
    "su",
    "sudo",
    "doas",
    "s6-setuidgid",
    "flock",
    "xargs",
    "command",
    "builtin",
    "busybox",
    "strace",
    "ltrace",
    "watch",
    "numactl",
]);

/**
 * Utilities that start no other program and change no file except as their arguments or redirections say
 * (those effects are modelled in shellRun.ts where they matter: cp, mv, rm, tee, sed -i, ln, install...).
 */
export const INERT = new Set([
    // shell builtins also found as programs
    "true",
    "false",
    ":",
    "test",
    "[",
    "echo",
    "printf",
    "sleep",
    "kill",
    "wait",
    "pwd",
    // coreutils / busybox
    "cat",
    "tac",
    "cp",
    "mv",
    "rm",
    "rmdir",
    "mkdir",
    "ln",
    "ls",
    "chmod",
    "chown",
    "chgrp",
    "touch",
    "stat",
    "date",
    "sed",
    "grep",
    "egrep",
    "fgrep",
    "cut",
    "tr",
    "sort",
    "uniq",
    "head",
    "tail",
    "wc",
    "tee",
    "seq",
    "od",
    "hexdump",
    "xxd",
    "base64",
    "base32",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "md5sum",
    "cksum",
    "cmp",
    "diff",
    "comm",
    "paste",
    "join",
    "fold",
    "fmt",
    "nl",
    "rev",
    "expr",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "mktemp",
    "hostname",
    "id",
    "whoami",
    "groups",
    "uname",
    "nproc",
    "getent",
    "df",
    "du",
    "free",
    "ps",
    "pgrep",
    "pidof",
    "sync",
    "install",
    "dd",
    "truncate",
    "yes",
    "shuf",
    "split",
    "csplit",
    "numfmt",
    "tsort",
    "factor",
    "printenv",
    "tty",
    "logger",
    "gzip",
    "gunzip",
    "zcat",
    "bzip2",
    "bunzip2",
    "xz",
    "unxz",
    "zstd",
    "tar",
    "unzip",
    "zip",
    "envsubst",
    "jq",
    "yq",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "find",
    "which",
    "file",
    "iconv",
    "openssl",
    "keytool",
    "curl",
    "wget",
    "nc",
    "nslookup",
    "dig",
    "host",
    "ping",
    "getopt",
    "usleep",
    "arch",
    "uptime",
    "locale",
    // Redis tools that start no server
    "redis-benchmark",
    "redis-check-rdb",
    "redis-check-aof",
    "valkey-benchmark",
    "valkey-check-rdb",
    "valkey-check-aof",
    // MariaDB/MySQL clients and tools (they connect to a server or work on files; none starts a network server)
    "mariadb",
    "mysql",
    "mariadb-admin",
    "mysqladmin",
    "mariadb-dump",
    "mysqldump",
    "mariadb-binlog",
    "mysqlbinlog",
    "mariadb-check",
    "mysqlcheck",
    "mariadb-import",
    "mysqlimport",
    "mariadb-show",
    "mysqlshow",
    "mariadb-slap",
    "mysqlslap",
    "mariadb-upgrade",
    "mysql_upgrade",
    "mariadb-install-db",
    "mysql_install_db",
    "mariadb-tzinfo-to-sql",
    "mysql_tzinfo_to_sql",
    "mariadb-backup",
    "mariabackup",
    "mbstream",
    "my_print_defaults",
    "mariadb-secure-installation",
    "healthcheck.sh",
    // Kafka tools (admin clients; kafka-configs.sh is read for broker changes in shellRun.ts)
    "kafka-storage.sh",
    "kafka-topics.sh",
    "kafka-acls.sh",
    "kafka-console-consumer.sh",
    "kafka-console-producer.sh",
    "kafka-consumer-groups.sh",
    "kafka-broker-api-versions.sh",
    "kafka-metadata-quorum.sh",
    "kafka-features.sh",
    "kafka-reassign-partitions.sh",
    "kafka-log-dirs.sh",
    "kafka-get-offsets.sh",
    "kafka-leader-election.sh",
    "kafka-dump-log.sh",
    "kafka-delete-records.sh",
    "kafka-producer-perf-test.sh",
    "kafka-consumer-perf-test.sh",
    "kafka-transactions.sh",
    "kafka-cluster.sh",
    "kafka-metadata-shell.sh",
    "kafka-client-metrics.sh",
    "kafka-verifiable-producer.sh",
    "kafka-verifiable-consumer.sh",
    "kafka-storage",
    "kafka-topics",
    "kafka-acls",
    "kafka-console-consumer",
    "kafka-console-producer",
    "kafka-consumer-groups",
    "kafka-broker-api-versions",
    "kafka-metadata-quorum",
]);

/** Admin clients whose commands can change a running server's authentication or listeners (read in shellRun.ts). */
export const RECONFIGURING_CLIENTS = new Set(["redis-cli", "valkey-cli", "keydb-cli", "kafka-configs.sh", "kafka-configs"]);

/** The basename of a path-like word (`/usr/local/bin/redis-server` -> `redis-server`). */
export function programName(word: string): string {
    const i = word.lastIndexOf("/");
    return i < 0 ? word : word.slice(i + 1);
}

/** Which data server a program name starts, if any. */
export function serverKindOf(name: string): ServerKind | undefined {
    if (REDIS_SERVERS.has(name)) {
        return "redis";
    }
    if (MARIADB_SERVERS.has(name)) {
        return "mariadb";
    }
    if (KAFKA_STARTERS.has(name)) {
        return "kafka";
    }
    return undefined;
}
