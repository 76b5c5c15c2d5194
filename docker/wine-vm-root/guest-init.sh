#!/bin/sh
# PID 1 of the wine-vm guest. It sets the machine up, starts the agent's
# session on ttyS0 (COM1) and then only reaps orphans. It must never exit.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
bb=/usr/lib/retrolab/busybox

# The kernel console belongs on ttyS1 (console=ttyS1). If it was put on ttyS0
# anyway, keep kernel and script messages off the agent's line.
log=/dev/console
case " $(cat /sys/class/tty/console/active 2>/dev/null) " in
  *" ttyS0 "*)
    dmesg -n 1
    log=/dev/null
    ;;
esac
( : >"$log" ) 2>/dev/null || log=/dev/null
exec >"$log" 2>&1

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

# Docker's export leaves these empty (they are bind mounts in a container).
hostname wine-vm
echo wine-vm > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\twine-vm\n' > /etc/hosts
echo 'nameserver 10.0.2.3' > /etc/resolv.conf

# QEMU's user-mode network (slirp): fixed guest address and gateway.
$bb ip link set lo up
if $bb ip link set eth0 up 2>/dev/null; then
  $bb ip addr add 10.0.2.15/24 dev eth0
  $bb ip route add default via 10.0.2.2
  $bb ip -4 addr show dev eth0
else
  echo "retrolab-init: no eth0 (no NIC, or its driver is not in the initramfs)"
fi

case " $(cat /proc/cmdline) " in
  *" retrolab.provision "*) exec /usr/lib/retrolab/guest-provision.sh ;;
esac

# No udev: devtmpfs makes ttyS0 root-only. Wine runs as wine, in dialout.
chgrp dialout /dev/ttyS0
chmod 660 /dev/ttyS0
stty -F /dev/ttyS0 raw -echo clocal 115200

# setsid -c makes ttyS0 the controlling tty of the agent's session before
# Wine starts: wineserver opens the port without O_NOCTTY and would otherwise
# take it, and hang the line up when it exits.
setsid -c /usr/lib/retrolab/agent-session.sh </dev/ttyS0 &

echo "retrolab-init: agent session started"
while :; do
  sleep 3600
done
