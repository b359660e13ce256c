from __future__ import annotations

from ticketd.core.etags import match, none_match


def test_if_none_match_compares_weakly() -> None:
    assert none_match('"7-2"', '"7-2"')
    assert none_match('W/"7-2"', '"7-2"')
    assert none_match('"1-1", "7-2"', '"7-2"')
    assert none_match("*", '"7-2"')
    assert not none_match('"7-1"', '"7-2"')
    assert not none_match(None, '"7-2"')


def test_if_match_compares_strongly() -> None:
    assert match('"7-2"', '"7-2"')
    assert match('"1-1" , "7-2"', '"7-2"')
    assert match("*", '"7-2"')
    assert not match('W/"7-2"', '"7-2"')
    assert not match('"7-1"', '"7-2"')
