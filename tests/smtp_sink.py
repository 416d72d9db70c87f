"""A real SMTP server for naervaer's tests: accepts every message on
127.0.0.1:PORT and stores it in DIR as N.eml, with the envelope recipients in
an X-Envelope-To line first. Prints READY when it listens. Files appear
atomically (written, then renamed), so a reader never sees half a message.

With a third argument USER:PASSWORD it demands AUTH (PLAIN or LOGIN, over
the plain connection) with those credentials before it takes any mail.

Usage: python3 tests/smtp_sink.py PORT DIR [USER:PASSWORD]
"""
import itertools
import logging
import os
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Addresses with "bounce" in them do not exist: a permanent failure.
        if "bounce" in address:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        tmp = os.path.join(self.directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return "250 OK"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    auth = {}
    if len(sys.argv) > 3:
        user, password = sys.argv[3].encode().split(b":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (user, password)
            return AuthResult(success=ok, handled=False)

        # Plain-text AUTH is what this test server is for: no warnings.
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        auth = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller = Controller(Store(directory), hostname="127.0.0.1", port=port, **auth)
    controller.start()
    print("READY", flush=True)
    try:
        # Until the test closes our standard input or kills us.
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
