#!/bin/sh
# Strips debug info from Wine's PE DLLs (550 MB -> ~200 MB), makes the prefix
# as the wine user, and hardlinks the prefix's system32 copies to the stripped
# originals they duplicate.
set -eu
pedir=/usr/lib/i386-linux-gnu/wine/i386-windows
find "$pedir" -type f \( -name '*.dll' -o -name '*.exe' -o -name '*.drv' -o -name '*.sys' -o -name '*.ocx' -o -name '*.cpl' -o -name '*.acm' -o -name '*.ax' -o -name '*.tlb' -o -name '*.ds' \) \
  -exec i686-w64-mingw32-strip --strip-debug {} + 2>/dev/null || true
su wine -c 'wineboot -i && wineserver -w'
sys32="$WINEPREFIX/drive_c/windows/system32"
linked=0
for f in "$sys32"/*; do
  [ -f "$f" ] || continue
  orig="$pedir/$(basename "$f")"
  if [ -f "$orig" ] && cmp -s "$f" "$orig"; then
    ln -f "$orig" "$f"
    linked=$((linked + 1))
  fi
done
echo "slim-wine: hardlinked $linked prefix files to Wine's DLLs"
