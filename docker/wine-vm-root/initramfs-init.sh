#!/bin/busybox sh
# /init of the wine-vm initramfs: load the disk and NIC drivers, mount the
# root disk (whole-disk ext4, no partition table) and hand over to its init.
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Messages go to the kernel console, unless it is ttyS0: that is the agent's line.
case " $(cat /sys/class/tty/console/active) " in
  *" ttyS0 "*) exec </dev/null >/dev/null 2>&1 ;;
  *) if (: </dev/console) 2>/dev/null; then exec </dev/console >/dev/console 2>&1; fi ;;
esac

while read -r module; do
  insmod "/lib/modules/$module.ko" || echo "initramfs: insmod $module failed"
done < /etc/modules-load

wanted=
for arg in $(cat /proc/cmdline); do
  case "$arg" in root=/dev/*) wanted=${arg#root=} ;; esac
done

# Disk probing finishes asynchronously after insmod returns: poll for ~10 s.
mounted=
tries=0
while [ -z "$mounted" ] && [ "$tries" -lt 100 ]; do
  for device in $wanted /dev/vda /dev/sda; do
    if [ -b "$device" ] && mount -t ext4 -o rw "$device" /newroot 2>/dev/null; then
      mounted=$device
      break
    fi
  done
  [ -n "$mounted" ] || { tries=$((tries + 1)); sleep 0.1; }
done

if [ -z "$mounted" ]; then
  echo "initramfs: no ext4 root disk found (tried: $wanted /dev/vda /dev/sda); block devices:"
  cat /proc/partitions
  poweroff -f
fi

echo "initramfs: root is $mounted"
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /sbin/retrolab-init
