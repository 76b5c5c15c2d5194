# Sourced by the guest's scripts: runs a command as the wine user with the
# prefix /home/wine/.wine (made by guest-provision.sh when the disk is built).
as_wine() {
  runuser -u wine -- env HOME=/home/wine WINEPREFIX=/home/wine/.wine WINEARCH=win32 WINEDEBUG=-all \
    WINEDLLOVERRIDES='mscoree,mshtml=' LANG=C.UTF-8 "$@"
}
