"""Request checks that hold for every path of a face, before its routes run.

They answer in the face's own error format: each face registers an `ErrorRenderer` for its
path prefixes, and the guard picks it by path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ticketd.web.asgi import ASGIApp, Message, Receive, Scope, Send, respond
from ticketd.web.header_size import header_block_size
from ticketd.web.negotiation import acceptable, media_type_of
from ticketd.web.storable_text import unstorable_text

# (status, detail) -> (content type, body)
ErrorRenderer = Callable[[int, str], tuple[bytes, bytes]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class UploadRoute:
    """Paths (a pattern, as `/tickets/{id}/attachments`) whose bodies are files: a limit of their
    own, for bodies of any media type unless `types` names some; the route reads them as they
    stream."""

    pattern: re.Pattern[str]
    limit: int
    types: tuple[str, ...] = ()
    # False: the body is read here, to `limit`, as any other (a JSON document around a file).
    streamed: bool = True


@dataclass(frozen=True)
class FaceRules:
    prefix: str
    render_error: ErrorRenderer
    # Media types the face can answer with; an Accept that takes none of them gets 406.
    offered: tuple[str, ...]
    # Media types of request bodies, per path (exact) with a default for the rest of the face.
    body_types: tuple[str, ...]
    body_types_by_path: dict[str, tuple[str, ...]]
    max_body_bytes: int
    # Paths whose bodies are uploads: their own size limit, and read by the route as they stream.
    upload_paths: frozenset[str] = frozenset()
    max_upload_bytes: int = 0
    upload_routes: tuple[UploadRoute, ...] = ()

    def upload_of(self, path: str, media_type: str) -> UploadRoute | None:
        """The upload route of `path` for a body of this type, or None when it is no upload (a
        body of another type on an upload route is an ordinary body, under the ordinary limit)."""
        if path in self.upload_paths:
            return UploadRoute(re.compile(re.escape(path)), self.max_upload_bytes)
        for route in self.upload_routes:
            if route.pattern.fullmatch(path) and (not route.types or media_type in route.types):
                return route
        return None


class HeaderSizeGuard:
    """Refuses requests whose header block is larger than a server should have to hold."""

    def __init__(self, app: ASGIApp, faces: list[FaceRules], max_bytes: int, fallback: ErrorRenderer) -> None:
        self.app = app
        self.faces = faces
        self.max_bytes = max_bytes
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and header_block_size(scope["headers"]) > self.max_bytes:
            face = face_for(self.faces, scope["path"])
            render = face.render_error if face else self.fallback
            await _refuse(send, render, 431, "the request's header fields are too large")
            return
        await self.app(scope, receive, send)


class FaceRequestGuard:
    """406 for an Accept the face cannot serve, 415 for a body type it does not take, 413 for a body
    too big, 400 for text the store cannot hold (storable_text.py).

    The body is read here, up to the limit, and handed on whole: routes and the idempotency
    layer then see a complete body, and a too-big body is refused before anything is stored.
    """

    def __init__(self, app: ASGIApp, faces: list[FaceRules]) -> None:
        self.app = app
        self.faces = faces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        face = face_for(self.faces, scope["path"])
        if face is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        accept = headers.get(b"accept")
        if accept is not None and acceptable(accept.decode("latin-1"), face.offered) is None:
            await _refuse(send, face.render_error, 406, f"this API answers in {', '.join(face.offered)}")
            return
        if scope["method"] not in BODY_METHODS:
            if (
                reason := await unstorable_text(scope["path"], scope["query_string"], "", b"", [])
            ) is not None:
                await _refuse(send, face.render_error, 400, f"text the store cannot hold: {reason}")
                return
            # No route of any face reads a body on these methods: one that is announced is refused
            # before anything could read it (the polled paths in front never read it either).
            declared = headers.get(b"content-length")
            if (
                declared is not None and declared.strip() not in (b"", b"0")
            ) or b"transfer-encoding" in headers:
                await _refuse(send, face.render_error, 413, f"{scope['method']} takes no request body")
                return
            await self.app(scope, receive, send)
            return
        allowed = face.body_types_by_path.get(scope["path"], face.body_types)
        media_type = media_type_of(headers.get(b"content-type", b"").decode("latin-1"))
        upload = face.upload_of(scope["path"], media_type)
        limit = upload.limit if upload else face.max_body_bytes
        if upload is not None and scope["path"] not in face.upload_paths:
            allowed = (media_type,)  # the route takes this type as an upload
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, face.render_error, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _refuse(send, face.render_error, 413, f"the body exceeds {limit} bytes")
                return
        if upload is not None and upload.streamed:
            # Uploads stream on to the route, which stores them as they come (and checks their text).
            if (
                reason := await unstorable_text(scope["path"], scope["query_string"], "", b"", [])
            ) is not None:
                await _refuse(send, face.render_error, 400, f"text the store cannot hold: {reason}")
                return
            if media_type not in allowed:
                await _refuse(send, face.render_error, 415, f"send the body as {' or '.join(allowed)}")
                return
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, limit)
        if body is None:
            await _refuse(send, face.render_error, 413, f"the body exceeds {limit} bytes")
            return
        if body and media_type not in allowed:
            await _refuse(send, face.render_error, 415, f"send the body as {' or '.join(allowed)}")
            return
        reason = await unstorable_text(
            scope["path"], scope["query_string"], media_type, body, scope["headers"]
        )
        if reason is not None:
            await _refuse(send, face.render_error, 400, f"text the store cannot hold: {reason}")
            return
        await self.app(scope, replay(body, receive), send)


class HeadAsGet:
    """HEAD answered as GET without the body (RFC 9110 §9.3.2), for every GET resource of every face."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def face_for(faces: list[FaceRules], path: str) -> FaceRules | None:
    for face in faces:
        if path == face.prefix or path.startswith(face.prefix + "/"):
            return face
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """Hands the buffered body over once, then waits on the real channel (for the disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refused_text(
    scope: Scope, send: Send, face: FaceRules, media_type: str = "", body: bytes = b""
) -> bool:
    """Refuses (400) a request that carries text the store cannot hold; whether it did."""
    reason = await unstorable_text(scope["path"], scope["query_string"], media_type, body, scope["headers"])
    if reason is None:
        return False
    await _refuse(send, face.render_error, 400, f"text the store cannot hold: {reason}")
    return True


async def _refuse(send: Send, render: ErrorRenderer, status: int, detail: str) -> None:
    content_type, body = render(status, detail)
    await respond(
        send, status, [(b"content-type", content_type), (b"content-length", str(len(body)).encode())], body
    )
