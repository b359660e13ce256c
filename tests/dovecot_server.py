"""A Dovecot IMAP server of a test's own (Debian's dovecot-imapd), with a configuration in the test's
temporary folder, one mailbox user, and a port of its own; the test may stop and start it again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.conftest import IN_CI
from tests.web.test_server import _free_port

USER = "support"
PASSWORD = "mailbox-secret"
# Mail is stored as `nobody`: Dovecot never gives a mailbox to root.
NOBODY = 65534

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class OwnDovecot:
    def __init__(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            if IN_CI:
                pytest.fail(
                    "dovecot is required under CI and is not installed (apt-get install dovecot-imapd)"
                )
            pytest.skip("dovecot is not installed")
        self.binary = binary
        # Not under pytest's folders: they are 0700, and Dovecot reads its files as its own users.
        self.root = Path(tempfile.mkdtemp(prefix="ticketd-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        for folder in ("run", "state", "home"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        uid = NOBODY if os.geteuid() == 0 else os.geteuid()
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (self.root / "dovecot.conf").write_text(CONFIG.format(root=self.root, port=self.port, uid=uid))
        if os.geteuid() == 0:
            os.chown(self.root / "home", NOBODY, NOBODY)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(
            f"dovecot did not start: {(self.root / 'dovecot.log').read_text(errors='replace')}"
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(15)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            for message in messages:
                client.append(folder, message)
        finally:
            client.logout()

    def flags(self) -> dict[int, tuple[bytes, ...]]:
        client = self.client()
        try:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["ALL"])
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}
        finally:
            client.logout()
