#!/usr/bin/python3
"""A stand-in desktop notification daemon for tests.

Owns org.freedesktop.Notifications on the session bus and appends every Notify call to CAPFILE
as one JSON line: {"id", "app", "icon", "summary", "body", "actions", "urgency"} (urgency is the
"urgency" hint, 0 low / 1 normal / 2 critical, or null when absent). The line is written before
Notify returns, so a client that got its reply can read it at once.

Environment:
  NOTIF_CAPABILITIES       comma-separated GetCapabilities answer (default "body,actions")
  NOTIF_AUTO_ACTION        an action id, e.g. "open": when a notification offers it, emit
                           ActionInvoked(id, action) as if the user had pressed that button
  NOTIF_AUTO_ACTION_DELAY  milliseconds before that signal (default 500). Clients subscribe to
                           ActionInvoked only after Notify returns, so a signal sent at once
                           would reach nobody.

Prints "ready" on stdout once it owns the name. Needs python3-dbus and python3-gi (Debian's
/usr/bin/python3; a pyenv python3 lacks them). Use inside dbus-run-session or with
DBUS_SESSION_BUS_ADDRESS set; tests/ci/with-notif-capture.sh wraps it for commands.
"""

import json
import os
import signal
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CLOSED_BY_CALL = 3  # NotificationClosed reason: closed by a call to CloseNotification


class Notifications(dbus.service.Object):
    def __init__(self, bus, capfile, capabilities, auto_action, auto_action_delay_ms):
        super().__init__(bus, OBJECT_PATH)
        self.capfile = capfile
        self.capabilities = capabilities
        self.auto_action = auto_action
        self.auto_action_delay_ms = auto_action_delay_ms
        self.last_id = 0

    @dbus.service.method(INTERFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces_id, icon, summary, body, actions, hints, timeout):
        if replaces_id:
            nid = int(replaces_id)
        else:
            self.last_id += 1
            nid = self.last_id
        record = {
            "id": nid,
            "app": str(app),
            "icon": str(icon),
            "summary": str(summary),
            "body": str(body),
            "actions": [str(a) for a in actions],
            "urgency": int(hints["urgency"]) if "urgency" in hints else None,
        }
        with open(self.capfile, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        action_ids = [str(a) for a in actions[0::2]]
        if self.auto_action and self.auto_action in action_ids:
            GLib.timeout_add(self.auto_action_delay_ms, self._press, nid, self.auto_action)
        return dbus.UInt32(nid)

    def _press(self, nid, action):
        self.ActionInvoked(dbus.UInt32(nid), action)
        return False  # once

    @dbus.service.method(INTERFACE, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return dbus.Array(self.capabilities, signature="s")

    @dbus.service.method(INTERFACE, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("notif-capture", "burnrate-tests", "1.0", "1.2")

    @dbus.service.method(INTERFACE, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, dbus.UInt32(CLOSED_BY_CALL))

    @dbus.service.signal(INTERFACE, signature="us")
    def ActionInvoked(self, nid, action_key):
        pass

    @dbus.service.signal(INTERFACE, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: notif-capture.py CAPFILE")
    capfile = sys.argv[1]
    capabilities = [c for c in os.environ.get("NOTIF_CAPABILITIES", "body,actions").split(",") if c]
    auto_action = os.environ.get("NOTIF_AUTO_ACTION", "")
    delay_ms = int(os.environ.get("NOTIF_AUTO_ACTION_DELAY", "500"))

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    try:
        name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)
    except dbus.exceptions.NameExistsException:
        sys.exit(f"notif-capture: {BUS_NAME} is already owned on this bus (another daemon, e.g. dunst?)")
    server = Notifications(bus, capfile, capabilities, auto_action, delay_ms)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print("ready", flush=True)
    loop.run()
    del server, name


if __name__ == "__main__":
    main()
