#!/usr/bin/env bash
# Real nodes for the test control plane (scripts/controlplane.sh): kubelets that run pods with containerd,
# runc and CNI bridge networking, kube-proxy for Services and a cluster DNS for their names, so pods become Ready
# because their servers answer the probes and clients reach them as in a cluster.
#
#   bash scripts/nodes.sh build        build (or reuse) kubelet, kube-proxy, clusterdns, kube-network-policies
#                                      (tools/nodes) and the test images (scripts/node-images.sh)
#   bash scripts/nodes.sh up DIR       start NODES_COUNT nodes (default 1) joined to the control plane whose
#                                      `controlplane.sh up DIR` made DIR/kubeconfig (CONTROLPLANE_NODES=0
#                                      there, so pods can only land on real nodes)
#   bash scripts/nodes.sh down DIR     stop them and remove every trace (pods, processes, cgroups, mounts, netns,
#                                      links, CNI caches); run it before `controlplane.sh down DIR`
#   bash scripts/nodes.sh check        exit 0 when everything `up` needs is here, else print what is missing
#   bash scripts/nodes.sh stop-node DIR I    kill node I's kubelet, runtime, containers and kube-proxy at once
#                                      (a lost node: its pods stay in the API, Ready False then Unknown)
#   bash scripts/nodes.sh start-node DIR I   start them again on the node's kept state (pods restart there)
#
# Per node i (name real-node-i, zone zone-<letter>):
#   - a network namespace holding containerd, kube-proxy (iptables), the pods' bridge cni0 (pod CIDR
#     10.A.<i+1>.0/24) and an eth0 on the host bridge (10.A.0.<10+i>); each node routes the other nodes' pod
#     CIDRs to them;
#   - containerd (Debian's, CRI plugin) with its own root, state, socket, CNI configuration and images, in
#     its own mount namespace (so its mounts, pod network namespaces included, die with it);
#   - a kubelet in the host's network namespace: the control plane listens on 127.0.0.1 only, and the kubelet
#     refuses a loopback node IP, so its node IP is a second host address on the bridge (10.A.0.<100+i>); the
#     host routes each pod CIDR to its node, so the kubelet's HTTP/TCP probes reach the pods.
# Shared by all nodes, on the host bridge address 10.A.0.1: clusterdns (the pods' cluster DNS, a test stand-in
# for CoreDNS: tools/nodes/README.md) and a socat
# forwarder to the API server (for kube-proxy in the node namespaces).
# NODES_IMAGES (default: all) names the test images each node imports, e.g. "redis mariadb": importing an image
# costs seconds per node, and a suite running only Redis needs no Kafka (the pause image is always imported).
# NetworkPolicies are enforced only with NODES_NETWORK_POLICIES=1 (default 0): then kube-network-policies
# (sigs.k8s.io/kube-network-policies, tools/nodes/netpol) runs in each node's network namespace, judging the
# first packet of every connection to or from a pod by the policies (fail-closed), kube-proxy no longer
# masquerades pod-to-Service traffic, and its log is DIR/nodes/node<i>/kube-network-policies.log (the netpol_*
# functions below; needs nft from Debian's nftables).
# Everything runs in one cgroup tree (/msa-nodes-<id>/...), which `down` empties and removes. The kubelet
# sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops at start (it cannot be told not to);
# `down` restores the values it found.
# Requires root, containerd, runc, socat, iptables and Debian's containernetworking-plugins (/usr/lib/cni).
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'nodes: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/tools/nodes/kubernetes"
cni_bin=/usr/lib/cni

modversion() { # go.mod module-path -> version
    awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2 } END { if (v == "") exit 1; print v }' "$1"
}
k8s_version="$(modversion "$tools/go.mod" k8s.io/kubernetes)" || die "no k8s.io/kubernetes in $tools/go.mod"
cp_version="$(modversion "$repo/tools/controlplane/kubernetes/go.mod" k8s.io/kubernetes)" || die "no k8s.io/kubernetes in tools/controlplane/kubernetes/go.mod"
[ "$k8s_version" = "$cp_version" ] || die "the kubelet ($k8s_version, tools/nodes/kubernetes/go.mod) must match the control plane ($cp_version)"
# Keyed by the version and by the module's content: its go.mod, go.sum and clusterdns's sources.
inputs_key="$({ cat "$tools/go.mod" "$tools/go.sum"; find "$tools/clusterdns" -name '*.go' ! -name '*_test.go' -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-8)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra/nodes-k8s${k8s_version#v}-$inputs_key"
kubelet="$cache/bin/kubelet"
kube_proxy="$cache/bin/kube-proxy"
clusterdns="$cache/bin/clusterdns"

find_go() {
    if command -v go >/dev/null 2>&1; then command -v go; elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; else return 1; fi
}
seconds_since() { echo $(($(date +%s) - $1)); }

# --- build ----------------------------------------------------------------------------------------------------
cmd_build() {
    local t0 t
    if [ -x "$kubelet" ] && [ -x "$kube_proxy" ] && [ -x "$clusterdns" ] && [ -f "$cache/.complete" ]; then
        say "kubelet, kube-proxy ($k8s_version) and clusterdns reused from $cache/bin"
    else
        local go
        go="$(find_go)" || die "Go is needed to build the kubelet, kube-proxy and clusterdns"
        export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
        t0=$(date +%s)
        rm -rf "$cache.tmp"
        mkdir -p "$cache.tmp/bin"
        # The version they report (the API server and kubectl compare it); the variables the control plane's
        # build sets too.
        local minor="${k8s_version#v1.}" ld="" pkg
        minor="${minor%%.*}"
        for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            ld+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
        done
        t=$(date +%s)
        (cd "$tools" && nice -n 10 "$go" build -ldflags "-s -w$ld" -o "$cache.tmp/bin/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
        say "built kubelet, kube-proxy $k8s_version in $(seconds_since "$t") s"
        # Second, in the same module: every package but its own comes from the build cache just filled.
        t=$(date +%s)
        (cd "$tools" && nice -n 10 "$go" build -ldflags "-s -w$ld" -o "$cache.tmp/bin/" ./clusterdns)
        say "built clusterdns in $(seconds_since "$t") s"
        # Its unit tests (the answers for each name shape, the search-path NXDOMAINs): only when it is rebuilt.
        t=$(date +%s)
        (cd "$tools" && nice -n 10 "$go" test ./clusterdns >&2) || die "clusterdns's unit tests failed"
        say "clusterdns's unit tests passed in $(seconds_since "$t") s"
        "$cache.tmp/bin/kubelet" --version | grep -qx "Kubernetes $k8s_version" || die "the kubelet does not report $k8s_version"
        printf 'kubelet, kube-proxy %s\nclusterdns\n%s\nbuilt %s in %s s\n' "$k8s_version" "$("$go" version)" \
            "$(date -u +%FT%TZ)" "$(seconds_since "$t0")" >"$cache.tmp/.complete"
        rm -rf "$cache"
        mv "$cache.tmp" "$cache"
        say "node binaries built in $(seconds_since "$t0") s into $cache/bin"
    fi
    netpol_build
    t0=$(date +%s)
    bash "$repo/scripts/node-images.sh" build >/dev/null
    say "test images ready in $(seconds_since "$t0") s"
}

# --- NetworkPolicy enforcement (opt-in: NODES_NETWORK_POLICIES=1) ----------------------------------------------
# kube-network-policies (sigs.k8s.io/kube-network-policies, tools/nodes/netpol), one per node in the node's network
# namespace: its nftables table sends the first packet of every connection to or from a pod address to NFQUEUE,
# where the controller judges it against the NetworkPolicies (both ends' rules) and accepts or drops it.
# This kernel has no nft `queue` expression (CONFIG_NFT_QUEUE unset: "Could not process rule: No such file or
# directory"), but has nft_compat and xt_NFQUEUE: the build patches google/nftables's Queue expression into
# the xtables NFQUEUE target (tools/nodes/netpol/nftables-queue-xt.patch), same queue, same verdicts.
netpol_src="$repo/tools/nodes/netpol"
netpol_version="$(modversion "$netpol_src/go.mod" sigs.k8s.io/kube-network-policies)" || die "no sigs.k8s.io/kube-network-policies in $netpol_src/go.mod"
netpol_key="$(cat "$netpol_src/go.mod" "$netpol_src/go.sum" "$netpol_src/main.go" "$netpol_src/nftables-queue-xt.patch" | sha256sum | cut -c1-8)"
netpol_cache="${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra/netpol-${netpol_version}-$netpol_key"
netpol_bin="$netpol_cache/bin/kube-network-policies"
netpol_queue=100

netpol_wanted() {
    case "${NODES_NETWORK_POLICIES:-0}" in
        0) return 1 ;;
        1) return 0 ;;
        *) die "NODES_NETWORK_POLICIES must be 0 (no enforcement) or 1 (kube-network-policies on every node), got '${NODES_NETWORK_POLICIES}'" ;;
    esac
}

netpol_build() { # into $netpol_cache, unless there already
    if [ -x "$netpol_bin" ] && [ -f "$netpol_cache/.complete" ]; then
        say "kube-network-policies $netpol_version reused from $netpol_cache/bin"
        return 0
    fi
    local go t0 nft_version nft_dir
    go="$(find_go)" || die "Go is needed to build kube-network-policies"
    t0=$(date +%s)
    rm -rf "$netpol_cache.tmp"
    mkdir -p "$netpol_cache.tmp/bin" "$netpol_cache.tmp/mod"
    # The patched google/nftables: a copy of the module the go.sum pins, patched, and a go.mod copy that
    # replaces the module with it (the repository's go.mod stays as upstream resolves it).
    nft_version="$(cd "$netpol_src" && "$go" list -m -f '{{.Version}}' github.com/google/nftables)" || die "no github.com/google/nftables in $netpol_src"
    nft_dir="$(cd "$netpol_src" && "$go" mod download -json "github.com/google/nftables@$nft_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [ -d "$nft_dir" ] || die "github.com/google/nftables@$nft_version did not download"
    cp -r "$nft_dir" "$netpol_cache.tmp/nftables"
    chmod -R u+w "$netpol_cache.tmp/nftables"
    patch -s -d "$netpol_cache.tmp/nftables" -p1 <"$netpol_src/nftables-queue-xt.patch" || die "nftables-queue-xt.patch does not apply to google/nftables $nft_version"
    cp "$netpol_src/go.mod" "$netpol_src/go.sum" "$netpol_cache.tmp/mod/"
    (cd "$netpol_src" && "$go" mod edit -modfile="$netpol_cache.tmp/mod/go.mod" -replace "github.com/google/nftables=$netpol_cache.tmp/nftables")
    (cd "$netpol_src" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" nice -n 10 "$go" build \
        -modfile="$netpol_cache.tmp/mod/go.mod" -ldflags "-s -w" -o "$netpol_cache.tmp/bin/kube-network-policies" .)
    rm -rf "$netpol_cache.tmp/nftables" "$netpol_cache.tmp/mod"
    printf 'kube-network-policies %s, google/nftables %s + nftables-queue-xt.patch\n%s\nbuilt %s in %s s\n' \
        "$netpol_version" "$nft_version" "$("$go" version)" "$(date -u +%FT%TZ)" "$(seconds_since "$t0")" >"$netpol_cache.tmp/.complete"
    rm -rf "$netpol_cache"
    mv "$netpol_cache.tmp" "$netpol_cache"
    say "built kube-network-policies $netpol_version in $(seconds_since "$t0") s into $netpol_cache/bin"
}

netpol_missing() { # what `up` with NODES_NETWORK_POLICIES=1 needs besides the rest
    [ -x "$netpol_bin" ] && [ -f "$netpol_cache/.complete" ] || echo "kube-network-policies in $netpol_cache/bin (bash scripts/nodes.sh build)"
    command -v nft >/dev/null 2>&1 || echo "nft (Debian: apt-get install nftables; up checks each node's rules with it)"
    [ -e /proc/net/netfilter/nfnetlink_queue ] || echo "the kernel's nfnetlink_queue (NFQUEUE)"
}

# kube-proxy must not masquerade pod-to-Service traffic when policies are enforced: the server's node would
# see the client's node address instead of the client pod's and judge that (no pod, so no namespace rule
# matches). Without masquerading, same-bridge replies are still un-NATed because bridged packets go through
# netfilter (net.bridge.bridge-nf-call-iptables, on in every namespace here; up sets it).
netpol_masquerade_all() { if netpol_wanted; then echo false; else echo true; fi; }

netpol_up() { # one controller per node, in the node's network namespace, on the NFQUEUE $netpol_queue
    local i deadline
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        ip netns exec "$netns" sysctl -qw net.bridge.bridge-nf-call-iptables=1
        start_bg "netpol-$i" "$nd/kube-network-policies.log" "$cg/netpol" \
            nsenter --net="/run/netns/$netns" "$netpol_bin" -kubeconfig "$dir/nodes/kubeconfig" \
            -hostname-override "$node" -nfqueue-id "$netpol_queue" -v 2
    done
    # Ready when its table is in the node's namespace and it reads the queue (before that, packets sent to
    # the queue are dropped: it runs fail-closed, as upstream's default).
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        wait_until 60 "kube-network-policies on $node (table inet kube-network-policies, NFQUEUE $netpol_queue bound)" \
            bash -c "ip netns exec '$netns' nft list table inet kube-network-policies >/dev/null && ip netns exec '$netns' awk '\$1 == $netpol_queue { f = 1 } END { exit !f }' /proc/net/netfilter/nfnetlink_queue"
    done
    say "NetworkPolicies enforced on $count node(s) by kube-network-policies $netpol_version (logs: $dir/nodes/node*/kube-network-policies.log)"
}

missing() { # prints what `up` needs and is not here
    [ "$(id -u)" -eq 0 ] || echo "root (network namespaces, cgroups, mounts)"
    [ -x "$kubelet" ] && [ -x "$clusterdns" ] && [ -f "$cache/.complete" ] || echo "the kubelet, kube-proxy and clusterdns in $cache/bin (bash scripts/nodes.sh build)"
    local b
    for b in containerd ctr runc socat iptables; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || echo "$b (Debian: apt-get install containerd runc socat iptables)"
    done
    [ -x "$cni_bin/bridge" ] && [ -x "$cni_bin/host-local" ] || echo "CNI plugins in $cni_bin (Debian: apt-get install containernetworking-plugins)"
    command -v ip >/dev/null 2>&1 || echo "ip (Debian: apt-get install iproute2)"
    command -v nsenter >/dev/null 2>&1 || echo "nsenter (util-linux)"
    [ -d /sys/fs/cgroup/pids ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || echo "a cgroup file system at /sys/fs/cgroup"
    if netpol_wanted; then netpol_missing; fi
}

# --- up / down ------------------------------------------------------------------------------------------------
marker=".msa-nodes"
dir="" id="" net=""

load_state() {
    [ -f "$dir/nodes/state" ] || return 1
    # shellcheck disable=SC1091
    . "$dir/nodes/state"
}

# cgroup v1 (this machine) or v2: every hierarchy that holds processes.
cgroup_roots() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup
    else
        local d
        for d in /sys/fs/cgroup/*/; do
            d="${d%/}"
            [ -f "$d/cgroup.procs" ] && [ ! -L "$d" ] && echo "$d"
        done
    fi
}

make_cgroup() { # PATH (relative, e.g. msa-nodes-x/node0): created in every hierarchy; cpuset inherits its parent's
    local root rel="$1" p part
    for root in $(cgroup_roots); do
        p="$root"
        for part in ${rel//\// }; do
            p="$p/$part"
            if [ ! -d "$p" ]; then
                mkdir "$p"
                if [ -f "$p/cpuset.cpus" ]; then
                    cat "$(dirname "$p")/cpuset.cpus" >"$p/cpuset.cpus"
                    cat "$(dirname "$p")/cpuset.mems" >"$p/cpuset.mems"
                fi
            fi
        done
    done
}

# Kills every process in the cgroup tree PATH (all hierarchies), then removes the tree, deepest first.
kill_cgroup_tree() { # PATH
    local rel="$1" root i pids
    for i in $(seq 1 50); do
        pids="$(for root in $(cgroup_roots); do [ -d "$root/$rel" ] && find "$root/$rel" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u)"
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086 # one pid per word
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    done
    [ -z "${pids:-}" ] || say "warning: processes left in cgroup $rel: $pids"
    for root in $(cgroup_roots); do
        [ -d "$root/$rel" ] || continue
        find "$root/$rel" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        [ -d "$root/$rel" ] && say "warning: cgroup $root/$rel could not be removed"
    done
    return 0
}

pick_net() { # sets net: a 10.A prefix no route or address of this machine uses
    local a i
    for i in $(seq 1 100); do
        a=$((200 + RANDOM % 50))
        if ! ip -4 route show | grep -q "^10\.$a\." && ! ip -4 addr show | grep -q " 10\.$a\."; then
            net="10.$a"
            return 0
        fi
    done
    die "no free 10.A.0.0/16 prefix found"
}

node_env() { # I: sets the per-node names
    local i="$1"
    nd="$dir/nodes/node$i"
    node="real-node-$i"
    netns="msa-$id-n$i"
    vhost="msa$id$i"  # host end of the node's veth (<= 15 characters)
    node_addr="$net.0.$((10 + i))"
    pod_cidr="$net.$((i + 1)).0/24"
    cg="msa-nodes-$id/node$i"
    cni_net="msa-$id-n$i" # names the CNI result cache entries (/var/lib/cni/results), which down removes
    zones=(a b c d e f g h)
    zone="zone-${zones[$((i % 8))]}"
}

write_containerd_config() {
    mkdir -p "$nd/containerd/root" "$nd/containerd/state" "$nd/cni/conf" "$nd/cni/ipam" "$nd/cni/cache"
    # restrict_oom_score_adj: this machine refuses to lower oom_score_adj, and the sandbox asks for -998
    # (runc then fails with only "can't get final child's PID from pipe: EOF").
    cat >"$nd/containerd/config.toml" <<EOF
version = 2
root = "$nd/containerd/root"
state = "$nd/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$nd/containerd.sock"
[ttrpc]
  address = "$nd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(bash "$repo/scripts/node-images.sh" pause-name)"
  restrict_oom_score_adj = true
  # exec/attach/port-forward streams: the kubelet (same namespace) proxies to this address.
  stream_server_address = "$node_addr"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$nd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$nd/cni/conf"
EOF
    cat >"$nd/cni/conf/10-msa.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$cni_net",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$pod_cidr" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$nd/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

write_kubelet_config() {
    mkdir -p "$nd/kubelet" "$nd/pod-logs"
    # The kubelet mounts volumes (secrets, configmaps) under its root dir in the host's mount namespace;
    # containerd's namespace only receives them if that directory is a shared mount.
    mount --bind "$nd/kubelet" "$nd/kubelet"
    mount --make-rshared "$nd/kubelet"
    # Anonymous, always-allowed kubelet API: it listens on the node's address, on a bridge private to this run.
    # Eviction thresholds are low: a shared CI disk must not make the node evict the servers under test.
    # syncFrequency 10s (default 1m): a changed Secret reaches its pods' volumes at their next sync, and the
    # certificate renewal drill (tests/pods/tls-prod.spec.ts) would otherwise wait a minute per renewal.
    cat >"$nd/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_addr
port: 10250
readOnlyPort: 0
healthzPort: 0
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
cgroupDriver: cgroupfs
cgroupRoot: /$cg/pods
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$nd/containerd.sock
podLogsDir: $nd/pod-logs
clusterDomain: cluster.local
clusterDNS: [$net.0.1]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
registerNode: true
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusReportFrequency: 10s
syncFrequency: 10s
EOF
}

write_kube_proxy_config() {
    # Conntrack limits are left alone: they are the host's, not this node's.
    cat >"$nd/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $dir/nodes/kubeconfig }
hostnameOverride: $node
bindAddress: $node_addr
mode: iptables
clusterCIDR: $net.0.0/16
iptables: { masqueradeAll: $(netpol_masquerade_all) }
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
}

start_bg() { # NAME LOG CGROUP COMMAND...: started in its own session and cgroup tree, pid in DIR/nodes/NAME.pid
    local name="$1" log="$2" cgroup="$3"
    shift 3
    make_cgroup "$cgroup"
    local procs=() root
    for root in $(cgroup_roots); do procs+=("$root/$cgroup/cgroup.procs"); done
    # The child joins the cgroup before it execs, so nothing it starts can escape the tree.
    # shellcheck disable=SC2016 # expanded by the child
    setsid bash -c 'n=$1; shift; for ((k = 0; k < n; k++)); do echo $$ >"$1"; shift; done; exec "$@"' _ "${#procs[@]}" "${procs[@]}" "$@" \
        </dev/null >>"$log" 2>&1 &
    echo $! >"$dir/nodes/$name.pid"
}

kc() { "$bindir/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=20s "$@"; }

wait_until() { # SECONDS WHAT COMMAND...
    local limit="$1" what="$2" deadline
    shift 2
    deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${limit} s waiting for $what"
        sleep 0.5
    done
}

# The lines of `node-images.sh list` (archive, names) NODES_IMAGES keeps: the archives are image-<kind>-<key>.tar.
select_images() {
    local wanted="${NODES_IMAGES:-}" archive names kind k
    for k in $wanted; do
        case "$k" in redis|mariadb|kafka) ;; *) die "NODES_IMAGES: unknown image '$k' (accepted: redis, mariadb, kafka; default all)" ;; esac
    done
    while read -r archive names; do
        kind="$(basename "$archive")"
        kind="${kind#image-}"
        kind="${kind%%-*}"
        if [ -z "$wanted" ] || [ "$kind" = pause ] || [[ " $wanted " == *" $kind "* ]]; then
            printf '%s %s\n' "$archive" "$names"
        fi
    done
}

import_images() { # into node $nd's containerd
    local archive names first n
    while read -r archive names; do
        first="${names%% *}"
        ctr --address "$nd/containerd.sock" -n k8s.io images import "$archive" >/dev/null
        for n in ${names#"$first"}; do
            ctr --address "$nd/containerd.sock" -n k8s.io images tag --force "$first" "$n" >/dev/null
        done
    done <"$dir/nodes/images"
}

# One node's processes, each in its cgroup under the node's tree (up starts them; start-node again).
start_containerd() { # I
    node_env "$1"
    # containerd in the node's network namespace and in a mount namespace of its own that receives the
    # host's mounts (the kubelet's volumes) but keeps its own (root file systems, pod netns) to itself.
    start_bg "containerd-$1" "$nd/containerd.log" "$cg/runtime" \
        nsenter --net="/run/netns/$netns" unshare --mount --propagation slave \
        containerd --config "$nd/containerd/config.toml" --log-level warn
}

start_kubelet() { # I
    node_env "$1"
    make_cgroup "$cg/pods"
    # In the node's network namespace, as on a real node: its network probes (HTTP, TCP) are then the node's
    # own traffic, which NetworkPolicy enforcement lets through; from the host they would arrive forwarded,
    # judged like any client's. Its mounts stay the host's (containerd receives them, see start_containerd).
    start_bg "kubelet-$1" "$nd/kubelet.log" "$cg/kubelet" \
        nsenter --net="/run/netns/$netns" \
        "$kubelet" --config="$nd/kubelet/config.yaml" --kubeconfig="$dir/nodes/kubeconfig" --root-dir="$nd/kubelet" \
        --hostname-override="$node" --node-ip="$node_addr" \
        --node-labels="topology.kubernetes.io/zone=$zone,topology.kubernetes.io/region=local,msa-infra/node=real" \
        --v=1
}

start_kube_proxy() { # I
    node_env "$1"
    start_bg "kube-proxy-$1" "$nd/kube-proxy.log" "$cg/proxy" \
        nsenter --net="/run/netns/$netns" "$kube_proxy" --config="$nd/kube-proxy.yaml" --v=1
}

cmd_up() {
    dir="$1"
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    [ -f "$dir/kubeconfig" ] || die "$dir/kubeconfig is missing: start the control plane first (scripts/controlplane.sh up $dir)"
    [ ! -e "$dir/nodes" ] || die "$dir/nodes exists: nodes are up already (scripts/nodes.sh down $dir)"
    local why
    why="$(missing)"
    [ -z "$why" ] || die "cannot start nodes; missing: $(tr '\n' ';' <<<"$why")"
    bindir="$(bash "$repo/scripts/controlplane.sh" bindir)"
    local count="${NODES_COUNT:-1}" limit="${NODES_UP_TIMEOUT:-180}" t0 i j
    [[ "$count" =~ ^[1-9]$ ]] || die "NODES_COUNT must be 1..9, got '$count'"
    netpol_wanted || true # a bad NODES_NETWORK_POLICIES stops here, not inside a later $(...)
    t0=$(date +%s)
    mkdir -p "$dir/nodes"
    id="$(head -c 64 /dev/urandom | tr -dc 'a-z0-9' | head -c 4)"
    pick_net
    printf 'id=%s\nnet=%s\ncount=%s\n' "$id" "$net" "$count" >"$dir/nodes/state"
    date -u +%FT%TZ >"$dir/nodes/$marker"
    trap 'if [ $? -ne 0 ]; then up_failed; fi' EXIT
    bash "$repo/scripts/node-images.sh" list | select_images >"$dir/nodes/images"

    # The kubelet sets these kernel parameters at start (it cannot be told not to); down restores them.
    local k
    for k in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do
        printf '%s=%s\n' "$k" "$(cat "/proc/sys/$k")" >>"$dir/nodes/sysctl"
    done

    # The host bridge: one segment for the nodes' eth0 (the kubelets listen there too) and the host.
    local bridge="msa${id}br"
    ip link add "$bridge" type bridge
    ip addr add "$net.0.1/24" dev "$bridge"
    ip link set "$bridge" up
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        mkdir -p "$nd"
        ip netns add "$netns"
        ip link add "$vhost" type veth peer name eth0 netns "$netns"
        ip link set "$vhost" master "$bridge" up
        ip -n "$netns" link set lo up
        ip -n "$netns" addr add "$node_addr/24" dev eth0
        ip -n "$netns" link set eth0 up
        ip -n "$netns" route add default via "$net.0.1"
        ip netns exec "$netns" sysctl -qw net.ipv4.ip_forward=1
        ip route add "$pod_cidr" via "$node_addr"
    done
    # Pod to pod across nodes: each node routes the others' pod CIDRs straight to them over the bridge.
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        local from="$netns"
        for ((j = 0; j < count; j++)); do
            [ "$i" -ne "$j" ] || continue
            node_env "$j"
            ip -n "$from" route add "$pod_cidr" via "$node_addr"
        done
    done

    # What runs in the node namespaces reaches the API server (127.0.0.1 only) through a forwarder on the
    # bridge address; the certificate names localhost, which their kubeconfig asks for.
    local api_port
    api_port="$(sed -n 's/.*api=\([0-9]*\).*/\1/p' "$dir/ports")"
    [ -n "$api_port" ] || die "no api port in $dir/ports"
    start_bg apiproxy "$dir/nodes/apiproxy.log" "msa-nodes-$id/apiproxy" \
        socat "TCP-LISTEN:$api_port,bind=$net.0.1,fork,reuseaddr" "TCP:127.0.0.1:$api_port"
    sed "s#server: https://127.0.0.1:$api_port#server: https://$net.0.1:$api_port\n    tls-server-name: localhost#" \
        "$dir/kubeconfig" >"$dir/nodes/kubeconfig"
    chmod 600 "$dir/nodes/kubeconfig"
    # Cluster DNS on the bridge address (the kubelets hand it to every pod), answering for Services from the
    # API server's Services and EndpointSlices; other names go to the host's resolvers, if it has any.
    local upstream=/etc/resolv.conf
    grep -q '^nameserver' "$upstream" 2>/dev/null || upstream=none
    start_bg clusterdns "$dir/nodes/clusterdns.log" "msa-nodes-$id/dns" \
        "$clusterdns" -listen "$net.0.1:53" -kubeconfig "$dir/kubeconfig" -context msa-controlplane -ttl 5 -upstream "$upstream"

    for ((i = 0; i < count; i++)); do
        node_env "$i"
        write_containerd_config
        write_kube_proxy_config
        write_kubelet_config
        start_containerd "$i"
    done
    local imports=()
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        wait_until 60 "containerd of $node" ctr --address "$nd/containerd.sock" version
        # The nodes import at the same time: each import is mostly hashing and unpacking, one core each.
        (import_images) &
        imports+=("$!")
    done
    for i in "${!imports[@]}"; do
        wait "${imports[$i]}" || die "importing the test images into real-node-$i failed"
    done
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        start_kubelet "$i"
    done
    # Services: kube-proxy (iptables) in each node's namespace; masqueradeAll so a pod reaching a Service
    # backed by a pod on its own bridge gets the answer back through the node (no br_netfilter needed),
    # except with NetworkPolicies enforced (netpol_masquerade_all says why).
    for ((i = 0; i < count; i++)); do
        start_kube_proxy "$i"
    done
    if netpol_wanted; then netpol_up; fi
    wait_until 60 "clusterdns on $net.0.1:53" bash -c "ss -Hlun 'sport = :53' | grep -q '$net.0.1:53'"
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        wait_until "$limit" "node $node Ready" kc wait --for=condition=Ready "node/$node" --timeout=5s
    done
    trap - EXIT
    say "$count real node(s) up in $(seconds_since "$t0") s (pod CIDRs $net.1.0/24..; logs in $dir/nodes/node*/)"
}

up_failed() {
    set +e
    say "nodes up failed; last lines of the logs:"
    local f
    for f in "$dir"/nodes/node*/*.log; do
        [ -s "$f" ] || continue
        printf -- '--- %s\n' "$f" >&2
        tail -n 15 "$f" >&2
    done
    cmd_down "$dir"
}

cmd_down() {
    dir="$1"
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    [ -e "$dir/nodes" ] || { say "no nodes in $dir; nothing to stop"; return 0; }
    [ -f "$dir/nodes/$marker" ] || die "$dir/nodes was not made by \`nodes.sh up\` (no $marker); not touching it"
    load_state || die "$dir/nodes/state is missing"
    local i pid m
    # Pods first, through their kubelets, so sandboxes are torn down properly (CNI DEL, shims exit); bounded,
    # since the API server or a kubelet may be gone already.
    bindir="$(bash "$repo/scripts/controlplane.sh" bindir)"
    if [ -f "$dir/kubeconfig" ] && kc delete pods --all-namespaces --all --grace-period=1 --wait=false >/dev/null 2>&1; then
        local deadline=$(($(date +%s) + 30)) left
        while [ "$(date +%s)" -lt "$deadline" ]; do
            left=0
            for ((i = 0; i < count; i++)); do
                node_env "$i"
                [ -S "$nd/containerd.sock" ] || continue
                # Running tasks: the kubelet removes stopped containers only at its next garbage collection.
                left=$((left + $(ctr --address "$nd/containerd.sock" -n k8s.io tasks list 2>/dev/null | grep -c RUNNING || true)))
            done
            [ "$left" -gt 0 ] || break
            sleep 1
        done
    fi
    # Then the kubelets (they would restart what is stopped), then everything in the nodes' cgroup trees:
    # containerd, its shims and any container left.
    for ((i = 0; i < count; i++)); do
        pid="$(cat "$dir/nodes/kubelet-$i.pid" 2>/dev/null)" || continue
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 1
    kill_cgroup_tree "msa-nodes-$id"
    # Mounts the kubelets made (secrets, configmaps, projected volumes) and anything else under DIR/nodes.
    awk -v d="$dir/nodes/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || say "warning: could not unmount $m"
    done
    for ((i = 0; i < count; i++)); do
        node_env "$i"
        # CNI caches results per network and container outside any configurable directory; a container whose
        # DEL never ran (killed above) leaves its entries, including the loopback plugin's.
        local f cid
        for f in /var/lib/cni/results/"$cni_net"-*; do
            [ -e "$f" ] || continue
            cid="${f#/var/lib/cni/results/"$cni_net"-}"
            cid="${cid%%-*}"
            rm -f "$f" /var/lib/cni/results/cni-loopback-"$cid"-*
        done
        ip route del "$pod_cidr" 2>/dev/null || true
        ip link del "$vhost" 2>/dev/null || true
        ip netns del "$netns" 2>/dev/null || true
    done
    ip link del "msa${id}br" 2>/dev/null || true
    # containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its state dir; a killed shim leaves
    # its socket behind. Only sockets nothing listens on are removed.
    local sock
    for sock in /run/containerd/s/*; do
        [ -S "$sock" ] || continue
        ss -Hxl 2>/dev/null | grep -qF "$sock" || rm -f "$sock"
    done
    if [ -f "$dir/nodes/sysctl" ]; then
        local k v
        while IFS='=' read -r k v; do echo "$v" >"/proc/sys/$k" 2>/dev/null || say "warning: could not restore $k=$v"; done <"$dir/nodes/sysctl"
    fi
    rm -rf "$dir/nodes"
    say "nodes in $dir stopped and removed"
}

# --- stop-node / start-node (drills) ------------------------------------------------------------------------
# A node lost at once, as by a power cut: its kubelet, containerd, shims, containers and kube-proxy get
# SIGKILL (nothing is told, no pod is stopped cleanly). Its network namespace, bridge, routes, kubelet volume
# mounts and runtime directories stay, as a rebooted machine's disk does; the API server keeps its pods
# until the node controller marks them (Ready False, then Unknown).
node_cmd_prepare() { # DIR I
    dir="$1"
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    [ -f "$dir/nodes/$marker" ] || die "no nodes in $dir (scripts/nodes.sh up $dir first)"
    load_state || die "$dir/nodes/state is missing"
    [[ "$2" =~ ^[0-9]$ ]] && [ "$2" -lt "$count" ] || die "node index must be 0..$((count - 1)), got '$2'"
    bindir="$(bash "$repo/scripts/controlplane.sh" bindir)"
    node_env "$2"
}

cmd_stop_node() { # DIR I
    node_cmd_prepare "$1" "$2"
    local pid
    # The kubelet first, so it cannot start anything while the rest is killed.
    pid="$(cat "$dir/nodes/kubelet-$2.pid" 2>/dev/null)" && kill -KILL "$pid" 2>/dev/null || true
    kill_cgroup_tree "$cg"
    rm -f "$nd/containerd.sock" "$nd/containerd.sock.ttrpc"
    say "node $node stopped (kubelet, runtime, containers and kube-proxy killed)"
}

# The node back on the same state: containerd finds its images and dead containers, the kubelet its pods
# (whose containers it starts again in new sandboxes), kube-proxy re-syncs its rules.
cmd_start_node() { # DIR I
    node_cmd_prepare "$1" "$2"
    [ ! -S "$nd/containerd.sock" ] || die "node $node is running (its containerd socket exists)"
    local t0
    t0=$(date +%s)
    start_containerd "$2"
    wait_until 60 "containerd of $node" ctr --address "$nd/containerd.sock" version
    start_kubelet "$2"
    start_kube_proxy "$2"
    wait_until "${NODES_UP_TIMEOUT:-180}" "node $node Ready" kc wait --for=condition=Ready "node/$node" --timeout=5s
    say "node $node started again in $(seconds_since "$t0") s"
}

case "${1:-}" in
    build) cmd_build ;;
    check)
        why="$(missing)"
        [ -z "$why" ] || { printf '%s\n' "$why"; exit 1; }
        ;;
    up)
        [ $# -eq 2 ] || die "usage: $0 up DIR"
        cmd_up "$2"
        ;;
    down)
        [ $# -eq 2 ] || die "usage: $0 down DIR"
        cmd_down "$2"
        ;;
    stop-node)
        [ $# -eq 3 ] || die "usage: $0 stop-node DIR I"
        cmd_stop_node "$2" "$3"
        ;;
    start-node)
        [ $# -eq 3 ] || die "usage: $0 start-node DIR I"
        cmd_start_node "$2" "$3"
        ;;
    *) die "usage: $0 build | check | up DIR | down DIR | stop-node DIR I | start-node DIR I" ;;
esac
