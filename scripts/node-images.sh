#!/usr/bin/env bash
# Test images for the real nodes (scripts/nodes.sh), built here from Debian's binaries: no registry is
# reachable, so nothing is pulled. Each is a one-layer OCI archive cached under ~/.cache/msa-infra, keyed by
# the content it is made of (this script, the packer, the binaries and libraries copied in).
#
#   bash scripts/node-images.sh build      build (or reuse) every image; prints "ARCHIVE NAME..." per image
#   bash scripts/node-images.sh list       the same lines, without building (fails if one is not built)
#
# What differs from the official images: tests/pods/IMAGES.md (the one place that says it).
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'node-images: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra"
pack="$repo/scripts/lib/oci-pack.sh"

# The sandbox image the containerd config names (sandbox_image); kubelet 1.34's default tag.
PAUSE_IMAGE="registry.k8s.io/pause:3.10"

# Redis: every tag the renders name (the seed's default and prod's pinned release). The kubelet asks for the
# fully qualified form, so that is what is imported.
redis_names() {
    local tags t
    tags="$(sed -n 's/^[[:space:]]*image: "\{0,1\}\(redis:[^"[:space:]]*\)"\{0,1\}.*/\1/p' "$repo/components/redis/settings.ts" "$repo"/Pulumi.*.yaml | sort -u)"
    [ -n "$tags" ] || die "no redis image named in components/redis/settings.ts or Pulumi.*.yaml"
    for t in $tags; do printf 'docker.io/library/%s\n' "$t"; done
}

find_bin() { # NAME: the binary on PATH or in the sbin directories Debian installs daemons in
    local d
    for d in $(tr ':' ' ' <<<"$PATH") /usr/sbin /usr/local/sbin /sbin; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    return 1
}

# Copies FILE into ROOTFS at DEST (default: its own path), with every shared library ldd names (and the
# dynamic loader), each at its own path.
copy_with_libs() { # ROOTFS FILE [DEST]
    local rootfs="$1" file="$2" dest="${3:-$2}" lib
    mkdir -p "$rootfs$(dirname "$dest")"
    cp -L "$file" "$rootfs$dest"
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
        [ -e "$rootfs$lib" ] && continue
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
    done
}

# The content key: this script, the packer and every input file's bytes.
content_key() { # FILES...
    { sha256sum "${BASH_SOURCE[0]}" "$pack" "$@" | cut -d' ' -f1; } | sha256sum | cut -c1-16
}

# --- pause -----------------------------------------------------------------------------------------------------
build_pause() {
    local src="$repo/tools/nodes/pause" key out go
    key="$(content_key "$src/main.go" "$src/go.mod")"
    out="$cache_root/image-pause-$key.tar"
    if [ ! -f "$out" ]; then
        go="$(command -v go || echo /usr/local/go/bin/go)"
        [ -x "$go" ] || die "Go is needed to build the pause binary"
        local root
        root="$(mktemp -d)"
        (cd "$src" && CGO_ENABLED=0 "$go" build -buildvcs=false -trimpath -ldflags "-s -w" -o "$root/pause" .)
        "$pack" "$root" "$out" "$PAUSE_IMAGE" '{"Entrypoint":["/pause"],"User":"65535:65535"}'
        rm -rf "$root"
        say "built $PAUSE_IMAGE into $out"
    fi
    echo "$out $PAUSE_IMAGE"
}

# --- redis -----------------------------------------------------------------------------------------------------
# Debian's redis-server (7.0.15 on bookworm) and busybox as the official redis:7.2-alpine lays them out:
# /usr/local/bin/redis-*, busybox applets in /bin (sh, the probes' shell), user redis 999 / group 1000,
# WORKDIR /data owned by redis, entrypoint docker-entrypoint.sh.
build_redis() {
    local server cli bb key out names
    server="$(find_bin redis-server)" || die "redis-server is missing (Debian: apt-get install redis-server)"
    cli="$(find_bin redis-cli)" || die "redis-cli is missing (Debian: apt-get install redis-tools)"
    bb="$(find_bin busybox)" || die "busybox is missing (Debian: apt-get install busybox)"
    local libs
    libs="$(ldd "$server" "$cli" "$bb" | grep -o '/[^ :]*' | sort -u)"
    local inputs=() l
    for l in "$server" "$cli" "$bb" $libs; do inputs+=("$(readlink -f "$l")"); done
    key="$(content_key "${inputs[@]}")"
    out="$cache_root/image-redis-$key.tar"
    mapfile -t names < <(redis_names)
    if [ ! -f "$out" ]; then
        local root a
        root="$(mktemp -d)"
        chmod 755 "$root"
        copy_with_libs "$root" "$server" /usr/local/bin/redis-server
        copy_with_libs "$root" "$cli" /usr/local/bin/redis-cli
        for a in redis-sentinel redis-check-aof redis-check-rdb; do ln -s redis-server "$root/usr/local/bin/$a"; done
        copy_with_libs "$root" "$bb" /bin/busybox
        for a in $("$bb" --list); do
            [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
        done
        mkdir -p "$root"/{etc,tmp,data,usr/local/sbin,usr/sbin,usr/bin,sbin,proc,sys,dev,run}
        chmod 1777 "$root/tmp"
        printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:1000:Linux User,,,:/home/redis:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$root/etc/passwd"
        printf 'root:x:0:root\nredis:x:1000:redis\nnogroup:x:65534:\n' >"$root/etc/group"
        chown 999:1000 "$root/data"
        cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# The official image's entrypoint contract: options or a *.conf as first argument run redis-server with
# them; a 077 umask unless one was set. This image cannot drop from root to redis (no su-exec in busybox):
# run it as user 999, as the render does.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    echo "docker-entrypoint.sh: this test image runs redis-server as root (no su-exec); set runAsUser: 999" >&2
fi
um="$(umask)"
if [ "$um" = 0022 ]; then
    umask 0077
fi
exec "$@"
EOF
        chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
        local version
        version="$("$server" --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"
        "$pack" "$root" "$out" "${names[0]}" "$(printf '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["redis-server"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","REDIS_VERSION=%s"],"WorkingDir":"/data","ExposedPorts":{"6379/tcp":{}},"Volumes":{"/data":{}}}' "$version")"
        rm -rf "$root"
        say "built redis (Debian redis-server $version) into $out"
    fi
    echo "$out ${names[*]}"
}

# --- mariadb ---------------------------------------------------------------------------------------------------
# MariaDB: every tag the renders name (the seed's default and prod's pinned release), fully qualified.
mariadb_names() {
    local tags t
    tags="$(sed -n 's/^[[:space:]]*image: "\{0,1\}\(mariadb:[^"[:space:]]*\)"\{0,1\}.*/\1/p' "$repo/components/mariadb/settings.ts" "$repo"/Pulumi.*.yaml | sort -u)"
    [ -n "$tags" ] || die "no mariadb image named in components/mariadb/settings.ts or Pulumi.*.yaml"
    for t in $tags; do printf 'docker.io/library/%s\n' "$t"; done
}

# Debian's MariaDB 10.11 (mariadb-server-core, mariadb-client-core, mariadb-client) laid out as the official
# mariadb:10.11 image has it: server and clients in /usr/sbin and /usr/bin with their share files
# (/usr/share/mysql: errmsg.sys, charsets, the install-db SQL) and plugins, /etc/mysql/my.cnf reading
# mariadb.conf.d then conf.d, user mysql 999:999 owning /var/lib/mysql, /run/mysqld mode 1777, time zones for
# the first start, bash and the tools the render's scripts call (prepare-volume, reconcile, start/clone/ready,
# backup and binlog archive), and docker-entrypoint.sh / healthcheck.sh written here (tools/nodes/mariadb).
MARIADB_SERVER_BINS=(mariadbd)
MARIADB_CLIENT_BINS=(mariadb mariadb-admin mariadb-dump mariadb-binlog mariadb-check mariadb-upgrade mariadb-tzinfo-to-sql my_print_defaults resolveip)
# Besides coreutils (all of it, as in the official image's Ubuntu base).
MARIADB_TOOLS=(bash dash sed grep mawk find xargs gzip zstd hostname setpriv)
build_mariadb() {
    local src="$repo/tools/nodes/mariadb" b p files=() bins=() inputs=() l
    for p in mariadb-server-core mariadb-client-core mariadb-client coreutils; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || die "$p is missing (Debian: apt-get install mariadb-server mariadb-client)"
    done
    for b in "${MARIADB_SERVER_BINS[@]}" "${MARIADB_CLIENT_BINS[@]}" "${MARIADB_TOOLS[@]}"; do
        p="$(find_bin "$b")" || die "$b is missing on this machine (needed in the MariaDB test image)"
        bins+=("$(readlink -f "$p")")
    done
    while read -r p; do
        [ -f "$p" ] && [ ! -L "$p" ] && bins+=("$p")
    done < <(dpkg -L coreutils | grep -E '^/(usr/)?bin/')
    bins+=(/usr/bin/mariadb-install-db) # a shell script: no libraries
    # Plugins (loaded on demand: auth_ed25519, file_key_management, ...) with their libraries.
    mapfile -t files < <(find /usr/lib/mysql/plugin -type f -name '*.so' | sort)
    local libs
    libs="$({ ldd "${bins[@]}" "${files[@]}" 2>/dev/null || true; } | grep -o '/[^ :]*\.so[^ :]*' | sort -u)"
    for l in "${bins[@]}" "${files[@]}" $libs; do inputs+=("$(readlink -f "$l")"); done
    # The share files (errmsg.sys per language, charsets, SQL) and the time zones, by their bytes.
    mapfile -t -O "${#inputs[@]}" inputs < <(find /usr/share/mysql /usr/share/zoneinfo -type f | sort)
    inputs+=("$src/docker-entrypoint.sh" "$src/healthcheck.sh")
    local key out names version
    key="$(content_key "${inputs[@]}")"
    out="$cache_root/image-mariadb-$key.tar"
    mapfile -t names < <(mariadb_names)
    version="$(dpkg-query -W -f='${Version}' mariadb-server-core)"
    if [ ! -f "$out" ]; then
        local root
        root="$(mktemp -d)"
        chmod 755 "$root"
        # Merged /usr, as Ubuntu (the official image's base) and Debian lay it out.
        mkdir -p "$root"/usr/{bin,sbin,lib,lib64,local/bin}
        for b in bin sbin lib lib64; do ln -s "usr/$b" "$root/$b"; done
        for b in "${bins[@]}" "${files[@]}"; do copy_with_libs "$root" "$b"; done
        # Names as the official image (and the render's scripts) use them.
        ln -s mawk "$root/usr/bin/awk"
        ln -s dash "$root/usr/bin/sh"
        printf '#!/bin/sh\nexec gzip -d "$@"\n' >"$root/usr/bin/gunzip"
        printf '#!/bin/sh\nexec gzip -dc "$@"\n' >"$root/usr/bin/zcat"
        chmod 755 "$root/usr/bin/gunzip" "$root/usr/bin/zcat"
        for b in mysql:mariadb mysqladmin:mariadb-admin mysqldump:mariadb-dump mysqlbinlog:mariadb-binlog mysqlcheck:mariadb-check \
            mysql_upgrade:mariadb-upgrade mysql_install_db:mariadb-install-db mysql_tzinfo_to_sql:mariadb-tzinfo-to-sql; do
            ln -s "${b#*:}" "$root/usr/bin/${b%%:*}"
        done
        ln -s mariadbd "$root/usr/sbin/mysqld"
        mkdir -p "$root/usr/share"
        cp -a /usr/share/mysql /usr/share/zoneinfo "$root/usr/share/"
        install -m 755 "$src/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
        install -m 755 "$src/healthcheck.sh" "$root/usr/local/bin/healthcheck.sh"
        mkdir -p "$root"/{etc/mysql/conf.d,etc/mysql/mariadb.conf.d,docker-entrypoint-initdb.d,tmp,var/lib/mysql,run/mysqld,proc,sys,dev,root}
        chmod 1777 "$root/tmp" "$root/run/mysqld"
        printf '[client-server]\nsocket = /run/mysqld/mysqld.sock\n\n!includedir /etc/mysql/mariadb.conf.d/\n!includedir /etc/mysql/conf.d/\n' >"$root/etc/mysql/my.cnf"
        printf '[mariadb]\nhost-cache-size=0\nskip-name-resolve\n' >"$root/etc/mysql/mariadb.conf.d/05-skipcache.cnf"
        printf 'root:x:0:0:root:/root:/bin/bash\nmysql:x:999:999::/var/lib/mysql:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
        printf 'root:x:0:\nmysql:x:999:\nnogroup:x:65534:\n' >"$root/etc/group"
        printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
        # The kubelet mounts its own; this one serves the image outside a pod (healthcheck.sh's TCP test names localhost).
        printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
        chown 999:999 "$root/var/lib/mysql"
        "$pack" "$root" "$out" "${names[0]}" "$(printf '{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["mariadbd"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","MARIADB_VERSION=%s","LANG=C.UTF-8"],"ExposedPorts":{"3306/tcp":{}},"Volumes":{"/var/lib/mysql":{}}}' "$version")"
        rm -rf "$root"
        say "built mariadb (Debian $version) into $out ($(du -m "$out" | cut -f1) MB)"
    fi
    echo "$out ${names[*]}"
}

# --- kafka -----------------------------------------------------------------------------------------------------
# Kafka: every apache/kafka tag the renders name (settings.ts's default, a stack's kafka.image), fully qualified.
kafka_names() {
    local tags t
    tags="$(sed -n 's/^[[:space:]]*image: "\{0,1\}\(apache\/kafka:[^"[:space:]]*\)"\{0,1\}.*/\1/p' "$repo/components/kafka/settings.ts" "$repo"/Pulumi.*.yaml | sort -u)"
    [ -n "$tags" ] || die "no apache/kafka image named in components/kafka/settings.ts or Pulumi.*.yaml"
    for t in $tags; do printf 'docker.io/%s\n' "$t"; done
}

# The Java runtime's modules: java.se plus what Kafka and its tools reach outside it (sun.misc.Unsafe for
# netty/snappy, com.sun.management for the OS metrics, the JMX agent kafka-run-class.sh turns on, EC and
# PKCS#11 crypto for TLS, JAAS/GSS logins, DNS naming, jcmd for heap and thread dumps).
KAFKA_JRE_MODULES=java.se,jdk.unsupported,jdk.management,jdk.management.agent,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.security.auth,jdk.security.jgss,jdk.naming.dns,jdk.zipfs,jdk.jfr,jdk.net,jdk.charsets,jdk.jcmd

# The Maven-built Kafka 3.8.1 (scripts/kafka-dist.sh) on a Java 17 runtime jlink'd from Debian's
# openjdk-17-jdk-headless (about 66 MB; Debian's JRE directory is 180+ MB and links into /etc), with Debian's
# bash and busybox for the applets the render's scripts use (od, dd, head, tr, awk, sed, grep, sort, ...),
# laid out as apache/kafka:3.8.1 has them: /opt/kafka/{bin,libs,config}, the runtime in /opt/java/openjdk
# (JAVA_HOME, on PATH), user appuser 1000:1000, /var/lib/kafka/data, /etc/kafka/secrets and
# /mnt/shared/config owned by it, CMD /etc/kafka/docker/run.
build_kafka() {
    local dist jdk jlink bash bb key out names
    dist="$(bash "$repo/scripts/kafka-dist.sh" | sed -n 's/^KAFKA_DIST=//p' | tail -n 1)"
    [ -n "$dist" ] && [ -f "$dist/libs/kafka_2.13-3.8.1.jar" ] || die "scripts/kafka-dist.sh did not produce the Kafka 3.8.1 jars"
    jlink="$(command -v jlink || true)"
    [ -n "$jlink" ] || jlink=/usr/lib/jvm/java-17-openjdk-amd64/bin/jlink
    [ -x "$jlink" ] || die "jlink is missing (Debian: apt-get install openjdk-17-jdk-headless)"
    jdk="$(dirname "$(dirname "$(readlink -f "$jlink")")")"
    "$jdk/bin/java" -version 2>&1 | grep -q 'version "17\.' || die "$jdk is not a Java 17 JDK (Kafka's test image runs on 17)"
    [ -d "$jdk/jmods" ] || die "$jdk/jmods is missing (Debian: apt-get install openjdk-17-jdk-headless)"
    bash="$(find_bin bash)" || die "bash is missing"
    bb="$(find_bin busybox)" || die "busybox is missing (Debian: apt-get install busybox)"
    local inputs=() l
    for l in "$bash" "$bb" $(ldd "$bash" "$bb" | grep -o '/[^ :]*' | sort -u); do inputs+=("$(readlink -f "$l")"); done
    # The runtime is keyed by the JDK modules it is linked from (the module list is in this script).
    key="$(content_key "${inputs[@]}" "$jdk/release" "$jdk"/jmods/*.jmod "$dist"/libs/*.jar "$dist"/bin/kafka-*.sh "$dist"/config/*)"
    out="$cache_root/image-kafka-$key.tar"
    mapfile -t names < <(kafka_names)
    if [ ! -f "$out" ]; then
        local root a t0=$SECONDS
        root="$(mktemp -d)"
        chmod 755 "$root"
        mkdir -p "$root/opt/java"
        "$jlink" --module-path "$jdk/jmods" --add-modules "$KAFKA_JRE_MODULES" --strip-debug --no-man-pages --no-header-files \
            --compress=1 --output "$root/opt/java/openjdk"
        # The libraries the runtime's binaries link (libc, libz, libstdc++; the AWT ones' X libraries too).
        for l in "$root"/opt/java/openjdk/bin/* $(find "$root/opt/java/openjdk/lib" -name '*.so'); do
            for a in $(ldd "$l" 2>/dev/null | sed -n -e 's/.*=> \(\/[^ ]*\).*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
                case "$a" in "$root"/*) continue ;; esac
                [ -e "$root$a" ] && continue
                mkdir -p "$root$(dirname "$a")"
                cp -L "$a" "$root$a"
            done
        done
        copy_with_libs "$root" "$bash" /bin/bash
        copy_with_libs "$root" "$bb" /bin/busybox
        for a in $("$bb" --list); do
            [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
        done
        mkdir -p "$root/opt/kafka/bin" "$root/usr/bin" "$root/usr/sbin" "$root/sbin"
        cp -a "$dist/libs" "$dist/config" "$root/opt/kafka/"
        rm -f "$root"/opt/kafka/libs/.pom-*
        cp "$dist"/bin/kafka-*.sh "$root/opt/kafka/bin/"
        mkdir -p "$root"/{etc/kafka/docker,etc/kafka/secrets,var/lib/kafka/data,mnt/shared/config,usr/logs,home/appuser,opt/kafka/logs,tmp,proc,sys,dev,run}
        chmod 1777 "$root/tmp"
        printf 'root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000:Linux User,,,:/home/appuser:/bin/bash\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$root/etc/passwd"
        printf 'root:x:0:root\nappuser:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
        printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
        # The official CMD turns KAFKA_* variables into server.properties (kafka.docker.KafkaDockerWrapper). The
        # render never runs it (its pods run /mnt/kafka-config/start.sh): this image says so instead of guessing.
        printf '%s\n' '#!/bin/bash' \
            'echo "run: this msa-infra test image has no KafkaDockerWrapper (the KAFKA_* to server.properties mapping); run a start script, as the render does (tests/pods/IMAGES.md)" >&2' \
            'exit 64' >"$root/etc/kafka/docker/run"
        chmod 755 "$root/etc/kafka/docker/run"
        # Ownership as the official Dockerfile sets it.
        chown -R 1000:1000 "$root"/{opt/kafka,usr/logs,mnt/shared/config,home/appuser}
        chown -R 1000:0 "$root"/{var/lib/kafka,etc/kafka}
        chmod -R ug+w "$root"/{var/lib/kafka,etc/kafka}
        "$pack" "$root" "$out" "${names[0]}" '{"Cmd":["/etc/kafka/docker/run"],"User":"appuser","Env":["PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/opt/java/openjdk"],"ExposedPorts":{"9092/tcp":{}},"Volumes":{"/etc/kafka/secrets":{},"/var/lib/kafka/data":{},"/mnt/shared/config":{}}}'
        say "built Kafka 3.8.1 on $("$jdk/bin/java" -version 2>&1 | head -n 1) (jlink: $(du -sm "$root/opt/java/openjdk" | cut -f1) MB) into $out ($(du -sm "$out" | cut -f1) MB) in $((SECONDS - t0)) s"
        rm -rf "$root"
    fi
    echo "$out ${names[*]}"
}

images=(pause redis mariadb kafka)

case "${1:-}" in
    build)
        for i in "${images[@]}"; do "build_$i"; done
        ;;
    pause-name) echo "$PAUSE_IMAGE" ;;
    list)
        # The archive names are only known from the content key; build is cheap when cached, so reuse it.
        for i in "${images[@]}"; do "build_$i"; done
        ;;
    *) die "usage: $0 build | list | pause-name" ;;
esac
