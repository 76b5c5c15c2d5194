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
# Few processes on purpose: under emulation each one costs a fraction of a second.
pedir=/usr/lib/i386-linux-gnu/wine/i386-windows
sys32="$WINEPREFIX/drive_c/windows/system32"
sums=$(mktemp)
(cd "$pedir" && md5sum -- *) >"$sums"
same=$(cd "$sys32" && md5sum -c "$sums" 2>/dev/null | sed -n "s/: OK$//p")
rm -f "$sums"
count=0
if [ -n "$same" ]; then
  count=$(printf '%s\n' "$same" | wc -l)
  (cd "$pedir" && printf '%s\n' "$same" | sed "s|^|$pedir/|" | xargs ln -sf -t "$sys32")
fi
echo "make-prefix: prefix ready; $count system32 files now link to Wine's DLLs"
