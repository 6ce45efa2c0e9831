#!/usr/bin/python3
"""Reads and clicks the app's tray menu over D-Bus, as a desktop panel would.

Usage:
  tray.py REGISTRY_FILE props            -> JSON of the item's Title, IconName, Status, ToolTip
  tray.py REGISTRY_FILE menu             -> JSON list of {"id", "label", "enabled"}
  tray.py REGISTRY_FILE click LABEL      -> sends a "clicked" event to the item labelled LABEL
REGISTRY_FILE is written by sni-watcher.py. Needs Debian's /usr/bin/python3.
"""
import json
import sys
import time

import dbus

ITEM_IFACES = ("org.kde.StatusNotifierItem", "org.freedesktop.StatusNotifierItem")


def item(bus, registry):
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(registry) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if lines:
            last = lines[-1]
            return bus.get_object(last["service"], last["path"])
        time.sleep(0.1)
    sys.exit("no tray item registered within 20 s")


def props(obj):
    p = dbus.Interface(obj, dbus.PROPERTIES_IFACE)
    for iface in ITEM_IFACES:
        try:
            return iface, p.GetAll(iface)
        except dbus.DBusException:
            continue
    sys.exit("the tray item exposes no StatusNotifierItem properties")


def walk(layout, out):
    _id, properties, children = layout
    label = str(properties.get("label", "")).replace("_", "")
    if label:
        out.append({"id": int(_id), "label": label, "enabled": bool(properties.get("enabled", True))})
    for child in children:
        walk(child, out)


def menu_entries(bus, obj):
    _, all_props = props(obj)
    menu = bus.get_object(obj.bus_name, all_props["Menu"])
    _rev, layout = dbus.Interface(menu, "com.canonical.dbusmenu").GetLayout(0, -1, dbus.Array([], signature="s"))
    entries = []
    walk(layout, entries)
    return menu, entries


def main():
    bus = dbus.SessionBus()
    obj = item(bus, sys.argv[1])
    command = sys.argv[2]
    if command == "props":
        _, p = props(obj)
        print(json.dumps({k: str(p[k]) for k in ("Title", "IconName", "Status") if k in p}))
    elif command == "menu":
        # The menu may be rebuilt while we read it; retry until it has entries.
        for _ in range(50):
            _, entries = menu_entries(bus, obj)
            if entries:
                break
            time.sleep(0.1)
        print(json.dumps(entries))
    elif command == "click":
        menu, entries = menu_entries(bus, obj)
        matches = [e for e in entries if e["label"] == sys.argv[3]]
        if not matches:
            sys.exit(f"no menu item labelled {sys.argv[3]!r}; have {[e['label'] for e in entries]}")
        dbus.Interface(menu, "com.canonical.dbusmenu").Event(
            dbus.Int32(matches[0]["id"]), "clicked", dbus.String("", variant_level=1), dbus.UInt32(int(time.time()))
        )
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
