# shellcheck shell=bash
# The test bed's real node (PANDA_TESTBED_REAL_NODE=1), sourced by scripts/cluster: bridge and guard
# table, containerd, kubelet, kube-proxy, kube-router's firewall, CoreDNS, the volume provisioner,
# and the teardown that leaves nothing of them. Uses scripts/cluster's $dir, $repo, log, die, start,
# wait_for, kc, sign, write_kubeconfig, now_ms and since. docs/testbed.md, "The real node".
#
# Everything lives under $dir/node except what the programs insist on putting elsewhere:
# /var/lib/kubelet/device-plugins, /var/log/containers, /var/lib/cni (CNI result cache), /run/containerd
# (shim sockets), /run/netns/cni-* and the kubepods cgroups. Which of these existed before `up` is
# recorded in $dir/node/preexisting, and `down` removes only the others.

node_name=bed-node-1
node_ip=10.244.0.1
node_cidr=10.244.0.0/24
node_bridge=bed-br0
# The API server's port on a real-node bed: fixed, because NetworkPolicies name the port the API
# server listens on (the chart's apiServer egress allows 6443) and kube-proxy DNATs 10.96.0.1:443 to
# it. It listens on the bridge address only; a DNAT rule in the guard table maps 127.0.0.1:6443
# onto it for the clients on this machine (kubeconfig, helm, tests).
node_api_port=6443
# Sysctls the kubelet, kube-proxy, kube-router or the bridge change: saved at up, restored at down
# (the first three right after the node is Ready too: the kubelet sets them once, at start).
node_sysctls="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom net.ipv4.ip_forward
net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
net.netfilter.nf_conntrack_max"
node_kubelet_sysctls="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom"
# Outside the state directory: removed at down only when `up` created them.
node_outside="/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /run/netns"
node_agents="containerd kubelet kube-proxy kube-router coredns provisioner"

# The node's image store (containerd's root): in the cache, kept from one bed to the next, so a warm
# bed imports only the images whose build changed (scripts/images import labels each image with its
# build hash); about 7 GB with every image of scripts/images. Containers, sandboxes and their mounts
# in it go at `down` and at `up`. `rm -rf` it (no bed up) to start from an empty store.
node_store=${XDG_CACHE_HOME:-$HOME/.cache}/panda-install/node-containerd

# A real-node bed that is up or half up (prepare got as far as saving the sysctls); `down` renames
# the file once it has restored them, so a second `down` restores nothing.
node_enabled() { [ -f "$dir/node/sysctl.before" ]; }
ctr_() { ctr --address "$dir/node/containerd/containerd.sock" -n k8s.io "$@"; }

node_check_host() {
  local b missing=()
  [ "$(id -u)" -eq 0 ] || die "the real node needs root (bridge, nftables, containerd, kubelet)"
  for b in containerd ctr runc nft iptables-save ipset ip conntrack python3; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(/usr/lib/cni/bridge)
  [ -x /bin/busybox ] || missing+=(/bin/busybox)
  [ ${#missing[@]} -eq 0 ] || die "missing for the real node: ${missing[*]} (run scripts/setup)"
  for b in "$TOOLS_KUBE_BIN/kubelet" "$TOOLS_KUBE_BIN/kube-proxy" "$TOOLS_KUBE_ROUTER" "$TOOLS_COREDNS" "$TOOLS_PAUSE"; do
    [ -x "$b" ] || die "$b is missing: run scripts/tools build first"
  done
  if ip link show "$node_bridge" >/dev/null 2>&1; then
    die "$node_bridge exists already: another real-node bed runs on this machine (one at a time)"
  fi
  nft list table inet bed_guard >/dev/null 2>&1 && die "nft table inet bed_guard exists already (another real-node bed?)"
  return 0
}

# ---------- up, part 1: before the API server starts (it listens on the bridge address) ----------

node_prepare() {
  local n=$dir/node k p t
  t=$(now_ms)
  node_check_host
  mkdir -p "$n"/{containerd/certs.d/_default,cni/net.d,cni/ipam,kubelet,pod-logs,volumes,images}
  for p in $node_outside; do [ -e "$p" ] && echo "$p"; done >"$n/preexisting"
  for k in $node_sysctls; do echo "$k=$(sysctl -n "$k")"; done >"$n/sysctl.before"

  ip link add "$node_bridge" type bridge
  ip addr add "$node_ip/24" dev "$node_bridge"
  ip link set "$node_bridge" up
  # The guard: nothing from the bridge or the pod CIDR leaves through another interface (pods have
  # no default route either; this catches a Service whose endpoint is outside, e.g. an API server
  # advertising the machine's gateway). Priority -300: before kube-proxy's and kube-router's rules.
  nft -f - <<EOF
table inet bed_guard {
  chain guard_forward {
    type filter hook forward priority -300; policy accept;
    iifname "$node_bridge" oifname != "$node_bridge" counter drop
  }
  chain guard_postrouting {
    type filter hook postrouting priority 300; policy accept;
    oifname != { "$node_bridge", "lo" } ip saddr $node_cidr counter drop
  }
  chain loopback_api {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.1 tcp dport $node_api_port dnat ip to $node_ip
  }
}
EOF
  sysctl -qw net.ipv4.ip_forward=1
  log "real node: bridge $node_bridge ($node_ip/24), guard table inet bed_guard in $(since "$t")"
}

# ---------- up, part 2: once the control plane runs ----------

# mkimage ROOTFS NAME:TAG OUT ENTRYPOINT_JSON: a one-layer docker-archive, reproducible (no registry).
node_mkimage() {
  local rootfs=$1 ref=$2 out=$3 entrypoint=$4 tmp lsha csha
  tmp=$(mktemp -d "$dir/node/images/tmp.XXXXXX")
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$rootfs" -cf "$tmp/layer.tar" .
  lsha=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
  mkdir "$tmp/$lsha"; mv "$tmp/layer.tar" "$tmp/$lsha/layer.tar"
  cat >"$tmp/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$entrypoint,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$lsha"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"panda-install testbed/real-node/node.sh"}]}
EOF
  csha=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
  mv "$tmp/config.json" "$tmp/$csha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$csha" "$ref" "$lsha" >"$tmp/manifest.json"
  tar --numeric-owner --owner=0 --group=0 -C "$tmp" -cf "$out" manifest.json "$csha.json" "$lsha"
  rm -rf "$tmp"
}

# bed.local/pause:1 (the sandbox) and bed.local/busybox:1 (Debian's busybox-static, an `app` user
# 10001): the two images the node itself and its tests need.
node_images() {
  local i=$dir/node/images a
  mkdir -p "$i/pause-root" "$i/busybox-root"/{bin,etc,tmp}
  cp "$TOOLS_PAUSE" "$i/pause-root/pause"
  node_mkimage "$i/pause-root" bed.local/pause:1 "$i/pause.tar" '["/pause"]'
  cp /bin/busybox "$i/busybox-root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$i/busybox-root/bin/$a"; done
  printf 'root:x:0:0:root:/:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$i/busybox-root/etc/passwd"
  printf 'root:x:0:\napp:x:10001:\nnogroup:x:65534:\n' >"$i/busybox-root/etc/group"
  chmod 1777 "$i/busybox-root/tmp"
  node_mkimage "$i/busybox-root" bed.local/busybox:1 "$i/busybox.tar" '["/bin/sh"]'
  for a in pause busybox; do ctr_ images import "$i/$a.tar" >/dev/null; done
}

node_containerd() {
  local n=$dir/node
  # Every registry, docker.io's default included, is a refusing loopback port: a missing image
  # fails at once ("connect: connection refused") instead of looking up a registry.
  cat >"$n/containerd/certs.d/_default/hosts.toml" <<'EOF'
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
  cat >"$n/containerd/config.toml" <<EOF
version = 2
root = "$node_store"
state = "$n/containerd/state"
[grpc]
  address = "$n/containerd/containerd.sock"
[ttrpc]
  address = "$n/containerd/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$n/containerd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "bed.local/pause:1"
    enable_selinux = false
    # These machines withhold CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (the CRI asks -998
    # for the sandbox) and every sandbox would fail with "can't get final child's PID from pipe".
    restrict_oom_score_adj = true
    # As containerd 2 and most clusters: non-root containers may bind ports below 1024 and ping.
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    stream_server_address = "127.0.0.1"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$n/containerd/certs.d"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$n/cni/net.d"
EOF
  cat >"$n/cni/net.d/10-bed.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "bed-pods", "plugins": [
  {"type": "bridge", "bridge": "$node_bridge", "isGateway": true, "isDefaultGateway": false, "ipMasq": false,
   "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$node_cidr", "gateway": "$node_ip"}]],
            "routes": [{"dst": "$node_cidr"}, {"dst": "10.96.0.0/16", "gw": "$node_ip"}], "dataDir": "$n/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
  mkdir -p "$node_store"
  start containerd containerd --config "$n/containerd/config.toml"
  wait_for "containerd" 30 ctr_ version
  # what a bed that was killed before its `down` left in the store
  node_remove_containers
}

# Every task and container in the node's containerd (its images stay).
node_remove_containers() {
  local c
  for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$c" >/dev/null 2>&1; done
  for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$c" >/dev/null 2>&1; done
  for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$c" >/dev/null 2>&1; done
}

# kubeconfig of a node agent: client certificate signed by the bed CA
node_credentials() { # name subject
  sign "$1" "$2" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  write_kubeconfig "$dir/$1.kubeconfig" "$1" "$node_api_port"
}

node_kubelet() {
  local n=$dir/node
  # system:node:<name> in system:nodes: the Node authorizer and NodeRestriction apply as in a cluster.
  node_credentials kubelet "/O=system:nodes/CN=system:node:$node_name"
  echo "nameserver $node_ip" >"$n/resolv.conf"
  cat >"$n/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# the bridge address only (the API server reaches it there); healthz on loopback
address: $node_ip
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
# the API server presents the admin client certificate (--kubelet-client-certificate)
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$n/containerd/containerd.sock
imageServiceEndpoint: unix://$n/containerd/containerd.sock
clusterDomain: cluster.local
clusterDNS: [$node_ip]
# pods never see the machine's resolver, not even with dnsPolicy: Default
resolvConf: $n/resolv.conf
podLogsDir: $n/pod-logs
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
# the imported images exist nowhere else: never garbage-collect them
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 110
EOF
  start kubelet "$TOOLS_KUBE_BIN/kubelet" --config="$n/kubelet-config.yaml" --kubeconfig="$dir/kubelet.kubeconfig" \
    --root-dir="$n/kubelet" --hostname-override="$node_name" --node-ip="$node_ip" --v=1
}

node_is_ready() { [ "$(kc get node "$node_name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

node_restore_sysctls() { # sysctl names...
  local k v
  for k in "$@"; do
    v=$(sed -n "s/^$k=//p" "$dir/node/sysctl.before")
    [ -z "$v" ] || [ "$(sysctl -n "$k")" = "$v" ] || sysctl -qw "$k=$v"
  done
}

node_proxy_and_firewall() {
  local n=$dir/node
  node_credentials kube-proxy "/CN=system:kube-proxy"
  cat >"$n/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $node_cidr
hostnameOverride: $node_name
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# NodePorts on the bridge address only; no route_localnet (localhostNodePorts would set it)
nodePortAddresses: ["$node_ip/32"]
iptables: {localhostNodePorts: false}
# leave the conntrack sysctls alone
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "$TOOLS_KUBE_BIN/kube-proxy" --config="$n/kube-proxy-config.yaml" --v=1
  # kube-router: the NetworkPolicy firewall only (no routing, no service proxy). Test bed only: see
  # the caveat in testbed/versions.env and docs/testbed.md.
  start kube-router "$TOOLS_KUBE_ROUTER" --kubeconfig="$dir/kubeconfig" --hostname-override="$node_name" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-ipv4=true --enable-ipv6=false \
    --health-port="$KUBE_ROUTER_HEALTH_PORT" --metrics-port=0
}

node_dns_and_storage() {
  local n=$dir/node
  cat >"$n/Corefile" <<EOF
.:53 {
    bind $node_ip
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    errors
    cache 5
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $dir/kubeconfig panda-install-testbed
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
}
EOF
  start coredns "$TOOLS_COREDNS" -conf "$n/Corefile"
  # the interpreter itself, not a wrapper that execs it (a pyenv shim would change name under us)
  start provisioner "$(python3 -c 'import sys; print(sys.executable)')" "$repo/testbed/real-node/provisioner.py" \
    --server "https://127.0.0.1:$node_api_port" --ca "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
    --key "$dir/pki/admin.key" --root "$n/volumes" --node "$node_name" --class standard
}

node_healthy() {
  curl -fs --max-time 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" &&
    curl -fs --max-time 2 "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz" &&
    curl -fs --max-time 2 "http://127.0.0.1:$COREDNS_READY_PORT/ready"
}

node_up() {
  local t t0
  t0=$(now_ms); t=$t0
  node_containerd
  node_images
  log "real node: containerd up, images bed.local/pause:1 and bed.local/busybox:1 imported in $(since "$t")"
  t=$(now_ms)
  node_kubelet
  wait_for "$node_name Ready" 120 node_is_ready
  # The kubelet set kernel.panic=10, kernel.panic_on_oops=1 and vm.overcommit_memory=1 at start (on a
  # shared machine an oops would panic it): back to what they were, now that it will not set them again.
  node_restore_sysctls $node_kubelet_sysctls
  # The controller manager allocates no CIDRs on the bed; kube-router reads the node's podCIDR.
  kc patch node "$node_name" -p "{\"spec\":{\"podCIDR\":\"$node_cidr\",\"podCIDRs\":[\"$node_cidr\"]}}" >/dev/null
  log "real node: kubelet started, $node_name Ready in $(since "$t")"
  t=$(now_ms)
  node_proxy_and_firewall
  node_dns_and_storage
  wait_for "kube-proxy, kube-router and CoreDNS healthy" 60 node_healthy
  log "real node: kube-proxy, kube-router, CoreDNS and the provisioner up in $(since "$t") (node total $(since "$t0"))"
}

# ---------- down ----------

node_pid_ok() { # pid: ours if its command line names the state directory
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir/"
}

node_stop() { # agent name
  local p
  p=$(pid_of "$1")
  if node_pid_ok "$p"; then stop_pids "$p"; fi
  rm -f "$dir/run/$1.pid"
}

node_was_there() { grep -qxF -- "$1" "$dir/node/preexisting" 2>/dev/null; }

# Removes what the agents left in the firewall. iptables tables are deleted only when every chain in
# them is a built-in one or KUBE-*, and every rule mentions KUBE: nobody else's rules go.
node_clean_rules() {
  local fam save tbl s rules
  ours_only() {
    awk '/^:/ { if ($1 !~ /^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING)$/ && $1 !~ /^:KUBE-/) bad=1 }
         /^-A/ { if ($0 !~ /KUBE/) bad=1 } END { exit bad }'
  }
  for fam in ip ip6; do
    save=iptables-save; [ "$fam" = ip6 ] && save=ip6tables-save
    for tbl in filter nat mangle raw; do
      nft list table "$fam" "$tbl" >/dev/null 2>&1 || continue
      # Read once into a variable: `iptables-save | grep -q` under pipefail fails whenever grep
      # stops reading before a long listing ends (SIGPIPE), which skipped the table here.
      rules=$("$save" -t "$tbl" 2>/dev/null) || continue
      [[ $rules == *KUBE* ]] || continue
      if ours_only <<<"$rules"; then
        nft delete table "$fam" "$tbl"
      else
        log "warning: $fam $tbl holds rules that are not the bed's; KUBE-* rules left in it"
      fi
    done
  done
  for s in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-|inet6:KUBE-)' || true); do
    ipset destroy "$s" 2>/dev/null || log "warning: ipset $s could not be destroyed"
  done
  nft delete table inet bed_guard 2>/dev/null || true
}

node_down() {
  local n=$dir/node t m p left
  node_enabled || return 0
  t=$(now_ms)
  # 1. While the kubelet runs: cordon the node (no replacement pods land on it) and delete its pods,
  #    so that the kubelet tears them down itself (CNI DEL, unmounts). Grace periods are cut to 1 s:
  #    the bed is going away. Whatever is left after 30 s is killed through containerd below.
  if node_pid_ok "$(pid_of kubelet)" && kc get --raw=/readyz >/dev/null 2>&1; then
    kc cordon "$node_name" >/dev/null 2>&1 || true
    kc delete pods -A --field-selector "spec.nodeName=$node_name" --grace-period=1 --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 60); do
      [ -z "$(kc get pods -A --field-selector "spec.nodeName=$node_name" -o name 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  # 2. The agents, each with its own rule cleanup.
  node_stop provisioner
  node_stop coredns
  node_stop kube-router
  [ -x "${TOOLS_KUBE_ROUTER:-}" ] && "$TOOLS_KUBE_ROUTER" --cleanup-config >/dev/null 2>&1
  node_stop kube-proxy
  [ -x "$TOOLS_KUBE_BIN/kube-proxy" ] && "$TOOLS_KUBE_BIN/kube-proxy" --cleanup >/dev/null 2>&1
  node_stop kubelet
  kc delete node "$node_name" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  # 3. Containers still there: kill their tasks through containerd (the shims exit with them).
  if [ -S "$n/containerd/containerd.sock" ] && node_pid_ok "$(pid_of containerd)"; then
    node_remove_containers
  fi
  node_stop containerd
  # shims whose task could not be killed (they name the state dir in -address)
  left=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = containerd-shim ] && node_pid_ok "$p" && left+=("$p")
  done
  stop_pids "${left[@]}"
  # 4. Mounts under the state directory and the image store (the sandboxes' shm), and the pods'
  #    network namespaces (deepest first).
  findmnt -rn -o TARGET | awk -v d="$dir/" -v s="$node_store/" 'index($0, d) == 1 || index($0, s) == 1' |
    sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  for m in /run/netns/cni-*; do
    [ -e "$m" ] || continue
    node_was_there "$m" && continue
    umount "$m" 2>/dev/null; rm -f "$m"
  done
  rm -rf -- "$n/volumes" "$n/containerd/state" "$n/containerd/opt" "$n/kubelet" "$n/images" \
    "$node_store/io.containerd.grpc.v1.cri/sandboxes" "$node_store/io.containerd.grpc.v1.cri/containers"
  log "real node: agents and containers stopped in $(since "$t")"
}

# The rest of `down`, once the control plane has stopped too (the API server talks to itself on the
# bridge address until it exits).
node_network_down() {
  local n=$dir/node v h p
  node_enabled || return 0
  # 5. Network: veths on the bridge, the bridge, rules, ipsets, the guard table.
  for v in $(ip -o link show master "$node_bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link delete "$v" 2>/dev/null || true
  done
  ip link show "$node_bridge" >/dev/null 2>&1 && ip link delete "$node_bridge"
  node_clean_rules
  # 6. The kubelet's cgroups (rmdir only: never a cgroup mount or a populated group).
  for h in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  # 7. Sysctls as they were before up.
  node_restore_sysctls $node_sysctls
  # 8. What the programs wrote outside the state directory, if up created it.
  for p in $node_outside; do
    [ -e "$p" ] && ! node_was_there "$p" && { [ "$p" != /run/netns ] || [ -z "$(ls -A /run/netns)" ]; } && rm -rf -- "$p"
  done
  mv "$n/sysctl.before" "$n/sysctl.restored"
}
