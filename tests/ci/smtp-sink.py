#!/usr/bin/python3
"""A real SMTP server for the e-mail channel's tests (aiosmtpd, Debian's python3-aiosmtpd).

Usage: smtp-sink.py OUT_DIR [USER PASSWORD]
Listens on 127.0.0.1 on a free port and prints "ready PORT" once it accepts connections.
Each message received is written to OUT_DIR/N.eml with its envelope in OUT_DIR/N.json. With
USER and PASSWORD, clients must log in (AUTH PLAIN/LOGIN, allowed without TLS on loopback)
and any other login is refused with 535.
"""
import json
import logging
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out_dir = sys.argv[1]
if os.environ.get("SMTP_SINK_DEBUG"):
    logging.basicConfig(level=logging.DEBUG)
credentials = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else None


class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        base = os.path.join(out_dir, str(Sink.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "login": getattr(session, "login_data", None) and credentials and credentials[0]}, f)
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
    password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
    if credentials is not None and (login, password) == credentials:
        return AuthResult(success=True)
    # handled=False: aiosmtpd answers "535 Authentication credentials invalid" itself.
    return AuthResult(success=False, handled=False)


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

kwargs = {}
if credentials:
    kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
controller = Controller(Sink(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
print(f"ready {port}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
