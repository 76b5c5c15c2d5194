#!/usr/bin/env bash
# A second Docker host on this machine, for the several-hosts tests: a network
# namespace joined to this one by a veth pair on private addresses, with its
# own containerd + dockerd (own data-root, exec-root, pidfiles and socket) and
# Debian's openssh-server listening on the namespace's address, a throwaway
# client key and a known_hosts for it. The engine also listens on
# tcp://NS_ADDR:2376 with TLS (--tlsverify), with a throwaway CA, server and
# client certificates made by openssl. Idempotent: `up` starts only what is
# not running. Runs as root (it is what .ci/run and the tests call).
#
# The host is remote in what it sees, too: engine and sshd run in a mount
# namespace of their own ($RUN/ns/mnt) in which this checkout and retrolab's
# cache here (RETROLAB_CACHE) are hidden under empty tmpfs mounts, so guests
# there cannot get this machine's files by path: retrolab has to copy them
# over SSH (SFTP) and reach the guests' sockets through the connection. Each
# `up` hides the checkout it is run from (and RETROLAB_CACHE), so the host
# stays remote for every checkout that uses it; RETROLAB_TESTHOST_HIDE adds
# more paths. retrolab's own cache there is root's default, /var/cache/retrolab.
#
#   bash scripts/test-host.sh up            # make sure all of it runs; prints the env file
#   bash scripts/test-host.sh kill-engine   # the host "drops": its engine, containerd and containers die (sshd stays)
#   bash scripts/test-host.sh down          # stop everything, remove the namespace (images kept)
#   bash scripts/test-host.sh purge         # down, and remove the engine's data-root and keys
#
# The env file ($STATE/env) gives RETROLAB_TESTHOST_URL, RETROLAB_SSH_KEY,
# RETROLAB_KNOWN_HOSTS and RETROLAB_TESTHOST_ADDRESS to the tests, and
# RETROLAB_TESTHOST_TCP_URL with RETROLAB_TESTHOST_CERT_PATH (what
# DOCKER_CERT_PATH takes: ca.pem, cert.pem, key.pem) for the TLS listener.
set -euo pipefail

NS=${RETROLAB_TESTHOST_NS:-retrolab-host2}
STATE=${RETROLAB_TESTHOST_STATE:-/var/lib/retrolab-testhost}
RUN=${RETROLAB_TESTHOST_RUN:-/run/retrolab-testhost}
HOST_IF=rlhost0
NS_IF=rlhost1
HOST_ADDR=10.213.77.1
NS_ADDR=10.213.77.2
TLS_PORT=2376
CGROUP_PARENT=retrolab-testhost
WAIT_SECONDS=${RETROLAB_TESTHOST_WAIT:-60}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MNT_NS="$RUN/ns/mnt"
HIDDEN_MARK=.hidden-by-retrolab-test-host

say() { printf '[test-host] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# nsenter joins only the network namespace; `ip netns exec` would also remount
# /sys, hiding the cgroup mounts dockerd needs.
in_ns() { nsenter --net="/var/run/netns/$NS" "$@"; }
# The engine, containerd and sshd: the network namespace and the mount namespace that hides this machine's paths.
in_host() { nsenter --net="/var/run/netns/$NS" --mount="$MNT_NS" "$@"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, a second dockerd): run it as root"
  local tool
  for tool in ip nsenter unshare sshd ssh-keygen dockerd containerd openssl; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool is missing: run bash scripts/host-setup.sh (it installs iproute2, openssh-server, docker.io)"
  done
}

network_up() {
  [ -e "/var/run/netns/$NS" ] || ip netns add "$NS"
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NS_IF"
    ip link set "$NS_IF" netns "$NS"
  fi
  local addrs
  addrs=$(ip addr show dev "$HOST_IF")
  [[ "$addrs" == *"$HOST_ADDR/30"* ]] || ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  addrs=$(in_ns ip addr show dev "$NS_IF")
  [[ "$addrs" == *"$NS_ADDR/30"* ]] || in_ns ip addr add "$NS_ADDR/30" dev "$NS_IF"
  in_ns ip link set "$NS_IF" up
  in_ns ip link set lo up
}

# A persistent mount namespace (bound to $MNT_NS, on a private mount so the bind is allowed).
mount_ns_up() {
  mkdir -p "$RUN/ns"
  if ! mountpoint -q "$RUN/ns"; then
    mount --bind "$RUN/ns" "$RUN/ns"
    mount --make-private "$RUN/ns"
  fi
  if ! nsenter --mount="$MNT_NS" true 2>/dev/null; then
    touch "$MNT_NS"
    unshare --mount="$MNT_NS" --propagation private true
  fi
  local path
  for path in "$ROOT" ${RETROLAB_CACHE:-} ${RETROLAB_TESTHOST_HIDE:-}; do
    [ -d "$path" ] || continue
    path=$(cd "$path" && pwd -P)
    nsenter --mount="$MNT_NS" test -e "$path/$HIDDEN_MARK" && continue
    say "hiding $path from the test host"
    nsenter --mount="$MNT_NS" sh -c "mount -t tmpfs -o size=1m,mode=0755 retrolab-hidden '$path' && touch '$path/$HIDDEN_MARK'"
  done
}

# A process of an older `up` that runs outside the mount namespace sees this machine's paths: it is restarted.
outside_ns() {
  alive "$1" && pid_outside_ns "$(cat "$1")"
}
pid_outside_ns() { [ "$(stat -L -c %i "/proc/$1/ns/mnt" 2>/dev/null)" != "$(stat -L -c %i "$MNT_NS")" ]; }

# Every containerd serving this host's config (an older script recorded a subshell's pid, not containerd's,
# so a killed engine could leave its containerd behind, and the next dockerd used that one).
containerd_pids() { pgrep -f "^containerd --config $STATE/containerd.toml" || true; }
stray_containerd() {
  local pid
  for pid in $(containerd_pids); do
    if pid_outside_ns "$pid" || [ "$pid" != "$(cat "$RUN/containerd.pid" 2>/dev/null)" ]; then return 0; fi
  done
  return 1
}

keys_up() {
  mkdir -p "$STATE" "$RUN" /run/sshd
  chmod 700 "$STATE"
  [ -f "$STATE/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "retrolab test host" -f "$STATE/ssh_host_ed25519_key"
  [ -f "$STATE/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "retrolab test client" -f "$STATE/client_ed25519"
  cp "$STATE/client_ed25519.pub" "$STATE/authorized_keys"
  printf '%s %s\n' "$NS_ADDR" "$(cut -d' ' -f1,2 "$STATE/ssh_host_ed25519_key.pub")" >"$STATE/known_hosts"
  cat >"$STATE/sshd_config.new" <<EOF
ListenAddress $NS_ADDR
Port 22
HostKey $STATE/ssh_host_ed25519_key
PidFile $RUN/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowStreamLocalForwarding yes
# sshd permits direct-streamlocal (the engine socket) only where local TCP forwarding is allowed too.
AllowTcpForwarding local
X11Forwarding no
# retrolab copies guests' files to this host (it does not see this machine's paths) over SFTP.
Subsystem sftp internal-sftp
# dockerode's stock ssh:// transport runs \`docker system dial-stdio\` on the host; this points it at this engine.
SetEnv DOCKER_HOST=unix://$RUN/docker.sock
EOF
  # A changed configuration (a newer checkout's) is taken up by restarting sshd.
  if ! cmp -s "$STATE/sshd_config.new" "$STATE/sshd_config"; then
    mv "$STATE/sshd_config.new" "$STATE/sshd_config"
    kill_pidfile "$RUN/sshd.pid"
  else
    rm "$STATE/sshd_config.new"
  fi
  cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUN/containerd/containerd.sock"
[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  cat >"$STATE/env" <<EOF
RETROLAB_TESTHOST_ADDRESS=$NS_ADDR
RETROLAB_TESTHOST_URL=ssh://root@$NS_ADDR$RUN/docker.sock
RETROLAB_TESTHOST_SOCKET=$RUN/docker.sock
RETROLAB_SSH_KEY=$STATE/client_ed25519
RETROLAB_KNOWN_HOSTS=$STATE/known_hosts
RETROLAB_TESTHOST_TCP_URL=tcp://$NS_ADDR:$TLS_PORT
RETROLAB_TESTHOST_CERT_PATH=$STATE/tls-client
EOF
}

# A CA, the engine's certificate (for NS_ADDR) and a client certificate, as dockerd --tlsverify wants them.
tls_up() {
  local tls=$STATE/tls client=$STATE/tls-client
  [ -f "$client/key.pem" ] && [ -f "$tls/server-cert.pem" ] && return 0
  mkdir -p "$tls" "$client"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=retrolab test CA" \
    -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$NS_ADDR" \
    -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$NS_ADDR" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 3650 \
    -extfile "$tls/server.ext" -out "$tls/server-cert.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=retrolab test client" \
    -keyout "$client/key.pem" -out "$tls/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$tls/client.ext"
  openssl x509 -req -in "$tls/client.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 3650 \
    -extfile "$tls/client.ext" -out "$client/cert.pem" 2>/dev/null
  cp "$tls/ca.pem" "$client/ca.pem"
  chmod 600 "$tls"/*-key.pem "$client/key.pem"
}

wait_for() {
  local what=$1 i
  shift
  for i in $(seq 1 "$WAIT_SECONDS"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  die "$what did not come up within ${WAIT_SECONDS}s (logs: $STATE/*.log)"
}

engine_up() {
  mkdir -p "$RUN/containerd"
  if stray_containerd || outside_ns "$RUN/dockerd.pid"; then
    # Started by an older checkout's script. Its containers may be another run's: those are not killed.
    if [ -n "$(docker -H "unix://$RUN/docker.sock" ps -q 2>/dev/null)" ]; then
      die "the engine runs outside the mount namespace (started by an older scripts/test-host.sh) and has running containers; run up again once they have ended"
    fi
    say "the engine runs outside the mount namespace (started by an older scripts/test-host.sh): restarting it"
    kill_engine
  fi
  # An engine started by an older version of this script has no TLS listener: start it again with one.
  if alive "$RUN/dockerd.pid" && ! in_ns ss -Hltn "sport = :$TLS_PORT" | grep -q .; then
    say "restarting the engine in $NS to add its TLS listener on $NS_ADDR:$TLS_PORT"
    kill_engine
  fi
  if ! alive "$RUN/containerd.pid"; then
    say "starting containerd in $NS"
    rm -f "$RUN/containerd/containerd.sock"
    # nsenter and setsid exec in turn, so $! is containerd's own pid.
    nsenter --net="/var/run/netns/$NS" --mount="$MNT_NS" setsid containerd --config "$STATE/containerd.toml" >>"$STATE/containerd.log" 2>&1 </dev/null &
    echo $! >"$RUN/containerd.pid"
    wait_for containerd test -S "$RUN/containerd/containerd.sock"
  fi
  if ! alive "$RUN/dockerd.pid"; then
    say "starting dockerd in $NS (data-root $STATE/docker, socket $RUN/docker.sock)"
    rm -f "$RUN/docker.sock"
    # No bridge and no iptables: retrolab's containers run with network none.
    in_host setsid dockerd \
      --data-root "$STATE/docker" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" \
      --host "unix://$RUN/docker.sock" --containerd "$RUN/containerd/containerd.sock" \
      --host "tcp://$NS_ADDR:$TLS_PORT" --tlsverify --tlscacert "$STATE/tls/ca.pem" \
      --tlscert "$STATE/tls/server-cert.pem" --tlskey "$STATE/tls/server-key.pem" \
      --bridge none --iptables=false --ip-masq=false --cgroup-parent "$CGROUP_PARENT" \
      >>"$STATE/dockerd.log" 2>&1 </dev/null &
    wait_for dockerd docker -H "unix://$RUN/docker.sock" version
  fi
}

sshd_up() {
  outside_ns "$RUN/sshd.pid" && kill_pidfile "$RUN/sshd.pid"
  if ! alive "$RUN/sshd.pid"; then
    say "starting sshd on $NS_ADDR:22 in $NS"
    in_host /usr/sbin/sshd -f "$STATE/sshd_config" -E "$STATE/sshd.log"
    wait_for sshd alive "$RUN/sshd.pid"
  fi
}

kill_pidfile() {
  if alive "$1"; then kill -9 "$(cat "$1")" 2>/dev/null || true; fi
  rm -f "$1"
}

# Everything the namespaced engine ran: its containers' processes (by their
# cgroup parent) and their shims (by the containerd address they serve).
kill_engine() {
  kill_pidfile "$RUN/dockerd.pid"
  local pid
  for pid in $(cat /sys/fs/cgroup/pids/"$CGROUP_PARENT"/*/cgroup.procs /sys/fs/cgroup/"$CGROUP_PARENT"/*/cgroup.procs 2>/dev/null || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in $(pgrep -f "containerd-shim.*-address $RUN/containerd/containerd.sock" || true); do kill -9 "$pid" 2>/dev/null || true; done
  kill_pidfile "$RUN/containerd.pid"
  for pid in $(containerd_pids); do kill -9 "$pid" 2>/dev/null || true; done
}

down() {
  kill_pidfile "$RUN/sshd.pid"
  kill_engine
  ip link del "$HOST_IF" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  umount "$MNT_NS" 2>/dev/null || true
  umount "$RUN/ns" 2>/dev/null || true
}

case "${1:-up}" in
  up)
    need_root
    network_up
    mount_ns_up
    keys_up
    tls_up
    engine_up
    sshd_up
    say "ready: $(grep URL "$STATE/env")"
    cat "$STATE/env"
    ;;
  kill-engine)
    kill_engine
    say "the engine in $NS is dead (sshd still answers on $NS_ADDR)"
    ;;
  down)
    down
    say "stopped; data kept in $STATE"
    ;;
  purge)
    down
    rm -rf "$STATE" "$RUN"
    say "removed $STATE and $RUN"
    ;;
  *)
    die "usage: $0 up|kill-engine|down|purge"
    ;;
esac
