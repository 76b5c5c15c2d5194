#!/bin/sh
# The agent's session (controlling tty: ttyS0), run as root; Wine runs as the
# wine user. One long-lived wineserver keeps every later Wine start fast
# (~1 s instead of ~8 s under TCG). The agent exits with status 0 only when
# the host asked the guest to shut down; any other exit is a crash and the
# agent is started again.
. /usr/lib/retrolab/wine-env.sh
agent=/opt/retrolab/agent.exe

as_wine wineserver -p
while :; do
  # stdin from /dev/null: Wine would otherwise read console input from ttyS0.
  as_wine wine "$agent" </dev/null
  status=$?
  if [ "$status" -eq 0 ]; then
    echo "agent-session: the agent asked for shutdown; powering off"
    as_wine wineserver -k
    sync
    /usr/lib/retrolab/busybox poweroff -f
  fi
  echo "agent-session: $agent exited with status $status; starting it again"
  sleep 1
done
