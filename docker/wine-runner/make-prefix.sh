#!/bin/sh
# Makes the Wine prefix at build time, so a container starts a program in a
# second instead of initialising a prefix first. Judged by whether a program
# runs in it afterwards: wineboot's own status is not reliable when Wine runs
# under user-mode emulation (hosts whose kernel refuses i386 code).
set -eu
wineboot -i || echo "make-prefix: wineboot -i said $?; checking the prefix anyway"
wineserver -w
out=$(wine cmd /c echo prefix-ok 2>&1 || true)
wineserver -w
case "$out" in
  *prefix-ok*) ;;
  *) echo "make-prefix: the prefix does not run programs: $out" >&2; exit 1 ;;
esac
# The prefix's system32 holds copies of Wine's own DLLs; point identical ones
# at the originals (symlinks: a hardlink would copy the lower layer's file up).
pedir=/usr/lib/i386-linux-gnu/wine/i386-windows
linked=0
for f in "$WINEPREFIX"/drive_c/windows/system32/*; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  orig="$pedir/$(basename "$f")"
  if [ -f "$orig" ] && cmp -s "$f" "$orig"; then
    ln -sf "$orig" "$f"
    linked=$((linked + 1))
  fi
done
echo "make-prefix: prefix ready; $linked system32 files now link to Wine's DLLs"
