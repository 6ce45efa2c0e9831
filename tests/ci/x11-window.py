#!/usr/bin/python3
"""The X11 windows of a process, and closing one as a window manager would (there is none
under Xvfb): a WM_PROTOCOLS ClientMessage carrying WM_DELETE_WINDOW, what a title bar's close
button sends.

  x11-window.py list PID          JSON: [{"id", "title", "mapped"}] of PID's top-level windows
  x11-window.py close PID TITLE   closes PID's mapped window titled TITLE; exit 1 if there is none
"""
import json
import sys

from Xlib import X, display, protocol


def windows(d, pid):
    net_wm_pid = d.intern_atom("_NET_WM_PID")
    found = []
    for w in d.screen().root.query_tree().children:
        try:
            prop = w.get_full_property(net_wm_pid, X.AnyPropertyType)
            if not prop or prop.value[0] != pid:
                continue
            name = w.get_wm_name()
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            found.append({"window": w, "id": w.id, "title": name or "",
                          "mapped": w.get_attributes().map_state == X.IsViewable})
        except Exception:  # the window went away while we looked
            continue
    return found


def server_time(d):
    """The X server's current time, as a window manager stamps its messages: from the
    PropertyNotify of a change to a window of our own."""
    w = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent, event_mask=X.PropertyChangeMask)
    stamp = d.intern_atom("BURNRATE_TEST_TIMESTAMP")
    w.change_property(stamp, stamp, 8, b"")
    d.flush()
    while True:
        event = d.next_event()
        if event.type == X.PropertyNotify and event.window.id == w.id:
            w.destroy()
            return event.time


def main():
    command, pid = sys.argv[1], int(sys.argv[2])
    d = display.Display()
    found = windows(d, pid)
    if command == "list":
        print(json.dumps([{k: v for k, v in w.items() if k != "window"} for w in found]))
        return 0
    if command == "close":
        title = sys.argv[3]
        targets = [w for w in found if w["mapped"] and w["title"] == title]
        if not targets:
            print(f"no mapped window titled {title!r} for pid {pid}: {[w['title'] for w in found]}", file=sys.stderr)
            return 1
        protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        now = server_time(d)
        for w in targets:
            event = protocol.event.ClientMessage(
                window=w["window"], client_type=protocols, data=(32, [delete, now, 0, 0, 0]))
            w["window"].send_event(event, event_mask=X.NoEventMask)
        # A round trip, not just a flush: closing the connection right after a flush can lose
        # the request (the close then never arrives).
        d.sync()
        d.close()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
