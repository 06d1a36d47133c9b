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

images=(pause redis)

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
