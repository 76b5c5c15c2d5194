#!/bin/sh
# Runs in the i386 kernel stage: writes vmlinuz, initrd.img and a static
# busybox to $1.
set -eu
out=$1
export DEBIAN_FRONTEND=noninteractive

# Block: ata_piix+sd_mod (IDE) or virtio_blk (virtio); NICs: every model a
# wine-vm spec may choose, loaded unconditionally (a driver without its device
# costs a few milliseconds).
MODULES="ext4 ata_piix sd_mod virtio_pci virtio_blk virtio_net e1000 ne2k-pci pcnet32 8139cp 8139too"

apt-get update
apt-get install -y --no-install-recommends busybox-static kmod xz-utils
kernel_pkg=$(apt-cache depends linux-image-686 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-686\)$/\1/p' | head -n 1)
[ -n "$kernel_pkg" ] || { echo "build-initramfs: no kernel package behind linux-image-686" >&2; exit 1; }
cd /tmp
apt-get download "$kernel_pkg"
dpkg-deb -x "$kernel_pkg"_*.deb /kroot
version=$(ls /kroot/lib/modules)
depmod -b /kroot "$version"

root=/initramfs
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/newroot" "$root/lib/modules" "$root/etc" "$out"
cp /bin/busybox "$root/bin/busybox"
cp /bin/busybox "$out/busybox"
cp /usr/local/lib/wine-vm/initramfs-init.sh "$root/init"
chmod 755 "$root/init"
mknod -m 600 "$root/dev/console" c 5 1

# modprobe resolves dependencies in load order (skipping crc32c-intel, which
# needs SSE4.2 that the guest CPU lacks); the initramfs has no depmod,
# so it gets the order as a list and loads each file with insmod.
modprobe -a -d /kroot -S "$version" --show-depends $MODULES \
  | awk '$1 == "insmod" && $2 !~ /-intel\.ko/ && !seen[$2]++ { print $2 }' > /tmp/load-paths
: > "$root/etc/modules-load"
while read -r path; do
  name=$(basename "$path")
  case "$name" in
    *.ko.xz) xz -dc "$path" > "$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
    *) cp "$path" "$root/lib/modules/$name" ;;
  esac
  echo "${name%.ko}" >> "$root/etc/modules-load"
done < /tmp/load-paths

cp "/kroot/boot/vmlinuz-$version" "$out/vmlinuz"
echo "$version" > "$out/kernel-version"
(cd "$root" && find . | busybox cpio -o -H newc) | gzip -9 > "$out/initrd.img"
cp "$root/etc/modules-load" "$out/modules-load"

apt-get purge -y kmod xz-utils
rm -rf /kroot /initramfs /tmp/*.deb /var/lib/apt/lists/*
