"""The lab's SMTP server: Debian's aiosmtpd, configured for onboard's tests.

Two listeners on one address: submission with STARTTLS required before
anything else (port A) and implicit TLS (port B). Both require AUTH (PLAIN
or LOGIN) as one user, whose password is read from a file, and deliver
every message to one Maildir. aiosmtpd's Mailbox handler adds X-MailFrom
and X-RcptTo, so a test reads the envelope back with the message.

Usage: smtpd.py ADDR STARTTLS_PORT TLS_PORT CERT KEY MAILDIR USER PASSWORD_FILE
Prints "ready" on stdout once both listeners accept connections.
"""
import hmac
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    addr, starttls_port, tls_port, cert, key, maildir, user, pwfile = sys.argv[1:9]
    with open(pwfile, "rb") as f:
        password = f.read().rstrip(b"\r\n")
    want_user = user.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, want_user) and hmac.compare_digest(auth_data.password, password)
        return AuthResult(success=ok, handled=False)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = Mailbox(maildir)
    common = dict(authenticator=authenticator, auth_required=True, server_hostname="smtp.corp.example.test")
    submission = Controller(handler, hostname=addr, port=int(starttls_port), tls_context=ctx,
                            require_starttls=True, auth_require_tls=True, **common)
    # Implicit TLS: the connection is TLS from the first byte, which aiosmtpd
    # does not count as STARTTLS, so AUTH is not refused for want of it.
    implicit = Controller(handler, hostname=addr, port=int(tls_port), ssl_context=ctx,
                          auth_require_tls=False, **common)
    submission.start()
    implicit.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    implicit.stop()
    submission.stop()


if __name__ == "__main__":
    main()
