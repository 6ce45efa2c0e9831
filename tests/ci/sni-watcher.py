#!/usr/bin/python3
"""A minimal StatusNotifierWatcher, so a tray icon registers on a private session bus.

Usage: sni-watcher.py REGISTRY_FILE
Owns org.kde.StatusNotifierWatcher and appends one JSON line {"service", "path"} per item
that registers. tests/ci/tray.py reads that file to find the app's tray item.
Needs Debian's /usr/bin/python3 (python3-dbus, python3-gi).
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "org.kde.StatusNotifierWatcher"


class Watcher(dbus.service.Object):
    def __init__(self, bus, registry):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.registry = registry
        self.items = []

    @dbus.service.method(IFACE, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # appindicator passes its object path; others pass a bus name.
        path = service if service.startswith("/") else "/StatusNotifierItem"
        name = sender if service.startswith("/") else service
        self.items.append(f"{name}{path}")
        with open(self.registry, "a") as out:
            out.write(json.dumps({"service": name, "path": path}) + "\n")
        self.StatusNotifierItemRegistered(f"{name}{path}")

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(IFACE, signature="s")
    def StatusNotifierItemRegistered(self, item):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
            "ProtocolVersion": dbus.Int32(0),
        }


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    open(sys.argv[1], "w").close()
    watcher = Watcher(bus, sys.argv[1])
    name = dbus.service.BusName(IFACE, bus)  # released when collected: keep it referenced
    GLib.MainLoop().run()
    del watcher, name


if __name__ == "__main__":
    main()
