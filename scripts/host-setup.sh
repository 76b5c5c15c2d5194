#!/usr/bin/env bash
# Prepares this host for retrolab, idempotently: the Debian packages the lab
# needs, and a Docker engine that answers. Called by `npm run lab`, `npm test`
# (through their pre-scripts) and .ci/run. Safe to run again at any time.
set -euo pipefail

PACKAGES=(docker.io qemu-system-x86 qemu-utils gcc-mingw-w64-i686 binutils-mingw-w64-i686 mtools dosfstools xorriso debootstrap e2fsprogs socat busybox-static libwin-hivex-perl iptables ca-certificates chromium iproute2 openssh-server xz-utils gcc libasan8 libubsan1)
DOCKERD_LOG=${RETROLAB_DOCKERD_LOG:-/var/log/retrolab-dockerd.log}
DOCKERD_PID=${RETROLAB_DOCKERD_PID:-/var/run/retrolab-dockerd.pid}
DOCKERD_WAIT_SECONDS=${RETROLAB_DOCKERD_WAIT:-60}

say() { printf '[host-setup] %s\n' "$*" >&2; }

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

mapfile -t missing < <(missing_packages)

if [ "$(id -u)" -ne 0 ]; then
  if [ "${#missing[@]}" -eq 0 ] && engine_answers; then
    exit 0
  fi
  say "retrolab needs root to set this host up. Run these as root (or with sudo), then try again:"
  [ "${#missing[@]}" -gt 0 ] && printf '  apt-get update && apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
  engine_answers || printf '  nohup dockerd >%s 2>&1 &   # or: systemctl start docker\n' "$DOCKERD_LOG" >&2
  exit 1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${#missing[@]} Debian package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# Wine and the i386 base image need the host to run i386 executables. Some
# kernels (paravirtualised guests among them) refuse them even with
# CONFIG_IA32_EMULATION; QEMU's user-mode emulator, registered with the F flag,
# then runs them, inside containers too. A 93-byte static i386 ELF that exits 0
# tells which case this is.
i386_runs() {
  local probe
  probe=$(mktemp)
  printf '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00\x01\x00\x00\x00\x54\x80\x04\x08\x34\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x34\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x80\x04\x08\x00\x80\x04\x08\x5d\x00\x00\x00\x5d\x00\x00\x00\x05\x00\x00\x00\x00\x10\x00\x00\xb8\x01\x00\x00\x00\x31\xdb\xcd\x80' >"$probe"
  chmod +x "$probe"
  "$probe" 2>/dev/null
  local rc=$?
  rm -f "$probe"
  return $rc
}

# Wine under qemu-user 7.2 (bookworm) hangs in services.exe; 10.x from
# bookworm-backports runs it. Measured on this project's CI machines.
ensure_qemu_user() {
  local version
  version=$(dpkg-query -W -f='${Version}' qemu-user-static 2>/dev/null || true)
  case "$version" in
    1:1[0-9].*|1:[89].*) return 1 ;;
  esac
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  export DEBIAN_FRONTEND=noninteractive
  if [ "$codename" = bookworm ]; then
    say "installing qemu-user-static from bookworm-backports (Wine needs qemu-user >= 8 here)"
    echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/retrolab-backports.list
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-user-static >&2
  else
    apt-get install -y -q --no-install-recommends qemu-user-static >&2
  fi
  return 0
}

if ! i386_runs || [ -e /proc/sys/fs/binfmt_misc/qemu-i386 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  # The F flag opens the emulator when it is registered: after an upgrade it must be registered again.
  if ensure_qemu_user && [ -e /proc/sys/fs/binfmt_misc/qemu-i386 ]; then echo -1 >/proc/sys/fs/binfmt_misc/qemu-i386; fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-i386 ]; then
    say "this kernel does not run i386 executables; registering qemu-i386-static with binfmt_misc"
    printf '%s' ':qemu-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F' >/proc/sys/fs/binfmt_misc/register
  fi
  if ! i386_runs; then
    say "i386 executables still do not run (needed for Wine); check /proc/sys/fs/binfmt_misc/qemu-i386"
    exit 1
  fi
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  if engine_answers; then exit 0; fi
  say "DOCKER_HOST=$DOCKER_HOST does not answer. Start the engine there, or unset DOCKER_HOST to use a local one."
  exit 1
fi

if engine_answers; then exit 0; fi

if [ -f "$DOCKERD_PID" ] && kill -0 "$(cat "$DOCKERD_PID")" 2>/dev/null; then
  say "dockerd (pid $(cat "$DOCKERD_PID")) is running but not answering yet; waiting"
else
  say "no Docker engine answers; starting dockerd (log: $DOCKERD_LOG)"
  rm -f /var/run/docker.pid
  setsid nohup dockerd --pidfile "$DOCKERD_PID" >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$DOCKERD_WAIT_SECONDS"); do
  if engine_answers; then
    say "Docker engine $(docker version --format '{{.Server.Version}}') answers on /var/run/docker.sock"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within ${DOCKERD_WAIT_SECONDS}s. Last lines of $DOCKERD_LOG:"
tail -n 20 "$DOCKERD_LOG" >&2 || true
exit 1
