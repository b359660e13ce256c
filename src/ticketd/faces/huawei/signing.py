"""Checking requests signed the way the official SDK signs them (SDK-HMAC-SHA256).

The canonical request, as `huaweicloudsdkcore/signer/signer.py` builds it: method; the path with
each segment percent-encoded and a trailing slash; the query pairs sorted and percent-encoded; the
signed headers `name:value` lowercased and sorted; their names joined with `;`; the payload's
SHA-256 (see payload_hash). The string to sign is the algorithm, X-Sdk-Date and
the canonical request's SHA-256, each on its own line; the signature is its HMAC-SHA256 under SK.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote

from ticketd.core.errors import Unauthenticated

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Bodies the SDK always signs (huaweicloudsdkcore/signer/signer.py, _process_content_header).
SIGNED_BODY_TYPES = ("application/json", "application/bson")
# How far X-Sdk-Date may be from the server's clock, either way: a signed request can be replayed
# only within this window (as AWS SigV4's 15 minutes), and only with the very body it signed.
MAX_SKEW = timedelta(minutes=15)
AUTHORIZATION = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]+)$"
)


@dataclass(frozen=True)
class SignedRequest:
    access_key: str
    signed_headers: list[str]
    signature: str


def parse_authorization(header: str) -> SignedRequest:
    match = AUTHORIZATION.match(header.strip())
    if match is None:
        raise Unauthenticated("the Authorization header is not an SDK-HMAC-SHA256 signature")
    return SignedRequest(match["ak"], match["headers"].split(";"), match["sig"])


def check_date(sdk_date: str | None, now: datetime) -> None:
    if not sdk_date:
        raise Unauthenticated("X-Sdk-Date is required with a signature")
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise Unauthenticated("X-Sdk-Date is not in the form YYYYMMDDTHHMMSSZ") from exc
    if abs(now - signed_at) > MAX_SKEW:
        raise Unauthenticated("the signature has expired (X-Sdk-Date is more than 15 minutes off)")


def canonical_request(
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes | None,
) -> str:
    segments = [quote(segment, safe="~") for segment in unquote(path).split("/")]
    uri = "/".join(segments)
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted(parse_qsl(query_string, keep_blank_values=True))
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    payload = payload_hash(headers, body)
    return "\n".join([method.upper(), uri, query, canonical_headers, ";".join(signed), payload])


def payload_hash(headers: Mapping[str, str], body: bytes | None) -> str:
    """The body's SHA-256, as received. A client may state it in X-Sdk-Content-Sha256 (the SDK does
    for streamed bodies), but a stated hash is taken only when it is the body's: otherwise a captured
    signature would sign any body sent with it.

    The SDK's "UNSIGNED-PAYLOAD" is taken only where the SDK itself sends it, for a body that is
    neither JSON nor BSON. The only such bodies a route takes are accessory uploads (a form around
    a file), which are not read for the signature (`body` None): the SDK signs them so, and a
    form whose payload claims a hash is refused, as it cannot be checked before it is stored.
    """
    stated = headers.get("x-sdk-content-sha256")
    content_type = headers.get("content-type", "")
    if body is None:
        if stated == UNSIGNED_PAYLOAD and not content_type.startswith(SIGNED_BODY_TYPES):
            return UNSIGNED_PAYLOAD
        raise Unauthenticated("a form upload is signed with X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD")
    if not body:
        return EMPTY_HASH
    actual = hashlib.sha256(body).hexdigest()
    if stated is None or stated.lower() == actual:
        return stated or actual
    if stated == UNSIGNED_PAYLOAD and not content_type.startswith(SIGNED_BODY_TYPES):
        return UNSIGNED_PAYLOAD
    raise Unauthenticated("X-Sdk-Content-Sha256 is not the SHA-256 of the body")


def expected_signature(secret_key: str, sdk_date: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(secret_key: str, sdk_date: str, canonical: str, signature: str) -> None:
    if not hmac.compare_digest(expected_signature(secret_key, sdk_date, canonical), signature):
        raise Unauthenticated("the request signature does not match")
