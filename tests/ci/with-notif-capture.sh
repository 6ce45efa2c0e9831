#!/usr/bin/env bash
# with-notif-capture.sh CAPFILE command...
# Runs a command while tests/ci/notif-capture.py owns org.freedesktop.Notifications on the
# current session bus, appending every notification to CAPFILE as a JSON line. Use inside
# `dbus-run-session`. Exits with the command's status.
#
# The capture server must own the name before the command starts: otherwise D-Bus may activate
# an installed daemon (dunst does so whenever DISPLAY is set) and notifications "succeed"
# without being captured.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
capfile=$1; shift
: > "$capfile"

/usr/bin/python3 "$here/notif-capture.py" "$capfile" >/dev/null &
server=$!

owned=0
for _ in $(seq 50); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null |
     grep -q 'boolean true'; then
    owned=1; break
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ "$owned" != 1 ]; then
  echo "error: notif-capture.py did not take org.freedesktop.Notifications within 5 s;" \
       "check that /usr/bin/python3 has python3-dbus and python3-gi (scripts/setup --test installs them)" >&2
  kill "$server" 2>/dev/null
  exit 1
fi

"$@"
rc=$?
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
exit "$rc"
