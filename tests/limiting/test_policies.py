from __future__ import annotations

from datetime import datetime

import pytest

from ticketd.limiting.policies import PolicyError, parse_policy, parse_service_hours


def test_policies_read_the_limits_notation() -> None:
    policy = parse_policy("credential", "600/minute")
    assert (policy.quota, policy.window, policy.rolling) == (600, 60, False)
    assert policy.header == '"credential";q=600;w=60'
    assert parse_policy("ip", "10 per 5 seconds").window == 5
    assert parse_policy("daily", "5000/day").window == 86_400


@pytest.mark.parametrize("text", ["", "often", "0/minute", "ten/minute", "5/fortnight"])
def test_bad_policies_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy("ip", text)


def test_service_hours_in_a_day() -> None:
    hours = parse_service_hours("08:00-17:30")
    assert hours.text == "08:00 - 17:30"
    assert hours.is_open(datetime(2026, 11, 23, 8, 0))
    assert hours.is_open(datetime(2026, 11, 23, 17, 29))
    assert not hours.is_open(datetime(2026, 11, 23, 17, 30))
    assert hours.seconds_until_open(datetime(2026, 11, 23, 7, 0)) == 3600
    assert hours.seconds_until_open(datetime(2026, 11, 23, 18, 0)) == 14 * 3600


def test_service_hours_over_midnight() -> None:
    hours = parse_service_hours("18:00 - 06:00")
    assert hours.text == "18:00 - 06:00"
    assert hours.is_open(datetime(2026, 11, 23, 23, 0))
    assert hours.is_open(datetime(2026, 11, 23, 5, 59))
    assert not hours.is_open(datetime(2026, 11, 23, 12, 0))
    assert hours.seconds_until_open(datetime(2026, 11, 23, 12, 0)) == 6 * 3600


def test_whole_day() -> None:
    for text in ("00:00-24:00", "00:00-00:00", "09:00-09:00"):
        assert parse_service_hours(text).whole_day
    assert parse_service_hours("00:00-24:00").text == "00:00 - 24:00"


@pytest.mark.parametrize("text", ["", "8-17", "25:00-26:00", "08:60-09:00", "24:30-01:00", "nine to five"])
def test_bad_service_hours_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_service_hours(text)
