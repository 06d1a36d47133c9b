#!/usr/bin/env bash
# Packs a root file system directory as a one-layer OCI image archive (the layout `ctr images import` reads),
# reproducibly: sorted entries, fixed mtimes, numeric owners as they are in ROOTFS.
#
#   oci-pack.sh ROOTFS OUT.tar NAME CONFIG_JSON
#
# NAME is the fully qualified reference the image is imported as (io.containerd.image.name);
# CONFIG_JSON is the image config's "config" object (Entrypoint, Cmd, Env, User, WorkingDir, ...).
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 ROOTFS OUT.tar NAME CONFIG_JSON" >&2; exit 2; }
rootfs="$1" out="$2" name="$3" config="$4"
[ -d "$rootfs" ] || { echo "oci-pack: $rootfs is not a directory" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

case "$(uname -m)" in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac

# The layer: uncompressed tar (import unpacks it at once; compressing would only cost CPU).
tar --sort=name --mtime=@0 --numeric-owner --xattrs -C "$rootfs" -cf "$work/layer.tar" .
layer_digest="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
layer_size="$(stat -c %s "$work/layer.tar")"
mv "$work/layer.tar" "$work/blobs/sha256/$layer_digest"

blob() { # FILE -> prints "digest size" after moving FILE into blobs/
    local d s
    d="$(sha256sum "$1" | cut -d' ' -f1)"
    s="$(stat -c %s "$1")"
    mv "$1" "$work/blobs/sha256/$d"
    echo "$d $s"
}

printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"msa-infra scripts/lib/oci-pack.sh"}]}' \
    "$arch" "$config" "$layer_digest" >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")

tag="${name##*:}"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$arch" "$name" "$tag" >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
