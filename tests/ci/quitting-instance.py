#!/usr/bin/env python3
"""Plays a Burnrate that is quitting: it owns the single-instance D-Bus name and, when a new
launch forwards its arguments, leaves the bus without answering (the caller gets NoReply).

Usage: quitting-instance.py NAME  (e.g. dev.burnrate.app.SingleInstance); prints "ready".
"""
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = sys.argv[1]
PATH = "/" + NAME.replace(".", "/").replace("-", "_")


class Quitting(dbus.service.Object):
    @dbus.service.method("org.SingleInstance.DBus", in_signature="ass", out_signature="")
    def ExecuteCallback(self, argv, cwd):
        print("called", flush=True)
        os._exit(0)  # gone before answering, as a process in the middle of quitting


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
owned = dbus.service.BusName(NAME, bus, do_not_queue=True)
Quitting(bus, PATH)
print("ready", flush=True)
GLib.MainLoop().run()
