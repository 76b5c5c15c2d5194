#!/bin/sh
# Runs in the final stage. The Wine runner's DLLs are already stripped and its
# prefix (/home/wine/.wine, user wine) hardlinked to them; the guest runs Wine
# as that user with that prefix, so nothing is copied. COM1 goes to ttyS0,
# which the wine user may open through the dialout group.
set -eu
ln -sfn /dev/ttyS0 /home/wine/.wine/dosdevices/com1
usermod -a -G dialout wine
mkdir -p /opt/retrolab
chmod 755 /sbin/retrolab-init /usr/lib/retrolab/agent-session.sh /usr/lib/retrolab/busybox
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc /usr/share/man /usr/share/info /tmp/* /root/.cache
