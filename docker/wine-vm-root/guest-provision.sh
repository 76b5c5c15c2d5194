#!/bin/sh
# Runs once, when the disk is built (kernel argument retrolab.provision): makes
# the Wine prefix, puts COM1 on ttyS0, hardlinks the prefix's copies of Wine's
# DLLs to the originals (~186 MB), then powers off. The build reads the
# console log for the last line.
. /usr/lib/retrolab/wine-env.sh
windows=/usr/lib/i386-linux-gnu/wine/i386-windows
prefix=/home/wine/.wine

fail() {
  echo "provision: FAILED: $*"
  sync
  /usr/lib/retrolab/busybox poweroff -f
}

as_wine wineboot -i || echo "provision: wineboot -i said $?; checking the prefix anyway"
as_wine wineserver -w
out=$(as_wine wine cmd /c echo prefix-ok 2>&1)
as_wine wineserver -w
case "$out" in
  *prefix-ok*) ;;
  *) fail "the prefix does not run programs: $out" ;;
esac

ln -sfn /dev/ttyS0 "$prefix/dosdevices/com1"
linked=0
for copy in "$prefix/drive_c/windows/system32"/*; do
  original="$windows/$(basename "$copy")"
  if [ -f "$copy" ] && [ ! -L "$copy" ] && [ -f "$original" ] && cmp -s "$copy" "$original"; then
    ln -f "$original" "$copy"
    linked=$((linked + 1))
  fi
done
rm -rf /tmp/* /home/wine/.cache
# Hand the blocks of the deleted copies back to the disk file (the build boots
# with discard=unmap), so the golden qcow2 does not carry them.
fstrim -v /
mount -o remount,ro /
sync
echo "provision: prefix ready, $linked system32 files hardlinked to Wine's DLLs"
/usr/lib/retrolab/busybox poweroff -f
