#!/usr/bin/env bash
# A real Kubernetes control plane without containers, for the end-to-end tests and for trying manifests.
#
#   bash scripts/controlplane.sh build        build (or reuse) the binaries from the Go module proxy
#   bash scripts/controlplane.sh up DIR       start a control plane; kubeconfig at DIR/kubeconfig
#   bash scripts/controlplane.sh down DIR     stop every process of that control plane and remove DIR
#   bash scripts/controlplane.sh bindir       print the directory holding the built binaries
#
# Binaries: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (k8s.io/kubernetes), etcd
# (go.etcd.io/etcd/server/v3) and kwok/kwokctl (sigs.k8s.io/kwok), versions pinned by the go.mod files in
# tools/controlplane/*, built into ~/.cache/msa-infra/controlplane-<versions>/bin.
#
# `up` runs etcd, kube-apiserver, kube-controller-manager (garbage collector, StatefulSet, EndpointSlice,
# PV binder, ...), kube-scheduler and kwok (marks nodes and pods Ready; no container ever runs), all on
# 127.0.0.1 with certificates generated for this run, registers CONTROLPLANE_NODES fake nodes (default 3,
# one zone each) and the StorageClasses local-path and longhorn, and runs a small provisioner loop that
# creates a hostPath PV for every claim of those classes (and deletes it once released).
# Environment: CONTROLPLANE_NODES (number of fake nodes, 0 allowed), CONTROLPLANE_UP_TIMEOUT (seconds, default 180).
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'controlplane: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$repo/tools/controlplane"

# --- Versions (read from the go.mod files, the single place they are pinned) -------------------------------
modversion() { # go.mod module-path -> version
    awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2 } END { if (v == "") exit 1; print v }' "$1"
}
k8s_version="$(modversion "$tools/kubernetes/go.mod" k8s.io/kubernetes)" || die "no k8s.io/kubernetes in $tools/kubernetes/go.mod"
etcd_version="$(modversion "$tools/etcd/go.mod" go.etcd.io/etcd/server/v3)" || die "no etcd server in $tools/etcd/go.mod"
kwok_version="$(modversion "$tools/kwok/go.mod" sigs.k8s.io/kwok)" || die "no sigs.k8s.io/kwok in $tools/kwok/go.mod"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/msa-infra/controlplane-k8s${k8s_version#v}-etcd${etcd_version#v}-kwok${kwok_version#v}"
bindir="$cache/bin"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)

# --- build ----------------------------------------------------------------------------------------------------
find_go() {
    if command -v go >/dev/null 2>&1; then command -v go; elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; else return 1; fi
}

built() {
    [ -f "$cache/.complete" ] || return 1
    local b
    for b in "${binaries[@]}"; do [ -x "$bindir/$b" ] || return 1; done
    [ -f "$cache/kwok-stages.yaml" ]
}

seconds_since() { echo $(($(date +%s) - $1)); }

cmd_build() {
    if built; then
        say "control plane binaries reused from $bindir (Kubernetes $k8s_version, etcd $etcd_version, kwok $kwok_version)"
        return 0
    fi
    local go t0 t
    go="$(find_go)" || die "Go is needed to build the control plane (Go 1.26 or newer; /usr/local/go/bin/go was not found either)"
    # Static binaries; no VCS stamping (a fresh clone or a missing git must not change or break the build).
    export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
    # The module cache and build cache stay at Go's defaults (~/go/pkg/mod, ~/.cache/go-build) unless the
    # caller set them; both survive between runs on this machine, which is what makes a rebuild cheap.
    say "building the control plane with $("$go" version) (GOMODCACHE=$("$go" env GOMODCACHE) GOCACHE=$("$go" env GOCACHE))"
    rm -rf "$cache.tmp"
    mkdir -p "$cache.tmp/bin"
    t0=$(date +%s)

    # Kubernetes: the version variables are what `--version` prints and what clients compare against.
    local minor="${k8s_version#v1.}"
    minor="${minor%%.*}"
    # The release's commit and date as the module proxy records them (the commit only when it says).
    local info commit date_
    info="$(cd "$tools/kubernetes" && "$go" mod download -json "k8s.io/kubernetes@$k8s_version" | sed -n 's/.*"Info": "\(.*\)".*/\1/p')"
    info="$(tr ',' '\n' <"$info")"
    commit="$(sed -n 's/.*"Hash":"\([0-9a-f]\{40\}\)".*/\1/p' <<<"$info")"
    commit="${commit%%$'\n'*}"
    date_="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' <<<"$info")"
    date_="${date_%%$'\n'*}"
    date_="$(date -u -d "${date_:-now}" +%Y-%m-%dT%H:%M:%SZ)"
    local ld="" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date_"
        # Unknown commit: empty rather than the module zip's unexpanded "$Format:%H$".
        ld+=" -X $pkg.gitCommit=$commit"
    done
    t=$(date +%s)
    (cd "$tools/kubernetes" && nice -n 10 "$go" build -ldflags "-s -w$ld" -o "$cache.tmp/bin/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
    say "built kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $k8s_version in $(seconds_since "$t") s"

    t=$(date +%s)
    (cd "$tools/etcd" && nice -n 10 "$go" build -ldflags "-s -w" -o "$cache.tmp/bin/etcd" .)
    say "built etcd $etcd_version in $(seconds_since "$t") s"

    # kwokctl's default Kubernetes version is what its binary runtime would run; point it at ours.
    t=$(date +%s)
    (cd "$tools/kwok" && nice -n 10 "$go" build \
        -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${k8s_version#v}" \
        -o "$cache.tmp/bin/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
    say "built kwok, kwokctl $kwok_version in $(seconds_since "$t") s"

    # kwok needs its lifecycle stages as configuration: the defaults kwokctl uses, from the module itself.
    local src
    src="$(cd "$tools/kwok" && "$go" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
    local f first=1
    : >"$cache.tmp/kwok-stages.yaml"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
        [ -f "$src/kustomize/stage/$f" ] || die "kwok stage $f is missing from $src"
        [ "$first" = 1 ] || echo '---' >>"$cache.tmp/kwok-stages.yaml"
        first=0
        cat "$src/kustomize/stage/$f" >>"$cache.tmp/kwok-stages.yaml"
    done

    local b
    for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl; do
        # Whole output first, then its first line: a pipe into head would kill the tool with SIGPIPE.
        case "$b" in
            kubectl) v="$("$cache.tmp/bin/$b" version --client 2>&1 || true)" ;;
            *) v="$("$cache.tmp/bin/$b" --version 2>&1 || true)" ;;
        esac
        say "  $b: ${v%%$'\n'*}"
    done
    "$cache.tmp/bin/kube-apiserver" --version | grep -qx "Kubernetes $k8s_version" || die "kube-apiserver does not report $k8s_version"
    printf 'kubernetes %s\netcd %s\nkwok %s\n%s\nbuilt %s in %s s\n' "$k8s_version" "$etcd_version" "$kwok_version" \
        "$("$go" version)" "$(date -u +%FT%TZ)" "$(seconds_since "$t0")" >"$cache.tmp/.complete"
    rm -rf "$cache"
    mv "$cache.tmp" "$cache"
    say "control plane built in $(seconds_since "$t0") s into $bindir"
}

# --- up / down ------------------------------------------------------------------------------------------------
marker=".msa-controlplane"
dir="" nodes="" api_port="" etcd_port="" etcd_peer_port="" kcm_port="" sched_port="" kwok_port="" # set by cmd_up
process_names=(provisioner kwok kube-scheduler kube-controller-manager kube-apiserver etcd) # stop order

need_binaries() {
    built || die "control plane binaries missing in $bindir: run \`bash scripts/controlplane.sh build\` first"
}

pick_port() { # VAR: sets VAR to a TCP port nothing on this machine uses now (and no earlier pick took)
    local p i
    for i in $(seq 1 200); do
        # Below the kernel's ephemeral range (32768+ here), so no outgoing connection takes it before we bind.
        p=$((20000 + RANDOM % 12000))
        case " ${used_ports:-} " in *" $p "*) continue ;; esac
        if ! ss -Htan 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$p\$"; then
            used_ports="${used_ports:-} $p"
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

# Starts a process in its own session (so it can be stopped as a group), output to DIR/logs/NAME.log.
start() {
    local name="$1"
    shift
    setsid "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    echo $! >"$dir/pids/$name.pid"
}

alive() { # NAME: the recorded process exists, is not a zombie, and is one of ours (its command line names DIR)
    local pid state cmdline
    pid="$(cat "$dir/pids/$1.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
    # While the process execs (start: setsid, then the server) the kernel shows an empty command line for a
    # moment; a loaded CI machine caught that window once and called a healthy etcd dead. Empty means "ours,
    # mid-exec" (the pid was recorded a moment ago); a non-empty one must name DIR (the pid was not reused).
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [ -z "$cmdline" ] || [[ "$cmdline" == *"$dir"* ]]
}

wait_until() { # SECONDS WHAT COMMAND...: polls COMMAND every half second; the named processes must stay up
    local limit="$1" what="$2" deadline n
    shift 2
    deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        for n in "${process_names[@]}"; do
            if [ -f "$dir/pids/$n.pid" ] && ! alive "$n"; then
                die "$n exited while waiting for $what"
            fi
        done
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${limit} s waiting for $what"
        sleep 0.5
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kc() { "$bindir/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout=20s "$@"; }

gen_certs() {
    local pki="$dir/pki"
    mkdir -p "$pki"
    chmod 700 "$pki"
    (
        cd "$pki"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=msa-infra-controlplane-ca" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        leaf() { # NAME SUBJECT EXTENSIONS
            openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            printf '%s\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        leaf apiserver "/CN=kube-apiserver" "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth' \
            'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local')"
        leaf admin "/O=system:masters/CN=kubernetes-admin" "$(printf '%s\n' 'basicConstraints=CA:FALSE' \
            'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth')"
        # The aggregation layer's client (the identity kube-apiserver uses towards extension API servers);
        # controller-manager and scheduler read its CA to authenticate requests forwarded that way.
        leaf front-proxy-client "/CN=front-proxy-client" "$(printf '%s\n' 'basicConstraints=CA:FALSE' \
            'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth')"
        leaf kwok "/CN=kwok" "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost')"
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        chmod 600 ./*.key
    )
}

write_kubeconfig() {
    b64() { base64 -w0 <"$1"; }
    cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: msa-controlplane
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(b64 "$dir/pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$dir/pki/admin.crt")
    client-key-data: $(b64 "$dir/pki/admin.key")
contexts:
- name: msa-controlplane
  context:
    cluster: msa-controlplane
    user: admin
current-context: msa-controlplane
EOF
    chmod 600 "$dir/kubeconfig"
}

# The fake nodes: one zone each (zone-a, zone-b, ...) so anti-affinity and zone spreading are meaningful.
# kwok manages the nodes carrying its annotation; the capacity is generous so requests never block placement.
create_nodes() {
    local i zones=(a b c d e f g h) n
    for ((i = 0; i < nodes; i++)); do
        n="kwok-node-$i"
        cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $n
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-${zones[$((i % ${#zones[@]}))]}
    topology.kubernetes.io/region: local
status:
  capacity: { cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti }
  allocatable: { cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti }
EOF
    done
}

storage_classes() {
    # The two classes the stacks name. local-path mirrors K3s's (default class, binds when a pod is
    # scheduled); longhorn mirrors Longhorn's (binds at once, expandable). Provisioning is done by the loop below.
    cat <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: longhorn
provisioner: driver.longhorn.io
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
EOF
}

# The provisioner: what local-path-provisioner or Longhorn would do, reduced to a PV per claim. For each
# Pending claim that the PV controller handed to one of our provisioners (and, for WaitForFirstConsumer,
# that the scheduler gave a node), create a hostPath PV of exactly the requested size, pre-bound to the
# claim; delete PVs of ours once Released. It polls every second and stops when the API server has been
# unreachable for 30 s or DIR is gone, so it cannot outlive its control plane.
provisioner_loop() {
    local failures=0 claims ns name uid sc size modes vmode node prov pv affinity
    while [ -f "$dir/$marker" ]; do
        if ! claims="$(kc get pvc -A -o go-template='{{range .items}}{{if eq .status.phase "Pending"}}{{.metadata.namespace}}{{"\t"}}{{.metadata.name}}{{"\t"}}{{.metadata.uid}}{{"\t"}}{{.spec.storageClassName}}{{"\t"}}{{.spec.resources.requests.storage}}{{"\t"}}{{range $i, $m := .spec.accessModes}}{{if $i}},{{end}}{{$m}}{{end}}{{"\t"}}{{or .spec.volumeMode "Filesystem"}}{{"\t"}}{{with .metadata.annotations}}{{or (index . "volume.kubernetes.io/selected-node") "-"}}{{"\t"}}{{or (index . "volume.kubernetes.io/storage-provisioner") "-"}}{{else}}-{{"\t"}}-{{end}}{{"\n"}}{{end}}{{end}}')"; then
            failures=$((failures + 1))
            [ "$failures" -lt 30 ] || { echo "API server unreachable for 30 s; provisioner stops"; return 0; }
            sleep 1
            continue
        fi
        failures=0
        while IFS=$'\t' read -r ns name uid sc size modes vmode node prov; do
            [ -n "$uid" ] || continue
            case "$prov" in rancher.io/local-path | driver.longhorn.io) ;; *) continue ;; esac
            if [ "$prov" = rancher.io/local-path ] && [ "$node" = "-" ]; then
                continue # WaitForFirstConsumer: no node chosen yet
            fi
            pv="pvc-$uid"
            affinity=""
            if [ "$node" != "-" ]; then
                affinity="  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - { key: kubernetes.io/hostname, operator: In, values: [\"$node\"] }"
            fi
            # local-path-provisioner creates each claim's directory with mode 0777: a hostPath volume gets no
            # fsGroup ownership change, so a non-root server could not write to it otherwise (real pods:
            # scripts/nodes.sh). Longhorn's ext4 volumes do get fsGroup; a hostPath PV cannot show that.
            mkdir -p "$dir/volumes/$pv"
            chmod 0777 "$dir/volumes/$pv"
            if kc create -f - >/dev/null 2>>"$dir/logs/provisioner.err" <<EOF; then
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  annotations:
    pv.kubernetes.io/provisioned-by: $prov
spec:
  capacity: { storage: "$size" }
  accessModes: [${modes//,/, }]
  volumeMode: $vmode
  storageClassName: "$sc"
  persistentVolumeReclaimPolicy: Delete
  claimRef: { apiVersion: v1, kind: PersistentVolumeClaim, namespace: "$ns", name: "$name", uid: "$uid" }
  hostPath: { path: "$dir/volumes/$pv", type: DirectoryOrCreate }
$affinity
EOF
                echo "$(date -u +%T) provisioned $pv ($size, $sc) for $ns/$name$([ "$node" = "-" ] || echo " on $node")"
            fi
        done <<<"$claims"
        # The deleter half: Released PVs that one of our provisioners made go away with their directory.
        kc get pv -o go-template='{{range .items}}{{if eq .status.phase "Released"}}{{with .metadata.annotations}}{{index . "pv.kubernetes.io/provisioned-by"}}{{end}}{{"\t"}}{{.metadata.name}}{{"\n"}}{{end}}{{end}}' 2>/dev/null |
            while IFS=$'\t' read -r prov pv; do
                case "$prov" in rancher.io/local-path | driver.longhorn.io) ;; *) continue ;; esac
                if kc delete pv "$pv" --wait=false >/dev/null 2>&1; then
                    rm -rf "${dir:?}/volumes/$pv"
                    echo "$(date -u +%T) deleted released $pv"
                fi
            done
        sleep 1
    done
}

cmd_up() {
    dir="$1"
    need_binaries
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        die "$dir exists and is not empty (use a fresh directory; \`down $dir\` removes one this script made)"
    fi
    mkdir -p "$dir"/{logs,pids,volumes,etcd}
    chmod 700 "$dir" "$dir/etcd"
    date -u +%FT%TZ >"$dir/$marker"
    # From here on a failure stops whatever was started and removes DIR.
    trap 'if [ $? -ne 0 ]; then up_failed; fi' EXIT

    local limit="${CONTROLPLANE_UP_TIMEOUT:-180}" t0
    nodes="${CONTROLPLANE_NODES:-3}"
    [[ "$nodes" =~ ^[0-9]+$ ]] || die "CONTROLPLANE_NODES must be a number of nodes (0 or more), got '$nodes'"
    t0=$(date +%s)
    local v
    for v in etcd_port etcd_peer_port api_port kcm_port sched_port kwok_port; do pick_port "$v"; done
    gen_certs
    write_kubeconfig
    printf 'api=%s etcd=%s etcd-peer=%s kube-controller-manager=%s kube-scheduler=%s kwok=%s\n' \
        "$api_port" "$etcd_port" "$etcd_peer_port" "$kcm_port" "$sched_port" "$kwok_port" >"$dir/ports"

    # --unsafe-no-fsync: a throw-away store; fsync would make every write wait on a shared disk.
    start etcd "$bindir/etcd" --name=node0 --data-dir="$dir/etcd" \
        --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
        --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
        --initial-cluster="node0=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls="" \
        --unsafe-no-fsync --log-level=warn
    wait_until 60 "etcd on 127.0.0.1:$etcd_port" port_open "$etcd_port"

    # --allow-privileged as kubeadm sets it, so a privileged pod is refused by Pod Security, not by this flag.
    # --endpoint-reconciler-type=none: the `kubernetes` Service would point at 127.0.0.1, which Endpoints refuse.
    # --kubelet-preferred-address-types: exec and logs reach a real kubelet (scripts/nodes.sh) by its node IP;
    # its host name resolves nowhere.
    start kube-apiserver "$bindir/kube-apiserver" \
        --etcd-servers="http://127.0.0.1:$etcd_port" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
        --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
        --client-ca-file="$dir/pki/ca.crt" \
        --service-account-key-file="$dir/pki/sa.pub" --service-account-signing-key-file="$dir/pki/sa.key" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range=10.96.0.0/16 \
        --requestheader-client-ca-file="$dir/pki/ca.crt" --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- \
        --proxy-client-cert-file="$dir/pki/front-proxy-client.crt" --proxy-client-key-file="$dir/pki/front-proxy-client.key" \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --endpoint-reconciler-type=none --profiling=false \
        --kubelet-preferred-address-types=InternalIP,Hostname
    wait_until "$limit" "kube-apiserver /readyz" kc get --raw /readyz

    start kube-controller-manager "$bindir/kube-controller-manager" \
        --kubeconfig="$dir/kubeconfig" --authentication-kubeconfig="$dir/kubeconfig" --authorization-kubeconfig="$dir/kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$kcm_port" --leader-elect=false \
        --controllers='*' --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
        --cluster-name=msa-controlplane --profiling=false
    start kube-scheduler "$bindir/kube-scheduler" \
        --kubeconfig="$dir/kubeconfig" --authentication-kubeconfig="$dir/kubeconfig" --authorization-kubeconfig="$dir/kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$sched_port" --leader-elect=false --profiling=false
    start kwok "$bindir/kwok" --kubeconfig="$dir/kubeconfig" --config="$cache/kwok-stages.yaml" \
        --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --node-ip=127.0.0.1 --node-port="$kwok_port" --server-address="127.0.0.1:$kwok_port" \
        --tls-cert-file="$dir/pki/kwok.crt" --tls-private-key-file="$dir/pki/kwok.key" \
        --node-lease-duration-seconds=40

    storage_classes | kc apply -f - >/dev/null
    [ "$nodes" -eq 0 ] || create_nodes | kc apply -f - >/dev/null
    # Every namespace gets its `default` ServiceAccount from the controller-manager: pods need it to be admitted.
    wait_until "$limit" "kube-controller-manager (ServiceAccount default/default)" kc get serviceaccount default -n default
    wait_until "$limit" "kube-scheduler on 127.0.0.1:$sched_port" port_open "$sched_port"
    # 0 fake nodes: real kubelets join later (scripts/nodes.sh up), so the pods can only land on those.
    [ "$nodes" -eq 0 ] || wait_until "$limit" "$nodes kwok nodes Ready" kc wait --for=condition=Ready node --all --timeout=5s

    # The provisioner runs as a child of a fresh bash: the same script, `provision DIR`.
    start provisioner bash "${BASH_SOURCE[0]}" provision "$dir"
    trap - EXIT
    say "control plane up in $(seconds_since "$t0") s: export KUBECONFIG=$dir/kubeconfig ($("$bindir/kubectl" --kubeconfig "$dir/kubeconfig" get nodes --no-headers | wc -l) nodes; logs in $dir/logs)"
}

up_failed() {
    set +e
    say "up failed; last lines of the logs:"
    local f
    for f in "$dir"/logs/*.log; do
        [ -s "$f" ] || continue
        printf -- '--- %s\n' "$(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
    cmd_down "$dir"
}

cmd_down() {
    dir="$1"
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    [ -e "$dir" ] || { say "$dir does not exist; nothing to stop"; return 0; }
    [ -f "$dir/$marker" ] || die "$dir was not made by \`controlplane.sh up\` (no $marker); not touching it"
    rm -f "$dir/$marker" # tells the provisioner loop to stop
    local n pid i
    for n in "${process_names[@]}"; do
        alive "$n" || continue
        pid="$(cat "$dir/pids/$n.pid")"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 40); do
            alive "$n" || break
            sleep 0.25
        done
        if alive "$n"; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        alive "$n" && say "warning: $n (pid $pid) is still running"
    done
    # A process group outlives its leader only if something escaped; kill what is left of each group.
    for n in "${process_names[@]}"; do
        pid="$(cat "$dir/pids/$n.pid" 2>/dev/null)" || continue
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
    say "control plane in $dir stopped and removed"
}

case "${1:-}" in
    build) cmd_build ;;
    bindir) echo "$bindir" ;;
    up)
        [ $# -eq 2 ] || die "usage: $0 up DIR"
        cmd_up "$2"
        ;;
    down)
        [ $# -eq 2 ] || die "usage: $0 down DIR"
        cmd_down "$2"
        ;;
    provision) # internal: the provisioner loop of a running control plane
        dir="$2"
        provisioner_loop
        ;;
    *) die "usage: $0 build | up DIR | down DIR | bindir" ;;
esac
