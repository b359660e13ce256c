"""A Redis server of a test's own, which the test may stop and start again: plain, behind TLS with a
certificate authority made by the test, or with an ACL user and password."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.conftest import IN_CI
from tests.web.test_server import _free_port


@dataclass(frozen=True)
class AclUser:
    name: str
    password: str


class OwnRedis:
    def __init__(
        self, directory: Path, *, tls: bool = False, user: AclUser | None = None, unix: bool = False
    ) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            if IN_CI:
                pytest.fail("redis-server is required under CI and is not installed")
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self.user = user
        self.socket_path = directory / "redis.sock" if unix else None
        self.ca_file: Path | None = None
        self.tls_arguments: list[str] = []
        if tls:
            self._make_certificates()
        self.process: subprocess.Popen[bytes] | None = None

    def _make_certificates(self) -> None:
        import trustme

        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        self.ca_file = self.directory / "redis-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_file))
        server_certificate, server_key = self.directory / "redis-cert.pem", self.directory / "redis-key.pem"
        certificate.cert_chain_pems[0].write_to_path(str(server_certificate))
        certificate.private_key_pem.write_to_path(str(server_key))
        self.tls_arguments = [
            "--tls-cert-file", str(server_certificate), "--tls-key-file", str(server_key),
            "--tls-ca-cert-file", str(self.ca_file), "--tls-auth-clients", "no",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        """The URL a client of this server is configured with, in the form an operator writes it."""
        credentials = ""
        if self.user is not None:
            credentials = f"{quote(self.user.name, safe='')}:{quote(self.user.password, safe='')}@"
        if self.socket_path is not None:
            return f"unix://{credentials}{quote(str(self.socket_path))}?db=0"
        if self.ca_file is not None:
            return f"rediss://{credentials}127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.ca_file))}"
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        listen = ["--port", "0", "--tls-port", str(self.port)] if self.ca_file else ["--port", str(self.port)]
        if self.socket_path is not None:
            listen = ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        acl: list[str] = []
        if self.user is not None:
            # The default user may do nothing: only the named user, with its password, may count.
            acl = [
                "--user", "default", "off",
                "--user", self.user.name, "on", f">{self.user.password}", "~*", "&*", "+@all",
            ]  # fmt: skip
        self.process = subprocess.Popen(
            [self.binary, *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             *self.tls_arguments, *acl],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # The port first, with plain sockets closed at once; then one PING on a client closed too.
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.socket_path is not None:
                    with socket.socket(socket.AF_UNIX) as probe:
                        probe.connect(str(self.socket_path))
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        with redis.Redis.from_url(self.url, socket_connect_timeout=2) as client:
            client.ping()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
