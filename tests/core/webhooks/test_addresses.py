"""Which URLs a webhook may reach: the checks made when an endpoint is saved and at every send."""

from __future__ import annotations

import pytest

from ticketd.core.errors import InvalidInput
from ticketd.core.webhooks.addresses import Refused, checked_url, target_of


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/x",  # a name: what it resolves to is checked
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",  # IPv4 in IPv6 clothing
        "http://10.0.0.1/x",
        "http://172.16.5.4/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/x",  # shared address space
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",
        "http://[fe80::1]/x",
        "http://[fc00::1]/x",
        "http://[fec0::1]/x",  # site-local (deprecated, still routed by some networks)
        "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/x",  # 6to4 of the metadata address
        "http://[2002:0a00:0001::1]/x",  # 6to4 of 10.0.0.1
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/x",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a00:1]/x",  # local-use NAT64 of 10.0.0.1
        "http://[::127.0.0.1]/x",  # IPv4-compatible
        "http://[::169.254.169.254]/x",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",  # Teredo, client 127.0.0.1
        "http://[2001:0:a00:1::1]/x",  # Teredo, server 10.0.0.1
    ],
)
def test_private_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(Refused):
        target_of(url, allow_private=False)
    assert target_of(url, allow_private=True).address


@pytest.mark.parametrize(
    "url",
    [
        "ftp://8.8.8.8/x",
        "javascript:alert(1)",
        "http:///nohost",
        "http://user:secret@8.8.8.8/x",
        "http://8.8.8.8:0/x",
        "http://8.8.8.8:99999/x",
        "http://8.8.8.8/a b",
        "http://8.8.8.8/" + "x" * 2001,
        "http://no-such-host.invalid/x",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(Refused):
        target_of(url, allow_private=True)


def test_a_public_address_passes_and_is_what_is_connected_to() -> None:
    target = target_of("https://8.8.8.8:8443/hook?x=1", allow_private=False)
    assert (target.scheme, target.host, target.port, target.address) == ("https", "8.8.8.8", 8443, "8.8.8.8")


def test_refusals_read_as_invalid_input_on_the_url() -> None:
    with pytest.raises(InvalidInput) as caught:
        checked_url("http://127.0.0.1/x", allow_private=False)
    assert caught.value.errors[0].pointer == "/url"
    assert "loopback" in caught.value.errors[0].detail
