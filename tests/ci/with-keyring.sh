#!/usr/bin/env bash
# Runs a command with an unlocked GNOME Keyring (Secret Service) on the current session bus.
# Use inside `dbus-run-session`. A fresh XDG_DATA_HOME keeps any real keyring out of the way.
set -euo pipefail
export XDG_DATA_HOME="${XDG_DATA_HOME_FOR_KEYRING:-$(mktemp -d)}"
eval "$(printf 'ci-pass' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
