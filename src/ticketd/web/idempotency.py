"""`Idempotency-Key` on POST (draft-ietf-httpapi-idempotency-key-header).

The first request with a key records it as in flight, in the store, so that every process and
host sees it. A replay of a completed request gets the stored response; the same key with a
different body gets 422; the same key while the first is still running gets 409. Keys are
scoped per credential and expire after `idempotency_ttl_seconds`.

Only a caller who may write gets a key recorded (a request its scope refuses changes nothing, so
there is nothing to replay), and a replay is counted against the caller's limits like any request.
The fingerprint is computed as the body streams in; the body itself is spooled to a temporary file
past `SPOOL_IN_MEMORY` bytes, so an upload of any size costs no more memory than that.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import timedelta
from typing import IO

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.authenticate import Authenticator
from ticketd.core.clock import utcnow
from ticketd.core.errors import RateLimited, Unauthenticated
from ticketd.core.principal import Scope as CredentialScope
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import IdempotencyRecord
from ticketd.web.asgi import ASGIApp, Headers, Message, Receive, Scope, Send, header, respond
from ticketd.web.credentials import principal_from_header
from ticketd.web.guards import ErrorRenderer
from ticketd.web.rate_limits import Refusal, admit

MAX_KEY_LENGTH = 255
SPOOL_IN_MEMORY = 1 << 20
REPLAY_CHUNK = 1 << 16


class IdempotencyLayer:
    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        sessions: sessionmaker[Session],
        authenticator: Authenticator,
        render_error: ErrorRenderer,
        refuse: Refusal,
        ttl: timedelta,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.sessions = sessions
        self.authenticator = authenticator
        self.render_error = render_error
        self.refuse = refuse
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if raw_key is None or scope["method"] != "POST" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        key = raw_key.strip().removeprefix('"').removesuffix('"')
        if not key or len(key) > MAX_KEY_LENGTH:
            await self._refuse(send, 400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
            return
        try:
            principal = principal_from_header(self.authenticator, header(scope, b"authorization"))
        except Unauthenticated:
            # Unauthenticated requests change nothing; the route answers them as usual.
            await self.app(scope, receive, send)
            return
        if not principal.has_scope(CredentialScope.TICKETS_WRITE):
            # Refused by the route for its scope: nothing happens, so nothing is recorded.
            await self.app(scope, receive, send)
            return
        try:
            await admit(scope, principal)
        except RateLimited as exc:
            await self.refuse(exc)(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as body:
            digest = await _spool(scope, receive, body)
            await self._answer(scope, receive, send, principal.credential_id, key, digest, body)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, client: str, key: str, digest: str, body: IO[bytes]
    ) -> None:
        outcome = await to_thread.run_sync(self._claim, client, key, digest)
        if isinstance(outcome, IdempotencyRecord):
            stored_headers: Headers = [(k.encode(), v.encode()) for k, v in outcome.headers or []]
            stored_headers.append((b"idempotent-replayed", b"true"))
            await respond(send, outcome.status_code or 200, stored_headers, outcome.body or b"")
            return
        if outcome == "mismatch":
            await self._refuse(send, 422, "this Idempotency-Key was used with a different request")
            return
        if outcome == "in-flight":
            await self._refuse(send, 409, "a request with this Idempotency-Key is still being processed")
            return
        body.seek(0)
        await self._run_and_store(scope, _replay_file(body, receive), send, client, key)

    def _claim(self, client: str, key: str, digest: str) -> IdempotencyRecord | str:
        with unit_of_work(self.sessions, write=True) as db:
            record = db.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.client == client, IdempotencyRecord.key == key
                )
            )
            if record is not None and record.created_at < utcnow() - self.ttl:
                db.delete(record)
                db.flush()
                record = None
            if record is not None:
                if record.request_digest != digest:
                    return "mismatch"
                return record if record.completed else "in-flight"
            db.add(
                IdempotencyRecord(
                    client=client, key=key, request_digest=digest, completed=False, created_at=utcnow()
                )
            )
            try:
                db.commit()
            except IntegrityError:
                # Another process claimed the key between our read and our insert.
                return "in-flight"
            return "claimed"

    async def _run_and_store(self, scope: Scope, receive: Receive, send: Send, client: str, key: str) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await to_thread.run_sync(self._store, client, key, start, b"".join(chunks))

    def _store(self, client: str, key: str, start: Message | None, body: bytes) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            where = (IdempotencyRecord.client == client, IdempotencyRecord.key == key)
            if start is None or start["status"] >= 500:
                # A failure is not an outcome to replay: free the key for a retry.
                db.execute(delete(IdempotencyRecord).where(*where))
            else:
                record = db.scalar(select(IdempotencyRecord).where(*where))
                if record is not None:
                    record.completed = True
                    record.status_code = start["status"]
                    record.headers = [
                        [k.decode("latin-1"), v.decode("latin-1")] for k, v in start.get("headers", [])
                    ]
                    record.body = body
            db.commit()

    async def _refuse(self, send: Send, status: int, detail: str) -> None:
        content_type, body = self.render_error(status, detail)
        await respond(
            send,
            status,
            [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            body,
        )


async def _spool(scope: Scope, receive: Receive, body: IO[bytes]) -> str:
    """Reads the body into `body` and returns the request's fingerprint, hashed as it streams."""
    digest = hashlib.sha256(scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n")
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        digest.update(chunk)
        body.write(chunk)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return digest.hexdigest()


def _replay_file(body: IO[bytes], receive: Receive) -> Receive:
    """Hands the spooled body on in chunks, then waits on the real channel (for the disconnect)."""
    done = False

    async def replayed() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = body.read(REPLAY_CHUNK)
        more = len(chunk) == REPLAY_CHUNK
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replayed
