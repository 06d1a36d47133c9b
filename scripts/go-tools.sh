#!/usr/bin/env bash
# Builds (or reuses) the small Go programs the tests run, from the Go module proxy, each pinned by the go.mod
# of its own module and cached under ~/.cache/msa-infra/<tool>-<version>/bin:
#
#   bash scripts/go-tools.sh promtool          github.com/prometheus/prometheus/cmd/promtool (tools/promtool)
#   bash scripts/go-tools.sh redis_exporter    github.com/oliver006/redis_exporter (tools/exporters/redis)
#   bash scripts/go-tools.sh actionlint        github.com/rhysd/actionlint/cmd/actionlint (tools/actionlint)
#   bash scripts/go-tools.sh versitygw         github.com/versity/versitygw/cmd/versitygw (tools/versitygw): the
#                                                   S3 server the S3 backup tests upload to
#   bash scripts/go-tools.sh crds              the Prometheus Operator's CRDs (PodMonitor, PrometheusRule) from
#                                                   the module github.com/prometheus-operator/prometheus-operator
#   bash scripts/go-tools.sh all               all of them
#   bash scripts/go-tools.sh path TOOL         print the binary's path, or with TOOL=crds the CRD directory
#                                                   (exit 1 when not built)
#
# Static binaries (CGO off), no VCS stamping; the module and build caches stay at Go's defaults.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# tool -> module dir, module path, package to build
declare -A dir=([promtool]="$repo/tools/promtool" [redis_exporter]="$repo/tools/exporters/redis" [actionlint]="$repo/tools/actionlint" [versitygw]="$repo/tools/versitygw")
declare -A mod=([promtool]=github.com/prometheus/prometheus [redis_exporter]=github.com/oliver006/redis_exporter [actionlint]=github.com/rhysd/actionlint [versitygw]=github.com/versity/versitygw)
declare -A pkg=([promtool]=github.com/prometheus/prometheus/cmd/promtool [redis_exporter]=github.com/oliver006/redis_exporter [actionlint]=github.com/rhysd/actionlint/cmd/actionlint [versitygw]=github.com/versity/versitygw/cmd/versitygw)

version() { awk -v m="${mod[$1]}" '($1 == m) { v = $2 } ($1 == "require" && $2 == m) { v = $3 } END { if (v == "") exit 1; print v }' "${dir[$1]}/go.mod"; }
cachedir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra/$1-$(version "$1")"; }
binpath() { echo "$(cachedir "$1")/bin/$1"; }

find_go() {
    if command -v go >/dev/null 2>&1; then command -v go; elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; else return 1; fi
}

build() {
    local tool="$1" out cache go t0
    [ -n "${dir[$tool]:-}" ] || die "unknown tool $tool (promtool, redis_exporter, actionlint, versitygw)"
    cache="$(cachedir "$tool")"
    out="$(binpath "$tool")"
    if [ -x "$out" ] && [ -f "$cache/.complete" ]; then
        say "$tool $(version "$tool") reused from $out"
        return 0
    fi
    go="$(find_go)" || die "Go is needed to build $tool from the Go module proxy"
    export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
    say "building $tool $(version "$tool") with $("$go" version)"
    t0=$(date +%s)
    rm -rf "$cache.tmp"
    mkdir -p "$cache.tmp/bin"
    local ldflags="-s -w"
    if [ "$tool" = promtool ]; then
        # What `promtool --version` prints.
        # Module v0.3MM.P is Prometheus 3.MM.P.
        local v minor
        v="$(version "$tool")"
        minor="${v#v0.}"
        minor="${minor%%.*}"
        ldflags="$ldflags -X github.com/prometheus/common/version.Version=3.$((10#$minor - 300)).${v##*.}"
    elif [ "$tool" = redis_exporter ]; then
        ldflags="$ldflags -X main.BuildVersion=$(version "$tool")"
    elif [ "$tool" = actionlint ]; then
        ldflags="$ldflags -X github.com/rhysd/actionlint.version=$(version "$tool")"
    elif [ "$tool" = versitygw ]; then
        ldflags="$ldflags -X main.Version=$(version "$tool")"
    fi
    (cd "${dir[$tool]}" && "$go" build -trimpath -ldflags "$ldflags" -o "$cache.tmp/bin/$tool" "${pkg[$tool]}")
    touch "$cache.tmp/.complete"
    rm -rf "$cache"
    mv "$cache.tmp" "$cache"
    say "$tool built in $(($(date +%s) - t0)) s: $out"
}

# The CRDs the rendered PodMonitor/PrometheusRule objects are validated against (tests/monitoring/operations.spec.ts).
PROMETHEUS_OPERATOR_VERSION=v0.85.0
crddir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION"; }
crds() {
    local out go src
    out="$(crddir)"
    if [ -f "$out/.complete" ]; then say "CRDs reused from $out"; return 0; fi
    go="$(find_go)" || die "Go is needed to download the prometheus-operator module"
    src="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$src/example/prometheus-operator-crd" ] || die "no example/prometheus-operator-crd in the module at $src"
    rm -rf "$out.tmp"
    mkdir -p "$out.tmp"
    cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" "$src/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" "$src/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$out.tmp/"
    touch "$out.tmp/.complete"
    rm -rf "$out"
    mv "$out.tmp" "$out"
    say "CRDs of prometheus-operator $PROMETHEUS_OPERATOR_VERSION in $out"
}

case "${1:-}" in
    all) build promtool; build redis_exporter; build actionlint; build versitygw; crds ;;
    crds) crds ;;
    promtool | redis_exporter | actionlint | versitygw) build "$1" ;;
    path)
        if [ "${2:-}" = crds ]; then [ -f "$(crddir)/.complete" ] || exit 1; crddir; exit 0; fi
        p="$(binpath "${2:?tool}")"
        [ -x "$p" ] && [ -f "$(cachedir "$2")/.complete" ] || exit 1
        echo "$p"
        ;;
    *) die "usage: go-tools.sh all | promtool | redis_exporter | actionlint | versitygw | crds | path TOOL" ;;
esac
