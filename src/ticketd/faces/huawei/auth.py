"""Who is calling the OSM face: an IAM token in X-Auth-Token, or an AK/SK-signed request."""

from __future__ import annotations

from collections.abc import Mapping

from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import PERSON_SCOPES, Principal, Role
from ticketd.core.tokens import ClaimsMemo, TokenClaims
from ticketd.faces.huawei import iam, signing
from ticketd.web.services import Services

MAX_TOKEN_LENGTH = 5000
MEMO_LIMIT = 10_000


class HuaweiAuth:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.token_secret = iam.face_keys(services.server_keys)
        self.sealer = services.sealer()
        self._claims = ClaimsMemo(lambda token: iam.read(self.token_secret, token))
        self._secrets: dict[tuple[str, bytes], str | None] = {}

    def principal(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes | None
    ) -> Principal:
        """`headers` keyed by lower-case name; `body` None for a form's file, which is not read."""
        token = headers.get("x-auth-token")
        if token is not None:
            return self._by_token(token)
        authorization = headers.get("authorization", "")
        if authorization.startswith(signing.ALGORITHM):
            return self._by_signature(method, path, query_string, headers, body, authorization)
        raise Unauthenticated("X-Auth-Token or an AK/SK signature is required")

    def token_claims(self, token: str) -> TokenClaims:
        if not 1 <= len(token) <= MAX_TOKEN_LENGTH:
            raise Unauthenticated("X-Auth-Token must be 1 to 5000 characters")
        return self._claims(token)

    def _by_token(self, token: str) -> Principal:
        claims = self.token_claims(token)
        return self.services.authenticator.by_claims(claims)

    def _by_signature(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes | None,
        authorization: str,
    ) -> Principal:
        signed = signing.parse_authorization(authorization)
        signing.check_date(headers.get("x-sdk-date"), utcnow())
        row = self.services.reader.signing_key(signed.access_key)
        if row is None:
            raise Unauthenticated("unknown access key")
        secret = self._secret(signed.access_key, bytes(row.secret_sealed))
        if secret is None:
            raise Unauthenticated("unknown access key")
        canonical = signing.canonical_request(
            method, path, query_string, headers, signed.signed_headers, body
        )
        signing.verify(secret, headers.get("x-sdk-date", ""), canonical, signed.signature)
        if row.revoked_at is not None or row.disabled:
            raise Unauthenticated("the access key has been revoked")
        domain = headers.get("x-domain-id")
        if domain is not None and domain != str(row.tenant_id):
            raise Unauthenticated("X-Domain-Id does not match the access key's account")
        return Principal(
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            role=Role(row.role),
            scopes=frozenset(s.value for s in PERSON_SCOPES),
            credential_id=f"ak:{signed.access_key}",
        )

    def _secret(self, access_key: str, sealed: bytes) -> str | None:
        # Unsealing costs an AES-GCM decryption; the same sealed value always opens the same way.
        memo_key = (access_key, sealed)
        if memo_key not in self._secrets:
            if len(self._secrets) >= MEMO_LIMIT:
                self._secrets.clear()
            self._secrets[memo_key] = self.sealer.open(sealed, access_key)
        return self._secrets[memo_key]
