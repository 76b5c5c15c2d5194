#!/bin/sh
# Runs in the final stage: strips Wine's PE DLLs, makes the root's Wine prefix
# with COM1 on ttyS0, hardlinks the prefix's copies of Wine's DLLs to the
# originals, and drops what a disk image does not need.
set -eu
export DEBIAN_FRONTEND=noninteractive
windows=/usr/lib/i386-linux-gnu/wine/i386-windows

# Debian ships the PE DLLs with debug info: ~550 MB, ~200 MB stripped.
apt-get update
apt-get install -y --no-install-recommends binutils-mingw-w64-i686
find "$windows" -type f \( -name '*.dll' -o -name '*.exe' -o -name '*.drv' -o -name '*.sys' -o -name '*.ocx' -o -name '*.cpl' -o -name '*.acm' -o -name '*.ax' -o -name '*.ds' -o -name '*.tlb' \) \
  -exec i686-w64-mingw32-strip --strip-debug {} + 2>/dev/null || true
apt-get purge -y --autoremove binutils-mingw-w64-i686

rm -rf /home/wine/.wine
wineboot -i
wineserver -w
ln -sfn /dev/ttyS0 "$WINEPREFIX/dosdevices/com1"

# wineboot copies every builtin DLL into system32: link the identical ones.
for copy in "$WINEPREFIX/drive_c/windows/system32"/*; do
  original="$windows/$(basename "$copy")"
  if [ -f "$copy" ] && [ ! -L "$copy" ] && [ -f "$original" ] && cmp -s "$copy" "$original"; then
    ln -f "$original" "$copy"
  fi
done

mkdir -p /opt/retrolab
chmod 755 /sbin/retrolab-init /usr/lib/retrolab/agent-session.sh /usr/lib/retrolab/busybox
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* /tmp/* /root/.cache
