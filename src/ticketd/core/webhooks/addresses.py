"""Which URLs a webhook may be sent to. By default none that reaches this machine or a private
network: an endpoint's URL is checked when it is saved, and the addresses its host resolves to are
checked again at every connection (a name that resolved to a public address when saved may resolve
to 127.0.0.1 later), and the connection goes to the address that was checked."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from ticketd.core.errors import FieldError, InvalidInput

MAX_URL_CHARS = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL's host, and the checked address it resolved to."""

    scheme: str
    host: str
    port: int
    address: str


class Refused(Exception):
    """The URL may not be used: the message says why, in words for the admin who set it."""


def check_url(url: str) -> SplitResult:
    """The URL split, or Refused: http or https, a host, no credentials, a sane length."""
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"a URL is at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must be http or https")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL may not carry credentials")
    if port == 0:
        raise Refused("the URL's port must be 1-65535")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise Refused("the URL may not contain spaces or control characters")
    return parts


# IPv6 ranges that carry an IPv4 address in their last 32 bits: NAT64's well-known and local-use
# prefixes (RFC 6052, RFC 8215) and the deprecated IPv4-compatible form (RFC 4291 2.5.5.1).
IPV4_IN_LOW_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped, 6to4, Teredo (server and
    client), NAT64, IPv4-compatible. A router or relay on the way would deliver to those."""
    found = [candidate for candidate in (address.ipv4_mapped, address.sixtofour) if candidate is not None]
    if address.teredo is not None:
        found += address.teredo
    if any(address in network for network in IPV4_IN_LOW_BITS) and address not in _TRIVIAL:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


_TRIVIAL = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))


def forbidden_reason(address: IPAddress) -> str | None:
    """Why an address may not be reached without `webhook_allow_private`, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:
            return f"{address} is a site-local address"
        for inner in embedded_ipv4(address):
            reason = forbidden_reason(inner)
            if reason is not None:
                return f"{address} leads to {reason}"
    for name in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{name}"):
            return f"{address} is a {name.replace('_', '-')} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, every one of them allowed, or Refused. Blocking: call off the event loop."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"{host} does not resolve ({exc})") from None
        candidates = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        # Every address must pass: a name with one public and one private address is refused.
        for candidate in candidates:
            reason = forbidden_reason(candidate)
            if reason is not None:
                raise Refused(reason if literal is not None else f"{host} resolves to {reason}")
    return [str(candidate) for candidate in candidates]


def target_of(url: str, *, allow_private: bool) -> Target:
    parts = check_url(url)
    scheme = parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname or ""
    return Target(scheme, host, port, resolve(host, port, allow_private=allow_private)[0])


def checked_url(url: str, *, allow_private: bool) -> str:
    """The URL, if it may be used now; else InvalidInput naming the reason (answered as 422)."""
    try:
        target_of(url, allow_private=allow_private)
    except Refused as exc:
        raise InvalidInput(
            f"the endpoint URL cannot be used: {exc}", [FieldError("/url", str(exc))]
        ) from None
    return url
