#!/bin/sh
# Keeps what an i386 guest needs and drops the rest of Debian's QEMU: the
# x86_64 emulator, accelerators' and displays' modules we never load, and
# firmware for NICs and machines no target uses. The TCG module must stay.
set -eu
rm -f /usr/libexec/qemu-system-x86_64 /usr/bin/qemu-system-x86_64 /usr/bin/qemu-system-x86_64-spice
moddir=/usr/lib/x86_64-linux-gnu/qemu
for m in "$moddir"/*.so; do
  case "$(basename "$m")" in
    accel-tcg-i386.so|accel-tcg-x86_64.so) ;;
    *) rm -f "$m" ;;
  esac
done
rm -f "$moddir/accel-tcg-x86_64.so"
fw=/usr/share/qemu
for f in "$fw"/*; do
  case "$(basename "$f")" in
    bios.bin|bios-256k.bin|kvmvapic.bin|linuxboot.bin|linuxboot_dma.bin|multiboot.bin|multiboot_dma.bin|pvh.bin|\
    vgabios.bin|vgabios-stdvga.bin|vgabios-cirrus.bin|vgabios-vmware.bin|\
    efi-ne2k_pci.rom|efi-pcnet.rom|efi-e1000.rom|efi-rtl8139.rom|pxe-ne2k_pci.rom|pxe-pcnet.rom|pxe-e1000.rom|pxe-rtl8139.rom|\
    keymaps|firmware|qemu-icon.bmp) ;;
    *) rm -rf "$f" ;;
  esac
done
