#!/usr/bin/env bash
# The Pulumi engine built from the Go module proxy (no release downloads, no plugin downloads).
#
#   scripts/pulumi-engine.sh build        builds what tools/pulumi/versions.env names into
#                                         ~/.cache/msa-infra/pulumi-<cli>-k<k8s>-r<random>-t<tls>/
#                                         (a second run finds it there and takes seconds)
#   scripts/pulumi-engine.sh dir          prints that cache directory
#   eval "$(scripts/pulumi-engine.sh env DIR)"
#                                         an isolated PULUMI_HOME (DIR/home) with the built plugins and
#                                         the test-only random and tls stand-ins (tools/pulumi/standins)
#                                         registered, a file backend (DIR/state) and a passphrase made
#                                         for this run (DIR/passphrase, mode 600, never printed)
#   scripts/pulumi-engine.sh policy-launcher PACKDIR OUTDIR
#                                         prints the path of an executable to pass to --policy-pack
#                                         while no Node.js language host can be built (see there)
#
# Layout of the cache: bin/ holds what goes on PATH (pulumi); plugins/ holds the
# provider binaries, which are deliberately NOT on PATH: the CLI would take a provider found on PATH over
# the registered one whatever its version, and the point is to exercise plugin resolution as users get it.
#
# Environment: MSA_PULUMI_CACHE (default ~/.cache/msa-infra), GOCACHE/GOMODCACHE as usual,
# MSA_PULUMI_IGNORE_PINS=1 to build although package.json pins other provider versions (then the SDK and
# the plugin disagree and the engine will refuse; only for trying the build itself).
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/tools/pulumi"
# shellcheck source=../tools/pulumi/versions.env
. "$tools/versions.env"

key="pulumi-${PULUMI_CLI_VERSION}-k${KUBERNETES_VERSION}-r${RANDOM_VERSION}-t${TLS_VERSION}"
cache="${MSA_PULUMI_CACHE:-$HOME/.cache/msa-infra}/$key"

find_go() {
    if command -v go >/dev/null 2>&1; then command -v go; return; fi
    [ -x /usr/local/go/bin/go ] && { echo /usr/local/go/bin/go; return; }
    die "go is not installed (needed to build the engine from the Go module proxy)"
}

# The version package.json pins for an npm package, e.g. pinned @pulumi/kubernetes -> 4.34.2.
pinned() {
    local node
    node="$(command -v node || true)"
    [ -n "$node" ] || die "node is needed to read package.json"
    "$node" -e 'const p = require(process.argv[1]); const n = process.argv[2];
        process.stdout.write(String((p.dependencies || {})[n] || (p.devDependencies || {})[n] || ""));' \
        "$root/package.json" "$1"
}

# Each built piece has a stamp recording what it was built from; same stamp = nothing to do.
stamp_ok() { [ -x "$1" ] && [ -f "$1.stamp" ] && [ "$(cat "$1.stamp")" = "$2" ]; }

unavailable=()

build_cli() {
    local out="$cache/bin/pulumi" from="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_CLI_VERSION $(sha256sum "$tools/cli/go.sum" | cut -c1-16)"
    if stamp_ok "$out" "$from"; then say "pulumi v$PULUMI_CLI_VERSION: cached"; return; fi
    say "building pulumi v$PULUMI_CLI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
    local t0=$SECONDS
    (cd "$tools/cli" && nice -n 10 "$GO" build -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_CLI_VERSION" \
        -o "$out.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$out.tmp" "$out"
    echo "$from" >"$out.stamp"
    say "pulumi built in $((SECONDS - t0)) s"
}

build_kubernetes() {
    local out="$cache/plugins/pulumi-resource-kubernetes"
    local from="$KUBERNETES_MODULE@$KUBERNETES_MODULE_VERSION as $KUBERNETES_VERSION $(cat "$tools/kubernetes/go.sum" "$tools/kubernetes/main.go" "$tools/kubernetes/schemagen/main.go" | sha256sum | cut -c1-16)"
    if stamp_ok "$out" "$from"; then say "pulumi-resource-kubernetes $KUBERNETES_VERSION: cached"; return; fi
    say "building pulumi-resource-kubernetes $KUBERNETES_VERSION ($KUBERNETES_MODULE@$KUBERNETES_MODULE_VERSION)"
    local t0=$SECONDS src="$cache/src/kubernetes"
    # The main package embeds files that upstream's `go generate` writes (not in the module zip), so it is
    # built from a copy in the cache, leaving the work tree clean.
    rm -rf "$src" && mkdir -p "$src/schemagen"
    cp "$tools/kubernetes/go.mod" "$tools/kubernetes/go.sum" "$tools/kubernetes/main.go" "$src/"
    cp "$tools/kubernetes/schemagen/main.go" "$src/schemagen/"
    local moddir
    moddir="$(cd "$src" && "$GO" mod download "$KUBERNETES_MODULE" && "$GO" list -m -f '{{.Dir}}' "$KUBERNETES_MODULE")"
    [ -d "$moddir/cmd/pulumi-resource-kubernetes" ] || die "no cmd/pulumi-resource-kubernetes in $KUBERNETES_MODULE ($moddir)"
    (cd "$src" && nice -n 10 "$GO" run ./schemagen -src "$moddir/cmd/pulumi-resource-kubernetes" -out . -version "$KUBERNETES_VERSION")
    # The version ldflag is what the provider reports to the engine (GetPluginInfo) and in its schema.
    (cd "$src" && nice -n 10 "$GO" build -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_VERSION" \
        -o "$out.tmp" .)
    mv "$out.tmp" "$out"
    echo "$from" >"$out.stamp"
    rm -rf "$src" && rmdir "$cache/src" 2>/dev/null || true
    say "pulumi-resource-kubernetes built in $((SECONDS - t0)) s"
}

# A piece the proxy does not serve: ask once for the version we would build (so the day it is served the
# answer changes) and record the registry's words.
probe_unavailable() {
    local what="$1" module="$2" version="$3" reason="$4" answer
    if [ -n "$version" ]; then
        answer="$(cd "$tools/cli" && timeout 120 "$GO" mod download -json "$module@$version" 2>&1 |
            sed -n 's/^[[:space:]]*"Error": "\(.*\)"[,]*$/\1/p' | sed -e 's/\\n\\t/ /g' -e 's/^.*: reading [^ ]*: //' | head -1)" || true
        if [ -z "$answer" ]; then
            warn "$what: $module@$version is served now; add a build step for it (tools/pulumi/README.md)"
            answer="served now, not built yet"
        fi
    else
        answer="$reason"
    fi
    unavailable+=("$what: $module${version:+@$version}: $answer")
}

# A Node.js policy pack needs the Node.js language host when it is given to the CLI as a directory
# (`--policy-pack policy`: the CLI runs the pack through the host's RunPlugin). Without a host, the CLI's
# other form is used: --policy-pack naming an executable, which the CLI starts as a binary analyzer
# plugin with the engine address as its argument. This writes such an executable for one pack directory:
# it enters the pack and hands over to the pack's own @pulumi/pulumi/cmd/run-policy-pack (what the
# language host runs too), resolved the way Node resolves the pack's imports (policy/ has no
# node_modules of its own: the repository root's `npm ci` installs them one level up; the engine never
# installs a local pack's dependencies, it loads the pack as it is).
cmd_policy_launcher() {
    local pack="${1:-}" outdir="${2:-}"
    [ -n "$pack" ] && [ -n "$outdir" ] || die "usage: $0 policy-launcher PACKDIR OUTDIR"
    pack="$(cd "$pack" && pwd)"
    [ -f "$pack/PulumiPolicy.yaml" ] || die "$pack has no PulumiPolicy.yaml"
    local name out
    name="$(basename "$pack")"
    # A directory of its own: the CLI takes the executable's directory as the pack's root directory.
    mkdir -p "$outdir/$name"
    out="$(cd "$outdir/$name" && pwd)/pulumi-policy-$name"
    cat >"$out.tmp" <<LAUNCHER
#!/bin/sh
# Written by scripts/pulumi-engine.sh policy-launcher: runs the Node.js policy pack in $pack for the
# Pulumi CLI (\$1 is the engine address) without a Node.js language host.
cd '$pack' || exit 1
entry="\$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [process.cwd()] }))')" || {
    echo "Cannot find module '@pulumi/pulumi/cmd/run-policy-pack' from $pack (run npm ci in the repository root)" >&2
    exit 1
}
exec node "\$entry" "\$1" .
LAUNCHER
    chmod 0755 "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
}

check_pins() {
    local name want got bad=0
    for pair in "@pulumi/kubernetes=$KUBERNETES_VERSION" "@pulumi/random=$RANDOM_VERSION" "@pulumi/tls=$TLS_VERSION"; do
        name="${pair%%=*}" want="${pair#*=}"
        got="$(pinned "$name")"
        if [ "$got" != "$want" ]; then
            printf 'error: package.json pins %s %s, the engine builds %s (tools/pulumi/versions.env says why)\n' "$name" "$got" "$want" >&2
            bad=1
        fi
    done
    if [ "$bad" -ne 0 ]; then
        [ "${MSA_PULUMI_IGNORE_PINS:-}" = "1" ] || die "provider pins and engine versions disagree (MSA_PULUMI_IGNORE_PINS=1 builds anyway)"
        warn "building although the pins disagree (MSA_PULUMI_IGNORE_PINS=1)"
    fi
}

cmd_build() {
    GO="$(find_go)"
    # go.mod files say go 1.26.6: the installed Go is enough, and nothing may fetch another toolchain.
    export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false}"
    check_pins
    mkdir -p "$cache/bin" "$cache/plugins"
    local t0=$SECONDS
    say "cache: $cache ($("$GO" version | cut -d' ' -f3))"
    build_cli
    build_kubernetes
    probe_unavailable "language host nodejs" "$LANGUAGE_NODEJS_MODULE" "$LANGUAGE_NODEJS_MODULE_VERSION" \
        "no version can be named: the module has no tags, the proxy refuses @v/list, @latest and commit queries, and the commit of v$PULUMI_CLI_VERSION is unknown"
    probe_unavailable "pulumi-resource-random $RANDOM_VERSION" "$RANDOM_MODULE" "$RANDOM_MODULE_VERSION" ""
    probe_unavailable "pulumi-resource-tls $TLS_VERSION" "$TLS_MODULE" "$TLS_MODULE_VERSION" \
        "no version can be named: sdk/v5@v$TLS_VERSION (which would give the tag's commit) is refused: 403 This module version is not available"

    # What the cache holds, checked by running the binaries (not by trusting the stamps).
    local cli_version
    cli_version="$("$cache/bin/pulumi" version)"
    [ "$cli_version" = "v$PULUMI_CLI_VERSION" ] || die "bin/pulumi reports $cli_version, expected v$PULUMI_CLI_VERSION"
    {
        echo "pulumi $cli_version github.com/pulumi/pulumi/pkg/v3@v$PULUMI_CLI_VERSION"
        echo "resource kubernetes $KUBERNETES_VERSION $KUBERNETES_MODULE@$KUBERNETES_MODULE_VERSION"
        for u in "${unavailable[@]}"; do echo "unavailable $u"; done
        echo "stand-in resource random $RANDOM_VERSION tools/pulumi/standins/random.ts (registered by env, tests only)"
        echo "stand-in resource tls $TLS_VERSION tools/pulumi/standins/tls.ts (registered by env, tests only)"
    } >"$cache/manifest.txt"
    say "built in $((SECONDS - t0)) s:"
    sed 's/^/    /' "$cache/manifest.txt" >&2
}

# The test-only stand-in for a provider plugin the proxy refuses (tools/pulumi/standins/NAME.ts, run by
# @pulumi/pulumi's provider server): an executable wrapper in DIR/standins that the CLI starts as
# pulumi-resource-NAME. It is only ever registered in DIR's PULUMI_HOME (never on PATH, never in a user's
# ~/.pulumi), runs this checkout's stand-in with this checkout's node_modules and the node that ran `env`, and
# reports VERSION (what versions.env names and check_pins holds package.json to). No build step: the
# TypeScript is loaded through scripts/lib/register.js, whose transform cache is keyed by content.
write_standin() {
    local dir="$1" name="$2" version="$3" node out
    node="$(command -v node)" || die "node is needed to run the $name stand-in"
    [ -f "$root/tools/pulumi/standins/$name.ts" ] || die "no stand-in tools/pulumi/standins/$name.ts"
    mkdir -p "$dir/standins"
    out="$dir/standins/pulumi-resource-$name"
    cat >"$out" <<WRAPPER
#!/bin/sh
# Test-only stand-in for pulumi-resource-$name $version (tools/pulumi/standins/$name.ts), written by
# scripts/pulumi-engine.sh env for the engine in $dir only. \$@ is what the CLI passes (engine address, flags).
exec '$node' -r '$root/scripts/lib/register.js' '$root/tools/pulumi/standins/$name.ts' --standin-version '$version' "\$@"
WRAPPER
    chmod 0755 "$out"
    echo "$out"
}

cmd_env() {
    local dir="${1:-}"
    [ -n "$dir" ] || die "usage: $0 env DIR"
    [ -x "$cache/bin/pulumi" ] && [ -x "$cache/plugins/pulumi-resource-kubernetes" ] ||
        die "the engine is not built in $cache: run $0 build"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    mkdir -p "$dir/home" "$dir/state"
    chmod 0700 "$dir" "$dir/home" "$dir/state"
    if [ ! -s "$dir/passphrase" ]; then
        # 32 random bytes, base64: made here, for this directory only; never printed.
        (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n' >"$dir/passphrase")
    fi

    export PULUMI_HOME="$dir/home" PATH="$cache/bin:$PATH"
    export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    export PULUMI_CONFIG_PASSPHRASE_FILE="$dir/passphrase"
    unset PULUMI_ACCESS_TOKEN PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE
    local log="$dir/engine-env.log"
    {
        pulumi plugin install resource kubernetes "$KUBERNETES_VERSION" --file "$cache/plugins/pulumi-resource-kubernetes"
        pulumi plugin install resource random "$RANDOM_VERSION" --file "$(write_standin "$dir" random "$RANDOM_VERSION")"
        pulumi plugin install resource tls "$TLS_VERSION" --file "$(write_standin "$dir" tls "$TLS_VERSION")"
        pulumi login "file://$dir/state"
    } >"$log" 2>&1 || { cat "$log" >&2; die "preparing $dir failed"; }

    # For eval: the passphrase is read from its file when these lines run, so it never appears in output.
    cat <<EOF
export PULUMI_HOME='$dir/home'
export PATH='$cache/bin':"\$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_BACKEND_URL='file://$dir/state'
export PULUMI_CONFIG_PASSPHRASE="\$(cat '$dir/passphrase')"
unset PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_ACCESS_TOKEN
EOF
}

case "${1:-}" in
    build) cmd_build ;;
    dir) echo "$cache" ;;
    env) shift; cmd_env "$@" ;;
    policy-launcher) shift; cmd_policy_launcher "$@" ;;
    *) die "usage: $0 build | dir | env DIR | policy-launcher PACKDIR OUTDIR" ;;
esac
