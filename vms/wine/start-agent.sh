#!/bin/sh
# Entry point of the `wine` target's container. Wires Wine's COM1 to a pty
# whose other end is served on a unix socket in the bind-mounted run
# directory, starts the scenario peer, and runs the agent under Wine.
set -eu
RUN=/run/retrolab
PEER_PORT=${RETROLAB_PEER_PORT:-7000}

mkdir -p "$WINEPREFIX/drive_c/retrolab"
wineserver -p

# The peer: reads what the guest sends (at most a second's worth) and closes its
# side, so a guest socket that is never closed stays in CLOSE_WAIT.
socat TCP-LISTEN:"$PEER_PORT",bind=127.0.0.1,fork,reuseaddr SYSTEM:'timeout 2 head -c 1 >/dev/null' &

# socat holds the pty master for as long as the host stays connected; Wine
# sees the slave as COM1.
socat PTY,link="$RUN/com1",raw,echo=0 UNIX-LISTEN:"$RUN/serial.sock",unlink-early 2>"$RUN/socat.log" &
for _ in $(seq 1 100); do [ -e "$RUN/com1" ] && break; sleep 0.05; done
ln -sf "$(readlink -f "$RUN/com1")" "$WINEPREFIX/dosdevices/com1"

cd "$WINEPREFIX/drive_c/retrolab"
exec wine /opt/retrolab/bin/agent.exe --port COM1 "$@"
