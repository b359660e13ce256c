"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that verifies every delivery
with the `standardwebhooks` package, as a receiver in the wild would, and keeps what it got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    received_at: float
    verified: bool

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    url: str
    secrets: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # What to answer: (status, headers) for the n-th request (0-based); 204 by default.
    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda _n: (204, {})
    # The body of an answer that has one.
    reply: bytes = b"ok"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except Exception:  # noqa: S112 - the next secret may verify it
                continue
            return True
        return False

    def wait_for(self, count: int, timeout: float = 10) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"{len(self.deliveries)} deliveries, expected {count}")

    def ids(self) -> set[str]:
        with self.lock:
            return {delivery.webhook_id for delivery in self.deliveries}


@contextmanager
def running_receiver(path: str = "/hook") -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as receivers behind a web server answer

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True  # the sender went away mid-request: nothing arrived
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            with receiver.lock:
                number = len(receiver.deliveries)
                receiver.deliveries.append(
                    Delivery(headers, body, time.monotonic(), receiver.verify(headers, body))
                )
            status, extra = receiver.answer(number)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            if status in (204, 304):
                self.end_headers()  # no body may follow these
                return
            self.send_header("content-length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a sender killed mid-request resets its connection: expected in these tests

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
